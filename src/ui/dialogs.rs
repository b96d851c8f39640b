//! Everything drawn over the panes: progress, notices, help, palette, prompt, confirmation,
//! diagnosis.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget, Wrap};

use super::panes::spinner;
use super::text::{fit, fit_middle, width, wrap, wrap_rows};
use crate::app::action::{Level, StepStatus};
use crate::app::keymap::{Command, Keymap, Layer};
use crate::app::layout::ScreenLayout;
use crate::app::palette::{self, ROWS_SHOWN};
use crate::app::policy::refusal;
use crate::app::state::{
    Confirm, DiagnosisPanel, Dialog, Prompt, RevisionPicker, State, TaskState,
};
use crate::theme::Theme;

/// How long a finished task stays in the progress panel.
const PROGRESS_LINGER_SECS: i64 = 4;

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn dialog_block<'a>(title: impl Into<Line<'a>>, style: Style) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(style)
        .title_top(title.into())
}

fn key_hint<'a>(
    km: &Keymap,
    layer: Layer,
    cmd: Command,
    label: &str,
    theme: &Theme,
) -> Vec<Span<'a>> {
    match km.key_for(layer, cmd) {
        Some(k) => vec![
            Span::styled(format!(" {k} "), theme.key),
            Span::styled(format!(" {label}  "), theme.text),
        ],
        None => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Progress and notices (non-modal)

/// Running mutations (and ones that just ended) with their per-step state, over the right of
/// the events pane. Input keeps going to the panes.
/// The progress panel at the top right of the timeline; the rows it took, if any.
pub fn progress(
    state: &State,
    theme: &Theme,
    layout: &ScreenLayout,
    buf: &mut Buffer,
) -> Option<Rect> {
    let tasks: Vec<_> = state
        .tasks
        .values()
        .filter(|t| t.shows_progress())
        .filter(|t| match t.finished {
            None => true,
            Some(f) => state.now.duration_since(f).as_secs() < PROGRESS_LINGER_SECS,
        })
        .collect();
    if tasks.is_empty() {
        return None;
    }
    let ev = layout.events;
    let w = (ev.width / 2).clamp(30, 64).min(ev.width);
    let mut lines: Vec<Line<'_>> = Vec::new();
    for t in tasks.iter().rev().take(3) {
        let (mark, style) = match &t.state {
            TaskState::Running => (spinner(state).to_owned(), theme.progressing),
            TaskState::Done(_) => ("✓".to_owned(), theme.ok),
            TaskState::Failed(_) => ("✗".to_owned(), theme.error),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark} "), style),
            Span::styled(fit(&t.title, w as usize - 4), theme.text),
        ]));
        if !t.steps.is_empty() {
            let mut spans = vec![Span::raw("  ")];
            for s in &t.steps {
                let (m, st) = match s.status {
                    StepStatus::Pending => ("·", theme.dim),
                    StepStatus::Running => (spinner(state), theme.progressing),
                    StepStatus::Done => ("✓", theme.ok),
                    StepStatus::Skipped => ("-", theme.dim),
                    StepStatus::Failed => ("✗", theme.error),
                };
                spans.push(Span::styled(format!("{m} "), st));
                spans.push(Span::styled(format!("{}  ", s.step), theme.text));
            }
            lines.push(Line::from(spans));
        }
        if let TaskState::Failed(e) = &t.state {
            lines.push(Line::from(Span::styled(
                format!("  {}", fit(&e.why, w as usize - 4)),
                theme.error,
            )));
        }
    }
    let h = (lines.len() as u16 + 2).min(ev.height);
    let area = Rect::new(ev.right() - w, ev.y, w, h);
    Clear.render(area, buf);
    Paragraph::new(lines)
        .block(dialog_block(" Progress ", theme.dialog_border))
        .render(area, buf);
    Some(area)
}

