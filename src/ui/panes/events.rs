//! The rollout timeline: the cluster's events and berth's own actions, newest at the bottom.
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Widget;

use super::{count_label, empty, pane_box, sel_style, stale_tag};
use crate::app::action::Level;
use crate::app::layout::body;
use crate::app::state::{Focus, State};
use crate::app::view::{self, TimelineItem};
use crate::theme::Theme;
use crate::ui::table::{self, Cell, Col};
use crate::ui::text::age;

/// kubectl's short names, so the object column spends its width on the name.
fn short_kind(kind: &str) -> String {
    match kind {
        "Deployment" => "deploy".into(),
        "StatefulSet" => "sts".into(),
        "DaemonSet" => "ds".into(),
        "ControllerRevision" => "rev".into(),
        "ReplicaSet" => "rs".into(),
        "Pod" => "pod".into(),
        "ServiceAccount" => "sa".into(),
        "Namespace" => "ns".into(),
        other => other.to_lowercase(),
    }
}

pub(super) fn draw(state: &State, theme: &Theme, outer: Rect, buf: &mut Buffer) {
    let nav = &state.nav.events;
    let items = view::timeline(state);
    let scope = view::timeline_scope(state);
    let h = body(outer, false).height as usize;
    let len = items.len();
    let back = nav.selected.min(len.saturating_sub(1));
    let end = len - back;
    let start = end.saturating_sub(h);
    let right = if back > 0 {
        format!("↓ {back} newer · G follows")
    } else {
        count_label(len, &nav.filter, "")
    };
    pane_box(
        theme,
        state.focus == Focus::Events,
        [
            Span::raw(" Rollout events "),
            Span::styled(format!("{scope} "), theme.accent),
        ]
        .into_iter()
        .chain(stale_tag(state, theme))
        .collect(),
        Some(right),
        None,
    )
    .render(outer, buf);
    let area = body(outer, false);
    if items.is_empty() {
        let msg = if nav.filter.is_empty() {
            format!("no events for {scope} yet")
        } else {
            format!("no event matches /{}", nav.filter)
        };
        empty(buf, area, &msg, theme.dim);
        return;
    }
    // Narrow screens give the message the room; the object name keeps its unique tail.
    let object_max = if area.width >= 100 { 34 } else { 16 };
    let cols = [
        Col::new("AGE", 4, 4, 0).right(),
        Col::new("", 1, 1, 0),
        Col::new("OBJECT", 10, object_max, 2).tail(),
        Col::new("REASON", 8, 18, 1),
        Col::flex("MESSAGE", 10, 0).greedy(),
    ];
    let visible = &items[start..end];
    // Newest at the bottom: pad at the top when there are fewer rows than lines.
    let pad = h.saturating_sub(visible.len()) as u16;
    let rows: Vec<Vec<Cell>> = visible
        .iter()
        .map(|item| match item {
            TimelineItem::Event(e) => {
                let style = if e.warning { theme.warning } else { theme.text };
                let msg = if e.count > 1 {
                    format!("{} (×{})", e.message, e.count)
                } else {
                    e.message.clone()
                };
                vec![
                    (age(state.now, item.time()), theme.dim),
                    (if e.warning { "!" } else { " " }.into(), theme.warning),
                    (
                        format!("{}/{}", short_kind(&e.involved_kind), e.involved_name),
                        theme.dim,
                    ),
                    (e.reason.clone(), style),
                    (msg, if e.warning { theme.warning } else { theme.text }),
                ]
            }
            TimelineItem::Own(j) => {
                let style = match j.level {
                    Level::Info => theme.own_action,
                    l => theme.level(l),
                };
                vec![
                    (age(state.now, Some(j.at)), theme.dim),
                    ("›".into(), theme.own_action),
                    ("berth".into(), theme.own_action),
                    (
                        match j.level {
                            Level::Info => "Action",
                            Level::Success => "Done",
                            Level::Warning => "Warning",
                            Level::Error => "Failed",
                        }
                        .into(),
                        style,
                    ),
                    (j.text.trim_start_matches("berth: ").to_owned(), style),
                ]
            }
        })
        .collect();
    let area = Rect {
        y: area.y + pad,
        height: area.height - pad,
        ..area
    };
    let sel = (state.focus == Focus::Events && back > 0)
        .then(|| (visible.len() - 1, sel_style(state, theme, Focus::Events)));
    table::draw(buf, area, &cols, None, &rows, sel);
}
