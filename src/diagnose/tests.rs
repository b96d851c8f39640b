//! The classification table: facts in, cause + headline + fix out.

use jiff::Timestamp;

use super::cause::{Cause, NetStage, NoSecretWhy, SecretProblem, Verdict};
use super::facts::*;
use super::fix::FixAction;
use super::secrets::{self, DockerEntry, SecretInput};
use super::*;
use crate::reference::Reference;
use crate::registry::error::ApiError;
use crate::registry::probe::{AuthStage, ProbeOutcome};
use crate::registry::types::Platform;
use crate::secret::Secret;

const HOST: &str = "berthacr.azurecr.io";

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

/// A failing container of Deployment `web` in namespace `shop`, image `HOST/web:1.0.30`,
/// with the pull secrets given and the registry answering `outcomes` in turn.
struct Case {
    image: String,
    pod_secrets: Vec<(&'static str, SecretInput)>,
    sa_secrets: Vec<(&'static str, SecretInput)>,
    outcomes: Vec<ProbeOutcome>,
    tags: Option<TagListing>,
    reason: &'static str,
    owner: Option<Workload>,
    last_failure: Option<Timestamp>,
    /// kubelet's `Failed to pull image` message, when the case has one.
    node_says: Option<String>,
    node_identity: Option<NodeIdentityFacts>,
    aks_node: Option<crate::azure::aks::AksNode>,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            image: format!("{HOST}/web:1.0.30"),
            pod_secrets: vec![("acr-pull", entries(&[(HOST, "puller")]))],
            sa_secrets: vec![],
            outcomes: vec![],
            tags: None,
            reason: "ImagePullBackOff",
            owner: Some(Workload {
                kind: "Deployment".into(),
                name: "web".into(),
            }),
            last_failure: Some(Timestamp::from_second(1_800_000_000 - 180).unwrap()),
            node_says: None,
            node_identity: None,
            aks_node: None,
        }
    }
}

fn entries(list: &[(&str, &str)]) -> SecretInput {
    SecretInput::Entries(
        list.iter()
            .map(|(k, u)| DockerEntry {
                key: (*k).into(),
                username: Some((*u).into()),
                password: Some(Secret::new("pw")),
            })
            .collect(),
    )
}

fn found(platforms: &[(&str, &str)]) -> ProbeOutcome {
    ProbeOutcome::Ok {
        digest: "sha256:abc".into(),
        media_type: "application/vnd.oci.image.index.v1+json".into(),
        children: vec![],
        platforms: platforms
            .iter()
            .map(|(os, arch)| Platform {
                os: (*os).into(),
                architecture: (*arch).into(),
                variant: None,
            })
            .collect(),
    }
}

fn errs(code: &str, msg: &str) -> Vec<ApiError> {
    vec![ApiError {
        code: code.into(),
        message: msg.into(),
        detail: None,
    }]
}

fn unauthorized(code: &str, msg: &str) -> ProbeOutcome {
    ProbeOutcome::Unauthorized {
        stage: AuthStage::TokenEndpoint,
        status: 401,
        errors: if code.is_empty() {
            vec![]
        } else {
            errs(code, msg)
        },
        detail: "401 Unauthorized".into(),
    }
}

fn forbidden(code: &str, msg: &str) -> ProbeOutcome {
    ProbeOutcome::Forbidden {
        stage: AuthStage::Registry,
        errors: if code.is_empty() {
            vec![]
        } else {
            errs(code, msg)
        },
        detail: "403 Forbidden".into(),
    }
}

fn manifest_unknown() -> ProbeOutcome {
    ProbeOutcome::ManifestUnknown {
        errors: errs("MANIFEST_UNKNOWN", "manifest unknown"),
        detail: String::new(),
    }
}

