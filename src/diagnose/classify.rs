//! Facts → cause. The registry's answer to the pod's own credentials decides; the secrets
//! explain it; the node's messages only support.

use crate::registry::error::ApiError;
use crate::registry::probe::ProbeOutcome;
use crate::registry::types::Platform;

use super::cause::{Cause, NetStage, NoSecretWhy, SecretProblem, Verdict};
use super::facts::{CredentialUsed, Facts, ProbeFacts, SecretState, TagListing};
use super::tags;

/// How many "closest existing tags" a diagnosis names.
pub const CLOSEST_TAGS: usize = 5;

pub fn classify(f: &Facts) -> Cause {
    let reference = match &f.reference {
        Ok(r) => r,
        Err(reason) => {
            return Cause::ReferenceInvalid {
                image: f.image.clone(),
                reason: reason.clone(),
            };
        }
    };
    let host = reference.registry().to_owned();

    // kubelet parses every pull secret of the pod before it pulls anything: one it cannot
    // parse fails every pull, whatever the registry would say.
    if let Some((secret, reason)) = f.pull_secrets.iter().find_map(|s| match &s.state {
        SecretState::Malformed { reason, .. } if s.on_pod => Some((&s.name, reason)),
        _ => None,
    }) {
        return Cause::SecretUnusable {
            secret: secret.clone(),
            problem: SecretProblem::Malformed {
                reason: reason.clone(),
            },
        };
    }

    // Where the node pulls with its own identity, its words and ARM decide.
    if let Some(cause) = super::kubelet_identity::classify(f, &host, reference) {
        return cause;
    }

    // The node tries each credential until one works: one probe that finds the manifest means
    // the pull itself works now.
    if let Some(platforms) = f.probes.iter().find_map(|p| match &p.outcome {
        ProbeOutcome::Ok { platforms, .. } => Some(platforms),
        _ => None,
    }) {
        if let Some(node) = &f.node
            && !platforms.is_empty()
            && !platforms.iter().any(|p| platform_fits(p, node))
        {
            return Cause::PlatformMissing {
                image: reference.to_string(),
                node: node.name.clone(),
                node_platform: format!("{}/{}", node.os, node.architecture),
                available: platforms.iter().map(ToString::to_string).collect(),
            };
        }
        if f.node_messages.reason.as_deref() == Some(super::gather::SLOW_PULL) {
            return Cause::SlowPull {
                since: f
                    .node_messages
                    .events
                    .iter()
                    .filter(|e| e.reason == "Pulling")
                    .filter_map(|e| e.last_seen)
                    .max(),
            };
        }
        if f.node_messages.reason.as_deref() == Some("ErrImageNeverPull") {
            return Cause::NeverPull {
                image: f.image.clone(),
            };
        }
        return Cause::Transient {
            last_failure: f.node_messages.last_failure,
        };
    }

    let Some(first) = f.probes.first() else {
        return Cause::Undetermined {
            reason: "no registry probe was made".to_owned(),
        };
    };
    let anonymous = first.credential == CredentialUsed::Anonymous;
    let unreachable = |stage, message: &String| Cause::HostUnreachable {
        host: host.clone(),
        stage,
        detail: message.clone(),
    };
    match &first.outcome {
        ProbeOutcome::Dns { message } => unreachable(NetStage::Resolve, message),
        ProbeOutcome::Connect { message } => unreachable(NetStage::Connect, message),
        ProbeOutcome::Tls { message } => unreachable(NetStage::Tls, message),
        ProbeOutcome::Timeout { message } => unreachable(NetStage::Timeout, message),
        ProbeOutcome::Unauthorized { .. } | ProbeOutcome::Forbidden { .. } if anonymous => {
            if let Some(unreadable) = unreadable_pod_secret(f) {
                return unreadable;
            }
            why_no_credentials(f, &host)
        }
        ProbeOutcome::Unauthorized { errors, detail, .. } => {
            rejected(f, first, &host, registry_says(errors, detail))
        }
        ProbeOutcome::Forbidden { errors, detail, .. } => {
            let (secret, username) = match &first.credential {
                CredentialUsed::Secret {
                    secret, username, ..
                } => (Some(secret.clone()), username.clone()),
                CredentialUsed::Anonymous => (None, None),
            };
            Cause::Denied {
                host,
                repository: reference.repository().to_owned(),
                secret,
                username,
                registry_says: registry_says(errors, detail),
            }
        }
        ProbeOutcome::RepositoryUnknown { .. } => Cause::RepositoryMissing {
            host,
            repository: reference.repository().to_owned(),
        },
        // A bare 404 does not say which, and some registries answer MANIFEST_UNKNOWN for a
        // repository that does not exist either: the tag listing tells.
        ProbeOutcome::ManifestUnknown { .. } | ProbeOutcome::NotFound { .. }
            if f.tags == Some(TagListing::RepositoryUnknown) =>
        {
            Cause::RepositoryMissing {
                host,
                repository: reference.repository().to_owned(),
            }
        }
        ProbeOutcome::ManifestUnknown { .. } | ProbeOutcome::NotFound { .. } => {
            let wanted = reference.manifest_ref().to_owned();
            let closest = match &f.tags {
                Some(TagListing::Listed { tags: all }) if reference.digest().is_none() => {
                    tags::closest(&wanted, all, CLOSEST_TAGS)
                        .into_iter()
                        .map(|t| t.name)
                        .collect()
                }
                _ => Vec::new(),
            };
            Cause::ManifestMissing {
                host,
                repository: reference.repository().to_owned(),
                reference: wanted,
                closest,
            }
        }
        ProbeOutcome::RateLimited {
            retry_after_secs, ..
        } => Cause::RateLimited {
            host,
            retry_after_secs: *retry_after_secs,
        },
        ProbeOutcome::ServerError { status, detail } => Cause::RegistryError {
            host,
            status: Some(*status),
            registry_says: Some(detail.clone()).filter(|d| !d.is_empty()),
        },
        ProbeOutcome::Unexpected { status, detail } => Cause::RegistryError {
            host,
            status: *status,
            registry_says: Some(detail.clone()).filter(|d| !d.is_empty()),
        },
        ProbeOutcome::InvalidResponse { message } => Cause::RegistryError {
            host,
            status: None,
            registry_says: Some(message.clone()),
        },
        ProbeOutcome::CredentialUnavailable { message } => Cause::Undetermined {
            reason: format!("the probe could not be set up: {message}"),
        },
        ProbeOutcome::Ok { .. } => unreachable!("handled above"),
    }
}