/// Toasts over the timeline's right half, below the progress panel when it shows.
pub fn notices(
    state: &State,
    theme: &Theme,
    layout: &ScreenLayout,
    progress: Option<Rect>,
    buf: &mut Buffer,
) {
    if state.notices.is_empty() {
        return;
    }
    // Over the timeline's right half, newest first from its top: the timeline's older lines
    // are what a notice may hide (the notice is in the timeline too), never the rows of the
    // deployments and pods an operator is acting on.
    let area = layout.events;
    let w = (area.width / 2).clamp(30, 72).min(area.width);
    let mut y = progress.map_or(area.y + 1, |p| p.bottom());
    // Sticky ones (a change the audit log lacks) first, then the newest.
    let order = state
        .notices
        .iter()
        .filter(|n| n.sticky)
        .chain(state.notices.iter().rev().filter(|n| !n.sticky));
    for n in order {
        if y + 3 > layout.hints.y {
            break;
        }
        let style = theme.level(n.notice.level);
        let mark = match n.notice.level {
            Level::Info => "i",
            Level::Success => "✓",
            Level::Warning => "!",
            Level::Error => "✗",
        };
        // Long errors wrap (up to three lines) rather than losing the "what to do" part.
        let inner = w as usize - 4;
        let rows = wrap_rows(&n.notice.text, inner - 2, 3);
        let h = (rows.len() as u16 + 2).min(layout.hints.y - y);
        let rect = Rect::new(area.right() - w, y, w, h);
        Clear.render(rect, buf);
        let lines: Vec<Line<'_>> = rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                Line::from(vec![
                    Span::styled(
                        if i == 0 {
                            format!("{mark} ")
                        } else {
                            "  ".into()
                        },
                        style,
                    ),
                    Span::styled(r, theme.text),
                ])
            })
            .collect();
        Paragraph::new(lines)
            .block(dialog_block("", style).padding(ratatui::widgets::Padding::horizontal(1)))
            .render(rect, buf);
        y += h;
    }
}

// ---------------------------------------------------------------------------------------------
// Modal dialogs

pub fn dialogs(state: &State, theme: &Theme, area: Rect, buf: &mut Buffer) {
    for d in &state.dialogs {
        match d {
            Dialog::Help => help(state, theme, area, buf),
            Dialog::Filter { .. } => {} // drawn in the hint line
            Dialog::Palette { input, selected } => {
                palette(state, theme, area, buf, &input.text, *selected)
            }
            Dialog::Prompt(p) => prompt(theme, area, buf, p),
            Dialog::Confirm(c) => confirm(state, theme, area, buf, c),
            Dialog::Diagnosis(p) => diagnosis(state, theme, area, buf, p),
            Dialog::Revisions(p) => revisions(state, theme, area, buf, p),
            Dialog::Logs(v) => super::logs::draw(state, theme, area, buf, v),
            Dialog::Object(v) => super::object_view::draw(state, theme, area, buf, v),
        }
    }
}

