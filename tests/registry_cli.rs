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
    retag_locking(s, source, target, force, false).await
}

async fn retag_locking(s: &Setup, source: &str, target: &str, force: bool, lock: bool) -> Run {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let args = RetagArgs {
        source: source.into(),
        target: target.into(),
        force,
        lock,
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

/// `GET /acr/v1/web/_tags/{tag}` as the admin: the tag's changeableAttributes.
async fn acr_attributes(tag: &str) -> Value {
    let env = Env::get();
    let (u, p) = admin_pair();
    let r = env
        .http()
        .get(format!("{}/acr/v1/web/_tags/{tag}", env.base()))
        .basic_auth(u, Some(p))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "GET attributes of web:{tag}");
    let v: Value = r.json().await.unwrap();
    v["tag"]["changeableAttributes"].clone()
}

/// `action status` of every audit record, oldest first.
fn audit_outcomes(s: &Setup) -> Vec<String> {
    std::fs::read_to_string(s.audit.path())
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let r: Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {}",
                r["action"].as_str().unwrap(),
                r["outcome"]["status"].as_str().unwrap()
            )
        })
        .collect()
}

/// A tag locked by `retag --lock` (checked through `/acr/v1` attributes) refuses berth's retag
/// before any write, naming the lock (exit 8), and refuses skopeo's push and delete with ACR's
/// error; `registry unlock` lets the retag through again.
#[tokio::test]
async fn locked_tags_refuse_retags_and_real_clients() {
    let s = setup();
    let env = Env::get();
    let tag = unique("lock");
    let target = format!("web:{tag}");
    let r = retag_locking(&s, "web:1.0.3", &target, false, true).await;
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let out = r.json();
    assert_eq!(out["lock"]["new"]["writeEnabled"], false, "{out}");
    assert_eq!(out["lock"]["changed"], true, "{out}");
    let attrs = acr_attributes(&tag).await;
    assert_eq!(attrs["writeEnabled"], false, "{attrs}");
    assert_eq!(attrs["deleteEnabled"], true, "{attrs}");
    let locked_digest = acr_digest(&target).await.unwrap();
    assert_eq!(locked_digest, acr_digest("web:1.0.3").await.unwrap());

    // The listing shows the lock.
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
    let listed = r.json()["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == tag.as_str())
        .cloned()
        .expect("the locked tag is listed");
    assert_eq!(listed["attributes"]["writeEnabled"], false, "{listed}");

    // berth: refused before any write, with the lock named; --force does not lift it.
    let uploads_before = registry_log_lines("web").len();
    let r = retag(&s, "web:1.0.4", &target, true).await;
    assert_eq!(r.code, 8, "{}{}", r.out, r.err);
    assert!(
        r.err
            .contains(&format!("web:{tag} is locked (writeEnabled=false)"))
            && r.err.contains("berth registry unlock"),
        "{}",
        r.err
    );
    assert_eq!(r.json()["error"]["kind"], "tag_locked");
    assert!(
        !registry_log_lines("web")[uploads_before..]
            .iter()
            .any(|l| l.contains("\"PUT ")),
        "a PUT reached the registry"
    );
    assert_eq!(acr_digest(&target).await.unwrap(), locked_digest);

    // Real clients meet ACR's own refusal.
    let (u, p) = admin_pair();
    let creds = format!("{u}:{p}");
    let acr = env.acr();
    let push = skopeo(&[
        "copy",
        "--retry-times",
        "0",
        "--src-creds",
        &creds,
        "--dest-creds",
        &creds,
        &format!("docker://{acr}/web:1.0.4"),
        &format!("docker://{acr}/{target}"),
    ])
    .await;
    assert!(!push.ok, "skopeo pushed over a locked tag");
    eprintln!("skopeo copy onto the locked tag: {}", push.stderr.trim());
    assert!(
        push.stderr
            .contains("disallowed on this registry, repository or image"),
        "{}",
        push.stderr
    );
    let delete = skopeo(&[
        "delete",
        "--retry-times",
        "0",
        "--creds",
        &creds,
        &format!("docker://{acr}/{target}"),
    ])
    .await;
    assert!(!delete.ok, "skopeo deleted a locked tag");
    assert!(
        delete
            .stderr
            .contains("disallowed on this registry, repository or image"),
        "{}",
        delete.stderr
    );
    assert_eq!(acr_digest(&target).await.unwrap(), locked_digest);

    // Unlocked, the same retag goes through.
    let r = registry(
        &s,
        RegistryCommand::Unlock {
            image: target.clone(),
            registry: None,
            json: true,
        },
    )
    .await;
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert_eq!(r.json()["new"]["writeEnabled"], true);
    assert_eq!(acr_attributes(&tag).await["writeEnabled"], true);
    let r = retag(&s, "web:1.0.4", &target, true).await;
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert_eq!(
        acr_digest(&target).await.unwrap(),
        acr_digest("web:1.0.4").await.unwrap()
    );
    // Locking twice writes once.
    for _ in 0..2 {
        let r = registry(
            &s,
            RegistryCommand::Lock {
                image: target.clone(),
                registry: None,
                json: false,
            },
        )
        .await;
        assert_eq!(r.code, 0, "{}", r.err);
    }
    let r = registry(
        &s,
        RegistryCommand::Unlock {
            image: target.clone(),
            registry: None,
            json: false,
        },
    )
    .await;
    assert!(r.out.contains(&format!("web:{tag} unlocked")), "{}", r.out);
    assert_eq!(
        audit_outcomes(&s),
        [
            "retag pending",
            "retag ok",
            "registry.lock pending",
            "registry.lock ok",
            "retag refused",
            "registry.unlock pending",
            "registry.unlock ok",
            "retag pending",
            "retag ok",
            "registry.lock pending",
            "registry.lock ok",
            "registry.lock ok",
            "registry.unlock pending",
            "registry.unlock ok",
        ]
    );
}

/// Mistakes in `registry lock|unlock` say what is wrong and change nothing.
#[tokio::test]
async fn lock_mistakes_are_named() {
    let s = setup();
    let lock = |image: &str, registry: Option<&str>| RegistryCommand::Lock {
        image: image.into(),
        registry: registry.map(str::to_owned),
        json: false,
    };
    let r = registry(&s, lock("web", None)).await;
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(r.err.contains("names no tag"), "{}", r.err);
    let r = registry(&s, lock("mirror/web:1.0.0", Some("plain"))).await;
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(r.err.contains("plain OCI registry"), "{}", r.err);
    let r = registry(&s, lock("web:no-such-tag-here", None)).await;
    assert_eq!(r.code, 3, "{}", r.err);
    assert!(r.err.contains("no such tag"), "{}", r.err);
    let r = registry(&s, lock("web:not/valid", None)).await;
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(r.err.contains("not/valid"), "{}", r.err);
    // Refused before any write: no intent record (the missing tag leaves its failure only).
    assert!(
        audit_outcomes(&s).iter().all(|o| !o.ends_with("pending")),
        "{:?}",
        audit_outcomes(&s)
    );
}

/// The stand-in's PATCH contract: only known boolean attributes, 404 for a missing tag, the
/// tag as GET shows it in the answer.
#[tokio::test]
async fn standin_patch_contract() {
    let env = Env::get();
    let (u, p) = admin_pair();
    let patch = |tag: &str, body: &str| {
        env.http()
            .patch(format!("{}/acr/v1/web/_tags/{tag}", env.base()))
            .basic_auth(&u, Some(&p))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
    };
    for bad in [
        r#"{"writeEnabled":"no"}"#,
        r#"{"locked":true}"#,
        "[]",
        "nope",
    ] {
        let r = patch("1.0.3", bad).await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let v: Value = r.json().await.unwrap();
        assert!(v["errors"][0]["message"].is_string(), "{v}");
    }
    assert_eq!(acr_attributes("1.0.3").await["writeEnabled"], true);
    let r = patch("no-such-tag-here", r#"{"writeEnabled":false}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["code"], "TAG_UNKNOWN", "{v}");
    // An empty object changes nothing and answers the tag.
    let r = patch("1.0.3", "{}").await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["imageName"], "web");
    assert_eq!(v["tag"]["name"], "1.0.3");
    assert!(v["tag"]["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(v["tag"]["changeableAttributes"]["listEnabled"], true);
}
