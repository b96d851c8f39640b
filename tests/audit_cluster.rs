//! No change without its audit record, against the real cluster and with the real binary:
//!
//! - an audit log that cannot take the intent record (`/dev/full`: "No space left on device",
//!   or a directory where the file should be) refuses `rollout restart` before any write — the
//!   deployment's generation and `restartedAt` annotation stay what kubectl saw — and exits 9;
//! - an audit log that takes the intent record but not the result record is "applied, but not
//!   audited" (exit 10). Provoked for real, without a test hook: the file-size limit of the
//!   process (`ulimit -f`, RLIMIT_FSIZE, SIGXFSZ ignored as a daemon's supervisor may set it)
//!   leaves room for the intent line and not for the result line, which the kernel cuts short
//!   (EFBIG, "File too large") — a torn last line, which the reader skips with a warning.

#[path = "cluster_common/mod.rs"]
mod cluster_common;
mod support;

use std::path::Path;
use std::process::{Command, Output};

use berth::audit::{AuditFailure, AuditLog, AuditRecord, Outcome};
use berth::cluster::actions::{self, ActionError, RESTARTED_AT};
use cluster_common::{Audit, action_ctx, admin, apiserver_lock, create, deployment_json, rt};
use support::{Env, TestNamespace, kubectl};

/// What a restart changes, as kubectl sees it: generation, the template's images, restartedAt.
/// Not resourceVersion: the deployment controller writes a new deployment's status meanwhile.
fn deployment_state(ns: &str) -> (String, String, String) {
    let out = kubectl([
        "-n",
        ns,
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.metadata.generation}|{.spec.template.spec.containers[*].image}|{.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}",
    ]);
    let mut parts = out.trim().splitn(3, '|').map(str::to_owned);
    let mut next = || parts.next().unwrap_or_default();
    (next(), next(), next())
}

fn web(prefix: &str) -> TestNamespace {
    let ns = TestNamespace::new(prefix);
    let image = format!("{}/web:1.0.4", Env::get().acr_host());
    // No replicas: a restart still writes the template (and bumps the generation), with no pods.
    create(ns.name(), &deployment_json("web", &image, None, 0));
    ns
}

/// A config.toml naming `audit` as the audit log (logs in `dir`).
fn config(dir: &Path, audit: &Path) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[general]\naudit_log = {:?}\nlog_file = {:?}\n",
            audit,
            dir.join("berth.log")
        ),
    )
    .unwrap();
    path
}

fn restart_command(config: &Path, ns: &str, json: bool) -> Vec<String> {
    let mut args = vec![
        env!("CARGO_BIN_EXE_berth").to_owned(),
        "--config".into(),
        config.display().to_string(),
        "--kubeconfig".into(),
        Env::get().kubeconfig().display().to_string(),
        "rollout".into(),
        "restart".into(),
        "web".into(),
        "-n".into(),
        ns.to_owned(),
    ];
    if json {
        args.push("--json".into());
    }
    args
}

fn run(argv: &[String]) -> Output {
    Command::new(&argv[0])
        .args(&argv[1..])
        .env_remove("KUBECONFIG")
        .env_remove("BERTH_AUDIT_LOG")
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
fn an_unwritable_audit_log_refuses_the_restart_before_any_write() {
    let _lock = apiserver_lock(false);
    let ns = web("au-refuse");
    let before = deployment_state(ns.name());
    assert!(before.2.is_empty(), "never restarted yet: {before:?}");

    // The library: the action context's log is /dev/full.
    let t = admin();
    let mut ctx = action_ctx(&t, &Audit::new(), false);
    ctx.audit = AuditLog::new("/dev/full");
    let e = rt()
        .block_on(actions::restart(&ctx, ns.name(), "web"))
        .expect_err("a restart without its intent record");
    let msg = e.to_string();
    assert!(
        matches!(&e, ActionError::Audit(AuditFailure::NothingChanged { .. })),
        "{e:?}"
    );
    assert!(
        msg.contains("No space left on device") && msg.contains("nothing was changed"),
        "{msg}"
    );
    assert_eq!(
        deployment_state(ns.name()),
        before,
        "the deployment changed"
    );

    // The binary, with /dev/full and with a directory where the file should be.
    let dir = tempfile::tempdir().unwrap();
    let as_dir = dir.path().join("audit.jsonl");
    std::fs::create_dir(&as_dir).unwrap();
    for (audit, why) in [
        (Path::new("/dev/full"), "No space left on device"),
        (as_dir.as_path(), "Is a directory"),
    ] {
        let cfg = config(dir.path(), audit);
        let out = run(&restart_command(&cfg, ns.name(), false));
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(i32::from(berth::audit::EXIT_AUDIT_UNWRITABLE)),
            "{audit:?}: {stdout}{stderr}"
        );
        assert!(
            stderr.contains(why) && stderr.contains("nothing was changed"),
            "{audit:?}: {stderr}"
        );
        assert!(
            !stderr.contains("restarted"),
            "{audit:?}: it says it restarted: {stderr}"
        );
        assert_eq!(
            deployment_state(ns.name()),
            before,
            "{audit:?}: the deployment changed"
        );
    }
    let out = run(&restart_command(
        &config(dir.path(), Path::new("/dev/full")),
        ns.name(),
        true,
    ));
    let (stdout, _) = text(&out);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(v["error"], "audit_unwritable", "{v}");
    assert_eq!(deployment_state(ns.name()), before);

    // With a writable log the same command restarts, with its intent before its result.
    let log = dir.path().join("ok.jsonl");
    let out = run(&restart_command(
        &config(dir.path(), &log),
        ns.name(),
        false,
    ));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let after = deployment_state(ns.name());
    assert!(!after.2.is_empty() && after.0 != before.0, "{after:?}");
    let read = AuditLog::new(&log).read_records().unwrap();
    let outcomes: Vec<&Outcome> = read.records.iter().map(|r| &r.outcome).collect();
    assert_eq!(outcomes, [&Outcome::Pending, &Outcome::Ok]);
    assert_eq!(read.records[0].id, read.records[1].id);
    assert_eq!(
        read.records[0].new.as_deref(),
        Some(format!("{RESTARTED_AT}={}", after.2).as_str()),
        "the intent names the stamp kubectl shows"
    );
}

