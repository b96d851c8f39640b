//! Append-only JSONL record of every mutation berth makes (or dry-runs).
//!
//! No action without its record: before its first write to a cluster or registry, an action
//! writes an *intent* record (`"outcome": {"status": "pending"}`) naming who, what and old → new;
//! if that record cannot be written the action writes nothing and fails with "nothing was
//! changed". After the write comes the *result* record, with the same `id`. An action that
//! ends before any write (refused, failed while reading, nothing to change, a dry run) leaves one
//! record with its final outcome and no intent. [`audited`] is that sequence around an action's
//! body; every mutation of berth runs through it (the rotation, which mints credentials and then
//! writes many namespaces, uses its parts [`AuditLog::intent`] / [`Intent::finish`]).
//!
//! # Record format
//!
//! One JSON object per line:
//!
//! ```json
//! {"id":"1767225600123456789-4242-1","time":"2026-01-01T00:00:00.123Z","actor":"berth-admin",
//!  "action":"rollout.restart","target":"shop/api",
//!  "old":"kubectl.kubernetes.io/restartedAt=(never)","new":"kubectl.kubernetes.io/restartedAt=2026-01-01T00:00:00Z",
//!  "outcome":{"status":"pending"}}
//! {"id":"1767225600123456789-4242-1", ..., "outcome":{"status":"ok"}}
//! ```
//!
//! - `id`: ties an intent to its result (unique per host: clock, process id, counter);
//! - `time`: RFC 3339, when the record was written;
//! - `actor`: the kube identity or the registry identity that acted;
//! - `action`: `retag`, `rollout.restart`, `rollout.set-image`, `rollout.undo`, `rollout.pause`,
//!   `rollout.resume`, `secret.rotate`, `secret.attach`, `secret.invalidate-old-slot`;
//! - `target`: `namespace/name`, `registry/repo:tag`, ...;
//! - `old`, `new`: what changes (or would), `null` when not known;
//! - `outcome.status`: `pending` (intent: the write is about to happen), `ok`, `dry_run`,
//!   `refused` or `failed` (then `outcome.detail` says why).
//!
//! An intent without a result means berth stopped between the two (killed, or the result record
//! could not be written: the command then said "applied, but not audited"). Check the target.
//!
//! Each record is one `write` of one complete line to a file opened with `O_APPEND`, so writers
//! (tasks, several berth processes) never interleave. A process killed mid-write leaves at most
//! one torn line at the end; the next writer starts on a fresh line, and
//! [`AuditLog::read_records`] skips torn lines with a warning.
//!
//! Records hold names, images and digests only; callers must never put a secret in a field
//! (the [`crate::secret::Secret`] type has no `Serialize`, so it cannot slip in by accident).

use std::fs::OpenOptions;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// Exit status of a headless command refused because the audit log could not be written
/// (its intent record, or the record of a dry run): nothing was changed.
pub const EXIT_AUDIT_UNWRITABLE: u8 = 9;
/// Exit status of a headless command whose change was applied but whose result record could
/// not be written ("applied, but not audited"): check the change and the audit log.
pub const EXIT_NOT_AUDITED: u8 = 10;

/// The exit statuses above, for the `--help` of the commands that change something.
pub const EXIT_HELP: &str =
    "Audit log: every change is recorded in the audit log (general.audit_log \
in config.toml, or $BERTH_AUDIT_LOG) before it is made, and its result after.
Exit status 9: the audit log could not be written, so nothing was changed.
Exit status 10: applied, but not audited: the change was made, its result record could not be \
written; check the change, and make the audit log writable.";

