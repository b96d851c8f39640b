//! The `[[registry]]` section of config.toml.
//!
//! ```toml
//! # An ACR, signed in with the Azure CLI; ARM lets berth import across registries.
//! [[registry]]
//! name = "prod"
//! host = "myacr.azurecr.io"
//! kind = "acr"                      # acr | oci (default: acr for *.azurecr.io, else oci)
//! credential = { type = "azure-cli" }
//! [registry.arm]
//! subscription_id = "00000000-0000-0000-0000-000000000000"
//! resource_group = "rg-prod"
//! registry_name = "myacr"
//! # endpoint = "https://management.azure.com"        # override for sovereign clouds / tests
//! # authority_host = "https://login.microsoftonline.com"
//!
//! # A service principal from the environment (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET,
//! # or the variables named here).
//! [[registry]]
//! name = "ci"
//! host = "myacr.azurecr.io"
//! credential = { type = "client-secret", client_secret_env = "CI_SP_SECRET" }
//!
//! # Other credential types:
//! #   { type = "managed-identity", client_id = "..." }          (client_id: user-assigned, optional)
//! #   { type = "workload-identity" }                            (AZURE_FEDERATED_TOKEN_FILE & co.)
//! #   { type = "basic", username = "admin", password_env = "ACR_PASSWORD" }   (or password_file)
//! #   { type = "docker-config" }                                (~/.docker/config.json, or path = "...")
//! #   { type = "anonymous" }
//!
//! # Any OCI registry, trusting a private CA.
//! [[registry]]
//! name = "mirror"
//! host = "registry.internal:5000"
//! kind = "oci"
//! credential = { type = "docker-config" }
//! ca_file = "/etc/ssl/private-ca.pem"
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Whether the registry speaks ACR's extensions (`/acr/v1` listing, `/oauth2/exchange`, ARM).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistryKind {
    Acr,
    #[default]
    Oci,
}

impl RegistryKind {
    /// `acr` for `*.azurecr.io` (and the sovereign clouds' suffixes), else `oci`.
    pub fn guess(host: &str) -> Self {
        let h = host.to_ascii_lowercase();
        let h = h.split(':').next().unwrap_or("");
        if [".azurecr.io", ".azurecr.cn", ".azurecr.us"]
            .iter()
            .any(|s| h.ends_with(s))
        {
            Self::Acr
        } else {
            Self::Oci
        }
    }
}

/// One `[[registry]]` entry.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Short name shown in the UI and used on the command line (`--registry prod`).
    pub name: String,
    /// Login server, `host[:port]` (no scheme).
    pub host: String,
    /// Default: guessed from the host.
    #[serde(default)]
    pub kind: Option<RegistryKind>,
    #[serde(default)]
    pub credential: CredentialSource,
    /// PEM bundle to trust for this registry (and its Azure endpoints), besides the system roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// ARM coordinates of an ACR (needed for import across registries and credential rotation).
    #[serde(default)]
    pub arm: Option<ArmConfig>,
}

impl RegistryConfig {
    pub fn kind(&self) -> RegistryKind {
        self.kind.unwrap_or_else(|| RegistryKind::guess(&self.host))
    }

    /// Checks what serde cannot: a bare host, names that are set. The message names the entry.
    pub fn validate(&self) -> Result<(), String> {
        let who = format!("registry {:?}", self.name);
        if self.name.trim().is_empty() {
            return Err("a [[registry]] entry has an empty `name`".into());
        }
        if self.host.contains("://") || self.host.contains('/') || self.host.is_empty() {
            return Err(format!(
                "{who}: host {:?} must be `host[:port]` without scheme or path (e.g. myacr.azurecr.io)",
                self.host
            ));
        }
        crate::reference::Reference::parse(&format!("{}/probe", self.host))
            .map_err(|e| format!("{who}: host {:?} is not valid: {e}", self.host))?;
        if let CredentialSource::Basic {
            password_env,
            password_file,
            ..
        } = &self.credential
            && password_env.is_some() == password_file.is_some()
        {
            return Err(format!(
                "{who}: a `basic` credential needs exactly one of `password_env` or `password_file`"
            ));
        }
        if let Some(arm) = &self.arm {
            for (k, v) in [
                ("subscription_id", &arm.subscription_id),
                ("resource_group", &arm.resource_group),
                ("registry_name", &arm.registry_name),
            ] {
                if v.trim().is_empty() {
                    return Err(format!("{who}: arm.{k} is empty"));
                }
            }
            for (k, v) in [
                ("endpoint", &arm.endpoint),
                ("authority_host", &arm.authority_host),
            ] {
                if let Some(u) = v
                    && !u.starts_with("https://")
                {
                    return Err(format!("{who}: arm.{k} {u:?} must be an https:// URL"));
                }
            }
        }
        Ok(())
    }
}

