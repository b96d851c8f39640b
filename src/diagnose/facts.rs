//! The evidence a diagnosis reasons with: plain data gathered from the cluster and the registry.
//!
//! Everything here is filled by the gatherer (or by hand in tests) and serialises into the
//! `--json` output. Passwords never do: a [`Credential`] keeps its password in a
//! [`Secret`] and is not part of [`Facts`]' serialised form.

use jiff::Timestamp;
use serde::{Serialize, Serializer};

use super::node_words::NodePull;
use crate::azure::aks::{AksNode, ClusterRef, KubeletIdentity, RegistryAccess, RoleAssignment};
use crate::reference::Reference;
use crate::registry::probe::ProbeOutcome;
use crate::secret::Secret;

/// Everything known about one failing container, at one moment.
#[derive(Clone, Debug, Serialize)]
pub struct Facts {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub init: bool,
    /// The image exactly as the pod spec writes it.
    pub image: String,
    /// The parsed reference, or why it does not parse.
    #[serde(serialize_with = "ser_reference")]
    pub reference: Result<Reference, String>,
    pub service_account: String,
    /// The pod's `imagePullSecrets` first, then the service account's that the pod lacks.
    pub pull_secrets: Vec<PullSecretFacts>,
    /// Docker-config secrets in the namespace that have an entry for the image's host but are
    /// attached to neither the pod nor its service account: candidates to attach.
    pub unattached_matching_secrets: Vec<String>,
    /// Registry probes in the order the node would try credentials; the first that finds the
    /// manifest ends the list. Empty when the reference is invalid.
    pub probes: Vec<ProbeFacts>,
    /// The repository's tags (for "closest existing tags"), read when the manifest was missing.
    pub tags: Option<TagListing>,
    pub node: Option<NodeFacts>,
    pub node_messages: NodeMessages,
    /// kubelet's latest `Failed to pull image` message for this image, read attempt by attempt.
    pub node_pull: Option<NodePull>,
    /// The node's own credentials for the image (AKS: the kubelet identity through the node's
    /// credential provider), when its provider serves this image.
    pub node_identity: Option<NodeIdentityFacts>,
    /// The pod's controller, resolved to the object a user acts on (a Deployment if any).
    pub owner: Option<Workload>,
    /// What could not be gathered (a forbidden read, a failed listing): said, not hidden.
    pub gaps: Vec<String>,
    /// When these facts were gathered.
    pub observed_at: Timestamp,
}

fn ser_reference<S: Serializer>(r: &Result<Reference, String>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Shown<'a> {
        valid: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        normalised: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        registry: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        repository: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tag: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        digest: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a str>,
    }
    let shown = match r {
        Ok(r) => Shown {
            valid: true,
            normalised: Some(r.to_string()),
            registry: Some(r.registry()),
            repository: Some(r.repository()),
            tag: r.tag(),
            digest: r.digest(),
            error: None,
        },
        Err(e) => Shown {
            valid: false,
            normalised: None,
            registry: None,
            repository: None,
            tag: None,
            digest: None,
            error: Some(e),
        },
    };
    shown.serialize(s)
}

/// One pull secret the pod or its service account names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PullSecretFacts {
    pub name: String,
    /// In the pod's `imagePullSecrets`: the node uses only these.
    pub on_pod: bool,
    /// In the service account's `imagePullSecrets`: copied into pods at creation only.
    pub on_service_account: bool,
    pub state: SecretState,
}

impl PullSecretFacts {
    /// Entries that apply to the image (kubelet's matching).
    pub fn matching_entries(&self) -> impl Iterator<Item = &EntryFacts> {
        let entries: &[EntryFacts] = match &self.state {
            SecretState::Usable { entries } => entries,
            _ => &[],
        };
        entries.iter().filter(|e| e.matches_image)
    }

