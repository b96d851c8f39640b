//! `berth registry diff` ("what am I shipping", issue 14 §3) against the stand-in ACR: two images
//! made here with every config field different, pushed by skopeo (a real client), and berth's
//! diff checked against what `skopeo inspect --config` / `--raw` say of each; a diff of digests
//! seen before makes no registry request at all.

mod cluster_common;
mod support;
mod tmux_support;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use sha2::Digest as _;
use support::{Env, admin_creds, unique_name};

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

/// An OCI image layout with images built from JSON configs, for skopeo to push.
struct Layout {
    dir: tempfile::TempDir,
    refs: Vec<Value>,
}

impl Layout {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        std::fs::write(
            dir.path().join("oci-layout"),
            r#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        Self {
            dir,
            refs: Vec::new(),
        }
    }

    fn blob(&self, bytes: &[u8]) -> Value {
        let digest = sha256(bytes);
        let hex = digest.trim_start_matches("sha256:");
        std::fs::write(self.dir.path().join("blobs/sha256").join(hex), bytes).unwrap();
        json!({"digest": digest, "size": bytes.len()})
    }

    /// A real tar layer holding one file with `content` (made by tar, as a build would).
    fn layer(&self, name: &str, content: &str) -> Value {
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join(name), content).unwrap();
        let tar = src.path().join("layer.tar");
        let out = Command::new("tar")
            .args(["--mtime=@0", "--owner=0", "--group=0", "-cf"])
            .arg(&tar)
            .arg("-C")
            .arg(src.path())
            .arg(name)
            .output()
            .expect("tar");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut d = self.blob(&std::fs::read(&tar).unwrap());
        d["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar");
        d
    }

    fn image(&mut self, name: &str, config: Value, layers: Vec<Value>, annotations: Value) {
        let config = serde_json::to_vec(&config).unwrap();
        let mut c = self.blob(&config);
        c["mediaType"] = json!("application/vnd.oci.image.config.v1+json");
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": c, "layers": layers, "annotations": annotations,
        }))
        .unwrap();
        let mut m = self.blob(&manifest);
        m["mediaType"] = json!("application/vnd.oci.image.manifest.v1+json");
        m["annotations"] = json!({"org.opencontainers.image.ref.name": name});
        self.refs.push(m);
        std::fs::write(
            self.dir.path().join("index.json"),
            serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": self.refs})).unwrap(),
        )
        .unwrap();
    }

    fn push(&self, name: &str, dest: &str) {
        let env = Env::get();
        let out = Command::new("skopeo")
            .args(["copy", "-q", "--dest-cert-dir"])
            .arg(env.cert_dir())
            .args(["--dest-creds", &admin_creds()])
            .arg(format!("oci:{}:{name}", self.dir.path().display()))
            .arg(format!("docker://{}/{dest}", env.acr_host()))
            .output()
            .expect("skopeo");
        assert!(
            out.status.success(),
            "skopeo copy to {dest}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn skopeo_inspect(image: &str, what: &str) -> Value {
    let env = Env::get();
    let out = Command::new("skopeo")
        .args(["inspect", what, "--cert-dir"])
        .arg(env.cert_dir())
        .args(["--creds", &admin_creds()])
        .arg(format!("docker://{}/{image}", env.acr_host()))
        .output()
        .expect("skopeo");
    assert!(
        out.status.success(),
        "skopeo inspect {what} {image}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn berth(b: &tmux_support::Berth, cache: &Path, args: &[&str]) -> tmux_support::Run {
    b.run(args, &[("BERTH_CONTENT_CACHE", cache.as_os_str())])
}

fn standin_requests(needle: &str) -> u64 {
    let env = Env::get();
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "30", "--cacert"])
        .arg(env.ca_file())
        .arg(format!(
            "{}/stats?path_contains={needle}",
            env.var("BERTH_STANDIN_CONTROL")
        ))
        .output()
        .expect("curl");
    let v: Value = serde_json::from_slice(&out.stdout).expect("stats JSON");
    v["total"].as_u64().expect("total")
}

/// `(field, old, new)` of each change in berth's JSON.
fn changes(diff: &Value) -> Vec<(String, Value, Value)> {
    diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().to_owned(),
                c["old"].clone(),
                c["new"].clone(),
            )
        })
        .collect()
}

fn change<'a>(
    all: &'a [(String, Value, Value)],
    field: &str,
) -> Option<&'a (String, Value, Value)> {
    all.iter().find(|(f, _, _)| f == field)
}

