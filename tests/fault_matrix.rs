//! The fault matrix (issue 15 §3): each fault injected into the real environment (the Azure
//! stand-in's fault switches, a kubeconfig whose exec plugin fails, two berth processes at
//! once), berth run as a user runs it, and for each: how long until berth said so (notice),
//! how long until it worked again (recover), and what was lost (must be nothing).
//!
//! The cases run one after another in one test (they share the stand-in's Entra endpoint and
//! a repository of their own). With `BERTH_FAULT_MATRIX_OUT=FILE` each case appends its row
//! as a JSON line; `scripts/bench/faults` prints them as a table. The apiserver faults (killed,
//! frozen, restarted, a new etcd) and the unwritable audit log have their own tests:
//! tests/ui_liveness.rs, tests/cluster_apiserver_restart.rs, tests/audit_cluster.rs.

mod cluster_common;
mod support;
mod tmux_support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::matrix::{Row, record};
use support::{Env, TestNamespace, kubectl_json, unique_name};
use tmux_support::Run;

/// berth headless, with the sandbox's config (the ACR signed in as the service principal).
struct Cli(tmux_support::Berth);

impl Cli {
    fn run(&self, args: &[&str]) -> Run {
        self.0.run(args, &[])
    }
}

fn curl(method: &str, url: &str, body: Option<&Value>) -> Value {
    let env = Env::get();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "30", "--cacert"])
        .arg(env.ca_file())
        .args(["-X", method]);
    if let Some(b) = body {
        cmd.args(["-H", "Content-Type: application/json", "--data-binary"])
            .arg(b.to_string());
    }
    let out = cmd.arg(url).output().expect("curl");
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// A stand-in fault, cleared on drop.
struct Fault(String);

impl Fault {
    fn new(spec: Value) -> Self {
        let control = Env::get().var("BERTH_STANDIN_CONTROL").to_owned();
        let path = spec["path_contains"].as_str().unwrap().to_owned();
        let v = curl("POST", &format!("{control}/faults"), Some(&spec));
        assert!(v["id"].is_u64(), "fault not accepted: {v}");
        Fault(path)
    }
}

impl Drop for Fault {
    fn drop(&mut self) {
        let control = Env::get().var("BERTH_STANDIN_CONTROL").to_owned();
        let q: String = url_escape(&self.0);
        curl(
            "DELETE",
            &format!("{control}/faults?path_contains={q}"),
            None,
        );
    }
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .chars()
        .take(160)
        .collect()
}

/// The tag's digest as skopeo (a real client) sees it; `None` when there is no such tag.
fn skopeo_digest(image: &str) -> Option<String> {
    let env = Env::get();
    let creds = support::admin_creds();
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--cert-dir"])
        .arg(env.cert_dir())
        .args(["--creds", &creds])
        .arg(format!("docker://{}/{image}", env.acr_host()))
        .output()
        .expect("skopeo");
    out.status.success().then(|| {
        use sha2::Digest as _;
        format!("sha256:{:x}", sha2::Sha256::digest(&out.stdout))
    })
}

