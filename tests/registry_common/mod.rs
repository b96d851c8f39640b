//! Helpers for the registry tests (`tests/registry_*.rs`): berth registry clients for the
//! environment's ACR (the stand-in) and plain registry, the stand-in's controls, the real
//! registry's log. The environment itself is found by `tests/standin_support`.
#![allow(dead_code, unused_imports)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use berth::azure::arm::ArmClient;
use berth::registry::client::{ClientConfig, RegistryClient, http_client};
use berth::registry::config::{ArmConfig, CredentialSource, RegistryConfig, RegistryKind};
use berth::registry::connect::Registry;
use berth::registry::credential::Credential;
use berth::secret::Secret;
use serde_json::Value;

pub use crate::standin_support::{Env, inspect, push_copy, skopeo, unique, wait_for};

pub fn ca() -> PathBuf {
    PathBuf::from(Env::get().var("BERTH_CA_FILE"))
}

pub fn admin() -> Credential {
    let env = Env::get();
    Credential::basic(
        env.var("BERTH_ACR_ADMIN_USER"),
        env.var("BERTH_ACR_ADMIN_PASSWORD"),
    )
}

pub fn admin_pair() -> (String, String) {
    let env = Env::get();
    (
        env.var("BERTH_ACR_ADMIN_USER").to_owned(),
        env.var("BERTH_ACR_ADMIN_PASSWORD").to_owned(),
    )
}

pub fn plain_pair() -> (String, String) {
    let env = Env::get();
    (
        env.var("BERTH_PLAIN_USER").to_owned(),
        env.var("BERTH_PLAIN_PASSWORD").to_owned(),
    )
}

pub fn plain_credential() -> Credential {
    let (u, p) = plain_pair();
    Credential::basic(u, p)
}

fn config(name: &str, host: &str, kind: RegistryKind, credential: Credential) -> ClientConfig {
    let mut c = ClientConfig::new(name, host, kind, credential);
    c.ca_file = Some(ca());
    c
}

/// The ACR (stand-in) with `credential`; `trace` records every exchange.
pub fn acr_client(credential: Credential) -> RegistryClient {
    acr_client_with(credential, |_| {})
}

pub fn acr_client_with(
    credential: Credential,
    tweak: impl FnOnce(&mut ClientConfig),
) -> RegistryClient {
    let mut c = config("acr", Env::get().acr(), RegistryKind::Acr, credential);
    tweak(&mut c);
    RegistryClient::new(c).expect("ACR client")
}

pub fn plain_client_with(tweak: impl FnOnce(&mut ClientConfig)) -> RegistryClient {
    let env = Env::get();
    let mut c = config(
        "plain",
        env.var("BERTH_PLAIN_REGISTRY_HOST"),
        RegistryKind::Oci,
        plain_credential(),
    );
    tweak(&mut c);
    RegistryClient::new(c).expect("plain registry client")
}

fn registry_config(name: &str, host: &str, kind: RegistryKind) -> RegistryConfig {
    RegistryConfig {
        name: name.to_owned(),
        host: host.to_owned(),
        kind: Some(kind),
        credential: CredentialSource::Anonymous,
        ca_file: Some(ca()),
        arm: None,
    }
}

pub fn arm_config() -> ArmConfig {
    let env = Env::get();
    ArmConfig {
        subscription_id: env.var("BERTH_SUBSCRIPTION_ID").to_owned(),
        resource_group: env.var("BERTH_RESOURCE_GROUP").to_owned(),
        registry_name: env.var("BERTH_ACR_NAME").to_owned(),
        endpoint: Some(env.var("BERTH_AZURE_URL").to_owned()),
        authority_host: Some(env.var("BERTH_AZURE_URL").to_owned()),
    }
}

/// The push+pull service principal as an Entra credential (azure_identity's
/// ClientSecretCredential against the stand-in's authority, trusting the test CA).
pub fn sp_entra(
    client_id_var: &str,
    secret_var: &str,
) -> (
    Arc<dyn azure_core::credentials::TokenCredential>,
    Credential,
) {
    let env = Env::get();
    let http = http_client(Some(&ca()), "entra").unwrap();
    let cred = berth::azure::credential::client_secret(
        env.var("BERTH_TENANT_ID"),
        env.var(client_id_var),
        &Secret::new(env.var(secret_var)),
        &http,
        Some(env.var("BERTH_AZURE_URL")),
    )
    .expect("client secret credential");
    (
        cred.clone(),
        Credential::Entra {
            credential: cred,
            tenant: Some(env.var("BERTH_TENANT_ID").to_owned()),
            label: format!("client-secret {}", env.var(client_id_var)),
        },
    )
}

