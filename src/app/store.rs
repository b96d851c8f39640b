//! The UI's copy of the model, with the indexes drawing needs so a frame costs what is visible:
//! pods of a ReplicaSet (paged without touching the rows), events of a deployment, where a
//! digest runs. Filled only by `update` from the watchers' own messages (`ModelEvent`, the same
//! the cluster module's `ClusterModel` applies) and the registry's.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::action::RegistryUpdate;
use crate::cluster::model::{
    DeploymentRow, EventRow, Kind, ModelEvent, NamespaceRow, ObjectRef, PodRow, ReplicaSetRow, Row,
    RowKey, SecretMetaRow, ServiceAccountRow, WatchScope,
};
use crate::registry::types::{RepositoryRow, TagRow};

#[derive(Clone, Debug, Default)]
pub struct ClusterStore {
    pub namespaces: BTreeMap<String, NamespaceRow>,
    pub deployments: BTreeMap<ObjectRef, DeploymentRow>,
    pub replicasets: BTreeMap<ObjectRef, ReplicaSetRow>,
    pub pods: BTreeMap<ObjectRef, PodRow>,
    /// By event uid.
    pub events: HashMap<String, EventRow>,
    pub service_accounts: BTreeMap<ObjectRef, ServiceAccountRow>,
    pub secrets: BTreeMap<ObjectRef, SecretMetaRow>,
    /// Owner uid → owned objects.
    rs_by_owner: HashMap<String, BTreeSet<ObjectRef>>,
    pods_by_owner: HashMap<String, BTreeSet<ObjectRef>>,
    /// Object uid → key, for walking owner references upwards.
    rs_by_uid: HashMap<String, ObjectRef>,
    deploy_by_uid: HashMap<String, ObjectRef>,
    /// Involved object uid → event uids.
    events_by_involved: HashMap<String, BTreeSet<String>>,
    /// Image digest (`sha256:…`) → where it runs (`namespace/workload`) → pod count. Kept up to
    /// date on every pod change so the registry pane never walks the pods.
    digest_where: HashMap<String, HashMap<String, usize>>,
    /// (namespace, workload) → event uids: the rollout timeline of a deployment is one lookup,
    /// and survives the deletion of the pods and ReplicaSets it was about.
    events_by_workload: HashMap<(String, String), BTreeSet<String>>,
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

fn place_of(p: &PodRow) -> String {
    format!(
        "{}/{}",
        p.namespace,
        workload_of_pod_name(&p.name, p.pod_template_hash.as_deref())
    )
}

fn obj_ref(namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    }
}

/// The digest of a resolved image id (`host/repo@sha256:…`, `docker-pullable://…@sha256:…`).
pub fn digest_of(image_id: &str) -> Option<&str> {
    image_id
        .rfind("sha256:")
        .map(|i| &image_id[i..])
        .filter(|d| d.len() > "sha256:".len())
}

fn pod_digests(pod: &PodRow) -> impl Iterator<Item = &str> {
    pod.containers
        .iter()
        .filter_map(|c| c.image_id.as_deref().and_then(digest_of))
}

impl ClusterStore {
    /// Apply one watcher message (connection states are the caller's business).
    pub fn apply(&mut self, event: ModelEvent) {
        match event {
            ModelEvent::Upsert(row) => self.upsert(row),
            ModelEvent::Delete(key) => self.delete_key(&key),
            ModelEvent::Resynced { scope, rows } => {
                // Exactly what the scope covers is replaced; other scopes' rows stay.
                self.remove_scope(&scope);
                for r in rows {
                    self.upsert(r);
                }
            }
            ModelEvent::Connection { .. } => {}
        }
    }

    pub fn delete_key(&mut self, key: &RowKey) {
        match key {
            RowKey::Namespace(n) => self.delete(
                Kind::Namespace,
                &ObjectRef {
                    namespace: String::new(),
                    name: n.clone(),
                },
            ),
            RowKey::Deployment(k) => self.delete(Kind::Deployment, k),
            RowKey::ReplicaSet(k) => self.delete(Kind::ReplicaSet, k),
            RowKey::Pod(k) => self.delete(Kind::Pod, k),
            RowKey::Event { namespace, uid } => self.delete(Kind::Event, &obj_ref(namespace, uid)),
            RowKey::ServiceAccount(k) => self.delete(Kind::ServiceAccount, k),
            RowKey::SecretMeta(k) => self.delete(Kind::SecretMeta, k),
        }
    }

