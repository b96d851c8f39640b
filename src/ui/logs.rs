//! The logs view: the whole screen, newest line at the bottom while following; the title says
//! what is shown and whether the view follows, the bottom border the search or the keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget};

use super::text::fit;
use crate::app::keymap::{Command, Layer};
use crate::app::logs::{LogsView, find_all, render_line, wrap};
use crate::app::state::{State, TextInput};
use crate::theme::Theme;

pub fn draw(state: &State, theme: &Theme, area: Rect, buf: &mut Buffer, v: &LogsView) {
    Clear.render(area, buf);
    let counts = counts(v, theme);
    let room = (area.width as usize).saturating_sub(counts.width() + 3);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.dialog_border)
        .title_top(title(v, theme, room))
        .title_top(counts.right_aligned())
        .title_bottom(footer(
            state,
            v,
            theme,
            (area.width as usize).saturating_sub(2),
        ));
    let inner = block.inner(area);
    block.render(area, buf);
    let rows = body(v, theme, inner.width as usize, inner.height as usize);
    Paragraph::new(rows).render(inner, buf);
}

/// Spans cut to `room` columns in all (the last one that does not fit is shortened).
pub(super) fn fitted<'a>(spans: Vec<Span<'a>>, room: usize) -> Line<'a> {
    let mut out = Vec::new();
    let mut used = 0;
    for sp in spans {
        let w = sp.width();
        if used + w <= room {
            used += w;
            out.push(sp);
        } else {
            let rest = room.saturating_sub(used);
            if rest > 1 {
                out.push(Span::styled(fit(&sp.content, rest), sp.style));
            }
            break;
        }
    }
    Line::from(out)
}

fn title<'a>(v: &LogsView, theme: &Theme, room: usize) -> Line<'a> {
    let container = match &v.container {
        Some(c) => c.clone(),
        None if v.containers.len() == 1 => v.containers[0].clone(),
        None => "all containers".to_owned(),
    };
    let mode = if v.previous {
        Span::styled("previous ", theme.paused)
    } else if v.following() {
        Span::styled("following ", theme.ok)
    } else {
        Span::styled(format!("paused, {} new (G) ", v.below()), theme.paused)
    };
    fitted(
        vec![
            Span::styled(" Logs ", theme.title_focused),
            Span::styled(format!("{} ", v.target.label()), theme.accent),
            mode,
            Span::styled(format!("· {container} · {} ", v.range.label()), theme.text),
        ],
        room,
    )
}

fn counts<'a>(v: &LogsView, theme: &Theme) -> Line<'a> {
    let live = v.open.len().saturating_sub(v.ended);
    let mut spans = vec![Span::styled(
        format!(
            " {live} stream{} · {} lines ",
            if live == 1 { "" } else { "s" },
            v.ring.len()
        ),
        theme.dim,
    )];
    if v.dropped > 0 {
        spans.push(Span::styled(
            format!("… {} lines dropped ", v.dropped),
            theme.warning,
        ));
    }
    Line::from(spans)
}

fn footer<'a>(state: &State, v: &LogsView, theme: &Theme, room: usize) -> Line<'a> {
    let hints = [
        (Command::Cancel, "close"),
        (Command::Search, "search"),
        (Command::SearchNext, "next"),
        (
            Command::ToggleTimestamps,
            if v.timestamps { "no time" } else { "time" },
        ),
        (Command::ToggleWrap, if v.wrap { "cut" } else { "wrap" }),
        (
            Command::TogglePrevious,
            if v.previous { "current" } else { "previous" },
        ),
        (Command::NextContainer, "container"),
        (Command::LogRange, "range"),
    ];
    view_footer(
        state,
        Layer::Logs,
        v.search_input.as_ref(),
        v.note.as_deref(),
        &hints,
        theme,
        room,
    )
}