/// Writing the log failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(
        "cannot write the audit log {path}: {source} (set `audit_log` in config.toml or BERTH_AUDIT_LOG to a writable file)"
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the audit log {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Why an action and its audit records did not go together.
#[derive(Debug, thiserror::Error)]
pub enum AuditFailure {
    /// The intent record (or the only record) could not be written, so the action wrote nothing.
    #[error("{source}; nothing was changed")]
    NothingChanged { source: AuditError },
    /// The action was applied; its result record could not be written.
    #[error(
        "applied, but not audited: {applied}; its result record could not be written: {source}; the audit log holds its intent record (id {id}) without a result: check the change, and make the audit log writable"
    )]
    NotAudited {
        /// What was applied (`rollout.restart shop/api: old → new`).
        applied: String,
        id: String,
        source: AuditError,
    },
}

impl AuditFailure {
    /// The exit status a headless command ends with ([`EXIT_AUDIT_UNWRITABLE`] /
    /// [`EXIT_NOT_AUDITED`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            AuditFailure::NothingChanged { .. } => EXIT_AUDIT_UNWRITABLE,
            AuditFailure::NotAudited { .. } => EXIT_NOT_AUDITED,
        }
    }

    /// A stable short code for `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            AuditFailure::NothingChanged { .. } => "audit_unwritable",
            AuditFailure::NotAudited { .. } => "not_audited",
        }
    }

    /// Whether the action's change was made (and must stay in view until someone checks it).
    pub fn applied(&self) -> bool {
        matches!(self, AuditFailure::NotAudited { .. })
    }
}

/// The outcome of an audited action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum Outcome {
    /// Intent: the write is about to happen; its result follows with the same id.
    Pending,
    Ok,
    DryRun,
    Refused(String),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Ties an intent record to its result record (records of older berths have none).
    #[serde(default)]
    pub id: String,
    /// RFC 3339 time the record was written.
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

/// A fresh record id: unique per host (clock, process, counter), sortable by time per process.
fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    let nanos = jiff::Timestamp::now().as_nanosecond();
    format!("{nanos}-{}-{n}", std::process::id())
}

