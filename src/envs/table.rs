//! The environments side by side (pure): one row per workload, one cell per environment in
//! promotion order, and whether what they run differs.

use jiff::Timestamp;
use serde::Serialize;

use super::snapshot::{ContainerRun, EnvSnapshot, Reach, WorkloadRun};
use crate::cluster::model::WorkloadKind;
use crate::reference::short_digest;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row<'a> {
    pub kind: WorkloadKind,
    pub name: String,
    /// One per environment, in the snapshots' order (`None`: not there, or not reached).
    #[serde(skip)]
    pub cells: Vec<Option<&'a WorkloadRun>>,
    /// What runs is not the same everywhere it was read (or it is missing from an environment
    /// that was read).
    pub differs: bool,
}

/// What a container runs, for comparing environments: the pods' digests when they have
/// pulled, else the spec's pin, else the image as written.
fn runs(c: &ContainerRun) -> String {
    if !c.running.is_empty() {
        return c.running.join(",");
    }
    c.pinned.clone().unwrap_or_else(|| c.image.clone())
}

fn fingerprint(w: &WorkloadRun) -> Vec<(String, String)> {
    w.containers
        .iter()
        .map(|c| (c.name.clone(), runs(c)))
        .collect()
}

/// Workloads are the same across environments by kind and name (namespaces may differ).
pub fn rows(envs: &[EnvSnapshot]) -> Vec<Row<'_>> {
    let mut keys: Vec<(WorkloadKind, &str)> = envs
        .iter()
        .flat_map(|e| e.workloads.iter().map(|w| (w.kind, w.name.as_str())))
        .collect();
    keys.sort_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
    keys.dedup();
    keys.into_iter()
        .map(|(kind, name)| {
            let cells: Vec<Option<&WorkloadRun>> =
                envs.iter().map(|e| e.workload(kind, name)).collect();
            let mut seen = envs
                .iter()
                .zip(&cells)
                .filter(|(e, _)| e.reach == Reach::Live)
                .map(|(_, c)| c.map(fingerprint));
            let first = seen.next().flatten();
            let differs = seen.any(|c| c != first);
            Row {
                kind,
                name: name.to_owned(),
                cells,
                differs,
            }
        })
        .collect()
}

/// One cell: `1.0.27 @sha256:3f2a… r4 complete 2h` (the first container; `+N` more).
pub fn cell_text(w: &WorkloadRun, now: Timestamp) -> String {
    let Some(c) = w.containers.first() else {
        return format!("(no containers) {}", w.state);
    };
    let tag = c.tag.clone().unwrap_or_else(|| match &c.pinned {
        Some(_) => "@".to_owned(),
        None => "latest".to_owned(),
    });
    let digest = match c.running.as_slice() {
        [] => c.pinned.as_deref().map_or("(not pulled)".to_owned(), |d| {
            format!("{} (pin)", short_digest(d))
        }),
        [one] => short_digest(one),
        many => format!("{} digests", many.len()),
    };
    let more = match w.containers.len() {
        1 => String::new(),
        n => format!(" +{}", n - 1),
    };
    format!(
        "{tag} {digest} r{} {} {}{more}",
        w.revision.map_or("?".to_owned(), |r| r.to_string()),
        w.state,
        crate::app::view::age(now, w.since)
    )
}

/// The whole view as text: the environments and how they were reached, then the table.
pub fn render(envs: &[EnvSnapshot], now: Timestamp) -> Vec<String> {
    let mut out = Vec::new();
    let reach = |e: &EnvSnapshot| match &e.reach {
        Reach::Live => "live".to_owned(),
        Reach::Failed(why) => format!("FAILED: {why}"),
    };
    let head = [
        "ENVIRONMENT".to_owned(),
        "CONTEXT".to_owned(),
        "NAMESPACES".to_owned(),
        "STATE".to_owned(),
    ];
    let env_rows: Vec<[String; 4]> = envs
        .iter()
        .map(|e| {
            [
                e.name.clone(),
                e.context.clone(),
                e.namespaces.join(","),
                reach(e),
            ]
        })
        .collect();
    out.extend(columns(
        std::iter::once(head.to_vec()).chain(env_rows.into_iter().map(Vec::from)),
    ));
    out.push(String::new());
    let table = rows(envs);
    if table.is_empty() {
        out.push("no workloads in any environment read".to_owned());
        return out;
    }
    let mut lines = vec![
        std::iter::once("WORKLOAD".to_owned())
            .chain(envs.iter().map(|e| e.name.to_uppercase()))
            .chain(std::iter::once(String::new()))
            .collect::<Vec<_>>(),
    ];
    for r in &table {
        let label = format!("{}/{}", r.kind.short(), r.name);
        lines.push(
            std::iter::once(label)
                .chain(envs.iter().zip(&r.cells).map(|(e, c)| match (c, &e.reach) {
                    (Some(w), _) => cell_text(w, now),
                    (None, Reach::Live) => "-".to_owned(),
                    (None, Reach::Failed(_)) => "?".to_owned(),
                }))
                .chain(std::iter::once(
                    if r.differs { "differs" } else { "" }.to_owned(),
                ))
                .collect(),
        );
    }
    out.extend(columns(lines.into_iter()));
    out
}

