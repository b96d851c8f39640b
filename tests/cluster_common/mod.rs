//! Helpers shared by the cluster integration tests (`tests/cluster_*.rs`): a live model running
//! on its own thread, action contexts, deployments and pull secrets, and the apiserver lock.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use berth::audit::AuditLog;
use berth::cluster::actions::ActionContext;
use berth::cluster::connect::{self, KubeTarget};
use berth::cluster::model::{Kind, ModelUpdate};
use berth::cluster::store::ClusterModel;
use berth::cluster::watch::{WatchOptions, Watchers};
use berth::secret::Secret;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::{Env, kubectl_stdin, wait_for};

/// One runtime per test binary for the library's async calls.
pub fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

pub fn target(kubeconfig: &Path) -> KubeTarget {
    rt().block_on(connect::connect(Some(kubeconfig), None))
        .unwrap_or_else(|e| panic!("connect with {}: {e}", kubeconfig.display()))
}

pub fn admin() -> KubeTarget {
    target(&Env::get().kubeconfig())
}

pub fn readonly() -> KubeTarget {
    target(&Env::get().kubeconfig_readonly())
}

/// An audit log of the test's own, in a temp dir kept for the test's lifetime.
pub struct Audit {
    pub dir: tempfile::TempDir,
    pub log: AuditLog,
}

impl Audit {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        Self { dir, log }
    }

    /// The records that end an action (results, and the one record of an action that wrote
    /// nothing), oldest first. Every intent has its result, and every line is a record.
    pub fn records(&self) -> Vec<Value> {
        finished_records(&self.log)
    }
}

/// [`Audit::records`] of any audit log.
pub fn finished_records(log: &AuditLog) -> Vec<Value> {
    let read = log.read_records().expect("read the audit log");
    assert!(read.skipped.is_empty(), "torn lines: {:?}", read.skipped);
    let unfinished = read.unfinished();
    assert!(
        unfinished.is_empty(),
        "intents without a result: {unfinished:?}"
    );
    read.finished()
        .into_iter()
        .map(|r| serde_json::to_value(r).expect("a record is JSON"))
        .collect()
}

pub fn action_ctx(t: &KubeTarget, audit: &Audit, dry_run: bool) -> ActionContext {
    ActionContext {
        client: t.client.clone(),
        actor: rt().block_on(connect::identity(t)),
        audit: audit.log.clone(),
        dry_run,
        owner_policy: Default::default(),
    }
}

/// The live model on the shared runtime; the test thread reads it through the mutex.
pub struct LiveModel {
    pub model: Arc<Mutex<ClusterModel>>,
    watchers: Option<Watchers>,
    pump: tokio::task::JoinHandle<()>,
}

impl LiveModel {
    pub fn start(t: &KubeTarget, namespaces: Option<Vec<String>>, kinds: &[Kind]) -> Self {
        let (tx, mut rx) = mpsc::channel::<ModelUpdate>(4096);
        let options = WatchOptions {
            namespaces,
            kinds: kinds.to_vec(),
        };
        let watchers = {
            let _guard = rt().enter();
            Watchers::spawn(t.client.clone(), &options, 1, tx)
        };
        let model = Arc::new(Mutex::new(ClusterModel::new(watchers.epoch())));
        let m = model.clone();
        let pump = rt().spawn(async move {
            let mut batch = Vec::new();
            while rx.recv_many(&mut batch, 512).await > 0 {
                let mut guard = m.lock().unwrap();
                for u in batch.drain(..) {
                    guard.apply(u);
                }
            }
        });
        Self {
            model,
            watchers: Some(watchers),
            pump,
        }
    }

    /// Polls the model until `check` returns Ok, panicking with the last state after `timeout`.
    pub fn wait<T>(
        &self,
        desc: &str,
        timeout: Duration,
        mut check: impl FnMut(&ClusterModel) -> Result<T, String>,
    ) -> T {
        wait_for(desc, timeout, || check(&self.model.lock().unwrap()))
    }

    pub fn with<T>(&self, f: impl FnOnce(&ClusterModel) -> T) -> T {
        f(&self.model.lock().unwrap())
    }
}

impl Drop for LiveModel {
    fn drop(&mut self) {
        drop(self.watchers.take());
        self.pump.abort();
    }
}

/// A Deployment pulling `image` with `pull_secret`, rolling one pod at a time.
pub fn deployment_json(name: &str, image: &str, pull_secret: Option<&str>, replicas: i32) -> Value {
    let mut spec = json!({
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "app", "image": image, "imagePullPolicy": "IfNotPresent"}]
    });
    if let Some(s) = pull_secret {
        spec["imagePullSecrets"] = json!([{"name": s}]);
    }
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec}
        }
    })
}

pub fn create(ns: &str, obj: &Value) {
    kubectl_stdin(["-n", ns, "apply", "-f", "-"], &obj.to_string());
}

/// A pull secret exactly as `kubectl create secret docker-registry` writes it, sent on stdin so
/// the password never appears on a command line.
pub fn create_pull_secret(ns: &str, name: &str, server: &str, user: &str, password: &Secret) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let auth = b64.encode(format!("{user}:{}", password.expose()));
    let config =
        json!({"auths": {server: {"username": user, "password": password.expose(), "auth": auth}}});
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": name},
        "data": {".dockerconfigjson": b64.encode(config.to_string())}
    });
    kubectl_stdin(["-n", ns, "create", "-f", "-"], &secret.to_string());
}

/// The admin pull secret (the env's `password` slot, which no test rotates).
pub fn admin_pull_secret(ns: &str, name: &str) {
    let env = Env::get();
    create_pull_secret(
        ns,
        name,
        env.acr_host(),
        env.var("BERTH_ACR_ADMIN_USER"),
        &env.secret("BERTH_ACR_ADMIN_PASSWORD"),
    );
}

pub fn acr_image(repo_tag: &str) -> String {
    format!("{}/{repo_tag}", Env::get().acr_host())
}

/// Cluster tests hold this shared lock; the apiserver-restart test takes it exclusively, so it
/// never kills the apiserver under another cluster test of ours.
#[allow(clippy::incompatible_msrv)]
pub fn apiserver_lock(exclusive: bool) -> File {
    let path: PathBuf = Env::get().dir().join("cluster-apiserver.lock");
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    if exclusive { f.lock() } else { f.lock_shared() }
        .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
    f
}

/// The names of the pods labelled `app=APP` in `ns`, sorted (kubectl's view).
pub fn pod_names(ns: &str, app: &str) -> Vec<String> {
    let mut v: Vec<String> = crate::support::kubectl([
        "-n",
        ns,
        "get",
        "pods",
        "-l",
        &format!("app={app}"),
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}",
    ])
    .lines()
    .map(str::to_owned)
    .collect();
    v.sort();
    v
}

/// A Deployment of `replicas` pods of the local busybox image (never pulled) whose one
/// container `app` runs `script`; rolls one new pod at a time, old ones kept until it is ready.
pub fn busybox_deployment(name: &str, replicas: i32, script: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{
                        "name": "app",
                        "image": "registry.berth.local/pause:1",
                        "imagePullPolicy": "Never",
                        "command": ["/bin/busybox", "sh", "-c", script]
                    }]
                }
            }
        }
    })
}
