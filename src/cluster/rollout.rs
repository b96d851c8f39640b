//! Rollout status, computed exactly as `kubectl rollout status` does (kubectl's
//! `DeploymentStatusViewer`), plus one berth addition: a rollout whose new-revision pods cannot
//! pull their image is reported as stuck at once instead of after the progress deadline.
//!
//! Pure functions over slim rows: no cluster needed to test them.

use super::model::{
    ContainerState, DeploymentRow, PodRow, ReplicaSetRow, RolloutState, WorkloadKind,
};

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

/// The rollout state from the workload alone, in kubectl's order of checks for its kind.
pub fn kubectl_rollout_state(d: &DeploymentRow) -> RolloutState {
    match d.kind {
        WorkloadKind::Deployment => deployment_state(d),
        WorkloadKind::StatefulSet => stateful_set_state(d),
        WorkloadKind::DaemonSet => daemon_set_state(d),
    }
}

/// kubectl's `StatefulSetStatusViewer` (`kubectl/pkg/polymorphichelpers/rollout_status.go`).
/// kubectl refuses OnDelete ("rollout status is only available for RollingUpdate strategy
/// type"); berth says what an OnDelete rollout waits for instead: pods deleted by hand.
fn stateful_set_state(d: &DeploymentRow) -> RolloutState {
    if d.observed_generation == 0 || d.generation > d.observed_generation {
        return RolloutState::Progressing {
            message: "Waiting for statefulset spec update to be observed...".to_owned(),
        };
    }
    if d.update_strategy.as_deref() == Some("OnDelete") {
        return if d.update_revision.is_some() && d.update_revision != d.current_revision {
            RolloutState::Progressing {
                message: format!(
                    "OnDelete: {} of {} pods run revision {}; the others update only when deleted",
                    d.updated,
                    d.desired,
                    d.update_revision.as_deref().unwrap_or("?")
                ),
            }
        } else {
            RolloutState::Complete
        };
    }
    if d.ready < d.desired {
        return RolloutState::Progressing {
            message: format!("Waiting for {} pods to be ready...", d.desired - d.ready),
        };
    }
    if let Some(partition) = d.partition {
        if d.updated < d.desired - partition {
            return RolloutState::Progressing {
                message: format!(
                    "Waiting for partitioned roll out to finish: {} out of {} new pods have been updated...",
                    d.updated,
                    d.desired - partition
                ),
            };
        }
        // kubectl: "partitioned roll out complete: N new pods have been updated..."
        return RolloutState::Complete;
    }
    if d.update_revision != d.current_revision {
        return RolloutState::Progressing {
            message: format!(
                "waiting for statefulset rolling update to complete {} pods at revision {}...",
                d.updated,
                d.update_revision.as_deref().unwrap_or("?")
            ),
        };
    }
    RolloutState::Complete
}

/// kubectl's `DaemonSetStatusViewer`; OnDelete as for StatefulSets.
fn daemon_set_state(d: &DeploymentRow) -> RolloutState {
    if d.generation > d.observed_generation {
        return RolloutState::Progressing {
            message: "Waiting for daemon set spec update to be observed...".to_owned(),
        };
    }
    let on_delete = d.update_strategy.as_deref() == Some("OnDelete");
    if d.updated < d.desired {
        return RolloutState::Progressing {
            message: if on_delete {
                format!(
                    "OnDelete: {} of {} pods updated; the others update only when deleted",
                    d.updated, d.desired
                )
            } else {
                format!(
                    "Waiting for daemon set {:?} rollout to finish: {} out of {} new pods have been updated...",
                    d.name, d.updated, d.desired
                )
            },
        };
    }
    if d.available < d.desired {
        return RolloutState::Progressing {
            message: format!(
                "Waiting for daemon set {:?} rollout to finish: {} of {} updated pods are available...",
                d.name, d.available, d.desired
            ),
        };
    }
    RolloutState::Complete
}

/// kubectl's `DeploymentStatusViewer`.
fn deployment_state(d: &DeploymentRow) -> RolloutState {
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

/// The workload's current revision among `owned` (the ReplicaSets or ControllerRevisions it
/// controls): a StatefulSet's `updateRevision`; else the one whose revision equals the
/// deployment's revision; else the highest revision.
pub fn new_replica_set<'a>(
    d: &DeploymentRow,
    owned: impl IntoIterator<Item = &'a ReplicaSetRow>,
) -> Option<&'a ReplicaSetRow> {
    let owned: Vec<&ReplicaSetRow> = owned.into_iter().collect();
    if let Some(update) = &d.update_revision
        && let Some(rs) = owned.iter().find(|rs| &rs.name == update)
    {
        return Some(rs);
    }
    if let Some(rev) = d.revision
        && let Some(rs) = owned.iter().find(|rs| rs.revision == Some(rev))
    {
        return Some(rs);
    }
    owned.into_iter().max_by_key(|rs| rs.revision)
}

