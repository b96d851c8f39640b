//! The deployment and service-account mutations, run with the context in use.

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;

use super::cluster_side::KubeNow;
use super::outcome::{self, action_error, action_summary, done};
use crate::app::action::{TaskError, TaskResult};
use crate::app::effects::Effect;
use crate::audit::AuditLog;
use crate::cluster::actions::{self, ActionContext, ImageTarget, OwnerPolicy};
use crate::cluster::model::ObjectRef;
use crate::cluster::rotate;

fn context(now: &KubeNow, audit: &AuditLog, dry_run: bool) -> ActionContext {
    ActionContext {
        client: now.target.client.clone(),
        actor: now.actor.clone(),
        audit: audit.clone(),
        dry_run,
        // The confirmation showed the owner's warning, and the user went on.
        owner_policy: OwnerPolicy::Allow,
    }
}

/// The image of `container` in the deployment's template (or init containers).
pub fn template_image(d: &Deployment, container: &str) -> Option<String> {
    let spec = d.spec.as_ref()?.template.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == container)
        .and_then(|c| c.image.clone())
}

/// The confirmation showed `expected` as the old image: refuse if the deployment moved on
/// since (someone else's rollout), rather than overwrite what the user never saw.
pub fn check_expected(
    title: &str,
    deployment: &ObjectRef,
    container: &str,
    current: Option<&str>,
    expected: &str,
) -> Result<(), TaskError> {
    match current {
        Some(c) if c == expected => Ok(()),
        Some(c) => Err(outcome::error(
            title,
            format!(
                "container {container} of {}/{} now runs {c}, not {expected} as shown when you confirmed",
                deployment.namespace, deployment.name
            ),
            "nothing was changed: look at the deployment again and retry",
        )),
        None => Err(outcome::error(
            title,
            format!(
                "deployment {}/{} has no container {container} any more",
                deployment.namespace, deployment.name
            ),
            "nothing was changed: look at the deployment again",
        )),
    }
}

/// Runs a cluster mutation; `None` when `effect` is not one.
pub async fn run(now: &KubeNow, audit: &AuditLog, effect: &Effect) -> Option<TaskResult> {
    let title = effect.title();
    let dry_run = effect.dry_run();
    let ctx = context(now, audit, dry_run);
    let report = match effect {
        Effect::SetImage {
            deployment,
            container,
            expected_image,
            image,
            ..
        } => {
            let api: Api<Deployment> =
                Api::namespaced(now.target.client.clone(), &deployment.namespace);
            let current = match api.get(&deployment.name).await {
                Ok(d) => template_image(&d, container),
                Err(e) => {
                    return Some(Err(outcome::error(
                        &title,
                        format!(
                            "cannot read deployment {}/{}: {e}",
                            deployment.namespace, deployment.name
                        ),
                        "nothing was changed; check the cluster connection and retry",
                    )));
                }
            };
            if let Err(e) = check_expected(
                &title,
                deployment,
                container,
                current.as_deref(),
                expected_image,
            ) {
                return Some(Err(e));
            }
            actions::set_image(
                &ctx,
                &deployment.namespace,
                &deployment.name,
                container,
                &ImageTarget::Reference(image.clone()),
            )
            .await
        }
        Effect::Restart {
            kind, deployment, ..
        } => actions::workload::restart(&ctx, *kind, &deployment.namespace, &deployment.name).await,
        Effect::Undo {
            kind,
            deployment,
            to_revision,
            ..
        } => {
            actions::workload::undo(
                &ctx,
                *kind,
                &deployment.namespace,
                &deployment.name,
                *to_revision,
            )
            .await
        }
        Effect::Pause { deployment, .. } => {
            actions::set_paused(&ctx, &deployment.namespace, &deployment.name, true).await
        }
        Effect::Resume { deployment, .. } => {
            actions::set_paused(&ctx, &deployment.namespace, &deployment.name, false).await
        }
        Effect::AttachSecret {
            service_account,
            secret,
            ..
        } => {
            let sa = service_account;
            let r = rotate::attach(&ctx, &sa.namespace, &sa.name, secret).await;
            return Some(match r {
                Ok(true) => done(format!(
                    "{}secret {secret} attached to serviceaccount {}/{}",
                    if dry_run {
                        "dry run, nothing changed: "
                    } else {
                        ""
                    },
                    sa.namespace,
                    sa.name
                )),
                Ok(false) => done(format!(
                    "serviceaccount {}/{} already lists {secret}",
                    sa.namespace, sa.name
                )),
                Err(e) => Err(action_error(&title, &e)),
            });
        }
        _ => return None,
    };
    Some(match report {
        Ok(r) => done(action_summary(&r)),
        Err(e) => Err(action_error(&title, &e)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep() -> ObjectRef {
        ObjectRef {
            namespace: "shop".into(),
            name: "web".into(),
        }
    }

    #[test]
    fn a_moved_deployment_is_not_overwritten() {
        assert!(check_expected("set image", &dep(), "web", Some("h/web:1"), "h/web:1").is_ok());
        let e = check_expected("set image", &dep(), "web", Some("h/web:2"), "h/web:1").unwrap_err();
        assert!(e.why.contains("now runs h/web:2, not h/web:1"), "{}", e.why);
        assert!(e.hint.starts_with("nothing was changed"));
        let e = check_expected("set image", &dep(), "web", None, "h/web:1").unwrap_err();
        assert!(e.why.contains("no container web"));
    }

    #[test]
    fn template_images_include_init_containers() {
        let d: Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web"},
            "spec": {
                "selector": {},
                "template": {"spec": {
                    "initContainers": [{"name": "init", "image": "h/init:1"}],
                    "containers": [{"name": "web", "image": "h/web:1"}]
                }}
            }
        }))
        .unwrap();
        assert_eq!(template_image(&d, "web").as_deref(), Some("h/web:1"));
        assert_eq!(template_image(&d, "init").as_deref(), Some("h/init:1"));
        assert_eq!(template_image(&d, "other"), None);
    }
}