/// The audit file-size budget: room for one intent line and not for the result line after it
/// (each is ~300 bytes for this restart).
const ROOM: u64 = 450;
/// `ulimit -f` counts 1024-byte blocks.
const LIMIT_BLOCKS: u64 = 64;

#[test]
fn a_result_record_that_does_not_fit_is_applied_but_not_audited() {
    let _lock = apiserver_lock(false);
    let ns = web("au-notaudited");
    let before = deployment_state(ns.name());
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("audit.jsonl");
    // An earlier record fills the file up to ROOM bytes short of the limit.
    let limit = LIMIT_BLOCKS * 1024;
    let base =
        AuditRecord::new("earlier", "retag", "acr/web:1").outcome(Outcome::Failed(String::new()));
    let base_len = serde_json::to_string(&base).unwrap().len() as u64 + 1;
    let filler = base.outcome(Outcome::Failed(
        "x".repeat((limit - ROOM - base_len) as usize),
    ));
    let mut line = serde_json::to_string(&filler).unwrap();
    line.push('\n');
    assert_eq!(line.len() as u64, limit - ROOM);
    std::fs::write(&log_path, &line).unwrap();

    let cfg = config(dir.path(), &log_path);
    let argv = restart_command(&cfg, ns.name(), false);
    let quoted: Vec<String> = argv.iter().map(|a| format!("'{a}'")).collect();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {LIMIT_BLOCKS} && exec {}",
            quoted.join(" ")
        ))
        .env_remove("KUBECONFIG")
        .env_remove("BERTH_AUDIT_LOG")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(i32::from(berth::audit::EXIT_NOT_AUDITED)),
        "{stdout}{stderr}"
    );
    assert!(
        stderr.contains("applied, but not audited") && stderr.contains("File too large"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("rollout.restart {}/web", ns.name())),
        "it names what was applied: {stderr}"
    );
    // The restart happened.
    let after = deployment_state(ns.name());
    assert!(
        !after.2.is_empty() && after.0 != before.0,
        "{before:?} → {after:?}"
    );
    // The log: the earlier record, the intent naming the stamp kubectl shows, and a torn line
    // (the cut-off result) that the reader skips with a warning.
    let read = AuditLog::new(&log_path).read_records().unwrap();
    assert_eq!(read.records.len(), 2, "{:?}", read.records);
    assert_eq!(read.skipped.len(), 1, "{:?}", read.skipped);
    let intent = &read.records[1];
    assert_eq!(intent.outcome, Outcome::Pending);
    assert_eq!(intent.action, "rollout.restart");
    assert_eq!(
        intent.new.as_deref(),
        Some(format!("{RESTARTED_AT}={}", after.2).as_str())
    );
    assert_eq!(read.unfinished(), vec![intent]);
    assert!(
        stderr.contains(&intent.id),
        "the message names the intent {}: {stderr}",
        intent.id
    );
    let size = std::fs::metadata(&log_path).unwrap().len();
    assert_eq!(size, limit, "the result line was cut at the limit");
}
