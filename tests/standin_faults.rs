//! The stand-in's fault switches and request statistics (used by other tests to provoke 429/5xx
//! and slow answers, and to count round trips).

mod standin_support;

use serde_json::{Value, json};
use standin_support::{Env, unique};
use std::time::{Duration, Instant};

async fn add_fault(fault: Value) -> u64 {
    let env = Env::get();
    let r = env
        .http()
        .post(format!("{}/faults", env.var("BERTH_STANDIN_CONTROL")))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "adding fault {fault}");
    let v: Value = r.json().await.unwrap();
    v["id"].as_u64().unwrap()
}

#[tokio::test]
async fn fault_gives_429_with_retry_after_for_count_requests_only() {
    let env = Env::get();
    let repo = unique("standin-fault");
    add_fault(json!({"path_contains": format!("/v2/{repo}/"), "status": 429, "retry_after": 7, "count": 2})).await;
    let http = env.http();
    let url = format!("{}/v2/{repo}/manifests/1.0", env.base());
    for i in 0..2 {
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 429, "request {i}");
        assert_eq!(r.headers()["retry-after"], "7");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "TOOMANYREQUESTS");
    }
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(
        r.status(),
        401,
        "after `count` hits the fault is gone: the registry's own answer"
    );

    // Other paths were never affected, and the stats count exactly these round trips.
    let stats: Value = http
        .get(format!("{}/stats", env.var("BERTH_STANDIN_CONTROL")))
        .query(&[("path_contains", format!("/v2/{repo}/").as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["total"], 3, "{stats}");
    assert_eq!(stats["by_kind"]["GET v2.manifest"], 3);
    let statuses: Vec<u64> = stats["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [429, 429, 401]);
}

#[tokio::test]
async fn slow_and_5xx_faults_and_clearing() {
    let env = Env::get();
    let repo = unique("standin-slow");
    let http = env.http();
    let auth = (
        env.var("BERTH_ACR_ADMIN_USER"),
        env.var("BERTH_ACR_ADMIN_PASSWORD"),
    );
    let url = format!("{}/acr/v1/{repo}/_tags", env.base());

    add_fault(json!({"path_contains": format!("/acr/v1/{repo}/"), "delay_ms": 400})).await;
    let start = Instant::now();
    let r = http
        .get(&url)
        .basic_auth(auth.0, Some(auth.1))
        .send()
        .await
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(400),
        "delayed by the fault"
    );
    assert_eq!(
        r.status(),
        404,
        "a delay-only fault then answers normally (no such repository)"
    );

    let id =
        add_fault(json!({"path_contains": format!("/acr/v1/{repo}/"), "status": 503, "count": 5}))
            .await;
    let r = http
        .get(&url)
        .basic_auth(auth.0, Some(auth.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let del = http
        .delete(format!("{}/faults/{id}", env.var("BERTH_STANDIN_CONTROL")))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 200);
    let r = http
        .get(&url)
        .basic_auth(auth.0, Some(auth.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "cleared fault no longer hits");

    let bad = http
        .post(format!("{}/faults", env.var("BERTH_STANDIN_CONTROL")))
        .json(&json!({"path_contains": "", "status": 500}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400, "a fault for every path is refused");
}
