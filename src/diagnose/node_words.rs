//! The node's own account of a failed pull, read from kubelet's `Failed to pull image` event.
//!
//! kubelet tries every credential its keyring returns for the image (the pod's secrets, then
//! its credential provider's entries) and, when all fail, reports them together through
//! `utilerrors.NewAggregate`: `Failed to pull image "X": [E1, E2]` (one error: no brackets). Each
//! error is containerd's, through the CRI: `rpc error: code = Unknown desc = failed to pull and
//! unpack image "X": failed to resolve reference "X": CAUSE`. CAUSE differs by containerd version:
//!
//! - 1.6.20 (Debian bookworm's, the local node): `failed to authorize: failed to fetch oauth token:
//!   unexpected status: 401 Unauthorized` (credentials sent: POST /oauth2/token) or `... anonymous
//!   token: unexpected status: 401 Unauthorized` (none: GET /oauth2/token); a refused manifest
//!   request `pulling from host H failed with status code [manifests T]: 403 Forbidden`.
//! - 1.6.25+ and 1.7 (`remotes/errors.ErrUnexpectedStatus`): `unexpected status from GET request
//!   to https://R/oauth2/token?scope=…&service=R: 401 Unauthorized`, the same with `POST` for the
//!   oauth form, and `unexpected status from HEAD request to https://R/v2/…/manifests/T: 403
//!   Forbidden` for the manifest.
//! - Both: a missing tag or repository ends in `…: not found`.
//!
//! Pure: the parsed form is what [`super::classify`] reasons with when the node's credentials
//! cannot be reproduced from here (the kubelet identity), and evidence otherwise.

use serde::Serialize;

