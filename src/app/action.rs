//! Every input the UI core reacts to, as one enum on one channel.

use crossterm::event::{KeyEvent, MouseEvent};
use jiff::Timestamp;

use super::diagnosis::DiagnosisView;
use super::effects::{MutationKind, TaskId};
use super::keymap::Command;
use crate::cluster::model::ModelUpdate;
use crate::registry::types::{RepositoryRow, TagRow};

// `Cluster` (a watch event carrying one slim row) is nearly every message: boxing it to shrink
// the rare variants would add an allocation per watch event.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A key press the terminal delivered; `update` maps it through the key map of the layer
    /// in front (dialog, text input, focused pane, global).
    Key(KeyEvent),
    /// A command already named (from the palette, tests, or a key mapped elsewhere).
    Command(Command),
    Mouse(MouseEvent),
    Resize {
        width: u16,
        height: u16,
    },
    /// Wall-clock tick: ages (≤ 1 Hz) and spinners (faster only while tasks run).
    Tick(Timestamp),
    Cluster(ClusterUpdate),
    Registry(RegistryUpdate),
    /// What the runner found out about RBAC / registry scopes for the current context.
    Permissions(Vec<PermissionUpdate>),
    TaskProgress {
        id: TaskId,
        step: StepUpdate,
    },
    TaskDone {
        id: TaskId,
        result: TaskResult,
    },
    Notice(Notice),
    /// Lines for the logs view, and its streams' ends.
    Logs(super::logs::LogsUpdate),
    /// The terminal was asked to close (SIGTERM, SIGHUP).
    Quit,
}

/// Connection state of a live source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConnState {
    #[default]
    Connecting,
    Live,
    Reconnecting,
    /// The identity may not list/watch something (HTTP 403).
    Forbidden,
    Offline,
    /// Rows kept but not confirmed current (apiserver down, a watch broken or relisting);
    /// `State::cluster_stale` says since when and why.
    Stale,
}

impl ConnState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Reconnecting => "reconnecting",
            Self::Forbidden => "forbidden",
            Self::Offline => "offline",
            Self::Stale => "stale",
        }
    }
}

/// What the cluster side tells the UI: the watchers' own messages (`cluster::watch`, stamped
/// with their epoch so a previous context's stragglers are dropped), and the kubeconfig facts.
// `Model` is nearly every message: boxing it would add an allocation per watch event to save
// bytes on the rare ones.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum ClusterUpdate {
    Model(ModelUpdate),
    /// The kubeconfig's contexts and the one in use.
    Contexts {
        contexts: Vec<String>,
        current: String,
    },
    /// The namespace the watchers follow now (after a switch, or the context default).
    Namespace(String),
}

/// The watchers send `T: From<ModelUpdate>`: the UI's Action channel can take them directly.
impl From<ModelUpdate> for Action {
    fn from(u: ModelUpdate) -> Self {
        Action::Cluster(ClusterUpdate::Model(u))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum RegistryUpdate {
    /// The registry in use (login server host) and its repositories.
    Repositories {
        registry: String,
        repositories: Vec<RepositoryRow>,
    },
    /// Every tag of one repository (replaces what was known).
    Tags {
        repository: String,
        tags: Vec<TagRow>,
    },
    /// A page of a repository listing still under way, so the pane shows rows before the last
    /// page arrives: the first page replaces what was known, later ones add to it, and
    /// `Repositories` with every row ends the listing.
    RepositoriesPage {
        registry: String,
        repositories: Vec<RepositoryRow>,
        first: bool,
    },
    /// The same for the tags of one repository; `Tags` ends it.
    TagsPage {
        repository: String,
        tags: Vec<TagRow>,
        first: bool,
    },
    /// One tag changed (a lazily read digest, a retag berth made).
    Tag(TagRow),
    TagDeleted {
        repository: String,
        tag: String,
    },
    Connection(ConnState),
    /// The admin password slot the pull secrets use now, when known.
    SlotInUse(super::effects::PasswordSlot),
}

/// A permission as the runner found it; `namespace` is `None` for registry-side mutations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionUpdate {
    pub kind: MutationKind,
    pub namespace: Option<String>,
    pub permission: Permission,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Permission {
    Allowed,
    /// With the reason shown on the key hint (e.g. "RBAC: cannot patch deployments in shop").
    Denied(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepStatus {
    Pending,
    Running,
    Done,
    Skipped,
    Failed,
}

/// Progress of one step of a task (one namespace of a rotation, one phase of a retag).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepUpdate {
    /// Stable key of the step, e.g. a namespace name or "manifest".
    pub step: String,
    pub status: StepStatus,
    pub detail: String,
}

pub type TaskResult = Result<TaskOutcome, TaskError>;

#[derive(Clone, Debug, PartialEq)]
pub enum TaskOutcome {
    /// A mutation or switch finished; `summary` is what happened (or would, for a dry run).
    Done {
        summary: String,
    },
    Diagnosis(Box<DiagnosisView>),
    /// An object read for the YAML view (Secret data already hidden).
    Object(Box<crate::cluster::manifest::Manifest>),
}

/// A failure as the user reads it: what failed, why, what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskError {
    pub what: String,
    pub why: String,
    pub hint: String,
    /// Stays on screen until berth exits (a change was made that the audit log lacks).
    pub sticky: bool,
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.why)?;
        if !self.hint.is_empty() {
            write!(f, " — {}", self.hint)?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Success,
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub level: Level,
    pub text: String,
}

impl Notice {
    pub fn info(text: impl Into<String>) -> Self {
        Self {
            level: Level::Info,
            text: text.into(),
        }
    }
    pub fn success(text: impl Into<String>) -> Self {
        Self {
            level: Level::Success,
            text: text.into(),
        }
    }
    pub fn warning(text: impl Into<String>) -> Self {
        Self {
            level: Level::Warning,
            text: text.into(),
        }
    }
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            level: Level::Error,
            text: text.into(),
        }
    }
}
