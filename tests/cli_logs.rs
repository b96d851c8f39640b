//! `berth logs` against the local environment, checked against `kubectl logs` of the same
//! pods: the same lines, with `--tail`, `--since` and `--timestamps`; a workload's pods
//! interleaved with their prefix; `-f` following; and the mistakes named (no such pod, no such
//! container with the ones there are, `--previous` of a container that never restarted in the
//! apiserver's words), with their exit statuses.

mod cluster_common;
mod support;
mod tmux_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use cluster_common::{apiserver_lock, busybox_deployment, create, pod_names};
use serde_json::json;
use support::{TestNamespace, kubectl, wait_for};
use tmux_support::Berth;

const CLUSTER: Duration = Duration::from_secs(180);

/// A Deployment of `replicas` busybox pods that print `count` numbered lines, then wait.
fn counted(ns: &str, name: &str, replicas: i32, count: u32) {
    let script = format!(
        "i=0; while [ $i -lt {count} ]; do echo $HOSTNAME says line $i; i=$((i+1)); done; \
         sleep 3600"
    );
    create(ns, &busybox_deployment(name, replicas, &script));
    kubectl([
        "-n",
        ns,
        "rollout",
        "status",
        &format!("deployment/{name}"),
        "--timeout=180s",
    ]);
}

/// Every pod has printed all its lines (kubectl sees the last one).
fn wait_printed(ns: &str, pod: &str, count: u32) {
    wait_for("the pod printed every line", CLUSTER, || {
        let log = kubectl(["-n", ns, "logs", pod]);
        let last = format!("says line {}", count - 1);
        if log.lines().any(|l| l.ends_with(&last)) {
            Ok(())
        } else {
            Err(format!(
                "kubectl logs so far: {} lines",
                log.lines().count()
            ))
        }
    });
}

fn berth(b: &Berth, args: &[&str]) -> Output {
    let argv = b.command(args);
    Command::new(&argv[0])
        .args(&argv[1..])
        .output()
        .expect("run berth")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn berth_logs_of_a_pod_match_kubectl() {
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("cli-logs-pod");
    counted(ns.name(), "solo", 1, 300);
    let pod = pod_names(ns.name(), "solo").remove(0);
    wait_printed(ns.name(), &pod, 300);
    let b = Berth::new(ns.name());
    for extra in [
        &[][..],
        &["--tail", "7"][..],
        &["--timestamps", "--tail", "20"][..],
        &["--since", "1h"][..],
        &["-c", "app", "--tail", "0"][..],
    ] {
        let mut args = vec!["logs", "-n", ns.name(), pod.as_str()];
        args.extend_from_slice(extra);
        let out = berth(&b, &args);
        assert!(
            out.status.success(),
            "berth {args:?}: {}",
            text(&out.stderr)
        );
        let mut k = vec!["-n", ns.name(), "logs", pod.as_str()];
        k.extend_from_slice(extra);
        let expected = kubectl(k);
        assert_eq!(text(&out.stdout), expected, "berth {args:?} vs kubectl");
        if extra.is_empty() {
            assert_eq!(expected.lines().count(), 300);
        }
    }
    // The same through pod/NAME.
    let out = berth(
        &b,
        &[
            "logs",
            "-n",
            ns.name(),
            &format!("pod/{pod}"),
            "--tail",
            "3",
        ],
    );
    assert_eq!(
        text(&out.stdout),
        kubectl(["-n", ns.name(), "logs", &pod, "--tail", "3"])
    );
}

#[test]
fn berth_logs_of_a_workload_interleave_its_pods_with_a_prefix() {
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("cli-logs-duo");
    counted(ns.name(), "duo", 2, 50);
    let names = pod_names(ns.name(), "duo");
    assert_eq!(names.len(), 2);
    for p in &names {
        wait_printed(ns.name(), p, 50);
    }
    let b = Berth::new(ns.name());
    let out = berth(&b, &["logs", "-n", ns.name(), "deploy/duo"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut got: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    let mut expected: Vec<String> = names
        .iter()
        .flat_map(|p| {
            kubectl(["-n", ns.name(), "logs", p])
                .lines()
                .map(|l| format!("{p}/app {l}"))
                .collect::<Vec<_>>()
        })
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    // A plain name that is no pod is the workload; each pod's lines stay in their order.
    let out = berth(&b, &["logs", "-n", ns.name(), "duo", "--tail", "5"]);
    let shown = text(&out.stdout);
    for p in &names {
        let mine: Vec<&str> = shown
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("{p}/app ")))
            .collect();
        let tail = kubectl(["-n", ns.name(), "logs", p, "--tail", "5"]);
        assert_eq!(mine, tail.lines().collect::<Vec<_>>(), "{shown}");
    }
}

#[test]
fn berth_logs_follow_prints_new_lines() {
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("cli-logs-f");
    create(
        ns.name(),
        &json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "ticker"},
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{
                    "name": "app",
                    "image": "registry.berth.local/pause:1",
                    "imagePullPolicy": "Never",
                    "command": ["/bin/busybox", "sh", "-c",
                        "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done"]
                }]
            }
        }),
    );
    kubectl([
        "-n",
        ns.name(),
        "wait",
        "--for=condition=Ready",
        "pod/ticker",
        "--timeout=180s",
    ]);
    let b = Berth::new(ns.name());
    let argv = b.command(&["logs", "-n", ns.name(), "ticker", "-f", "--tail", "1"]);
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("berth logs -f");
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut seen: Vec<u64> = Vec::new();
    wait_for("ten new lines from the follow", CLUSTER, || {
        while let Ok(l) = rx.try_recv() {
            let n = l
                .strip_prefix("line ")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("not a line of the pod: {l:?}"));
            seen.push(n);
        }
        (seen.len() >= 11).then_some(()).ok_or(format!("{seen:?}"))
    });
    let _ = child.kill();
    let _ = child.wait();
    // One line of the tail, then consecutive new ones: nothing lost, nothing twice.
    for w in seen.windows(2) {
        assert_eq!(w[1], w[0] + 1, "{seen:?}");
    }
    let log = kubectl(["-n", ns.name(), "logs", "ticker"]);
    assert!(log.lines().any(|l| l == format!("line {}", seen[10])));
}

