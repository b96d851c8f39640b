//! Rollout status, computed exactly as `kubectl rollout status` does (kubectl's
//! `DeploymentStatusViewer`), plus one berth addition: a rollout whose new-revision pods cannot
//! pull their image is reported as stuck at once instead of after the progress deadline.
//!
//! Pure functions over slim rows: no cluster needed to test them.

use super::model::{ContainerState, DeploymentRow, PodRow, ReplicaSetRow, RolloutState};

/// kubectl's `deploymentutil.TimedOutReason`.
pub const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";

/// Container waiting reasons that mean "this pod cannot get its image": the rollout will not make
/// progress on its own.
pub const IMAGE_PULL_FAILURES: [&str; 4] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "ErrImageNeverPull",
];

/// The rollout state from the Deployment alone, in kubectl's order of checks.
pub fn kubectl_rollout_state(d: &DeploymentRow) -> RolloutState {
    if d.generation > d.observed_generation {
        return RolloutState::Pending;
    }
    // kubectl does not look at `paused`; a paused deployment simply never finishes. berth says
    // so explicitly, unless it already finished (a paused but complete deployment is complete).
    if let Some((_, reason, message)) = &d.progressing
        && reason == PROGRESS_DEADLINE_EXCEEDED
    {
        return RolloutState::Stuck {
            reason: PROGRESS_DEADLINE_EXCEEDED.to_owned(),
            message: if message.is_empty() {
                format!("deployment {:?} exceeded its progress deadline", d.name)
            } else {
                message.clone()
            },
        };
    }
    let progressing = |message: String| {
        if d.paused {
            RolloutState::Paused
        } else {
            RolloutState::Progressing { message }
        }
    };
    if d.updated < d.desired {
        return progressing(format!(
            "Waiting for deployment {:?} rollout to finish: {} out of {} new replicas have been updated...",
            d.name, d.updated, d.desired
        ));
    }
    if d.replicas > d.updated {
        return progressing(format!(
            "Waiting for deployment {:?} rollout to finish: {} old replicas are pending termination...",
            d.name,
            d.replicas - d.updated
        ));
    }
    if d.available < d.updated {
        return progressing(format!(
            "Waiting for deployment {:?} rollout to finish: {} of {} updated replicas are available...",
            d.name, d.available, d.updated
        ));
    }
    RolloutState::Complete
}

/// Container waiting reasons that mean a new revision's pod will not become ready on its own:
/// the image cannot be pulled, the container cannot be created from its config (a missing
/// Secret/ConfigMap key), or it crashes as it starts. kubelet sets these (`images.go`,
/// `kuberuntime_container.go`, `pod_workers`' back-off); a rollout with such a pod is stuck now,
/// not when its progress deadline passes minutes later.
pub const STUCK_WAITING_REASONS: [&str; 8] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// The full rollout state: kubectl's, then Stuck when an unfinished rollout's new-revision pods
/// wait on one of [`STUCK_WAITING_REASONS`]. `new_revision_pods` are the pods of the
/// deployment's newest ReplicaSet (see [`new_replica_set`]).
pub fn rollout_state<'a>(
    d: &DeploymentRow,
    new_revision_pods: impl IntoIterator<Item = &'a PodRow>,
) -> RolloutState {
    let base = kubectl_rollout_state(d);
    if !matches!(base, RolloutState::Progressing { .. }) {
        return base;
    }
    match first_stuck_container(new_revision_pods) {
        Some((pod, container, reason, message)) => RolloutState::Stuck {
            reason: reason.to_owned(),
            message: if message.is_empty() {
                format!("pod {pod}: container {container}: {reason}")
            } else {
                format!("pod {pod}: container {container}: {message}")
            },
        },
        None => base,
    }
}

