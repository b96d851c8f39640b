//! Container logs: one stream per container instance (kube's `log_stream`, following), read
//! line by line with every line capped, and the headless `berth logs`.
//!
//! The dashboard's logs view (`app::logs`, `live::logs`) and `berth logs` open streams the
//! same way ([`open`], [`read_lines`]); `berth logs` follows a workload's new pods with a
//! watch on its pods, the dashboard with the pods its cluster model already watches.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Duration;

use clap::Args;
use futures::io::AsyncBufReadExt;
use futures::{AsyncBufRead, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::watcher;

use super::cli::{EXIT_FAILED, EXIT_INVALID, EXIT_OK, WorkloadKind};
use super::connect;
use super::model::PodRow;
use crate::app::logs::{LINE_CAP, LogRange, StreamKey, StreamOptions, StreamSpec, plan_streams};

/// No such pod or workload, or no such container in it: bad input, as `rollout` says it.
pub const EXIT_NOT_FOUND: i32 = EXIT_INVALID;
/// The apiserver (or kubelet through it) refused a log: no previous container, a container
/// that has not started.
pub const EXIT_NO_LOG: i32 = 5;
/// The cluster could not be reached or read.
pub const EXIT_UNREACHABLE: i32 = 8;

pub const EXIT_HELP: &str = "Exit status: 0 the logs were printed (with -f on a pod: its \
containers stopped; on a workload -f follows until interrupted), 1 a stream failed after it started, 2 bad input: also no such pod, workload or \
container in the namespace (the message lists what there is), 5 the \
apiserver has no such log (--previous of a container that never restarted, a container still \
waiting to start: its words are quoted), 8 the cluster could not be reached or read.";

/// Why a stream could not be opened, in the apiserver's (or kubelet's) words.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Refused(String),
    #[error("the apiserver could not be reached: {0}")]
    Unreachable(String),
}

fn params(spec: &StreamSpec, timestamps: bool) -> LogParams {
    LogParams {
        container: Some(spec.key.container.clone()),
        follow: spec.follow,
        previous: spec.previous,
        since_seconds: spec.since_seconds,
        tail_lines: spec.tail_lines,
        timestamps,
        ..Default::default()
    }
}

/// Open one container's log. `timestamps`: the apiserver stamps every line (the dashboard
/// always asks, so that its toggle needs no new stream).
pub async fn open(
    client: &kube::Client,
    spec: &StreamSpec,
    timestamps: bool,
) -> Result<impl AsyncBufRead + Unpin + use<>, OpenError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &spec.namespace);
    match pods
        .log_stream(&spec.key.pod, &params(spec, timestamps))
        .await
    {
        Ok(r) => Ok(Box::pin(r)),
        Err(kube::Error::Api(s)) => Err(OpenError::Refused(s.message.clone())),
        Err(e) => Err(OpenError::Unreachable(e.to_string())),
    }
}

