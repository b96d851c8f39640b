//! The live model against the real control plane: rows follow creates, scales and deletes;
//! pull secrets appear as metadata only; a switch of watch scope (what a context switch does)
//! stops the old tasks and ignores their leftovers.

mod cluster_common;
mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth::cluster::model::{ConnectionState, Kind, ModelUpdate};
use berth::cluster::store::ClusterModel;
use berth::cluster::watch::{WatchOptions, Watchers};
use cluster_common::*;
use serde_json::json;
use support::{TestNamespace, kubectl, kubectl_json};
use tokio::sync::mpsc;

const LOCAL_IMAGE: &str = "registry.berth.local/pause:1";
const T: Duration = Duration::from_secs(120);

fn idle_deployment(name: &str, replicas: i32) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "imagePullSecrets": [{"name": "acr"}],
                "containers": [{"name": "main", "image": LOCAL_IMAGE, "imagePullPolicy": "Never"}]}}}
    })
}

fn kubectl_pods(ns: &str) -> BTreeSet<String> {
    kubectl_json(["-n", ns, "get", "pods"])["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn rows_follow_the_cluster_and_secrets_stay_metadata() {
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("cl-model");
    admin_pull_secret(ns.name(), "acr");
    kubectl([
        "-n",
        ns.name(),
        "create",
        "secret",
        "generic",
        "plain",
        "--from-literal=k=v",
    ]);
    kubectl([
        "-n",
        ns.name(),
        "patch",
        "serviceaccount",
        "default",
        "-p",
        r#"{"imagePullSecrets":[{"name":"acr"}]}"#,
    ]);
    create(ns.name(), &idle_deployment("idle", 2));
    let t = admin();
    // All namespaces, every kind: what the TUI runs.
    let live = LiveModel::start(&t, None, &Kind::ALL);
    live.wait(
        "deployment, 2 ready pods, SA and pull secret in the model",
        T,
        |m| {
            let d = m.deployment(ns.name(), "idle").ok_or("no deployment")?;
            let pods = m.pods_of(d);
            let ready = pods
                .iter()
                .filter(|p| p.containers.iter().all(|c| c.ready))
                .count();
            let sa = m
                .service_account(ns.name(), "default")
                .map(|s| s.image_pull_secrets.clone());
            let secret = m.secret(ns.name(), "acr").map(|s| s.type_.clone());
            let ns_row = m
                .namespaces()
                .any(|n| n.name == ns.name() && n.phase == "Active");
            if ready == 2
                && sa == Some(vec!["acr".into()])
                && secret.as_deref() == Some("kubernetes.io/dockerconfigjson")
                && ns_row
            {
                Ok(())
            } else {
                Err(format!(
                    "ready {ready}, sa {sa:?}, secret {secret:?}, namespace row {ns_row}"
                ))
            }
        },
    );
    live.with(|m| {
        assert!(
            m.secret(ns.name(), "plain").is_none(),
            "an Opaque secret entered the model"
        );
        let pod = m.pods_in(ns.name()).next().unwrap();
        assert_eq!(pod.image_pull_secrets, ["acr"]);
        assert_eq!(m.deployment_of_pod(pod).unwrap().name, "idle");
        assert_eq!(m.connection(), ConnectionState::Live);
    });

    // Scale to 0: the pods leave the model (and match kubectl exactly).
    kubectl(["-n", ns.name(), "scale", "deployment/idle", "--replicas=0"]);
    live.wait("pods gone from the model", T, |m| {
        let have: BTreeSet<String> = m.pods_in(ns.name()).map(|p| p.name.clone()).collect();
        let want = kubectl_pods(ns.name());
        if have.is_empty() && want.is_empty() {
            Ok(())
        } else {
            Err(format!("model {have:?} kubectl {want:?}"))
        }
    });
    // Delete the deployment and the secret: their rows go (ReplicaSets by garbage collection).
    kubectl(["-n", ns.name(), "delete", "deployment", "idle"]);
    kubectl(["-n", ns.name(), "delete", "secret", "acr"]);
    live.wait("deployment, replica sets and secret gone", T, |m| {
        let rs = m
            .replica_sets()
            .filter(|r| r.namespace == ns.name())
            .count();
        if m.deployment(ns.name(), "idle").is_none()
            && rs == 0
            && m.secret(ns.name(), "acr").is_none()
        {
            Ok(())
        } else {
            Err(format!("replica sets left: {rs}"))
        }
    });
}

#[test]
fn switching_scope_stops_the_old_watchers_and_ignores_their_leftovers() {
    let _lock = apiserver_lock(false);
    let a = TestNamespace::new("cl-switch-a");
    let b = TestNamespace::new("cl-switch-b");
    let t = admin();
    let (tx, mut rx) = mpsc::channel::<ModelUpdate>(1024);
    let model = Arc::new(Mutex::new(ClusterModel::new(1)));
    let m = model.clone();
    rt().spawn(async move {
        while let Some(u) = rx.recv().await {
            m.lock().unwrap().apply(u);
        }
    });
    let kinds = vec![Kind::Deployment, Kind::Pod];
    let spawn = |ns: &str, epoch: u64| {
        let _g = rt().enter();
        Watchers::spawn(
            t.client.clone(),
            &WatchOptions {
                namespaces: Some(vec![ns.to_owned()]),
                kinds: kinds.clone(),
            },
            epoch,
            tx.clone(),
        )
    };
    let wait = |desc: &str, f: &dyn Fn(&ClusterModel) -> Result<(), String>| {
        support::wait_for(desc, T, || f(&model.lock().unwrap()))
    };

    let mut watchers = spawn(a.name(), 1);
    create(a.name(), &idle_deployment("one", 1));
    wait("deployment one of namespace A", &|m| {
        m.deployment(a.name(), "one")
            .map(|_| ())
            .ok_or_else(|| "not yet".into())
    });

    // The switch: stop A's tasks, reset the model for epoch 2, watch B.
    watchers.abort();
    model.lock().unwrap().reset(2);
    let _watchers_b = spawn(b.name(), 2);
    create(b.name(), &idle_deployment("two", 1));
    create(a.name(), &idle_deployment("three", 1));
    wait("deployment two of namespace B, live", &|m| {
        let live = m.connections().len() == 2
            && m.connections()
                .values()
                .all(|s| *s == ConnectionState::Live);
        if m.deployment(b.name(), "two").is_some() && live {
            Ok(())
        } else {
            Err(format!("{:?}", m.connections()))
        }
    });
    // Wait until A's new deployment has pods (so an old watcher would have had news to send).
    support::wait_for("namespace A's new pod exists", T, || {
        if kubectl_pods(a.name())
            .iter()
            .any(|p| p.starts_with("three-"))
        {
            Ok(())
        } else {
            Err("no pod")
        }
    });
    let m = model.lock().unwrap();
    assert!(
        m.deployments().all(|d| d.namespace == b.name()),
        "rows of namespace A after the switch"
    );
    assert!(m.pods().all(|p| p.namespace == b.name()));
    assert_eq!(m.epoch(), 2);
}