impl Case {
    fn facts(self) -> Facts {
        let reference = Reference::parse(&self.image).map_err(|e| e.to_string());
        let pod_names: Vec<String> = self
            .pod_secrets
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        let sa_names: Vec<String> = self.sa_secrets.iter().map(|(n, _)| n.to_string()).collect();
        let all: Vec<(&str, SecretInput)> = self
            .pod_secrets
            .into_iter()
            .chain(self.sa_secrets)
            .collect();
        let lookup = |n: &str| {
            all.iter()
                .find(|(m, _)| *m == n)
                .map(|(_, s)| s.clone())
                .unwrap_or(SecretInput::Missing)
        };
        let (pull_secrets, credentials) = match &reference {
            Ok(r) => {
                let e = secrets::evaluate(&pod_names, &sa_names, lookup, r);
                (e.secrets, e.credentials)
            }
            Err(_) => (Vec::new(), Vec::new()),
        };
        // The node's order: each credential in turn, or anonymous when none matches.
        let who: Vec<CredentialUsed> = if credentials.is_empty() {
            vec![CredentialUsed::Anonymous]
        } else {
            credentials.into_iter().map(|c| c.used).collect()
        };
        let probes = if reference.is_err() {
            Vec::new()
        } else {
            who.into_iter()
                .zip(self.outcomes)
                .map(|(credential, outcome)| ProbeFacts {
                    credential,
                    outcome,
                })
                .collect()
        };
        Facts {
            namespace: "shop".into(),
            pod: "web-7d9f-abcde".into(),
            container: "web".into(),
            init: false,
            image: self.image,
            reference,
            service_account: "default".into(),
            pull_secrets,
            unattached_matching_secrets: vec![],
            probes,
            tags: self.tags,
            node: Some(NodeFacts {
                name: "node-1".into(),
                os: "linux".into(),
                architecture: "amd64".into(),
                aks: self.aks_node,
                aks_node_resource_group: None,
            }),
            node_messages: NodeMessages {
                reason: Some(self.reason.into()),
                message: Some("Back-off pulling image".into()),
                events: vec![EventFacts {
                    reason: "Failed".into(),
                    message: "Failed to pull image: not found".into(),
                    warning: true,
                    count: 3,
                    last_seen: self.last_failure,
                }],
                last_failure: self.last_failure,
            },
            node_pull: self.node_says.as_deref().and_then(super::node_words::parse),
            node_identity: self.node_identity,
            owner: self.owner,
            gaps: vec![],
            observed_at: now(),
        }
    }

    fn run(self) -> Diagnosis {
        diagnose(self.facts())
    }
}

mod kubelet_identity;

fn first_commands(d: &Diagnosis) -> Vec<String> {
    d.fixes.first().map(|f| f.commands()).unwrap_or_default()
}

fn web_tags() -> Vec<TagFacts> {
    let mut v: Vec<TagFacts> = (0..30)
        .map(|i| TagFacts {
            name: format!("1.0.{i}"),
            created: Some(Timestamp::from_second(1_700_000_000 + i * 3600).unwrap()),
        })
        .collect();
    v.push(TagFacts {
        name: "latest".into(),
        created: v.last().unwrap().created,
    });
    v
}

#[test]
fn invalid_reference_says_which_part_and_probes_nothing() {
    let d = Case {
        image: format!("{HOST}/Web:1.0"),
        ..Case::default()
    }
    .run();
    assert!(
        matches!(d.cause, Cause::ReferenceInvalid { .. }),
        "{:?}",
        d.cause
    );
    assert!(d.headline.contains("lowercase"), "{}", d.headline);
    assert!(first_commands(&d).is_empty());
    assert!(d.fixes[0].note.as_deref().unwrap().contains("set-image"));
}

#[test]
fn unreachable_hosts_name_the_stage() {
    let message = || "x".to_owned();
    for (outcome, stage, word) in [
        (
            ProbeOutcome::Dns { message: message() },
            NetStage::Resolve,
            "does not resolve",
        ),
        (
            ProbeOutcome::Connect { message: message() },
            NetStage::Connect,
            "refuses connections",
        ),
        (
            ProbeOutcome::Tls { message: message() },
            NetStage::Tls,
            "TLS",
        ),
        (
            ProbeOutcome::Timeout { message: message() },
            NetStage::Timeout,
            "in time",
        ),
    ] {
        let d = Case {
            outcomes: vec![outcome],
            ..Case::default()
        }
        .run();
        assert_eq!(
            d.cause,
            Cause::HostUnreachable {
                host: HOST.into(),
                stage,
                detail: "x".into()
            }
        );
        assert!(d.headline.contains(word), "{}", d.headline);
        assert!(d.headline.contains(HOST), "{}", d.headline);
    }
}