/// Reads a log line by line, each line capped at [`LINE_CAP`] bytes: the rest of an over-long
/// line is skipped as it arrives, never buffered.
pub struct CappedLines<R> {
    r: R,
    buf: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> CappedLines<R> {
    pub fn new(r: R) -> Self {
        Self {
            r,
            buf: Vec::with_capacity(256),
        }
    }

    /// The next line: `Some(cut)` with the line (no newline) in [`Self::line`] and the count
    /// of bytes skipped after its first [`LINE_CAP`]; `None` at the end of the log.
    pub async fn next(&mut self) -> std::io::Result<Option<usize>> {
        self.buf.clear();
        let mut cut = 0usize;
        loop {
            let chunk = self.r.fill_buf().await?;
            if chunk.is_empty() {
                return Ok((!self.buf.is_empty() || cut > 0).then_some(cut));
            }
            let (used, end) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let data = &chunk[..if end { used - 1 } else { used }];
            let keep = data.len().min(LINE_CAP.saturating_sub(self.buf.len()));
            self.buf.extend_from_slice(&data[..keep]);
            cut += data.len() - keep;
            self.r.consume_unpin(used);
            if end {
                return Ok(Some(cut));
            }
        }
    }

    pub fn line(&self) -> &[u8] {
        &self.buf
    }
}

// ---------------------------------------------------------------------------------------------
// berth logs

#[derive(Args, Debug, Clone)]
pub struct LogsArgs {
    /// From berth's top-level `--kubeconfig` / config.toml.
    #[arg(skip)]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// From berth's top-level `--context` / config.toml.
    #[arg(skip)]
    pub context: Option<String>,
    /// Namespace (default: the context's namespace, else `default`)
    #[arg(short = 'n', long, value_parser = super::cli::parse_namespace)]
    pub namespace: Option<String>,
    /// A pod (`NAME`, `pod/NAME`) or a workload (`deploy/NAME`, `sts/NAME`, `ds/NAME`; a plain
    /// NAME that is no pod is looked up as a Deployment, StatefulSet, DaemonSet). A workload's
    /// pods are interleaved, each line prefixed with `pod/container`.
    #[arg(value_name = "WORKLOAD|POD")]
    pub target: String,
    /// Only this container (default: every container; a pod with one container needs none)
    #[arg(short = 'c', long, value_name = "CONTAINER")]
    pub container: Option<String>,
    /// Follow: keep printing new lines; a workload's new pods (a rollout) join
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// The previous instance of the container (the one that crashed, in a crash loop)
    #[arg(short = 'p', long)]
    pub previous: bool,
    /// Only lines newer than this: 30s, 5m, 2h, 1h30m
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub since: Option<i64>,
    /// Only the last N lines of each container
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub tail: Option<i64>,
    /// Start each line with the apiserver's RFC 3339 timestamp
    #[arg(long)]
    pub timestamps: bool,
}

/// `30s`, `5m`, `2h`, `1h30m` → seconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "{s:?} is not a duration: write a number with a unit, like 30s, 5m, 2h or 1h30m \
             (units: s, m, h)"
        )
    };
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        let n: i64 = num.parse().map_err(|_| bad())?;
        total = total
            .checked_add(n.checked_mul(unit).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        num.clear();
    }
    if !num.is_empty() {
        return Err(bad());
    }
    if total == 0 {
        return Err(format!(
            "{s:?} is no time at all: --since needs more than 0 seconds"
        ));
    }
    Ok(total)
}

/// What `berth logs` reads: one pod, or the pods of a workload (by its selector).
#[derive(Debug)]
enum Resolved {
    Pod(Box<Pod>),
    Workload {
        label: String,
        selector: String,
        containers: Vec<String>,
    },
}

fn known(names: Vec<String>) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        let n = names.len();
        let mut v: Vec<String> = names.into_iter().take(8).collect();
        if n > 8 {
            v.push(format!("… {} more", n - 8));
        }
        v.join(", ")
    }
}

/// A workload's selector (as a label selector string) and its pod template's containers, or
/// `None` when no workload of kind `K` has that name.
async fn template_of<K>(
    client: &kube::Client,
    ns: &str,
    name: &str,
    parts: fn(
        K,
    ) -> Option<(
        k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
        k8s_openapi::api::core::v1::PodTemplateSpec,
    )>,
) -> Result<Option<(String, Vec<String>)>, kube::Error>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    Ok(Api::<K>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await?
        .and_then(parts)
        .map(|(selector, template)| {
            (
                selector_of(&selector),
                containers_of(template.spec.as_ref()),
            )
        }))
}

fn selector_of(sel: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector) -> String {
    let mut parts: Vec<String> = sel
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in sel.match_expressions.iter().flatten() {
        let values = e.values.clone().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            _ => format!("!{}", e.key),
        });
    }
    parts.join(",")
}

fn containers_of(spec: Option<&k8s_openapi::api::core::v1::PodSpec>) -> Vec<String> {
    spec.map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default()
}

type Failure = (i32, String);

