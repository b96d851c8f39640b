//! The rollout events timeline. Its rows are drawn newest at the bottom, so its cursor counts
//! rows up from the newest (0 follows the bottom) and moving up goes back in time.

use crate::app::keymap::Command;
use crate::app::state::{Focus, State};
use crate::app::view;

pub const HINTS: &[Command] = &[Command::Filter, Command::Bottom];

/// The cursor after `delta` rows down the screen (negative: up, further from the newest).
pub(crate) fn step(selected: usize, delta: isize, len: usize) -> usize {
    let max = len.saturating_sub(1) as isize;
    (selected as isize - delta).clamp(0, max) as usize
}

/// A click on visible row `row` of `height`: the cursor on the item drawn there (the rows sit at
/// the bottom when there are fewer than lines).
pub(crate) fn click(state: &mut State, row: usize, height: usize) {
    let len = view::len(state, Focus::Events);
    let visible = len.min(height);
    let top_gap = height - visible;
    if row >= top_gap {
        let from_bottom_in_view = visible - 1 - (row - top_gap);
        let base = state
            .nav
            .events
            .selected
            .saturating_sub(height.saturating_sub(1));
        state.nav.events.selected = base + from_bottom_in_view;
    }
}
