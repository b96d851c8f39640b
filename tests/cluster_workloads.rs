//! StatefulSets and DaemonSets on the real node: berth's one model (the same the dashboard
//! reads) follows their rollouts, and `berth rollout status sts/NAME|ds/NAME` agrees with
//! `kubectl rollout status/history`: complete when kubectl says so, at the revision kubectl
//! lists, and stuck (with the pod's pull failure) as soon as the new revision cannot pull,
//! while kubectl is still waiting.

mod cluster_common;
mod support;

use std::process::Command;

use berth::cluster::model::{Kind, RolloutState, WorkloadKind};
use cluster_common::{LiveModel, acr_image, admin, admin_pull_secret, apiserver_lock, create};
use serde_json::{Value, json};
use support::{Env, TestNamespace, kubectl, try_kubectl};

fn pod_spec(image: &str) -> Value {
    json!({
        "terminationGracePeriodSeconds": 1,
        "imagePullSecrets": [{"name": "acr"}],
        "containers": [{"name": "app", "image": image, "imagePullPolicy": "IfNotPresent"}]
    })
}

fn stateful_set(name: &str, image: &str, replicas: i32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec(image)}
        }
    })
}

fn daemon_set(name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec(image)}
        }
    })
}

/// `berth rollout ARGS… -n NS --json` (with an audit log of its own): (output, exit code).
fn berth_json(ns: &str, audit: Option<&std::path::Path>, args: &[&str]) -> (Value, Option<i32>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.arg("--kubeconfig")
        .arg(Env::get().kubeconfig())
        .arg("rollout")
        .args(args)
        .args(["-n", ns, "--json"]);
    if let Some(a) = audit {
        cmd.env("BERTH_AUDIT_LOG", a);
    }
    let out = cmd.output().expect("run berth");
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "berth rollout {args:?} --json: {e}; stdout {:?} stderr {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code())
}

fn berth_action(ns: &str, audit: &std::path::Path, args: &[&str]) -> (Value, Option<i32>) {
    berth_json(ns, Some(audit), args)
}

fn template_image(ns: &str, kubectl_name: &str) -> String {
    kubectl([
        "-n",
        ns,
        "get",
        kubectl_name,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ])
    .trim()
    .to_owned()
}

/// After [`complete_then_stuck`]: undo goes back to revision 1's image and completes (kubectl
/// renumbers that revision 3), restart stamps the template, set-image rolls to a new tag, and
/// pause is refused (Deployments only) with nothing changed.
fn undo_restart_set_image(ns: &str, workload: &str, kubectl_name: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let audit = dir.path().join("audit.jsonl");

    let (undo, code) = berth_action(ns, &audit, &["undo", workload]);
    assert_eq!(code, Some(0), "{undo}");
    assert_eq!(template_image(ns, kubectl_name), acr_image("web:1.0.11"));
    let (done, _) = berth_status(ns, workload);
    assert_eq!(done["state"], "complete", "after undo: {done}");
    kubectl([
        "-n",
        ns,
        "rollout",
        "status",
        kubectl_name,
        "--timeout=180s",
    ]);
    assert_eq!(history_revisions(ns, kubectl_name), vec![2, 3]);
    assert_eq!(current_revision(&done), Some(3), "{done}");

    let (restart, code) = berth_action(ns, &audit, &["restart", workload]);
    assert_eq!(code, Some(0), "{restart}");
    let stamp = kubectl([
        "-n",
        ns,
        "get",
        kubectl_name,
        "-o",
        "jsonpath={.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}",
    ]);
    assert!(!stamp.trim().is_empty(), "no restartedAt after {restart}");
    kubectl([
        "-n",
        ns,
        "rollout",
        "status",
        kubectl_name,
        "--timeout=180s",
    ]);

    let (set, code) = berth_action(
        ns,
        &audit,
        &[
            "set-image",
            workload,
            &format!("app={}", acr_image("web:1.0.12")),
        ],
    );
    assert_eq!(code, Some(0), "{set}");
    assert_eq!(template_image(ns, kubectl_name), acr_image("web:1.0.12"));
    let (done, _) = berth_status(ns, workload);
    assert_eq!(done["state"], "complete", "after set-image: {done}");
    kubectl([
        "-n",
        ns,
        "rollout",
        "status",
        kubectl_name,
        "--timeout=180s",
    ]);

    let before = kubectl([
        "-n",
        ns,
        "get",
        kubectl_name,
        "-o",
        "jsonpath={.metadata.generation}",
    ]);
    let (pause, code) = berth_action(ns, &audit, &["pause", workload]);
    assert_ne!(code, Some(0), "{pause}");
    assert!(
        pause.to_string().contains("only deployments can be paused"),
        "{pause}"
    );
    let after = kubectl([
        "-n",
        ns,
        "get",
        kubectl_name,
        "-o",
        "jsonpath={.metadata.generation}",
    ]);
    assert_eq!(before, after, "a refused pause changed {kubectl_name}");

    // Each action left its intent and result in the audit log.
    let log = std::fs::read_to_string(&audit).expect("audit log");
    for action in ["rollout.undo", "rollout.restart", "rollout.set-image"] {
        assert!(
            log.lines()
                .any(|l| l.contains(action) && l.contains("\"status\":\"ok\"")),
            "{action} not audited as ok:\n{log}"
        );
    }
}

