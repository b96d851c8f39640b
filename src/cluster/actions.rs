//! Deployment actions: rollout restart, set image, undo, pause / resume.
//!
//! Every action, in order: (1) a SelfSubjectAccessReview — refused before any write, with the
//! reason; (2) a read of the current object; (3) one write carrying the read `resourceVersion`
//! (the apiserver answers 409 if anything changed in between: nothing is overwritten blindly),
//! optionally as a server-side dry run (`dryRun=All`), preceded by its intent record in the audit
//! log (no record, no write); (4) the result record, whatever the outcome (see
//! [`crate::audit::audited`]).
//! The write is what `kubectl` does for the same command.

use std::collections::BTreeMap;

pub mod controller_revision;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde::Serialize;

use crate::audit::{self, AuditFailure, AuditLog, AuditedError, Gate, Outcome, Subject};

use super::convert::{
    POD_TEMPLATE_HASH, REVISION_ANNOTATION, controller_uid, owner_of, revision_of,
};
use super::model::WorkloadKind;
use super::owner::{OwnedAction, Owner};
use super::rollout::previous_revision;

pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
const FIELD_MANAGER: &str = "berth";

/// Annotations `kubectl rollout undo` keeps from the Deployment instead of copying them from
/// the ReplicaSet (kubectl's `annotationsToSkip`).
const UNDO_ANNOTATIONS_TO_SKIP: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION_ANNOTATION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(
        "refused: {actor} may not {verb} {resource} in namespace {namespace:?}{reason}; nothing was changed (ask a cluster admin for that RBAC permission, or use a context that has it)"
    )]
    Forbidden {
        actor: String,
        verb: String,
        resource: String,
        namespace: String,
        /// ": <authorizer's reason>" or empty.
        reason: String,
    },
    #[error("{what} not found; nothing was changed (check the namespace and name)")]
    NotFound { what: String },
    #[error("{0}")]
    Invalid(String),
    #[error(
        "{what} changed while berth was updating it (resourceVersion {resource_version} is no longer current); nothing was changed: look at it again and retry"
    )]
    Conflict {
        what: String,
        resource_version: String,
    },
    #[error("kube API call failed ({what}): {source}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "refused: {headline}; nothing was changed. Instead: {instead}. To change it here all the same, add --force-unmanaged"
    )]
    Managed {
        owner: Box<Owner>,
        action: OwnedAction,
        headline: String,
        instead: String,
    },
    #[error(transparent)]
    Audit(#[from] AuditFailure),
}

impl AuditedError for ActionError {
    fn audit_outcome(&self) -> Outcome {
        match self {
            ActionError::Forbidden { .. } | ActionError::Managed { .. } => {
                Outcome::Refused(self.to_string())
            }
            _ => Outcome::Failed(self.to_string()),
        }
    }
}

impl ActionError {
    /// A stable short code for `--json` output and exit codes.
    pub fn code(&self) -> &'static str {
        match self {
            ActionError::Forbidden { .. } => "forbidden",
            ActionError::NotFound { .. } => "not_found",
            ActionError::Invalid(_) => "invalid",
            ActionError::Conflict { .. } => "conflict",
            ActionError::Api { .. } => "api_error",
            ActionError::Managed { .. } => "managed",
            ActionError::Audit(f) => f.code(),
        }
    }

    fn from_kube(what: &str, resource_version: &str, source: kube::Error) -> Self {
        match &source {
            kube::Error::Api(s) if s.code == 404 => ActionError::NotFound {
                what: what.to_owned(),
            },
            kube::Error::Api(s) if s.code == 409 => ActionError::Conflict {
                what: what.to_owned(),
                resource_version: resource_version.to_owned(),
            },
            _ => ActionError::Api {
                what: what.to_owned(),
                source,
            },
        }
    }
}

/// What an action did (or would do, in a dry run).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActionReport {
    /// `rollout.restart`, `rollout.set-image`, `rollout.undo`, `rollout.pause`, `rollout.resume`.
    pub action: String,
    /// `namespace/name`.
    pub target: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub dry_run: bool,
    /// False when nothing needed changing (e.g. already paused); nothing was written then.
    pub changed: bool,
    pub message: String,
    /// Helm, Argo CD or Flux, when it manages the workload (the change went on all the same:
    /// `--force-unmanaged`, or confirmed in the dashboard after its warning).
    pub owner: Option<Owner>,
}

