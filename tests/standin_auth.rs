//! The stand-in's token flow, checked with skopeo (a real registry client) against the real
//! registry behind it: valid credentials of every kind work, invalid ones fail, rotation and
//! expiry take effect at once, scope limits hold.

mod standin_support;

use reqwest::Method;
use standin_support::{
    Env, access_claim, arm, arm_token, entra_token, generate, inspect, new_token, registry_token,
    unique, wait_for,
};
use std::time::Duration;

const IMAGE: &str = "web:1.0.0";

#[tokio::test]
async fn skopeo_inspect_works_with_every_valid_credential_kind() {
    let env = Env::get();
    let creds = [
        (
            "admin",
            env.var("BERTH_ACR_ADMIN_USER"),
            env.var("BERTH_ACR_ADMIN_PASSWORD"),
        ),
        (
            "scope-map token",
            env.var("BERTH_ACR_TOKEN_NAME"),
            env.var("BERTH_ACR_TOKEN_PASSWORD"),
        ),
        (
            "web-only token",
            env.var("BERTH_ACR_TOKEN_WEB_NAME"),
            env.var("BERTH_ACR_TOKEN_WEB_PASSWORD"),
        ),
        (
            "push SP",
            env.var("BERTH_SP_CLIENT_ID"),
            env.var("BERTH_SP_CLIENT_SECRET"),
        ),
        (
            "pull SP",
            env.var("BERTH_SP_PULL_CLIENT_ID"),
            env.var("BERTH_SP_PULL_CLIENT_SECRET"),
        ),
    ];
    let mut digests = Vec::new();
    for (what, user, pass) in creds {
        let v = inspect(IMAGE, user, pass)
            .await
            .unwrap_or_else(|e| panic!("skopeo inspect {IMAGE} as {what} failed: {e}"));
        let d = v["Digest"].as_str().unwrap().to_string();
        assert!(d.starts_with("sha256:"), "{what}: digest {d}");
        assert_eq!(v["Architecture"], "amd64", "{what}: {v}");
        digests.push(d);
    }
    digests.dedup();
    assert_eq!(
        digests.len(),
        1,
        "every identity sees the same manifest: {digests:?}"
    );
}

#[tokio::test]
async fn skopeo_inspect_fails_with_invalid_credentials() {
    let env = Env::get();
    let wrong = [
        (
            "admin, wrong password",
            env.var("BERTH_ACR_ADMIN_USER"),
            "not-the-password",
        ),
        (
            "token, wrong password",
            env.var("BERTH_ACR_TOKEN_NAME"),
            "not-the-password",
        ),
        (
            "SP, wrong secret",
            env.var("BERTH_SP_CLIENT_ID"),
            "not-the-secret",
        ),
        ("unknown user", "nobody", "x"),
        (
            "null user, bogus refresh token",
            "00000000-0000-0000-0000-000000000000",
            "a.b.c",
        ),
    ];
    for (what, user, pass) in wrong {
        let err = inspect(IMAGE, user, pass)
            .await
            .err()
            .unwrap_or_else(|| panic!("skopeo inspect succeeded with {what}"));
        assert!(
            err.contains("unauthorized") || err.contains("401"),
            "{what}: expected an authentication failure, got: {err}"
        );
    }
    // And the token endpoint itself answers 401 with ACR's error body.
    let (status, body) = registry_token(
        env.var("BERTH_ACR_ADMIN_USER"),
        "nope",
        &["repository:web:pull"],
    )
    .await
    .expect_err("wrong admin password must be refused");
    assert_eq!(status, 401);
    assert!(body.contains("\"UNAUTHORIZED\""), "{body}");
}

