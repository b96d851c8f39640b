//! The revisions of the selected workload, in their own box when the screen is tall enough (else
//! the pods pane's title carries them).
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Widget;

use super::{empty, of, pane_box};
use crate::app::layout::body;
use crate::app::state::State;
use crate::app::view;
use crate::theme::Theme;
use crate::ui::table::{self, Cell, Col};
use crate::ui::text::{age, short_image};

pub(super) fn draw(state: &State, theme: &Theme, outer: Rect, buf: &mut Buffer) {
    let list = view::replicasets(state);
    let dep = view::selected_deployment(state);
    let title = match dep {
        Some(d) => vec![
            Span::raw(" ReplicaSets "),
            Span::styled(format!("{} ", d.name), theme.accent),
        ],
        None => vec![Span::raw(" ReplicaSets ")],
    };
    pane_box(theme, false, title, Some(list.len().to_string()), None).render(outer, buf);
    let area = body(outer, false);
    if list.is_empty() {
        empty(buf, area, "no ReplicaSets", theme.dim);
        return;
    }
    let current = dep.and_then(|d| d.revision);
    let cols = [
        Col::new("REV", 3, 4, 0).right(),
        Col::flex("NAME", 10, 1),
        Col::new("READY", 5, 7, 0).right(),
        Col::new("AGE", 4, 4, 2).right(),
        Col::flex("IMAGE", 10, 3).tail().greedy(),
    ];
    let h = area.height.saturating_sub(1) as usize;
    let reg = &state.registry.registry;
    let rows: Vec<Vec<Cell>> = list
        .iter()
        .take(h)
        .map(|rs| {
            let style = if rs.revision.is_some() && rs.revision == current {
                theme.accent
            } else if rs.desired == 0 {
                theme.dim
            } else {
                theme.text
            };
            vec![
                (rs.revision.map_or("-".into(), |r| format!("r{r}")), style),
                (rs.name.clone(), style),
                (of(rs.ready, rs.desired), style),
                (age(state.now, rs.created), style),
                (
                    rs.images
                        .iter()
                        .map(|i| short_image(i, reg))
                        .collect::<Vec<_>>()
                        .join(", "),
                    theme.dim,
                ),
            ]
        })
        .collect();
    table::draw(buf, area, &cols, Some(theme.header), &rows, None);
}
