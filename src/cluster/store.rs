//! THE cluster model: plain data owned by one place (the TUI's `update`, a headless command, a
//! test or a bench), changed only through [`ClusterModel::apply`]. No locks, no I/O. The
//! dashboard and `berth rollout status` read the same rows, so they cannot disagree.
//!
//! Indexes by uid make the owner joins (Deployment → ReplicaSet → Pod, events → their object)
//! cheap, and each Deployment's `rollout` is recomputed whenever one of its ReplicaSets or pods
//! changes, so the early "stuck" rule (see [`super::rollout`]) stays current. Two more indexes
//! make a frame cost what is visible: where each image digest runs, and the events of each
//! workload (by name, so they outlive the pods and ReplicaSets they were about).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::model::{
    ConnectionState, DeploymentRow, EventRow, Kind, ModelEvent, ModelUpdate, NamespaceRow,
    ObjectRef, PodRow, Probe, ReplicaSetRow, Row, RowKey, SecretMetaRow, ServiceAccountRow,
    WatchScope, WorkloadKind,
};
use super::rollout;

type EventKey = (String, String);
/// (namespace, workload name).
type WorkloadName = (String, String);
/// A workload's key: a Deployment and a StatefulSet may share a name.
type WorkloadKey = (ObjectRef, WorkloadKind);
/// A revision's key: a ReplicaSet and a ControllerRevision (`true`) may share a name.
type RevisionKey = (ObjectRef, bool);

/// One revision of a deployment: its ReplicaSet and the pods it owns.
#[derive(Debug)]
pub struct RevisionView<'a> {
    pub revision: Option<i64>,
    pub replica_set: &'a ReplicaSetRow,
    pub pods: Vec<&'a PodRow>,
    /// The deployment's current revision.
    pub current: bool,
}

#[derive(Clone, Debug, Default)]
pub struct ClusterModel {
    epoch: u64,
    namespaces: BTreeMap<String, NamespaceRow>,
    /// Workloads of every kind, by namespace, name, kind.
    deployments: BTreeMap<WorkloadKey, DeploymentRow>,
    /// ReplicaSets and ControllerRevisions.
    replica_sets: BTreeMap<RevisionKey, ReplicaSetRow>,
    pods: BTreeMap<ObjectRef, PodRow>,
    events: BTreeMap<EventKey, EventRow>,
    service_accounts: BTreeMap<ObjectRef, ServiceAccountRow>,
    secrets: BTreeMap<ObjectRef, SecretMetaRow>,

    deployment_by_uid: HashMap<String, WorkloadKey>,
    rs_by_uid: HashMap<String, RevisionKey>,
    pod_by_uid: HashMap<String, ObjectRef>,
    rs_by_owner: HashMap<String, BTreeSet<RevisionKey>>,
    pods_by_owner: HashMap<String, BTreeSet<ObjectRef>>,
    events_by_involved: HashMap<String, BTreeSet<EventKey>>,
    /// Events of a deployment, its ReplicaSets and its pods, by the workload's name.
    events_by_workload: HashMap<WorkloadName, BTreeSet<EventKey>>,
    /// Image digest (`sha256:…`) → where it runs (`namespace/workload`) → pod count, kept on
    /// every pod change so the registry pane never walks the pods.
    digest_where: HashMap<String, HashMap<String, usize>>,

    /// Each watch's state as its watcher reported it (owner: the watcher); what the model
    /// reports is derived, see [`Self::connections`].
    connections: BTreeMap<WatchScope, ConnectionState>,
    /// The liveness probe's last answer (owner: the probe); `None` until one arrives (or when
    /// no probe runs, as in a short headless command).
    apiserver: Option<Probe>,
    /// Per watch, the last time its rows were confirmed current: its last complete list, or a
    /// later probe the apiserver answered while the watch was live (and relisted since any loss).
    synced: BTreeMap<WatchScope, jiff::Timestamp>,
    /// Watches that must relist before they count as live again: marked when the probe fails
    /// (after an outage nobody knows whether a watch connection survived), cleared by the
    /// watch's next `Resynced`.
    relist_pending: BTreeSet<WatchScope>,
    /// During a resync, deployments whose rollout must be recomputed once at the end (instead
    /// of once per pod: quadratic for a deployment with thousands of pods).
    deferred_rollouts: Option<BTreeSet<String>>,
    /// Bumped on every change, so a UI can tell cheaply whether to redraw.
    version: u64,
    /// Bumped when `digest_where` changes: the registry pane shows where a digest runs in
    /// every namespace, so such a change is visible whichever namespace is on screen.
    where_version: u64,
}

fn oref(namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    }
}

fn index_insert<K: Ord>(idx: &mut HashMap<String, BTreeSet<K>>, owner: &str, key: K) {
    idx.entry(owner.to_owned()).or_default().insert(key);
}

fn index_remove<K: Ord>(idx: &mut HashMap<String, BTreeSet<K>>, owner: &str, key: &K) {
    if let Some(set) = idx.get_mut(owner) {
        set.remove(key);
        if set.is_empty() {
            idx.remove(owner);
        }
    }
}

impl ClusterModel {
    pub fn new(epoch: u64) -> Self {
        Self {
            epoch,
            ..Self::default()
        }
    }