/// Everything an action needs; cheap to clone into a task.
#[derive(Clone)]
pub struct ActionContext {
    pub client: Client,
    /// The kube identity, for the audit log (see [`super::connect::identity`]).
    pub actor: String,
    pub audit: AuditLog,
    pub dry_run: bool,
    /// What to do with a workload that Helm, Argo CD or Flux manages.
    pub owner_policy: OwnerPolicy,
}

/// What set image, undo and restart do with a workload Helm, Argo CD or Flux manages (see
/// [`crate::cluster::owner`]): its owner would revert the change behind it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OwnerPolicy {
    /// Refuse before any write, naming the owner and what to do instead (the headless default).
    #[default]
    Refuse,
    /// Go on, and say who owns it in the report (`--force-unmanaged`; the dashboard, whose
    /// confirmation showed the owner's warning).
    Allow,
}

/// The owner of the workload `meta` describes, if any; refused (before any write) when the
/// policy says so.
pub fn check_owner(
    ctx: &ActionContext,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    kind: WorkloadKind,
    action: OwnedAction,
) -> Result<Option<Owner>, ActionError> {
    let Some(owner) = owner_of(meta) else {
        return Ok(None);
    };
    if ctx.owner_policy == OwnerPolicy::Allow {
        return Ok(Some(owner));
    }
    let ns = meta.namespace.as_deref().unwrap_or_default();
    let name = meta.name.as_deref().unwrap_or_default();
    Err(managed_refusal(owner, kind, ns, name, action))
}

/// The refusal of `action` on a workload its `owner` manages: who, and what to do instead.
pub fn managed_refusal(
    owner: Owner,
    kind: WorkloadKind,
    ns: &str,
    name: &str,
    action: OwnedAction,
) -> ActionError {
    let workload = format!("{}/{name}", kind.short());
    let w = owner.warning(action, &workload, ns);
    ActionError::Managed {
        headline: format!(
            "{} {ns}/{name}{}",
            kind.noun(),
            w.headline.trim_start_matches(&workload)
        ),
        instead: w.instead,
        owner: Box::new(owner),
        action,
    }
}

impl std::fmt::Debug for ActionContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionContext")
            .field("actor", &self.actor)
            .field("audit", &self.audit)
            .field("dry_run", &self.dry_run)
            .field("owner_policy", &self.owner_policy)
            .finish_non_exhaustive()
    }
}

impl ActionContext {
    fn patch_params(&self) -> PatchParams {
        let mut p = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..Default::default()
        };
        p.dry_run = self.dry_run;
        p
    }

    fn post_params(&self) -> PostParams {
        PostParams {
            dry_run: self.dry_run,
            field_manager: Some(FIELD_MANAGER.to_owned()),
        }
    }
}

/// One resource permission to ask the apiserver about.
#[derive(Clone, Debug)]
pub struct Permission {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub namespace: String,
    pub name: Option<String>,
}

impl Permission {
    pub fn new(verb: &'static str, group: &'static str, resource: &'static str, ns: &str) -> Self {
        Self {
            verb,
            group,
            resource,
            namespace: ns.to_owned(),
            name: None,
        }
    }

    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    fn resource_label(&self) -> String {
        let r = if self.group.is_empty() {
            self.resource.to_owned()
        } else {
            format!("{}.{}", self.resource, self.group)
        };
        match &self.name {
            Some(n) => format!("{r} {n:?}"),
            None => r,
        }
    }
}

/// Asks the apiserver (SelfSubjectAccessReview) whether we may do each of `perms`; the first
/// denial is returned as [`ActionError::Forbidden`].
pub async fn check_access(
    client: &Client,
    actor: &str,
    perms: &[Permission],
) -> Result<(), ActionError> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    for p in perms {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(p.verb.to_owned()),
                    group: Some(p.group.to_owned()),
                    resource: Some(p.resource.to_owned()),
                    namespace: Some(p.namespace.clone()),
                    name: p.name.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(|source| ActionError::Api {
                what: format!("permission check for {} {}", p.verb, p.resource_label()),
                source,
            })?;
        let status = answer.status.unwrap_or_default();
        if !status.allowed {
            let why = status
                .reason
                .filter(|r| !r.is_empty())
                .or(status.evaluation_error.filter(|e| !e.is_empty()));
            return Err(ActionError::Forbidden {
                actor: actor.to_owned(),
                verb: p.verb.to_owned(),
                resource: p.resource_label(),
                namespace: p.namespace.clone(),
                reason: why.map(|w| format!(": {w}")).unwrap_or_default(),
            });
        }
    }
    Ok(())
}