/// A help section: title and (keys, description, refusal reason) rows.
type HelpSection = (String, Vec<(String, &'static str, Option<String>)>);

fn help(state: &State, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let km = &state.keymap;
    // (title, [(keys, description, refusal)]) for the focused pane, then the global keys.
    let section = |title: String, layer: Layer| {
        let entries: Vec<(String, &'static str, Option<String>)> = km
            .layer(layer)
            .map(|b| {
                (
                    Keymap::keys_label(&b.keys),
                    b.command.describe(),
                    refusal(state, b.command),
                )
            })
            .collect();
        (title, entries)
    };
    let full_screen = state.dialogs.iter().rev().find_map(|d| match d {
        Dialog::Logs(_) => Some(("logs view", Layer::Logs)),
        Dialog::Object(_) => Some(("object view", Layer::Object)),
        _ => None,
    });
    let (front, front_layer) = if let Some((title, layer)) = full_screen {
        (title.to_owned(), layer)
    } else {
        (format!("{} pane", state.focus.title()), state.focus.layer())
    };
    let sections = if full_screen.is_some() {
        // Global keys do not reach a full-screen view: its own keys fill both columns.
        let (title, mut moving) = section(front, front_layer);
        let shows = moving.split_off(moving.len().min(8));
        [
            (title, moving),
            ("search and what it shows".to_owned(), shows),
        ]
    } else {
        [
            section(front, front_layer),
            section("everywhere".to_owned(), Layer::Global),
        ]
    };
    let render_section =
        |(title, entries): &HelpSection, col_w: usize, key_w: usize| -> Vec<Line<'static>> {
            let mut lines = vec![Line::from(Span::styled(title.clone(), theme.header))];
            for (keys, desc, why) in entries {
                let desc_w = col_w.saturating_sub(key_w + 2);
                let mut spans = vec![Span::styled(
                    format!("  {:<key_w$}", fit(keys, key_w - 1)),
                    theme.accent,
                )];
                match why {
                    Some(why) => spans.push(Span::styled(
                        fit(&format!("{desc} ✗ {why}"), desc_w),
                        theme
                            .key_disabled
                            .remove_modifier(ratatui::style::Modifier::CROSSED_OUT),
                    )),
                    None => spans.push(Span::styled(fit(desc, desc_w), theme.text)),
                }
                lines.push(Line::from(spans));
            }
            lines
        };
    let footer = "palette: :ns · :ctx · :reg · :repo NAME · :yaml KIND/NAME · a command name";
    let one_col: usize = sections.iter().map(|(_, e)| e.len() + 2).sum::<usize>() + 1;
    let max_h = area.height.saturating_sub(2) as usize;
    let w = area.width.saturating_sub(4).min(76);
    let inner = w.saturating_sub(2) as usize;
    let mut lines: Vec<Line<'_>> = Vec::new();
    if one_col + 2 <= max_h {
        for sec in &sections {
            if sec.1.is_empty() {
                continue;
            }
            lines.extend(render_section(sec, inner, 18));
            lines.push(Line::raw(""));
        }
    } else {
        // Short screen: the pane's keys on the left, the global keys on the right.
        let col_w = inner.saturating_sub(1) / 2;
        let left = render_section(&sections[0], col_w, 12);
        let right = render_section(&sections[1], col_w, 12);
        for i in 0..left.len().max(right.len()) {
            let mut spans: Vec<Span<'_>> = Vec::new();
            let l = left.get(i).cloned().unwrap_or_default();
            let lw = l.width();
            spans.extend(l.spans);
            spans.push(Span::raw(" ".repeat(col_w.saturating_sub(lw) + 1)));
            if let Some(r) = right.get(i) {
                spans.extend(r.spans.clone());
            }
            lines.push(Line::from(spans));
        }
        lines.push(Line::raw(""));
    }
    lines.push(Line::from(Span::styled(fit(footer, inner), theme.dim)));
    let h = (lines.len() as u16 + 2).min(area.height.saturating_sub(1));
    let rect = centered(area, w, h);
    Clear.render(rect, buf);
    Paragraph::new(lines)
        .block(
            dialog_block(
                Line::from(Span::styled(" Keys ", theme.title_focused)),
                theme.dialog_border,
            )
            .title_bottom(Line::from(Span::styled(" any key closes ", theme.dim)).right_aligned()),
        )
        .render(rect, buf);
}

fn palette(
    state: &State,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
    typed: &str,
    selected: usize,
) {
    let sugg = palette::suggestions(state, typed);
    let shown = sugg.len().min(ROWS_SHOWN);
    let w = (area.width * 2 / 3).clamp(40, 80).min(area.width);
    let h = shown as u16 + 3;
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + 2,
        w,
        h.min(area.height),
    );
    Clear.render(rect, buf);
    let mut lines = vec![Line::from(vec![
        Span::styled(":", theme.accent),
        Span::styled(typed.to_owned(), theme.input),
        Span::styled("▏", theme.accent),
    ])];
    let start = selected.saturating_sub(ROWS_SHOWN - 1);
    let name_w = sugg
        .iter()
        .map(|s| width(&s.text))
        .max()
        .unwrap_or(0)
        .min(30);
    for (i, s) in sugg.iter().enumerate().skip(start).take(ROWS_SHOWN) {
        let style = if i == selected {
            theme.selected
        } else {
            theme.text
        };
        let text = format!(" {:<name_w$}  {}", fit(&s.text, name_w), s.detail,);
        lines.push(Line::from(Span::styled(
            format!(
                "{:<width$}",
                fit(&text, w as usize - 2),
                width = w as usize - 2
            ),
            style,
        )));
    }
    let title = if sugg.is_empty() && !typed.is_empty() {
        " Command · no match: enter runs it as typed "
    } else {
        " Command · ↑↓ choose · tab complete · enter run · esc close "
    };
    Paragraph::new(lines)
        .block(dialog_block(
            Line::from(Span::styled(
                fit(title, w as usize - 2),
                theme.title_focused,
            )),
            theme.dialog_border,
        ))
        .render(rect, buf);
}

fn prompt(theme: &Theme, area: Rect, buf: &mut Buffer, p: &Prompt) {
    let w = area.width.saturating_sub(8).clamp(40, 76).min(area.width);
    let inner = w as usize - 4;
    let mut lines = vec![
        Line::from(Span::styled(fit(&p.help, inner), theme.dim)),
        Line::raw(""),
        Line::from(vec![
            Span::styled("› ", theme.accent),
            Span::styled(p.input.text.clone(), theme.input),
            Span::styled("▏", theme.accent),
        ]),
    ];
    if let Some(e) = &p.error {
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(e.clone(), theme.error)));
    }
    let extra = p
        .error
        .as_ref()
        .map_or(0, |e| (width(e) / inner) as u16 + 2);
    let h = 5 + extra + 1;
    let rect = centered(area, w, h);
    Clear.render(rect, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(
            dialog_block(
                Line::from(Span::styled(format!(" {} ", p.title), theme.title_focused)),
                theme.dialog_border,
            )
            .title_bottom(
                Line::from(vec![
                    Span::styled(" enter ", theme.key),
                    Span::styled(" next  ", theme.text),
                    Span::styled(" esc ", theme.key),
                    Span::styled(" cancel ", theme.text),
                ])
                .right_aligned(),
            )
            .padding(ratatui::widgets::Padding::horizontal(1)),
        )
        .render(rect, buf);
}

