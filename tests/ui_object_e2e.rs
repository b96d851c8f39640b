//! The object view in a real terminal (tmux) against the local environment: `y` on a pod
//! shows the YAML the apiserver holds (managedFields on `m` only), `e` its events as the
//! kubelet and scheduler recorded them, and `:yaml secret/NAME` a Secret's keys and sizes
//! without its data — checked against what kubectl reads of the same objects.

mod cluster_common;
mod support;
mod tmux_support;

use base64::Engine as _;
use cluster_common::{apiserver_lock, busybox_deployment, create, pod_names};
use support::{TestNamespace, kubectl, wait_for};
use tmux_support::{Berth, line_with};

const IDLE: &str = "while true; do sleep 1; done";

#[test]
fn yaml_and_events_of_a_pod_and_a_secret_without_its_data() {
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("ui-yaml");
    create(ns.name(), &busybox_deployment("show", 1, IDLE));
    // Applied from a manifest, as teams do: the last-applied annotation holds the data too.
    let value = "S3cr3t-Value-42";
    create(
        ns.name(),
        &serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app-creds"},
            "type": "Opaque", "stringData": {"password": value, "user": "admin"}
        }),
    );
    kubectl([
        "-n",
        ns.name(),
        "rollout",
        "status",
        "deployment/show",
        "--timeout=120s",
    ]);
    let pod = pod_names(ns.name(), "show").remove(0);
    let uid = kubectl([
        "-n",
        ns.name(),
        "get",
        "pod",
        &pod,
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    // The kubelet's Started event is recorded a moment after the pod runs.
    wait_for(
        "the pod's Started event",
        std::time::Duration::from_secs(60),
        || {
            kubectl([
                "-n",
                ns.name(),
                "get",
                "events",
                "--field-selector",
                &format!("involvedObject.uid={uid},reason=Started"),
                "-o",
                "name",
            ])
            .lines()
            .next()
            .map(|_| ())
        },
    );

    let berth = Berth::new(ns.name());
    let tui = berth.start(&[]);
    tui.wait("show complete", |s| {
        line_with(s, &["show", "complete"]).map(|_| ())
    });
    tui.keys(&["enter"]);
    tui.wait("the pod in the pods pane", |s| {
        line_with(s, &[&pod, "Running"]).map(|_| ())
    });
    tui.keys(&["y"]);
    let screen = tui.wait("the pod's YAML", |s| {
        line_with(s, &["[yaml]", &format!("pod/{pod}"), ns.name()])?;
        line_with(s, &["kind: Pod"])?;
        Some(s.to_owned())
    });
    assert!(
        screen.contains(&format!("uid: {uid}")),
        "the uid kubectl reads:\n{screen}"
    );
    assert!(!screen.contains("managedFields:"), "{screen}");
    // A search moves to its hit.
    tui.keys(&["/"]);
    tui.type_text("resourceVersion");
    tui.keys(&["Enter"]);
    tui.wait("the search hit on screen", |s| {
        line_with(s, &["resourceVersion: "]).map(|_| ())
    });
    tui.keys(&["m"]);
    tui.wait("managedFields on m", |s| {
        line_with(s, &["with managedFields"])?;
        line_with(s, &["managedFields:"]).map(|_| ())
    });

    tui.keys(&["e"]);
    let screen = tui.wait("the pod's events", |s| {
        line_with(s, &["[events]"])?;
        line_with(s, &["Type", "Reason", "Age", "From", "Message"])?;
        line_with(s, &["Normal", "Started"]).map(|_| s.to_owned())
    });
    let reasons = kubectl([
        "-n",
        ns.name(),
        "get",
        "events",
        "--field-selector",
        &format!("involvedObject.uid={uid}"),
        "-o",
        "jsonpath={range .items[*]}{.reason}{\"\\n\"}{end}",
    ]);
    for reason in reasons.lines().filter(|r| !r.is_empty()) {
        assert!(
            screen.lines().any(|l| l.contains(&format!(" {reason} "))),
            "kubectl has a {reason} event the view lacks:\n{screen}"
        );
    }
    tui.escape("[events]");

    // A Secret by name: its keys and sizes, never the value (nor its base64).
    tui.keys(&[":"]);
    tui.type_text("yaml secret/app-creds");
    tui.keys(&["Enter"]);
    let screen = tui.wait("the Secret's keys and sizes", |s| {
        line_with(s, &["kind: Secret"])?;
        line_with(s, &["password:", "<hidden: 15 bytes>"])?;
        line_with(s, &["user:", "<hidden: 5 bytes>"])?;
        line_with(s, &["last-applied-configuration:", "<hidden:"]).map(|_| s.to_owned())
    });
    let b64 = base64::engine::general_purpose::STANDARD.encode(value);
    for leaked in [value, b64.as_str(), "YWRtaW4="] {
        assert!(!screen.contains(leaked), "{leaked} on screen:\n{screen}");
    }
    // The data is there: kubectl reads it.
    let stored = kubectl([
        "-n",
        ns.name(),
        "get",
        "secret",
        "app-creds",
        "-o",
        "jsonpath={.data.password}",
    ]);
    assert_eq!(stored, b64);
    // managedFields on a Secret name its keys, not their values.
    tui.keys(&["m"]);
    let screen = tui.wait("the Secret with managedFields", |s| {
        line_with(s, &["managedFields:"]).map(|_| s.to_owned())
    });
    assert!(
        !screen.contains(value) && !screen.contains(&b64),
        "{screen}"
    );
    tui.keys(&["q", "q"]);
    drop(tui);
    // Nothing of ours holds it either: the log file, the audit log, the config dir.
    for entry in std::fs::read_dir(berth.dir.path()).expect("berth's dir") {
        let path = entry.expect("entry").path();
        if let Ok(text) = std::fs::read_to_string(&path) {
            assert!(
                !text.contains(value) && !text.contains(&b64),
                "{} holds the secret",
                path.display()
            );
        }
    }
}
