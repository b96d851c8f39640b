//! The object view (issue 13 §2): one object's YAML (`y`) or its events (`e`), full screen,
//! scrollable and searchable, for the selected pod, workload or event's object, or any object
//! named with `:yaml KIND/NAME`.
//!
//! Live without polling: the YAML is read once when the view opens, and again whenever the
//! cluster model sees that object change (a watch event for the same row); at most one read is
//! under way, a change during a read asks for one more after it. The events tab is drawn from
//! the model's events on every frame, so it follows the cluster as the events pane does.

use unicode_width::UnicodeWidthStr;

use super::action::{Notice, TaskError, TaskOutcome, TaskResult};
use super::effects::{Effect, Task, TaskId};
use super::keymap::{Command, Key};
use super::search::{SearchKey, edit_search, find_all};
use super::state::{Dialog, Focus, State, TextInput};
use super::view::age;
use crate::cluster::manifest::{KindInfo, Manifest, ObjectTarget};
use crate::cluster::model::{EventRow, ModelEvent, Row, RowKey};

/// Which face of the object the view shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectTab {
    Yaml,
    Events,
}

/// The last read of the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Doc {
    Loading,
    Loaded(Box<Manifest>),
    Failed(TaskError),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectView {
    pub target: ObjectTarget,
    /// The object's uid (its events are found by it): from the row it was opened on, or from
    /// the read; empty until known.
    pub uid: String,
    pub tab: ObjectTab,
    pub doc: Doc,
    /// The read under way, if one is.
    pub fetching: Option<TaskId>,
    /// The object changed while a read was under way: read it again when that one ends.
    pub stale: bool,
    /// The model saw the object deleted (the YAML shown is its last state).
    pub deleted: bool,
    pub managed_fields: bool,
    pub wrap: bool,
    /// The first line on screen.
    pub top: usize,
    /// Rows the view had at its last size update, for paging.
    pub page: usize,
    pub search: String,
    pub search_input: Option<TextInput>,
    /// The line of the current search hit.
    pub hit: Option<usize>,
    /// What the last key found out ("no hit below"), shown until the next key.
    pub note: Option<String>,
}

impl ObjectView {
    pub fn new(target: ObjectTarget, uid: String, tab: ObjectTab, page: usize) -> Self {
        Self {
            target,
            uid,
            tab,
            doc: Doc::Loading,
            fetching: None,
            stale: false,
            deleted: false,
            managed_fields: false,
            wrap: false,
            top: 0,
            page,
            search: String::new(),
            search_input: None,
            hit: None,
            note: None,
        }
    }

    /// The first line the view may start at: the last page ends with the last line.
    fn max_top(&self, len: usize) -> usize {
        len.saturating_sub(self.page.max(1))
    }

    fn scroll(&mut self, delta: i64, len: usize) {
        let top = self.top as i64 + delta;
        self.top = top.clamp(0, self.max_top(len) as i64) as usize;
    }
}

/// The view's lines as shown (and searched).
pub fn lines(state: &State, v: &ObjectView) -> Vec<String> {
    match v.tab {
        ObjectTab::Yaml => match &v.doc {
            Doc::Loading => vec![format!("reading {}…", v.target.label())],
            Doc::Loaded(m) => m
                .text(v.managed_fields)
                .lines()
                .map(str::to_owned)
                .collect(),
            Doc::Failed(e) => vec![
                format!("{}: {}", e.what, e.why),
                String::new(),
                e.hint.clone(),
            ],
        },
        ObjectTab::Events => {
            if v.uid.is_empty() {
                return vec![format!("reading {}…", v.target.label())];
            }
            let events = state.cluster.events_of(&v.uid);
            if events.is_empty() {
                return vec![format!(
                    "no events about {} (Kubernetes keeps events for an hour by default)",
                    v.target.label()
                )];
            }
            event_table(state.now, &events)
        }
    }
}