/// One `Failed to pull image` message, split into the attempts kubelet made, in its order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodePull {
    pub image: String,
    pub attempts: Vec<NodeAttempt>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeAttempt {
    pub failure: NodeFailure,
    /// containerd's own words for this attempt (after the CRI's `rpc error: … desc =`).
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeFailure {
    /// The registry's token endpoint refused: with the credentials the node sent
    /// (`oauth`), or without any (`anonymous`).
    TokenRefused {
        with_credentials: bool,
        status: u16,
        #[serde(skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    /// A token was had, and the registry refused the manifest request itself.
    ManifestRefused { status: u16 },
    /// The tag, digest or repository does not exist.
    NotFound,
    /// The node could not reach the registry (DNS, connect, TLS, timeout).
    Unreachable { detail: String },
    /// Any other failure; its text is in [`NodeAttempt::text`].
    Other,
}

impl NodePull {
    /// The attempts made with credentials the node had (a secret's, or its provider's).
    pub fn with_credentials(&self) -> impl Iterator<Item = &NodeAttempt> {
        self.attempts.iter().filter(|a| {
            matches!(
                a.failure,
                NodeFailure::TokenRefused {
                    with_credentials: true,
                    ..
                }
            )
        })
    }

    pub fn any(&self, f: impl Fn(&NodeFailure) -> bool) -> bool {
        self.attempts.iter().any(|a| f(&a.failure))
    }

    /// The HTTP status every refusal in this message carries, when they agree (403 for a
    /// firewall on every attempt, 401 for a missing role).
    pub fn refusal_status(&self) -> Option<u16> {
        let mut statuses = self.attempts.iter().map(|a| match a.failure {
            NodeFailure::TokenRefused { status, .. } | NodeFailure::ManifestRefused { status } => {
                Some(status)
            }
            _ => None,
        });
        let first = statuses.next()??;
        statuses.all(|s| s == Some(first)).then_some(first)
    }
}

const PREFIX: &str = "Failed to pull image \"";
const RPC: &str = "rpc error: ";

/// Reads one kubelet event message; `None` when it is not a `Failed to pull image` message.
pub fn parse(message: &str) -> Option<NodePull> {
    let rest = message.strip_prefix(PREFIX)?;
    let (image, errors) = rest.split_once("\": ")?;
    let parts: Vec<&str> = match errors.strip_prefix('[').and_then(|e| e.strip_suffix(']')) {
        // The aggregate joins with ", "; every element is a CRI error starting "rpc error: ".
        Some(inner) if inner.starts_with(RPC) => split_aggregate(inner),
        _ => vec![errors],
    };
    let attempts = parts
        .into_iter()
        .map(|p| {
            let text = strip_cri(p).to_owned();
            NodeAttempt {
                failure: failure_of(&text),
                text,
            }
        })
        .collect();
    Some(NodePull {
        image: image.to_owned(),
        attempts,
    })
}

fn split_aggregate(inner: &str) -> Vec<&str> {
    let sep = format!(", {RPC}");
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(i) = inner[start..].find(&sep) {
        out.push(&inner[start..start + i]);
        start += i + 2;
    }
    out.push(&inner[start..]);
    out
}

/// `rpc error: code = Unknown desc = X` → `X`.
fn strip_cri(s: &str) -> &str {
    match s.strip_prefix(RPC) {
        Some(rest) => rest.split_once(" desc = ").map_or(rest, |(_, d)| d),
        None => s,
    }
}

fn failure_of(text: &str) -> NodeFailure {
    let oauth = text.contains("failed to fetch oauth token");
    let anonymous = text.contains("failed to fetch anonymous token");
    if oauth || anonymous {
        if let Some((status, url)) = unexpected_status(text) {
            return NodeFailure::TokenRefused {
                with_credentials: oauth,
                status,
                url,
            };
        }
        return NodeFailure::Other;
    }
    if let Some(i) = text.find("failed with status code [manifests ") {
        if let Some(status) = text[i..]
            .rsplit_once("]: ")
            .and_then(|(_, s)| status_code(s))
        {
            return NodeFailure::ManifestRefused { status };
        }
    }
    if let Some((status, Some(url))) = unexpected_status(text)
        && url.contains("/manifests/")
    {
        return NodeFailure::ManifestRefused { status };
    }
    if text.ends_with(": not found") {
        return NodeFailure::NotFound;
    }
    const NETWORK: [&str; 7] = [
        "dial tcp",
        "no such host",
        "connection refused",
        "i/o timeout",
        "x509: ",
        "tls: ",
        "context deadline exceeded",
    ];
    if NETWORK.iter().any(|n| text.contains(n)) {
        let detail = text
            .rsplit_once("failed to resolve reference ")
            .and_then(|(_, r)| r.split_once("\": "))
            .map_or(text, |(_, d)| d);
        return NodeFailure::Unreachable {
            detail: detail.to_owned(),
        };
    }
    NodeFailure::Other
}

/// `unexpected status: 401 Unauthorized` (1.6.20) or `unexpected status from GET request to
/// URL: 401 Unauthorized` (1.6.25+, 1.7) → the status and, in the second form, the URL.
fn unexpected_status(text: &str) -> Option<(u16, Option<String>)> {
    if let Some(i) = text.find("unexpected status from ") {
        let rest = &text[i + "unexpected status from ".len()..];
        let (_method, rest) = rest.split_once(" request to ")?;
        // The URL has colons of its own (`https:`); the status follows the last ": ".
        let (url, status) = rest.rsplit_once(": ")?;
        return Some((status_code(status)?, Some(url.to_owned())));
    }
    let i = text.find("unexpected status: ")?;
    Some((status_code(&text[i + "unexpected status: ".len()..])?, None))
}

/// `401 Unauthorized` → 401.
fn status_code(s: &str) -> Option<u16> {
    s.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMG: &str = "reg.example:443/aks/web:1.0.3";

    fn containerd(cause: &str) -> String {
        format!(
            "rpc error: code = Unknown desc = failed to pull and unpack image \"{IMG}\": failed to resolve reference \"{IMG}\": {cause}"
        )
    }

    fn failures(msg: &str) -> Vec<NodeFailure> {
        parse(msg)
            .expect("a pull failure")
            .attempts
            .into_iter()
            .map(|a| a.failure)
            .collect()
    }

    /// The exact message the local node (kubelet 1.20, containerd 1.6.20) gives when the
    /// kubelet identity has no AcrPull: the provider's credential, then its anonymous entry.
    #[test]
    fn the_aggregate_of_a_refused_kubelet_identity_on_containerd_1_6_20() {
        let msg = format!(
            "Failed to pull image \"{IMG}\": [{}, {}]",
            containerd(
                "failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized"
            ),
            containerd(
                "failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized"
            ),
        );
        let p = parse(&msg).unwrap();
        assert_eq!(p.image, IMG);
        assert_eq!(
            failures(&msg),
            [
                NodeFailure::TokenRefused {
                    with_credentials: true,
                    status: 401,
                    url: None
                },
                NodeFailure::TokenRefused {
                    with_credentials: false,
                    status: 401,
                    url: None
                },
            ]
        );
        assert_eq!(p.with_credentials().count(), 1);
        assert_eq!(p.refusal_status(), Some(401));
        assert!(
            p.attempts[0]
                .text
                .starts_with("failed to pull and unpack image")
        );
    }

    #[test]
    fn a_single_error_has_no_brackets() {
        let msg = format!(
            "Failed to pull image \"{IMG}\": {}",
            containerd(
                "failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized"
            )
        );
        assert_eq!(
            failures(&msg),
            [NodeFailure::TokenRefused {
                with_credentials: false,
                status: 401,
                url: None
            }]
        );
    }

    #[test]
    fn containerd_1_7_names_the_request() {
        let url = "https://myacr.azurecr.io/oauth2/token?scope=repository%3Aaks%2Fweb%3Apull&service=myacr.azurecr.io";
        let msg = format!(
            "Failed to pull image \"{IMG}\": {}",
            containerd(&format!(
                "failed to authorize: failed to fetch anonymous token: unexpected status from GET request to {url}: 401 Unauthorized"
            ))
        );
        assert_eq!(
            failures(&msg),
            [NodeFailure::TokenRefused {
                with_credentials: false,
                status: 401,
                url: Some(url.to_owned())
            }]
        );
        let oauth = format!(
            "Failed to pull image \"{IMG}\": {}",
            containerd(
                "failed to authorize: failed to fetch oauth token: unexpected status from POST request to https://myacr.azurecr.io/oauth2/token: 403 Forbidden"
            )
        );
        assert_eq!(
            failures(&oauth),
            [NodeFailure::TokenRefused {
                with_credentials: true,
                status: 403,
                url: Some("https://myacr.azurecr.io/oauth2/token".into())
            }]
        );
    }

    #[test]
    fn refused_manifests_in_both_forms() {
        let old = format!(
            "Failed to pull image \"{IMG}\": {}",
            containerd(
                "pulling from host reg.example:443 failed with status code [manifests 1.0.3]: 403 Forbidden"
            )
        );
        assert_eq!(
            failures(&old),
            [NodeFailure::ManifestRefused { status: 403 }]
        );
        let new = format!(
            "Failed to pull image \"{IMG}\": {}",
            containerd(
                "unexpected status from HEAD request to https://reg.example:443/v2/aks/web/manifests/1.0.3: 403 Forbidden"
            )
        );
        assert_eq!(
            failures(&new),
            [NodeFailure::ManifestRefused { status: 403 }]
        );
    }

    #[test]
    fn firewall_403_on_every_attempt_agrees() {
        let msg = format!(
            "Failed to pull image \"{IMG}\": [{}, {}]",
            containerd(
                "failed to authorize: failed to fetch oauth token: unexpected status: 403 Forbidden"
            ),
            containerd(
                "failed to authorize: failed to fetch anonymous token: unexpected status: 403 Forbidden"
            ),
        );
        assert_eq!(parse(&msg).unwrap().refusal_status(), Some(403));
        // Disagreeing statuses: no single one.
        let mixed = format!(
            "Failed to pull image \"{IMG}\": [{}, {}]",
            containerd(
                "failed to authorize: failed to fetch oauth token: unexpected status: 403 Forbidden"
            ),
            containerd(
                "failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized"
            ),
        );
        assert_eq!(parse(&mixed).unwrap().refusal_status(), None);
    }

    #[test]
    fn not_found_and_unreachable() {
        let nf = format!(
            "Failed to pull image \"{IMG}\": {}",
            containerd(&format!("{IMG}: not found"))
        );
        assert_eq!(failures(&nf), [NodeFailure::NotFound]);
        let dns = format!(
            "Failed to pull image \"{IMG}\": {}",
            containerd(
                "failed to do request: Head \"https://nope.example/v2/web/manifests/1\": dial tcp: lookup nope.example: no such host"
            )
        );
        match &failures(&dns)[..] {
            [NodeFailure::Unreachable { detail }] => {
                assert!(detail.starts_with("failed to do request"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_messages_are_not_pull_failures() {
        assert_eq!(parse("Back-off pulling image \"x\""), None);
        assert_eq!(parse("Error: ErrImagePull"), None);
        let odd = format!("Failed to pull image \"{IMG}\": something else entirely");
        assert_eq!(failures(&odd), [NodeFailure::Other]);
        // Brackets that are not an aggregate of CRI errors stay one attempt.
        let bracketed = format!("Failed to pull image \"{IMG}\": [not an rpc error]");
        assert_eq!(failures(&bracketed).len(), 1);
    }
}