#[test]
fn no_secret_at_all() {
    let d = Case {
        pod_secrets: vec![],
        outcomes: vec![unauthorized("UNAUTHORIZED", "authentication required")],
        ..Case::default()
    }
    .run();
    assert_eq!(
        d.cause,
        Cause::NoSecretForHost {
            host: HOST.into(),
            why: NoSecretWhy::NoneAttached
        }
    );
    assert!(
        d.headline.starts_with("no pull secret for registry"),
        "{}",
        d.headline
    );
    assert_eq!(
        first_commands(&d),
        [
            format!(
                "berth secret rotate -n shop --secret berthacr-pull --registry {HOST} --source <acr-token|acr-admin|static>"
            ),
            "berth secret attach -n shop --secret berthacr-pull --service-account default".into(),
            "berth rollout restart -n shop web".into(),
        ]
    );
}

#[test]
fn an_unattached_secret_for_the_host_is_offered_first() {
    let mut f = Case {
        pod_secrets: vec![],
        outcomes: vec![unauthorized("", "")],
        ..Case::default()
    }
    .facts();
    f.unattached_matching_secrets = vec!["acr-creds".into()];
    let d = diagnose(f);
    assert_eq!(
        first_commands(&d)[0],
        "berth secret attach -n shop --secret acr-creds --service-account default"
    );
    assert!(d.evidence.iter().any(|l| l.text.contains("\"acr-creds\"")));
}

#[test]
fn secrets_for_other_hosts_are_named() {
    let d = Case {
        pod_secrets: vec![
            ("hub", entries(&[("https://index.docker.io/v1/", "me")])),
            ("team", entries(&[(&*format!("https://{HOST}/team/"), "t")])),
        ],
        outcomes: vec![unauthorized("", "")],
        ..Case::default()
    }
    .run();
    let Cause::NoSecretForHost {
        why: NoSecretWhy::OtherHosts { secrets, keys },
        ..
    } = &d.cause
    else {
        panic!("{:?}", d.cause)
    };
    assert_eq!(secrets, &["hub", "team"]);
    assert!(keys.contains(&format!("https://{HOST}/team/")));
    assert!(d.headline.contains("index.docker.io"), "{}", d.headline);
}

#[test]
fn a_service_account_only_secret_means_recreate_the_pod() {
    let d = Case {
        pod_secrets: vec![],
        sa_secrets: vec![("acr-pull", entries(&[(&*format!("https://{HOST}"), "u")]))],
        outcomes: vec![unauthorized("", "")],
        ..Case::default()
    }
    .run();
    assert!(
        matches!(
            &d.cause,
            Cause::NoSecretForHost { why: NoSecretWhy::ServiceAccountOnly { secrets, .. }, .. }
                if secrets == &["acr-pull"]
        ),
        "{:?}",
        d.cause
    );
    assert_eq!(first_commands(&d), ["berth rollout restart -n shop web"]);
    assert!(
        d.headline.contains("after the pod was created"),
        "{}",
        d.headline
    );
}

#[test]
fn a_named_secret_missing_from_the_namespace() {
    let d = Case {
        pod_secrets: vec![("acr-pull", SecretInput::Missing)],
        outcomes: vec![unauthorized("", "")],
        ..Case::default()
    }
    .run();
    assert_eq!(
        d.cause,
        Cause::SecretMissing {
            secret: "acr-pull".into(),
            namespace: "shop".into()
        }
    );
    assert_eq!(
        first_commands(&d)[0],
        format!(
            "berth secret rotate -n shop --secret acr-pull --registry {HOST} --source <acr-token|acr-admin|static>"
        )
    );
    assert!(matches!(
        d.fixes[0].actions[0],
        FixAction::CreateSecret { .. }
    ));
}

#[test]
fn a_wrong_type_secret_is_ignored_by_the_node() {
    let d = Case {
        pod_secrets: vec![(
            "acr-pull",
            SecretInput::WrongType {
                type_: "Opaque".into(),
                detail:
                    "the node reads only kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg"
                        .into(),
            },
        )],
        outcomes: vec![unauthorized("", "")],
        ..Case::default()
    }
    .run();
    assert!(matches!(
        &d.cause,
        Cause::SecretUnusable { problem: SecretProblem::WrongType { type_, .. }, .. } if type_ == "Opaque"
    ));
    assert!(
        first_commands(&d)[0]
            .starts_with("kubectl delete secret -n shop acr-pull && berth secret rotate")
    );
}

