//! The logs view: the whole screen, newest line at the bottom while following; the title says
//! what is shown and whether the view follows, the bottom border the search or the keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget};

use super::theme::Theme;
use crate::app::keymap::{Command, Layer};
use crate::app::logs::{LogsView, find_all, render_line, wrap};
use crate::app::state::State;

pub fn draw(state: &State, theme: &Theme, area: Rect, buf: &mut Buffer, v: &LogsView) {
    Clear.render(area, buf);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.dialog_border)
        .title_top(title(v, theme))
        .title_top(counts(v, theme).right_aligned())
        .title_bottom(footer(state, v, theme));
    let inner = block.inner(area);
    block.render(area, buf);
    let rows = body(v, theme, inner.width as usize, inner.height as usize);
    Paragraph::new(rows).render(inner, buf);
}

fn title<'a>(v: &LogsView, theme: &Theme) -> Line<'a> {
    let container = match &v.container {
        Some(c) => format!("container {c}"),
        None if v.containers.len() == 1 => format!("container {}", v.containers[0]),
        None => "all containers".to_owned(),
    };
    let mut what = format!(" · {container} · {}", v.range.label());
    if v.previous {
        what.push_str(" · previous");
    }
    let mode = if v.previous {
        Span::styled(" complete ", theme.dim)
    } else if v.following() {
        Span::styled(" following ", theme.ok)
    } else {
        Span::styled(
            format!(" paused · {} new below ({}) ", v.below(), end_key(v)),
            theme.paused,
        )
    };
    Line::from(vec![
        Span::styled(" Logs ", theme.title_focused),
        Span::styled(v.target.label(), theme.accent),
        Span::styled(what, theme.text),
        Span::raw(" "),
        mode,
    ])
}

fn end_key(_v: &LogsView) -> &'static str {
    "G follows"
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

fn footer<'a>(state: &State, v: &LogsView, theme: &Theme) -> Line<'a> {
    if let Some(input) = &v.search_input {
        return Line::from(vec![
            Span::styled(" /", theme.accent),
            Span::styled(format!("{}▏", input.text), theme.input),
            Span::styled("  enter search · esc cancel ", theme.dim),
        ]);
    }
    let mut spans = Vec::new();
    if let Some(n) = &v.note {
        spans.push(Span::styled(format!(" {n} "), theme.warning));
    }
    let km = &state.keymap;
    for (cmd, label) in [
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
        (Command::Cancel, "close"),
    ] {
        if let Some(k) = km.key_for(Layer::Logs, cmd) {
            spans.push(Span::styled(format!(" {k} "), theme.key));
            spans.push(Span::styled(format!(" {label} "), theme.text));
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
fn styled<'a>(
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