impl AuditRecord {
    pub fn new(actor: &str, action: &str, target: &str) -> Self {
        Self {
            id: new_id(),
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

    /// `action target: old → new`, for messages.
    pub fn describe(&self) -> String {
        let mut s = format!("{} {}", self.action, self.target);
        match (&self.old, &self.new) {
            (None, None) => {}
            (old, new) => s.push_str(&format!(
                ": {} → {}",
                old.as_deref().unwrap_or("-"),
                new.as_deref().unwrap_or("-")
            )),
        }
        s
    }
}

/// Where the audit file lives; cheap to clone and pass to tasks.
#[derive(Clone, Debug)]
pub struct AuditLog {
    path: PathBuf,
}

/// What [`AuditLog::read_records`] found.
#[derive(Clone, Debug, Default)]
pub struct AuditRecords {
    pub records: Vec<AuditRecord>,
    /// Lines that are not records (a torn last line of a killed writer): line number, why.
    pub skipped: Vec<(usize, String)>,
}

impl AuditRecords {
    /// The records that end an action: results and single records (no intents).
    pub fn finished(&self) -> Vec<&AuditRecord> {
        self.records
            .iter()
            .filter(|r| r.outcome != Outcome::Pending)
            .collect()
    }

    /// Intents with no result (yet): the action may have been applied without its record.
    pub fn unfinished(&self) -> Vec<&AuditRecord> {
        self.records
            .iter()
            .filter(|r| {
                r.outcome == Outcome::Pending
                    && !self
                        .records
                        .iter()
                        .any(|x| x.id == r.id && x.outcome != Outcome::Pending)
            })
            .collect()
    }

    /// The intent record written for `result` (same id), if there is one.
    pub fn intent_of(&self, result: &AuditRecord) -> Option<&AuditRecord> {
        self.records
            .iter()
            .find(|r| r.id == result.id && r.outcome == Outcome::Pending)
    }
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

    /// Appends one record as one line: one `write` of one buffer on a file opened with
    /// `O_APPEND`, so concurrent writers (tasks, several berth processes) do not interleave.
    /// After a torn last line (a writer killed mid-write, a full disk) the line starts with a
    /// newline, so the torn one stays alone and the reader skips just that one.
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
            .read(true)
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(err)?;
        if ends_torn(&file) {
            line.insert(0, '\n');
        }
        file.write_all(line.as_bytes()).map_err(err)
    }

    /// Writes the intent record of an action about to write (`record`'s outcome becomes
    /// `pending`). Only when this succeeded may the action write.
    pub fn intent(&self, record: AuditRecord) -> Result<Intent, AuditFailure> {
        let record = record.outcome(Outcome::Pending);
        self.append(&record)
            .map_err(|source| AuditFailure::NothingChanged { source })?;
        Ok(Intent {
            log: self.clone(),
            record,
        })
    }

    /// All records, oldest first. Lines that are not records (a torn last line) are skipped
    /// with a warning (logged, and listed in `skipped`). A missing file holds no records.
    pub fn read_records(&self) -> Result<AuditRecords, AuditError> {
        let text = match std::fs::read(&self.path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(AuditError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let mut out = AuditRecords::default();
        let complete = text.ends_with('\n');
        let lines: Vec<&str> = text.split('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let last = i + 1 == lines.len();
            match serde_json::from_str::<AuditRecord>(line) {
                Ok(r) if !last || complete => out.records.push(r),
                Ok(_) => out
                    .skipped
                    .push((i + 1, "no end of line (torn)".to_owned())),
                Err(e) => out.skipped.push((i + 1, e.to_string())),
            }
        }
        for (n, why) in &out.skipped {
            tracing::warn!(
                path = %self.path.display(),
                "audit log line {n} is not a complete record and is skipped (a writer was stopped mid-write?): {why}"
            );
        }
        Ok(out)
    }
}

/// Whether the file has bytes after its last newline.
fn ends_torn(file: &std::fs::File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        let Ok(meta) = file.metadata() else {
            return false;
        };
        if !meta.is_file() || meta.len() == 0 {
            return false;
        }
        let mut last = [0u8; 1];
        matches!(file.read_at(&mut last, meta.len() - 1), Ok(1) if last[0] != b'\n')
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        false
    }
}

/// An action announced in the log, waiting for its result record.
#[derive(Debug)]
#[must_use = "an intent needs its result record"]
pub struct Intent {
    log: AuditLog,
    record: AuditRecord,
}

impl Intent {
    pub fn id(&self) -> &str {
        &self.record.id
    }

    pub fn record(&self) -> &AuditRecord {
        &self.record
    }

    /// Writes the result record (same id, same old → new).
    pub fn finish(self, outcome: Outcome) -> Result<(), AuditFailure> {
        let (old, new) = (self.record.old.clone(), self.record.new.clone());
        self.finish_change(old, new, outcome)
    }

    /// Writes the result record with what the action found out meanwhile as old → new.
    /// When the action was applied (`Ok`) and the record cannot be written, that is
    /// [`AuditFailure::NotAudited`]; after a failed action the failure is only logged (the
    /// caller reports the action's own error, and nothing or part of it was applied).
    pub fn finish_change(
        self,
        old: Option<String>,
        new: Option<String>,
        outcome: Outcome,
    ) -> Result<(), AuditFailure> {
        let ok = outcome == Outcome::Ok;
        let result = AuditRecord {
            time: jiff::Timestamp::now().to_string(),
            ..self.record.clone()
        }
        .change(old, new)
        .outcome(outcome);
        match self.log.append(&result) {
            Ok(()) => Ok(()),
            Err(source) if ok => Err(AuditFailure::NotAudited {
                applied: result.describe(),
                id: result.id,
                source,
            }),
            Err(source) => {
                tracing::error!(
                    id = %result.id,
                    "the result record of a failed {} could not be written: {source}",
                    result.describe()
                );
                Ok(())
            }
        }
    }
}

/// Who does what, for [`audited`].
#[derive(Clone, Debug)]
pub struct Subject {
    pub actor: String,
    pub action: String,
    pub target: String,
    /// A dry run writes nothing (the apiserver's `dryRun=All`): it gets one `dry_run` record.
    pub dry_run: bool,
}

impl Subject {
    pub fn new(actor: &str, action: &str, target: &str, dry_run: bool) -> Self {
        Self {
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            dry_run,
        }
    }
}

/// An error of an audited action: how it is recorded, and how an audit failure becomes one.
pub trait AuditedError: From<AuditFailure> + std::fmt::Display {
    /// `Refused` for refusals (permissions, overwrite rules), else `Failed`.
    fn audit_outcome(&self) -> Outcome {
        Outcome::Failed(self.to_string())
    }
}

#[derive(Debug, Default)]
struct GateState {
    old: Option<String>,
    new: Option<String>,
    intent: Option<Intent>,
    /// The intent could not be written: the action stopped before its write.
    refused: bool,
}

/// An action's body gets a gate: it names old → new with [`Gate::plan`] as soon as it knows
/// them, and calls [`Gate::open`] right before its first write. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Gate {
    log: AuditLog,
    subject: Arc<Subject>,
    state: Arc<Mutex<GateState>>,
}

impl Gate {
    fn new(log: &AuditLog, subject: Subject) -> Self {
        Self {
            log: log.clone(),
            subject: Arc::new(subject),
            state: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn dry_run(&self) -> bool {
        self.subject.dry_run
    }

    /// Old → new as far as known (recorded whatever the outcome).
    pub fn plan(&self, old: Option<String>, new: Option<String>) {
        let mut s = self.lock();
        s.old = old;
        s.new = new;
    }

    /// Writes the intent record before the first write (once; later calls do nothing). In a
    /// dry run nothing is written here. An error means: do not write, nothing was changed.
    pub fn open(&self) -> Result<(), AuditFailure> {
        let mut s = self.lock();
        if self.subject.dry_run || s.intent.is_some() {
            return Ok(());
        }
        let record = AuditRecord::new(
            &self.subject.actor,
            &self.subject.action,
            &self.subject.target,
        )
        .change(s.old.clone(), s.new.clone());
        match self.log.intent(record) {
            Ok(i) => {
                s.intent = Some(i);
                Ok(())
            }
            Err(e) => {
                s.refused = true;
                Err(e)
            }
        }
    }

    /// [`Gate::plan`], then [`Gate::open`].
    pub fn open_with(&self, old: Option<String>, new: Option<String>) -> Result<(), AuditFailure> {
        self.plan(old, new);
        self.open()
    }
}

/// Runs an action: its body gets a [`Gate`] to open right before its first write (which writes
/// the intent record, or refuses the write), and after the body the result record is written
/// with the same id — or, when the body never opened the gate (refused, failed before writing,
/// nothing to change, a dry run), one record with the outcome. The one definition of "the audit
/// record" of every berth mutation.
///
/// Errors: the body's own; [`AuditFailure::NothingChanged`] when the intent (or the only record
/// of an action that changed nothing) could not be written; [`AuditFailure::NotAudited`] when
/// the action was applied and its result record could not be written.
pub async fn audited<T, E, F, Fut>(log: &AuditLog, subject: Subject, body: F) -> Result<T, E>
where
    E: AuditedError,
    F: FnOnce(Gate) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let gate = Gate::new(log, subject);
    let result = body(gate.clone()).await;
    let (intent, old, new, refused) = {
        let mut s = gate.lock();
        (s.intent.take(), s.old.clone(), s.new.clone(), s.refused)
    };
    let outcome = match &result {
        Ok(_) if gate.dry_run() => Outcome::DryRun,
        Ok(_) => Outcome::Ok,
        Err(e) => e.audit_outcome(),
    };
    if let Some(intent) = intent {
        intent.finish_change(old, new, outcome)?;
        return result;
    }
    if refused {
        // The log could not take the intent: the body's error says so; nothing more to write.
        return result;
    }
    let s = &gate.subject;
    let record = AuditRecord::new(&s.actor, &s.action, &s.target)
        .change(old, new)
        .outcome(outcome);
    match log.append(&record) {
        Ok(()) => result,
        // Nothing was written to the cluster or registry; say that the log is unwritable.
        Err(source) if result.is_ok() => Err(AuditFailure::NothingChanged { source }.into()),
        Err(source) => {
            tracing::error!(
                "the record of {} could not be written: {source}",
                record.describe()
            );
            result
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum TestError {
        #[error("refused: no")]
        No,
        #[error("broke")]
        Broke,
        #[error(transparent)]
        Audit(#[from] AuditFailure),
    }

    impl AuditedError for TestError {
        fn audit_outcome(&self) -> Outcome {
            match self {
                TestError::No => Outcome::Refused(self.to_string()),
                _ => Outcome::Failed(self.to_string()),
            }
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn subject(dry_run: bool) -> Subject {
        Subject::new("admin", "rollout.restart", "shop/api", dry_run)
    }

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
        assert!(!lines[0]["id"].as_str().unwrap().is_empty());
    }

    #[test]
    fn intent_then_result_with_one_id() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        let seen_before_write = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&seen_before_write);
        let r: Result<u32, TestError> = block_on(audited(&log, subject(false), |gate| {
            let log = log.clone();
            async move {
                gate.open_with(Some("a".into()), Some("b".into()))?;
                // "The write": the intent is already on disk.
                *seen.lock().unwrap() = log.read_records().unwrap().records;
                Ok(7)
            }
        }));
        assert_eq!(r.unwrap(), 7);
        let before = seen_before_write.lock().unwrap().clone();
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].outcome, Outcome::Pending);
        assert_eq!(
            (before[0].old.as_deref(), before[0].new.as_deref()),
            (Some("a"), Some("b"))
        );
        let all = log.read_records().unwrap();
        assert_eq!(all.records.len(), 2, "{:?}", all.records);
        let (intent, result) = (&all.records[0], &all.records[1]);
        assert_eq!(intent.outcome, Outcome::Pending);
        assert_eq!(result.outcome, Outcome::Ok);
        assert_eq!(intent.id, result.id);
        assert_eq!(all.intent_of(result), Some(intent));
        assert_eq!(result.new.as_deref(), Some("b"));
        assert!(all.unfinished().is_empty());
        assert!(all.skipped.is_empty());
    }

    #[test]
    fn a_failed_write_after_the_intent_is_its_result() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        let r: Result<(), TestError> = block_on(audited(&log, subject(false), |gate| async move {
            gate.open_with(None, Some("b".into()))?;
            Err(TestError::Broke)
        }));
        assert!(matches!(r, Err(TestError::Broke)));
        let all = log.read_records().unwrap();
        assert_eq!(all.records.len(), 2);
        assert_eq!(all.records[0].id, all.records[1].id);
        assert_eq!(all.records[1].outcome, Outcome::Failed("broke".into()));
    }

