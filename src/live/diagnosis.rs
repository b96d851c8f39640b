//! The diagnosis engine's answer (`diagnose::Diagnosis`) as the panel shows it
//! (`app::diagnosis::DiagnosisView`): the cause line, the evidence, and the first fix berth can
//! run on one key as an `Effect` (it still goes through the confirmation); everything else is
//! advice with the commands to run by hand. Pure.

use crate::app::diagnosis::{DiagnosisView, Evidence, Fix};
use crate::app::effects::{Effect, PasswordSlot};
use crate::cluster::model::ObjectRef;
use crate::diagnose::{Diagnosis, FixAction};
use crate::reference::same_host;

/// Where a one-key rotation would get credentials: the configured registry that has a
/// credential source, and the admin slot to regenerate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    pub registry: String,
    pub slot: PasswordSlot,
}

/// The view of a pod with nothing wrong in its pulls.
pub fn nothing_wrong(pod: &ObjectRef) -> DiagnosisView {
    DiagnosisView {
        pod: pod.clone(),
        image: String::new(),
        cause: format!(
            "No failing image pull: every image of {}/{} pulled (or is pulling normally)",
            pod.namespace, pod.name
        ),
        code: "none".to_owned(),
        evidence: Vec::new(),
        fix: None,
        advice: Some(
            "if the pod still does not run, read its events in the timeline and its logs \
             (kubectl logs)"
                .to_owned(),
        ),
    }
}

/// The panel for a pod's diagnoses (one per failing container): the first in full, the others
/// named in the advice.
pub fn view(
    pod: &ObjectRef,
    diagnoses: &[Diagnosis],
    rotation: Option<&Rotation>,
) -> DiagnosisView {
    let Some(d) = diagnoses.first() else {
        return nothing_wrong(pod);
    };
    let evidence = d
        .evidence
        .iter()
        .map(|l| Evidence {
            check: l.topic.label().to_owned(),
            finding: l.text.clone(),
            ok: l.ok,
        })
        .collect();
    let mut advice = Vec::new();
    let mut fix = None;
    for f in &d.fixes {
        match (&fix, one_key(d, &f.actions, rotation)) {
            (None, Some((effect, retry))) => {
                if let Some(r) = retry {
                    advice.push(format!(
                        "after the fix, retry at once with: {}",
                        r.command()
                    ));
                }
                if let Some(n) = &f.note {
                    advice.push(n.clone());
                }
                fix = Some(Fix {
                    title: f.title.clone(),
                    effect,
                });
            }
            _ => {
                let commands = f.commands();
                let how = if commands.is_empty() {
                    f.note.clone().unwrap_or_default()
                } else {
                    commands.join(" && ")
                };
                let lead = if fix.is_some() || !advice.is_empty() {
                    "or"
                } else {
                    "fix by hand"
                };
                advice.push(if how.is_empty() {
                    format!("{lead}: {}", f.title)
                } else {
                    format!("{lead}: {}: {how}", f.title)
                });
            }
        }
    }
    for other in diagnoses.iter().skip(1) {
        advice.push(format!(
            "container {} has its own problem: {}",
            other.container, other.headline
        ));
    }
    DiagnosisView {
        pod: pod.clone(),
        image: d.image.clone(),
        cause: d.headline.clone(),
        code: d.cause.kind().to_owned(),
        evidence,
        fix,
        advice: (!advice.is_empty()).then(|| advice.join(" · ")),
    }
}

fn is_retry(a: &FixAction) -> bool {
    matches!(
        a,
        FixAction::RestartRollout { .. } | FixAction::DeletePod { .. }
    )
}

