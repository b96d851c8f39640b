//! Azure Resource Manager calls berth makes on an ACR, with long-running-operation polling
//! (`Azure-AsyncOperation` preferred, else `Location`; `Retry-After` honoured).

use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_core::credentials::TokenCredential;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::registry::client::parse_retry_after;
use crate::registry::error::{chain, classify_transport};
use crate::secret::Secret;

pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
pub const ACR_API_VERSION: &str = "2023-07-01";

#[derive(Debug, thiserror::Error)]
pub enum ArmError {
    #[error(
        "ARM {operation}: no Azure token: {message} (sign in, or check the credential in config.toml)"
    )]
    Credential { operation: String, message: String },
    #[error("ARM {operation}: cannot reach {url}: {message}")]
    Network {
        operation: String,
        url: String,
        message: String,
    },
    #[error("ARM {operation} answered {status}: {code}: {message}")]
    Http {
        operation: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("ARM {operation} ended {status}: {code}: {message}")]
    Failed {
        operation: String,
        status: String,
        code: String,
        message: String,
    },
    #[error("ARM {operation} did not finish within {0:?}: check the operation in the Azure portal", .waited)]
    Timeout { operation: String, waited: Duration },
    #[error("ARM {operation}: the answer is not valid: {message}")]
    Invalid { operation: String, message: String },
}

impl ArmError {
    /// The ARM error code (`Conflict`, `AuthorizationFailed`, ...), when there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Http { code, .. } | Self::Failed { code, .. } => Some(code),
            _ => None,
        }
    }
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: Option<ErrorDetail>,
}

#[derive(Deserialize, Default, Clone)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct OperationStatus {
    status: String,
    #[serde(default)]
    error: Option<ErrorDetail>,
}

/// How long-running operations are polled.
#[derive(Clone, Debug)]
pub struct PollPolicy {
    /// Interval when the service gives no `Retry-After`.
    pub interval: Duration,
    /// A `Retry-After` above this is shortened to it.
    pub max_interval: Duration,
    pub timeout: Duration,
}

impl PollPolicy {
    /// How long to sleep before the next poll, `elapsed` into the operation, when the service
    /// asked for `wait`: `None` when waiting that long passes the timeout, else `wait`
    /// shortened to `max_interval`.
    ///
    /// (`elapsed + wait` with plain `+` overflowed on `Retry-After: 18446744073709551615`: a
    /// panic.)
    pub fn next_wait(&self, elapsed: Duration, wait: Duration) -> Option<Duration> {
        (elapsed.saturating_add(wait) <= self.timeout).then(|| wait.min(self.max_interval))
    }
}

/// An ARM error body's `error.code` and `error.message`; for a body of another shape,
/// `HTTP<status>` and an excerpt of the body.
pub fn error_detail(status: u16, body: &[u8]) -> (String, String) {
    let detail = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.error)
        .unwrap_or_else(|| ErrorDetail {
            code: format!("HTTP{status}"),
            message: crate::registry::error::excerpt(body),
        });
    (detail.code, detail.message)
}

/// A success answer's body: `Value::Null` when empty, else JSON.
pub fn read_body(operation: &str, bytes: &[u8]) -> Result<Value, ArmError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|e| ArmError::Invalid {
        operation: operation.to_owned(),
        message: format!("not JSON: {e}"),
    })
}

/// One poll of an `Azure-AsyncOperation` URL: `Ok(true)` when the operation succeeded,
/// `Ok(false)` while it runs, an error when it failed or the answer is not a status.
pub fn read_operation_status(operation: &str, bytes: &[u8]) -> Result<bool, ArmError> {
    let st: OperationStatus = serde_json::from_slice(bytes).map_err(|e| ArmError::Invalid {
        operation: operation.to_owned(),
        message: format!("operation status is not JSON with `status`: {e}"),
    })?;
    match st.status.as_str() {
        "Succeeded" => Ok(true),
        "Failed" | "Canceled" | "Cancelled" => {
            let e = st.error.unwrap_or_default();
            Err(ArmError::Failed {
                operation: operation.to_owned(),
                status: st.status,
                code: e.code,
                message: e.message,
            })
        }
        _ => Ok(false),
    }
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(15 * 60),
        }
    }
}

/// `endpoint` + `path` + `api-version`; `path` may carry a query of its own
/// (`…/roleAssignments?$filter=…`, already encoded).
fn arm_url(endpoint: &Url, path: &str, api_version: &str) -> Url {
    let mut u = endpoint.clone();
    let (path, query) = path
        .split_once('?')
        .map_or((path, None), |(p, q)| (p, Some(q)));
    u.set_path(path);
    u.set_query(query);
    u.query_pairs_mut().append_pair("api-version", api_version);
    u
}

