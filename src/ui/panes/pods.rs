//! The pods of the selected workload (of the namespace when none is), a page at a time.
use ratatui::buffer::Buffer;
use ratatui::text::Span;
use ratatui::widgets::Widget;

use super::{count_label, empty, of, pane_box, sel_style, stale_tag};
use crate::app::layout::{ScreenLayout, body};
use crate::app::state::{Focus, State};
use crate::app::view;
use crate::cluster::model::PodRow;
use crate::theme::Theme;
use crate::ui::table::{self, Cell, Col};
use crate::ui::text::{age, short_digest};

fn pod_digest(p: &PodRow) -> String {
    p.containers
        .iter()
        .filter(|c| !c.init)
        .find_map(|c| {
            c.image_id
                .as_deref()
                .and_then(crate::reference::digest_of_image_id)
        })
        .map_or("-".into(), short_digest)
}

pub(super) fn draw(state: &State, theme: &Theme, layout: &ScreenLayout, buf: &mut Buffer) {
    let outer = layout.pods;
    let nav = &state.nav.pods;
    let count = view::pods_count(state);
    let dep = view::selected_deployment(state);
    let mut title = match dep {
        Some(d) => vec![
            Span::raw(" Pods "),
            Span::styled(format!("{} ", d.name), theme.accent),
        ],
        None => vec![
            Span::raw(" Pods "),
            Span::styled(format!("{} ", state.namespace), theme.accent),
        ],
    };
    title.extend(stale_tag(state, theme));
    if layout.replicasets.is_none() && dep.is_some() {
        // No room for the ReplicaSets box: their revisions ride in the title.
        let rs = view::replicasets(state);
        let current = dep.and_then(|d| d.revision);
        for r in rs.iter().take(3) {
            let style = if r.revision.is_some() && r.revision == current {
                theme.accent
            } else {
                theme.dim
            };
            title.push(Span::styled(
                format!(
                    "{} {} ",
                    r.revision.map_or("-".into(), |v| format!("r{v}")),
                    of(r.ready, r.desired)
                ),
                style,
            ));
        }
    }
    pane_box(
        theme,
        state.focus == Focus::Pods,
        title,
        Some(count_label(count, &nav.filter, "")),
        None,
    )
    .render(outer, buf);
    let area = body(outer, false);
    if count == 0 {
        let msg = if nav.filter.is_empty() {
            "no pods".to_owned()
        } else {
            format!("no pod matches /{}", nav.filter)
        };
        empty(buf, area, &msg, theme.dim);
        return;
    }
    let h = area.height.saturating_sub(1) as usize;
    let start = table::window(nav.selected, nav.offset, count, h);
    let rows: Vec<Vec<Cell>> = view::pods_page(state, start, h)
        .iter()
        .map(|p| {
            let status = view::pod_status(p);
            let style = if view::status_is_failure(&status) {
                theme.alarm
            } else if status == "Running" {
                theme.ok
            } else if status == "Terminating" || status == "Succeeded" || status == "Completed" {
                theme.dim
            } else {
                theme.progressing
            };
            let (r, n) = view::pod_ready(p);
            let restarts = view::pod_restarts(p);
            vec![
                (p.name.clone(), theme.text),
                (
                    format!("{r}/{n}"),
                    if r < n { theme.progressing } else { theme.text },
                ),
                (status, style),
                (
                    restarts.to_string(),
                    if restarts > 0 {
                        theme.warning
                    } else {
                        theme.dim
                    },
                ),
                (p.node.clone().unwrap_or_else(|| "-".into()), theme.dim),
                (age(state.now, p.created), theme.text),
                (pod_digest(p), theme.dim),
            ]
        })
        .collect();
    // STATUS is as wide as the longest status on screen, so a failure reason is never cut.
    let status_w = rows
        .iter()
        .map(|r| crate::ui::text::width(&r[2].0))
        .max()
        .unwrap_or(7)
        .clamp(7, 28) as u16;
    let cols = [
        Col::flex("NAME", 14, 1).tail(),
        Col::new("READY", 5, 5, 4).right(),
        Col::new("STATUS", status_w, status_w, 0),
        Col::new("RESTARTS", 8, 8, 2).right(),
        Col::new("NODE", 10, 34, 5).tail(),
        Col::new("AGE", 4, 4, 1).right(),
        Col::new("DIGEST", 7, 12, 3).clip(),
    ];
    table::draw(
        buf,
        area,
        &cols,
        Some(theme.header),
        &rows,
        Some((
            nav.selected.saturating_sub(start),
            sel_style(state, theme, Focus::Pods),
        )),
    );
}
