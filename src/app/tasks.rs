//! Tasks: an effect registered for the runner, its steps as they are reported, and what its
//! result shows (a notice, a line in the timeline, the progress panel).

use super::action::{Level, Notice, RegistryUpdate, StepUpdate, TaskOutcome, TaskResult};
use super::effects::{Effect, ImageLocation, Task, TaskId};
use super::notices::{notify, notify_sticky};
use super::panes::tags;
use super::state::{JournalEntry, State, TaskState, TaskView};
use crate::cluster::model::ObjectRef;
use crate::registry::types::TagRow;

/// Register a task and return it for the runner.
pub(crate) fn spawn(state: &mut State, effect: Effect, subject: Option<ObjectRef>) -> Task {
    let id = TaskId(state.next_task);
    state.next_task += 1;
    let view = TaskView {
        id,
        title: effect.title(),
        effect: effect.clone(),
        started: state.now,
        finished: None,
        steps: Vec::new(),
        state: TaskState::Running,
    };
    if view.shows_progress() {
        let entry = JournalEntry {
            at: state.now,
            namespace: effect.namespace().map(str::to_owned),
            subject,
            level: Level::Info,
            text: format!("berth: {}", view.title),
        };
        state.journal(entry);
    }
    state.tasks.insert(id, view);
    Task { id, effect }
}

/// A step of a running task started, moved on or ended.
pub(crate) fn progress(state: &mut State, id: TaskId, step: StepUpdate) {
    if let Some(t) = state.tasks.get_mut(&id) {
        match t.steps.iter_mut().find(|s| s.step == step.step) {
            Some(s) => *s = step,
            None => t.steps.push(step),
        }
    }
}

/// A task ended: its state, and the notice and timeline line its result earns (a diagnosis goes
/// to its panel instead).
pub(crate) fn done(state: &mut State, id: TaskId, result: TaskResult) {
    let Some(task) = state.tasks.get_mut(&id) else {
        state.dirty = false;
        return;
    };
    task.finished = Some(state.now);
    let effect = task.effect.clone();
    let title = task.title.clone();
    let shows = task.shows_progress();
    task.state = match &result {
        Ok(TaskOutcome::Done { summary }) => TaskState::Done(summary.clone()),
        Ok(TaskOutcome::Diagnosis(v)) => TaskState::Done(v.cause.clone()),
        Ok(TaskOutcome::Object(m)) => TaskState::Done(format!("read {}", m.uid)),
        Err(e) => TaskState::Failed(e.clone()),
    };

    if let Effect::Diagnose { pod } = &effect {
        super::diagnosis::finished(state, id, pod, result);
        return;
    }

    let subject = subject_of(&effect);
    let (notice, level) = match &result {
        Ok(TaskOutcome::Done { summary }) => {
            let text = if summary.is_empty() {
                format!("done: {title}")
            } else {
                summary.clone()
            };
            (Notice::success(text), Level::Success)
        }
        Ok(TaskOutcome::Diagnosis(v)) => (Notice::info(v.cause.clone()), Level::Info),
        Ok(TaskOutcome::Object(_)) => (Notice::info(format!("done: {title}")), Level::Info),
        Err(e) => (Notice::error(e.to_string()), Level::Error),
    };
    let sticky = matches!(&result, Err(e) if e.sticky);
    if result.is_ok()
        && let Effect::Retag {
            src,
            dst,
            dry_run: false,
            ..
        } = &effect
    {
        mirror_retag(state, src, dst);
    }
    if shows {
        let entry = JournalEntry {
            at: state.now,
            namespace: effect.namespace().map(str::to_owned),
            subject,
            level,
            text: format!("berth: {}", notice.text),
        };
        state.journal(entry);
        state.last_result = Some(notice.clone());
    }
    // Loads that worked are visible in the panes; only their failures need a notice.
    if sticky {
        notify_sticky(state, notice);
    } else if shows || level == Level::Error {
        notify(state, notice);
    }
}

pub(crate) fn subject_of(effect: &Effect) -> Option<ObjectRef> {
    match effect {
        Effect::SetImage { deployment, .. }
        | Effect::Restart { deployment, .. }
        | Effect::Undo { deployment, .. }
        | Effect::Pause { deployment, .. }
        | Effect::Resume { deployment, .. } => Some(deployment.clone()),
        Effect::Diagnose { pod } => Some(pod.clone()),
        _ => None,
    }
}

/// Show a finished same-registry retag at once; the registry's own listing confirms it later.
fn mirror_retag(state: &mut State, src: &ImageLocation, dst: &ImageLocation) {
    if dst.registry != state.registry.registry {
        return;
    }
    let Some(src_tag) = state
        .registry
        .tags_of(&src.repository)
        .and_then(|ts| ts.iter().find(|t| t.name == src.reference))
        .cloned()
    else {
        return;
    };
    if !state.registry.tags.contains_key(&dst.repository) {
        return; // not loaded: it will come with the listing
    }
    let tag = TagRow {
        repository: dst.repository.clone(),
        name: dst.reference.clone(),
        updated: Some(state.now),
        ..src_tag
    };
    tags::apply_keep_cursor(state, RegistryUpdate::Tag(tag));
}
