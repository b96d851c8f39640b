//! The logs view (issue 13 §1): its State, its pure parts (the ring buffer, line cleaning and
//! capping, `pod/container` prefixes, search, wrap, which streams to open), and the `update`
//! handlers for its keys and for the batches of lines the runner delivers.
//!
//! Memory is bounded at three places, each in lines and in bytes:
//! - a line longer than [`LINE_CAP`] bytes is cut where it is read (the rest is skipped, not
//!   buffered) and ends in a `… [N bytes cut]` marker;
//! - the runner's queue per logs view holds at most [`QUEUE_LINES`] / [`QUEUE_BYTES`]; when the
//!   UI lags the oldest queued lines are dropped and counted, and the view shows
//!   "… N lines dropped" where they were;
//! - the view's ring keeps the newest [`RING_LINES`] lines and at most [`RING_BYTES`] (text plus
//!   [`LINE_OVERHEAD`] per line); older lines scroll out.
//!
//! At most one batch per view is on its way to the UI at any time (see [`Delivered`]), so the
//! unbounded Action channel never holds more than one queue's worth of log lines.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use unicode_width::UnicodeWidthChar;

use super::action::{Action, Notice};
use super::effects::{Effect, Task, TaskId};
use super::keymap::{Command, Key};
pub use super::search::{find_all, wrap};
use super::state::{Dialog, State, TextInput};
use crate::cluster::model::{ContainerState, PodRow, WorkloadKind};

/// The ring keeps this many lines at most…
pub const RING_LINES: usize = 20_000;
/// …and this many bytes (each line's text plus [`LINE_OVERHEAD`]).
pub const RING_BYTES: usize = 8 * 1024 * 1024;
/// A line's bytes beyond this are skipped where it is read, and a marker says how many.
pub const LINE_CAP: usize = 4096;
/// What one line costs besides its text (the `LogLine` itself, the String header, the
/// allocator's rounding), counted so that many short lines cannot exceed the byte bound.
pub const LINE_OVERHEAD: usize = 64;
/// The runner's queue per view (between the stream tasks and the UI).
pub const QUEUE_LINES: usize = 10_000;
pub const QUEUE_BYTES: usize = 4 * 1024 * 1024;
/// Lines the view asks for per container when it opens (kubectl's `--tail`).
pub const DEFAULT_TAIL: i64 = 500;

// ---------------------------------------------------------------------------------------------
// Lines

/// One line as the view keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// `pod/container`, shared by every line of one stream.
    pub source: Arc<str>,
    /// The line, cleaned (no control characters); when the server stamped it, the RFC 3339
    /// timestamp and a space come first and `ts_len` says how many bytes they take.
    pub text: String,
    pub ts_len: u8,
    /// berth's own line (a stream ended, failed, lines were dropped), not the container's.
    pub note: bool,
}

impl LogLine {
    pub fn log(source: Arc<str>, text: String) -> Self {
        let ts_len = timestamp_len(&text);
        Self {
            source,
            text,
            ts_len,
            note: false,
        }
    }

    pub fn note(source: Arc<str>, text: impl Into<String>) -> Self {
        Self {
            source,
            text: text.into(),
            ts_len: 0,
            note: true,
        }
    }

    /// The text without the timestamp.
    pub fn body(&self) -> &str {
        &self.text[usize::from(self.ts_len)..]
    }

    /// The bytes the bounds count for this line.
    pub fn cost(&self) -> usize {
        self.text.len() + self.source.len().min(LINE_OVERHEAD) + LINE_OVERHEAD
    }
}

/// The length of a leading `2026-01-02T03:04:05.123456789Z ` (the apiserver's `timestamps=true`
/// stamp, and the space after it), or 0.
pub fn timestamp_len(text: &str) -> u8 {
    let b = text.as_bytes();
    let Some(space) = b.iter().take(40).position(|&c| c == b' ') else {
        return 0;
    };
    let ts = &text[..space];
    let shaped = ts.len() >= 20 && ts.as_bytes()[4] == b'-' && ts.as_bytes()[10] == b'T';
    if shaped && ts.parse::<jiff::Timestamp>().is_ok() {
        u8::try_from(space + 1).unwrap_or(0)
    } else {
        0
    }
}

