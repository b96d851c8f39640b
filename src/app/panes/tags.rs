//! The tags of the selected repository. The cursor stays on its tag while the listing is
//! refreshed or reordered.

use crate::app::action::RegistryUpdate;
use crate::app::keymap::Command;
use crate::app::state::{Focus, State};
use crate::app::view;

pub const HINTS: &[Command] = &[Command::Retag, Command::SetImage, Command::Filter];

/// Out of the tags, back to their repository.
pub(crate) fn back(state: &mut State) {
    state.focus = Focus::Repositories;
}

/// The other tag order; the cursor stays on the tag it was on.
pub(crate) fn switch_order(state: &mut State) {
    keep_cursor(state, |s| {
        let order = s.registry.order.next();
        s.registry.set_order(order);
    });
}

/// A refreshed or changed tag list keeps the cursor on the same tag.
pub(crate) fn apply_keep_cursor(state: &mut State, u: RegistryUpdate) {
    keep_cursor(state, |s| s.registry.apply(u));
}

/// `change` reorders or replaces the tags; the cursor stays on the tag it was on.
pub(crate) fn keep_cursor(state: &mut State, change: impl FnOnce(&mut State)) {
    let before = view::selected_tag(state).map(|t| t.name.clone());
    change(state);
    if let Some(name) = before
        && let Some(i) = view::tags(state).iter().position(|t| t.name == name)
    {
        state.nav.tags.selected = i;
        super::keep_visible(state, Focus::Tags);
    }
}
