//! The mouse: a click puts the keyboard on a pane and the cursor on the row clicked; the wheel
//! moves the cursor. Where things are comes from the same layout `ui` draws with.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

use super::effects::Task;
use super::layout::ScreenLayout;
use super::panes;
use super::state::State;

pub(crate) fn on_mouse(state: &mut State, m: MouseEvent, fx: &mut Vec<Task>) {
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
                panes::click(state, focus, row, layout.rows(focus).height, fx);
            }
        }
        MouseEventKind::ScrollDown => panes::move_selection(state, focus, 3, fx),
        MouseEventKind::ScrollUp => panes::move_selection(state, focus, -3, fx),
        _ => state.dirty = false,
    }
}
