//! Azure credentials (`azure_identity` 1.0) built from config, sharing berth's HTTP client so a
//! custom CA (and a custom authority host, for sovereign clouds and the test stand-in) applies.

use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};

use crate::registry::config::CredentialSource;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum AzureCredentialError {
    #[error(
        "environment variable {var} is not set: the `{source_kind}` credential reads {what} from it (set it, or name another variable in config.toml)"
    )]
    MissingEnv {
        var: String,
        source_kind: &'static str,
        what: &'static str,
    },
    #[error("authority host {0:?} must be an https:// URL")]
    Authority(String),
    #[error("cannot create the {kind} credential: {message}")]
    Create { kind: &'static str, message: String },
    #[error("the `{0}` credential source is not an Azure credential")]
    NotAzure(&'static str),
}

/// Client options: our HTTP client as the transport, and a custom authority host when given.
pub fn client_options(
    http: &reqwest::Client,
    authority_host: Option<&str>,
) -> Result<ClientOptions, AzureCredentialError> {
    let mut options = ClientOptions {
        transport: Some(Transport::new(Arc::new(http.clone()))),
        // The SDK's default keeps retrying a failing token endpoint for a minute and more (82 s
        // measured with Entra answering 503: tests/fault_matrix.rs); a user waits for this, so
        // three quick retries, then the error.
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(300),
            max_retries: 3,
            max_total_elapsed: azure_core::time::Duration::seconds(10),
            max_delay: azure_core::time::Duration::seconds(2),
        }),
        ..ClientOptions::default()
    };
    if let Some(host) = authority_host {
        if !host.starts_with("https://") {
            return Err(AzureCredentialError::Authority(host.to_owned()));
        }
        let mut custom = CustomConfiguration::default();
        custom.authority_host = host.trim_end_matches('/').to_owned();
        options.cloud = Some(Arc::new(CloudConfiguration::Custom(custom)));
    }
    Ok(options)
}

fn env(
    var: &str,
    source_kind: &'static str,
    what: &'static str,
) -> Result<String, AzureCredentialError> {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| AzureCredentialError::MissingEnv {
            var: var.to_owned(),
            source_kind,
            what,
        })
}

/// A credential, its label (for messages and audit records), and its tenant when known.
pub type AzureCredential = (Arc<dyn TokenCredential>, String, Option<String>);

/// A service principal's client-secret credential.
pub fn client_secret(
    tenant_id: &str,
    client_id: &str,
    secret: &Secret,
    http: &reqwest::Client,
    authority_host: Option<&str>,
) -> Result<Arc<dyn TokenCredential>, AzureCredentialError> {
    let options = ClientSecretCredentialOptions {
        client_options: client_options(http, authority_host)?,
    };
    let cred = ClientSecretCredential::new(
        tenant_id,
        client_id.to_owned(),
        azure_core::credentials::Secret::new(secret.expose().to_owned()),
        Some(options),
    )
    .map_err(|e| AzureCredentialError::Create {
        kind: "client-secret",
        message: e.to_string(),
    })?;
    Ok(cred)
}

/// The Azure credential a config source names, with a label for messages and audit records
/// and the tenant (when known) for ACR's exchange. `Ok(None)` for non-Azure sources.
pub fn from_source(
    source: &CredentialSource,
    http: &reqwest::Client,
    authority_host: Option<&str>,
) -> Result<Option<AzureCredential>, AzureCredentialError> {
    let create = |kind: &'static str| {
        move |e: azure_core::Error| AzureCredentialError::Create {
            kind,
            message: e.to_string(),
        }
    };
    Ok(Some(match source {
        CredentialSource::AzureCli { tenant_id } => {
            let cred = AzureCliCredential::new(Some(AzureCliCredentialOptions {
                tenant_id: tenant_id.clone(),
                ..Default::default()
            }))
            .map_err(create("azure-cli"))?;
            (
                cred as Arc<dyn TokenCredential>,
                "azure-cli".to_owned(),
                tenant_id.clone(),
            )
        }
        CredentialSource::ManagedIdentity { client_id } => {
            let cred = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                user_assigned_id: client_id.clone().map(UserAssignedId::ClientId),
                client_options: client_options(http, None)?,
            }))
            .map_err(create("managed-identity"))?;
            let label = match client_id {
                Some(c) => format!("managed-identity {c}"),
                None => "managed-identity".to_owned(),
            };
            (cred as Arc<dyn TokenCredential>, label, None)
        }
        CredentialSource::WorkloadIdentity => {
            let tenant = std::env::var("AZURE_TENANT_ID").ok();
            let cred = WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions {
                    client_options: client_options(http, authority_host)?,
                },
                ..Default::default()
            }))
            .map_err(create("workload-identity"))?;
            (
                cred as Arc<dyn TokenCredential>,
                "workload-identity".to_owned(),
                tenant,
            )
        }
        CredentialSource::ClientSecret {
            tenant_id_env,
            client_id_env,
            client_secret_env,
        } => {
            let tenant = env(tenant_id_env, "client-secret", "the tenant id")?;
            let client = env(
                client_id_env,
                "client-secret",
                "the client (application) id",
            )?;
            let secret = Secret::new(env(
                client_secret_env,
                "client-secret",
                "the client secret",
            )?);
            let cred = client_secret(&tenant, &client, &secret, http, authority_host)?;
            (cred, format!("client-secret {client}"), Some(tenant))
        }
        CredentialSource::Basic { .. }
        | CredentialSource::DockerConfig { .. }
        | CredentialSource::Anonymous => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_must_be_https() {
        let http = reqwest::Client::new();
        assert!(matches!(
            client_options(&http, Some("http://x")),
            Err(AzureCredentialError::Authority(_))
        ));
        let o = client_options(&http, Some("https://127.0.0.1:1/")).unwrap();
        match o.cloud.as_deref() {
            Some(CloudConfiguration::Custom(c)) => {
                assert_eq!(c.authority_host, "https://127.0.0.1:1")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_env_names_the_variable() {
        let http = reqwest::Client::new();
        let src = CredentialSource::ClientSecret {
            tenant_id_env: "BERTH_TEST_SURELY_UNSET_TENANT".into(),
            client_id_env: "X".into(),
            client_secret_env: "Y".into(),
        };
        let e = from_source(&src, &http, None).err().unwrap().to_string();
        assert!(e.contains("BERTH_TEST_SURELY_UNSET_TENANT"), "{e}");
        assert!(
            from_source(&CredentialSource::Anonymous, &http, None)
                .unwrap()
                .is_none()
        );
    }
}
