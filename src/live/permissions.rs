//! What the identity may change in the namespace in view: one SelfSubjectAccessReview set per
//! mutation kind, sent to the UI as `Action::Permissions` so the key hints can say "refused"
//! before a key is pressed. The actions check again when they run (the server decides).

use kube::Client;

use crate::app::action::{Permission as Verdict, PermissionUpdate};
use crate::app::effects::MutationKind;
use crate::cluster::actions::{ActionError, Permission, check_access};

/// The RBAC permissions a mutation of `kind` needs in `ns`; empty for registry-side ones.
pub fn required(kind: MutationKind, ns: &str) -> Vec<Permission> {
    let deployments = || Permission::new("patch", "apps", "deployments", ns);
    match kind {
        // Registry and ARM side: decided by the registry and ARM at the write.
        MutationKind::Retag | MutationKind::Azure => Vec::new(),
        MutationKind::SetImage | MutationKind::Restart | MutationKind::PauseResume => {
            vec![deployments()]
        }
        MutationKind::Undo => vec![
            Permission::new("update", "apps", "deployments", ns),
            Permission::new("list", "apps", "replicasets", ns),
        ],
        MutationKind::RotateSecret => vec![
            Permission::new("get", "", "secrets", ns),
            Permission::new("create", "", "secrets", ns),
            Permission::new("update", "", "secrets", ns),
        ],
        MutationKind::AttachSecret => vec![
            Permission::new("get", "", "serviceaccounts", ns),
            Permission::new("patch", "", "serviceaccounts", ns),
        ],
    }
}

/// The key the UI files a verdict under: registry-side and multi-namespace mutations are not
/// tied to the namespace in view (see `app::policy::refusal`).
pub fn scope(kind: MutationKind, ns: &str) -> Option<String> {
    match kind {
        MutationKind::Retag | MutationKind::RotateSecret | MutationKind::Azure => None,
        _ => Some(ns.to_owned()),
    }
}

/// The short reason shown on a key hint for a refused review.
pub fn denial(err: &ActionError) -> Option<String> {
    match err {
        ActionError::Forbidden {
            verb,
            resource,
            namespace,
            ..
        } => Some(format!("RBAC: cannot {verb} {resource} in {namespace}")),
        _ => None,
    }
}

/// The verdict for one kind from the review's answer and, for a rotation, whether a credential
/// source is configured. `None` when nothing could be learnt (the server decides later).
pub fn verdict(
    kind: MutationKind,
    review: Result<(), ActionError>,
    rotation: &Result<(), String>,
) -> Option<Verdict> {
    match review {
        Err(e) => {
            let why = denial(&e);
            if why.is_none() {
                tracing::warn!("permission check for {kind:?} failed: {e}");
            }
            why.map(Verdict::Denied)
        }
        Ok(()) => match (kind, rotation) {
            (MutationKind::RotateSecret, Err(why)) => Some(Verdict::Denied(why.clone())),
            _ => Some(Verdict::Allowed),
        },
    }
}

/// Reviews every mutation kind for namespace `ns`.
pub async fn check(
    client: &Client,
    actor: &str,
    ns: &str,
    rotation: Result<(), String>,
) -> Vec<PermissionUpdate> {
    let reviews = MutationKind::ALL.iter().map(|&kind| {
        let perms = required(kind, ns);
        async move {
            let r = if perms.is_empty() {
                Ok(())
            } else {
                check_access(client, actor, &perms).await
            };
            (kind, r)
        }
    });
    let mut out = Vec::new();
    for (kind, review) in futures::future::join_all(reviews).await {
        if matches!(kind, MutationKind::Retag | MutationKind::Azure) {
            continue; // decided by the registry at the push, by ARM at the write
        }
        if let Some(permission) = verdict(kind, review, &rotation) {
            out.push(PermissionUpdate {
                kind,
                namespace: scope(kind, ns),
                permission,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden() -> ActionError {
        ActionError::Forbidden {
            actor: "berth-readonly".into(),
            verb: "patch".into(),
            resource: "deployments.apps".into(),
            namespace: "shop".into(),
            reason: String::new(),
        }
    }

    #[test]
    fn every_cluster_mutation_needs_a_review() {
        for kind in MutationKind::ALL {
            let perms = required(kind, "shop");
            assert_eq!(
                perms.is_empty(),
                matches!(kind, MutationKind::Retag | MutationKind::Azure),
                "{kind:?}"
            );
            assert!(perms.iter().all(|p| p.namespace == "shop"));
        }
        assert_eq!(
            scope(MutationKind::Restart, "shop").as_deref(),
            Some("shop")
        );
        assert_eq!(scope(MutationKind::RotateSecret, "shop"), None);
    }

    #[test]
    fn verdicts_say_why() {
        let ok: Result<(), String> = Ok(());
        assert_eq!(
            verdict(MutationKind::Restart, Err(forbidden()), &ok),
            Some(Verdict::Denied(
                "RBAC: cannot patch deployments.apps in shop".into()
            ))
        );
        assert_eq!(
            verdict(MutationKind::Restart, Ok(()), &ok),
            Some(Verdict::Allowed)
        );
        let no_source = Err("no [registry.arm] for sandbox".to_owned());
        assert_eq!(
            verdict(MutationKind::RotateSecret, Ok(()), &no_source),
            Some(Verdict::Denied("no [registry.arm] for sandbox".into()))
        );
        assert_eq!(
            verdict(MutationKind::Restart, Ok(()), &no_source),
            Some(Verdict::Allowed)
        );
        // A failed review teaches nothing: no verdict, the server decides at the write.
        let api = ActionError::Invalid("boom".into());
        assert_eq!(verdict(MutationKind::Undo, Err(api), &ok), None);
    }
}
