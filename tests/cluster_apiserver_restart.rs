//! Kills the shared kube-apiserver mid-watch and starts it again exactly as `scripts/env/up`
//! did (same argv, environment, working directory, log file, fresh pid in `$BERTH_ENV_DIR/pids`).
//! The live model must report the outage and then catch up with no stale rows.
//!
//! This is the one test allowed to restart the environment. Its own binary (cargo runs test
//! binaries one after another) and an exclusive lock that the other cluster tests take shared
//! keep it from pulling the apiserver from under them. A guard brings the apiserver back even
//! if an assertion fails.

mod cluster_common;
mod support;

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth::cluster::model::{ConnectionState, Kind};
use cluster_common::*;
use serde_json::json;
use support::{Env, TestNamespace, kubectl, kubectl_json, try_kubectl, wait_for};

const LOCAL_IMAGE: &str = "registry.berth.local/pause:1";

/// How the running apiserver was started, read from /proc.
struct Launch {
    argv: Vec<String>,
    env: Vec<(String, String)>,
    cwd: PathBuf,
}

fn pid_file() -> PathBuf {
    Env::get().dir().join("pids/kube-apiserver.pid")
}

fn log_file() -> PathBuf {
    Env::get().dir().join("logs/kube-apiserver.log")
}

fn alive(pid: u32) -> bool {
    // A zombie still has /proc/<pid>; it counts as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z")
        })
        .unwrap_or(false)
}

fn current_pid() -> u32 {
    let text = std::fs::read_to_string(pid_file())
        .unwrap_or_else(|e| panic!("read {}: {e}", pid_file().display()));
    // `PID START` (scripts/env/README.md); older environments wrote the pid alone.
    let first = text.split_whitespace().next().unwrap_or_default();
    first
        .parse()
        .unwrap_or_else(|e| panic!("{} holds {text:?}: {e}", pid_file().display()))
}

fn split_nul(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

fn read_launch(pid: u32) -> Launch {
    let argv = split_nul(&std::fs::read(format!("/proc/{pid}/cmdline")).expect("read cmdline"));
    let dir = Env::get().dir();
    assert!(
        argv.first().is_some_and(|a| a.ends_with("kube-apiserver"))
            && argv.iter().any(|a| a.contains(dir.to_str().unwrap())),
        "pid {pid} from {} is not our kube-apiserver: {argv:?}",
        pid_file().display()
    );
    let env = split_nul(&std::fs::read(format!("/proc/{pid}/environ")).expect("read environ"))
        .into_iter()
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect();
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).expect("read cwd");
    Launch { argv, env, cwd }
}

fn readyz() -> Result<(), String> {
    try_kubectl(["get", "--raw", "/readyz"]).map(|_| ())
}

fn start(l: &Launch) -> u32 {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_file())
        .expect("open the apiserver log");
    #[allow(clippy::zombie_processes)]
    let child = Command::new("setsid")
        .args(&l.argv)
        .env_clear()
        .envs(l.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&l.cwd)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log"))
        .stderr(log)
        .spawn()
        .expect("spawn kube-apiserver");
    // `setsid` execs in place (the child is no process group leader): this is the apiserver.
    // It must outlive this test process (the environment owns it), so it is never waited for.
    let pid = child.id();
    std::mem::forget(child);
    // START (field 22 of /proc/PID/stat) lets scripts/env/down tell it from a recycled pid.
    let start = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(19).map(str::to_owned))
        })
        .unwrap_or_default();
    std::fs::write(pid_file(), format!("{pid} {start}\n")).expect("write the pid file");
    pid
}

/// Restarts the apiserver when dropped if it is not running (a failed assertion must not leave
/// the shared environment without its apiserver).
struct Restorer {
    launch: Launch,
}

impl Restorer {
    fn ensure_running(&self) {
        if !alive(current_pid()) {
            start(&self.launch);
        }
        wait_for(
            "kube-apiserver ready again",
            Duration::from_secs(120),
            readyz,
        );
    }
}