/// Whether a StatefulSet's or DaemonSet's pod runs this ControllerRevision: its
/// `controller-revision-hash` label is the revision's name (StatefulSet) or its hash
/// (DaemonSet, the revision's own `controller-revision-hash` label).
pub fn runs_revision(pod: &PodRow, revision: &ReplicaSetRow) -> bool {
    pod.revision_hash
        .as_deref()
        .is_some_and(|h| h == revision.name || Some(h) == revision.pod_template_hash.as_deref())
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

    fn sts(desired: i32, ready: i32, updated: i32) -> DeploymentRow {
        DeploymentRow {
            kind: WorkloadKind::StatefulSet,
            name: "db".into(),
            generation: 2,
            observed_generation: 2,
            desired,
            ready,
            updated,
            update_strategy: Some("RollingUpdate".into()),
            partition: Some(0),
            current_revision: Some("db-old".into()),
            update_revision: Some("db-new".into()),
            ..Default::default()
        }
    }

    #[test]
    fn statefulset_in_kubectls_order() {
        let msg = |d: &DeploymentRow| match kubectl_rollout_state(d) {
            RolloutState::Progressing { message } => message,
            other => format!("{other:?}"),
        };
        let unobserved = DeploymentRow {
            observed_generation: 1,
            ..sts(3, 3, 3)
        };
        assert_eq!(
            msg(&unobserved),
            "Waiting for statefulset spec update to be observed..."
        );
        assert_eq!(msg(&sts(3, 1, 0)), "Waiting for 2 pods to be ready...");
        assert_eq!(
            msg(&sts(3, 3, 1)),
            "Waiting for partitioned roll out to finish: 1 out of 3 new pods have been updated..."
        );
        // Partition 2: only ordinal 2 updates, and one updated pod completes the rollout.
        let partitioned = DeploymentRow {
            partition: Some(2),
            ..sts(3, 3, 1)
        };
        assert_eq!(kubectl_rollout_state(&partitioned), RolloutState::Complete);
        // No rollingUpdate block: complete only once every pod runs the update revision.
        let plain = DeploymentRow {
            partition: None,
            ..sts(3, 3, 3)
        };
        assert!(msg(&plain).starts_with(
            "waiting for statefulset rolling update to complete 3 pods at revision db-new"
        ));
        let done = DeploymentRow {
            current_revision: Some("db-new".into()),
            ..plain
        };
        assert_eq!(kubectl_rollout_state(&done), RolloutState::Complete);
        let on_delete = DeploymentRow {
            update_strategy: Some("OnDelete".into()),
            ..sts(3, 3, 1)
        };
        assert!(msg(&on_delete).starts_with("OnDelete: 1 of 3 pods run revision db-new"));
    }

    #[test]
    fn daemonset_in_kubectls_order() {
        let ds = |desired, updated, available| DeploymentRow {
            kind: WorkloadKind::DaemonSet,
            name: "agent".into(),
            generation: 1,
            observed_generation: 1,
            desired,
            updated,
            available,
            update_strategy: Some("RollingUpdate".into()),
            ..Default::default()
        };
        let msg = |d: &DeploymentRow| match kubectl_rollout_state(d) {
            RolloutState::Progressing { message } => message,
            other => format!("{other:?}"),
        };
        assert_eq!(
            msg(&ds(2, 1, 1)),
            "Waiting for daemon set \"agent\" rollout to finish: 1 out of 2 new pods have been updated..."
        );
        assert_eq!(
            msg(&ds(2, 2, 1)),
            "Waiting for daemon set \"agent\" rollout to finish: 1 of 2 updated pods are available..."
        );
        assert_eq!(kubectl_rollout_state(&ds(2, 2, 2)), RolloutState::Complete);
        let unobserved = DeploymentRow {
            generation: 2,
            ..ds(2, 2, 2)
        };
        assert_eq!(
            msg(&unobserved),
            "Waiting for daemon set spec update to be observed..."
        );
    }

    #[test]
    fn statefulset_revision_is_the_update_revision_and_pods_match_by_label() {
        let d = sts(1, 0, 0);
        let rev = |name: &str, n: i64, hash: &str| ReplicaSetRow {
            name: name.into(),
            controller_revision: true,
            revision: Some(n),
            pod_template_hash: Some(hash.into()),
            ..Default::default()
        };
        let revs = [rev("db-new", 2, "new"), rev("db-old", 3, "old")];
        assert_eq!(new_replica_set(&d, &revs).unwrap().name, "db-new");
        let mut p = pod("db-0", None);
        p.revision_hash = Some("db-new".into()); // a StatefulSet's pod: the revision's name
        assert!(runs_revision(&p, &revs[0]) && !runs_revision(&p, &revs[1]));
        p.revision_hash = Some("old".into()); // a DaemonSet's pod: the hash alone
        assert!(runs_revision(&p, &revs[1]) && !runs_revision(&p, &revs[0]));
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