/// The first (by pod name) container waiting on one of [`STUCK_WAITING_REASONS`]:
/// (pod, container, reason, message).
pub fn first_stuck_container<'a>(
    pods: impl IntoIterator<Item = &'a PodRow>,
) -> Option<(&'a str, &'a str, &'a str, &'a str)> {
    pods.into_iter()
        .filter(|p| !p.deleting)
        .flat_map(|p| {
            p.containers.iter().filter_map(move |c| match &c.state {
                ContainerState::Waiting { reason, message }
                    if STUCK_WAITING_REASONS.contains(&reason.as_str()) =>
                {
                    Some((
                        p.name.as_str(),
                        c.name.as_str(),
                        reason.as_str(),
                        message.as_str(),
                    ))
                }
                _ => None,
            })
        })
        .min_by(|a, b| a.0.cmp(b.0))
}

/// The deployment's current ReplicaSet among `owned` (the ones it controls): the one whose
/// revision equals the deployment's revision, else the highest revision.
pub fn new_replica_set<'a>(
    d: &DeploymentRow,
    owned: impl IntoIterator<Item = &'a ReplicaSetRow>,
) -> Option<&'a ReplicaSetRow> {
    let owned: Vec<&ReplicaSetRow> = owned.into_iter().collect();
    if let Some(rev) = d.revision
        && let Some(rs) = owned.iter().find(|rs| rs.revision == Some(rev))
    {
        return Some(rs);
    }
    owned.into_iter().max_by_key(|rs| rs.revision)
}

/// The revision `kubectl rollout undo` goes back to when no revision is given: the highest
/// revision below the current (newest) one.
pub fn previous_revision(revisions: impl IntoIterator<Item = i64>) -> Option<i64> {
    let mut revs: Vec<i64> = revisions.into_iter().collect();
    revs.sort_unstable();
    revs.dedup();
    if revs.len() < 2 {
        return None;
    }
    Some(revs[revs.len() - 2])
}

