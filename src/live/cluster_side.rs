//! The cluster the dashboard is on: the context in use (what actions run against), its
//! watchers, and the switches between contexts and namespaces.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::KubeSettings;
use super::outcome::{self, done};
use super::permissions;
use super::watchers::{self, Generation, WatchPlan};
use crate::app::Action;
use crate::app::action::{ClusterUpdate, Notice, TaskResult};
use crate::cluster::connect::{self, KubeTarget};

/// How long a context switch waits for the new apiserver to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The context in use and who we are there (the audit actor).
#[derive(Clone, Debug)]
pub struct KubeNow {
    pub target: KubeTarget,
    pub actor: String,
}

/// The running watchers and what they cover; one switch at a time holds it.
#[derive(Debug)]
pub struct WatchState {
    pub generation: Option<Generation>,
    /// The last epoch handed out; the next generation gets a higher one.
    pub epoch: u64,
    pub plan: WatchPlan,
    pub namespace: String,
}

/// The cluster half of the runner's shared state.
#[derive(Debug)]
pub struct ClusterSide {
    pub settings: KubeSettings,
    now: RwLock<Arc<KubeNow>>,
    pub watch: tokio::sync::Mutex<WatchState>,
    /// Whether a rotation source exists (for the permission verdicts).
    pub rotation: Result<(), String>,
}

impl ClusterSide {
    pub fn new(
        settings: KubeSettings,
        now: KubeNow,
        plan: WatchPlan,
        namespace: String,
        rotation: Result<(), String>,
    ) -> Self {
        Self {
            settings,
            now: RwLock::new(Arc::new(now)),
            watch: tokio::sync::Mutex::new(WatchState {
                generation: None,
                epoch: 0,
                plan,
                namespace,
            }),
            rotation,
        }
    }

    /// The context in use right now (a snapshot: a later switch does not change it).
    pub fn now(&self) -> Arc<KubeNow> {
        match self.now.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn set_now(&self, now: KubeNow) {
        let mut g = match self.now.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *g = Arc::new(now);
    }

    /// Starts the first generation of watchers (at startup, before any switch can run).
    pub fn start(&self, actions: &UnboundedSender<Action>) {
        let Ok(mut w) = self.watch.try_lock() else {
            tracing::error!("watchers already started");
            return;
        };
        restart(&mut w, &self.now(), actions);
    }

    /// Reviews the mutations in `namespace` and sends the verdicts (in read-only mode the UI
    /// refuses every mutation whatever they say).
    pub async fn send_permissions(&self, namespace: &str, actions: &UnboundedSender<Action>) {
        let now = self.now();
        let list = permissions::check(
            &now.target.client,
            &now.actor,
            namespace,
            self.rotation.clone(),
        )
        .await;
        if !list.is_empty() {
            let _ = actions.send(Action::Permissions(list));
        }
    }

    /// `:ctx NAME`. The UI has already cleared its cluster view; on failure the previous context
    /// comes back (new watchers on it, and the UI told which context is in use).
    pub async fn switch_context(
        &self,
        title: &str,
        context: &str,
        actions: &UnboundedSender<Action>,
    ) -> TaskResult {
        let mut w = self.watch.lock().await;
        let previous = self.now();
        let kubeconfig = self.settings.kubeconfig.as_deref();
        let contexts = connect::contexts(kubeconfig)
            .map(|(c, _)| c)
            .unwrap_or_default();
        let tell = |current: &str| {
            let _ = actions.send(Action::Cluster(ClusterUpdate::Contexts {
                contexts: contexts.clone(),
                current: current.to_owned(),
            }));
        };
        let connected = crate::startup::connect(kubeconfig, Some(context), CONNECT_TIMEOUT).await;
        let target = match connected {
            Ok(t) => t,
            Err(e) => {
                restart(&mut w, &previous, actions);
                let namespace = w.namespace.clone();
                drop(w);
                tell(&previous.target.context);
                let _ = actions.send(Action::Cluster(ClusterUpdate::Namespace(namespace.clone())));
                // The UI forgot the verdicts with the switch; the old context's come back.
                self.send_permissions(&namespace, actions).await;
                // The start-up message's advice is for a shell; the notice has one line.
                let why = match e {
                    crate::startup::StartupError::Unreachable { reason, .. } => {
                        format!("its apiserver does not answer: {reason}")
                    }
                    crate::startup::StartupError::NoConfig(e) => e.to_string(),
                };
                return Err(outcome::error(
                    title,
                    why,
                    &format!(
                        "still on context {}: check the context with kubectl and retry",
                        previous.target.context
                    ),
                ));
            }
        };
        let actor = connect::identity(&target).await;
        let namespace = self
            .settings
            .namespaces
            .first()
            .cloned()
            .unwrap_or_else(|| target.default_namespace.clone());
        w.plan = watchers::plan(
            &target.client,
            &actor,
            &self.settings.namespaces,
            &namespace,
        )
        .await;
        w.namespace = namespace.clone();
        let now = KubeNow { target, actor };
        self.set_now(now.clone());
        restart(&mut w, &now, actions);
        drop(w);
        tell(context);
        let _ = actions.send(Action::Cluster(ClusterUpdate::Namespace(namespace.clone())));
        self.after_plan(&namespace, actions).await;
        done(format!(
            "switched to context {context} (namespace {namespace})"
        ))
    }

    /// `:ns NAME`: the UI shows it at once; watchers restart only when it was not watched.
    pub async fn switch_namespace(
        &self,
        namespace: &str,
        actions: &UnboundedSender<Action>,
    ) -> TaskResult {
        let mut w = self.watch.lock().await;
        w.namespace = namespace.to_owned();
        let restarted = if w.plan.covers(namespace) {
            false
        } else {
            let now = self.now();
            w.plan = watchers::plan(
                &now.target.client,
                &now.actor,
                &self.settings.namespaces,
                namespace,
            )
            .await;
            restart(&mut w, &now, actions);
            true
        };
        drop(w);
        let _ = actions.send(Action::Cluster(ClusterUpdate::Namespace(
            namespace.to_owned(),
        )));
        self.after_plan(namespace, actions).await;
        done(if restarted {
            format!("watching namespace {namespace} (watchers restarted)")
        } else {
            format!("showing namespace {namespace}")
        })
    }

    async fn after_plan(&self, namespace: &str, actions: &UnboundedSender<Action>) {
        let skipped = {
            let w = self.watch.lock().await;
            watchers::skipped_notice(&w.plan)
        };
        if let Some(text) = skipped {
            let _ = actions.send(Action::Notice(Notice::warning(text)));
        }
        self.send_permissions(namespace, actions).await;
    }
}

/// Replaces the running generation with a new one on `now`, with the next epoch.
fn restart(w: &mut WatchState, now: &KubeNow, actions: &UnboundedSender<Action>) {
    // Stop the old watchers before the new ones list, so their stragglers stay few.
    w.generation = None;
    w.epoch += 1;
    w.generation = Some(Generation::start(
        now.target.client.clone(),
        &w.plan,
        w.epoch,
        actions.clone(),
    ));
}
