//! The watcher tasks: per kind (and per configured namespace) one task running a kube-rs
//! `watcher`, converting each object to a slim row at once and sending a small
//! [`ModelUpdate`] to whoever owns the [`super::store::ClusterModel`]. Never polls.
//!
//! Recovery: a watch that errors (apiserver gone, 410 Gone, network, 403) is reported as
//! `Reconnecting`/`Forbidden`, then, after kube-rs' `DefaultBackoff` delay, started again from a
//! fresh list. A fresh list ends in a `Resynced` message that replaces every row of the scope,
//! so no stale row survives an outage, and it is also the one unambiguous "live again" signal
//! (a resumed watch on a quiet cluster sends nothing). With [`Watchers::spawn_relisting`], the
//! context's liveness probe (`super::liveness`) also makes every watch relist at once when the
//! apiserver answers again after an outage (a watch that "survived" may be a dead connection).
//!
//! Context switch: drop (or [`Watchers::abort`]) the old `Watchers`, `ClusterModel::reset` with a
//! new epoch, spawn new ones with that epoch; messages still in flight from the old tasks carry
//! the old epoch and are ignored.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{
    ControllerRevision, DaemonSet, Deployment, DeploymentSpec, DeploymentStatus, ReplicaSet,
    ReplicaSetSpec, ReplicaSetStatus, StatefulSet,
};
use k8s_openapi::api::core::v1::{
    Container, Event, EventSeries, EventSource, LocalObjectReference, Namespace, ObjectReference,
    Pod, PodSpec, PodStatus, Secret, ServiceAccount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference, Time};
use kube::core::PartialObjectMeta;
use kube::runtime::watcher::{self, DefaultBackoff};
use kube::{Api, Client};
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

use super::convert;
use super::model::{ConnectionState, Kind, ModelEvent, ModelUpdate, Row, WatchScope};

/// The pull-secret types the model lists (metadata only).
pub const PULL_SECRET_TYPES: [&str; 2] =
    ["kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"];

/// What to watch.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// `None` = all namespaces; else exactly these.
    pub namespaces: Option<Vec<String>>,
    pub kinds: Vec<Kind>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            namespaces: None,
            kinds: Kind::ALL.to_vec(),
        }
    }
}

/// The running watcher tasks of one context. Dropping it stops them.
#[derive(Debug)]
pub struct Watchers {
    epoch: u64,
    handles: Vec<AbortHandle>,
}

impl Watchers {
    /// Spawns one task per kind × namespace scope on the current tokio runtime. Each sends
    /// `T::from(ModelUpdate)` on `tx` (use `ModelUpdate` itself, or the UI's action type).
    pub fn spawn<T>(client: Client, options: &WatchOptions, epoch: u64, tx: mpsc::Sender<T>) -> Self
    where
        T: From<ModelUpdate> + Send + 'static,
    {
        Self::spawn_relisting(client, options, epoch, tx, watch::channel(0).1)
    }

