//! The `berth` binary as a user runs it: top-level flags reach every subcommand, read-only mode
//! refuses mutations before touching anything, and no reachable cluster gives a clear way out.

#[path = "cluster_common/mod.rs"]
mod cluster_common;
mod support;

use std::process::{Command, Output};

use cluster_common::{admin_pull_secret, apiserver_lock, create, deployment_json};
use support::{Env, TestNamespace, kubectl, wait_for};

fn berth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        // A config of nobody's: the user's own config.toml must not leak into the test.
        .env("BERTH_CONFIG", "/nonexistent/berth-test-config.toml")
        .env_remove("KUBECONFIG")
        .output()
        .expect("run berth")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn no_kubeconfig_names_the_file_and_the_sandbox_and_exits_2() {
    let out = berth(&["--kubeconfig", "/nonexistent/kubeconfig"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("/nonexistent/kubeconfig"), "{stderr}");
    assert!(stderr.contains("scripts/sandbox"), "{stderr}");
    // Nothing drawn: the terminal was never taken over.
    assert!(
        !stdout.contains('\u{1b}'),
        "escape codes on stdout: {stdout:?}"
    );
}

#[test]
fn unreachable_cluster_names_the_context_and_what_to_try() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters:\n- name: gone\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: gone\n  context:\n    cluster: gone\n    user: me\nusers:\n- name: me\n  user:\n    token: x\n",
    )
    .unwrap();
    let out = berth(&["--kubeconfig", kubeconfig.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("\"gone\""), "{stderr}");
    assert!(stderr.contains("kubectl --context gone"), "{stderr}");
}

#[test]
fn top_level_kubeconfig_reaches_rollout_status_and_read_only_refuses_a_restart() {
    let env = Env::get();
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("cli-main");
    admin_pull_secret(ns.name(), "acr");
    let image = format!("{}/web:1.0.4", env.acr_host());
    create(ns.name(), &deployment_json("web", &image, Some("acr"), 1));
    let kubeconfig = env.kubeconfig();
    let kc = kubeconfig.to_str().unwrap();

    wait_for(
        "rollout complete",
        std::time::Duration::from_secs(120),
        || {
            let out = berth(&[
                "--kubeconfig",
                kc,
                "rollout",
                "status",
                "web",
                "-n",
                ns.name(),
            ]);
            (out.status.code() == Some(0)).then_some(())
        },
    );
    let out = berth(&[
        "--kubeconfig",
        kc,
        "rollout",
        "status",
        "web",
        "-n",
        ns.name(),
        "--json",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert!(stdout.contains("web"), "{json}");

    let generation = || {
        kubectl([
            "-n",
            ns.name(),
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.metadata.generation}",
        ])
    };
    let before = generation();
    let audit = tempfile::tempdir().unwrap();
    let config = audit.path().join("config.toml");
    let restart = || {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["--config", config.to_str().unwrap(), "--kubeconfig", kc])
            .args(["rollout", "restart", "web", "-n", ns.name()])
            .output()
            .unwrap()
    };
    std::fs::write(
        &config,
        format!(
            "[general]\nread_only = true\naudit_log = {:?}\n",
            audit.path().join("audit.jsonl")
        ),
    )
    .unwrap();
    let out = restart();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("read-only"), "{stderr}");
    assert_eq!(
        generation(),
        before,
        "a refused restart changed the deployment"
    );
    assert!(
        !audit.path().join("audit.jsonl").exists(),
        "a refused restart wrote an audit record"
    );

    // The same restart without read-only goes through, and the config's audit log records it.
    std::fs::write(
        &config,
        format!(
            "[general]\naudit_log = {:?}\n",
            audit.path().join("audit.jsonl")
        ),
    )
    .unwrap();
    let out = restart();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_ne!(generation(), before, "the restart changed nothing");
    let audit_text = std::fs::read_to_string(audit.path().join("audit.jsonl")).unwrap();
    assert!(audit_text.contains("restart"), "{audit_text}");
}

