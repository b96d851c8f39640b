//! The workloads of the namespace in view (Deployments, StatefulSets, DaemonSets). The one
//! selected scopes the pods, the ReplicaSets and the timeline; the cursor keeps to it by name
//! while the watch changes the list.

use crate::app::keymap::Command;
use crate::app::state::{Focus, State};
use crate::app::view;
use crate::cluster::model::ObjectRef;

/// What acts on the selected workload, and on the pull secret its pods use.
pub const HINTS: &[Command] = &[
    Command::SetImage,
    Command::Restart,
    Command::Undo,
    Command::PauseResume,
    Command::RotateSecret,
    Command::AttachSecret,
    Command::Diagnose,
    Command::Filter,
];

/// Into the selected workload's pods.
pub(crate) fn enter(state: &mut State) {
    state.focus = Focus::Pods;
}

/// The cursor is on another workload: the pods and the timeline start again at their top.
pub(crate) fn selection_changed(state: &mut State) {
    let key = view::selected_deployment(state).map(|d| ObjectRef {
        namespace: d.namespace.clone(),
        name: d.name.clone(),
    });
    if key != state.selected_deployment {
        state.selected_deployment = key;
        state.nav.pods.selected = 0;
        state.nav.pods.offset = 0;
        state.nav.events.selected = 0;
    }
}

/// After the workloads changed, the cursor stays on the same one if it still exists.
pub(crate) fn keep_cursor(state: &mut State) {
    let list = view::deployments(state);
    let idx = state
        .selected_deployment
        .as_ref()
        .and_then(|k| {
            list.iter()
                .position(|d| d.namespace == k.namespace && d.name == k.name)
        })
        .unwrap_or_else(|| {
            state
                .nav
                .deployments
                .selected
                .min(list.len().saturating_sub(1))
        });
    state.nav.deployments.selected = idx;
    super::keep_visible(state, Focus::Deployments);
    selection_changed(state);
}
