//! Cause → the fix that fits, as actions berth can run (the TUI's one key) and as the
//! equivalent commands (the headless output).

use serde::Serialize;

use super::cause::{Cause, NetStage, NoSecretWhy, SecretProblem};
use super::facts::Facts;

/// One way to fix the cause: run `actions` in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub title: String,
    pub actions: Vec<FixAction>,
    /// What the user must do by hand when berth cannot, or a caveat.
    pub note: Option<String>,
}

impl Fix {
    /// The commands that do the same as `actions`.
    pub fn commands(&self) -> Vec<String> {
        self.actions.iter().map(FixAction::command).collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum FixAction {
    /// Write fresh credentials for `registry` into the secret (create-or-update).
    RotateSecret {
        namespace: String,
        secret: String,
        registry: String,
    },
    /// The secret does not exist: create it with credentials for `registry`.
    CreateSecret {
        namespace: String,
        secret: String,
        registry: String,
    },
    /// A secret's type cannot be changed in place: delete it, then create it with the right type.
    RecreateSecret {
        namespace: String,
        secret: String,
        registry: String,
    },
    AttachSecret {
        namespace: String,
        service_account: String,
        secret: String,
    },
    SetImage {
        namespace: String,
        deployment: String,
        container: String,
        image: String,
    },
    RestartRollout {
        namespace: String,
        deployment: String,
    },
    /// Its controller makes a new pod, which pulls at once (no back-off).
    DeletePod { namespace: String, pod: String },
    /// The role assignment `az aks update --attach-acr` makes: AcrPull on the registry for the
    /// kubelet identity (its object id) — or, for a registry in ABAC mode, Container Registry
    /// Repository Reader.
    AssignPullRole {
        registry_id: String,
        principal_id: String,
        role: String,
    },
    /// One more address in the registry's IP rules (the others kept).
    AllowRegistryIp { registry_id: String, ip: String },
}

impl FixAction {
    pub fn command(&self) -> String {
        match self {
            FixAction::RotateSecret {
                namespace,
                secret,
                registry,
            }
            | FixAction::CreateSecret {
                namespace,
                secret,
                registry,
            } => rotate_command(namespace, secret, registry),
            FixAction::RecreateSecret {
                namespace,
                secret,
                registry,
            } => format!(
                "kubectl delete secret -n {namespace} {secret} && {}",
                rotate_command(namespace, secret, registry)
            ),
            FixAction::AttachSecret {
                namespace,
                service_account,
                secret,
            } => format!(
                "berth secret attach -n {namespace} --secret {secret} --service-account {service_account}"
            ),
            FixAction::SetImage {
                namespace,
                deployment,
                container,
                image,
            } => format!(
                "berth rollout set-image -n {namespace} {deployment} {container} --image {image}"
            ),
            FixAction::RestartRollout {
                namespace,
                deployment,
            } => format!("berth rollout restart -n {namespace} {deployment}"),
            FixAction::DeletePod { namespace, pod } => {
                format!("kubectl delete pod -n {namespace} {pod}")
            }
            FixAction::AssignPullRole {
                registry_id,
                principal_id,
                role,
            } => {
                let role = if role.contains(' ') {
                    format!("{role:?}")
                } else {
                    role.clone()
                };
                format!(
                    "az role assignment create --assignee-object-id {principal_id} \
                     --assignee-principal-type ServicePrincipal --role {role} --scope {registry_id}"
                )
            }
            FixAction::AllowRegistryIp { registry_id, ip } => {
                let (group, name) = registry_group_and_name(registry_id);
                format!("az acr network-rule add -g {group} -n {name} --ip-address {ip}")
            }
        }
    }
}

/// `/subscriptions/S/resourceGroups/RG/providers/…/registries/NAME` → (RG, NAME).
fn registry_group_and_name(registry_id: &str) -> (&str, &str) {
    let segs: Vec<&str> = registry_id.split('/').collect();
    let group = segs
        .iter()
        .position(|s| s.eq_ignore_ascii_case("resourceGroups"))
        .and_then(|i| segs.get(i + 1))
        .copied()
        .unwrap_or("<resource group>");
    (group, segs.last().copied().unwrap_or("<registry>"))
}

/// `berth secret rotate` (create-or-update); the credential source is the user's choice, the
/// TUI takes it from config.
fn rotate_command(namespace: &str, secret: &str, registry: &str) -> String {
    format!(
        "berth secret rotate -n {namespace} --secret {secret} --registry {registry} \
         --source <acr-token|acr-admin|static>"
    )
}

/// The fixes for `cause`, best first. Empty when nothing berth can do applies (the note on the
/// cause's headline and evidence then say what to check).
pub fn fixes(cause: &Cause, f: &Facts) -> Vec<Fix> {
    let ns = f.namespace.clone();
    let host = f
        .reference
        .as_ref()
        .map(|r| r.registry().to_owned())
        .unwrap_or_default();
    let retry = retry_now(f);
    let then_retry = |mut actions: Vec<FixAction>| {
        actions.extend(retry.iter().take(1).cloned());
        actions
    };
    let deployment = f
        .owner
        .as_ref()
        .filter(|o| o.kind == "Deployment")
        .map(|o| o.name.clone());

    if let Some(fixes) = super::kubelet_identity::fixes(cause, f) {
        return fixes;
    }
    match cause {
        // The node pulls with its own identity here: a pull secret is not the fix (berth could
        // not tell what failed; `berth check-acr` checks the identity's path).
        Cause::NoSecretForHost { .. } if f.node_identity.is_some() => vec![manual(
            "check the node's own credentials",
            format!(
                "the node pulls {host} with its kubelet identity, so a pull secret is not needed: run \
                 `berth check-acr` to check its role, node pool and the registry's network rules"
            ),
        )],
        Cause::ReferenceInvalid { .. } => vec![manual(
            "correct the image reference",
            match &deployment {
                Some(d) => format!(
                    "set a valid image with: berth rollout set-image -n {ns} {d} {} --image <image>",
                    f.container
                ),
                None => "fix the image in the pod's spec and recreate the pod".to_owned(),
            },
        )],
        Cause::HostUnreachable { stage, .. } => vec![manual(
            "make the registry reachable from the node",
            match stage {
                NetStage::Resolve => format!(
                    "check the registry name in the image ({host}); if the name is right, publish it in DNS"
                ),
                NetStage::Connect => format!(
                    "check that the registry at {host} is running and that the port is right"
                ),
                NetStage::Tls => format!(
                    "give the node's containerd the CA that signed {host}'s certificate, or serve a \
                     certificate the node trusts for that name"
                ),
                NetStage::Timeout => {
                    format!("check the network path from the node to {host}")
                }
            },
        )],
        Cause::NoSecretForHost { why, .. } => match why {
            NoSecretWhy::ServiceAccountOnly { .. } => retry
                .into_iter()
                .map(|a| Fix {
                    title: "recreate the pod so it gets the service account's pull secret".into(),
                    actions: vec![a],
                    note: None,
                })
                .collect(),
            // The pod names secrets of its own, so the service account's never reach it: the
            // credentials go into a secret it already names (rotation adds the entry for this
            // registry and keeps the others); the node reads it at its next try.
            NoSecretWhy::OtherHosts { secrets, .. } => secrets
                .iter()
                .take(1)
                .map(|s| Fix {
                    title: format!(
                        "add credentials for {host} to pull secret {s:?}, which the pod already uses"
                    ),
                    actions: then_retry(vec![FixAction::RotateSecret {
                        namespace: ns.clone(),
                        secret: s.clone(),
                        registry: host.clone(),
                    }]),
                    note: Some(
                        "its entries for other registries are kept; attaching a new secret to the \
                         service account would not reach pods that name their own secrets"
                            .to_owned(),
                    ),
                })
                .collect(),
            NoSecretWhy::NoneAttached => {
                let mut out: Vec<Fix> = f
                    .unattached_matching_secrets
                    .iter()
                    .map(|s| Fix {
                        title: format!(
                            "attach existing secret {s:?} to service account {:?}",
                            f.service_account
                        ),
                        actions: then_retry(vec![attach(f, s)]),
                        note: None,
                    })
                    .collect();
                let name = suggested_secret_name(&host);
                out.push(Fix {
                    title: format!(
                        "create pull secret {name:?} for {host} and attach it to service account {:?}",
                        f.service_account
                    ),
                    actions: then_retry(vec![
                        FixAction::CreateSecret {
                            namespace: ns.clone(),
                            secret: name.clone(),
                            registry: host.clone(),
                        },
                        attach(f, &name),
                    ]),
                    note: None,
                });
                out
            }
        },
        Cause::SecretMissing { secret, .. } => vec![Fix {
            title: format!("create the missing pull secret {secret:?} for {host}"),
            actions: then_retry(vec![FixAction::CreateSecret {
                namespace: ns.clone(),
                secret: secret.clone(),
                registry: host.clone(),
            }]),
            note: None,
        }],
        Cause::SecretUnusable { secret, problem } => {
            let action = match problem {
                SecretProblem::WrongType { .. } => FixAction::RecreateSecret {
                    namespace: ns.clone(),
                    secret: secret.clone(),
                    registry: host.clone(),
                },
                SecretProblem::Malformed { .. } | SecretProblem::EmptyEntry { .. } => {
                    FixAction::RotateSecret {
                        namespace: ns.clone(),
                        secret: secret.clone(),
                        registry: host.clone(),
                    }
                }
            };
            vec![Fix {
                title: format!("rewrite pull secret {secret:?} as a valid docker-registry secret"),
                actions: then_retry(vec![action]),
                note: matches!(problem, SecretProblem::Malformed { .. }).then(|| {
                    "if this secret is for another registry, rewrite it with that registry's credentials".to_owned()
                }),
            }]
        }
        Cause::CredentialsRejected { secret, .. } => vec![Fix {
            title: format!("rotate pull secret {secret:?} to fresh credentials"),
            actions: then_retry(vec![FixAction::RotateSecret {
                namespace: ns.clone(),
                secret: secret.clone(),
                registry: host.clone(),
            }]),
            note: None,
        }],
        Cause::Denied {
            repository, secret, ..
        } => {
            let note = format!(
                "the credentials need pull rights on {repository:?}: for an ACR scope-map token, add the \
                 repository to its scope map, or rotate to credentials that have them"
            );
            match secret {
                Some(s) => vec![Fix {
                    title: format!(
                        "rotate pull secret {s:?} to credentials allowed to pull {repository}"
                    ),
                    actions: then_retry(vec![FixAction::RotateSecret {
                        namespace: ns.clone(),
                        secret: s.clone(),
                        registry: host.clone(),
                    }]),
                    note: Some(note),
                }],
                None => vec![manual("use credentials allowed to pull", note)],
            }
        }
        Cause::RepositoryMissing { repository, .. } => vec![manual(
            "point the image at an existing repository",
            format!(
                "repository {repository:?} is not on {host}: check the name, or push the image there"
            ),
        )],
        Cause::ManifestMissing { closest, .. } => {
            let reference = match &f.reference {
                Ok(r) => r,
                Err(_) => return Vec::new(),
            };
            match &deployment {
                Some(d) => closest
                    .iter()
                    .take(3)
                    .filter_map(|t| reference.with_tag(t).ok())
                    .map(|image| Fix {
                        title: format!("set the image to existing {image}"),
                        actions: vec![FixAction::SetImage {
                            namespace: ns.clone(),
                            deployment: d.clone(),
                            container: f.container.clone(),
                            image: image.to_string(),
                        }],
                        note: None,
                    })
                    .collect(),
                None => vec![manual(
                    "use an existing tag",
                    format!(
                        "this pod has no Deployment to update; change its image to one of: {}",
                        closest.join(", ")
                    ),
                )],
            }
        }
        Cause::PlatformMissing {
            node_platform,
            available,
            ..
        } => vec![manual(
            "provide an image for the node's platform",
            format!(
                "push an image (or a multi-platform index) that includes {node_platform} under this tag, \
                 or run the pod on a node of {}",
                available.join(" or ")
            ),
        )],
        Cause::RateLimited {
            retry_after_secs, ..
        } => vec![Fix {
            title: "wait for the registry's limit, then retry".into(),
            actions: Vec::new(),
            note: Some(format!(
                "the node retries by itself{}; authenticated pulls usually get higher limits",
                retry_after_secs
                    .map(|s| format!(" (the registry asks for {s} s)"))
                    .unwrap_or_default()
            )),
        }],
        Cause::RegistryError { .. } => vec![Fix {
            title: "retry once the registry recovers".into(),
            actions: retry.into_iter().take(1).collect(),
            note: Some("the fault is on the registry's side; the node retries by itself".into()),
        }],
        Cause::NeverPull { .. } => vec![manual(
            "let the node pull the image",
            "set imagePullPolicy to IfNotPresent or Always, or load the image onto the node".into(),
        )],
        Cause::Transient { .. } => retry
            .into_iter()
            .map(|a| Fix {
                title: match &a {
                    FixAction::RestartRollout { .. } => "retry now: restart the rollout".into(),
                    _ => "retry now: delete the pod (its controller makes a new one)".into(),
                },
                actions: vec![a],
                note: None,
            })
            .collect(),
        Cause::SlowPull { .. } => vec![manual(
            "let the pull finish",
            "nothing is broken: the node is still downloading; a smaller image or a registry closer \
             to the node makes it faster"
                .into(),
        )],
        Cause::Undetermined { .. } => Vec::new(),
        Cause::KubeletIdentityCannotPull { .. }
        | Cause::KubeletIdentityNotOnNodePool { .. }
        | Cause::FirewallBlocksNode { .. } => unreachable!("kubelet_identity::fixes handles them"),
    }
}

fn manual(title: &str, note: String) -> Fix {
    Fix {
        title: title.to_owned(),
        actions: Vec::new(),
        note: Some(note),
    }
}

fn attach(f: &Facts, secret: &str) -> FixAction {
    FixAction::AttachSecret {
        namespace: f.namespace.clone(),
        service_account: f.service_account.clone(),
        secret: secret.to_owned(),
    }
}

/// Ways to make the node pull again at once, best first: restart the Deployment's rollout,
/// or delete a pod some controller recreates. A bare pod has none (deleting it loses it).
fn retry_now(f: &Facts) -> Vec<FixAction> {
    let mut out = Vec::new();
    match &f.owner {
        Some(o) if o.kind == "Deployment" => {
            out.push(FixAction::RestartRollout {
                namespace: f.namespace.clone(),
                deployment: o.name.clone(),
            });
            out.push(FixAction::DeletePod {
                namespace: f.namespace.clone(),
                pod: f.pod.clone(),
            });
        }
        Some(_) => out.push(FixAction::DeletePod {
            namespace: f.namespace.clone(),
            pod: f.pod.clone(),
        }),
        None => {}
    }
    out
}

/// `myacr.azurecr.io` → `myacr-pull`; `127.0.0.1:5000` → `127-0-0-1-5000-pull`.
pub fn suggested_secret_name(host: &str) -> String {
    let base = if host.parse::<std::net::IpAddr>().is_ok()
        || host
            .rsplit_once(':')
            .is_some_and(|(h, _)| h.parse::<std::net::IpAddr>().is_ok())
    {
        host.to_owned()
    } else {
        host.split('.').next().unwrap_or(host).to_owned()
    };
    let mut name: String = base
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name = name.trim_matches('-').to_owned();
    if name.is_empty() {
        name = "registry".into();
    }
    name.truncate(240);
    format!("{name}-pull")
}
