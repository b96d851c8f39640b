//! Derived, filtered views of State shared by `update` (selection, actions) and `ui` (drawing),
//! so both agree on what row N is.

use jiff::Timestamp;

use super::action::Level;
use super::state::{Focus, JournalEntry, State};
use crate::cluster::model::{
    ContainerState, DeploymentRow, EventRow, ModelEvent, ObjectRef, PodRow, ReplicaSetRow,
};
use crate::registry::types::{RepositoryRow, TagRow};

/// kubectl-style age: `42s`, `5m`, `3h`, `12d`, `2y`; `-` when unknown.
pub fn age(now: Timestamp, then: Option<Timestamp>) -> String {
    let Some(then) = then else {
        return "-".to_owned();
    };
    let secs = now.duration_since(then).as_secs().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s if s < 730 * 86400 => format!("{}d", s / 86400),
        s => format!("{}y", s / (365 * 86400)),
    }
}

/// Case-insensitive substring match; an empty filter matches everything.
pub fn matches(filter: &str, text: &str) -> bool {
    if filter.is_empty() {
        return true;
    }
    if filter.chars().any(char::is_uppercase) {
        return text.contains(filter);
    }
    text.to_lowercase().contains(filter)
}

pub fn repositories(state: &State) -> Vec<&RepositoryRow> {
    let f = &state.nav.repositories.filter;
    state
        .registry
        .repositories
        .iter()
        .filter(|r| matches(f, &r.name))
        .collect()
}

pub fn selected_repository(state: &State) -> Option<&RepositoryRow> {
    repositories(state)
        .get(state.nav.repositories.selected)
        .copied()
}

pub fn tags(state: &State) -> Vec<&TagRow> {
    let Some(repo) = selected_repository(state) else {
        return Vec::new();
    };
    let f = &state.nav.tags.filter;
    state
        .registry
        .tags_of(&repo.name)
        .unwrap_or_default()
        .iter()
        .filter(|t| matches(f, &t.name) || t.digest.as_deref().is_some_and(|d| matches(f, d)))
        .collect()
}

pub fn selected_tag(state: &State) -> Option<&TagRow> {
    tags(state).get(state.nav.tags.selected).copied()
}

/// Whether a watch event can change what is drawn. The panes show the rows of the namespace
/// in view; other namespaces reach the screen only through where a digest runs (the registry
/// pane: see [`crate::cluster::store::ClusterModel::where_version`]), the namespace list (the
/// palette) and the connection state. So a change to a pod, event or workload of another
/// namespace is applied to the model and draws no frame.
pub fn shows_event(state: &State, event: &ModelEvent) -> bool {
    let ns = match event {
        ModelEvent::Upsert(row) => row.namespace(),
        ModelEvent::Delete(key) => key.namespace(),
        ModelEvent::Resynced { .. } | ModelEvent::Connection { .. } | ModelEvent::Probe(_) => {
            return true;
        }
    };
    ns.is_none_or(|ns| ns == state.namespace)
}

pub fn deployments(state: &State) -> Vec<&DeploymentRow> {
    let f = &state.nav.deployments.filter;
    state
        .cluster
        .deployments_in(&state.namespace)
        .filter(|d| matches(f, &d.name) || d.containers.iter().any(|c| matches(f, &c.image)))
        .collect()
}

pub fn selected_deployment(state: &State) -> Option<&DeploymentRow> {
    deployments(state)
        .get(state.nav.deployments.selected)
        .copied()
}

pub fn replicasets(state: &State) -> Vec<&ReplicaSetRow> {
    match selected_deployment(state) {
        Some(d) => state.cluster.replica_sets_of(d),
        None => Vec::new(),
    }
}

/// Pods of the selected deployment (newest ReplicaSet first), or of the namespace when there
/// is no deployment.
pub fn pods(state: &State) -> Vec<&PodRow> {
    let f = &state.nav.pods.filter;
    let all: Vec<&PodRow> = match selected_deployment(state) {
        Some(d) => state.cluster.pods_of(d),
        None => state.cluster.pods_in(&state.namespace).collect(),
    };
    if f.is_empty() {
        return all;
    }
    all.into_iter()
        .filter(|p| {
            matches(f, &p.name)
                || matches(f, &pod_status(p))
                || p.node.as_deref().is_some_and(|n| matches(f, n))
        })
        .collect()
}

/// How many rows the pods list has, without building it when no filter is set.
pub fn pods_count(state: &State) -> usize {
    match selected_deployment(state) {
        Some(d) if state.nav.pods.filter.is_empty() => state.cluster.pod_count_of_deployment(d),
        _ => pods(state).len(),
    }
}