/// An ARM client for one endpoint and credential.
#[derive(Clone)]
pub struct ArmClient {
    http: reqwest::Client,
    endpoint: Url,
    credential: Arc<dyn TokenCredential>,
    pub poll: PollPolicy,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("endpoint", &self.endpoint.as_str())
            .finish_non_exhaustive()
    }
}

/// The source of an ACR import.
#[derive(Clone, Debug)]
pub struct ImportSource {
    /// `registryUri` (a login server) — or `resource_id` for an ACR in the same tenant.
    pub registry_uri: Option<String>,
    pub resource_id: Option<String>,
    pub credentials: Option<(String, Secret)>,
    /// `repo:tag` or `repo@sha256:...`.
    pub source_image: String,
}

/// Admin-user or scope-map-token credentials as ARM returns them.
#[derive(Clone, Debug, Deserialize)]
pub struct RegistryCredentials {
    pub username: String,
    #[serde(default)]
    pub passwords: Vec<PasswordSlot>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PasswordSlot {
    pub name: String,
    pub value: Secret,
    #[serde(default)]
    pub expiry: Option<String>,
}

impl ArmClient {
    pub fn new(
        http: reqwest::Client,
        endpoint: &str,
        credential: Arc<dyn TokenCredential>,
    ) -> Result<Self, ArmError> {
        let endpoint = Url::parse(endpoint).map_err(|e| ArmError::Invalid {
            operation: "setup".into(),
            message: format!("endpoint {endpoint:?} is not a URL: {e}"),
        })?;
        Ok(Self {
            http,
            endpoint,
            credential,
            poll: PollPolicy::default(),
        })
    }

    async fn bearer(&self, operation: &str) -> Result<String, ArmError> {
        let t = self
            .credential
            .get_token(&[ARM_SCOPE], None)
            .await
            .map_err(|e| ArmError::Credential {
                operation: operation.to_owned(),
                message: chain(&e),
            })?;
        Ok(format!("Bearer {}", t.token.secret()))
    }

    fn url(&self, path: &str, api_version: &str) -> Url {
        arm_url(&self.endpoint, path, api_version)
    }

    fn network(&self, operation: &str, url: &Url, e: &reqwest::Error) -> ArmError {
        ArmError::Network {
            operation: operation.to_owned(),
            url: url.to_string(),
            message: classify_transport(e).1,
        }
    }

    async fn error_of(operation: &str, resp: reqwest::Response) -> ArmError {
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap_or_default();
        let (code, message) = error_detail(status, &body);
        ArmError::Http {
            operation: operation.to_owned(),
            status,
            code,
            message,
        }
    }

    /// A GET with retries on 429/5xx (safe to repeat).
    async fn get(&self, operation: &str, url: &Url) -> Result<reqwest::Response, ArmError> {
        let mut attempt = 0;
        loop {
            let auth = self.bearer(operation).await?;
            let resp = self
                .http
                .get(url.clone())
                .header(header::AUTHORIZATION, auth)
                .send()
                .await;
            attempt += 1;
            match resp {
                Ok(r)
                    if (r.status() == StatusCode::TOO_MANY_REQUESTS
                        || r.status().is_server_error())
                        && attempt < 4 =>
                {
                    let wait =
                        retry_after(r.headers()).unwrap_or(Duration::from_millis(500 * attempt));
                    tokio::time::sleep(wait.min(self.poll.max_interval)).await;
                }
                Ok(r) => return Ok(r),
                Err(e) if attempt < 4 && (e.is_connect() || e.is_timeout()) => {
                    tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
                }
                Err(e) => return Err(self.network(operation, url, &e)),
            }
        }
    }

    /// `GET {path}?api-version=..` → its JSON body (retried on 429/5xx).
    pub async fn get_json(
        &self,
        operation: &str,
        path: &str,
        api_version: &str,
    ) -> Result<Value, ArmError> {
        let url = self.url(path, api_version);
        let resp = self.get(operation, &url).await?;
        if resp.status().is_success() {
            Self::body(operation, resp).await
        } else {
            Err(Self::error_of(operation, resp).await)
        }
    }

