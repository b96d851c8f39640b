//! Authentication paths and faults against the stand-in and the plain registry: the Entra
//! exchange, Basic (token endpoint and plain htpasswd), a rotated-away password, 429 retried
//! while a failed PUT is not, and the probe's outcomes with their evidence.

#[path = "support/matrix.rs"]
mod matrix;
mod registry_common;
#[path = "standin_support/mod.rs"]
mod standin_support;

use berth::reference::Reference;
use berth::registry::RegistryError;
use berth::registry::client::ExchangeKind;
use berth::registry::credential::Credential;
use berth::registry::list::TagOrder;
use berth::registry::probe::{AuthStage, ProbeOptions, ProbeOutcome, probe};
use berth::registry::retag::{RetagOptions, retag};
use registry_common::*;
use serde_json::json;

fn acr_ref(image: &str) -> Reference {
    Reference::parse(&format!("{}/{image}", Env::get().acr())).unwrap()
}

fn with_ca() -> ProbeOptions {
    ProbeOptions {
        ca_file: Some(ca()),
        ..ProbeOptions::default()
    }
}

#[tokio::test]
async fn entra_credential_is_exchanged_for_a_registry_token() {
    let (_, cred) = sp_entra("BERTH_SP_CLIENT_ID", "BERTH_SP_CLIENT_SECRET");
    let client = acr_client_with(cred, |c| c.trace = true);
    let tags = client
        .list_tags("api", TagOrder::NewestFirst)
        .await
        .expect("tags as the service principal");
    let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
    for t in ["2.0.0", "2.1.0", "2.2.0"] {
        assert!(names.contains(&t), "{names:?}");
    }
    let trace = client.take_trace();
    let exchange = trace
        .iter()
        .find(|e| e.kind == ExchangeKind::Exchange)
        .expect("an /oauth2/exchange call");
    assert_eq!(exchange.method, "POST");
    assert!(
        exchange.url.ends_with("/oauth2/exchange"),
        "{}",
        exchange.url
    );
    assert_eq!(exchange.status, Some(200));
    let token = trace
        .iter()
        .find(|e| e.kind == ExchangeKind::Token)
        .expect("an /oauth2/token call");
    assert_eq!(
        (token.method.as_str(), token.status),
        ("POST", Some(200)),
        "refresh_token grant"
    );
    // The ACR refresh token doubles as a password for the null-GUID user (what a pull secret
    // made from an Entra identity holds).
    let refresh = client.entra_refresh_token().await.unwrap();
    let as_password = acr_client(Credential::basic(
        "00000000-0000-0000-0000-000000000000",
        refresh.expose(),
    ));
    as_password
        .get_manifest("api", "2.0.0")
        .await
        .expect("refresh token as a password");
}

