//! Kubernetes objects → slim rows. The full objects are dropped right after conversion, so the
//! model holds only what berth shows or reasons with.

use k8s_openapi::api::apps::v1::{
    ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet,
};
use k8s_openapi::api::core::v1::{
    Container, ContainerStatus, Event, Namespace, Pod, Secret, ServiceAccount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::core::PartialObjectMeta;

use super::model::{
    ContainerRow, ContainerSpecRow, ContainerState, DeploymentRow, EventRow, NamespaceRow, PodRow,
    ReplicaSetRow, SecretMetaRow, ServiceAccountRow, WorkloadKind,
};
use super::rollout::kubectl_rollout_state;

/// The annotation the deployment controller puts on Deployments and ReplicaSets.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// The label StatefulSet and DaemonSet controllers put on their pods and ControllerRevisions.
pub const CONTROLLER_REVISION_HASH: &str = "controller-revision-hash";

fn name(m: &ObjectMeta) -> String {
    m.name.clone().unwrap_or_default()
}
fn namespace(m: &ObjectMeta) -> String {
    m.namespace.clone().unwrap_or_default()
}
fn uid(m: &ObjectMeta) -> String {
    m.uid.clone().unwrap_or_default()
}

/// uid of the controller owner reference (the one with `controller: true`).
pub fn controller_uid(owners: Option<&Vec<OwnerReference>>) -> Option<String> {
    owners?
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.clone())
}

/// The workload a pod belongs to, by name, from its controller owner reference: a
/// StatefulSet's or DaemonSet's name, or a ReplicaSet's minus `-<pod-template-hash>`.
fn workload_of_owner(owners: Option<&Vec<OwnerReference>>, m: &ObjectMeta) -> Option<String> {
    let owner = owners?.iter().find(|o| o.controller == Some(true))?;
    match owner.kind.as_str() {
        "StatefulSet" | "DaemonSet" => Some(owner.name.clone()),
        "ReplicaSet" => {
            let hash = label(m, POD_TEMPLATE_HASH)?;
            owner
                .name
                .strip_suffix(&format!("-{hash}"))
                .map(str::to_owned)
        }
        _ => None,
    }
}

pub fn revision_of(m: &ObjectMeta) -> Option<i64> {
    m.annotations
        .as_ref()?
        .get(REVISION_ANNOTATION)?
        .trim()
        .parse()
        .ok()
}

/// Who manages the object (Helm, Argo CD, Flux), from its labels and annotations.
pub fn owner_of(m: &ObjectMeta) -> Option<super::owner::Owner> {
    let none = std::collections::BTreeMap::new();
    super::owner::detect_owner(
        m.labels.as_ref().unwrap_or(&none),
        m.annotations.as_ref().unwrap_or(&none),
    )
}

fn label(m: &ObjectMeta, key: &str) -> Option<String> {
    m.labels.as_ref()?.get(key).cloned()
}

/// `kubernetes.io/change-cause`: why a revision was made, when whoever made it said.
fn change_cause(m: &ObjectMeta) -> Option<String> {
    m.annotations
        .as_ref()?
        .get("kubernetes.io/change-cause")
        .filter(|c| !c.is_empty())
        .cloned()
}

pub fn namespace_row(n: &Namespace) -> NamespaceRow {
    NamespaceRow {
        name: name(&n.metadata),
        phase: n
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Active".to_owned()),
    }
}

fn spec_rows(containers: &[Container], init: bool) -> impl Iterator<Item = ContainerSpecRow> + '_ {
    containers.iter().map(move |c| ContainerSpecRow {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        init,
    })
}

fn template_containers(
    template: Option<&k8s_openapi::api::core::v1::PodTemplateSpec>,
) -> Vec<ContainerSpecRow> {
    let mut containers: Vec<ContainerSpecRow> = Vec::new();
    if let Some(ps) = template.and_then(|t| t.spec.as_ref()) {
        containers.extend(spec_rows(
            ps.init_containers.as_deref().unwrap_or(&[]),
            true,
        ));
        containers.extend(spec_rows(&ps.containers, false));
    }
    containers
}

/// The fields every workload kind has in its metadata.
fn workload_base(kind: WorkloadKind, m: &ObjectMeta) -> DeploymentRow {
    DeploymentRow {
        kind,
        namespace: namespace(m),
        name: name(m),
        uid: uid(m),
        generation: m.generation.unwrap_or(0),
        resource_version: m.resource_version.clone().unwrap_or_default(),
        created: m.creation_timestamp.as_ref().map(|t| t.0),
        owner: owner_of(m),
        ..Default::default()
    }
}

