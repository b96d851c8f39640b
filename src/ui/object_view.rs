//! The object view: the whole screen, an object's YAML (keys marked) or its events table; the
//! title says which object, which tab and how current it is, the bottom border the search or
//! the keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget};

use super::logs::{fitted, styled, view_footer};
use crate::app::keymap::{Command, Layer};
use crate::app::object_view::{Doc, ObjectTab, ObjectView, lines};
use crate::app::search::{find_all, wrap};
use crate::app::state::State;
use crate::theme::Theme;

pub fn draw(state: &State, theme: &Theme, area: Rect, buf: &mut Buffer, v: &ObjectView) {
    Clear.render(area, buf);
    let all = lines(state, v);
    let position = Line::from(Span::styled(
        format!(
            " {}-{} of {} ",
            (v.top + 1).min(all.len()),
            (v.top + v.page.max(1)).min(all.len()),
            all.len()
        ),
        theme.dim,
    ));
    let room = (area.width as usize).saturating_sub(position.width() + 3);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.dialog_border)
        .title_top(title(v, theme, room))
        .title_top(position.right_aligned())
        .title_bottom(footer(
            state,
            v,
            theme,
            (area.width as usize).saturating_sub(2),
        ));
    let inner = block.inner(area);
    block.render(area, buf);
    let rows = body(v, &all, theme, inner.width as usize, inner.height as usize);
    Paragraph::new(rows).render(inner, buf);
}

fn title<'a>(v: &ObjectView, theme: &Theme, room: usize) -> Line<'a> {
    let tab = |t: ObjectTab, label: &'static str| {
        if v.tab == t {
            Span::styled(format!("[{label}]"), theme.title_focused)
        } else {
            Span::styled(format!(" {label} "), theme.dim)
        }
    };
    let ns = if v.target.namespace.is_empty() {
        String::new()
    } else {
        format!("· {} ", v.target.namespace)
    };
    let state = if v.deleted {
        Span::styled("deleted ", theme.alarm)
    } else if v.fetching.is_some() && matches!(v.doc, Doc::Loaded(_)) {
        Span::styled("reading… ", theme.paused)
    } else if v.tab == ObjectTab::Yaml && v.managed_fields {
        Span::styled("with managedFields ", theme.paused)
    } else {
        Span::raw("")
    };
    fitted(
        vec![
            Span::raw(" "),
            tab(ObjectTab::Yaml, "yaml"),
            tab(ObjectTab::Events, "events"),
            Span::raw(" "),
            Span::styled(format!("{} ", v.target.label()), theme.accent),
            Span::styled(ns, theme.text),
            state,
        ],
        room,
    )
}

fn footer<'a>(state: &State, v: &ObjectView, theme: &Theme, room: usize) -> Line<'a> {
    let other_tab = match v.tab {
        ObjectTab::Yaml => (Command::Events, "events"),
        ObjectTab::Events => (Command::Yaml, "yaml"),
    };
    let hints = [
        (Command::Cancel, "close"),
        other_tab,
        (Command::Search, "search"),
        (Command::SearchNext, "next"),
        (
            Command::ToggleManagedFields,
            if v.managed_fields {
                "hide managedFields"
            } else {
                "managedFields"
            },
        ),
        (Command::ToggleWrap, if v.wrap { "cut" } else { "wrap" }),
    ];
    view_footer(
        state,
        Layer::Object,
        v.search_input.as_ref(),
        v.note.as_deref(),
        &hints,
        theme,
        room,
    )
}

/// How long the marked part of a line is: a YAML key (up to its colon), or the events table's
/// header; 0 for the rest.
fn key_len(v: &ObjectView, index: usize, line: &str) -> usize {
    match v.tab {
        ObjectTab::Events => {
            if index < 2 {
                line.len()
            } else {
                0
            }
        }
        ObjectTab::Yaml => {
            let body = line.trim_start().trim_start_matches("- ");
            let indent = line.len() - body.len();
            if body.starts_with('#') || body.starts_with(['\'', '"']) {
                return 0;
            }
            match body
                .find(": ")
                .or_else(|| body.strip_suffix(':').map(str::len))
            {
                Some(colon) if !body[..colon].contains(' ') => indent + colon + 1,
                _ => 0,
            }
        }
    }
}

fn line_style(v: &ObjectView, theme: &Theme, index: usize, line: &str) -> Style {
    match (&v.doc, v.tab) {
        (Doc::Failed(_), ObjectTab::Yaml) if index == 0 => theme.error,
        (Doc::Loading, _) => theme.dim,
        (_, ObjectTab::Events) if index >= 2 && line.starts_with("Warning") => theme.warning,
        _ => theme.text,
    }
}

fn body<'a>(
    v: &ObjectView,
    all: &[String],
    theme: &Theme,
    width: usize,
    height: usize,
) -> Vec<Line<'a>> {
    let mut out: Vec<Line<'a>> = Vec::with_capacity(height);
    for (i, text) in all.iter().enumerate().skip(v.top) {
        if out.len() >= height {
            break;
        }
        let hits = find_all(text, &v.search);
        let hit_style = if v.hit == Some(i) {
            theme.alarm
        } else {
            theme.selected
        };
        let mark = key_len(v, i, text);
        let mark_style = if v.tab == ObjectTab::Events {
            theme.header
        } else {
            theme.accent
        };
        let base = line_style(v, theme, i, text);
        let segments = wrap(text, width);
        let segments = if v.wrap {
            &segments[..]
        } else {
            &segments[..1]
        };
        let mut at = 0;
        for seg in segments {
            if out.len() >= height {
                break;
            }
            out.push(styled(
                text,
                at,
                at + seg.len(),
                mark,
                &hits,
                base,
                mark_style,
                hit_style,
            ));
            at += seg.len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::manifest::{KindInfo, ObjectTarget};

    fn yaml_view() -> ObjectView {
        let target = ObjectTarget::parse("pod/web-1", "shop").unwrap();
        ObjectView::new(target, String::new(), ObjectTab::Yaml, 20)
    }

    #[test]
    fn yaml_keys_are_marked_up_to_their_colon() {
        let v = yaml_view();
        assert_eq!(key_len(&v, 5, "apiVersion: v1"), "apiVersion:".len());
        assert_eq!(key_len(&v, 5, "  labels:"), "  labels:".len());
        assert_eq!(key_len(&v, 5, "  - name: web"), "  - name:".len());
        assert_eq!(key_len(&v, 5, "  - -c"), 0);
        assert_eq!(key_len(&v, 5, "    echo a: b c"), 0);
        assert_eq!(key_len(&v, 5, "# comment: x"), 0);
        assert!(KindInfo::find("pod").is_some());
    }
}