/// Raw bytes of one line (at most [`LINE_CAP`], `cut` bytes skipped after them) as the view
/// shows it: invalid UTF-8 replaced, terminal escape sequences removed (they would move the
/// cursor or recolour the dashboard), tabs expanded, other control characters dropped.
pub fn clean_line(raw: &[u8], cut: usize) -> String {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut col = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek() {
                // CSI: parameters and intermediates up to a final byte in @..~.
                Some('[') => {
                    chars.next();
                    for d in chars.by_ref() {
                        if ('@'..='~').contains(&d) {
                            break;
                        }
                    }
                }
                // OSC: up to BEL or ESC \.
                Some(']') => {
                    chars.next();
                    while let Some(d) = chars.next() {
                        if d == '\u{7}' {
                            break;
                        }
                        if d == '\u{1b}' {
                            chars.next_if_eq(&'\\');
                            break;
                        }
                    }
                }
                Some(_) => {
                    chars.next();
                }
                None => {}
            },
            '\n' => {
                out.push(' ');
                col += 1;
            }
            '\t' => {
                let n = 4 - col % 4;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            c if c.is_control() => {}
            c => {
                out.push(c);
                col += c.width().unwrap_or(0);
            }
        }
    }
    if cut > 0 {
        out.push_str(&format!(" … [{cut} bytes cut]"));
    }
    out
}

/// The prefix of a stream's lines, as stern prints it.
pub fn source_label(pod: &str, container: &str) -> Arc<str> {
    Arc::from(format!("{pod}/{container}"))
}

/// One line as text: `[pod/container] ` when prefixed, the timestamp when asked for.
pub fn render_line(line: &LogLine, prefixed: bool, timestamps: bool) -> String {
    let body = if timestamps {
        line.text.as_str()
    } else {
        line.body()
    };
    if prefixed && !line.source.is_empty() {
        format!("{} {body}", line.source)
    } else {
        body.to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// The ring buffer

/// The newest lines within a bound of lines and bytes; every line gets a sequence number that
/// stays its own while it is kept, so a position (the paused view, a search hit) survives
/// older lines scrolling out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRing {
    lines: VecDeque<LogLine>,
    bytes: usize,
    /// The sequence number of `lines[0]`.
    first: u64,
    max_lines: usize,
    max_bytes: usize,
}

impl Default for LogRing {
    fn default() -> Self {
        Self::new(RING_LINES, RING_BYTES)
    }
}

impl LogRing {
    pub fn new(max_lines: usize, max_bytes: usize) -> Self {
        Self {
            lines: VecDeque::new(),
            bytes: 0,
            first: 0,
            max_lines: max_lines.max(1),
            max_bytes,
        }
    }

    pub fn push(&mut self, line: LogLine) {
        self.bytes += line.cost();
        self.lines.push_back(line);
        while self.lines.len() > self.max_lines
            || (self.bytes > self.max_bytes && self.lines.len() > 1)
        {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.cost();
                self.first += 1;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Sequence number of the oldest line kept.
    pub fn first_seq(&self) -> u64 {
        self.first
    }

    /// One past the newest line's sequence number.
    pub fn end_seq(&self) -> u64 {
        self.first + self.lines.len() as u64
    }

    pub fn get(&self, seq: u64) -> Option<&LogLine> {
        let i = seq.checked_sub(self.first)?;
        self.lines.get(usize::try_from(i).ok()?)
    }

    pub fn clear(&mut self) {
        self.first = self.end_seq();
        self.lines.clear();
        self.bytes = 0;
    }
}

/// The bounded queue between the stream tasks and the UI: the same bound in lines and bytes,
/// but a full queue drops its *oldest* line and counts it (the UI shows the count).
#[derive(Debug, Default)]
pub struct LogQueue {
    pub lines: VecDeque<LogLine>,
    pub bytes: usize,
    pub dropped: u64,
}

impl LogQueue {
    pub fn push(&mut self, line: LogLine) {
        self.bytes += line.cost();
        self.lines.push_back(line);
        while self.lines.len() > QUEUE_LINES || (self.bytes > QUEUE_BYTES && self.lines.len() > 1) {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.cost();
                self.dropped += 1;
            }
        }
    }

    /// Everything queued, and how many lines were dropped since the last take.
    pub fn take(&mut self) -> (Vec<LogLine>, u64) {
        self.bytes = 0;
        let lines = self.lines.drain(..).collect();
        (lines, std::mem::take(&mut self.dropped))
    }
}

/// Travels with a batch of lines to the UI; when `update` has taken the lines and drops it,
/// the runner may send the next batch. So a lagging UI makes lines wait in the bounded
/// [`LogQueue`] (where the oldest are dropped) instead of piling up in the Action channel.
#[derive(Clone, Default)]
pub struct Delivered {
    _on_drop: Option<Arc<OnDrop>>,
}

struct OnDrop(Arc<tokio::sync::Notify>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

impl Delivered {
    pub fn new(notify: Arc<tokio::sync::Notify>) -> Self {
        Self {
            _on_drop: Some(Arc::new(OnDrop(notify))),
        }
    }
}

impl std::fmt::Debug for Delivered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Delivered")
    }
}

/// A token, not data: two batches are equal whatever their tokens.
impl PartialEq for Delivered {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// What the runner tells a logs view.
#[derive(Clone, Debug, PartialEq)]
pub enum LogsUpdate {
    /// Lines in arrival order (streams interleaved); `dropped` lines were lost before them
    /// because the view could not keep up.
    Lines {
        session: u64,
        lines: Vec<LogLine>,
        dropped: u64,
        delivered: Delivered,
    },
    /// One stream ended: the container stopped, the log was complete (not following), or it
    /// failed (`error`, in the apiserver's words).
    Ended {
        session: u64,
        stream: StreamKey,
        error: Option<String>,
    },
}

impl From<LogsUpdate> for Action {
    fn from(u: LogsUpdate) -> Self {
        Action::Logs(u)
    }
}

// ---------------------------------------------------------------------------------------------
// Which streams

/// Since when or how much of each container's log to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogRange {
    Tail(i64),
    SinceSeconds(i64),
    All,
}

impl LogRange {
    /// What the range key steps through.
    pub const CYCLE: [LogRange; 4] = [
        LogRange::Tail(DEFAULT_TAIL),
        LogRange::SinceSeconds(300),
        LogRange::SinceSeconds(3600),
        LogRange::All,
    ];

    pub fn next(self) -> Self {
        let i = Self::CYCLE.iter().position(|r| *r == self).unwrap_or(0);
        Self::CYCLE[(i + 1) % Self::CYCLE.len()]
    }

    pub fn label(self) -> String {
        match self {
            Self::Tail(n) => format!("last {n} lines"),
            Self::SinceSeconds(s) if s % 3600 == 0 => format!("since {}h", s / 3600),
            Self::SinceSeconds(s) if s % 60 == 0 => format!("since {}m", s / 60),
            Self::SinceSeconds(s) => format!("since {s}s"),
            Self::All => "everything".to_owned(),
        }
    }
}

/// One container instance's log: `restarts` tells the instances of one container apart, so
/// that a restarted container's new instance gets a stream of its own.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    pub pod: String,
    pub container: String,
    pub restarts: i32,
}

