//! Benchmark (not a test): the live model with 10,000 pods.
//!
//! `cargo bench --bench cluster_model` (needs `scripts/env/up`). It creates 10,000 pods in a
//! namespace of its own (scheduler name `berth-bench-none`, so nothing schedules or runs them and
//! they delete at once), then starts a fresh copy of itself that runs what the TUI runs — every
//! watcher over all namespaces, messages applied to a `ClusterModel` — and reports:
//! - time to the first complete model, RSS (VmRSS) and peak RSS (VmHWM) of that process;
//! - latency from sending an update (a pod's container image, patched at `BENCH_RATE` changes/s,
//!   default 100) to the model holding it: median, p99, max. The time includes the PATCH round
//!   trip, so it bounds the apiserver → model latency from above; `after_patch_answer_*` measures
//!   from the apiserver's answer instead (0 when the watch event came first).
//!
//! Environment knobs: `BENCH_PODS` (10000), `BENCH_RATE` (100), `BENCH_UPDATES` (1000).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth::cluster::connect;
use berth::cluster::model::{ConnectionState, Kind, ModelEvent, ModelUpdate, Row};
use berth::cluster::store::ClusterModel;
use berth::cluster::watch::{WatchOptions, Watchers};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::mpsc;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn proc_status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim_start_matches(':')
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn pod(i: usize) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": format!("p-{i:05}"), "labels": {"app": "bench"}},
        "spec": {
            "schedulerName": "berth-bench-none",
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "main", "image": "registry.berth.local/pause:1"}]
        }
    }))
    .unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        let ns = args[pos + 1].clone();
        child(&ns);
        return;
    }
    // `cargo bench` passes `--bench`; anything else is ignored.
    let env = support::Env::get();
    let pods = knob("BENCH_PODS", 10_000);
    let ns = support::unique_name("bench-model");
    support::kubectl(["create", "namespace", &ns]);
    support::kubectl(["label", "namespace", &ns, "berth-test=true"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    rt.block_on(async {
        let t = connect::connect(Some(&env.kubeconfig()), None)
            .await
            .unwrap();
        let api: Api<Pod> = Api::namespaced(t.client.clone(), &ns);
        // The namespace's default service account must exist before pods are admitted.
        let sa: Api<k8s_openapi::api::core::v1::ServiceAccount> =
            Api::namespaced(t.client.clone(), &ns);
        let deadline = Instant::now() + Duration::from_secs(60);
        while sa.get_opt("default").await.ok().flatten().is_none() {
            assert!(
                Instant::now() < deadline,
                "no default service account in {ns}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let errors: Vec<String> = futures::stream::iter(0..pods)
            .map(|i| {
                let api = api.clone();
                async move {
                    api.create(&PostParams::default(), &pod(i))
                        .await
                        .err()
                        .map(|e| e.to_string())
                }
            })
            .buffer_unordered(32)
            .filter_map(|e| async move { e })
            .collect()
            .await;
        assert!(
            errors.is_empty(),
            "{} pod creations failed, first: {}",
            errors.len(),
            errors[0]
        );
    });
    eprintln!("created {pods} pods in {ns} in {:?}", started.elapsed());

    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--child", &ns])
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run the measuring child");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    let _ = support::try_kubectl(["delete", "namespace", &ns, "--wait=false"]);
    assert!(out.status.success(), "the measuring child failed");
}

/// The measured process: watchers + model, nothing else.
fn child(ns: &str) {
    let env = support::Env::get();
    let pods = knob("BENCH_PODS", 10_000);
    let rate = knob("BENCH_RATE", 100).max(1);
    let updates = knob("BENCH_UPDATES", 1000);
    let rss_start = proc_status_kb("VmRSS");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let t = connect::connect(Some(&env.kubeconfig()), None).await.unwrap();
        let started = Instant::now();
        let (tx, mut rx) = mpsc::channel::<ModelUpdate>(4096);
        let watchers = Watchers::spawn(t.client.clone(), &WatchOptions::default(), 1, tx);
        let expected_scopes = watchers.task_count();
        let model = Arc::new(Mutex::new(ClusterModel::new(1)));
        let seen: Arc<Mutex<HashMap<usize, Instant>>> = Default::default();
        let (m, s, ns_owned) = (model.clone(), seen.clone(), ns.to_owned());
        tokio::spawn(async move {
            let mut batch = Vec::new();
            while rx.recv_many(&mut batch, 256).await > 0 {
                let mut guard = m.lock().unwrap();
                for u in batch.drain(..) {
                    if let ModelEvent::Upsert(Row::Pod(p)) = &u.event
                        && p.namespace == ns_owned
                        && let Some(seq) = p
                            .containers
                            .first()
                            .and_then(|c| c.image.strip_prefix("registry.berth.local/bench:"))
                            .and_then(|n| n.parse::<usize>().ok())
                    {
                        guard.apply(u);
                        s.lock().unwrap().entry(seq).or_insert_with(Instant::now);
                        continue;
                    }
                    guard.apply(u);
                }
            }
        });
        // First complete model.
        loop {
            {
                let m = model.lock().unwrap();
                let live = m.connections().len() == expected_scopes
                    && m.connections().values().all(|c| *c == ConnectionState::Live);
                if live && m.pods_in(ns).count() >= pods {
                    break;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(300), "model never listed {pods} pods");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let synced = started.elapsed();
        let counts: Vec<String> = {
            let m = model.lock().unwrap();
            Kind::ALL.iter().map(|k| format!("{}={}", k.as_str(), m.count(*k))).collect()
        };
        let rss_synced = proc_status_kb("VmRSS");
        let hwm_synced = proc_status_kb("VmHWM");

        // Updates at a fixed rate: pod i's image → bench:i.
        let api: Api<Pod> = Api::namespaced(t.client.clone(), ns);
        let mut sent: HashMap<usize, Instant> = HashMap::new();
        let acked: Arc<Mutex<HashMap<usize, Instant>>> = Default::default();
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
        let mut inflight = futures::stream::FuturesUnordered::new();
        for i in 0..updates {
            tick.tick().await;
            let api = api.clone();
            let acked = acked.clone();
            sent.insert(i, Instant::now());
            inflight.push(async move {
                let patch = json!({"spec": {"containers": [{"name": "main", "image": format!("registry.berth.local/bench:{i}")}]}});
                let r = api
                    .patch(&format!("p-{:05}", i % pods), &PatchParams::default(), &Patch::Strategic(patch))
                    .await
                    .map(|_| ());
                acked.lock().unwrap().insert(i, Instant::now());
                r
            });
            while let std::task::Poll::Ready(Some(r)) = futures::poll!(inflight.next()) {
                r.expect("patch");
            }
        }
        while let Some(r) = inflight.next().await {
            r.expect("patch");
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while seen.lock().unwrap().len() < updates && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let seen = seen.lock().unwrap();
        let mut lat: Vec<Duration> = sent
            .iter()
            .filter_map(|(i, t0)| seen.get(i).map(|t1| t1.saturating_duration_since(*t0)))
            .collect();
        lat.sort();
        // From the apiserver's answer to the PATCH (the update is committed by then) to the
        // model; the watch event often arrives first, which counts as 0.
        let acked = acked.lock().unwrap();
        let mut lat_ack: Vec<Duration> = acked
            .iter()
            .filter_map(|(i, t0)| seen.get(i).map(|t1| t1.saturating_duration_since(*t0)))
            .collect();
        lat_ack.sort();
        let rss_end = proc_status_kb("VmRSS");
        let hwm_end = proc_status_kb("VmHWM");
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "pods_in_namespace": pods,
                "model_counts": counts,
                "first_complete_model_ms": synced.as_millis(),
                "rss_kb_at_start": rss_start,
                "rss_kb_after_sync": rss_synced,
                "peak_rss_kb_after_sync": hwm_synced,
                "rss_kb_after_updates": rss_end,
                "peak_rss_kb_after_updates": hwm_end,
                "updates_sent": updates,
                "updates_seen": lat.len(),
                "rate_per_s": rate,
                "latency_ms_median": percentile(&lat, 0.5).as_secs_f64() * 1e3,
                "latency_ms_p99": percentile(&lat, 0.99).as_secs_f64() * 1e3,
                "latency_ms_max": lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
                "after_patch_answer_ms_median": percentile(&lat_ack, 0.5).as_secs_f64() * 1e3,
                "after_patch_answer_ms_p99": percentile(&lat_ack, 0.99).as_secs_f64() * 1e3,
            }))
            .unwrap()
        );
        drop(watchers);
    });
}