    #[test]
    fn no_write_no_intent_one_record() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        let r: Result<(), TestError> = block_on(audited(&log, subject(false), |gate| async move {
            gate.plan(Some("a".into()), None);
            Err(TestError::No)
        }));
        assert!(matches!(r, Err(TestError::No)));
        // A dry run opens the gate but writes no intent: one dry_run record.
        let r: Result<(), TestError> = block_on(audited(&log, subject(true), |gate| async move {
            gate.open_with(Some("a".into()), Some("b".into()))?;
            Ok(())
        }));
        r.unwrap();
        let all = log.read_records().unwrap();
        let outcomes: Vec<&Outcome> = all.records.iter().map(|r| &r.outcome).collect();
        assert_eq!(
            outcomes,
            [&Outcome::Refused("refused: no".into()), &Outcome::DryRun]
        );
        assert_eq!(all.records[0].old.as_deref(), Some("a"));
        assert_ne!(all.records[0].id, all.records[1].id);
    }

    #[test]
    fn unwritable_path_refuses_before_the_write() {
        for path in ["/proc/berth-cannot-write/audit.jsonl", "/dev/full"] {
            let log = AuditLog::new(path);
            let err = log.append(&AuditRecord::new("a", "b", "c")).unwrap_err();
            assert!(err.to_string().contains("BERTH_AUDIT_LOG"), "{err}");
            let wrote = Arc::new(Mutex::new(false));
            let w = Arc::clone(&wrote);
            let r: Result<(), TestError> =
                block_on(audited(&log, subject(false), |gate| async move {
                    gate.open_with(None, Some("b".into()))?;
                    *w.lock().unwrap() = true;
                    Ok(())
                }));
            let Err(TestError::Audit(f)) = r else {
                panic!("{path}: {r:?}");
            };
            assert!(!*wrote.lock().unwrap(), "{path}: the action wrote");
            assert_eq!(f.exit_code(), EXIT_AUDIT_UNWRITABLE);
            let msg = f.to_string();
            assert!(msg.ends_with("nothing was changed"), "{msg}");
            if path == "/dev/full" {
                assert!(msg.contains("No space left on device"), "{msg}");
            }
        }
    }