/// What one stream task asks the apiserver for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamSpec {
    pub session: u64,
    pub namespace: String,
    pub key: StreamKey,
    pub follow: bool,
    pub previous: bool,
    pub since_seconds: Option<i64>,
    pub tail_lines: Option<i64>,
}

/// What the view asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamOptions {
    /// `None`: every container of every pod.
    pub container: Option<String>,
    pub previous: bool,
    pub follow: bool,
    pub range: LogRange,
}

/// The streams to open for `pods` that are not open yet (`open`), and notes for containers
/// that cannot have one (a previous log of a container that never restarted).
///
/// A container gets a stream once it has run (kubelet has no log of a container still
/// creating); a restarted container's new instance gets one from its first line, since the
/// old instance's stream ended with it.
pub fn plan_streams<'a>(
    namespace: &str,
    session: u64,
    pods: impl IntoIterator<Item = &'a PodRow>,
    opts: &StreamOptions,
    open: &BTreeSet<StreamKey>,
) -> (Vec<StreamSpec>, Vec<(StreamKey, String)>) {
    let mut specs = Vec::new();
    let mut notes = Vec::new();
    for pod in pods {
        for c in pod.containers.iter().filter(|c| !c.init) {
            if opts.container.as_ref().is_some_and(|n| *n != c.name) {
                continue;
            }
            let key = StreamKey {
                pod: pod.name.clone(),
                container: c.name.clone(),
                restarts: c.restarts,
            };
            if open.contains(&key) {
                continue;
            }
            let seen = open
                .iter()
                .any(|k| k.pod == key.pod && k.container == key.container);
            if opts.previous {
                // The previous log is read once: a later restart makes another instance the
                // previous one, but the view already shows the crash it was opened for.
                if seen {
                    continue;
                }
                if c.restarts == 0 {
                    notes.push((
                        key,
                        "no previous container: it has not restarted".to_owned(),
                    ));
                    continue;
                }
            } else {
                let has_run = match &c.state {
                    ContainerState::Running { .. } | ContainerState::Terminated { .. } => true,
                    ContainerState::Waiting { .. } => c.restarts > 0,
                    ContainerState::Unknown => false,
                };
                if !has_run {
                    continue;
                }
            }
            // The first instance seen gets the range asked for; a later one (the container
            // restarted while the view is open) everything, since all of it is new.
            let first = !seen;
            let (since_seconds, tail_lines) = match (first, opts.range) {
                (false, _) | (true, LogRange::All) => (None, None),
                (true, LogRange::Tail(n)) => (None, Some(n)),
                (true, LogRange::SinceSeconds(s)) => (Some(s), None),
            };
            specs.push(StreamSpec {
                session,
                namespace: namespace.to_owned(),
                key,
                follow: opts.follow && !opts.previous,
                previous: opts.previous,
                since_seconds,
                tail_lines,
            });
        }
    }
    (specs, notes)
}

