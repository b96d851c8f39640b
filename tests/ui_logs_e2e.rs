//! The logs view in a real terminal (tmux) against the local environment: following a pod
//! that prints, a two-pod workload's interleaved lines across a rollout (the new pods join with
//! their prefix), and the previous container of one that crashed — each checked against
//! what `kubectl logs` says of the same pod.

mod cluster_common;
mod support;
mod tmux_support;

use cluster_common::{apiserver_lock, busybox_deployment, create, pod_names};
use support::{TestNamespace, kubectl, wait_for};
use tmux_support::{Berth, line_with};

/// Pods starting, restarting and rolling on a loaded machine: generous.
const CLUSTER: std::time::Duration = std::time::Duration::from_secs(180);

const COUNTER: &str = "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done";

/// The largest `line N` on the screen (of `prefix`'s lines, when given).
fn last_line(screen: &str, prefix: &str) -> Option<u64> {
    screen
        .lines()
        .filter(|l| l.contains(prefix))
        .filter_map(|l| {
            let at = l.find("line ")?;
            let digits: String = l[at + 5..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .max()
}

#[test]
fn logs_follow_a_pod_that_prints() {
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("ui-logs-pod");
    create(ns.name(), &busybox_deployment("talk", 1, COUNTER));
    kubectl([
        "-n",
        ns.name(),
        "rollout",
        "status",
        "deployment/talk",
        "--timeout=120s",
    ]);
    let pod = pod_names(ns.name(), "talk").remove(0);
    let berth = Berth::new(ns.name());
    let tui = berth.start(&[]);
    tui.wait("talk complete", |s| {
        line_with(s, &["talk", "complete"]).map(|_| ())
    });
    tui.keys(&["enter"]);
    tui.wait("the pod in the pods pane", |s| {
        line_with(s, &["Running"]).map(|_| ())
    });
    tui.keys(&["l"]);
    let first = tui.wait("the pod's lines, following", |s| {
        line_with(
            s,
            &["Logs", &format!("pod {}/{pod}", ns.name()), "following"],
        )?;
        last_line(s, "line ")
    });
    // Following: newer lines keep arriving at the bottom.
    let later = tui.wait("newer lines while following", |s| {
        last_line(s, "line ").filter(|n| *n >= first + 5)
    });
    // Every line on screen is one kubectl reads from the same pod.
    let kubectl_log = kubectl(["-n", ns.name(), "logs", &pod]);
    assert!(
        kubectl_log.lines().any(|l| l == format!("line {later}")),
        "{kubectl_log}"
    );
    // Scrolled up: paused, the screen stays while new lines are counted below. One key, so
    // that the screen read below is the one after it (more keys in flight would move the view
    // after `paused_at` was read; scrolling itself is unit-tested in app/logs.rs).
    tui.keys(&["k"]);
    let paused_at = tui.wait("paused with new lines below", |s| {
        line_with(s, &["paused,", "new (G)"])?;
        last_line(s, "line ")
    });
    tui.wait("more new lines counted while paused", |s| {
        let l = line_with(s, &["paused,"])?;
        let n: u64 = l
            .split("paused, ")
            .nth(1)?
            .split(' ')
            .next()?
            .parse()
            .ok()?;
        (n >= 10 && last_line(s, "line ") == Some(paused_at)).then_some(())
    });
    // At the bottom again, it follows.
    tui.keys(&["G"]);
    tui.wait("following again, past where it paused", |s| {
        line_with(s, &["following"])?;
        last_line(s, "line ").filter(|n| *n > paused_at + 10)
    });
    // Search: the hit is on screen and the search says where it is not.
    tui.keys(&["/"]);
    tui.type_text(&format!("line {first}"));
    tui.keys(&["Enter"]);
    tui.wait("the search moved the view to the hit", |s| {
        line_with(s, &["paused,"])?;
        s.lines()
            .any(|l| {
                l.trim_start_matches('│')
                    .starts_with(&format!("line {first}"))
            })
            .then_some(())
    });
}

#[test]
fn logs_interleave_a_two_pod_workload_across_a_rollout() {
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("ui-logs-duo");
    create(ns.name(), &busybox_deployment("duo", 2, COUNTER));
    kubectl([
        "-n",
        ns.name(),
        "rollout",
        "status",
        "deployment/duo",
        "--timeout=120s",
    ]);
    let before = pod_names(ns.name(), "duo");
    assert_eq!(before.len(), 2, "{before:?}");
    let berth = Berth::new(ns.name());
    let tui = berth.start(&[]);
    tui.wait("duo complete", |s| {
        line_with(s, &["duo", "complete"]).map(|_| ())
    });
    tui.keys(&["l"]);
    tui.wait("both pods' lines, each with its prefix", |s| {
        line_with(
            s,
            &["Logs", &format!("deploy {}/duo", ns.name()), "following"],
        )?;
        line_with(s, &[&format!("{}/app line ", before[0])])?;
        line_with(s, &[&format!("{}/app line ", before[1])]).map(|_| ())
    });
    // A rollout: new pods replace the old ones and join the view.
    kubectl(["-n", ns.name(), "rollout", "restart", "deployment/duo"]);
    kubectl([
        "-n",
        ns.name(),
        "rollout",
        "status",
        "deployment/duo",
        "--timeout=180s",
    ]);
    let after: Vec<String> = wait_for("the new pods alone", CLUSTER, || {
        let now = pod_names(ns.name(), "duo");
        let new: Vec<String> = now.into_iter().filter(|p| !before.contains(p)).collect();
        if new.len() == 2 {
            Ok(new)
        } else {
            Err(format!("{new:?}"))
        }
    });
    tui.wait("the new pods' lines with their prefixes", |s| {
        line_with(s, &[&format!("{}/app line ", after[0])])?;
        line_with(s, &[&format!("{}/app line ", after[1])]).map(|_| ())
    });
    // What the view shows of a new pod is what kubectl reads of it.
    let screen = tui.screen();
    let n = last_line(&screen, &after[0]).expect("a numbered line of the new pod");
    let log = kubectl(["-n", ns.name(), "logs", &after[0]]);
    assert!(log.lines().any(|l| l == format!("line {n}")), "{log}");
}

#[test]
fn logs_previous_of_a_restarted_container() {
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("ui-logs-prev");
    // kubelet serves `--previous` from the last terminated container; here a container that
    // ran for a while leaves an empty log behind when the next one starts, so this one crashes
    // at once and is read while it waits in CrashLoopBackOff (kubectl agrees, checked below).
    let script = "echo run of $(cat /proc/sys/kernel/random/uuid); echo about to fail; exit 1";
    create(ns.name(), &busybox_deployment("crash", 1, script));
    let pod: String = wait_for("a pod in a crash loop with a previous log", CLUSTER, || {
        let pods = pod_names(ns.name(), "crash");
        let Some(p) = pods.first() else {
            return Err("no pod yet".to_owned());
        };
        let status = kubectl([
            "-n",
            ns.name(),
            "get",
            "pod",
            p,
            "-o",
            "jsonpath={.status.containerStatuses[0].restartCount} \
             {.status.containerStatuses[0].state.waiting.reason}",
        ]);
        let prev = support::try_kubectl(["-n", ns.name(), "logs", p, "--previous"]);
        match (status.split_once(' '), prev) {
            (Some((n, "CrashLoopBackOff")), Ok(log))
                if n.parse::<i32>().is_ok_and(|n| n >= 1) && log.contains("run of ") =>
            {
                Ok(p.clone())
            }
            (s, prev) => Err(format!("status {s:?}, kubectl --previous {prev:?}")),
        }
    });
    let berth = Berth::new(ns.name());
    let tui = berth.start(&[]);
    tui.wait("crash in the list", |s| {
        line_with(s, &["crash"]).map(|_| ())
    });
    tui.keys(&["enter"]);
    tui.wait("the pod in the pods pane", |s| {
        line_with(s, &[&pod[pod.len() - 5..]]).map(|_| ())
    });
    tui.keys(&["l"]);
    tui.wait("the logs view", |s| {
        line_with(s, &["Logs", "pod"]).map(|_| ())
    });
    tui.keys(&["p"]);
    // The previous instance's run id, as kubectl --previous reads it (the pod may restart
    // again meanwhile: any previous run id that kubectl saw, or sees now, is that log).
    let screen = tui.wait("the previous container's lines", |s| {
        line_with(s, &["Logs", "previous"])?;
        // kubelet removes a dead container as the next one dies: its log can be gone the
        // moment it is asked for ("no log: … lstat"). Ask again, as a person would.
        if line_with(s, &["no log:"]).is_some() {
            tui.keys(&["p", "p"]);
            return None;
        }
        line_with(s, &["about to fail"])?;
        line_with(s, &["run of "]).map(|_| s.to_owned())
    });
    let shown = line_with(&screen, &["run of "])
        .and_then(|l| l.split("run of ").nth(1))
        .map(|r| r.trim_end_matches([' ', '│']).to_owned())
        .expect("a run id");
    wait_for("kubectl --previous to agree", CLUSTER, || {
        let prev = kubectl(["-n", ns.name(), "logs", &pod, "--previous"]);
        if prev.contains(&shown) {
            Ok(())
        } else {
            // The container restarted once more since berth read it: its previous log is a
            // later run, and berth's run must be one that is no longer current.
            let current = support::try_kubectl(["-n", ns.name(), "logs", &pod]).unwrap_or_default();
            if !current.contains(&shown) && !prev.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "berth showed run {shown}; kubectl --previous: {prev}"
                ))
            }
        }
    });
}
