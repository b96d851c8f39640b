//! The real binary in a real terminal (tmux), against the local environment, driven by keys as
//! a person would: promote a tag with `t`, roll a deployment to it with `i`, read the screen
//! until the rollout is complete, and check the result with kubectl and skopeo. Diagnose a pod
//! on a missing tag, and one with no pull secret at all, and fix each with `f`. A context switch
//! changes who acts. And read-only mode: the marker shows and `r` changes nothing.
//!
//! Each test has its own namespace, its own registry repository (copied from the seeded `web`
//! images, so the shared `web` repository keeps its 31 tags), its own tmux server (a private
//! socket, killed on drop) and its own config, audit log and log file in a temp dir.

mod cluster_common;
mod support;
mod tmux_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use cluster_common::{admin_pull_secret, apiserver_lock, create, deployment_json};
use serde_json::{Value, json};
use support::{Env, TestNamespace, kubectl, unique_name, wait_for};
use tmux_support::{Berth, SCREEN, colour_codes, line_with, sgr_at};

/// skopeo with the admin credential in an auth file (never on argv) and the test CA.
fn skopeo(args: &[&str]) -> Result<Vec<u8>, String> {
    let env = Env::get();
    let dir = tempfile::tempdir().expect("temp dir");
    let auth_file = dir.path().join("auth.json");
    let b64 = base64::engine::general_purpose::STANDARD;
    let secret = env.secret("BERTH_ACR_ADMIN_PASSWORD");
    let auth = format!("{}:{}", env.var("BERTH_ACR_ADMIN_USER"), secret.expose());
    let doc = json!({"auths": {env.acr_host(): {"auth": b64.encode(auth)}}});
    std::fs::write(&auth_file, doc.to_string()).expect("write auth file");
    let certs: PathBuf = env.cert_dir();
    let mut cmd = Command::new("skopeo");
    cmd.arg(args[0]).arg("--authfile").arg(&auth_file);
    match args[0] {
        "copy" => cmd
            .arg("--src-cert-dir")
            .arg(&certs)
            .arg("--dest-cert-dir")
            .arg(&certs),
        _ => cmd.arg("--cert-dir").arg(&certs),
    };
    let out = cmd.args(&args[1..]).output().expect("run skopeo");
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "skopeo {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn digest_of(image: &str) -> Result<String, String> {
    let out = skopeo(&["inspect", &format!("docker://{image}")])?;
    let info: Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
    info["Digest"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("skopeo printed no Digest: {info}"))
}

