//! What the runner tells the UI about a finished task: clients' results and errors turned into
//! `TaskResult`s and progress steps a person reads (what happened / what failed, why, what to
//! do). Pure functions, so the wording is tested without a cluster or registry.

use crate::app::action::{StepStatus, StepUpdate, TaskError, TaskOutcome, TaskResult};
use crate::audit::AuditFailure;
use crate::cluster::actions::{ActionError, ActionReport};
use crate::cluster::rotate::{RotateError, RotationReport, WriteOutcome};
use crate::registry::RegistryError;
use crate::registry::cli::short_digest;
use crate::registry::retag::{RetagMethod, RetagOutcome};

/// Errors span lines in the clients (for terminals); the status line has one.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn error(what: &str, why: impl std::fmt::Display, hint: &str) -> TaskError {
    TaskError {
        what: what.to_owned(),
        why: one_line(&why.to_string()),
        hint: hint.to_owned(),
        sticky: false,
    }
}

/// The audit log failed: before the write ("nothing was changed": the message says so), or
/// after an applied change ("applied, but not audited"): that error stays on screen.
pub fn audit_error(what: &str, f: &AuditFailure) -> TaskError {
    let hint = if f.applied() {
        "the change was made: check it, and make the audit log writable (general.audit_log in \
         config.toml)"
    } else {
        "make the audit log writable (general.audit_log in config.toml), then retry"
    };
    TaskError {
        sticky: f.applied(),
        ..error(what, f, hint)
    }
}

pub fn done(summary: impl Into<String>) -> TaskResult {
    Ok(TaskOutcome::Done {
        summary: summary.into(),
    })
}

/// A deployment action's error. The cluster module's messages already say what to do for
/// refusals, conflicts and bad input; transport failures get the way out here.
pub fn action_error(what: &str, e: &ActionError) -> TaskError {
    let hint = match e {
        ActionError::Api { .. } => {
            "nothing was changed; check the cluster connection (status bar) and retry"
        }
        ActionError::Audit(f) => return audit_error(what, f),
        _ => "",
    };
    error(what, e, hint)
}

/// A registry error; only the "move the tag" case needs the TUI's own way out (the client's
/// message names the command-line flag).
pub fn registry_error(what: &str, e: &RegistryError) -> TaskError {
    match e {
        RegistryError::TargetExists { object, digest, .. } => error(
            what,
            format!(
                "{object} already exists (digest {}); nothing was written",
                short_digest(digest)
            ),
            "press f in the confirmation to move the tag, or choose another name",
        ),
        RegistryError::Audit(f) => audit_error(what, f),
        other => error(what, other, ""),
    }
}

pub fn rotate_error(what: &str, e: &RotateError) -> TaskError {
    let hint = match e {
        RotateError::Audit(f) => return audit_error(what, f),
        _ => "",
    };
    error(what, e, hint)
}

fn dry(dry_run: bool, text: String) -> String {
    if dry_run {
        format!("dry run, nothing changed: {text}")
    } else {
        text
    }
}

/// A deployment action's report as one line.
pub fn action_summary(r: &ActionReport) -> String {
    let text = if r.changed {
        match (&r.old, &r.new) {
            (Some(old), Some(new)) => format!("{} ({old} → {new})", r.message),
            _ => r.message.clone(),
        }
    } else {
        format!("{} (nothing to change)", r.message)
    };
    dry(r.dry_run, text)
}

/// A retag's outcome as one line: what points where now, and how it got there.
pub fn retag_summary(o: &RetagOutcome) -> String {
    let how = match o.method {
        RetagMethod::AlreadyTagged => "already tagged, nothing written".to_owned(),
        RetagMethod::SameRepository => "same repository, no layers copied".to_owned(),
        RetagMethod::Mount => format!("{} blobs mounted, none copied", o.blobs_mounted),
        RetagMethod::Import => "imported by the registry".to_owned(),
        RetagMethod::Copy => format!("{} blobs copied, {} bytes", o.blobs_copied, o.bytes_copied),
    };
    let old = o
        .old_digest
        .as_deref()
        .map_or("new tag".to_owned(), |d| format!("was {}", short_digest(d)));
    format!(
        "retagged {} → {}: {} ({old}; {how})",
        o.source,
        o.target,
        short_digest(&o.new_digest)
    )
}

