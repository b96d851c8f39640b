//! The evidence a diagnosis reasons with: plain data gathered from the cluster and the registry.
//!
//! Everything here is filled by the gatherer (or by hand in tests) and serialises into the
//! `--json` output. Passwords never do: a [`Credential`] keeps its password in a
//! [`Secret`] and is not part of [`Facts`]' serialised form.

use jiff::Timestamp;
use serde::{Serialize, Serializer};

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