    /// Forget everything and accept only updates of `epoch` from now on (a context switch:
    /// call with the epoch of the new [`super::watch::Watchers`]).
    pub fn reset(&mut self, epoch: u64) {
        let (version, where_version) = (self.version + 1, self.where_version + 1);
        *self = Self::new(epoch);
        self.version = version;
        self.where_version = where_version;
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Changes whenever the model changes.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Changes whenever [`Self::where_running`] may answer differently for some digest.
    pub fn where_version(&self) -> u64 {
        self.where_version
    }

    /// Applies one watcher message; returns whether anything changed. Messages of an older
    /// epoch (tasks of a previous context still draining) are ignored; the first message of a
    /// newer one (the watchers of a new context) starts the model afresh.
    pub fn apply(&mut self, update: ModelUpdate) -> bool {
        if update.epoch < self.epoch {
            return false;
        }
        let renewed = update.epoch > self.epoch;
        if renewed {
            self.reset(update.epoch);
        }
        let changed = self.apply_event(update.event) || renewed;
        if changed {
            self.version += 1;
        }
        changed
    }

    fn apply_event(&mut self, event: ModelEvent) -> bool {
        match event {
            ModelEvent::Upsert(row) => self.upsert(row),
            ModelEvent::Delete(key) => self.delete(&key),
            ModelEvent::Resynced { scope, rows, at } => {
                let confirmed = self.synced.entry(scope.clone()).or_insert(at);
                *confirmed = (*confirmed).max(at);
                let keep: BTreeSet<RowKey> = rows.iter().map(Row::key).collect();
                let stale: Vec<RowKey> = self
                    .keys_covered(&scope)
                    .into_iter()
                    .filter(|k| !keep.contains(k))
                    .collect();
                let mut changed = false;
                self.deferred_rollouts = Some(BTreeSet::new());
                changed |= self.relist_pending.remove(&scope);
                for k in stale {
                    changed |= self.delete(&k);
                }
                for row in rows {
                    changed |= self.upsert(row);
                }
                for uid in self.deferred_rollouts.take().unwrap_or_default() {
                    self.refresh_rollout(Some(&uid));
                }
                changed
            }
            ModelEvent::Connection { scope, state } => {
                self.connections.insert(scope, state.clone()) != Some(state)
            }
            ModelEvent::Probe(probe) => self.apply_probe(probe),
        }
    }

    /// The probe's answer: a failure marks every watch with rows for a relist; a success
    /// confirms the rows of the watches that are live (and relisted since any loss). Changed =
    /// visible: up ↔ down, or another reason while down (a confirmation alone redraws nothing).
    fn apply_probe(&mut self, probe: Probe) -> bool {
        let before = self.apiserver.as_ref().and_then(|p| p.error.clone());
        if probe.error.is_some() {
            for (scope, state) in &self.connections {
                if matches!(
                    state,
                    ConnectionState::Live | ConnectionState::Reconnecting { .. }
                ) {
                    self.relist_pending.insert(scope.clone());
                }
            }
        } else {
            for (scope, state) in &self.connections {
                if *state == ConnectionState::Live && !self.relist_pending.contains(scope) {
                    self.synced.insert(scope.clone(), probe.at);
                }
            }
        }
        let changed = before != probe.error;
        self.apiserver = Some(probe);
        changed
    }

    /// What a watch's rows are worth now, from its watcher's report and the probe's.
    fn derived_state(&self, scope: &WatchScope, reported: &ConnectionState) -> ConnectionState {
        let since = self.synced.get(scope).copied();
        match reported {
            ConnectionState::Live => match self.apiserver_down() {
                Some(error) => ConnectionState::Stale { since, error },
                None if self.relist_pending.contains(scope) => ConnectionState::Stale {
                    since,
                    error: "relisting after the apiserver came back".to_owned(),
                },
                None => ConnectionState::Live,
            },
            ConnectionState::Reconnecting { error } => ConnectionState::Stale {
                since,
                error: error.clone(),
            },
            other => other.clone(),
        }
    }

    /// Why the apiserver is down, when the probe's last answer says so.
    pub fn apiserver_down(&self) -> Option<String> {
        self.apiserver
            .as_ref()
            .and_then(|p| p.error.as_ref())
            .map(|e| format!("apiserver {e}"))
    }

    /// Keys of the rows a watch scope covers.
    fn keys_covered(&self, scope: &WatchScope) -> Vec<RowKey> {
        let in_ns = |ns: &str| scope.namespace.as_deref().is_none_or(|s| s == ns);
        match scope.kind {
            Kind::Namespace => self
                .namespaces
                .keys()
                .filter(|n| in_ns(n))
                .map(|n| RowKey::Namespace(n.clone()))
                .collect(),
            Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet => self
                .deployments
                .keys()
                .filter(|(k, kind)| in_ns(&k.namespace) && kind.watch_kind() == scope.kind)
                .map(|(k, kind)| RowKey::Workload(*kind, k.clone()))
                .collect(),
            Kind::ReplicaSet | Kind::ControllerRevision => {
                let cr = scope.kind == Kind::ControllerRevision;
                self.replica_sets
                    .keys()
                    .filter(|(k, is_cr)| in_ns(&k.namespace) && *is_cr == cr)
                    .map(|(k, _)| {
                        if cr {
                            RowKey::ControllerRevision(k.clone())
                        } else {
                            RowKey::ReplicaSet(k.clone())
                        }
                    })
                    .collect()
            }
            Kind::Pod => refs_in(&self.pods, in_ns, RowKey::Pod),
            Kind::ServiceAccount => refs_in(&self.service_accounts, in_ns, RowKey::ServiceAccount),
            Kind::SecretMeta => self
                .secrets
                .iter()
                .filter(|(k, r)| {
                    in_ns(&k.namespace) && scope.secret_type.as_ref().is_none_or(|t| *t == r.type_)
                })
                .map(|(k, _)| RowKey::SecretMeta(k.clone()))
                .collect(),
            Kind::Event => self
                .events
                .keys()
                .filter(|(ns, _)| in_ns(ns))
                .map(|(ns, uid)| RowKey::Event {
                    namespace: ns.clone(),
                    uid: uid.clone(),
                })
                .collect(),
        }
    }

    fn upsert(&mut self, row: Row) -> bool {
        match row {
            Row::Namespace(r) => replace(&mut self.namespaces, r.name.clone(), r),
            Row::ServiceAccount(r) => {
                replace(&mut self.service_accounts, oref(&r.namespace, &r.name), r)
            }
            Row::SecretMeta(r) => replace(&mut self.secrets, oref(&r.namespace, &r.name), r),
            Row::Workload(mut r) => {
                let key = (oref(&r.namespace, &r.name), r.kind);
                if let Some(old) = self.deployments.get(&key)
                    && old.uid != r.uid
                {
                    self.deployment_by_uid.remove(&old.uid);
                }
                self.deployment_by_uid.insert(r.uid.clone(), key.clone());
                (r.rollout, r.revision) = self.compute_rollout(&r);
                replace(&mut self.deployments, key, r)
            }
            Row::ReplicaSet(r) => {
                let key = (oref(&r.namespace, &r.name), r.controller_revision);
                if self.replica_sets.get(&key) == Some(&r) {
                    return false; // as for events: an unchanged row keeps its index entries
                }
                let old_owner = self.unindex_rs(&key);
                self.rs_by_uid.insert(r.uid.clone(), key.clone());
                if let Some(o) = &r.owner_uid {
                    index_insert(&mut self.rs_by_owner, o, key.clone());
                }
                let owner = r.owner_uid.clone();
                let changed = replace(&mut self.replica_sets, key, r);
                self.refresh_rollout(old_owner.as_deref());
                if owner != old_owner {
                    self.refresh_rollout(owner.as_deref());
                }
                changed
            }
            Row::Pod(r) => {
                let key = oref(&r.namespace, &r.name);
                // The common change (a status): same pod, owner and digests. Only the row
                // changes; the indexes stay as they are.
                if let Some(old) = self.pods.get(&key)
                    && old.uid == r.uid
                    && old.owner_uid == r.owner_uid
                    && same_place(old, &r)
                {
                    let owner = r.owner_uid.clone();
                    let changed = replace(&mut self.pods, key, r);
                    if changed {
                        self.refresh_rollout_of_rs(owner.as_deref());
                    }
                    return changed;
                }
                let old_owner = self.unindex_pod(&key);
                self.pod_by_uid.insert(r.uid.clone(), key.clone());
                if has_digests(&r) {
                    self.where_version += 1;
                }
                count_digests(&mut self.digest_where, &r, 1);
                if let Some(o) = &r.owner_uid {
                    index_insert(&mut self.pods_by_owner, o, key.clone());
                }
                let owner = r.owner_uid.clone();
                let changed = replace(&mut self.pods, key, r);
                if changed {
                    self.refresh_rollout_of_rs(old_owner.as_deref());
                    if owner != old_owner {
                        self.refresh_rollout_of_rs(owner.as_deref());
                    }
                }
                changed
            }
            Row::Event(r) => {
                let key = (r.namespace.clone(), r.uid.clone());
                // A relist brings back every event unchanged: leave the row and its index
                // entries as they are. Re-indexing them allocated 20,000 new keys among the
                // relist's own (soon freed) rows, and those scattered live keys kept ~15 MB of
                // pages from ever being returned (the soak's RSS step after a 410 Gone).
                let workload = self.workload_of_event(&r);
                let indexed_there = || match &workload {
                    Some(w) => self
                        .events_by_workload
                        .get(&(r.namespace.clone(), w.clone()))
                        .is_some_and(|set| set.contains(&key)),
                    None => true,
                };
                if self.events.get(&key) == Some(&r) && indexed_there() {
                    return false;
                }
                self.unindex_event(&key);
                if !r.involved_uid.is_empty() {
                    index_insert(&mut self.events_by_involved, &r.involved_uid, key.clone());
                }
                if let Some(w) = workload {
                    self.events_by_workload
                        .entry((r.namespace.clone(), w))
                        .or_default()
                        .insert(key.clone());
                }
                replace(&mut self.events, key, r)
            }
        }
    }

    /// Removes a ReplicaSet's index entries; returns its old owner uid.
    fn unindex_rs(&mut self, key: &RevisionKey) -> Option<String> {
        let old = self.replica_sets.get(key)?;
        let (uid, owner) = (old.uid.clone(), old.owner_uid.clone());
        self.rs_by_uid.remove(&uid);
        if let Some(o) = &owner {
            index_remove(&mut self.rs_by_owner, o, key);
        }
        owner
    }

    fn unindex_pod(&mut self, key: &ObjectRef) -> Option<String> {
        let old = self.pods.get(key)?;
        if has_digests(old) {
            self.where_version += 1;
        }
        count_digests(&mut self.digest_where, old, -1);
        let (uid, owner) = (old.uid.clone(), old.owner_uid.clone());
        self.pod_by_uid.remove(&uid);
        if let Some(o) = &owner {
            index_remove(&mut self.pods_by_owner, o, key);
        }
        owner
    }

    fn delete(&mut self, key: &RowKey) -> bool {
        match key {
            RowKey::Namespace(n) => self.namespaces.remove(n).is_some(),
            RowKey::ServiceAccount(k) => self.service_accounts.remove(k).is_some(),
            RowKey::SecretMeta(k) => self.secrets.remove(k).is_some(),
            RowKey::Workload(kind, k) => match self.deployments.remove(&(k.clone(), *kind)) {
                Some(old) => {
                    self.deployment_by_uid.remove(&old.uid);
                    true
                }
                None => false,
            },
            RowKey::ReplicaSet(k) | RowKey::ControllerRevision(k) => {
                let key = (k.clone(), matches!(key, RowKey::ControllerRevision(_)));
                let owner = self.unindex_rs(&key);
                let removed = self.replica_sets.remove(&key).is_some();
                self.refresh_rollout(owner.as_deref());
                removed
            }
            RowKey::Pod(k) => {
                let owner = self.unindex_pod(k);
                let removed = self.pods.remove(k).is_some();
                self.refresh_rollout_of_rs(owner.as_deref());
                removed
            }
            RowKey::Event { namespace, uid } => {
                let key = (namespace.clone(), uid.clone());
                self.unindex_event(&key);
                self.events.remove(&key).is_some()
            }
        }
    }

    fn unindex_event(&mut self, key: &EventKey) {
        let Some(old) = self.events.get(key) else {
            return;
        };
        let involved = old.involved_uid.clone();
        let workload = self.workload_of_event(old);
        index_remove(&mut self.events_by_involved, &involved, key);
        if let Some(w) = workload {
            let wk = (key.0.clone(), w);
            if let Some(set) = self.events_by_workload.get_mut(&wk) {
                set.remove(key);
                if set.is_empty() {
                    self.events_by_workload.remove(&wk);
                }
            }
        }
    }

    /// The workload (by name) an event is about, directly or through its ReplicaSet or pod:
    /// by name, because the timeline must keep the events of pods already replaced.
    fn workload_of_event(&self, e: &EventRow) -> Option<String> {
        match e.involved_kind.as_str() {
            "Deployment" | "StatefulSet" | "DaemonSet" => Some(e.involved_name.clone()),
            "ReplicaSet" | "ControllerRevision" => {
                Some(workload_of_rs_name(&e.involved_name).to_owned())
            }
            "Pod" => {
                let name = &e.involved_name;
                if let Some(p) = self.pods.get(&oref(&e.namespace, name))
                    && (p.workload.is_some() || p.pod_template_hash.is_some())
                {
                    return Some(workload_of_pod(p).to_owned());
                }
                // Pod gone, not seen yet or without owner facts: a StatefulSet's `<name>-<ordinal>`, else the
                // generated `-<hash>-<suffix>` of a ReplicaSet's (five characters) or a
                // DaemonSet's `-<suffix>`.
                let parts: Vec<&str> = name.rsplitn(3, '-').collect();
                Some(match parts.as_slice() {
                    [ordinal, ..]
                        if ordinal.len() <= 4 && ordinal.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        name[..name.len() - ordinal.len() - 1].to_owned()
                    }
                    [_, _, w] => (*w).to_owned(),
                    _ => name.clone(),
                })
            }
            _ => None,
        }
    }