    /// `PUT`, `PATCH` or `POST {path}?api-version=..` with a JSON body, following a
    /// long-running operation to its end. Not retried: a write is repeated only by the user.
    pub async fn write_json(
        &self,
        method: reqwest::Method,
        operation: &str,
        path: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<Value, ArmError> {
        let url = self.url(path, api_version);
        let auth = self.bearer(operation).await?;
        let resp = self
            .http
            .request(method, url.clone())
            .header(header::AUTHORIZATION, auth)
            .json(body)
            .send()
            .await
            .map_err(|e| self.network(operation, &url, &e))?;
        self.finish(operation, resp).await
    }

    /// `POST {path}?api-version=..` with a JSON body, following a long-running operation to its
    /// end. Returns the final body (`Value::Null` when there is none).
    pub async fn post(
        &self,
        operation: &str,
        path: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<Value, ArmError> {
        self.write_json(reqwest::Method::POST, operation, path, api_version, body)
            .await
    }

    /// Follows a first answer to the operation's end.
    async fn finish(&self, operation: &str, resp: reqwest::Response) -> Result<Value, ArmError> {
        let status = resp.status();
        if status == StatusCode::ACCEPTED
            || (status == StatusCode::CREATED && has_lro(resp.headers()))
        {
            let headers = resp.headers().clone();
            return self.poll_lro(operation, &headers).await;
        }
        if status.is_success() {
            return Self::body(operation, resp).await;
        }
        Err(Self::error_of(operation, resp).await)
    }

    async fn body(operation: &str, resp: reqwest::Response) -> Result<Value, ArmError> {
        let bytes = resp.bytes().await.unwrap_or_default();
        read_body(operation, &bytes)
    }

    fn header_url(&self, headers: &HeaderMap, name: &str) -> Option<Url> {
        let v = headers.get(name)?.to_str().ok()?;
        self.endpoint.join(v).ok()
    }

    async fn poll_lro(&self, operation: &str, first: &HeaderMap) -> Result<Value, ArmError> {
        let started = Instant::now();
        let location = self.header_url(first, "location");
        let mut wait = retry_after(first).unwrap_or(self.poll.interval);
        if let Some(async_op) = self.header_url(first, "azure-asyncoperation") {
            loop {
                self.sleep_or_timeout(operation, started, wait).await?;
                let resp = self.get(operation, &async_op).await?;
                if !resp.status().is_success() {
                    return Err(Self::error_of(operation, resp).await);
                }
                wait = retry_after(resp.headers()).unwrap_or(self.poll.interval);
                let bytes = resp.bytes().await.unwrap_or_default();
                if read_operation_status(operation, &bytes)? {
                    break;
                }
            }
            // The result, if the operation has one, is at the Location.
            return match location {
                Some(loc) => {
                    let resp = self.get(operation, &loc).await?;
                    if resp.status().is_success() {
                        Self::body(operation, resp).await
                    } else {
                        // Some operations have no result resource; the status said Succeeded.
                        Ok(Value::Null)
                    }
                }
                None => Ok(Value::Null),
            };
        }
        let Some(loc) = location else {
            return Err(ArmError::Invalid {
                operation: operation.to_owned(),
                message: "202 without Azure-AsyncOperation or Location".into(),
            });
        };
        loop {
            self.sleep_or_timeout(operation, started, wait).await?;
            let resp = self.get(operation, &loc).await?;
            match resp.status() {
                StatusCode::ACCEPTED => {
                    wait = retry_after(resp.headers()).unwrap_or(self.poll.interval);
                }
                StatusCode::NO_CONTENT => return Ok(Value::Null),
                s if s.is_success() => return Self::body(operation, resp).await,
                _ => {
                    let e = Self::error_of(operation, resp).await;
                    return Err(match e {
                        ArmError::Http { code, message, .. } => ArmError::Failed {
                            operation: operation.to_owned(),
                            status: "Failed".into(),
                            code,
                            message,
                        },
                        other => other,
                    });
                }
            }
        }
    }

    async fn sleep_or_timeout(
        &self,
        operation: &str,
        started: Instant,
        wait: Duration,
    ) -> Result<(), ArmError> {
        let Some(wait) = self.poll.next_wait(started.elapsed(), wait) else {
            return Err(ArmError::Timeout {
                operation: operation.to_owned(),
                waited: started.elapsed(),
            });
        };
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// `POST {registry}/importImage` and wait for it. `force`: `Force` mode (overwrites target tags).
    pub async fn import_image(
        &self,
        registry_id: &str,
        source: &ImportSource,
        target_tags: &[String],
        force: bool,
    ) -> Result<(), ArmError> {
        let mut src = json!({ "sourceImage": source.source_image });
        if let Some(u) = &source.registry_uri {
            src["registryUri"] = json!(u);
        }
        if let Some(r) = &source.resource_id {
            src["resourceId"] = json!(r);
        }
        if let Some((u, p)) = &source.credentials {
            src["credentials"] = json!({ "username": u, "password": p.expose() });
        }
        let body = json!({
            "source": src,
            "targetTags": target_tags,
            "mode": if force { "Force" } else { "NoForce" },
        });
        self.post(
            "importImage",
            &format!("{registry_id}/importImage"),
            ACR_API_VERSION,
            &body,
        )
        .await
        .map(|_| ())
    }

    /// Admin user credentials (`listCredentials`).
    pub async fn list_credentials(
        &self,
        registry_id: &str,
    ) -> Result<RegistryCredentials, ArmError> {
        let v = self
            .post(
                "listCredentials",
                &format!("{registry_id}/listCredentials"),
                ACR_API_VERSION,
                &json!({}),
            )
            .await?;
        parse_credentials("listCredentials", v)
    }

    /// Regenerates an admin password slot (`password` or `password2`).
    pub async fn regenerate_credential(
        &self,
        registry_id: &str,
        slot: &str,
    ) -> Result<RegistryCredentials, ArmError> {
        let v = self
            .post(
                "regenerateCredential",
                &format!("{registry_id}/regenerateCredential"),
                ACR_API_VERSION,
                &json!({ "name": slot }),
            )
            .await?;
        parse_credentials("regenerateCredential", v)
    }

    /// Generates a scope-map token password (`password1` or `password2`), optionally expiring.
    pub async fn generate_token_credentials(
        &self,
        registry_id: &str,
        token_name: &str,
        slot: &str,
        expiry: Option<&str>,
    ) -> Result<RegistryCredentials, ArmError> {
        let mut body =
            json!({ "tokenId": format!("{registry_id}/tokens/{token_name}"), "name": slot });
        if let Some(e) = expiry {
            body["expiry"] = json!(e);
        }
        let v = self
            .post(
                "generateCredentials",
                &format!("{registry_id}/generateCredentials"),
                ACR_API_VERSION,
                &body,
            )
            .await?;
        parse_credentials("generateCredentials", v)
    }
}

/// `listCredentials`/`regenerateCredential`/`generateCredentials` answers.
pub fn parse_credentials(operation: &str, v: Value) -> Result<RegistryCredentials, ArmError> {
    serde_json::from_value(v).map_err(|e| ArmError::Invalid {
        operation: operation.to_owned(),
        message: format!("no `username`/`passwords`: {e}"),
    })
}

fn has_lro(h: &HeaderMap) -> bool {
    h.contains_key("azure-asyncoperation") || h.contains_key(header::LOCATION)
}

fn retry_after(h: &HeaderMap) -> Option<Duration> {
    h.get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_retry_after_neither_panics_nor_outwaits_the_timeout() {
        // `Retry-After: 18446744073709551615` overflowed `elapsed + wait` (found by
        // tests/fuzz_parsers.rs).
        let p = PollPolicy::default();
        let huge = parse_retry_after("18446744073709551615").unwrap();
        assert_eq!(p.next_wait(Duration::from_secs(1), huge), None);
        assert_eq!(p.next_wait(Duration::MAX, Duration::from_secs(1)), None);
        assert_eq!(
            p.next_wait(Duration::ZERO, Duration::from_secs(1)),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            p.next_wait(Duration::ZERO, Duration::from_secs(300)),
            Some(p.max_interval)
        );
    }

    #[test]
    fn urls_keep_a_query_of_their_own() {
        let e = Url::parse("https://management.azure.com").unwrap();
        assert_eq!(
            arm_url(&e, "/subscriptions/s/x", "2022-04-01").as_str(),
            "https://management.azure.com/subscriptions/s/x?api-version=2022-04-01"
        );
        assert_eq!(
            arm_url(
                &e,
                "/s/roleAssignments?$filter=principalId%20eq%20%27o%27",
                "2022-04-01"
            )
            .as_str(),
            "https://management.azure.com/s/roleAssignments?$filter=principalId%20eq%20%27o%27&api-version=2022-04-01"
        );
    }

    #[test]
    fn operation_status_and_error_bodies() {
        assert!(read_operation_status("op", br#"{"status":"Succeeded"}"#).unwrap());
        assert!(!read_operation_status("op", br#"{"status":"InProgress"}"#).unwrap());
        let e = read_operation_status(
            "importImage",
            br#"{"status":"Failed","error":{"code":"X","message":"y"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.code(), Some("X"));
        assert!(e.to_string().contains("importImage"), "{e}");
        let e = read_operation_status("op", b"{}").unwrap_err().to_string();
        assert!(e.contains("`status`"), "{e}");
        assert_eq!(
            error_detail(409, br#"{"error":{"code":"Conflict","message":"busy"}}"#),
            ("Conflict".to_owned(), "busy".to_owned())
        );
        assert_eq!(
            error_detail(502, b"<html>bad gateway</html>"),
            ("HTTP502".to_owned(), "<html>bad gateway</html>".to_owned())
        );
        assert_eq!(read_body("op", b"").unwrap(), Value::Null);
    }

    #[test]
    fn credentials_parse_and_redact() {
        let v = json!({"username":"berthacr","passwords":[{"name":"password","value":"p1"},{"name":"password2","value":"p2"}]});
        let c = parse_credentials("x", v).unwrap();
        assert_eq!(c.passwords[1].value.expose(), "p2");
        assert!(!format!("{c:?}").contains("p1"));
        let e = parse_credentials("listCredentials", json!({"nope":1}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("listCredentials"), "{e}");
    }
}
