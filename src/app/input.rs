//! The one-line fields in front of the panes (filter, palette, prompt): they take the keyboard
//! first, edit like every readline (fixed keys, not in the key map), and Enter submits them.

use super::confirm::retag;
use super::effects::Task;
use super::keymap::{Key, KeyCodeOrd};
use super::palette;
use super::panes;
use super::refcheck::parse_target;
use super::state::{Dialog, PromptKind, State};

/// Editing keys of a one-line field; fixed (not in the key map) like every readline.
pub(crate) fn on_text_key(state: &mut State, key: Key, fx: &mut Vec<Task>) {
    if matches!(
        key.code,
        KeyCodeOrd::Up | KeyCodeOrd::Down | KeyCodeOrd::Tab | KeyCodeOrd::BackTab
    ) {
        palette::pick(state, key.code);
        return;
    }
    let Some(top) = state.dialogs.last_mut() else {
        return;
    };
    let input = match top {
        Dialog::Filter { input, .. } | Dialog::Palette { input, .. } => input,
        Dialog::Prompt(p) => &mut p.input,
        _ => return,
    };
    let mut edited = true;
    match (key.code, key.ctrl) {
        (KeyCodeOrd::Esc, _) => {
            if let Some(Dialog::Filter { target, .. }) = state.dialogs.pop() {
                // Esc in a filter drops it: the list shows everything again.
                panes::set_filter(state, target, String::new());
            }
            return;
        }
        (KeyCodeOrd::Enter, _) => {
            submit(state, fx);
            return;
        }
        (KeyCodeOrd::Char('u'), true) => input.clear(),
        (KeyCodeOrd::Char('c'), true) => {
            state.dialogs.pop();
            return;
        }
        (KeyCodeOrd::Char(c), false) => input.insert(c),
        (KeyCodeOrd::Backspace, _) => input.backspace(),
        (KeyCodeOrd::Delete, _) => input.delete(),
        (KeyCodeOrd::Left, _) => {
            input.left();
            edited = false;
        }
        (KeyCodeOrd::Right, _) => {
            input.right();
            edited = false;
        }
        (KeyCodeOrd::Home, _) => {
            input.cursor = 0;
            edited = false;
        }
        (KeyCodeOrd::End, _) => {
            input.cursor = input.text.chars().count();
            edited = false;
        }
        _ => {
            state.dirty = false;
            return;
        }
    }
    if edited {
        match state.dialogs.last_mut() {
            Some(Dialog::Filter { target, input }) => {
                let (t, text) = (*target, input.text.clone());
                panes::set_filter(state, t, text);
            }
            Some(Dialog::Palette { selected, .. }) => *selected = 0,
            Some(Dialog::Prompt(p)) => p.error = None,
            _ => {}
        }
    }
}

/// Enter in a field: the filter is kept, the palette runs, a prompt is checked and acted on.
fn submit(state: &mut State, fx: &mut Vec<Task>) {
    match state.dialogs.pop() {
        Some(Dialog::Filter { .. }) => {} // the filter is already applied; Enter keeps it
        Some(Dialog::Palette { input, selected }) => palette::submit(state, &input, selected, fx),
        Some(Dialog::Prompt(mut p)) => match &p.kind {
            PromptKind::RetagTarget { src, digest } => match parse_target(&p.input.text, src) {
                Ok(dst) => {
                    let confirm = retag::confirmation(state, src.clone(), digest.clone(), dst);
                    state.dialogs.push(Dialog::Confirm(Box::new(confirm)));
                }
                Err(e) => {
                    p.error = Some(e);
                    state.dialogs.push(Dialog::Prompt(p));
                }
            },
        },
        Some(other) => state.dialogs.push(other),
        None => {}
    }
}
