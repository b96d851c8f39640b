//! The cluster watchers of one context, bridged into the UI's Action channel.
//!
//! `cluster::watch` sends on a bounded channel; the UI loop reads an unbounded one. One bridge
//! task per generation forwards the watchers' messages; a restart (context or namespace switch)
//! drops the generation, which stops its watchers and its bridge, and starts the next with a
//! higher epoch so that whatever was already forwarded is dropped by `update`.

use kube::Client;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinHandle;

use crate::app::Action;
use crate::cluster::actions::{Permission, check_access};
use crate::cluster::liveness::Liveness;
use crate::cluster::model::{Kind, ModelUpdate};
use crate::cluster::watch::{WatchOptions, Watchers};

/// Room for a burst of watch events (a relist of a large namespace) before the watchers wait.
const WATCH_BUFFER: usize = 4096;
const BRIDGE_BATCH: usize = 512;

/// One generation of watchers and its bridge. Dropping it stops both.
#[derive(Debug)]
pub struct Generation {
    epoch: u64,
    /// The context's apiserver probe; it tells the watchers to relist after an outage.
    liveness: Liveness,
    watchers: Vec<Watchers>,
    bridge: JoinHandle<()>,
}

impl Generation {
    /// Starts the watchers of `plan` with `epoch`, forwarding to `actions`.
    pub fn start(
        client: Client,
        plan: &WatchPlan,
        epoch: u64,
        actions: UnboundedSender<Action>,
    ) -> Self {
        let (tx, mut rx) = mpsc::channel::<ModelUpdate>(WATCH_BUFFER);
        let liveness = Liveness::spawn(client.clone(), epoch, tx.clone());
        let watchers = split(plan)
            .iter()
            .map(|options| {
                let relist = liveness.relist_signal();
                Watchers::spawn_relisting(client.clone(), options, epoch, tx.clone(), relist)
            })
            .collect();
        let bridge = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BRIDGE_BATCH);
            while rx.recv_many(&mut batch, BRIDGE_BATCH).await > 0 {
                for u in batch.drain(..) {
                    if actions.send(Action::from(u)).is_err() {
                        return; // the UI is gone
                    }
                }
            }
        });
        Self {
            epoch,
            liveness,
            watchers,
            bridge,
        }
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

/// The watch options of a plan. Namespaces are listed cluster-wide even when only some are
/// watched (the plan allows it only when the identity may): the palette's `:ns` offers every
/// namespace, not just the configured ones.
pub fn split(plan: &WatchPlan) -> Vec<WatchOptions> {
    let (ns_kind, others): (Vec<Kind>, Vec<Kind>) = plan
        .kinds
        .iter()
        .partition(|k| **k == Kind::Namespace && plan.namespaces.is_some());
    let mut out = Vec::new();
    if !others.is_empty() {
        out.push(WatchOptions {
            namespaces: plan.namespaces.clone(),
            kinds: others,
        });
    }
    if !ns_kind.is_empty() {
        out.push(WatchOptions {
            namespaces: None,
            kinds: ns_kind,
        });
    }
    out
}

impl Drop for Generation {
    fn drop(&mut self) {
        self.liveness.abort();
        for w in &mut self.watchers {
            w.abort();
        }
        self.bridge.abort();
    }
}

/// What to watch in one context: which namespaces (`None`: all) and which kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchPlan {
    pub namespaces: Option<Vec<String>>,
    pub kinds: Vec<Kind>,
    /// Kinds left out because the identity may not list them, with the reason (for a notice).
    pub skipped: Vec<(Kind, String)>,
}

impl WatchPlan {
    /// Whether `namespace` is covered without a restart.
    pub fn covers(&self, namespace: &str) -> bool {
        self.namespaces
            .as_ref()
            .is_none_or(|list| list.iter().any(|n| n == namespace))
    }
}

/// The namespaces to watch: the configured ones (plus the one in view, if it is not among
/// them); with none configured, every namespace when the identity may list pods cluster-wide,
/// else only the one in view.
pub fn namespaces_to_watch(
    configured: &[String],
    in_view: &str,
    cluster_wide_allowed: bool,
) -> Option<Vec<String>> {
    if configured.is_empty() {
        return (!cluster_wide_allowed).then(|| vec![in_view.to_owned()]);
    }
    let mut list = configured.to_vec();
    if !list.iter().any(|n| n == in_view) {
        list.push(in_view.to_owned());
    }
    Some(list)
}

/// API group and resource of a watched kind (for the access review).
pub fn kind_resource(kind: Kind) -> (&'static str, &'static str) {
    (kind.api_group(), kind.as_str())
}

