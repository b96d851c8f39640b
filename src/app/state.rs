//! State: plain data owned by the UI loop. Only `update` changes it; `ui::draw` reads it.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::action::{ConnState, Level, Notice, Permission, StepUpdate, TaskError};
use super::diagnosis::DiagnosisView;
use super::effects::{Effect, ImageLocation, MutationKind, PasswordSlot, TaskId};
use super::keymap::{Keymap, Layer};
use super::store::RegistryStore;
use crate::cluster::model::{ConnectionState, ObjectRef};
use crate::cluster::store::ClusterModel;

/// The list that has the keyboard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Focus {
    Repositories,
    Tags,
    #[default]
    Deployments,
    Pods,
    Events,
}

impl Focus {
    pub const ORDER: [Focus; 5] = [
        Self::Repositories,
        Self::Tags,
        Self::Deployments,
        Self::Pods,
        Self::Events,
    ];

    pub fn layer(self) -> Layer {
        match self {
            Self::Repositories => Layer::Repositories,
            Self::Tags => Layer::Tags,
            Self::Deployments => Layer::Deployments,
            Self::Pods => Layer::Pods,
            Self::Events => Layer::Events,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Repositories => "repositories",
            Self::Tags => "tags",
            Self::Deployments => "deployments",
            Self::Pods => "pods",
            Self::Events => "events",
        }
    }
}

/// Selection, scroll and filter of one list. For the events timeline `selected` counts rows up
/// from the newest (0 = follow the bottom).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListNav {
    pub selected: usize,
    pub offset: usize,
    pub filter: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nav {
    pub repositories: ListNav,
    pub tags: ListNav,
    pub deployments: ListNav,
    pub pods: ListNav,
    pub events: ListNav,
}

impl Nav {
    pub fn get(&self, focus: Focus) -> &ListNav {
        match focus {
            Focus::Repositories => &self.repositories,
            Focus::Tags => &self.tags,
            Focus::Deployments => &self.deployments,
            Focus::Pods => &self.pods,
            Focus::Events => &self.events,
        }
    }

    pub fn get_mut(&mut self, focus: Focus) -> &mut ListNav {
        match focus {
            Focus::Repositories => &mut self.repositories,
            Focus::Tags => &mut self.tags,
            Focus::Deployments => &mut self.deployments,
            Focus::Pods => &mut self.pods,
            Focus::Events => &mut self.events,
        }
    }
}

/// A one-line text field (filter, palette, prompt). `cursor` counts chars.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextInput {
    pub text: String,
    pub cursor: usize,
}

impl TextInput {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            cursor: text.chars().count(),
        }
    }

    fn byte_at(&self, char_idx: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_idx)
            .map_or(self.text.len(), |(i, _)| i)
    }

    pub fn insert(&mut self, c: char) {
        let at = self.byte_at(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            let at = self.byte_at(self.cursor);
            self.text.remove(at);
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.text.chars().count() {
            let at = self.byte_at(self.cursor);
            self.text.remove(at);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.chars().count());
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }
}

/// One row of a confirmation: `label: old → new`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub label: String,
    pub old: Option<String>,
    pub new: String,
}

/// Tag vs digest for `set image`: the two images and which one the effect uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinChoice {
    pub by_tag: String,
    pub by_digest: String,
    pub pinned: bool,
    /// Index of the `image` row in `changes`.
    pub change_index: usize,
}

/// A confirmation: exactly what changes, and the effect that will run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirm {
    pub title: String,
    pub effect: Effect,
    pub changes: Vec<Change>,
    /// Shown first and in the alarm style: the workload's owner (Helm, Argo CD, Flux) reverts
    /// the change, and what to do instead.
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    pub pin: Option<PinChoice>,
    /// For a retag onto an existing tag: the digest it points at now. Confirming then needs force.
    pub overwrites: Option<String>,
    /// Why confirming is refused whatever the toggles say (a retag onto a tag ACR has locked).
    pub blocked: Option<String>,
    /// A retag into ACR: "lock the tag after promoting" is offered.
    pub lockable: bool,
    pub error: Option<String>,
}

