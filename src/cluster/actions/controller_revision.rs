//! Restart, set image and undo for StatefulSets and DaemonSets: the workloads whose revisions
//! are ControllerRevisions. kubectl does these with the same template patches as for
//! Deployments; undo applies the chosen ControllerRevision's `data` (a strategic-merge patch
//! holding the pod template) as kubectl's `statefulSetRollbacker`/`daemonSetRollbacker` do.
//! Every write carries the resourceVersion of the read it was decided on (409 if stale).

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, StatefulSet};
use kube::Api;
use kube::api::{ApiResource, DynamicObject, ListParams, Patch};
use serde_json::{Value, json};

use super::{
    ActionContext, ActionError, ActionReport, ImageTarget, Permission, Planned, RESTARTED_AT,
    audited, check_access, check_owner, report, retarget_image, unchanged,
};
use crate::cluster::convert::controller_uid;
use crate::cluster::model::WorkloadKind;
use crate::cluster::owner::OwnedAction;
use crate::cluster::rollout::previous_revision;

fn resource(kind: WorkloadKind) -> ApiResource {
    match kind {
        WorkloadKind::StatefulSet => ApiResource::erase::<StatefulSet>(&()),
        // Deployments never come here (their actions own the ReplicaSet logic).
        WorkloadKind::DaemonSet | WorkloadKind::Deployment => ApiResource::erase::<DaemonSet>(&()),
    }
}

fn api(ctx: &ActionContext, kind: WorkloadKind, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(ctx.client.clone(), ns, &resource(kind))
}

fn what(kind: WorkloadKind, ns: &str, name: &str) -> String {
    format!("{} {ns}/{name}", kind.noun())
}

fn perm(verb: &'static str, kind: WorkloadKind, ns: &str, name: &str) -> Permission {
    let resource = match kind {
        WorkloadKind::StatefulSet => "statefulsets",
        _ => "daemonsets",
    };
    Permission::new(verb, "apps", resource, ns).named(name)
}

async fn read(
    ctx: &ActionContext,
    kind: WorkloadKind,
    ns: &str,
    name: &str,
) -> Result<DynamicObject, ActionError> {
    api(ctx, kind, ns)
        .get(name)
        .await
        .map_err(|e| ActionError::from_kube(&what(kind, ns, name), "", e))
}

/// A strategic-merge patch that the apiserver refuses (409) if the object changed since `read`.
async fn write(
    ctx: &ActionContext,
    kind: WorkloadKind,
    ns: &str,
    name: &str,
    read: &DynamicObject,
    mut patch: Value,
) -> Result<(), ActionError> {
    let rv = read.metadata.resource_version.clone().unwrap_or_default();
    patch["metadata"]["resourceVersion"] = Value::String(rv.clone());
    api(ctx, kind, ns)
        .patch(name, &ctx.patch_params(), &Patch::Strategic(patch))
        .await
        .map_err(|e| ActionError::from_kube(&what(kind, ns, name), &rv, e))?;
    Ok(())
}

/// `kubectl rollout restart sts/NAME|ds/NAME`.
pub async fn restart(
    ctx: &ActionContext,
    kind: WorkloadKind,
    ns: &str,
    name: &str,
) -> Result<ActionReport, ActionError> {
    let action = "rollout.restart";
    let target = format!("{}/{ns}/{name}", kind.short());
    let target = target.as_str();
    audited(ctx, action, target, |gate| async move {
        check_access(&ctx.client, &ctx.actor, &[perm("patch", kind, ns, name)]).await?;
        let obj = read(ctx, kind, ns, name).await?;
        let owner = check_owner(ctx, &obj.metadata, kind, OwnedAction::Restart)?;
        let old = obj.data["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT]
            .as_str()
            .map(str::to_owned);
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let planned = Planned {
            owner,
            old: Some(format!(
                "{RESTARTED_AT}={}",
                old.as_deref().unwrap_or("(never)")
            )),
            new: Some(format!("{RESTARTED_AT}={now}")),
        };
        planned.tell(&gate);
        gate.open()?;
        write(
            ctx,
            kind,
            ns,
            name,
            &obj,
            json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}),
        )
        .await?;
        Ok(report(
            ctx,
            action,
            target,
            &planned,
            format!("{} restarted", what(kind, ns, name)),
        ))
    })
    .await
}

