//! Credential sources for pull-secret rotation, talking to Entra ID, ARM and the registry with
//! reqwest: ACR admin user (`regenerateCredential`), ACR scope-map token (`generateCredentials`),
//! and a static username/password.
//!
//! This is the cluster side's own minimal ARM client, written so rotation can be tested end to
//! end against the stand-in. The registry module owns the full ARM/ACR client; the lead will
//! reconcile the two (the [`CredentialSource`] trait is the seam).

use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::secret::Secret;

use super::rotate::{CredentialSource, FreshCredentials, SourceError};

pub const DEFAULT_API_VERSION: &str = "2023-07-01";
const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// How long to follow a long-running ARM operation before giving up.
const LRO_DEADLINE: Duration = Duration::from_secs(120);

fn err(msg: impl Into<String>) -> SourceError {
    SourceError(msg.into())
}

/// An HTTP client trusting the system roots plus an extra CA bundle (PEM), if given.
pub fn http_client(extra_ca_pem: Option<&[u8]>) -> Result<reqwest::Client, SourceError> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60));
    if let Some(pem) = extra_ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| err(format!("the CA bundle is not PEM certificates: {e}")))?;
        b = b.tls_certs_merge(certs);
    }
    b.build()
        .map_err(|e| err(format!("cannot build the HTTP client: {e}")))
}

/// Where ARM and Entra ID are, and which registry.
#[derive(Clone, Debug)]
pub struct ArmTarget {
    /// `https://login.microsoftonline.com` (or the stand-in's base URL).
    pub authority: String,
    /// `https://management.azure.com` (or the stand-in's base URL).
    pub management: String,
    pub tenant_id: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub registry_name: String,
    pub api_version: String,
}

impl ArmTarget {
    pub fn registry_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerRegistry/registries/{}",
            self.subscription_id, self.resource_group, self.registry_name
        )
    }
}

/// A service principal (client credentials flow).
#[derive(Clone, Debug)]
pub struct ClientSecretCredential {
    pub client_id: String,
    pub client_secret: Secret,
}

/// Minimal ARM client: an Entra token (cached until shortly before expiry) and POSTs on the
/// registry resource, following 202 + Location long-running operations.
pub struct ArmClient {
    http: reqwest::Client,
    target: ArmTarget,
    credential: ClientSecretCredential,
    token: Mutex<Option<(Secret, Instant)>>,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

async fn json_body(resp: reqwest::Response, what: &str) -> Result<Value, SourceError> {
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| err(format!("{what}: reading the response failed: {e}")))?;
    read_json_answer(status, &text, what)
}

/// An ARM or Entra answer: its JSON (`Null` when empty) on success, else an error with the
/// body's `error.message` / `error_description` (or its first 300 characters).
pub fn read_json_answer(status: StatusCode, text: &str, what: &str) -> Result<Value, SourceError> {
    if !status.is_success() {
        // ARM/Entra error bodies carry no secrets: {"error":{"code","message"}} or
        // {"error","error_description"}.
        let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let detail = v["error"]["message"]
            .as_str()
            .or(v["error_description"].as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| text.chars().take(300).collect());
        return Err(err(format!("{what}: HTTP {status}: {detail}")));
    }
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text).map_err(|e| err(format!("{what}: the response is not JSON: {e}")))
}

/// Longest an Entra token is cached, whatever its `expires_in` says.
const MAX_TOKEN_CACHE: Duration = Duration::from_secs(24 * 3600);

/// An Entra token answer: the `access_token` and how long to cache it (`expires_in` less a
/// minute, 10 s to a day; 300 s when absent).
///
/// (Uncapped, `expires_in: 18446744073709551615` overflowed `Instant::now() + ..`: a panic.)
pub fn read_entra_token(v: &Value) -> Result<(Secret, Duration), SourceError> {
    let token = v["access_token"]
        .as_str()
        .ok_or_else(|| err("Entra token response has no access_token"))?;
    let expires_in = v["expires_in"].as_u64().unwrap_or(300);
    let keep = Duration::from_secs(expires_in.saturating_sub(60).max(10)).min(MAX_TOKEN_CACHE);
    Ok((Secret::new(token), keep))
}

