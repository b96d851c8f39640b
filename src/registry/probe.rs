//! The probe: "with exactly these credentials (or none), fetch the manifest of this reference
//! and tell me precisely what happened" — the evidence the ImagePullBackOff diagnosis reasons
//! with. No retries (a 429 is reported, not hidden), every exchange kept.

use std::path::PathBuf;

use serde::Serialize;

use super::client::{ClientConfig, Exchange, ExchangeKind, RegistryClient, RetryPolicy};
use super::config::RegistryKind;
use super::credential::Credential;
use super::error::{ApiError, NetworkKind, RegistryError};
use super::types::Platform;
use crate::reference::Reference;

/// Which endpoint refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthStage {
    /// The registry's token endpoint (`realm`) refused the credentials.
    TokenEndpoint,
    /// ACR's `/oauth2/exchange` refused the Entra token.
    Exchange,
    /// The registry API itself (with the token or Basic credentials, or none).
    Registry,
}

/// One child manifest of an index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProbeChild {
    pub platform: Option<Platform>,
    pub digest: String,
    pub media_type: String,
}

/// What happened, most specific first.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ProbeOutcome {
    Ok {
        media_type: String,
        digest: String,
        /// Platforms of an index; empty for a single-platform manifest.
        platforms: Vec<Platform>,
        children: Vec<ProbeChild>,
    },
    Dns {
        message: String,
    },
    Connect {
        message: String,
    },
    Tls {
        message: String,
    },
    Timeout {
        message: String,
    },
    /// 401: credentials missing, rejected or expired.
    Unauthorized {
        stage: AuthStage,
        status: u16,
        errors: Vec<ApiError>,
        detail: String,
    },
    /// 403: authenticated, not allowed.
    Forbidden {
        stage: AuthStage,
        errors: Vec<ApiError>,
        detail: String,
    },
    RepositoryUnknown {
        errors: Vec<ApiError>,
        detail: String,
    },
    ManifestUnknown {
        errors: Vec<ApiError>,
        detail: String,
    },
    /// 404 without a registry error code saying which.
    NotFound {
        detail: String,
    },
    RateLimited {
        retry_after_secs: Option<u64>,
        detail: String,
    },
    ServerError {
        status: u16,
        detail: String,
    },
    /// The credential itself could not be obtained (an Entra credential failed, a helper failed).
    CredentialUnavailable {
        message: String,
    },
    /// The registry answered something that makes no sense (garbage JSON, wrong digest).
    InvalidResponse {
        message: String,
    },
    Unexpected {
        status: Option<u16>,
        detail: String,
    },
}

impl ProbeOutcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Ok { .. })
    }
}

/// The outcome plus every exchange that led to it.
#[derive(Clone, Debug, Serialize)]
pub struct ProbeReport {
    pub reference: String,
    /// The host the probe talked to.
    pub host: String,
    /// Who the probe authenticated as (`anonymous`, `basic:user`, ...; never a secret).
    pub credential: String,
    pub outcome: ProbeOutcome,
    pub exchanges: Vec<Exchange>,
}

/// How to reach the registry for a probe.
#[derive(Clone, Debug, Default)]
pub struct ProbeOptions {
    /// Extra CA bundle (the test CA, a private registry's CA).
    pub ca_file: Option<PathBuf>,
    /// `None`: guessed from the host.
    pub kind: Option<RegistryKind>,
}

/// Fetches the manifest of `reference` with exactly `credential`, once.
pub async fn probe(
    reference: &Reference,
    credential: Credential,
    options: &ProbeOptions,
) -> ProbeReport {
    let host = reference.api_host().to_owned();
    let actor = credential.actor();
    let kind = options.kind.unwrap_or_else(|| RegistryKind::guess(&host));
    let mut cfg = ClientConfig::new(reference.registry(), &host, kind, credential);
    cfg.ca_file = options.ca_file.clone();
    cfg.retry = RetryPolicy::none();
    cfg.trace = true;
    let report = |outcome, exchanges| ProbeReport {
        reference: reference.to_string(),
        host: host.clone(),
        credential: actor.clone(),
        outcome,
        exchanges,
    };
    let client = match RegistryClient::new(cfg) {
        Ok(c) => c,
        Err(e) => {
            return report(
                ProbeOutcome::CredentialUnavailable {
                    message: e.to_string(),
                },
                vec![],
            );
        }
    };
    let result = client
        .get_manifest(reference.repository(), reference.manifest_ref())
        .await;
    let exchanges = client.take_trace();
    let outcome = match result {
        Ok(m) => ProbeOutcome::Ok {
            platforms: m.platforms(),
            children: m
                .children()
                .iter()
                .map(|c| ProbeChild {
                    platform: c.platform.as_ref().map(|p| Platform {
                        os: p.os.clone(),
                        architecture: p.architecture.clone(),
                        variant: p.variant.clone(),
                    }),
                    digest: c.digest.clone(),
                    media_type: c.media_type.clone(),
                })
                .collect(),
            media_type: m.media_type,
            digest: m.digest,
        },
        Err(e) => outcome_of(e, &exchanges),
    };
    report(outcome, exchanges)
}

