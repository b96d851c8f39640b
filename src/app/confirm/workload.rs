//! The confirmations that change a workload: set image, restart, undo (to the previous revision
//! or, from the revision picker, to any), pause and resume. Each says who owns the workload
//! (Helm, Argo CD, Flux) when someone does: the change would be reverted.

use crate::app::action::Notice;
use crate::app::effects::Effect;
use crate::app::keymap::Command;
use crate::app::notices::notify;
use crate::app::policy::refuse;
use crate::app::state::{Change, Confirm, PinChoice, State};
use crate::app::view;
use crate::cluster::model::{DeploymentRow, ObjectRef, ReplicaSetRow, RolloutState};
use crate::cluster::owner::OwnedAction;
use crate::reference::short_digest;

/// The workload as effects and the picker name it.
pub(crate) fn workload_ref(d: &DeploymentRow) -> ObjectRef {
    ObjectRef {
        namespace: d.namespace.clone(),
        name: d.name.clone(),
    }
}

/// The first row of a confirmation about `dep`: which workload (set image says "deployment":
/// it acts on Deployments only).
fn which_workload(dep: &DeploymentRow) -> Change {
    Change {
        label: dep.kind.noun().into(),
        old: None,
        new: format!("{}/{}", dep.namespace, dep.name),
    }
}

/// The digest(s) the deployment's pods run for one container, most common first.
fn running_digest(state: &State, dep: &DeploymentRow, container: &str) -> Option<String> {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for p in state.cluster.pods_of(dep) {
        for c in p.containers.iter().filter(|c| c.name == container) {
            if let Some(d) = c
                .image_id
                .as_deref()
                .and_then(crate::reference::digest_of_image_id)
            {
                *counts.entry(d).or_insert(0) += 1;
            }
        }
    }
    let total = counts.len();
    let best = counts.into_iter().max_by_key(|(_, n)| *n)?.0;
    Some(if total > 1 {
        format!("{} (+{} more)", short_digest(best), total - 1)
    } else {
        short_digest(best)
    })
}

/// `set-image` with a tag and a workload selected: the tag into the workload's container of that
/// repository (by tag, or pinned by digest: `toggle-pin-digest` in the confirmation).
pub(crate) fn set_image(state: &mut State) {
    if refuse(state, Command::SetImage) {
        return;
    }
    let Some(tag) = view::selected_tag(state).cloned() else {
        notify(
            state,
            Notice::warning("set image: select a tag in the registry pane first"),
        );
        return;
    };
    let Some(dep) = view::selected_deployment(state).cloned() else {
        notify(
            state,
            Notice::warning("set image: select a deployment first"),
        );
        return;
    };
    if !deployment_only_action_allowed(state, "set image", &dep) {
        return;
    }
    let Some(container) = view::container_for(&dep, Some(&tag.repository)).cloned() else {
        notify(
            state,
            Notice::warning(format!("set image: {} has no containers", dep.name)),
        );
        return;
    };
    let host = super::registry_host(state);
    let by_tag = format!("{host}/{}:{}", tag.repository, tag.name);
    let by_digest = tag
        .digest
        .as_ref()
        .map(|d| format!("{host}/{}@{d}", tag.repository));
    if container.image == by_tag || by_digest.as_deref() == Some(container.image.as_str()) {
        notify(
            state,
            Notice::info(format!(
                "{}/{} already runs {}",
                dep.name, container.name, container.image
            )),
        );
        return;
    }
    let old_digest = running_digest(state, &dep, &container.name);
    let mut changes = vec![
        Change {
            label: "deployment".into(),
            old: None,
            new: format!("{}/{}", dep.namespace, dep.name),
        },
        Change {
            label: "container".into(),
            old: None,
            new: container.name.clone(),
        },
        Change {
            label: "image".into(),
            old: Some(container.image.clone()),
            new: by_tag.clone(),
        },
    ];
    changes.push(Change {
        label: "digest".into(),
        old: Some(old_digest.unwrap_or_else(|| "(not running)".into())),
        new: tag
            .digest
            .as_deref()
            .map_or("(unknown)".to_owned(), short_digest),
    });
    let next_rev = dep
        .revision
        .map_or(String::new(), |r| format!(" (revision {})", r + 1));
    let notes = vec![format!(
        "rolls out {} pod{} to the new image{next_rev}",
        dep.desired,
        if dep.desired == 1 { "" } else { "s" }
    )];
    let pin = by_digest.map(|by_digest| PinChoice {
        by_tag: by_tag.clone(),
        by_digest,
        pinned: false,
        change_index: 2,
    });
    super::push(
        state,
        Confirm {
            title: "Set image".into(),
            effect: Effect::SetImage {
                deployment: workload_ref(&dep),
                container: container.name.clone(),
                expected_image: container.image.clone(),
                image: by_tag,
                dry_run: false,
            },
            changes,
            warnings: owner_warnings(&dep, OwnedAction::SetImage),
            notes,
            pin,
            overwrites: None,
            blocked: None,
            lockable: false,
            error: None,
        },
    );
}