impl ArmClient {
    pub fn new(
        http: reqwest::Client,
        target: ArmTarget,
        credential: ClientSecretCredential,
    ) -> Self {
        Self {
            http,
            target,
            credential,
            token: Mutex::new(None),
        }
    }

    pub fn target(&self) -> &ArmTarget {
        &self.target
    }

    async fn token(&self) -> Result<Secret, SourceError> {
        let mut cached = self.token.lock().await;
        if let Some((t, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.target.authority.trim_end_matches('/'),
            self.target.tenant_id
        );
        let resp = self
            .http
            .post(&url)
            .form(&[
                ("client_id", self.credential.client_id.as_str()),
                ("client_secret", self.credential.client_secret.expose()),
                ("grant_type", "client_credentials"),
                ("scope", ARM_SCOPE),
            ])
            .send()
            .await
            .map_err(|e| err(format!("Entra token request to {url} failed: {e}")))?;
        let v = json_body(resp, "Entra token request").await?;
        let (token, keep) = read_entra_token(&v)?;
        *cached = Some((token.clone(), Instant::now() + keep));
        Ok(token)
    }

    /// POST `{registry}/{action}` and return the final JSON (following a long-running operation).
    pub async fn registry_action(&self, action: &str, body: Value) -> Result<Value, SourceError> {
        let url = format!(
            "{}{}/{action}?api-version={}",
            self.target.management.trim_end_matches('/'),
            self.target.registry_id(),
            self.target.api_version
        );
        let what = format!("ARM {action} on registry {}", self.target.registry_name);
        let token = self.token().await?;
        let resp = self
            .http
            .post(&url)
            .bearer_auth(token.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| err(format!("{what} failed: {e}")))?;
        if resp.status() == StatusCode::ACCEPTED {
            return self.follow_operation(resp, &what).await;
        }
        json_body(resp, &what).await
    }

    /// Follows `Location` of a 202 until it answers 200 (honouring `Retry-After`) — the ARM
    /// long-running-operation protocol, bounded by a deadline.
    async fn follow_operation(
        &self,
        mut resp: reqwest::Response,
        what: &str,
    ) -> Result<Value, SourceError> {
        let deadline = Instant::now() + LRO_DEADLINE;
        loop {
            let location = resp
                .headers()
                .get("location")
                .or_else(|| resp.headers().get("azure-asyncoperation"))
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .ok_or_else(|| err(format!("{what}: 202 without a Location header")))?;
            let wait = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1)
                .min(30);
            if Instant::now() + Duration::from_secs(wait) > deadline {
                return Err(err(format!(
                    "{what}: the long-running operation did not finish within {LRO_DEADLINE:?}"
                )));
            }
            tokio::time::sleep(Duration::from_secs(wait)).await;
            let token = self.token().await?;
            resp = self
                .http
                .get(&location)
                .bearer_auth(token.expose())
                .send()
                .await
                .map_err(|e| err(format!("{what}: polling the operation failed: {e}")))?;
            if resp.status() != StatusCode::ACCEPTED {
                return json_body(resp, what).await;
            }
        }
    }

    /// Creates (or updates) a scope-map token, e.g. with the built-in `_repositories_pull` map.
    pub async fn create_token(
        &self,
        token_name: &str,
        scope_map: &str,
    ) -> Result<Value, SourceError> {
        let url = format!(
            "{}{}/tokens/{token_name}?api-version={}",
            self.target.management.trim_end_matches('/'),
            self.target.registry_id(),
            self.target.api_version
        );
        let body = json!({"properties": {
            "scopeMapId": format!("{}/scopeMaps/{scope_map}", self.target.registry_id()),
            "status": "enabled",
        }});
        let token = self.token().await?;
        let resp = self
            .http
            .put(&url)
            .bearer_auth(token.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| err(format!("ARM PUT token {token_name} failed: {e}")))?;
        json_body(resp, &format!("ARM PUT token {token_name}")).await
    }

