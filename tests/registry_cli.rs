//! The headless commands (`berth registry repos|tags`, `berth retag`) driven through their
//! library entry points with a config.toml-style `[[registry]]` list: credentials from a
//! password file and from a docker config.json, JSON output, exit codes, one-line errors.

mod registry_common;
#[path = "standin_support/mod.rs"]
mod standin_support;

use base64::Engine;
use berth::audit::AuditLog;
use berth::registry::cli::{
    RegistryArgs, RegistryCommand, RetagArgs, run_registry_to, run_retag_to,
};
use berth::registry::config::RegistryConfig;
use registry_common::*;
use serde_json::Value;

struct Setup {
    _dir: tempfile::TempDir,
    registries: Vec<RegistryConfig>,
    audit: AuditLog,
}

fn setup() -> Setup {
    let env = Env::get();
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("acr-password");
    std::fs::write(&pw, format!("{}\n", env.var("BERTH_ACR_ADMIN_PASSWORD"))).unwrap();
    let docker = dir.path().join("config.json");
    let (u, p) = plain_pair();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
    std::fs::write(
        &docker,
        serde_json::json!({"auths": {format!("https://{}", env.var("BERTH_PLAIN_REGISTRY_HOST")): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let text = format!(
        r#"
[[registry]]
name = "acr"
host = "{acr}"
kind = "acr"
ca_file = "{ca}"
credential = {{ type = "basic", username = "{user}", password_file = "{pw}" }}

[[registry]]
name = "plain"
host = "{plain}"
ca_file = "{ca}"
credential = {{ type = "docker-config", path = "{docker}" }}
"#,
        acr = env.acr(),
        ca = ca().display(),
        user = env.var("BERTH_ACR_ADMIN_USER"),
        pw = pw.display(),
        plain = env.var("BERTH_PLAIN_REGISTRY_HOST"),
        docker = docker.display(),
    );
    #[derive(serde::Deserialize)]
    struct F {
        registry: Vec<RegistryConfig>,
    }
    let registries = toml::from_str::<F>(&text).expect("config parses").registry;
    let audit = AuditLog::new(dir.path().join("audit.jsonl"));
    Setup {
        _dir: dir,
        registries,
        audit,
    }
}

struct Run {
    code: u8,
    out: String,
    err: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(self.out.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.out))
    }
}

async fn registry(s: &Setup, command: RegistryCommand) -> Run {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_registry_to(
        RegistryArgs { command },
        &s.registries,
        &s.audit,
        &mut out,
        &mut err,
    )
    .await;
    Run {
        code,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
    }
}

async fn retag(s: &Setup, source: &str, target: &str, force: bool) -> Run {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let args = RetagArgs {
        source: source.into(),
        target: target.into(),
        force,
        lock: false,
        registry: None,
        json: true,
    };
    let code = run_retag_to(args, &s.registries, &s.audit, &mut out, &mut err).await;
    Run {
        code,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
    }
}

#[tokio::test]
async fn repos_and_tags_as_json() {
    let s = setup();
    let r = registry(
        &s,
        RegistryCommand::Repos {
            registry: None,
            json: true,
        },
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.err);
    let repos: Vec<String> = serde_json::from_value(r.json()["repositories"].clone()).unwrap();
    assert!(
        repos.contains(&"web".to_owned()) && repos.contains(&"tools/multiarch".to_owned()),
        "{repos:?}"
    );

    let r = registry(
        &s,
        RegistryCommand::Tags {
            repo: "web".into(),
            registry: None,
            details: false,
            json: true,
        },
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.err);
    let tags = r.json()["tags"].as_array().unwrap().clone();
    // Other tests may add tags to `web`; the seeded ones are all there, newest first.
    let names: Vec<&str> = tags.iter().map(|t| t["name"].as_str().unwrap()).collect();
    let pos = |n: &str| {
        names
            .iter()
            .position(|x| *x == n)
            .unwrap_or_else(|| panic!("{n} missing: {names:?}"))
    };
    assert!(
        pos("1.0.29") < pos("1.0.28") && pos("1.0.28") < pos("1.0.0"),
        "{names:?}"
    );
    let times: Vec<&str> = tags
        .iter()
        .map(|t| t["updated"].as_str().unwrap())
        .collect();
    let parsed: Vec<jiff::Timestamp> = times.iter().map(|t| t.parse().unwrap()).collect();
    assert!(
        parsed.windows(2).all(|w| w[0] >= w[1]),
        "not newest first: {times:?}"
    );
    assert_eq!(tags.last().unwrap()["name"], "1.0.0");

    // The plain registry through a docker config.json, details read lazily.
    let r = registry(
        &s,
        RegistryCommand::Tags {
            repo: "mirror/web".into(),
            registry: Some("plain".into()),
            details: true,
            json: true,
        },
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.err);
    let t = &r.json()["tags"][0];
    assert_eq!(t["name"], "1.0.0");
    assert!(
        t["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:")),
        "{t}"
    );
    assert!(t["created"].is_string(), "{t}");

    // The table form streams names.
    let r = registry(
        &s,
        RegistryCommand::Tags {
            repo: "api".into(),
            registry: None,
            details: false,
            json: false,
        },
    )
    .await;
    assert_eq!(r.code, 0);
    assert!(
        r.out.lines().next().unwrap().starts_with("TAG"),
        "{}",
        r.out
    );
    for t in ["2.0.0", "2.1.0", "2.2.0"] {
        assert!(
            r.out.lines().any(|l| l.starts_with(t)),
            "{t} missing: {}",
            r.out
        );
    }
}

#[tokio::test]
async fn errors_are_one_line_with_exit_codes() {
    let s = setup();
    let missing = unique("berth-cli-missing");
    let r = registry(
        &s,
        RegistryCommand::Tags {
            repo: missing.clone(),
            registry: None,
            details: false,
            json: true,
        },
    )
    .await;
    assert_eq!(r.code, 3, "{} {}", r.out, r.err);
    assert_eq!(r.err.lines().count(), 1, "{}", r.err);
    assert!(r.err.contains(&missing));
    assert_eq!(r.json()["error"]["kind"], "repository_unknown");

    let r = registry(
        &s,
        RegistryCommand::Repos {
            registry: Some("nope".into()),
            json: false,
        },
    )
    .await;
    assert_eq!(r.code, 2);
    assert!(r.err.contains("acr, plain"), "{}", r.err);

    let r = retag(&s, "web:1.0.0", "web:not a tag", false).await;
    assert_eq!(r.code, 2, "{}", r.err);
    assert_eq!(r.err.lines().count(), 1);
    assert!(
        std::fs::read_to_string(s.audit.path())
            .unwrap_or_default()
            .is_empty(),
        "bad input is not an attempt"
    );
}

#[tokio::test]
async fn retag_command_refuses_then_forces() {
    let s = setup();
    let repo = unique("berth-cli-rt");
    let r = retag(&s, "web:1.0.11", &format!("{repo}:stable"), false).await;
    assert_eq!(r.code, 0, "{}", r.err);
    let o = r.json();
    assert_eq!(o["method"], "mount");
    assert!(o["old_digest"].is_null());
    let d11 = acr_digest("web:1.0.11").await.unwrap();
    assert_eq!(o["new_digest"], d11.as_str());
    assert_eq!(acr_digest(&format!("{repo}:stable")).await.unwrap(), d11);

    let r = retag(&s, "web:1.0.12", &format!("{repo}:stable"), false).await;
    assert_eq!(r.code, 5, "{} {}", r.out, r.err);
    assert!(
        r.err.contains("--force") && r.err.lines().count() == 1,
        "{}",
        r.err
    );
    assert_eq!(
        acr_digest(&format!("{repo}:stable")).await.unwrap(),
        d11,
        "unchanged after a refusal"
    );

    let r = retag(&s, "web:1.0.12", &format!("{repo}:stable"), true).await;
    assert_eq!(r.code, 0, "{}", r.err);
    let o = r.json();
    let d12 = acr_digest("web:1.0.12").await.unwrap();
    assert_eq!(o["old_digest"], d11.as_str());
    assert_eq!(o["new_digest"], d12.as_str());
    assert_eq!(acr_digest(&format!("{repo}:stable")).await.unwrap(), d12);
    // Three attempts; the two that wrote have an intent record before their result.
    let read = s.audit.read_records().unwrap();
    let statuses: Vec<&berth::audit::Outcome> = read.records.iter().map(|r| &r.outcome).collect();
    assert_eq!(read.finished().len(), 3, "{statuses:?}");
    assert!(
        read.unfinished().is_empty() && read.skipped.is_empty(),
        "{statuses:?}"
    );
    assert_eq!(read.records.len(), 5, "{statuses:?}");
}
