//! Colours and styles in one place, so panes never hard-code a colour. Named ANSI colours only:
//! they follow the user's terminal palette (light or dark) instead of fighting it.

use ratatui::style::{Color, Modifier, Style};

use crate::app::action::Level;

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
    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::Info => self.text,
            Level::Success => self.ok,
            Level::Warning => self.warning,
            Level::Error => self.error,
        }
    }
}