    pub async fn delete_token(&self, token_name: &str) -> Result<(), SourceError> {
        let url = format!(
            "{}{}/tokens/{token_name}?api-version={}",
            self.target.management.trim_end_matches('/'),
            self.target.registry_id(),
            self.target.api_version
        );
        let token = self.token().await?;
        let resp = self
            .http
            .delete(&url)
            .bearer_auth(token.expose())
            .send()
            .await
            .map_err(|e| err(format!("ARM DELETE token {token_name} failed: {e}")))?;
        json_body(resp, &format!("ARM DELETE token {token_name}"))
            .await
            .map(|_| ())
    }

    pub async fn get_token_resource(&self, token_name: &str) -> Result<Value, SourceError> {
        let url = format!(
            "{}{}/tokens/{token_name}?api-version={}",
            self.target.management.trim_end_matches('/'),
            self.target.registry_id(),
            self.target.api_version
        );
        let token = self.token().await?;
        let resp = self
            .http
            .get(&url)
            .bearer_auth(token.expose())
            .send()
            .await
            .map_err(|e| err(format!("ARM GET token {token_name} failed: {e}")))?;
        json_body(resp, &format!("ARM GET token {token_name}")).await
    }
}

/// Which slot a source regenerates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotPolicy {
    /// The slot not in use (zero-downtime rotation).
    Alternate,
    /// Always this slot (`password`/`password2` for admin, `password1`/`password2` for tokens).
    Fixed(String),
}

fn password_named<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v["passwords"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?["value"]
        .as_str()
}

/// The ACR admin user: `listCredentials` / `regenerateCredential`.
#[derive(Debug)]
pub struct AcrAdminSource {
    pub arm: std::sync::Arc<ArmClient>,
    pub http: reqwest::Client,
    /// `myacr.azurecr.io` (the stand-in: `127.0.0.1:PORT`).
    pub login_server: String,
    pub slot: SlotPolicy,
    /// A repository to prove pull access on; `None` only proves the credentials are accepted.
    pub verify_repository: Option<String>,
}

const ADMIN_SLOTS: [&str; 2] = ["password", "password2"];

fn other_slot<'a>(slots: [&'a str; 2], slot: &str) -> &'a str {
    if slot == slots[0] { slots[1] } else { slots[0] }
}

#[async_trait::async_trait]
impl CredentialSource for AcrAdminSource {
    fn describe(&self) -> String {
        format!("ACR admin user of {}", self.arm.target.registry_name)
    }

    fn registry_host(&self) -> String {
        self.login_server.clone()
    }

    async fn fresh_credentials(&self, in_use: &[Secret]) -> Result<FreshCredentials, SourceError> {
        let slot = match &self.slot {
            SlotPolicy::Fixed(s) => s.clone(),
            SlotPolicy::Alternate => {
                let current = self
                    .arm
                    .registry_action("listCredentials", json!({}))
                    .await?;
                let used = ADMIN_SLOTS.iter().find(|s| {
                    password_named(&current, s)
                        .is_some_and(|v| in_use.iter().any(|u| u.expose() == v))
                });
                // Regenerate the slot the namespaces do not use; with no evidence, the secondary.
                match used {
                    Some(u) => other_slot(ADMIN_SLOTS, u).to_owned(),
                    None => "password2".to_owned(),
                }
            }
        };
        if !ADMIN_SLOTS.contains(&slot.as_str()) {
            return Err(err(format!(
                "admin slot {slot:?} is not one of password, password2"
            )));
        }
        let v = self
            .arm
            .registry_action("regenerateCredential", json!({ "name": slot }))
            .await?;
        let username = v["username"]
            .as_str()
            .ok_or_else(|| err("regenerateCredential answered without a username"))?;
        let password = password_named(&v, &slot)
            .ok_or_else(|| err(format!("regenerateCredential answered without slot {slot}")))?;
        Ok(FreshCredentials {
            username: username.to_owned(),
            password: Secret::new(password),
            slot: Some(slot),
            expiry: None,
        })
    }

