//! What the watchers and the registry side report, into State: the cluster model, the registry
//! listing, permissions. An open logs or object view hears of its rows; the cursors stay on the
//! rows they were on; a change nobody can see draws no frame.

use super::action::{ClusterUpdate, PermissionUpdate, RegistryUpdate};
use super::effects::Task;
use super::panes::{self, deployments, pods, repositories, tags};
use super::state::{Dialog, State};
use super::view;
use crate::cluster::model::{Kind, ModelEvent, Row};

pub(crate) fn cluster(state: &mut State, u: ClusterUpdate, fx: &mut Vec<Task>) {
    // Pods that appear (a rollout) or whose container restarted join an open logs view;
    // a pod can arrive before the ReplicaSet that ties it to its workload, so a new
    // revision is looked at too.
    let pods_may_join_logs = match &u {
        ClusterUpdate::Model(m) => match &m.event {
            ModelEvent::Upsert(Row::Pod(_) | Row::ReplicaSet(_) | Row::Workload(_)) => true,
            ModelEvent::Resynced { scope, .. } => {
                matches!(scope.kind, Kind::Pod | Kind::ReplicaSet)
            }
            _ => false,
        },
        _ => false,
    };
    let object = match &u {
        // One row's change (a relist's rows are not cloned: the view reads again on the
        // next change of its object).
        ClusterUpdate::Model(m)
            if matches!(m.event, ModelEvent::Upsert(_) | ModelEvent::Delete(_))
                && state.dialogs.iter().any(|d| matches!(d, Dialog::Object(_))) =>
        {
            Some(m.event.clone())
        }
        _ => None,
    };
    apply_cluster(state, u);
    if let Some(event) = object {
        let dirty = state.dirty;
        super::object_view::model_changed(state, &event, fx);
        state.dirty |= dirty;
    }
    if pods_may_join_logs && state.dialogs.iter().any(|d| matches!(d, Dialog::Logs(_))) {
        let dirty = state.dirty;
        super::logs::pods_changed(state, fx);
        state.dirty |= dirty;
    }
}

fn apply_cluster(state: &mut State, u: ClusterUpdate) {
    match u {
        ClusterUpdate::Contexts { contexts, current } => {
            state.contexts = contexts;
            state.context = current;
        }
        ClusterUpdate::Namespace(ns) => {
            if ns != state.namespace {
                state.namespace = ns;
                panes::reset_cluster(state);
            }
        }
        ClusterUpdate::Model(update) => {
            if update.epoch < state.cluster.epoch() {
                state.dirty = false; // a previous context's watcher, still draining
                return;
            }
            if update.epoch > state.cluster.epoch() {
                // A new watcher generation (context switch): its rows replace the old ones.
                state.cluster.reset(update.epoch);
                panes::reset_cluster(state);
            }
            let event = &update.event;
            // A change nobody can see (another namespace) is applied, and draws no frame.
            if !view::shows_event(state, event) {
                let where_version = state.cluster.where_version();
                let changed = state.cluster.apply(update);
                state.dirty = changed && state.cluster.where_version() != where_version;
                return;
            }
            let keep_pod = pods::cursor_to_keep(state, event);
            let touches_deployments = match event {
                ModelEvent::Upsert(Row::Workload(_)) => true,
                ModelEvent::Delete(key) => key.kind() == Kind::Deployment,
                ModelEvent::Resynced { scope, .. } => scope.kind == Kind::Deployment,
                _ => false,
            };
            // What did not change the model (a resent row, the liveness probe confirming about
            // once a second) is worth no frame.
            if !state.cluster.apply(update) {
                state.dirty = false;
                return;
            }
            if touches_deployments {
                deployments::keep_cursor(state);
            }
            if let Some(pod) = keep_pod {
                pods::restore_cursor(state, &pod);
            }
        }
    }
}

pub(crate) fn registry(state: &mut State, u: RegistryUpdate, fx: &mut Vec<Task>) {
    match u {
        RegistryUpdate::Connection(c) => state.registry_conn = c,
        RegistryUpdate::SlotInUse(s) => state.slot_in_use = Some(s),
        RegistryUpdate::Repositories { .. } | RegistryUpdate::RepositoriesPage { .. } => {
            repositories::keep_cursor(state, |s| s.registry.apply(u), fx);
        }
        other => tags::apply_keep_cursor(state, other),
    }
}

/// What the runner learnt of RBAC: which mutations are refused where.
pub(crate) fn permissions(state: &mut State, list: Vec<PermissionUpdate>) {
    for p in list {
        state
            .permissions
            .insert((p.kind, p.namespace), p.permission);
    }
}