impl Confirm {
    /// A confirmation with no digest choice, no overwrite and no error yet.
    pub fn new(
        title: impl Into<String>,
        effect: Effect,
        changes: Vec<Change>,
        notes: Vec<String>,
    ) -> Self {
        Self {
            title: title.into(),
            effect,
            changes,
            warnings: Vec::new(),
            notes,
            pin: None,
            overwrites: None,
            blocked: None,
            lockable: false,
            error: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptKind {
    /// `t`: the new tag, or `repo:tag`, or `host/repo:tag` for the selected tag.
    RetagTarget {
        src: ImageLocation,
        digest: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub title: String,
    pub help: String,
    pub input: TextInput,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagnosisPanel {
    pub task: TaskId,
    pub pod: ObjectRef,
    /// `None` while the diagnosis runs; `Err` with the failure when it could not run.
    pub view: Option<Result<DiagnosisView, TaskError>>,
    pub scroll: u16,
}

/// Whatever is in front of the panes, top of the stack consumes input first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dialog {
    Help,
    Filter {
        target: Focus,
        input: TextInput,
    },
    Palette {
        input: TextInput,
        selected: usize,
    },
    Prompt(Prompt),
    Confirm(Box<Confirm>),
    Diagnosis(Box<DiagnosisPanel>),
    /// The revisions of one workload, to undo to any of them.
    Revisions(Box<RevisionPicker>),
    /// The logs of a pod or a workload, following.
    Logs(Box<super::logs::LogsView>),
    /// One object's YAML or events.
    Object(Box<super::object_view::ObjectView>),
}

/// The revision picker's state: which workload, and the selected row (its rows are derived
/// from the model on every draw: `view::revision_rows`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionPicker {
    pub kind: crate::cluster::model::WorkloadKind,
    pub workload: ObjectRef,
    pub selected: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskState {
    Running,
    Done(String),
    Failed(TaskError),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskView {
    pub id: TaskId,
    pub title: String,
    pub effect: Effect,
    pub started: Timestamp,
    pub finished: Option<Timestamp>,
    pub steps: Vec<StepUpdate>,
    pub state: TaskState,
}

impl TaskView {
    /// Mutations show in the progress panel; loads and diagnoses have their own place.
    pub fn shows_progress(&self) -> bool {
        self.effect.mutation().is_some()
            || matches!(
                self.effect,
                Effect::SwitchContext { .. } | Effect::SwitchNamespace { .. }
            )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedNotice {
    pub notice: Notice,
    pub at: Timestamp,
    /// Does not expire (see [`super::notices::notify_sticky`]).
    pub sticky: bool,
}

/// berth's own actions and their results, shown in the rollout timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    pub at: Timestamp,
    pub namespace: Option<String>,
    /// The deployment (or pod) the action was about.
    pub subject: Option<ObjectRef>,
    pub level: Level,
    pub text: String,
}

pub const JOURNAL_CAP: usize = 1000;

/// Why mutations are off for the whole session, if they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadOnly {
    Off,
    /// `--read-only` on the command line, or `read_only = true` in config.toml.
    On(String),
}

#[derive(Clone, Debug)]
pub struct State {
    pub now: Timestamp,
    pub width: u16,
    pub height: u16,
    pub keymap: Keymap,
    /// The theme the screen is drawn in (`[ui] theme`, unless `NO_COLOR`).
    pub theme: std::sync::Arc<crate::theme::Theme>,
    pub read_only: ReadOnly,
    /// What the runner learnt; absent = not checked (allowed; the server decides).
    pub permissions: BTreeMap<(MutationKind, Option<String>), Permission>,

    /// THE cluster model (the one `berth rollout status` reads too); it owns the accepted
    /// watcher epoch and every watch's connection state.
    pub cluster: ClusterModel,
    pub registry: RegistryStore,
    /// The `[[registry]]` names of config.toml, in order, and the one the pane browses.
    pub registries: Vec<String>,
    pub registry_name: String,
    pub context: String,
    pub contexts: Vec<String>,
    pub namespace: String,
    pub registry_conn: ConnState,
    /// Name of the dockerconfigjson pull secret berth manages.
    pub pull_secret: String,
    pub slot_in_use: Option<PasswordSlot>,

    pub focus: Focus,
    pub nav: Nav,
    /// Identity of the selected repository / deployment, so live updates do not move the cursor.
    pub selected_repository: Option<String>,
    pub selected_deployment: Option<ObjectRef>,
    pub dialogs: Vec<Dialog>,

    pub tasks: BTreeMap<TaskId, TaskView>,
    pub next_task: u64,
    pub notices: Vec<TimedNotice>,
    pub last_result: Option<Notice>,
    pub journal: Vec<JournalEntry>,
    pub spinner: usize,
    pub should_quit: bool,
    /// Something visible changed since the last frame.
    pub dirty: bool,
}

impl State {
    /// The cluster's connection for the status bar: the model's one summary of its watches.
    pub fn cluster_conn(&self) -> ConnState {
        match self.cluster.connection() {
            ConnectionState::Connecting => ConnState::Connecting,
            ConnectionState::Live => ConnState::Live,
            ConnectionState::Reconnecting { .. } => ConnState::Reconnecting,
            ConnectionState::Forbidden { .. } => ConnState::Forbidden,
            ConnectionState::Stale { .. } => ConnState::Stale,
        }
    }

    /// While the cluster rows cannot be confirmed current: ("stale since 22:23:05", why), the
    /// time local and the last confirmed sync of the oldest stale watch.
    pub fn cluster_stale(&self) -> Option<(String, String)> {
        match self.cluster.connection() {
            ConnectionState::Stale { since, error } => Some((stale_label(since), error)),
            _ => None,
        }
    }

    pub fn new(now: Timestamp) -> Self {
        Self {
            now,
            width: 80,
            height: 24,
            keymap: Keymap::default(),
            theme: Default::default(),
            read_only: ReadOnly::Off,
            permissions: BTreeMap::new(),
            cluster: ClusterModel::default(),
            registry: RegistryStore::default(),
            registries: Vec::new(),
            registry_name: String::new(),
            context: String::new(),
            contexts: Vec::new(),
            namespace: "default".to_owned(),
            registry_conn: ConnState::Connecting,
            pull_secret: "acr-pull".to_owned(),
            slot_in_use: None,
            focus: Focus::Deployments,
            nav: Nav::default(),
            selected_repository: None,
            selected_deployment: None,
            dialogs: Vec::new(),
            tasks: BTreeMap::new(),
            next_task: 1,
            notices: Vec::new(),
            last_result: None,
            journal: Vec::new(),
            spinner: 0,
            should_quit: false,
            dirty: true,
        }
    }

    /// The layer whose keys apply now.
    pub fn layer(&self) -> Layer {
        match self.dialogs.last() {
            Some(Dialog::Confirm(_)) => Layer::Confirm,
            Some(Dialog::Diagnosis(_)) => Layer::Diagnosis,
            Some(Dialog::Revisions(_)) => Layer::Revisions,
            Some(Dialog::Logs(_)) => Layer::Logs,
            Some(Dialog::Object(_)) => Layer::Object,
            _ => self.focus.layer(),
        }
    }

    /// `Err(reason)` when a mutation of `kind` in `namespace` is off (read-only, RBAC, or the
    /// cluster's apiserver not answering: the write would fail or hang, or land later unseen).
    pub fn mutation_allowed(
        &self,
        kind: MutationKind,
        namespace: Option<&str>,
    ) -> Result<(), String> {
        if let ReadOnly::On(why) = &self.read_only {
            return Err(format!("read-only ({why})"));
        }
        // Every mutation but a retag (registry only) and an Azure fix (ARM) writes to the cluster.
        if !matches!(kind, MutationKind::Retag | MutationKind::Azure)
            && let Some(down) = self.cluster.apiserver_down()
        {
            let since = self
                .cluster_stale()
                .map(|(label, _)| format!("; data {label}"));
            return Err(format!(
                "the cluster is unreachable ({down}{})",
                since.unwrap_or_default()
            ));
        }
        let scoped = namespace.and_then(|ns| self.permissions.get(&(kind, Some(ns.to_owned()))));
        let global = self.permissions.get(&(kind, None));
        match scoped.or(global) {
            Some(Permission::Denied(why)) => Err(why.clone()),
            _ => Ok(()),
        }
    }

    pub fn running_tasks(&self) -> usize {
        self.tasks
            .values()
            .filter(|t| t.state == TaskState::Running)
            .count()
    }

    pub fn journal(&mut self, entry: JournalEntry) {
        self.journal.push(entry);
        if self.journal.len() > JOURNAL_CAP {
            let excess = self.journal.len() - JOURNAL_CAP;
            self.journal.drain(..excess);
        }
    }
}

/// "stale since 22:23:05" (local time), or plain "stale" when the rows were never confirmed.
pub fn stale_label(since: Option<Timestamp>) -> String {
    match since {
        Some(t) => format!(
            "stale since {}",
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%H:%M:%S")
        ),
        None => "stale".to_owned(),
    }
}