    /// Remove every row a watch scope covers (before its relist replaces them).
    fn remove_scope(&mut self, scope: &WatchScope) {
        let ns_ok = |ns: &str| scope.namespace.as_deref().is_none_or(|s| s == ns);
        let keys: Vec<ObjectRef> = match scope.kind {
            Kind::Namespace => self
                .namespaces
                .keys()
                .filter(|n| ns_ok(n))
                .map(|n| obj_ref("", n))
                .collect(),
            Kind::Deployment => self
                .deployments
                .keys()
                .filter(|k| ns_ok(&k.namespace))
                .cloned()
                .collect(),
            Kind::ReplicaSet => self
                .replicasets
                .keys()
                .filter(|k| ns_ok(&k.namespace))
                .cloned()
                .collect(),
            Kind::Pod => self
                .pods
                .keys()
                .filter(|k| ns_ok(&k.namespace))
                .cloned()
                .collect(),
            Kind::Event => self
                .events
                .values()
                .filter(|e| ns_ok(&e.namespace))
                .map(|e| obj_ref(&e.namespace, &e.uid))
                .collect(),
            Kind::ServiceAccount => self
                .service_accounts
                .keys()
                .filter(|k| ns_ok(&k.namespace))
                .cloned()
                .collect(),
            Kind::SecretMeta => self
                .secrets
                .iter()
                .filter(|(k, s)| {
                    ns_ok(&k.namespace) && scope.secret_type.as_deref().is_none_or(|t| t == s.type_)
                })
                .map(|(k, _)| k.clone())
                .collect(),
        };
        for k in keys {
            self.delete(scope.kind, &k);
        }
    }