    #[test]
    fn a_result_that_cannot_be_written_after_an_applied_change_is_not_audited() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::new(&path);
        let p = path.clone();
        let r: Result<(), TestError> = block_on(audited(&log, subject(false), |gate| async move {
            gate.open_with(Some("a".into()), Some("b".into()))?;
            // The write happens; then the log goes away (a directory where the file was).
            std::fs::remove_file(&p).unwrap();
            std::fs::create_dir(&p).unwrap();
            Ok(())
        }));
        let Err(TestError::Audit(f)) = r else {
            panic!("{r:?}");
        };
        assert_eq!(f.exit_code(), EXIT_NOT_AUDITED);
        assert!(f.applied());
        let msg = f.to_string();
        assert!(
            msg.starts_with("applied, but not audited: rollout.restart shop/api: a → b"),
            "{msg}"
        );
    }

    #[test]
    fn torn_last_line_is_skipped_with_a_warning_and_the_next_record_starts_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        let first = AuditRecord::new("admin", "retag", "acr/web:1");
        log.append(&first).unwrap();
        // A writer killed mid-line.
        let full = serde_json::to_string(&AuditRecord::new("admin", "retag", "acr/web:2")).unwrap();
        let mut f = OpenOptions::new().append(true).open(log.path()).unwrap();
        f.write_all(&full.as_bytes()[..full.len() / 2]).unwrap();
        drop(f);
        let read = log.read_records().unwrap();
        assert_eq!(read.records, vec![first.clone()]);
        assert_eq!(read.skipped.len(), 1, "{:?}", read.skipped);
        assert_eq!(read.skipped[0].0, 2);
        // The next record starts on a line of its own: only the torn one is lost.
        let third = AuditRecord::new("admin", "retag", "acr/web:3");
        log.append(&third).unwrap();
        let read = log.read_records().unwrap();
        assert_eq!(read.records, vec![first, third]);
        assert_eq!(read.skipped.len(), 1);
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
    }

    #[test]
    fn a_complete_json_line_without_its_newline_is_torn() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        let rec = AuditRecord::new("admin", "retag", "acr/web:1");
        std::fs::write(log.path(), serde_json::to_string(&rec).unwrap()).unwrap();
        let read = log.read_records().unwrap();
        assert!(read.records.is_empty());
        assert_eq!(read.skipped.len(), 1);
        // Records of older berths (no id) still read.
        std::fs::write(
            log.path(),
            "{\"time\":\"t\",\"actor\":\"a\",\"action\":\"retag\",\"target\":\"x\",\"old\":null,\"new\":null,\"outcome\":{\"status\":\"ok\"}}\n",
        )
        .unwrap();
        let read = log.read_records().unwrap();
        assert_eq!(read.records.len(), 1);
        assert_eq!(read.records[0].id, "");
    }
}
