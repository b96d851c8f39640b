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
    }
    let (stdout, _) = text(&berth(&["rollout", "status", "--help"]));
    assert!(
        !stdout.contains("Exit status 10"),
        "status changes nothing: {stdout}"
    );
}
