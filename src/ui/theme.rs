//! Colours and styles in one place, so panes never hard-code a colour. Named ANSI colours only:
//! they follow the user's terminal palette instead of fighting it. Three built in: `dark` (the
//! default), `light` (no yellow or gray text, which a light background washes out) and `mono`
//! (attributes only), which `NO_COLOR` selects.

use ratatui::style::{Color, Modifier, Style};

use crate::app::action::Level;
use crate::config::ThemeName;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    pub border: Style,
    pub border_focused: Style,
    pub title: Style,
    pub title_focused: Style,
    pub header: Style,
    pub text: Style,
    pub dim: Style,
    pub accent: Style,
    pub selected: Style,
    pub selected_unfocused: Style,
    pub ok: Style,
    pub progressing: Style,
    pub warning: Style,
    pub error: Style,
    /// Failures that must be seen (ImagePullBackOff, CrashLoopBackOff): reversed red, bold.
    pub alarm: Style,
    pub paused: Style,
    pub running_mark: Style,
    pub own_action: Style,
    pub key: Style,
    pub key_disabled: Style,
    pub status_bar: Style,
    pub status_live: Style,
    pub status_bad: Style,
    pub read_only: Style,
    pub dialog_border: Style,
    pub dialog_danger: Style,
    pub old_value: Style,
    pub new_value: Style,
    pub input: Style,
}

impl Default for Theme {
    fn default() -> Self {
        let bold = Modifier::BOLD;
        Self {
            border: Style::new().fg(Color::DarkGray),
            border_focused: Style::new().fg(Color::Cyan),
            title: Style::new().fg(Color::Gray),
            title_focused: Style::new().fg(Color::Cyan).add_modifier(bold),
            header: Style::new().fg(Color::DarkGray).add_modifier(bold),
            text: Style::new(),
            dim: Style::new().fg(Color::DarkGray),
            accent: Style::new().fg(Color::Cyan),
            selected: Style::new()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(bold),
            selected_unfocused: Style::new().add_modifier(Modifier::REVERSED),
            ok: Style::new().fg(Color::Green),
            progressing: Style::new().fg(Color::Yellow),
            warning: Style::new().fg(Color::Yellow).add_modifier(bold),
            error: Style::new().fg(Color::Red).add_modifier(bold),
            alarm: Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(bold),
            paused: Style::new().fg(Color::Magenta),
            running_mark: Style::new().fg(Color::Green).add_modifier(bold),
            own_action: Style::new().fg(Color::Cyan),
            key: Style::new().fg(Color::Black).bg(Color::Cyan),
            key_disabled: Style::new()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::CROSSED_OUT),
            status_bar: Style::new().bg(Color::Black).fg(Color::Gray),
            status_live: Style::new().fg(Color::Green).add_modifier(bold),
            status_bad: Style::new().fg(Color::Yellow).add_modifier(bold),
            read_only: Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(bold),
            dialog_border: Style::new().fg(Color::Cyan),
            dialog_danger: Style::new().fg(Color::Yellow),
            old_value: Style::new().fg(Color::Red),
            new_value: Style::new().fg(Color::Green).add_modifier(bold),
            input: Style::new()
                .fg(Color::White)
                .add_modifier(Modifier::UNDERLINED),
        }
    }
}

impl Theme {
    pub fn named(name: ThemeName) -> Self {
        match name {
            ThemeName::Dark => Self::default(),
            ThemeName::Light => Self::light(),
            ThemeName::Mono => Self::mono(),
        }
    }

    /// For light backgrounds: yellow and gray text are nearly invisible on white, so what
    /// the dark theme draws in them is blue, magenta or the terminal's own foreground.
    pub fn light() -> Self {
        let bold = Modifier::BOLD;
        Self {
            border: Style::new().fg(Color::DarkGray),
            border_focused: Style::new().fg(Color::Blue),
            title: Style::new(),
            title_focused: Style::new().fg(Color::Blue).add_modifier(bold),
            header: Style::new().add_modifier(bold),
            accent: Style::new().fg(Color::Blue),
            progressing: Style::new().fg(Color::Blue),
            warning: Style::new().fg(Color::Magenta).add_modifier(bold),
            own_action: Style::new().fg(Color::Blue),
            key: Style::new().fg(Color::White).bg(Color::Blue),
            status_bar: Style::new().bg(Color::Gray).fg(Color::Black),
            status_bad: Style::new().fg(Color::Magenta).add_modifier(bold),
            read_only: Style::new()
                .fg(Color::White)
                .bg(Color::Magenta)
                .add_modifier(bold),
            dialog_border: Style::new().fg(Color::Blue),
            dialog_danger: Style::new().fg(Color::Magenta),
            input: Style::new().add_modifier(Modifier::UNDERLINED),
            ..Self::default()
        }
    }

