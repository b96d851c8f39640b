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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RolloutState {
    /// The controller has not yet observed the latest generation.
    #[default]
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

/// The kinds of workload berth rolls out. Ordered so a namespace's workloads sort by name, then
/// Deployment before StatefulSet before DaemonSet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadKind {
    #[default]
    Deployment,
    StatefulSet,
    DaemonSet,
}

impl WorkloadKind {
    /// The singular resource name (`deployment`), as kubectl prints it.
    pub fn noun(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployment",
            WorkloadKind::StatefulSet => "statefulset",
            WorkloadKind::DaemonSet => "daemonset",
        }
    }

    /// kubectl's short name (`deploy`, `sts`, `ds`), for narrow columns.
    pub fn short(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deploy",
            WorkloadKind::StatefulSet => "sts",
            WorkloadKind::DaemonSet => "ds",
        }
    }

    /// The Kubernetes `kind` (`Deployment`), as owner references and events name it.
    pub fn api_kind(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
        }
    }

    /// What a headless command watches to know this kind's rollouts: the workload, its
    /// revisions (ReplicaSets, or ControllerRevisions) and its pods.
    pub fn watch_kinds(self) -> Vec<Kind> {
        match self {
            WorkloadKind::Deployment => vec![Kind::Deployment, Kind::ReplicaSet, Kind::Pod],
            other => vec![other.watch_kind(), Kind::ControllerRevision, Kind::Pod],
        }
    }

    /// The watch kind that lists this workload kind.
    pub fn watch_kind(self) -> Kind {
        match self {
            WorkloadKind::Deployment => Kind::Deployment,
            WorkloadKind::StatefulSet => Kind::StatefulSet,
            WorkloadKind::DaemonSet => Kind::DaemonSet,
        }
    }
}

/// One workload of any [`WorkloadKind`]: the counts are mapped onto one shape (for a DaemonSet,
/// `desired` is `desiredNumberScheduled`, `updated` is `updatedNumberScheduled`, ...) so that
/// every pane, command and rule reads the same fields; the rules that differ per kind live in
/// [`crate::cluster::rollout`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeploymentRow {
    pub kind: WorkloadKind,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub generation: i64,
    pub observed_generation: i64,
    pub desired: i32,
    /// `status.replicas`: pods of every revision (kubectl's "old replicas pending termination"
    /// is `replicas - updated`).
    pub replicas: i32,
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
    /// `spec.updateStrategy.type` of a StatefulSet or DaemonSet (`RollingUpdate`, `OnDelete`).
    pub update_strategy: Option<String>,
    /// A StatefulSet's `rollingUpdate.partition`: ordinals below it stay on the old revision.
    pub partition: Option<i32>,
    /// A StatefulSet's `status.currentRevision` / `status.updateRevision` (ControllerRevision
    /// names).
    pub current_revision: Option<String>,
    pub update_revision: Option<String>,
    pub resource_version: String,
    pub created: Option<Timestamp>,
    pub rollout: RolloutState,
    /// Helm, Argo CD or Flux, when its labels and annotations say one of them manages the
    /// workload (see [`crate::cluster::owner`]).
    pub owner: Option<crate::cluster::owner::Owner>,
}

/// One revision of a workload: a Deployment's ReplicaSet, or a StatefulSet's or DaemonSet's
/// ControllerRevision (`controller_revision`; no counts, its images read from its data).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaSetRow {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// A ControllerRevision rather than a ReplicaSet.
    pub controller_revision: bool,
    /// uid of the owning workload, from the controller owner reference.
    pub owner_uid: Option<String>,
    pub revision: Option<i64>,
    pub desired: i32,
    pub ready: i32,
    pub available: i32,
    pub images: Vec<String>,
    pub pod_template_hash: Option<String>,
    pub created: Option<Timestamp>,
    /// The `kubernetes.io/change-cause` annotation (`kubectl … --record`, or set by hand).
    pub change_cause: Option<String>,
}

/// What a container is doing now; `Waiting` carries kubelet's reason plainly (ImagePullBackOff...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ContainerState {
    Waiting {
        reason: String,
        message: String,
    },
    Running {
        since: Option<Timestamp>,
    },
    Terminated {
        reason: String,
        exit_code: i32,
    },
    #[default]
    Unknown,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
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

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodRow {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// uid of the controller owner: a ReplicaSet, or a StatefulSet/DaemonSet itself.
    pub owner_uid: Option<String>,
    /// The workload the pod belongs to, by name, read from its controller owner reference
    /// (a ReplicaSet's name minus its pod-template-hash), when it has one.
    pub workload: Option<String>,
    /// The `controller-revision-hash` label of a StatefulSet's (a ControllerRevision name) or
    /// DaemonSet's (the hash alone) pod: which revision it runs.
    pub revision_hash: Option<String>,
    pub phase: String,
    pub node: Option<String>,
    pub service_account: String,
    pub image_pull_secrets: Vec<String>,
    pub containers: Vec<ContainerRow>,
    pub pod_template_hash: Option<String>,
    pub created: Option<Timestamp>,
    pub deleting: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
    /// Creation order among events of the same second: the nanosecond stamp Kubernetes puts in
    /// event names (`<object>.<hex nanos>`), else 0. Times have whole seconds, and a pod's
    /// Pulling, Pulled, Created and Started often share one.
    pub order: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceAccountRow {
    pub namespace: String,
    pub name: String,
    pub image_pull_secrets: Vec<String>,
}

/// Secret metadata only: the data never enters the model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretMetaRow {
    pub namespace: String,
    pub name: String,
    pub type_: String,
}

