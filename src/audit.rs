//! Append-only JSONL record of every mutation berth makes (or dry-runs).
//!
//! One line per attempt: who (the kube or registry identity), what, old → new, when, result.
//! Records hold names, images and digests only; callers must never put a secret in a field
//! (the [`crate::secret::Secret`] type has no `Serialize`, so it cannot slip in by accident).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(
        "cannot write the audit log {path}: {source} (set `audit_log` in config.toml or BERTH_AUDIT_LOG to a writable file)"
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The outcome of an audited action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum Outcome {
    Ok,
    DryRun,
    Refused(String),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// RFC 3339 time of the attempt.
    pub time: String,
    /// Who acted: the kube user (from SelfSubjectReview or the kubeconfig) or the registry identity.
    pub actor: String,
    /// What kind of action: `retag`, `rollout.restart`, `rollout.set-image`, `secret.rotate`, ...
    pub action: String,
    /// What it acted on: `ns/deployment`, `registry/repo:tag`, ...
    pub target: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub outcome: Outcome,
}

impl AuditRecord {
    pub fn new(actor: &str, action: &str, target: &str) -> Self {
        Self {
            time: jiff::Timestamp::now().to_string(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            old: None,
            new: None,
            outcome: Outcome::Ok,
        }
    }

    pub fn change(mut self, old: Option<String>, new: Option<String>) -> Self {
        self.old = old;
        self.new = new;
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
}

/// Where the audit file lives; cheap to clone and pass to tasks.
#[derive(Clone, Debug)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `BERTH_AUDIT_LOG`, else `<data dir>/berth/audit.jsonl`.
    pub fn default_location() -> Self {
        if let Some(p) = std::env::var_os("BERTH_AUDIT_LOG") {
            return Self::new(p);
        }
        let dir = directories::ProjectDirs::from("", "", "berth")
            .map(|d| d.data_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from("."));
        Self::new(dir.join("audit.jsonl"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line. Each record is written with a single `write_all` on an `O_APPEND`
    /// file, so concurrent writers (tasks, several berth processes) do not interleave lines.
    pub fn append(&self, record: &AuditRecord) -> Result<(), AuditError> {
        let err = |source| AuditError::Write {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut line = serde_json::to_string(record).expect("audit record serialises");
        line.push('\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(err)?;
        file.write_all(line.as_bytes()).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_one_json_line_per_record() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("sub/audit.jsonl"));
        let rec = AuditRecord::new("admin", "retag", "acr/web:1.0")
            .change(Some("sha256:a".into()), Some("sha256:b".into()));
        log.append(&rec).unwrap();
        log.append(&rec.clone().outcome(Outcome::Failed("401".into())))
            .unwrap();
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["outcome"]["status"], "ok");
        assert_eq!(lines[1]["outcome"]["status"], "failed");
        assert_eq!(lines[1]["outcome"]["detail"], "401");
        assert_eq!(lines[0]["new"], "sha256:b");
    }

    #[test]
    fn unwritable_path_is_a_clear_error() {
        let log = AuditLog::new("/proc/berth-cannot-write/audit.jsonl");
        let err = log.append(&AuditRecord::new("a", "b", "c")).unwrap_err();
        assert!(err.to_string().contains("BERTH_AUDIT_LOG"));
    }
}