/// Runs an action body between its audit records ([`audit::audited`]): the body plans old →
/// new on the gate as soon as it knows them and opens it right before its write.
async fn audited<F, Fut>(
    ctx: &ActionContext,
    action: &str,
    target: &str,
    body: F,
) -> Result<ActionReport, ActionError>
where
    F: FnOnce(Gate) -> Fut,
    Fut: std::future::Future<Output = Result<ActionReport, ActionError>>,
{
    let subject = Subject::new(&ctx.actor, action, target, ctx.dry_run);
    audit::audited(&ctx.audit, subject, body).await
}

#[derive(Default, Debug)]
struct Planned {
    old: Option<String>,
    new: Option<String>,
    /// The workload's owner, when the action goes on beside it.
    owner: Option<Owner>,
}

impl Planned {
    /// Records old → new on the gate (for the audit records, whatever the outcome).
    fn tell(&self, gate: &Gate) {
        gate.plan(self.old.clone(), self.new.clone());
    }
}

fn deployments(ctx: &ActionContext, ns: &str) -> Api<Deployment> {
    Api::namespaced(ctx.client.clone(), ns)
}

async fn get_deployment(
    ctx: &ActionContext,
    ns: &str,
    name: &str,
) -> Result<Deployment, ActionError> {
    deployments(ctx, ns)
        .get(name)
        .await
        .map_err(|e| ActionError::from_kube(&format!("deployment {ns}/{name}"), "", e))
}

fn rv(d: &Deployment) -> String {
    d.metadata.resource_version.clone().unwrap_or_default()
}

fn patch_perm(ns: &str, name: &str) -> Permission {
    Permission::new("patch", "apps", "deployments", ns).named(name)
}

/// Patches a deployment `read` moments ago, refused (409 Conflict) when its spec changed since
/// that read (metadata and status changes are not conflicts). Every deployment action writes through this.
pub async fn write_patch(
    ctx: &ActionContext,
    ns: &str,
    name: &str,
    read: &Deployment,
    patch: serde_json::Value,
) -> Result<Deployment, ActionError> {
    // The read resourceVersion inside the patch makes the apiserver refuse (409) a write based
    // on a stale read. But the deployment controller rewrites status and its revision
    // annotation all the time (a pause or a new template triggers exactly that), and such a
    // write does not make our decision stale: only a spec change does. Not `generation`: the
    // apiserver bumps it for annotation changes of a Deployment too. So on a conflict, read
    // again and retry while the spec is the one we decided on.
    const ATTEMPTS: usize = 5;
    let mut resource_version = rv(read);
    for attempt in 1..=ATTEMPTS {
        let mut body = patch.clone();
        body["metadata"]["resourceVersion"] = serde_json::Value::String(resource_version.clone());
        match deployments(ctx, ns)
            .patch(name, &ctx.patch_params(), &Patch::Strategic(body))
            .await
            .map_err(|e| {
                ActionError::from_kube(&format!("deployment {ns}/{name}"), &resource_version, e)
            }) {
            Err(ActionError::Conflict { .. }) if attempt < ATTEMPTS => {
                let fresh = get_deployment(ctx, ns, name).await?;
                if fresh.spec != read.spec {
                    return Err(ActionError::Conflict {
                        what: format!("deployment {ns}/{name}"),
                        resource_version,
                    });
                }
                tracing::debug!(%ns, %name, attempt, "status-only change since the read; retrying");
                resource_version = rv(&fresh);
            }
            other => return other,
        }
    }
    unreachable!("the last attempt returns")
}

fn report(
    ctx: &ActionContext,
    action: &str,
    target: &str,
    planned: &Planned,
    message: String,
) -> ActionReport {
    ActionReport {
        action: action.to_owned(),
        target: target.to_owned(),
        old: planned.old.clone(),
        new: planned.new.clone(),
        dry_run: ctx.dry_run,
        changed: true,
        message,
        owner: planned.owner.clone(),
    }
}

