//! The revision picker (`revisions`): a workload's revisions, newest first, to undo to any of them. Its
//! rows are derived from the model on every draw (`view::revision_rows`), so a rollout that
//! happens while it is open shows.

use super::action::Notice;
use super::confirm::workload;
use super::keymap::Command;
use super::notices::notify;
use super::policy::refuse;
use super::state::{Dialog, RevisionPicker, State};
use super::view;

pub const HINTS: &[Command] = &[Command::Confirm, Command::Cancel];

/// The revision picker of the selected workload.
pub(crate) fn open(state: &mut State) {
    if refuse(state, Command::Revisions) {
        return;
    }
    let Some(dep) = workload::selected_workload_or_warn(state, "revisions") else {
        return;
    };
    let rows = view::revision_rows(&state.cluster, &dep);
    if rows.is_empty() {
        notify(
            state,
            Notice::warning(format!("revisions: {} has no revisions yet", dep.name)),
        );
        return;
    }
    // The cursor starts on the revision before the live one: what undo would pick.
    let selected = rows
        .iter()
        .position(|r| r.live)
        .map_or(0, |i| (i + 1).min(rows.len() - 1));
    state
        .dialogs
        .push(Dialog::Revisions(Box::new(RevisionPicker {
            kind: dep.kind,
            workload: workload::workload_ref(&dep),
            selected,
        })));
}

/// The picker's keys: up and down, cancel, and confirm (the undo confirmation for that row; the
/// live revision is refused).
pub(crate) fn on_command(state: &mut State, cmd: Command) {
    let Some(Dialog::Revisions(p)) = state.dialogs.last() else {
        return;
    };
    let p = (**p).clone();
    let Some(dep) = state
        .cluster
        .workload(p.kind, &p.workload.namespace, &p.workload.name)
        .cloned()
    else {
        state.dialogs.pop();
        notify(
            state,
            Notice::warning(format!("revisions: {} is gone", p.workload.name)),
        );
        return;
    };
    let rows = view::revision_rows(&state.cluster, &dep);
    let last = rows.len().saturating_sub(1);
    let set = |state: &mut State, i: usize| {
        if let Some(Dialog::Revisions(p)) = state.dialogs.last_mut() {
            p.selected = i.min(last);
        }
    };
    match cmd {
        Command::Cancel => {
            state.dialogs.pop();
        }
        Command::Up => set(state, p.selected.saturating_sub(1)),
        Command::Down => set(state, p.selected + 1),
        Command::Confirm => {
            let Some(row) = rows.get(p.selected.min(last)) else {
                return;
            };
            if row.live {
                notify(
                    state,
                    Notice::info(format!(
                        "revision {} is the one {} runs: choose another",
                        row.revision.map_or("?".to_owned(), |r| r.to_string()),
                        dep.name
                    )),
                );
                return;
            }
            let target = state
                .cluster
                .replica_sets_of(&dep)
                .into_iter()
                .find(|r| r.name == row.name)
                .cloned();
            state.dialogs.pop();
            if let Some(target) = target {
                workload::undo_to(state, &dep, &target);
            }
        }
        _ => state.dirty = false,
    }
}