    /// As [`Self::spawn`]; each change of `relist` (the liveness probe's "the apiserver answers
    /// again", [`super::liveness::Liveness::relist_signal`]) makes every watch relist at once.
    pub fn spawn_relisting<T>(
        client: Client,
        options: &WatchOptions,
        epoch: u64,
        tx: mpsc::Sender<T>,
        relist: watch::Receiver<u64>,
    ) -> Self
    where
        T: From<ModelUpdate> + Send + 'static,
    {
        let mut handles = Vec::new();
        let namespaces: Vec<Option<String>> = match &options.namespaces {
            None => vec![None],
            Some(list) => list.iter().cloned().map(Some).collect(),
        };
        for &kind in &options.kinds {
            for ns in &namespaces {
                for scope in scopes(kind, ns.as_deref()) {
                    let task =
                        spawn_scope(client.clone(), scope, epoch, tx.clone(), relist.clone());
                    handles.push(task);
                }
            }
        }
        Self { epoch, handles }
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Stops every task (idempotent).
    pub fn abort(&mut self) {
        for h in self.handles.drain(..) {
            h.abort();
        }
    }

    pub fn task_count(&self) -> usize {
        self.handles.len()
    }
}

impl Drop for Watchers {
    fn drop(&mut self) {
        self.abort();
    }
}

fn scopes(kind: Kind, ns: Option<&str>) -> Vec<WatchScope> {
    if kind == Kind::SecretMeta {
        PULL_SECRET_TYPES
            .iter()
            .map(|t| WatchScope {
                secret_type: Some((*t).to_owned()),
                ..WatchScope::new(kind, ns)
            })
            .collect()
    } else {
        vec![WatchScope::new(kind, ns)]
    }
}

fn api<K>(client: Client, ns: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as kube::Resource>::DynamicType: Default,
{
    match ns {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    }
}

type RowStream = BoxStream<'static, Result<watcher::Event<Row>, watcher::Error>>;

fn rows<K, F>(
    stream: impl futures::Stream<Item = watcher::Result<watcher::Event<K>>> + Send + 'static,
    f: F,
) -> RowStream
where
    K: Send + 'static,
    F: Fn(K) -> Row + Send + Sync + 'static,
{
    stream
        .map_ok(move |ev| match ev {
            watcher::Event::Apply(k) => watcher::Event::Apply(f(k)),
            watcher::Event::Delete(k) => watcher::Event::Delete(f(k)),
            watcher::Event::InitApply(k) => watcher::Event::InitApply(f(k)),
            watcher::Event::Init => watcher::Event::Init,
            watcher::Event::InitDone => watcher::Event::InitDone,
        })
        .boxed()
}

/// A fresh watch stream for a scope, already mapped to rows (objects dropped right away). The
/// kinds with many objects or frequent changes (pods, events, Deployments, ReplicaSets) are
/// decoded trimmed: see [`TrimmedPod`].
fn row_stream(client: &Client, scope: &WatchScope) -> RowStream {
    let ns = scope.namespace.as_deref();
    let c = client.clone();
    let cfg = watcher::Config::default();
    match scope.kind {
        Kind::Namespace => {
            let cfg = match ns {
                Some(n) => cfg.fields(&format!("metadata.name={n}")),
                None => cfg,
            };
            rows(watcher(Api::<Namespace>::all(c), cfg), |n| {
                Row::Namespace(convert::namespace_row(&n))
            })
        }
        Kind::Deployment => rows(
            watcher(api::<TrimmedDeployment>(c, ns), cfg),
            |d: TrimmedDeployment| Row::Workload(convert::deployment_row(&d.into())),
        ),
        Kind::StatefulSet => rows(watcher(api::<StatefulSet>(c, ns), cfg), |s| {
            Row::Workload(convert::stateful_set_row(&s))
        }),
        Kind::DaemonSet => rows(watcher(api::<DaemonSet>(c, ns), cfg), |d| {
            Row::Workload(convert::daemon_set_row(&d))
        }),
        Kind::ReplicaSet => rows(
            watcher(api::<TrimmedReplicaSet>(c, ns), cfg),
            |r: TrimmedReplicaSet| Row::ReplicaSet(convert::replica_set_row(&r.into())),
        ),
        Kind::ControllerRevision => rows(watcher(api::<ControllerRevision>(c, ns), cfg), |r| {
            Row::ReplicaSet(convert::controller_revision_row(&r))
        }),
        Kind::Pod => rows(watcher(api::<TrimmedPod>(c, ns), cfg), |p: TrimmedPod| {
            Row::Pod(convert::pod_row(&p.into()))
        }),
        Kind::Event => rows(
            watcher(api::<TrimmedEvent>(c, ns), cfg),
            |e: TrimmedEvent| Row::Event(convert::event_row(&e.into())),
        ),
        Kind::ServiceAccount => rows(watcher(api::<ServiceAccount>(c, ns), cfg), |s| {
            Row::ServiceAccount(convert::service_account_row(&s))
        }),
        Kind::SecretMeta => {
            let t = scope.secret_type.clone().unwrap_or_default();
            let cfg = cfg.fields(&format!("type={t}"));
            // Metadata only: the secret's data never reaches this process through the model.
            rows(
                watcher(api::<PartialObjectMeta<Secret>>(c, ns), cfg),
                move |s| Row::SecretMeta(convert::secret_meta_row(&s, &t)),
            )
        }
    }
}

fn watcher<K>(
    api: Api<K>,
    cfg: watcher::Config,
) -> impl futures::Stream<Item = watcher::Result<watcher::Event<K>>> + Send + 'static
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + Debug + Send + 'static,
{
    watcher::watcher(api, cfg)
}

// ---------------------------------------------------------------------------------------------
// Trimmed objects: what the watchers decode

/// `metadata` as the rows need it: every field but `managedFields` (often half of an object's
/// JSON, a tree of small maps per field manager) and the self link. Skipped keys cost the
/// parser a scan, no allocation.
fn trimmed_meta<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ObjectMeta, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Meta {
        annotations: Option<BTreeMap<String, String>>,
        creation_timestamp: Option<Time>,
        deletion_timestamp: Option<Time>,
        generate_name: Option<String>,
        generation: Option<i64>,
        labels: Option<BTreeMap<String, String>>,
        name: Option<String>,
        namespace: Option<String>,
        owner_references: Option<Vec<OwnerReference>>,
        resource_version: Option<String>,
        uid: Option<String>,
    }
    let m = <Meta as serde::Deserialize>::deserialize(d)?;
    Ok(ObjectMeta {
        annotations: m.annotations,
        creation_timestamp: m.creation_timestamp,
        deletion_timestamp: m.deletion_timestamp,
        generate_name: m.generate_name,
        generation: m.generation,
        labels: m.labels,
        name: m.name,
        namespace: m.namespace,
        owner_references: m.owner_references,
        resource_version: m.resource_version,
        uid: m.uid,
        ..ObjectMeta::default()
    })
}

/// A kind as the watchers decode it: the k8s-openapi type's own fields that its row reads,
/// with [`trimmed_meta`]; the rest of the JSON is skipped. `.into()` gives the k8s-openapi
/// object for `convert` (fields not decoded are left at their defaults).
macro_rules! trimmed {
    ($(#[$doc:meta])* $name:ident => $full:ty { $($(#[$m:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct $name {
            #[serde(deserialize_with = "trimmed_meta", default)]
            metadata: ObjectMeta,
            $($(#[$m])* #[serde(default)] $field: $ty,)*
        }

        impl k8s_openapi::Resource for $name {
            const API_VERSION: &'static str = <$full as k8s_openapi::Resource>::API_VERSION;
            const GROUP: &'static str = <$full as k8s_openapi::Resource>::GROUP;
            const KIND: &'static str = <$full as k8s_openapi::Resource>::KIND;
            const VERSION: &'static str = <$full as k8s_openapi::Resource>::VERSION;
            const URL_PATH_SEGMENT: &'static str =
                <$full as k8s_openapi::Resource>::URL_PATH_SEGMENT;
            type Scope = <$full as k8s_openapi::Resource>::Scope;
        }

        impl k8s_openapi::Metadata for $name {
            type Ty = ObjectMeta;
            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }

        impl From<$name> for $full {
            #[allow(clippy::needless_update)]
            fn from(t: $name) -> Self {
                Self {
                    metadata: t.metadata,
                    $($field: Full::full(t.$field),)*
                    ..Default::default()
                }
            }
        }
    };
}

/// A trimmed field into the k8s-openapi one (most fields are decoded as they are).
trait Full<T> {
    fn full(self) -> T;
}

impl<T> Full<T> for T {
    fn full(self) -> T {
        self
    }
}

/// The pod spec fields `convert::pod_row` reads; a pod's spec is most of its JSON.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TrimmedPodSpec {
    containers: Vec<TrimmedContainer>,
    init_containers: Option<Vec<TrimmedContainer>>,
    node_name: Option<String>,
    service_account_name: Option<String>,
    image_pull_secrets: Option<Vec<LocalObjectReference>>,
}

#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
struct TrimmedContainer {
    name: String,
    image: Option<String>,
}

impl From<TrimmedContainer> for Container {
    fn from(c: TrimmedContainer) -> Self {
        Container {
            name: c.name,
            image: c.image,
            ..Default::default()
        }
    }
}

impl Full<Option<PodSpec>> for Option<TrimmedPodSpec> {
    fn full(self) -> Option<PodSpec> {
        self.map(|s| PodSpec {
            containers: s.containers.into_iter().map(Container::from).collect(),
            init_containers: s
                .init_containers
                .map(|v| v.into_iter().map(Container::from).collect()),
            node_name: s.node_name,
            service_account_name: s.service_account_name,
            image_pull_secrets: s.image_pull_secrets,
            ..Default::default()
        })
    }
}

trimmed!(TrimmedPod => Pod { spec: Option<TrimmedPodSpec>, status: Option<PodStatus> });
trimmed!(TrimmedEvent => Event {
    count: Option<i32>,
    event_time: Option<MicroTime>,
    first_timestamp: Option<Time>,
    involved_object: ObjectReference,
    last_timestamp: Option<Time>,
    message: Option<String>,
    reason: Option<String>,
    reporting_component: Option<String>,
    series: Option<EventSeries>,
    source: Option<EventSource>,
    #[serde(rename = "type")]
    type_: Option<String>,
});
trimmed!(TrimmedDeployment => Deployment {
    spec: Option<DeploymentSpec>,
    status: Option<DeploymentStatus>,
});
trimmed!(TrimmedReplicaSet => ReplicaSet {
    spec: Option<ReplicaSetSpec>,
    status: Option<ReplicaSetStatus>,
});

/// glibc's allocator keeps what a big list freed, per arena (one per busy thread): tens of MB
/// after the first lists of 10,000 pods and 20,000 events. Elsewhere these do nothing.
pub mod heap {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> std::ffi::c_int;
        fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
    }

    /// Returns freed memory to the system: after a list has been applied and the rows it
    /// replaced dropped (a relist of 20,000 events left +15 MB for good when this ran before
    /// the model let the old rows go).
    pub fn trim() {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only walks the allocator's own free lists; no pointer is passed.
        unsafe {
            malloc_trim(0);
        }
    }

    /// One allocator arena: each extra one (glibc makes one per thread that finds the others
    /// busy) holds freed memory of its own, 20 MB after the first lists here; the dashboard's
    /// few threads hardly contend for one.
    pub fn limit_arenas() {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: M_ARENA_MAX (-8) takes an int; mallopt is safe to call at any time.
        unsafe {
            mallopt(-8, 1);
        }
    }
}

fn classify(err: &watcher::Error) -> ConnectionState {
    let api_code = match err {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s.code),
        watcher::Error::WatchError(s) => Some(s.code),
        _ => None,
    };
    if api_code == Some(403) {
        ConnectionState::Forbidden {
            error: err.to_string(),
        }
    } else {
        ConnectionState::Reconnecting {
            error: err.to_string(),
        }
    }
}