// ---------------------------------------------------------------------------------------------
// State

/// Whose logs: one pod, or every pod of a workload (those that appear later join).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogTarget {
    Pod {
        namespace: String,
        name: String,
    },
    Workload {
        kind: WorkloadKind,
        namespace: String,
        name: String,
        uid: String,
    },
}

impl LogTarget {
    pub fn namespace(&self) -> &str {
        match self {
            Self::Pod { namespace, .. } | Self::Workload { namespace, .. } => namespace,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Self::Pod { namespace, name } => format!("pod {namespace}/{name}"),
            Self::Workload {
                kind,
                namespace,
                name,
                ..
            } => format!("{} {namespace}/{name}", kind.short()),
        }
    }
}

/// The logs view: what it shows, how, and where the reader is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogsView {
    pub target: LogTarget,
    /// Every container's name (for the container key and the prefix decision).
    pub containers: Vec<String>,
    pub container: Option<String>,
    pub previous: bool,
    pub range: LogRange,
    pub timestamps: bool,
    pub wrap: bool,
    /// The runner's session; lines of an older one (before a restart of the view) are dropped.
    pub session: u64,
    pub open: BTreeSet<StreamKey>,
    pub ended: usize,
    pub ring: LogRing,
    /// Lines the view could not keep up with, since it opened.
    pub dropped: u64,
    /// The sequence number of the bottom line while paused; `None` follows the newest line.
    pub anchor: Option<u64>,
    pub search: String,
    /// The search being typed (`/`), before enter.
    pub search_input: Option<TextInput>,
    /// The line of the current search hit.
    pub hit: Option<u64>,
    /// Rows the view had at its last draw-size update, for paging.
    pub page: usize,
    /// What the last key found out ("no hit above"), shown until the next key.
    pub note: Option<String>,
}

impl LogsView {
    /// Prefix lines with `pod/container` when they can come from more than one.
    pub fn prefixed(&self) -> bool {
        matches!(self.target, LogTarget::Workload { .. })
            || (self.container.is_none() && self.containers.len() > 1)
    }

    pub fn following(&self) -> bool {
        self.anchor.is_none()
    }

    /// The sequence number of the bottom line on screen.
    pub fn bottom(&self) -> Option<u64> {
        if self.ring.is_empty() {
            return None;
        }
        let last = self.ring.end_seq() - 1;
        Some(
            self.anchor
                .map_or(last, |a| a.clamp(self.ring.first_seq(), last)),
        )
    }

    /// Lines below the paused view.
    pub fn below(&self) -> u64 {
        match (self.anchor, self.bottom()) {
            (Some(_), Some(b)) => self.ring.end_seq() - 1 - b,
            _ => 0,
        }
    }

    fn options(&self) -> StreamOptions {
        StreamOptions {
            container: self.container.clone(),
            previous: self.previous,
            follow: true,
            range: self.range,
        }
    }

    fn text_of(&self, seq: u64) -> Option<String> {
        self.ring
            .get(seq)
            .map(|l| render_line(l, self.prefixed(), self.timestamps))
    }

    /// The nearest line matching the search from `from` (inclusive) towards older lines
    /// (`older`) or newer ones.
    pub fn find(&self, from: u64, older: bool) -> Option<u64> {
        if self.search.is_empty() || self.ring.is_empty() {
            return None;
        }
        let (first, end) = (self.ring.first_seq(), self.ring.end_seq());
        let from = from.clamp(first, end - 1);
        let hit = |s: &u64| {
            self.text_of(*s)
                .is_some_and(|t| !find_all(&t, &self.search).is_empty())
        };
        if older {
            (first..=from).rev().find(hit)
        } else {
            (from..end).find(hit)
        }
    }

    fn scroll(&mut self, delta: i64) {
        let Some(bottom) = self.bottom() else {
            return;
        };
        let last = self.ring.end_seq() - 1;
        let lowest = (self.ring.first_seq() + self.page.max(1) as u64 - 1).min(last);
        // Up always pauses, even with every line on screen (it freezes the view as it is),
        // and never moves the view down: once frozen with fewer lines than a page, the lines
        // that came since are below it, not above. Down at the newest line follows again.
        self.anchor = if delta < 0 {
            Some(
                bottom
                    .saturating_sub(delta.unsigned_abs())
                    .max(lowest)
                    .min(bottom),
            )
        } else {
            let target = bottom.saturating_add(delta as u64);
            (target < last).then_some(target)
        };
    }
}

// ---------------------------------------------------------------------------------------------
// update

fn logs_mut(state: &mut State) -> Option<&mut LogsView> {
    state.dialogs.iter_mut().rev().find_map(|d| match d {
        Dialog::Logs(v) => Some(&mut **v),
        _ => None,
    })
}