fn unchanged(
    ctx: &ActionContext,
    action: &str,
    target: &str,
    planned: &Planned,
    message: String,
) -> ActionReport {
    ActionReport {
        changed: false,
        ..report(ctx, action, target, planned, message)
    }
}

/// `kubectl rollout restart`: stamps `kubectl.kubernetes.io/restartedAt` on the pod template.
pub async fn restart(
    ctx: &ActionContext,
    ns: &str,
    name: &str,
) -> Result<ActionReport, ActionError> {
    let action = "rollout.restart";
    let target = format!("{ns}/{name}");
    let target = target.as_str();
    audited(ctx, action, target, |gate| async move {
        let mut planned = Planned::default();
        check_access(&ctx.client, &ctx.actor, &[patch_perm(ns, name)]).await?;
        let d = get_deployment(ctx, ns, name).await?;
        planned.owner = check_owner(ctx, &d.metadata, WorkloadKind::Deployment, OwnedAction::Restart)?;
        if d.spec.as_ref().and_then(|s| s.paused) == Some(true) {
            return Err(ActionError::Invalid(format!(
                "deployment {target} is paused, so a restart would not roll out; nothing was changed (resume it first: berth rollout resume {name} -n {ns})"
            )));
        }
        let old = d
            .spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get(RESTARTED_AT).cloned());
        let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        planned.old = Some(format!("{RESTARTED_AT}={}", old.as_deref().unwrap_or("(never)")));
        planned.new = Some(format!("{RESTARTED_AT}={now}"));
        planned.tell(&gate);
        let patch = serde_json::json!({
            "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}
        });
        gate.open()?;
        write_patch(ctx, ns, name, &d, patch).await?;
        Ok(report(ctx, action, target, &planned, format!("deployment {target} restarted")))
    })
    .await
}

/// Where `set_image` points a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageTarget {
    /// Same repository, this tag (any digest pin is dropped).
    Tag(String),
    /// Same repository, pinned to this digest (`sha256:…`); the tag, if any, is kept for humans.
    Digest(String),
    /// A whole image reference, used as given.
    Reference(String),
}

