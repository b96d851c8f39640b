//! What ARM says about how an AKS node pulls from an ACR: the managed cluster's kubelet
//! identity, whether that identity is on the node pool's scale set (IMDS serves only those),
//! its role assignments on the registry, and the registry's network rules against the
//! cluster's egress addresses. Plus the two writes that fix what is found: the AcrPull role
//! assignment (as `az aks update --attach-acr` makes it) and a registry IP rule.
//!
//! The shapes are ARM's (Microsoft.ContainerService managedClusters, Microsoft.Compute
//! virtualMachineScaleSets, Microsoft.Authorization roleAssignments and permissions,
//! Microsoft.ContainerRegistry registries); see sandbox/azure-standin/README.md for the
//! exact subset the local environment serves.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::{Value, json};

use super::arm::{ArmClient, ArmError};

pub const MANAGED_CLUSTER_API: &str = "2024-09-01";
pub const VMSS_API: &str = "2024-07-01";
pub const PUBLIC_IP_API: &str = "2024-05-01";
pub const AUTHORIZATION_API: &str = "2022-04-01";
pub const REGISTRY_API: &str = super::arm::ACR_API_VERSION;

/// The role `az aks update --attach-acr` assigns (azure-cli `ensure_aks_acr`).
pub const ACR_PULL_ROLE: &str = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
/// What a registry in ABAC mode (`roleAssignmentMode: AbacRepositoryPermissions`) needs
/// instead: it does not honour AcrPull, AcrPush or AcrDelete.
pub const REPOSITORY_READER_ROLE: &str = "b93aa761-3e63-49ed-ac28-beffa264f7ac";

/// A role that lets an identity pull: its id and name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PullRole {
    pub id: &'static str,
    pub name: &'static str,
}

pub const ACR_PULL: PullRole = PullRole {
    id: ACR_PULL_ROLE,
    name: "AcrPull",
};
pub const REPOSITORY_READER: PullRole = PullRole {
    id: REPOSITORY_READER_ROLE,
    name: "Container Registry Repository Reader",
};

/// Built-in roles that let an identity pull from a registry in the legacy mode (ACR's roles
/// table: AcrPull, AcrPush, Reader, Contributor, Owner).
const LEGACY_PULL_ROLES: [(&str, &str); 5] = [
    (ACR_PULL_ROLE, "AcrPull"),
    ("8311e382-0749-4cb8-b61a-304f252e45ec", "AcrPush"),
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
];

/// …and in ABAC mode, the repository roles (their assignments may carry a condition that
/// limits them to some repositories).
const ABAC_PULL_ROLES: [(&str, &str); 3] = [
    (
        REPOSITORY_READER_ROLE,
        "Container Registry Repository Reader",
    ),
    (
        "2a1e307c-b015-4ebd-883e-5b7698a07328",
        "Container Registry Repository Writer",
    ),
    (
        "2efddaa5-3f1f-4df3-97df-af3f13818f4c",
        "Container Registry Repository Contributor",
    ),
];

/// The managed cluster berth asks ARM about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterRef {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
}

impl ClusterRef {
    pub fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerService/managedClusters/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }
}

/// An AKS node as its providerID names it:
/// `azure:///subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachineScaleSets/VMSS/virtualMachines/N`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AksNode {
    pub subscription_id: String,
    pub node_resource_group: String,
    pub vmss: String,
    /// The `kubernetes.azure.com/kubelet-identity-client-id` label AKS puts on its nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubelet_identity_client_id: Option<String>,
}

impl AksNode {
    pub fn from_provider_id(provider_id: &str) -> Option<Self> {
        let path = provider_id.strip_prefix("azure://")?;
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let after = |key: &str| {
            segs.iter()
                .position(|s| s.eq_ignore_ascii_case(key))
                .and_then(|i| segs.get(i + 1))
                .map(|s| (*s).to_owned())
        };
        Some(Self {
            subscription_id: after("subscriptions")?,
            node_resource_group: after("resourceGroups")?,
            vmss: after("virtualMachineScaleSets")?,
            kubelet_identity_client_id: None,
        })
    }

