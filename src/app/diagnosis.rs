//! What the diagnosis panel shows. The diagnosis engine (`src/diagnose.rs`) produces it; the UI
//! only draws it and offers the fix on one key (through the usual confirmation). The panel's
//! keys and its fix's confirmation are here too.

use super::action::{Notice, TaskError, TaskOutcome, TaskResult};
use super::confirm;
use super::effects::{Effect, Task, TaskId};
use super::keymap::Command;
use super::notices::notify;
use super::state::{Change, Confirm, DiagnosisPanel, Dialog, Focus, State};
use super::tasks::spawn;
use super::view;
use crate::cluster::model::ObjectRef;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagnosisView {
    pub pod: ObjectRef,
    /// The image reference as the pod names it.
    pub image: String,
    /// One line naming the cause, e.g. "Tag missing: web:1.0.99 is not in berthacr.azurecr.io".
    pub cause: String,
    /// Machine-readable cause code (`tag-missing`, `no-secret-for-host`, ...), as `--json` has it.
    pub code: String,
    /// What was checked, in order, and what came back.
    pub evidence: Vec<Evidence>,
    /// The one-key fix, if there is one berth can apply.
    pub fix: Option<Fix>,
    /// What to do by hand when there is no automatic fix (or in addition to it).
    pub advice: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub check: String,
    pub finding: String,
    pub ok: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// E.g. "attach secret acr-pull to serviceaccount shop/default".
    pub title: String,
    /// The mutation; it still goes through the confirmation and the permission check.
    pub effect: Effect,
}

pub const HINTS: &[Command] = &[Command::ApplyFix, Command::Cancel];

/// `diagnose`: diagnose the selected pod (else the first failing one, else the first), in a panel that
/// fills in when the diagnosis ends.
pub(crate) fn start(state: &mut State, fx: &mut Vec<Task>) {
    let pod = match state.focus {
        Focus::Pods => view::selected_pod(state),
        _ => view::first_failing_pod(state).or_else(|| view::pods(state).first().copied()),
    };
    let Some(pod) = pod else {
        notify(state, Notice::warning("diagnose: no pod selected"));
        return;
    };
    let key = ObjectRef {
        namespace: pod.namespace.clone(),
        name: pod.name.clone(),
    };
    let task = spawn(
        state,
        Effect::Diagnose { pod: key.clone() },
        Some(key.clone()),
    );
    state
        .dialogs
        .push(Dialog::Diagnosis(Box::new(DiagnosisPanel {
            task: task.id,
            pod: key,
            view: None,
            scroll: 0,
        })));
    fx.push(task);
}

/// The diagnosis of `pod` ended: into its panel, or a notice when the panel was closed.
pub(crate) fn finished(state: &mut State, id: TaskId, pod: &ObjectRef, result: TaskResult) {
    let panel = state.dialogs.iter_mut().find_map(|d| match d {
        Dialog::Diagnosis(p) if p.task == id => Some(p),
        _ => None,
    });
    let view = match result {
        Ok(TaskOutcome::Diagnosis(v)) => Ok(*v),
        Ok(other @ (TaskOutcome::Done { .. } | TaskOutcome::Object(_))) => Err(TaskError {
            what: format!("diagnosis of {}/{}", pod.namespace, pod.name),
            why: format!("the runner answered without a diagnosis ({other:?})"),
            hint: "this is a bug in berth; please report it".to_owned(),
            sticky: false,
        }),
        Err(e) => Err(e),
    };
    match panel {
        Some(p) => p.view = Some(view),
        None => match view {
            Ok(v) => notify(
                state,
                Notice::warning(format!("{}/{}: {}", pod.namespace, pod.name, v.cause)),
            ),
            Err(e) => notify(state, Notice::error(e.to_string())),
        },
    }
}

/// The panel's keys: scroll, close, and the fix (its own confirmation, over the panel).
pub(crate) fn on_command(state: &mut State, cmd: Command) {
    let Some(Dialog::Diagnosis(p)) = state.dialogs.last_mut() else {
        return;
    };
    match cmd {
        Command::Cancel => {
            state.dialogs.pop();
        }
        Command::Up => p.scroll = p.scroll.saturating_sub(1),
        Command::Down => p.scroll = p.scroll.saturating_add(1),
        Command::ApplyFix => {
            let fix = match &p.view {
                Some(Ok(v)) => v.fix.clone(),
                _ => None,
            };
            let Some(fix) = fix else {
                notify(state, Notice::info("no automatic fix for this cause"));
                return;
            };
            if let Some(kind) = fix.effect.mutation()
                && let Err(why) = state.mutation_allowed(kind, fix.effect.namespace())
            {
                notify(state, Notice::warning(format!("fix refused: {why}")));
                return;
            }
            let confirm = fix_confirm(fix);
            confirm::push(state, confirm);
        }
        _ => state.dirty = false,
    }
}

fn fix_confirm(fix: Fix) -> Confirm {
    let mut changes = vec![Change {
        label: "fix".into(),
        old: None,
        new: fix.title.clone(),
    }];
    match &fix.effect {
        Effect::SetImage {
            deployment,
            expected_image,
            image,
            ..
        } => {
            changes.push(Change {
                label: "deployment".into(),
                old: None,
                new: format!("{}/{}", deployment.namespace, deployment.name),
            });
            changes.push(Change {
                label: "image".into(),
                old: Some(expected_image.clone()),
                new: image.clone(),
            });
        }
        Effect::AttachSecret {
            service_account,
            secret,
            ..
        } => changes.push(Change {
            label: "serviceaccount".into(),
            old: None,
            new: format!(
                "{}/{} + {secret}",
                service_account.namespace, service_account.name
            ),
        }),
        Effect::RotateSecret {
            namespaces,
            slot,
            secret,
            attach,
            ..
        } => {
            changes.push(Change {
                label: "rotate".into(),
                old: None,
                new: format!("{slot} → {secret} in {}", namespaces.join(", ")),
            });
            if let Some(sa) = attach {
                changes.push(Change {
                    label: "serviceaccount".into(),
                    old: None,
                    new: format!("{}/{sa} + {secret}", namespaces.join(", ")),
                });
            }
        }
        Effect::AzureFix { action, .. } => changes.push(Change {
            label: "azure".into(),
            old: None,
            new: action.command(),
        }),
        _ => {}
    }
    Confirm::new("Apply fix", fix.effect, changes, Vec::new())
}

/// Whether `cmd` applies to the panel: the fix only when the diagnosis found one.
pub fn offers(panel: &DiagnosisPanel, cmd: Command) -> bool {
    match cmd {
        Command::ApplyFix => matches!(&panel.view, Some(Ok(v)) if v.fix.is_some()),
        _ => true,
    }
}