fn valid_tag(t: &str) -> bool {
    let mut chars = t.chars();
    t.len() <= 128
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn valid_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

pub use crate::reference::split_image;

/// The new image reference for a container currently running `current`.
pub fn retarget_image(current: &str, target: &ImageTarget) -> Result<String, ActionError> {
    let (repo, tag, _) = split_image(current);
    match target {
        ImageTarget::Tag(t) => {
            if !valid_tag(t) {
                return Err(ActionError::Invalid(format!(
                    "{t:?} is not a valid tag (letters, digits, '_', '.', '-'; up to 128; not starting with '.' or '-'); nothing was changed"
                )));
            }
            Ok(format!("{repo}:{t}"))
        }
        ImageTarget::Digest(d) => {
            if !valid_digest(d) {
                return Err(ActionError::Invalid(format!(
                    "{d:?} is not a valid digest (expected sha256: and 64 lowercase hex digits); nothing was changed"
                )));
            }
            Ok(match tag {
                Some(t) => format!("{repo}:{t}@{d}"),
                None => format!("{repo}@{d}"),
            })
        }
        ImageTarget::Reference(r) => {
            let r = r.trim();
            if r.is_empty() || r.chars().any(char::is_whitespace) {
                return Err(ActionError::Invalid(format!(
                    "{r:?} is not an image reference; nothing was changed"
                )));
            }
            Ok(r.to_owned())
        }
    }
}

/// `kubectl set image deployment/NAME CONTAINER=IMAGE` for one container (or init container).
pub async fn set_image(
    ctx: &ActionContext,
    ns: &str,
    name: &str,
    container: &str,
    image: &ImageTarget,
) -> Result<ActionReport, ActionError> {
    let action = "rollout.set-image";
    let target = format!("{ns}/{name}");
    let target = target.as_str();
    audited(ctx, action, target, |gate| async move {
        let mut planned = Planned::default();
        check_access(&ctx.client, &ctx.actor, &[patch_perm(ns, name)]).await?;
        let d = get_deployment(ctx, ns, name).await?;
        planned.owner = check_owner(ctx, &d.metadata, WorkloadKind::Deployment, OwnedAction::SetImage)?;
        let pod_spec = d.spec.as_ref().and_then(|s| s.template.spec.as_ref());
        let (field, current) = pod_spec
            .and_then(|ps| {
                ps.containers
                    .iter()
                    .find(|c| c.name == container)
                    .map(|c| ("containers", c))
                    .or_else(|| {
                        ps.init_containers
                            .iter()
                            .flatten()
                            .find(|c| c.name == container)
                            .map(|c| ("initContainers", c))
                    })
            })
            .ok_or_else(|| {
                let names: Vec<&str> = pod_spec
                    .map(|ps| {
                        ps.init_containers
                            .iter()
                            .flatten()
                            .chain(&ps.containers)
                            .map(|c| c.name.as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                ActionError::Invalid(format!(
                    "deployment {target} has no container {container:?} (it has: {}); nothing was changed",
                    names.join(", ")
                ))
            })?;
        let old = current.image.clone().unwrap_or_default();
        let new = retarget_image(&old, image)?;
        planned.old = Some(format!("{container}={old}"));
        planned.new = Some(format!("{container}={new}"));
        planned.tell(&gate);
        if old == new {
            return Ok(unchanged(
                ctx,
                action,
                target,
                &planned,
                format!("container {container} of {target} already runs {new}"),
            ));
        }
        let patch = serde_json::json!({
            "spec": {"template": {"spec": {field: [{"name": container, "image": new}]}}}
        });
        gate.open()?;
        write_patch(ctx, ns, name, &d, patch).await?;
        Ok(report(
            ctx,
            action,
            target,
            &planned,
            format!("deployment {target}: container {container} set to {new}"),
        ))
    })
    .await
}

/// `kubectl rollout pause` (`paused = true`) / `resume` (`paused = false`).
pub async fn set_paused(
    ctx: &ActionContext,
    ns: &str,
    name: &str,
    paused: bool,
) -> Result<ActionReport, ActionError> {
    let action = if paused {
        "rollout.pause"
    } else {
        "rollout.resume"
    };
    let target = format!("{ns}/{name}");
    let target = target.as_str();
    audited(ctx, action, target, |gate| async move {
        let mut planned = Planned::default();
        check_access(&ctx.client, &ctx.actor, &[patch_perm(ns, name)]).await?;
        let d = get_deployment(ctx, ns, name).await?;
        let now = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
        planned.old = Some(format!("paused={now}"));
        planned.new = Some(format!("paused={paused}"));
        planned.tell(&gate);
        let word = if paused { "paused" } else { "resumed" };
        if now == paused {
            let msg = format!(
                "deployment {target} is already {}",
                if paused { "paused" } else { "not paused" }
            );
            return Ok(unchanged(ctx, action, target, &planned, msg));
        }
        gate.open()?;
        write_patch(
            ctx,
            ns,
            name,
            &d,
            serde_json::json!({"spec": {"paused": paused}}),
        )
        .await?;
        Ok(report(
            ctx,
            action,
            target,
            &planned,
            format!("deployment {target} {word}"),
        ))
    })
    .await
}

/// A pod template as compared by `kubectl rollout undo` (`equalIgnoreHash`).
fn template_without_hash(
    t: &k8s_openapi::api::core::v1::PodTemplateSpec,
) -> k8s_openapi::api::core::v1::PodTemplateSpec {
    let mut t = t.clone();
    if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    t
}

fn images_of(t: &k8s_openapi::api::core::v1::PodTemplateSpec) -> String {
    t.spec
        .as_ref()
        .map(|ps| {
            ps.init_containers
                .iter()
                .flatten()
                .chain(&ps.containers)
                .map(|c| format!("{}={}", c.name, c.image.as_deref().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// The Deployment after `kubectl rollout undo --to-revision=N`: the ReplicaSet's pod template
/// without the pod-template-hash label, and the annotations kubectl computes.
pub fn undo_deployment(d: &Deployment, rs: &ReplicaSet) -> Deployment {
    let mut out = d.clone();
    let template = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .map(template_without_hash)
        .unwrap_or_default();
    if let Some(spec) = out.spec.as_mut() {
        spec.template = template;
    }
    let mut annotations = BTreeMap::new();
    let current = d.metadata.annotations.clone().unwrap_or_default();
    for k in UNDO_ANNOTATIONS_TO_SKIP {
        if let Some(v) = current.get(k) {
            annotations.insert(k.to_owned(), v.clone());
        }
    }
    for (k, v) in rs.metadata.annotations.iter().flatten() {
        if !UNDO_ANNOTATIONS_TO_SKIP.contains(&k.as_str()) {
            annotations.insert(k.clone(), v.clone());
        }
    }
    out.metadata.annotations = Some(annotations);
    out
}

/// `kubectl rollout undo [--to-revision=N]`: back to the previous (or the given) revision.
pub async fn undo(
    ctx: &ActionContext,
    ns: &str,
    name: &str,
    to_revision: Option<i64>,
) -> Result<ActionReport, ActionError> {
    let action = "rollout.undo";
    let target = format!("{ns}/{name}");
    let target = target.as_str();
    audited(ctx, action, target, |gate| async move {
        let mut planned = Planned::default();
        check_access(
            &ctx.client,
            &ctx.actor,
            &[
                Permission::new("update", "apps", "deployments", ns).named(name),
                Permission::new("list", "apps", "replicasets", ns),
            ],
        )
        .await?;
        let d = get_deployment(ctx, ns, name).await?;
        planned.owner = check_owner(ctx, &d.metadata, WorkloadKind::Deployment, OwnedAction::Undo)?;
        if d.spec.as_ref().and_then(|s| s.paused) == Some(true) {
            return Err(ActionError::Invalid(format!(
                "you cannot roll back a paused deployment; nothing was changed (resume it first: berth rollout resume {name} -n {ns})"
            )));
        }
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let rss: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), ns);
        let owned: Vec<ReplicaSet> = rss
            .list(&ListParams::default())
            .await
            .map_err(|e| ActionError::from_kube(&format!("replicasets of {target}"), "", e))?
            .items
            .into_iter()
            .filter(|rs| {
                controller_uid(rs.metadata.owner_references.as_ref()).as_deref() == Some(uid.as_str())
            })
            .collect();
        let revisions: Vec<i64> = owned.iter().filter_map(|rs| revision_of(&rs.metadata)).collect();
        let wanted = match to_revision {
            Some(r) if r > 0 => r,
            _ => previous_revision(revisions.iter().copied()).ok_or_else(|| {
                ActionError::Invalid(format!(
                    "no rollout history found for deployment {target}: there is no previous revision to go back to; nothing was changed"
                ))
            })?,
        };
        let Some(rs) = owned.iter().find(|rs| revision_of(&rs.metadata) == Some(wanted)) else {
            let mut known = revisions.clone();
            known.sort_unstable();
            return Err(ActionError::Invalid(format!(
                "unable to find revision {wanted} of deployment {target} (known revisions: {known:?}); nothing was changed"
            )));
        };
        let current_rev = revision_of(&d.metadata);
        let current_template = d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
        planned.old = Some(format!(
            "revision {} ({})",
            current_rev.map_or("?".to_owned(), |r| r.to_string()),
            images_of(&current_template)
        ));
        let updated = undo_deployment(&d, rs);
        let new_template = updated.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
        planned.new = Some(format!("revision {wanted} ({})", images_of(&new_template)));
        planned.tell(&gate);
        if template_without_hash(&current_template) == new_template {
            return Ok(unchanged(
                ctx,
                action,
                target,
                &planned,
                format!("skipped rollback (current template already matches revision {wanted})"),
            ));
        }
        // A full update carrying the read resourceVersion: the apiserver refuses it (409) if
        // the deployment changed since we read it.
        gate.open()?;
        deployments(ctx, ns)
            .replace(name, &ctx.post_params(), &updated)
            .await
            .map_err(|e| ActionError::from_kube(&format!("deployment {target}"), &rv(&d), e))?;
        Ok(report(
            ctx,
            action,
            target,
            &planned,
            format!("deployment {target} rolled back to revision {wanted}"),
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_image_handles_ports_tags_and_digests() {
        assert_eq!(
            split_image("127.0.0.1:5000/web:1.0"),
            ("127.0.0.1:5000/web", Some("1.0"), None)
        );
        assert_eq!(
            split_image("127.0.0.1:5000/web"),
            ("127.0.0.1:5000/web", None, None)
        );
        assert_eq!(
            split_image("r.io/a/b:t@sha256:ab"),
            ("r.io/a/b", Some("t"), Some("sha256:ab"))
        );
        assert_eq!(split_image("busybox"), ("busybox", None, None));
    }

    #[test]
    fn retarget_to_tag_and_digest() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            retarget_image("h:1/web:1.0@sha256:00", &ImageTarget::Tag("2.0".into())).unwrap(),
            "h:1/web:2.0"
        );
        assert_eq!(
            retarget_image("h:1/web:1.0", &ImageTarget::Digest(d.clone())).unwrap(),
            format!("h:1/web:1.0@{d}")
        );
        assert_eq!(
            retarget_image("h:1/web", &ImageTarget::Digest(d.clone())).unwrap(),
            format!("h:1/web@{d}")
        );
        for bad in [".x", "-x", "a b", "", &"x".repeat(129)] {
            assert!(
                retarget_image("web:1", &ImageTarget::Tag(bad.to_owned())).is_err(),
                "{bad}"
            );
        }
        assert!(retarget_image("web:1", &ImageTarget::Digest("sha256:XYZ".into())).is_err());
        let e = retarget_image(
            "web:1",
            &ImageTarget::Digest(format!("sha256:{}", "A".repeat(64))),
        )
        .unwrap_err();
        assert!(e.to_string().contains("nothing was changed"), "{e}");
    }

    #[test]
    fn undo_copies_template_without_hash_and_kubectl_annotations() {
        let d: Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "annotations": {
                "deployment.kubernetes.io/revision": "3",
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
                "team": "a"}},
            "spec": {"selector": {}, "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "web:3"}]}}}
        }))
        .unwrap();
        let rs: ReplicaSet = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-abc", "annotations": {
                "deployment.kubernetes.io/revision": "2",
                "deployment.kubernetes.io/desired-replicas": "1",
                "kubernetes.io/change-cause": "v2"}},
            "spec": {"selector": {}, "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": "abc"}},
                "spec": {"containers": [{"name": "app", "image": "web:2"}]}}}
        }))
        .unwrap();
        let out = undo_deployment(&d, &rs);
        let t = &out.spec.as_ref().unwrap().template;
        assert_eq!(
            t.spec.as_ref().unwrap().containers[0].image.as_deref(),
            Some("web:2")
        );
        let labels = t.metadata.as_ref().unwrap().labels.as_ref().unwrap();
        assert!(!labels.contains_key("pod-template-hash"));
        let a = out.metadata.annotations.unwrap();
        assert_eq!(a.get("deployment.kubernetes.io/revision").unwrap(), "3");
        assert_eq!(a.get("kubernetes.io/change-cause").unwrap(), "v2");
        assert!(a.contains_key("kubectl.kubernetes.io/last-applied-configuration"));
        assert!(!a.contains_key("deployment.kubernetes.io/desired-replicas"));
        assert!(
            !a.contains_key("team"),
            "kubectl replaces the annotations wholesale"
        );
    }
}

