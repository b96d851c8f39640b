//! `update(&mut State, Action) -> Vec<Task>`: the only place State changes. Pure: no I/O, no
//! clock (time arrives in `Action::Tick`), no terminal.
//!
//! This file routes and does nothing else: an action to the module that owns it, a key to the
//! layer in front, a command to the dialog in front or else to what handles it for the panes.
//! The panes are `panes/*` (one each); the dialogs `confirm/`, `revisions`, `diagnosis`, `logs`,
//! `object_view`, `palette` and the fields in `input`; then `mouse`, `ingest` (watch and
//! registry updates), `tasks` (effects and their results) and `notices`.

use super::action::Action;
use super::confirm::{self, retag, secret, workload};
use super::effects::Task;
use super::keymap::{Command, Key};
use super::object_view::ObjectTab;
use super::panes::{self, repositories, tags};
use super::state::{Dialog, State, TextInput};
use super::{diagnosis, ingest, input, logs, mouse, notices, object_view, revisions, tasks};

/// Where the live tests (and anything outside `app`) have always asked it.
pub use super::policy::refusal;

pub fn update(state: &mut State, action: Action) -> Vec<Task> {
    let mut fx = Vec::new();
    state.dirty = true;
    match action {
        Action::Key(ev) => match Key::from_event(&ev) {
            Some(key) => on_key(state, key, &mut fx),
            None => state.dirty = false,
        },
        Action::Command(c) => on_command(state, c, &mut fx),
        Action::Mouse(m) => mouse::on_mouse(state, m, &mut fx),
        Action::Resize { width, height } => {
            state.width = width;
            state.height = height;
            panes::resized(state);
            logs::resized(state);
            object_view::resized(state);
        }
        Action::Tick(now) => {
            state.now = now;
            state.spinner = state.spinner.wrapping_add(1);
            notices::expire(state, now);
        }
        Action::Cluster(u) => ingest::cluster(state, u, &mut fx),
        Action::Registry(u) => ingest::registry(state, u, &mut fx),
        Action::Permissions(list) => ingest::permissions(state, list),
        Action::TaskProgress { id, step } => tasks::progress(state, id, step),
        Action::TaskDone { id, result } => {
            // The object view's reads are not progress tasks: it takes its own.
            if !state.tasks.contains_key(&id) {
                let dirty = object_view::fetched(state, id, result, &mut fx);
                state.dirty = dirty;
            } else {
                tasks::done(state, id, result);
            }
        }
        Action::Notice(n) => notices::notify(state, n),
        Action::Logs(u) => logs::on_update(state, u),
        Action::Quit => state.should_quit = true,
    }
    fx
}

fn on_key(state: &mut State, key: Key, fx: &mut Vec<Task>) {
    // Text fields take the keyboard first (gitui's "popups consume input").
    if matches!(
        state.dialogs.last(),
        Some(Dialog::Filter { .. } | Dialog::Palette { .. } | Dialog::Prompt(_))
    ) {
        input::on_text_key(state, key, fx);
        return;
    }
    if matches!(state.dialogs.last(), Some(Dialog::Logs(v)) if v.search_input.is_some()) {
        logs::on_text_key(state, key);
        return;
    }
    if matches!(state.dialogs.last(), Some(Dialog::Object(v)) if v.search_input.is_some()) {
        object_view::on_text_key(state, key);
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

/// A command (from a key or the palette): the dialog in front takes it; else the panes'.
pub(crate) fn on_command(state: &mut State, cmd: Command, fx: &mut Vec<Task>) {
    match state.dialogs.last() {
        Some(Dialog::Confirm(_)) => return confirm::on_command(state, cmd, fx),
        Some(Dialog::Diagnosis(_)) => return diagnosis::on_command(state, cmd),
        Some(Dialog::Revisions(_)) => return revisions::on_command(state, cmd),
        Some(Dialog::Logs(_)) => return logs::on_command(state, cmd, fx),
        Some(Dialog::Object(_)) => return object_view::on_command(state, cmd, fx),
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
        Command::NextPane => panes::cycle_focus(state, true),
        Command::PrevPane => panes::cycle_focus(state, false),
        Command::Up => panes::move_selection(state, focus, -1, fx),
        Command::Down => panes::move_selection(state, focus, 1, fx),
        Command::PageUp => {
            let page = panes::page_size(state, focus) as isize;
            panes::move_selection(state, focus, -page, fx);
        }
        Command::PageDown => {
            let page = panes::page_size(state, focus) as isize;
            panes::move_selection(state, focus, page, fx);
        }
        Command::Top => panes::move_selection(state, focus, isize::MIN / 2, fx),
        Command::Bottom => panes::move_selection(state, focus, isize::MAX / 2, fx),
        Command::Enter => panes::enter(state, fx),
        Command::Back => panes::back(state),
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
        Command::Retag => retag::open(state),
        Command::SortTags => tags::switch_order(state),
        Command::SetImage => workload::set_image(state),
        Command::Restart => workload::restart(state),
        Command::Undo => workload::undo(state),
        Command::Revisions => revisions::open(state),
        Command::PauseResume => workload::pause_resume(state),
        Command::RotateSecret => secret::rotate(state),
        Command::AttachSecret => secret::attach(state),
        Command::Diagnose => diagnosis::start(state, fx),
        Command::Refresh => repositories::refresh(state, fx),
        Command::Logs => logs::open(state, fx),
        Command::Yaml => object_view::open_selected(state, ObjectTab::Yaml, fx),
        Command::Events => object_view::open_selected(state, ObjectTab::Events, fx),
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