fn confirm(state: &State, theme: &Theme, area: Rect, buf: &mut Buffer, c: &Confirm) {
    let w = (area.width.saturating_sub(4)).clamp(40, 96).min(area.width);
    let inner = w as usize - 4;
    let label_w = c
        .changes
        .iter()
        .map(|ch| width(&ch.label))
        .max()
        .unwrap_or(0);
    let mut lines: Vec<Line<'_>> = Vec::new();
    for ch in &c.changes {
        let room = inner.saturating_sub(label_w + 2);
        let label = Span::styled(format!("{:>label_w$}  ", ch.label), theme.header);
        match &ch.old {
            Some(old) if width(old) + width(&ch.new) + 3 <= room => {
                lines.push(Line::from(vec![
                    label,
                    Span::styled(old.clone(), theme.old_value),
                    Span::styled(" → ", theme.dim),
                    Span::styled(ch.new.clone(), theme.new_value),
                ]));
            }
            Some(old) => {
                // Too long for one line: old above, new below, both cut in the middle so the
                // registry and the tag/digest stay readable.
                lines.push(Line::from(vec![
                    label,
                    Span::styled(fit_middle(old, room), theme.old_value),
                ]));
                lines.push(Line::from(vec![
                    Span::raw(" ".repeat(label_w)),
                    Span::styled("→ ", theme.dim),
                    Span::styled(fit_middle(&ch.new, room), theme.new_value),
                ]));
            }
            None => lines.push(Line::from(vec![
                label,
                Span::styled(fit_middle(&ch.new, room), theme.text),
            ])),
        }
    }
    if !c.warnings.is_empty() {
        lines.push(Line::raw(""));
        for (i, w) in c.warnings.iter().enumerate() {
            let mark = if i == 0 { "⚠ " } else { "  " };
            for (j, row) in wrap(w, inner.saturating_sub(2).max(8))
                .into_iter()
                .enumerate()
            {
                let lead = if j == 0 { mark } else { "  " };
                let style = if i == 0 {
                    theme.dialog_danger
                } else {
                    theme.text
                };
                lines.push(Line::from(Span::styled(format!("{lead}{row}"), style)));
            }
        }
    }
    if !c.notes.is_empty() {
        lines.push(Line::raw(""));
        for n in &c.notes {
            let style = if n.contains("exists") || n.contains("not seen") || n.contains("not in") {
                theme.dialog_danger
            } else {
                theme.dim
            };
            // Wrapped here (not by the paragraph) so continuation lines hang under the text.
            for (i, row) in wrap(n, inner.saturating_sub(2).max(8))
                .into_iter()
                .enumerate()
            {
                let bullet = if i == 0 { "• " } else { "  " };
                lines.push(Line::from(Span::styled(format!("{bullet}{row}"), style)));
            }
        }
    }
    lines.push(Line::raw(""));
    let check = |on: bool| if on { "[x]" } else { "[ ]" };
    let km = &state.keymap;
    let mut opts: Vec<Span<'_>> = Vec::new();
    let opt = |cmd: Command, on: bool, label: &str, opts: &mut Vec<Span<'_>>| {
        if let Some(k) = km.key_for(Layer::Confirm, cmd) {
            opts.push(Span::styled(
                format!("{} {label} ({k})   ", check(on)),
                if on { theme.accent } else { theme.text },
            ));
        }
    };
    opt(
        Command::ToggleDryRun,
        c.effect.dry_run(),
        "server-side dry run",
        &mut opts,
    );
    if let crate::app::effects::Effect::Retag { force, .. } = &c.effect
        && c.overwrites.is_some()
    {
        opt(
            Command::ToggleForce,
            *force,
            "overwrite existing tag",
            &mut opts,
        );
    }
    if let crate::app::effects::Effect::Retag { lock, .. } = &c.effect
        && c.lockable
    {
        opt(
            Command::ToggleLock,
            *lock,
            "lock the tag after promoting",
            &mut opts,
        );
    }
    if let Some(pin) = &c.pin {
        opt(
            Command::TogglePinDigest,
            pin.pinned,
            "pin digest",
            &mut opts,
        );
    }
    lines.push(Line::from(opts));
    if let Some(e) = &c.error {
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(format!("✗ {e}"), theme.error)));
    }
    let wrapped: u16 = lines
        .iter()
        .map(|l| (l.width().max(1).div_ceil(inner.max(1))) as u16)
        .sum();
    let h = wrapped + 2;
    let rect = centered(area, w, h);
    Clear.render(rect, buf);
    let dry = c.effect.dry_run();
    let title = Line::from(vec![
        Span::styled(format!(" {} ", c.title), theme.title_focused),
        Span::styled(
            if dry {
                "· dry run: nothing is written "
            } else {
                "· confirm "
            },
            if dry { theme.accent } else { theme.dim },
        ),
    ]);
    let mut footer = key_hint(
        km,
        Layer::Confirm,
        Command::Confirm,
        if dry { "run dry" } else { "apply" },
        theme,
    );
    footer.extend(key_hint(
        km,
        Layer::Confirm,
        Command::Cancel,
        "cancel",
        theme,
    ));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(
            dialog_block(
                title,
                if dry {
                    theme.dialog_border
                } else {
                    theme.dialog_danger
                },
            )
            .title_bottom(Line::from(footer).right_aligned())
            .padding(ratatui::widgets::Padding::horizontal(1)),
        )
        .render(rect, buf);
}