    /// No colour at all (`NO_COLOR`, or terminals without it): the selection, alarms and
    /// keys are marked by reverse, bold and underline, which every terminal has. Not one
    /// style sets a colour, so the backend never sends a colour sequence; with `NO_COLOR`
    /// crossterm writes such a sequence as a bare `ESC [ m`, which resets the attributes too
    /// (that is how the selection used to vanish).
    pub fn mono() -> Self {
        let s = Style::new();
        let bold = Modifier::BOLD;
        let rev = Modifier::REVERSED;
        let under = Modifier::UNDERLINED;
        Self {
            border: s,
            border_focused: s.add_modifier(bold),
            title: s,
            title_focused: s.add_modifier(bold | under),
            header: s.add_modifier(bold),
            text: s,
            dim: s.add_modifier(Modifier::DIM),
            accent: s.add_modifier(bold),
            selected: s.add_modifier(rev | bold),
            selected_unfocused: s.add_modifier(under),
            ok: s,
            progressing: s.add_modifier(Modifier::ITALIC),
            warning: s.add_modifier(bold),
            error: s.add_modifier(bold | under),
            alarm: s.add_modifier(rev | bold | under),
            paused: s.add_modifier(Modifier::ITALIC),
            running_mark: s.add_modifier(bold),
            own_action: s.add_modifier(bold),
            key: s.add_modifier(rev),
            key_disabled: s.add_modifier(Modifier::DIM | Modifier::CROSSED_OUT),
            status_bar: s,
            status_live: s.add_modifier(bold),
            status_bad: s.add_modifier(rev | bold),
            read_only: s.add_modifier(rev | bold),
            dialog_border: s.add_modifier(bold),
            dialog_danger: s.add_modifier(bold | under),
            old_value: s.add_modifier(Modifier::CROSSED_OUT),
            new_value: s.add_modifier(bold),
            input: s.add_modifier(under),
        }
    }

    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::Info => self.text,
            Level::Success => self.ok,
            Level::Warning => self.warning,
            Level::Error => self.error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn styles(t: &Theme) -> Vec<Style> {
        vec![
            t.border,
            t.border_focused,
            t.title,
            t.title_focused,
            t.header,
            t.text,
            t.dim,
            t.accent,
            t.selected,
            t.selected_unfocused,
            t.ok,
            t.progressing,
            t.warning,
            t.error,
            t.alarm,
            t.paused,
            t.running_mark,
            t.own_action,
            t.key,
            t.key_disabled,
            t.status_bar,
            t.status_live,
            t.status_bad,
            t.read_only,
            t.dialog_border,
            t.dialog_danger,
            t.old_value,
            t.new_value,
            t.input,
        ]
    }

    #[test]
    fn mono_sets_no_colour_and_marks_what_must_be_seen() {
        let t = Theme::mono();
        for s in styles(&t) {
            assert_eq!((s.fg, s.bg, s.underline_color), (None, None, None), "{s:?}");
        }
        for must in [t.selected, t.alarm, t.key, t.read_only] {
            assert!(must.add_modifier.contains(Modifier::REVERSED), "{must:?}");
        }
        // The alarm stands out also inside a selected row.
        assert_ne!(t.alarm.add_modifier, t.selected.add_modifier);
    }

    #[test]
    fn light_has_no_yellow_or_gray_text() {
        for s in styles(&Theme::light()) {
            assert!(
                !matches!(s.fg, Some(Color::Yellow | Color::Gray)) || s.bg.is_some(),
                "{s:?}"
            );
        }
    }
}
