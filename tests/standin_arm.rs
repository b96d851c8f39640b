//! ARM through the stand-in: importImage really copies (checked with skopeo), NoForce refuses an
//! existing tag, long-running forms, and ARM/Entra error bodies.

mod standin_support;

use reqwest::Method;
use serde_json::{Value, json};
use standin_support::{
    Env, arm, arm_token, entra_token, generate, inspect, skopeo, unique, wait_operation,
};

async fn import(token: &str, body: Value) -> Value {
    let r = arm(token, Method::POST, "/importImage", Some(body)).await;
    assert_eq!(r.status, 202, "importImage is long-running: {}", r.body);
    assert!(r.headers.contains_key("location"), "Location header");
    let op = r.headers["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_string();
    wait_operation(token, &op).await
}

fn plain_source(env: &Env, image: &str) -> Value {
    json!({
        "registryUri": env.var("BERTH_PLAIN_REGISTRY_HOST"),
        "credentials": {"username": env.var("BERTH_PLAIN_USER"), "password": env.var("BERTH_PLAIN_PASSWORD")},
        "sourceImage": image,
    })
}

#[tokio::test]
async fn import_from_plain_registry_copies_and_noforce_refuses_existing_tag() {
    let env = Env::get();
    let t = arm_token().await;
    let repo = unique("standin-imp");
    let target = format!("{repo}:1.0.0");
    let body = json!({"source": plain_source(env, "mirror/web:1.0.0"), "targetTags": [target], "mode": "NoForce"});

    let done = import(&t, body.clone()).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    // skopeo sees the same manifest on both registries.
    let plain_creds = format!(
        "{}:{}",
        env.var("BERTH_PLAIN_USER"),
        env.var("BERTH_PLAIN_PASSWORD")
    );
    let src = skopeo(&[
        "inspect",
        "--creds",
        &plain_creds,
        &format!(
            "docker://{}/mirror/web:1.0.0",
            env.var("BERTH_PLAIN_REGISTRY_HOST")
        ),
    ])
    .await;
    assert!(src.ok, "{}", src.stderr);
    let src: Value = serde_json::from_str(&src.stdout).unwrap();
    let user = env.var("BERTH_ACR_TOKEN_NAME");
    let pass = env.var("BERTH_ACR_TOKEN_PASSWORD");
    let dst = inspect(&target, user, pass)
        .await
        .expect("imported image readable");
    assert_eq!(dst["Digest"], src["Digest"]);
    // Layers really arrived: copying the image out needs every blob.
    let out = std::env::temp_dir().join(unique("standin-imp-out"));
    let r = skopeo(&[
        "copy",
        "--src-creds",
        &format!("{user}:{pass}"),
        &format!("docker://{}/{target}", env.acr()),
        &format!("oci:{}:x", out.display()),
    ])
    .await;
    assert!(
        r.ok,
        "pulling every blob of the imported image: {}",
        r.stderr
    );
    let _ = std::fs::remove_dir_all(&out);

    let refused = import(&t, body.clone()).await;
    assert_eq!(
        refused["status"], "Failed",
        "NoForce over an existing tag must fail: {refused}"
    );
    assert_eq!(refused["error"]["code"], "Conflict");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&target)
    );

    let mut force = body;
    force["mode"] = json!("Force");
    force["source"]["sourceImage"] = json!("library/busybox:1.35");
    let forced = import(&t, force).await;
    assert_eq!(forced["status"], "Succeeded", "{forced}");
    let now = inspect(&target, user, pass).await.unwrap();
    assert_ne!(now["Digest"], src["Digest"], "Force overwrote the tag");
}

#[tokio::test]
async fn import_of_an_index_copies_every_child() {
    let env = Env::get();
    let t = arm_token().await;
    let target = format!("{}:1.0", unique("standin-imp-idx"));
    let done = import(
        &t,
        json!({"source": {"resourceId": env.registry_id(), "sourceImage": "tools/multiarch:1.0"},
               "targetTags": [target], "mode": "NoForce"}),
    )
    .await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    let creds = format!(
        "{}:{}",
        env.var("BERTH_ACR_ADMIN_USER"),
        env.var("BERTH_ACR_ADMIN_PASSWORD")
    );
    let raw = |img: String| {
        let creds = creds.clone();
        async move {
            let r = skopeo(&[
                "inspect",
                "--raw",
                "--creds",
                &creds,
                &format!("docker://{}/{img}", env.acr()),
            ])
            .await;
            assert!(r.ok, "{img}: {}", r.stderr);
            r.stdout
        }
    };
    assert_eq!(
        raw(target.clone()).await,
        raw("tools/multiarch:1.0".into()).await,
        "identical index bytes"
    );
    for arch in ["amd64", "arm64"] {
        let r = skopeo(&[
            "inspect",
            "--override-arch",
            arch,
            "--creds",
            &creds,
            &format!("docker://{}/{target}", env.acr()),
        ])
        .await;
        assert!(r.ok, "{arch} child of the imported index: {}", r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["Architecture"], arch);
    }
}

