//! Pulls the node makes with its own credentials (AKS: the kubelet identity, through kubelet's
//! credential provider): the cause from the node's words, confirmed by ARM where it can be read.
//!
//! berth cannot reproduce these credentials from the operator's machine (an anonymous probe from
//! here says nothing about the node's token), so the node's own message decides what failed and
//! ARM says why: the role assignments, the scale set's identities, the network rules against the
//! cluster's egress addresses.

use super::cause::{Cause, NetStage};
use super::evidence::Topic;
use super::facts::{AksArmFacts, Facts, TagListing};
use super::fix::{Fix, FixAction};
use super::node_words::{NodeFailure, NodePull};
use super::tags;
use crate::azure::aks::{AksNode, ClusterRef};
use crate::reference::Reference;

/// The cause, when the node's credential provider serves this image and its words (or ARM)
/// say what went wrong; `None` leaves it to the pod-secret reasoning.
pub(super) fn classify(f: &Facts, host: &str, reference: &Reference) -> Option<Cause> {
    let id = f.node_identity.as_ref()?;
    // A pod secret that pulls wins (kubelet tries the pod's credentials first).
    if f.probes.iter().any(|p| p.outcome.is_ok()) {
        return None;
    }
    let arm = id.arm.as_ref();
    let identity = id.client_id.clone().or_else(|| {
        arm.and_then(|a| a.kubelet_identity.as_ref())
            .map(|k| k.client_id.clone())
    });
    let object_id = arm
        .and_then(|a| a.kubelet_identity.as_ref())
        .map(|k| k.object_id.clone());
    let registry_id = arm.and_then(|a| a.registry_id.clone());
    let role = arm.map_or(crate::azure::aks::ACR_PULL, |a| a.pull_role());
    let abac = arm.and_then(|a| a.network.as_ref()).is_some_and(|n| n.abac);
    let cannot_pull = |confirmed| Cause::KubeletIdentityCannotPull {
        host: host.to_owned(),
        identity: identity.clone(),
        object_id: object_id.clone(),
        registry_id: registry_id.clone(),
        role: role.name.to_owned(),
        abac,
        confirmed,
    };
    let not_on_pool = |confirmed| Cause::KubeletIdentityNotOnNodePool {
        host: host.to_owned(),
        identity: identity.clone(),
        resource_id: arm
            .and_then(|a| a.kubelet_identity.as_ref())
            .map(|k| k.resource_id.clone()),
        vmss: arm
            .map(|a| a.vmss_id.rsplit('/').next().unwrap_or_default().to_owned())
            .or_else(|| {
                f.node
                    .as_ref()
                    .and_then(|n| n.aks.as_ref())
                    .map(|a| a.vmss.clone())
            }),
        confirmed,
    };
    let firewall = |confirmed| {
        let network = arm.and_then(|a| a.network.as_ref());
        Cause::FirewallBlocksNode {
            host: host.to_owned(),
            registry_id: registry_id.clone(),
            blocked_ips: arm.map(|a| a.blocked_ips()).unwrap_or_default(),
            ip_rules: network.map(|n| n.ip_rules.clone()).unwrap_or_default(),
            public_access_disabled: network.is_some_and(|n| {
                n.public_network_access.eq_ignore_ascii_case("Disabled") && n.private_endpoints == 0
            }),
            confirmed,
        }
    };
    let arm_says_blocked = arm.is_some_and(|a| {
        !a.blocked_ips().is_empty()
            || a.network
                .as_ref()
                .is_some_and(|n| n.public_network_access.eq_ignore_ascii_case("Disabled"))
    });

    let Some(pull) = &f.node_pull else {
        // The node's words are gone (events expire): ARM alone, when it shows the fault.
        return match arm {
            Some(a) if a.on_node_pool == Some(false) => Some(not_on_pool(true)),
            Some(a) if a.can_pull() == Some(false) => Some(cannot_pull(true)),
            Some(_) if arm_says_blocked => Some(firewall(true)),
            _ => None,
        };
    };

    if pull.any(|x| *x == NodeFailure::NotFound) {
        return Some(missing(f, host, reference));
    }
    if let Some(cause) = unreachable(pull, host) {
        return Some(cause);
    }
    match pull.refusal_status() {
        Some(403) if arm_says_blocked => return Some(firewall(true)),
        // ARM reads the rules and they admit the node: refused for another reason.
        Some(403) if arm.is_some_and(|a| a.network.is_some()) => {
            return Some(Cause::Denied {
                host: host.to_owned(),
                repository: reference.repository().to_owned(),
                secret: None,
                username: Some("the kubelet identity".to_owned()),
                registry_says: pull.attempts.first().map(|a| a.text.clone()),
            });
        }
        Some(403) => return Some(firewall(false)),
        _ => {}
    }
    // kubelet tries the pod's matching secret entries first, then the provider's entries (its
    // credential, then the anonymous `*.azurecr.*` entry).
    let from_pod: usize = f
        .pull_secrets
        .iter()
        .filter(|s| s.on_pod)
        .map(|s| s.matching_entries().count())
        .sum();
    let provider_refused_credential = pull.attempts.iter().skip(from_pod).any(|a| {
        matches!(
            a.failure,
            NodeFailure::TokenRefused {
                with_credentials: true,
                status: 401,
                ..
            }
        )
    });
    if provider_refused_credential {
        return Some(cannot_pull(arm.and_then(|a| a.can_pull()) == Some(false)));
    }
    let anonymous_only = pull.attempts.iter().skip(from_pod).all(|a| {
        matches!(
            a.failure,
            NodeFailure::TokenRefused {
                with_credentials: false,
                status: 401,
                ..
            }
        )
    }) && pull.attempts.len() > from_pod;
    if anonymous_only {
        return Some(not_on_pool(arm.and_then(|a| a.on_node_pool) == Some(false)));
    }
    None
}