#[tokio::test]
async fn entra_exchange_refresh_token_works_as_password_and_in_refresh_grant() {
    let env = Env::get();
    let aad = entra_token(
        env.var("BERTH_SP_PULL_CLIENT_ID"),
        env.var("BERTH_SP_PULL_CLIENT_SECRET"),
        "https://containerregistry.azure.net",
    )
    .await;
    let http = env.http();
    let r = http
        .post(format!("{}/oauth2/exchange", env.base()))
        .form(&[
            ("grant_type", "access_token"),
            ("service", env.acr()),
            ("tenant", env.var("BERTH_TENANT_ID")),
            ("access_token", &aad),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "exchange refused");
    let v: serde_json::Value = r.json().await.unwrap();
    let refresh = v["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_string();

    let img = inspect(IMAGE, "00000000-0000-0000-0000-000000000000", &refresh).await;
    assert!(
        img.is_ok(),
        "refresh token as password failed: {:?}",
        img.err()
    );

    let r = http
        .post(format!("{}/oauth2/token", env.base()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("service", env.acr()),
            ("scope", "repository:web:pull,push repository:api:pull"),
            ("refresh_token", &refresh),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    let access = access_claim(v["access_token"].as_str().unwrap());
    // The pull-only service principal gets pull, never push.
    assert_eq!(
        access,
        serde_json::json!([
            {"type": "repository", "name": "web", "actions": ["pull"]},
            {"type": "repository", "name": "api", "actions": ["pull"]},
        ])
    );

    // A tampered Entra token is refused by the exchange.
    let mut bad = aad.clone();
    bad.pop();
    bad.push(if aad.ends_with('A') { 'B' } else { 'A' });
    let r = http
        .post(format!("{}/oauth2/exchange", env.base()))
        .form(&[
            ("grant_type", "access_token"),
            ("service", env.acr()),
            ("access_token", &bad),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn containerd_style_password_grant_and_anonymous_get() {
    let env = Env::get();
    let http = env.http();
    let post = |user: &str, pass: &str| {
        http.post(format!("{}/oauth2/token", env.base()))
            .form(&[
                ("grant_type", "password"),
                ("username", user),
                ("password", pass),
                ("scope", "repository:web:pull"),
                ("service", env.acr()),
                ("client_id", "containerd-client"),
            ])
            .send()
    };
    let ok = post(
        env.var("BERTH_ACR_TOKEN_NAME"),
        env.var("BERTH_ACR_TOKEN_PASSWORD"),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    let bad = post(env.var("BERTH_ACR_TOKEN_NAME"), "wrong")
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let anon = http
        .get(format!("{}/oauth2/token", env.base()))
        .query(&[("service", env.acr()), ("scope", "repository:web:pull")])
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401, "anonymous token requests are refused");
}

#[tokio::test]
async fn web_only_token_is_denied_other_repositories_with_403() {
    let env = Env::get();
    let user = env.var("BERTH_ACR_TOKEN_WEB_NAME");
    let pass = env.var("BERTH_ACR_TOKEN_WEB_PASSWORD");
    assert!(inspect(IMAGE, user, pass).await.is_ok());
    let err = inspect("api:2.0.0", user, pass)
        .await
        .expect_err("the web-only token must not read api");
    assert!(err.contains("denied"), "expected ACR's DENIED, got: {err}");

    // At the wire: a valid token lacking the scope gets 403 DENIED, not the registry's 401.
    let t = registry_token(user, pass, &["repository:api:pull"])
        .await
        .unwrap();
    assert_eq!(
        access_claim(&t),
        serde_json::json!([{"type": "repository", "name": "api", "actions": []}])
    );
    let r = env
        .http()
        .get(format!("{}/v2/api/manifests/2.0.0", env.base()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "DENIED");

    // A token that never asked for push keeps the registry's 401 challenge (so a client can fetch
    // a token for push); one that asked for push and was refused it gets 403 DENIED.
    let upload = |t: String| {
        env.http()
            .post(format!("{}/v2/web/blobs/uploads/", env.base()))
            .bearer_auth(t)
            .send()
    };
    let pull_only = registry_token(user, pass, &["repository:web:pull"])
        .await
        .unwrap();
    let r = upload(pull_only).await.unwrap();
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap();
    // The registry lists the actions in Go map order: `pull,push` or `push,pull`.
    let scope = challenge
        .split("scope=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no scope in {challenge}"));
    let (resource, actions) = scope.rsplit_once(':').unwrap();
    let mut actions: Vec<&str> = actions.split(',').collect();
    actions.sort_unstable();
    assert_eq!(
        (resource, actions),
        ("repository:web", vec!["pull", "push"]),
        "{challenge}"
    );
    let asked = registry_token(user, pass, &["repository:web:pull,push"])
        .await
        .unwrap();
    let r = upload(asked).await.unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn regenerated_token_password_stops_working_at_once() {
    let arm_t = arm_token().await;
    let name = unique("rot");
    let first = new_token(&arm_t, &name, "_repositories_pull", None).await;
    assert!(
        inspect(IMAGE, &name, &first).await.is_ok(),
        "fresh token password must work"
    );
    let second = generate(&arm_t, &name, "password2", None).await;
    assert!(
        inspect(IMAGE, &name, &second).await.is_ok(),
        "password2 must work"
    );
    assert!(
        inspect(IMAGE, &name, &first).await.is_ok(),
        "password1 still works beside password2"
    );
    let third = generate(&arm_t, &name, "password1", None).await;
    let err = inspect(IMAGE, &name, &first)
        .await
        .expect_err("the replaced password1 must stop working at once");
    assert!(err.contains("unauthorized"), "{err}");
    assert!(
        inspect(IMAGE, &name, &third).await.is_ok(),
        "the new password1 must work"
    );
    arm(&arm_t, Method::DELETE, &format!("/tokens/{name}"), None).await;
}

#[tokio::test]
async fn regenerated_admin_password2_stops_working_at_once() {
    let env = Env::get();
    let arm_t = arm_token().await;
    let user = env.var("BERTH_ACR_ADMIN_USER");
    let listed = arm(&arm_t, Method::POST, "/listCredentials", None).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let old2 = listed.body["passwords"][1]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(listed.body["passwords"][1]["name"], "password2");
    let regen = arm(
        &arm_t,
        Method::POST,
        "/regenerateCredential",
        Some(serde_json::json!({"name": "password2"})),
    )
    .await;
    assert_eq!(regen.status, 200, "{}", regen.body);
    let new2 = regen.body["passwords"][1]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new2, old2);
    // The shared `password` slot is untouched.
    assert_eq!(
        regen.body["passwords"][0]["value"],
        env.var("BERTH_ACR_ADMIN_PASSWORD")
    );
    let err = inspect(IMAGE, user, &old2)
        .await
        .expect_err("the regenerated password2 must stop working at once");
    assert!(err.contains("unauthorized"), "{err}");
    assert!(inspect(IMAGE, user, &new2).await.is_ok());
}

#[tokio::test]
async fn expired_token_password_is_refused() {
    let arm_t = arm_token().await;
    let name = unique("exp");
    // Already expired: refused from the start, with ACR's error body.
    let past = new_token(
        &arm_t,
        &name,
        "_repositories_pull",
        Some("2020-01-01T00:00:00Z"),
    )
    .await;
    let err = inspect(IMAGE, &name, &past)
        .await
        .expect_err("an expired token password must be refused");
    assert!(err.contains("unauthorized"), "{err}");
    let (status, body) = registry_token(&name, &past, &["repository:web:pull"])
        .await
        .unwrap_err();
    assert_eq!(status, 401);
    assert!(
        body.contains("expired"),
        "the error says the password expired: {body}"
    );

    // Expiring soon: works now, refused once the expiry passes.
    let soon = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3)).to_string();
    let pw = generate(&arm_t, &name, "password2", Some(&soon)).await;
    assert!(
        registry_token(&name, &pw, &["repository:web:pull"])
            .await
            .is_ok()
    );
    wait_for(
        "the token password to expire",
        Duration::from_secs(30),
        || async {
            match registry_token(&name, &pw, &["repository:web:pull"]).await {
                Err((401, body)) if body.contains("expired") => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    assert!(inspect(IMAGE, &name, &pw).await.is_err());
    arm(&arm_t, Method::DELETE, &format!("/tokens/{name}"), None).await;
}