/// The kinds the live model watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Namespace,
    Deployment,
    ReplicaSet,
    Pod,
    Event,
    ServiceAccount,
    /// Pull secrets' metadata (types `kubernetes.io/dockerconfigjson` and `kubernetes.io/dockercfg`).
    SecretMeta,
    StatefulSet,
    DaemonSet,
    /// The revisions of StatefulSets and DaemonSets.
    ControllerRevision,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Namespace,
        Kind::Deployment,
        Kind::ReplicaSet,
        Kind::Pod,
        Kind::Event,
        Kind::ServiceAccount,
        Kind::SecretMeta,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::ControllerRevision,
    ];

    /// The kinds that hold workloads and their revisions (what a rollout view watches).
    pub const WORKLOADS: [Kind; 5] = [
        Kind::Deployment,
        Kind::ReplicaSet,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::ControllerRevision,
    ];

    /// The API group of the kind (`apps` or the core group).
    pub fn api_group(self) -> &'static str {
        match self {
            Kind::Deployment
            | Kind::ReplicaSet
            | Kind::StatefulSet
            | Kind::DaemonSet
            | Kind::ControllerRevision => "apps",
            _ => "",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Namespace => "namespaces",
            Kind::Deployment => "deployments",
            Kind::StatefulSet => "statefulsets",
            Kind::DaemonSet => "daemonsets",
            Kind::ControllerRevision => "controllerrevisions",
            Kind::ReplicaSet => "replicasets",
            Kind::Pod => "pods",
            Kind::Event => "events",
            Kind::ServiceAccount => "serviceaccounts",
            Kind::SecretMeta => "secrets",
        }
    }
}

/// One slim row of any kind, as the watchers send it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    Namespace(NamespaceRow),
    /// A workload of any kind (see [`DeploymentRow::kind`]).
    Workload(DeploymentRow),
    /// A revision: ReplicaSet or ControllerRevision (see [`ReplicaSetRow::controller_revision`]).
    ReplicaSet(ReplicaSetRow),
    Pod(PodRow),
    Event(EventRow),
    ServiceAccount(ServiceAccountRow),
    SecretMeta(SecretMetaRow),
}

/// The identity of a row inside the model. Events are keyed by uid (their names are noise).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowKey {
    Namespace(String),
    Workload(WorkloadKind, ObjectRef),
    ReplicaSet(ObjectRef),
    ControllerRevision(ObjectRef),
    Pod(ObjectRef),
    Event { namespace: String, uid: String },
    ServiceAccount(ObjectRef),
    SecretMeta(ObjectRef),
}

fn oref(namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    }
}

impl Row {
    pub fn kind(&self) -> Kind {
        match self {
            Row::Namespace(_) => Kind::Namespace,
            Row::Workload(r) => r.kind.watch_kind(),
            Row::ReplicaSet(r) if r.controller_revision => Kind::ControllerRevision,
            Row::ReplicaSet(_) => Kind::ReplicaSet,
            Row::Pod(_) => Kind::Pod,
            Row::Event(_) => Kind::Event,
            Row::ServiceAccount(_) => Kind::ServiceAccount,
            Row::SecretMeta(_) => Kind::SecretMeta,
        }
    }

    pub fn key(&self) -> RowKey {
        match self {
            Row::Namespace(r) => RowKey::Namespace(r.name.clone()),
            Row::Workload(r) => RowKey::Workload(r.kind, oref(&r.namespace, &r.name)),
            Row::ReplicaSet(r) if r.controller_revision => {
                RowKey::ControllerRevision(oref(&r.namespace, &r.name))
            }
            Row::ReplicaSet(r) => RowKey::ReplicaSet(oref(&r.namespace, &r.name)),
            Row::Pod(r) => RowKey::Pod(oref(&r.namespace, &r.name)),
            Row::Event(r) => RowKey::Event {
                namespace: r.namespace.clone(),
                uid: r.uid.clone(),
            },
            Row::ServiceAccount(r) => RowKey::ServiceAccount(oref(&r.namespace, &r.name)),
            Row::SecretMeta(r) => RowKey::SecretMeta(oref(&r.namespace, &r.name)),
        }
    }

    /// The namespace the row lives in (`None` for namespaces themselves).
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Row::Namespace(_) => None,
            Row::Workload(r) => Some(&r.namespace),
            Row::ReplicaSet(r) => Some(&r.namespace),
            Row::Pod(r) => Some(&r.namespace),
            Row::Event(r) => Some(&r.namespace),
            Row::ServiceAccount(r) => Some(&r.namespace),
            Row::SecretMeta(r) => Some(&r.namespace),
        }
    }
}