/// The node says the image is not there: a missing tag (or repository), with the closest tags
/// when berth could list them with its own credential.
fn missing(f: &Facts, host: &str, reference: &Reference) -> Cause {
    if f.tags == Some(TagListing::RepositoryUnknown) {
        return Cause::RepositoryMissing {
            host: host.to_owned(),
            repository: reference.repository().to_owned(),
        };
    }
    let wanted = reference.manifest_ref().to_owned();
    let closest = match &f.tags {
        Some(TagListing::Listed { tags: all }) if reference.digest().is_none() => {
            tags::closest(&wanted, all, super::classify::CLOSEST_TAGS)
                .into_iter()
                .map(|t| t.name)
                .collect()
        }
        _ => Vec::new(),
    };
    Cause::ManifestMissing {
        host: host.to_owned(),
        repository: reference.repository().to_owned(),
        reference: wanted,
        closest,
    }
}

fn unreachable(pull: &NodePull, host: &str) -> Option<Cause> {
    let details: Vec<&str> = pull
        .attempts
        .iter()
        .map(|a| match &a.failure {
            NodeFailure::Unreachable { detail } => Some(detail.as_str()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let detail = *details.first()?;
    let stage = if detail.contains("no such host") {
        NetStage::Resolve
    } else if detail.contains("x509: ") || detail.contains("tls: ") {
        NetStage::Tls
    } else if detail.contains("timeout") || detail.contains("deadline exceeded") {
        NetStage::Timeout
    } else {
        NetStage::Connect
    };
    Some(Cause::HostUnreachable {
        host: host.to_owned(),
        stage,
        detail: format!("{detail} (the node's words)"),
    })
}

/// What the node's own credentials and ARM show, as evidence lines `(topic, ok, text)`.
pub(super) fn evidence(f: &Facts) -> Vec<(Topic, bool, String)> {
    let Some(id) = &f.node_identity else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let who = id
        .client_id
        .as_deref()
        .map_or("its kubelet identity".to_owned(), |c| {
            format!("its kubelet identity (client id {c})")
        });
    out.push((
        Topic::Node,
        true,
        format!(
            "the node pulls this image with {who}: its credential provider serves images matching {}",
            id.match_images.join(", ")
        ),
    ));
    if let Some(pull) = &f.node_pull {
        for (i, a) in pull.attempts.iter().enumerate() {
            let what = match &a.failure {
                NodeFailure::TokenRefused {
                    with_credentials: true,
                    status,
                    ..
                } => format!("with credentials: the token endpoint answered {status}"),
                NodeFailure::TokenRefused {
                    with_credentials: false,
                    status,
                    ..
                } => format!("without credentials: the token endpoint answered {status}"),
                NodeFailure::ManifestRefused { status } => {
                    format!("the manifest request was refused with {status}")
                }
                NodeFailure::NotFound => "the image is not there".to_owned(),
                NodeFailure::Unreachable { detail } => format!("unreachable: {detail}"),
                NodeFailure::Other => a.text.clone(),
            };
            out.push((
                Topic::NodeMessage,
                false,
                format!(
                    "attempt {} of {} (kubelet's order): {what}",
                    i + 1,
                    pull.attempts.len()
                ),
            ));
        }
    }
    let Some(arm) = &id.arm else {
        return out;
    };
    match &arm.kubelet_identity {
        Some(k) => out.push((
            Topic::Azure,
            true,
            format!(
                "managed cluster {}: kubelet identity client id {}, object id {}",
                arm.cluster.name, k.client_id, k.object_id
            ),
        )),
        None => out.push((
            Topic::Azure,
            false,
            format!(
                "managed cluster {} has no kubelet identity (identityProfile.kubeletidentity)",
                arm.cluster.name
            ),
        )),
    }
    let vmss = arm.vmss_id.rsplit('/').next().unwrap_or_default();
    match arm.on_node_pool {
        Some(true) => out.push((
            Topic::Azure,
            true,
            format!("the node pool's scale set {vmss} carries the kubelet identity"),
        )),
        Some(false) => out.push((
            Topic::Azure,
            false,
            format!(
                "the node pool's scale set {vmss} does not carry the kubelet identity: IMDS on its VMs \
                 answers \"Identity not found\""
            ),
        )),
        None => {}
    }
    if let Some(roles) = &arm.role_assignments {
        let pulls: Vec<String> = roles
            .iter()
            .filter_map(|r| r.pull_role.map(|n| format!("{n} at {}", r.scope)))
            .collect();
        if pulls.is_empty() {
            out.push((
                Topic::Azure,
                false,
                format!(
                    "no role assignment lets the kubelet identity pull from the registry ({} other assignment(s) cover it)",
                    roles.len()
                ),
            ));
        } else {
            out.push((
                Topic::Azure,
                true,
                format!("the kubelet identity may pull: {}", pulls.join("; ")),
            ));
        }
    }
    if let Some(n) = &arm.network {
        let blocked = arm.blocked_ips();
        out.push((
            Topic::Azure,
            blocked.is_empty(),
            format!(
                "registry network: public access {}, default action {}, IP rules [{}], {} private endpoint(s); \
                 cluster egress IPs [{}]{}",
                n.public_network_access,
                n.default_action,
                n.ip_rules.join(", "),
                n.private_endpoints,
                arm.egress_ips.join(", "),
                if blocked.is_empty() {
                    " admitted".to_owned()
                } else {
                    format!(": {} refused", blocked.join(", "))
                }
            ),
        ));
    }
    out
}

/// The fixes for the causes of this module; `None` for other causes.
pub(super) fn fixes(cause: &Cause, f: &Facts) -> Option<Vec<Fix>> {
    let cluster = f
        .node_identity
        .as_ref()
        .and_then(|i| i.arm.as_ref())
        .map(|a| &a.cluster);
    fixes_for(cause, cluster, f.node.as_ref().and_then(|n| n.aks.as_ref()))
}

/// The causes ARM alone shows (for `berth check-acr`, which has no failing pod to read).
pub fn arm_causes(host: &str, arm: &AksArmFacts) -> Vec<Cause> {
    let k = arm.kubelet_identity.as_ref();
    let mut out = Vec::new();
    if arm.on_node_pool == Some(false) {
        out.push(Cause::KubeletIdentityNotOnNodePool {
            host: host.to_owned(),
            identity: k.map(|k| k.client_id.clone()),
            resource_id: k.map(|k| k.resource_id.clone()),
            vmss: arm.vmss_id.rsplit('/').next().map(str::to_owned),
            confirmed: true,
        });
    }
    if arm.can_pull() == Some(false) {
        out.push(Cause::KubeletIdentityCannotPull {
            host: host.to_owned(),
            identity: k.map(|k| k.client_id.clone()),
            object_id: k.map(|k| k.object_id.clone()),
            registry_id: arm.registry_id.clone(),
            role: arm.pull_role().name.to_owned(),
            abac: arm.network.as_ref().is_some_and(|n| n.abac),
            confirmed: true,
        });
    }
    let network = arm.network.as_ref();
    let public_off = network.is_some_and(|n| {
        n.public_network_access.eq_ignore_ascii_case("Disabled") && n.private_endpoints == 0
    });
    if public_off || !arm.blocked_ips().is_empty() {
        out.push(Cause::FirewallBlocksNode {
            host: host.to_owned(),
            registry_id: arm.registry_id.clone(),
            blocked_ips: arm.blocked_ips(),
            ip_rules: network.map(|n| n.ip_rules.clone()).unwrap_or_default(),
            public_access_disabled: public_off,
            confirmed: true,
        });
    }
    out
}

/// The fixes for one of this module's causes; `None` for other causes.
pub fn fixes_for(
    cause: &Cause,
    cluster: Option<&ClusterRef>,
    node: Option<&AksNode>,
) -> Option<Vec<Fix>> {
    let retry =
        "new pods pull at once; pods in back-off retry within 5 minutes (or restart the rollout)";
    Some(match cause {
        Cause::KubeletIdentityCannotPull {
            registry_id: Some(registry_id),
            object_id: Some(object_id),
            role,
            abac,
            ..
        } => vec![Fix {
            title: if *abac {
                format!("give the kubelet identity {role} on the registry (ABAC mode)")
            } else {
                format!("give the kubelet identity {role} on the registry (as --attach-acr does)")
            },
            actions: vec![FixAction::AssignPullRole {
                registry_id: registry_id.clone(),
                principal_id: object_id.clone(),
                role: role.clone(),
            }],
            note: Some(format!(
                "needs Microsoft.Authorization/roleAssignments/write on the registry (Owner, User Access \
                 Administrator or Role Based Access Control Administrator); without it, ask one to run the \
                 command above{}; {retry}",
                cluster
                    .as_ref()
                    .filter(|_| !abac)
                    .map(|c| format!(
                        " or `az aks update -g {} -n {} --attach-acr {}`",
                        c.resource_group,
                        c.name,
                        registry_id.rsplit('/').next().unwrap_or_default()
                    ))
                    .unwrap_or_default()
            )),
        }],
        Cause::KubeletIdentityCannotPull { role, .. } => vec![Fix {
            title: format!("give the kubelet identity {role} on the registry"),
            actions: Vec::new(),
            note: Some(
                "run `az aks update -g <resource group> -n <cluster> --attach-acr <registry>`; set \
                 [cluster.aks] and the registry's [registry.arm] in config.toml for berth to check and do it"
                    .into(),
            ),
        }],
        Cause::KubeletIdentityNotOnNodePool {
            resource_id, vmss, ..
        } => {
            let c = cluster;
            vec![Fix {
                title: "put the kubelet identity back on the node pool".into(),
                actions: Vec::new(),
                note: Some(format!(
                    "reconcile the cluster: `az aks update -g {} -n {}` (AKS assigns its kubelet identity to its \
                     scale sets again), or assign it yourself: `az vmss identity assign -g {} -n {} --identities {}`; {retry}",
                    c.map_or("<resource group>", |c| c.resource_group.as_str()),
                    c.map_or("<cluster>", |c| c.name.as_str()),
                    node.map_or("<node resource group>", |n| n.node_resource_group.as_str()),
                    vmss.as_deref().unwrap_or("<scale set>"),
                    resource_id.as_deref().unwrap_or("<kubelet identity resource id>"),
                )),
            }]
        }
        Cause::FirewallBlocksNode {
            registry_id,
            blocked_ips,
            public_access_disabled,
            ..
        } => match (registry_id, *public_access_disabled) {
            (Some(registry_id), false) if !blocked_ips.is_empty() => vec![Fix {
                title: format!(
                    "allow the cluster's egress IP {} in the registry's network rules",
                    blocked_ips.join(", ")
                ),
                actions: blocked_ips
                    .iter()
                    .map(|ip| FixAction::AllowRegistryIp {
                        registry_id: registry_id.clone(),
                        ip: ip.clone(),
                    })
                    .collect(),
                note: Some(format!(
                    "needs Microsoft.ContainerRegistry/registries/write; the existing rules are kept; {retry}"
                )),
            }],
            (_, true) => vec![Fix {
                title: "give the cluster a way to the registry".into(),
                actions: Vec::new(),
                note: Some(
                    "add a private endpoint for the registry in a network the cluster reaches (with its private \
                     DNS zone), or enable public network access with an IP rule for the cluster's egress address"
                        .into(),
                ),
            }],
            _ => vec![Fix {
                title: "allow the cluster's egress address in the registry's network rules".into(),
                actions: Vec::new(),
                note: Some(
                    "find the egress IP (`az aks show --query networkProfile.loadBalancerProfile.effectiveOutboundIPs`) \
                     and run `az acr network-rule add -n <registry> --ip-address <ip>`"
                        .into(),
                ),
            }],
        },
        _ => return None,
    })
}