#[test]
fn a_malformed_secret_wins_even_over_a_working_registry() {
    let d = Case {
        pod_secrets: vec![
            ("acr-pull", entries(&[(HOST, "u")])),
            (
                "broken",
                SecretInput::Malformed {
                    type_: "kubernetes.io/dockerconfigjson".into(),
                    reason: "auth is not base64".into(),
                },
            ),
        ],
        outcomes: vec![found(&[])],
        ..Case::default()
    }
    .run();
    assert!(
        matches!(&d.cause, Cause::SecretUnusable { secret, problem: SecretProblem::Malformed { .. } } if secret == "broken")
    );
    assert!(d.headline.contains("fails every pull"), "{}", d.headline);
}

#[test]
fn an_entry_without_credentials() {
    let d = Case {
        pod_secrets: vec![(
            "acr-pull",
            SecretInput::Entries(vec![DockerEntry {
                key: HOST.into(),
                username: None,
                password: None,
            }]),
        )],
        outcomes: vec![unauthorized("", "")],
        ..Case::default()
    }
    .run();
    assert!(
        matches!(
            &d.cause,
            Cause::SecretUnusable {
                problem: SecretProblem::EmptyEntry { .. },
                ..
            }
        ),
        "{:?}",
        d.cause
    );
}

#[test]
fn rejected_credentials_say_expired_disabled_or_wrong() {
    let cases = [
        (
            "the token password has expired, generate a new password",
            Verdict::Expired { at: None },
            "expired",
        ),
        ("the token is disabled", Verdict::Disabled, "disabled"),
        (
            "authentication required",
            Verdict::WrongOrRotated,
            "wrong or was rotated away",
        ),
    ];
    for (msg, verdict, word) in cases {
        let d = Case {
            outcomes: vec![unauthorized("UNAUTHORIZED", msg)],
            ..Case::default()
        }
        .run();
        let Cause::CredentialsRejected {
            verdict: got,
            secret,
            username,
            ..
        } = &d.cause
        else {
            panic!("{:?}", d.cause)
        };
        assert_eq!(got, &verdict);
        assert_eq!(secret, "acr-pull");
        assert_eq!(username.as_deref(), Some("puller"));
        assert!(d.headline.contains(word), "{}", d.headline);
        assert!(d.headline.contains("401"), "{}", d.headline);
        assert_eq!(
            first_commands(&d),
            [
                format!(
                    "berth secret rotate -n shop --secret acr-pull --registry {HOST} --source <acr-token|acr-admin|static>"
                ),
                "berth rollout restart -n shop web".into()
            ]
        );
    }
}

#[test]
fn an_expired_jwt_password_tells_the_time() {
    use base64::Engine as _;
    let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let exp = now().as_second() - 7200;
    let jwt = format!("{}.{}.s", b("{}"), b(&format!("{{\"exp\":{exp}}}")));
    let d = Case {
        pod_secrets: vec![(
            "acr-pull",
            SecretInput::Entries(vec![DockerEntry {
                key: HOST.into(),
                username: Some("00000000-0000-0000-0000-000000000000".into()),
                password: Some(Secret::new(jwt)),
            }]),
        )],
        outcomes: vec![unauthorized("UNAUTHORIZED", "authentication required")],
        ..Case::default()
    }
    .run();
    assert!(
        matches!(
            &d.cause,
            Cause::CredentialsRejected {
                verdict: Verdict::Expired { at: Some(_) },
                ..
            }
        ),
        "{:?}",
        d.cause
    );
    assert!(d.headline.contains("expired 2h 0m ago"), "{}", d.headline);
    let json = render::json(std::slice::from_ref(&d));
    assert!(!json.contains(&b("{}")), "the password leaked into JSON");
}

#[test]
fn the_node_tries_the_next_credential() {
    // Two secrets match; the first is rejected, the second works: the pull works now.
    let d = Case {
        pod_secrets: vec![
            ("old", entries(&[(HOST, "old")])),
            ("new", entries(&[(&*format!("https://{HOST}"), "new")])),
        ],
        outcomes: vec![unauthorized("", ""), found(&[])],
        ..Case::default()
    }
    .run();
    assert!(matches!(d.cause, Cause::Transient { .. }), "{:?}", d.cause);
}

#[test]
fn denied_names_user_and_repository() {
    let d = Case {
        outcomes: vec![forbidden(
            "DENIED",
            "requested access to the resource is denied",
        )],
        ..Case::default()
    }
    .run();
    assert!(matches!(&d.cause, Cause::Denied { repository, .. } if repository == "web"));
    assert!(
        d.headline.contains("\"puller\"") && d.headline.contains("403"),
        "{}",
        d.headline
    );
    assert!(d.fixes[0].note.as_deref().unwrap().contains("scope map"));
}

