//! The boundary between the pure UI core and the background runner.
//!
//! `update` never does I/O: it returns [`Task`]s, each a typed [`Effect`] with an id. The runner
//! (wired by the binary to the real registry/cluster/diagnosis clients) executes a task and reports
//! back on the one Action channel with `Action::TaskProgress { id, .. }` (zero or more) and then
//! exactly one `Action::TaskDone { id, result }`. Nothing here touches a network or a terminal.

use std::fmt;

use crate::cluster::model::{ObjectRef, WorkloadKind};

/// Identifies one background task; unique for the life of the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One request for the runner, and the id its progress and result come back with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub id: TaskId,
    pub effect: Effect,
}

/// An image in a registry: `registry` is the login server host (`berthacr.azurecr.io`,
/// `127.0.0.1:5000`), `reference` a tag or a `sha256:` digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageLocation {
    pub registry: String,
    pub repository: String,
    pub reference: String,
}

impl fmt::Display for ImageLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.reference.starts_with("sha256:") {
            '@'
        } else {
            ':'
        };
        write!(
            f,
            "{}/{}{sep}{}",
            self.registry, self.repository, self.reference
        )
    }
}

/// The two admin password slots of an ACR registry (`password`, `password2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PasswordSlot {
    Password,
    Password2,
}

impl PasswordSlot {
    pub fn other(self) -> Self {
        match self {
            Self::Password => Self::Password2,
            Self::Password2 => Self::Password,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Password2 => "password2",
        }
    }
}

impl fmt::Display for PasswordSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed request to the background runner. Mutations carry `dry_run`: the runner then asks the
/// server for a dry run (Kubernetes `dryRun=All`; for the registry, every check without the PUT)
/// and reports what would change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// (Re)list the repositories of the current registry; answer with `Action::Registry`.
    LoadRepositories,
    /// List the tags of one repository with digests, times and platforms (newest first is the
    /// UI's job); answer with `Action::Registry(RegistryUpdate::Tags { .. })`.
    LoadTags { repository: String },
    /// Point `dst` at the manifest of `src` (registry side, no layer transfer when the registry
    /// is the same). `force` allows moving an existing tag; `lock` locks `dst` afterwards (ACR
    /// `writeEnabled=false`).
    Retag {
        src: ImageLocation,
        dst: ImageLocation,
        force: bool,
        lock: bool,
        dry_run: bool,
    },
    /// Set one container's image of a deployment; `expected_image` is the precondition.
    SetImage {
        deployment: ObjectRef,
        container: String,
        expected_image: String,
        image: String,
        dry_run: bool,
    },
    /// `kubectl rollout restart` of a workload of `kind`.
    Restart {
        kind: WorkloadKind,
        deployment: ObjectRef,
        dry_run: bool,
    },
    /// `kubectl rollout undo` to `to_revision` (the previous revision when `None`).
    Undo {
        kind: WorkloadKind,
        deployment: ObjectRef,
        to_revision: Option<i64>,
        dry_run: bool,
    },
    Pause {
        deployment: ObjectRef,
        dry_run: bool,
    },
    Resume {
        deployment: ObjectRef,
        dry_run: bool,
    },
    /// Regenerate `slot` of the registry's admin credentials and update the dockerconfigjson pull
    /// secret `secret` in every namespace of `namespaces` (never leaving one without working
    /// credentials: the other slot stays valid until every secret is updated).
    /// `attach`: also add the secret to this service account's `imagePullSecrets` in each
    /// namespace (the fix for a namespace that has no pull secret at all).
    RotateSecret {
        registry: String,
        secret: String,
        namespaces: Vec<String>,
        slot: PasswordSlot,
        attach: Option<String>,
        dry_run: bool,
    },
    /// Add `secret` to the service account's `imagePullSecrets`.
    AttachSecret {
        service_account: ObjectRef,
        secret: String,
        dry_run: bool,
    },
    /// An Azure-side fix for the kubelet identity's pulls from `registry` (the AcrPull role
    /// assignment, an IP rule), made through the registry's ARM access.
    AzureFix {
        registry: String,
        action: crate::diagnose::FixAction,
        dry_run: bool,
    },
    /// Run the ImagePullBackOff diagnosis for one pod; answer with
    /// `TaskOutcome::Diagnosis(Box<DiagnosisView>)`.
    Diagnose { pod: ObjectRef },
    /// Restart the watchers on another kubeconfig context.
    SwitchContext { context: String },
    /// Restart the namespaced watchers on another namespace.
    SwitchNamespace { namespace: String },
    /// Browse another `[[registry]]` (by its config name): its repositories replace the pane's.
    SwitchRegistry { name: String },
    /// Stream one container's log into the logs view `spec.session` (following it, unless
    /// `previous`); lines come back as `Action::Logs`, batched per frame.
    LogStream(Box<super::logs::StreamSpec>),
    /// Close every stream of a logs view.
    StopLogs { session: u64 },
    /// Read one object for the YAML view; answer with `TaskOutcome::Object`.
    FetchObject(crate::cluster::manifest::ObjectTarget),
}