/// `prefix` then `text` wrapped to `inner` columns, continuation lines indented under the text.
fn hang<'a>(
    lines: &mut Vec<Line<'a>>,
    prefix: Vec<Span<'a>>,
    text: &str,
    style: Style,
    inner: usize,
) {
    let pw: usize = prefix.iter().map(|s| width(&s.content)).sum();
    let mut first = Some(prefix);
    for row in wrap(text, inner.saturating_sub(pw).max(8)) {
        let mut spans = first
            .take()
            .unwrap_or_else(|| vec![Span::raw(" ".repeat(pw))]);
        spans.push(Span::styled(row, style));
        lines.push(Line::from(spans));
    }
}

/// The revision picker: every revision of the workload, newest first, the live one marked,
/// images with the digests their pods run, change-cause; enter opens the undo confirmation.
fn revisions(state: &State, theme: &Theme, area: Rect, buf: &mut Buffer, p: &RevisionPicker) {
    let km = &state.keymap;
    let w = area.width.saturating_sub(6).clamp(40, 120).min(area.width);
    let inner = w.saturating_sub(4) as usize;
    let Some(dep) = state
        .cluster
        .workload(p.kind, &p.workload.namespace, &p.workload.name)
    else {
        return;
    };
    let rows = crate::app::view::revision_rows(&state.cluster, dep);
    let registry = state.registry.registry.as_str();
    let now = state.now;
    let mut lines: Vec<Line<'_>> = vec![Line::from(Span::styled(
        fit(
            &format!("  {:<5} {:<5} {:<44} CHANGE-CAUSE", "REV", "AGE", "IMAGES"),
            inner,
        ),
        theme.header,
    ))];
    for (i, r) in rows.iter().enumerate() {
        let images: Vec<String> = r
            .images
            .iter()
            .map(|(image, digest)| {
                let shown = super::text::short_image(image, registry);
                match digest {
                    Some(d) if !image.contains('@') => {
                        format!("{shown} @{}", super::text::short_digest(d))
                    }
                    _ => shown.to_owned(),
                }
            })
            .collect();
        let rev = r.revision.map_or("?".to_owned(), |v| v.to_string());
        let text = format!(
            "{} {:<5} {:<5} {:<44} {}",
            if r.live { "●" } else { " " },
            rev,
            super::text::age(now, r.created),
            fit(&images.join(", "), 44),
            r.change_cause
                .as_deref()
                .unwrap_or(if r.live { "live" } else { "" }),
        );
        let style = if i == p.selected {
            theme.selected
        } else if r.live {
            theme.ok
        } else {
            theme.text
        };
        lines.push(Line::from(Span::styled(
            format!("{:<inner$}", fit(&text, inner)),
            style,
        )));
    }
    let mut footer = key_hint(km, Layer::Revisions, Command::Confirm, "undo to it", theme);
    footer.extend(key_hint(
        km,
        Layer::Revisions,
        Command::Cancel,
        "close",
        theme,
    ));
    let h = (lines.len() as u16 + 2).min(area.height.saturating_sub(2).max(4));
    let rect = centered(area, w, h);
    Clear.render(rect, buf);
    let title = Line::from(vec![
        Span::styled(" Revisions ", theme.title_focused),
        Span::styled(
            format!(
                "{}{}/{} ",
                match p.kind {
                    crate::cluster::model::WorkloadKind::Deployment => String::new(),
                    k => format!("{} ", k.short()),
                },
                p.workload.namespace,
                p.workload.name
            ),
            theme.accent,
        ),
    ]);
    Paragraph::new(lines)
        .block(
            dialog_block(title, theme.dialog_border)
                .title_bottom(Line::from(footer).right_aligned())
                .padding(ratatui::widgets::Padding::horizontal(1)),
        )
        .render(rect, buf);
}