    /// The workload's rollout state and revision. A Deployment carries its revision in an
    /// annotation; a StatefulSet's or DaemonSet's is its current ControllerRevision's.
    fn compute_rollout(&self, d: &DeploymentRow) -> (super::model::RolloutState, Option<i64>) {
        let owned = self.replica_sets_of_uid(&d.uid);
        let current = rollout::new_replica_set(d, owned);
        let pods = current
            .map(|rs| self.pods_of_revision(d, rs))
            .unwrap_or_default();
        let revision = match d.kind {
            WorkloadKind::Deployment => d.revision,
            _ => current.and_then(|rs| rs.revision),
        };
        (rollout::rollout_state(d, pods), revision)
    }

    /// The pods of one revision: a ReplicaSet's own, or those of a StatefulSet's/DaemonSet's
    /// pods whose `controller-revision-hash` names the ControllerRevision.
    /// The pods of `d` that run revision `rs`.
    pub fn pods_of_revision(&self, d: &DeploymentRow, rs: &ReplicaSetRow) -> Vec<&PodRow> {
        if rs.controller_revision {
            self.pods_of_uid(&d.uid)
                .into_iter()
                .filter(|p| rollout::runs_revision(p, rs))
                .collect()
        } else {
            self.pods_of_uid(&rs.uid)
        }
    }