/// The rollout mutations for a workload of any kind, chosen in this one place: Deployments
/// above, StatefulSets and DaemonSets through their ControllerRevisions.
pub mod workload {
    use super::{ActionContext, ActionError, ActionReport, ImageTarget};
    use super::{controller_revision as cr, restart as restart_deployment};
    use crate::cluster::model::WorkloadKind;

    pub async fn restart(
        ctx: &ActionContext,
        kind: WorkloadKind,
        ns: &str,
        name: &str,
    ) -> Result<ActionReport, ActionError> {
        match kind {
            WorkloadKind::Deployment => restart_deployment(ctx, ns, name).await,
            kind => cr::restart(ctx, kind, ns, name).await,
        }
    }

    pub async fn set_image(
        ctx: &ActionContext,
        kind: WorkloadKind,
        ns: &str,
        name: &str,
        container: &str,
        image: &ImageTarget,
    ) -> Result<ActionReport, ActionError> {
        match kind {
            WorkloadKind::Deployment => super::set_image(ctx, ns, name, container, image).await,
            kind => cr::set_image(ctx, kind, ns, name, container, image).await,
        }
    }

    pub async fn undo(
        ctx: &ActionContext,
        kind: WorkloadKind,
        ns: &str,
        name: &str,
        to_revision: Option<i64>,
    ) -> Result<ActionReport, ActionError> {
        match kind {
            WorkloadKind::Deployment => super::undo(ctx, ns, name, to_revision).await,
            kind => cr::undo(ctx, kind, ns, name, to_revision).await,
        }
    }
}