    pub fn has_match(&self) -> bool {
        self.matching_entries().next().is_some()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SecretState {
    /// Named, but no such secret in the namespace.
    Missing,
    /// Exists, but the node ignores it (e.g. `Opaque`, or the data key for its type is absent).
    WrongType { type_: String, detail: String },
    /// Has the right type, but the node cannot parse it: kubelet then fails every pull of the
    /// pod, whatever the registry.
    Malformed { type_: String, reason: String },
    /// berth could not read it (e.g. forbidden): its content is unknown.
    Unreadable { reason: String },
    /// Parsed; its registry entries.
    Usable { entries: Vec<EntryFacts> },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntryFacts {
    /// The `auths` key exactly as written (`https://myacr.azurecr.io/v1/`, ...).
    pub key: String,
    pub username: Option<String>,
    /// The entry carries a password (or an `auth` that decodes to one).
    pub has_password: bool,
    /// kubelet would use this entry for the image (its keyring's `Lookup` returns it).
    pub matches_image: bool,
    /// Why the node ignores this entry while reading the rest of the secret (`Add` skips a
    /// key that is not a URL), if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    /// When the password stops working, if it says so itself (a JWT's `exp`, as in an Entra
    /// refresh token used as an ACR password).
    pub expires: Option<Timestamp>,
}

/// Who a probe authenticated as. Never carries the password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CredentialUsed {
    Anonymous,
    Secret {
        secret: String,
        key: String,
        username: Option<String>,
    },
}

impl CredentialUsed {
    pub fn secret(&self) -> Option<&str> {
        match self {
            CredentialUsed::Secret { secret, .. } => Some(secret),
            CredentialUsed::Anonymous => None,
        }
    }
}

/// A credential to probe with: what the node would send.
#[derive(Clone, Debug)]
pub struct Credential {
    pub used: CredentialUsed,
    pub username: String,
    pub password: Secret,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProbeFacts {
    pub credential: CredentialUsed,
    /// The registry's answer, exactly as the probe saw it (`registry::probe`).
    pub outcome: ProbeOutcome,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TagListing {
    Listed {
        tags: Vec<TagFacts>,
    },
    /// The listing says the repository does not exist.
    RepositoryUnknown,
    Failed {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TagFacts {
    pub name: String,
    pub created: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeFacts {
    pub name: String,
    pub os: String,
    pub architecture: String,
    /// An AKS node (its providerID names a scale set in a subscription).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aks: Option<AksNode>,
    /// The `kubernetes.azure.com/cluster` label: the node resource group in its own case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aks_node_resource_group: Option<String>,
}

/// How the node gets credentials of its own for the image: kubelet's credential provider
/// (AKS: `acr-credential-provider` with the kubelet identity), and what ARM says about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeIdentityFacts {
    /// The provider's `matchImages` berth matched the image against (`[cluster.aks]`
    /// `provider_match_images`, AKS's by default).
    pub match_images: Vec<String>,
    /// The kubelet identity's client id (the node's label, or the managed cluster).
    pub client_id: Option<String>,
    /// ARM's answers; `None` when ARM could not be asked (`Facts::gaps` says why).
    pub arm: Option<AksArmFacts>,
}

/// What ARM says about the kubelet identity and the registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AksArmFacts {
    pub cluster: ClusterRef,
    pub kubelet_identity: Option<KubeletIdentity>,
    /// The node pool's scale set, and whether the kubelet identity is on it (IMDS serves
    /// only identities on the VM's scale set). `None`: not read.
    pub vmss_id: String,
    pub on_node_pool: Option<bool>,
    /// The registry's ARM id (its `[registry.arm]`), `None` when not configured.
    pub registry_id: Option<String>,
    /// The kubelet identity's role assignments covering the registry; `None`: not read.
    pub role_assignments: Option<Vec<RoleAssignment>>,
    pub network: Option<RegistryAccess>,
    /// The cluster's outbound addresses: what the registry sees the node's requests come from.
    pub egress_ips: Vec<String>,
}

impl AksArmFacts {
    /// Some assignment lets the identity pull (`None`: not read).
    pub fn can_pull(&self) -> Option<bool> {
        self.role_assignments
            .as_ref()
            .map(|r| r.iter().any(|a| a.pull_role.is_some()))
    }

    /// The role that lets the identity pull from this registry (its mode decides).
    pub fn pull_role(&self) -> crate::azure::aks::PullRole {
        self.network
            .as_ref()
            .map_or(crate::azure::aks::ACR_PULL, |n| n.pull_role())
    }

    /// The egress addresses the registry's network rules turn away.
    pub fn blocked_ips(&self) -> Vec<String> {
        match &self.network {
            Some(n) => self
                .egress_ips
                .iter()
                .filter(|ip| !n.admits(ip))
                .cloned()
                .collect(),
            None => Vec::new(),
        }
    }
}

/// What kubelet itself reported: supporting evidence, never the basis of a diagnosis.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeMessages {
    /// `waiting.reason` (`ErrImagePull`, `ImagePullBackOff`, ...).
    pub reason: Option<String>,
    pub message: Option<String>,
    /// The pod's pull-related events, oldest first.
    pub events: Vec<EventFacts>,
    /// When the node last reported a failed pull.
    pub last_failure: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventFacts {
    pub reason: String,
    pub message: String,
    pub warning: bool,
    pub count: i32,
    pub last_seen: Option<Timestamp>,
}

/// The object a user acts on for this pod.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Workload {
    /// `Deployment`, `ReplicaSet`, `StatefulSet`, `DaemonSet`, `Job`, ...
    pub kind: String,
    pub name: String,
}