async fn resolve(client: &kube::Client, ns: &str, target: &str) -> Result<Resolved, Failure> {
    let read = |e: kube::Error| {
        (
            EXIT_UNREACHABLE,
            format!("could not read namespace {ns}: {e}"),
        )
    };
    let (kind, name) = match target.split_once('/') {
        Some((t, n)) if matches!(t.to_ascii_lowercase().as_str(), "pod" | "pods" | "po") => {
            (None, n)
        }
        Some(_) => {
            let w = super::cli::parse_workload(target).map_err(|e| (EXIT_INVALID, e))?;
            (
                Some(Some(w.kind)),
                target.split_once('/').map_or(target, |p| p.1),
            )
        }
        None => (Some(None), target),
    };
    if name.is_empty() {
        return Err((
            EXIT_INVALID,
            format!("{target:?} names nothing: write POD, pod/POD or TYPE/NAME"),
        ));
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    if kind.is_none() || kind == Some(None) {
        match pods.get_opt(name).await.map_err(read)? {
            Some(p) => return Ok(Resolved::Pod(Box::new(p))),
            None if kind.is_none() => {
                let names = pods.list(&ListParams::default()).await.map_err(read)?;
                let names = names
                    .items
                    .iter()
                    .filter_map(|p| p.metadata.name.clone())
                    .collect();
                return Err((
                    EXIT_NOT_FOUND,
                    format!(
                        "no pod {name:?} in namespace {ns} (pods there: {})",
                        known(names)
                    ),
                ));
            }
            None => {}
        }
    }
    let kinds = match kind {
        Some(Some(k)) => vec![k],
        _ => vec![
            WorkloadKind::Deployment,
            WorkloadKind::StatefulSet,
            WorkloadKind::DaemonSet,
        ],
    };
    for k in &kinds {
        let found = match k {
            WorkloadKind::Deployment => {
                template_of::<Deployment>(client, ns, name, |d| {
                    d.spec.map(|s| (s.selector, s.template))
                })
                .await
            }
            WorkloadKind::StatefulSet => {
                template_of::<StatefulSet>(client, ns, name, |d| {
                    d.spec.map(|s| (s.selector, s.template))
                })
                .await
            }
            WorkloadKind::DaemonSet => {
                template_of::<DaemonSet>(client, ns, name, |d| {
                    d.spec.map(|s| (s.selector, s.template))
                })
                .await
            }
        }
        .map_err(read)?;
        if let Some((selector, containers)) = found {
            return Ok(Resolved::Workload {
                label: format!("{}/{name}", k.short()),
                selector,
                containers,
            });
        }
    }
    let what = match kind {
        Some(Some(k)) => k.noun().to_owned(),
        _ => "pod, deployment, statefulset or daemonset".to_owned(),
    };
    let deployments = Api::<Deployment>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .map_err(read)?
        .items
        .iter()
        .filter_map(|d| d.metadata.name.clone())
        .collect();
    let pod_names = if kind == Some(None) {
        let l = pods.list(&ListParams::default()).await.map_err(read)?;
        format!(
            "; pods: {}",
            known(
                l.items
                    .iter()
                    .filter_map(|p| p.metadata.name.clone())
                    .collect()
            )
        )
    } else {
        String::new()
    };
    Err((
        EXIT_NOT_FOUND,
        format!(
            "no {what} {name:?} in namespace {ns} (deployments there: {}{pod_names})",
            known(deployments)
        ),
    ))
}

/// The headless command. Prints to stdout, errors to stderr; returns the exit status.
pub async fn run(args: LogsArgs) -> i32 {
    let target = match connect::connect(args.kubeconfig.as_deref(), args.context.as_deref()).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("berth logs: {e}");
            return EXIT_UNREACHABLE;
        }
    };
    let ns = args
        .namespace
        .clone()
        .unwrap_or_else(|| target.default_namespace.clone());
    match run_in(&target.client, &ns, &args).await {
        Ok(code) => code,
        Err((code, msg)) => {
            eprintln!("berth logs: {msg}");
            code
        }
    }
}