impl Drop for Restorer {
    fn drop(&mut self) {
        if !alive(current_pid()) {
            start(&self.launch);
        }
        // Best effort: panicking in drop would abort; the wait panics only after 2 minutes.
        let deadline = Instant::now() + Duration::from_secs(120);
        while readyz().is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

fn pod_names_kubectl(ns: &str) -> BTreeSet<String> {
    kubectl_json(["-n", ns, "get", "pods"])["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn model_catches_up_after_an_apiserver_restart() {
    let _lock: File = apiserver_lock(true);
    wait_for("kube-apiserver ready", Duration::from_secs(60), readyz);
    let ns = TestNamespace::new("cl-apirestart");
    let d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "idle"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "idle"}},
            "template": {"metadata": {"labels": {"app": "idle"}}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "main", "image": LOCAL_IMAGE, "imagePullPolicy": "Never"}]}}}
    });
    create(ns.name(), &d);
    let t = admin();
    let live = LiveModel::start(
        &t,
        Some(vec![ns.name().to_owned()]),
        &[
            Kind::Namespace,
            Kind::Deployment,
            Kind::ReplicaSet,
            Kind::Pod,
            Kind::Event,
        ],
    );
    live.wait(
        "3 idle pods ready in the model",
        Duration::from_secs(120),
        |m| {
            let ready = m
                .pods_in(ns.name())
                .filter(|p| p.containers.iter().all(|c| c.ready))
                .count();
            if ready == 3 && m.connection() == ConnectionState::Live {
                Ok(())
            } else {
                Err(format!("{ready} ready, {:?}", m.connection()))
            }
        },
    );

    // Kill the apiserver.
    let pid = current_pid();
    let restorer = Restorer {
        launch: read_launch(pid),
    };
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM {pid} failed");
    // kube-apiserver drains in-flight requests on SIGTERM, each up to its request timeout; on
    // a loaded machine that once took over 60 s (CI). What this test is about is the model
    // after a restart, so a drain that is not over in 45 s ends as a crash would: SIGKILL.
    let drained = Instant::now() + Duration::from_secs(45);
    while alive(pid) && Instant::now() < drained {
        std::thread::sleep(Duration::from_millis(200));
    }
    if alive(pid) {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        eprintln!("kube-apiserver {pid} still up 45 s after SIGTERM ({state:.80}): SIGKILL");
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    wait_for("the old apiserver to exit", Duration::from_secs(30), || {
        if alive(pid) {
            Err(format!("pid {pid} alive"))
        } else {
            Ok(())
        }
    });
    let error = live.wait(
        "the model to report the outage",
        Duration::from_secs(60),
        |m| match m.connection() {
            // A broken watch's rows are reported stale (with their last confirmed sync).
            ConnectionState::Stale { error, .. } => Ok(error),
            other => Err(format!("{other:?}")),
        },
    );
    assert!(!error.is_empty());
    // Rows are kept (marked possibly stale by the connection state) during the outage.
    assert_eq!(live.with(|m| m.pods_in(ns.name()).count()), 3);

    // Start it again, identically, and change things right away: scale down and delete one of
    // the remaining pods, so rows the model holds disappear while it reconnects.
    restorer.ensure_running();
    let back = Instant::now();
    kubectl(["-n", ns.name(), "scale", "deployment/idle", "--replicas=1"]);
    let survivors = wait_for(
        "the scale-down to settle at one pod",
        Duration::from_secs(60),
        || {
            let pods = kubectl_json(["-n", ns.name(), "get", "pods"]);
            let live: Vec<String> = pods["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
                .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
                .collect();
            if live.len() == 1 {
                Ok(live)
            } else {
                Err(format!("{live:?}"))
            }
        },
    );
    kubectl([
        "-n",
        ns.name(),
        "delete",
        "pod",
        &survivors[0],
        "--wait=false",
    ]);

    // The model converges on exactly what kubectl sees, and says Live.
    live.wait("the model to match kubectl after the restart", Duration::from_secs(60), |m| {
        let want = pod_names_kubectl(ns.name());
        let have: BTreeSet<String> = m.pods_in(ns.name()).map(|p| p.name.clone()).collect();
        let d = m.deployment(ns.name(), "idle").map(|d| (d.desired, d.available));
        if m.connection() == ConnectionState::Live && have == want && d == Some((1, 1)) {
            Ok(())
        } else {
            Err(format!(
                "{:?}; model pods {have:?}, kubectl pods {want:?}, deployment (desired, available) {d:?}",
                m.connection()
            ))
        }
    });
    let caught_up = back.elapsed();
    eprintln!("model caught up {caught_up:?} after the apiserver was ready again");
    // No stale rows of any kind in the namespace: replica sets match too.
    let rs_kubectl: BTreeSet<String> =
        kubectl_json(["-n", ns.name(), "get", "replicasets"])["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["metadata"]["name"].as_str().unwrap().to_owned())
            .collect();
    let rs_model: BTreeSet<String> = live.with(|m| {
        m.replica_sets()
            .filter(|r| r.namespace == ns.name())
            .map(|r| r.name.clone())
            .collect()
    });
    assert_eq!(rs_model, rs_kubectl);
    assert!(
        alive(current_pid()),
        "the restarted apiserver is not running"
    );
}
