//! The pods of the selected workload (of the namespace when none is). Pods that come and go in
//! a rollout must not move the cursor off the pod it is on.

use crate::app::keymap::Command;
use crate::app::state::{Focus, State};
use crate::app::view;
use crate::cluster::model::{Kind, ModelEvent, ObjectRef, Row};

/// The pods act on their workload: the same keys as the workloads pane.
pub const HINTS: &[Command] = super::deployments::HINTS;

/// Out of the pods, back to their workload.
pub(crate) fn back(state: &mut State) {
    state.focus = Focus::Deployments;
}

/// The pod under the cursor before `event` applies, when the event adds or removes pods (a
/// change to an existing pod moves no row, so it skips the lookup). Only while the pods have
/// the keyboard: a burst of new pods otherwise costs a list walk each for a cursor nobody uses.
pub(crate) fn cursor_to_keep(state: &State, event: &ModelEvent) -> Option<ObjectRef> {
    let pods_move = match event {
        ModelEvent::Upsert(Row::Pod(p)) => state.cluster.pod(&p.namespace, &p.name).is_none(),
        ModelEvent::Delete(key) => key.kind() == Kind::Pod,
        ModelEvent::Resynced { scope, .. } => scope.kind == Kind::Pod,
        _ => false,
    };
    if !(pods_move && state.focus == Focus::Pods) {
        return None;
    }
    view::selected_pod(state).map(|p| ObjectRef {
        namespace: p.namespace.clone(),
        name: p.name.clone(),
    })
}

/// The cursor back on `pod`, wherever the list now has it.
pub(crate) fn restore_cursor(state: &mut State, pod: &ObjectRef) {
    if let Some(i) = view::pod_position(state, pod) {
        state.nav.pods.selected = i;
        super::keep_visible(state, Focus::Pods);
    }
}
