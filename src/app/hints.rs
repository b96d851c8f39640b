//! The hint line's commands per layer, in order (the rest are in `?`). Each pane and dialog names
//! its own next to what its keys do; here they are looked up by layer, and a toggle that does not
//! apply to what is in front is left out.

use super::keymap::{Command, Layer};
use super::panes::{deployments, events, pods, repositories, tags};
use super::state::{Dialog, State};
use super::{confirm, diagnosis, logs, object_view, revisions};

pub fn hinted(layer: Layer) -> &'static [Command] {
    match layer {
        Layer::Repositories => repositories::HINTS,
        Layer::Tags => tags::HINTS,
        Layer::Deployments => deployments::HINTS,
        Layer::Pods => pods::HINTS,
        Layer::Events => events::HINTS,
        Layer::Confirm => confirm::HINTS,
        Layer::Diagnosis => diagnosis::HINTS,
        Layer::Revisions => revisions::HINTS,
        Layer::Logs => logs::HINTS,
        Layer::Object => object_view::HINTS,
        Layer::Global => &[],
    }
}

/// Whether `cmd` applies to the dialog in front: the confirmation's change has that toggle, the
/// diagnosis found a fix.
pub fn applies(state: &State, cmd: Command) -> bool {
    match state.dialogs.last() {
        Some(Dialog::Confirm(c)) => confirm::offers(c, cmd),
        Some(Dialog::Diagnosis(p)) => diagnosis::offers(p, cmd),
        _ => true,
    }
}