/// What kind of change a mutation makes; the key of the permission map and of read-only refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MutationKind {
    Retag,
    SetImage,
    Restart,
    Undo,
    PauseResume,
    RotateSecret,
    AttachSecret,
    /// Azure resources (role assignments, registry network rules): ARM decides at the write.
    Azure,
}

impl MutationKind {
    pub const ALL: [MutationKind; 8] = [
        Self::Retag,
        Self::SetImage,
        Self::Restart,
        Self::Undo,
        Self::PauseResume,
        Self::RotateSecret,
        Self::AttachSecret,
        Self::Azure,
    ];

    /// The verb and resource the runner checks (SelfSubjectAccessReview / registry scope).
    pub fn describe(self) -> &'static str {
        match self {
            Self::Retag => "push tags to the registry",
            Self::SetImage => "patch deployments",
            Self::Restart => "patch deployments",
            Self::Undo => "patch deployments and list replicasets",
            Self::PauseResume => "patch deployments",
            Self::RotateSecret => "regenerate registry credentials and update secrets",
            Self::AttachSecret => "patch serviceaccounts",
            Self::Azure => "write Azure role assignments or registry network rules",
        }
    }
}

impl Effect {
    /// Which mutation this effect performs, if it is one.
    pub fn mutation(&self) -> Option<MutationKind> {
        Some(match self {
            Self::Retag { .. } => MutationKind::Retag,
            Self::SetImage { .. } => MutationKind::SetImage,
            Self::Restart { .. } => MutationKind::Restart,
            Self::Undo { .. } => MutationKind::Undo,
            Self::Pause { .. } | Self::Resume { .. } => MutationKind::PauseResume,
            Self::RotateSecret { .. } => MutationKind::RotateSecret,
            Self::AttachSecret { .. } => MutationKind::AttachSecret,
            Self::AzureFix { .. } => MutationKind::Azure,
            Self::LoadRepositories
            | Self::LoadTags { .. }
            | Self::Diagnose { .. }
            | Self::SwitchContext { .. }
            | Self::SwitchNamespace { .. }
            | Self::SwitchRegistry { .. }
            | Self::LogStream(_)
            | Self::StopLogs { .. }
            | Self::FetchObject(_) => return None,
        })
    }

    pub fn dry_run(&self) -> bool {
        match self {
            Self::Retag { dry_run, .. }
            | Self::SetImage { dry_run, .. }
            | Self::Restart { dry_run, .. }
            | Self::Undo { dry_run, .. }
            | Self::Pause { dry_run, .. }
            | Self::Resume { dry_run, .. }
            | Self::RotateSecret { dry_run, .. }
            | Self::AttachSecret { dry_run, .. }
            | Self::AzureFix { dry_run, .. } => *dry_run,
            _ => false,
        }
    }

    pub fn set_dry_run(&mut self, value: bool) {
        match self {
            Self::Retag { dry_run, .. }
            | Self::SetImage { dry_run, .. }
            | Self::Restart { dry_run, .. }
            | Self::Undo { dry_run, .. }
            | Self::Pause { dry_run, .. }
            | Self::Resume { dry_run, .. }
            | Self::RotateSecret { dry_run, .. }
            | Self::AttachSecret { dry_run, .. }
            | Self::AzureFix { dry_run, .. } => *dry_run = value,
            _ => {}
        }
    }

