//! The stand-in's TOML configuration (see README.md for an example).

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:16410`.
    pub listen: String,
    /// The ACR login server (host:port) clients use; also the registry's token `service`.
    pub login_server: String,
    /// Base URL of the real registry's plain-http API, e.g. `http://127.0.0.1:16411`.
    pub upstream: String,
    /// `iss` of registry access tokens (must equal the registry's `auth.token.issuer`).
    pub issuer: String,
    pub state_file: PathBuf,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    /// PKCS#8 EC P-256 key and its certificate chain that sign registry tokens.
    pub token_key: PathBuf,
    pub token_cert: PathBuf,
    /// CA bundle trusted when the stand-in itself calls other registries (importImage sources).
    pub ca_file: PathBuf,
    pub azure: Azure,
    pub admin: Admin,
    #[serde(default)]
    pub service_principals: Vec<ServicePrincipal>,
    #[serde(default)]
    pub scope_maps: Vec<ScopeMap>,
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    /// Answer every `generateCredentials` with 202 + Location (long-running form).
    #[serde(default)]
    pub generate_credentials_async: bool,
    /// Plain-http address of the IMDS stand-in (`/metadata/identity/oauth2/token`), e.g.
    /// `127.0.0.1:16413`: the node's stand-in for `169.254.169.254`, which cannot be bound here.
    pub imds_listen: Option<String>,
    /// The AKS cluster whose node pulls through the kubelet identity (see README.md).
    pub aks: Option<Aks>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Aks {
    pub cluster_name: String,
    /// The cluster's resource group (default: `azure.resource_group`).
    pub resource_group: Option<String>,
    /// `MC_{rg}_{cluster}_{location}` by AKS convention.
    pub node_resource_group: String,
    pub node_pool: String,
    /// `aks-{pool}-{hash}-vmss`.
    pub vmss_name: String,
    #[serde(default = "default_k8s_version")]
    pub kubernetes_version: String,
    /// The address the cluster's node traffic reaches ACR from (AKS: the load balancer's
    /// outbound public IP; here: the node IP, as no NAT exists).
    pub egress_ip: String,
    pub kubelet_identity: ManagedIdentity,
    /// More user-assigned identities that exist in the tenant (not on the node pool at start).
    #[serde(default)]
    pub other_identities: Vec<ManagedIdentity>,
    /// `az aks create --attach-acr`: AcrPull on the registry for the kubelet identity at start.
    #[serde(default = "yes")]
    pub attach_acr: bool,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ManagedIdentity {
    pub name: String,
    pub client_id: String,
    pub object_id: String,
}

fn default_k8s_version() -> String {
    "1.20.2".into()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Azure {
    pub tenant_id: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub registry_name: String,
    #[serde(default = "default_location")]
    pub location: String,
}

fn default_location() -> String {
    "eastus".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    pub username: String,
    pub password: String,
    pub password2: String,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AcrRole {
    /// AcrPush: pull, push, delete, catalog.
    Push,
    /// AcrPull: pull, catalog.
    Pull,
    None,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ServicePrincipal {
    pub client_id: String,
    pub client_secret: String,
    /// Defaults to a value derived from client_id.
    pub object_id: Option<String>,
    pub acr_role: AcrRole,
    /// Contributor on the registry through ARM (listCredentials, importImage, ...).
    #[serde(default)]
    pub arm_contributor: bool,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ScopeMap {
    pub name: String,
    /// ACR scope-map actions, e.g. `repositories/web/content/read`.
    pub actions: Vec<String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub name: String,
    pub scope_map: String,
    pub password1: Option<String>,
    pub password1_expiry: Option<jiff::Timestamp>,
    pub password2: Option<String>,
    pub password2_expiry: Option<jiff::Timestamp>,
}

impl Config {
    pub fn load(path: &str) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("config {path}: {e}"))?;
        toml::from_str(&text).map_err(|e| format!("config {path}: {e}"))
    }

    pub fn sp(&self, client_id: &str) -> Option<&ServicePrincipal> {
        self.service_principals
            .iter()
            .find(|s| s.client_id.eq_ignore_ascii_case(client_id))
    }

    pub fn sp_by_oid(&self, oid: &str) -> Option<&ServicePrincipal> {
        self.service_principals.iter().find(|s| s.oid() == oid)
    }

    /// A managed identity of the AKS configuration, by client id or object (principal) id.
    pub fn mi(&self, id: &str) -> Option<&ManagedIdentity> {
        let aks = self.aks.as_ref()?;
        std::iter::once(&aks.kubelet_identity)
            .chain(aks.other_identities.iter())
            .find(|m| m.client_id.eq_ignore_ascii_case(id) || m.object_id.eq_ignore_ascii_case(id))
    }

    /// ARM id of a user-assigned identity (AKS writes `resourcegroups` in lower case there).
    pub fn mi_resource_id(&self, m: &ManagedIdentity) -> String {
        let rg = self
            .aks
            .as_ref()
            .map_or("", |a| a.node_resource_group.as_str());
        format!(
            "/subscriptions/{}/resourcegroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
            self.azure.subscription_id, m.name
        )
    }

    pub fn registry_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerRegistry/registries/{}",
            self.azure.subscription_id, self.azure.resource_group, self.azure.registry_name
        )
    }
}

impl ServicePrincipal {
    pub fn oid(&self) -> String {
        self.object_id
            .clone()
            .unwrap_or_else(|| format!("0b1d{}", &self.client_id.get(4..).unwrap_or("")))
    }
}