/// A Deployment labelled as a Helm 3 release labels what it installs: `berth rollout restart`
/// and `set-image` are refused (exit 11, naming the release and what to do instead) and change
/// nothing; `--json` and `rollout status --json` carry the owner; `--force-unmanaged` goes on.
#[test]
fn a_helm_managed_deployment_is_refused_without_force_unmanaged() {
    let env = Env::get();
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("cli-owner");
    let n = ns.name();
    admin_pull_secret(n, "acr");
    let image = format!("{}/web:1.0.4", env.acr_host());
    create(n, &deployment_json("web", &image, Some("acr"), 1));
    kubectl([
        "-n",
        n,
        "label",
        "deploy",
        "web",
        "app.kubernetes.io/managed-by=Helm",
    ]);
    kubectl([
        "-n",
        n,
        "annotate",
        "deploy",
        "web",
        "meta.helm.sh/release-name=shop-web",
        &format!("meta.helm.sh/release-namespace={n}"),
    ]);
    let kubeconfig = env.kubeconfig();
    let kc = kubeconfig.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audit_log = dir.path().join("audit.jsonl");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[general]\naudit_log = {audit_log:?}\n")).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["--config", config.to_str().unwrap(), "--kubeconfig", kc])
            .args(args)
            .args(["-n", n])
            .env_remove("KUBECONFIG")
            .output()
            .unwrap()
    };
    // What a write would change: the generation and the pod template (not resourceVersion,
    // which the deployment controller's status writes move meanwhile).
    let spec = || {
        let d = support::kubectl_json(["-n", n, "get", "deploy", "web", "-o", "json"]);
        (
            d["metadata"]["generation"].clone(),
            d["spec"]["template"].clone(),
        )
    };
    let before = spec();

    let out = run(&["rollout", "restart", "web"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(11), "{stdout}{stderr}");
    for needle in [
        "refused: deployment",
        "is managed by Helm release shop-web",
        "nothing was changed",
        "--force-unmanaged",
    ] {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    let out = run(&[
        "rollout",
        "set-image",
        "web",
        "app=registry.example/web:2",
        "--json",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(11), "{stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(json["error"], "managed", "{json}");
    assert_eq!(json["owner"]["manager"], "helm", "{json}");
    assert_eq!(json["owner"]["name"], "shop-web", "{json}");
    assert_eq!(json["owner"]["namespace"], n, "{json}");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains(&format!("helm upgrade shop-web CHART -n {n}")),
        "{json}"
    );
    // A dry run is refused the same way (it answers "would this go through?").
    let out = run(&["rollout", "restart", "web", "--dry-run"]);
    assert_eq!(out.status.code(), Some(11), "{:?}", text(&out));
    assert_eq!(spec(), before, "a refused action changed the deployment");

    let out = run(&["rollout", "status", "web", "--json"]);
    let (stdout, _) = text(&out);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(json["owner"]["manager"], "helm", "{json}");
    assert_eq!(json["owner"]["name"], "shop-web", "{json}");
    assert_eq!(json["owner"]["certain"], true, "{json}");

    let out = run(&["rollout", "restart", "web", "--force-unmanaged"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("managed by Helm release shop-web"),
        "{stdout}"
    );
    let after = spec();
    assert_ne!(after.0, before.0, "the forced restart did not write");
    assert!(
        after.1["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].is_string(),
        "{}",
        after.1
    );
    let outcomes: Vec<String> = std::fs::read_to_string(&audit_log)
        .unwrap()
        .lines()
        .map(|l| {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {}",
                r["action"].as_str().unwrap(),
                r["outcome"]["status"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            "rollout.restart refused",
            "rollout.set-image refused",
            "rollout.restart refused",
            "rollout.restart pending",
            "rollout.restart ok",
        ],
    );
}

#[test]
fn the_help_of_every_changing_command_lists_the_audit_exit_statuses() {
    for cmd in [
        &["retag"][..],
        &["rollout", "restart"],
        &["rollout", "set-image"],
        &["rollout", "undo"],
        &["rollout", "pause"],
        &["rollout", "resume"],
        &["secret", "rotate"],
        &["secret", "attach"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = berth(&args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{cmd:?}: {stderr}");
        assert!(
            stdout.contains(
                "Exit status 9: the audit log could not be written, so nothing was changed"
            ) && stdout.contains("Exit status 10: applied, but not audited"),
            "{cmd:?}: {stdout}"
        );
        // The commands an owner (Helm, Argo CD, Flux) reverts say how they refuse.
        let owned = matches!(cmd, [_, "restart" | "set-image" | "undo"]);
        assert_eq!(
            stdout.contains("Exit status 11: the workload is managed by Helm, Argo CD or Flux")
                && stdout.contains("--force-unmanaged"),
            owned,
            "{cmd:?}: {stdout}"
        );
    }
    let (stdout, _) = text(&berth(&["rollout", "status", "--help"]));
    assert!(
        !stdout.contains("Exit status 10"),
        "status changes nothing: {stdout}"
    );
}

/// A config.toml in a fresh directory with one registry (nothing listens there: these tests
/// stop at the argument checks, before any connection), logs and audit kept inside.
fn registry_config() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[general]\nlog_file = {:?}\naudit_log = {:?}\n\n[[registry]]\nname = \"acr\"\nhost = \"127.0.0.1:1\"\n",
            dir.path().join("berth.log"),
            dir.path().join("audit.jsonl"),
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap().to_owned();
    (dir, config)
}

/// Runs berth (no cluster reachable) and returns (exit code, stdout, stderr).
fn berth_fails(args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["--kubeconfig", "/nonexistent/kubeconfig"];
    all.extend(args);
    let out = berth(&all);
    let (stdout, stderr) = text(&out);
    (out.status.code(), stdout, stderr)
}

#[test]
fn retag_to_a_tag_with_a_slash_says_the_tag_is_invalid_not_the_port() {
    let (_dir, config) = registry_config();
    let out = berth(&["--config", &config, "retag", "web:1.0.27", "web:not/valid"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("tag \"not/valid\" is not valid: character '/' at position 4")
            && stderr.contains("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"),
        "{stderr}"
    );
    assert!(!stderr.contains("port"), "{stderr}");

    // The same mistake in the source, and an uppercase repository: named as typed.
    let out = berth(&["--config", &config, "retag", "Web:1", "web:2"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("\"Web:1\"") && stderr.contains("lowercase"),
        "{stderr}"
    );
}

#[test]
fn registry_tags_refuses_an_image_reference_for_a_repository() {
    let (_dir, config) = registry_config();
    let out = berth(&["--config", &config, "registry", "tags", "web:1.0"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("\"web:1.0\" is an image reference, not a repository"),
        "{stderr}"
    );
}

#[test]
fn rollout_argument_mistakes_are_named_before_any_cluster_is_needed() {
    for (args, needle) in [
        (
            &[
                "rollout",
                "set-image",
                "deploy/web",
                "app",
                "--tag",
                "not/valid",
            ][..],
            "tag \"not/valid\" is not valid: character '/' at position 4",
        ),
        (
            &["rollout", "set-image", "web", "web=web:not/valid"][..],
            "tag \"not/valid\" is not valid",
        ),
        (
            &["rollout", "set-image", "web", "--digest", "sha256:abc"][..],
            "sha256 needs exactly 64 hex digits",
        ),
        (
            &["rollout", "set-image", "web", "app"][..],
            "\"app\" is neither CONTAINER=IMAGE nor an image with a tag or digest",
        ),
        (
            &["rollout", "set-image", "web", "a=r.io/a:1", "--tag", "2"][..],
            "both name the new image",
        ),
        (
            &["rollout", "set-image", "web"][..],
            "required arguments were not provided",
        ),
        (
            &[
                "rollout",
                "set-image",
                "web",
                "app",
                "--tag",
                "1",
                "--image",
                "r.io/w:1",
            ][..],
            "cannot be used with",
        ),
        (
            &["rollout", "pause", "sts/db"][..],
            "statefulset/db: only deployments can be paused and resumed",
        ),
        (
            &["rollout", "resume", "daemonset/agent"][..],
            "daemonset/agent: only deployments can be paused and resumed",
        ),
        (
            &["rollout", "status", "pod/web"][..],
            "unknown workload type \"pod\"",
        ),
        (
            &["rollout", "undo", "Web"][..],
            "\"Web\" is not a valid deployment name",
        ),
        (
            &["rollout", "status", "web", "-n", "Prod"][..],
            "\"Prod\" is not a valid namespace name",
        ),
    ] {
        let (code, _, stderr) = berth_fails(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("/nonexistent/kubeconfig"),
            "{args:?} tried to connect: {stderr}"
        );
    }
    // With --json the refusal is one JSON object, like every other error of these commands.
    let (code, stdout, _) = berth_fails(&["rollout", "pause", "sts/db", "--json"]);
    assert_eq!(code, Some(2));
    let v: serde_json::Value = serde_json::from_str(&stdout).expect(&stdout);
    assert_eq!(v["error"], "invalid", "{v}");
}

#[test]
fn set_image_help_shows_both_forms_and_every_flag_says_what_it_does() {
    let out = berth(&["rollout", "set-image", "--help"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("Usage: berth rollout set-image [OPTIONS] <WORKLOAD> [CONTAINER=]IMAGE"),
        "{stdout}"
    );
    assert!(
        stdout.contains("<--tag <TAG>|--digest <DIGEST>|--image <IMAGE>>"),
        "{stdout}"
    );
    for flag in [
        "--tag <TAG>",
        "--digest <DIGEST>",
        "--image <IMAGE>",
        "--dry-run",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("no {flag} in {stdout}"));
        assert!(
            line.trim_start().len() > flag.len() + 10,
            "{flag} has no help: {line:?}"
        );
    }
    assert!(
        stdout.contains("berth rollout set-image deploy/web web="),
        "{stdout}"
    );
}

#[test]
fn bash_completion_registers_for_berth() {
    let out = berth(&["completions", "bash"]);
    let (script, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("berth.bash");
    std::fs::write(&file, &script).unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("source {:?} && complete -p berth", file))
        .output()
        .expect("run bash");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("complete ") && stdout.trim_end().ends_with(" berth"),
        "{stdout}"
    );

    for (shell, start) in [("zsh", "#compdef berth"), ("fish", "complete -c berth")] {
        let out = berth(&["completions", shell]);
        let (script, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{shell}: {stderr}");
        assert!(script.contains(start), "{shell}: {script}");
        assert!(script.contains("set-image"), "{shell}");
    }
    let (code, _, stderr) = berth_fails(&["completions", "tcsh"]);
    assert_eq!(code, Some(2), "{stderr}");
}

#[test]
fn man_page_renders() {
    let out = berth(&["man"]);
    let (page, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(page.contains("\n.TH berth 1 "), "{page}");
    assert!(page.contains(".SH SYNOPSIS"), "{page}");
    assert!(page.contains("rollout"), "{page}");

    let out = berth(&["man", "rollout", "set-image"]);
    let (sub, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(sub.contains(".TH berth-rollout-set-image 1"), "{sub}");
    assert!(sub.contains("dry\\-run"), "{sub}");

    let (code, _, stderr) = berth_fails(&["man", "rollout", "nope"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("set-image"), "{stderr}");

    // Rendered the way a user reads it, where a formatter is installed (man-db's `man`, else
    // groff); the roff checks above stand alone otherwise.
    let render = |program: &str, args: &[&str]| {
        use std::io::Write;
        let mut child = Command::new(program)
            .args(args)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        child.stdin.take()?.write_all(page.as_bytes()).ok()?;
        let out = child.wait_with_output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let rendered = render("man", &["-l", "-"]).or_else(|| render("groff", &["-man", "-Tutf8"]));
    match rendered {
        Some(text) => {
            // man may embolden by overstriking: drop the backspaces' pairs.
            let plain: String = {
                let mut s = String::new();
                for c in text.chars() {
                    if c == '\u{8}' {
                        s.pop();
                    } else {
                        s.push(c);
                    }
                }
                s
            };
            assert!(plain.contains("SYNOPSIS"), "{plain}");
            assert!(
                plain.contains("berth-rollout") || plain.contains("rollout"),
                "{plain}"
            );
        }
        None => eprintln!("neither man nor groff could render the page: roff checked only"),
    }
}
