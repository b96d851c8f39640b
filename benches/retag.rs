//! Same-repository retag: berth against `skopeo copy` of the same tag, on the running local
//! environment (the ACR stand-in in front of the real registry).
//!
//!     cargo bench --bench retag --profile dev        (the work is network-bound; a release
//!                                                    build changes nothing measurable)
//!     BERTH_BENCH_RUNS=15 cargo bench --bench retag --profile dev
//!
//! Counts come from the stand-in's request log (`/_standin/stats`, the same for both tools)
//! and from berth's own trace; times are wall-clock medians. Target: 2 sequential round trips
//! after the token and 0 blob bytes.

#[path = "../tests/registry_common/mod.rs"]
mod registry_common;
#[path = "../tests/standin_support/mod.rs"]
mod standin_support;

use std::time::{Duration, Instant};

use berth::audit::AuditLog;
use berth::reference::Reference;
use berth::registry::client::ExchangeKind;
use berth::registry::retag::{RetagMethod, RetagOptions, retag};
use registry_common::*;
use serde_json::Value;

#[derive(Default, Debug, Clone)]
struct Counts {
    total: u64,
    token: u64,
    manifest: u64,
    blob_get: u64,
    upload: u64,
    other: u64,
}

fn counts(before: &Value, after: &Value) -> Counts {
    let kinds = |v: &Value| -> Vec<(String, String, u64)> {
        v["requests"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| {
                        (
                            r["method"].as_str().unwrap_or("").to_owned(),
                            r["kind"].as_str().unwrap_or("").to_owned(),
                            r["status"].as_u64().unwrap_or(0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (b, a) = (kinds(before), kinds(after));
    let mut c = Counts::default();
    for (_method, kind, _status) in &a[b.len()..] {
        c.total += 1;
        match kind.as_str() {
            "oauth2.token" | "oauth2.exchange" => c.token += 1,
            "v2.manifest" => c.manifest += 1,
            "v2.blob" => c.blob_get += 1,
            "v2.upload" => c.upload += 1,
            _ => c.other += 1,
        }
    }
    c
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` / `cargo bench -- --list`: nothing to enumerate.
    }
    let runs: usize = std::env::var("BERTH_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9);
    let env = Env::get();
    let repo = unique("berth-bench");
    push_copy("web:1.0.13", &format!("{repo}:src")).await;
    let digest = acr_digest(&format!("{repo}:src")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audit = AuditLog::new(dir.path().join("audit.jsonl"));
    let src = Reference::parse(&format!("{}/{repo}:src", env.acr())).unwrap();
    let (user, password) = admin_pair();
    let creds = format!("{user}:{password}");
    let uploads_before = upload_lines(&repo).len();

    let mut berth_times = Vec::new();
    let mut berth_counts = Vec::new();
    let mut berth_after_token = Vec::new();
    let mut berth_bytes = 0;
    let mut skopeo_times = Vec::new();
    let mut skopeo_counts = Vec::new();
    for i in 0..runs {
        // berth: a fresh client each run, so the token is fetched every time (as a one-shot CLI would).
        let mut acr = acr_registry(false);
        acr.client = acr_client_with(admin(), |c| c.trace = true);
        let dst = Reference::parse(&format!("{}/{repo}:b{i}", env.acr())).unwrap();
        let before = stats(&repo).await;
        let t = Instant::now();
        let out = retag(&acr, &src, &acr, &dst, RetagOptions::default(), &audit)
            .await
            .expect("berth retag");
        berth_times.push(t.elapsed());
        assert_eq!(out.method, RetagMethod::SameRepository);
        assert_eq!(out.new_digest, digest);
        berth_counts.push(counts(&before, &stats(&repo).await));
        let trace = acr.client.take_trace();
        let last_token = trace
            .iter()
            .rposition(|e| e.kind != ExchangeKind::Registry)
            .unwrap_or(0);
        berth_after_token.push(trace.len() - last_token - 1);
        let s = acr.client.stats();
        berth_bytes += s.blob_bytes_downloaded + s.blob_bytes_uploaded;

        // skopeo copy of the same tag within the repository.
        let before = stats(&repo).await;
        let t = Instant::now();
        let r = skopeo(&[
            "copy",
            "--preserve-digests",
            "--retry-times",
            "0",
            "--src-creds",
            &creds,
            "--dest-creds",
            &creds,
            &format!("docker://{}/{repo}:src", env.acr()),
            &format!("docker://{}/{repo}:s{i}", env.acr()),
        ])
        .await;
        skopeo_times.push(t.elapsed());
        assert!(r.ok, "skopeo copy: {}", r.stderr);
        skopeo_counts.push(counts(&before, &stats(&repo).await));
        assert_eq!(acr_digest(&format!("{repo}:s{i}")).await.unwrap(), digest);
    }
    let berth_uploads = upload_lines(&repo).len() - uploads_before;

    let bm = median(&mut berth_times.clone());
    let sm = median(&mut skopeo_times.clone());
    let show = |name: &str, c: &Counts, t: Duration| {
        println!(
            "{name:<8} {:>9.1} ms  requests {:>3}  token {:>2}  manifest {:>2}  blob GET {:>2}  upload {:>2}  other {:>2}",
            t.as_secs_f64() * 1000.0,
            c.total,
            c.token,
            c.manifest,
            c.blob_get,
            c.upload,
            c.other
        )
    };
    println!("same-repository retag of {repo}:src ({digest}), {runs} runs each, medians:");
    show("berth", &berth_counts[berth_counts.len() / 2], bm);
    show("skopeo", &skopeo_counts[skopeo_counts.len() / 2], sm);
    println!(
        "berth: {} requests after the token (GET source ∥ HEAD target, then PUT = 2 sequential round trips), {} blob bytes, {} blob uploads in the registry log",
        berth_after_token[0], berth_bytes, berth_uploads
    );
    println!(
        "ratio skopeo/berth (median wall time): {:.2}x",
        sm.as_secs_f64() / bm.as_secs_f64()
    );
    println!(
        "all berth times (ms): {:?}",
        berth_times
            .iter()
            .map(|d| d.as_millis())
            .collect::<Vec<_>>()
    );
    println!(
        "all skopeo times (ms): {:?}",
        skopeo_times
            .iter()
            .map(|d| d.as_millis())
            .collect::<Vec<_>>()
    );
    assert!(
        berth_after_token.iter().all(|n| *n == 3),
        "{berth_after_token:?}"
    );
    assert_eq!(berth_bytes, 0);
}
