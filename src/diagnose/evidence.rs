//! Facts → the lines a person reads under the headline: what was found, then what the node said.

use serde::Serialize;

use super::cause::ago;
use crate::registry::error::ApiError;
use crate::registry::probe::{AuthStage, ProbeOutcome};

use super::facts::{CredentialUsed, Facts, SecretState, TagListing};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EvidenceLine {
    pub topic: Topic,
    pub text: String,
    /// The node's own messages: shown, never the basis of the diagnosis.
    pub supporting: bool,
    /// This check found nothing wrong (a ✓ in the TUI), or it did (a ✗).
    pub ok: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Image,
    PullSecret,
    Registry,
    Tags,
    Node,
    /// What Azure Resource Manager says (the kubelet identity, its roles, the network rules).
    Azure,
    /// Something berth could not find out.
    Gap,
    NodeMessage,
}

impl Topic {
    pub fn label(self) -> &'static str {
        match self {
            Topic::Image => "image",
            Topic::PullSecret => "pull secret",
            Topic::Registry => "registry",
            Topic::Tags => "tags",
            Topic::Node => "node",
            Topic::Azure => "ARM",
            Topic::Gap => "not known",
            Topic::NodeMessage => "node says",
        }
    }
}

pub fn lines(f: &Facts) -> Vec<EvidenceLine> {
    let mut out = Vec::new();
    let mut push = |topic, ok: bool, text: String| {
        out.push(EvidenceLine {
            topic,
            text,
            supporting: topic == Topic::NodeMessage,
            ok,
        })
    };
    let auth_refused = f.probes.iter().any(|p| {
        matches!(
            p.outcome,
            ProbeOutcome::Unauthorized { .. } | ProbeOutcome::Forbidden { .. }
        )
    });
    let kind = if f.init {
        "init container"
    } else {
        "container"
    };
    match &f.reference {
        Ok(r) => push(
            Topic::Image,
            true,
            format!(
                "{kind} {:?} wants {:?}: registry {}, repository {}, {}",
                f.container,
                f.image,
                r.registry(),
                r.repository(),
                match (r.tag(), r.digest()) {
                    (_, Some(d)) => format!("digest {d}"),
                    (Some(t), None) => format!("tag {t}"),
                    (None, None) => "no tag (means latest)".to_owned(),
                }
            ),
        ),
        Err(e) => push(
            Topic::Image,
            false,
            format!("{kind} {:?} wants {:?}: {e}", f.container, f.image),
        ),
    }

    if f.pull_secrets.is_empty() {
        let needed = if f.node_identity.is_some() {
            " (none is needed: the node pulls with its own identity)"
        } else {
            ""
        };
        push(
            Topic::PullSecret,
            !auth_refused || f.node_identity.is_some(),
            format!(
                "the pod has no imagePullSecrets, nor has its service account {:?}{needed}",
                f.service_account
            ),
        );
    }
    for s in &f.pull_secrets {
        let on = match (s.on_pod, s.on_service_account) {
            (true, true) => "on the pod and its service account".to_owned(),
            (true, false) => "on the pod".to_owned(),
            (false, _) => format!(
                "on service account {:?} only (not on this pod: the node does not use it)",
                f.service_account
            ),
        };
        let what = match &s.state {
            SecretState::Missing => "does not exist in the namespace".to_owned(),
            SecretState::WrongType { type_, detail } => {
                format!("has type {type_:?}, ignored by the node ({detail})")
            }
            SecretState::Malformed { reason, .. } => format!("is malformed: {reason}"),
            SecretState::Unreadable { reason } => format!("could not be read: {reason}"),
            SecretState::Usable { entries } if entries.is_empty() => {
                "has no registry entries".to_owned()
            }
            SecretState::Usable { entries } => {
                let shown: Vec<String> = entries
                    .iter()
                    .map(|e| {
                        let user = match (&e.username, e.has_password) {
                            (Some(u), true) if !u.is_empty() => format!("user {u}"),
                            (Some(u), false) if !u.is_empty() => format!("user {u}, no password"),
                            (_, true) => "password, no user".to_owned(),
                            _ => "no credentials".to_owned(),
                        };
                        let exp = match e.expires {
                            Some(t) if t <= f.observed_at => {
                                format!(", expired {} ago", ago(t, f.observed_at))
                            }
                            Some(t) => format!(", expires {t}"),
                            None => String::new(),
                        };
                        let m = match (&e.ignored, e.matches_image) {
                            (Some(why), _) => why.as_str(),
                            (None, true) => "matches the image",
                            (None, false) => "other registry",
                        };
                        format!("{:?} ({user}{exp}): {m}", e.key)
                    })
                    .collect();
                format!("has {}", shown.join("; "))
            }
        };
        let ok = matches!(s.state, SecretState::Usable { .. })
            && (s.on_pod || !s.has_match())
            && (s.has_match() || !auth_refused);
        push(Topic::PullSecret, ok, format!("{:?} {on} {what}", s.name));
    }
    for s in &f.unattached_matching_secrets {
        push(
            Topic::PullSecret,
            false,
            format!(
                "{s:?} in namespace {:?} has credentials for this registry but is attached to neither the pod nor its service account",
                f.namespace
            ),
        );
    }

    for p in &f.probes {
        let who = match &p.credential {
            CredentialUsed::Anonymous if f.node_identity.is_some() => {
                "from this machine, anonymously (the node's own identity cannot be used from here)"
                    .to_owned()
            }
            CredentialUsed::Anonymous => "anonymously (no credentials match)".to_owned(),
            CredentialUsed::Secret {
                secret,
                key,
                username,
            } => format!(
                "as {} (secret {secret:?}, key {key:?})",
                username
                    .as_deref()
                    .filter(|u| !u.is_empty())
                    .unwrap_or("(no user)")
            ),
        };
        let said = probe_line(&p.outcome);
        push(
            Topic::Registry,
            p.outcome.is_ok(),
            format!("asked {who}: {said}"),
        );
    }

    match &f.tags {
        Some(TagListing::Listed { tags }) if tags.is_empty() => {
            push(Topic::Tags, false, "the repository has no tags".to_owned())
        }
        Some(TagListing::Listed { tags }) => push(
            Topic::Tags,
            true,
            format!("the repository has {} tags", tags.len()),
        ),
        Some(TagListing::RepositoryUnknown) => push(
            Topic::Tags,
            false,
            "listing the tags says the repository does not exist".to_owned(),
        ),
        Some(TagListing::Failed { reason }) => push(
            Topic::Tags,
            false,
            format!("the tags could not be listed: {reason}"),
        ),
        None => {}
    }
    for (topic, ok, text) in super::kubelet_identity::evidence(f) {
        push(topic, ok, text);
    }
    for gap in &f.gaps {
        push(Topic::Gap, false, gap.clone());
    }
    if let Some(n) = &f.node {
        push(
            Topic::Node,
            true,
            format!("pod runs on node {} ({}/{})", n.name, n.os, n.architecture),
        );
    }

    let m = &f.node_messages;
    if let Some(reason) = &m.reason {
        let msg = m.message.as_deref().unwrap_or("");
        push(
            Topic::NodeMessage,
            false,
            format!("{reason}: {msg}")
                .trim_end_matches([':', ' '])
                .to_owned(),
        );
    }
    for e in &m.events {
        let count = if e.count > 1 {
            format!(" (×{})", e.count)
        } else {
            String::new()
        };
        let when = e
            .last_seen
            .map(|t| format!(", {} ago", ago(t, f.observed_at)))
            .unwrap_or_default();
        push(
            Topic::NodeMessage,
            !e.warning,
            format!("{}{count}{when}: {}", e.reason, e.message),
        );
    }
    out
}