/// What the confirmation of `action` on `dep` says when Helm, Argo CD or Flux owns it: who, what
/// becomes of the change, and what to do instead.
fn owner_warnings(dep: &DeploymentRow, action: OwnedAction) -> Vec<String> {
    let Some(owner) = &dep.owner else {
        return Vec::new();
    };
    let w = owner.warning(
        action,
        &format!("{}/{}", dep.kind.short(), dep.name),
        &dep.namespace,
    );
    let mut out = vec![w.headline, format!("instead: {}", w.instead)];
    if !owner.also.is_empty() {
        out.push(format!("also marked: {}", owner.also.join("; ")));
    }
    out
}

/// The selected workload when it is one the dashboard can do `what` to; a notice when not.
pub(crate) fn selected_workload_or_warn(state: &mut State, what: &str) -> Option<DeploymentRow> {
    let d = view::selected_deployment(state).cloned();
    match &d {
        None => notify(
            state,
            Notice::warning(format!("{what}: select a deployment first")),
        ),
        Some(w) if !deployment_only_action_allowed(state, what, w) => return None,
        Some(_) => {}
    }
    d
}

/// The actions berth runs are built for Deployments; on a StatefulSet or DaemonSet it says so
/// (and what to use) instead of acting on the wrong API. Pause exists for Deployments only.
fn deployment_only_action_allowed(state: &mut State, what: &str, w: &DeploymentRow) -> bool {
    use crate::cluster::model::WorkloadKind;
    // Restart and undo work on every kind; set image from the dashboard only on Deployments
    // for now (its precondition reads a Deployment), and only Deployments pause.
    if w.kind == WorkloadKind::Deployment || matches!(what, "restart" | "undo" | "revisions") {
        return true;
    }
    let msg = if what == "pause" {
        format!(
            "pause: only Deployments can be paused; {} {} has no pause (its updateStrategy \
             OnDelete or a partition holds a rollout back)",
            w.kind.noun(),
            w.name
        )
    } else {
        format!(
            "{what}: the dashboard sets images of deployments only so far; for this {} use \
             berth rollout set-image {}/{} CONTAINER=IMAGE -n {}",
            w.kind.noun(),
            w.kind.short(),
            w.name,
            w.namespace
        )
    };
    notify(state, Notice::warning(msg));
    false
}

/// `restart`: a rollout restart of the selected workload.
pub(crate) fn restart(state: &mut State) {
    if refuse(state, Command::Restart) {
        return;
    }
    let Some(dep) = selected_workload_or_warn(state, "restart") else {
        return;
    };
    let warnings = owner_warnings(&dep, OwnedAction::Restart);
    super::push(
        state,
        Confirm {
            warnings,
            ..Confirm::new(
                "Rollout restart",
                Effect::Restart {
                    kind: dep.kind,
                    deployment: workload_ref(&dep),
                    dry_run: false,
                },
                vec![
                    which_workload(&dep),
                    Change {
                        label: "restartedAt".into(),
                        old: None,
                        new: state.now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    },
                ],
                vec![format!(
                    "replaces all {} pod{} following the rollout strategy; the image stays {}",
                    dep.desired,
                    if dep.desired == 1 { "" } else { "s" },
                    dep.containers
                        .first()
                        .map_or("unchanged", |c| c.image.as_str())
                )],
            )
        },
    );
}

