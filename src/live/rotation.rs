//! Pull-secret rotation from the TUI: the ACR admin user of the browsed registry over ARM, with
//! a service principal from the environment (or the registry's own client-secret credential).

use std::sync::Arc;

use crate::app::effects::PasswordSlot;
use crate::azure::arm::ArmClient;
use crate::cluster::acr_source::{AcrAdminSource, RegistryArm, SlotPolicy};
use crate::registry::client::http_client;
use crate::registry::config::{CredentialSource, RegistryConfig};
use crate::secret::Secret;

const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// The environment variables the service principal comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrincipalVars {
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
}

/// The registry's own client-secret variables, else the Azure SDK's.
pub fn principal_vars(cfg: &RegistryConfig) -> PrincipalVars {
    match &cfg.credential {
        CredentialSource::ClientSecret {
            tenant_id_env,
            client_id_env,
            client_secret_env,
        } => PrincipalVars {
            tenant: tenant_id_env.clone(),
            client_id: client_id_env.clone(),
            client_secret: client_secret_env.clone(),
        },
        _ => PrincipalVars {
            tenant: "AZURE_TENANT_ID".into(),
            client_id: "AZURE_CLIENT_ID".into(),
            client_secret: "AZURE_CLIENT_SECRET".into(),
        },
    }
}

/// Whether berth can rotate for `cfg`, given a way to read variables; the reason when not
/// (shown on the key hint). Reads no secret value.
pub fn availability(
    cfg: Option<&RegistryConfig>,
    var_set: impl Fn(&str) -> bool,
) -> Result<(), String> {
    let Some(cfg) = cfg else {
        return Err("no [[registry]] configured to rotate credentials for".into());
    };
    if cfg.arm.is_none() {
        return Err(format!(
            "registry {} has no [registry.arm] section (rotation regenerates the admin password over ARM)",
            cfg.name
        ));
    }
    let vars = principal_vars(cfg);
    let missing: Vec<&str> = [&vars.tenant, &vars.client_id, &vars.client_secret]
        .into_iter()
        .filter(|v| !var_set(v))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "needs {} (a service principal with rights on the registry)",
            missing.join(", ")
        ));
    }
    Ok(())
}

pub fn env_var_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

fn var(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("environment variable {name} is not set"))
}

/// The credential source for regenerating `slot` of `cfg`'s admin user.
pub fn admin_source(cfg: &RegistryConfig, slot: PasswordSlot) -> Result<AcrAdminSource, String> {
    availability(Some(cfg), env_var_set)?;
    let arm = cfg
        .arm
        .as_ref()
        .expect("availability checked [registry.arm]");
    let vars = principal_vars(cfg);
    let http = http_client(cfg.ca_file.as_deref(), &cfg.name).map_err(|e| e.to_string())?;
    let authority = arm
        .authority_host
        .clone()
        .or_else(|| std::env::var("AZURE_AUTHORITY_HOST").ok())
        .unwrap_or_else(|| DEFAULT_AUTHORITY.to_owned());
    let credential = crate::azure::credential::client_secret(
        &var(&vars.tenant)?,
        &var(&vars.client_id)?,
        &Secret::new(var(&vars.client_secret)?),
        &http,
        Some(authority.trim_end_matches('/')),
    )
    .map_err(|e| e.to_string())?;
    let client =
        ArmClient::new(http.clone(), arm.endpoint(), credential).map_err(|e| e.to_string())?;
    Ok(AcrAdminSource {
        arm: Arc::new(RegistryArm::new(client, arm.registry_id())),
        http,
        login_server: cfg.host.clone(),
        slot: SlotPolicy::Fixed(slot.as_str().to_owned()),
        verify_repository: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> RegistryConfig {
        #[derive(serde::Deserialize)]
        struct F {
            registry: Vec<RegistryConfig>,
        }
        let f: F = toml::from_str(&format!(
            "[[registry]]\nname='sandbox'\nhost='127.0.0.1:16410'\nkind='acr'\n{extra}"
        ))
        .unwrap();
        f.registry.into_iter().next().unwrap()
    }

    const ARM: &str =
        "[registry.arm]\nsubscription_id='s'\nresource_group='rg'\nregistry_name='berthacr'\n";

    #[test]
    fn rotation_needs_arm_and_a_principal() {
        let e = availability(None, |_| true).unwrap_err();
        assert!(e.contains("no [[registry]]"));
        let e = availability(Some(&cfg("")), |_| true).unwrap_err();
        assert!(e.contains("[registry.arm]"), "{e}");
        let c = cfg(ARM);
        let e = availability(Some(&c), |v| v == "AZURE_TENANT_ID").unwrap_err();
        assert!(
            e.starts_with("needs AZURE_CLIENT_ID, AZURE_CLIENT_SECRET (a service principal"),
            "{e}"
        );
        assert_eq!(availability(Some(&c), |_| true), Ok(()));
    }

    #[test]
    fn a_client_secret_credential_names_its_own_variables() {
        let c = cfg(&format!(
            "credential = {{ type = 'client-secret', client_secret_env = 'CI_SECRET' }}\n{ARM}"
        ));
        let v = principal_vars(&c);
        assert_eq!(v.client_secret, "CI_SECRET");
        assert_eq!(v.tenant, "AZURE_TENANT_ID");
    }
}