/// Rows `start..start + n` of the pods list: with no filter only those rows are looked up, so
/// drawing 10,000 pods costs what drawing a screenful does.
pub fn pods_page(state: &State, start: usize, n: usize) -> Vec<&PodRow> {
    match selected_deployment(state) {
        Some(d) if state.nav.pods.filter.is_empty() => state
            .cluster
            .pod_keys_of_deployment(d)
            .skip(start)
            .take(n)
            .filter_map(|k| state.cluster.pod_by_key(k))
            .collect(),
        _ => pods(state).into_iter().skip(start).take(n).collect(),
    }
}

/// Where a pod is in the pods list (to keep the cursor on it when pods come and go).
pub fn pod_position(state: &State, key: &ObjectRef) -> Option<usize> {
    match selected_deployment(state) {
        Some(d) if state.nav.pods.filter.is_empty() => state
            .cluster
            .pod_keys_of_deployment(d)
            .position(|k| k == key),
        _ => pods(state)
            .iter()
            .position(|p| p.namespace == key.namespace && p.name == key.name),
    }
}

pub fn selected_pod(state: &State) -> Option<&PodRow> {
    pods_page(state, state.nav.pods.selected, 1)
        .into_iter()
        .next()
}

/// Pod status as kubectl prints it: the first waiting/terminated reason of a container wins
/// over the phase (so ImagePullBackOff is what one reads, not "Pending").
pub fn pod_status(pod: &PodRow) -> String {
    if pod.deleting {
        return "Terminating".to_owned();
    }
    let app = pod.containers.iter().filter(|c| !c.init);
    let init = pod.containers.iter().filter(|c| c.init);
    for c in init.chain(app) {
        match &c.state {
            ContainerState::Waiting { reason, .. } if !reason.is_empty() => {
                return if c.init {
                    format!("Init:{reason}")
                } else {
                    reason.clone()
                };
            }
            ContainerState::Terminated { reason, .. }
                if !c.init && !reason.is_empty() && reason != "Completed" =>
            {
                return reason.clone();
            }
            _ => {}
        }
    }
    pod.phase.clone()
}

/// Whether a status is a failure that must be seen (pull failures, crashes).
pub fn status_is_failure(status: &str) -> bool {
    matches!(
        status.trim_start_matches("Init:"),
        "ImagePullBackOff"
            | "ErrImagePull"
            | "InvalidImageName"
            | "ErrImageNeverPull"
            | "CrashLoopBackOff"
            | "CreateContainerConfigError"
            | "CreateContainerError"
            | "RunContainerError"
            | "Error"
            | "OOMKilled"
            | "Failed"
    )
}

pub fn pod_restarts(pod: &PodRow) -> i32 {
    pod.containers.iter().map(|c| c.restarts).sum()
}

pub fn pod_ready(pod: &PodRow) -> (usize, usize) {
    let app: Vec<_> = pod.containers.iter().filter(|c| !c.init).collect();
    (app.iter().filter(|c| c.ready).count(), app.len())
}

/// The first pod of the deployment that is failing, for `d` on a deployment.
pub fn first_failing_pod(state: &State) -> Option<&PodRow> {
    pods(state)
        .into_iter()
        .find(|p| status_is_failure(&pod_status(p)))
}

/// One row of the rollout timeline.
#[derive(Clone, Copy, Debug)]
pub enum TimelineItem<'a> {
    Event(&'a EventRow),
    Own(&'a JournalEntry),
}

impl TimelineItem<'_> {
    pub fn time(&self) -> Option<Timestamp> {
        match self {
            Self::Event(e) => e.last_seen.or(e.first_seen),
            Self::Own(j) => Some(j.at),
        }
    }

    pub fn level(&self) -> Level {
        match self {
            Self::Event(e) if e.warning => Level::Warning,
            Self::Event(_) => Level::Info,
            Self::Own(j) => j.level,
        }
    }
}

/// What the timeline is about: a deployment (its ReplicaSets and pods too) or the namespace.
pub fn timeline_scope(state: &State) -> String {
    match selected_deployment(state) {
        Some(d) => format!("{}/{}", d.namespace, d.name),
        None => state.namespace.clone(),
    }
}

