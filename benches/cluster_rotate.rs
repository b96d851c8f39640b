//! Benchmark (not a test): rotating a pull secret across 50 namespaces on loopback
//! (target ≤ 2 s, bounded concurrency). `cargo bench --bench cluster_rotate` (needs
//! `scripts/env/up`).
//!
//! The source is the static one with the plain registry's htpasswd user, so nothing on the
//! shared Azure stand-in changes; its verification still goes to the registry. Two rounds: the
//! first creates the secrets, the second updates them. `BENCH_NAMESPACES` (50),
//! `BENCH_CONCURRENCY` (8).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use berth::audit::AuditLog;
use berth::cluster::acr_source::StaticSource;
use berth::cluster::connect;
use berth::cluster::rotate::{self, RotationRequest, WriteOutcome};
use berth::registry::client::http_client;
use serde_json::json;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let env = support::Env::get();
    let n = knob("BENCH_NAMESPACES", 50);
    let concurrency = knob("BENCH_CONCURRENCY", 8);
    let names: Vec<String> = (0..n).map(|_| support::unique_name("bench-rot")).collect();
    for ns in &names {
        support::kubectl(["create", "namespace", ns]);
        support::kubectl(["label", "namespace", ns, "berth-test=true"]);
    }
    let audit_dir = tempfile::tempdir().unwrap();
    let audit = AuditLog::new(audit_dir.path().join("audit.jsonl"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut rounds = Vec::new();
    rt.block_on(async {
        let t = connect::connect(Some(&env.kubeconfig()), None).await.unwrap();
        let actor = connect::identity(&t).await;
        let source = StaticSource {
            http: http_client(Some(&env.ca_file()), "bench").unwrap(),
            registry: env.plain_registry_host().to_owned(),
            username: env.var("BERTH_PLAIN_USER").to_owned(),
            password: env.secret("BERTH_PLAIN_PASSWORD"),
            verify_repository: Some("library/busybox".to_owned()),
        };
        for round in ["create", "update"] {
            let mut req = RotationRequest::new("bench-pull", names.clone());
            req.concurrency = concurrency;
            let started = Instant::now();
            let report = rotate::rotate(&t.client, &actor, &audit, &source, &req)
                .await
                .expect("rotation");
            let took = started.elapsed();
            assert!(report.all_ok(), "{report:#?}");
            let want = if round == "create" {
                WriteOutcome::Created
            } else {
                WriteOutcome::Updated
            };
            assert!(report.namespaces.iter().all(|r| r.secret == want));
            rounds.push(json!({"round": round, "namespaces": n, "concurrency": concurrency, "ms": took.as_millis()}));
        }
    });
    println!("{}", serde_json::to_string_pretty(&rounds).unwrap());
    for ns in &names {
        let _ = support::try_kubectl(["delete", "namespace", ns, "--wait=false"]);
    }
}
