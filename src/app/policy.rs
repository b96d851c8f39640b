//! Whether a command may run now: read-only, RBAC as the runner learnt it, an apiserver that does
//! not answer. The key hints and the help strike refused commands through with the same answer.

use super::action::Notice;
use super::effects::MutationKind;
use super::keymap::Command;
use super::notices::notify;
use super::state::State;

/// Whether `cmd` may run now; the reason when not (read-only, RBAC). Used by the key hints too.
pub fn refusal(state: &State, cmd: Command) -> Option<String> {
    let kind = cmd.mutation()?;
    let ns = match kind {
        MutationKind::Retag | MutationKind::RotateSecret | MutationKind::Azure => None,
        _ => Some(state.namespace.as_str()),
    };
    state.mutation_allowed(kind, ns).err()
}

/// Refuses `cmd` with a notice saying why, or lets it through (warning when the rows it will be
/// confirmed from may be old).
pub(crate) fn refuse(state: &mut State, cmd: Command) -> bool {
    match refusal(state, cmd) {
        Some(why) => {
            notify(
                state,
                Notice::warning(format!("{} refused: {why}", cmd.hint())),
            );
            true
        }
        None => {
            // The apiserver answers (else it is refused above) but some watch is broken or
            // relisting: the write reaches it, the rows it is confirmed from may be old.
            if cmd.mutation() != Some(MutationKind::Retag)
                && let Some((label, why)) = state.cluster_stale()
            {
                notify(
                    state,
                    Notice::warning(format!(
                        "{}: cluster data {label} ({why}); check before confirming",
                        cmd.hint()
                    )),
                );
            }
            false
        }
    }
}
