//! The tags of the selected repository: digest, age, ACR locks, platforms, and where each digest
//! runs.
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{count_label, empty, pane_box, sel_style, spinner};
use crate::app::layout::body;
use crate::app::state::{Focus, State};
use crate::app::store::TagOrder;
use crate::app::view;
use crate::registry::types::TagRow;
use crate::theme::Theme;
use crate::ui::table::{self, Cell, Col};
use crate::ui::text::{age, short_digest};

/// `amd64,arm64` for an index; the OS is left out when it is linux (nearly always).
fn platforms(tag: &TagRow) -> String {
    if tag.platforms.is_empty() {
        return "-".to_owned();
    }
    tag.platforms
        .iter()
        .map(|p| {
            let mut s = if p.os == "linux" {
                p.architecture.clone()
            } else {
                format!("{}/{}", p.os, p.architecture)
            };
            if let Some(v) = &p.variant {
                s.push('/');
                s.push_str(v);
            }
            s
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Where a digest runs, most pods first: `web×3 staging/api×1` (the namespace on screen is
/// left out).
fn where_label(state: &State, digest: Option<&str>) -> String {
    let Some(d) = digest else {
        return String::new();
    };
    let here = format!("{}/", state.namespace);
    let mut places: Vec<(String, usize)> = state
        .cluster
        .where_running(d)
        .into_iter()
        .map(|(k, n)| (k.strip_prefix(&here).map(str::to_owned).unwrap_or(k), n))
        .collect();
    places.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    places
        .iter()
        .map(|(k, n)| format!("{k}×{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn draw(state: &State, theme: &Theme, outer: Rect, buf: &mut Buffer) {
    let nav = &state.nav.tags;
    let repo = view::selected_repository(state);
    let list = view::tags(state);
    let mut title = match repo {
        Some(r) => vec![
            Span::raw(" Tags "),
            Span::styled(format!("{} ", r.name), theme.accent),
        ],
        None => vec![Span::raw(" Tags ")],
    };
    // Newest first goes without saying; the other order is named.
    if state.registry.order != TagOrder::Newest {
        title.push(Span::styled(
            format!("{} ", state.registry.order.label()),
            theme.dim,
        ));
    }
    let selected_tag = list.get(nav.selected).copied();
    let bottom = selected_tag.and_then(|t| {
        let w = where_label(state, t.digest.as_deref());
        let mut spans = Vec::new();
        // The selected tag's locks by ACR's names (writeEnabled=false, …), first: they matter
        // before a retag.
        if let Some(a) = t.attributes.filter(|a| !a.disabled().is_empty()) {
            let off: Vec<String> = a.disabled().iter().map(|n| format!("{n}=false")).collect();
            spans.push(Span::styled(format!(" {} ", off.join(" ")), theme.warning));
        }
        if !w.is_empty() {
            spans.push(Span::styled(" ● ", theme.running_mark));
            spans.push(Span::styled(format!("running: {w} "), theme.text));
        }
        (!spans.is_empty()).then(|| Line::from(spans))
    });
    // A listing under way shows its first pages with what is still to come said.
    let listing = repo.is_some_and(|r| state.registry.listing_tags.contains(&r.name));
    let block = pane_box(
        theme,
        state.focus == Focus::Tags,
        title,
        Some(count_label(
            list.len(),
            &nav.filter,
            if listing { " so far…" } else { "" },
        )),
        bottom,
    );
    block.render(outer, buf);
    let area = body(outer, false);
    let Some(repo) = repo else {
        empty(buf, area, "select a repository", theme.dim);
        return;
    };
    if state.registry.tags_of(&repo.name).is_none() {
        empty(
            buf,
            area,
            &format!("{} loading tags of {}…", spinner(state), repo.name),
            theme.dim,
        );
        return;
    }
    // The LOCK column only when a tag of the repository has a lock (ACR changeableAttributes).
    let locks = list
        .iter()
        .any(|t| t.attributes.is_some_and(|a| !a.mark().is_empty()));
    let mut cols = vec![
        Col::new("", 1, 1, 0),
        Col::flex("TAG", 7, 0),
        Col::new("DIGEST", 7, 12, 2).clip(),
        Col::new("AGE", 4, 4, 1).right(),
        Col::new("LOCK", 4, 16, 2),
        Col::new("ARCH", 5, 13, 3),
        Col::flex("WHERE", 8, 4).greedy(),
    ];
    if !locks {
        cols.retain(|c| c.title != "LOCK");
    }
    let inner_rows = area.height.saturating_sub(1) as usize;
    if list.is_empty() {
        table::draw(buf, area, &cols, Some(theme.header), &[], None);
        empty(
            buf,
            Rect {
                y: area.y + 1,
                height: area.height.saturating_sub(1),
                ..area
            },
            &format!("no tag matches /{}", nav.filter),
            theme.dim,
        );
        return;
    }
    let start = table::window(nav.selected, nav.offset, list.len(), inner_rows);
    let rows: Vec<Vec<Cell>> = list[start..(start + inner_rows).min(list.len())]
        .iter()
        .map(|t| {
            let running = t
                .digest
                .as_deref()
                .is_some_and(|d| state.cluster.is_running(d));
            let mut row = vec![
                (
                    if running { "●" } else { " " }.to_owned(),
                    theme.running_mark,
                ),
                (t.name.clone(), theme.text),
                (
                    t.digest.as_deref().map_or("…".to_owned(), short_digest),
                    theme.dim,
                ),
                (age(state.now, t.updated.or(t.created)), theme.text),
            ];
            if locks {
                row.push((
                    t.attributes.map(|a| a.mark()).unwrap_or_default(),
                    theme.warning,
                ));
            }
            row.push((platforms(t), theme.dim));
            row.push((where_label(state, t.digest.as_deref()), theme.ok));
            row
        })
        .collect();
    table::draw(
        buf,
        area,
        &cols,
        Some(theme.header),
        &rows,
        Some((
            nav.selected.saturating_sub(start),
            sel_style(state, theme, Focus::Tags),
        )),
    );
}