fn tag_names(run: &Run) -> Vec<String> {
    let v: Value = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    let list = v["tags"]
        .as_array()
        .or(v.as_array())
        .cloned()
        .unwrap_or_default();
    let mut names: Vec<String> = list
        .iter()
        .filter_map(|t| t["name"].as_str().or(t["tag"].as_str()).map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[test]
fn the_fault_matrix() {
    let env = Env::get();
    let ns = TestNamespace::new("faults");
    let cli = Cli(tmux_support::Berth::with_service_principal(ns.name()));
    let repo = format!("faults/{}", unique_name("m"));
    support::acr_copy("web:1.0.1", &format!("{repo}:1.0"));
    support::acr_copy("web:1.0.2", &format!("{repo}:2.0"));
    let baseline = cli.run(&["registry", "tags", &repo, "--json"]);
    assert_eq!(baseline.code, 0, "{}{}", baseline.stdout, baseline.stderr);
    let tags = tag_names(&baseline);
    assert_eq!(tags, ["1.0", "2.0"], "{}", baseline.stdout);

    // Registry faults on the listing: berth waits or retries by itself, and lists every tag.
    for (fault, spec, at_least) in [
        (
            "registry 429 with Retry-After: 2",
            json!({"path_contains": format!("/{repo}/"), "status": 429, "retry_after": 2}),
            Duration::from_secs(2),
        ),
        (
            "registry 503 once",
            json!({"path_contains": format!("/{repo}/"), "status": 503}),
            Duration::ZERO,
        ),
        (
            "registry slow (3 s)",
            json!({"path_contains": format!("/{repo}/"), "delay_ms": 3000}),
            Duration::from_secs(3),
        ),
    ] {
        let _f = Fault::new(spec);
        let run = cli.run(&["registry", "tags", &repo, "--json"]);
        assert_eq!(run.code, 0, "{fault}: {}{}", run.stdout, run.stderr);
        assert_eq!(tag_names(&run), tags, "{fault}: every tag is listed");
        assert!(run.took >= at_least, "{fault}: took {:?}", run.took);
        record(&Row {
            fault,
            action: "berth registry tags",
            noticed: None,
            recovered: run.took,
            said: "(waited or retried by itself)".into(),
            lost: "nothing (every tag listed)",
        });
    }

    // Garbage JSON: a clear error naming the registry's answer, nothing listed wrongly; the
    // next run is fine.
    {
        let start = Instant::now();
        let f = Fault::new(
            json!({"path_contains": format!("/{repo}/_tags"), "body": "{\"tags\": [{\"name\": ", "count": 10}),
        );
        let run = cli.run(&["registry", "tags", &repo]);
        assert_ne!(run.code, 0, "garbage is not a listing: {}", run.stdout);
        let said = first_line(&run.stderr);
        assert!(
            said.to_lowercase().contains("json") || said.contains("not valid"),
            "the error names the answer: {said}"
        );
        let noticed = start.elapsed();
        drop(f);
        let again = cli.run(&["registry", "tags", &repo, "--json"]);
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert_eq!(tag_names(&again), tags);
        record(&Row {
            fault: "registry answers garbage JSON",
            action: "berth registry tags",
            noticed: Some(noticed),
            recovered: start.elapsed(),
            said,
            lost: "nothing (no tag reported that is not there)",
        });
    }

    // A manifest whose digest is not what the registry claims, and a connection reset in the
    // middle of a manifest: the retag refuses, the target tag is not made; then it works.
    let source_digest = skopeo_digest(&format!("{repo}:1.0")).expect("source tag");
    for (fault, spec) in [
        (
            "manifest with the wrong Docker-Content-Digest",
            json!({"path_contains": format!("/v2/{repo}/manifests/1.0"), "digest": format!("sha256:{}", "0".repeat(64)), "count": 20}),
        ),
        (
            "connection reset mid-manifest",
            json!({"path_contains": format!("/v2/{repo}/manifests/1.0"), "reset_after_bytes": 40, "count": 20}),
        ),
    ] {
        let target = format!("{repo}:{}", unique_name("t"));
        let start = Instant::now();
        let f = Fault::new(spec);
        let run = cli.run(&["retag", &format!("{repo}:1.0"), &target]);
        let noticed = start.elapsed();
        assert_ne!(
            run.code, 0,
            "{fault}: the retag must not succeed: {}",
            run.stdout
        );
        assert_eq!(
            skopeo_digest(&target),
            None,
            "{fault}: no target tag was made"
        );
        let said = first_line(&run.stderr);
        assert!(
            !said.contains("TLS failure"),
            "{fault}: not a certificate problem: {said}"
        );
        drop(f);
        let again = cli.run(&["retag", &format!("{repo}:1.0"), &target]);
        assert_eq!(again.code, 0, "{fault}: {}{}", again.stdout, again.stderr);
        assert_eq!(
            skopeo_digest(&target).as_deref(),
            Some(source_digest.as_str()),
            "{fault}: the target is the source's manifest"
        );
        record(&Row {
            fault,
            action: "berth retag",
            noticed: Some(noticed),
            recovered: start.elapsed(),
            said,
            lost: "nothing (target not made until the retry; source unchanged)",
        });
    }
    assert_eq!(
        skopeo_digest(&format!("{repo}:1.0")).as_deref(),
        Some(source_digest.as_str())
    );
    // The listing now has the retagged targets too.
    let tags = tag_names(&cli.run(&["registry", "tags", &repo, "--json"]));
    assert_eq!(tags.len(), 4, "{tags:?}");

    // Entra's token endpoint down, then slow: berth (signed in as the service principal) says
    // it cannot get a token; works again once Entra answers.
    let entra = format!("/{}/oauth2/v2.0/token", env.var("BERTH_TENANT_ID"));
    {
        let start = Instant::now();
        let f = Fault::new(json!({"path_contains": entra, "status": 503, "count": 50}));
        let run = cli.run(&["registry", "tags", &repo]);
        let noticed = start.elapsed();
        assert_ne!(run.code, 0, "no token, no listing: {}", run.stdout);
        let said = first_line(&run.stderr);
        assert!(
            !run.stderr.contains(env.var("BERTH_SP_CLIENT_SECRET")),
            "the client secret was printed"
        );
        // A user waits for this: a few quick retries, not the SDK's minute of them.
        assert!(
            noticed < Duration::from_secs(30),
            "noticed after {noticed:?}"
        );
        drop(f);
        let again = cli.run(&["registry", "tags", &repo, "--json"]);
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert_eq!(tag_names(&again), tags);
        record(&Row {
            fault: "Entra token endpoint down (503)",
            action: "berth registry tags (service principal)",
            noticed: Some(noticed),
            recovered: start.elapsed(),
            said,
            lost: "nothing",
        });
    }
    {
        let _f = Fault::new(json!({"path_contains": entra, "delay_ms": 3000}));
        let run = cli.run(&["registry", "tags", &repo, "--json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(tag_names(&run), tags);
        assert!(run.took >= Duration::from_secs(3));
        record(&Row {
            fault: "Entra token endpoint slow (3 s)",
            action: "berth registry tags (service principal)",
            noticed: None,
            recovered: run.took,
            said: "(waited)".into(),
            lost: "nothing",
        });
    }

    // A kubeconfig whose exec credential plugin fails: a clear error, nothing changed.
    {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut kc: Value = kubectl_json(["config", "view", "--raw"]);
        let user = kc["users"][0]["name"].clone();
        kc["users"] = json!([{"name": user, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "sh",
            "args": ["-c", "echo 'token expired: run az login' >&2; exit 1"],
            "interactiveMode": "Never",
        }}}]);
        let path = dir.path().join("kubeconfig.json");
        std::fs::write(&path, kc.to_string()).expect("kubeconfig");
        let start = Instant::now();
        let path_arg = path.display().to_string();
        let run = cli.run(&[
            "--kubeconfig",
            &path_arg,
            "rollout",
            "status",
            "-n",
            ns.name(),
            "deploy/none",
        ]);
        let noticed = start.elapsed();
        assert_ne!(run.code, 0, "{}", run.stdout);
        let said = first_line(&run.stderr);
        assert!(
            run.stderr.contains("credential plugin \"sh\"")
                && run.stderr.contains(": token expired: run az login;")
                && !run.stderr.contains("KUBERNETES_EXEC_INFO"),
            "the plugin's own words, not a debug dump: {}",
            run.stderr
        );
        record(&Row {
            fault: "kubeconfig exec plugin fails",
            action: "berth rollout status",
            noticed: Some(noticed),
            recovered: noticed,
            said,
            lost: "nothing (no request was made)",
        });
    }

    // Two berth processes rotating the same pull secret at once: each claims the secret (a
    // write with the resourceVersion it read) before it mints anything; the second finds the
    // claim and stops, so no minted credential invalidates the other's, and the secret ends
    // with one complete set of credentials and its other entries kept.
    {
        let other = json!({"auths": {"other.example": {"username": "keep", "password": "me", "auth": "a2VlcDptZQ=="}}});
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": "pull"},
            "data": {".dockerconfigjson": base64(&other.to_string())},
        });
        support::kubectl_stdin(["-n", ns.name(), "apply", "-f", "-"], &secret.to_string());
        let acr = env.acr_host().to_owned();
        // The first verification (the claim holder's) takes 3 s, so the second process starts
        // while the first still holds the secret.
        let _slow = Fault::new(json!({"path_contains": "/v2/", "delay_ms": 3000}));
        let start = Instant::now();
        let spawn = |user: &str| {
            let argv = cli.0.command(&[
                "secret",
                "rotate",
                "--secret",
                "pull",
                "--in",
                ns.name(),
                "--source",
                "static",
                "--registry",
                &acr,
                "--username",
                user,
                "--password-env",
                "ROTATE_PASSWORD",
                "--ca-file",
                &env.ca_file().display().to_string(),
            ]);
            Command::new(&argv[0])
                .args(&argv[1..])
                .envs(cli.0.env.iter().map(|(k, v)| (*k, v.as_str())))
                .env("ROTATE_PASSWORD", env.var("BERTH_ACR_ADMIN_PASSWORD"))
                .env_remove("BERTH_AUDIT_LOG")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn berth")
        };
        let user = env.var("BERTH_ACR_ADMIN_USER").to_owned();
        let a = spawn(&user);
        let b = spawn(&user);
        let (a, b) = (
            a.wait_with_output().expect("berth a"),
            b.wait_with_output().expect("berth b"),
        );
        let took = start.elapsed();
        let codes = (a.status.code(), b.status.code());
        let s = kubectl_json(["-n", ns.name(), "get", "secret", "pull"]);
        let doc: Value = serde_json::from_slice(&base64_decode(
            s["data"][".dockerconfigjson"].as_str().unwrap_or(""),
        ))
        .expect("the secret is still a dockerconfigjson");
        assert_eq!(doc["auths"]["other.example"]["username"], "keep", "{doc}");
        assert_eq!(
            doc["auths"][acr.as_str()]["username"],
            user.as_str(),
            "{doc}"
        );
        let said = |o: &std::process::Output| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        };
        let (ea, eb) = (said(&a), said(&b));
        // One wins; the other stops before minting anything, naming the rotation it met.
        let (won, lost_err) = match codes {
            (Some(0), Some(c)) if c != 0 => (0, eb.clone()),
            (Some(c), Some(0)) if c != 0 => (1, ea.clone()),
            _ => panic!("exactly one rotation wins: {codes:?}\n{ea}\n{eb}"),
        };
        assert!(
            lost_err.contains("is being rotated by") && lost_err.contains("nothing was changed"),
            "the loser names the conflict: {lost_err}"
        );
        let annotations = &s["metadata"]["annotations"];
        assert!(
            annotations
                .get(berth::cluster::rotate::CLAIM_ANNOTATION)
                .is_none(),
            "the winner's write takes its claim off: {annotations}"
        );
        record(&Row {
            fault: "two berth processes rotate one secret",
            action: "berth secret rotate ×2",
            noticed: Some(took),
            recovered: took,
            said: format!("process {won} won; the other: {}", first_line(&lost_err)),
            lost: "nothing (one complete credential, other registries' entries kept)",
        });
    }
}

fn base64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap_or_default()
}