    async fn verify(&self, creds: &FreshCredentials) -> Result<(), SourceError> {
        verify_registry_credentials(
            &self.http,
            &self.login_server,
            &creds.username,
            &creds.password,
            self.verify_repository.as_deref(),
        )
        .await
    }

    async fn invalidate_old_slot(
        &self,
        fresh: &FreshCredentials,
    ) -> Result<Option<String>, SourceError> {
        let old = other_slot(ADMIN_SLOTS, fresh.slot.as_deref().unwrap_or("password2")).to_owned();
        self.arm
            .registry_action("regenerateCredential", json!({ "name": old }))
            .await?;
        Ok(Some(old))
    }
}

/// An ACR scope-map token: `generateCredentials` for one of its two passwords, with an expiry.
#[derive(Debug)]
pub struct AcrTokenSource {
    pub arm: std::sync::Arc<ArmClient>,
    pub http: reqwest::Client,
    pub login_server: String,
    pub token_name: String,
    /// Lifetime of the new password.
    pub lifetime: jiff::SignedDuration,
    pub slot: SlotPolicy,
    pub verify_repository: Option<String>,
}

const TOKEN_SLOTS: [&str; 2] = ["password1", "password2"];

impl AcrTokenSource {
    /// Token password values cannot be read back, so "the slot in use" is presumed to be the
    /// most recently created one; the other (or an empty one) is regenerated.
    async fn slot_to_regenerate(&self) -> Result<String, SourceError> {
        let v = self.arm.get_token_resource(&self.token_name).await?;
        let created = |slot: &str| -> Option<String> {
            v["properties"]["credentials"]["passwords"]
                .as_array()?
                .iter()
                .find(|p| p["name"] == slot)?["creationTime"]
                .as_str()
                .map(str::to_owned)
        };
        Ok(match (created("password1"), created("password2")) {
            (None, _) => "password1",
            (_, None) => "password2",
            (Some(a), Some(b)) => {
                let parse = |s: &str| s.parse::<jiff::Timestamp>().ok();
                if parse(&a) >= parse(&b) {
                    "password2"
                } else {
                    "password1"
                }
            }
        }
        .to_owned())
    }
}

#[async_trait::async_trait]
impl CredentialSource for AcrTokenSource {
    fn describe(&self) -> String {
        format!(
            "ACR scope-map token {} of {}",
            self.token_name, self.arm.target.registry_name
        )
    }

    fn registry_host(&self) -> String {
        self.login_server.clone()
    }

    async fn fresh_credentials(&self, _in_use: &[Secret]) -> Result<FreshCredentials, SourceError> {
        let slot = match &self.slot {
            SlotPolicy::Fixed(s) => s.clone(),
            SlotPolicy::Alternate => self.slot_to_regenerate().await?,
        };
        if !TOKEN_SLOTS.contains(&slot.as_str()) {
            return Err(err(format!(
                "token slot {slot:?} is not one of password1, password2"
            )));
        }
        let expiry = jiff::Timestamp::now()
            .checked_add(self.lifetime)
            .map_err(|e| err(format!("bad token lifetime: {e}")))?;
        let token_id = format!(
            "{}/tokens/{}",
            self.arm.target.registry_id(),
            self.token_name
        );
        let v = self
            .arm
            .registry_action(
                "generateCredentials",
                json!({
                    "tokenId": token_id,
                    "expiry": expiry.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    "name": slot,
                }),
            )
            .await?;
        let username = v["username"]
            .as_str()
            .unwrap_or(&self.token_name)
            .to_owned();
        let password = password_named(&v, &slot)
            .ok_or_else(|| err(format!("generateCredentials answered without {slot}")))?;
        Ok(FreshCredentials {
            username,
            password: Secret::new(password),
            slot: Some(slot),
            expiry: Some(expiry),
        })
    }