/// The bottom border of a full-screen view: the search being typed, or the last key's note
/// and the keys (in order of use; those that do not fit are left out, `?` lists every key).
pub(super) fn view_footer<'a>(
    state: &State,
    layer: Layer,
    search_input: Option<&TextInput>,
    note: Option<&str>,
    hints: &[(Command, &str)],
    theme: &Theme,
    room: usize,
) -> Line<'a> {
    if let Some(input) = search_input {
        return fitted(
            vec![
                Span::styled(" /", theme.accent),
                Span::styled(format!("{}▏", input.text), theme.input),
                Span::styled("  enter search · esc cancel ", theme.dim),
            ],
            room,
        );
    }
    let mut spans = Vec::new();
    let mut used = 0;
    if let Some(n) = note {
        let t = fit(&format!(" {n} "), room);
        used += super::text::width(&t);
        spans.push(Span::styled(t, theme.warning));
    }
    for (cmd, label) in hints {
        if let Some(k) = state.keymap.key_for(layer, *cmd) {
            let key = format!(" {k} ");
            let label = format!(" {label} ");
            let w = super::text::width(&key) + super::text::width(&label);
            if used + w > room {
                continue;
            }
            used += w;
            spans.push(Span::styled(key, theme.key));
            spans.push(Span::styled(label, theme.text));
        }
    }
    Line::from(spans).right_aligned()
}

/// The visible rows, bottom line last; wrapped lines take several rows.
fn body<'a>(v: &LogsView, theme: &Theme, width: usize, height: usize) -> Vec<Line<'a>> {
    let mut out: Vec<Line<'a>> = Vec::with_capacity(height);
    let Some(bottom) = v.bottom() else {
        let text = if v.open.is_empty() && !v.previous {
            "waiting for a container to start…"
        } else {
            "no lines yet"
        };
        return vec![Line::from(Span::styled(text, theme.dim))];
    };
    let prefixed = v.prefixed();
    let mut seq = bottom;
    while out.len() < height {
        let Some(line) = v.ring.get(seq) else {
            break;
        };
        let text = render_line(line, prefixed, v.timestamps);
        let prefix_len = if prefixed && !line.source.is_empty() {
            line.source.len()
        } else {
            0
        };
        let base = if line.note { theme.warning } else { theme.text };
        let hit_style = if v.hit == Some(seq) {
            theme.alarm
        } else {
            theme.selected
        };
        let hits = find_all(&text, &v.search);
        let segments = wrap(&text, width);
        let segments = if v.wrap {
            &segments[..]
        } else {
            &segments[..1]
        };
        let mut at = text.len();
        let mut rows: Vec<Line<'a>> = Vec::new();
        for seg in segments.iter().rev() {
            let start = at - seg.len();
            // Segments are consecutive slices of `text`, found from its end.
            let start = if text[start..].starts_with(seg) {
                start
            } else {
                text.find(seg).unwrap_or(0)
            };
            rows.push(styled(
                &text,
                start,
                start + seg.len(),
                prefix_len,
                &hits,
                base,
                theme.accent,
                hit_style,
            ));
            at = start;
        }
        if !v.wrap {
            rows.clear();
            let seg = segments[0];
            rows.push(styled(
                &text,
                0,
                seg.len(),
                prefix_len,
                &hits,
                base,
                theme.accent,
                hit_style,
            ));
        }
        for r in rows {
            if out.len() < height {
                out.push(r);
            }
        }
        if seq == v.ring.first_seq() {
            break;
        }
        seq -= 1;
    }
    out.reverse();
    out
}

/// `text[a..b]` as spans: the prefix in `prefix_style`, search hits in `hit`, the rest `base`.
#[allow(clippy::too_many_arguments)]
pub(super) fn styled<'a>(
    text: &str,
    a: usize,
    b: usize,
    prefix_len: usize,
    hits: &[(usize, usize)],
    base: Style,
    prefix_style: Style,
    hit: Style,
) -> Line<'a> {
    // Cut points: every boundary of the prefix and of the hits inside [a, b).
    let mut cuts = vec![a, b];
    for &(s, e) in hits {
        cuts.extend([s.clamp(a, b), e.clamp(a, b)]);
    }
    cuts.push(prefix_len.clamp(a, b));
    cuts.sort_unstable();
    cuts.dedup();
    let mut spans = Vec::new();
    for w in cuts.windows(2) {
        let (s, e) = (w[0], w[1]);
        if s == e || !text.is_char_boundary(s) || !text.is_char_boundary(e) {
            continue;
        }
        let style = if hits.iter().any(|&(hs, he)| hs <= s && e <= he) {
            hit.add_modifier(Modifier::BOLD)
        } else if e <= prefix_len {
            prefix_style
        } else {
            base
        };
        spans.push(Span::styled(text[s..e].to_owned(), style));
    }
    Line::from(spans)
}