/// The fault "an ACR refresh token expiring mid-session": the client holds a refresh token it
/// believes fresh (its cache counts on the monotonic clock, which a laptop's sleep stops), the
/// registry refuses it; the next token request exchanges the Entra token again, by itself.
#[tokio::test]
async fn a_refresh_token_refused_mid_session_is_exchanged_again() {
    let (_, cred) = sp_entra("BERTH_SP_CLIENT_ID", "BERTH_SP_CLIENT_SECRET");
    let client = acr_client_with(cred, |c| c.trace = true);
    // Two scopes: the second needs a token request with the refresh token the first left.
    let (first, second) = (unique("berth-auth-rt-a"), unique("berth-auth-rt-b"));
    push_copy("web:1.0.1", &format!("{first}:1")).await;
    push_copy("web:1.0.2", &format!("{second}:2")).await;
    client.get_manifest(&first, "1").await.expect("first scope");
    let before = client.entra_refresh_token().await.unwrap();
    client.take_trace();

    let (http, base) = control();
    let r = http
        .post(format!("{base}/expire-refresh-token"))
        .json(&json!({"token": before.expose()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let started = std::time::Instant::now();
    let m = client
        .get_manifest(&second, "2")
        .await
        .expect("the second scope after the refresh token expired");
    let recovered = started.elapsed();
    assert_eq!(
        m.digest,
        acr_digest(&format!("{second}:2")).await.unwrap(),
        "the manifest of the right tag"
    );
    // Refused once, exchanged again, then granted: no error reached the caller.
    let trace = client.take_trace();
    let steps: Vec<(ExchangeKind, Option<u16>)> =
        trace.iter().map(|e| (e.kind, e.status)).collect();
    assert_eq!(
        steps,
        [
            (ExchangeKind::Token, Some(401)),
            (ExchangeKind::Exchange, Some(200)),
            (ExchangeKind::Token, Some(200)),
            (ExchangeKind::Registry, Some(200)),
        ],
        "{trace:#?}"
    );
    let after = client.entra_refresh_token().await.unwrap();
    assert_ne!(
        after.expose(),
        before.expose(),
        "a new refresh token is cached"
    );
    // The refused token stays refused (the stand-in did not simply forget the fault).
    let stale = acr_client(Credential::basic(
        "00000000-0000-0000-0000-000000000000",
        before.expose(),
    ));
    assert!(stale.get_manifest(&second, "2").await.is_err());
    matrix::record(&matrix::Row {
        fault: "ACR refresh token expired mid-session",
        action: "registry client (next scope's token)",
        noticed: None,
        recovered,
        said: "(exchanged the Entra token again by itself)".into(),
        lost: "nothing",
    });
}

#[tokio::test]
async fn pull_only_identity_is_denied_a_retag() {
    let (_, cred) = sp_entra("BERTH_SP_PULL_CLIENT_ID", "BERTH_SP_PULL_CLIENT_SECRET");
    let repo = unique("berth-auth-pull");
    push_copy("web:1.0.8", &format!("{repo}:src")).await;
    let mut acr = acr_registry(false);
    acr.client = acr_client(cred);
    let dir = tempfile::tempdir().unwrap();
    let log = berth::audit::AuditLog::new(dir.path().join("a.jsonl"));
    let err = retag(
        &acr,
        &acr_ref(&format!("{repo}:src")),
        &acr,
        &acr_ref(&format!("{repo}:dst")),
        RetagOptions::default(),
        &log,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RegistryError::Forbidden { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("acr") && msg.contains(&repo), "{msg}");
    assert!(
        acr_digest(&format!("{repo}:dst")).await.is_err(),
        "nothing may be written"
    );
    let audit = std::fs::read_to_string(log.path()).unwrap();
    assert!(audit.contains("\"failed\""), "{audit}");
}

#[tokio::test]
async fn basic_credentials_work_on_both_kinds_of_registry() {
    // ACR: Basic at the token endpoint (GET), then Bearer.
    let acr = acr_client_with(admin(), |c| c.trace = true);
    let m = acr
        .get_manifest("worker", "1.0")
        .await
        .expect("worker:1.0 as admin");
    assert_eq!(m.digest, acr_digest("worker:1.0").await.unwrap());
    let trace = acr.take_trace();
    assert!(
        trace
            .iter()
            .any(|e| e.kind == ExchangeKind::Token && e.method == "GET" && e.status == Some(200)),
        "{trace:#?}"
    );
    // The token is cached per scope: the same scope again needs no token request and no
    // challenge; another repository's scope gets its own token.
    acr.get_manifest("worker", "1.0").await.unwrap();
    let again = acr.take_trace();
    assert_eq!(again.len(), 1, "{again:#?}");
    assert_eq!(
        (again[0].kind, again[0].status),
        (ExchangeKind::Registry, Some(200))
    );
    acr.get_manifest("api", "2.0.0").await.unwrap();
    let other = acr.take_trace();
    let kinds: Vec<ExchangeKind> = other.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [ExchangeKind::Token, ExchangeKind::Registry],
        "{other:#?}"
    );
    // Plain registry: htpasswd Basic challenge, no token endpoint at all.
    let plain = plain_client_with(|c| c.trace = true);
    plain
        .get_manifest("library/busybox", "1.35")
        .await
        .expect("busybox on the plain registry");
    let trace = plain.take_trace();
    assert!(
        trace.iter().all(|e| e.kind == ExchangeKind::Registry),
        "{trace:#?}"
    );
    assert!(
        trace.iter().any(|e| e.status == Some(401)
            && e.www_authenticate
                .as_deref()
                .is_some_and(|w| w.starts_with("Basic"))),
        "{trace:#?}"
    );
    assert_eq!(trace.last().unwrap().status, Some(200));
}

#[tokio::test]
async fn rotated_away_password_is_a_clear_401() {
    let env = Env::get();
    let arm_token = standin_support::arm_token().await;
    let name = unique("berth-rot");
    let old = standin_support::new_token(&arm_token, &name, "_repositories_pull", None).await;
    let before = acr_client(Credential::basic(name.clone(), old.clone()));
    before
        .get_manifest("web", "1.0.0")
        .await
        .expect("the fresh token password works");

    // Rotate through berth's own ARM client.
    let acr = acr_registry(true);
    let arm = acr.arm.as_ref().unwrap();
    let id = acr.arm_registry_id().unwrap();
    let new = arm
        .generate_token_credentials(&id, &name, "password1", None)
        .await
        .expect("generateCredentials");
    let new_pw = new
        .passwords
        .iter()
        .find(|p| p.name == "password1")
        .expect("password1")
        .value
        .clone();
    assert_ne!(new_pw.expose(), old);

    let stale = acr_client(Credential::basic(name.clone(), old.clone()));
    let err = stale.get_manifest("web", "1.0.0").await.unwrap_err();
    match &err {
        RegistryError::Token {
            status, registry, ..
        } => {
            assert_eq!(*status, 401);
            assert_eq!(registry, "acr");
        }
        other => panic!("expected a 401 from the token endpoint, got {other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("401") && msg.contains("check the credential"),
        "{msg}"
    );
    assert_eq!(err.kind(), "unauthorized");

    let report = probe(
        &acr_ref("web:1.0.0"),
        Credential::basic(name.clone(), old),
        &with_ca(),
    )
    .await;
    match &report.outcome {
        ProbeOutcome::Unauthorized {
            stage,
            status,
            errors,
            ..
        } => {
            assert_eq!((*stage, *status), (AuthStage::TokenEndpoint, 401));
            assert!(
                errors.iter().any(|e| e.code == "UNAUTHORIZED"),
                "{errors:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{report:?}").contains(new_pw.expose()));
    acr_client(Credential::basic(name, new_pw.expose()))
        .get_manifest("web", "1.0.0")
        .await
        .expect("the new password works");
    let _ = env;
}

#[tokio::test]
async fn rate_limited_get_is_retried_but_a_failed_put_is_not() {
    let repo = unique("berth-auth-429");
    push_copy("web:1.0.9", &format!("{repo}:src")).await;
    let client = acr_client(admin());
    let path = format!("/v2/{repo}/manifests/src");
    fault(json!({"path_contains": path, "status": 429, "retry_after": 1, "count": 2})).await;
    let m = client
        .get_manifest(&repo, "src")
        .await
        .expect("429 twice, then success");
    assert_eq!(m.digest, acr_digest(&format!("{repo}:src")).await.unwrap());
    let s = stats(&path).await;
    let gets: Vec<_> = s["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["method"] == "GET"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/manifests/src"))
        })
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    // The first contact is unauthenticated: 429 twice (retried), the 401 challenge, then 200.
    assert_eq!(gets.get(..4), Some(&[429, 429, 401, 200][..]), "{s}");

    // A PUT answered 503 is reported, not repeated, and writes nothing.
    let dst = format!("/v2/{repo}/manifests/dst");
    fault(json!({"path_contains": dst, "status": 503, "count": 1})).await;
    let scopes = vec![format!("repository:{repo}:pull,push")];
    let err = client
        .put_manifest(&repo, "dst", &m, scopes)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::Server { status: 503, .. }),
        "{err}"
    );
    let puts = stats(&dst).await["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "PUT")
        .count();
    assert_eq!(puts, 1);
    assert!(acr_digest(&format!("{repo}:dst")).await.is_err());
    clear_faults(&repo).await;
}

#[tokio::test]
async fn probe_names_what_happened() {
    // OK, with the platforms of an index.
    let r = probe(&acr_ref("tools/armonly:1.0"), admin(), &with_ca()).await;
    match &r.outcome {
        ProbeOutcome::Ok {
            platforms, digest, ..
        } => {
            let arch: Vec<&str> = platforms.iter().map(|p| p.architecture.as_str()).collect();
            assert!(
                arch.contains(&"arm64") && arch.contains(&"s390x") && !arch.contains(&"amd64"),
                "{arch:?}"
            );
            assert_eq!(digest, &acr_raw_digest("tools/armonly:1.0").await.unwrap());
        }
        other => panic!("{other:?}"),
    }
    // Tag missing, repository missing.
    let r = probe(&acr_ref("web:9.9.9-missing"), admin(), &with_ca()).await;
    assert!(
        matches!(r.outcome, ProbeOutcome::ManifestUnknown { .. }),
        "{:?}",
        r.outcome
    );
    let r = probe(
        &acr_ref(&format!("{}:1", unique("berth-norepo"))),
        admin(),
        &with_ca(),
    )
    .await;
    assert!(
        matches!(
            r.outcome,
            ProbeOutcome::RepositoryUnknown { .. } | ProbeOutcome::ManifestUnknown { .. }
        ),
        "{:?}",
        r.outcome
    );
    // No credentials: the token endpoint refuses, and the challenge is in the evidence.
    let r = probe(&acr_ref("web:1.0.0"), Credential::Anonymous, &with_ca()).await;
    assert!(
        matches!(
            r.outcome,
            ProbeOutcome::Unauthorized {
                stage: AuthStage::TokenEndpoint,
                status: 401,
                ..
            }
        ),
        "{:?}",
        r.outcome
    );
    assert!(
        r.exchanges.iter().any(|e| e
            .www_authenticate
            .as_deref()
            .is_some_and(|w| w.contains("realm="))),
        "{:#?}",
        r.exchanges
    );
    // Authenticated, not allowed: the web-only token on `api`.
    let env = Env::get();
    let web_only = Credential::basic(
        env.var("BERTH_ACR_TOKEN_WEB_NAME"),
        env.var("BERTH_ACR_TOKEN_WEB_PASSWORD"),
    );
    let r = probe(&acr_ref("api:2.0.0"), web_only.clone(), &with_ca()).await;
    assert!(
        matches!(
            r.outcome,
            ProbeOutcome::Forbidden {
                stage: AuthStage::Registry,
                ..
            }
        ),
        "{:?}",
        r.outcome
    );
    let r = probe(&acr_ref("web:1.0.0"), web_only, &with_ca()).await;
    assert!(r.outcome.is_ok(), "{:?}", r.outcome);
    // TLS: the test CA not trusted.
    let r = probe(&acr_ref("web:1.0.0"), admin(), &ProbeOptions::default()).await;
    assert!(
        matches!(r.outcome, ProbeOutcome::Tls { .. }),
        "{:?}",
        r.outcome
    );
    // Rate limited: reported (no retry in a probe), with Retry-After.
    let repo = unique("berth-probe-429");
    push_copy("web:1.0.10", &format!("{repo}:1")).await;
    fault(json!({"path_contains": format!("/v2/{repo}/manifests/1"), "status": 429, "retry_after": 7, "count": 1})).await;
    let r = probe(&acr_ref(&format!("{repo}:1")), admin(), &with_ca()).await;
    assert!(
        matches!(
            r.outcome,
            ProbeOutcome::RateLimited {
                retry_after_secs: Some(7),
                ..
            }
        ),
        "{:?}",
        r.outcome
    );
    clear_faults(&repo).await;
}
