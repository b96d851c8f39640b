//! `update(&mut State, Action) -> Vec<Task>`: the only place State changes. Pure: no I/O, no
//! clock (time arrives in `Action::Tick`), no terminal.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

use super::action::{
    Action, ClusterUpdate, Level, Notice, RegistryUpdate, TaskOutcome, TaskResult,
};
use super::effects::{Effect, ImageLocation, PasswordSlot, Task, TaskId};
use super::keymap::{Command, Key, KeyCodeOrd, Layer};
use super::object_view::ObjectTab;
use super::refcheck::parse_target;
use super::state::{
    Change, Confirm, DiagnosisPanel, Dialog, Focus, JournalEntry, PinChoice, Prompt, PromptKind,
    RevisionPicker, State, TaskState, TaskView, TextInput, TimedNotice,
};
use super::view;
use crate::cluster::model::{DeploymentRow, Kind, ModelEvent, ObjectRef, RolloutState, Row};
use crate::cluster::owner::OwnedAction;
use crate::registry::types::TagRow;
use crate::ui::layout::ScreenLayout;

/// How long a notice stays (errors stay longer: they need reading).
const NOTICE_SECS: i64 = 6;
const ERROR_NOTICE_SECS: i64 = 12;
const MAX_NOTICES: usize = 4;

pub fn update(state: &mut State, action: Action) -> Vec<Task> {
    let mut fx = Vec::new();
    state.dirty = true;
    match action {
        Action::Key(ev) => match Key::from_event(&ev) {
            Some(key) => on_key(state, key, &mut fx),
            None => state.dirty = false,
        },
        Action::Command(c) => on_command(state, c, &mut fx),
        Action::Mouse(m) => on_mouse(state, m, &mut fx),
        Action::Resize { width, height } => {
            state.width = width;
            state.height = height;
            for f in Focus::ORDER {
                keep_visible(state, f);
            }
            super::logs::resized(state);
            super::object_view::resized(state);
        }
        Action::Tick(now) => {
            state.now = now;
            state.spinner = state.spinner.wrapping_add(1);
            state.notices.retain(|n| {
                if n.sticky {
                    return true;
                }
                let secs = if n.notice.level == Level::Error {
                    ERROR_NOTICE_SECS
                } else {
                    NOTICE_SECS
                };
                now.duration_since(n.at).as_secs() < secs
            });
        }
        Action::Cluster(u) => {
            // Pods that appear (a rollout) or whose container restarted join an open logs view;
            // a pod can arrive before the ReplicaSet that ties it to its workload, so a new
            // revision is looked at too.
            let pods = match &u {
                ClusterUpdate::Model(m) => match &m.event {
                    ModelEvent::Upsert(Row::Pod(_) | Row::ReplicaSet(_) | Row::Workload(_)) => true,
                    ModelEvent::Resynced { scope, .. } => {
                        matches!(scope.kind, Kind::Pod | Kind::ReplicaSet)
                    }
                    _ => false,
                },
                _ => false,
            };
            let object = match &u {
                // One row's change (a relist's rows are not cloned: the view reads again on the
                // next change of its object).
                ClusterUpdate::Model(m)
                    if matches!(m.event, ModelEvent::Upsert(_) | ModelEvent::Delete(_))
                        && state.dialogs.iter().any(|d| matches!(d, Dialog::Object(_))) =>
                {
                    Some(m.event.clone())
                }
                _ => None,
            };
            on_cluster(state, u, &mut fx);
            if let Some(event) = object {
                let dirty = state.dirty;
                super::object_view::model_changed(state, &event, &mut fx);
                state.dirty |= dirty;
            }
            if pods && state.dialogs.iter().any(|d| matches!(d, Dialog::Logs(_))) {
                let dirty = state.dirty;
                super::logs::pods_changed(state, &mut fx);
                state.dirty |= dirty;
            }
        }
        Action::Registry(u) => on_registry(state, u, &mut fx),
        Action::Permissions(list) => {
            for p in list {
                state
                    .permissions
                    .insert((p.kind, p.namespace), p.permission);
            }
        }
        Action::TaskProgress { id, step } => {
            if let Some(t) = state.tasks.get_mut(&id) {
                match t.steps.iter_mut().find(|s| s.step == step.step) {
                    Some(s) => *s = step,
                    None => t.steps.push(step),
                }
            }
        }
        Action::TaskDone { id, result } => {
            // The object view's reads are not progress tasks: it takes its own.
            if !state.tasks.contains_key(&id) {
                let dirty = super::object_view::fetched(state, id, result, &mut fx);
                state.dirty = dirty;
            } else {
                on_task_done(state, id, result);
            }
        }
        Action::Notice(n) => notify(state, n),
        Action::Logs(u) => super::logs::on_update(state, u),
        Action::Quit => state.should_quit = true,
    }
    fx
}

// ---------------------------------------------------------------------------------------------
// Keys

fn on_key(state: &mut State, key: Key, fx: &mut Vec<Task>) {
    // Text fields take the keyboard first (gitui's "popups consume input").
    if matches!(
        state.dialogs.last(),
        Some(Dialog::Filter { .. } | Dialog::Palette { .. } | Dialog::Prompt(_))
    ) {
        on_text_key(state, key, fx);
        return;
    }
    if matches!(state.dialogs.last(), Some(Dialog::Logs(v)) if v.search_input.is_some()) {
        super::logs::on_text_key(state, key);
        return;
    }
    if matches!(state.dialogs.last(), Some(Dialog::Object(v)) if v.search_input.is_some()) {
        super::object_view::on_text_key(state, key);
        return;
    }
    if matches!(state.dialogs.last(), Some(Dialog::Help)) {
        // Any key closes the help; the key itself is not acted on (it was read, not meant).
        state.dialogs.pop();
        return;
    }
    match state.keymap.lookup(state.layer(), key) {
        Some(cmd) => on_command(state, cmd, fx),
        None => state.dirty = false,
    }
}

/// Editing keys of a one-line field; fixed (not in the key map) like every readline.
fn on_text_key(state: &mut State, key: Key, fx: &mut Vec<Task>) {
    if matches!(
        key.code,
        KeyCodeOrd::Up | KeyCodeOrd::Down | KeyCodeOrd::Tab | KeyCodeOrd::BackTab
    ) {
        palette_move(state, key.code);
        return;
    }
    let Some(top) = state.dialogs.last_mut() else {
        return;
    };
    let input = match top {
        Dialog::Filter { input, .. } | Dialog::Palette { input, .. } => input,
        Dialog::Prompt(p) => &mut p.input,
        _ => return,
    };
    let mut edited = true;
    match (key.code, key.ctrl) {
        (KeyCodeOrd::Esc, _) => {
            if let Some(Dialog::Filter { target, .. }) = state.dialogs.pop() {
                // Esc in a filter drops it: the list shows everything again.
                set_filter(state, target, String::new());
            }
            return;
        }
        (KeyCodeOrd::Enter, _) => {
            submit_text(state, fx);
            return;
        }
        (KeyCodeOrd::Char('u'), true) => input.clear(),
        (KeyCodeOrd::Char('c'), true) => {
            state.dialogs.pop();
            return;
        }
        (KeyCodeOrd::Char(c), false) => input.insert(c),
        (KeyCodeOrd::Backspace, _) => input.backspace(),
        (KeyCodeOrd::Delete, _) => input.delete(),
        (KeyCodeOrd::Left, _) => {
            input.left();
            edited = false;
        }
        (KeyCodeOrd::Right, _) => {
            input.right();
            edited = false;
        }
        (KeyCodeOrd::Home, _) => {
            input.cursor = 0;
            edited = false;
        }
        (KeyCodeOrd::End, _) => {
            input.cursor = input.text.chars().count();
            edited = false;
        }
        _ => {
            state.dirty = false;
            return;
        }
    }
    if edited {
        match state.dialogs.last_mut() {
            Some(Dialog::Filter { target, input }) => {
                let (t, text) = (*target, input.text.clone());
                set_filter(state, t, text);
            }
            Some(Dialog::Palette { selected, .. }) => *selected = 0,
            Some(Dialog::Prompt(p)) => p.error = None,
            _ => {}
        }
    }
}

