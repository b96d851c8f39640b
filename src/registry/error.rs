//! Registry errors: each names the registry and the object, says why, and what to do.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One entry of a registry's `{"errors":[{"code","message","detail"}]}` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ApiErrors {
    #[serde(default)]
    errors: Vec<ApiError>,
}

/// The error entries of a registry error body; empty when the body is not that shape.
pub fn parse_api_errors(body: &[u8]) -> Vec<ApiError> {
    serde_json::from_slice::<ApiErrors>(body)
        .map(|e| e.errors)
        .unwrap_or_default()
}

/// `CODE: message; CODE2: message2`, or a short excerpt of a non-JSON body.
pub fn describe_body(body: &[u8]) -> String {
    let errors = parse_api_errors(body);
    if !errors.is_empty() {
        return errors
            .iter()
            .map(|e| format!("{}: {}", e.code, e.message))
            .collect::<Vec<_>>()
            .join("; ");
    }
    excerpt(body)
}

/// The first 200 characters of a body, on one line.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

/// What kind of network failure, for the diagnosis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkKind {
    Dns,
    Connect,
    Tls,
    Timeout,
    /// The connection broke in the middle of an answer (reset, closed without TLS's
    /// close_notify, unexpected EOF).
    Cut,
    Other,
}

impl NetworkKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Dns => "DNS failure",
            Self::Connect => "connection failure",
            Self::Tls => "TLS failure",
            Self::Timeout => "timeout",
            Self::Cut => "connection broken mid-answer",
            Self::Other => "network failure",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{registry}: {} reaching {object}: {message} ({hint})", kind.describe(), hint = network_hint(*kind))]
    Network {
        registry: String,
        object: String,
        kind: NetworkKind,
        message: String,
    },
    #[error(
        "{registry}: credentials rejected for {object} (401 {detail}): check the credential configured for this registry (a rotated password or an expired token?) and try again"
    )]
    Unauthorized {
        registry: String,
        object: String,
        detail: String,
    },
    #[error(
        "{registry}: access to {object} denied (403 {detail}): the identity is authenticated but lacks the permission; grant it (e.g. AcrPush for retag) or use another credential"
    )]
    Forbidden {
        registry: String,
        object: String,
        detail: String,
    },
    #[error(
        "{registry}: repository {object} does not exist ({detail}): check the name with `berth registry repos`"
    )]
    RepositoryUnknown {
        registry: String,
        object: String,
        detail: String,
    },
    #[error(
        "{registry}: {object} not found ({detail}): check the tag or digest with `berth registry tags`"
    )]
    ManifestUnknown {
        registry: String,
        object: String,
        detail: String,
    },
    #[error("{registry}: {object} not found (404 {detail})")]
    NotFound {
        registry: String,
        object: String,
        detail: String,
    },
    #[error("{registry}: rate limited on {object} (429){}: wait and retry", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        registry: String,
        object: String,
        retry_after: Option<Duration>,
    },
    #[error(
        "{registry}: server error {status} on {object} ({detail}): the registry is failing; retry later"
    )]
    Server {
        registry: String,
        object: String,
        status: u16,
        detail: String,
    },
    #[error("{registry}: unexpected answer {status} on {object} ({detail})")]
    UnexpectedStatus {
        registry: String,
        object: String,
        status: u16,
        detail: String,
    },
    #[error("{registry}: the answer for {object} is not valid: {message}")]
    InvalidResponse {
        registry: String,
        object: String,
        message: String,
    },
    #[error(
        "{registry}: digest mismatch for {object}: expected {expected}, got {actual}; nothing was written (the registry or a proxy altered the content)"
    )]
    DigestMismatch {
        registry: String,
        object: String,
        expected: String,
        actual: String,
    },
    #[error(
        "{registry}: {object} already exists (digest {digest}); nothing was written: pass --force to overwrite it"
    )]
    TargetExists {
        registry: String,
        object: String,
        digest: String,
    },
    #[error(
        "{registry}: {object} is locked ({lock}); nothing was written: unlock it first (berth registry unlock {object}), or pick another tag"
    )]
    TagLocked {
        registry: String,
        object: String,
        /// The attribute that forbids the write (`writeEnabled=false`), or the registry's
        /// refusal (`REGISTRY_DISALLOWED_OPERATION: …`).
        lock: String,
    },
    #[error(
        "{registry}: the token endpoint {realm} refused credentials for {scope} ({status} {detail}): check the credential configured for this registry"
    )]
    Token {
        registry: String,
        realm: String,
        scope: String,
        status: u16,
        detail: String,
    },
    #[error("{registry}: cannot get a credential: {message}")]
    Credential { registry: String, message: String },
    #[error("{registry}: {message}")]
    Config { registry: String, message: String },
    #[error("{registry}: {object}: {message}")]
    Unsupported {
        registry: String,
        object: String,
        message: String,
    },
    #[error("ARM {operation} failed: {message}")]
    Arm { operation: String, message: String },
    /// The audit log refused the intent record (nothing was written), or the result record
    /// of an applied change.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditFailure),
    #[error(transparent)]
    Reference(#[from] crate::reference::ReferenceError),
}