/// `berth rollout status WORKLOAD --wait`: returns when complete or stuck.
fn berth_status(ns: &str, workload: &str) -> (Value, Option<i32>) {
    berth_json(
        ns,
        None,
        &["status", workload, "--wait", "--timeout", "180"],
    )
}

fn history_revisions(ns: &str, workload: &str) -> Vec<i64> {
    kubectl(["-n", ns, "rollout", "history", workload])
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

fn current_revision(status: &Value) -> Option<i64> {
    status["revisions"]
        .as_array()?
        .iter()
        .find(|r| r["current"] == true)?["revision"]
        .as_i64()
}

/// Complete, then stuck on a missing tag, both ways, for one workload.
fn complete_then_stuck(ns: &str, workload: &str, kubectl_name: &str) {
    kubectl([
        "-n",
        ns,
        "rollout",
        "status",
        kubectl_name,
        "--timeout=180s",
    ]);
    let (done, code) = berth_status(ns, workload);
    assert_eq!(done["state"], "complete", "{workload}: {done}");
    assert_eq!(code, Some(0), "{done}");
    assert_eq!(history_revisions(ns, kubectl_name), vec![1]);
    assert_eq!(current_revision(&done), Some(1), "{done}");

    kubectl([
        "-n",
        ns,
        "set",
        "image",
        kubectl_name,
        &format!("app={}", acr_image("web:9.9.9")),
    ]);
    let (stuck, code) = berth_status(ns, workload);
    assert_eq!(stuck["state"], "stuck", "{workload}: {stuck}");
    assert!(
        ["ErrImagePull", "ImagePullBackOff"].contains(&stuck["reason"].as_str().unwrap_or("")),
        "{stuck}"
    );
    assert_ne!(code, Some(0), "stuck is not success: {stuck}");
    // kubectl, which only reads the workload's counts, is still waiting.
    assert!(
        try_kubectl(["-n", ns, "rollout", "status", kubectl_name, "--timeout=2s"]).is_err(),
        "kubectl considers {kubectl_name} rolled out"
    );
    assert_eq!(history_revisions(ns, kubectl_name), vec![1, 2]);
    assert_eq!(current_revision(&stuck), Some(2), "{stuck}");
}

#[test]
fn statefulset_and_daemonset_rollouts_agree_with_kubectl() {
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("workloads");
    admin_pull_secret(ns.name(), "acr");
    create(ns.name(), &stateful_set("db", &acr_image("web:1.0.11"), 2));
    create(ns.name(), &daemon_set("agent", &acr_image("web:1.0.11")));

    // The library model (the dashboard's) joins the pods to their owners directly.
    let live = LiveModel::start(
        &admin(),
        Some(vec![ns.name().to_owned()]),
        &[
            Kind::StatefulSet,
            Kind::DaemonSet,
            Kind::ControllerRevision,
            Kind::Pod,
        ],
    );
    live.wait(
        "both workloads complete in the model, with their pods",
        std::time::Duration::from_secs(180),
        |m| {
            let db = m
                .workload(WorkloadKind::StatefulSet, ns.name(), "db")
                .ok_or("no db")?;
            let agent = m
                .workload(WorkloadKind::DaemonSet, ns.name(), "agent")
                .ok_or("no agent")?;
            let (db_pods, agent_pods) = (m.pods_of(db).len(), m.pods_of(agent).len());
            let owner = m
                .pod(ns.name(), "db-0")
                .and_then(|p| m.deployment_of_pod(p))
                .map(|w| (w.kind, w.name.clone()));
            if db.rollout == RolloutState::Complete
                && agent.rollout == RolloutState::Complete
                && db_pods == 2
                && agent_pods == 1
                && owner == Some((WorkloadKind::StatefulSet, "db".to_owned()))
                && db.revision == Some(1)
            {
                Ok(())
            } else {
                Err(format!(
                    "db {:?} r{:?} ({db_pods} pods), agent {:?} ({agent_pods} pods), db-0's owner {owner:?}",
                    db.rollout, db.revision, agent.rollout
                ))
            }
        },
    );

    complete_then_stuck(ns.name(), "sts/db", "statefulset/db");
    complete_then_stuck(ns.name(), "ds/agent", "daemonset/agent");
    undo_restart_set_image(ns.name(), "sts/db", "statefulset/db");
    undo_restart_set_image(ns.name(), "ds/agent", "daemonset/agent");
}
