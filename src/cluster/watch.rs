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

use std::fmt::Debug;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{
    ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet,
};
use k8s_openapi::api::core::v1::{Event, Namespace, Pod, Secret, ServiceAccount};
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
    F: Fn(&K) -> Row + Send + Sync + 'static,
{
    stream
        .map_ok(move |ev| match ev {
            watcher::Event::Apply(k) => watcher::Event::Apply(f(&k)),
            watcher::Event::Delete(k) => watcher::Event::Delete(f(&k)),
            watcher::Event::InitApply(k) => watcher::Event::InitApply(f(&k)),
            watcher::Event::Init => watcher::Event::Init,
            watcher::Event::InitDone => watcher::Event::InitDone,
        })
        .boxed()
}

/// A fresh watch stream for a scope, already mapped to rows (objects dropped right away).
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
                Row::Namespace(convert::namespace_row(n))
            })
        }
        Kind::Deployment => rows(watcher(api::<Deployment>(c, ns), cfg), |d| {
            Row::Workload(convert::deployment_row(d))
        }),
        Kind::StatefulSet => rows(watcher(api::<StatefulSet>(c, ns), cfg), |s| {
            Row::Workload(convert::stateful_set_row(s))
        }),
        Kind::DaemonSet => rows(watcher(api::<DaemonSet>(c, ns), cfg), |d| {
            Row::Workload(convert::daemon_set_row(d))
        }),
        Kind::ReplicaSet => rows(watcher(api::<ReplicaSet>(c, ns), cfg), |r| {
            Row::ReplicaSet(convert::replica_set_row(r))
        }),
        Kind::ControllerRevision => rows(watcher(api::<ControllerRevision>(c, ns), cfg), |r| {
            Row::ReplicaSet(convert::controller_revision_row(r))
        }),
        Kind::Pod => rows(watcher(api::<Pod>(c, ns), cfg), |p| {
            Row::Pod(convert::pod_row(p))
        }),
        Kind::Event => rows(watcher(api::<Event>(c, ns), cfg), |e| {
            Row::Event(convert::event_row(e))
        }),
        Kind::ServiceAccount => rows(watcher(api::<ServiceAccount>(c, ns), cfg), |s| {
            Row::ServiceAccount(convert::service_account_row(s))
        }),
        Kind::SecretMeta => {
            let t = scope.secret_type.clone().unwrap_or_default();
            let cfg = cfg.fields(&format!("type={t}"));
            // Metadata only: the secret's data never reaches this process through the model.
            rows(
                watcher(api::<PartialObjectMeta<Secret>>(c, ns), cfg),
                move |s| Row::SecretMeta(convert::secret_meta_row(s, &t)),
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
                        buffer.clear();
                        true
                    }
                    watcher::Event::InitApply(row) => {
                        buffer.push(row);
                        true
                    }
                    watcher::Event::InitDone => {
                        let rows = std::mem::take(&mut buffer);
                        let ok = send(ModelEvent::Resynced {
                            scope: scope.clone(),
                            rows,
                        })
                        .await;
                        buffer.shrink_to_fit();
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