    pub fn vmss_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}",
            self.subscription_id, self.node_resource_group, self.vmss
        )
    }

    /// The managed cluster, from AKS's default node resource group name
    /// `MC_{resource group}_{cluster}_{location}` — only when that split is unambiguous (a
    /// custom node resource group, or names with underscores, need `[cluster.aks]`).
    pub fn guess_cluster(&self, node_resource_group_label: Option<&str>) -> Option<ClusterRef> {
        let rg = node_resource_group_label.unwrap_or(&self.node_resource_group);
        let parts: Vec<&str> = rg.split('_').collect();
        match parts.as_slice() {
            [mc, group, name, _location] if mc.eq_ignore_ascii_case("MC") => Some(ClusterRef {
                subscription_id: self.subscription_id.clone(),
                resource_group: (*group).to_owned(),
                name: (*name).to_owned(),
            }),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KubeletIdentity {
    pub resource_id: String,
    pub client_id: String,
    pub object_id: String,
}

/// The parts of a managed cluster that decide how its nodes pull.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ManagedCluster {
    pub id: String,
    pub node_resource_group: String,
    pub kubelet_identity: Option<KubeletIdentity>,
    /// `networkProfile.loadBalancerProfile.effectiveOutboundIPs[].id`.
    pub outbound_ip_ids: Vec<String>,
}

pub fn parse_managed_cluster(v: &Value) -> ManagedCluster {
    let p = &v["properties"];
    let k = &p["identityProfile"]["kubeletidentity"];
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    ManagedCluster {
        id: s(&v["id"]),
        node_resource_group: s(&p["nodeResourceGroup"]),
        kubelet_identity: k["objectId"].as_str().map(|_| KubeletIdentity {
            resource_id: s(&k["resourceId"]),
            client_id: s(&k["clientId"]),
            object_id: s(&k["objectId"]),
        }),
        outbound_ip_ids: p["networkProfile"]["loadBalancerProfile"]["effectiveOutboundIPs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|ip| ip["id"].as_str().map(str::to_owned))
            .collect(),
    }
}

/// The user-assigned identities on a scale set (what IMDS on its VMs can hand out).
pub fn parse_vmss_identities(v: &Value) -> Vec<String> {
    v["identity"]["userAssignedIdentities"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// One role assignment of the kubelet identity that covers the registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoleAssignment {
    pub id: String,
    pub role_definition_id: String,
    /// The built-in role's name when it lets an identity pull (in the registry's mode).
    pub pull_role: Option<&'static str>,
    pub scope: String,
    /// An ABAC condition limiting it (to some repositories): berth does not evaluate it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// `roleDefinitions/{guid}` → the name of the built-in pull role it is in a registry of that
/// mode, if any.
pub fn pull_role(role_definition_id: &str, abac: bool) -> Option<&'static str> {
    let guid = role_definition_id.rsplit('/').next().unwrap_or_default();
    let table: &[(&str, &str)] = if abac {
        &ABAC_PULL_ROLES
    } else {
        &LEGACY_PULL_ROLES
    };
    table
        .iter()
        .find(|(g, _)| g.eq_ignore_ascii_case(guid))
        .map(|(_, n)| *n)
}

/// ARM ids compare without case (AKS itself writes `resourcegroups`).
pub fn scope_covers(scope: &str, resource: &str) -> bool {
    let (s, r) = (
        scope.trim_end_matches('/').to_ascii_lowercase(),
        resource.to_ascii_lowercase(),
    );
    r == s || r.starts_with(&format!("{s}/"))
}

/// The assignments of a `roleAssignments?$filter=principalId eq …` answer that apply to
/// `resource` (at it or above it: the list also has assignments below the scope), read for a
/// registry in ABAC mode or not.
pub fn parse_role_assignments(v: &Value, resource: &str, abac: bool) -> Vec<RoleAssignment> {
    v["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let p = &a["properties"];
            let scope = p["scope"].as_str()?.to_owned();
            let role = p["roleDefinitionId"].as_str()?.to_owned();
            scope_covers(&scope, resource).then(|| RoleAssignment {
                id: a["id"].as_str().unwrap_or_default().to_owned(),
                pull_role: pull_role(&role, abac),
                role_definition_id: role,
                scope,
                condition: p["condition"]
                    .as_str()
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            })
        })
        .collect()
}

/// The registry's network settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegistryAccess {
    /// `Enabled` or `Disabled`.
    pub public_network_access: String,
    /// `Allow` (no firewall) or `Deny` (only `ip_rules` and private endpoints).
    pub default_action: String,
    pub ip_rules: Vec<String>,
    pub private_endpoints: usize,
    /// `roleAssignmentMode: AbacRepositoryPermissions`: AcrPull is not honoured, the
    /// repository roles are.
    pub abac: bool,
}

impl RegistryAccess {
    /// The role that lets an identity pull from this registry.
    pub fn pull_role(&self) -> PullRole {
        if self.abac {
            REPOSITORY_READER
        } else {
            ACR_PULL
        }
    }
}

impl RegistryAccess {
    /// Whether the registry answers a client at `ip` over its public endpoint.
    pub fn admits(&self, ip: &str) -> bool {
        if self.public_network_access.eq_ignore_ascii_case("Disabled") {
            return false;
        }
        !self.default_action.eq_ignore_ascii_case("Deny") || ip_allowed(&self.ip_rules, ip)
    }
}

pub fn parse_registry_access(v: &Value) -> RegistryAccess {
    let p = &v["properties"];
    let rules = &p["networkRuleSet"];
    RegistryAccess {
        public_network_access: p["publicNetworkAccess"]
            .as_str()
            .unwrap_or("Enabled")
            .to_owned(),
        default_action: rules["defaultAction"]
            .as_str()
            .unwrap_or("Allow")
            .to_owned(),
        ip_rules: rules["ipRules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["action"].as_str().is_none_or(|a| a == "Allow"))
            .filter_map(|r| r["value"].as_str().map(str::to_owned))
            .collect(),
        private_endpoints: p["privateEndpointConnections"]
            .as_array()
            .map_or(0, Vec::len),
        abac: p["roleAssignmentMode"].as_str() == Some("AbacRepositoryPermissions"),
    }
}

/// ACR's IP rules: addresses and CIDR ranges (IPv4).
pub fn ip_allowed(rules: &[String], ip: &str) -> bool {
    let Ok(addr) = ip.parse::<IpAddr>() else {
        return false;
    };
    rules.iter().any(|r| {
        r.parse::<ipnet::IpNet>()
            .map(|net| net.contains(&addr))
            .or_else(|_| r.parse::<IpAddr>().map(|a| a == addr))
            .unwrap_or(false)
    })
}

/// Whether ARM's `permissions` answer (`[{actions, notActions}]`) lets the caller do `action`
/// (ARM's wildcards: `*`, `Microsoft.Authorization/*`, `*/write`).
pub fn permits(v: &Value, action: &str) -> bool {
    let list = |p: &Value, key: &str| -> Vec<String> {
        p[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect()
    };
    v["value"].as_array().into_iter().flatten().any(|p| {
        list(p, "actions").iter().any(|a| action_matches(a, action))
            && !list(p, "notActions")
                .iter()
                .any(|a| action_matches(a, action))
    })
}

fn action_matches(pattern: &str, action: &str) -> bool {
    let (p, a) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    match p.split_once('*') {
        None => p == a,
        Some((head, tail)) => {
            a.len() >= head.len() + tail.len() && a.starts_with(head) && a.ends_with(tail)
        }
    }
}

pub const ROLE_ASSIGNMENT_WRITE: &str = "Microsoft.Authorization/roleAssignments/write";
pub const REGISTRY_WRITE: &str = "Microsoft.ContainerRegistry/registries/write";

pub async fn managed_cluster(arm: &ArmClient, c: &ClusterRef) -> Result<ManagedCluster, ArmError> {
    let v = arm
        .get_json("read the managed cluster", &c.id(), MANAGED_CLUSTER_API)
        .await?;
    Ok(parse_managed_cluster(&v))
}

pub async fn vmss_identities(arm: &ArmClient, vmss_id: &str) -> Result<Vec<String>, ArmError> {
    let v = arm
        .get_json("read the node pool's scale set", vmss_id, VMSS_API)
        .await?;
    Ok(parse_vmss_identities(&v))
}

pub async fn public_ip(arm: &ArmClient, id: &str) -> Result<Option<String>, ArmError> {
    let v = arm
        .get_json("read the cluster's outbound IP", id, PUBLIC_IP_API)
        .await?;
    Ok(v["properties"]["ipAddress"].as_str().map(str::to_owned))
}

pub async fn role_assignments(
    arm: &ArmClient,
    registry_id: &str,
    principal_id: &str,
    abac: bool,
) -> Result<Vec<RoleAssignment>, ArmError> {
    let path = format!(
        "{registry_id}/providers/Microsoft.Authorization/roleAssignments?$filter={}",
        url_escape(&format!("principalId eq '{principal_id}'"))
    );
    let v = arm
        .get_json(
            "list the kubelet identity's role assignments",
            &path,
            AUTHORIZATION_API,
        )
        .await?;
    Ok(parse_role_assignments(&v, registry_id, abac))
}

pub async fn registry_access(
    arm: &ArmClient,
    registry_id: &str,
) -> Result<RegistryAccess, ArmError> {
    let v = arm
        .get_json("read the registry", registry_id, REGISTRY_API)
        .await?;
    Ok(parse_registry_access(&v))
}

/// Whether the caller may do `action` at `scope` (ARM's `permissions`).
pub async fn may(arm: &ArmClient, scope: &str, action: &str) -> Result<bool, ArmError> {
    let v = arm
        .get_json(
            "read your permissions",
            &format!("{scope}/providers/Microsoft.Authorization/permissions"),
            AUTHORIZATION_API,
        )
        .await?;
    Ok(permits(&v, action))
}

/// `PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{new guid}`: a pull role for
/// a managed identity (principalType ServicePrincipal, as azure-cli writes it for the kubelet
/// identity). Returns the new assignment's id.
pub async fn assign_role(
    arm: &ArmClient,
    registry_id: &str,
    principal_id: &str,
    role: PullRole,
) -> Result<String, ArmError> {
    let subscription = registry_id
        .split('/')
        .nth(2)
        .ok_or_else(|| ArmError::Invalid {
            operation: format!("assign {}", role.name),
            message: format!("{registry_id:?} is not a registry resource id"),
        })?;
    let name = uuid::Uuid::new_v4().to_string();
    let body = json!({"properties": {
        "roleDefinitionId": format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{}", role.id),
        "principalId": principal_id,
        "principalType": "ServicePrincipal",
    }});
    let v = arm
        .write_json(
            reqwest::Method::PUT,
            &format!("assign {}", role.name),
            &format!("{registry_id}/providers/Microsoft.Authorization/roleAssignments/{name}"),
            AUTHORIZATION_API,
            &body,
        )
        .await?;
    Ok(v["id"].as_str().unwrap_or_default().to_owned())
}

/// Adds `ip` to the registry's IP rules, keeping every rule it has (a PATCH of
/// `networkRuleSet` replaces the whole list).
pub async fn allow_ip(arm: &ArmClient, registry_id: &str, ip: &str) -> Result<(), ArmError> {
    let v = arm
        .get_json("read the registry", registry_id, REGISTRY_API)
        .await?;
    let rules = &v["properties"]["networkRuleSet"];
    let mut ip_rules: Vec<Value> = rules["ipRules"].as_array().cloned().unwrap_or_default();
    if !ip_rules.iter().any(|r| r["value"].as_str() == Some(ip)) {
        ip_rules.push(json!({"action": "Allow", "value": ip}));
    }
    let body = json!({"properties": {"networkRuleSet": {
        "defaultAction": rules["defaultAction"].as_str().unwrap_or("Deny"),
        "ipRules": ip_rules,
    }}});
    arm.write_json(
        reqwest::Method::PATCH,
        "add a registry IP rule",
        registry_id,
        REGISTRY_API,
        &body,
    )
    .await
    .map(|_| ())
}

fn url_escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    const REG: &str =
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr";

    #[test]
    fn provider_ids_of_aks_nodes() {
        let n = AksNode::from_provider_id(
            "azure:///subscriptions/s1/resourceGroups/mc_rg_aks_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-1-vmss/virtualMachines/0",
        )
        .unwrap();
        assert_eq!(n.subscription_id, "s1");
        assert_eq!(n.node_resource_group, "mc_rg_aks_eastus");
        assert_eq!(n.vmss, "aks-nodepool1-1-vmss");
        assert!(
            n.vmss_id()
                .ends_with("/virtualMachineScaleSets/aks-nodepool1-1-vmss")
        );
        assert_eq!(AksNode::from_provider_id("kind://docker/x"), None);
        assert_eq!(
            AksNode::from_provider_id("azure:///subscriptions/s1/resourceGroups/rg"),
            None
        );
        // The label keeps the original case; a custom name does not split.
        assert_eq!(
            n.guess_cluster(Some("MC_berth-rg_berth-aks_eastus")),
            Some(ClusterRef {
                subscription_id: "s1".into(),
                resource_group: "berth-rg".into(),
                name: "berth-aks".into()
            })
        );
        assert_eq!(n.guess_cluster(Some("my_custom_node_rg_x")), None);
        assert_eq!(n.guess_cluster(Some("nodes")), None);
    }

    #[test]
    fn role_assignments_at_or_above_the_registry_only() {
        let v = json!({"value": [
            {"id": "a1", "properties": {"scope": REG, "roleDefinitionId": "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"}},
            {"id": "a2", "properties": {"scope": "/subscriptions/S1/resourcegroups/RG", "roleDefinitionId": "/x/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"}},
            {"id": "a3", "properties": {"scope": "/subscriptions/s1/resourceGroups/other", "roleDefinitionId": "/x/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"}},
            {"id": "a4", "properties": {"scope": format!("{REG}/scopeMaps/x"), "roleDefinitionId": "/x/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"}},
            {"id": "a5", "properties": {"scope": REG, "roleDefinitionId": "/x/roleDefinitions/c2f4ef07-c644-48eb-af81-4b1b4947fb11"}},
        ]});
        let got = parse_role_assignments(&v, REG, false);
        let ids: Vec<(&str, Option<&str>)> =
            got.iter().map(|a| (a.id.as_str(), a.pull_role)).collect();
        assert_eq!(
            ids,
            [
                ("a1", Some("AcrPull")),
                ("a2", Some("Reader")),
                ("a5", None)
            ]
        );
        // In ABAC mode AcrPull and Reader do not pull; the repository roles do.
        let abac = json!({"value": [
            {"id": "b1", "properties": {"scope": REG, "roleDefinitionId": format!("/x/roleDefinitions/{ACR_PULL_ROLE}")}},
            {"id": "b2", "properties": {"scope": REG, "roleDefinitionId": format!("/x/roleDefinitions/{REPOSITORY_READER_ROLE}"),
                "condition": "@Resource[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'aks/'"}},
        ]});
        let got = parse_role_assignments(&abac, REG, true);
        assert_eq!(got[0].pull_role, None);
        assert_eq!(
            got[1].pull_role,
            Some("Container Registry Repository Reader")
        );
        assert!(got[1].condition.is_some());
        // A prefix that is not a parent does not cover.
        assert!(!scope_covers("/subscriptions/s1/resourceGroups/r", REG));
    }

    #[test]
    fn network_rules_admit_addresses_and_ranges() {
        let v = json!({"properties": {"publicNetworkAccess": "Enabled", "networkRuleSet": {
            "defaultAction": "Deny", "ipRules": [{"action": "Allow", "value": "203.0.113.0/24"}, {"action": "Allow", "value": "198.51.100.7"}]}}});
        let n = parse_registry_access(&v);
        assert!(n.admits("203.0.113.9"));
        assert!(n.admits("198.51.100.7"));
        assert!(!n.admits("198.51.100.8"));
        assert!(!n.admits("not an ip"));
        let open = parse_registry_access(&json!({"properties": {}}));
        assert!(open.admits("10.0.0.1"));
        let closed = parse_registry_access(
            &json!({"properties": {"publicNetworkAccess": "Disabled", "networkRuleSet": {"defaultAction": "Allow"}}}),
        );
        assert!(!closed.admits("10.0.0.1"));
    }

    #[test]
    fn permissions_with_wildcards_and_not_actions() {
        let owner = json!({"value": [{"actions": ["*"], "notActions": []}]});
        assert!(permits(&owner, ROLE_ASSIGNMENT_WRITE));
        // Contributor: everything but Microsoft.Authorization writes.
        let contributor = json!({"value": [{"actions": ["*"], "notActions": [
            "Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write"]}]});
        assert!(!permits(&contributor, ROLE_ASSIGNMENT_WRITE));
        assert!(permits(&contributor, REGISTRY_WRITE));
        let uaa = json!({"value": [{"actions": ["Microsoft.Authorization/*"], "notActions": []}]});
        assert!(permits(&uaa, ROLE_ASSIGNMENT_WRITE));
        assert!(!permits(&uaa, REGISTRY_WRITE));
        assert!(!permits(&json!({"value": []}), REGISTRY_WRITE));
    }

    #[test]
    fn managed_cluster_and_scale_set_shapes() {
        let mc = parse_managed_cluster(&json!({"id": "/x", "properties": {
            "nodeResourceGroup": "MC_rg_aks_eastus",
            "identityProfile": {"kubeletidentity": {"resourceId": "/id", "clientId": "c", "objectId": "o"}},
            "networkProfile": {"loadBalancerProfile": {"effectiveOutboundIPs": [{"id": "/ip1"}]}}}}));
        assert_eq!(
            mc.kubelet_identity,
            Some(KubeletIdentity {
                resource_id: "/id".into(),
                client_id: "c".into(),
                object_id: "o".into()
            })
        );
        assert_eq!(mc.outbound_ip_ids, ["/ip1"]);
        assert_eq!(
            parse_vmss_identities(
                &json!({"identity": {"type": "UserAssigned", "userAssignedIdentities": {"/id": {}}}})
            ),
            ["/id"]
        );
        assert!(parse_vmss_identities(&json!({"identity": {"type": "None"}})).is_empty());
    }
}