#[test]
fn anonymous_denied_is_a_missing_secret_not_a_scope_problem() {
    let d = Case {
        pod_secrets: vec![],
        outcomes: vec![forbidden("", "")],
        ..Case::default()
    }
    .run();
    assert!(
        matches!(d.cause, Cause::NoSecretForHost { .. }),
        "{:?}",
        d.cause
    );
}

#[test]
fn repository_missing() {
    let d = Case {
        outcomes: vec![ProbeOutcome::RepositoryUnknown {
            errors: errs("NAME_UNKNOWN", "repository name not known to registry"),
            detail: String::new(),
        }],
        ..Case::default()
    }
    .run();
    assert_eq!(
        d.cause,
        Cause::RepositoryMissing {
            host: HOST.into(),
            repository: "web".into()
        }
    );
    assert_eq!(
        d.headline,
        format!("repository \"web\" does not exist on registry {HOST}")
    );
}

#[test]
fn tag_missing_lists_closest_newest_first_and_offers_set_image() {
    let d = Case {
        outcomes: vec![manifest_unknown()],
        tags: Some(TagListing::Listed { tags: web_tags() }),
        ..Case::default()
    }
    .run();
    let Cause::ManifestMissing {
        reference, closest, ..
    } = &d.cause
    else {
        panic!("{:?}", d.cause)
    };
    assert_eq!(reference, "1.0.30");
    assert_eq!(closest, &["1.0.29", "1.0.28", "1.0.27", "1.0.26", "1.0.25"]);
    assert!(
        d.headline.starts_with("tag \"1.0.30\" does not exist"),
        "{}",
        d.headline
    );
    assert_eq!(
        first_commands(&d),
        [format!(
            "berth rollout set-image -n shop web web --image {HOST}/web:1.0.29"
        )]
    );
    assert_eq!(d.fixes.len(), 3);
}

#[test]
fn digest_missing_offers_no_tags() {
    let digest = format!("sha256:{}", "0".repeat(64));
    let d = Case {
        image: format!("{HOST}/web@{digest}"),
        outcomes: vec![manifest_unknown()],
        tags: Some(TagListing::Listed { tags: web_tags() }),
        ..Case::default()
    }
    .run();
    assert!(
        d.headline.starts_with(&format!("digest {digest}")),
        "{}",
        d.headline
    );
    assert!(d.fixes.is_empty());
}

#[test]
fn platform_missing_for_the_node() {
    let d = Case {
        image: format!("{HOST}/tools/armonly:1.0"),
        outcomes: vec![found(&[("linux", "arm64"), ("linux", "s390x")])],
        ..Case::default()
    }
    .run();
    assert_eq!(
        d.cause,
        Cause::PlatformMissing {
            image: format!("{HOST}/tools/armonly:1.0"),
            node: "node-1".into(),
            node_platform: "linux/amd64".into(),
            available: vec!["linux/arm64".into(), "linux/s390x".into()],
        }
    );
    assert!(d.headline.contains("linux/amd64"), "{}", d.headline);
}

#[test]
fn a_multi_arch_index_with_the_nodes_platform_is_fine() {
    let d = Case {
        outcomes: vec![found(&[("linux", "amd64"), ("linux", "arm64")])],
        ..Case::default()
    }
    .run();
    assert!(matches!(d.cause, Cause::Transient { .. }));
}

#[test]
fn rate_limited_and_server_errors() {
    let d = Case {
        outcomes: vec![ProbeOutcome::RateLimited {
            retry_after_secs: Some(30),
            detail: "429 on manifest".into(),
        }],
        ..Case::default()
    }
    .run();
    assert_eq!(
        d.cause,
        Cause::RateLimited {
            host: HOST.into(),
            retry_after_secs: Some(30)
        }
    );
    assert!(
        d.headline.contains("429") && d.headline.contains("30 s"),
        "{}",
        d.headline
    );

    let d = Case {
        outcomes: vec![ProbeOutcome::ServerError {
            status: 503,
            detail: "service unavailable".into(),
        }],
        ..Case::default()
    }
    .run();
    assert!(matches!(
        d.cause,
        Cause::RegistryError {
            status: Some(503),
            ..
        }
    ));
    assert!(d.headline.contains("503"), "{}", d.headline);
}