/// One progress step per namespace of a rotation (the report comes at the end).
pub fn rotation_steps(r: &RotationReport) -> Vec<StepUpdate> {
    r.namespaces
        .iter()
        .map(|n| {
            let failed = n.secret == WriteOutcome::Failed || !n.follow_up_errors.is_empty();
            let mut detail = match n.secret {
                WriteOutcome::Created => "secret created".to_owned(),
                WriteOutcome::Updated => "secret updated".to_owned(),
                WriteOutcome::DryRun => "dry run".to_owned(),
                WriteOutcome::Failed => "secret not written".to_owned(),
            };
            if let Some(m) = &n.message {
                detail.push_str(&format!(": {}", one_line(m)));
            }
            for e in &n.follow_up_errors {
                detail.push_str(&format!("; {}", one_line(e)));
            }
            StepUpdate {
                step: n.namespace.clone(),
                status: if failed {
                    StepStatus::Failed
                } else {
                    StepStatus::Done
                },
                detail,
            }
        })
        .collect()
}

/// What the rotation did beside the write: attached, restarted (empty when nothing).
fn follow_ups(r: &RotationReport) -> String {
    let attached = r
        .namespaces
        .iter()
        .filter(|n| n.attached == Some(true))
        .count();
    let restarted: Vec<String> = r
        .namespaces
        .iter()
        .flat_map(|n| {
            n.restarted
                .iter()
                .map(move |d| format!("{}/{d}", n.namespace))
        })
        .collect();
    let mut out = String::new();
    if attached > 0 {
        out.push_str("; attached to the service account");
    }
    if !restarted.is_empty() {
        out.push_str(&format!("; restarted {}", restarted.join(", ")));
    }
    out
}