/// Forbidden will not heal by itself soon; retry rarely (RBAC may be granted later).
const FORBIDDEN_RETRY: Duration = Duration::from_secs(120);
/// kube's DefaultBackoff grows to 30 s; after an apiserver restart that would leave the model
/// stale for up to half a minute, so the delay is capped (the jitter below the cap stays).
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);

/// Resolves when a relist is asked for; never when nobody can ask (the sender is gone).
async fn relist_asked(relist: &mut watch::Receiver<u64>) {
    if relist.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn spawn_scope<T>(
    client: Client,
    scope: WatchScope,
    epoch: u64,
    tx: mpsc::Sender<T>,
    mut relist: watch::Receiver<u64>,
) -> AbortHandle
where
    T: From<ModelUpdate> + Send + 'static,
{
    let task = async move {
        let send = |event: ModelEvent| {
            let tx = tx.clone();
            async move { tx.send(T::from(ModelUpdate { epoch, event })).await.is_ok() }
        };
        let mut backoff = DefaultBackoff::default();
        loop {
            let mut stream = row_stream(&client, &scope);
            let mut buffer: Vec<Row> = Vec::new();
            let error = loop {
                let next = tokio::select! {
                    () = relist_asked(&mut relist) => break None,
                    next = stream.next() => next,
                };
                let event = match next {
                    Some(Ok(ev)) => ev,
                    Some(Err(e)) => break Some(e),
                    // The kube watcher never ends by itself; if it does, relist.
                    None => break Some(watcher::Error::NoResourceVersion),
                };
                let delivered = match event {
                    watcher::Event::Init => {
                        // Rare (start, a 410 Gone after compaction, a relist asked): worth a line,
                        // as a relist of a big scope is also when memory peaks.
                        tracing::info!("listing {scope}");
                        buffer.clear();
                        true
                    }
                    watcher::Event::InitApply(row) => {
                        buffer.push(row);
                        true
                    }
                    watcher::Event::InitDone => {
                        let rows = std::mem::take(&mut buffer);
                        tracing::info!("listed {scope}: {} rows", rows.len());
                        let ok = send(ModelEvent::Resynced {
                            scope: scope.clone(),
                            rows,
                            at: jiff::Timestamp::now(),
                        })
                        .await;
                        buffer.shrink_to_fit();
                        // The heap is trimmed by the model's owner once it has applied the list
                        // (the rows it replaces are freed only then): see `tui::run_with`.
                        backoff = DefaultBackoff::default();
                        ok && send(ModelEvent::Connection {
                            scope: scope.clone(),
                            state: ConnectionState::Live,
                        })
                        .await
                    }
                    watcher::Event::Apply(row) => send(ModelEvent::Upsert(row)).await,
                    watcher::Event::Delete(row) => send(ModelEvent::Delete(row.key())).await,
                };
                if !delivered {
                    // Nobody listens any more: stop quietly.
                    return;
                }
            };
            drop(stream);
            // Asked to relist (after an outage): at once; the model keeps the scope stale
            // until its Resynced.
            let Some(error) = error else { continue };
            let state = classify(&error);
            tracing::warn!("watch of {scope} failed, will relist: {error}");
            let forbidden = matches!(state, ConnectionState::Forbidden { .. });
            if !send(ModelEvent::Connection {
                scope: scope.clone(),
                state,
            })
            .await
            {
                return;
            }
            let delay = if forbidden {
                FORBIDDEN_RETRY
            } else {
                backoff
                    .next()
                    .unwrap_or(MAX_RECONNECT_DELAY)
                    .min(MAX_RECONNECT_DELAY)
            };
            // The apiserver answering again cuts the wait short.
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = relist_asked(&mut relist) => {}
            }
        }
    };
    tokio::spawn(task).abort_handle()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_secrets_get_one_scope_per_type() {
        let s = scopes(Kind::SecretMeta, Some("ns"));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].secret_type.as_deref(), Some(PULL_SECRET_TYPES[0]));
        assert_eq!(s[1].namespace.as_deref(), Some("ns"));
        assert_eq!(
            scopes(Kind::Pod, None),
            vec![WatchScope::new(Kind::Pod, None)]
        );
    }

    #[test]
    fn forbidden_is_told_apart_from_connection_trouble() {
        let status = |code| {
            Box::new(kube::core::Status {
                code,
                message: "nope".into(),
                ..Default::default()
            })
        };
        let e = watcher::Error::InitialListFailed(kube::Error::Api(status(403)));
        assert!(matches!(classify(&e), ConnectionState::Forbidden { .. }));
        let e = watcher::Error::WatchError(status(410));
        assert!(matches!(classify(&e), ConnectionState::Reconnecting { .. }));
    }
}

