//! Slim rows: only the fields berth shows or reasons with, never whole Kubernetes objects.
//!
//! These types are the contract between the watchers (which fill them), the rollout/diagnosis
//! logic (which reasons with them) and the UI (which draws them). They are plain data so that
//! tests and UI fixtures can build them by hand.

use jiff::Timestamp;

/// Identifies a namespaced object; `uid` ties owner references together.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamespaceRow {
    pub name: String,
    /// `Active` or `Terminating`.
    pub phase: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerSpecRow {
    pub name: String,
    pub image: String,
    pub init: bool,
}

/// Rollout state, computed the way `kubectl rollout status` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RolloutState {
    /// The controller has not yet observed the latest generation.
    Pending,
    /// Updating: counts are moving towards desired.
    Progressing {
        message: String,
    },
    /// All replicas updated, ready and available; the old ReplicaSets are scaled to 0.
    Complete,
    /// ProgressDeadlineExceeded, or pods of the new revision cannot start (e.g. ImagePullBackOff).
    Stuck {
        reason: String,
        message: String,
    },
    Paused,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentRow {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub generation: i64,
    pub observed_generation: i64,
    pub desired: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    pub unavailable: i32,
    pub paused: bool,
    /// `deployment.kubernetes.io/revision` of the deployment.
    pub revision: Option<i64>,
    pub containers: Vec<ContainerSpecRow>,
    /// The Progressing condition: (status, reason, message).
    pub progressing: Option<(String, String, String)>,
    pub progress_deadline_seconds: Option<i32>,
    pub resource_version: String,
    pub created: Option<Timestamp>,
    pub rollout: RolloutState,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaSetRow {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// uid of the owning Deployment, from the controller owner reference.
    pub owner_uid: Option<String>,
    pub revision: Option<i64>,
    pub desired: i32,
    pub ready: i32,
    pub available: i32,
    pub images: Vec<String>,
    pub pod_template_hash: Option<String>,
    pub created: Option<Timestamp>,
}

/// What a container is doing now; `Waiting` carries kubelet's reason plainly (ImagePullBackOff...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerState {
    Waiting { reason: String, message: String },
    Running { since: Option<Timestamp> },
    Terminated { reason: String, exit_code: i32 },
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerRow {
    pub name: String,
    pub init: bool,
    pub image: String,
    /// The resolved image (`imageID`), e.g. `host/repo@sha256:...`, once pulled.
    pub image_id: Option<String>,
    pub ready: bool,
    pub restarts: i32,
    pub state: ContainerState,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRow {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// uid of the owning ReplicaSet, from the controller owner reference.
    pub owner_uid: Option<String>,
    pub phase: String,
    pub node: Option<String>,
    pub service_account: String,
    pub image_pull_secrets: Vec<String>,
    pub containers: Vec<ContainerRow>,
    pub pod_template_hash: Option<String>,
    pub created: Option<Timestamp>,
    pub deleting: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    pub namespace: String,
    pub uid: String,
    /// Kind, name and uid of the object the event is about.
    pub involved_kind: String,
    pub involved_name: String,
    pub involved_uid: String,
    pub reason: String,
    pub message: String,
    pub warning: bool,
    pub count: i32,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccountRow {
    pub namespace: String,
    pub name: String,
    pub image_pull_secrets: Vec<String>,
}

/// Secret metadata only: the data never enters the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretMetaRow {
    pub namespace: String,
    pub name: String,
    pub type_: String,
}