/// Short human label for a state, for tables and `--json`.
pub fn state_label(s: &RolloutState) -> &'static str {
    match s {
        RolloutState::Pending => "pending",
        RolloutState::Progressing { .. } => "progressing",
        RolloutState::Complete => "complete",
        RolloutState::Stuck { .. } => "stuck",
        RolloutState::Paused => "paused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::model::ContainerRow;

    fn dep() -> DeploymentRow {
        DeploymentRow {
            namespace: "ns".into(),
            name: "web".into(),
            uid: "d1".into(),
            generation: 3,
            observed_generation: 3,
            desired: 3,
            replicas: 3,
            updated: 3,
            ready: 3,
            available: 3,
            revision: Some(2),
            ..Default::default()
        }
    }

    fn pod(name: &str, waiting: Option<&str>) -> PodRow {
        PodRow {
            namespace: "ns".into(),
            name: name.into(),
            containers: vec![ContainerRow {
                name: "app".into(),
                state: match waiting {
                    Some(r) => ContainerState::Waiting {
                        reason: r.into(),
                        message: format!("Back-off pulling image \"x\" ({r})"),
                    },
                    None => ContainerState::Running { since: None },
                },
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn complete_when_all_counts_match() {
        assert_eq!(kubectl_rollout_state(&dep()), RolloutState::Complete);
    }

    #[test]
    fn pending_until_generation_observed() {
        let d = DeploymentRow {
            generation: 4,
            ..dep()
        };
        assert_eq!(kubectl_rollout_state(&d), RolloutState::Pending);
    }

    #[test]
    fn kubectl_messages_in_kubectl_order() {
        let d = DeploymentRow {
            updated: 1,
            replicas: 4,
            ..dep()
        };
        let RolloutState::Progressing { message } = kubectl_rollout_state(&d) else {
            panic!()
        };
        assert_eq!(
            message,
            "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated..."
        );
        let d = DeploymentRow {
            replicas: 4,
            ..dep()
        };
        let RolloutState::Progressing { message } = kubectl_rollout_state(&d) else {
            panic!()
        };
        assert!(
            message.contains("1 old replicas are pending termination"),
            "{message}"
        );
        let d = DeploymentRow {
            available: 2,
            ..dep()
        };
        let RolloutState::Progressing { message } = kubectl_rollout_state(&d) else {
            panic!()
        };
        assert!(
            message.contains("2 of 3 updated replicas are available"),
            "{message}"
        );
    }

    #[test]
    fn progress_deadline_exceeded_is_stuck_even_when_counts_lag() {
        let d = DeploymentRow {
            updated: 1,
            progressing: Some((
                "False".into(),
                PROGRESS_DEADLINE_EXCEEDED.into(),
                "ReplicaSet \"web-abc\" has timed out progressing.".into(),
            )),
            ..dep()
        };
        assert_eq!(
            kubectl_rollout_state(&d),
            RolloutState::Stuck {
                reason: PROGRESS_DEADLINE_EXCEEDED.into(),
                message: "ReplicaSet \"web-abc\" has timed out progressing.".into()
            }
        );
    }

    #[test]
    fn paused_mid_rollout_is_paused_but_complete_stays_complete() {
        let d = DeploymentRow {
            paused: true,
            updated: 1,
            ..dep()
        };
        assert_eq!(kubectl_rollout_state(&d), RolloutState::Paused);
        let d = DeploymentRow {
            paused: true,
            ..dep()
        };
        assert_eq!(kubectl_rollout_state(&d), RolloutState::Complete);
    }

    #[test]
    fn image_pull_backoff_in_new_revision_makes_it_stuck() {
        let d = DeploymentRow {
            updated: 1,
            available: 2,
            replicas: 4,
            ..dep()
        };
        let pods = [
            pod("web-b-2", Some("ImagePullBackOff")),
            pod("web-b-1", None),
        ];
        let s = rollout_state(&d, &pods);
        let RolloutState::Stuck { reason, message } = s else {
            panic!("{s:?}")
        };
        assert_eq!(reason, "ImagePullBackOff");
        assert!(
            message.starts_with("pod web-b-2: container app:"),
            "{message}"
        );
        // Healthy new pods: still progressing.
        let pods = [pod("web-b-1", None)];
        assert!(matches!(
            rollout_state(&d, &pods),
            RolloutState::Progressing { .. }
        ));
    }

    #[test]
    fn every_stuck_waiting_reason_makes_it_stuck_and_others_do_not() {
        let d = DeploymentRow {
            updated: 1,
            available: 1,
            replicas: 3,
            ..dep()
        };
        for reason in STUCK_WAITING_REASONS {
            let pods = [pod("web-b-1", Some(reason))];
            assert!(
                matches!(rollout_state(&d, &pods), RolloutState::Stuck { reason: r, .. } if r == reason),
                "{reason}"
            );
        }
        // Waiting reasons of a pod on its way up are not stuck.
        for reason in ["ContainerCreating", "PodInitializing"] {
            let pods = [pod("web-b-1", Some(reason))];
            assert!(
                matches!(rollout_state(&d, &pods), RolloutState::Progressing { .. }),
                "{reason}"
            );
        }
    }

    #[test]
    fn pull_failure_does_not_override_complete() {
        let pods = [pod("web-b-2", Some("ErrImagePull"))];
        assert_eq!(rollout_state(&dep(), &pods), RolloutState::Complete);
    }

    #[test]
    fn new_replica_set_by_revision_then_highest() {
        let rs = |name: &str, rev| ReplicaSetRow {
            name: name.into(),
            revision: Some(rev),
            ..Default::default()
        };
        let all = [rs("a", 1), rs("b", 2), rs("c", 3)];
        assert_eq!(new_replica_set(&dep(), &all).unwrap().name, "b");
        let d = DeploymentRow {
            revision: None,
            ..dep()
        };
        assert_eq!(new_replica_set(&d, &all).unwrap().name, "c");
        assert!(new_replica_set(&d, &[]).is_none());
    }

    #[test]
    fn previous_revision_is_second_highest() {
        assert_eq!(previous_revision([3, 1, 2]), Some(2));
        assert_eq!(previous_revision([5, 5]), None);
        assert_eq!(previous_revision([]), None);
    }
}