fn diagnosis(state: &State, theme: &Theme, area: Rect, buf: &mut Buffer, p: &DiagnosisPanel) {
    let w = area.width.saturating_sub(6).clamp(40, 100).min(area.width);
    let inner = w.saturating_sub(4) as usize;
    let km = &state.keymap;
    let mut lines: Vec<Line<'_>> = Vec::new();
    let mut footer: Vec<Span<'_>> = Vec::new();
    let label = |t: &'static str| Span::styled(format!("{t:<10}"), theme.header);
    match &p.view {
        None => {
            lines.push(Line::from(Span::styled(
                fit(
                    &format!(
                        "{} diagnosing {}/{}…",
                        spinner(state),
                        p.pod.namespace,
                        p.pod.name
                    ),
                    inner,
                ),
                theme.progressing,
            )));
            if let Some(t) = state.tasks.get(&p.task) {
                for s in &t.steps {
                    let (m, st) = match s.status {
                        StepStatus::Done => ("✓", theme.ok),
                        StepStatus::Failed => ("✗", theme.error),
                        StepStatus::Running => (spinner(state), theme.progressing),
                        _ => ("·", theme.dim),
                    };
                    hang(
                        &mut lines,
                        vec![
                            Span::styled(format!("  {m} "), st),
                            Span::styled(format!("{}  ", s.step), theme.text),
                        ],
                        &s.detail,
                        theme.dim,
                        inner,
                    );
                }
            }
        }
        Some(Err(e)) => {
            hang(
                &mut lines,
                vec![Span::styled("✗ ", theme.error)],
                &format!("{}: {}", e.what, e.why),
                theme.error,
                inner,
            );
            if !e.hint.is_empty() {
                hang(
                    &mut lines,
                    vec![Span::raw("  ")],
                    &e.hint,
                    theme.text,
                    inner,
                );
            }
        }
        Some(Ok(v)) => {
            hang(
                &mut lines,
                vec![label("cause")],
                &v.cause,
                theme.error,
                inner,
            );
            hang(
                &mut lines,
                vec![label("image")],
                &v.image,
                theme.text,
                inner,
            );
            lines.push(Line::raw(""));
            lines.push(Line::from(label("evidence")));
            for e in &v.evidence {
                hang(
                    &mut lines,
                    vec![
                        Span::styled(
                            if e.ok { "  ✓ " } else { "  ✗ " },
                            if e.ok { theme.ok } else { theme.error },
                        ),
                        Span::styled(format!("{}: ", e.check), theme.dim),
                    ],
                    &e.finding,
                    theme.text,
                    inner,
                );
            }
            lines.push(Line::raw(""));
            match &v.fix {
                Some(f) => {
                    let why = f
                        .effect
                        .mutation()
                        .and_then(|k| state.mutation_allowed(k, f.effect.namespace()).err());
                    let key = km
                        .key_for(Layer::Diagnosis, Command::ApplyFix)
                        .map_or(String::new(), |k| k.to_string());
                    hang(
                        &mut lines,
                        vec![
                            label("fix"),
                            Span::styled(
                                format!(" {key} "),
                                if why.is_some() {
                                    theme.key_disabled
                                } else {
                                    theme.key
                                },
                            ),
                            Span::raw(" "),
                        ],
                        &f.title,
                        theme.new_value,
                        inner,
                    );
                    if let Some(why) = why {
                        hang(
                            &mut lines,
                            vec![Span::raw(" ".repeat(10))],
                            &format!("✗ {why}"),
                            theme.warning,
                            inner,
                        );
                    } else {
                        footer.extend(key_hint(
                            km,
                            Layer::Diagnosis,
                            Command::ApplyFix,
                            "apply fix",
                            theme,
                        ));
                    }
                }
                None => lines.push(Line::from(vec![
                    label("fix"),
                    Span::styled("no automatic fix", theme.dim),
                ])),
            }
            if let Some(a) = &v.advice {
                hang(&mut lines, vec![label("advice")], a, theme.text, inner);
            }
        }
    }
    footer.extend(key_hint(
        km,
        Layer::Diagnosis,
        Command::Cancel,
        "close",
        theme,
    ));
    let h = (lines.len() as u16 + 2)
        .clamp(5, area.height.saturating_sub(2).max(5))
        .min(area.height);
    let rect = centered(area, w, h);
    Clear.render(rect, buf);
    let title = Line::from(vec![
        Span::styled(" Diagnosis ", theme.title_focused),
        Span::styled(
            format!(
                "{} ",
                fit(
                    &format!("{}/{}", p.pod.namespace, p.pod.name),
                    inner.saturating_sub(12)
                )
            ),
            theme.accent,
        ),
    ]);
    Paragraph::new(lines)
        .scroll((p.scroll, 0))
        .block(
            dialog_block(title, theme.dialog_border)
                .title_bottom(Line::from(footer).right_aligned())
                .padding(ratatui::widgets::Padding::horizontal(1)),
        )
        .render(rect, buf);
}
