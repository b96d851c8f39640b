//! `berth diagnose` headless: exit codes, the first line, JSON for scripts.

mod diagnose_support;
mod support;

use berth::config::Config;
use berth::diagnose::cli::{DiagnoseArgs, report};
use diagnose_support::*;
use support::TestNamespace;

fn args(ns: Option<&str>, pod: Option<&str>, all: bool, json: bool) -> DiagnoseArgs {
    DiagnoseArgs {
        pod: pod.map(str::to_owned),
        namespace: ns.map(str::to_owned),
        all,
        json,
        ca_file: Some(support::Env::get().ca_file()),
    }
}

fn run(a: &DiagnoseArgs) -> (String, Option<String>, u8) {
    let client = client();
    let (out, code) = rt().block_on(report(a, &client, "default", &Config::default()));
    (out.stdout, out.stderr, code)
}

#[test]
fn all_in_a_namespace_text_and_json() {
    let ns = TestNamespace::new("diag-cli");
    let (user, pass) = token();
    docker_secret(ns.name(), "acr-pull", &acr(), &user, &pass);
    deploy(
        ns.name(),
        "good",
        &format!("{}/web:1.0.15", acr()),
        &["acr-pull"],
    );
    deploy(
        ns.name(),
        "bad",
        &format!("{}/web:9.9.9", acr()),
        &["acr-pull"],
    );
    wait_running(ns.name(), "good", &format!("{}/web:1.0.15", acr()));
    let bad = wait_pull_failure(ns.name(), "bad", &["ErrImagePull", "ImagePullBackOff"]);

    // Text: the first line names the pod and the cause; only the failing pod is diagnosed.
    let (text, err, code) = run(&args(Some(ns.name()), None, true, false));
    assert_eq!(code, 1, "a cause was found: {text}");
    assert!(err.is_none());
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!(
            "{}/{bad} (bad): tag \"9.9.9\" does not exist",
            ns.name()
        )),
        "{text}"
    );
    assert!(!text.contains("(good)"), "{text}");
    assert!(text.contains("$ berth rollout set-image"), "{text}");

    // JSON for scripts.
    let (json, _, code) = run(&args(Some(ns.name()), Some(&bad), false, true));
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON output");
    assert_eq!(v["ok"], false);
    assert_eq!(v["diagnoses"][0]["cause"]["kind"], "manifest_missing");
    assert_eq!(v["diagnoses"][0]["pod"], bad.as_str());
    assert_eq!(
        v["diagnoses"][0]["fixes"][0]["actions"][0]["action"],
        "set_image"
    );
    assert!(
        !json.contains(pass.expose()),
        "the password leaked into JSON"
    );
}

#[test]
fn nothing_wrong_is_exit_zero() {
    let ns = TestNamespace::new("diag-cli-ok");
    let (user, pass) = token();
    docker_secret(ns.name(), "acr-pull", &acr(), &user, &pass);
    let image = format!("{}/web:1.0.16", acr());
    deploy(ns.name(), "good", &image, &["acr-pull"]);
    let pod = wait_running(ns.name(), "good", &image);
    let (text, _, code) = run(&args(Some(ns.name()), None, true, false));
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        text,
        format!("no failing image pull in namespace {}\n", ns.name())
    );
    let (json, _, code) = run(&args(Some(ns.name()), Some(&pod), false, true));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON output");
    assert_eq!(v["ok"], true);
    assert_eq!(v["diagnoses"], serde_json::json!([]));
}

#[test]
fn bad_input_and_missing_pod() {
    let ns = TestNamespace::new("diag-cli-bad");
    let (_, err, code) = run(&args(Some(ns.name()), None, false, false));
    assert_eq!(code, 2);
    assert!(err.unwrap_or_default().contains("--all"));
    let (_, err, code) = run(&args(Some("Not_A_Namespace"), Some("x"), false, false));
    assert_eq!(code, 2);
    assert!(err.unwrap_or_default().contains("Not_A_Namespace"));
    let (json, err, code) = run(&args(Some(ns.name()), Some("no-such-pod"), false, true));
    assert_eq!(code, 3);
    assert!(err.unwrap_or_default().contains("no-such-pod"));
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON error");
    assert_eq!(v["error"]["kind"], "pod_not_found");
}
