//! Facts → the lines a person reads under the headline: what was found, then what the node said.

use serde::Serialize;

use super::cause::ago;
use super::facts::{CredentialUsed, Facts, NetStage, ProbeOutcome, SecretState};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EvidenceLine {
    pub topic: Topic,
    pub text: String,
    /// The node's own messages: shown, never the basis of the diagnosis.
    pub supporting: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Image,
    PullSecret,
    Registry,
    Tags,
    Node,
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
            Topic::NodeMessage => "node says",
        }
    }
}

pub fn lines(f: &Facts) -> Vec<EvidenceLine> {
    let mut out = Vec::new();
    let mut push = |topic, text: String| {
        out.push(EvidenceLine {
            topic,
            text,
            supporting: topic == Topic::NodeMessage,
        })
    };
    let kind = if f.init {
        "init container"
    } else {
        "container"
    };
    match &f.reference {
        Ok(r) => push(
            Topic::Image,
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
            format!("{kind} {:?} wants {:?}: {e}", f.container, f.image),
        ),
    }

    if f.pull_secrets.is_empty() {
        push(
            Topic::PullSecret,
            format!(
                "the pod has no imagePullSecrets, nor has its service account {:?}",
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
                        let m = if e.matches_image {
                            "matches the image"
                        } else {
                            "other registry"
                        };
                        format!("{:?} ({user}{exp}): {m}", e.key)
                    })
                    .collect();
                format!("has {}", shown.join("; "))
            }
        };
        push(Topic::PullSecret, format!("{:?} {on} {what}", s.name));
    }
    for s in &f.unattached_matching_secrets {
        push(
            Topic::PullSecret,
            format!(
                "{s:?} in namespace {:?} has credentials for this registry but is attached to neither the pod nor its service account",
                f.namespace
            ),
        );
    }

    for p in &f.probes {
        let who = match &p.credential {
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
        let said = match &p.outcome {
            ProbeOutcome::Unreachable { stage, detail } => format!(
                "{}: {detail}",
                match stage {
                    NetStage::Resolve => "name does not resolve",
                    NetStage::Connect => "connection fails",
                    NetStage::Tls => "TLS handshake fails",
                    NetStage::Timeout => "timed out",
                    NetStage::Other => "cannot connect",
                }
            ),
            ProbeOutcome::Unauthorized { error } => status("401 Unauthorized", error),
            ProbeOutcome::Denied { error } => status("403 Forbidden", error),
            ProbeOutcome::RepositoryUnknown { error } => status("404 repository unknown", error),
            ProbeOutcome::ManifestUnknown { error } => status("404 manifest unknown", error),
            ProbeOutcome::RateLimited {
                retry_after_secs,
                error,
            } => status(
                &match retry_after_secs {
                    Some(s) => format!("429 Too Many Requests (Retry-After {s} s)"),
                    None => "429 Too Many Requests".to_owned(),
                },
                error,
            ),
            ProbeOutcome::ServerError {
                status: code,
                error,
            }
            | ProbeOutcome::Unexpected {
                status: code,
                error,
            } => status(&code.to_string(), error),
            ProbeOutcome::Found {
                digest,
                media_type,
                platforms,
            } => {
                let mut s = format!(
                    "manifest found: {}",
                    digest.as_deref().unwrap_or("(no digest header)")
                );
                if let Some(m) = media_type {
                    s.push_str(&format!(" ({m})"));
                }
                if !platforms.is_empty() {
                    let p: Vec<String> = platforms.iter().map(ToString::to_string).collect();
                    s.push_str(&format!(", platforms {}", p.join(", ")));
                }
                s
            }
        };
        push(Topic::Registry, format!("asked {who}: {said}"));
    }

    match &f.tags {
        Some(Ok(t)) if t.is_empty() => push(Topic::Tags, "the repository has no tags".to_owned()),
        Some(Ok(t)) => push(Topic::Tags, format!("the repository has {} tags", t.len())),
        Some(Err(e)) => push(Topic::Tags, format!("tags could not be listed: {e}")),
        None => {}
    }
    if let Some(n) = &f.node {
        push(
            Topic::Node,
            format!("pod runs on node {} ({}/{})", n.name, n.os, n.architecture),
        );
    }

    let m = &f.node_messages;
    if let Some(reason) = &m.reason {
        let msg = m.message.as_deref().unwrap_or("");
        push(
            Topic::NodeMessage,
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
            format!("{}{count}{when}: {}", e.reason, e.message),
        );
    }
    out
}

fn status(head: &str, error: &super::facts::RegistryError) -> String {
    match error.describe() {
        Some(d) => format!("{head}: {d}"),
        None => head.to_owned(),
    }
}