    async fn verify(&self, creds: &FreshCredentials) -> Result<(), SourceError> {
        verify_registry_credentials(
            &self.http,
            &self.login_server,
            &creds.username,
            &creds.password,
            self.verify_repository.as_deref(),
        )
        .await
    }

    async fn invalidate_old_slot(
        &self,
        fresh: &FreshCredentials,
    ) -> Result<Option<String>, SourceError> {
        let old = other_slot(TOKEN_SLOTS, fresh.slot.as_deref().unwrap_or("password2")).to_owned();
        let token_id = format!(
            "{}/tokens/{}",
            self.arm.target.registry_id(),
            self.token_name
        );
        // Regenerating replaces the old value with one nobody keeps: the old password stops
        // working, and the new one is dropped here.
        self.arm
            .registry_action(
                "generateCredentials",
                json!({"tokenId": token_id, "name": old}),
            )
            .await?;
        Ok(Some(old))
    }
}

/// A fixed username/password (from env or a file): nothing to mint, but still verified.
#[derive(Debug)]
pub struct StaticSource {
    pub http: reqwest::Client,
    pub registry: String,
    pub username: String,
    pub password: Secret,
    pub verify_repository: Option<String>,
}

#[async_trait::async_trait]
impl CredentialSource for StaticSource {
    fn describe(&self) -> String {
        format!("static credentials of user {}", self.username)
    }

    fn registry_host(&self) -> String {
        self.registry.clone()
    }

    async fn fresh_credentials(&self, _in_use: &[Secret]) -> Result<FreshCredentials, SourceError> {
        Ok(FreshCredentials {
            username: self.username.clone(),
            password: self.password.clone(),
            slot: None,
            expiry: None,
        })
    }

    async fn verify(&self, creds: &FreshCredentials) -> Result<(), SourceError> {
        verify_registry_credentials(
            &self.http,
            &self.registry,
            &creds.username,
            &creds.password,
            self.verify_repository.as_deref(),
        )
        .await
    }

    async fn invalidate_old_slot(
        &self,
        _fresh: &FreshCredentials,
    ) -> Result<Option<String>, SourceError> {
        Ok(None)
    }
}

/// `Www-Authenticate` challenge parameters: (scheme, params).
pub fn parse_challenge(header: &str) -> (String, Vec<(String, String)>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((k, after)) = rest.split_once('=') else {
            break;
        };
        let k = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (v, remaining) = if let Some(q) = after.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (&q[..end], &q[end + 1..]),
                None => (q, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        params.push((k, v.to_owned()));
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme.to_ascii_lowercase(), params)
}