pub(super) fn probe_line(o: &ProbeOutcome) -> String {
    let with = |head: &str, errors: &[ApiError], detail: &str| {
        let said: Vec<String> = errors
            .iter()
            .map(|e| format!("{} {}", e.code, e.message).trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let said = if said.is_empty() {
            detail.to_owned()
        } else {
            said.join("; ")
        };
        if said.is_empty() {
            head.to_owned()
        } else {
            format!("{head}: {said}")
        }
    };
    let stage = |s: &AuthStage| match s {
        AuthStage::TokenEndpoint => " at the token endpoint",
        AuthStage::Exchange => " at the Entra exchange",
        AuthStage::Registry => "",
    };
    match o {
        ProbeOutcome::Ok {
            media_type,
            digest,
            platforms,
            ..
        } => {
            let mut s = format!("manifest found: {digest} ({media_type})");
            if !platforms.is_empty() {
                let p: Vec<String> = platforms.iter().map(ToString::to_string).collect();
                s.push_str(&format!(", platforms {}", p.join(", ")));
            }
            s
        }
        ProbeOutcome::Dns { message } => format!("the name does not resolve: {message}"),
        ProbeOutcome::Connect { message } => format!("the connection fails: {message}"),
        ProbeOutcome::Tls { message } => format!("the TLS handshake fails: {message}"),
        ProbeOutcome::Timeout { message } => format!("no answer in time: {message}"),
        ProbeOutcome::Unauthorized {
            stage: st,
            status,
            errors,
            detail,
        } => with(
            &format!("{status} Unauthorized{}", stage(st)),
            errors,
            detail,
        ),
        ProbeOutcome::Forbidden {
            stage: st,
            errors,
            detail,
        } => with(&format!("403 Forbidden{}", stage(st)), errors, detail),
        ProbeOutcome::RepositoryUnknown { errors, detail } => {
            with("404 repository unknown", errors, detail)
        }
        ProbeOutcome::ManifestUnknown { errors, detail } => {
            with("404 manifest unknown", errors, detail)
        }
        ProbeOutcome::NotFound { detail } => with("404", &[], detail),
        ProbeOutcome::RateLimited {
            retry_after_secs,
            detail,
        } => with(
            &match retry_after_secs {
                Some(s) => format!("429 Too Many Requests (Retry-After {s} s)"),
                None => "429 Too Many Requests".to_owned(),
            },
            &[],
            detail,
        ),
        ProbeOutcome::ServerError { status, detail } => with(&status.to_string(), &[], detail),
        ProbeOutcome::CredentialUnavailable { message } => {
            format!("the probe could not be set up: {message}")
        }
        ProbeOutcome::InvalidResponse { message } => format!("an invalid answer: {message}"),
        ProbeOutcome::Unexpected { status, detail } => with(
            &status.map_or("no status".to_owned(), |s| s.to_string()),
            &[],
            detail,
        ),
    }
}