    fn refresh_rollout(&mut self, deployment_uid: Option<&str>) {
        if let (Some(deferred), Some(uid)) = (self.deferred_rollouts.as_mut(), deployment_uid) {
            deferred.insert(uid.to_owned());
            return;
        }
        let Some(key) = deployment_uid.and_then(|u| self.deployment_by_uid.get(u)) else {
            return;
        };
        let key = key.clone();
        if let Some(d) = self.deployments.get(&key) {
            let (state, revision) = self.compute_rollout(d);
            if let Some(d) = self.deployments.get_mut(&key) {
                d.rollout = state;
                d.revision = revision;
            }
        }
    }

    /// After a pod of `owner_uid` changed: its ReplicaSet's deployment, or the StatefulSet or
    /// DaemonSet that owns it directly.
    fn refresh_rollout_of_rs(&mut self, owner_uid: Option<&str>) {
        let Some(uid) = owner_uid else { return };
        if self.deployment_by_uid.contains_key(uid) {
            let uid = uid.to_owned();
            self.refresh_rollout(Some(&uid));
            return;
        }
        let owner = self
            .rs_by_uid
            .get(uid)
            .and_then(|k| self.replica_sets.get(k))
            .and_then(|rs| rs.owner_uid.clone());
        self.refresh_rollout(owner.as_deref());
    }

    fn replica_sets_of_uid(&self, deployment_uid: &str) -> Vec<&ReplicaSetRow> {
        self.rs_by_owner
            .get(deployment_uid)
            .into_iter()
            .flatten()
            .filter_map(|k| self.replica_sets.get(k))
            .collect()
    }

    fn pods_of_uid(&self, rs_uid: &str) -> Vec<&PodRow> {
        self.pods_by_owner
            .get(rs_uid)
            .into_iter()
            .flatten()
            .filter_map(|k| self.pods.get(k))
            .collect()
    }

    // ---- queries -------------------------------------------------------------------------

    pub fn namespaces(&self) -> impl Iterator<Item = &NamespaceRow> {
        self.namespaces.values()
    }

    /// Deployments sorted by namespace, then name.
    pub fn deployments(&self) -> impl Iterator<Item = &DeploymentRow> {
        self.deployments.values()
    }