#[cfg(test)]
mod trimmed_tests {
    use super::*;
    use serde_json::json;

    fn managed_fields() -> serde_json::Value {
        json!([{
            "apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kubelet",
            "operation": "Update", "time": "2026-01-01T00:00:00Z",
            "fieldsV1": {"f:status": {"f:conditions": {"k:{\"type\":\"Ready\"}": {".": {}}}}}
        }])
    }

    fn meta(name: &str) -> serde_json::Value {
        json!({
            "name": name, "namespace": "shop", "uid": format!("uid-{name}"),
            "resourceVersion": "42", "generation": 3, "generateName": "web-7c9f8d6b5-",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "deletionTimestamp": "2026-01-01T00:01:00Z",
            "labels": {"app": "web", "pod-template-hash": "7c9f8d6b5",
                       "controller-revision-hash": "web-1"},
            "annotations": {"deployment.kubernetes.io/revision": "4"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "name": "web-7c9f8d6b5", "uid": "uid-rs", "controller": true}],
            "managedFields": managed_fields(),
            "selfLink": "/api/v1/namespaces/shop/pods/x"
        })
    }

    /// The trimmed decoding gives the row the full object gives.
    fn same_row<Full, Trimmed>(v: serde_json::Value, row: impl Fn(&Full) -> Row)
    where
        Full: serde::de::DeserializeOwned + From<Trimmed>,
        Trimmed: serde::de::DeserializeOwned,
    {
        let full: Full = serde_json::from_value(v.clone()).expect("full object");
        let trimmed: Trimmed = serde_json::from_value(v).expect("trimmed object");
        let (a, b) = (row(&full), row(&Full::from(trimmed)));
        assert_eq!(a, b);
    }

    #[test]
    fn trimmed_objects_give_the_rows_full_objects_give() {
        let container = json!({"name": "web", "image": "r.example/web:1",
                               "env": [{"name": "A", "value": "b"}]});
        same_row::<Pod, TrimmedPod>(
            json!({
                "apiVersion": "v1", "kind": "Pod", "metadata": meta("web-7c9f8d6b5-a"),
                "spec": {"containers": [container], "initContainers": [container],
                         "nodeName": "node-1", "serviceAccountName": "builder",
                         "imagePullSecrets": [{"name": "acr"}]},
                "status": {"phase": "Pending", "containerStatuses": [{
                    "name": "web", "image": "r.example/web:1", "imageID": "r.example/web@sha256:ab",
                    "ready": false, "restartCount": 2,
                    "state": {"waiting": {"reason": "ImagePullBackOff", "message": "no"}}}]}
            }),
            |p| Row::Pod(convert::pod_row(p)),
        );
        same_row::<Event, TrimmedEvent>(
            json!({
                "apiVersion": "v1", "kind": "Event", "metadata": meta("web.17a2b3c4d5e6f708"),
                "involvedObject": {"kind": "Pod", "name": "web-7c9f8d6b5-a", "uid": "uid-p",
                                   "namespace": "shop"},
                "reason": "BackOff", "message": "Back-off pulling image", "type": "Warning",
                "count": 4, "firstTimestamp": "2026-01-01T00:00:00Z",
                "lastTimestamp": "2026-01-01T00:00:09Z",
                "source": {"component": "kubelet", "host": "node-1"},
                "reportingComponent": "kubelet"
            }),
            |e| Row::Event(convert::event_row(e)),
        );
        same_row::<Event, TrimmedEvent>(
            json!({
                "apiVersion": "v1", "kind": "Event", "metadata": meta("web.1"),
                "involvedObject": {"kind": "Pod", "name": "web-7c9f8d6b5-a"},
                "eventTime": "2026-01-01T00:00:00.123456Z",
                "series": {"count": 3, "lastObservedTime": "2026-01-01T00:00:05.000000Z"},
                "reportingComponent": "scheduler", "reason": "FailedScheduling"
            }),
            |e| Row::Event(convert::event_row(e)),
        );
        same_row::<Deployment, TrimmedDeployment>(
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("web"),
                "spec": {"replicas": 3, "paused": true, "progressDeadlineSeconds": 60,
                         "selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}},
                                      "spec": {"containers": [container]}}},
                "status": {"observedGeneration": 3, "replicas": 3, "updatedReplicas": 2,
                           "readyReplicas": 1, "availableReplicas": 1,
                           "unavailableReplicas": 2,
                           "conditions": [{"type": "Progressing", "status": "True",
                                           "reason": "ReplicaSetUpdated", "message": "m"}]}
            }),
            |d| Row::Workload(convert::deployment_row(d)),
        );
        same_row::<ReplicaSet, TrimmedReplicaSet>(
            json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta("web-7c9f8d6b5"),
                "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                         "template": {"spec": {"containers": [container]}}},
                "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2}
            }),
            |r| Row::ReplicaSet(convert::replica_set_row(r)),
        );
    }

    #[test]
    fn managed_fields_are_not_decoded() {
        let t: TrimmedPod = serde_json::from_value(json!({"metadata": meta("p")})).unwrap();
        assert_eq!(t.metadata.managed_fields, None);
        assert_eq!(t.metadata.name.as_deref(), Some("p"));
        assert_eq!(t.metadata.resource_version.as_deref(), Some("42"));
    }
}