/// Up/Down pick a palette suggestion, Tab completes the input to it.
fn palette_move(state: &mut State, code: KeyCodeOrd) {
    let Some(Dialog::Palette { input, selected }) = state.dialogs.last() else {
        state.dirty = false;
        return;
    };
    let sugg = palette_suggestions(state, &input.text);
    let sel = *selected;
    let (new_sel, completed) = match code {
        KeyCodeOrd::Up | KeyCodeOrd::BackTab => (sel.saturating_sub(1), None),
        KeyCodeOrd::Down => ((sel + 1).min(sugg.len().saturating_sub(1)), None),
        _ => (0, sugg.get(sel).map(|s| s.text.clone())),
    };
    if let Some(Dialog::Palette { input, selected }) = state.dialogs.last_mut() {
        *selected = new_sel;
        if let Some(t) = completed {
            *input = TextInput::new(&t);
        }
    }
}

fn set_filter(state: &mut State, target: Focus, text: String) {
    let nav = state.nav.get_mut(target);
    nav.filter = text;
    nav.selected = 0;
    nav.offset = 0;
    after_selection_change(state, target, &mut Vec::new());
}

fn submit_text(state: &mut State, fx: &mut Vec<Task>) {
    match state.dialogs.pop() {
        Some(Dialog::Filter { .. }) => {} // the filter is already applied; Enter keeps it
        Some(Dialog::Palette { input, selected }) => {
            let typed = input.text.trim().to_owned();
            let result = run_palette(state, &typed, fx).or_else(|first_err| {
                // Not a complete command: take the highlighted suggestion.
                let sugg = palette_suggestions(state, &typed);
                match sugg.get(selected) {
                    Some(s) if s.text != typed => run_palette(state, &s.text.clone(), fx),
                    _ => Err(first_err),
                }
            });
            if let Err(e) = result {
                notify(state, Notice::error(e));
            }
        }
        Some(Dialog::Prompt(mut p)) => match &p.kind {
            PromptKind::RetagTarget { src, digest } => match parse_target(&p.input.text, src) {
                Ok(dst) => {
                    let confirm = retag_confirm(state, src.clone(), digest.clone(), dst);
                    state.dialogs.push(Dialog::Confirm(Box::new(confirm)));
                }
                Err(e) => {
                    p.error = Some(e);
                    state.dialogs.push(Dialog::Prompt(p));
                }
            },
        },
        Some(other) => state.dialogs.push(other),
        None => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Commands

fn on_command(state: &mut State, cmd: Command, fx: &mut Vec<Task>) {
    match state.dialogs.last() {
        Some(Dialog::Confirm(_)) => return on_confirm_command(state, cmd, fx),
        Some(Dialog::Diagnosis(_)) => return on_diagnosis_command(state, cmd),
        Some(Dialog::Revisions(_)) => return on_revisions_command(state, cmd),
        Some(Dialog::Logs(_)) => return super::logs::on_command(state, cmd, fx),
        Some(Dialog::Object(_)) => return super::object_view::on_command(state, cmd, fx),
        Some(Dialog::Help) => {
            state.dialogs.pop();
            return;
        }
        _ => {}
    }
    let focus = state.focus;
    match cmd {
        Command::Quit => state.should_quit = true,
        Command::Help => state.dialogs.push(Dialog::Help),
        Command::NextPane | Command::PrevPane => {
            let order = Focus::ORDER;
            let i = order.iter().position(|f| *f == focus).unwrap_or(0);
            let n = order.len();
            let j = if cmd == Command::NextPane {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            state.focus = order[j];
        }
        Command::Up => move_selection(state, focus, -1, fx),
        Command::Down => move_selection(state, focus, 1, fx),
        Command::PageUp => {
            let page = page_size(state, focus) as isize;
            move_selection(state, focus, -page, fx);
        }
        Command::PageDown => {
            let page = page_size(state, focus) as isize;
            move_selection(state, focus, page, fx);
        }
        Command::Top => move_selection(state, focus, isize::MIN / 2, fx),
        Command::Bottom => move_selection(state, focus, isize::MAX / 2, fx),
        Command::Enter => match focus {
            Focus::Repositories => {
                state.focus = Focus::Tags;
                request_tags(state, fx);
            }
            Focus::Deployments => state.focus = Focus::Pods,
            _ => state.dirty = false,
        },
        Command::Back => {
            if !state.nav.get(focus).filter.is_empty() {
                set_filter(state, focus, String::new());
            } else {
                match focus {
                    Focus::Tags => state.focus = Focus::Repositories,
                    Focus::Pods => state.focus = Focus::Deployments,
                    // Out of the repositories: the list of configured registries to browse
                    // (the palette's `:reg`, the one browsed highlighted).
                    Focus::Repositories if state.registries.len() > 1 => {
                        let selected = state
                            .registries
                            .iter()
                            .position(|r| *r == state.registry_name)
                            .unwrap_or(0);
                        state.dialogs.push(Dialog::Palette {
                            input: TextInput::new("reg "),
                            selected,
                        });
                    }
                    _ => state.dirty = false,
                }
            }
        }
        Command::Filter => {
            let input = TextInput::new(&state.nav.get(focus).filter);
            state.dialogs.push(Dialog::Filter {
                target: focus,
                input,
            });
        }
        Command::Palette => state.dialogs.push(Dialog::Palette {
            input: TextInput::default(),
            selected: 0,
        }),
        Command::Retag => open_retag(state),
        Command::SortTags => switch_tag_order(state),
        Command::SetImage => open_set_image(state),
        Command::Restart => open_restart(state),
        Command::Undo => open_undo(state),
        Command::Revisions => open_revisions(state),
        Command::PauseResume => open_pause_resume(state),
        Command::RotateSecret => open_rotate(state),
        Command::AttachSecret => open_attach(state),
        Command::Diagnose => start_diagnose(state, fx),
        Command::Refresh => refresh_registry(state, fx),
        Command::Logs => super::logs::open(state, fx),
        Command::Yaml => super::object_view::open_selected(state, ObjectTab::Yaml, fx),
        Command::Events => super::object_view::open_selected(state, ObjectTab::Events, fx),
        Command::Confirm
        | Command::Cancel
        | Command::ToggleDryRun
        | Command::ToggleForce
        | Command::ToggleLock
        | Command::TogglePinDigest
        | Command::ApplyFix
        | Command::ToggleTimestamps
        | Command::ToggleWrap
        | Command::TogglePrevious
        | Command::NextContainer
        | Command::LogRange
        | Command::Search
        | Command::SearchNext
        | Command::SearchPrev
        | Command::ToggleManagedFields => state.dirty = false,
    }
}

fn page_size(state: &State, focus: Focus) -> usize {
    let l = ScreenLayout::compute(state.width, state.height);
    (l.rows(focus).height as usize).max(1)
}

fn move_selection(state: &mut State, focus: Focus, delta: isize, fx: &mut Vec<Task>) {
    let len = view::len(state, focus);
    let nav = state.nav.get_mut(focus);
    let before = nav.selected;
    if focus == Focus::Events {
        // Rows up from the newest: moving up scrolls back in time.
        let max = len.saturating_sub(1) as isize;
        nav.selected = (nav.selected as isize - delta).clamp(0, max) as usize;
    } else if len == 0 {
        nav.selected = 0;
    } else {
        nav.selected = (nav.selected as isize + delta).clamp(0, len as isize - 1) as usize;
    }
    if nav.selected == before {
        state.dirty = false;
        return;
    }
    keep_visible(state, focus);
    after_selection_change(state, focus, fx);
}

/// Scroll so the selection is inside the visible rows.
fn keep_visible(state: &mut State, focus: Focus) {
    if focus == Focus::Events {
        return;
    }
    let h = page_size(state, focus);
    let nav = state.nav.get_mut(focus);
    if nav.selected < nav.offset {
        nav.offset = nav.selected;
    } else if nav.selected >= nav.offset + h {
        nav.offset = nav.selected + 1 - h;
    }
}

/// Keep identities and dependent lists in step with a moved cursor.
fn after_selection_change(state: &mut State, focus: Focus, fx: &mut Vec<Task>) {
    match focus {
        Focus::Repositories => {
            let name = view::selected_repository(state).map(|r| r.name.clone());
            if name != state.selected_repository {
                state.selected_repository = name;
                state.nav.tags = Default::default();
                request_tags(state, fx);
            }
        }
        Focus::Deployments => {
            let key = view::selected_deployment(state).map(|d| ObjectRef {
                namespace: d.namespace.clone(),
                name: d.name.clone(),
            });
            if key != state.selected_deployment {
                state.selected_deployment = key;
                state.nav.pods.selected = 0;
                state.nav.pods.offset = 0;
                state.nav.events.selected = 0;
            }
        }
        _ => {}
    }
}

/// Reload the repositories and the selected repository's tags (a tag pushed by CI appears
/// without restarting berth). Rows stay on screen until the answers replace them.
fn refresh_registry(state: &mut State, fx: &mut Vec<Task>) {
    let running = |state: &State, want: &dyn Fn(&Effect) -> bool| {
        state
            .tasks
            .values()
            .any(|t| t.state == TaskState::Running && want(&t.effect))
    };
    if !running(state, &|e| matches!(e, Effect::LoadRepositories)) {
        fx.push(spawn(state, Effect::LoadRepositories, None));
    }
    if let Some(repo) = view::selected_repository(state).map(|r| r.name.clone())
        && !running(
            state,
            &|e| matches!(e, Effect::LoadTags { repository } if *repository == repo),
        )
    {
        fx.push(spawn(state, Effect::LoadTags { repository: repo }, None));
    }
}

/// Ask for the selected repository's tags unless they are loaded or being loaded.
fn request_tags(state: &mut State, fx: &mut Vec<Task>) {
    let Some(repo) = view::selected_repository(state).map(|r| r.name.clone()) else {
        return;
    };
    if state.registry.tags.contains_key(&repo) {
        return;
    }
    let loading = state.tasks.values().any(|t| {
        t.state == TaskState::Running
            && matches!(&t.effect, Effect::LoadTags { repository } if *repository == repo)
    });
    if !loading {
        fx.push(spawn(state, Effect::LoadTags { repository: repo }, None));
    }
}

// ---------------------------------------------------------------------------------------------
// Mouse

fn on_mouse(state: &mut State, m: MouseEvent, fx: &mut Vec<Task>) {
    if !state.dialogs.is_empty() {
        state.dirty = false;
        return;
    }
    let layout = ScreenLayout::compute(state.width, state.height);
    let Some((focus, row)) = layout.hit(m.column, m.row) else {
        state.dirty = false;
        return;
    };
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            state.focus = focus;
            if let Some(row) = row {
                if focus == Focus::Events {
                    // Rows are drawn newest at the bottom: row → distance from the bottom.
                    let len = view::len(state, focus);
                    let h = layout.rows(focus).height as usize;
                    let visible = len.min(h);
                    let top_gap = h - visible;
                    let r = row as usize;
                    if r >= top_gap {
                        let from_bottom_in_view = visible - 1 - (r - top_gap);
                        let base = state
                            .nav
                            .events
                            .selected
                            .saturating_sub(h.saturating_sub(1));
                        state.nav.events.selected = base + from_bottom_in_view;
                    }
                } else {
                    let target = state.nav.get(focus).offset + row as usize;
                    if target < view::len(state, focus) {
                        state.nav.get_mut(focus).selected = target;
                        after_selection_change(state, focus, fx);
                    }
                }
            }
        }
        MouseEventKind::ScrollDown => move_selection(state, focus, 3, fx),
        MouseEventKind::ScrollUp => move_selection(state, focus, -3, fx),
        _ => state.dirty = false,
    }
}

// ---------------------------------------------------------------------------------------------
// Model updates

fn on_cluster(state: &mut State, u: ClusterUpdate, fx: &mut Vec<Task>) {
    match u {
        ClusterUpdate::Contexts { contexts, current } => {
            state.contexts = contexts;
            state.context = current;
        }
        ClusterUpdate::Namespace(ns) => {
            if ns != state.namespace {
                state.namespace = ns;
                reset_cluster_nav(state);
            }
        }
        ClusterUpdate::Model(update) => {
            if update.epoch < state.cluster.epoch() {
                state.dirty = false; // a previous context's watcher, still draining
                return;
            }
            if update.epoch > state.cluster.epoch() {
                // A new watcher generation (context switch): its rows replace the old ones.
                state.cluster.reset(update.epoch);
                reset_cluster_nav(state);
            }
            let event = &update.event;
            // A change nobody can see (another namespace) is applied, and draws no frame.
            if !view::shows_event(state, event) {
                let where_version = state.cluster.where_version();
                let changed = state.cluster.apply(update);
                state.dirty = changed && state.cluster.where_version() != where_version;
                return;
            }
            // Pods that appear or go (a rollout) must not move the cursor off the pod it is on;
            // changes to existing pods do not move rows, so they skip the lookup.
            let pods_move = match event {
                ModelEvent::Upsert(Row::Pod(p)) => {
                    state.cluster.pod(&p.namespace, &p.name).is_none()
                }
                ModelEvent::Delete(key) => key.kind() == Kind::Pod,
                ModelEvent::Resynced { scope, .. } => scope.kind == Kind::Pod,
                _ => false,
            };
            // Only while the pods have the keyboard: a burst of new pods otherwise costs a
            // list walk each for a cursor nobody is using.
            let keep_pod = if pods_move && state.focus == Focus::Pods {
                view::selected_pod(state).map(|p| ObjectRef {
                    namespace: p.namespace.clone(),
                    name: p.name.clone(),
                })
            } else {
                None
            };
            let touches_deployments = match event {
                ModelEvent::Upsert(Row::Workload(_)) => true,
                ModelEvent::Delete(key) => key.kind() == Kind::Deployment,
                ModelEvent::Resynced { scope, .. } => scope.kind == Kind::Deployment,
                _ => false,
            };
            // What did not change the model (a resent row, the liveness probe confirming about
            // once a second) is worth no frame.
            if !state.cluster.apply(update) {
                state.dirty = false;
                return;
            }
            if touches_deployments {
                resync_deployment_selection(state, fx);
            }
            if let Some(k) = keep_pod
                && let Some(i) = view::pod_position(state, &k)
            {
                state.nav.pods.selected = i;
                keep_visible(state, Focus::Pods);
            }
        }
    }
}

fn reset_cluster_nav(state: &mut State) {
    state.nav.deployments.selected = 0;
    state.nav.deployments.offset = 0;
    state.nav.pods = Default::default();
    state.nav.events = Default::default();
    state.selected_deployment = None;
    resync_deployment_selection(state, &mut Vec::new());
}

/// After deployments changed, keep the cursor on the same deployment if it still exists.
fn resync_deployment_selection(state: &mut State, fx: &mut Vec<Task>) {
    let list = view::deployments(state);
    let idx = state
        .selected_deployment
        .as_ref()
        .and_then(|k| {
            list.iter()
                .position(|d| d.namespace == k.namespace && d.name == k.name)
        })
        .unwrap_or_else(|| {
            state
                .nav
                .deployments
                .selected
                .min(list.len().saturating_sub(1))
        });
    state.nav.deployments.selected = idx;
    keep_visible(state, Focus::Deployments);
    after_selection_change(state, Focus::Deployments, fx);
}

fn on_registry(state: &mut State, u: RegistryUpdate, fx: &mut Vec<Task>) {
    match u {
        RegistryUpdate::Connection(c) => state.registry_conn = c,
        RegistryUpdate::SlotInUse(s) => state.slot_in_use = Some(s),
        RegistryUpdate::Repositories { .. } | RegistryUpdate::RepositoriesPage { .. } => {
            let before = state.selected_repository.clone();
            state.registry.apply(u);
            let list = view::repositories(state);
            let idx = before
                .as_ref()
                .and_then(|name| list.iter().position(|r| &r.name == name))
                .unwrap_or(0);
            state.nav.repositories.selected = idx;
            keep_visible(state, Focus::Repositories);
            after_selection_change(state, Focus::Repositories, fx);
            request_tags(state, fx);
        }
        other => apply_tags_keep_cursor(state, other),
    }
}

/// A refreshed or changed tag list keeps the cursor on the same tag.
fn apply_tags_keep_cursor(state: &mut State, u: RegistryUpdate) {
    keep_tag_cursor(state, |s| s.registry.apply(u));
}

/// `change` reorders or replaces the tags; the cursor stays on the tag it was on.
fn keep_tag_cursor(state: &mut State, change: impl FnOnce(&mut State)) {
    let before = view::selected_tag(state).map(|t| t.name.clone());
    change(state);
    if let Some(name) = before
        && let Some(i) = view::tags(state).iter().position(|t| t.name == name)
    {
        state.nav.tags.selected = i;
        keep_visible(state, Focus::Tags);
    }
}

// ---------------------------------------------------------------------------------------------
// Tasks

/// Register a task and return it for the runner.
fn spawn(state: &mut State, effect: Effect, subject: Option<ObjectRef>) -> Task {
    let id = TaskId(state.next_task);
    state.next_task += 1;
    let view = TaskView {
        id,
        title: effect.title(),
        effect: effect.clone(),
        started: state.now,
        finished: None,
        steps: Vec::new(),
        state: TaskState::Running,
    };
    if view.shows_progress() {
        let entry = JournalEntry {
            at: state.now,
            namespace: effect.namespace().map(str::to_owned),
            subject,
            level: Level::Info,
            text: format!("berth: {}", view.title),
        };
        state.journal(entry);
    }
    state.tasks.insert(id, view);
    Task { id, effect }
}

fn on_task_done(state: &mut State, id: TaskId, result: TaskResult) {
    let Some(task) = state.tasks.get_mut(&id) else {
        state.dirty = false;
        return;
    };
    task.finished = Some(state.now);
    let effect = task.effect.clone();
    let title = task.title.clone();
    let shows = task.shows_progress();
    task.state = match &result {
        Ok(TaskOutcome::Done { summary }) => TaskState::Done(summary.clone()),
        Ok(TaskOutcome::Diagnosis(v)) => TaskState::Done(v.cause.clone()),
        Ok(TaskOutcome::Object(m)) => TaskState::Done(format!("read {}", m.uid)),
        Err(e) => TaskState::Failed(e.clone()),
    };

    if let Effect::Diagnose { pod } = &effect {
        let panel = state.dialogs.iter_mut().find_map(|d| match d {
            Dialog::Diagnosis(p) if p.task == id => Some(p),
            _ => None,
        });
        let view = match result {
            Ok(TaskOutcome::Diagnosis(v)) => Ok(*v),
            Ok(other @ (TaskOutcome::Done { .. } | TaskOutcome::Object(_))) => {
                Err(super::action::TaskError {
                    what: format!("diagnosis of {}/{}", pod.namespace, pod.name),
                    why: format!("the runner answered without a diagnosis ({other:?})"),
                    hint: "this is a bug in berth; please report it".to_owned(),
                    sticky: false,
                })
            }
            Err(e) => Err(e),
        };
        match panel {
            Some(p) => p.view = Some(view),
            None => match view {
                Ok(v) => notify(
                    state,
                    Notice::warning(format!("{}/{}: {}", pod.namespace, pod.name, v.cause)),
                ),
                Err(e) => notify(state, Notice::error(e.to_string())),
            },
        }
        return;
    }

    let subject = subject_of(&effect);
    let (notice, level) = match &result {
        Ok(TaskOutcome::Done { summary }) => {
            let text = if summary.is_empty() {
                format!("done: {title}")
            } else {
                summary.clone()
            };
            (Notice::success(text), Level::Success)
        }
        Ok(TaskOutcome::Diagnosis(v)) => (Notice::info(v.cause.clone()), Level::Info),
        Ok(TaskOutcome::Object(_)) => (Notice::info(format!("done: {title}")), Level::Info),
        Err(e) => (Notice::error(e.to_string()), Level::Error),
    };
    let sticky = matches!(&result, Err(e) if e.sticky);
    if result.is_ok()
        && let Effect::Retag {
            src,
            dst,
            dry_run: false,
            ..
        } = &effect
    {
        mirror_retag(state, src, dst);
    }
    if shows {
        let entry = JournalEntry {
            at: state.now,
            namespace: effect.namespace().map(str::to_owned),
            subject,
            level,
            text: format!("berth: {}", notice.text),
        };
        state.journal(entry);
        state.last_result = Some(notice.clone());
    }
    // Loads that worked are visible in the panes; only their failures need a notice.
    if sticky {
        notify_sticky(state, notice);
    } else if shows || level == Level::Error {
        notify(state, notice);
    }
}

fn subject_of(effect: &Effect) -> Option<ObjectRef> {
    match effect {
        Effect::SetImage { deployment, .. }
        | Effect::Restart { deployment, .. }
        | Effect::Undo { deployment, .. }
        | Effect::Pause { deployment, .. }
        | Effect::Resume { deployment, .. } => Some(deployment.clone()),
        Effect::Diagnose { pod } => Some(pod.clone()),
        _ => None,
    }
}

/// Show a finished same-registry retag at once; the registry's own listing confirms it later.
fn mirror_retag(state: &mut State, src: &ImageLocation, dst: &ImageLocation) {
    if dst.registry != state.registry.registry {
        return;
    }
    let Some(src_tag) = state
        .registry
        .tags_of(&src.repository)
        .and_then(|ts| ts.iter().find(|t| t.name == src.reference))
        .cloned()
    else {
        return;
    };
    if !state.registry.tags.contains_key(&dst.repository) {
        return; // not loaded: it will come with the listing
    }
    let tag = TagRow {
        repository: dst.repository.clone(),
        name: dst.reference.clone(),
        updated: Some(state.now),
        ..src_tag
    };
    apply_tags_keep_cursor(state, RegistryUpdate::Tag(tag));
}

pub fn notify(state: &mut State, notice: Notice) {
    push_notice(state, notice, false);
}

/// A notice that stays until berth exits (an applied change the audit log lacks).
pub fn notify_sticky(state: &mut State, notice: Notice) {
    push_notice(state, notice, true);
}

fn push_notice(state: &mut State, notice: Notice, sticky: bool) {
    state.notices.push(TimedNotice {
        notice,
        at: state.now,
        sticky,
    });
    // Over the limit the oldest passing notices go first; sticky ones only when all are.
    while state.notices.len() > MAX_NOTICES {
        let i = state.notices.iter().position(|n| !n.sticky).unwrap_or(0);
        state.notices.remove(i);
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations: refusal, prompts, confirmations

/// Whether `cmd` may run now; the reason when not (read-only, RBAC). Used by the key hints too.
pub fn refusal(state: &State, cmd: Command) -> Option<String> {
    let kind = cmd.mutation()?;
    let ns = match kind {
        super::effects::MutationKind::Retag
        | super::effects::MutationKind::RotateSecret
        | super::effects::MutationKind::Azure => None,
        _ => Some(state.namespace.as_str()),
    };
    state.mutation_allowed(kind, ns).err()
}

fn refuse(state: &mut State, cmd: Command) -> bool {
    match refusal(state, cmd) {
        Some(why) => {
            notify(
                state,
                Notice::warning(format!("{} refused: {why}", cmd.hint())),
            );
            true
        }
        None => {
            // The apiserver answers (else it is refused above) but some watch is broken or
            // relisting: the write reaches it, the rows it is confirmed from may be old.
            if cmd.mutation() != Some(super::effects::MutationKind::Retag)
                && let Some((label, why)) = state.cluster_stale()
            {
                notify(
                    state,
                    Notice::warning(format!(
                        "{}: cluster data {label} ({why}); check before confirming",
                        cmd.hint()
                    )),
                );
            }
            false
        }
    }
}

fn push_confirm(state: &mut State, confirm: Confirm) {
    state.dialogs.push(Dialog::Confirm(Box::new(confirm)));
}

fn registry_host(state: &State) -> String {
    state.registry.registry.clone()
}

use crate::reference::short_digest;

/// The other tag order; the cursor stays on the tag it was on.
fn switch_tag_order(state: &mut State) {
    keep_tag_cursor(state, |s| {
        let order = s.registry.order.next();
        s.registry.set_order(order);
    });
}

fn open_retag(state: &mut State) {
    if refuse(state, Command::Retag) {
        return;
    }
    let Some(tag) = view::selected_tag(state).cloned() else {
        notify(
            state,
            Notice::warning("retag: select a tag first (Tab to the tags list)"),
        );
        return;
    };
    let src = ImageLocation {
        registry: registry_host(state),
        repository: tag.repository.clone(),
        reference: tag.name.clone(),
    };
    state.dialogs.push(Dialog::Prompt(Prompt {
        title: format!("Retag {}:{}", tag.repository, tag.name),
        help: "new tag (same repository), repo:tag, or host/repo:tag".to_owned(),
        kind: PromptKind::RetagTarget {
            src,
            digest: tag.digest.clone(),
        },
        input: TextInput::default(),
        error: None,
    }));
}

/// Deployments (`namespace/name`) whose containers name the image by this tag: moving the tag
/// changes what their next pods run without any rollout.
fn deployments_naming(state: &State, image: &ImageLocation) -> Vec<String> {
    state
        .cluster
        .deployments()
        .filter(|d| {
            d.containers.iter().any(|c| {
                crate::reference::Reference::parse(&c.image).is_ok_and(|r| {
                    crate::reference::same_host(r.registry(), &image.registry)
                        && r.repository() == image.repository
                        && r.digest().is_none()
                        && r.tag() == Some(image.reference.as_str())
                })
            })
        })
        .map(|d| format!("{}/{}", d.namespace, d.name))
        .collect()
}

fn retag_confirm(
    state: &State,
    src: ImageLocation,
    digest: Option<String>,
    dst: ImageLocation,
) -> Confirm {
    let existing = (dst.registry == state.registry.registry)
        .then(|| state.registry.tags_of(&dst.repository))
        .flatten()
        .and_then(|ts| ts.iter().find(|t| t.name == dst.reference));
    let new_digest = digest
        .as_deref()
        .map_or("(read at retag)".to_owned(), short_digest);
    let mut notes = Vec::new();
    let mut warnings = Vec::new();
    let mut overwrites = None;
    let mut blocked = None;
    // Locks are ACR's: its listing of the target repository carries them.
    let lockable = (dst.registry == state.registry.registry)
        .then(|| state.registry.tags_of(&dst.repository))
        .flatten()
        .is_some_and(|ts| ts.iter().any(|t| t.attributes.is_some()));
    // ACR's lock (from the listing): a move would be refused, so it is refused here, naming it.
    if let Some(t) = existing
        && t.digest != digest
        && let Some(a) = t.attributes.filter(|a| !a.write_enabled)
    {
        let why = format!(
            "{}:{} is locked (writeEnabled=false): ACR refuses to move it; unlock it first \
             (berth registry unlock {}:{}), or pick another tag",
            dst.repository, dst.reference, dst.repository, dst.reference
        );
        warnings.push(why.clone());
        if !a.delete_enabled {
            warnings.push("deleteEnabled=false as well".into());
        }
        blocked = Some(why);
    }
    let old = match existing {
        Some(t) if t.digest.is_some() && t.digest == digest => {
            notes.push(format!(
                "{}:{} already points at this digest: nothing would change",
                dst.repository, dst.reference
            ));
            t.digest.as_deref().map(short_digest)
        }
        Some(t) => {
            overwrites = Some(t.digest.clone().unwrap_or_else(|| "unknown".to_owned()));
            notes.push(format!(
                "{}:{} exists and would move: press f to allow the overwrite",
                dst.repository, dst.reference
            ));
            let naming = deployments_naming(state, &dst);
            if !naming.is_empty() {
                let (who, verb) = match naming.as_slice() {
                    [one] => (one.clone(), "runs"),
                    many => (many.join(", "), "run"),
                };
                notes.push(format!(
                    "{who} {verb} {}:{} by tag: running pods keep the old digest, new ones \
                     (scale-up, restart, eviction) would get the moved tag",
                    dst.repository, dst.reference
                ));
            }
            Some(
                t.digest
                    .as_deref()
                    .map_or("unknown".to_owned(), short_digest),
            )
        }
        None => None,
    };
    if dst.registry == src.registry {
        notes.push("same registry: the manifest is re-tagged, no layers are copied".to_owned());
    } else {
        notes.push(format!(
            "another registry: layers missing in {} are copied",
            dst.registry
        ));
    }
    Confirm {
        title: "Retag".to_owned(),
        changes: vec![
            Change {
                label: "source".into(),
                old: None,
                new: src.to_string(),
            },
            Change {
                label: "target".into(),
                old: None,
                new: dst.to_string(),
            },
            Change {
                label: "digest".into(),
                old: Some(old.unwrap_or_else(|| "(new tag)".into())),
                new: new_digest,
            },
        ],
        effect: Effect::Retag {
            src,
            dst,
            force: false,
            lock: false,
            dry_run: false,
        },
        warnings,
        notes,
        pin: None,
        overwrites,
        blocked,
        lockable,
        error: None,
    }
}

fn deployment_ref(d: &crate::cluster::model::DeploymentRow) -> ObjectRef {
    ObjectRef {
        namespace: d.namespace.clone(),
        name: d.name.clone(),
    }
}

/// The digest(s) the deployment's pods run for one container, most common first.
fn running_digest(state: &State, dep: &DeploymentRow, container: &str) -> Option<String> {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for p in state.cluster.pods_of(dep) {
        for c in p.containers.iter().filter(|c| c.name == container) {
            if let Some(d) = c
                .image_id
                .as_deref()
                .and_then(crate::reference::digest_of_image_id)
            {
                *counts.entry(d).or_insert(0) += 1;
            }
        }
    }
    let total = counts.len();
    let best = counts.into_iter().max_by_key(|(_, n)| *n)?.0;
    Some(if total > 1 {
        format!("{} (+{} more)", short_digest(best), total - 1)
    } else {
        short_digest(best)
    })
}

fn open_set_image(state: &mut State) {
    if refuse(state, Command::SetImage) {
        return;
    }
    let Some(tag) = view::selected_tag(state).cloned() else {
        notify(
            state,
            Notice::warning("set image: select a tag in the registry pane first"),
        );
        return;
    };
    let Some(dep) = view::selected_deployment(state).cloned() else {
        notify(
            state,
            Notice::warning("set image: select a deployment first"),
        );
        return;
    };
    if !deployment_only_action_allowed(state, "set image", &dep) {
        return;
    }
    let Some(container) = view::container_for(&dep, Some(&tag.repository)).cloned() else {
        notify(
            state,
            Notice::warning(format!("set image: {} has no containers", dep.name)),
        );
        return;
    };
    let host = registry_host(state);
    let by_tag = format!("{host}/{}:{}", tag.repository, tag.name);
    let by_digest = tag
        .digest
        .as_ref()
        .map(|d| format!("{host}/{}@{d}", tag.repository));
    if container.image == by_tag || by_digest.as_deref() == Some(container.image.as_str()) {
        notify(
            state,
            Notice::info(format!(
                "{}/{} already runs {}",
                dep.name, container.name, container.image
            )),
        );
        return;
    }
    let old_digest = running_digest(state, &dep, &container.name);
    let mut changes = vec![
        Change {
            label: "deployment".into(),
            old: None,
            new: format!("{}/{}", dep.namespace, dep.name),
        },
        Change {
            label: "container".into(),
            old: None,
            new: container.name.clone(),
        },
        Change {
            label: "image".into(),
            old: Some(container.image.clone()),
            new: by_tag.clone(),
        },
    ];
    changes.push(Change {
        label: "digest".into(),
        old: Some(old_digest.unwrap_or_else(|| "(not running)".into())),
        new: tag
            .digest
            .as_deref()
            .map_or("(unknown)".to_owned(), short_digest),
    });
    let next_rev = dep
        .revision
        .map_or(String::new(), |r| format!(" (revision {})", r + 1));
    let notes = vec![format!(
        "rolls out {} pod{} to the new image{next_rev}",
        dep.desired,
        if dep.desired == 1 { "" } else { "s" }
    )];
    let pin = by_digest.map(|by_digest| PinChoice {
        by_tag: by_tag.clone(),
        by_digest,
        pinned: false,
        change_index: 2,
    });
    push_confirm(
        state,
        Confirm {
            title: "Set image".into(),
            effect: Effect::SetImage {
                deployment: deployment_ref(&dep),
                container: container.name.clone(),
                expected_image: container.image.clone(),
                image: by_tag,
                dry_run: false,
            },
            changes,
            warnings: owner_warnings(&dep, OwnedAction::SetImage),
            notes,
            pin,
            overwrites: None,
            blocked: None,
            lockable: false,
            error: None,
        },
    );
}

/// What the confirmation of `action` on `dep` says when Helm, Argo CD or Flux owns it: who, what
/// becomes of the change, and what to do instead.
fn owner_warnings(dep: &DeploymentRow, action: OwnedAction) -> Vec<String> {
    let Some(owner) = &dep.owner else {
        return Vec::new();
    };
    let w = owner.warning(
        action,
        &format!("{}/{}", dep.kind.short(), dep.name),
        &dep.namespace,
    );
    let mut out = vec![w.headline, format!("instead: {}", w.instead)];
    if !owner.also.is_empty() {
        out.push(format!("also marked: {}", owner.also.join("; ")));
    }
    out
}

fn selected_deployment_or_warn(
    state: &mut State,
    what: &str,
) -> Option<crate::cluster::model::DeploymentRow> {
    let d = view::selected_deployment(state).cloned();
    match &d {
        None => notify(
            state,
            Notice::warning(format!("{what}: select a deployment first")),
        ),
        Some(w) if !deployment_only_action_allowed(state, what, w) => return None,
        Some(_) => {}
    }
    d
}

/// The actions berth runs are built for Deployments; on a StatefulSet or DaemonSet it says so
/// (and what to use) instead of acting on the wrong API. Pause exists for Deployments only.
fn deployment_only_action_allowed(
    state: &mut State,
    what: &str,
    w: &crate::cluster::model::DeploymentRow,
) -> bool {
    use crate::cluster::model::WorkloadKind;
    // Restart and undo work on every kind; set image from the dashboard only on Deployments
    // for now (its precondition reads a Deployment), and only Deployments pause.
    if w.kind == WorkloadKind::Deployment || matches!(what, "restart" | "undo" | "revisions") {
        return true;
    }
    let msg = if what == "pause" {
        format!(
            "pause: only Deployments can be paused; {} {} has no pause (its updateStrategy \
             OnDelete or a partition holds a rollout back)",
            w.kind.noun(),
            w.name
        )
    } else {
        format!(
            "{what}: the dashboard sets images of deployments only so far; for this {} use \
             berth rollout set-image {}/{} CONTAINER=IMAGE -n {}",
            w.kind.noun(),
            w.kind.short(),
            w.name,
            w.namespace
        )
    };
    notify(state, Notice::warning(msg));
    false
}

fn open_restart(state: &mut State) {
    if refuse(state, Command::Restart) {
        return;
    }
    let Some(dep) = selected_deployment_or_warn(state, "restart") else {
        return;
    };
    let warnings = owner_warnings(&dep, OwnedAction::Restart);
    push_confirm(
        state,
        Confirm {
            warnings,
            ..Confirm::new(
                "Rollout restart",
                Effect::Restart {
                    kind: dep.kind,
                    deployment: deployment_ref(&dep),
                    dry_run: false,
                },
                vec![
                    Change {
                        label: dep.kind.noun().into(),
                        old: None,
                        new: format!("{}/{}", dep.namespace, dep.name),
                    },
                    Change {
                        label: "restartedAt".into(),
                        old: None,
                        new: state.now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    },
                ],
                vec![format!(
                    "replaces all {} pod{} following the rollout strategy; the image stays {}",
                    dep.desired,
                    if dep.desired == 1 { "" } else { "s" },
                    dep.containers
                        .first()
                        .map_or("unchanged", |c| c.image.as_str())
                )],
            )
        },
    );
}

fn open_undo(state: &mut State) {
    if refuse(state, Command::Undo) {
        return;
    }
    let Some(dep) = selected_deployment_or_warn(state, "undo") else {
        return;
    };
    let rss = state.cluster.replica_sets_of(&dep);
    let current = dep
        .revision
        .or_else(|| rss.first().and_then(|r| r.revision));
    let prev = rss
        .iter()
        .find(|r| r.revision.is_some() && r.revision < current)
        .map(|r| (*r).clone());
    let Some(prev) = prev else {
        notify(
            state,
            Notice::warning(format!(
                "undo: {} has no earlier revision to go back to",
                dep.name
            )),
        );
        return;
    };
    undo_to(state, &dep, &prev);
}

/// The revision picker of the selected workload.
fn open_revisions(state: &mut State) {
    if refuse(state, Command::Revisions) {
        return;
    }
    let Some(dep) = selected_deployment_or_warn(state, "revisions") else {
        return;
    };
    let rows = view::revision_rows(&state.cluster, &dep);
    if rows.is_empty() {
        notify(
            state,
            Notice::warning(format!("revisions: {} has no revisions yet", dep.name)),
        );
        return;
    }
    // The cursor starts on the revision before the live one: what undo would pick.
    let selected = rows
        .iter()
        .position(|r| r.live)
        .map_or(0, |i| (i + 1).min(rows.len() - 1));
    state
        .dialogs
        .push(Dialog::Revisions(Box::new(RevisionPicker {
            kind: dep.kind,
            workload: deployment_ref(&dep),
            selected,
        })));
}

fn on_revisions_command(state: &mut State, cmd: Command) {
    let Some(Dialog::Revisions(p)) = state.dialogs.last() else {
        return;
    };
    let p = (**p).clone();
    let Some(dep) = state
        .cluster
        .workload(p.kind, &p.workload.namespace, &p.workload.name)
        .cloned()
    else {
        state.dialogs.pop();
        notify(
            state,
            Notice::warning(format!("revisions: {} is gone", p.workload.name)),
        );
        return;
    };
    let rows = view::revision_rows(&state.cluster, &dep);
    let last = rows.len().saturating_sub(1);
    let set = |state: &mut State, i: usize| {
        if let Some(Dialog::Revisions(p)) = state.dialogs.last_mut() {
            p.selected = i.min(last);
        }
    };
    match cmd {
        Command::Cancel => {
            state.dialogs.pop();
        }
        Command::Up => set(state, p.selected.saturating_sub(1)),
        Command::Down => set(state, p.selected + 1),
        Command::Confirm => {
            let Some(row) = rows.get(p.selected.min(last)) else {
                return;
            };
            if row.live {
                notify(
                    state,
                    Notice::info(format!(
                        "revision {} is the one {} runs: choose another",
                        row.revision.map_or("?".to_owned(), |r| r.to_string()),
                        dep.name
                    )),
                );
                return;
            }
            let target = state
                .cluster
                .replica_sets_of(&dep)
                .into_iter()
                .find(|r| r.name == row.name)
                .cloned();
            state.dialogs.pop();
            if let Some(target) = target {
                undo_to(state, &dep, &target);
            }
        }
        _ => state.dirty = false,
    }
}

/// The undo confirmation: `dep` back to the template of revision `prev` (as a new revision).
fn undo_to(
    state: &mut State,
    dep: &crate::cluster::model::DeploymentRow,
    prev: &crate::cluster::model::ReplicaSetRow,
) {
    let dep = dep.clone();
    let rss = state.cluster.replica_sets_of(&dep);
    let current = dep
        .revision
        .or_else(|| rss.first().and_then(|r| r.revision));
    let cur_rs = rss.iter().find(|r| r.revision == current);
    let fmt_rev = |r: Option<i64>| r.map_or("?".to_owned(), |r| format!("revision {r}"));
    let images = |imgs: &[String]| imgs.join(", ");
    let changes = vec![
        Change {
            label: dep.kind.noun().into(),
            old: None,
            new: format!("{}/{}", dep.namespace, dep.name),
        },
        Change {
            label: "revision".into(),
            old: Some(fmt_rev(current)),
            new: format!("{} (as a new revision)", fmt_rev(prev.revision)),
        },
        Change {
            label: "image".into(),
            old: Some(cur_rs.map_or_else(
                || {
                    dep.containers
                        .iter()
                        .map(|c| c.image.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                |r| images(&r.images),
            )),
            new: images(&prev.images),
        },
    ];
    let to_revision = prev.revision;
    let warnings = owner_warnings(&dep, OwnedAction::Undo);
    push_confirm(
        state,
        Confirm {
            warnings,
            ..Confirm::new(
                "Rollout undo",
                Effect::Undo {
                    kind: dep.kind,
                    deployment: deployment_ref(&dep),
                    to_revision,
                    dry_run: false,
                },
                changes,
                vec![format!(
                    "pod template of {} {}",
                    if prev.controller_revision {
                        "ControllerRevision"
                    } else {
                        "ReplicaSet"
                    },
                    prev.name
                )],
            )
        },
    );
}

fn open_pause_resume(state: &mut State) {
    if refuse(state, Command::PauseResume) {
        return;
    }
    let Some(dep) = selected_deployment_or_warn(state, "pause") else {
        return;
    };
    let paused = dep.paused || dep.rollout == RolloutState::Paused;
    let deployment = deployment_ref(&dep);
    let (title, effect, old, new, note) = if paused {
        (
            "Resume rollout",
            Effect::Resume {
                deployment,
                dry_run: false,
            },
            "paused",
            "running",
            "changes to the pod template made while paused roll out now",
        )
    } else {
        (
            "Pause rollout",
            Effect::Pause {
                deployment,
                dry_run: false,
            },
            "running",
            "paused",
            "template changes wait until resumed; running pods stay as they are",
        )
    };
    push_confirm(
        state,
        Confirm::new(
            title,
            effect,
            vec![
                Change {
                    label: dep.kind.noun().into(),
                    old: None,
                    new: format!("{}/{}", dep.namespace, dep.name),
                },
                Change {
                    label: "rollout".into(),
                    old: Some(old.into()),
                    new: new.into(),
                },
            ],
            vec![note.into()],
        ),
    );
}

fn open_rotate(state: &mut State) {
    if refuse(state, Command::RotateSecret) {
        return;
    }
    let registry = registry_host(state);
    if registry.is_empty() {
        notify(
            state,
            Notice::warning("rotate: no registry connected yet (see the status bar)"),
        );
        return;
    }
    let secret = state.pull_secret.clone();
    let mut namespaces: Vec<String> = state
        .cluster
        .secrets()
        .filter(|s| s.name == secret)
        .map(|s| s.namespace.clone())
        .collect();
    namespaces.dedup();
    let mut notes = Vec::new();
    if namespaces.is_empty() {
        namespaces.push(state.namespace.clone());
        notes.push(format!(
            "secret {secret} was not seen in any watched namespace; it is created in {}",
            state.namespace
        ));
    }
    let slot = state
        .slot_in_use
        .map_or(PasswordSlot::Password2, PasswordSlot::other);
    notes.push(format!(
        "{} stays valid until every namespace has the new password",
        slot.other()
    ));
    let ns_list = if namespaces.len() > 6 {
        format!(
            "{}, … ({} in all)",
            namespaces[..5].join(", "),
            namespaces.len()
        )
    } else {
        namespaces.join(", ")
    };
    push_confirm(
        state,
        Confirm::new(
            "Rotate pull secret",
            Effect::RotateSecret {
                registry: registry.clone(),
                secret: secret.clone(),
                namespaces,
                slot,
                attach: None,
                dry_run: false,
            },
            vec![
                Change {
                    label: "registry".into(),
                    old: None,
                    new: registry,
                },
                Change {
                    label: "password slot".into(),
                    old: state.slot_in_use.map(|s| format!("{s} in use")),
                    new: format!("regenerate {slot}"),
                },
                Change {
                    label: "secret".into(),
                    old: None,
                    new: secret,
                },
                Change {
                    label: "namespaces".into(),
                    old: None,
                    new: ns_list,
                },
            ],
            notes,
        ),
    );
}

fn open_attach(state: &mut State) {
    if refuse(state, Command::AttachSecret) {
        return;
    }
    let pod = match state.focus {
        Focus::Pods => view::selected_pod(state),
        _ => view::pods(state).first().copied(),
    };
    let sa_name = pod.map_or("default".to_owned(), |p| p.service_account.clone());
    let sa_name = if sa_name.is_empty() {
        "default".to_owned()
    } else {
        sa_name
    };
    let key = ObjectRef {
        namespace: state.namespace.clone(),
        name: sa_name,
    };
    let secret = state.pull_secret.clone();
    let current: Vec<String> = state
        .cluster
        .service_account(&key.namespace, &key.name)
        .map(|sa| sa.image_pull_secrets.clone())
        .unwrap_or_default();
    if current.contains(&secret) {
        notify(
            state,
            Notice::info(format!(
                "serviceaccount {}/{} already has {secret}",
                key.namespace, key.name
            )),
        );
        return;
    }
    let show = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_owned()
        } else {
            v.join(", ")
        }
    };
    let mut after = current.clone();
    after.push(secret.clone());
    let mut notes = vec!["pods created from now on pull with it; running pods keep theirs".into()];
    if state.cluster.secret(&key.namespace, &secret).is_none() {
        notes.push(format!(
            "secret {secret} is not in {} yet: rotate (s) creates it",
            key.namespace
        ));
    }
    let sa_label = format!("{}/{}", key.namespace, key.name);
    push_confirm(
        state,
        Confirm::new(
            "Attach pull secret",
            Effect::AttachSecret {
                service_account: key,
                secret,
                dry_run: false,
            },
            vec![
                Change {
                    label: "serviceaccount".into(),
                    old: None,
                    new: sa_label,
                },
                Change {
                    label: "imagePullSecrets".into(),
                    old: Some(show(&current)),
                    new: show(&after),
                },
            ],
            notes,
        ),
    );
}

fn start_diagnose(state: &mut State, fx: &mut Vec<Task>) {
    let pod = match state.focus {
        Focus::Pods => view::selected_pod(state),
        _ => view::first_failing_pod(state).or_else(|| view::pods(state).first().copied()),
    };
    let Some(pod) = pod else {
        notify(state, Notice::warning("diagnose: no pod selected"));
        return;
    };
    let key = ObjectRef {
        namespace: pod.namespace.clone(),
        name: pod.name.clone(),
    };
    let task = spawn(
        state,
        Effect::Diagnose { pod: key.clone() },
        Some(key.clone()),
    );
    state
        .dialogs
        .push(Dialog::Diagnosis(Box::new(DiagnosisPanel {
            task: task.id,
            pod: key,
            view: None,
            scroll: 0,
        })));
    fx.push(task);
}

// ---------------------------------------------------------------------------------------------
// Dialog commands

fn on_confirm_command(state: &mut State, cmd: Command, fx: &mut Vec<Task>) {
    // Permissions can have arrived while the dialog was open: check again at the last moment.
    let refused = match state.dialogs.last() {
        Some(Dialog::Confirm(c)) => c
            .effect
            .mutation()
            .and_then(|kind| state.mutation_allowed(kind, c.effect.namespace()).err()),
        _ => return,
    };
    let Some(Dialog::Confirm(c)) = state.dialogs.last_mut() else {
        return;
    };
    match cmd {
        Command::Cancel => {
            state.dialogs.pop();
        }
        Command::ToggleDryRun => {
            let v = !c.effect.dry_run();
            c.effect.set_dry_run(v);
        }
        Command::ToggleForce => match &mut c.effect {
            Effect::Retag { force, .. } => {
                *force = !*force;
                c.error = None;
            }
            _ => state.dirty = false,
        },
        Command::ToggleLock => match &mut c.effect {
            Effect::Retag { lock, .. } if c.lockable => *lock = !*lock,
            _ => state.dirty = false,
        },
        Command::TogglePinDigest => match (&mut c.pin, &mut c.effect) {
            (Some(pin), Effect::SetImage { image, .. }) => {
                pin.pinned = !pin.pinned;
                *image = if pin.pinned {
                    pin.by_digest.clone()
                } else {
                    pin.by_tag.clone()
                };
                if let Some(ch) = c.changes.get_mut(pin.change_index) {
                    ch.new = image.clone();
                }
            }
            _ => state.dirty = false,
        },
        Command::Confirm => {
            let effect = c.effect.clone();
            if let Some(why) = &c.blocked {
                c.error = Some(format!("refused: {why}"));
                return;
            }
            if c.overwrites.is_some()
                && matches!(effect, Effect::Retag { force: false, .. })
                && !effect.dry_run()
            {
                c.error = Some(
                    "the target tag exists: press f to allow moving it, or esc to cancel".into(),
                );
                return;
            }
            if let Some(why) = refused {
                c.error = Some(format!("refused: {why}"));
                return;
            }
            state.dialogs.pop();
            let subject = subject_of(&effect);
            let task = spawn(state, effect, subject);
            // A fix applied from a diagnosis closes the diagnosis too: its result shows as a
            // notice and in the timeline.
            if matches!(state.dialogs.last(), Some(Dialog::Diagnosis(_))) {
                state.dialogs.pop();
            }
            fx.push(task);
        }
        _ => state.dirty = false,
    }
}

fn on_diagnosis_command(state: &mut State, cmd: Command) {
    let Some(Dialog::Diagnosis(p)) = state.dialogs.last_mut() else {
        return;
    };
    match cmd {
        Command::Cancel => {
            state.dialogs.pop();
        }
        Command::Up => p.scroll = p.scroll.saturating_sub(1),
        Command::Down => p.scroll = p.scroll.saturating_add(1),
        Command::ApplyFix => {
            let fix = match &p.view {
                Some(Ok(v)) => v.fix.clone(),
                _ => None,
            };
            let Some(fix) = fix else {
                notify(state, Notice::info("no automatic fix for this cause"));
                return;
            };
            if let Some(kind) = fix.effect.mutation()
                && let Err(why) = state.mutation_allowed(kind, fix.effect.namespace())
            {
                notify(state, Notice::warning(format!("fix refused: {why}")));
                return;
            }
            let confirm = fix_confirm(fix);
            push_confirm(state, confirm);
        }
        _ => state.dirty = false,
    }
}

fn fix_confirm(fix: super::diagnosis::Fix) -> Confirm {
    let mut changes = vec![Change {
        label: "fix".into(),
        old: None,
        new: fix.title.clone(),
    }];
    match &fix.effect {
        Effect::SetImage {
            deployment,
            expected_image,
            image,
            ..
        } => {
            changes.push(Change {
                label: "deployment".into(),
                old: None,
                new: format!("{}/{}", deployment.namespace, deployment.name),
            });
            changes.push(Change {
                label: "image".into(),
                old: Some(expected_image.clone()),
                new: image.clone(),
            });
        }
        Effect::AttachSecret {
            service_account,
            secret,
            ..
        } => changes.push(Change {
            label: "serviceaccount".into(),
            old: None,
            new: format!(
                "{}/{} + {secret}",
                service_account.namespace, service_account.name
            ),
        }),
        Effect::RotateSecret {
            namespaces,
            slot,
            secret,
            attach,
            ..
        } => {
            changes.push(Change {
                label: "rotate".into(),
                old: None,
                new: format!("{slot} → {secret} in {}", namespaces.join(", ")),
            });
            if let Some(sa) = attach {
                changes.push(Change {
                    label: "serviceaccount".into(),
                    old: None,
                    new: format!("{}/{sa} + {secret}", namespaces.join(", ")),
                });
            }
        }
        Effect::AzureFix { action, .. } => changes.push(Change {
            label: "azure".into(),
            old: None,
            new: action.command(),
        }),
        _ => {}
    }
    Confirm::new("Apply fix", fix.effect, changes, Vec::new())
}

// ---------------------------------------------------------------------------------------------
// Palette

/// One palette entry: the text that runs it and what it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub text: String,
    pub detail: String,
}

pub const PALETTE_MAX: usize = 8;

/// Completions for what is typed: `ns`/`ctx`/`repo` with known names, then command names.
pub fn palette_suggestions(state: &State, typed: &str) -> Vec<Suggestion> {
    let typed = typed.trim_start();
    let (word, arg) = typed.split_once(' ').unwrap_or((typed, ""));
    let arg = arg.trim();
    let mut out = Vec::new();
    let mut names = |prefix: &str, detail: &str, items: &mut dyn Iterator<Item = &str>| {
        if word == prefix || (arg.is_empty() && !word.is_empty() && prefix.starts_with(word)) {
            // Names that start with what is typed come before names that merely contain it.
            let mut hits: Vec<&str> = items.filter(|n| view::matches(arg, n)).collect();
            hits.sort_by_key(|n| !n.starts_with(arg));
            for n in hits {
                out.push(Suggestion {
                    text: format!("{prefix} {n}"),
                    detail: detail.to_owned(),
                });
            }
        }
    };
    names(
        "ns",
        "switch namespace",
        &mut state.cluster.namespaces().map(|n| n.name.as_str()),
    );
    names(
        "ctx",
        "switch context",
        &mut state.contexts.iter().map(String::as_str),
    );
    names(
        "reg",
        "browse registry",
        &mut state.registries.iter().map(String::as_str),
    );
    // What berth knows of the namespace in view: its workloads, pods, service accounts and
    // pull secrets (the model holds no other kinds; any KIND/NAME can still be typed).
    let ns = state.namespace.as_str();
    let mut objects: Vec<String> = Vec::new();
    if word == "yaml" {
        objects.extend(
            view::deployments(state)
                .iter()
                .map(|d| format!("{}/{}", d.kind.short(), d.name)),
        );
        objects.extend(
            state
                .cluster
                .service_accounts()
                .filter(|a| a.namespace == ns)
                .map(|a| format!("sa/{}", a.name)),
        );
        objects.extend(
            state
                .cluster
                .secrets()
                .filter(|s| s.namespace == ns)
                .map(|s| format!("secret/{}", s.name)),
        );
        objects.extend(
            state
                .cluster
                .pods()
                .filter(|p| p.namespace == ns)
                .take(200)
                .map(|p| format!("pod/{}", p.name)),
        );
    }
    names("yaml", "YAML of", &mut objects.iter().map(String::as_str));
    names(
        "repo",
        "open repository",
        &mut state.registry.repositories.iter().map(|r| r.name.as_str()),
    );
    if arg.is_empty() {
        let layer = state.focus.layer();
        for b in state
            .keymap
            .layer(Layer::Global)
            .chain(state.keymap.layer(layer))
        {
            if b.command == Command::Palette || !view::matches(word, b.command.name()) {
                continue;
            }
            let text = b.command.name().to_owned();
            if out.iter().any(|s: &Suggestion| s.text == text) {
                continue;
            }
            let keys = super::keymap::Keymap::keys_label(&b.keys);
            out.push(Suggestion {
                text,
                detail: format!("{} ({keys})", b.command.describe()),
            });
        }
    }
    out
}

fn run_palette(state: &mut State, typed: &str, fx: &mut Vec<Task>) -> Result<(), String> {
    let (word, arg) = typed.split_once(' ').unwrap_or((typed, ""));
    let arg = arg.trim();
    match word {
        "" => Ok(()),
        "ns" | "namespace" => {
            if arg.is_empty() {
                return Err(":ns needs a namespace name, e.g. :ns shop".into());
            }
            if state.cluster.count(Kind::Namespace) > 0 && !state.cluster.has_namespace(arg) {
                return Err(format!(
                    "namespace {arg:?} not found in context {} (known: {})",
                    state.context,
                    known(state.cluster.namespaces().map(|n| &n.name))
                ));
            }
            if arg != state.namespace {
                state.namespace = arg.to_owned();
                reset_cluster_nav(state);
                fx.push(spawn(
                    state,
                    Effect::SwitchNamespace {
                        namespace: arg.to_owned(),
                    },
                    None,
                ));
            }
            state.focus = Focus::Deployments;
            Ok(())
        }
        "ctx" | "context" => {
            if arg.is_empty() {
                return Err(":ctx needs a context name, e.g. :ctx aks-prod".into());
            }
            if !state.contexts.is_empty() && !state.contexts.iter().any(|c| c == arg) {
                return Err(format!(
                    "context {arg:?} is not in the kubeconfig (known: {})",
                    known(state.contexts.iter())
                ));
            }
            if arg != state.context {
                state.context = arg.to_owned();
                // The new watchers come with a later epoch: drop the old ones' stragglers.
                let next = state.cluster.epoch() + 1;
                state.cluster.reset(next);
                state.permissions.clear();
                reset_cluster_nav(state);
                fx.push(spawn(
                    state,
                    Effect::SwitchContext {
                        context: arg.to_owned(),
                    },
                    None,
                ));
            }
            Ok(())
        }
        "reg" | "registry" => {
            if arg.is_empty() {
                return Err(format!(
                    ":reg needs a [[registry]] name, e.g. :reg {}",
                    state.registries.first().map_or("prod", String::as_str)
                ));
            }
            if !state.registries.iter().any(|r| r == arg) {
                return Err(if state.registries.is_empty() {
                    "no [[registry]] is configured: add one to config.toml".to_owned()
                } else {
                    format!(
                        "no [[registry]] named {arg:?} in config.toml (known: {})",
                        known(state.registries.iter())
                    )
                });
            }
            if arg != state.registry_name {
                state.registry_name = arg.to_owned();
                // The old registry's rows go at once; the new one's arrive from the runner.
                let order = state.registry.order;
                state.registry = super::store::RegistryStore {
                    order,
                    ..Default::default()
                };
                state.registry_conn = super::action::ConnState::Connecting;
                state.selected_repository = None;
                state.nav.repositories = Default::default();
                state.nav.tags = Default::default();
                fx.push(spawn(
                    state,
                    Effect::SwitchRegistry {
                        name: arg.to_owned(),
                    },
                    None,
                ));
            }
            state.focus = Focus::Repositories;
            Ok(())
        }
        "yaml" | "get" => super::object_view::open_named(state, arg, fx),
        "repo" | "repository" => {
            if arg.is_empty() {
                return Err(":repo needs a repository name, e.g. :repo web".into());
            }
            state.nav.repositories.filter.clear();
            let Some(idx) = state
                .registry
                .repositories
                .iter()
                .position(|r| r.name == arg)
            else {
                return Err(format!(
                    "repository {arg:?} not found in {} (known: {})",
                    if state.registry.registry.is_empty() {
                        "the registry"
                    } else {
                        &state.registry.registry
                    },
                    known(state.registry.repositories.iter().map(|r| &r.name))
                ));
            };
            state.nav.repositories.selected = idx;
            keep_visible(state, Focus::Repositories);
            after_selection_change(state, Focus::Repositories, fx);
            state.focus = Focus::Tags;
            request_tags(state, fx);
            Ok(())
        }
        name => match Command::from_name(name) {
            Some(cmd) if arg.is_empty() => {
                on_command(state, cmd, fx);
                Ok(())
            }
            _ => Err(format!(
                "unknown command {typed:?}: try :ns NAME, :ctx NAME, :repo NAME or a key's name \
                 (see ? for the list)"
            )),
        },
    }
}

fn known<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = names.map(String::as_str).take(6).collect();
    if v.is_empty() {
        "none yet".into()
    } else {
        v.join(", ")
    }
}
