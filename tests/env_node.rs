//! The local environment's cluster itself: the node runs real containers, and the two identities
//! have the rights they should. Needs only `scripts/env/up` (no registry).

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Env, TestNamespace, kubectl, kubectl_as, kubectl_json, kubectl_stdin, wait_for};

/// The pre-imported sandbox image; `Never` proves nothing is pulled.
const LOCAL_IMAGE: &str = "registry.berth.local/pause:1";

#[test]
fn node_is_ready_and_runs_a_pod_from_the_preimported_image() {
    let env = Env::get();
    let node = kubectl_json(["get", "node", env.node_name()]);
    let ready = node["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    assert!(
        ready,
        "node {} is not Ready: {}",
        env.node_name(),
        node["status"]["conditions"]
    );

    let ns = TestNamespace::new("env-node");
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "sleeper"},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "main", "image": LOCAL_IMAGE, "imagePullPolicy": "Never"}]
        }
    });
    kubectl_stdin(["-n", ns.name(), "apply", "-f", "-"], &pod.to_string());

    let status = wait_for(
        "pod sleeper Running and Ready",
        Duration::from_secs(120),
        || {
            let pod = kubectl_json(["-n", ns.name(), "get", "pod", "sleeper"]);
            let status = &pod["status"];
            let ready = status["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            if status["phase"] == "Running" && ready {
                Ok(status.clone())
            } else {
                Err(format!(
                    "phase {} containerStatuses {}",
                    status["phase"], status["containerStatuses"]
                ))
            }
        },
    );
    assert_eq!(status["containerStatuses"][0]["image"], LOCAL_IMAGE);
    assert!(
        status["podIP"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.201.")),
        "pod got no IP from the CNI bridge: {}",
        status["podIP"]
    );
    // The container really runs: the apiserver reaches the kubelet and runc executes in it.
    let out = kubectl([
        "-n",
        ns.name(),
        "exec",
        "sleeper",
        "--",
        "/bin/busybox",
        "echo",
        "hello from the node",
    ]);
    assert_eq!(out.trim(), "hello from the node");
}

#[test]
fn readonly_identity_reads_but_cannot_write() {
    let env = Env::get();
    let ns = TestNamespace::new("env-readonly");
    let readonly = env.kubeconfig_readonly();

    let pods = kubectl_as(&readonly, ["-n", ns.name(), "get", "pods"], None);
    assert!(
        pods.is_ok(),
        "read-only identity cannot list pods: {pods:?}"
    );

    let create = kubectl_as(
        &readonly,
        ["-n", ns.name(), "create", "configmap", "nope"],
        None,
    );
    let err = create.expect_err("the read-only identity created a configmap");
    assert!(
        err.contains("Forbidden") || err.contains("forbidden"),
        "unexpected error: {err}"
    );

    // ClusterRole view does not include secrets.
    let secrets = kubectl_as(&readonly, ["-n", ns.name(), "get", "secrets"], None);
    assert!(secrets.is_err(), "read-only identity can read secrets");

    let whoami = kubectl_as(&readonly, ["config", "current-context"], None).unwrap();
    assert_eq!(whoami.trim(), "berth-readonly");
    let admin = kubectl(["config", "current-context"]);
    assert_eq!(admin.trim(), "berth-admin");
}