/// Asks the apiserver what this identity may list, and plans the watches from that: a watch the
/// identity may not make would only show "forbidden" in the status bar and retry forever.
pub async fn plan(client: &Client, actor: &str, configured: &[String], in_view: &str) -> WatchPlan {
    let may_list = |ns: String, kind: Kind| {
        let (group, resource) = kind_resource(kind);
        let perm = Permission::new("list", group, resource, &ns);
        async move {
            match check_access(client, actor, std::slice::from_ref(&perm)).await {
                Ok(()) => Ok(()),
                Err(crate::cluster::actions::ActionError::Forbidden { .. }) => Err(format!(
                    "{actor} may not list {resource}{}",
                    if ns.is_empty() {
                        String::new()
                    } else {
                        format!(" in {ns}")
                    }
                )),
                // The review itself failed: watch anyway, the watch reports what happens.
                Err(e) => {
                    tracing::warn!("access review for list {resource} failed: {e}");
                    Ok(())
                }
            }
        }
    };
    let cluster_wide = configured.is_empty() && may_list(String::new(), Kind::Pod).await.is_ok();
    let namespaces = namespaces_to_watch(configured, in_view, cluster_wide);
    // Namespaces themselves are cluster-scoped; everything else is checked where it is watched.
    let scope_ns = match &namespaces {
        None => String::new(),
        Some(_) => in_view.to_owned(),
    };
    let checks = Kind::ALL.iter().map(|&kind| {
        let ns = if kind == Kind::Namespace {
            String::new()
        } else {
            scope_ns.clone()
        };
        let check = may_list(ns, kind);
        async move { (kind, check.await) }
    });
    let mut kinds = Vec::new();
    let mut skipped = Vec::new();
    for (kind, result) in futures::future::join_all(checks).await {
        match result {
            Ok(()) => kinds.push(kind),
            Err(why) => skipped.push((kind, why)),
        }
    }
    WatchPlan {
        namespaces,
        kinds,
        skipped,
    }
}

/// A one-line notice about kinds left out, if any.
pub fn skipped_notice(plan: &WatchPlan) -> Option<String> {
    if plan.skipped.is_empty() {
        return None;
    }
    let names: Vec<&str> = plan.skipped.iter().map(|(k, _)| k.as_str()).collect();
    Some(format!(
        "not watching {} ({}): the panes show what this identity may read",
        names.join(", "),
        plan.skipped[0].1
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_follow_config_then_rbac() {
        assert_eq!(namespaces_to_watch(&[], "shop", true), None);
        assert_eq!(
            namespaces_to_watch(&[], "shop", false),
            Some(vec!["shop".to_owned()])
        );
        let configured = vec!["shop".to_owned(), "payments".to_owned()];
        assert_eq!(
            namespaces_to_watch(&configured, "shop", true),
            Some(configured.clone())
        );
        assert_eq!(
            namespaces_to_watch(&configured, "ops", false),
            Some(vec!["shop".into(), "payments".into(), "ops".into()])
        );
    }

    #[test]
    fn plan_covers_its_namespaces() {
        let all = WatchPlan {
            namespaces: None,
            kinds: Kind::ALL.to_vec(),
            skipped: Vec::new(),
        };
        assert!(all.covers("anything"));
        let some = WatchPlan {
            namespaces: Some(vec!["shop".into()]),
            ..all
        };
        assert!(some.covers("shop") && !some.covers("payments"));
        assert_eq!(skipped_notice(&some), None);
    }

    #[test]
    fn namespaces_are_listed_cluster_wide_beside_a_namespace_list() {
        let some = WatchPlan {
            namespaces: Some(vec!["shop".into()]),
            kinds: Kind::ALL.to_vec(),
            skipped: Vec::new(),
        };
        let opts = split(&some);
        assert_eq!(opts.len(), 2);
        assert_eq!(opts[0].namespaces, Some(vec!["shop".to_owned()]));
        assert!(!opts[0].kinds.contains(&Kind::Namespace));
        assert_eq!(opts[0].kinds.len(), Kind::ALL.len() - 1);
        assert_eq!(opts[1].namespaces, None);
        assert_eq!(opts[1].kinds, vec![Kind::Namespace]);
        // Every namespace watched: one set of watchers.
        let all = WatchPlan {
            namespaces: None,
            ..some.clone()
        };
        let opts = split(&all);
        assert_eq!(opts.len(), 1);
        assert_eq!(opts[0].kinds, Kind::ALL.to_vec());
        // May not list namespaces: only the rest.
        let no_ns = WatchPlan {
            kinds: vec![Kind::Pod],
            ..some
        };
        assert_eq!(split(&no_ns).len(), 1);
    }

    #[test]
    fn resources_have_their_groups() {
        assert_eq!(kind_resource(Kind::Deployment), ("apps", "deployments"));
        assert_eq!(kind_resource(Kind::SecretMeta), ("", "secrets"));
        assert_eq!(kind_resource(Kind::Event), ("", "events"));
    }
}