#[test]
fn berth_logs_mistakes_are_named() {
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("cli-logs-bad");
    counted(ns.name(), "one", 1, 3);
    let pod = pod_names(ns.name(), "one").remove(0);
    let b = Berth::new(ns.name());
    let out = berth(&b, &["logs", "-n", ns.name(), "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("no pod, deployment, statefulset or daemonset \"nosuch\"")
            && err.contains(&pod)
            && err.contains("deployments there: one"),
        "{err}"
    );
    let out = berth(&b, &["logs", "-n", ns.name(), "pod/nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(&format!("no pod \"nosuch\" in namespace {}", ns.name())));
    let out = berth(&b, &["logs", "-n", ns.name(), &pod, "-c", "sidecar"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no container \"sidecar\"")
            && text(&out.stderr).contains("its containers: app"),
        "{}",
        text(&out.stderr)
    );
    // --previous of a container that never restarted: the apiserver's words, as kubectl's.
    let out = berth(&b, &["logs", "-n", ns.name(), &pod, "--previous"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let kubectl_says = support::try_kubectl(["-n", ns.name(), "logs", &pod, "--previous"])
        .expect_err("kubectl fails too");
    let words = format!("previous terminated container \"app\" in pod \"{pod}\" not found");
    assert!(kubectl_says.contains(&words), "{kubectl_says}");
    assert!(text(&out.stderr).contains(&words), "{}", text(&out.stderr));
    // Bad input before anything is contacted.
    for (args, says) in [
        (vec!["--since", "5x"], "not a duration"),
        (vec!["--tail", "-3"], "--tail -3"),
    ] {
        let mut a = vec!["logs", "-n", ns.name(), pod.as_str()];
        a.extend(args);
        let out = berth(&b, &a);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
    }
}

/// `berth logs deploy/NAME -f`: a rollout's new pods join the output with their prefix.
#[test]
fn berth_logs_follow_a_workload_across_a_rollout() {
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("cli-logs-roll");
    create(
        ns.name(),
        &busybox_deployment(
            "roll",
            2,
            "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done",
        ),
    );
    kubectl([
        "-n",
        ns.name(),
        "rollout",
        "status",
        "deployment/roll",
        "--timeout=180s",
    ]);
    let before = pod_names(ns.name(), "roll");
    let b = Berth::new(ns.name());
    let argv = b.command(&["logs", "-n", ns.name(), "deploy/roll", "-f", "--tail", "1"]);
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("berth logs -f");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut lines: Vec<String> = Vec::new();
    let drain = |lines: &mut Vec<String>| lines.extend(rx.try_iter());
    wait_for("both pods' lines", CLUSTER, || {
        drain(&mut lines);
        let ok = before.iter().all(|p| {
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{p}/app line ")))
        });
        ok.then_some(()).ok_or(format!("{} lines", lines.len()))
    });
    kubectl(["-n", ns.name(), "rollout", "restart", "deployment/roll"]);
    kubectl([
        "-n",
        ns.name(),
        "rollout",
        "status",
        "deployment/roll",
        "--timeout=180s",
    ]);
    let after: Vec<String> = pod_names(ns.name(), "roll")
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    assert!(!after.is_empty());
    wait_for("the new pods' lines with their prefix", CLUSTER, || {
        drain(&mut lines);
        let missing: Vec<&String> = after
            .iter()
            .filter(|p| {
                !lines
                    .iter()
                    .any(|l| l.starts_with(&format!("{p}/app line ")))
            })
            .collect();
        missing
            .is_empty()
            .then_some(())
            .ok_or(format!("no lines yet of {missing:?}"))
    });
    let _ = child.kill();
    let _ = child.wait();
}