/// `kubectl set image sts/NAME CONTAINER=IMAGE` for one container (or init container).
pub async fn set_image(
    ctx: &ActionContext,
    kind: WorkloadKind,
    ns: &str,
    name: &str,
    container: &str,
    image: &ImageTarget,
) -> Result<ActionReport, ActionError> {
    let action = "rollout.set-image";
    let target = format!("{}/{ns}/{name}", kind.short());
    let target = target.as_str();
    audited(ctx, action, target, |gate| async move {
        check_access(&ctx.client, &ctx.actor, &[perm("patch", kind, ns, name)]).await?;
        let obj = read(ctx, kind, ns, name).await?;
        let owner = check_owner(ctx, &obj.metadata, kind, OwnedAction::SetImage)?;
        let spec = &obj.data["spec"]["template"]["spec"];
        let find = |field: &str| {
            spec[field]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["name"] == container))
                .map(|c| c["image"].as_str().unwrap_or_default().to_owned())
        };
        let (field, old) = find("containers")
            .map(|i| ("containers", i))
            .or_else(|| find("initContainers").map(|i| ("initContainers", i)))
            .ok_or_else(|| {
                let names: Vec<&str> = ["initContainers", "containers"]
                    .iter()
                    .flat_map(|f| spec[*f].as_array().into_iter().flatten())
                    .filter_map(|c| c["name"].as_str())
                    .collect();
                ActionError::Invalid(format!(
                    "{} has no container {container:?} (it has: {}); nothing was changed",
                    what(kind, ns, name),
                    names.join(", ")
                ))
            })?;
        let new = retarget_image(&old, image)?;
        let planned = Planned {
            owner,
            old: Some(format!("{container}={old}")),
            new: Some(format!("{container}={new}")),
        };
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
        gate.open()?;
        write(
            ctx,
            kind,
            ns,
            name,
            &obj,
            json!({"spec": {"template": {"spec": {field: [{"name": container, "image": new}]}}}}),
        )
        .await?;
        Ok(report(
            ctx,
            action,
            target,
            &planned,
            format!("{} now runs {new} in {container}", what(kind, ns, name)),
        ))
    })
    .await
}

/// The images a ControllerRevision's template names (`init, containers` in order).
fn images_of(template: &Value) -> String {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|f| template["spec"][*f].as_array().into_iter().flatten())
        .filter_map(|c| c["image"].as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `kubectl rollout undo sts/NAME [--to-revision=N]`: the previous revision (the second
/// highest) unless one is given; skipped when the template already matches it.
pub async fn undo(
    ctx: &ActionContext,
    kind: WorkloadKind,
    ns: &str,
    name: &str,
    to_revision: Option<i64>,
) -> Result<ActionReport, ActionError> {
    let action = "rollout.undo";
    let target = format!("{}/{ns}/{name}", kind.short());
    let target = target.as_str();
    audited(ctx, action, target, |gate| async move {
        check_access(
            &ctx.client,
            &ctx.actor,
            &[
                perm("patch", kind, ns, name),
                Permission::new("list", "apps", "controllerrevisions", ns),
            ],
        )
        .await?;
        let obj = read(ctx, kind, ns, name).await?;
        let owner = check_owner(ctx, &obj.metadata, kind, OwnedAction::Undo)?;
        let uid = obj.metadata.uid.clone().unwrap_or_default();
        let revisions: Vec<ControllerRevision> = Api::<ControllerRevision>::namespaced(
            ctx.client.clone(),
            ns,
        )
        .list(&ListParams::default())
        .await
        .map_err(|e| ActionError::from_kube(&format!("controllerrevisions of {target}"), "", e))?
        .items
        .into_iter()
        .filter(|r| {
            controller_uid(r.metadata.owner_references.as_ref()).as_deref() == Some(uid.as_str())
        })
        .collect();
        let numbers: Vec<i64> = revisions.iter().map(|r| r.revision).collect();
        let wanted = match to_revision {
            Some(r) if r > 0 => r,
            _ => previous_revision(numbers.iter().copied()).ok_or_else(|| {
                ActionError::Invalid(format!(
                    "no rollout history found for {}: there is no previous revision to go back to; nothing was changed",
                    what(kind, ns, name)
                ))
            })?,
        };
        let Some(revision) = revisions.iter().find(|r| r.revision == wanted) else {
            let mut known = numbers.clone();
            known.sort_unstable();
            return Err(ActionError::Invalid(format!(
                "unable to find revision {wanted} of {} (known revisions: {known:?}); nothing was changed",
                what(kind, ns, name)
            )));
        };
        let data = revision
            .data
            .as_ref()
            .map(|d| d.0.clone())
            .unwrap_or(Value::Null);
        let current_template = &obj.data["spec"]["template"];
        let current = numbers.iter().max().copied();
        let planned = Planned {
            owner,
            old: Some(format!(
                "revision {} ({})",
                current.map_or("?".to_owned(), |r| r.to_string()),
                images_of(current_template)
            )),
            new: Some(format!(
                "revision {wanted} ({})",
                images_of(&data["spec"]["template"])
            )),
        };
        planned.tell(&gate);
        if template_matches(current_template, &data["spec"]["template"]) {
            return Ok(unchanged(
                ctx,
                action,
                target,
                &planned,
                format!("skipped rollback (current template already matches revision {wanted})"),
            ));
        }
        gate.open()?;
        write(ctx, kind, ns, name, &obj, data).await?;
        Ok(report(
            ctx,
            action,
            target,
            &planned,
            format!("{} rolled back to revision {wanted}", what(kind, ns, name)),
        ))
    })
    .await
}

/// Whether the live template is the revision's: a revision stores the whole template as the
/// controller saw it (defaults applied), marked `$patch: replace` (kubectl compares the same
/// way before it skips a rollback).
fn template_matches(live: &Value, revision: &Value) -> bool {
    let mut revision = revision.clone();
    if let Some(o) = revision.as_object_mut() {
        o.remove("$patch");
    }
    *live == revision
}