#[tokio::test]
async fn import_with_bad_source_credentials_fails_the_operation() {
    let env = Env::get();
    let t = arm_token().await;
    let mut src = plain_source(env, "library/busybox:1.35");
    src["credentials"]["password"] = json!("wrong");
    let done = import(
        &t,
        json!({"source": src, "targetTags": [format!("{}:x", unique("standin-imp-bad"))]}),
    )
    .await;
    assert_eq!(done["status"], "Failed");
    assert!(
        done["error"]["message"]
            .as_str()
            .unwrap()
            .contains("credentials"),
        "{done}"
    );
    // A malformed body is refused synchronously.
    let r = arm(
        &t,
        Method::POST,
        "/importImage",
        Some(json!({"source": {"registryUri": "x"}})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "InvalidParameter");
}

#[tokio::test]
async fn generate_credentials_long_running_form() {
    let t = arm_token().await;
    let env = Env::get();
    // Tokens whose name ends in -lro answer generateCredentials with 202 + Location.
    let name = format!("{}-lro", unique("gen"));
    let r = arm(
        &t,
        Method::PUT,
        &format!("/tokens/{name}"),
        Some(json!({"properties": {"scopeMapId": format!("{}/scopeMaps/_repositories_pull", env.registry_id())}})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let raw = arm(
        &t,
        Method::POST,
        "/generateCredentials",
        Some(
            json!({"tokenId": format!("{}/tokens/{name}", env.registry_id()), "name": "password1"}),
        ),
    )
    .await;
    assert_eq!(raw.status, 202);
    assert!(raw.headers.contains_key("azure-asyncoperation"));
    let pw = generate(&t, &name, "password1", None).await; // follows Location to the result
    assert!(inspect("web:1.0.0", &name, &pw).await.is_ok());
    arm(&t, Method::DELETE, &format!("/tokens/{name}"), None).await;
}

#[tokio::test]
async fn arm_and_entra_errors_look_like_azure() {
    let env = Env::get();
    let t = arm_token().await;
    let http = env.http();

    let no_version = arm_url_raw(
        &http,
        &t,
        &format!("{}{}/listCredentials", env.base(), env.registry_id()),
    )
    .await;
    assert_eq!(no_version.0, 400);
    assert_eq!(no_version.1["error"]["code"], "MissingApiVersionParameter");
    let bad_version = arm_url_raw(
        &http,
        &t,
        &format!(
            "{}{}/listCredentials?api-version=1999-01-01",
            env.base(),
            env.registry_id()
        ),
    )
    .await;
    assert_eq!(bad_version.1["error"]["code"], "InvalidApiVersionParameter");
    let other = env
        .registry_id()
        .replace(env.var("BERTH_ACR_NAME"), "nosuchacr");
    let missing = arm_url_raw(
        &http,
        &t,
        &format!(
            "{}{other}/listCredentials?api-version=2023-07-01",
            env.base()
        ),
    )
    .await;
    assert_eq!(
        (missing.0, missing.1["error"]["code"].as_str()),
        (404, Some("ResourceNotFound"))
    );

    let pull = entra_token(
        env.var("BERTH_SP_PULL_CLIENT_ID"),
        env.var("BERTH_SP_PULL_CLIENT_SECRET"),
        "https://management.azure.com",
    )
    .await;
    let forbidden = arm(&pull, Method::POST, "/listCredentials", None).await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.body["error"]["code"], "AuthorizationFailed");
    let acr_aud = entra_token(
        env.var("BERTH_SP_CLIENT_ID"),
        env.var("BERTH_SP_CLIENT_SECRET"),
        "https://containerregistry.azure.net",
    )
    .await;
    let wrong_aud = arm(&acr_aud, Method::POST, "/listCredentials", None).await;
    assert_eq!(wrong_aud.status, 401);
    assert_eq!(
        wrong_aud.body["error"]["code"],
        "InvalidAuthenticationTokenAudience"
    );

    let bad_secret = http
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            env.base(),
            env.var("BERTH_TENANT_ID")
        ))
        .form(&[
            ("client_id", env.var("BERTH_SP_CLIENT_ID")),
            ("client_secret", "wrong"),
            ("grant_type", "client_credentials"),
            ("scope", "https://management.azure.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_secret.status(), 401);
    let v: Value = bad_secret.json().await.unwrap();
    assert_eq!(v["error"], "invalid_client");
    assert_eq!(v["error_codes"], json!([7000215]));
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215:")
    );
}

async fn arm_url_raw(http: &reqwest::Client, token: &str, url: &str) -> (u16, Value) {
    let r = http.post(url).bearer_auth(token).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}