fn logs(state: &State) -> Option<&LogsView> {
    state.dialogs.iter().rev().find_map(|d| match d {
        Dialog::Logs(v) => Some(&**v),
        _ => None,
    })
}

fn task(state: &mut State, effect: Effect) -> Task {
    // Streams are not tasks the progress panel shows: no TaskView (their `TaskDone` is
    // ignored), only an id.
    let id = TaskId(state.next_task);
    state.next_task += 1;
    Task { id, effect }
}

/// `l`: the logs of the selected pod (pods pane) or workload (deployments pane).
pub fn open(state: &mut State, fx: &mut Vec<Task>) {
    use super::state::Focus;
    let target = match state.focus {
        Focus::Pods => super::view::selected_pod(state).map(|p| {
            let containers = p
                .containers
                .iter()
                .filter(|c| !c.init)
                .map(|c| c.name.clone())
                .collect();
            (
                LogTarget::Pod {
                    namespace: p.namespace.clone(),
                    name: p.name.clone(),
                },
                containers,
            )
        }),
        _ => super::view::selected_deployment(state).map(|d| {
            let containers = d
                .containers
                .iter()
                .filter(|c| !c.init)
                .map(|c| c.name.clone())
                .collect();
            (
                LogTarget::Workload {
                    kind: d.kind,
                    namespace: d.namespace.clone(),
                    name: d.name.clone(),
                    uid: d.uid.clone(),
                },
                containers,
            )
        }),
    };
    let Some((target, containers)) = target else {
        super::notices::notify(
            state,
            Notice::warning("logs: select a pod or a workload first"),
        );
        return;
    };
    // A session id from the task counter: never one an earlier view used.
    let session = state.next_task;
    state.next_task += 1;
    let view = LogsView {
        target,
        containers,
        container: None,
        previous: false,
        range: LogRange::Tail(DEFAULT_TAIL),
        timestamps: false,
        wrap: false,
        session,
        open: BTreeSet::new(),
        ended: 0,
        ring: LogRing::default(),
        dropped: 0,
        anchor: None,
        search: String::new(),
        search_input: None,
        hit: None,
        page: usize::from(state.height.saturating_sub(2)),
        note: None,
    };
    state.dialogs.push(Dialog::Logs(Box::new(view)));
    pods_changed(state, fx);
}

/// The pods the view's target has now, from the cluster model.
fn target_pods<'a>(state: &'a State, target: &LogTarget) -> Vec<&'a PodRow> {
    match target {
        LogTarget::Pod { namespace, name } => {
            state.cluster.pod(namespace, name).into_iter().collect()
        }
        LogTarget::Workload {
            kind,
            namespace,
            name,
            ..
        } => match state.cluster.workload(*kind, namespace, name) {
            Some(d) => state.cluster.pods_of(d),
            None => Vec::new(),
        },
    }
}

/// Open the streams of pods (and container instances) that appeared since the last call:
/// the pods of a rollout join the view as the model sees them, with no polling.
pub fn pods_changed(state: &mut State, fx: &mut Vec<Task>) {
    let Some(v) = logs(state) else {
        return;
    };
    let pods = target_pods(state, &v.target);
    let (specs, notes) = plan_streams(v.target.namespace(), v.session, pods, &v.options(), &v.open);
    if specs.is_empty() && notes.is_empty() {
        return;
    }
    let tasks: Vec<Task> = specs
        .into_iter()
        .map(|s| task(state, Effect::LogStream(Box::new(s))))
        .collect();
    let Some(v) = logs_mut(state) else {
        return;
    };
    for t in &tasks {
        if let Effect::LogStream(s) = &t.effect {
            v.open.insert(s.key.clone());
        }
    }
    for (key, note) in notes {
        let source = source_label(&key.pod, &key.container);
        v.open.insert(key);
        v.ring.push(LogLine::note(source, note));
    }
    state.dirty = true;
    fx.extend(tasks);
}

/// Close the runner's streams of the view and start again with its new options.
fn restart(state: &mut State, fx: &mut Vec<Task>) {
    let next = state.next_task;
    state.next_task += 1;
    let Some(v) = logs_mut(state) else {
        return;
    };
    let old = v.session;
    v.session = next;
    v.open.clear();
    v.ended = 0;
    v.ring.clear();
    v.anchor = None;
    v.hit = None;
    let stop = task(state, Effect::StopLogs { session: old });
    fx.push(stop);
    pods_changed(state, fx);
}

