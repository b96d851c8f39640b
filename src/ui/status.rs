//! The key hint line and the status bar; the "too small" screen.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::text::{fit, width};
use crate::app::action::{ConnState, Level};
use crate::app::hints::{applies, hinted};
use crate::app::keymap::{Command, Layer};
use crate::app::layout::{MIN_HEIGHT, MIN_WIDTH};
use crate::app::policy::refusal;
use crate::app::state::{Dialog, ReadOnly, State};
use crate::theme::Theme;

pub fn too_small(area: Rect, buf: &mut Buffer, theme: &Theme) {
    let lines = [
        "terminal too small".to_owned(),
        format!(
            "{}×{}, need {MIN_WIDTH}×{MIN_HEIGHT}",
            area.width, area.height
        ),
    ];
    for (i, l) in lines.iter().enumerate() {
        let y = area.y + (area.height / 2).saturating_sub(1) + i as u16;
        if y >= area.bottom() {
            break;
        }
        let t = fit(l, area.width as usize);
        let x = area.x + area.width.saturating_sub(width(&t) as u16) / 2;
        buf.set_stringn(x, y, &t, area.width as usize, theme.warning);
    }
}

fn key_span(label: String, theme: &Theme, disabled: bool) -> Span<'static> {
    if disabled {
        Span::styled(label, theme.key_disabled)
    } else {
        Span::styled(label, theme.key)
    }
}

/// The line above the status bar: keys of the layer in front, disabled ones struck through with
/// the reason; or the text field being edited (filter).
pub fn hints(state: &State, theme: &Theme, area: Rect, buf: &mut Buffer) {
    if let Some(Dialog::Filter { target, input }) = state.dialogs.last() {
        let line = Line::from(vec![
            Span::styled(format!(" filter {}: ", target.title()), theme.accent),
            Span::styled("/", theme.accent),
            Span::styled(input.text.clone(), theme.input),
            Span::styled("▏", theme.accent),
            Span::styled("   enter keep · esc clear", theme.dim),
        ]);
        line.render(area, buf);
        return;
    }
    let layer = state.layer();
    let km = &state.keymap;
    let read_only = matches!(state.read_only, ReadOnly::On(_));
    let mut spans: Vec<Span<'static>> = vec![Span::raw(" ")];
    // Refused commands are grouped by reason: "✗ i r u: RBAC: cannot patch deployments in shop".
    let mut reasons: Vec<(String, Vec<String>)> = Vec::new();
    for &cmd in hinted(layer) {
        // Confirmation options that do not apply to this change are not offered.
        if !applies(state, cmd) {
            continue;
        }
        let Some(key) = km.key_for(layer, cmd) else {
            continue;
        };
        match refusal(state, cmd) {
            // Read-only removes mutations outright; the status bar says why.
            Some(_) if read_only => {}
            Some(why) => match reasons.iter_mut().find(|(w, _)| *w == why) {
                Some((_, keys)) => keys.push(key.to_string()),
                None => reasons.push((why, vec![key.to_string()])),
            },
            None => {
                spans.push(key_span(format!(" {key} "), theme, false));
                spans.push(Span::styled(format!(" {} ", cmd.hint()), theme.text));
            }
        }
    }
    for (why, keys) in &reasons {
        spans.push(Span::styled(
            format!(" ✗ {}: {why} ", keys.join(" ")),
            theme.warning,
        ));
    }
    if layer.falls_through() {
        let used: usize = spans.iter().map(|s| width(&s.content)).sum();
        let mut globals: Vec<Span<'static>> = Vec::new();
        for cmd in [Command::Palette, Command::Help, Command::Quit] {
            if let Some(key) = km.key_for(Layer::Global, cmd) {
                globals.push(key_span(format!(" {key} "), theme, false));
                globals.push(Span::styled(format!(" {} ", cmd.hint()), theme.text));
            }
        }
        let gw: usize = globals.iter().map(|s| width(&s.content)).sum();
        // The pane's own keys come first; the global ones only when they fit (they are in `?`).
        if used + gw <= area.width as usize {
            spans.extend(globals);
        }
    }
    let total: usize = spans.iter().map(|s| width(&s.content)).sum();
    if total > area.width as usize
        && let Some(last) = spans.last_mut()
    {
        let over = total - area.width as usize;
        let keep = width(&last.content).saturating_sub(over);
        last.content = fit(&last.content, keep).into();
    }
    Line::from(spans).render(area, buf);
}

pub fn status_bar(state: &State, theme: &Theme, area: Rect, buf: &mut Buffer) {
    buf.set_style(area, theme.status_bar);
    let sep = || Span::styled(" │ ", theme.dim.patch(theme.status_bar));
    let conn_label = |c: ConnState, label: String| -> Span<'static> {
        let style = match c {
            ConnState::Live => theme.status_live,
            _ => theme.status_bad,
        };
        Span::styled(
            format!("● {label}"),
            style.patch(Style::new().bg(theme.status_bar.bg.unwrap_or_default())),
        )
    };
    let conn = |c: ConnState| conn_label(c, c.label().to_owned());
    // Stale cluster data says since when (never "live" about rows older than a loss).
    let cluster_conn = match state.cluster_stale() {
        Some((label, _)) => conn_label(ConnState::Stale, label),
        None => conn(state.cluster_conn()),
    };
    let narrow = area.width < 100;
    let mut spans = vec![Span::raw(" ")];
    // Read-only first: it must never be the part that gets cut.
    if let ReadOnly::On(why) = &state.read_only {
        spans.push(Span::styled(
            if narrow {
                " READ-ONLY ".to_owned()
            } else {
                format!(" READ-ONLY ({why}) ")
            },
            theme.read_only,
        ));
        spans.push(Span::raw(" "));
    }
    spans.extend([
        Span::styled("ctx ", theme.dim),
        Span::raw(if state.context.is_empty() {
            "-".to_owned()
        } else {
            state.context.clone()
        }),
        Span::raw(" "),
        cluster_conn,
        sep(),
        Span::styled("ns ", theme.dim),
        Span::raw(state.namespace.clone()),
        sep(),
        Span::styled(if narrow { "reg " } else { "registry " }, theme.dim),
        Span::raw(if state.registry.registry.is_empty() {
            "-".to_owned()
        } else {
            state.registry.registry.clone()
        }),
        Span::raw(" "),
        conn(state.registry_conn),
    ]);
    let running = state.running_tasks();
    if running > 0 {
        spans.push(sep());
        spans.push(Span::styled(
            format!("{} {running} running", super::panes::spinner(state)),
            theme.progressing,
        ));
    }
    if let Some(last) = &state.last_result {
        spans.push(sep());
        let mark = match last.level {
            Level::Success => "✓ ",
            Level::Error => "✗ ",
            Level::Warning => "! ",
            Level::Info => "",
        };
        let used: usize = spans.iter().map(|s| width(&s.content)).sum();
        let room = (area.width as usize).saturating_sub(used + 2);
        spans.push(Span::styled(
            fit(&format!("{mark}{}", last.text), room),
            theme.level(last.level),
        ));
    }
    Line::from(spans).style(theme.status_bar).render(area, buf);
}
