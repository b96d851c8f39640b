//! Shared helpers of the UI tests: drive `update` with keys as a person would, render a State
//! into a TestBackend.
#![allow(dead_code, unused_imports)]

use berth::app::action::Action;
use berth::app::effects::Task;
use berth::app::{State, update};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

pub use berth::app::fixtures::{REGISTRY, demo_state, now};

/// A key by its key-map name: `j`, `G`, `enter`, `esc`, `tab`, `ctrl-u`, `down`...
pub fn key_event(name: &str) -> KeyEvent {
    let k = berth::app::keymap::Key::parse(name).expect("test key name");
    use berth::app::keymap::KeyCodeOrd as K;
    let code = match k.code {
        K::Char(c) => KeyCode::Char(c),
        K::F(n) => KeyCode::F(n),
        K::Enter => KeyCode::Enter,
        K::Esc => KeyCode::Esc,
        K::Tab => KeyCode::Tab,
        K::BackTab => KeyCode::BackTab,
        K::Backspace => KeyCode::Backspace,
        K::Delete => KeyCode::Delete,
        K::Up => KeyCode::Up,
        K::Down => KeyCode::Down,
        K::Left => KeyCode::Left,
        K::Right => KeyCode::Right,
        K::PageUp => KeyCode::PageUp,
        K::PageDown => KeyCode::PageDown,
        K::Home => KeyCode::Home,
        K::End => KeyCode::End,
    };
    let mut mods = KeyModifiers::empty();
    if k.ctrl {
        mods |= KeyModifiers::CONTROL;
    }
    if k.alt {
        mods |= KeyModifiers::ALT;
    }
    if matches!(code, KeyCode::Char(c) if c.is_ascii_uppercase()) {
        mods |= KeyModifiers::SHIFT;
    }
    KeyEvent::new(code, mods)
}

/// Press keys, space-separated names (`"j j enter"`); returns every task produced.
pub fn press(state: &mut State, keys: &str) -> Vec<Task> {
    let mut tasks = Vec::new();
    for k in keys.split_whitespace() {
        tasks.extend(update(state, Action::Key(key_event(k))));
    }
    tasks
}

/// Type text into the field in front, character by character.
pub fn type_text(state: &mut State, text: &str) -> Vec<Task> {
    let mut tasks = Vec::new();
    for c in text.chars() {
        tasks.extend(update(state, Action::Key(KeyEvent::from(KeyCode::Char(c)))));
    }
    tasks
}

pub fn render_buffer(state: &State) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(state.width, state.height)).expect("test terminal");
    t.draw(|f| berth::ui::draw(f, state)).expect("draw");
    t.backend().buffer().clone()
}

/// The screen as text (what a person reads), one line per row.
pub fn render(state: &State) -> String {
    let mut t = Terminal::new(TestBackend::new(state.width, state.height)).expect("test terminal");
    t.draw(|f| berth::ui::draw(f, state)).expect("draw");
    t.backend().to_string()
}

/// Row `y` of a buffer as plain text.
pub fn row_text(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol().to_owned())
        .collect()
}

/// Where `needle` first appears on screen (x, y).
pub fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    for y in 0..buf.area.height {
        let line = row_text(buf, y);
        if let Some(byte) = line.find(needle) {
            let x = line[..byte].chars().count() as u16;
            return Some((x, y));
        }
    }
    None
}

/// Move the deployment cursor onto `name` (via the filter-free list, like pressing j/k).
pub fn select_deployment(state: &mut State, name: &str) {
    state.focus = berth::app::state::Focus::Deployments;
    press(state, "g");
    for _ in 0..50 {
        if berth::app::view::selected_deployment(state).is_some_and(|d| d.name == name) {
            return;
        }
        press(state, "j");
    }
    panic!("deployment {name} not in the list");
}

/// Move the tag cursor onto `name` of the selected repository.
pub fn select_tag(state: &mut State, name: &str) {
    state.focus = berth::app::state::Focus::Tags;
    press(state, "g");
    for _ in 0..100 {
        if berth::app::view::selected_tag(state).is_some_and(|t| t.name == name) {
            return;
        }
        press(state, "j");
    }
    panic!("tag {name} not in the list");
}