fn network_hint(kind: NetworkKind) -> &'static str {
    match kind {
        NetworkKind::Dns => "check the registry host name and DNS",
        NetworkKind::Connect => "check the host, port, firewall and that the registry is up",
        NetworkKind::Tls => "check the registry's certificate, or set `ca_file` for this registry",
        NetworkKind::Timeout => "the registry did not answer in time; retry later",
        NetworkKind::Cut => {
            "a proxy or the network cut the answer short; retry, and check proxies between here and the registry"
        }
        NetworkKind::Other => "check the network",
    }
}

impl RegistryError {
    /// A short machine-readable kind for `--json` output and exit codes.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Network { .. } => "network",
            Self::Unauthorized { .. } | Self::Token { .. } => "unauthorized",
            Self::Forbidden { .. } => "forbidden",
            Self::RepositoryUnknown { .. } => "repository_unknown",
            Self::ManifestUnknown { .. } | Self::NotFound { .. } => "not_found",
            Self::RateLimited { .. } => "rate_limited",
            Self::Server { .. } => "server_error",
            Self::UnexpectedStatus { .. } => "unexpected_status",
            Self::InvalidResponse { .. } => "invalid_response",
            Self::DigestMismatch { .. } => "digest_mismatch",
            Self::TargetExists { .. } => "target_exists",
            Self::TagLocked { .. } => "tag_locked",
            Self::Credential { .. } => "credential",
            Self::Config { .. } => "config",
            Self::Unsupported { .. } => "unsupported",
            Self::Arm { .. } => "arm",
            Self::Audit(f) => f.code(),
            Self::Reference(_) => "bad_reference",
        }
    }
}

/// Classifies a transport error by walking its source chain (reqwest does not expose DNS vs TLS
/// as types we can match without depending on hyper and rustls directly).
pub fn classify_transport(err: &reqwest::Error) -> (NetworkKind, String) {
    if err.is_timeout() {
        return (NetworkKind::Timeout, chain(err));
    }
    let text = chain(err);
    let lower = text.to_ascii_lowercase();
    // A connection cut short mentions TLS too (`peer closed connection without sending TLS
    // close_notify`): it is not a certificate problem.
    let cut = [
        "close_notify",
        "connection reset",
        "unexpected eof",
        "broken pipe",
        "connection closed before message completed",
        "end of file before message length reached",
    ];
    let kind = if cut.iter().any(|c| lower.contains(c)) {
        NetworkKind::Cut
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
        || lower.contains("no address associated")
    {
        NetworkKind::Dns
    } else if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("unknownissuer")
        || lower.contains("peer sent")
    {
        NetworkKind::Tls
    } else if err.is_connect() || lower.contains("connection refused") {
        NetworkKind::Connect
    } else {
        NetworkKind::Other
    };
    (kind, text)
}

/// `outer: inner: innermost`, without repeating identical messages.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut src = err.source();
    while let Some(e) = src {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        src = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_registry_error_bodies() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest tagged by \"1.1.2\" is not found","detail":{"Tag":"1.1.2"}}]}"#;
        let e = parse_api_errors(body);
        assert_eq!(e[0].code, "MANIFEST_UNKNOWN");
        assert_eq!(
            describe_body(body),
            "MANIFEST_UNKNOWN: manifest tagged by \"1.1.2\" is not found"
        );
        assert_eq!(
            describe_body(b"<html>\n oops </html>"),
            "<html> oops </html>"
        );
        assert!(parse_api_errors(b"garbage").is_empty());
        let long = "x".repeat(500);
        assert!(excerpt(long.as_bytes()).chars().count() <= 201);
    }

    #[test]
    fn messages_name_registry_object_and_action() {
        let e = RegistryError::TargetExists {
            registry: "acr".into(),
            object: "web:prod".into(),
            digest: "sha256:ab".into(),
        };
        let s = e.to_string();
        assert!(
            s.contains("acr") && s.contains("web:prod") && s.contains("--force"),
            "{s}"
        );
        let e = RegistryError::RateLimited {
            registry: "acr".into(),
            object: "web:1".into(),
            retry_after: Some(Duration::from_secs(3)),
        };
        assert!(e.to_string().contains("retry after 3s"));
    }
}
