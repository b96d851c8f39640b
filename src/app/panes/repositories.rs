//! The repositories of the registry browsed. Enter opens one's tags; esc lists the configured
//! registries when there is more than one.

use crate::app::effects::{Effect, Task};
use crate::app::keymap::Command;
use crate::app::state::{Dialog, Focus, State, TaskState, TextInput};
use crate::app::tasks::spawn;
use crate::app::view;

pub const HINTS: &[Command] = &[Command::Enter, Command::Filter];

/// Into the selected repository's tags.
pub(crate) fn enter(state: &mut State, fx: &mut Vec<Task>) {
    state.focus = Focus::Tags;
    request_tags(state, fx);
}

/// Out of the repositories: the list of configured registries to browse (the palette's `:reg`,
/// the one browsed highlighted).
pub(crate) fn back(state: &mut State) {
    if state.registries.len() <= 1 {
        state.dirty = false;
        return;
    }
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

/// Repository `index` of the list with the cursor on it and its tags in front (`:repo NAME`).
pub(crate) fn open(state: &mut State, index: usize, fx: &mut Vec<Task>) {
    state.nav.repositories.selected = index;
    super::keep_visible(state, Focus::Repositories);
    selection_changed(state, fx);
    enter(state, fx);
}

/// The cursor is on another repository: its tags (the tags cursor starts at the top).
pub(crate) fn selection_changed(state: &mut State, fx: &mut Vec<Task>) {
    let name = view::selected_repository(state).map(|r| r.name.clone());
    if name != state.selected_repository {
        state.selected_repository = name;
        state.nav.tags = Default::default();
        request_tags(state, fx);
    }
}

/// `change` replaces or extends the listing; the cursor stays on the repository it was on (the
/// first one when that is gone), whose tags are asked for.
pub(crate) fn keep_cursor(state: &mut State, change: impl FnOnce(&mut State), fx: &mut Vec<Task>) {
    let before = state.selected_repository.clone();
    change(state);
    let list = view::repositories(state);
    let idx = before
        .as_ref()
        .and_then(|name| list.iter().position(|r| &r.name == name))
        .unwrap_or(0);
    state.nav.repositories.selected = idx;
    super::keep_visible(state, Focus::Repositories);
    selection_changed(state, fx);
    request_tags(state, fx);
}

/// Reload the repositories and the selected repository's tags (a tag pushed by CI appears
/// without restarting berth). Rows stay on screen until the answers replace them.
pub(crate) fn refresh(state: &mut State, fx: &mut Vec<Task>) {
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
pub(crate) fn request_tags(state: &mut State, fx: &mut Vec<Task>) {
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
