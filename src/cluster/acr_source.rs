//! Credential sources for pull-secret rotation: the ACR admin user (`regenerateCredential`),
//! an ACR scope-map token (`generateCredentials`), and a static username/password. ARM is
//! reached through berth's one ARM client ([`crate::azure::arm::ArmClient`]: azure_identity's
//! credentials, long-running operations, retries on reads).

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::azure::arm::{ArmClient, ArmError};
use crate::secret::Secret;

use super::rotate::{CredentialSource, FreshCredentials, SourceError};

pub const DEFAULT_API_VERSION: &str = crate::azure::arm::ACR_API_VERSION;

fn err(msg: impl Into<String>) -> SourceError {
    SourceError(msg.into())
}

fn arm_err(e: ArmError) -> SourceError {
    SourceError(e.to_string())
}

/// A registry's ARM side, for rotation: the ARM client and the registry's resource.
#[derive(Clone, Debug)]
pub struct RegistryArm {
    pub arm: ArmClient,
    /// `/subscriptions/…/providers/Microsoft.ContainerRegistry/registries/NAME`.
    pub registry_id: String,
    pub api_version: String,
}

impl RegistryArm {
    pub fn new(arm: ArmClient, registry_id: impl Into<String>) -> Self {
        Self {
            arm,
            registry_id: registry_id.into(),
            api_version: DEFAULT_API_VERSION.to_owned(),
        }
    }

    pub fn registry_name(&self) -> &str {
        self.registry_id.rsplit('/').next().unwrap_or_default()
    }

    /// POST `{registry}/{action}` and return the final JSON (following a long-running operation).
    pub async fn registry_action(&self, action: &str, body: Value) -> Result<Value, SourceError> {
        self.arm
            .post(
                action,
                &format!("{}/{action}", self.registry_id),
                &self.api_version,
                &body,
            )
            .await
            .map_err(arm_err)
    }

    fn token_path(&self, token_name: &str) -> String {
        format!("{}/tokens/{token_name}", self.registry_id)
    }

    /// Creates (or updates) a scope-map token, e.g. with the built-in `_repositories_pull` map.
    pub async fn create_token(
        &self,
        token_name: &str,
        scope_map: &str,
    ) -> Result<Value, SourceError> {
        let body = json!({"properties": {
            "scopeMapId": format!("{}/scopeMaps/{scope_map}", self.registry_id),
            "status": "enabled",
        }});
        self.arm
            .write_json(
                reqwest::Method::PUT,
                &format!("PUT token {token_name}"),
                &self.token_path(token_name),
                &self.api_version,
                &body,
            )
            .await
            .map_err(arm_err)
    }

    pub async fn delete_token(&self, token_name: &str) -> Result<(), SourceError> {
        self.arm
            .delete(
                &format!("DELETE token {token_name}"),
                &self.token_path(token_name),
                &self.api_version,
            )
            .await
            .map_err(arm_err)
    }

    pub async fn get_token_resource(&self, token_name: &str) -> Result<Value, SourceError> {
        self.arm
            .get_json(
                &format!("GET token {token_name}"),
                &self.token_path(token_name),
                &self.api_version,
            )
            .await
            .map_err(arm_err)
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
    pub arm: std::sync::Arc<RegistryArm>,
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
        format!("ACR admin user of {}", self.arm.registry_name())
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
    pub arm: std::sync::Arc<RegistryArm>,
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
            self.token_name,
            self.arm.registry_name()
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
        let token_id = format!("{}/tokens/{}", self.arm.registry_id, self.token_name);
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
        let token_id = format!("{}/tokens/{}", self.arm.registry_id, self.token_name);
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
    let challenges = crate::registry::challenge::parse_challenges(&challenge);
    let chosen = challenges
        .iter()
        .find(|c| c.is_bearer())
        .or_else(|| challenges.iter().find(|c| c.is_basic()));
    let scheme = chosen.map_or_else(|| challenge.clone(), |c| c.scheme.clone());
    let param = |k: &str| chosen.and_then(|c| c.param(k)).map(str::to_owned);
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
    fn other_slot_alternates() {
        assert_eq!(other_slot(ADMIN_SLOTS, "password"), "password2");
        assert_eq!(other_slot(ADMIN_SLOTS, "password2"), "password");
        assert_eq!(other_slot(TOKEN_SLOTS, "password1"), "password2");
    }
}
