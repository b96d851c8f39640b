//! What an AKS node's kubelet-identity pulls meet: IMDS (managed-identity tokens for the
//! identities on the node pool's VMSS), ACR's network rules (firewall), and the ARM calls that
//! show and change them: the managed cluster, role assignments, the VMSS identity list, the
//! outbound public IP and the user-assigned identities. See README.md.

use crate::App;
use crate::arm::arm_error;
use crate::auth::{ACR_AUDIENCE, ARM_AUDIENCE};
use crate::config::{Aks, ManagedIdentity};
use crate::http::{self, Resp, acr_time, first, pairs, registry_error};
use crate::jwt::{now_secs, random_id};
use crate::roles;
use crate::state::RoleAssignment;
use hyper::body::Incoming;
use hyper::header::USER_AGENT;
use hyper::{HeaderMap, Method, Request, StatusCode};
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr};

/// The peer address of a request's connection (set by the accept loops).
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub IpAddr);

/// User agents of the node's own registry clients: containerd's CRI (`containerd/1.6.20~ds1`)
/// and the kubelet's credential provider (the real one's user agent).
const NODE_AGENTS: &[&str] = &["containerd/", "kubernetes-credentialprovider-acr"];
/// The outbound public IP resource of the cluster's load balancer (AKS names it by a GUID).
const OUTBOUND_IP_NAME: &str = "4f3c2b1a-5d6e-4a7b-8c9d-0e1f2a3b4c5d";