/// The effect for a fix whose first action berth can run, when the rest is at most a retry
/// (which the user gets as advice): a fix of two real steps is not half-applied on one key.
/// The one pair that is a single step: writing a secret and attaching that same secret in that
/// namespace, which the rotation does together (attach only after the write succeeded).
fn one_key(
    d: &Diagnosis,
    actions: &[FixAction],
    rotation: Option<&Rotation>,
) -> Option<(Effect, Option<FixAction>)> {
    let (first, rest) = actions.split_first()?;
    let (attach, rest) = match (first, rest.split_first()) {
        (
            FixAction::CreateSecret {
                namespace, secret, ..
            }
            | FixAction::RotateSecret {
                namespace, secret, ..
            },
            Some((
                FixAction::AttachSecret {
                    namespace: sa_ns,
                    service_account,
                    secret: sa_secret,
                },
                rest,
            )),
        ) if sa_ns == namespace && sa_secret == secret => (Some(service_account.clone()), rest),
        _ => (None, rest),
    };
    if rest.len() > 1 || rest.iter().any(|a| !is_retry(a)) {
        return None;
    }
    // With an attach the rotation restarts the failing rollouts itself (running pods never see a
    // secret added to their service account later), so there is no retry left to advise.
    let retry = rest.first().cloned().filter(|_| attach.is_none());
    let effect = match first {
        FixAction::SetImage {
            namespace,
            deployment,
            container,
            image,
        } => Effect::SetImage {
            deployment: ObjectRef {
                namespace: namespace.clone(),
                name: deployment.clone(),
            },
            container: container.clone(),
            // The precondition: the image the pod names is what the deployment still has.
            expected_image: d.image.clone(),
            image: image.clone(),
            dry_run: false,
        },
        FixAction::AttachSecret {
            namespace,
            service_account,
            secret,
        } => Effect::AttachSecret {
            service_account: ObjectRef {
                namespace: namespace.clone(),
                name: service_account.clone(),
            },
            secret: secret.clone(),
            dry_run: false,
        },
        FixAction::RestartRollout {
            namespace,
            deployment,
        } => Effect::Restart {
            kind: crate::cluster::model::WorkloadKind::Deployment,
            deployment: ObjectRef {
                namespace: namespace.clone(),
                name: deployment.clone(),
            },
            dry_run: false,
        },
        FixAction::RotateSecret {
            namespace,
            secret,
            registry,
        }
        | FixAction::CreateSecret {
            namespace,
            secret,
            registry,
        } => {
            let r = rotation.filter(|r| same_host(&r.registry, registry))?;
            Effect::RotateSecret {
                registry: r.registry.clone(),
                secret: secret.clone(),
                namespaces: vec![namespace.clone()],
                slot: r.slot,
                attach,
                dry_run: false,
            }
        }
        FixAction::AssignPullRole { .. } | FixAction::AllowRegistryIp { .. } => {
            let registry = d.facts.reference.as_ref().ok()?.registry().to_owned();
            Effect::AzureFix {
                registry,
                action: first.clone(),
                dry_run: false,
            }
        }
        FixAction::RecreateSecret { .. } | FixAction::DeletePod { .. } => return None,
    };
    Some((effect, retry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::fix::Fix as EngineFix;
    use crate::diagnose::{Cause, EvidenceLine, Facts, Topic};

    const HOST: &str = "127.0.0.1:16410";

    fn pod() -> ObjectRef {
        ObjectRef {
            namespace: "shop".into(),
            name: "cart-7d9-abc".into(),
        }
    }

    fn diagnosis(container: &str, fixes: Vec<EngineFix>) -> Diagnosis {
        let image = format!("{HOST}/web:1.0.99");
        let facts = Facts {
            namespace: "shop".into(),
            pod: "cart-7d9-abc".into(),
            container: container.into(),
            init: false,
            image: image.clone(),
            reference: Err("not needed here".into()),
            service_account: "default".into(),
            pull_secrets: Vec::new(),
            unattached_matching_secrets: Vec::new(),
            probes: Vec::new(),
            tags: None,
            node: None,
            node_messages: Default::default(),
            node_pull: None,
            node_identity: None,
            owner: None,
            gaps: Vec::new(),
            observed_at: jiff::Timestamp::UNIX_EPOCH,
        };
        Diagnosis {
            namespace: "shop".into(),
            pod: "cart-7d9-abc".into(),
            container: container.into(),
            image,
            cause: Cause::RepositoryMissing {
                host: HOST.into(),
                repository: "web".into(),
            },
            headline: format!("Tag missing: web:1.0.99 is not in {HOST}"),
            evidence: vec![
                EvidenceLine {
                    topic: Topic::PullSecret,
                    text: "acr-pull (service account default)".into(),
                    supporting: false,
                    ok: true,
                },
                EvidenceLine {
                    topic: Topic::Registry,
                    text: "404 MANIFEST_UNKNOWN".into(),
                    supporting: false,
                    ok: false,
                },
            ],
            fixes,
            facts,
        }
    }

    fn set_image(tag: &str) -> EngineFix {
        EngineFix {
            title: format!("set the image to existing {HOST}/web:{tag}"),
            actions: vec![FixAction::SetImage {
                namespace: "shop".into(),
                deployment: "cart".into(),
                container: "cart".into(),
                image: format!("{HOST}/web:{tag}"),
            }],
            note: None,
        }
    }

    fn restart() -> FixAction {
        FixAction::RestartRollout {
            namespace: "shop".into(),
            deployment: "cart".into(),
        }
    }

    #[test]
    fn the_first_runnable_fix_is_the_key_the_rest_advice() {
        let d = diagnosis("cart", vec![set_image("1.0.29"), set_image("1.0.28")]);
        let v = view(&pod(), std::slice::from_ref(&d), None);
        assert_eq!(v.cause, d.headline);
        assert_eq!(v.code, "repository_missing");
        assert_eq!(v.image, format!("{HOST}/web:1.0.99"));
        assert_eq!(v.evidence.len(), 2);
        assert_eq!(v.evidence[0].check, "pull secret");
        assert!(!v.evidence[1].ok);
        let fix = v.fix.expect("a fix");
        assert_eq!(
            fix.effect,
            Effect::SetImage {
                deployment: ObjectRef {
                    namespace: "shop".into(),
                    name: "cart".into()
                },
                container: "cart".into(),
                expected_image: format!("{HOST}/web:1.0.99"),
                image: format!("{HOST}/web:1.0.29"),
                dry_run: false,
            }
        );
        let advice = v.advice.expect("the other tag as advice");
        assert!(
            advice.starts_with("or: set the image to existing"),
            "{advice}"
        );
        assert!(advice.contains("berth rollout set-image -n shop cart cart"));
    }

    fn create_and_attach(attached_secret: &str) -> EngineFix {
        EngineFix {
            title: "create pull secret and attach it".into(),
            actions: vec![
                FixAction::CreateSecret {
                    namespace: "shop".into(),
                    secret: "acr-pull".into(),
                    registry: HOST.into(),
                },
                FixAction::AttachSecret {
                    namespace: "shop".into(),
                    service_account: "default".into(),
                    secret: attached_secret.into(),
                },
                restart(),
            ],
            note: None,
        }
    }

    #[test]
    fn create_and_attach_is_one_key_when_berth_can_mint_credentials() {
        let rotation = Rotation {
            registry: HOST.into(),
            slot: PasswordSlot::Password2,
        };
        let d = diagnosis("cart", vec![create_and_attach("acr-pull")]);
        let v = view(&pod(), &[d], Some(&rotation));
        assert_eq!(
            v.fix.expect("one key").effect,
            Effect::RotateSecret {
                registry: HOST.into(),
                secret: "acr-pull".into(),
                namespaces: vec!["shop".into()],
                slot: PasswordSlot::Password2,
                attach: Some("default".into()),
                dry_run: false,
            }
        );
        assert_eq!(v.advice, None, "the rotation restarts the rollout itself");
    }

    #[test]
    fn two_step_fixes_are_not_half_applied() {
        let rotation = Rotation {
            registry: HOST.into(),
            slot: PasswordSlot::Password2,
        };
        // Attaching another secret than the one written is two steps: advice, not a key.
        let d = diagnosis("cart", vec![create_and_attach("other")]);
        let v = view(&pod(), &[d], Some(&rotation));
        assert_eq!(v.fix, None);
        let advice = v.advice.unwrap();
        assert!(
            advice.starts_with("fix by hand: create pull secret"),
            "{advice}"
        );
        assert!(advice.contains("berth secret attach -n shop"), "{advice}");
        // No way to mint credentials: advice too.
        let d = diagnosis("cart", vec![create_and_attach("acr-pull")]);
        assert_eq!(view(&pod(), &[d], None).fix, None);
    }

    #[test]
    fn rotation_needs_a_source_for_that_registry_and_keeps_the_retry_as_advice() {
        let rotate = EngineFix {
            title: "rotate pull secret \"acr-pull\" to fresh credentials".into(),
            actions: vec![
                FixAction::RotateSecret {
                    namespace: "shop".into(),
                    secret: "acr-pull".into(),
                    registry: HOST.into(),
                },
                restart(),
            ],
            note: None,
        };
        let d = diagnosis("cart", vec![rotate]);
        assert_eq!(view(&pod(), std::slice::from_ref(&d), None).fix, None);
        let elsewhere = Rotation {
            registry: "other.azurecr.io".into(),
            slot: PasswordSlot::Password,
        };
        assert_eq!(
            view(&pod(), std::slice::from_ref(&d), Some(&elsewhere)).fix,
            None
        );
        let here = Rotation {
            registry: HOST.into(),
            slot: PasswordSlot::Password,
        };
        let v = view(&pod(), &[d], Some(&here));
        assert_eq!(
            v.fix.unwrap().effect,
            Effect::RotateSecret {
                registry: HOST.into(),
                secret: "acr-pull".into(),
                namespaces: vec!["shop".into()],
                slot: PasswordSlot::Password,
                attach: None,
                dry_run: false,
            }
        );
        assert_eq!(
            v.advice.as_deref(),
            Some("after the fix, retry at once with: berth rollout restart -n shop cart")
        );
    }

    #[test]
    fn other_containers_and_healthy_pods_are_said() {
        let a = diagnosis("cart", vec![set_image("1.0.29")]);
        let b = diagnosis("sidecar", Vec::new());
        let v = view(&pod(), &[a, b], None);
        assert!(
            v.advice
                .unwrap()
                .contains("container sidecar has its own problem")
        );
        let v = view(&pod(), &[], None);
        assert_eq!(v.code, "none");
        assert!(v.cause.starts_with("No failing image pull"));
        assert!(v.fix.is_none());
    }
}