/// `undo`: back to the revision before the live one.
pub(crate) fn undo(state: &mut State) {
    if refuse(state, Command::Undo) {
        return;
    }
    let Some(dep) = selected_workload_or_warn(state, "undo") else {
        return;
    };
    let rss = state.cluster.replica_sets_of(&dep);
    let current = dep
        .revision
        .or_else(|| rss.first().and_then(|r| r.revision));
    let prev = rss
        .iter()
        .find(|r| r.revision.is_some() && r.revision < current)
        .map(|r| (*r).clone());
    let Some(prev) = prev else {
        notify(
            state,
            Notice::warning(format!(
                "undo: {} has no earlier revision to go back to",
                dep.name
            )),
        );
        return;
    };
    undo_to(state, &dep, &prev);
}

/// The undo confirmation: `dep` back to the template of revision `prev` (as a new revision).
pub(crate) fn undo_to(state: &mut State, dep: &DeploymentRow, prev: &ReplicaSetRow) {
    let dep = dep.clone();
    let rss = state.cluster.replica_sets_of(&dep);
    let current = dep
        .revision
        .or_else(|| rss.first().and_then(|r| r.revision));
    let cur_rs = rss.iter().find(|r| r.revision == current);
    let fmt_rev = |r: Option<i64>| r.map_or("?".to_owned(), |r| format!("revision {r}"));
    let images = |imgs: &[String]| imgs.join(", ");
    let changes = vec![
        which_workload(&dep),
        Change {
            label: "revision".into(),
            old: Some(fmt_rev(current)),
            new: format!("{} (as a new revision)", fmt_rev(prev.revision)),
        },
        Change {
            label: "image".into(),
            old: Some(cur_rs.map_or_else(
                || {
                    dep.containers
                        .iter()
                        .map(|c| c.image.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                |r| images(&r.images),
            )),
            new: images(&prev.images),
        },
    ];
    let to_revision = prev.revision;
    let warnings = owner_warnings(&dep, OwnedAction::Undo);
    super::push(
        state,
        Confirm {
            warnings,
            ..Confirm::new(
                "Rollout undo",
                Effect::Undo {
                    kind: dep.kind,
                    deployment: workload_ref(&dep),
                    to_revision,
                    dry_run: false,
                },
                changes,
                vec![format!(
                    "pod template of {} {}",
                    if prev.controller_revision {
                        "ControllerRevision"
                    } else {
                        "ReplicaSet"
                    },
                    prev.name
                )],
            )
        },
    );
}

/// `pause-resume`: pause a running rollout, or resume a paused one.
pub(crate) fn pause_resume(state: &mut State) {
    if refuse(state, Command::PauseResume) {
        return;
    }
    let Some(dep) = selected_workload_or_warn(state, "pause") else {
        return;
    };
    let paused = dep.paused || dep.rollout == RolloutState::Paused;
    let deployment = workload_ref(&dep);
    let (title, effect, old, new, note) = if paused {
        (
            "Resume rollout",
            Effect::Resume {
                deployment,
                dry_run: false,
            },
            "paused",
            "running",
            "changes to the pod template made while paused roll out now",
        )
    } else {
        (
            "Pause rollout",
            Effect::Pause {
                deployment,
                dry_run: false,
            },
            "running",
            "paused",
            "template changes wait until resumed; running pods stay as they are",
        )
    };
    super::push(
        state,
        Confirm::new(
            title,
            effect,
            vec![
                which_workload(&dep),
                Change {
                    label: "rollout".into(),
                    old: Some(old.into()),
                    new: new.into(),
                },
            ],
            vec![note.into()],
        ),
    );
}