/// Batches of lines and ended streams.
pub fn on_update(state: &mut State, u: LogsUpdate) {
    let Some(v) = logs_mut(state) else {
        state.dirty = false;
        return;
    };
    match u {
        LogsUpdate::Lines {
            session,
            lines,
            dropped,
            delivered,
        } => {
            if session != v.session {
                state.dirty = false;
                return;
            }
            if dropped > 0 {
                v.dropped += dropped;
                v.ring.push(LogLine::note(
                    Arc::from(""),
                    format!("… {dropped} lines dropped (berth could not keep up)"),
                ));
            }
            for l in lines {
                v.ring.push(l);
            }
            drop(delivered);
        }
        LogsUpdate::Ended {
            session,
            stream,
            error,
        } => {
            if session != v.session {
                state.dirty = false;
                return;
            }
            v.ended += 1;
            if let Some(e) = error {
                let source = source_label(&stream.pod, &stream.container);
                v.ring
                    .push(LogLine::note(source, clean_line(e.as_bytes(), 0)));
            }
        }
    }
}

/// Keys while the search is typed: the line editor's, enter jumps to the newest hit.
pub fn on_text_key(state: &mut State, key: Key) -> bool {
    let Some(v) = logs_mut(state) else {
        return false;
    };
    let Some(input) = v.search_input.as_mut() else {
        return false;
    };
    match super::search::edit_search(input, key) {
        super::search::SearchKey::Cancel => v.search_input = None,
        super::search::SearchKey::Submit => {
            let text = input.text.clone();
            v.search_input = None;
            v.search = text;
            v.hit = None;
            let from = v.bottom().unwrap_or(0);
            jump(state, from, true);
        }
        super::search::SearchKey::Edited => {}
        super::search::SearchKey::Ignored => state.dirty = false,
    }
    true
}

/// Move to the search hit nearest `from`; say so when there is none.
fn jump(state: &mut State, from: u64, older: bool) {
    let Some(v) = logs_mut(state) else {
        return;
    };
    if v.search.is_empty() {
        return;
    }
    match v.find(from, older) {
        Some(seq) => {
            v.hit = Some(seq);
            let last = v.ring.end_seq() - 1;
            // The view pauses on the hit (new lines would scroll it away): where it is when it
            // shows the hit, else with the hit in its middle.
            let bottom = v.bottom().unwrap_or(last);
            let top = bottom.saturating_sub(v.page.max(1) as u64 - 1);
            v.anchor = Some(if seq < top || seq > bottom {
                (seq + v.page.max(1) as u64 / 2).min(last)
            } else {
                bottom
            });
        }
        None => {
            let which = if older { "above" } else { "below" };
            v.note = Some(format!("no {:?} {which}", v.search));
        }
    }
}

pub const HINTS: &[Command] = &[Command::Search, Command::Cancel];

/// The logs layer's commands.
pub fn on_command(state: &mut State, cmd: Command, fx: &mut Vec<Task>) {
    let Some(v) = logs_mut(state) else {
        return;
    };
    let page = v.page.max(1) as i64;
    v.note = None;
    match cmd {
        Command::Help => state.dialogs.push(Dialog::Help),
        Command::Cancel => {
            let session = v.session;
            state.dialogs.retain(|d| !matches!(d, Dialog::Logs(_)));
            let stop = task(state, Effect::StopLogs { session });
            fx.push(stop);
        }
        Command::Up => v.scroll(-1),
        Command::Down => v.scroll(1),
        Command::PageUp => v.scroll(-page),
        Command::PageDown => v.scroll(page),
        Command::Top => v.scroll(i64::MIN / 2),
        Command::Bottom => v.anchor = None,
        Command::ToggleTimestamps => v.timestamps = !v.timestamps,
        Command::ToggleWrap => v.wrap = !v.wrap,
        Command::Search => v.search_input = Some(TextInput::new(&v.search)),
        Command::SearchNext | Command::SearchPrev => {
            let older = cmd == Command::SearchPrev;
            let from = match v.hit.or(v.bottom()) {
                Some(h) if older => h.saturating_sub(1),
                Some(h) => h + 1,
                None => 0,
            };
            if !older && from >= v.ring.end_seq() {
                v.note = Some(format!("no {:?} below", v.search));
                return;
            }
            jump(state, from, older);
        }
        Command::TogglePrevious => {
            v.previous = !v.previous;
            restart(state, fx);
        }
        Command::NextContainer => {
            v.container = match &v.container {
                None => v.containers.first().cloned(),
                Some(c) => {
                    let i = v.containers.iter().position(|n| n == c);
                    i.and_then(|i| v.containers.get(i + 1)).cloned()
                }
            };
            restart(state, fx);
        }
        Command::LogRange => {
            v.range = v.range.next();
            restart(state, fx);
        }
        _ => state.dirty = false,
    }
}