fn imds_error(status: StatusCode, error: &str, description: &str) -> Resp {
    http::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R[&client_id=|object_id=|msi_res_id=]`
/// with `Metadata: true` (plain http on `imds_listen`).
pub fn imds(app: &App, req: &Request<Incoming>) -> Resp {
    if req.uri().path() != "/metadata/identity/oauth2/token" {
        return imds_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "The requested path is not served by the IMDS stand-in.",
        );
    }
    if req.method() != Method::GET {
        return imds_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "The request method is not allowed.",
        );
    }
    let metadata = req
        .headers()
        .get("metadata")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if !metadata {
        return imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    let q = pairs(req.uri().query().unwrap_or(""));
    if first(&q, "api-version").is_none() {
        return imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required query variable 'api-version' is missing",
        );
    }
    let Some(resource) = first(&q, "resource") else {
        return imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required audience parameter not specified",
        );
    };
    let aud = match resource.trim_end_matches('/') {
        ARM_AUDIENCE | "https://management.core.windows.net" => ARM_AUDIENCE,
        ACR_AUDIENCE => ACR_AUDIENCE,
        other => {
            return imds_error(
                StatusCode::BAD_REQUEST,
                "invalid_resource",
                &format!(
                    "AADSTS500011: The resource principal named {other} was not found in the tenant named {}.",
                    app.cfg.azure.tenant_id
                ),
            );
        }
    };
    let assigned: Vec<ManagedIdentity> = {
        let st = app.state.lock().unwrap();
        st.vmss_identities
            .iter()
            .filter_map(|rid| app.mi_by_resource_id(rid))
            .collect()
    };
    let selector = first(&q, "client_id")
        .or_else(|| first(&q, "object_id"))
        .or_else(|| first(&q, "principal_id"));
    let mi = match (
        selector,
        first(&q, "msi_res_id").or_else(|| first(&q, "mi_res_id")),
    ) {
        (Some(id), _) => assigned
            .iter()
            .find(|m| m.client_id.eq_ignore_ascii_case(id) || m.object_id.eq_ignore_ascii_case(id)),
        (None, Some(rid)) => assigned
            .iter()
            .find(|m| app.cfg.mi_resource_id(m).eq_ignore_ascii_case(rid)),
        (None, None) if assigned.len() > 1 => {
            return imds_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request",
            );
        }
        (None, None) => assigned.first(),
    };
    let Some(mi) = mi else {
        return imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Identity not found",
        );
    };
    let now = now_secs();
    let tid = &app.cfg.azure.tenant_id;
    let token = app.signer.sign(&json!({
        "aud": aud,
        "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": now,
        "nbf": now,
        "exp": now + 86399,
        "appid": mi.client_id,
        "appidacr": "2",
        "idtyp": "app",
        "oid": mi.object_id,
        "sub": mi.object_id,
        "tid": tid,
        "ver": "1.0",
        "uti": random_id(8),
        "xms_mirid": app.cfg.mi_resource_id(mi),
        "standin_kind": "entra",
    }));
    // IMDS gives the numbers as strings.
    http::json(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "client_id": mi.client_id,
            "expires_in": "86399",
            "expires_on": (now + 86399).to_string(),
            "ext_expires_in": "86399",
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
    )
}

fn parse_v4(s: &str) -> Option<(u32, u32)> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok().filter(|b| *b <= 32)?),
        None => (s, 32),
    };
    let ip: Ipv4Addr = addr.trim().parse().ok()?;
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    Some((u32::from(ip) & mask, mask))
}

/// Whether `ip` is in one of the rules (IPv4 addresses or CIDR ranges).
pub fn ip_allowed(rules: &[String], ip: &str) -> bool {
    let Ok(ip) = ip.parse::<Ipv4Addr>() else {
        return false;
    };
    rules
        .iter()
        .filter_map(|r| parse_v4(r))
        .any(|(net, mask)| u32::from(ip) & mask == net)
}

impl App {
    pub fn save_state(&self) {
        self.state.lock().unwrap().save(&self.cfg.state_file);
    }

    pub fn mi_by_resource_id(&self, rid: &str) -> Option<ManagedIdentity> {
        let aks = self.cfg.aks.as_ref()?;
        std::iter::once(&aks.kubelet_identity)
            .chain(aks.other_identities.iter())
            .find(|m| self.cfg.mi_resource_id(m).eq_ignore_ascii_case(rid))
            .cloned()
    }

    /// The client IP ACR sees: the cluster's egress IP for the node's own clients (every
    /// connection arrives from loopback here, so they are told by their user agent), else the
    /// connection's peer address.
    pub fn client_ip(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> String {
        let ua = headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(aks) = &self.cfg.aks
            && NODE_AGENTS.iter().any(|a| ua.starts_with(a))
        {
            return aks.egress_ip.clone();
        }
        peer.map_or_else(|| "127.0.0.1".into(), |p| p.to_string())
    }

    /// ACR's firewall: 403 DENIED when the registry's network rules refuse the client's IP.
    /// `names` are what the request is about (token scopes, a `/v2/` path); while any
    /// `/_standin/firewall` scope is registered, only requests naming one are checked.
    pub fn firewall(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
        names: &[&str],
    ) -> Option<Resp> {
        let net = self.state.lock().unwrap().network.clone();
        if net.default_action.eq_ignore_ascii_case("Allow")
            && !net.public_network_access.eq_ignore_ascii_case("Disabled")
        {
            return None;
        }
        if !self.control.firewall_applies(names) {
            return None;
        }
        let ip = self.client_ip(headers, peer);
        let allowed = !net.public_network_access.eq_ignore_ascii_case("Disabled")
            && ip_allowed(&net.ip_rules, &ip);
        (!allowed).then(|| {
            registry_error(
                StatusCode::FORBIDDEN,
                "DENIED",
                &format!(
                    "client with IP '{ip}' is not allowed access. Refer https://aka.ms/acr/firewall to grant access."
                ),
            )
        })
    }

    fn aks(&self) -> Option<&Aks> {
        self.cfg.aks.as_ref()
    }

    fn cluster_rg(&self) -> String {
        self.aks()
            .and_then(|a| a.resource_group.clone())
            .unwrap_or_else(|| self.cfg.azure.resource_group.clone())
    }

    pub fn cluster_id(&self) -> String {
        let name = self.aks().map_or("", |a| a.cluster_name.as_str());
        format!(
            "/subscriptions/{}/resourcegroups/{}/providers/Microsoft.ContainerService/managedClusters/{name}",
            self.cfg.azure.subscription_id,
            self.cluster_rg()
        )
    }

    fn node_rg_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}",
            self.cfg.azure.subscription_id,
            self.aks().map_or("", |a| a.node_resource_group.as_str())
        )
    }

    fn role_assignment_json(&self, name: &str, a: &RoleAssignment) -> Value {
        json!({
            "id": format!("{}/providers/Microsoft.Authorization/roleAssignments/{name}", a.scope),
            "name": name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": a.role_definition_id,
                "principalId": a.principal_id,
                "principalType": a.principal_type,
                "scope": a.scope,
                "condition": null,
                "conditionVersion": null,
                "createdOn": acr_time(a.created),
                "updatedOn": acr_time(a.created),
                "createdBy": null,
                "updatedBy": null,
                "delegatedManagedIdentityResourceId": null,
                "description": null,
            }
        })
    }

    fn managed_cluster_json(&self, aks: &Aks) -> Value {
        let kid = &aks.kubelet_identity;
        let loc = &self.cfg.azure.location;
        json!({
            "id": self.cluster_id(),
            "location": loc,
            "name": aks.cluster_name,
            "type": "Microsoft.ContainerService/ManagedClusters",
            "sku": {"name": "Base", "tier": "Free"},
            "identity": {
                "type": "SystemAssigned",
                "principalId": format!("5e1c0b2d-{}", &kid.object_id.get(9..).unwrap_or("")),
                "tenantId": self.cfg.azure.tenant_id,
            },
            "properties": {
                "provisioningState": "Succeeded",
                "powerState": {"code": "Running"},
                "kubernetesVersion": aks.kubernetes_version,
                "currentKubernetesVersion": aks.kubernetes_version,
                "dnsPrefix": format!("{}-dns", aks.cluster_name),
                "fqdn": format!("{}-dns-00000000.hcp.{loc}.azmk8s.io", aks.cluster_name),
                "nodeResourceGroup": aks.node_resource_group,
                "enableRBAC": true,
                "agentPoolProfiles": [{
                    "name": aks.node_pool,
                    "count": 1,
                    "vmSize": "Standard_DS2_v2",
                    "osType": "Linux",
                    "osSKU": "Ubuntu",
                    "mode": "System",
                    "type": "VirtualMachineScaleSets",
                    "orchestratorVersion": aks.kubernetes_version,
                    "provisioningState": "Succeeded",
                    "powerState": {"code": "Running"},
                }],
                "identityProfile": {
                    "kubeletidentity": {
                        "resourceId": self.cfg.mi_resource_id(kid),
                        "clientId": kid.client_id,
                        "objectId": kid.object_id,
                    }
                },
                "networkProfile": {
                    "networkPlugin": "kubenet",
                    "outboundType": "loadBalancer",
                    "loadBalancerSku": "standard",
                    "loadBalancerProfile": {
                        "managedOutboundIPs": {"count": 1},
                        "effectiveOutboundIPs": [{
                            "id": format!("{}/providers/Microsoft.Network/publicIPAddresses/{OUTBOUND_IP_NAME}", self.node_rg_id()),
                        }],
                    },
                    "podCidr": "10.244.0.0/16",
                    "serviceCidr": "10.0.0.0/16",
                    "dnsServiceIP": "10.0.0.10",
                },
            }
        })
    }

    fn vmss_json(&self, aks: &Aks) -> Value {
        let st = self.state.lock().unwrap();
        let uais: serde_json::Map<String, Value> = st
            .vmss_identities
            .iter()
            .filter_map(|rid| {
                let m = self.mi_by_resource_id(rid)?;
                Some((
                    self.cfg.mi_resource_id(&m),
                    json!({"principalId": m.object_id, "clientId": m.client_id}),
                ))
            })
            .collect();
        let identity = if uais.is_empty() {
            json!({"type": "None"})
        } else {
            json!({"type": "UserAssigned", "userAssignedIdentities": uais})
        };
        json!({
            "id": format!("{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}", self.node_rg_id(), aks.vmss_name),
            "name": aks.vmss_name,
            "type": "Microsoft.Compute/virtualMachineScaleSets",
            "location": self.cfg.azure.location,
            "tags": {
                "aks-managed-poolName": aks.node_pool,
                "aks-managed-createOperationID": "00000000-0000-0000-0000-000000000000",
            },
            "sku": {"name": "Standard_DS2_v2", "tier": "Standard", "capacity": 1},
            "identity": identity,
            "properties": {"provisioningState": "Succeeded", "orchestrationMode": "Uniform"},
        })
    }
}

/// Whether an ARM path is one of this module's (not the registry's own).
pub fn is_aks_path(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    [
        "/providers/microsoft.authorization/",
        "/providers/microsoft.containerservice/",
        "/providers/microsoft.compute/",
        "/providers/microsoft.network/",
        "/providers/microsoft.managedidentity/",
    ]
    .iter()
    .any(|x| p.contains(x))
}

/// API versions are accepted by form (`YYYY-MM-DD` or `YYYY-MM-DD-preview`) on these providers.
pub fn api_version_ok(v: &str) -> bool {
    let date = v.strip_suffix("-preview").unwrap_or(v);
    let b = date.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

async fn body_json(req: Request<Incoming>) -> Result<Value, Resp> {
    let b = http::read_body(req.into_body(), 1024 * 1024)
        .await
        .map_err(|e| arm_error(StatusCode::BAD_REQUEST, "InvalidRequestContent", &e))?;
    if b.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&b).map_err(|e| {
        arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            &format!("The request content was invalid and could not be deserialized: '{e}'."),
        )
    })
}

fn not_found(kind: &str, name: &str, rg: &str) -> Resp {
    arm_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!(
            "The Resource '{kind}/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// ARM requests on this module's providers. The caller has checked the token, subscription and
/// api-version; `contributor` says whether the caller may read and write.
pub async fn arm(
    app: &App,
    req: Request<Incoming>,
    contributor: bool,
    forbidden: impl Fn(&str, &str) -> Resp,
) -> Resp {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let q = pairs(req.uri().query().unwrap_or(""));
    let Some(aks) = app.aks().cloned() else {
        return arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the stand-in has no [aks] configuration",
        );
    };
    let verb = |m: &Method| match *m {
        Method::GET => "read",
        Method::DELETE => "delete",
        _ => "write",
    };
    // Role assignments and definitions, at any scope.
    let lower = path.to_ascii_lowercase();
    if let Some(i) = lower.find("/providers/microsoft.authorization/") {
        let scope = path[..i].to_string();
        let rest: Vec<&str> = path[i + "/providers/microsoft.authorization/".len()..]
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let scope_or_sub = if scope.is_empty() {
            "/".to_string()
        } else {
            scope.clone()
        };
        return match (method.clone(), rest.as_slice()) {
            (Method::GET, [kind]) if kind.eq_ignore_ascii_case("roleAssignments") => {
                if !contributor {
                    return forbidden(
                        "Microsoft.Authorization/roleAssignments/read",
                        &scope_or_sub,
                    );
                }
                list_role_assignments(app, &scope, first(&q, "$filter").unwrap_or(""))
            }
            // What the caller may do at the scope: the ARM service principal acts as the
            // subscription's Owner (it may write role assignments here); any other principal
            // has the pull role it was given.
            (Method::GET, [kind]) if kind.eq_ignore_ascii_case("permissions") => {
                let actions = if contributor {
                    json!(["*"])
                } else {
                    json!(["Microsoft.ContainerRegistry/registries/pull/read"])
                };
                http::json(
                    StatusCode::OK,
                    &json!({"value": [{"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}]}),
                )
            }
            (m, [kind, name]) if kind.eq_ignore_ascii_case("roleAssignments") => {
                if !contributor {
                    return forbidden(
                        &format!("Microsoft.Authorization/roleAssignments/{}", verb(&m)),
                        &scope_or_sub,
                    );
                }
                role_assignment(app, m, &scope, name, req).await
            }
            (Method::GET, [kind, guid]) if kind.eq_ignore_ascii_case("roleDefinitions") => {
                match roles::role(guid) {
                    Some((g, name, _)) => http::json(
                        StatusCode::OK,
                        &json!({
                            "id": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{g}", app.cfg.azure.subscription_id),
                            "name": g,
                            "type": "Microsoft.Authorization/roleDefinitions",
                            "properties": {"roleName": name, "type": "BuiltInRole", "assignableScopes": ["/"]},
                        }),
                    ),
                    None => arm_error(
                        StatusCode::NOT_FOUND,
                        "RoleDefinitionDoesNotExist",
                        "The specified role definition with ID '{guid}' does not exist."
                            .replace("{guid}", guid)
                            .as_str(),
                    ),
                }
            }
            _ => arm_error(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("{method} {path} is not served by the stand-in."),
            ),
        };
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let [
        "subscriptions",
        _,
        rg_kw,
        rg,
        "providers",
        provider,
        kind,
        name,
        rest @ ..,
    ] = segs.as_slice()
    else {
        return arm_error(
            StatusCode::NOT_FOUND,
            "InvalidResourceType",
            &format!("The resource type could not be found in the namespace of path '{path}'."),
        );
    };
    if !rg_kw.eq_ignore_ascii_case("resourceGroups") || !rest.is_empty() {
        return arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("{method} {path} is not served by the stand-in."),
        );
    }
    let action = format!("{provider}/{kind}/{}", verb(&method));
    let scope = format!(
        "/subscriptions/{}/resourceGroups/{rg}/providers/{provider}/{kind}/{name}",
        app.cfg.azure.subscription_id
    );
    if !contributor {
        return forbidden(&action, &scope);
    }
    let p = provider.to_ascii_lowercase();
    let k = kind.to_ascii_lowercase();
    let in_node_rg = rg.eq_ignore_ascii_case(&aks.node_resource_group);
    match (p.as_str(), k.as_str()) {
        ("microsoft.containerservice", "managedclusters") => {
            if !rg.eq_ignore_ascii_case(&app.cluster_rg()) {
                return arm_error(
                    StatusCode::NOT_FOUND,
                    "ResourceGroupNotFound",
                    &format!("Resource group '{rg}' could not be found."),
                );
            }
            if !name.eq_ignore_ascii_case(&aks.cluster_name) {
                return not_found("Microsoft.ContainerService/managedClusters", name, rg);
            }
            match method {
                Method::GET => http::json(StatusCode::OK, &app.managed_cluster_json(&aks)),
                _ => arm_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    "only GET is served",
                ),
            }
        }
        ("microsoft.compute", "virtualmachinescalesets") if in_node_rg => {
            if !name.eq_ignore_ascii_case(&aks.vmss_name) {
                return not_found("Microsoft.Compute/virtualMachineScaleSets", name, rg);
            }
            match method {
                Method::GET => http::json(StatusCode::OK, &app.vmss_json(&aks)),
                Method::PATCH | Method::PUT => {
                    let body = match body_json(req).await {
                        Ok(b) => b,
                        Err(r) => return r,
                    };
                    patch_vmss_identity(app, &aks, &body)
                }
                _ => arm_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    "use GET or PATCH",
                ),
            }
        }
        ("microsoft.network", "publicipaddresses") if in_node_rg && *name == OUTBOUND_IP_NAME => {
            http::json(
                StatusCode::OK,
                &json!({
                    "id": format!("{}/providers/Microsoft.Network/publicIPAddresses/{OUTBOUND_IP_NAME}", app.node_rg_id()),
                    "name": OUTBOUND_IP_NAME,
                    "type": "Microsoft.Network/publicIPAddresses",
                    "location": app.cfg.azure.location,
                    "sku": {"name": "Standard", "tier": "Regional"},
                    "properties": {
                        "provisioningState": "Succeeded",
                        "ipAddress": aks.egress_ip,
                        "publicIPAddressVersion": "IPv4",
                        "publicIPAllocationMethod": "Static",
                    },
                }),
            )
        }
        ("microsoft.managedidentity", "userassignedidentities") if in_node_rg => {
            let found = app.mi_by_resource_id(&format!(
                "/subscriptions/{}/resourcegroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
                app.cfg.azure.subscription_id, aks.node_resource_group
            ));
            match found {
                Some(m) => http::json(
                    StatusCode::OK,
                    &json!({
                        "id": app.cfg.mi_resource_id(&m),
                        "name": m.name,
                        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                        "location": app.cfg.azure.location,
                        "properties": {"tenantId": app.cfg.azure.tenant_id, "principalId": m.object_id, "clientId": m.client_id},
                    }),
                ),
                None => not_found("Microsoft.ManagedIdentity/userAssignedIdentities", name, rg),
            }
        }
        _ => not_found(&format!("{provider}/{kind}"), name, rg),
    }
}

fn patch_vmss_identity(app: &App, aks: &Aks, body: &Value) -> Resp {
    let Some(uais) = body["identity"]["userAssignedIdentities"].as_object() else {
        if body["identity"]["type"] == "None" {
            app.state.lock().unwrap().vmss_identities.clear();
            app.save_state();
            return http::json(StatusCode::OK, &app.vmss_json(aks));
        }
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "identity.userAssignedIdentities (resource id → {} to add, null to remove) is required.",
        );
    };
    let mut changes = Vec::new();
    for (rid, v) in uais {
        let Some(m) = app.mi_by_resource_id(rid) else {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "FailedIdentityOperation",
                &format!("Identity (resource id: '{rid}') does not exist."),
            );
        };
        changes.push((app.cfg.mi_resource_id(&m), !v.is_null()));
    }
    {
        let mut st = app.state.lock().unwrap();
        for (rid, add) in changes {
            st.vmss_identities.retain(|r| !r.eq_ignore_ascii_case(&rid));
            if add {
                st.vmss_identities.push(rid);
            }
        }
    }
    app.save_state();
    http::json(StatusCode::OK, &app.vmss_json(aks))
}

/// `$filter` forms: `principalId eq '…'`, `assignedTo('…')`, `atScope()` (and `and` of them).
fn list_role_assignments(app: &App, scope: &str, filter: &str) -> Resp {
    let quoted = |key: &str| -> Option<String> {
        let i = filter.find(key)?;
        let rest = &filter[i + key.len()..];
        let start = rest.find('\'')? + 1;
        let end = rest[start..].find('\'')? + start;
        Some(rest[start..end].to_string())
    };
    let principal = quoted("principalId").or_else(|| quoted("assignedTo("));
    let at_scope = filter.contains("atScope()");
    let st = app.state.lock().unwrap();
    let value: Vec<Value> = st
        .role_assignments
        .iter()
        .filter(|(_, a)| {
            principal
                .as_ref()
                .is_none_or(|p| a.principal_id.eq_ignore_ascii_case(p))
        })
        .filter(|(_, a)| {
            // At the scope and above it (inherited), and (unless atScope()) below it.
            roles::covers(&a.scope, scope) || (!at_scope && roles::covers(scope, &a.scope))
        })
        .map(|(n, a)| app.role_assignment_json(n, a))
        .collect();
    http::json(StatusCode::OK, &json!({"value": value}))
}

async fn role_assignment(
    app: &App,
    m: Method,
    scope: &str,
    name: &str,
    req: Request<Incoming>,
) -> Resp {
    match m {
        Method::GET => {
            let st = app.state.lock().unwrap();
            match st
                .role_assignments
                .get(name)
                .filter(|a| a.scope.eq_ignore_ascii_case(scope))
            {
                Some(a) => http::json(StatusCode::OK, &app.role_assignment_json(name, a)),
                None => arm_error(
                    StatusCode::NOT_FOUND,
                    "RoleAssignmentNotFound",
                    &format!("The role assignment '{name}' is not found."),
                ),
            }
        }
        Method::DELETE => {
            let removed = {
                let mut st = app.state.lock().unwrap();
                match st.role_assignments.get(name) {
                    Some(a) if a.scope.eq_ignore_ascii_case(scope) => {
                        st.role_assignments.remove(name)
                    }
                    _ => None,
                }
            };
            app.save_state();
            match removed {
                Some(a) => http::json(StatusCode::OK, &app.role_assignment_json(name, &a)),
                None => http::empty(StatusCode::NO_CONTENT),
            }
        }
        Method::PUT => {
            if !is_guid(name) {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRoleAssignmentId",
                    &format!(
                        "The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."
                    ),
                );
            }
            let body = match body_json(req).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            let p = &body["properties"];
            let (Some(role_id), Some(principal)) =
                (p["roleDefinitionId"].as_str(), p["principalId"].as_str())
            else {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRoleAssignmentRequest",
                    "properties.roleDefinitionId and properties.principalId are required.",
                );
            };
            let guid = roles::role_guid(role_id);
            if roles::role(guid).is_none() {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "RoleDefinitionDoesNotExist",
                    &format!("The specified role definition with ID '{guid}' does not exist."),
                );
            }
            let a = RoleAssignment {
                role_definition_id: format!(
                    "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}",
                    app.cfg.azure.subscription_id,
                    guid.to_ascii_lowercase()
                ),
                principal_id: principal.to_string(),
                principal_type: p["principalType"]
                    .as_str()
                    .unwrap_or("ServicePrincipal")
                    .to_string(),
                scope: scope.to_string(),
                created: jiff::Timestamp::now(),
            };
            let v = {
                let mut st = app.state.lock().unwrap();
                let same = st.role_assignments.iter().any(|(n, x)| {
                    n != name
                        && x.scope.eq_ignore_ascii_case(&a.scope)
                        && x.principal_id.eq_ignore_ascii_case(&a.principal_id)
                        && roles::role_guid(&x.role_definition_id).eq_ignore_ascii_case(guid)
                });
                if same {
                    return arm_error(
                        StatusCode::CONFLICT,
                        "RoleAssignmentExists",
                        "The role assignment already exists.",
                    );
                }
                let v = app.role_assignment_json(name, &a);
                st.role_assignments.insert(name.to_string(), a);
                v
            };
            app.save_state();
            http::json(StatusCode::CREATED, &v)
        }
        _ => arm_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "use GET, PUT or DELETE",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_rules_match_addresses_and_ranges() {
        let rules = vec!["10.201.3.1".to_string(), "20.0.0.0/8".to_string()];
        assert!(ip_allowed(&rules, "10.201.3.1"));
        assert!(!ip_allowed(&rules, "10.201.3.2"));
        assert!(ip_allowed(&rules, "20.1.2.3"));
        assert!(!ip_allowed(&rules, "21.1.2.3"));
        assert!(!ip_allowed(&rules, "not-an-ip"));
        assert!(ip_allowed(&["0.0.0.0/0".to_string()], "1.2.3.4"));
    }

    #[test]
    fn api_versions_by_form() {
        assert!(api_version_ok("2022-04-01"));
        assert!(api_version_ok("2024-05-02-preview"));
        assert!(!api_version_ok("2022-4-1"));
        assert!(!api_version_ok("latest"));
    }

    #[test]
    fn guids() {
        assert!(is_guid("7f951dda-4ed3-4680-a7ca-43fe172d538d"));
        assert!(!is_guid("not-a-guid"));
    }
}
