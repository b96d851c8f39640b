//! Asking the registry as the node would: the manifest with exactly one credential (or none),
//! and the repository's tags when the manifest is missing.

use std::path::PathBuf;
use std::time::Duration;

use crate::reference::Reference;
use crate::registry::list::TagOrder;
use crate::registry::probe::{ProbeOptions, ProbeOutcome, probe};
use crate::registry::{
    ClientConfig, Credential as RegistryCredential, RegistryClient, RegistryKind,
};

use super::facts::{Credential, TagFacts, TagListing};

/// `localhost`, `127.0.0.1`, `[::1]`, with or without a port: hosts containerd also tries over
/// plain HTTP.
pub(super) fn is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn registry_credential(c: &Credential) -> RegistryCredential {
    if c.username.is_empty() && c.password.is_empty() {
        RegistryCredential::Anonymous
    } else {
        RegistryCredential::basic(c.username.clone(), c.password.clone())
    }
}

pub(super) async fn probe_once(
    reference: &Reference,
    cred: &Credential,
    kind: RegistryKind,
    ca_file: Option<PathBuf>,
    timeout: Duration,
) -> ProbeOutcome {
    let options = ProbeOptions {
        ca_file,
        kind: Some(kind),
    };
    match tokio::time::timeout(
        timeout,
        probe(reference, registry_credential(cred), &options),
    )
    .await
    {
        Ok(report) => report.outcome,
        Err(_) => ProbeOutcome::Timeout {
            message: format!("no answer within {} s", timeout.as_secs()),
        },
    }
}

pub(super) async fn list_tags(
    reference: &Reference,
    cred: &Credential,
    kind: RegistryKind,
    ca_file: Option<PathBuf>,
    timeout: Duration,
) -> TagListing {
    let host = reference.api_host();
    let mut cfg = ClientConfig::new(reference.registry(), host, kind, registry_credential(cred));
    cfg.ca_file = ca_file;
    let client = match RegistryClient::new(cfg) {
        Ok(c) => c,
        Err(e) => {
            return TagListing::Failed {
                reason: e.to_string(),
            };
        }
    };
    list_with(&client, reference.repository(), timeout).await
}

/// The repository's tags through `client`, newest first, within `timeout`.
pub(super) async fn list_with(
    client: &RegistryClient,
    repository: &str,
    timeout: Duration,
) -> TagListing {
    let listing = client.list_tags(repository, TagOrder::NewestFirst);
    match tokio::time::timeout(timeout, listing).await {
        Ok(Ok(rows)) => TagListing::Listed {
            tags: rows
                .into_iter()
                .map(|t| TagFacts {
                    name: t.name,
                    created: t.created.or(t.updated),
                })
                .collect(),
        },
        Ok(Err(crate::registry::RegistryError::RepositoryUnknown { .. })) => {
            TagListing::RepositoryUnknown
        }
        Ok(Err(e)) => TagListing::Failed {
            reason: e.to_string(),
        },
        Err(_) => TagListing::Failed {
            reason: format!("no answer within {} s", timeout.as_secs()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("myacr.azurecr.io"));
        assert!(!is_loopback("10.0.0.1:5000"));
    }
}