pub fn stateful_set_row(s: &StatefulSet) -> DeploymentRow {
    let spec = s.spec.as_ref();
    let status = s.status.as_ref();
    let strategy = spec.and_then(|s| s.update_strategy.as_ref());
    let mut row = DeploymentRow {
        observed_generation: status.and_then(|s| s.observed_generation).unwrap_or(0),
        desired: spec.and_then(|s| s.replicas).unwrap_or(1),
        replicas: status.map_or(0, |s| s.replicas),
        updated: status.and_then(|s| s.updated_replicas).unwrap_or(0),
        ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
        available: status.and_then(|s| s.available_replicas).unwrap_or(0),
        containers: template_containers(spec.map(|s| &s.template)),
        update_strategy: Some(
            strategy
                .and_then(|u| u.type_.clone())
                .unwrap_or_else(|| "RollingUpdate".to_owned()),
        ),
        partition: strategy
            .and_then(|u| u.rolling_update.as_ref())
            .and_then(|r| r.partition),
        current_revision: status.and_then(|s| s.current_revision.clone()),
        update_revision: status.and_then(|s| s.update_revision.clone()),
        ..workload_base(WorkloadKind::StatefulSet, &s.metadata)
    };
    row.unavailable = (row.desired - row.available).max(0);
    row.rollout = kubectl_rollout_state(&row);
    row
}

pub fn daemon_set_row(d: &DaemonSet) -> DeploymentRow {
    let spec = d.spec.as_ref();
    let status = d.status.as_ref();
    let mut row = DeploymentRow {
        observed_generation: status.and_then(|s| s.observed_generation).unwrap_or(0),
        desired: status.map_or(0, |s| s.desired_number_scheduled),
        replicas: status.map_or(0, |s| s.current_number_scheduled),
        updated: status.and_then(|s| s.updated_number_scheduled).unwrap_or(0),
        ready: status.map_or(0, |s| s.number_ready),
        available: status.and_then(|s| s.number_available).unwrap_or(0),
        unavailable: status.and_then(|s| s.number_unavailable).unwrap_or(0),
        containers: template_containers(spec.map(|s| &s.template)),
        update_strategy: Some(
            spec.and_then(|s| s.update_strategy.as_ref())
                .and_then(|u| u.type_.clone())
                .unwrap_or_else(|| "RollingUpdate".to_owned()),
        ),
        ..workload_base(WorkloadKind::DaemonSet, &d.metadata)
    };
    row.rollout = kubectl_rollout_state(&row);
    row
}