async fn run_in(client: &kube::Client, ns: &str, args: &LogsArgs) -> Result<i32, Failure> {
    if let Some(n) = args.tail
        && n < 0
    {
        return Err((
            EXIT_INVALID,
            format!("--tail {n}: write a number of lines, 0 or more"),
        ));
    }
    let resolved = resolve(client, ns, &args.target).await?;
    let containers = match &resolved {
        Resolved::Pod(p) => containers_of(p.spec.as_ref()),
        Resolved::Workload { containers, .. } => containers.clone(),
    };
    if let Some(c) = &args.container
        && !containers.contains(c)
    {
        let what = match &resolved {
            Resolved::Pod(p) => format!("pod {}", p.metadata.name.clone().unwrap_or_default()),
            Resolved::Workload { label, .. } => label.clone(),
        };
        return Err((
            EXIT_NOT_FOUND,
            format!(
                "no container {c:?} in {what} (its containers: {})",
                known(containers)
            ),
        ));
    }
    let opts = StreamOptions {
        container: args.container.clone(),
        previous: args.previous,
        follow: args.follow,
        range: match (args.since, args.tail) {
            (Some(s), _) => LogRange::SinceSeconds(s),
            (None, Some(n)) => LogRange::Tail(n),
            (None, None) => LogRange::All,
        },
    };
    // With both, kubectl applies both: the tail of what is newer than --since.
    let tail_too = args.since.and(args.tail);
    let prefixed = matches!(resolved, Resolved::Workload { .. })
        || (args.container.is_none() && containers.len() > 1);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Printed>(1024);
    let printer = tokio::spawn(async move {
        let mut out = std::io::BufWriter::new(std::io::stdout());
        let mut failed = false;
        // A closed stdout (`| head`) ends the printing; nothing to report then.
        while let Some(p) = rx.recv().await {
            match p {
                Printed::Line(l) => {
                    if out
                        .write_all(&l)
                        .and_then(|()| out.write_all(b"\n"))
                        .is_err()
                    {
                        break;
                    }
                    if rx.is_empty() && out.flush().is_err() {
                        break;
                    }
                }
                Printed::Failed => failed = true,
            }
        }
        let _ = out.flush();
        failed
    });
    let mut open: BTreeSet<StreamKey> = BTreeSet::new();
    let mut tasks = tokio::task::JoinSet::new();
    let single = matches!(resolved, Resolved::Pod(_));
    let start = |specs: Vec<StreamSpec>,
                 tasks: &mut tokio::task::JoinSet<Result<(), Failure>>,
                 open: &mut BTreeSet<StreamKey>| {
        for mut spec in specs {
            if let Some(n) = tail_too {
                spec.tail_lines = Some(n);
            }
            open.insert(spec.key.clone());
            let client = client.clone();
            let tx = tx.clone();
            let timestamps = args.timestamps;
            tasks.spawn(async move { stream_to(client, spec, timestamps, prefixed, tx).await });
        }
    };
    let mut code = EXIT_OK;
    match resolved {
        Resolved::Pod(p) => {
            let row = super::convert::pod_row(&p);
            let (specs, _) = plan_streams(ns, 0, [&row], &opts, &open);
            // Nothing to read yet (not started; --previous of a container that never
            // restarted): ask all the same, so the apiserver says why in its own words.
            let specs = if specs.is_empty() {
                forced_specs(ns, &row, &opts)
            } else {
                specs
            };
            start(specs, &mut tasks, &mut open);
        }
        Resolved::Workload {
            label, selector, ..
        } => {
            let api: Api<Pod> = Api::namespaced(client.clone(), ns);
            let lp = ListParams::default().labels(&selector);
            let list = api.list(&lp).await.map_err(|e| {
                (
                    EXIT_UNREACHABLE,
                    format!("could not list the pods of {label}: {e}"),
                )
            })?;
            let mut rows: BTreeMap<String, PodRow> = list
                .items
                .iter()
                .map(super::convert::pod_row)
                .map(|r| (r.name.clone(), r))
                .collect();
            if rows.is_empty() && !args.follow {
                return Err((
                    EXIT_NOT_FOUND,
                    format!("{label} in namespace {ns} has no pods (selector {selector})"),
                ));
            }
            let (specs, notes) = plan_streams(ns, 0, rows.values(), &opts, &open);
            if specs.is_empty() && !notes.is_empty() && !args.follow {
                return Err((
                    EXIT_NO_LOG,
                    format!(
                        "no previous container in any pod of {label}: none has restarted; drop \
                         --previous for the current ones"
                    ),
                ));
            }
            for (k, note) in &notes {
                eprintln!("berth logs: {}/{}: {note}", k.pod, k.container);
                open.insert(k.clone());
            }
            start(specs, &mut tasks, &mut open);
            if args.follow {
                // New pods (a rollout) and restarted containers join, as the watch sees them.
                let cfg = watcher::Config::default().labels(&selector);
                let mut events = std::pin::pin!(watcher(api, cfg));
                loop {
                    tokio::select! {
                        ev = events.next() => match ev {
                            Some(Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p))) => {
                                let r = super::convert::pod_row(&p);
                                rows.insert(r.name.clone(), r);
                            }
                            Some(Ok(watcher::Event::Delete(p))) => {
                                if let Some(n) = &p.metadata.name {
                                    rows.remove(n);
                                }
                            }
                            Some(Ok(_)) => continue,
                            // The watcher retries by itself; say so once per failure.
                            Some(Err(e)) => {
                                tracing::warn!("berth logs: watch of {label}'s pods: {e}");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                                continue;
                            }
                            None => break,
                        },
                        Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                            if let Ok(Err((c, msg))) = done {
                                eprintln!("berth logs: {msg}");
                                code = code.max(c);
                            }
                            continue;
                        }
                    }
                    let (specs, notes) = plan_streams(ns, 0, rows.values(), &opts, &open);
                    for (k, _) in notes {
                        open.insert(k);
                    }
                    start(specs, &mut tasks, &mut open);
                }
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok(Err((c, msg))) = done {
            if single {
                drop(tx);
                let _ = printer.await;
                return Err((c, msg));
            }
            eprintln!("berth logs: {msg}");
            code = code.max(c);
        }
    }
    drop(tx);
    if printer.await.unwrap_or(false) {
        code = code.max(EXIT_FAILED);
    }
    Ok(code)
}