    /// Workloads of every kind in a namespace, by name (then Deployment, StatefulSet,
    /// DaemonSet).
    pub fn deployments_in<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = &'a DeploymentRow> {
        self.deployments
            .range((oref(ns, ""), WorkloadKind::Deployment)..)
            .take_while(move |((k, _), _)| k.namespace == ns)
            .map(|(_, v)| v)
    }

    /// A Deployment by name.
    pub fn deployment(&self, namespace: &str, name: &str) -> Option<&DeploymentRow> {
        self.workload(WorkloadKind::Deployment, namespace, name)
    }

    pub fn workload(
        &self,
        kind: WorkloadKind,
        namespace: &str,
        name: &str,
    ) -> Option<&DeploymentRow> {
        self.deployments.get(&(oref(namespace, name), kind))
    }

    pub fn deployment_by_uid(&self, uid: &str) -> Option<&DeploymentRow> {
        self.deployments.get(self.deployment_by_uid.get(uid)?)
    }

    pub fn replica_sets(&self) -> impl Iterator<Item = &ReplicaSetRow> {
        self.replica_sets.values()
    }

    pub fn replica_set_by_uid(&self, uid: &str) -> Option<&ReplicaSetRow> {
        self.replica_sets.get(self.rs_by_uid.get(uid)?)
    }

    /// The deployment's ReplicaSets, newest revision first.
    pub fn replica_sets_of(&self, d: &DeploymentRow) -> Vec<&ReplicaSetRow> {
        let mut v = self.replica_sets_of_uid(&d.uid);
        v.sort_by(|a, b| b.revision.cmp(&a.revision).then(a.name.cmp(&b.name)));
        v
    }

    pub fn pods(&self) -> impl Iterator<Item = &PodRow> {
        self.pods.values()
    }

    pub fn pods_in<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = &'a PodRow> {
        self.pods
            .range(oref(ns, "")..)
            .take_while(move |(k, _)| k.namespace == ns)
            .map(|(_, v)| v)
    }

    pub fn pod(&self, namespace: &str, name: &str) -> Option<&PodRow> {
        self.pods.get(&oref(namespace, name))
    }

    pub fn pod_by_uid(&self, uid: &str) -> Option<&PodRow> {
        self.pods.get(self.pod_by_uid.get(uid)?)
    }

    /// Pods owned by a ReplicaSet, sorted by name.
    pub fn pods_of_replica_set(&self, rs: &ReplicaSetRow) -> Vec<&PodRow> {
        self.pods_of_uid(&rs.uid)
    }

    /// Every pod of a workload: a deployment's through its ReplicaSets (newest first), a
    /// StatefulSet's or DaemonSet's its own (by name).
    pub fn pods_of(&self, d: &DeploymentRow) -> Vec<&PodRow> {
        if d.kind != WorkloadKind::Deployment {
            return self.pods_of_uid(&d.uid);
        }
        self.replica_sets_of(d)
            .into_iter()
            .flat_map(|rs| self.pods_of_uid(&rs.uid))
            .collect()
    }

    /// The workload a pod belongs to (pod → ReplicaSet → Deployment, or pod → StatefulSet or
    /// DaemonSet).
    pub fn deployment_of_pod(&self, pod: &PodRow) -> Option<&DeploymentRow> {
        let owner = pod.owner_uid.as_deref()?;
        if let Some(d) = self.deployment_by_uid(owner) {
            return Some(d);
        }
        let rs = self.replica_set_by_uid(owner)?;
        self.deployment_by_uid(rs.owner_uid.as_deref()?)
    }

    /// Revisions of a deployment, newest first, each with its pods.
    pub fn revisions(&self, d: &DeploymentRow) -> Vec<RevisionView<'_>> {
        let owned = self.replica_sets_of(d);
        let current = rollout::new_replica_set(d, owned.iter().copied()).map(|rs| rs.uid.clone());
        owned
            .into_iter()
            .map(|rs| RevisionView {
                revision: rs.revision,
                replica_set: rs,
                pods: self.pods_of_revision(d, rs),
                current: current.as_deref() == Some(rs.uid.as_str()),
            })
            .collect()
    }

    /// Events of a deployment, its ReplicaSets and their pods, oldest first. Matched by name
    /// (`<deploy>-<hash>` and `<deploy>-<hash>-<suffix>`), so a pod that failed and was
    /// replaced keeps its history.
    pub fn events_of_deployment(&self, d: &DeploymentRow) -> Vec<&EventRow> {
        let mut out: Vec<&EventRow> = self.events_of_workload(&d.namespace, &d.name).collect();
        out.sort_by(|a, b| a.last_seen.cmp(&b.last_seen).then(a.uid.cmp(&b.uid)));
        out
    }

    /// Events about a workload, its ReplicaSets and its pods, in no particular order (one
    /// lookup: callers sort what they show).
    pub fn events_of_workload<'a>(
        &'a self,
        namespace: &str,
        workload: &str,
    ) -> impl Iterator<Item = &'a EventRow> + 'a {
        self.events_by_workload
            .get(&(namespace.to_owned(), workload.to_owned()))
            .into_iter()
            .flatten()
            .filter_map(|k| self.events.get(k))
    }

    /// Keys of a deployment's pods, newest ReplicaSet first, without touching the rows.
    pub fn pod_keys_of_deployment<'a>(
        &'a self,
        d: &DeploymentRow,
    ) -> impl Iterator<Item = &'a ObjectRef> + 'a {
        let owners: Vec<String> = if d.kind == WorkloadKind::Deployment {
            self.replica_sets_of(d)
                .into_iter()
                .map(|rs| rs.uid.clone())
                .collect()
        } else {
            vec![d.uid.clone()]
        };
        owners
            .into_iter()
            .flat_map(move |o| self.pods_by_owner.get(&o).into_iter().flatten())
    }

    pub fn pod_count_of_deployment(&self, d: &DeploymentRow) -> usize {
        if d.kind != WorkloadKind::Deployment {
            return self.pods_by_owner.get(&d.uid).map_or(0, BTreeSet::len);
        }
        self.replica_sets_of_uid(&d.uid)
            .iter()
            .map(|rs| self.pods_by_owner.get(&rs.uid).map_or(0, BTreeSet::len))
            .sum()
    }

    pub fn pod_by_key(&self, key: &ObjectRef) -> Option<&PodRow> {
        self.pods.get(key)
    }

    pub fn has_namespace(&self, name: &str) -> bool {
        self.namespaces.contains_key(name)
    }

    /// Where a digest runs: `namespace/deployment` (or the pod for bare pods) → pod count.
    pub fn where_running(&self, digest: &str) -> BTreeMap<String, usize> {
        self.digest_where
            .get(digest)
            .map(|m| m.iter().map(|(k, n)| (k.clone(), *n)).collect())
            .unwrap_or_default()
    }

    pub fn is_running(&self, digest: &str) -> bool {
        self.digest_where.get(digest).is_some_and(|m| !m.is_empty())
    }

    pub fn events(&self) -> impl Iterator<Item = &EventRow> {
        self.events.values()
    }

    pub fn events_in<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = &'a EventRow> {
        self.events
            .range((ns.to_owned(), String::new())..)
            .take_while(move |((n, _), _)| n == ns)
            .map(|(_, e)| e)
    }

    /// Events about one object (by uid), oldest first.
    pub fn events_of(&self, involved_uid: &str) -> Vec<&EventRow> {
        let mut v: Vec<&EventRow> = self
            .events_by_involved
            .get(involved_uid)
            .into_iter()
            .flatten()
            .filter_map(|k| self.events.get(k))
            .collect();
        v.sort_by_key(|e| e.last_seen);
        v
    }

    pub fn service_accounts(&self) -> impl Iterator<Item = &ServiceAccountRow> {
        self.service_accounts.values()
    }

    pub fn service_account(&self, namespace: &str, name: &str) -> Option<&ServiceAccountRow> {
        self.service_accounts.get(&oref(namespace, name))
    }

    /// Pull secrets' metadata (never their data).
    pub fn secrets(&self) -> impl Iterator<Item = &SecretMetaRow> {
        self.secrets.values()
    }

    pub fn secret(&self, namespace: &str, name: &str) -> Option<&SecretMetaRow> {
        self.secrets.get(&oref(namespace, name))
    }

    /// Row counts per kind, for status bars and tests.
    pub fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Namespace => self.namespaces.len(),
            Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet => self
                .deployments
                .keys()
                .filter(|(_, k)| k.watch_kind() == kind)
                .count(),
            Kind::ReplicaSet | Kind::ControllerRevision => {
                let cr = kind == Kind::ControllerRevision;
                self.replica_sets.keys().filter(|(_, c)| *c == cr).count()
            }
            Kind::Pod => self.pods.len(),
            Kind::Event => self.events.len(),
            Kind::ServiceAccount => self.service_accounts.len(),
            Kind::SecretMeta => self.secrets.len(),
        }
    }

    /// The state of each watch, as far as its rows can be trusted: a watch is `Live` only when
    /// its watcher says so, the probe's last answer was yes and it has relisted since any loss;
    /// else `Stale` with the time of its last confirmed sync.
    pub fn connections(&self) -> BTreeMap<WatchScope, ConnectionState> {
        self.connections
            .iter()
            .map(|(scope, s)| (scope.clone(), self.derived_state(scope, s)))
            .collect()
    }

    /// One state for the status bar: Stale if any watch is (since its oldest confirmed sync;
    /// the probe's reason when the apiserver is down), else Forbidden if any watch is,
    /// Connecting until every watch has listed once, else Live.
    pub fn connection(&self) -> ConnectionState {
        let states = self.connections();
        let rank = |s: &ConnectionState| match s {
            ConnectionState::Live => 0,
            ConnectionState::Connecting => 1,
            ConnectionState::Forbidden { .. } => 2,
            ConnectionState::Reconnecting { .. } | ConnectionState::Stale { .. } => 3,
        };
        let mut worst = if states.is_empty() {
            ConnectionState::Connecting
        } else {
            ConnectionState::Live
        };
        // A watch never confirmed listed after the last confirmation of the others, so the
        // oldest known time is the summary's (None only when nothing was ever confirmed).
        let mut oldest: Option<jiff::Timestamp> = None;
        for (scope, s) in &states {
            if let ConnectionState::Stale { since: Some(t), .. } = s {
                oldest = Some(oldest.map_or(*t, |o| o.min(*t)));
            }
            if rank(s) > rank(&worst) {
                worst = match s {
                    ConnectionState::Stale { since, error } => ConnectionState::Stale {
                        since: *since,
                        error: format!("{scope}: {error}"),
                    },
                    ConnectionState::Forbidden { error } => ConnectionState::Forbidden {
                        error: format!("{scope}: {error}"),
                    },
                    other => other.clone(),
                };
            }
        }
        if let ConnectionState::Stale { since, error } = &mut worst {
            *since = oldest;
            if let Some(down) = self.apiserver_down() {
                *error = down;
            }
        }
        worst
    }
}

/// The deployment a ReplicaSet belongs to by name: `<deployment>-<pod-template-hash>`.
fn workload_of_rs_name(name: &str) -> &str {
    name.rsplit_once('-').map_or(name, |(w, _)| w)
}

/// The deployment a pod belongs to by name: `<deployment>-<pod-template-hash>-<suffix>` (the
/// names the ReplicaSet controller generates), or the pod itself when it is not one of those.
pub fn workload_of_pod_name<'a>(name: &'a str, pod_template_hash: Option<&str>) -> &'a str {
    if let Some(h) = pod_template_hash
        && let Some(i) = name.find(&format!("-{h}-"))
    {
        return &name[..i];
    }
    name
}

/// The workload (by name) a pod belongs to: from its owner reference, else from its name.
fn workload_of_pod(pod: &PodRow) -> &str {
    pod.workload
        .as_deref()
        .unwrap_or_else(|| workload_of_pod_name(&pod.name, pod.pod_template_hash.as_deref()))
}

fn running_digests(pod: &PodRow) -> impl Iterator<Item = &str> {
    pod.containers.iter().filter_map(|c| {
        c.image_id
            .as_deref()
            .and_then(crate::reference::digest_of_image_id)
    })
}

