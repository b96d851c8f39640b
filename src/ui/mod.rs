//! Drawing: a pure function of `&State` into a ratatui frame. No I/O, no awaiting, no state
//! changes; only visible rows are turned into cells.

pub mod dialogs;
pub mod logs;
pub mod object_view;
pub mod panes;
pub mod status;
pub mod table;
pub mod text;

// The geometry is app's (update pages and maps clicks with it); here for the paths that had it.
pub use crate::app::layout;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::app::State;
pub use crate::theme::Theme;

/// Draw the whole screen.
pub fn draw(frame: &mut Frame<'_>, state: &State) {
    let area = frame.area();
    render(state, &state.theme, area, frame.buffer_mut());
}

/// Draw into a buffer (the frame's, or a test's).
pub fn render(state: &State, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let layout = layout::ScreenLayout::compute(area.width, area.height);
    if layout.too_small {
        status::too_small(area, buf, theme);
        return;
    }
    panes::draw(state, theme, &layout, buf);
    status::hints(state, theme, layout.hints, buf);
    status::status_bar(state, theme, layout.status, buf);
    let progress = dialogs::progress(state, theme, &layout, buf);
    dialogs::notices(state, theme, &layout, progress, buf);
    dialogs::dialogs(state, theme, area, buf);
}