/// The ACR as a configured registry (admin user), optionally with ARM (as the push SP).
pub fn acr_registry(with_arm: bool) -> Registry {
    let env = Env::get();
    let mut config = registry_config("acr", env.acr(), RegistryKind::Acr);
    let arm = with_arm.then(|| {
        let (cred, _) = sp_entra("BERTH_SP_CLIENT_ID", "BERTH_SP_CLIENT_SECRET");
        let http = http_client(Some(&ca()), "acr").unwrap();
        let mut arm = ArmClient::new(http, env.var("BERTH_AZURE_URL"), cred).unwrap();
        arm.poll.interval = Duration::from_millis(200);
        config.arm = Some(arm_config());
        arm
    });
    Registry {
        config,
        client: acr_client(admin()),
        arm,
    }
}

pub fn plain_registry() -> Registry {
    let env = Env::get();
    Registry {
        config: registry_config(
            "plain",
            env.var("BERTH_PLAIN_REGISTRY_HOST"),
            RegistryKind::Oci,
        ),
        client: plain_client_with(|_| {}),
        arm: None,
    }
}

/// The digest skopeo sees for `image` (repo:tag) on the ACR.
pub async fn acr_digest(image: &str) -> Result<String, String> {
    let (u, p) = admin_pair();
    let v = inspect(image, &u, &p).await?;
    Ok(v["Digest"].as_str().expect("Digest").to_owned())
}

/// `skopeo inspect --raw` digest-free check helper: the digest of `docker://{host}/{image}`.
pub async fn digest_on(
    host: &str,
    image: &str,
    user: &str,
    password: &str,
) -> Result<String, String> {
    let creds = format!("{user}:{password}");
    let r = skopeo(&[
        "inspect",
        "--retry-times",
        "0",
        "--creds",
        &creds,
        &format!("docker://{host}/{image}"),
    ])
    .await;
    if !r.ok {
        return Err(r.stderr);
    }
    let v: Value = serde_json::from_str(&r.stdout).expect("skopeo JSON");
    Ok(v["Digest"].as_str().expect("Digest").to_owned())
}

/// Access-log lines of the real registry (behind the stand-in) for `/v2/{repo}/...`.
pub fn registry_log_lines(repo: &str) -> Vec<String> {
    let path = Env::get().var("BERTH_REGISTRY_LOG");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let needle = format!(" /v2/{repo}/");
    text.lines()
        .filter(|l| l.starts_with("127.0.0.1 - -") && l.contains(&needle))
        .map(str::to_owned)
        .collect()
}

/// Blob upload requests (POST/PATCH/PUT on `/blobs/uploads`) of `repo` in the registry log.
pub fn upload_lines(repo: &str) -> Vec<String> {
    registry_log_lines(repo)
        .into_iter()
        .filter(|l| l.contains("/blobs/uploads"))
        .collect()
}

pub fn control() -> (reqwest::Client, String) {
    let env = Env::get();
    (env.http(), env.var("BERTH_STANDIN_CONTROL").to_owned())
}

/// Installs a stand-in fault; returns its id.
pub async fn fault(spec: Value) -> u64 {
    let (http, base) = control();
    let r = http
        .post(format!("{base}/faults"))
        .json(&spec)
        .send()
        .await
        .expect("fault request");
    assert_eq!(r.status(), 201, "installing fault {spec}");
    let v: Value = r.json().await.unwrap();
    v["id"].as_u64().expect("fault id")
}

pub async fn clear_faults(path_contains: &str) {
    let (http, base) = control();
    let _ = http
        .delete(format!("{base}/faults"))
        .query(&[("path_contains", path_contains)])
        .send()
        .await;
}

/// The stand-in's request stats for paths containing `needle`.
pub async fn stats(needle: &str) -> Value {
    let (http, base) = control();
    http.get(format!("{base}/stats"))
        .query(&[("path_contains", needle)])
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats JSON")
}

/// sha256 of the exact manifest bytes `skopeo inspect --raw` prints for `image` on the ACR
/// (for images skopeo will not resolve to this machine's platform, like an arm-only index).
pub async fn acr_raw_digest(image: &str) -> Result<String, String> {
    use sha2::Digest;
    let (u, p) = admin_pair();
    let creds = format!("{u}:{p}");
    let r = skopeo(&[
        "inspect",
        "--raw",
        "--retry-times",
        "0",
        "--creds",
        &creds,
        &format!("docker://{}/{image}", Env::get().acr()),
    ])
    .await;
    if !r.ok {
        return Err(r.stderr);
    }
    let d = sha2::Sha256::digest(r.stdout.as_bytes());
    Ok(format!(
        "sha256:{}",
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}