fn has_digests(pod: &PodRow) -> bool {
    running_digests(pod).next().is_some()
}

/// Whether two versions of a pod count the same digests at the same place (the where-running
/// index would not change).
fn same_place(a: &PodRow, b: &PodRow) -> bool {
    a.namespace == b.namespace
        && workload_of_pod(a) == workload_of_pod(b)
        && running_digests(a).eq(running_digests(b))
}

/// Adds (`delta` 1) or removes (-1) a pod's running digests in the where-running index.
fn count_digests(index: &mut HashMap<String, HashMap<String, usize>>, pod: &PodRow, delta: i8) {
    if !has_digests(pod) {
        return;
    }
    let place = format!("{}/{}", pod.namespace, workload_of_pod(pod));
    for d in running_digests(pod) {
        if delta > 0 {
            *index
                .entry(d.to_owned())
                .or_default()
                .entry(place.clone())
                .or_insert(0) += 1;
        } else if let Some(places) = index.get_mut(d) {
            if let Some(n) = places.get_mut(&place) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    places.remove(&place);
                }
            }
            if places.is_empty() {
                index.remove(d);
            }
        }
    }
}

fn refs_in<V>(
    map: &BTreeMap<ObjectRef, V>,
    in_ns: impl Fn(&str) -> bool,
    key: fn(ObjectRef) -> RowKey,
) -> Vec<RowKey> {
    map.keys()
        .filter(|k| in_ns(&k.namespace))
        .map(|k| key(k.clone()))
        .collect()
}