/// Streams for every asked container of a pod whatever their state (for the apiserver's own
/// reason when there is no log yet).
fn forced_specs(ns: &str, row: &PodRow, opts: &StreamOptions) -> Vec<StreamSpec> {
    row.containers
        .iter()
        .filter(|c| !c.init && opts.container.as_ref().is_none_or(|n| *n == c.name))
        .map(|c| StreamSpec {
            session: 0,
            namespace: ns.to_owned(),
            key: StreamKey {
                pod: row.name.clone(),
                container: c.name.clone(),
                restarts: c.restarts,
            },
            follow: opts.follow && !opts.previous,
            previous: opts.previous,
            since_seconds: match opts.range {
                LogRange::SinceSeconds(s) => Some(s),
                _ => None,
            },
            tail_lines: match opts.range {
                LogRange::Tail(n) => Some(n),
                _ => None,
            },
        })
        .collect()
}

enum Printed {
    Line(Vec<u8>),
    Failed,
}

async fn stream_to(
    client: kube::Client,
    spec: StreamSpec,
    timestamps: bool,
    prefixed: bool,
    tx: tokio::sync::mpsc::Sender<Printed>,
) -> Result<(), Failure> {
    let who = format!("{}/{}", spec.key.pod, spec.key.container);
    let r = open(&client, &spec, timestamps)
        .await
        .map_err(|e| match e {
            OpenError::Refused(m) if spec.previous => (
                EXIT_NO_LOG,
                format!(
                    "{who}: the apiserver has no previous log: {m} (restartCount {}; without \
                     --previous you get the current one)",
                    spec.key.restarts
                ),
            ),
            OpenError::Refused(m) => (
                EXIT_NO_LOG,
                format!("{who}: the apiserver has no such log: {m}"),
            ),
            OpenError::Unreachable(m) => (EXIT_UNREACHABLE, format!("{who}: {m}")),
        })?;
    let prefix = if prefixed {
        format!("{who} ").into_bytes()
    } else {
        Vec::new()
    };
    let mut lines = CappedLines::new(r);
    loop {
        match lines.next().await {
            Ok(Some(cut)) => {
                let mut l = prefix.clone();
                l.extend_from_slice(lines.line());
                if cut > 0 {
                    l.extend_from_slice(format!(" … [{cut} bytes cut]").as_bytes());
                }
                if tx.send(Printed::Line(l)).await.is_err() {
                    return Ok(());
                }
            }
            Ok(None) => return Ok(()),
            Err(e) => {
                let _ = tx.send(Printed::Failed).await;
                return Err((EXIT_FAILED, format!("{who}: the log stream broke: {e}")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_bad_ones_are_named() {
        assert_eq!(parse_duration("30s"), Ok(30));
        assert_eq!(parse_duration("5m"), Ok(300));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        for bad in ["", "5", "m", "5x", "1.5h", "-5m"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains("not a duration"), "{bad}: {e}");
        }
        assert!(parse_duration("0s").unwrap_err().contains("no time"));
    }

    #[tokio::test]
    async fn lines_are_capped_where_they_are_read() {
        let long = "x".repeat(LINE_CAP + 10);
        let input = format!("one\n{long}\nlast without newline");
        let mut got = Vec::new();
        let mut r = CappedLines::new(futures::io::BufReader::with_capacity(7, input.as_bytes()));
        while let Some(cut) = r.next().await.unwrap() {
            got.push((r.line().len(), cut));
        }
        assert_eq!(got, [(3, 0), (LINE_CAP, 10), (20, 0)]);
    }
}