impl RowKey {
    pub fn kind(&self) -> Kind {
        match self {
            RowKey::Namespace(_) => Kind::Namespace,
            RowKey::Workload(k, _) => k.watch_kind(),
            RowKey::ReplicaSet(_) => Kind::ReplicaSet,
            RowKey::ControllerRevision(_) => Kind::ControllerRevision,
            RowKey::Pod(_) => Kind::Pod,
            RowKey::Event { .. } => Kind::Event,
            RowKey::ServiceAccount(_) => Kind::ServiceAccount,
            RowKey::SecretMeta(_) => Kind::SecretMeta,
        }
    }

    /// The namespace the row lives in (`None` for namespaces themselves).
    pub fn namespace(&self) -> Option<&str> {
        match self {
            RowKey::Namespace(_) => None,
            RowKey::Event { namespace, .. } => Some(namespace),
            RowKey::Workload(_, k)
            | RowKey::ReplicaSet(k)
            | RowKey::ControllerRevision(k)
            | RowKey::Pod(k)
            | RowKey::ServiceAccount(k)
            | RowKey::SecretMeta(k) => Some(&k.namespace),
        }
    }
}

/// What one watcher covers: a kind, in all namespaces or one, optionally narrowed (secrets by
/// type, namespaces by name). A resync replaces exactly the rows its scope covers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WatchScope {
    pub kind: Kind,
    /// `None` = all namespaces. For `Kind::Namespace` it names the one namespace watched.
    pub namespace: Option<String>,
    /// For `Kind::SecretMeta`: the secret type this watcher lists (a field selector).
    pub secret_type: Option<String>,
}

impl WatchScope {
    pub fn new(kind: Kind, namespace: Option<&str>) -> Self {
        Self {
            kind,
            namespace: namespace.map(str::to_owned),
            secret_type: None,
        }
    }

    /// Whether a row belongs to what this watcher lists.
    pub fn covers(&self, row: &Row) -> bool {
        if row.kind() != self.kind {
            return false;
        }
        let ns_ok = match (&self.namespace, row) {
            (None, _) => true,
            (Some(ns), Row::Namespace(r)) => &r.name == ns,
            (Some(ns), r) => r.namespace() == Some(ns.as_str()),
        };
        let type_ok = match (&self.secret_type, row) {
            (Some(t), Row::SecretMeta(r)) => &r.type_ == t,
            _ => true,
        };
        ns_ok && type_ok
    }
}

impl std::fmt::Display for WatchScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind.as_str())?;
        if let Some(t) = &self.secret_type {
            write!(f, " ({t})")?;
        }
        match &self.namespace {
            Some(ns) => write!(f, " in {ns}"),
            None => f.write_str(" in all namespaces"),
        }
    }
}

/// The state of one watch (or, aggregated, of the whole model's connection).
///
/// Watchers report `Connecting`, `Live`, `Reconnecting` and `Forbidden`. The model reports what
/// its rows are worth (see `ClusterModel::connections`): a watch that is `Reconnecting`, or
/// `Live` while the apiserver does not answer the liveness probe, or not yet relisted after the
/// apiserver came back, is `Stale`. `Live` is never said of data older than a loss.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ConnectionState {
    /// Listing for the first time.
    #[default]
    Connecting,
    /// Listed and watching: the rows are current.
    Live,
    /// The watch broke; rows are kept (possibly stale) until the relist replaces them.
    /// (A watcher's report; the model shows it as `Stale`.)
    Reconnecting { error: String },
    /// The identity may not list/watch this kind (HTTP 403); retried slowly.
    Forbidden { error: String },
    /// The rows are kept but cannot be confirmed current: `since` is the last time they were
    /// (the last probe the apiserver answered while the watch was live; `None`: never).
    Stale {
        since: Option<Timestamp>,
        error: String,
    },
}

/// One answer (or non-answer) of the per-context apiserver liveness probe
/// (`cluster::liveness`), stamped with the time it was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub at: Timestamp,
    /// `None`: the apiserver answered ready; else why not (timeout, refused, not ready).
    pub error: Option<String>,
}

/// A small message from a watcher task to whoever owns the [`crate::cluster::store::ClusterModel`].
// Upsert is by far the most frequent message, so boxing it to shrink the rare ones would only
// add an allocation per update.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelEvent {
    Upsert(Row),
    Delete(RowKey),
    /// A complete (re)list: every row the scope covers that is not in `rows` is gone. `at`:
    /// when the list completed, which confirms the rows current as of then (a list is as good a
    /// confirmation as a probe; without it a watch that listed after the probe's last answer
    /// would be "stale" with no time at all if the apiserver went away before the next one).
    Resynced {
        scope: WatchScope,
        rows: Vec<Row>,
        at: Timestamp,
    },
    Connection {
        scope: WatchScope,
        state: ConnectionState,
    },
    /// The context's apiserver liveness probe (one per context, about every second).
    Probe(Probe),
}

/// A [`ModelEvent`] stamped with the watcher generation that sent it, so that messages still in
/// flight from the tasks of a previous context are ignored after a switch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelUpdate {
    pub epoch: u64,
    pub event: ModelEvent,
}