fn replace<K: Ord, V: PartialEq>(map: &mut BTreeMap<K, V>, key: K, value: V) -> bool {
    match map.get_mut(&key) {
        Some(old) if *old == value => false,
        Some(old) => {
            *old = value;
            true
        }
        None => {
            map.insert(key, value);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::model::{ContainerRow, ContainerState, RolloutState};

    fn up(event: ModelEvent) -> ModelUpdate {
        ModelUpdate { epoch: 0, event }
    }

    fn dep(updated: i32) -> DeploymentRow {
        DeploymentRow {
            namespace: "ns".into(),
            name: "web".into(),
            uid: "d1".into(),
            generation: 2,
            observed_generation: 2,
            desired: 2,
            replicas: 3,
            updated,
            ready: 2,
            available: 2,
            revision: Some(2),
            ..Default::default()
        }
    }

    fn rs(name: &str, uid: &str, rev: i64) -> ReplicaSetRow {
        ReplicaSetRow {
            namespace: "ns".into(),
            name: name.into(),
            uid: uid.into(),
            owner_uid: Some("d1".into()),
            revision: Some(rev),
            ..Default::default()
        }
    }

    fn pod(name: &str, uid: &str, owner: &str, waiting: Option<&str>) -> PodRow {
        PodRow {
            namespace: "ns".into(),
            name: name.into(),
            uid: uid.into(),
            owner_uid: Some(owner.into()),
            containers: vec![ContainerRow {
                name: "app".into(),
                state: waiting.map_or(ContainerState::Running { since: None }, |r| {
                    ContainerState::Waiting {
                        reason: r.into(),
                        message: String::new(),
                    }
                }),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn event(uid: &str, kind: &str, name: &str, involved: &str, secs: i64) -> EventRow {
        EventRow {
            namespace: "ns".into(),
            uid: uid.into(),
            involved_kind: kind.into(),
            involved_name: name.into(),
            involved_uid: involved.into(),
            last_seen: Some(jiff::Timestamp::from_second(secs).unwrap()),
            ..Default::default()
        }
    }

    fn model() -> ClusterModel {
        let mut m = ClusterModel::new(0);
        for row in [
            Row::Workload(dep(1)),
            Row::ReplicaSet(rs("web-old", "r1", 1)),
            Row::ReplicaSet(rs("web-new", "r2", 2)),
            Row::Pod(pod("web-old-a", "p1", "r1", None)),
            Row::Pod(pod("web-old-b", "p2", "r1", None)),
            Row::Pod(pod("web-new-a", "p3", "r2", None)),
        ] {
            assert!(m.apply(up(ModelEvent::Upsert(row))));
        }
        m
    }

    #[test]
    fn joins_revisions_and_pods() {
        let m = model();
        let d = m.deployment("ns", "web").unwrap();
        let revs = m.revisions(d);
        assert_eq!(revs.len(), 2);
        assert_eq!(revs[0].revision, Some(2));
        assert!(revs[0].current && !revs[1].current);
        assert_eq!(revs[0].pods.len(), 1);
        assert_eq!(revs[1].pods.len(), 2);
        let p = m.pod("ns", "web-old-b").unwrap();
        assert_eq!(m.deployment_of_pod(p).unwrap().name, "web");
        assert_eq!(m.pods_of(d).len(), 3);
    }

    #[test]
    fn pod_pull_failure_in_new_revision_flips_rollout_to_stuck_and_back() {
        let mut m = model();
        assert!(matches!(
            m.deployment("ns", "web").unwrap().rollout,
            RolloutState::Progressing { .. }
        ));
        m.apply(up(ModelEvent::Upsert(Row::Pod(pod(
            "web-new-a",
            "p3",
            "r2",
            Some("ImagePullBackOff"),
        )))));
        assert!(matches!(
            &m.deployment("ns", "web").unwrap().rollout,
            RolloutState::Stuck { reason, .. } if reason == "ImagePullBackOff"
        ));
        // A pull failure in the old revision does not count.
        m.apply(up(ModelEvent::Delete(RowKey::Pod(oref("ns", "web-new-a")))));
        m.apply(up(ModelEvent::Upsert(Row::Pod(pod(
            "web-old-a",
            "p1",
            "r1",
            Some("ErrImagePull"),
        )))));
        assert!(matches!(
            m.deployment("ns", "web").unwrap().rollout,
            RolloutState::Progressing { .. }
        ));
    }

    #[test]
    fn resync_removes_stale_rows_of_its_scope_only() {
        let mut m = model();
        m.apply(up(ModelEvent::Upsert(Row::Pod(PodRow {
            namespace: "other".into(),
            ..pod("x", "p9", "r9", None)
        }))));
        // A relist of namespace "ns" that no longer has web-old-b.
        let rows = vec![
            Row::Pod(pod("web-old-a", "p1", "r1", None)),
            Row::Pod(pod("web-new-a", "p3", "r2", None)),
        ];
        assert!(m.apply(up(ModelEvent::Resynced {
            scope: WatchScope::new(Kind::Pod, Some("ns")),
            rows,
            at: jiff::Timestamp::UNIX_EPOCH,
        })));
        assert!(m.pod("ns", "web-old-b").is_none());
        assert!(m.pod("other", "x").is_some(), "other namespace untouched");
        let d = m.deployment("ns", "web").unwrap();
        assert_eq!(m.revisions(d)[1].pods.len(), 1, "index follows the delete");
        // An all-namespaces relist with nothing clears everything of the kind.
        m.apply(up(ModelEvent::Resynced {
            scope: WatchScope::new(Kind::Pod, None),
            rows: vec![],
            at: jiff::Timestamp::UNIX_EPOCH,
        }));
        assert_eq!(m.count(Kind::Pod), 0);
        assert_eq!(m.count(Kind::Deployment), 1);
    }

    #[test]
    fn secret_resync_is_scoped_by_type() {
        let mut m = ClusterModel::new(0);
        let s = |name: &str, t: &str| {
            Row::SecretMeta(SecretMetaRow {
                namespace: "ns".into(),
                name: name.into(),
                type_: t.into(),
            })
        };
        m.apply(up(ModelEvent::Upsert(s(
            "a",
            "kubernetes.io/dockerconfigjson",
        ))));
        m.apply(up(ModelEvent::Upsert(s("b", "kubernetes.io/dockercfg"))));
        m.apply(up(ModelEvent::Resynced {
            scope: WatchScope {
                kind: Kind::SecretMeta,
                namespace: None,
                secret_type: Some("kubernetes.io/dockercfg".into()),
            },
            rows: vec![],
            at: jiff::Timestamp::UNIX_EPOCH,
        }));
        assert!(m.secret("ns", "a").is_some());
        assert!(m.secret("ns", "b").is_none());
    }

    #[test]
    fn older_epoch_is_ignored_newer_starts_afresh_and_reset_clears() {
        let mut m = model();
        m.reset(3);
        for row in model().deployments().cloned() {
            m.apply(ModelUpdate {
                epoch: 3,
                event: ModelEvent::Upsert(Row::Workload(row)),
            });
        }
        let v = m.version();
        // A straggler of the previous context changes nothing.
        assert!(!m.apply(ModelUpdate {
            epoch: 2,
            event: ModelEvent::Delete(RowKey::Workload(
                WorkloadKind::Deployment,
                oref("ns", "web")
            )),
        }));
        assert_eq!(m.version(), v);
        assert_eq!(m.count(Kind::Deployment), 1);
        // The first message of a newer generation drops the old rows.
        assert!(m.apply(ModelUpdate {
            epoch: 4,
            event: ModelEvent::Upsert(Row::Namespace(NamespaceRow {
                name: "other".into(),
                ..Default::default()
            })),
        }));
        assert_eq!(m.epoch(), 4);
        assert_eq!(m.count(Kind::Deployment), 0);
        assert_eq!(m.count(Kind::Namespace), 1);
        assert!(m.version() > v);
        m.reset(7);
        assert_eq!(m.count(Kind::Namespace), 0);
        assert!(m.apply(ModelUpdate {
            epoch: 7,
            event: ModelEvent::Upsert(Row::Workload(dep(2))),
        }));
    }

    #[test]
    fn digest_index_follows_pods_and_events_follow_workload_by_name() {
        let mut m = model();
        let digest = format!("sha256:{}", "a".repeat(64));
        let mut p = pod("web-new-b", "p4", "r2", None);
        p.containers[0].image_id = Some(format!("reg.io/web@{digest}"));
        m.apply(up(ModelEvent::Upsert(Row::Pod(p.clone()))));
        assert_eq!(m.where_running(&digest).get("ns/web-new-b"), Some(&1));
        p.pod_template_hash = Some("new".into());
        m.apply(up(ModelEvent::Upsert(Row::Pod(p))));
        assert_eq!(
            m.where_running(&digest).into_iter().collect::<Vec<_>>(),
            vec![("ns/web".to_owned(), 1)],
            "re-counted under its workload, the old place dropped"
        );
        m.apply(up(ModelEvent::Delete(RowKey::Pod(oref("ns", "web-new-b")))));
        assert!(!m.is_running(&digest));
        // An event of a pod already gone still lands on its deployment's timeline.
        m.apply(up(ModelEvent::Upsert(Row::Event(event(
            "e9",
            "Pod",
            "web-5d8f-zz9x",
            "gone",
            5,
        )))));
        let d = m.deployment("ns", "web").unwrap().clone();
        assert!(m.events_of_deployment(&d).iter().any(|e| e.uid == "e9"));
        m.apply(up(ModelEvent::Delete(RowKey::Event {
            namespace: "ns".into(),
            uid: "e9".into(),
        })));
        assert!(!m.events_of_deployment(&d).iter().any(|e| e.uid == "e9"));
    }

    #[test]
    fn unchanged_upsert_reports_no_change() {
        let mut m = model();
        assert!(!m.apply(up(ModelEvent::Upsert(Row::ReplicaSet(rs(
            "web-new", "r2", 2
        ))))));
    }

    #[test]
    fn events_join_through_owners_and_by_name_for_gone_pods() {
        let mut m = model();
        for e in [
            event("e1", "Deployment", "web", "d1", 1),
            event("e2", "ReplicaSet", "web-new", "r2", 2),
            event("e3", "Pod", "web-new-a", "p3", 3),
            // a pod already deleted: matched by name shape
            event("e4", "Pod", "web-5d59d67564-zzzzz", "gone", 4),
            // another deployment whose name starts with "web-"
            event("e5", "Pod", "web-api-5d59d67564-zzzzz", "gone2", 5),
            event("e6", "Pod", "other", "p-other", 6),
        ] {
            m.apply(up(ModelEvent::Upsert(Row::Event(e))));
        }
        let d = m.deployment("ns", "web").unwrap();
        let uids: Vec<&str> = m
            .events_of_deployment(d)
            .iter()
            .map(|e| e.uid.as_str())
            .collect();
        assert_eq!(uids, ["e1", "e2", "e3", "e4"]);
        assert_eq!(m.events_of("p3").len(), 1);
    }

    #[test]
    fn connection_aggregates_worst_state() {
        let mut m = ClusterModel::new(0);
        assert_eq!(m.connection(), ConnectionState::Connecting);
        let scope = WatchScope::new(Kind::Pod, None);
        m.apply(up(ModelEvent::Connection {
            scope: scope.clone(),
            state: ConnectionState::Live,
        }));
        m.apply(up(ModelEvent::Connection {
            scope: WatchScope::new(Kind::Event, None),
            state: ConnectionState::Live,
        }));
        assert_eq!(m.connection(), ConnectionState::Live);
        m.apply(up(ModelEvent::Connection {
            scope,
            state: ConnectionState::Reconnecting {
                error: "connection refused".into(),
            },
        }));
        // A broken watch's rows are reported as what they are: stale.
        let ConnectionState::Stale { error, .. } = m.connection() else {
            panic!()
        };
        assert!(error.contains("pods in all namespaces"), "{error}");
    }

    fn probe(secs: i64, error: Option<&str>) -> ModelEvent {
        ModelEvent::Probe(Probe {
            at: jiff::Timestamp::from_second(secs).unwrap(),
            error: error.map(str::to_owned),
        })
    }

    /// The watch of `scope` lists (completing at `secs`) and goes live.
    fn live(m: &mut ClusterModel, scope: &WatchScope, secs: i64) {
        m.apply(up(ModelEvent::Resynced {
            scope: scope.clone(),
            rows: vec![],
            at: jiff::Timestamp::from_second(secs).unwrap(),
        }));
        m.apply(up(ModelEvent::Connection {
            scope: scope.clone(),
            state: ConnectionState::Live,
        }));
    }

    fn since(secs: i64) -> Option<jiff::Timestamp> {
        Some(jiff::Timestamp::from_second(secs).unwrap())
    }

    #[test]
    fn a_failed_probe_makes_every_live_watch_stale_until_it_relists() {
        let mut m = ClusterModel::new(0);
        let (pods, events) = (
            WatchScope::new(Kind::Pod, None),
            WatchScope::new(Kind::Event, None),
        );
        live(&mut m, &pods, 5);
        live(&mut m, &events, 5);
        assert_eq!(m.connection(), ConnectionState::Live);
        // Confirmations change nothing visible (no redraw a second), but are recorded.
        assert!(!m.apply(up(probe(10, None))));
        assert!(!m.apply(up(probe(11, None))));
        assert_eq!(m.connection(), ConnectionState::Live);

        // The apiserver stops answering: stale since the last answer, with the probe's reason.
        assert!(m.apply(up(probe(12, Some("not answering")))));
        let ConnectionState::Stale { since: s, error } = m.connection() else {
            panic!("{:?}", m.connection())
        };
        assert_eq!(s, since(11));
        assert_eq!(error, "apiserver not answering");
        assert!(m.apiserver_down().is_some());
        assert!(
            m.connections()
                .values()
                .all(|c| matches!(c, ConnectionState::Stale { since: s, .. } if *s == since(11)))
        );
        // Another failure: same picture, nothing to redraw; a failure never confirms.
        assert!(!m.apply(up(probe(13, Some("not answering")))));

        // It answers again: still stale until each watch has relisted.
        assert!(m.apply(up(probe(14, None))));
        assert!(m.apiserver_down().is_none());
        let ConnectionState::Stale { since: s, error } = m.connection() else {
            panic!("{:?}", m.connection())
        };
        assert_eq!(s, since(11), "the answer confirms no unrelisted watch");
        assert!(error.contains("relisting"), "{error}");
        // The pods relist: live; the events are still waiting.
        live(&mut m, &pods, 14);
        assert_eq!(m.connections()[&pods], ConnectionState::Live);
        assert!(matches!(
            &m.connections()[&events],
            ConnectionState::Stale { .. }
        ));
        live(&mut m, &events, 14);
        assert_eq!(m.connection(), ConnectionState::Live);
        // The next answer confirms both again.
        m.apply(up(probe(15, None)));
        m.apply(up(probe(16, Some("unreachable: connection refused"))));
        let ConnectionState::Stale { since: s, error } = m.connection() else {
            panic!()
        };
        assert_eq!(
            (s, error.as_str()),
            (since(15), "apiserver unreachable: connection refused")
        );
    }

    #[test]
    fn a_broken_watch_is_stale_since_its_own_last_confirmation() {
        let mut m = ClusterModel::new(0);
        let (pods, events, secrets) = (
            WatchScope::new(Kind::Pod, None),
            WatchScope::new(Kind::Event, None),
            WatchScope::new(Kind::SecretMeta, None),
        );
        live(&mut m, &pods, 9);
        m.apply(up(probe(10, None)));
        // The events watch lists after that answer: its own list (at 10) confirms it.
        live(&mut m, &events, 10);
        m.apply(up(ModelEvent::Connection {
            scope: secrets.clone(),
            state: ConnectionState::Forbidden {
                error: "403".into(),
            },
        }));
        assert!(matches!(m.connection(), ConnectionState::Forbidden { .. }));
        // The events watch breaks, the apiserver still answers: stale since its list.
        m.apply(up(ModelEvent::Connection {
            scope: events.clone(),
            state: ConnectionState::Reconnecting {
                error: "watch ended".into(),
            },
        }));
        m.apply(up(probe(11, None)));
        assert_eq!(
            m.connections()[&events],
            ConnectionState::Stale {
                since: since(10),
                error: "watch ended".into()
            }
        );
        assert_eq!(m.connections()[&pods], ConnectionState::Live);
        assert_eq!(
            m.connections()[&secrets],
            ConnectionState::Forbidden {
                error: "403".into()
            }
        );
        // The summary: stale outranks forbidden, since the stale watch's last confirmation.
        let ConnectionState::Stale { since: s, error } = m.connection() else {
            panic!("{:?}", m.connection())
        };
        assert_eq!(s, since(10));
        assert!(
            error.starts_with("events in all namespaces: watch ended"),
            "{error}"
        );
        assert!(m.apiserver_down().is_none(), "the apiserver answers");
        // The pods break too (last confirmed at 11): the summary keeps the oldest, 10.
        m.apply(up(ModelEvent::Connection {
            scope: pods.clone(),
            state: ConnectionState::Reconnecting {
                error: "connection reset".into(),
            },
        }));
        assert!(
            matches!(m.connection(), ConnectionState::Stale { since: s, .. } if s == since(10))
        );
        assert!(matches!(
            &m.connections()[&pods],
            ConnectionState::Stale { since: s, .. } if *s == since(11)
        ));
        // A relist (a 410 Gone, a new etcd) replaces the rows and is live at once.
        live(&mut m, &pods, 12);
        live(&mut m, &events, 12);
        assert!(matches!(m.connection(), ConnectionState::Forbidden { .. }));
    }

    #[test]
    fn a_watch_that_listed_after_the_last_answer_is_stale_since_its_list() {
        // The race CI met: the probe answers (10), the watches list (10.4, after it), and the
        // apiserver freezes before the next answer. The rows are stale since their list, not
        // "stale" with no time (the screen must say since when).
        let mut m = ClusterModel::new(0);
        let pods = WatchScope::new(Kind::Pod, None);
        m.apply(up(probe(10, None)));
        live(&mut m, &pods, 11);
        assert_eq!(m.connection(), ConnectionState::Live);
        m.apply(up(probe(12, Some("not answering"))));
        let ConnectionState::Stale { since: s, .. } = m.connection() else {
            panic!("{:?}", m.connection())
        };
        assert_eq!(s, since(11));
        // An older list never moves the confirmation back.
        m.apply(up(probe(13, None)));
        live(&mut m, &pods, 14);
        m.apply(up(probe(15, None)));
        live(&mut m, &pods, 3);
        m.apply(up(probe(16, Some("not answering"))));
        assert!(
            matches!(m.connection(), ConnectionState::Stale { since: s, .. } if s == since(15))
        );
    }

    #[test]
    fn without_a_probe_the_watchers_word_stands() {
        let mut m = ClusterModel::new(0);
        let pods = WatchScope::new(Kind::Pod, None);
        live(&mut m, &pods, 0);
        assert_eq!(m.connection(), ConnectionState::Live);
        assert!(m.apiserver_down().is_none());
        // A context switch forgets the probe's word too.
        m.apply(up(probe(1, Some("not answering"))));
        m.reset(1);
        assert!(m.apiserver_down().is_none());
        assert_eq!(m.connection(), ConnectionState::Connecting);
    }
}