    /// Forget everything (context switch).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    pub fn upsert(&mut self, row: Row) {
        match row {
            Row::Namespace(n) => {
                self.namespaces.insert(n.name.clone(), n);
            }
            Row::Deployment(d) => {
                let key = obj_ref(&d.namespace, &d.name);
                self.deploy_by_uid.insert(d.uid.clone(), key.clone());
                self.deployments.insert(key, d);
            }
            Row::ReplicaSet(rs) => {
                let key = obj_ref(&rs.namespace, &rs.name);
                self.delete(Kind::ReplicaSet, &key);
                if let Some(owner) = &rs.owner_uid {
                    self.rs_by_owner
                        .entry(owner.clone())
                        .or_default()
                        .insert(key.clone());
                }
                self.rs_by_uid.insert(rs.uid.clone(), key.clone());
                self.replicasets.insert(key, rs);
            }
            Row::Pod(p) => {
                let key = obj_ref(&p.namespace, &p.name);
                self.delete(Kind::Pod, &key);
                if let Some(owner) = &p.owner_uid {
                    self.pods_by_owner
                        .entry(owner.clone())
                        .or_default()
                        .insert(key.clone());
                }
                let place = place_of(&p);
                for d in pod_digests(&p) {
                    *self
                        .digest_where
                        .entry(d.to_owned())
                        .or_default()
                        .entry(place.clone())
                        .or_insert(0) += 1;
                }
                self.pods.insert(key, p);
            }
            Row::Event(e) => {
                self.delete(
                    Kind::Event,
                    &ObjectRef {
                        namespace: e.namespace.clone(),
                        name: e.uid.clone(),
                    },
                );
                if let Some(w) = self.workload_of_event(&e) {
                    self.events_by_workload
                        .entry((e.namespace.clone(), w))
                        .or_default()
                        .insert(e.uid.clone());
                }
                self.events_by_involved
                    .entry(e.involved_uid.clone())
                    .or_default()
                    .insert(e.uid.clone());
                self.events.insert(e.uid.clone(), e);
            }
            Row::ServiceAccount(sa) => {
                self.service_accounts
                    .insert(obj_ref(&sa.namespace, &sa.name), sa);
            }
            Row::SecretMeta(s) => {
                self.secrets.insert(obj_ref(&s.namespace, &s.name), s);
            }
        }
    }

    pub fn delete(&mut self, kind: Kind, key: &ObjectRef) {
        match kind {
            Kind::Namespace => {
                self.namespaces.remove(&key.name);
            }
            Kind::Deployment => {
                if let Some(d) = self.deployments.remove(key) {
                    self.deploy_by_uid.remove(&d.uid);
                }
            }
            Kind::ReplicaSet => {
                if let Some(rs) = self.replicasets.remove(key) {
                    if let Some(owner) = &rs.owner_uid {
                        remove_from(&mut self.rs_by_owner, owner, key);
                    }
                    self.rs_by_uid.remove(&rs.uid);
                }
            }
            Kind::Pod => {
                if let Some(p) = self.pods.remove(key) {
                    if let Some(owner) = &p.owner_uid {
                        remove_from(&mut self.pods_by_owner, owner, key);
                    }
                    let place = place_of(&p);
                    for d in pod_digests(&p) {
                        if let Some(places) = self.digest_where.get_mut(d) {
                            if let Some(n) = places.get_mut(&place) {
                                *n = n.saturating_sub(1);
                                if *n == 0 {
                                    places.remove(&place);
                                }
                            }
                            if places.is_empty() {
                                self.digest_where.remove(d);
                            }
                        }
                    }
                }
            }
            Kind::Event => {
                if let Some(e) = self.events.remove(&key.name) {
                    remove_from(&mut self.events_by_involved, &e.involved_uid, &e.uid);
                    if let Some(w) = self.workload_of_event(&e) {
                        let k = (e.namespace.clone(), w);
                        if let Some(set) = self.events_by_workload.get_mut(&k) {
                            set.remove(&e.uid);
                            if set.is_empty() {
                                self.events_by_workload.remove(&k);
                            }
                        }
                    }
                }
            }
            Kind::ServiceAccount => {
                self.service_accounts.remove(key);
            }
            Kind::SecretMeta => {
                self.secrets.remove(key);
            }
        }
    }

    /// Deployments of one namespace, by name.
    pub fn deployments_in<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = &'a DeploymentRow> {
        self.deployments
            .range(obj_ref(ns, "")..)
            .take_while(move |(k, _)| k.namespace == ns)
            .map(|(_, d)| d)
    }

    /// ReplicaSets owned by a deployment, newest revision first.
    pub fn replicasets_of(&self, deployment_uid: &str) -> Vec<&ReplicaSetRow> {
        let mut v: Vec<&ReplicaSetRow> = self
            .rs_by_owner
            .get(deployment_uid)
            .into_iter()
            .flatten()
            .filter_map(|k| self.replicasets.get(k))
            .collect();
        v.sort_by(|a, b| b.revision.cmp(&a.revision).then(a.name.cmp(&b.name)));
        v
    }

    /// Pods owned by a ReplicaSet, by name.
    pub fn pods_of_rs<'a>(&'a self, rs_uid: &str) -> impl Iterator<Item = &'a PodRow> + 'a {
        self.pods_by_owner
            .get(rs_uid)
            .into_iter()
            .flatten()
            .filter_map(|k| self.pods.get(k))
    }

    /// Pods of a deployment: newest ReplicaSet's first, then by name.
    pub fn pods_of_deployment(&self, deployment_uid: &str) -> Vec<&PodRow> {
        self.replicasets_of(deployment_uid)
            .into_iter()
            .flat_map(|rs| self.pods_of_rs(&rs.uid))
            .collect()
    }

    /// The deployment that owns a pod (through its ReplicaSet).
    pub fn deployment_of_pod(&self, pod: &PodRow) -> Option<&DeploymentRow> {
        let rs = self
            .replicasets
            .get(self.rs_by_uid.get(pod.owner_uid.as_ref()?)?)?;
        self.deployments
            .get(self.deploy_by_uid.get(rs.owner_uid.as_ref()?)?)
    }

    pub fn events_of(&self, uid: &str) -> impl Iterator<Item = &EventRow> {
        self.events_by_involved
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|u| self.events.get(u))
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

    /// The deployment (by name) an event is about, directly or through its ReplicaSet or pod.
    fn workload_of_event(&self, e: &EventRow) -> Option<String> {
        match e.involved_kind.as_str() {
            "Deployment" => Some(e.involved_name.clone()),
            "ReplicaSet" => Some(workload_of_rs_name(&e.involved_name).to_owned()),
            "Pod" => {
                let name = &e.involved_name;
                let hash = self
                    .pods
                    .get(&obj_ref(&e.namespace, name))
                    .and_then(|p| p.pod_template_hash.as_deref());
                Some(match hash {
                    Some(h) => workload_of_pod_name(name, Some(h)).to_owned(),
                    // Pod gone or not seen yet: drop the generated `-<hash>-<suffix>`.
                    None => match name.rsplitn(3, '-').collect::<Vec<_>>().as_slice() {
                        [_, _, w] => (*w).to_owned(),
                        _ => name.clone(),
                    },
                })
            }
            _ => None,
        }
    }

    /// Events about a deployment, its ReplicaSets and its pods.
    pub fn events_of_workload<'a>(
        &'a self,
        namespace: &str,
        workload: &str,
    ) -> impl Iterator<Item = &'a EventRow> + 'a {
        self.events_by_workload
            .get(&(namespace.to_owned(), workload.to_owned()))
            .into_iter()
            .flatten()
            .filter_map(|u| self.events.get(u))
    }

    /// Keys of a deployment's pods, newest ReplicaSet first, without touching the rows.
    pub fn pod_keys_of_deployment<'a>(
        &'a self,
        deployment_uid: &str,
    ) -> impl Iterator<Item = &'a ObjectRef> + 'a {
        self.replicasets_of(deployment_uid)
            .into_iter()
            .flat_map(move |rs| self.pods_by_owner.get(&rs.uid).into_iter().flatten())
    }

    pub fn pod_count_of_deployment(&self, deployment_uid: &str) -> usize {
        self.replicasets_of(deployment_uid)
            .iter()
            .map(|rs| self.pods_by_owner.get(&rs.uid).map_or(0, BTreeSet::len))
            .sum()
    }
}

