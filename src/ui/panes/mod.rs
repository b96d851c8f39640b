//! The panes, one module each: registry (repositories, tags), cluster (deployments, ReplicaSets,
//! pods) and the rollout events timeline. Here what they share: the box, the counts, the empty
//! state, the cursor's style, and the order they are drawn in.

mod deployments;
mod events;
mod pods;
mod replicasets;
mod repositories;
mod tags;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType};

use super::text::fit;
use crate::app::layout::ScreenLayout;
use crate::app::state::{Focus, State};
use crate::theme::Theme;

/// Every pane, each into its box of `layout`.
pub fn draw(state: &State, theme: &Theme, layout: &ScreenLayout, buf: &mut Buffer) {
    repositories::draw(state, theme, layout.repositories, buf);
    tags::draw(state, theme, layout.tags, buf);
    deployments::draw(state, theme, layout.deployments, buf);
    if let Some(rs) = layout.replicasets {
        replicasets::draw(state, theme, rs, buf);
    }
    pods::draw(state, theme, layout, buf);
    events::draw(state, theme, layout.events, buf);
}

pub const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

pub fn spinner(state: &State) -> &'static str {
    SPINNER[state.spinner % SPINNER.len()]
}

/// For the title of a cluster pane while its rows cannot be confirmed current.
pub(super) fn stale_tag(state: &State, theme: &Theme) -> Option<Span<'static>> {
    let (label, _) = state.cluster_stale()?;
    Some(Span::styled(format!(" {label} "), theme.alarm))
}

/// A bordered box; the focused one has a bright border and title.
pub(super) fn pane_box<'a>(
    theme: &Theme,
    focused: bool,
    title: Vec<Span<'a>>,
    right: Option<String>,
    bottom: Option<Line<'a>>,
) -> Block<'a> {
    let (b, t) = if focused {
        (theme.border_focused, theme.title_focused)
    } else {
        (theme.border, theme.title)
    };
    let mut block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(b)
        .title_top(Line::from(title).style(t));
    if let Some(r) = right {
        block = block.title_top(Line::from(format!(" {r} ")).style(t).right_aligned());
    }
    if let Some(bl) = bottom {
        block = block.title_bottom(bl);
    }
    block
}

fn filter_label(filter: &str) -> Option<String> {
    (!filter.is_empty()).then(|| format!("/{filter}"))
}

pub(super) fn count_label(shown: usize, filter: &str, extra: &str) -> String {
    match filter_label(filter) {
        Some(f) => format!("{f} · {shown}{extra}"),
        None => format!("{shown}{extra}"),
    }
}

/// A centred dim message inside a box (empty states).
pub(super) fn empty(buf: &mut Buffer, area: Rect, text: &str, style: Style) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let t = fit(text, area.width as usize);
    let w = super::text::width(&t) as u16;
    let x = area.x + (area.width.saturating_sub(w)) / 2;
    let y = area.y + area.height.saturating_sub(1) / 2;
    buf.set_stringn(x, y, &t, area.width as usize, style);
}

pub(super) fn sel_style(state: &State, theme: &Theme, focus: Focus) -> Style {
    // Bright only where the keys go: the focused list with no dialog in front.
    if state.focus == focus && state.dialogs.is_empty() {
        theme.selected
    } else {
        theme.selected_unfocused
    }
}

pub(super) fn of(n: i32, d: i32) -> String {
    format!("{n}/{d}")
}