/// Where the registry credential comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CredentialSource {
    /// `az login`'s identity (runs `az account get-access-token`).
    AzureCli {
        #[serde(default)]
        tenant_id: Option<String>,
    },
    /// The managed identity of the VM / pod host; `client_id` selects a user-assigned one.
    ManagedIdentity {
        #[serde(default)]
        client_id: Option<String>,
    },
    /// AKS workload identity (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE).
    WorkloadIdentity,
    /// A service principal's secret, read from environment variables.
    ClientSecret {
        #[serde(default = "default_tenant_env")]
        tenant_id_env: String,
        #[serde(default = "default_client_env")]
        client_id_env: String,
        #[serde(default = "default_secret_env")]
        client_secret_env: String,
    },
    /// Username and password (ACR admin user, scope-map token, htpasswd).
    Basic {
        username: String,
        #[serde(default)]
        password_env: Option<String>,
        #[serde(default)]
        password_file: Option<PathBuf>,
    },
    /// docker's config.json, with its credential helpers.
    DockerConfig {
        #[serde(default)]
        path: Option<PathBuf>,
    },
    #[default]
    Anonymous,
}

fn default_tenant_env() -> String {
    "AZURE_TENANT_ID".into()
}
fn default_client_env() -> String {
    "AZURE_CLIENT_ID".into()
}
fn default_secret_env() -> String {
    "AZURE_CLIENT_SECRET".into()
}

/// ARM coordinates of an ACR.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmConfig {
    pub subscription_id: String,
    pub resource_group: String,
    /// The registry's ARM name (`myacr` for `myacr.azurecr.io`).
    pub registry_name: String,
    /// Default `https://management.azure.com`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Entra authority for every Azure credential of this registry; default
    /// `https://login.microsoftonline.com` (or `AZURE_AUTHORITY_HOST`).
    #[serde(default)]
    pub authority_host: Option<String>,
}

pub const DEFAULT_ARM_ENDPOINT: &str = "https://management.azure.com";

impl ArmConfig {
    pub fn endpoint(&self) -> &str {
        self.endpoint
            .as_deref()
            .unwrap_or(DEFAULT_ARM_ENDPOINT)
            .trim_end_matches('/')
    }

    /// `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}`
    pub fn registry_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerRegistry/registries/{}",
            self.subscription_id, self.resource_group, self.registry_name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        registry: Vec<RegistryConfig>,
    }

    #[test]
    fn doc_example_parses_and_validates() {
        let doc = include_str!("config.rs");
        let start = doc.find("```toml").unwrap() + 7;
        let end = start + doc[start..].find("```").unwrap();
        let text: String = doc[start..end]
            .lines()
            .map(|l| {
                l.trim_start()
                    .trim_start_matches("//!")
                    .trim_start_matches(' ')
            })
            .collect::<Vec<_>>()
            .join("\n");
        let f: File = toml::from_str(&text).unwrap();
        assert_eq!(f.registry.len(), 3);
        for r in &f.registry {
            r.validate().unwrap();
        }
        assert_eq!(f.registry[0].kind(), RegistryKind::Acr);
        assert_eq!(f.registry[2].kind(), RegistryKind::Oci);
        assert!(matches!(
            &f.registry[1].credential,
            CredentialSource::ClientSecret { tenant_id_env, client_secret_env, .. }
                if tenant_id_env == "AZURE_TENANT_ID" && client_secret_env == "CI_SP_SECRET"
        ));
        assert_eq!(
            f.registry[0].arm.as_ref().unwrap().registry_id(),
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-prod/providers/Microsoft.ContainerRegistry/registries/myacr"
        );
    }

    #[test]
    fn bad_entries_are_named() {
        let f: File = toml::from_str(
            "[[registry]]\nname='x'\nhost='https://r.io'\n[[registry]]\nname='y'\nhost='r.io'\ncredential={type='basic',username='u'}\n",
        )
        .unwrap();
        assert!(
            f.registry[0]
                .validate()
                .unwrap_err()
                .contains("without scheme")
        );
        assert!(
            f.registry[1]
                .validate()
                .unwrap_err()
                .contains("password_env")
        );
        let e = toml::from_str::<File>(
            "[[registry]]\nname='x'\nhost='r'\ncredential={type='kerberos'}\n",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("kerberos"), "{e}");
    }
}