/// The registry's own words: its error messages, else the probe's detail.
fn registry_says(errors: &[ApiError], detail: &str) -> Option<String> {
    let said: Vec<String> = errors
        .iter()
        .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
            (false, false) => format!("{}: {}", e.code, e.message),
            (false, true) => e.code.clone(),
            _ => e.message.clone(),
        })
        .filter(|s| !s.is_empty())
        .collect();
    if said.is_empty() {
        Some(detail.to_owned()).filter(|d| !d.is_empty())
    } else {
        Some(said.join("; "))
    }
}

/// A pod secret berth could not read may hold the credentials the node uses: then nothing
/// can be said about them.
fn unreadable_pod_secret(f: &Facts) -> Option<Cause> {
    f.pull_secrets.iter().find_map(|s| match &s.state {
        SecretState::Unreadable { reason } if s.on_pod => Some(Cause::Undetermined {
            reason: format!(
                "pull secret {:?} could not be read ({reason}); berth needs `get` on secrets in {:?} \
                 to probe with the pod's credentials",
                s.name, f.namespace
            ),
        }),
        _ => None,
    })
}

/// The node pulled anonymously and the registry wants credentials: say why the node had none.
fn why_no_credentials(f: &Facts, host: &str) -> Cause {
    let on_pod = || f.pull_secrets.iter().filter(|s| s.on_pod);
    if let Some(s) = on_pod().find(|s| s.state == SecretState::Missing) {
        return Cause::SecretMissing {
            secret: s.name.clone(),
            namespace: f.namespace.clone(),
        };
    }
    if let Some((name, type_, detail)) = on_pod().find_map(|s| match &s.state {
        SecretState::WrongType { type_, detail } => Some((&s.name, type_, detail)),
        _ => None,
    }) {
        return Cause::SecretUnusable {
            secret: name.clone(),
            problem: SecretProblem::WrongType {
                type_: type_.clone(),
                detail: detail.clone(),
            },
        };
    }
    let sa_only: Vec<String> = f
        .pull_secrets
        .iter()
        .filter(|s| !s.on_pod && s.on_service_account && s.has_match())
        .map(|s| s.name.clone())
        .collect();
    // The service account's secrets reach only pods that name none of their own (admission
    // copies them then, at creation): only such a pod gets them by being recreated.
    if !sa_only.is_empty() && on_pod().next().is_none() {
        return Cause::NoSecretForHost {
            host: host.to_owned(),
            why: NoSecretWhy::ServiceAccountOnly {
                service_account: f.service_account.clone(),
                secrets: sa_only,
            },
        };
    }
    let usable: Vec<_> = on_pod()
        .filter_map(|s| match &s.state {
            SecretState::Usable { entries } => Some((s, entries)),
            _ => None,
        })
        .collect();
    if usable.is_empty() {
        return Cause::NoSecretForHost {
            host: host.to_owned(),
            why: NoSecretWhy::NoneAttached,
        };
    }
    Cause::NoSecretForHost {
        host: host.to_owned(),
        why: NoSecretWhy::OtherHosts {
            secrets: usable.iter().map(|(s, _)| s.name.clone()).collect(),
            keys: usable
                .iter()
                .flat_map(|(_, e)| e.iter().map(|e| e.key.clone()))
                .collect(),
        },
    }
}

