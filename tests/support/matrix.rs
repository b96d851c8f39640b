//! One row of the fault matrix (issue 15 §3), written by every test that injects a fault: with
//! `BERTH_FAULT_MATRIX_OUT=FILE` each row is appended as a JSON line, which
//! `scripts/bench/faults` prints as a table.
//!
//! tests/fault_matrix.rs has most rows; tests that need another file's helpers (the registry
//! client's Entra refresh in tests/registry_auth.rs) include this file by path.

use std::io::Write as _;
use std::time::Duration;

use serde_json::json;

/// One row of the matrix.
pub struct Row {
    pub fault: &'static str,
    pub action: &'static str,
    /// How long until berth said what was wrong (or, when it recovered by itself, `None`).
    pub noticed: Option<Duration>,
    /// How long until the action worked again, counted from the fault.
    pub recovered: Duration,
    /// What berth said, in short.
    pub said: String,
    pub lost: &'static str,
}

pub fn record(row: &Row) {
    let ms = |d: Duration| d.as_millis() as u64;
    let line = json!({
        "fault": row.fault,
        "action": row.action,
        "noticed_ms": row.noticed.map(ms),
        "recovered_ms": ms(row.recovered),
        "said": row.said,
        "lost": row.lost,
    });
    eprintln!("fault matrix: {line}");
    if let Ok(path) = std::env::var("BERTH_FAULT_MATRIX_OUT") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("matrix file");
        writeln!(f, "{line}").expect("write the matrix row");
    }
}