/// The rollout timeline, oldest first (the pane draws the newest at the bottom).
pub fn timeline(state: &State) -> Vec<TimelineItem<'_>> {
    let f = &state.nav.events.filter;
    let mut items: Vec<TimelineItem<'_>> = Vec::new();
    match selected_deployment(state) {
        Some(d) => {
            items.extend(
                state
                    .cluster
                    .events_of_workload(&d.namespace, &d.name)
                    .map(TimelineItem::Event),
            );
            let me = ObjectRef {
                namespace: d.namespace.clone(),
                name: d.name.clone(),
            };
            items.extend(
                state
                    .journal
                    .iter()
                    .filter(|j| j.subject.as_ref() == Some(&me) || j.subject.is_none())
                    .map(TimelineItem::Own),
            );
        }
        None => {
            let ns = &state.namespace;
            items.extend(state.cluster.events_in(ns).map(TimelineItem::Event));
            items.extend(
                state
                    .journal
                    .iter()
                    .filter(|j| j.namespace.as_ref().is_none_or(|n| n == ns))
                    .map(TimelineItem::Own),
            );
        }
    }
    if !f.is_empty() {
        items.retain(|i| match i {
            TimelineItem::Event(e) => {
                matches(f, &e.reason) || matches(f, &e.message) || matches(f, &e.involved_name)
            }
            TimelineItem::Own(j) => matches(f, &j.text),
        });
    }
    // Same-second items: events in creation order (the stamp in their names), then by uid so
    // the order is stable; ours after the cluster's.
    items.sort_by(|a, b| {
        a.time().cmp(&b.time()).then_with(|| match (a, b) {
            (TimelineItem::Event(x), TimelineItem::Event(y)) => {
                x.order.cmp(&y.order).then_with(|| x.uid.cmp(&y.uid))
            }
            (TimelineItem::Event(_), TimelineItem::Own(_)) => std::cmp::Ordering::Less,
            (TimelineItem::Own(_), TimelineItem::Event(_)) => std::cmp::Ordering::Greater,
            (TimelineItem::Own(_), TimelineItem::Own(_)) => std::cmp::Ordering::Equal,
        })
    });
    items
}

/// Number of rows in the list of `focus` (after filtering).
pub fn len(state: &State, focus: Focus) -> usize {
    match focus {
        Focus::Repositories => repositories(state).len(),
        Focus::Tags => tags(state).len(),
        Focus::Deployments => deployments(state).len(),
        Focus::Pods => pods_count(state),
        Focus::Events => timeline(state).len(),
    }
}

/// The image a deployment's container runs: the container whose image is from `repository`, or
/// the first app container.
pub fn container_for<'a>(
    d: &'a DeploymentRow,
    repository: Option<&str>,
) -> Option<&'a crate::cluster::model::ContainerSpecRow> {
    let app = || d.containers.iter().filter(|c| !c.init);
    repository
        .and_then(|repo| {
            app().find(|c| {
                let (path, _) = split_image(&c.image);
                path == repo || path.ends_with(&format!("/{repo}"))
            })
        })
        .or_else(|| app().next())
}

/// One row of the revision picker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionView {
    pub revision: Option<i64>,
    /// The ReplicaSet or ControllerRevision.
    pub name: String,
    pub created: Option<Timestamp>,
    /// Each image of the template, with the digest its running pods report (or the one it
    /// pins itself).
    pub images: Vec<(String, Option<String>)>,
    /// `kubernetes.io/change-cause`, when the change set it.
    pub change_cause: Option<String>,
    /// The revision the workload runs now.
    pub live: bool,
}

/// The revisions of `dep`, newest first, for the picker.
pub fn revision_rows(
    model: &crate::cluster::store::ClusterModel,
    dep: &DeploymentRow,
) -> Vec<RevisionView> {
    let revisions = model.replica_sets_of(dep);
    let live = dep
        .revision
        .or_else(|| revisions.first().and_then(|r| r.revision));
    revisions
        .into_iter()
        .map(|rs| {
            let pods = model.pods_of_revision(dep, rs);
            let images = rs
                .images
                .iter()
                .map(|image| {
                    let pinned = crate::reference::split_image(image).2.map(str::to_owned);
                    let running = pods
                        .iter()
                        .flat_map(|p| &p.containers)
                        .filter(|c| &c.image == image)
                        .find_map(|c| c.image_id.as_deref())
                        .and_then(crate::reference::digest_of_image_id)
                        .map(str::to_owned);
                    (image.clone(), pinned.or(running))
                })
                .collect();
            RevisionView {
                revision: rs.revision,
                name: rs.name.clone(),
                created: rs.created,
                images,
                change_cause: rs.change_cause.clone(),
                live: rs.revision.is_some() && rs.revision == live,
            }
        })
        .collect()
}

/// `host/repo:tag@digest` → (`host/repo`, reference part). The tag colon is the one after the
/// last `/` (a port colon comes before it).
pub fn split_image(image: &str) -> (&str, &str) {
    let (name, tag, digest) = crate::reference::split_image(image);
    (name, digest.or(tag).unwrap_or("latest"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_image_handles_ports_and_digests() {
        assert_eq!(
            split_image("127.0.0.1:5000/web:1.0.1"),
            ("127.0.0.1:5000/web", "1.0.1")
        );
        assert_eq!(split_image("host/web"), ("host/web", "latest"));
        assert_eq!(
            split_image("host:1/a/b:t@sha256:ab"),
            ("host:1/a/b", "sha256:ab")
        );
        assert_eq!(split_image("host/a@sha256:ab"), ("host/a", "sha256:ab"));
    }

    #[test]
    fn smart_case_filter() {
        assert!(matches("web", "Web-api"));
        assert!(!matches("Web", "web-api"));
        assert!(matches("", "x"));
    }
}