/// Events as `kubectl describe` lists them: type, reason, age (`3m (x4 over 10m)`), source,
/// message; columns as wide as their widest cell.
pub fn event_table(now: jiff::Timestamp, events: &[&EventRow]) -> Vec<String> {
    let rows: Vec<[String; 5]> = events
        .iter()
        .map(|e| {
            let last = e.last_seen.or(e.first_seen);
            let when = if e.count > 1 {
                format!(
                    "{} (x{} over {})",
                    age(now, last),
                    e.count,
                    age(now, e.first_seen.or(last))
                )
            } else {
                age(now, last)
            };
            [
                if e.warning { "Warning" } else { "Normal" }.to_owned(),
                e.reason.clone(),
                when,
                e.source.clone(),
                e.message.clone(),
            ]
        })
        .collect();
    let header = ["Type", "Reason", "Age", "From", "Message"].map(str::to_owned);
    let under = ["----", "------", "----", "----", "-------"].map(str::to_owned);
    let mut widths = [0usize; 4];
    for r in [&header, &under].into_iter().chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(UnicodeWidthStr::width(cell.as_str()));
        }
    }
    std::iter::once(&header)
        .chain(std::iter::once(&under))
        .chain(&rows)
        .map(|r| {
            let mut line = String::new();
            for (w, cell) in widths.iter().zip(r) {
                line.push_str(cell);
                let pad = w - UnicodeWidthStr::width(cell.as_str()) + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
            line.push_str(&r[4]);
            line
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// update

fn view_mut(state: &mut State) -> Option<&mut ObjectView> {
    state.dialogs.iter_mut().rev().find_map(|d| match d {
        Dialog::Object(v) => Some(&mut **v),
        _ => None,
    })
}

fn view(state: &State) -> Option<&ObjectView> {
    state.dialogs.iter().rev().find_map(|d| match d {
        Dialog::Object(v) => Some(&**v),
        _ => None,
    })
}

/// What is selected, as an object to read: the pod, the workload, or the object the selected
/// event is about.
fn selected_object(state: &State) -> Option<(ObjectTarget, String)> {
    let kind = |name: &str| KindInfo::find(name);
    match state.focus {
        Focus::Pods => super::view::selected_pod(state).and_then(|p| {
            Some((
                ObjectTarget {
                    kind: kind("Pod")?,
                    namespace: p.namespace.clone(),
                    name: p.name.clone(),
                },
                p.uid.clone(),
            ))
        }),
        Focus::Deployments => super::view::selected_deployment(state).and_then(|d| {
            Some((
                ObjectTarget {
                    kind: kind(d.kind.api_kind())?,
                    namespace: d.namespace.clone(),
                    name: d.name.clone(),
                },
                d.uid.clone(),
            ))
        }),
        Focus::Events => {
            let items = super::view::timeline(state);
            let i = items.len().checked_sub(1 + state.nav.events.selected)?;
            match &items[i] {
                super::view::TimelineItem::Event(e) => {
                    let info = kind(&e.involved_kind)?;
                    Some((
                        ObjectTarget {
                            kind: info,
                            namespace: if info.namespaced {
                                e.namespace.clone()
                            } else {
                                String::new()
                            },
                            name: e.involved_name.clone(),
                        },
                        e.involved_uid.clone(),
                    ))
                }
                super::view::TimelineItem::Own(_) => None,
            }
        }
        Focus::Repositories | Focus::Tags => None,
    }
}

fn fetch(state: &mut State, fx: &mut Vec<Task>) {
    let id = TaskId(state.next_task);
    let Some(v) = view_mut(state) else {
        return;
    };
    if v.fetching.is_some() {
        v.stale = true;
        return;
    }
    v.fetching = Some(id);
    v.stale = false;
    let effect = Effect::FetchObject(v.target.clone());
    // Reads are not tasks the progress panel shows: only an id, no TaskView.
    state.next_task += 1;
    fx.push(Task { id, effect });
}

/// `y` / `e` on a pane: the selected object's YAML or events.
pub fn open_selected(state: &mut State, tab: ObjectTab, fx: &mut Vec<Task>) {
    let Some((target, uid)) = selected_object(state) else {
        let what = if tab == ObjectTab::Yaml {
            "yaml"
        } else {
            "events"
        };
        let why = match state.focus {
            Focus::Repositories | Focus::Tags => {
                "registry rows are not Kubernetes objects: select a workload, a pod or an event"
            }
            Focus::Events => "the selected line is berth's own, not a cluster event",
            _ => "select a workload, a pod or an event first",
        };
        super::notices::notify(state, Notice::warning(format!("{what}: {why}")));
        return;
    };
    open(state, target, uid, tab, fx);
}

/// Open the view on `target` (from a pane or `:yaml`).
pub fn open(
    state: &mut State,
    target: ObjectTarget,
    uid: String,
    tab: ObjectTab,
    fx: &mut Vec<Task>,
) {
    let page = usize::from(state.height.saturating_sub(2));
    state.dialogs.retain(|d| !matches!(d, Dialog::Object(_)));
    state.dialogs.push(Dialog::Object(Box::new(ObjectView::new(
        target, uid, tab, page,
    ))));
    fetch(state, fx);
}

/// Whether a model event is about the object in view (then its YAML is read again).
fn touches(v: &ObjectView, event: &ModelEvent) -> Option<bool> {
    let same = |kind: &str, ns: &str, name: &str| {
        v.target.kind.kind == kind
            && (v.target.namespace == ns || !v.target.kind.namespaced)
            && v.target.name == name
    };
    let key_is = |key: &RowKey| match key {
        RowKey::Pod(r) => same("Pod", &r.namespace, &r.name),
        RowKey::Workload(k, r) => same(k.api_kind(), &r.namespace, &r.name),
        RowKey::ReplicaSet(r) => same("ReplicaSet", &r.namespace, &r.name),
        RowKey::ControllerRevision(r) => same("ControllerRevision", &r.namespace, &r.name),
        RowKey::ServiceAccount(r) => same("ServiceAccount", &r.namespace, &r.name),
        RowKey::SecretMeta(r) => same("Secret", &r.namespace, &r.name),
        RowKey::Namespace(n) => same("Namespace", "", n),
        RowKey::Event { .. } => false,
    };
    match event {
        ModelEvent::Upsert(row) => key_is(&row.key()).then_some(false),
        ModelEvent::Delete(key) => key_is(key).then_some(true),
        _ => None,
    }
}

/// A cluster change: read the object again if it is the one in view.
pub fn model_changed(state: &mut State, event: &ModelEvent, fx: &mut Vec<Task>) {
    let Some(v) = view_mut(state) else {
        return;
    };
    if let ModelEvent::Upsert(Row::Event(e)) = event {
        // The events tab draws from the model; only a new event of this object redraws.
        state.dirty |= v.tab == ObjectTab::Events && !v.uid.is_empty() && e.involved_uid == v.uid;
        return;
    }
    match touches(v, event) {
        Some(true) => {
            v.deleted = true;
            state.dirty = true;
        }
        Some(false) => {
            v.deleted = false;
            fetch(state, fx);
        }
        None => {}
    }
}

/// A read ended (`true` when it was the view's).
pub fn fetched(state: &mut State, id: TaskId, result: TaskResult, fx: &mut Vec<Task>) -> bool {
    let Some(v) = view_mut(state) else {
        return false;
    };
    if v.fetching != Some(id) {
        return false;
    }
    v.fetching = None;
    match result {
        Ok(TaskOutcome::Object(m)) => {
            if v.uid.is_empty() {
                v.uid = m.uid.clone();
            }
            v.doc = Doc::Loaded(m);
        }
        Ok(other) => {
            v.doc = Doc::Failed(TaskError {
                what: format!("read {}", v.target.label()),
                why: format!("the runner answered without the object ({other:?})"),
                hint: "this is a bug in berth; please report it".to_owned(),
                sticky: false,
            });
        }
        // A read that fails after one worked keeps the YAML shown and says so.
        Err(e) => match &v.doc {
            Doc::Loaded(_) => v.note = Some(format!("could not read it again: {}", e.why)),
            _ => v.doc = Doc::Failed(e),
        },
    }
    let len = lines(state, view(state).expect("the view is open")).len();
    let v = view_mut(state).expect("the view is open");
    v.top = v.top.min(v.max_top(len));
    if v.stale {
        fetch(state, fx);
    }
    state.dirty = true;
    true
}

/// Keys while the search is typed: the line editor's; enter jumps to the first hit below.
pub fn on_text_key(state: &mut State, key: Key) -> bool {
    let Some(v) = view_mut(state) else {
        return false;
    };
    let Some(input) = v.search_input.as_mut() else {
        return false;
    };
    match edit_search(input, key) {
        SearchKey::Cancel => v.search_input = None,
        SearchKey::Submit => {
            v.search = input.text.clone();
            v.search_input = None;
            v.hit = None;
            let from = v.top;
            jump(state, from, false);
        }
        SearchKey::Edited => {}
        SearchKey::Ignored => state.dirty = false,
    }
    true
}

/// Move to the hit nearest `from` (inclusive), down or up; say so when there is none.
fn jump(state: &mut State, from: usize, up: bool) {
    let Some(v) = view(state) else {
        return;
    };
    if v.search.is_empty() {
        return;
    }
    let all = lines(state, v);
    let hit = |i: &usize| !find_all(&all[*i], &v.search).is_empty();
    let found = if up {
        (0..=from.min(all.len().saturating_sub(1))).rev().find(hit)
    } else {
        (from..all.len()).find(hit)
    };
    let len = all.len();
    let v = view_mut(state).expect("the view is open");
    match found {
        Some(i) => {
            v.hit = Some(i);
            let page = v.page.max(1);
            if i < v.top || i >= v.top + page {
                // Off screen: bring it to a third of the way down, as less does with -j.
                v.top = i.saturating_sub(page / 3).min(v.max_top(len));
            }
        }
        None => {
            let which = if up { "above" } else { "below" };
            v.note = Some(format!("no {:?} {which}", v.search));
        }
    }
}

pub const HINTS: &[Command] = &[Command::Search, Command::Cancel];

/// The object layer's commands.
pub fn on_command(state: &mut State, cmd: Command, fx: &mut Vec<Task>) {
    let Some(v) = view(state) else {
        return;
    };
    let len = lines(state, v).len();
    let v = view_mut(state).expect("the view is open");
    let page = v.page.max(1) as i64;
    v.note = None;
    match cmd {
        Command::Help => state.dialogs.push(Dialog::Help),
        Command::Cancel => state.dialogs.retain(|d| !matches!(d, Dialog::Object(_))),
        Command::Up => v.scroll(-1, len),
        Command::Down => v.scroll(1, len),
        Command::PageUp => v.scroll(-page, len),
        Command::PageDown => v.scroll(page, len),
        Command::Top => v.top = 0,
        Command::Bottom => v.top = v.max_top(len),
        Command::ToggleWrap => v.wrap = !v.wrap,
        Command::ToggleManagedFields => {
            v.managed_fields = !v.managed_fields;
            v.hit = None;
            if v.tab != ObjectTab::Yaml {
                v.tab = ObjectTab::Yaml;
                v.top = 0;
            }
        }
        Command::Yaml | Command::Events => {
            let tab = if cmd == Command::Yaml {
                ObjectTab::Yaml
            } else {
                ObjectTab::Events
            };
            if v.tab != tab {
                v.tab = tab;
                v.top = 0;
                v.hit = None;
            }
        }
        Command::Refresh => fetch(state, fx),
        Command::Search => v.search_input = Some(TextInput::new(&v.search)),
        Command::SearchNext | Command::SearchPrev => {
            let up = cmd == Command::SearchPrev;
            let from = match v.hit {
                Some(h) if up => match h.checked_sub(1) {
                    Some(f) => f,
                    None => {
                        v.note = Some(format!("no {:?} above", v.search));
                        return;
                    }
                },
                Some(h) => h + 1,
                None => v.top,
            };
            jump(state, from, up);
        }
        _ => state.dirty = false,
    }
}

/// The view's page height follows the terminal's.
pub fn resized(state: &mut State) {
    let rows = usize::from(state.height.saturating_sub(2));
    if let Some(v) = view_mut(state) {
        v.page = rows;
    }
}

/// `:yaml KIND/NAME` (in the namespace in view); `:yaml` alone is `y`.
pub fn open_named(state: &mut State, arg: &str, fx: &mut Vec<Task>) -> Result<(), String> {
    if arg.is_empty() {
        // As `y`: the selected object.
        open_selected(state, ObjectTab::Yaml, fx);
        return Ok(());
    }
    let target = ObjectTarget::parse(arg, &state.namespace)?;
    open(state, target, String::new(), ObjectTab::Yaml, fx);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn event(reason: &str, count: i32, first: i64, last: i64, warning: bool) -> EventRow {
        let now = Timestamp::from_second(10_000).unwrap();
        EventRow {
            reason: reason.to_owned(),
            message: format!("{reason} happened"),
            warning,
            count,
            first_seen: Some(now - jiff::SignedDuration::from_secs(first)),
            last_seen: Some(now - jiff::SignedDuration::from_secs(last)),
            source: "kubelet".to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn events_read_as_kubectl_describe_lists_them() {
        let now = Timestamp::from_second(10_000).unwrap();
        let a = event("Pulling", 1, 300, 300, false);
        let b = event("BackOff", 4, 600, 5, true);
        // Ages narrower than the `----` under "Age" (as kubectl underlines it).
        let short = event_table(now, &[&event("Pulled", 1, 5, 5, false)]);
        assert_eq!(short[1], "----    ------  ----  ----     -------");
        assert_eq!(short[2], "Normal  Pulled  5s    kubelet  Pulled happened");
        let t = event_table(now, &[&a, &b]);
        let row = |c: [&str; 5]| format!("{:<9}{:<9}{:<18}{:<9}{}", c[0], c[1], c[2], c[3], c[4]);
        assert_eq!(t[0], row(["Type", "Reason", "Age", "From", "Message"]));
        assert_eq!(t[1], row(["----", "------", "----", "----", "-------"]));
        assert_eq!(
            t[2],
            row(["Normal", "Pulling", "5m", "kubelet", "Pulling happened"])
        );
        assert_eq!(
            t[3],
            row([
                "Warning",
                "BackOff",
                "5s (x4 over 10m)",
                "kubelet",
                "BackOff happened"
            ])
        );
    }
}