#[test]
fn transient_says_when_the_node_last_failed_and_offers_a_retry() {
    let d = Case {
        outcomes: vec![found(&[])],
        ..Case::default()
    }
    .run();
    assert_eq!(
        d.cause,
        Cause::Transient {
            last_failure: Some(Timestamp::from_second(1_800_000_000 - 180).unwrap())
        }
    );
    assert!(
        d.headline.contains("transient") && d.headline.contains("3m ago"),
        "{}",
        d.headline
    );
    assert_eq!(first_commands(&d), ["berth rollout restart -n shop web"]);
    assert_eq!(
        d.fixes[1].commands(),
        ["kubectl delete pod -n shop web-7d9f-abcde"]
    );
}

#[test]
fn a_bare_pod_gets_no_delete() {
    let d = Case {
        outcomes: vec![found(&[])],
        owner: None,
        ..Case::default()
    }
    .run();
    assert!(d.fixes.is_empty());
}

#[test]
fn never_pull() {
    let d = Case {
        outcomes: vec![found(&[])],
        reason: "ErrImageNeverPull",
        ..Case::default()
    }
    .run();
    assert!(matches!(d.cause, Cause::NeverPull { .. }));
}

#[test]
fn node_messages_are_supporting_only() {
    let d = Case {
        outcomes: vec![found(&[])],
        ..Case::default()
    }
    .run();
    // The node says "not found", the registry finds the manifest: the registry decides.
    assert!(matches!(d.cause, Cause::Transient { .. }));
    let support: Vec<_> = d.evidence.iter().filter(|l| l.supporting).collect();
    assert!(support.iter().any(|l| l.text.contains("not found")));
    assert!(support.iter().all(|l| l.topic == Topic::NodeMessage));
}

#[test]
fn no_probe_is_undetermined() {
    let d = Case::default().run();
    assert!(
        matches!(d.cause, Cause::Undetermined { .. }),
        "{:?}",
        d.cause
    );
}

#[test]
fn text_puts_the_cause_first_then_evidence_then_the_command() {
    let d = Case {
        outcomes: vec![manifest_unknown()],
        tags: Some(TagListing::Listed { tags: web_tags() }),
        ..Case::default()
    }
    .run();
    let t = render::text(&d);
    let first = t.lines().next().unwrap();
    assert_eq!(first, d.headline);
    let ev = t.find("Evidence:").unwrap();
    let node = t.find("The node reports").unwrap();
    let fix = t.find("Fix:").unwrap();
    assert!(ev < node && node < fix, "{t}");
    assert!(t.contains("$ berth rollout set-image"), "{t}");
}

#[test]
fn json_carries_kind_headline_fixes_and_no_password() {
    let d = Case {
        outcomes: vec![unauthorized("UNAUTHORIZED", "authentication required")],
        ..Case::default()
    }
    .run();
    let j: serde_json::Value = serde_json::from_str(&render::json(&[d])).unwrap();
    assert_eq!(j["ok"], false);
    let d = &j["diagnoses"][0];
    assert_eq!(d["cause"]["kind"], "credentials_rejected");
    assert_eq!(d["cause"]["verdict"]["kind"], "wrong_or_rotated");
    assert!(d["headline"].as_str().unwrap().contains("401"));
    assert_eq!(d["fixes"][0]["actions"][0]["action"], "rotate_secret");
    assert_eq!(d["facts"]["reference"]["registry"], HOST);
    assert!(!j.to_string().contains("\"pw\""), "password in JSON: {j}");
    let empty: serde_json::Value = serde_json::from_str(&render::json(&[])).unwrap();
    assert_eq!(empty["ok"], true);
}

#[test]
fn text_snapshots() {
    let tag = Case {
        outcomes: vec![manifest_unknown()],
        tags: Some(TagListing::Listed { tags: web_tags() }),
        ..Case::default()
    }
    .run();
    insta::assert_snapshot!("tag_missing", render::text(&tag));
    let none = Case {
        pod_secrets: vec![("hub", entries(&[("https://index.docker.io/v1/", "me")]))],
        sa_secrets: vec![("gone", SecretInput::Missing)],
        outcomes: vec![unauthorized("UNAUTHORIZED", "authentication required")],
        ..Case::default()
    }
    .run();
    insta::assert_snapshot!("no_secret_for_host", render::text(&none));
}

