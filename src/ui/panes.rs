//! The three panes: registry (repositories, tags), cluster (deployments, ReplicaSets, pods) and
//! the rollout events timeline.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Widget};

use super::table::{self, Cell, Col};
use super::text::{age, fit, short_digest, short_image};
use crate::app::action::{ConnState, Level};
use crate::app::layout::{ScreenLayout, body};
use crate::app::state::{Focus, State};
use crate::app::store::TagOrder;
use crate::app::view::{self, TimelineItem};
use crate::cluster::model::{DeploymentRow, PodRow, RolloutState};
use crate::registry::types::TagRow;
use crate::theme::Theme;

pub const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

pub fn spinner(state: &State) -> &'static str {
    SPINNER[state.spinner % SPINNER.len()]
}

/// For the title of a cluster pane while its rows cannot be confirmed current.
fn stale_tag(state: &State, theme: &Theme) -> Option<Span<'static>> {
    let (label, _) = state.cluster_stale()?;
    Some(Span::styled(format!(" {label} "), theme.alarm))
}

/// A bordered box; the focused one has a bright border and title.
fn pane_box<'a>(
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

fn count_label(shown: usize, filter: &str, extra: &str) -> String {
    match filter_label(filter) {
        Some(f) => format!("{f} · {shown}{extra}"),
        None => format!("{shown}{extra}"),
    }
}

/// A centred dim message inside a box (empty states).
fn empty(buf: &mut Buffer, area: Rect, text: &str, style: Style) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let t = fit(text, area.width as usize);
    let w = super::text::width(&t) as u16;
    let x = area.x + (area.width.saturating_sub(w)) / 2;
    let y = area.y + area.height.saturating_sub(1) / 2;
    buf.set_stringn(x, y, &t, area.width as usize, style);
}

fn sel_style(state: &State, theme: &Theme, focus: Focus) -> Style {
    // Bright only where the keys go: the focused list with no dialog in front.
    if state.focus == focus && state.dialogs.is_empty() {
        theme.selected
    } else {
        theme.selected_unfocused
    }
}

// ---------------------------------------------------------------------------------------------
// Registry

pub fn registry(state: &State, theme: &Theme, layout: &ScreenLayout, buf: &mut Buffer) {
    repositories(state, theme, layout.repositories, buf);
    tags(state, theme, layout.tags, buf);
}

fn repositories(state: &State, theme: &Theme, outer: Rect, buf: &mut Buffer) {
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
    let room = (outer.width as usize).saturating_sub(super::text::width(&right) + 16);
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

fn tags(state: &State, theme: &Theme, outer: Rect, buf: &mut Buffer) {
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

// ---------------------------------------------------------------------------------------------
// Cluster

pub fn rollout_label(d: &DeploymentRow, theme: &Theme) -> (String, Style) {
    match &d.rollout {
        RolloutState::Pending => ("pending".into(), theme.dim),
        RolloutState::Progressing { .. } => ("progressing".into(), theme.progressing),
        RolloutState::Complete => ("complete".into(), theme.ok),
        RolloutState::Stuck { .. } => ("stuck".into(), theme.alarm),
        RolloutState::Paused => ("paused".into(), theme.paused),
    }
}

fn of(n: i32, d: i32) -> String {
    format!("{n}/{d}")
}

pub fn cluster(state: &State, theme: &Theme, layout: &ScreenLayout, buf: &mut Buffer) {
    deployments(state, theme, layout.deployments, buf);
    if let Some(rs) = layout.replicasets {
        replicasets(state, theme, rs, buf);
    }
    pods(state, theme, layout, buf);
}

fn deployments(state: &State, theme: &Theme, outer: Rect, buf: &mut Buffer) {
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
            let room = (outer.width as usize).saturating_sub(super::text::width(reason) + 8);
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

fn replicasets(state: &State, theme: &Theme, outer: Rect, buf: &mut Buffer) {
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

fn pods(state: &State, theme: &Theme, layout: &ScreenLayout, buf: &mut Buffer) {
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
        .map(|r| super::text::width(&r[2].0))
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

// ---------------------------------------------------------------------------------------------
// Events

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

pub fn events(state: &State, theme: &Theme, layout: &ScreenLayout, buf: &mut Buffer) {
    let outer = layout.events;
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