    /// The namespace a mutation acts in (for the permission map); `None` for registry-side or
    /// multi-namespace work.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Self::SetImage { deployment, .. }
            | Self::Restart { deployment, .. }
            | Self::Undo { deployment, .. }
            | Self::Pause { deployment, .. }
            | Self::Resume { deployment, .. } => Some(&deployment.namespace),
            Self::AttachSecret {
                service_account, ..
            } => Some(&service_account.namespace),
            Self::Diagnose { pod } => Some(&pod.namespace),
            Self::LogStream(s) => Some(&s.namespace),
            Self::FetchObject(t) if !t.namespace.is_empty() => Some(&t.namespace),
            _ => None,
        }
    }

    /// A one-line title for progress, the timeline and notices.
    pub fn title(&self) -> String {
        let dry = if self.dry_run() { " (dry run)" } else { "" };
        let text = match self {
            Self::LoadRepositories => "load repositories".to_owned(),
            Self::LoadTags { repository } => format!("load tags of {repository}"),
            Self::Retag { src, dst, .. } => format!("retag {src} → {dst}"),
            Self::SetImage {
                deployment, image, ..
            } => format!(
                "set image {}/{} → {image}",
                deployment.namespace, deployment.name
            ),
            Self::Restart {
                kind, deployment, ..
            } => {
                format!(
                    "restart {}{}/{}",
                    kind_prefix(*kind),
                    deployment.namespace,
                    deployment.name
                )
            }
            Self::Undo {
                kind,
                deployment,
                to_revision,
                ..
            } => match to_revision {
                Some(r) => format!(
                    "undo {}{}/{} to revision {r}",
                    kind_prefix(*kind),
                    deployment.namespace,
                    deployment.name
                ),
                None => format!(
                    "undo {}{}/{}",
                    kind_prefix(*kind),
                    deployment.namespace,
                    deployment.name
                ),
            },
            Self::Pause { deployment, .. } => {
                format!("pause {}/{}", deployment.namespace, deployment.name)
            }
            Self::Resume { deployment, .. } => {
                format!("resume {}/{}", deployment.namespace, deployment.name)
            }
            Self::RotateSecret {
                secret,
                namespaces,
                slot,
                attach,
                ..
            } => format!(
                "rotate {slot} → secret {secret} in {} namespace{}{}",
                namespaces.len(),
                if namespaces.len() == 1 { "" } else { "s" },
                attach
                    .as_ref()
                    .map(|sa| format!(", attached to serviceaccount {sa}"))
                    .unwrap_or_default()
            ),
            Self::AttachSecret {
                service_account,
                secret,
                ..
            } => format!(
                "attach {secret} to serviceaccount {}/{}",
                service_account.namespace, service_account.name
            ),
            Self::AzureFix {
                registry, action, ..
            } => match action {
                crate::diagnose::FixAction::AssignPullRole { role, .. } => {
                    format!("assign {role} on {registry} to the kubelet identity")
                }
                crate::diagnose::FixAction::AllowRegistryIp { ip, .. } => {
                    format!("allow {ip} in {registry}'s network rules")
                }
                other => other.command(),
            },
            Self::Diagnose { pod } => format!("diagnose {}/{}", pod.namespace, pod.name),
            Self::SwitchContext { context } => format!("switch to context {context}"),
            Self::SwitchNamespace { namespace } => format!("switch to namespace {namespace}"),
            Self::SwitchRegistry { name } => format!("switch to registry {name}"),
            Self::LogStream(s) => format!(
                "logs of {}/{}/{}{}",
                s.namespace,
                s.key.pod,
                s.key.container,
                if s.previous { " (previous)" } else { "" }
            ),
            Self::StopLogs { session } => format!("close logs view {session}"),
            Self::FetchObject(t) => format!("read {}", t.label()),
        };
        format!("{text}{dry}")
    }
}

/// `sts ` / `ds ` before a StatefulSet's or DaemonSet's name in titles; nothing for Deployments.
fn kind_prefix(kind: WorkloadKind) -> String {
    match kind {
        WorkloadKind::Deployment => String::new(),
        other => format!("{} ", other.short()),
    }
}