/// The error entries of the last exchange of `kind` that failed.
fn last_errors(exchanges: &[Exchange], kind: ExchangeKind) -> Vec<ApiError> {
    exchanges
        .iter()
        .rev()
        .find(|e| e.kind == kind && e.status.is_some_and(|s| s >= 400))
        .map(|e| e.errors.clone())
        .unwrap_or_default()
}

fn outcome_of(err: RegistryError, exchanges: &[Exchange]) -> ProbeOutcome {
    let reg_errors = || last_errors(exchanges, ExchangeKind::Registry);
    match err {
        RegistryError::Network { kind, message, .. } => match kind {
            NetworkKind::Dns => ProbeOutcome::Dns { message },
            NetworkKind::Tls => ProbeOutcome::Tls { message },
            NetworkKind::Timeout => ProbeOutcome::Timeout { message },
            NetworkKind::Connect | NetworkKind::Cut | NetworkKind::Other => {
                ProbeOutcome::Connect { message }
            }
        },
        RegistryError::Token {
            status,
            detail,
            realm,
            ..
        } => {
            let stage = if realm.ends_with("/oauth2/exchange") {
                AuthStage::Exchange
            } else {
                AuthStage::TokenEndpoint
            };
            let errors = last_errors(
                exchanges,
                if stage == AuthStage::Exchange {
                    ExchangeKind::Exchange
                } else {
                    ExchangeKind::Token
                },
            );
            match status {
                403 => ProbeOutcome::Forbidden {
                    stage,
                    errors,
                    detail,
                },
                429 => ProbeOutcome::RateLimited {
                    retry_after_secs: None,
                    detail,
                },
                s if s >= 500 => ProbeOutcome::ServerError { status: s, detail },
                _ => ProbeOutcome::Unauthorized {
                    stage,
                    status,
                    errors,
                    detail,
                },
            }
        }
        RegistryError::Unauthorized { detail, .. } => ProbeOutcome::Unauthorized {
            stage: AuthStage::Registry,
            status: 401,
            errors: reg_errors(),
            detail,
        },
        RegistryError::Forbidden { detail, .. } => ProbeOutcome::Forbidden {
            stage: AuthStage::Registry,
            errors: reg_errors(),
            detail,
        },
        RegistryError::RepositoryUnknown { detail, .. } => ProbeOutcome::RepositoryUnknown {
            errors: reg_errors(),
            detail,
        },
        RegistryError::ManifestUnknown { detail, .. } => ProbeOutcome::ManifestUnknown {
            errors: reg_errors(),
            detail,
        },
        RegistryError::NotFound { detail, .. } => ProbeOutcome::NotFound { detail },
        RegistryError::RateLimited {
            retry_after,
            object,
            ..
        } => ProbeOutcome::RateLimited {
            retry_after_secs: retry_after.map(|d| d.as_secs()),
            detail: format!("429 on {object}"),
        },
        RegistryError::Server { status, detail, .. } => {
            ProbeOutcome::ServerError { status, detail }
        }
        RegistryError::Credential { message, .. } | RegistryError::Config { message, .. } => {
            ProbeOutcome::CredentialUnavailable { message }
        }
        RegistryError::InvalidResponse { message, .. } => ProbeOutcome::InvalidResponse { message },
        e @ RegistryError::DigestMismatch { .. } => ProbeOutcome::InvalidResponse {
            message: e.to_string(),
        },
        RegistryError::UnexpectedStatus { status, detail, .. } => ProbeOutcome::Unexpected {
            status: Some(status),
            detail,
        },
        other => ProbeOutcome::Unexpected {
            status: None,
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unresolvable_host_is_dns() {
        let r = Reference::parse("berth-does-not-exist.invalid/web:1").unwrap();
        let rep = probe(&r, Credential::Anonymous, &ProbeOptions::default()).await;
        assert!(matches!(rep.outcome, ProbeOutcome::Dns { .. }), "{rep:?}");
        assert_eq!(rep.exchanges.len(), 1);
        assert!(rep.exchanges[0].transport_error.is_some());
    }

    #[tokio::test]
    async fn closed_port_is_connect() {
        // Bind then drop to find a port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let r = Reference::parse(&format!("127.0.0.1:{port}/web:1")).unwrap();
        let rep = probe(&r, Credential::Anonymous, &ProbeOptions::default()).await;
        assert!(
            matches!(rep.outcome, ProbeOutcome::Connect { .. }),
            "{rep:?}"
        );
    }

    #[test]
    fn outcomes_serialise_with_a_result_tag() {
        let o = ProbeOutcome::Unauthorized {
            stage: AuthStage::TokenEndpoint,
            status: 401,
            errors: vec![],
            detail: "x".into(),
        };
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["result"], "unauthorized");
        assert_eq!(v["stage"], "token_endpoint");
    }
}
