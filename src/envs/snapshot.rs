//! What one environment runs, read through the one cluster model: per workload the image of
//! each container, the digests its current revision's pods actually run (their `imageID`),
//! the revision, its age and the rollout state.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use super::config::EnvironmentConfig;
use crate::cluster::connect::{self, KubeTarget};
use crate::cluster::follow::{Follow, FollowEnd};
use crate::cluster::model::{DeploymentRow, Kind, RolloutState, WorkloadKind};
use crate::cluster::rollout::state_label;
use crate::cluster::store::ClusterModel;
use crate::cluster::watch::WatchOptions;

/// Everything `envs` and `promote` read of a workload's rollout.
pub const WATCH_KINDS: [Kind; 6] = [
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::ReplicaSet,
    Kind::ControllerRevision,
    Kind::Pod,
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContainerRun {
    pub name: String,
    /// The image the spec names.
    pub image: String,
    /// Its tag, when it has one.
    pub tag: Option<String>,
    /// Its digest pin, when the spec has one.
    pub pinned: Option<String>,
    /// The digests the current revision's pods run (their `imageID`), sorted, one per image
    /// pulled: more than one means pods pulled a tag that moved between them.
    pub running: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkloadRun {
    pub kind: WorkloadKind,
    pub namespace: String,
    pub name: String,
    pub revision: Option<i64>,
    /// When the current revision was made (its ReplicaSet or ControllerRevision).
    pub since: Option<Timestamp>,
    /// `complete`, `progressing`, `stuck`, … (`berth rollout status`'s words).
    pub state: &'static str,
    /// Why it is stuck, or how far it is, when it is not complete.
    pub detail: Option<String>,
    pub desired: i32,
    pub ready: i32,
    /// Helm, Argo CD or Flux, when one manages it.
    pub managed_by: Option<String>,
    pub containers: Vec<ContainerRun>,
}

impl WorkloadRun {
    /// `deploy/web`, as kubectl writes it.
    pub fn label(&self) -> String {
        format!("{}/{}", self.kind.short(), self.name)
    }

    pub fn container(&self, name: &str) -> Option<&ContainerRun> {
        self.containers.iter().find(|c| c.name == name)
    }
}

/// How reading an environment went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "error", rename_all = "snake_case")]
pub enum Reach {
    Live,
    /// Not reached (no such context, apiserver down, timed out, refused): what was said.
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnvSnapshot {
    pub name: String,
    pub context: String,
    pub namespaces: Vec<String>,
    pub reach: Reach,
    pub workloads: Vec<WorkloadRun>,
}

impl EnvSnapshot {
    pub fn workload(&self, kind: WorkloadKind, name: &str) -> Option<&WorkloadRun> {
        self.workloads
            .iter()
            .find(|w| w.kind == kind && w.name == name)
    }
}

/// The workloads of `namespaces` as the model holds them (pure: tests build the model by
/// hand).
pub fn workloads_of(model: &ClusterModel, namespaces: &[String]) -> Vec<WorkloadRun> {
    let mut out: Vec<WorkloadRun> = model
        .deployments()
        .filter(|d| namespaces.contains(&d.namespace))
        .map(|d| workload_run(model, d))
        .collect();
    out.sort_by(|a, b| (&a.name, a.kind, &a.namespace).cmp(&(&b.name, b.kind, &b.namespace)));
    out
}

fn workload_run(model: &ClusterModel, d: &DeploymentRow) -> WorkloadRun {
    let revisions = model.revisions(d);
    let current = revisions.iter().find(|r| r.current);
    let containers = d
        .containers
        .iter()
        .filter(|c| !c.init)
        .map(|c| {
            let (_, tag, pinned) = crate::reference::split_image(&c.image);
            let mut running: Vec<String> = current
                .into_iter()
                .flat_map(|r| r.pods.iter())
                .flat_map(|p| p.containers.iter())
                .filter(|pc| pc.name == c.name && !pc.init)
                .filter_map(|pc| pc.image_id.as_deref())
                .filter_map(crate::reference::digest_of_image_id)
                .map(str::to_owned)
                .collect();
            running.sort();
            running.dedup();
            ContainerRun {
                name: c.name.clone(),
                image: c.image.clone(),
                tag: tag.map(str::to_owned),
                pinned: pinned.map(str::to_owned),
                running,
            }
        })
        .collect();
    let detail = match &d.rollout {
        RolloutState::Stuck { reason, message } => Some(format!("{reason}: {message}")),
        RolloutState::Progressing { message } => Some(message.clone()),
        _ => None,
    };
    WorkloadRun {
        kind: d.kind,
        namespace: d.namespace.clone(),
        name: d.name.clone(),
        revision: d.revision.or(current.and_then(|r| r.revision)),
        since: current.and_then(|r| r.replica_set.created),
        state: state_label(&d.rollout),
        detail,
        desired: d.desired,
        ready: d.ready,
        managed_by: d.owner.as_ref().map(|o| o.managed_by()),
        containers,
    }
}

/// Where berth reaches clusters when an environment does not say (the top-level flags and
/// config.toml's `[cluster]`).
#[derive(Clone, Debug, Default)]
pub struct KubeDefaults {
    pub kubeconfig: Option<std::path::PathBuf>,
    pub context: Option<String>,
}

/// An environment's cluster, with the namespaces it means.
pub struct Reached {
    pub target: KubeTarget,
    pub namespaces: Vec<String>,
}

/// Connects to the environment's context.
pub async fn reach(env: &EnvironmentConfig, defaults: &KubeDefaults) -> Result<Reached, String> {
    let kubeconfig: Option<&Path> = env.kubeconfig.as_deref().or(defaults.kubeconfig.as_deref());
    let context = env.context.as_deref().or(defaults.context.as_deref());
    let target = connect::connect(kubeconfig, context)
        .await
        .map_err(|e| e.to_string())?;
    let mut namespaces = env.namespace_list();
    if namespaces.is_empty() {
        namespaces.push(target.default_namespace.clone());
    }
    Ok(Reached { target, namespaces })
}

/// Lists the environment's namespaces once into a model and reads its workloads. Never
/// fails: an environment that cannot be read says why in [`Reach::Failed`].
pub async fn read(
    env: &EnvironmentConfig,
    defaults: &KubeDefaults,
    timeout: Duration,
) -> EnvSnapshot {
    let failed = |context: String, namespaces: Vec<String>, error: String| EnvSnapshot {
        name: env.name.clone(),
        context,
        namespaces,
        reach: Reach::Failed(error),
        workloads: Vec::new(),
    };
    let wanted_context = env
        .context
        .clone()
        .or(defaults.context.clone())
        .unwrap_or_else(|| "(current)".to_owned());
    let reached = match tokio::time::timeout(timeout, reach(env, defaults)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return failed(wanted_context, env.namespace_list(), e),
        Err(_) => {
            return failed(
                wanted_context,
                env.namespace_list(),
                format!("no answer within {}s", timeout.as_secs()),
            );
        }
    };
    let options = WatchOptions {
        namespaces: Some(reached.namespaces.clone()),
        kinds: WATCH_KINDS.to_vec(),
    };
    let mut follow = Follow::start(reached.target.client.clone(), &options);
    let context = reached.target.context.clone();
    match follow.until(timeout, |_| true).await {
        FollowEnd::Done => EnvSnapshot {
            name: env.name.clone(),
            context,
            workloads: workloads_of(follow.model(), &reached.namespaces),
            namespaces: reached.namespaces,
            reach: Reach::Live,
        },
        FollowEnd::Forbidden(e) => failed(context, reached.namespaces, e),
        FollowEnd::TimedOut => {
            let why = match follow.model().connection() {
                crate::cluster::model::ConnectionState::Stale { error, .. }
                | crate::cluster::model::ConnectionState::Reconnecting { error, .. } => error,
                _ => "the watches had not listed yet".to_owned(),
            };
            failed(
                context,
                reached.namespaces,
                format!("not listed within {}s: {why}", timeout.as_secs()),
            )
        }
    }
}

/// Every environment at once: one that fails or hangs holds up none of the others.
pub async fn read_all(
    envs: &[EnvironmentConfig],
    defaults: &KubeDefaults,
    timeout: Duration,
) -> Vec<EnvSnapshot> {
    futures::future::join_all(envs.iter().map(|e| read(e, defaults, timeout))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::model::{
        ContainerRow, ContainerSpecRow, ModelEvent, ModelUpdate, PodRow, ReplicaSetRow, Row,
    };

    fn apply(model: &mut ClusterModel, row: Row) {
        model.apply(ModelUpdate {
            epoch: model.epoch(),
            event: ModelEvent::Upsert(row),
        });
    }

    /// A complete deployment `web` in `ns` whose two pods ran `digests`.
    fn model_with(ns: &str, image: &str, digests: &[&str]) -> ClusterModel {
        let mut m = ClusterModel::new(1);
        apply(
            &mut m,
            Row::Workload(DeploymentRow {
                namespace: ns.into(),
                name: "web".into(),
                uid: "d1".into(),
                generation: 2,
                observed_generation: 2,
                desired: 2,
                replicas: 2,
                updated: 2,
                ready: 2,
                available: 2,
                revision: Some(2),
                containers: vec![ContainerSpecRow {
                    name: "web".into(),
                    image: image.into(),
                    init: false,
                }],
                ..Default::default()
            }),
        );
        apply(
            &mut m,
            Row::ReplicaSet(ReplicaSetRow {
                namespace: ns.into(),
                name: "web-abc".into(),
                uid: "rs2".into(),
                owner_uid: Some("d1".into()),
                revision: Some(2),
                desired: 2,
                ready: 2,
                available: 2,
                images: vec![image.into()],
                pod_template_hash: Some("abc".into()),
                created: Some(Timestamp::from_second(1_700_000_000).unwrap()),
                ..Default::default()
            }),
        );
        for (i, d) in digests.iter().enumerate() {
            apply(
                &mut m,
                Row::Pod(PodRow {
                    namespace: ns.into(),
                    name: format!("web-abc-{i}"),
                    uid: format!("p{i}"),
                    owner_uid: Some("rs2".into()),
                    workload: Some("web".into()),
                    phase: "Running".into(),
                    pod_template_hash: Some("abc".into()),
                    containers: vec![ContainerRow {
                        name: "web".into(),
                        image: image.into(),
                        image_id: Some(format!("reg.io/web@{d}")),
                        ready: true,
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            );
        }
        m
    }

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn the_running_digest_comes_from_the_current_pods() {
        let m = model_with("prod", "reg.io/web:1.0", &[D1, D1]);
        let w = workloads_of(&m, &["prod".into()]);
        assert_eq!(w.len(), 1);
        let web = &w[0];
        assert_eq!(web.label(), "deploy/web");
        assert_eq!(web.revision, Some(2));
        assert_eq!(web.containers[0].tag.as_deref(), Some("1.0"));
        assert_eq!(web.containers[0].running, [D1]);
        assert_eq!(
            web.since,
            Some(Timestamp::from_second(1_700_000_000).unwrap())
        );
        // Another namespace's workloads are not this environment's.
        assert!(workloads_of(&m, &["dev".into()]).is_empty());
    }

    #[test]
    fn pods_that_pulled_a_moving_tag_show_every_digest() {
        let m = model_with("prod", "reg.io/web:1.0", &[D2, D1, D2]);
        let w = workloads_of(&m, &["prod".into()]);
        assert_eq!(w[0].containers[0].running, [D1, D2]);
    }
}