/// A repository of the test's own with two tags copied from the seeded `web` images.
fn own_repository() -> String {
    let host = Env::get().acr_host();
    let repo = unique_name("berth-e2e");
    for (from, to) in [("1.0.3", "1.0.0"), ("1.0.4", "1.0.1")] {
        skopeo(&[
            "copy",
            "--preserve-digests",
            &format!("docker://{host}/web:{from}"),
            &format!("docker://{host}/{repo}:{to}"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    }
    repo
}

fn deployment_image(ns: &str, name: &str) -> String {
    kubectl(["-n", ns, "get", "deploy", name, "-o", "jsonpath={..image}"])
}

// ------------------------------------------------------------------------------------------
// The tests

#[test]
fn promote_a_tag_and_roll_the_deployment_to_it_by_keys() {
    let _lock = apiserver_lock(false);
    let env = Env::get();
    let host = env.acr_host();
    let repo = own_repository();
    let ns = TestNamespace::new("ui-e2e");
    admin_pull_secret(ns.name(), "acr");
    create(
        ns.name(),
        &deployment_json("web", &format!("{host}/{repo}:1.0.0"), Some("acr"), 1),
    );
    let berth = Berth::new(ns.name());
    let tui = berth.start(&[]);

    // The dashboard opens on the namespace and shows the deployment's pod running.
    tui.wait_text(
        "the namespace in the deployments title",
        &format!("ns {}", ns.name()),
    );
    tui.wait("the pod of web running", |s| {
        line_with(s, &["web-", "1/1", "Running"]).map(|_| ())
    });
    tui.wait("the deployment complete at revision 1", |s| {
        line_with(s, &["web", " r1 ", "complete", &format!("{repo}:1.0.0")]).map(|_| ())
    });

    // Promote 1.0.1 to rc: the repository by the palette, the tag by the filter.
    tui.wait_text(
        "the repositories listed",
        &format!("registry {host} ● live"),
    );
    tui.keys(&[":"]);
    tui.type_text(&format!("repo {repo}"));
    tui.keys(&["Enter"]);
    tui.wait("the tags of the test repository", |s| {
        line_with(s, &["1.0.1"])
            .and(line_with(s, &[&format!("Tags {repo}")]))
            .map(|_| ())
    });
    tui.keys(&["/"]);
    tui.type_text("1.0.1");
    tui.keys(&["Enter"]);
    tui.wait_text("the tag list filtered to 1.0.1", "/1.0.1 · 1");
    tui.keys(&["t"]);
    tui.wait_text("the retag prompt", &format!("Retag {repo}:1.0.1"));
    tui.type_text("rc");
    tui.keys(&["Enter"]);
    tui.wait("the retag confirmation", |s| {
        line_with(s, &["target", &format!("{repo}:rc")])
            .and(line_with(s, &["(new tag)"]))
            .map(|_| ())
    });
    tui.keys(&["y"]);
    tui.wait("the retag reported done", |s| {
        line_with(s, &["✓ retagged", &format!("{repo}:1.0.1")]).map(|_| ())
    });
    let source = digest_of(&format!("{host}/{repo}:1.0.1")).unwrap_or_else(|e| panic!("{e}"));
    let promoted = digest_of(&format!("{host}/{repo}:rc")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        promoted, source,
        "skopeo: rc must point at 1.0.1's manifest"
    );

    // Roll the deployment to rc: the new tag selected, i, then y on the confirmation.
    tui.keys(&["/", "C-u"]);
    tui.type_text("rc");
    tui.keys(&["Enter"]);
    tui.wait_text("the tag list filtered to rc", "/rc · 1");
    tui.keys(&["i"]);
    tui.wait("the set-image confirmation", |s| {
        line_with(s, &[&format!("{repo}:1.0.0 → "), &format!("{repo}:rc")]).map(|_| ())
    });
    tui.keys(&["y"]);
    tui.wait("the rollout complete at revision 2 on rc", |s| {
        line_with(s, &["web", " r2 ", "complete", &format!("{repo}:rc")]).map(|_| ())
    });

    // The real clients agree: the template names rc, the pod runs rc's digest.
    assert_eq!(
        deployment_image(ns.name(), "web"),
        format!("{host}/{repo}:rc")
    );
    let image_ids = kubectl([
        "-n",
        ns.name(),
        "get",
        "pods",
        "-o",
        "jsonpath={.items[*].status.containerStatuses[*].imageID}",
    ]);
    assert!(
        image_ids.contains(&promoted),
        "a pod should run {promoted}; imageIDs: {image_ids}"
    );
    // Both changes are in berth's audit log, attributed.
    let records = berth.audit_records();
    let actions: Vec<&str> = records
        .iter()
        .filter(|r| r["outcome"]["status"] == "ok")
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"retag") && actions.contains(&"rollout.set-image"),
        "audit records: {records:#?}"
    );
    // The registry password berth signed in with is nowhere in what it showed or wrote.
    let password = env.secret("BERTH_ACR_ADMIN_PASSWORD");
    let log = std::fs::read_to_string(berth.dir.path().join("berth.log")).unwrap_or_default();
    let audit = std::fs::read_to_string(berth.dir.path().join("audit.jsonl")).unwrap_or_default();
    for (what, text) in [("screen", tui.screen()), ("log", log), ("audit log", audit)] {
        assert!(
            !text.contains(password.expose()),
            "the registry password reached the {what}"
        );
    }
}

#[test]
fn diagnose_a_pull_back_off_and_apply_the_fix_by_keys() {
    let _lock = apiserver_lock(false);
    let host = Env::get().acr_host();
    let repo = own_repository();
    let ns = TestNamespace::new("ui-e2e-diag");
    admin_pull_secret(ns.name(), "acr");
    create(
        ns.name(),
        &deployment_json("cart", &format!("{host}/{repo}:9.9.9"), Some("acr"), 1),
    );
    let berth = Berth::new(ns.name());
    let tui = berth.start(&[]);

    // The pods pane's row (READY 0/1), not the events' lines, must say it.
    tui.wait("the pod failing to pull the missing tag", |s| {
        line_with(s, &["cart-", "0/1", "ImagePull"]).map(|_| ())
    });
    tui.keys(&["d"]);
    tui.wait("the diagnosis naming the missing tag and a fix", |s| {
        line_with(s, &["tag \"9.9.9\" does not exist"])
            .and(line_with(s, &["fix", "set the image to existing"]))
            .map(|_| ())
    });
    tui.keys(&["f"]);
    tui.wait_text("the fix's confirmation", "Apply fix");
    tui.keys(&["y"]);
    tui.wait(
        "the rollout complete at revision 2 on an existing tag",
        |s| line_with(s, &["cart", " r2 ", "complete", &format!("{repo}:1.0.")]).map(|_| ()),
    );
    let image = deployment_image(ns.name(), "cart");
    assert!(
        image == format!("{host}/{repo}:1.0.0") || image == format!("{host}/{repo}:1.0.1"),
        "the fix sets one of the existing tags: {image}"
    );
    let digest = digest_of(&image).unwrap_or_else(|e| panic!("{e}"));
    let image_ids = kubectl([
        "-n",
        ns.name(),
        "get",
        "pods",
        "-o",
        "jsonpath={.items[*].status.containerStatuses[*].imageID}",
    ]);
    assert!(
        image_ids.contains(&digest),
        "a pod should run {digest}; imageIDs: {image_ids}"
    );
}

/// The dashboard and `berth rollout status` read one model: a rollout on a missing tag is
/// "stuck" with the pull failure's reason on both as soon as its pod fails to pull, long before
/// the progress deadline (600 s: the Progressing condition still says nothing of it when the
/// screen does); and a healthy rollout beside it is "complete" on both.
#[test]
fn a_rollout_stuck_on_a_missing_tag_is_stuck_at_once_and_the_cli_agrees() {
    let _lock = apiserver_lock(false);
    let host = Env::get().acr_host();
    let repo = own_repository();
    let ns = TestNamespace::new("ui-e2e-stuck");
    admin_pull_secret(ns.name(), "acr");
    create(
        ns.name(),
        &deployment_json("cart", &format!("{host}/{repo}:9.9.9"), Some("acr"), 1),
    );
    create(
        ns.name(),
        &deployment_json("web", &format!("{host}/{repo}:1.0.0"), Some("acr"), 1),
    );
    let berth = Berth::new(ns.name());
    let tui = berth.start(&[]);

    // `cart` sorts first, so it is selected: its pane names the failing pod and the reason.
    let reason = tui.wait("cart stuck, with the pull failure's reason", |s| {
        line_with(s, &["cart", " stuck "])?;
        ["ErrImagePull", "ImagePullBackOff"]
            .into_iter()
            .find(|r| line_with(s, &[r, "pod cart-"]).is_some())
    });
    let progressing = kubectl([
        "-n",
        ns.name(),
        "get",
        "deployment",
        "cart",
        "-o",
        r#"jsonpath={.status.conditions[?(@.type=="Progressing")].reason}"#,
    ]);
    assert_ne!(
        progressing.trim(),
        "ProgressDeadlineExceeded",
        "stuck must show before the deadline, from the pod's {reason}"
    );
    tui.wait("web complete", |s| {
        line_with(s, &["web", " complete "]).map(|_| ())
    });

    let status = |name: &str| -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(&berth.command(&["rollout", "status", name, "-n", ns.name(), "--json"])[1..])
            .output()
            .expect("run berth rollout status");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "rollout status {name} --json: {e}; stdout {:?} stderr {:?}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    };
    let cart = status("cart");
    assert_eq!(cart["state"], "stuck", "{cart}");
    assert!(
        ["ErrImagePull", "ImagePullBackOff"].contains(&cart["reason"].as_str().unwrap_or("")),
        "{cart}"
    );
    let web = status("web");
    assert_eq!(web["state"], "complete", "{web}");
}

/// A namespace with no pull secret at all: `d` says so, and `f` creates a secret with fresh
/// credentials (the admin user's password2, regenerated over ARM), attaches it to the service
/// account and restarts the rollout, whose new pod then pulls with it.
#[test]
fn no_pull_secret_is_fixed_on_one_key() {
    let _lock = apiserver_lock(false);
    let host = Env::get().acr_host();
    let repo = own_repository();
    let ns = TestNamespace::new("ui-e2e-nosecret");
    create(
        ns.name(),
        &deployment_json("ledger", &format!("{host}/{repo}:1.0.0"), None, 1),
    );
    let berth = Berth::with_service_principal(ns.name());
    let tui = berth.start(&[]);

    tui.wait("the pod failing to pull without credentials", |s| {
        line_with(s, &["ledger-", "0/1", "ImagePull"]).map(|_| ())
    });
    tui.keys(&["d"]);
    tui.wait("the diagnosis: no pull secret, and the fix on f", |s| {
        line_with(s, &["no pull secret for registry"])
            .and(line_with(s, &["fix", "f", "create pull secret"]))
            .map(|_| ())
    });
    tui.keys(&["f"]);
    tui.wait_text("the fix's confirmation", "Apply fix");
    tui.keys(&["y"]);
    tui.wait("the restarted rollout complete at revision 2", |s| {
        line_with(s, &["ledger", " r2 ", "complete"]).map(|_| ())
    });

    // Through kubectl: the service account names the new secret, which holds working
    // credentials for the registry (skopeo signs in with them), and the pod runs.
    let attached = kubectl([
        "-n",
        ns.name(),
        "get",
        "serviceaccount",
        "default",
        "-o",
        "jsonpath={.imagePullSecrets[*].name}",
    ]);
    assert!(
        !attached.is_empty(),
        "nothing attached to the service account"
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    let config: Value = serde_json::from_slice(
        &b64.decode(kubectl([
            "-n",
            ns.name(),
            "get",
            "secret",
            attached.as_str(),
            "-o",
            "jsonpath={.data.\\.dockerconfigjson}",
        ]))
        .expect("base64 secret data"),
    )
    .expect("dockerconfigjson");
    let entry = &config["auths"][host];
    let (user, password) = (
        entry["username"].as_str().expect("username"),
        entry["password"].as_str().expect("password"),
    );
    assert_ne!(
        password,
        Env::get().var("BERTH_ACR_ADMIN_PASSWORD"),
        "the fix must mint the other slot, never the one the other secrets use"
    );
    let dir = tempfile::tempdir().unwrap();
    let auth_file = dir.path().join("auth.json");
    let auth = b64.encode(format!("{user}:{password}"));
    std::fs::write(
        &auth_file,
        json!({"auths": {host: {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let out = Command::new("skopeo")
        .args(["inspect", "--authfile"])
        .arg(&auth_file)
        .arg("--cert-dir")
        .arg(Env::get().cert_dir())
        .arg(format!("docker://{host}/{repo}:1.0.0"))
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo with the secret's credentials: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The old pod (Pending in its back-off) may still be going away.
    wait_for("only the new, running pod left", SCREEN, || {
        let phases = kubectl([
            "-n",
            ns.name(),
            "get",
            "pods",
            "-o",
            "jsonpath={.items[*].status.phase}",
        ]);
        if phases == "Running" {
            Ok(())
        } else {
            Err(format!("pod phases: {phases}"))
        }
    });
    // The secret's password never reached the screen or berth's log.
    assert!(!tui.screen().contains(password));
    let log = std::fs::read_to_string(berth.dir.path().join("berth.log")).unwrap_or_default();
    assert!(!log.contains(password), "the password is in berth's log");
}

/// One kubeconfig with both identities' contexts (admin current), as `kubectl config view
/// --flatten` merges them.
fn merged_kubeconfig(dir: &Path) -> PathBuf {
    let env = Env::get();
    let out = Command::new(env.kubectl())
        .env(
            "KUBECONFIG",
            format!(
                "{}:{}",
                env.kubeconfig().display(),
                env.kubeconfig_readonly().display()
            ),
        )
        .args(["config", "view", "--flatten"])
        .output()
        .expect("run kubectl config view");
    assert!(
        out.status.success(),
        "kubectl config view --flatten: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.join("kubeconfig.yaml");
    std::fs::write(&path, &out.stdout).expect("write the merged kubeconfig");
    path
}

fn generation(ns: &str, name: &str) -> String {
    kubectl([
        "-n",
        ns,
        "get",
        "deploy",
        name,
        "-o",
        "jsonpath={.metadata.generation}",
    ])
}

#[test]
fn switching_context_changes_who_acts() {
    let _lock = apiserver_lock(false);
    let env = Env::get();
    let ns = TestNamespace::new("ui-e2e-ctx");
    admin_pull_secret(ns.name(), "acr");
    create(
        ns.name(),
        &deployment_json(
            "web",
            &format!("{}/web:1.0.3", env.acr_host()),
            Some("acr"),
            1,
        ),
    );
    let kube_dir = tempfile::tempdir().expect("temp dir");
    let berth = Berth::with_kubeconfig(ns.name(), &merged_kubeconfig(kube_dir.path()));
    let tui = berth.start(&[]);
    tui.wait_text("the admin context", "ctx berth-admin");
    tui.wait("the deployment complete", |s| {
        line_with(s, &["web", " r1 ", "complete"]).map(|_| ())
    });

    // The read-only identity: the deployment again (new watchers), restart refused by RBAC.
    tui.keys(&[":"]);
    tui.type_text("ctx berth-readonly");
    tui.keys(&["Enter"]);
    tui.wait("the switch reported", |s| {
        line_with(s, &["✓ switched to context berth-readonly"]).map(|_| ())
    });
    tui.wait("the deployment through the read-only identity", |s| {
        line_with(s, &["web", " r1 ", "complete"]).map(|_| ())
    });
    tui.wait("the RBAC refusal on the key hints", |s| {
        line_with(s, &["✗", "RBAC: cannot patch deployments.apps"]).map(|_| ())
    });
    tui.keys(&["r"]);
    tui.wait("the restart refused with the reason", |s| {
        line_with(s, &["restart refused", "RBAC"]).map(|_| ())
    });
    assert_eq!(generation(ns.name(), "web"), "1", "nothing changed");

    // Back to admin: the same key restarts, as the admin.
    tui.keys(&[":"]);
    tui.type_text("ctx berth-admin");
    tui.keys(&["Enter"]);
    tui.wait("the switch back reported", |s| {
        line_with(s, &["✓ switched to context berth-admin"]).map(|_| ())
    });
    tui.wait("the deployment again", |s| {
        line_with(s, &["web", " r1 ", "complete"]).map(|_| ())
    });
    tui.wait("the key hints without the refusal", |s| {
        (!s.contains("RBAC: cannot patch")).then_some(())
    });
    tui.keys(&["r"]);
    tui.wait_text("the restart confirmation", "restart · confirm");
    tui.keys(&["y"]);
    tui.wait("the restart rolled out as revision 2", |s| {
        line_with(s, &["web", " r2 ", "complete"]).map(|_| ())
    });
    assert_eq!(generation(ns.name(), "web"), "2");
    let records = berth.audit_records();
    let restart = records
        .iter()
        .find(|r| r["action"] == "rollout.restart")
        .unwrap_or_else(|| panic!("no restart in the audit log: {records:#?}"));
    assert_eq!(restart["actor"], "berth-admin", "{restart}");
    assert_eq!(restart["outcome"]["status"], "ok", "{restart}");
}

/// A StatefulSet in the dashboard: listed as `sts/db` with its rollout state and revision (from
/// its ControllerRevisions), restarted with `r` and rolled back with `u`, checked with kubectl's
/// rollout history and the template; set image (`i`) says what to use instead of acting.
#[test]
fn a_statefulset_is_restarted_and_undone_by_keys() {
    let _lock = apiserver_lock(false);
    let host = Env::get().acr_host();
    let repo = own_repository();
    let ns = TestNamespace::new("ui-e2e-sts");
    admin_pull_secret(ns.name(), "acr");
    let sts = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 1,
            "serviceName": "db",
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "imagePullSecrets": [{"name": "acr"}],
                "containers": [{"name": "app", "image": format!("{host}/{repo}:1.0.0")}]
            }}
        }
    });
    create(ns.name(), &sts);
    let history = || -> Vec<String> {
        kubectl(["-n", ns.name(), "rollout", "history", "statefulset/db"])
            .lines()
            .filter_map(|l| {
                l.split_whitespace()
                    .next()
                    .filter(|w| w.parse::<u32>().is_ok())
            })
            .map(str::to_owned)
            .collect()
    };
    let berth = Berth::new(ns.name());
    let tui = berth.start(&[]);
    tui.wait("sts/db complete at revision 1", |s| {
        line_with(s, &["sts/db", " r1 ", "complete"]).map(|_| ())
    });

    tui.keys(&["r"]);
    tui.wait_text("the restart confirmation", "restart · confirm");
    tui.keys(&["y"]);
    tui.wait("the restart rolled out as revision 2", |s| {
        line_with(s, &["sts/db", " r2 ", "complete"]).map(|_| ())
    });
    let stamp = kubectl([
        "-n",
        ns.name(),
        "get",
        "statefulset",
        "db",
        "-o",
        "jsonpath={.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}",
    ]);
    assert!(!stamp.trim().is_empty(), "the restart left no restartedAt");
    assert_eq!(history(), ["1", "2"]);

    tui.keys(&["u"]);
    tui.wait("the undo confirmation naming the ControllerRevision", |s| {
        line_with(s, &["Rollout undo", "confirm"])
            .and(line_with(s, &["ControllerRevision db-"]))
            .map(|_| ())
    });
    tui.keys(&["y"]);
    tui.wait("revision 1's template back, as revision 3", |s| {
        line_with(s, &["sts/db", " r3 ", "complete"]).map(|_| ())
    });
    assert_eq!(
        history(),
        ["2", "3"],
        "kubectl renumbers the revision undo went back to"
    );
    let stamp = kubectl([
        "-n",
        ns.name(),
        "get",
        "statefulset",
        "db",
        "-o",
        "jsonpath={.spec.template.metadata.annotations}",
    ]);
    assert!(
        !stamp.contains("restartedAt"),
        "undo to revision 1 drops the restart stamp: {stamp}"
    );
    let records = berth.audit_records();
    for action in ["rollout.restart", "rollout.undo"] {
        assert!(
            records
                .iter()
                .any(|r| r["action"] == action && r["outcome"]["status"] == "ok"),
            "{action} not audited: {records:#?}"
        );
    }
}

#[test]
fn read_only_shows_the_marker_and_restart_changes_nothing() {
    let _lock = apiserver_lock(false);
    let env = Env::get();
    let ns = TestNamespace::new("ui-e2e-ro");
    admin_pull_secret(ns.name(), "acr");
    create(
        ns.name(),
        &deployment_json(
            "web",
            &format!("{}/web:1.0.3", env.acr_host()),
            Some("acr"),
            1,
        ),
    );
    let berth = Berth::new(ns.name());
    let tui = berth.start(&["--read-only"]);

    tui.wait_text("the read-only marker", "READ-ONLY (--read-only)");
    tui.wait("the deployment complete", |s| {
        line_with(s, &["web", " r1 ", "complete"]).map(|_| ())
    });
    let before = kubectl(["-n", ns.name(), "get", "deploy", "web", "-o", "json"]);
    let before: Value = serde_json::from_str(&before).expect("deployment JSON");

    tui.keys(&["r"]);
    tui.wait("the restart refused", |s| {
        line_with(s, &["restart refused", "read-only"]).map(|_| ())
    });
    assert!(
        !tui.screen().contains("confirm"),
        "no confirmation may open in read-only mode:\n{}",
        tui.screen()
    );

    let after = kubectl(["-n", ns.name(), "get", "deploy", "web", "-o", "json"]);
    let after: Value = serde_json::from_str(&after).expect("deployment JSON");
    assert_eq!(
        after["metadata"]["generation"], before["metadata"]["generation"],
        "the deployment must not change"
    );
    assert_eq!(after["spec"]["template"], before["spec"]["template"]);
    assert!(
        berth.audit_records().is_empty(),
        "nothing to audit: {:#?}",
        berth.audit_records()
    );
}

/// Deployments labelled as Helm, Argo CD and Flux label what they apply: the dashboard shows
/// each owner, and the restart confirmation names it and what to do instead; going on after
/// the warning restarts (checked with kubectl).
#[test]
fn owner_warnings_on_labelled_workloads_by_keys() {
    let _lock = apiserver_lock(false);
    let host = Env::get().acr_host();
    let ns = TestNamespace::new("ui-e2e-owner");
    let n = ns.name();
    admin_pull_secret(n, "acr");
    let marked = |name: &str, labels: Value, annotations: Value| {
        let mut d = deployment_json(name, &format!("{host}/web:1.0.3"), Some("acr"), 1);
        d["metadata"]["labels"] = labels;
        d["metadata"]["annotations"] = annotations;
        create(n, &d);
    };
    marked(
        "argo-web",
        json!({}),
        json!({"argocd.argoproj.io/tracking-id": format!("shop-web:apps/Deployment:{n}/argo-web")}),
    );
    marked(
        "flux-web",
        json!({"kustomize.toolkit.fluxcd.io/name": "apps",
               "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}),
        json!({}),
    );
    marked(
        "helm-web",
        json!({"app.kubernetes.io/managed-by": "Helm"}),
        json!({"meta.helm.sh/release-name": "shop", "meta.helm.sh/release-namespace": n}),
    );
    let berth = Berth::new(n);
    let tui = berth.start(&[]);
    tui.wait("the three owners in the OWNER column", |s| {
        line_with(s, &["argo-web", "argocd:shop-web"])?;
        line_with(s, &["flux-web", "flux:apps"])?;
        line_with(s, &["helm-web", "helm:shop"]).map(|_| ())
    });

    // argo-web sorts first, so it is selected.
    tui.keys(&["r"]);
    tui.wait("the Argo CD warning in the restart confirmation", |s| {
        line_with(
            s,
            &["⚠ deploy/argo-web is managed by Argo CD application shop-web"],
        )?;
        line_with(s, &["argocd app actions run shop-web restart"]).map(|_| ())
    });
    tui.escape("Rollout restart · confirm");
    tui.keys(&["j", "u"]);
    // flux-web has no earlier revision: undo says so; the owner still shows under the row.
    tui.wait_text(
        "the Flux owner under the selected row",
        "managed by Flux Kustomization apps (namespace flux-system)",
    );
    tui.keys(&["r"]);
    tui.wait("the Flux warning in the restart confirmation", |s| {
        line_with(
            s,
            &["⚠ deploy/flux-web is managed by Flux Kustomization apps"],
        )
        .map(|_| ())
    });
    tui.escape("Rollout restart · confirm");
    tui.keys(&["j", "r"]);
    tui.wait("the Helm warning in the restart confirmation", |s| {
        line_with(s, &["⚠ deploy/helm-web is managed by Helm release shop"])?;
        line_with(s, &["instead:"]).map(|_| ())
    });
    let generation = || {
        kubectl([
            "-n",
            n,
            "get",
            "deploy",
            "helm-web",
            "-o",
            "jsonpath={.metadata.generation}",
        ])
    };
    let before = generation();
    // Going on after the warning: the dashboard acts (the user saw who owns it).
    tui.keys(&["y"]);
    tui.wait("the restart reported done", |s| {
        line_with(s, &["✓", "helm-web restarted"]).map(|_| ())
    });
    assert_ne!(
        generation(),
        before,
        "the confirmed restart changed nothing"
    );
    let restarted = kubectl([
        "-n",
        n,
        "get",
        "deploy",
        "helm-web",
        "-o",
        r#"jsonpath={.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}"#,
    ]);
    assert!(!restarted.trim().is_empty(), "no restartedAt on helm-web");
}

/// Lock after promote by keys (checked through ACR's `/acr/v1` attributes), then a retag onto
/// the locked tag: the confirmation names the lock, confirming is refused, and skopeo shows the
/// tag unmoved.
#[test]
fn a_locked_tag_is_refused_and_lock_after_promote_by_keys() {
    let env = Env::get();
    let host = env.acr_host();
    let repo = own_repository();
    let ns = TestNamespace::new("ui-e2e-lock");
    let berth = Berth::new(ns.name());
    let tui = berth.start(&[]);
    tui.wait_text(
        "the repositories listed",
        &format!("registry {host} ● live"),
    );
    tui.keys(&[":"]);
    tui.type_text(&format!("repo {repo}"));
    tui.keys(&["Enter"]);
    tui.wait("the tags of the test repository", |s| {
        line_with(s, &["1.0.1"])
            .and(line_with(s, &[&format!("Tags {repo}")]))
            .map(|_| ())
    });
    tui.keys(&["/"]);
    tui.type_text("1.0.1");
    tui.keys(&["Enter"]);
    tui.wait_text("the tag list filtered to 1.0.1", "/1.0.1 · 1");
    tui.keys(&["t"]);
    tui.type_text("rc");
    tui.keys(&["Enter"]);
    tui.wait_text(
        "the offer to lock after promoting",
        "[ ] lock the tag after promoting (l)",
    );
    tui.keys(&["l"]);
    tui.wait_text("the lock chosen", "[x] lock the tag after promoting (l)");
    tui.keys(&["y"]);
    tui.wait("the retag and the lock reported done", |s| {
        line_with(s, &["✓ retagged", &format!("{repo}:1.0.1")]).map(|_| ())
    });
    // ACR's own answer: the tag's changeableAttributes.
    let attributes = acr_tag_attributes(&repo, "rc");
    assert_eq!(attributes["writeEnabled"], false, "{attributes}");
    let rc = digest_of(&format!("{host}/{repo}:rc")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        rc,
        digest_of(&format!("{host}/{repo}:1.0.1")).unwrap_or_else(|e| panic!("{e}"))
    );

    // The listing shows it locked; a retag of 1.0.0 onto it is refused, naming the lock.
    tui.keys(&["/", "C-u"]);
    tui.type_text("1.0.0");
    tui.keys(&["Enter"]);
    tui.wait_text("the tag list filtered to 1.0.0", "/1.0.0 · 1");
    tui.keys(&["t"]);
    tui.type_text("rc");
    tui.keys(&["Enter"]);
    tui.wait_text(
        "the lock named in the confirmation",
        &format!("⚠ {repo}:rc is locked (writeEnabled=false)"),
    );
    tui.keys(&["f", "y"]);
    tui.wait_text(
        "the retag refused",
        &format!("✗ refused: {repo}:rc is locked (writeEnabled=false)"),
    );
    tui.keys(&["Escape"]);
    assert_eq!(
        digest_of(&format!("{host}/{repo}:rc")).unwrap_or_else(|e| panic!("{e}")),
        rc,
        "the locked tag moved"
    );
    let actions: Vec<String> = berth
        .audit_records()
        .iter()
        .map(|r| format!("{} {}", r["action"], r["outcome"]["status"]))
        .collect();
    assert_eq!(
        actions,
        [r#""retag" "ok""#, r#""registry.lock" "ok""#],
        "the refused retag must not reach the audit log as a write"
    );
}

/// `GET /acr/v1/{repo}/_tags/{tag}` as the admin: the tag's `changeableAttributes`.
fn acr_tag_attributes(repo: &str, tag: &str) -> Value {
    let env = Env::get();
    let pem = std::fs::read(env.ca_file()).expect("test CA");
    let certs = reqwest::Certificate::from_pem_bundle(&pem).expect("test CA PEM");
    let client = reqwest::Client::builder()
        .tls_certs_only(certs)
        .build()
        .expect("HTTP client");
    let url = format!("https://{}/acr/v1/{repo}/_tags/{tag}", env.acr_host());
    let user = env.var("BERTH_ACR_ADMIN_USER").to_owned();
    let password = env.secret("BERTH_ACR_ADMIN_PASSWORD");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let r = client
            .get(url)
            .basic_auth(user, Some(password.expose()))
            .send()
            .await
            .expect("GET attributes");
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.expect("attributes JSON");
        v["tag"]["changeableAttributes"].clone()
    })
}

/// The revision picker: three revisions of a deployment (1.0.0 → 1.0.1 → 1.0.2, the last with a
/// change-cause), `U` lists them with the live one marked, `j` `enter` picks revision 1 (not the
/// previous one), `y` confirms; kubectl then shows revision 1's image running as revision 4.
#[test]
fn a_deployment_is_undone_to_a_chosen_revision_by_keys() {
    let _lock = apiserver_lock(false);
    let host = Env::get().acr_host();
    let repo = own_repository();
    let ns = TestNamespace::new("ui-e2e-rev");
    admin_pull_secret(ns.name(), "acr");
    // own_repository has 1.0.0 and 1.0.1; a third version for the third revision.
    skopeo(&[
        "copy",
        "--preserve-digests",
        &format!("docker://{host}/web:1.0.5"),
        &format!("docker://{host}/{repo}:1.0.2"),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    create(
        ns.name(),
        &deployment_json("shop", &format!("{host}/{repo}:1.0.0"), Some("acr"), 1),
    );
    for tag in ["1.0.1", "1.0.2"] {
        kubectl([
            "-n",
            ns.name(),
            "set",
            "image",
            "deployment/shop",
            &format!("app={host}/{repo}:{tag}"),
        ]);
        kubectl([
            "-n",
            ns.name(),
            "rollout",
            "status",
            "deployment/shop",
            "--timeout=120s",
        ]);
    }
    kubectl([
        "-n",
        ns.name(),
        "annotate",
        "deployment/shop",
        "kubernetes.io/change-cause=release 1.0.2",
        "--overwrite",
    ]);
    let berth = Berth::new(ns.name());
    let tui = berth.start(&[]);
    tui.wait("shop complete at revision 3", |s| {
        line_with(s, &["shop", " r3 ", "complete"]).map(|_| ())
    });
    tui.keys(&["U"]);
    tui.wait("the picker with three revisions, 3 live", |s| {
        line_with(s, &["Revisions", "shop"])
            .and(line_with(s, &["● 3", &format!("{repo}:1.0.2")]))
            .and(line_with(s, &[" 2 ", &format!("{repo}:1.0.1")]))
            .and(line_with(s, &[" 1 ", &format!("{repo}:1.0.0")]))
            .map(|_| ())
    });
    tui.keys(&["j", "enter"]);
    tui.wait("the undo confirmation to revision 1", |s| {
        line_with(s, &["Rollout undo", "confirm"])
            .and(line_with(s, &["revision 1 (as a new revision)"]))
            .map(|_| ())
    });
    tui.keys(&["y"]);
    tui.wait("revision 1's image back, as revision 4", |s| {
        line_with(s, &["shop", " r4 ", "complete", &format!("{repo}:1.0.0")]).map(|_| ())
    });
    assert_eq!(
        deployment_image(ns.name(), "shop"),
        format!("{host}/{repo}:1.0.0")
    );
    let records = berth.audit_records();
    assert!(
        records
            .iter()
            .any(|r| r["action"] == "rollout.undo" && r["outcome"]["status"] == "ok"),
        "{records:#?}"
    );
}

/// With `NO_COLOR` the dashboard draws in the monochrome theme: not one colour reaches the
/// terminal, the selected row is reversed and bold, and a stuck rollout's alarm is reversed and
/// underlined — read from tmux's own rendering of what berth wrote (`capture-pane -e`).
#[test]
fn no_color_keeps_the_selection_and_the_alarm_visible() {
    let _lock = apiserver_lock(false);
    let host = Env::get().acr_host();
    let ns = TestNamespace::new("ui-e2e-mono");
    let n = ns.name();
    admin_pull_secret(n, "acr");
    create(
        n,
        &deployment_json("a-web", &format!("{host}/web:1.0.3"), Some("acr"), 1),
    );
    create(
        n,
        &deployment_json(
            "z-gone",
            &format!("{host}/web:0.0.0-missing"),
            Some("acr"),
            1,
        ),
    );
    let berth = Berth::new(n);
    let tui = berth.start_with_env(&[], &[("NO_COLOR", "1".to_owned())]);
    tui.wait("a-web complete and z-gone stuck", |s| {
        line_with(s, &["a-web", "complete"])?;
        line_with(s, &["z-gone", "stuck"]).map(|_| ())
    });
    let screen = tui.screen_with_escapes();
    assert_eq!(colour_codes(&screen), Vec::<String>::new(), "{screen}");
    // a-web sorts first: it is the selected row.
    let selected = screen
        .lines()
        .find(|l| l.contains("a-web") && l.contains("complete"))
        .expect("a-web's row");
    let at = sgr_at(selected, "a-web").expect("a-web on its row");
    assert!(
        at.contains(&7) && at.contains(&1),
        "selection {at:?}: {selected:?}"
    );
    let stuck = screen
        .lines()
        .find(|l| l.contains("z-gone") && l.contains("stuck"))
        .expect("z-gone's row");
    let at = sgr_at(stuck, "stuck").expect("stuck on its row");
    assert!(
        at.contains(&7) && at.contains(&4),
        "alarm {at:?}: {stuck:?}"
    );
    // And z-gone, not selected, is not reversed.
    let at = sgr_at(stuck, "z-gone").expect("z-gone on its row");
    assert!(!at.contains(&7), "{at:?}: {stuck:?}");
}

/// Two `[[registry]]` entries: the pane names which one it browses, `:reg plain` switches to the
/// second (a plain distribution registry with htpasswd) and lists its repositories and tags as
/// skopeo copied them there, `:reg e2e` goes back; an unknown name is refused with the known ones.
#[test]
fn reg_switches_to_the_second_registry_and_back() {
    let _lock = apiserver_lock(false);
    let env = Env::get();
    let (acr, plain) = (env.acr_host(), env.plain_registry_host());
    let ns = TestNamespace::new("ui-e2e-reg");
    let berth = Berth::new(ns.name());
    // One auth file for skopeo and for berth's docker-config credential of the plain registry.
    let b64 = base64::engine::general_purpose::STANDARD;
    let admin = format!(
        "{}:{}",
        env.var("BERTH_ACR_ADMIN_USER"),
        env.secret("BERTH_ACR_ADMIN_PASSWORD").expose()
    );
    let plain_auth = format!(
        "{}:{}",
        env.var("BERTH_PLAIN_USER"),
        env.var("BERTH_PLAIN_PASSWORD")
    );
    let auth_file = berth.dir.path().join("auth.json");
    let doc = json!({"auths": {
        acr: {"auth": b64.encode(admin)},
        plain: {"auth": b64.encode(plain_auth)},
    }});
    std::fs::write(&auth_file, doc.to_string()).expect("write auth file");
    let repo = unique_name("berth-reg");
    let certs = env.cert_dir();
    let copied = Command::new("skopeo")
        .args(["copy", "--authfile"])
        .arg(&auth_file)
        .arg("--src-cert-dir")
        .arg(&certs)
        .arg("--dest-cert-dir")
        .arg(&certs)
        .arg(format!("docker://{acr}/web:1.0.3"))
        .arg(format!("docker://{plain}/{repo}:2.0.0"))
        .output()
        .expect("run skopeo");
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    let digest = Command::new("skopeo")
        .args(["inspect", "--format", "{{.Digest}}", "--authfile"])
        .arg(&auth_file)
        .arg("--cert-dir")
        .arg(&certs)
        .arg(format!("docker://{plain}/{repo}:2.0.0"))
        .output()
        .expect("run skopeo");
    let digest = String::from_utf8_lossy(&digest.stdout).trim().to_owned();
    assert!(digest.starts_with("sha256:"), "skopeo inspect: {digest:?}");
    let config = berth.dir.path().join("config.toml");
    let mut text = std::fs::read_to_string(&config).expect("read config.toml");
    text.push_str(&format!(
        "\n[[registry]]\nname = \"plain\"\nhost = \"{plain}\"\nca_file = \"{}\"\n\
         credential = {{ type = \"docker-config\", path = \"{}\" }}\n",
        env.ca_file().display(),
        auth_file.display()
    ));
    std::fs::write(&config, text).expect("write config.toml");

    let tui = berth.start(&[]);
    tui.wait("the first registry named, its repositories listed", |s| {
        line_with(s, &["Registry e2e 1/2", acr])?;
        line_with(s, &["│api "]).map(|_| ())
    });
    tui.keys(&[":"]);
    tui.type_text("reg nope");
    tui.keys(&["Enter"]);
    // Refused in a notice (the palette closes), naming the known entries.
    tui.wait("the unknown name refused", |s| {
        line_with(s, &["no [[registry]] named \"nope\""])?;
        s.contains("e2e, plain").then_some(())
    });
    tui.keys(&[":"]);
    tui.type_text("reg plain");
    tui.keys(&["Enter"]);
    tui.wait("the plain registry and its repository", |s| {
        line_with(s, &["Registry plain 2/2", plain])?;
        line_with(s, &[&repo]).map(|_| ())
    });
    let screen = tui.screen();
    assert!(
        line_with(&screen, &["│api "]).is_none(),
        "the first registry's repositories are still shown:\n{screen}"
    );
    tui.keys(&[":"]);
    tui.type_text(&format!("repo {repo}"));
    tui.keys(&["Enter"]);
    tui.wait("the copied tag with skopeo's digest", |s| {
        line_with(s, &["2.0.0", &digest[7..19]]).map(|_| ())
    });
    tui.keys(&[":"]);
    tui.type_text("reg e2e");
    tui.keys(&["Enter"]);
    tui.wait("back on the first registry", |s| {
        line_with(s, &["Registry e2e 1/2", acr])?;
        line_with(s, &["│api "])?;
        line_with(s, &[&repo]).is_none().then_some(())
    });
}
