//! From a `[[registry]]` entry to a ready client: the credential resolved (env, file, docker
//! config and its helpers, or an Azure credential), the CA applied, ARM attached when configured.

use std::sync::Arc;

use super::client::{ClientConfig, RegistryClient, http_client};
use super::config::{CredentialSource, RegistryConfig};
use super::credential::{Credential, DockerConfig, default_docker_config_path};
use super::error::RegistryError;
use crate::azure::arm::ArmClient;
use crate::secret::Secret;

/// A configured registry: its client, and an ARM client when `[registry.arm]` is set and the
/// credential is an Azure one.
#[derive(Clone, Debug)]
pub struct Registry {
    pub config: RegistryConfig,
    pub client: RegistryClient,
    pub arm: Option<ArmClient>,
}

impl Registry {
    /// The ARM id of the registry, when ARM is configured.
    pub fn arm_registry_id(&self) -> Option<String> {
        self.config.arm.as_ref().map(|a| a.registry_id())
    }
}

/// Resolves the credential and builds the clients. Reads env vars, files and runs docker
/// credential helpers; makes no registry request.
pub async fn connect(cfg: &RegistryConfig) -> Result<Registry, RegistryError> {
    cfg.validate().map_err(|message| RegistryError::Config {
        registry: cfg.name.clone(),
        message,
    })?;
    let http = http_client(cfg.ca_file.as_deref(), &cfg.name)?;
    let authority = cfg.arm.as_ref().and_then(|a| a.authority_host.as_deref());
    let cred_err = |message: String| RegistryError::Credential {
        registry: cfg.name.clone(),
        message,
    };
    let mut azure = None;
    let credential = match &cfg.credential {
        CredentialSource::Anonymous => Credential::Anonymous,
        CredentialSource::Basic {
            username,
            password_env,
            password_file,
        } => {
            let password = match (password_env, password_file) {
                (Some(var), _) => std::env::var(var).ok().filter(|v| !v.is_empty()).ok_or_else(|| {
                    cred_err(format!(
                        "environment variable {var} (the `basic` credential's password_env) is not set"
                    ))
                })?,
                (None, Some(path)) => std::fs::read_to_string(path)
                    .map_err(|e| cred_err(format!("cannot read password_file {}: {e}", path.display())))?
                    .trim_end_matches(['\r', '\n'])
                    .to_owned(),
                (None, None) => unreachable!("validate() requires one"),
            };
            Credential::Basic {
                username: username.clone(),
                password: Secret::new(password),
            }
        }
        CredentialSource::DockerConfig { path } => {
            let path = path
                .clone()
                .or_else(default_docker_config_path)
                .ok_or_else(|| {
                    cred_err("no home directory to find ~/.docker/config.json: set `path`".into())
                })?;
            let dc = DockerConfig::load(&path).map_err(|e| cred_err(e.to_string()))?;
            dc.credential_for(&cfg.host, &path)
                .await
                .map_err(|e| cred_err(e.to_string()))?
        }
        source => {
            let (cred, label, tenant) =
                crate::azure::credential::from_source(source, &http, authority)
                    .map_err(|e| cred_err(e.to_string()))?
                    .expect("the remaining sources are Azure credentials");
            azure = Some(cred.clone());
            Credential::Entra {
                credential: cred,
                tenant,
                label,
            }
        }
    };
    let arm = match (&cfg.arm, azure) {
        (Some(a), Some(cred)) => Some(
            ArmClient::new(http.clone(), a.endpoint(), Arc::clone(&cred)).map_err(|e| {
                RegistryError::Config {
                    registry: cfg.name.clone(),
                    message: e.to_string(),
                }
            })?,
        ),
        _ => None,
    };
    let mut cc = ClientConfig::new(&cfg.name, &cfg.host, cfg.kind(), credential);
    cc.ca_file = cfg.ca_file.clone();
    Ok(Registry {
        config: cfg.clone(),
        client: RegistryClient::with_http(cc, http),
        arm,
    })
}
