//! What is wrong, as one value, and the one line that says it.

use jiff::Timestamp;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cause {
    ReferenceInvalid {
        image: String,
        reason: String,
    },
    /// The registry host cannot be reached: DNS, refused, TLS, or timeout.
    HostUnreachable {
        host: String,
        stage: NetStage,
        detail: String,
    },
    /// The registry wants credentials and the node has none for this host.
    NoSecretForHost {
        host: String,
        why: NoSecretWhy,
    },
    /// The pod names a pull secret that does not exist in its namespace.
    SecretMissing {
        secret: String,
        namespace: String,
    },
    /// A pull secret the node cannot use: wrong type (ignored), or malformed (kubelet then fails
    /// every pull of the pod).
    SecretUnusable {
        secret: String,
        problem: SecretProblem,
    },
    /// 401 with the pod's own credentials.
    CredentialsRejected {
        host: String,
        secret: String,
        username: Option<String>,
        verdict: Verdict,
        registry_says: Option<String>,
    },
    /// 403: the credentials are good but may not pull this repository.
    Denied {
        host: String,
        repository: String,
        secret: Option<String>,
        username: Option<String>,
        registry_says: Option<String>,
    },
    RepositoryMissing {
        host: String,
        repository: String,
    },
    /// The tag or digest is not in the repository.
    ManifestMissing {
        host: String,
        repository: String,
        reference: String,
        /// Closest existing tags, newest first.
        closest: Vec<String>,
    },
    PlatformMissing {
        image: String,
        node: String,
        node_platform: String,
        available: Vec<String>,
    },
    RateLimited {
        host: String,
        retry_after_secs: Option<u64>,
    },
    /// 5xx, or an answer that makes no sense.
    RegistryError {
        host: String,
        status: Option<u16>,
        registry_says: Option<String>,
    },
    /// `imagePullPolicy: Never` and the image is not on the node.
    NeverPull {
        image: String,
    },
    /// The pull has run long and the registry answers the manifest fine: the layers are slow.
    SlowPull {
        since: Option<Timestamp>,
    },
    /// The registry serves the image to the pod's credentials now: the failure was transient.
    Transient {
        last_failure: Option<Timestamp>,
    },
    /// The node pulls with its kubelet identity (AKS), and the registry refuses that identity
    /// a pull token (401 to the credential provider's entry): it has no role that lets it pull.
    KubeletIdentityCannotPull {
        host: String,
        identity: Option<String>,
        object_id: Option<String>,
        registry_id: Option<String>,
        /// The role that lets it pull from this registry (AcrPull; Container Registry
        /// Repository Reader in ABAC mode, which does not honour AcrPull).
        role: String,
        abac: bool,
        /// ARM shows no assignment of a pull role covering the registry (else: the node's
        /// words alone).
        confirmed: bool,
    },
    /// The node's credential provider gave no credentials (the node pulled anonymously and was
    /// refused): the kubelet identity is not on the node pool's scale set, so IMDS answers
    /// "Identity not found".
    KubeletIdentityNotOnNodePool {
        host: String,
        identity: Option<String>,
        resource_id: Option<String>,
        vmss: Option<String>,
        /// ARM shows the scale set without the identity (else: the node's words alone).
        confirmed: bool,
    },
    /// The registry's network rules turn the node away (403 on every attempt).
    FirewallBlocksNode {
        host: String,
        registry_id: Option<String>,
        /// The cluster's egress addresses the rules do not admit.
        blocked_ips: Vec<String>,
        ip_rules: Vec<String>,
        /// Public network access is off and the registry has no private endpoint.
        public_access_disabled: bool,
        confirmed: bool,
    },
    /// No probe could be made; only the node's word is left.
    Undetermined {
        reason: String,
    },
}