/// A rotation report as the task's result: done only when every namespace was written.
pub fn rotation_result(what: &str, r: &RotationReport) -> TaskResult {
    let failed: Vec<&str> = r
        .namespaces
        .iter()
        .filter(|n| n.secret == WriteOutcome::Failed || !n.follow_up_errors.is_empty())
        .map(|n| n.namespace.as_str())
        .collect();
    if failed.is_empty() && r.invalidate_skipped.is_none() {
        let n = r.namespaces.len();
        let where_ = format!("in {n} namespace{}", if n == 1 { "" } else { "s" });
        return done(if r.dry_run {
            format!(
                "dry run, nothing changed: secret {} would get fresh credentials of {} {where_}",
                r.secret_name, r.source
            )
        } else {
            format!(
                "secret {} now holds {} of {} {where_}{}",
                r.secret_name,
                r.slot.as_deref().unwrap_or("new credentials"),
                r.source,
                follow_ups(r)
            )
        });
    }
    let why = if failed.is_empty() {
        r.invalidate_skipped.clone().unwrap_or_default()
    } else {
        format!(
            "secret {} was not written in {} of {} namespaces ({})",
            r.secret_name,
            failed.len(),
            r.namespaces.len(),
            failed.join(", ")
        )
    };
    Err(error(
        what,
        why,
        "the other namespaces hold the new credentials and the old slot stays valid: fix the \
         cause shown in the progress steps and rotate again",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::rotate::NamespaceReport;

    fn ns(name: &str, secret: WriteOutcome, errors: &[&str]) -> NamespaceReport {
        NamespaceReport {
            namespace: name.into(),
            secret,
            message: None,
            attached: None,
            restarted: Vec::new(),
            follow_up_errors: errors.iter().map(|e| (*e).to_owned()).collect(),
        }
    }

    fn report(namespaces: Vec<NamespaceReport>) -> RotationReport {
        RotationReport {
            source: "ACR admin user of berthacr".into(),
            registry: "127.0.0.1:16410".into(),
            secret_name: "acr-pull".into(),
            username: Some("berthacr".into()),
            slot: Some("password2".into()),
            expiry: None,
            dry_run: false,
            verified: true,
            namespaces,
            invalidated_slot: None,
            invalidate_skipped: None,
            warning: None,
        }
    }

    #[test]
    fn the_summary_says_what_was_attached_and_restarted() {
        let mut payments = ns("payments", WriteOutcome::Created, &[]);
        payments.attached = Some(true);
        payments.restarted = vec!["ledger".into()];
        let Ok(TaskOutcome::Done { summary }) = rotation_result("rotate", &report(vec![payments]))
        else {
            panic!("expected done");
        };
        assert!(
            summary.ends_with("; attached to the service account; restarted payments/ledger"),
            "{summary}"
        );
    }

    #[test]
    fn a_complete_rotation_is_done_with_one_step_per_namespace() {
        let r = report(vec![
            ns("shop", WriteOutcome::Updated, &[]),
            ns("payments", WriteOutcome::Created, &[]),
        ]);
        let steps = rotation_steps(&r);
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[1].step, "payments");
        assert_eq!(steps[1].status, StepStatus::Done);
        assert_eq!(steps[1].detail, "secret created");
        let Ok(TaskOutcome::Done { summary }) = rotation_result("rotate", &r) else {
            panic!("expected done");
        };
        assert!(summary.contains("password2") && summary.contains("2 namespaces"));
        assert!(!summary.contains("dry run"));
        let dry = RotationReport {
            dry_run: true,
            slot: None,
            namespaces: vec![ns("shop", WriteOutcome::DryRun, &[])],
            ..r
        };
        let Ok(TaskOutcome::Done { summary }) = rotation_result("rotate", &dry) else {
            panic!("expected done");
        };
        assert_eq!(
            summary,
            "dry run, nothing changed: secret acr-pull would get fresh credentials of ACR admin user of berthacr in 1 namespace"
        );
    }

    #[test]
    fn a_partial_rotation_fails_naming_the_namespaces() {
        let r = report(vec![
            ns("shop", WriteOutcome::Updated, &[]),
            ns("payments", WriteOutcome::Failed, &[]),
            ns("ops", WriteOutcome::Updated, &["restart of\n api failed"]),
        ]);
        let steps = rotation_steps(&r);
        assert_eq!(steps[1].status, StepStatus::Failed);
        assert_eq!(steps[2].status, StepStatus::Failed);
        assert!(steps[2].detail.ends_with("; restart of api failed"));
        let e = rotation_result("rotate acr-pull", &r).unwrap_err();
        assert_eq!(e.what, "rotate acr-pull");
        assert!(
            e.why.contains("2 of 3 namespaces (payments, ops)"),
            "{}",
            e.why
        );
        assert!(e.hint.contains("old slot stays valid"));
    }

    #[test]
    fn action_reports_read_as_one_line() {
        let mut r = ActionReport {
            action: "rollout.set-image".into(),
            target: "shop/web".into(),
            old: Some("web=h/web:1".into()),
            new: Some("web=h/web:2".into()),
            dry_run: false,
            changed: true,
            message: "deployment shop/web: container web set to h/web:2".into(),
            owner: None,
        };
        assert_eq!(
            action_summary(&r),
            "deployment shop/web: container web set to h/web:2 (web=h/web:1 → web=h/web:2)"
        );
        r.dry_run = true;
        assert!(action_summary(&r).starts_with("dry run, nothing changed: "));
        r.changed = false;
        assert!(action_summary(&r).ends_with("(nothing to change)"));
    }

    #[test]
    fn registry_errors_name_the_tui_way_out() {
        let e = RegistryError::TargetExists {
            registry: "sandbox".into(),
            object: "web:2".into(),
            digest: format!("sha256:{}", "a".repeat(64)),
        };
        let t = registry_error("retag", &e);
        assert!(t.why.contains("sha256:aaaaaaaaaaaa") && !t.why.contains("--force"));
        assert!(t.hint.contains("press f"));
        let e = ActionError::Conflict {
            what: "deployment shop/web".into(),
            resource_version: "7".into(),
        };
        let t = action_error("set image", &e);
        assert!(t.why.contains("nothing was changed") && t.hint.is_empty());
    }

    #[test]
    fn audit_failures_say_whether_the_change_was_made() {
        let io = || std::io::Error::from_raw_os_error(28);
        let source = || crate::audit::AuditError::Write {
            path: "/dev/full".into(),
            source: io(),
        };
        let before = ActionError::Audit(AuditFailure::NothingChanged { source: source() });
        let t = action_error("restart shop/web", &before);
        assert!(!t.sticky);
        assert!(t.why.contains("nothing was changed"), "{}", t.why);
        let after = ActionError::Audit(AuditFailure::NotAudited {
            applied: "rollout.restart shop/web: a → b".into(),
            id: "1-2-3".into(),
            source: source(),
        });
        let t = action_error("restart shop/web", &after);
        assert!(
            t.sticky,
            "an applied change without its record must stay on screen"
        );
        assert!(t.why.starts_with("applied, but not audited"), "{}", t.why);
        assert!(t.hint.contains("the change was made"), "{}", t.hint);
        let r = registry_error(
            "retag",
            &RegistryError::Audit(AuditFailure::NotAudited {
                applied: "retag acr/web:2".into(),
                id: "1".into(),
                source: source(),
            }),
        );
        assert!(r.sticky);
    }

    #[test]
    fn retags_say_how() {
        let o = RetagOutcome {
            source: "h/web:1.0.5".into(),
            target: "h/web:rc".into(),
            method: RetagMethod::SameRepository,
            old_digest: None,
            new_digest: format!("sha256:{}", "b".repeat(64)),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            blobs_mounted: 0,
            blobs_copied: 0,
            bytes_copied: 0,
            manifests_copied: 0,
        };
        assert_eq!(
            retag_summary(&o),
            "retagged h/web:1.0.5 → h/web:rc: sha256:bbbbbbbbbbbb (new tag; same repository, no layers copied)"
        );
    }
}
