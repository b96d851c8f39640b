//! Diagnoses as text for people (cause first, then evidence, then the fix as a command) and as
//! JSON for scripts.

use std::fmt::Write as _;

use serde::Serialize;

use super::Diagnosis;

/// Text for one diagnosis. The first line alone says what is wrong.
pub fn text(d: &Diagnosis) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", d.headline);
    let _ = writeln!(
        s,
        "  pod {}/{}, container {}, image {}",
        d.namespace, d.pod, d.container, d.image
    );
    let _ = writeln!(s, "\nEvidence:");
    for line in d.evidence.iter().filter(|l| !l.supporting) {
        let mark = if line.ok { "ok " } else { "!! " };
        let _ = writeln!(s, "  {mark}{:<12} {}", line.topic.label(), line.text);
    }
    let support: Vec<_> = d.evidence.iter().filter(|l| l.supporting).collect();
    if !support.is_empty() {
        let _ = writeln!(s, "\nThe node reports (supporting only):");
        for line in support {
            let _ = writeln!(s, "  {}", line.text);
        }
    }
    if d.fixes.is_empty() {
        let _ = writeln!(s, "\nFix: nothing berth can run; see the evidence above.");
    }
    for (i, fix) in d.fixes.iter().enumerate() {
        let head = if i == 0 { "Fix" } else { "Or" };
        let _ = writeln!(s, "\n{head}: {}", fix.title);
        for c in fix.commands() {
            let _ = writeln!(s, "  $ {c}");
        }
        if let Some(n) = &fix.note {
            let _ = writeln!(s, "  ({n})");
        }
    }
    s
}

/// The `--json` document.
#[derive(Serialize)]
pub struct Report<'a> {
    /// `true` when no container in scope has a failing pull.
    pub ok: bool,
    pub diagnoses: &'a [Diagnosis],
}

pub fn json(diagnoses: &[Diagnosis]) -> String {
    let report = Report {
        ok: diagnoses.is_empty(),
        diagnoses,
    };
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| {
        format!("{{\"ok\":false,\"error\":\"cannot serialise the diagnosis: {e}\"}}")
    })
}