fn remove_from<K, V>(map: &mut HashMap<K, BTreeSet<V>>, key: &str, value: &V)
where
    K: std::borrow::Borrow<str> + std::hash::Hash + Eq,
    V: Ord,
{
    if let Some(set) = map.get_mut(key) {
        set.remove(value);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct RegistryStore {
    /// Login server host of the registry in use.
    pub registry: String,
    pub repositories: Vec<RepositoryRow>,
    /// Tags per repository, newest first; absent until loaded.
    pub tags: HashMap<String, Vec<TagRow>>,
}

/// Newest first: by `updated` (or `created`), then by name descending so that `1.0.10` and
/// `1.0.9` pushed in the same second still come out in a stable order.
pub fn sort_tags(tags: &mut [TagRow]) {
    tags.sort_by(|a, b| {
        let ta = a.updated.or(a.created);
        let tb = b.updated.or(b.created);
        tb.cmp(&ta).then_with(|| b.name.cmp(&a.name))
    });
}

impl RegistryStore {
    pub fn apply(&mut self, update: RegistryUpdate) {
        match update {
            RegistryUpdate::Repositories {
                registry,
                mut repositories,
            } => {
                if registry != self.registry {
                    self.tags.clear();
                }
                self.registry = registry;
                repositories.sort_by(|a, b| a.name.cmp(&b.name));
                self.repositories = repositories;
            }
            RegistryUpdate::Tags {
                repository,
                mut tags,
            } => {
                sort_tags(&mut tags);
                self.tags.insert(repository, tags);
            }
            RegistryUpdate::Tag(tag) => {
                let list = self.tags.entry(tag.repository.clone()).or_default();
                match list.iter_mut().find(|t| t.name == tag.name) {
                    Some(t) => *t = tag,
                    None => list.push(tag),
                }
                sort_tags(list);
            }
            RegistryUpdate::TagDeleted { repository, tag } => {
                if let Some(list) = self.tags.get_mut(&repository) {
                    list.retain(|t| t.name != tag);
                }
            }
            RegistryUpdate::Connection(_) | RegistryUpdate::SlotInUse(_) => {}
        }
    }

    pub fn tags_of(&self, repository: &str) -> Option<&[TagRow]> {
        self.tags.get(repository).map(Vec::as_slice)
    }
}
