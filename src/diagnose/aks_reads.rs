//! ARM reads for a pull the node makes with its kubelet identity: the managed cluster, the
//! node pool's scale set, the identity's role assignments on the registry, the registry's
//! network rules and the cluster's egress addresses. What cannot be read is said (a gap), and
//! the diagnosis goes on from the node's words.

use crate::azure::aks::{self, ClusterRef};
use crate::azure::arm::ArmClient;
use crate::reference::Reference;
use crate::registry::connect::{Registry, connect};

use super::facts::{AksArmFacts, NodeFacts, TagListing};
use super::gather::GatherOptions;

/// The configured registry for `host`, connected (credentials resolved; no request made).
async fn registry(opts: &GatherOptions, host: &str) -> Result<Registry, String> {
    let cfg = opts.registry_config(host).ok_or_else(|| {
        format!("no [[registry]] for {host} in config.toml (berth reads ARM and lists tags with its credential)")
    })?;
    connect(cfg).await.map_err(|e| e.to_string())
}

/// ARM access for `host`: the registry's ARM client and resource id.
pub(super) async fn arm_for(
    opts: &GatherOptions,
    host: &str,
) -> Result<(ArmClient, String), String> {
    let reg = registry(opts, host).await?;
    match (reg.arm.clone(), reg.arm_registry_id()) {
        (Some(arm), Some(id)) => Ok((arm, id)),
        _ => Err(format!(
            "[[registry]] {:?} has no Azure credential with [registry.arm], so ARM cannot be read",
            reg.config.name
        )),
    }
}

/// The managed cluster: `[cluster.aks]`, else AKS's node resource group name.
pub(super) fn cluster_of(opts: &GatherOptions, node: &NodeFacts) -> Result<ClusterRef, String> {
    let aks_node = node
        .aks
        .as_ref()
        .ok_or_else(|| format!("node {} is not an AKS node", node.name))?;
    let guessed = aks_node.guess_cluster(node.aks_node_resource_group.as_deref());
    let c = &opts.aks;
    let subscription_id = c
        .subscription_id
        .clone()
        .unwrap_or_else(|| aks_node.subscription_id.clone());
    match (&c.resource_group, &c.cluster_name, guessed) {
        (Some(rg), Some(name), _) => Ok(ClusterRef {
            subscription_id,
            resource_group: rg.clone(),
            name: name.clone(),
        }),
        (_, _, Some(g)) => Ok(ClusterRef {
            subscription_id,
            resource_group: c.resource_group.clone().unwrap_or(g.resource_group),
            name: c.cluster_name.clone().unwrap_or(g.name),
        }),
        _ => Err(format!(
            "the managed cluster of node {} is not known: its node resource group {:?} is not AKS's \
             MC_<group>_<cluster>_<location>; set resource_group and cluster_name in [cluster.aks]",
            node.name, aks_node.node_resource_group
        )),
    }
}

/// Everything ARM says; `None` (with the reason in `gaps`) when ARM cannot be read at all.
pub(super) async fn read(
    opts: &GatherOptions,
    node: &NodeFacts,
    host: &str,
    gaps: &mut Vec<String>,
) -> Option<AksArmFacts> {
    let gap = |gaps: &mut Vec<String>, what: &str, why: String| {
        gaps.push(format!("ARM: {what}: {why}"));
    };
    let aks_node = node.aks.as_ref()?;
    let cluster = match cluster_of(opts, node) {
        Ok(c) => c,
        Err(e) => {
            gap(gaps, "the kubelet identity's checks were not made", e);
            return None;
        }
    };
    let (arm, registry_id) = match arm_for(opts, host).await {
        Ok(a) => a,
        Err(e) => {
            gap(gaps, "the kubelet identity's checks were not made", e);
            return None;
        }
    };
    let mc = match aks::managed_cluster(&arm, &cluster).await {
        Ok(mc) => mc,
        Err(e) => {
            gap(gaps, "the managed cluster could not be read", e.to_string());
            return None;
        }
    };
    let vmss_id = aks_node.vmss_id();
    let mut facts = AksArmFacts {
        cluster,
        kubelet_identity: mc.kubelet_identity.clone(),
        vmss_id: vmss_id.clone(),
        on_node_pool: None,
        registry_id: Some(registry_id.clone()),
        role_assignments: None,
        network: None,
        egress_ips: Vec::new(),
    };
    // The registry first: its mode says which roles pull.
    match aks::registry_access(&arm, &registry_id).await {
        Ok(n) => facts.network = Some(n),
        Err(e) => gap(
            gaps,
            "the registry's network rules and role mode could not be read",
            e.to_string(),
        ),
    }
    let abac = facts.network.as_ref().is_some_and(|n| n.abac);
    if let Some(k) = &mc.kubelet_identity {
        match aks::vmss_identities(&arm, &vmss_id).await {
            Ok(ids) => {
                facts.on_node_pool =
                    Some(ids.iter().any(|i| i.eq_ignore_ascii_case(&k.resource_id)))
            }
            Err(e) => gap(
                gaps,
                "the node pool's identities could not be read",
                e.to_string(),
            ),
        }
        match aks::role_assignments(&arm, &registry_id, &k.object_id, abac).await {
            Ok(r) => facts.role_assignments = Some(r),
            Err(e) => gap(
                gaps,
                "the kubelet identity's role assignments could not be read",
                e.to_string(),
            ),
        }
    }
    for id in &mc.outbound_ip_ids {
        match aks::public_ip(&arm, id).await {
            Ok(Some(ip)) => facts.egress_ips.push(ip),
            Ok(None) => gap(gaps, "an outbound IP has no address", id.clone()),
            Err(e) => gap(
                gaps,
                "the cluster's outbound IP could not be read",
                e.to_string(),
            ),
        }
    }
    Some(facts)
}

/// The repository's tags, listed with berth's own credential for the registry.
pub(super) async fn list_tags_as_berth(
    opts: &GatherOptions,
    reference: &Reference,
    gaps: &mut Vec<String>,
) -> TagListing {
    let reg = match registry(opts, reference.registry()).await {
        Ok(r) => r,
        Err(e) => {
            gaps.push(format!("the closest tags are not known: {e}"));
            return TagListing::Failed { reason: e };
        }
    };
    super::probe::list_with(&reg.client, reference.repository(), opts.probe_timeout).await
}