/// The view's page height follows the terminal's.
pub fn resized(state: &mut State) {
    let rows = usize::from(state.height.saturating_sub(2));
    if let Some(v) = logs_mut(state) {
        v.page = rows;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::model::ContainerRow;
    use proptest::prelude::*;

    fn line(t: &str) -> LogLine {
        LogLine::log(Arc::from("web-1/web"), t.to_owned())
    }

    #[test]
    fn ring_keeps_the_newest_within_lines_and_bytes() {
        let mut r = LogRing::new(3, usize::MAX);
        for i in 0..5 {
            r.push(line(&format!("line {i}")));
        }
        assert_eq!(r.len(), 3);
        assert_eq!((r.first_seq(), r.end_seq()), (2, 5));
        assert_eq!(r.get(2).unwrap().text, "line 2");
        assert!(r.get(1).is_none());
        let big = line(&"x".repeat(1000));
        let mut r = LogRing::new(100, 2 * big.cost());
        for _ in 0..5 {
            r.push(big.clone());
        }
        assert_eq!(r.len(), 2);
        assert!(r.bytes() <= 2 * big.cost());
    }

    proptest! {
        #[test]
        fn ring_never_exceeds_its_bound(
            lens in proptest::collection::vec(0usize..3000, 1..400),
            max_lines in 1usize..50,
            max_bytes in 200usize..20_000,
        ) {
            let mut r = LogRing::new(max_lines, max_bytes);
            for (i, n) in lens.into_iter().enumerate() {
                r.push(line(&"a".repeat(n)));
                let pushed = i as u64 + 1;
                prop_assert!(r.len() <= max_lines);
                // One line alone may exceed the byte bound (it is capped at LINE_CAP where it
                // is read); two never do.
                prop_assert!(r.bytes() <= max_bytes || r.len() == 1);
                prop_assert_eq!(r.end_seq(), pushed);
                let sum: usize = (r.first_seq()..r.end_seq()).map(|s| r.get(s).unwrap().cost()).sum();
                prop_assert_eq!(sum, r.bytes());
            }
        }

        #[test]
        fn queue_drops_the_oldest_and_counts_them(n in 0usize..25_000) {
            let mut q = LogQueue::default();
            for i in 0..n {
                q.push(line(&i.to_string()));
            }
            prop_assert_eq!(q.lines.len() as u64 + q.dropped, n as u64);
            prop_assert!(q.lines.len() <= QUEUE_LINES);
            if let Some(last) = q.lines.back() {
                prop_assert_eq!(last.text.clone(), (n - 1).to_string());
            }
        }
    }

    #[test]
    fn lines_are_cleaned_of_escapes_and_cut_with_a_marker() {
        assert_eq!(clean_line(b"\x1b[31mred\x1b[0m ok\r\n", 0), "red ok");
        assert_eq!(clean_line(b"a\tb", 0), "a   b");
        assert_eq!(clean_line(b"\x1b]0;title\x07x\x08y", 0), "xy");
        assert_eq!(clean_line(b"bad \xff utf8", 0), "bad \u{fffd} utf8");
        assert_eq!(clean_line(b"abc", 12), "abc … [12 bytes cut]");
    }

    #[test]
    fn timestamps_are_recognised_and_hidden() {
        let l = line("2026-12-02T05:44:14.123456789Z line 3");
        assert_eq!(l.body(), "line 3");
        assert_eq!(render_line(&l, false, true), l.text);
        assert_eq!(render_line(&l, true, false), "web-1/web line 3");
        assert_eq!(line("2026 is not a stamp").ts_len, 0);
        assert_eq!(line("line 3").body(), "line 3");
    }

    #[test]
    fn search_is_smart_case_and_finds_every_hit() {
        assert_eq!(
            find_all("Error error ERROR", "error"),
            vec![(0, 5), (6, 11), (12, 17)]
        );
        assert_eq!(find_all("Error error ERROR", "Error"), vec![(0, 5)]);
        assert_eq!(find_all("aaaa", "aa"), vec![(0, 2), (2, 4)]);
        assert_eq!(find_all("Ünïcode ünï", "ünï"), vec![(0, 5), (10, 15)]);
        assert!(find_all("abc", "").is_empty());
    }

    #[test]
    fn wrap_cuts_at_the_width_and_keeps_wide_characters_whole() {
        assert_eq!(wrap("abcdefg", 3), vec!["abc", "def", "g"]);
        assert_eq!(wrap("", 3), vec![""]);
        assert_eq!(wrap("日本語", 5), vec!["日本", "語"]);
    }

    fn pod(name: &str, containers: &[(&str, i32, ContainerState)]) -> PodRow {
        PodRow {
            namespace: "shop".into(),
            name: name.into(),
            containers: containers
                .iter()
                .map(|(n, restarts, state)| ContainerRow {
                    name: (*n).into(),
                    restarts: *restarts,
                    state: state.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn streams_open_once_per_container_instance() {
        let running = ContainerState::Running { since: None };
        let creating = ContainerState::Waiting {
            reason: "ContainerCreating".into(),
            message: String::new(),
        };
        let pods = [
            pod(
                "web-1",
                &[("web", 0, running.clone()), ("proxy", 0, running.clone())],
            ),
            pod("web-2", &[("web", 0, creating.clone())]),
        ];
        let opts = StreamOptions {
            container: None,
            previous: false,
            follow: true,
            range: LogRange::Tail(10),
        };
        let mut open = BTreeSet::new();
        let (specs, notes) = plan_streams("shop", 1, &pods, &opts, &open);
        assert!(notes.is_empty());
        let keys: Vec<_> = specs
            .iter()
            .map(|s| format!("{}/{}", s.key.pod, s.key.container))
            .collect();
        assert_eq!(keys, ["web-1/web", "web-1/proxy"]);
        assert!(specs.iter().all(|s| s.follow && s.tail_lines == Some(10)));
        open.extend(specs.into_iter().map(|s| s.key));
        // Nothing new: nothing opened twice.
        assert!(plan_streams("shop", 1, &pods, &opts, &open).0.is_empty());
        // web-2 starts, web-1/web restarts: both join; the new instance from its first line.
        let pods = [
            pod(
                "web-1",
                &[("web", 1, running.clone()), ("proxy", 0, running.clone())],
            ),
            pod("web-2", &[("web", 0, running.clone())]),
        ];
        let (specs, _) = plan_streams("shop", 1, &pods, &opts, &open);
        let got: Vec<_> = specs
            .iter()
            .map(|s| (s.key.pod.as_str(), s.key.restarts, s.tail_lines))
            .collect();
        assert_eq!(got, [("web-1", 1, None), ("web-2", 0, Some(10))]);
        // One container only.
        let one = StreamOptions {
            container: Some("proxy".into()),
            ..opts.clone()
        };
        let (specs, _) = plan_streams("shop", 1, &pods, &one, &BTreeSet::new());
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].key.container, "proxy");
    }

    #[test]
    fn previous_needs_a_restart_and_does_not_follow() {
        let pods = [pod(
            "web-1",
            &[
                ("web", 2, ContainerState::Running { since: None }),
                ("proxy", 0, ContainerState::Running { since: None }),
            ],
        )];
        let opts = StreamOptions {
            container: None,
            previous: true,
            follow: true,
            range: LogRange::All,
        };
        let (specs, notes) = plan_streams("shop", 1, &pods, &opts, &BTreeSet::new());
        assert_eq!(specs.len(), 1);
        assert!(specs[0].previous && !specs[0].follow);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].0.container, "proxy");
        assert!(notes[0].1.contains("has not restarted"));
    }

    fn view_of(lines: u64, page: usize) -> LogsView {
        let mut ring = LogRing::default();
        for i in 0..lines {
            ring.push(line(&format!("line {i}")));
        }
        LogsView {
            target: LogTarget::Pod {
                namespace: "shop".into(),
                name: "web-1".into(),
            },
            containers: vec!["web".into()],
            container: None,
            previous: false,
            range: LogRange::Tail(DEFAULT_TAIL),
            timestamps: false,
            wrap: false,
            session: 1,
            open: BTreeSet::new(),
            ended: 0,
            ring,
            dropped: 0,
            anchor: None,
            search: String::new(),
            search_input: None,
            hit: None,
            page,
            note: None,
        }
    }

    /// What CI's screen showed: frozen with fewer lines than a page, then more lines came,
    /// then more `k`: the view must stay where it froze, not jump down to the new lines.
    #[test]
    fn up_freezes_a_short_view_and_never_moves_it_down() {
        let mut v = view_of(15, 40);
        v.scroll(-1);
        assert_eq!(
            v.bottom(),
            Some(14),
            "the first up freezes at the newest line"
        );
        for i in 15..100 {
            v.ring.push(line(&format!("line {i}")));
        }
        v.scroll(-1);
        v.scroll(-1);
        assert_eq!(v.bottom(), Some(14));
        assert_eq!(v.below(), 85);
        // Down moves towards the new lines and, at the newest, follows again.
        v.scroll(1);
        assert_eq!(v.bottom(), Some(15));
        v.scroll(1_000);
        assert!(v.following());
    }

    #[test]
    fn up_in_a_long_view_moves_one_line_and_stops_at_the_first_page() {
        let mut v = view_of(100, 10);
        v.scroll(-1);
        v.scroll(-1);
        assert_eq!(v.bottom(), Some(97));
        v.scroll(i64::MIN / 2);
        assert_eq!(
            v.bottom(),
            Some(9),
            "the top page, not blank rows above line 0"
        );
    }

    #[test]
    fn ranges_cycle_and_read_plainly() {
        let labels: Vec<String> = LogRange::CYCLE.iter().map(|r| r.label()).collect();
        assert_eq!(
            labels,
            ["last 500 lines", "since 5m", "since 1h", "everything"]
        );
        assert_eq!(LogRange::All.next(), LogRange::Tail(DEFAULT_TAIL));
    }
}