/// 401 with the pod's credentials: an empty entry, expired, disabled, or wrong/rotated.
fn rejected(f: &Facts, probe: &ProbeFacts, host: &str, registry_says: Option<String>) -> Cause {
    let CredentialUsed::Secret {
        secret,
        key,
        username,
    } = &probe.credential
    else {
        unreachable!("anonymous 401 is handled by why_no_credentials");
    };
    let entry = f
        .pull_secrets
        .iter()
        .filter(|s| &s.name == secret)
        .flat_map(|s| s.matching_entries())
        .find(|e| &e.key == key);
    if let Some(e) = entry
        && !e.has_password
        && e.username.as_deref().unwrap_or("").is_empty()
    {
        return Cause::SecretUnusable {
            secret: secret.clone(),
            problem: SecretProblem::EmptyEntry { key: key.clone() },
        };
    }
    let said = registry_says.as_deref().unwrap_or("").to_ascii_lowercase();
    let expired_at = entry.and_then(|e| e.expires);
    let verdict = if said.contains("expire") {
        Verdict::Expired { at: expired_at }
    } else if said.contains("disabled") {
        Verdict::Disabled
    } else if let Some(at) = expired_at.filter(|at| *at <= f.observed_at) {
        Verdict::Expired { at: Some(at) }
    } else {
        Verdict::WrongOrRotated
    };
    Cause::CredentialsRejected {
        host: host.to_owned(),
        secret: secret.clone(),
        username: username.clone(),
        verdict,
        registry_says,
    }
}

/// containerd's matcher, for what a node reports: same OS and architecture (a node names no variant).
fn platform_fits(p: &Platform, node: &super::facts::NodeFacts) -> bool {
    p.os.eq_ignore_ascii_case(&node.os) && p.architecture.eq_ignore_ascii_case(&node.architecture)
}
