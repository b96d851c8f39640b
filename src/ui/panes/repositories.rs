//! The repositories of the registry browsed: name and how many tags (once listed).
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Widget;

use super::{count_label, empty, pane_box, sel_style, spinner};
use crate::app::action::ConnState;
use crate::app::layout::body;
use crate::app::state::{Focus, State};
use crate::app::view;
use crate::theme::Theme;
use crate::ui::table::{self, Cell, Col};
use crate::ui::text::fit;

pub(super) fn draw(state: &State, theme: &Theme, outer: Rect, buf: &mut Buffer) {
    let nav = &state.nav.repositories;
    let list = view::repositories(state);
    let host = if state.registry.registry.is_empty() {
        "…".to_owned()
    } else {
        state.registry.registry.clone()
    };
    let right = count_label(
        list.len(),
        &nav.filter,
        if state.registry.listing_repositories {
            " so far…"
        } else {
            ""
        },
    );
    // The host gives way to the count when the box is narrow, visibly cut.
    let room = (outer.width as usize).saturating_sub(crate::ui::text::width(&right) + 16);
    let mut title = vec![Span::raw(" Registry ")];
    // With more than one [[registry]], which one this is (`:reg NAME` switches).
    if state.registries.len() > 1 {
        let at = state
            .registries
            .iter()
            .position(|n| *n == state.registry_name)
            .map_or(0, |i| i + 1);
        title.push(Span::styled(
            format!("{} {at}/{} ", state.registry_name, state.registries.len()),
            theme.accent,
        ));
    }
    title.push(Span::styled(format!("{} ", fit(&host, room)), theme.dim));
    let block = pane_box(
        theme,
        state.focus == Focus::Repositories,
        title,
        Some(right),
        None,
    );
    block.render(outer, buf);
    let area = body(outer, false);
    if list.is_empty() {
        let msg = if !nav.filter.is_empty() {
            format!("no repository matches /{}", nav.filter)
        } else {
            match state.registry_conn {
                ConnState::Live => "no repositories".to_owned(),
                c => format!("{} {}…", spinner(state), c.label()),
            }
        };
        empty(buf, area, &msg, theme.dim);
        return;
    }
    let cols = [
        Col::flex("REPOSITORY", 6, 0).greedy(),
        Col::new("TAGS", 4, 8, 1).right(),
    ];
    let h = area.height as usize;
    let start = table::window(nav.selected, nav.offset, list.len(), h);
    let rows: Vec<Vec<Cell>> = list[start..(start + h).min(list.len())]
        .iter()
        .map(|r| {
            let count = state
                .registry
                .tags_of(&r.name)
                .map_or(String::new(), |t| t.len().to_string());
            vec![(r.name.clone(), theme.text), (count, theme.dim)]
        })
        .collect();
    table::draw(
        buf,
        area,
        &cols,
        None,
        &rows,
        Some((
            nav.selected.saturating_sub(start),
            sel_style(state, theme, Focus::Repositories),
        )),
    );
}