fn layer_digests(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_diff_of_two_images_is_what_skopeo_sees_and_a_cached_one_costs_no_request() {
    let repo = format!("diff/{}", unique_name("ship"));
    let mut layout = Layout::new();
    let base = layout.layer("base", "the shared base layer");
    let old_layer = layout.layer("app", "version one");
    let new_layer = layout.layer("app", "version two");
    let extra = layout.layer("extra", "only in two");
    layout.image(
        "one",
        json!({"created": "2026-11-01T10:00:00Z", "architecture": "amd64", "os": "linux",
            "config": {"User": "root", "Env": ["PATH=/bin", "MODE=blue", "API_TOKEN=tok-one-secret"],
                "Cmd": ["serve"], "WorkingDir": "/", "ExposedPorts": {"80/tcp": {}},
                "Labels": {"org.opencontainers.image.version": "1.0", "team": "shop"}},
            "rootfs": {"type": "layers", "diff_ids": []}}),
        vec![base.clone(), old_layer.clone()],
        json!({"org.opencontainers.image.revision": "abc123"}),
    );
    layout.image(
        "two",
        json!({"created": "2026-11-02T11:00:00Z", "architecture": "amd64", "os": "linux",
            "config": {"User": "1000", "Env": ["PATH=/bin", "MODE=green", "API_TOKEN=tok-two-secret"],
                "Entrypoint": ["/app"], "Cmd": ["serve"], "WorkingDir": "/app",
                "ExposedPorts": {"8080/tcp": {}},
                "Labels": {"org.opencontainers.image.version": "2.0", "team": "shop"}},
            "rootfs": {"type": "layers", "diff_ids": []}}),
        vec![base, new_layer, extra],
        json!({"org.opencontainers.image.revision": "def456"}),
    );
    layout.push("one", &format!("{repo}:1.0"));
    layout.push("two", &format!("{repo}:2.0"));

    let b = tmux_support::Berth::new("default");
    let cache = tempfile::tempdir().unwrap();
    let run = berth(
        &b,
        cache.path(),
        &["registry", "diff", &format!("{repo}:1.0"), "2.0", "--json"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    for secret in ["tok-one-secret", "tok-two-secret"] {
        assert!(
            !run.stdout.contains(secret),
            "a secret-looking env value shown: {}",
            run.stdout
        );
    }
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    let diff = &out["diff"];
    let all = changes(diff);

    // Each side as skopeo reads it.
    let (one, two) = (
        skopeo_inspect(&format!("{repo}:1.0"), "--config"),
        skopeo_inspect(&format!("{repo}:2.0"), "--config"),
    );
    let field = |v: &Value, k: &str| v["config"][k].clone();
    let opt_str = |v: Value| {
        if v.is_null() {
            Value::Null
        } else {
            json!(v.as_str().unwrap())
        }
    };
    assert_eq!(
        change(&all, "user").map(|c| (c.1.clone(), c.2.clone())),
        Some((opt_str(field(&one, "User")), opt_str(field(&two, "User"))))
    );
    assert_eq!(
        change(&all, "working dir").map(|c| (c.1.clone(), c.2.clone())),
        Some((
            opt_str(field(&one, "WorkingDir")),
            opt_str(field(&two, "WorkingDir"))
        ))
    );
    assert_eq!(
        change(&all, "entrypoint").map(|c| c.2.clone()),
        Some(json!(field(&two, "Entrypoint").to_string()))
    );
    assert!(change(&all, "cmd").is_none(), "cmd did not change: {all:?}");
    let label = "org.opencontainers.image.version";
    assert_eq!(
        change(&all, &format!("label {label}")).map(|c| (c.1.clone(), c.2.clone())),
        Some((
            field(&one, "Labels")[label].clone(),
            field(&two, "Labels")[label].clone()
        ))
    );
    assert!(change(&all, "label team").is_none());
    let env_of = |v: &Value, name: &str| {
        field(v, "Env")
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| {
                e.as_str()?
                    .strip_prefix(&format!("{name}="))
                    .map(str::to_owned)
            })
            .next()
    };
    assert_eq!(
        change(&all, "env MODE").map(|c| (c.1.clone(), c.2.clone())),
        Some((json!(env_of(&one, "MODE")), json!(env_of(&two, "MODE"))))
    );
    assert!(change(&all, "env PATH").is_none());
    assert!(
        change(&all, "env API_TOKEN").is_some(),
        "a changed secret is named: {all:?}"
    );
    let created = |v: &Value| {
        v["created"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        change(&all, "created").map(|c| (c.1.clone(), c.2.clone())),
        Some((json!(created(&one)), json!(created(&two))))
    );
    let ports: Vec<&(String, Value, Value)> = all.iter().filter(|c| c.0 == "port").collect();
    assert_eq!(ports.len(), 2, "{all:?}");
    assert_eq!(
        change(&all, "annotation org.opencontainers.image.revision")
            .map(|c| (c.1.clone(), c.2.clone())),
        Some((json!("abc123"), json!("def456")))
    );
    // Layers: by digest, as the manifests skopeo reads list them.
    let (raw_one, raw_two) = (
        skopeo_inspect(&format!("{repo}:1.0"), "--raw"),
        skopeo_inspect(&format!("{repo}:2.0"), "--raw"),
    );
    let (l1, l2) = (
        layer_digests(&raw_one["layers"]),
        layer_digests(&raw_two["layers"]),
    );
    let added: Vec<String> = l2.iter().filter(|d| !l1.contains(d)).cloned().collect();
    let removed: Vec<String> = l1.iter().filter(|d| !l2.contains(d)).cloned().collect();
    assert_eq!(layer_digests(&diff["layers"]["added"]), added);
    assert_eq!(layer_digests(&diff["layers"]["removed"]), removed);
    assert_eq!(layer_digests(&diff["layers"]["kept"]).len(), 1);
    assert_eq!(added.len(), 2);

    // The same diff by digest: every document is in the cache, no request reaches the registry.
    let (d1, d2) = (
        diff["from"]["digest"].as_str().unwrap().to_owned(),
        diff["to"]["digest"].as_str().unwrap().to_owned(),
    );
    let before = standin_requests(&repo);
    let cached = berth(
        &b,
        cache.path(),
        &["registry", "diff", &format!("{repo}@{d1}"), &d2],
    );
    assert_eq!(cached.code, 0, "{}{}", cached.stdout, cached.stderr);
    assert_eq!(
        standin_requests(&repo),
        before,
        "a cached diff asked the registry"
    );
    assert!(cached.stdout.contains("~ user"), "{}", cached.stdout);
    assert!(
        cached.stdout.contains("layers     2 → 3: 1 kept"),
        "{}",
        cached.stdout
    );
    // Without the cache it asks again (the counter above can tell).
    let fresh = tempfile::tempdir().unwrap();
    let again = berth(
        &b,
        fresh.path(),
        &["registry", "diff", &format!("{repo}@{d1}"), &d2],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(standin_requests(&repo) > before);
    assert_eq!(again.stdout, cached.stdout);
}

#[test]
fn an_index_is_compared_per_platform_and_bad_input_says_what_to_write() {
    let b = tmux_support::Berth::new("default");
    let cache = tempfile::tempdir().unwrap();
    // The seeded multi-platform image against a single one: platforms listed.
    let run = berth(
        &b,
        cache.path(),
        &["registry", "diff", "web:1.0.1", "tools/multiarch:1.0"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("platforms  (single image) → linux/amd64, linux/arm64/v8"),
        "{}",
        run.stdout
    );
    let arm = berth(
        &b,
        cache.path(),
        &[
            "registry",
            "diff",
            "tools/multiarch:1.0",
            "tools/armonly:1.0",
            "--platform",
            "linux/arm64",
        ],
    );
    assert_eq!(arm.code, 0, "{}{}", arm.stdout, arm.stderr);
    assert!(
        arm.stdout.contains("platform   linux/arm64/v8 (compared)"),
        "{}",
        arm.stdout
    );
    // No amd64 in the arm-only index: the error names what it has.
    let none = berth(
        &b,
        cache.path(),
        &["registry", "diff", "web:1.0.1", "tools/armonly:1.0"],
    );
    assert_eq!(none.code, 1, "{}{}", none.stdout, none.stderr);
    assert!(
        none.stderr
            .contains("no linux/amd64 image (it has: linux/arm64/v8, linux/s390x)"),
        "{}",
        none.stderr
    );
    for (args, code, says) in [
        (vec!["web", "1.0.2"], 2, "names no tag or digest"),
        (
            vec!["web:1.0.1", "1.0.2", "--platform", "linux"],
            2,
            "is not os/architecture",
        ),
        (
            vec!["web:1.0.1", "no-such-tag-x"],
            3,
            "no-such-tag-x not found",
        ),
    ] {
        let mut argv = vec!["registry", "diff"];
        argv.extend(args.iter().copied());
        let r = berth(&b, cache.path(), &argv);
        assert_eq!(r.code, code, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
    }
}
