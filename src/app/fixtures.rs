//! Demo content shaped like the real model: used by the UI snapshot tests, the state tests, the
//! draw benchmark and a demo screen. Deterministic (fixed clock, digests derived from names).

use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

use super::action::{Action, ClusterUpdate, ConnState, RegistryUpdate};
use super::effects::PasswordSlot;
use super::state::State;
use super::update::update;
use crate::cluster::model::{
    ConnectionState, ContainerRow, ContainerSpecRow, ContainerState, DeploymentRow, EventRow, Kind,
    ModelEvent, ModelUpdate, NamespaceRow, PodRow, ReplicaSetRow, RolloutState, Row, SecretMetaRow,
    ServiceAccountRow, WatchScope,
};
use crate::registry::types::{Platform, RepositoryRow, TagRow};

pub const REGISTRY: &str = "berthacr.azurecr.io";
pub const NOW: &str = "2026-11-23T10:00:00Z";

pub fn now() -> Timestamp {
    NOW.parse().expect("fixed time parses")
}

fn ago(secs: i64) -> Option<Timestamp> {
    Some(now() - SignedDuration::from_secs(secs))
}

/// A stable fake digest for a name.
pub fn digest(seed: &str) -> String {
    let h = Sha256::digest(seed.as_bytes());
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn tag(repo: &str, name: &str, digest_seed: &str, age_secs: i64, platforms: &[&str]) -> TagRow {
    TagRow {
        repository: repo.into(),
        name: name.into(),
        digest: Some(digest(digest_seed)),
        created: ago(age_secs),
        updated: ago(age_secs),
        media_type: Some("application/vnd.oci.image.manifest.v1+json".into()),
        platforms: platforms
            .iter()
            .map(|p| {
                let (os, arch) = p.split_once('/').unwrap_or(("linux", p));
                Platform {
                    os: os.into(),
                    architecture: arch.into(),
                    variant: None,
                }
            })
            .collect(),
        size: Some(2_400_000),
        attributes: None,
    }
}

pub fn registry_actions() -> Vec<Action> {
    let repos = ["api", "tools/armonly", "tools/multiarch", "web", "worker"];
    let mut out = vec![
        Action::Registry(RegistryUpdate::Connection(ConnState::Live)),
        Action::Registry(RegistryUpdate::SlotInUse(PasswordSlot::Password)),
        Action::Registry(RegistryUpdate::Repositories {
            registry: REGISTRY.into(),
            repositories: repos
                .iter()
                .map(|r| RepositoryRow { name: (*r).into() })
                .collect(),
        }),
    ];
    let mut web: Vec<TagRow> = (0..30)
        .map(|i| {
            tag(
                "web",
                &format!("1.0.{i}"),
                &format!("web:1.0.{i}"),
                (29 - i) * 3600 + 600,
                &[],
            )
        })
        .collect();
    web.push(tag("web", "latest", "web:1.0.29", 600, &[]));
    out.push(Action::Registry(RegistryUpdate::Tags {
        repository: "web".into(),
        tags: web,
    }));
    out.push(Action::Registry(RegistryUpdate::Tags {
        repository: "api".into(),
        tags: vec![
            tag("api", "2.0.0", "api:2.0.0", 9 * 86400, &[]),
            tag("api", "2.1.0", "api:2.1.0", 5 * 86400, &[]),
            tag("api", "2.2.0", "api:2.2.0", 2 * 86400, &[]),
        ],
    }));
    out.push(Action::Registry(RegistryUpdate::Tags {
        repository: "tools/multiarch".into(),
        tags: vec![tag(
            "tools/multiarch",
            "1.0",
            "multiarch:1.0",
            40 * 86400,
            &["linux/amd64", "linux/arm64"],
        )],
    }));
    out
}

fn container(
    name: &str,
    image: &str,
    state: ContainerState,
    ready: bool,
    restarts: i32,
) -> ContainerRow {
    let pulled = matches!(state, ContainerState::Running { .. });
    let (path, reference) = crate::app::view::split_image(image);
    let short = path.rsplit('/').next().unwrap_or(path);
    ContainerRow {
        name: name.into(),
        init: false,
        image: image.into(),
        image_id: pulled.then(|| format!("{path}@{}", digest(&format!("{short}:{reference}")))),
        ready,
        restarts,
        state,
    }
}

fn running() -> ContainerState {
    ContainerState::Running { since: ago(3000) }
}

struct Dep<'a> {
    name: &'a str,
    image: &'a str,
    desired: i32,
    ready: i32,
    revision: i64,
    /// The Progressing condition (status, reason, message), as the controller sets it; the
    /// rollout state itself is derived by the model from this and the pods, never set here.
    progressing: Option<(&'a str, &'a str, &'a str)>,
    paused: bool,
}

fn deployment(ns: &str, d: &Dep<'_>) -> DeploymentRow {
    DeploymentRow {
        namespace: ns.into(),
        name: d.name.into(),
        uid: format!("uid-deploy-{ns}-{}", d.name),
        generation: d.revision,
        observed_generation: d.revision,
        desired: d.desired,
        replicas: d.desired,
        updated: d.desired.min(d.ready + 1),
        ready: d.ready,
        available: d.ready,
        unavailable: d.desired - d.ready,
        paused: d.paused,
        revision: Some(d.revision),
        containers: vec![ContainerSpecRow {
            name: d.name.into(),
            image: d.image.into(),
            init: false,
        }],
        progressing: d
            .progressing
            .map(|(s, r, m)| (s.to_owned(), r.to_owned(), m.to_owned())),
        progress_deadline_seconds: Some(600),
        resource_version: "1000".into(),
        created: ago(30 * 86400),
        rollout: RolloutState::default(),
        ..Default::default()
    }
}

#[allow(clippy::too_many_arguments)]
fn rs(
    ns: &str,
    dep: &str,
    hash: &str,
    revision: i64,
    desired: i32,
    ready: i32,
    image: &str,
    age: i64,
) -> ReplicaSetRow {
    ReplicaSetRow {
        controller_revision: false,
        namespace: ns.into(),
        name: format!("{dep}-{hash}"),
        uid: format!("uid-rs-{ns}-{dep}-{hash}"),
        owner_uid: Some(format!("uid-deploy-{ns}-{dep}")),
        revision: Some(revision),
        desired,
        ready,
        available: ready,
        images: vec![image.into()],
        pod_template_hash: Some(hash.into()),
        change_cause: (revision == 4).then(|| format!("image {image} (CI pipeline 1842)")),
        created: ago(age),
    }
}

fn pod(
    ns: &str,
    dep: &str,
    hash: &str,
    suffix: &str,
    c: ContainerRow,
    age: i64,
    node: Option<&str>,
) -> PodRow {
    let phase = match c.state {
        ContainerState::Running { .. } => "Running",
        _ => "Pending",
    };
    PodRow {
        namespace: ns.into(),
        name: format!("{dep}-{hash}-{suffix}"),
        uid: format!("uid-pod-{ns}-{dep}-{hash}-{suffix}"),
        owner_uid: Some(format!("uid-rs-{ns}-{dep}-{hash}")),
        workload: Some(dep.into()),
        revision_hash: None,
        phase: phase.into(),
        node: node.map(str::to_owned),
        service_account: "default".into(),
        image_pull_secrets: vec![],
        containers: vec![c],
        pod_template_hash: Some(hash.into()),
        created: ago(age),
        deleting: false,
    }
}

#[allow(clippy::too_many_arguments)]
fn event(
    ns: &str,
    uid: &str,
    kind: &str,
    name: &str,
    reason: &str,
    message: &str,
    warning: bool,
    count: i32,
    age: i64,
) -> EventRow {
    let involved_uid = match kind {
        "Deployment" => format!("uid-deploy-{ns}-{name}"),
        "ReplicaSet" => {
            let (dep, hash) = name.rsplit_once('-').unwrap_or((name, ""));
            format!("uid-rs-{ns}-{dep}-{hash}")
        }
        _ => {
            let mut parts = name.rsplitn(3, '-');
            let suffix = parts.next().unwrap_or("");
            let hash = parts.next().unwrap_or("");
            let dep = parts.next().unwrap_or("");
            format!("uid-pod-{ns}-{dep}-{hash}-{suffix}")
        }
    };
    EventRow {
        namespace: ns.into(),
        uid: uid.into(),
        involved_kind: kind.into(),
        involved_name: name.into(),
        involved_uid,
        reason: reason.into(),
        message: message.into(),
        warning,
        count,
        first_seen: ago(age + 60 * (count as i64 - 1)),
        last_seen: ago(age),
        source: if kind == "Pod" {
            "kubelet"
        } else {
            "deployment-controller"
        }
        .into(),
        order: 0,
    }
}

pub fn cluster_actions() -> Vec<Action> {
    let ns = "shop";
    let img = |r: &str| format!("{REGISTRY}/{r}");
    let node = Some("aks-nodepool1-31718369-vmss000000");
    let mut objs: Vec<Row> = Vec::new();
    for n in ["default", "kube-system", "shop", "staging"] {
        objs.push(Row::Namespace(NamespaceRow {
            name: n.into(),
            phase: "Active".into(),
        }));
    }
    let deps = [
        Dep {
            name: "api",
            image: &img("api:2.3.0"),
            desired: 2,
            ready: 1,
            revision: 3,
            // Its new pod waits in ImagePullBackOff: the model calls that stuck at once.
            progressing: Some((
                "True",
                "ReplicaSetUpdated",
                "ReplicaSet \"api-5f7d9c8b6\" is progressing.",
            )),
            paused: false,
        },
        Dep {
            name: "checkout",
            image: &img("web:1.0.29"),
            desired: 3,
            ready: 2,
            revision: 7,
            progressing: Some((
                "True",
                "ReplicaSetUpdated",
                "ReplicaSet \"checkout-66d9b7f4c\" is progressing.",
            )),
            paused: false,
        },
        Dep {
            name: "web",
            image: &img("web:1.0.28"),
            desired: 3,
            ready: 3,
            revision: 4,
            progressing: Some((
                "True",
                "NewReplicaSetAvailable",
                "ReplicaSet \"web-7c9f8d6b5\" has successfully progressed.",
            )),
            paused: false,
        },
        Dep {
            name: "worker",
            image: &img("worker:1.0"),
            // Paused mid-rollout (a paused deployment that has finished is complete).
            desired: 2,
            ready: 1,
            revision: 2,
            progressing: Some(("Unknown", "DeploymentPaused", "Deployment is paused")),
            paused: true,
        },
    ];
    for d in &deps {
        objs.push(Row::Workload(deployment(ns, d)));
    }
    let rss = [
        rs(ns, "web", "7c9f8d6b5", 4, 3, 3, &img("web:1.0.28"), 7200),
        rs(ns, "web", "6b8e7c5a4", 3, 0, 0, &img("web:1.0.27"), 86400),
        rs(
            ns,
            "web",
            "59d7b4f93",
            2,
            0,
            0,
            &img("web:1.0.20"),
            5 * 86400,
        ),
        rs(ns, "api", "5f7d9c8b6", 3, 1, 0, &img("api:2.3.0"), 900),
        rs(
            ns,
            "api",
            "84c6d5e72",
            2,
            1,
            1,
            &img("api:2.2.0"),
            2 * 86400,
        ),
        rs(
            ns,
            "checkout",
            "66d9b7f4c",
            7,
            3,
            2,
            &img("web:1.0.29"),
            120,
        ),
        rs(
            ns,
            "checkout",
            "7f5c8e9d1",
            6,
            1,
            1,
            &img("web:1.0.28"),
            86400,
        ),
        rs(
            ns,
            "worker",
            "6c7d8e9f0",
            2,
            1,
            1,
            &img("worker:1.0"),
            3 * 86400,
        ),
    ];
    for r in rss {
        objs.push(Row::ReplicaSet(r));
    }
    let pull_fail = || ContainerState::Waiting {
        reason: "ImagePullBackOff".into(),
        message: format!("Back-off pulling image \"{REGISTRY}/api:2.3.0\""),
    };
    let pods = [
        pod(
            ns,
            "web",
            "7c9f8d6b5",
            "2xkqp",
            container("web", &img("web:1.0.28"), running(), true, 0),
            7100,
            node,
        ),
        pod(
            ns,
            "web",
            "7c9f8d6b5",
            "8hzvm",
            container("web", &img("web:1.0.28"), running(), true, 0),
            7000,
            node,
        ),
        pod(
            ns,
            "web",
            "7c9f8d6b5",
            "tq4wd",
            container("web", &img("web:1.0.28"), running(), true, 2),
            6900,
            node,
        ),
        pod(
            ns,
            "api",
            "5f7d9c8b6",
            "vn2lx",
            container("api", &img("api:2.3.0"), pull_fail(), false, 0),
            900,
            node,
        ),
        pod(
            ns,
            "api",
            "84c6d5e72",
            "k9d3s",
            container("api", &img("api:2.2.0"), running(), true, 0),
            2 * 86400,
            node,
        ),
        pod(
            ns,
            "checkout",
            "66d9b7f4c",
            "c5n8r",
            container("checkout", &img("web:1.0.29"), running(), true, 0),
            110,
            node,
        ),
        pod(
            ns,
            "checkout",
            "66d9b7f4c",
            "f2m7t",
            container("checkout", &img("web:1.0.29"), running(), true, 0),
            80,
            node,
        ),
        pod(
            ns,
            "checkout",
            "66d9b7f4c",
            "x7p4b",
            container(
                "checkout",
                &img("web:1.0.29"),
                ContainerState::Waiting {
                    reason: "ContainerCreating".into(),
                    message: String::new(),
                },
                false,
                0,
            ),
            20,
            node,
        ),
        pod(
            ns,
            "checkout",
            "7f5c8e9d1",
            "j3h6w",
            container("checkout", &img("web:1.0.28"), running(), true, 0),
            86400,
            node,
        ),
        pod(
            ns,
            "worker",
            "6c7d8e9f0",
            "r8s2n",
            container("worker", &img("worker:1.0"), running(), true, 0),
            3 * 86400,
            node,
        ),
    ];
    for p in pods {
        objs.push(Row::Pod(p));
    }
    let evs = [
        event(
            ns,
            "e01",
            "Deployment",
            "web",
            "ScalingReplicaSet",
            "Scaled up replica set web-7c9f8d6b5 to 1",
            false,
            1,
            7200,
        ),
        event(
            ns,
            "e02",
            "Pod",
            "web-7c9f8d6b5-2xkqp",
            "Pulled",
            &format!("Successfully pulled image \"{REGISTRY}/web:1.0.28\" in 1.2s"),
            false,
            1,
            7090,
        ),
        event(
            ns,
            "e03",
            "Deployment",
            "web",
            "ScalingReplicaSet",
            "Scaled down replica set web-6b8e7c5a4 to 0 from 1",
            false,
            1,
            6800,
        ),
        event(
            ns,
            "e04",
            "Pod",
            "web-7c9f8d6b5-tq4wd",
            "BackOff",
            "Back-off restarting failed container web in pod web-7c9f8d6b5-tq4wd",
            true,
            2,
            6500,
        ),
        event(
            ns,
            "e05",
            "Deployment",
            "api",
            "ScalingReplicaSet",
            "Scaled up replica set api-5f7d9c8b6 to 1",
            false,
            1,
            900,
        ),
        event(
            ns,
            "e06",
            "Pod",
            "api-5f7d9c8b6-vn2lx",
            "Pulling",
            &format!("Pulling image \"{REGISTRY}/api:2.3.0\""),
            false,
            4,
            300,
        ),
        event(
            ns,
            "e07",
            "Pod",
            "api-5f7d9c8b6-vn2lx",
            "Failed",
            &format!(
                "Failed to pull image \"{REGISTRY}/api:2.3.0\": rpc error: code = NotFound desc = failed to resolve reference \"{REGISTRY}/api:2.3.0\": not found"
            ),
            true,
            4,
            290,
        ),
        event(
            ns,
            "e08",
            "Pod",
            "api-5f7d9c8b6-vn2lx",
            "BackOff",
            &format!("Back-off pulling image \"{REGISTRY}/api:2.3.0\""),
            true,
            12,
            30,
        ),
        event(
            ns,
            "e09",
            "Deployment",
            "checkout",
            "ScalingReplicaSet",
            "Scaled up replica set checkout-66d9b7f4c to 3",
            false,
            1,
            60,
        ),
        event(
            ns,
            "e10",
            "Pod",
            "checkout-66d9b7f4c-x7p4b",
            "Pulling",
            &format!("Pulling image \"{REGISTRY}/web:1.0.29\""),
            false,
            1,
            15,
        ),
    ];
    for e in evs {
        objs.push(Row::Event(e));
    }
    for n in ["shop", "staging"] {
        objs.push(Row::SecretMeta(SecretMetaRow {
            namespace: n.into(),
            name: "acr-pull".into(),
            type_: "kubernetes.io/dockerconfigjson".into(),
        }));
        objs.push(Row::ServiceAccount(ServiceAccountRow {
            namespace: n.into(),
            name: "default".into(),
            image_pull_secrets: if n == "staging" {
                vec!["acr-pull".into()]
            } else {
                vec![]
            },
        }));
    }
    let mut out = vec![
        Action::Cluster(ClusterUpdate::Contexts {
            contexts: vec![
                "aks-prod".into(),
                "aks-staging".into(),
                "berth-admin".into(),
            ],
            current: "aks-prod".into(),
        }),
        Action::Cluster(ClusterUpdate::Namespace(ns.into())),
    ];
    // Each kind as a watcher's initial list, then its connection goes live.
    for kind in Kind::ALL {
        let scope = WatchScope::new(kind, None);
        let rows: Vec<Row> = objs.iter().filter(|o| o.kind() == kind).cloned().collect();
        out.push(model(ModelEvent::Resynced {
            scope: scope.clone(),
            rows,
            at: now(),
        }));
        out.push(model(ModelEvent::Connection {
            scope,
            state: ConnectionState::Live,
        }));
    }
    out
}

/// A watcher message of the first epoch, as the cluster watchers would send it.
pub fn model(event: ModelEvent) -> Action {
    Action::from(ModelUpdate { epoch: 0, event })
}

/// A state with the demo registry and cluster loaded, at `size`, the cursor on deployment `web`
/// and repository `web`. Effects produced while loading are dropped (nothing runs them here).
pub fn demo_state(width: u16, height: u16) -> State {
    let mut s = State::new(now());
    update(&mut s, Action::Resize { width, height });
    for a in registry_actions().into_iter().chain(cluster_actions()) {
        update(&mut s, a);
    }
    // Select repository `web` and deployment `web` the way a user would (palette).
    select(&mut s, "repo web");
    select(&mut s, "ns shop");
    s.focus = super::state::Focus::Deployments;
    let idx = super::view::deployments(&s)
        .iter()
        .position(|d| d.name == "web")
        .unwrap_or(0);
    for _ in 0..idx {
        update(&mut s, Action::Command(super::keymap::Command::Down));
    }
    s.tasks.clear();
    s.journal.clear();
    s.notices.clear();
    s
}

fn select(s: &mut State, cmd: &str) {
    use super::keymap::Command;
    update(s, Action::Command(Command::Palette));
    for c in cmd.chars() {
        update(
            s,
            Action::Key(crossterm::event::KeyEvent::from(
                crossterm::event::KeyCode::Char(c),
            )),
        );
    }
    update(
        s,
        Action::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Enter,
        )),
    );
}

/// `n` more pods for deployment `web` in `shop` (benchmarks: 10,000 pods must draw in ≤ 2 ms).
pub fn add_pods(s: &mut State, n: usize) {
    let node = Some("aks-nodepool1-31718369-vmss000001");
    let objects: Vec<Row> = (0..n)
        .map(|i| {
            let c = if i % 97 == 0 {
                container(
                    "web",
                    &format!("{REGISTRY}/web:1.0.29"),
                    ContainerState::Waiting {
                        reason: "ImagePullBackOff".into(),
                        message: String::new(),
                    },
                    false,
                    0,
                )
            } else {
                container(
                    "web",
                    &format!("{REGISTRY}/web:1.0.28"),
                    running(),
                    true,
                    i as i32 % 3,
                )
            };
            Row::Pod(pod(
                "shop",
                "web",
                "7c9f8d6b5",
                &format!("{i:05}"),
                c,
                3600 + i as i64,
                node,
            ))
        })
        .collect();
    for o in objects {
        update(s, model(ModelEvent::Upsert(o)));
    }
}
