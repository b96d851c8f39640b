//! The panes, one module each: what its keys do there, its cursor rules, its key hints. Here is
//! what every list shares (the cursor moved, kept in view, filtered) and the dispatch by `Focus`
//! to the pane that differs. What row N is stays in `app/view.rs`, which `ui` reads too.

pub mod deployments;
pub mod events;
pub mod pods;
pub mod repositories;
pub mod tags;

use super::effects::Task;
use super::layout::ScreenLayout;
use super::state::{Focus, State};
use super::view;

/// Tab and shift-Tab: the keyboard to the next or previous pane, round.
pub(crate) fn cycle_focus(state: &mut State, forward: bool) {
    let order = Focus::ORDER;
    let i = order.iter().position(|f| *f == state.focus).unwrap_or(0);
    let n = order.len();
    let j = if forward {
        (i + 1) % n
    } else {
        (i + n - 1) % n
    };
    state.focus = order[j];
}

/// Enter on the pane with the keyboard: into what the selected row holds.
pub(crate) fn enter(state: &mut State, fx: &mut Vec<Task>) {
    match state.focus {
        Focus::Repositories => repositories::enter(state, fx),
        Focus::Deployments => deployments::enter(state),
        _ => state.dirty = false,
    }
}

/// Esc: a filter goes first; then out of the pane, to where enter came from.
pub(crate) fn back(state: &mut State) {
    let focus = state.focus;
    if !state.nav.get(focus).filter.is_empty() {
        set_filter(state, focus, String::new());
        return;
    }
    match focus {
        Focus::Repositories => repositories::back(state),
        Focus::Tags => tags::back(state),
        Focus::Pods => pods::back(state),
        _ => state.dirty = false,
    }
}

pub(crate) fn page_size(state: &State, focus: Focus) -> usize {
    let l = ScreenLayout::compute(state.width, state.height);
    (l.rows(focus).height as usize).max(1)
}

pub(crate) fn move_selection(state: &mut State, focus: Focus, delta: isize, fx: &mut Vec<Task>) {
    let len = view::len(state, focus);
    let nav = state.nav.get_mut(focus);
    let before = nav.selected;
    if focus == Focus::Events {
        nav.selected = events::step(nav.selected, delta, len);
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
    selection_changed(state, focus, fx);
}

/// Scroll so the selection is inside the visible rows.
pub(crate) fn keep_visible(state: &mut State, focus: Focus) {
    if focus == Focus::Events {
        return; // the timeline scrolls with its cursor (rows up from the newest), not an offset
    }
    let h = page_size(state, focus);
    let nav = state.nav.get_mut(focus);
    if nav.selected < nav.offset {
        nav.offset = nav.selected;
    } else if nav.selected >= nav.offset + h {
        nav.offset = nav.selected + 1 - h;
    }
}

/// A new terminal size: every cursor stays in view.
pub(crate) fn resized(state: &mut State) {
    for f in Focus::ORDER {
        keep_visible(state, f);
    }
}

/// A click on visible row `row` of the list of `focus`, `height` rows tall.
pub(crate) fn click(state: &mut State, focus: Focus, row: u16, height: u16, fx: &mut Vec<Task>) {
    if focus == Focus::Events {
        events::click(state, row as usize, height as usize);
        return;
    }
    let target = state.nav.get(focus).offset + row as usize;
    if target < view::len(state, focus) {
        state.nav.get_mut(focus).selected = target;
        selection_changed(state, focus, fx);
    }
}

/// Keep identities and dependent lists in step with a moved cursor.
pub(crate) fn selection_changed(state: &mut State, focus: Focus, fx: &mut Vec<Task>) {
    match focus {
        Focus::Repositories => repositories::selection_changed(state, fx),
        Focus::Deployments => deployments::selection_changed(state),
        _ => {}
    }
}

pub(crate) fn set_filter(state: &mut State, target: Focus, text: String) {
    let nav = state.nav.get_mut(target);
    nav.filter = text;
    nav.selected = 0;
    nav.offset = 0;
    selection_changed(state, target, &mut Vec::new());
}

pub(crate) fn reset_cluster(state: &mut State) {
    state.nav.deployments.selected = 0;
    state.nav.deployments.offset = 0;
    state.nav.pods = Default::default();
    state.nav.events = Default::default();
    state.selected_deployment = None;
    deployments::keep_cursor(state);
}