/// Left-aligned columns two spaces apart, trailing space trimmed.
fn columns(rows: impl Iterator<Item = Vec<String>>) -> Vec<String> {
    let rows: Vec<Vec<String>> = rows.collect();
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (i, cell) in r.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < r.len() {
                    let pad = widths[i] - cell.chars().count() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            line.trim_end().to_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn run(name: &str, tag: &str, running: &[&str]) -> WorkloadRun {
        WorkloadRun {
            kind: WorkloadKind::Deployment,
            namespace: "ns".into(),
            name: name.into(),
            revision: Some(3),
            since: Some(Timestamp::from_second(1_000).unwrap()),
            state: "complete",
            detail: None,
            desired: 1,
            ready: 1,
            managed_by: None,
            containers: vec![ContainerRun {
                name: "app".into(),
                image: format!("reg.io/{name}:{tag}"),
                tag: Some(tag.into()),
                pinned: None,
                running: running.iter().map(|s| (*s).to_owned()).collect(),
            }],
        }
    }

    fn env(name: &str, reach: Reach, workloads: Vec<WorkloadRun>) -> EnvSnapshot {
        EnvSnapshot {
            name: name.into(),
            context: format!("ctx-{name}"),
            namespaces: vec![name.into()],
            reach,
            workloads,
        }
    }

    #[test]
    fn the_same_digest_under_other_tags_does_not_differ_and_another_digest_does() {
        let envs = vec![
            env(
                "dev",
                Reach::Live,
                vec![run("web", "1.0.28", &[D2]), run("api", "2", &[D1])],
            ),
            env(
                "staging",
                Reach::Live,
                vec![run("web", "staging", &[D2]), run("api", "2", &[D1])],
            ),
            env("prod", Reach::Live, vec![run("web", "prod", &[D1])]),
        ];
        let t = rows(&envs);
        let names: Vec<&str> = t.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["api", "web"]);
        // api is missing from prod, which was read: that differs.
        assert!(t[0].differs && t[0].cells[2].is_none());
        assert!(t[1].differs, "prod runs another digest");
        let same = vec![
            env("staging", Reach::Live, vec![run("web", "staging", &[D2])]),
            env("prod", Reach::Live, vec![run("web", "prod", &[D2])]),
        ];
        assert!(
            !rows(&same)[0].differs,
            "one digest under two tags is the same image"
        );
    }

    #[test]
    fn an_environment_not_reached_is_unknown_not_different() {
        let envs = vec![
            env("staging", Reach::Live, vec![run("web", "1", &[D1])]),
            env("prod", Reach::Failed("connection refused".into()), vec![]),
        ];
        let t = rows(&envs);
        assert!(!t[0].differs);
        let text = render(&envs, Timestamp::from_second(1_000 + 7200).unwrap()).join("\n");
        assert!(text.contains("FAILED: connection refused"), "{text}");
        assert!(
            text.contains("1 sha256:111111111111 r3 complete 2h"),
            "{text}"
        );
        let web = text.lines().find(|l| l.starts_with("deploy/web")).unwrap();
        assert!(web.trim_end().ends_with('?'), "{web}");
    }

    #[test]
    fn cells_say_what_is_not_pulled_pinned_or_mixed() {
        let now = Timestamp::from_second(1_030).unwrap();
        let mut w = run("web", "1", &[]);
        assert!(cell_text(&w, now).starts_with("1 (not pulled) r3"));
        w.containers[0].pinned = Some(D1.into());
        assert!(cell_text(&w, now).contains("sha256:111111111111 (pin)"));
        w.containers[0].running = vec![D1.into(), D2.into()];
        assert!(cell_text(&w, now).contains("2 digests"));
        assert!(cell_text(&w, now).ends_with("30s"));
    }
}