/// A ControllerRevision as a revision row: its images from the pod template its data holds
/// (`{"spec":{"template":{...}}}`, the patch `kubectl rollout undo` applies).
pub fn controller_revision_row(c: &ControllerRevision) -> ReplicaSetRow {
    let template = c.data.as_ref().map(|d| &d.0["spec"]["template"]["spec"]);
    let images = template
        .map(|spec| {
            ["initContainers", "containers"]
                .iter()
                .flat_map(|k| spec[*k].as_array().cloned().unwrap_or_default())
                .filter_map(|c| c["image"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    ReplicaSetRow {
        namespace: namespace(&c.metadata),
        name: name(&c.metadata),
        uid: uid(&c.metadata),
        controller_revision: true,
        owner_uid: controller_uid(c.metadata.owner_references.as_ref()),
        revision: Some(c.revision),
        images,
        pod_template_hash: label(&c.metadata, CONTROLLER_REVISION_HASH),
        created: c.metadata.creation_timestamp.as_ref().map(|t| t.0),
        change_cause: change_cause(&c.metadata),
        ..Default::default()
    }
}

pub fn deployment_row(d: &Deployment) -> DeploymentRow {
    let spec = d.spec.as_ref();
    let status = d.status.as_ref();
    let containers = template_containers(spec.map(|s| &s.template));
    let progressing = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Progressing"))
        .map(|c| {
            (
                c.status.clone(),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        });
    let mut row = DeploymentRow {
        kind: WorkloadKind::Deployment,
        namespace: namespace(&d.metadata),
        name: name(&d.metadata),
        uid: uid(&d.metadata),
        generation: d.metadata.generation.unwrap_or(0),
        observed_generation: status.and_then(|s| s.observed_generation).unwrap_or(0),
        desired: spec.and_then(|s| s.replicas).unwrap_or(1),
        replicas: status.and_then(|s| s.replicas).unwrap_or(0),
        updated: status.and_then(|s| s.updated_replicas).unwrap_or(0),
        ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
        available: status.and_then(|s| s.available_replicas).unwrap_or(0),
        unavailable: status.and_then(|s| s.unavailable_replicas).unwrap_or(0),
        paused: spec.and_then(|s| s.paused).unwrap_or(false),
        revision: revision_of(&d.metadata),
        containers,
        progressing,
        progress_deadline_seconds: spec.and_then(|s| s.progress_deadline_seconds),
        resource_version: d.metadata.resource_version.clone().unwrap_or_default(),
        created: d.metadata.creation_timestamp.as_ref().map(|t| t.0),
        rollout: Default::default(),
        owner: owner_of(&d.metadata),
        ..Default::default()
    };
    row.rollout = kubectl_rollout_state(&row);
    row
}

pub fn replica_set_row(rs: &ReplicaSet) -> ReplicaSetRow {
    let spec = rs.spec.as_ref();
    let status = rs.status.as_ref();
    let images = spec
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.spec.as_ref())
        .map(|ps| {
            ps.init_containers
                .iter()
                .flatten()
                .chain(ps.containers.iter())
                .map(|c| c.image.clone().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    ReplicaSetRow {
        controller_revision: false,
        namespace: namespace(&rs.metadata),
        name: name(&rs.metadata),
        uid: uid(&rs.metadata),
        owner_uid: controller_uid(rs.metadata.owner_references.as_ref()),
        revision: revision_of(&rs.metadata),
        desired: spec.and_then(|s| s.replicas).unwrap_or(1),
        ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
        available: status.and_then(|s| s.available_replicas).unwrap_or(0),
        images,
        pod_template_hash: label(&rs.metadata, POD_TEMPLATE_HASH),
        created: rs.metadata.creation_timestamp.as_ref().map(|t| t.0),
        change_cause: change_cause(&rs.metadata),
    }
}

fn container_state(s: Option<&ContainerStatus>) -> ContainerState {
    let Some(state) = s.and_then(|s| s.state.as_ref()) else {
        return ContainerState::Unknown;
    };
    if let Some(w) = &state.waiting {
        ContainerState::Waiting {
            reason: w.reason.clone().unwrap_or_default(),
            message: w.message.clone().unwrap_or_default(),
        }
    } else if let Some(r) = &state.running {
        ContainerState::Running {
            since: r.started_at.as_ref().map(|t| t.0),
        }
    } else if let Some(t) = &state.terminated {
        ContainerState::Terminated {
            reason: t.reason.clone().unwrap_or_default(),
            exit_code: t.exit_code,
        }
    } else {
        ContainerState::Unknown
    }
}

fn container_rows(
    specs: &[Container],
    statuses: Option<&Vec<ContainerStatus>>,
    init: bool,
) -> impl Iterator<Item = ContainerRow> {
    specs.iter().map(move |c| {
        let st = statuses.and_then(|ss| ss.iter().find(|s| s.name == c.name));
        ContainerRow {
            name: c.name.clone(),
            init,
            image: c.image.clone().unwrap_or_default(),
            image_id: st.map(|s| s.image_id.clone()).filter(|id| !id.is_empty()),
            ready: st.is_some_and(|s| s.ready),
            restarts: st.map_or(0, |s| s.restart_count),
            state: container_state(st),
        }
    })
}

pub fn pod_row(p: &Pod) -> PodRow {
    let spec = p.spec.as_ref();
    let status = p.status.as_ref();
    let mut containers = Vec::new();
    if let Some(s) = spec {
        containers.extend(container_rows(
            s.init_containers.as_deref().unwrap_or(&[]),
            status.and_then(|st| st.init_container_statuses.as_ref()),
            true,
        ));
        containers.extend(container_rows(
            &s.containers,
            status.and_then(|st| st.container_statuses.as_ref()),
            false,
        ));
    }
    PodRow {
        namespace: namespace(&p.metadata),
        name: name(&p.metadata),
        uid: uid(&p.metadata),
        owner_uid: controller_uid(p.metadata.owner_references.as_ref()),
        workload: workload_of_owner(p.metadata.owner_references.as_ref(), &p.metadata),
        revision_hash: label(&p.metadata, CONTROLLER_REVISION_HASH),
        phase: status
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Pending".to_owned()),
        node: spec.and_then(|s| s.node_name.clone()),
        service_account: spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_else(|| "default".to_owned()),
        image_pull_secrets: spec
            .and_then(|s| s.image_pull_secrets.as_ref())
            .map(|v| v.iter().map(|r| r.name.clone()).collect())
            .unwrap_or_default(),
        containers,
        pod_template_hash: label(&p.metadata, POD_TEMPLATE_HASH),
        created: p.metadata.creation_timestamp.as_ref().map(|t| t.0),
        deleting: p.metadata.deletion_timestamp.is_some(),
    }
}

pub fn event_row(e: &Event) -> EventRow {
    let io = &e.involved_object;
    let first_seen = e
        .first_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0));
    let last_seen = e
        .last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| {
            e.series
                .as_ref()
                .and_then(|s| s.last_observed_time.as_ref())
                .map(|t| t.0)
        })
        .or(first_seen);
    let source = e
        .source
        .as_ref()
        .and_then(|s| s.component.clone())
        .or_else(|| e.reporting_component.clone())
        .unwrap_or_default();
    EventRow {
        namespace: namespace(&e.metadata),
        uid: uid(&e.metadata),
        involved_kind: io.kind.clone().unwrap_or_default(),
        involved_name: io.name.clone().unwrap_or_default(),
        involved_uid: io.uid.clone().unwrap_or_default(),
        reason: e.reason.clone().unwrap_or_default(),
        message: e.message.clone().unwrap_or_default(),
        warning: e.type_.as_deref() == Some("Warning"),
        count: e
            .count
            .or_else(|| e.series.as_ref().and_then(|s| s.count))
            .unwrap_or(1),
        first_seen,
        last_seen,
        source,
        order: event_name_nanos(e.metadata.name.as_deref().unwrap_or_default()),
    }
}

/// The creation stamp in an event's name (`web-1.17a2b3c4d5e6f708`), 0 when it has none.
pub fn event_name_nanos(name: &str) -> u64 {
    name.rsplit_once('.')
        .and_then(|(_, hex)| u64::from_str_radix(hex, 16).ok())
        .unwrap_or(0)
}

pub fn service_account_row(sa: &ServiceAccount) -> ServiceAccountRow {
    ServiceAccountRow {
        namespace: namespace(&sa.metadata),
        name: name(&sa.metadata),
        image_pull_secrets: sa
            .image_pull_secrets
            .as_ref()
            .map(|v| v.iter().map(|r| r.name.clone()).collect())
            .unwrap_or_default(),
    }
}

/// A metadata-only secret: the type is not in the metadata, so the watcher that listed it (by a
/// `type=` field selector) supplies it.
pub fn secret_meta_row(s: &PartialObjectMeta<Secret>, type_: &str) -> SecretMetaRow {
    SecretMetaRow {
        namespace: namespace(&s.metadata),
        name: name(&s.metadata),
        type_: type_.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::model::RolloutState;

    fn from_json<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn deployment_row_reads_status_and_revision() {
        let d: Deployment = from_json(serde_json::json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "u1", "generation": 4,
                "resourceVersion": "77",
                "annotations": {"deployment.kubernetes.io/revision": "3"}},
            "spec": {"replicas": 2, "selector": {}, "paused": false,
                "template": {"spec": {"containers": [{"name": "app", "image": "r/web:1"}],
                    "initContainers": [{"name": "init", "image": "r/init:1"}]}}},
            "status": {"observedGeneration": 4, "replicas": 3, "updatedReplicas": 2,
                "readyReplicas": 2, "availableReplicas": 2,
                "conditions": [{"type": "Progressing", "status": "True",
                    "reason": "ReplicaSetUpdated", "message": "m"}]}
        }));
        let r = deployment_row(&d);
        assert_eq!(r.revision, Some(3));
        assert_eq!((r.desired, r.replicas, r.updated), (2, 3, 2));
        assert_eq!(r.containers.len(), 2);
        assert!(r.containers[0].init);
        assert_eq!(r.containers[1].image, "r/web:1");
        assert_eq!(r.progressing.as_ref().unwrap().1, "ReplicaSetUpdated");
        assert_eq!(r.resource_version, "77");
        assert!(matches!(r.rollout, RolloutState::Progressing { .. }));
    }

    #[test]
    fn workload_rows_carry_their_owner() {
        let d: Deployment = from_json(serde_json::json!({
            "metadata": {"name": "web", "namespace": "shop",
                "labels": {"kustomize.toolkit.fluxcd.io/name": "apps",
                    "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}},
            "spec": {"selector": {}, "template": {}}
        }));
        let o = deployment_row(&d).owner.expect("flux-labelled");
        assert_eq!(
            o.describe(),
            "Flux Kustomization apps (namespace flux-system)"
        );
        let s: StatefulSet = from_json(serde_json::json!({
            "metadata": {"name": "db", "namespace": "shop", "annotations":
                {"argocd.argoproj.io/tracking-id": "shop:apps/StatefulSet:shop/db"}},
            "spec": {"selector": {}, "serviceName": "db", "template": {}}
        }));
        assert_eq!(
            stateful_set_row(&s)
                .owner
                .map(|o| o.short_label())
                .as_deref(),
            Some("argocd:shop")
        );
        let plain: DaemonSet = from_json(serde_json::json!({
            "metadata": {"name": "agent", "namespace": "shop", "labels": {"app": "agent"}},
            "spec": {"selector": {}, "template": {}}
        }));
        assert_eq!(daemon_set_row(&plain).owner, None);
    }

    #[test]
    fn pod_row_joins_statuses_by_name() {
        let p: Pod = from_json(serde_json::json!({
            "metadata": {"name": "web-abc-x", "namespace": "ns", "uid": "p1",
                "labels": {"pod-template-hash": "abc"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "web-abc", "uid": "rs1", "controller": true}]},
            "spec": {"nodeName": "n1", "containers": [{"name": "a", "image": "r/a:1"},
                {"name": "b", "image": "r/b:1"}], "imagePullSecrets": [{"name": "acr"}]},
            "status": {"phase": "Pending", "containerStatuses": [
                {"name": "b", "image": "r/b:1", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off"}}},
                {"name": "a", "image": "r/a:1", "imageID": "r/a@sha256:00", "ready": true,
                 "restartCount": 2, "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}
        }));
        let r = pod_row(&p);
        assert_eq!(r.owner_uid.as_deref(), Some("rs1"));
        assert_eq!(r.pod_template_hash.as_deref(), Some("abc"));
        assert_eq!(r.service_account, "default");
        assert_eq!(r.image_pull_secrets, vec!["acr".to_owned()]);
        assert_eq!(r.containers[0].image_id.as_deref(), Some("r/a@sha256:00"));
        assert_eq!(r.containers[0].restarts, 2);
        assert!(matches!(
            r.containers[0].state,
            ContainerState::Running { since: Some(_) }
        ));
        assert_eq!(r.containers[1].image_id, None);
        assert_eq!(
            r.containers[1].state,
            ContainerState::Waiting {
                reason: "ImagePullBackOff".into(),
                message: "Back-off".into()
            }
        );
    }

    #[test]
    fn event_order_comes_from_the_name_stamp() {
        // As kubelet names them: `<pod>.<UnixNano in hex>`.
        let pulling = event_name_nanos("web-6f64c7bccf-rfgxm.187a8f0c1b2d3e4f");
        let started = event_name_nanos("web-6f64c7bccf-rfgxm.187a8f0c2b2d3e4f");
        assert!(pulling > 0 && pulling < started);
        assert_eq!(event_name_nanos("no-stamp"), 0);
        assert_eq!(event_name_nanos("web.not-hex"), 0);
    }

    #[test]
    fn event_row_falls_back_to_event_time_and_series() {
        let e: Event = from_json(serde_json::json!({
            "metadata": {"name": "x.1", "namespace": "ns", "uid": "e1"},
            "involvedObject": {"kind": "Pod", "name": "web-abc-x", "uid": "p1"},
            "reason": "Failed", "message": "Error: ImagePullBackOff", "type": "Warning",
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "series": {"count": 4, "lastObservedTime": "2026-01-01T00:05:00.000000Z"},
            "reportingComponent": "kubelet"
        }));
        let r = event_row(&e);
        assert!(r.warning);
        assert_eq!(r.count, 4);
        assert_eq!(r.source, "kubelet");
        assert!(r.last_seen > r.first_seen);
        assert_eq!(r.involved_uid, "p1");
    }

    #[test]
    fn owner_without_controller_flag_is_not_the_controller() {
        let owners = vec![OwnerReference {
            uid: "x".into(),
            controller: None,
            ..Default::default()
        }];
        assert_eq!(controller_uid(Some(&owners)), None);
    }
}