/// Proves `username`/`password` work against `registry`: follows the registry's challenge
/// (Bearer token endpoint with Basic credentials, or Basic directly) and, with a repository,
/// lists its tags with the resulting authorisation (404 NAME_UNKNOWN still proves access).
pub async fn verify_registry_credentials(
    http: &reqwest::Client,
    registry: &str,
    username: &str,
    password: &Secret,
    repository: Option<&str>,
) -> Result<(), SourceError> {
    let base = format!("https://{registry}");
    let probe = match repository {
        Some(r) => format!("{base}/v2/{r}/tags/list?n=1"),
        None => format!("{base}/v2/"),
    };
    let first = http
        .get(&probe)
        .send()
        .await
        .map_err(|e| err(format!("cannot reach {registry}: {e}")))?;
    if first.status() != StatusCode::UNAUTHORIZED {
        return Err(err(format!(
            "{registry} answered {} without credentials; expected a 401 challenge",
            first.status()
        )));
    }
    let challenge = first
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let (scheme, params) = parse_challenge(&challenge);
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let authorization = match scheme.as_str() {
        "basic" => {
            let b = base64::engine::general_purpose::STANDARD
                .encode(format!("{username}:{}", password.expose()));
            format!("Basic {b}")
        }
        "bearer" => {
            let realm = param("realm")
                .ok_or_else(|| err(format!("{registry}'s challenge has no realm")))?;
            let mut query: Vec<(String, String)> = Vec::new();
            if let Some(s) = param("service") {
                query.push(("service".into(), s));
            }
            if let Some(r) = repository {
                query.push(("scope".into(), format!("repository:{r}:pull")));
            }
            let resp = http
                .get(&realm)
                .query(&query)
                .basic_auth(username, Some(password.expose()))
                .send()
                .await
                .map_err(|e| err(format!("token request to {realm} failed: {e}")))?;
            let status = resp.status();
            if !status.is_success() {
                return Err(err(format!(
                    "{registry} rejected the credentials of {username} (token endpoint answered {status})"
                )));
            }
            let v: Value = resp
                .json()
                .await
                .map_err(|e| err(format!("token response of {realm} is not JSON: {e}")))?;
            let token = v["access_token"]
                .as_str()
                .or(v["token"].as_str())
                .ok_or_else(|| err(format!("token response of {realm} has no token")))?;
            format!("Bearer {token}")
        }
        other => {
            return Err(err(format!(
                "{registry} asked for unsupported authentication {other:?}"
            )));
        }
    };
    let resp = http
        .get(&probe)
        .header("authorization", authorization)
        .send()
        .await
        .map_err(|e| err(format!("cannot reach {registry}: {e}")))?;
    let status = resp.status();
    if status.is_success() || (status == StatusCode::NOT_FOUND && repository.is_some()) {
        Ok(())
    } else {
        Err(err(format!(
            "{registry} refused {username}{} (HTTP {status})",
            repository
                .map(|r| format!(" pulling {r}"))
                .unwrap_or_default()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_entra_expires_in_does_not_overflow() {
        // `Instant::now() + 18446744073709551555 s` panicked (found by tests/fuzz_parsers.rs).
        let (t, keep) =
            read_entra_token(&json!({"access_token": "a", "expires_in": u64::MAX})).unwrap();
        assert_eq!(t.expose(), "a");
        let _ = Instant::now() + keep;
        assert_eq!(keep, MAX_TOKEN_CACHE);
        let (_, keep) = read_entra_token(&json!({"access_token": "a"})).unwrap();
        assert_eq!(keep, Duration::from_secs(240));
        assert!(read_entra_token(&json!({"expires_in": 1})).is_err());
    }

    #[test]
    fn error_answers_name_the_call_and_the_service_words() {
        let e = read_json_answer(
            StatusCode::FORBIDDEN,
            r#"{"error":{"code":"AuthorizationFailed","message":"no role"}}"#,
            "ARM listCredentials",
        )
        .unwrap_err();
        assert!(
            e.0.contains("ARM listCredentials") && e.0.contains("no role"),
            "{e:?}"
        );
        let e = read_json_answer(StatusCode::OK, "<html>", "x").unwrap_err();
        assert!(e.0.contains("not JSON"), "{e:?}");
        assert_eq!(
            read_json_answer(StatusCode::OK, " ", "x").unwrap(),
            Value::Null
        );
    }

    #[test]
    fn parses_bearer_and_basic_challenges() {
        let (s, p) = parse_challenge(
            r#"Bearer realm="https://r/oauth2/token",service="r",scope="repository:web:pull""#,
        );
        assert_eq!(s, "bearer");
        assert_eq!(
            p,
            vec![
                ("realm".into(), "https://r/oauth2/token".into()),
                ("service".into(), "r".into()),
                ("scope".into(), "repository:web:pull".into())
            ]
        );
        let (s, p) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!((s.as_str(), p[0].1.as_str()), ("basic", "Registry Realm"));
    }

    #[test]
    fn other_slot_alternates() {
        assert_eq!(other_slot(ADMIN_SLOTS, "password"), "password2");
        assert_eq!(other_slot(ADMIN_SLOTS, "password2"), "password");
        assert_eq!(other_slot(TOKEN_SLOTS, "password1"), "password2");
    }
}