#[test]
fn a_bare_404_is_told_apart_by_the_tag_listing() {
    let bare = || ProbeOutcome::NotFound {
        detail: "404".into(),
    };
    let d = Case {
        outcomes: vec![bare()],
        tags: Some(TagListing::RepositoryUnknown),
        ..Case::default()
    }
    .run();
    assert!(
        matches!(d.cause, Cause::RepositoryMissing { .. }),
        "{:?}",
        d.cause
    );
    // The distribution registry answers MANIFEST_UNKNOWN for a missing repository too.
    let d = Case {
        outcomes: vec![manifest_unknown()],
        tags: Some(TagListing::RepositoryUnknown),
        ..Case::default()
    }
    .run();
    assert!(
        matches!(d.cause, Cause::RepositoryMissing { .. }),
        "{:?}",
        d.cause
    );
    let d = Case {
        outcomes: vec![bare()],
        tags: Some(TagListing::Listed { tags: web_tags() }),
        ..Case::default()
    }
    .run();
    assert!(
        matches!(d.cause, Cause::ManifestMissing { .. }),
        "{:?}",
        d.cause
    );
}

#[test]
fn an_unreadable_pod_secret_leaves_the_cause_open_and_says_why() {
    let d = Case {
        pod_secrets: vec![(
            "acr-pull",
            SecretInput::Unreadable {
                reason: "forbidden".into(),
            },
        )],
        outcomes: vec![unauthorized("UNAUTHORIZED", "authentication required")],
        ..Case::default()
    }
    .run();
    let Cause::Undetermined { reason } = &d.cause else {
        panic!("{:?}", d.cause)
    };
    assert!(reason.contains("`get` on secrets"), "{reason}");
}

#[test]
fn a_probe_that_cannot_start_is_undetermined() {
    let d = Case {
        outcomes: vec![ProbeOutcome::CredentialUnavailable {
            message: "cannot read CA file /x".into(),
        }],
        ..Case::default()
    }
    .run();
    assert!(
        matches!(d.cause, Cause::Undetermined { .. }),
        "{:?}",
        d.cause
    );
    assert!(d.headline.contains("/x"), "{}", d.headline);
}

#[test]
fn other_hosts_fix_adds_the_host_to_a_secret_the_pod_already_names() {
    let d = Case {
        pod_secrets: vec![("hub", entries(&[("https://index.docker.io/v1/", "me")]))],
        outcomes: vec![unauthorized("", "")],
        ..Case::default()
    }
    .run();
    assert_eq!(
        first_commands(&d),
        [
            format!(
                "berth secret rotate -n shop --secret hub --registry {HOST} --source <acr-token|acr-admin|static>"
            ),
            "berth rollout restart -n shop web".into(),
        ]
    );
}

#[test]
fn a_service_account_secret_never_reaches_a_pod_with_its_own_secrets() {
    // Admission copies the service account's secrets only into pods that name none.
    let d = Case {
        pod_secrets: vec![("hub", entries(&[("docker.io", "me")]))],
        sa_secrets: vec![("acr-pull", entries(&[(HOST, "u")]))],
        outcomes: vec![unauthorized("", "")],
        ..Case::default()
    }
    .run();
    assert!(
        matches!(
            &d.cause,
            Cause::NoSecretForHost {
                why: NoSecretWhy::OtherHosts { .. },
                ..
            }
        ),
        "{:?}",
        d.cause
    );
}

#[test]
fn evidence_marks_what_is_wrong() {
    let d = Case {
        outcomes: vec![manifest_unknown()],
        tags: Some(TagListing::Listed { tags: web_tags() }),
        ..Case::default()
    }
    .run();
    let ok = |topic: Topic| {
        d.evidence
            .iter()
            .find(|l| l.topic == topic)
            .map(|l| l.ok)
            .unwrap()
    };
    assert!(ok(Topic::Image));
    assert!(ok(Topic::PullSecret), "a secret that matches is fine");
    assert!(!ok(Topic::Registry), "the 404 is what is wrong");
    assert!(ok(Topic::Tags));

    let d = Case {
        pod_secrets: vec![],
        sa_secrets: vec![("acr-pull", entries(&[(HOST, "u")]))],
        outcomes: vec![unauthorized("", "")],
        ..Case::default()
    }
    .run();
    let secret = d
        .evidence
        .iter()
        .find(|l| l.topic == Topic::PullSecret)
        .unwrap();
    assert!(
        !secret.ok,
        "a service-account-only secret the node never sees: {secret:?}"
    );
}
