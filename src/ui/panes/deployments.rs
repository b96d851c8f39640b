//! The workloads of the namespace in view and their rollout state; the selected one's trouble
//! (or owner) in the bottom border.
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{count_label, empty, of, pane_box, sel_style, spinner, stale_tag};
use crate::app::action::ConnState;
use crate::app::layout::body;
use crate::app::state::{Focus, State};
use crate::app::view;
use crate::cluster::model::{DeploymentRow, RolloutState};
use crate::theme::Theme;
use crate::ui::table::{self, Cell, Col};
use crate::ui::text::{fit, short_image};

pub(super) fn rollout_label(d: &DeploymentRow, theme: &Theme) -> (String, Style) {
    match &d.rollout {
        RolloutState::Pending => ("pending".into(), theme.dim),
        RolloutState::Progressing { .. } => ("progressing".into(), theme.progressing),
        RolloutState::Complete => ("complete".into(), theme.ok),
        RolloutState::Stuck { .. } => ("stuck".into(), theme.alarm),
        RolloutState::Paused => ("paused".into(), theme.paused),
    }
}

pub(super) fn draw(state: &State, theme: &Theme, outer: Rect, buf: &mut Buffer) {
    let nav = &state.nav.deployments;
    let list = view::deployments(state);
    let ctx = if state.context.is_empty() {
        "…"
    } else {
        &state.context
    };
    let mut title = vec![
        Span::raw(" Deployments "),
        Span::styled("ctx ", theme.dim),
        Span::styled(format!("{ctx} "), theme.accent),
        Span::styled("ns ", theme.dim),
        Span::styled(format!("{} ", state.namespace), theme.accent),
    ];
    title.extend(stale_tag(state, theme));
    let selected = list.get(nav.selected).copied();
    let bottom = selected.and_then(|d| match &d.rollout {
        RolloutState::Stuck { reason, message } => {
            let room = (outer.width as usize).saturating_sub(crate::ui::text::width(reason) + 8);
            Some(Line::from(vec![
                Span::styled(format!(" {reason} "), theme.alarm),
                Span::styled(format!(" {} ", fit(message, room)), theme.error),
            ]))
        }
        RolloutState::Progressing { message } if !message.is_empty() => {
            let room = (outer.width as usize).saturating_sub(6);
            Some(Line::from(Span::styled(
                format!(" {} ", fit(message, room)),
                theme.progressing,
            )))
        }
        // Otherwise the selected workload's owner: changes made here are reverted by it.
        _ => d.owner.as_ref().map(|o| {
            let room = (outer.width as usize).saturating_sub(6);
            Line::from(Span::styled(
                format!(" {} ", fit(&o.managed_by(), room)),
                theme.warning,
            ))
        }),
    });
    pane_box(
        theme,
        state.focus == Focus::Deployments,
        title,
        Some(count_label(list.len(), &nav.filter, "")),
        bottom,
    )
    .render(outer, buf);
    let area = body(outer, false);
    if list.is_empty() {
        let msg = if !nav.filter.is_empty() {
            format!("no deployment matches /{}", nav.filter)
        } else {
            match state.cluster_conn() {
                ConnState::Live => format!("no deployments in {}", state.namespace),
                c => format!("{} {}…", spinner(state), c.label()),
            }
        };
        empty(buf, area, &msg, theme.dim);
        return;
    }
    // The OWNER column only when a workload of the list has one (Helm, Argo CD, Flux).
    let owners = list.iter().any(|d| d.owner.is_some());
    let mut cols = vec![
        Col::flex("NAME", 8, 0),
        Col::new("REV", 3, 4, 2).right(),
        Col::new("UPD", 3, 5, 3).right(),
        Col::new("READY", 5, 5, 0).right(),
        Col::new("AVAIL", 5, 5, 3).right(),
        Col::new("STATE", 8, 11, 1),
        Col::new("OWNER", 5, 20, 5),
        Col::flex("IMAGE", 10, 4).tail().greedy(),
    ];
    if !owners {
        cols.retain(|c| c.title != "OWNER");
    }
    let h = area.height.saturating_sub(1) as usize;
    let start = table::window(nav.selected, nav.offset, list.len(), h);
    let reg = &state.registry.registry;
    let rows: Vec<Vec<Cell>> = list[start..(start + h).min(list.len())]
        .iter()
        .map(|d| {
            let image = d
                .containers
                .iter()
                .filter(|c| !c.init)
                .map(|c| short_image(&c.image, reg))
                .collect::<Vec<_>>()
                .join(", ");
            let ready_style = if d.ready < d.desired {
                theme.progressing
            } else {
                theme.text
            };
            let name = match d.kind {
                crate::cluster::model::WorkloadKind::Deployment => d.name.clone(),
                other => format!("{}/{}", other.short(), d.name),
            };
            let mut row = vec![
                (name, theme.text),
                (
                    d.revision.map_or("-".into(), |r| format!("r{r}")),
                    theme.dim,
                ),
                (of(d.updated, d.desired), theme.text),
                (of(d.ready, d.desired), ready_style),
                (of(d.available, d.desired), theme.text),
                rollout_label(d, theme),
            ];
            if owners {
                row.push((
                    d.owner
                        .as_ref()
                        .map_or_else(String::new, |o| o.short_label()),
                    theme.warning,
                ));
            }
            row.push((image, theme.dim));
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
            sel_style(state, theme, Focus::Deployments),
        )),
    );
}