/// Where reaching the registry failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NetStage {
    Resolve,
    Connect,
    Tls,
    Timeout,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoSecretWhy {
    /// Neither the pod nor its service account has any pull secret.
    NoneAttached,
    /// The pod's secrets are all for other registries (their keys listed).
    OtherHosts {
        secrets: Vec<String>,
        keys: Vec<String>,
    },
    /// A secret for the host is on the service account but not on the pod: it was attached
    /// after the pod was created (only new pods get it).
    ServiceAccountOnly {
        service_account: String,
        secrets: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SecretProblem {
    WrongType {
        type_: String,
        detail: String,
    },
    Malformed {
        reason: String,
    },
    /// The entry for the host has no username and no password.
    EmptyEntry {
        key: String,
    },
}

/// Why the registry refused the credentials, when it or the secret tells.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Verdict {
    Expired {
        at: Option<Timestamp>,
    },
    Disabled,
    /// Nothing tells them apart: a wrong password, or one regenerated since the secret was
    /// written.
    WrongOrRotated,
}

impl Cause {
    /// A stable machine name for scripts (`--json`'s `cause.kind` is the same).
    pub fn kind(&self) -> &'static str {
        match self {
            Cause::ReferenceInvalid { .. } => "reference_invalid",
            Cause::HostUnreachable { .. } => "host_unreachable",
            Cause::NoSecretForHost { .. } => "no_secret_for_host",
            Cause::SecretMissing { .. } => "secret_missing",
            Cause::SecretUnusable { .. } => "secret_unusable",
            Cause::CredentialsRejected { .. } => "credentials_rejected",
            Cause::Denied { .. } => "denied",
            Cause::RepositoryMissing { .. } => "repository_missing",
            Cause::ManifestMissing { .. } => "manifest_missing",
            Cause::PlatformMissing { .. } => "platform_missing",
            Cause::RateLimited { .. } => "rate_limited",
            Cause::RegistryError { .. } => "registry_error",
            Cause::NeverPull { .. } => "never_pull",
            Cause::SlowPull { .. } => "slow_pull",
            Cause::Transient { .. } => "transient",
            Cause::KubeletIdentityCannotPull { .. } => "kubelet_identity_cannot_pull",
            Cause::KubeletIdentityNotOnNodePool { .. } => "kubelet_identity_not_on_node_pool",
            Cause::FirewallBlocksNode { .. } => "firewall_blocks_node",
            Cause::Undetermined { .. } => "undetermined",
        }
    }

    /// The one line a user who reads nothing else needs.
    pub fn headline(&self, now: Timestamp) -> String {
        match self {
            Cause::ReferenceInvalid { image, reason } => {
                format!("image {image:?} is not a valid image reference: {reason}")
            }
            Cause::HostUnreachable {
                host,
                stage,
                detail,
            } => match stage {
                NetStage::Resolve => format!(
                    "registry host {host} does not resolve (DNS): the name is wrong or not published ({detail})"
                ),
                NetStage::Connect => format!(
                    "registry {host} refuses connections: nothing listens there, or a firewall rejects it ({detail})"
                ),
                NetStage::Tls => format!(
                    "TLS with registry {host} fails: its certificate is not trusted or does not match ({detail})"
                ),
                NetStage::Timeout => {
                    format!("registry {host} does not answer in time ({detail})")
                }
            },
            Cause::NoSecretForHost { host, why } => match why {
                NoSecretWhy::NoneAttached => format!(
                    "no pull secret for registry {host}: the pod has none, and {host} refuses anonymous pulls"
                ),
                NoSecretWhy::OtherHosts { secrets, keys } => format!(
                    "no pull secret for registry {host}: the pod's secrets ({}) are for {}, and {host} refuses anonymous pulls",
                    secrets.join(", "),
                    keys.join(", ")
                ),
                NoSecretWhy::ServiceAccountOnly {
                    service_account,
                    secrets,
                } => format!(
                    "pull secret {} for {host} is on service account {service_account:?} but not on this pod: \
                     it was attached after the pod was created, and only new pods get it",
                    quoted(secrets)
                ),
            },
            Cause::SecretMissing { secret, namespace } => format!(
                "pull secret {secret:?} is named by the pod but does not exist in namespace {namespace:?}"
            ),
            Cause::SecretUnusable { secret, problem } => match problem {
                SecretProblem::WrongType { type_, detail } => format!(
                    "pull secret {secret:?} has type {type_:?}, which the node ignores ({detail})"
                ),
                SecretProblem::Malformed { reason } => format!(
                    "pull secret {secret:?} is malformed ({reason}): the node cannot read it and fails every pull of this pod"
                ),
                SecretProblem::EmptyEntry { key } => format!(
                    "pull secret {secret:?} has an entry for {key:?} with no username or password"
                ),
            },
            Cause::CredentialsRejected {
                host,
                secret,
                username,
                verdict,
                ..
            } => {
                let who = match username {
                    Some(u) if !u.is_empty() => format!("user {u:?} of pull secret {secret:?}"),
                    _ => format!("the credentials of pull secret {secret:?}"),
                };
                let why = match verdict {
                    Verdict::Expired { at: Some(at) } => {
                        format!("they expired {} ago", ago(*at, now))
                    }
                    Verdict::Expired { at: None } => "they have expired".to_owned(),
                    Verdict::Disabled => "they are disabled".to_owned(),
                    Verdict::WrongOrRotated => {
                        "the password is wrong or was rotated away".to_owned()
                    }
                };
                format!("registry {host} rejects {who} (401): {why}")
            }
            Cause::Denied {
                host,
                repository,
                secret,
                username,
                ..
            } => {
                let who = match (username, secret) {
                    (Some(u), Some(s)) if !u.is_empty() => {
                        format!("user {u:?} (pull secret {s:?})")
                    }
                    (_, Some(s)) => format!("pull secret {s:?}"),
                    _ => "an anonymous client".to_owned(),
                };
                format!(
                    "{who} may not pull repository {repository:?} from {host}: signed in, but denied (403)"
                )
            }
            Cause::RepositoryMissing { host, repository } => {
                format!("repository {repository:?} does not exist on registry {host}")
            }
            Cause::ManifestMissing {
                host,
                repository,
                reference,
                closest,
            } => {
                let what = if reference.contains(':') {
                    format!("digest {reference}")
                } else {
                    format!("tag {reference:?}")
                };
                let mut s = format!("{what} does not exist in {host}/{repository}");
                if !closest.is_empty() {
                    s.push_str(&format!("; closest existing: {}", closest.join(", ")));
                }
                s
            }
            Cause::PlatformMissing {
                image,
                node,
                node_platform,
                available,
            } => format!(
                "{image} has no image for node {node}'s platform {node_platform} (only {})",
                available.join(", ")
            ),
            Cause::RateLimited {
                host,
                retry_after_secs,
            } => match retry_after_secs {
                Some(s) => format!(
                    "registry {host} is rate-limiting pulls (429); it asks to retry after {s} s"
                ),
                None => format!("registry {host} is rate-limiting pulls (429)"),
            },
            Cause::RegistryError {
                host,
                status,
                registry_says,
            } => format!(
                "registry {host} fails with {}{}: a fault on the registry's side",
                status.map_or("an invalid answer".to_owned(), |s| s.to_string()),
                registry_says
                    .as_deref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ),
            Cause::NeverPull { image } => format!(
                "{image} is not on the node and imagePullPolicy is Never, so the node will not pull it"
            ),
            Cause::SlowPull { since } => format!(
                "the pull is slow, not failing: it has run for {} and the registry serves the manifest fine \
                 (large layers or a slow link between the node and the registry)",
                since.map_or("a while".to_owned(), |t| ago(t, now))
            ),
            Cause::Transient { last_failure } => {
                let when = last_failure
                    .map(|t| format!("; the node last failed {} ago", ago(t, now)))
                    .unwrap_or_default();
                format!(
                    "the registry serves this image to the pod's credentials now: the failure was transient{when}"
                )
            }
            Cause::KubeletIdentityCannotPull {
                host,
                identity,
                confirmed,
                role,
                abac,
                ..
            } => {
                let mode = if *abac {
                    " (the registry is in ABAC mode, where AcrPull is not honoured)"
                } else {
                    ""
                };
                let who = identity
                    .as_deref()
                    .map_or("the kubelet identity".to_owned(), |c| {
                        format!("the kubelet identity (client id {c})")
                    });
                if *confirmed {
                    format!(
                        "{who} lacks {role} on registry {host}{mode}: ACR refuses its pull token (401, the node's words) \
                         and ARM shows no role assignment that lets it pull"
                    )
                } else {
                    format!(
                        "registry {host} refuses {who} a pull token (401, the node's words): most likely it lacks \
                         {role} on the registry{mode} (its role assignments could not be read)"
                    )
                }
            }
            Cause::KubeletIdentityNotOnNodePool {
                host,
                identity,
                vmss,
                confirmed,
                ..
            } => {
                let who = identity
                    .as_deref()
                    .map_or("the kubelet identity".to_owned(), |c| {
                        format!("the kubelet identity (client id {c})")
                    });
                let pool = vmss
                    .as_deref()
                    .map_or("the node pool's scale set".to_owned(), |v| {
                        format!("node pool scale set {v}")
                    });
                if *confirmed {
                    format!(
                        "{who} is not on {pool}: IMDS cannot give the node its token (Identity not found), \
                         so the node pulls anonymously and {host} refuses (401)"
                    )
                } else {
                    format!(
                        "the node's credential provider gave no credentials for {host}: the node pulled anonymously \
                         and was refused (401); most often {who} is not on {pool} (IMDS: Identity not found)"
                    )
                }
            }
            Cause::FirewallBlocksNode {
                host,
                blocked_ips,
                public_access_disabled,
                confirmed,
                ..
            } => {
                if *public_access_disabled {
                    format!(
                        "registry {host} has public network access disabled and no private endpoint: it refuses \
                         the node (403, the node's words)"
                    )
                } else if *confirmed {
                    format!(
                        "registry {host}'s firewall refuses the node: egress IP {} is not in its network rules \
                         (403 on every attempt, the node's words)",
                        blocked_ips.join(", ")
                    )
                } else {
                    format!(
                        "registry {host} refuses the node with 403 on every attempt (the node's words): most often \
                         its network rules exclude the node's egress IP (the rules could not be read)"
                    )
                }
            }
            Cause::Undetermined { reason } => {
                format!(
                    "the registry could not be probed ({reason}); see the node's messages below"
                )
            }
        }
    }
}

fn quoted(v: &[String]) -> String {
    v.iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `3m`, `2h 5m`, `40s`: how long ago, for people.
pub fn ago(t: Timestamp, now: Timestamp) -> String {
    let secs = now.as_second().saturating_sub(t.as_second()).max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}
