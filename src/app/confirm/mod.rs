//! The confirmation dialog: exactly what a mutation changes (old → new) and the effect that runs
//! on confirm. Its builders live by what they change (`retag`, `workload`, `secret`; a diagnosis
//! fix in `app/diagnosis.rs`); here are the dialog's own keys.

pub mod retag;
pub mod secret;
pub mod workload;

use super::effects::{Effect, Task};
use super::keymap::Command;
use super::state::{Confirm, Dialog, State};
use super::tasks::{spawn, subject_of};

pub const HINTS: &[Command] = &[
    Command::Confirm,
    Command::ToggleDryRun,
    Command::ToggleForce,
    Command::TogglePinDigest,
    Command::ToggleLock,
    Command::Cancel,
];

/// Whether a toggle of the confirmation in front applies to its change (only those are offered).
pub fn offers(confirm: &Confirm, cmd: Command) -> bool {
    match cmd {
        Command::ToggleForce => confirm.overwrites.is_some(),
        Command::TogglePinDigest => confirm.pin.is_some(),
        Command::ToggleLock => confirm.lockable,
        _ => true,
    }
}

/// The confirmation in front of everything, waiting for confirm or cancel.
pub(crate) fn push(state: &mut State, confirm: Confirm) {
    state.dialogs.push(Dialog::Confirm(Box::new(confirm)));
}

/// The registry browsed, as images name it (`host`).
pub(crate) fn registry_host(state: &State) -> String {
    state.registry.registry.clone()
}

/// The confirmation's keys: its toggles, cancel, and confirm (checked against the policy once
/// more: permissions can have arrived while it was open).
pub(crate) fn on_command(state: &mut State, cmd: Command, fx: &mut Vec<Task>) {
    // Permissions can have arrived while the dialog was open: check again at the last moment.
    let refused = match state.dialogs.last() {
        Some(Dialog::Confirm(c)) => c
            .effect
            .mutation()
            .and_then(|kind| state.mutation_allowed(kind, c.effect.namespace()).err()),
        _ => return,
    };
    let Some(Dialog::Confirm(c)) = state.dialogs.last_mut() else {
        return;
    };
    match cmd {
        Command::Cancel => {
            state.dialogs.pop();
        }
        Command::ToggleDryRun => {
            let v = !c.effect.dry_run();
            c.effect.set_dry_run(v);
        }
        Command::ToggleForce => match &mut c.effect {
            Effect::Retag { force, .. } => {
                *force = !*force;
                c.error = None;
            }
            _ => state.dirty = false,
        },
        Command::ToggleLock => match &mut c.effect {
            Effect::Retag { lock, .. } if c.lockable => *lock = !*lock,
            _ => state.dirty = false,
        },
        Command::TogglePinDigest => match (&mut c.pin, &mut c.effect) {
            (Some(pin), Effect::SetImage { image, .. }) => {
                pin.pinned = !pin.pinned;
                *image = if pin.pinned {
                    pin.by_digest.clone()
                } else {
                    pin.by_tag.clone()
                };
                if let Some(ch) = c.changes.get_mut(pin.change_index) {
                    ch.new = image.clone();
                }
            }
            _ => state.dirty = false,
        },
        Command::Confirm => {
            let effect = c.effect.clone();
            if let Some(why) = &c.blocked {
                c.error = Some(format!("refused: {why}"));
                return;
            }
            if c.overwrites.is_some()
                && matches!(effect, Effect::Retag { force: false, .. })
                && !effect.dry_run()
            {
                c.error = Some(
                    "the target tag exists: press f to allow moving it, or esc to cancel".into(),
                );
                return;
            }
            if let Some(why) = refused {
                c.error = Some(format!("refused: {why}"));
                return;
            }
            state.dialogs.pop();
            let subject = subject_of(&effect);
            let task = spawn(state, effect, subject);
            // A fix applied from a diagnosis closes the diagnosis too: its result shows as a
            // notice and in the timeline.
            if matches!(state.dialogs.last(), Some(Dialog::Diagnosis(_))) {
                state.dialogs.pop();
            }
            fx.push(task);
        }
        _ => state.dirty = false,
    }
}
