//! The HTTP core of the registry client: authentication (challenge → token, per-scope cache),
//! retries for safe requests, error mapping, and an optional trace of every exchange (for the
//! probe's evidence and the benchmark's round-trip count).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use url::Url;

use super::challenge::{Challenge, parse_challenges};
use super::config::RegistryKind;
use super::credential::Credential;
use super::error::{ApiError, RegistryError, classify_transport, describe_body, parse_api_errors};
use crate::secret::Secret;

/// The ACR audience for Entra tokens that are exchanged for registry refresh tokens.
pub const ACR_AAD_SCOPE: &str = "https://containerregistry.azure.net/.default";

/// When to retry a safe (GET/HEAD) request.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in total, including the first.
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the error is returned instead.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    pub fn none() -> Self {
        Self {
            attempts: 1,
            ..Self::default()
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << attempt.min(16));
        exp.min(self.max_delay)
    }
}

/// Everything needed to talk to one registry.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Display name (the `[[registry]]` name), used in every message.
    pub name: String,
    /// `host[:port]` of the registry API.
    pub host: String,
    pub kind: RegistryKind,
    pub credential: Credential,
    /// PEM bundle trusted in addition to the system roots.
    pub ca_file: Option<std::path::PathBuf>,
    pub retry: RetryPolicy,
    /// Bound on parallel requests of one listing or copy.
    pub concurrency: usize,
    /// Rows per listing page asked of the registry (`n`).
    pub page_size: usize,
    /// Record every HTTP exchange (probe evidence, benchmarks).
    pub trace: bool,
}

impl ClientConfig {
    pub fn new(name: &str, host: &str, kind: RegistryKind, credential: Credential) -> Self {
        Self {
            name: name.to_owned(),
            host: host.to_owned(),
            kind,
            credential,
            ca_file: None,
            retry: RetryPolicy::default(),
            concurrency: 8,
            page_size: 100,
            trace: false,
        }
    }
}

/// Which endpoint an exchange went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeKind {
    Registry,
    Token,
    Exchange,
}

/// One HTTP exchange, as evidence: never holds a secret (no headers but the challenge, no
/// token bodies).
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    pub kind: ExchangeKind,
    pub method: String,
    /// Without query secrets (registry queries hold only scope/service/n/last).
    pub url: String,
    /// `None` when no answer came (network failure).
    pub status: Option<u16>,
    pub www_authenticate: Option<String>,
    /// Error codes and messages of the body (`{"errors":[...]}`), or of a token endpoint.
    pub errors: Vec<ApiError>,
    /// A short excerpt of a non-success body that is not the registry error shape.
    pub body_excerpt: Option<String>,
    /// The transport error, when the request got no answer.
    pub transport_error: Option<String>,
    pub request_bytes: u64,
    pub response_bytes: Option<u64>,
}

/// Counters since the client was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub registry_requests: u64,
    pub token_requests: u64,
    pub blob_bytes_uploaded: u64,
    pub blob_bytes_downloaded: u64,
}

#[derive(Default)]
struct Counters {
    registry_requests: AtomicU64,
    token_requests: AtomicU64,
    blob_bytes_uploaded: AtomicU64,
    blob_bytes_downloaded: AtomicU64,
}

#[derive(Clone, Debug)]
enum HostAuth {
    Unknown,
    Open,
    Basic,
    Bearer { realm: Url, service: Option<String> },
}

struct CachedToken {
    token: Secret,
    refresh_at: Instant,
}

struct Inner {
    cfg: ClientConfig,
    http: reqwest::Client,
    auth: std::sync::Mutex<HostAuth>,
    tokens: Mutex<HashMap<String, CachedToken>>,
    acr_refresh: Mutex<Option<CachedToken>>,
    counters: Counters,
    /// The registry answered over HTTP/2: concurrent requests share one connection.
    multiplexed: std::sync::atomic::AtomicBool,
    trace: std::sync::Mutex<Vec<Exchange>>,
}

/// A client for one registry. Cheap to clone (shared state behind an `Arc`).
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("name", &self.inner.cfg.name)
            .field("host", &self.inner.cfg.host)
            .finish_non_exhaustive()
    }
}

/// A request body: replayable bytes, or a one-shot stream (sent only once the token is known).
pub(crate) enum CallBody {
    Empty,
    Bytes(Vec<u8>),
    Stream(reqwest::Body, u64),
}

pub(crate) struct Call<'a> {
    pub method: Method,
    pub url: Url,
    pub scopes: Vec<String>,
    pub headers: HeaderMap,
    pub body: CallBody,
    /// What the request is about, for error messages: `web:1.0`, `web@sha256:..`, `catalog`.
    pub object: &'a str,
}

/// Builds a reqwest client trusting the system roots plus `ca_file` (a PEM bundle); the system
/// store is read only if a server's certificate does not chain to `ca_file` (see
/// [`super::tls`]).
pub fn http_client(
    ca_file: Option<&Path>,
    registry: &str,
) -> Result<reqwest::Client, RegistryError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let config_error = |message: String| RegistryError::Config {
        registry: registry.to_owned(),
        message,
    };
    let mut roots = Vec::new();
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| config_error(format!("cannot read ca_file {}: {e}", path.display())))?;
        roots = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                config_error(format!(
                    "ca_file {} is not a PEM certificate bundle: {e}",
                    path.display()
                ))
            })?;
        if roots.is_empty() {
            return Err(config_error(format!(
                "ca_file {} holds no certificate",
                path.display()
            )));
        }
    }
    let tls = super::tls::client_config(roots).map_err(|e| {
        config_error(format!(
            "ca_file {}: {e}",
            ca_file.map(|p| p.display().to_string()).unwrap_or_default()
        ))
    })?;
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(|e| config_error(format!("cannot build the HTTP client: {e}")))
}

/// `Retry-After`: delta seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let now = jiff::Timestamp::now();
    let d = when.duration_since(now);
    Some(Duration::try_from(d).unwrap_or(Duration::ZERO))
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<Secret>,
    #[serde(default)]
    access_token: Option<Secret>,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct ExchangeAnswer {
    #[serde(default)]
    refresh_token: Option<Secret>,
}

/// Seconds until a JWT's `exp`, when the token is a JWT; no signature check (only to schedule a
/// refresh).
fn jwt_lifetime(token: &str) -> Option<Duration> {
    let payload = token.split('.').nth(1)?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    let exp = v.get("exp")?.as_i64()?;
    let now = jiff::Timestamp::now().as_second();
    Some(Duration::from_secs(exp.saturating_sub(now).max(0) as u64))
}

/// Where a refresh token came from: only a cached one is worth exchanging again when refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fetched {
    /// The credential itself (docker's identitytoken): nothing to exchange again.
    Given,
    Cached,
    Now,
}

/// Longest token lifetime honoured; a token said to live longer is refreshed after this.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Refresh a little before the end: a fifth of the lifetime, at most 60 s early.
///
/// The lifetime comes from the server (`expires_in`, a JWT's `exp`) and is capped at
/// [`MAX_TOKEN_LIFETIME`]: `expires_in: 18446744073709551615` overflowed `Instant` (a panic).
pub fn refresh_at(lifetime: Duration) -> Instant {
    let lifetime = lifetime.min(MAX_TOKEN_LIFETIME);
    let margin = (lifetime / 5).min(Duration::from_secs(60));
    Instant::now() + lifetime.saturating_sub(margin)
}

/// A token endpoint's success answer: the token (`access_token`, else `token`) and its
/// lifetime (`expires_in`, else the JWT's `exp`, else the token spec's default of 60 s). The
/// error is the message of a [`RegistryError::InvalidResponse`].
pub fn read_token_answer(body: &[u8]) -> Result<(Secret, Duration), String> {
    let answer: TokenAnswer = serde_json::from_slice(body)
        .map_err(|e| format!("the token answer is not JSON with `token` or `access_token`: {e}"))?;
    let token = answer
        .access_token
        .filter(|t| !t.is_empty())
        .or(answer.token.filter(|t| !t.is_empty()))
        .ok_or_else(|| "the token answer has neither `token` nor `access_token`".to_owned())?;
    // The distribution token spec's default lifetime is 60 s.
    let lifetime = answer
        .expires_in
        .map(Duration::from_secs)
        .or_else(|| jwt_lifetime(token.expose()))
        .unwrap_or(Duration::from_secs(60));
    Ok((token, lifetime))
}

/// ACR's `/oauth2/exchange` success answer: the refresh token and its lifetime (the JWT's
/// `exp`, else an hour). The error is the message of a [`RegistryError::InvalidResponse`].
pub fn read_exchange_answer(body: &[u8]) -> Result<(Secret, Duration), String> {
    let answer: ExchangeAnswer = serde_json::from_slice(body)
        .map_err(|e| format!("the exchange answer is not JSON with `refresh_token`: {e}"))?;
    let token = answer
        .refresh_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "the exchange answer has no `refresh_token`".to_owned())?;
    let lifetime = jwt_lifetime(token.expose()).unwrap_or(Duration::from_secs(3600));
    Ok((token, lifetime))
}

/// A JSON answer decoded as `T`, or an [`RegistryError::InvalidResponse`] that quotes the start
/// of the body.
pub fn decode_json<T: serde::de::DeserializeOwned>(
    registry: &str,
    object: &str,
    body: &[u8],
) -> Result<T, RegistryError> {
    serde_json::from_slice(body).map_err(|e| RegistryError::InvalidResponse {
        registry: registry.to_owned(),
        object: object.to_owned(),
        message: format!(
            "not the expected JSON ({e}); the body starts with {:?}",
            super::error::excerpt(body)
        ),
    })
}

/// Maps a non-success answer to an error naming the registry and the object: the status, the
/// registry's error codes (`NAME_UNKNOWN`, `MANIFEST_UNKNOWN`) and `Retry-After` decide.
pub fn status_error(
    registry: &str,
    object: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> RegistryError {
    let registry = registry.to_owned();
    let object = object.to_owned();
    let detail = describe_body(body);
    let codes: Vec<String> = parse_api_errors(body).into_iter().map(|e| e.code).collect();
    let has = |c: &str| codes.iter().any(|x| x.eq_ignore_ascii_case(c));
    // ACR's answer to a write onto a locked tag, repository or manifest (405).
    if has("REGISTRY_DISALLOWED_OPERATION") {
        return RegistryError::TagLocked {
            registry,
            object,
            lock: format!("the registry refused the write: {detail}"),
        };
    }
    match status.as_u16() {
        401 => RegistryError::Unauthorized {
            registry,
            object,
            detail,
        },
        403 => RegistryError::Forbidden {
            registry,
            object,
            detail,
        },
        404 if has("NAME_UNKNOWN") => RegistryError::RepositoryUnknown {
            registry,
            object,
            detail,
        },
        404 if has("MANIFEST_UNKNOWN") => RegistryError::ManifestUnknown {
            registry,
            object,
            detail,
        },
        404 => RegistryError::NotFound {
            registry,
            object,
            detail,
        },
        429 => RegistryError::RateLimited {
            registry,
            object,
            retry_after: retry_after(headers),
        },
        s if s >= 500 => RegistryError::Server {
            registry,
            object,
            status: s,
            detail,
        },
        s => RegistryError::UnexpectedStatus {
            registry,
            object,
            status: s,
            detail,
        },
    }
}

fn scope_key(realm: &Url, service: Option<&str>, scopes: &[String]) -> String {
    let mut s: Vec<&str> = scopes.iter().map(String::as_str).collect();
    s.sort_unstable();
    s.dedup();
    format!("{realm} {} {}", service.unwrap_or(""), s.join(" "))
}

/// The scope string for a repository.
pub fn repo_scope(repo: &str, actions: &str) -> String {
    format!("repository:{repo}:{actions}")
}

pub const CATALOG_SCOPE: &str = "registry:catalog:*";

impl RegistryClient {
    pub fn new(cfg: ClientConfig) -> Result<Self, RegistryError> {
        let http = http_client(cfg.ca_file.as_deref(), &cfg.name)?;
        Ok(Self::with_http(cfg, http))
    }

    pub fn with_http(cfg: ClientConfig, http: reqwest::Client) -> Self {
        Self {
            inner: Arc::new(Inner {
                cfg,
                http,
                auth: std::sync::Mutex::new(HostAuth::Unknown),
                tokens: Mutex::new(HashMap::new()),
                acr_refresh: Mutex::new(None),
                counters: Counters::default(),
                multiplexed: std::sync::atomic::AtomicBool::new(false),
                trace: std::sync::Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn name(&self) -> &str {
        &self.inner.cfg.name
    }

    pub fn host(&self) -> &str {
        &self.inner.cfg.host
    }

    pub fn kind(&self) -> RegistryKind {
        self.inner.cfg.kind
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Who acts (for audit records).
    pub fn actor(&self) -> String {
        self.inner.cfg.credential.actor()
    }

    /// Whether requests in flight together share one connection (the registry has answered
    /// over HTTP/2). Over HTTP/1.1 each concurrent request to the host needs a connection of
    /// its own: a TCP and a TLS handshake, more round trips than waiting for the other request.
    pub fn multiplexes(&self) -> bool {
        self.inner.multiplexed.load(Ordering::Relaxed)
    }

    /// Whether `other` is this client (one connection pool).
    pub(crate) fn is(&self, other: &RegistryClient) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            registry_requests: c.registry_requests.load(Ordering::Relaxed),
            token_requests: c.token_requests.load(Ordering::Relaxed),
            blob_bytes_uploaded: c.blob_bytes_uploaded.load(Ordering::Relaxed),
            blob_bytes_downloaded: c.blob_bytes_downloaded.load(Ordering::Relaxed),
        }
    }

    /// The exchanges recorded so far (only with `trace: true`), and clears them.
    pub fn take_trace(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.inner.trace.lock().expect("trace lock"))
    }

    pub(crate) fn count_blob_down(&self, n: u64) {
        self.inner
            .counters
            .blob_bytes_downloaded
            .fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn count_blob_up(&self, n: u64) {
        self.inner
            .counters
            .blob_bytes_uploaded
            .fetch_add(n, Ordering::Relaxed);
    }

    /// `https://host` + path (path starts with `/`).
    pub fn url(&self, path_and_query: &str) -> Url {
        Url::parse(&format!(
            "https://{}{}",
            self.inner.cfg.host, path_and_query
        ))
        .expect("registry host was validated")
    }

    fn record(&self, e: Exchange) {
        if self.inner.cfg.trace {
            self.inner.trace.lock().expect("trace lock").push(e);
        }
    }

    fn network_error(&self, object: &str, err: &reqwest::Error) -> RegistryError {
        let (kind, message) = classify_transport(err);
        RegistryError::Network {
            registry: self.inner.cfg.name.clone(),
            object: object.to_owned(),
            kind,
            message,
        }
    }

    /// Sends one request as-is (no auth logic), recording it.
    async fn send_raw(
        &self,
        kind: ExchangeKind,
        req: reqwest::RequestBuilder,
        method: &Method,
        url: &Url,
        request_bytes: u64,
        object: &str,
    ) -> Result<reqwest::Response, RegistryError> {
        let counter = match kind {
            ExchangeKind::Registry => &self.inner.counters.registry_requests,
            _ => &self.inner.counters.token_requests,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(registry = %self.inner.cfg.name, %method, %url, "request");
        if !self.multiplexes() {
            // hyper puts an HTTP/1.1 connection back in its pool from a task of its own once
            // the previous answer's body is read; a request made before that task ran starts
            // a second connection (TCP and TLS handshakes) beside the one about to be free.
            tokio::task::yield_now().await;
        }
        match req.send().await {
            Ok(resp) => {
                if resp.version() == reqwest::Version::HTTP_2 && kind == ExchangeKind::Registry {
                    self.inner.multiplexed.store(true, Ordering::Relaxed);
                }
                if self.inner.cfg.trace {
                    self.record(Exchange {
                        kind,
                        method: method.to_string(),
                        url: url.to_string(),
                        status: Some(resp.status().as_u16()),
                        www_authenticate: www_authenticate(resp.headers()),
                        errors: vec![],
                        body_excerpt: None,
                        transport_error: None,
                        request_bytes,
                        response_bytes: resp.content_length(),
                    });
                }
                Ok(resp)
            }
            Err(e) => {
                let err = self.network_error(object, &e);
                self.record(Exchange {
                    kind,
                    method: method.to_string(),
                    url: url.to_string(),
                    status: None,
                    www_authenticate: None,
                    errors: vec![],
                    body_excerpt: None,
                    transport_error: Some(err.to_string()),
                    request_bytes,
                    response_bytes: None,
                });
                Err(err)
            }
        }
    }

    /// Reads a non-success answer's body and records it; returns (headers, body).
    async fn read_failure(
        &self,
        kind: ExchangeKind,
        method: &Method,
        url: &Url,
        resp: reqwest::Response,
        request_bytes: u64,
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        if self.inner.cfg.trace {
            let errors = parse_api_errors(&body);
            let excerpt = if errors.is_empty() && !body.is_empty() {
                Some(super::error::excerpt(&body))
            } else {
                None
            };
            // send_raw recorded the exchange; add what the body said.
            let mut trace = self.inner.trace.lock().expect("trace lock");
            let (m, u, st) = (method.to_string(), url.to_string(), Some(status.as_u16()));
            match trace
                .iter_mut()
                .rev()
                .find(|e| e.method == m && e.url == u && e.status == st)
            {
                Some(e) => {
                    e.errors = errors;
                    e.body_excerpt = excerpt;
                    e.response_bytes = Some(body.len() as u64);
                }
                None => trace.push(Exchange {
                    kind,
                    method: m,
                    url: u,
                    status: st,
                    www_authenticate: www_authenticate(&headers),
                    errors,
                    body_excerpt: excerpt,
                    transport_error: None,
                    request_bytes,
                    response_bytes: Some(body.len() as u64),
                }),
            }
        }
        (status, headers, body)
    }

    /// Maps a non-success answer to an error naming the registry and the object.
    pub(crate) fn status_error(
        &self,
        object: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> RegistryError {
        status_error(&self.inner.cfg.name, object, status, headers, body)
    }

    /// Learns how the host authenticates (one `GET /v2/`), once per client.
    pub async fn ensure_auth_known(&self) -> Result<(), RegistryError> {
        if !matches!(
            *self.inner.auth.lock().expect("auth lock"),
            HostAuth::Unknown
        ) {
            return Ok(());
        }
        let url = self.url("/v2/");
        let method = Method::GET;
        let resp = self
            .send_raw(
                ExchangeKind::Registry,
                self.inner.http.get(url.clone()),
                &method,
                &url,
                0,
                "/v2/",
            )
            .await?;
        if resp.status().is_success() {
            *self.inner.auth.lock().expect("auth lock") = HostAuth::Open;
            return Ok(());
        }
        let (status, headers, body) = self
            .read_failure(ExchangeKind::Registry, &method, &url, resp, 0)
            .await;
        if status == StatusCode::UNAUTHORIZED {
            self.learn_challenge(&headers, "/v2/")?;
            return Ok(());
        }
        Err(self.status_error("/v2/", status, &headers, &body))
    }

    fn learn_challenge(
        &self,
        headers: &HeaderMap,
        object: &str,
    ) -> Result<Vec<String>, RegistryError> {
        let challenges: Vec<Challenge> = headers
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(parse_challenges)
            .collect();
        let bearer = challenges
            .iter()
            .find(|c| c.is_bearer() && c.realm().is_some());
        let state = if let Some(b) = bearer {
            let realm_text = b.realm().unwrap_or_default();
            let realm = Url::parse(realm_text).map_err(|e| RegistryError::InvalidResponse {
                registry: self.inner.cfg.name.clone(),
                object: object.to_owned(),
                message: format!("the Bearer challenge's realm {realm_text:?} is not a URL: {e}"),
            })?;
            HostAuth::Bearer {
                realm,
                service: b.service().map(str::to_owned),
            }
        } else if challenges.iter().any(Challenge::is_basic) {
            HostAuth::Basic
        } else {
            return Err(RegistryError::InvalidResponse {
                registry: self.inner.cfg.name.clone(),
                object: object.to_owned(),
                message: "401 without a Basic or Bearer WWW-Authenticate challenge".into(),
            });
        };
        let scopes = bearer.map(|b| b.scopes()).unwrap_or_default();
        *self.inner.auth.lock().expect("auth lock") = state;
        Ok(scopes)
    }

    /// The `Authorization` header for `scopes` under the known challenge (fetching a token when
    /// needed); `None` when the host needs none or the challenge is not known yet.
    async fn authorization(
        &self,
        scopes: &[String],
        object: &str,
    ) -> Result<Option<HeaderValue>, RegistryError> {
        let state = self.inner.auth.lock().expect("auth lock").clone();
        match state {
            HostAuth::Unknown | HostAuth::Open => Ok(None),
            HostAuth::Basic => match &self.inner.cfg.credential {
                Credential::Basic { username, password } => {
                    Ok(Some(basic_header(username, password)))
                }
                Credential::Anonymous => Ok(None),
                other => Err(RegistryError::Credential {
                    registry: self.inner.cfg.name.clone(),
                    message: format!(
                        "the registry asks for Basic authentication (username and password) on {object}, \
                         but the configured credential is {}: configure `basic` or `docker-config`",
                        other.actor()
                    ),
                }),
            },
            HostAuth::Bearer { realm, service } => {
                let token = self
                    .bearer_token(&realm, service.as_deref(), scopes)
                    .await?;
                let mut v =
                    HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                        RegistryError::InvalidResponse {
                            registry: self.inner.cfg.name.clone(),
                            object: realm.to_string(),
                            message: "the token holds characters not allowed in a header".into(),
                        }
                    })?;
                v.set_sensitive(true);
                Ok(Some(v))
            }
        }
    }

    fn forget_token(&self, tokens: &mut HashMap<String, CachedToken>, key: &str) {
        tokens.remove(key);
    }

    /// A registry token for `scopes`, from the cache while fresh.
    async fn bearer_token(
        &self,
        realm: &Url,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<Secret, RegistryError> {
        let key = scope_key(realm, service, scopes);
        let mut tokens = self.inner.tokens.lock().await;
        if let Some(t) = tokens.get(&key) {
            if Instant::now() < t.refresh_at {
                return Ok(t.token.clone());
            }
            self.forget_token(&mut tokens, &key);
        }
        let (token, lifetime) = self.fetch_token(realm, service, scopes).await?;
        tokens.insert(
            key,
            CachedToken {
                token: token.clone(),
                refresh_at: refresh_at(lifetime),
            },
        );
        Ok(token)
    }

    async fn invalidate_token(&self, scopes: &[String]) {
        let state = self.inner.auth.lock().expect("auth lock").clone();
        if let HostAuth::Bearer { realm, service } = state {
            let key = scope_key(&realm, service.as_deref(), scopes);
            self.inner.tokens.lock().await.remove(&key);
        }
    }

    /// Asks the token endpoint, the way the credential calls for. An ACR refresh token from
    /// the cache that the endpoint refuses (401) is exchanged anew, once: it expired before its
    /// time as this process counts it (the cache runs on the monotonic clock, which does not
    /// count a laptop's sleep, and ACR's refresh tokens live 3 hours) or was revoked.
    async fn fetch_token(
        &self,
        realm: &Url,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<(Secret, Duration), RegistryError> {
        let refresh = match &self.inner.cfg.credential {
            Credential::IdentityToken(t) => Some((t.clone(), Fetched::Given)),
            Credential::Entra { .. } => Some(self.acr_refresh_token(realm, service).await?),
            _ => None,
        };
        let cached = matches!(refresh, Some((_, Fetched::Cached)));
        let refresh = refresh.map(|(token, _)| token);
        match self
            .ask_token_endpoint(realm, service, scopes, refresh)
            .await
        {
            Err(RegistryError::Token { status: 401, .. }) if cached => {
                tracing::info!(
                    registry = %self.inner.cfg.name,
                    "the cached ACR refresh token was refused; exchanging the Entra token again"
                );
                self.inner.acr_refresh.lock().await.take();
                let (fresh, _) = self.acr_refresh_token(realm, service).await?;
                self.ask_token_endpoint(realm, service, scopes, Some(fresh))
                    .await
            }
            other => other,
        }
    }

    /// One request to the token endpoint: the refresh-token grant when there is one, else GET
    /// (with Basic credentials when the credential has them).
    async fn ask_token_endpoint(
        &self,
        realm: &Url,
        service: Option<&str>,
        scopes: &[String],
        refresh: Option<Secret>,
    ) -> Result<(Secret, Duration), RegistryError> {
        let scope_text = scopes.join(" ");
        let (method, req, request_bytes) = if let Some(refresh) = refresh {
            let mut form: Vec<(&str, &str)> = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.expose()),
                ("client_id", "berth"),
            ];
            if let Some(s) = service {
                form.push(("service", s));
            }
            if !scope_text.is_empty() {
                form.push(("scope", &scope_text));
            }
            (
                Method::POST,
                self.inner.http.post(realm.clone()).form(&form),
                0,
            )
        } else {
            let mut url = realm.clone();
            {
                let mut q = url.query_pairs_mut();
                if let Some(s) = service {
                    q.append_pair("service", s);
                }
                for s in scopes {
                    q.append_pair("scope", s);
                }
            }
            let mut req = self.inner.http.get(url);
            if let Credential::Basic { username, password } = &self.inner.cfg.credential {
                req = req.header(header::AUTHORIZATION, basic_header(username, password));
            }
            (Method::GET, req, 0)
        };
        let resp = self
            .send_raw(
                ExchangeKind::Token,
                req,
                &method,
                realm,
                request_bytes,
                realm.as_str(),
            )
            .await?;
        if !resp.status().is_success() {
            let (status, _h, body) = self
                .read_failure(ExchangeKind::Token, &method, realm, resp, request_bytes)
                .await;
            return Err(RegistryError::Token {
                registry: self.inner.cfg.name.clone(),
                realm: realm.to_string(),
                scope: if scope_text.is_empty() {
                    "(no scope)".into()
                } else {
                    scope_text
                },
                status: status.as_u16(),
                detail: token_error_detail(&body),
            });
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| self.network_error(realm.as_str(), &e))?;
        read_token_answer(&body).map_err(|message| RegistryError::InvalidResponse {
            registry: self.inner.cfg.name.clone(),
            object: realm.to_string(),
            message,
        })
    }

    /// Entra: AAD token → `POST /oauth2/exchange` → ACR refresh token (cached until near expiry).
    async fn acr_refresh_token(
        &self,
        realm: &Url,
        service: Option<&str>,
    ) -> Result<(Secret, Fetched), RegistryError> {
        let Credential::Entra {
            credential,
            tenant,
            label,
        } = &self.inner.cfg.credential
        else {
            unreachable!("only called for Entra credentials");
        };
        let mut cached = self.inner.acr_refresh.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok((t.token.clone(), Fetched::Cached));
        }
        let aad = credential
            .get_token(&[ACR_AAD_SCOPE], None)
            .await
            .map_err(|e| RegistryError::Credential {
                registry: self.inner.cfg.name.clone(),
                message: format!(
                    "the Entra credential ({label}) gave no token: {}",
                    super::error::chain(&e)
                ),
            })?;
        let mut url = realm.clone();
        url.set_path("/oauth2/exchange");
        url.set_query(None);
        let service = service.unwrap_or(&self.inner.cfg.host).to_owned();
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "access_token"),
            ("service", &service),
            ("access_token", aad.token.secret()),
        ];
        if let Some(t) = tenant {
            form.push(("tenant", t));
        }
        let method = Method::POST;
        let resp = self
            .send_raw(
                ExchangeKind::Exchange,
                self.inner.http.post(url.clone()).form(&form),
                &method,
                &url,
                0,
                url.as_str(),
            )
            .await?;
        if !resp.status().is_success() {
            let (status, _h, body) = self
                .read_failure(ExchangeKind::Exchange, &method, &url, resp, 0)
                .await;
            return Err(RegistryError::Token {
                registry: self.inner.cfg.name.clone(),
                realm: url.to_string(),
                scope: "(exchange of the Entra token)".into(),
                status: status.as_u16(),
                detail: token_error_detail(&body),
            });
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| self.network_error(url.as_str(), &e))?;
        let (token, lifetime) =
            read_exchange_answer(&body).map_err(|message| RegistryError::InvalidResponse {
                registry: self.inner.cfg.name.clone(),
                object: url.to_string(),
                message,
            })?;
        *cached = Some(CachedToken {
            token: token.clone(),
            refresh_at: refresh_at(lifetime),
        });
        Ok((token, Fetched::Now))
    }

    /// The ACR refresh token for this client's Entra credential (the password for the username
    /// `00000000-0000-0000-0000-000000000000`). Errors for other credentials.
    pub async fn entra_refresh_token(&self) -> Result<Secret, RegistryError> {
        self.ensure_auth_known().await?;
        let state = self.inner.auth.lock().expect("auth lock").clone();
        match (&self.inner.cfg.credential, state) {
            (Credential::Entra { .. }, HostAuth::Bearer { realm, service }) => self
                .acr_refresh_token(&realm, service.as_deref())
                .await
                .map(|(token, _)| token),
            _ => Err(RegistryError::Credential {
                registry: self.inner.cfg.name.clone(),
                message: "an ACR refresh token needs an Entra credential and a Bearer registry"
                    .into(),
            }),
        }
    }

    /// Fetches the token for `scopes` now (so the next requests carry it), learning the
    /// challenge first when needed.
    pub async fn prepare(&self, scopes: &[String], object: &str) -> Result<(), RegistryError> {
        self.ensure_auth_known().await?;
        self.authorization(scopes, object).await.map(|_| ())
    }

    /// Sends a request with authentication: learns the challenge on a first 401, refreshes the
    /// token after a 401 (once), and retries GET/HEAD on network errors, 429 and 5xx.
    /// Returns the answer whatever its status; callers map statuses with [`Self::status_error`]
    /// or use [`Self::execute_ok`].
    pub(crate) async fn execute(
        &self,
        mut call: Call<'_>,
    ) -> Result<reqwest::Response, RegistryError> {
        let safe = call.method == Method::GET || call.method == Method::HEAD;
        let policy = if safe {
            self.inner.cfg.retry.clone()
        } else {
            RetryPolicy::none()
        };
        // A one-shot stream must not meet a first 401: learn the challenge before.
        if matches!(call.body, CallBody::Stream(..)) {
            self.ensure_auth_known().await?;
        }
        let mut reauthed = false;
        let mut attempt = 0u32;
        loop {
            let auth = self.authorization(&call.scopes, call.object).await?;
            let mut req = self
                .inner
                .http
                .request(call.method.clone(), call.url.clone())
                .headers(call.headers.clone());
            if let Some(a) = auth {
                req = req.header(header::AUTHORIZATION, a);
            }
            let mut request_bytes = 0;
            let mut replayable = true;
            match std::mem::replace(&mut call.body, CallBody::Empty) {
                CallBody::Empty => {}
                CallBody::Bytes(b) => {
                    request_bytes = b.len() as u64;
                    req = req.body(b.clone());
                    call.body = CallBody::Bytes(b);
                }
                CallBody::Stream(s, len) => {
                    request_bytes = len;
                    replayable = false;
                    req = req.header(header::CONTENT_LENGTH, len).body(s);
                }
            }
            let sent = self
                .send_raw(
                    ExchangeKind::Registry,
                    req,
                    &call.method,
                    &call.url,
                    request_bytes,
                    call.object,
                )
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    attempt += 1;
                    if attempt < policy.attempts && matches!(e, RegistryError::Network { .. }) {
                        tokio::time::sleep(policy.backoff(attempt - 1)).await;
                        continue;
                    }
                    return Err(e);
                }
            };
            let status = resp.status();
            if status.is_success() || status.is_redirection() {
                return Ok(resp);
            }
            if status == StatusCode::UNAUTHORIZED && !reauthed && replayable {
                // First contact, or an expired/revoked token: learn the challenge again and
                // fetch a fresh token including any scope the server asked for.
                reauthed = true;
                let (_, headers, body) = self
                    .read_failure(
                        ExchangeKind::Registry,
                        &call.method,
                        &call.url,
                        resp,
                        request_bytes,
                    )
                    .await;
                self.invalidate_token(&call.scopes).await;
                let asked = match self.learn_challenge(&headers, call.object) {
                    Ok(s) => s,
                    Err(_) => return Err(self.status_error(call.object, status, &headers, &body)),
                };
                for s in asked {
                    if !call.scopes.contains(&s) {
                        call.scopes.push(s);
                    }
                }
                if matches!(self.inner.cfg.credential, Credential::Anonymous)
                    && matches!(*self.inner.auth.lock().expect("auth lock"), HostAuth::Basic)
                {
                    return Err(self.status_error(call.object, status, &headers, &body));
                }
                continue;
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS
                || matches!(status.as_u16(), 500 | 502 | 503 | 504);
            attempt += 1;
            if retryable && attempt < policy.attempts {
                let wait = retry_after(resp.headers());
                if wait.is_none_or(|w| w <= policy.max_retry_after) {
                    let (_, _, _) = self
                        .read_failure(
                            ExchangeKind::Registry,
                            &call.method,
                            &call.url,
                            resp,
                            request_bytes,
                        )
                        .await;
                    let delay = wait.unwrap_or_else(|| policy.backoff(attempt - 1));
                    tracing::info!(registry = %self.inner.cfg.name, %status, ?delay, "retrying {}", call.object);
                    tokio::time::sleep(delay).await;
                    continue;
                }
            }
            return Ok(resp);
        }
    }

    /// [`Self::execute`], with any non-success answer turned into an error.
    pub(crate) async fn execute_ok(
        &self,
        call: Call<'_>,
    ) -> Result<reqwest::Response, RegistryError> {
        let object = call.object.to_owned();
        let method = call.method.clone();
        let url = call.url.clone();
        let resp = self.execute(call).await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let (status, headers, body) = self
            .read_failure(ExchangeKind::Registry, &method, &url, resp, 0)
            .await;
        Err(self.status_error(&object, status, &headers, &body))
    }

    /// A GET for JSON with the given scopes.
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        scopes: Vec<String>,
        object: &str,
    ) -> Result<(T, HeaderMap), RegistryError> {
        let resp = self
            .execute_ok(Call {
                method: Method::GET,
                url,
                scopes,
                headers: HeaderMap::new(),
                body: CallBody::Empty,
                object,
            })
            .await?;
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| self.network_error(object, &e))?;
        let value = decode_json(&self.inner.cfg.name, object, &body)?;
        Ok((value, headers))
    }
}

fn basic_header(username: &str, password: &Secret) -> HeaderValue {
    let raw = format!("{username}:{}", password.expose());
    let mut v = HeaderValue::from_str(&format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    ))
    .expect("base64 is a valid header value");
    v.set_sensitive(true);
    v
}

/// A token endpoint's error: the registry shape, or OAuth's `error`/`error_description`.
pub fn token_error_detail(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body)
        && let Some(e) = v.get("error").and_then(|e| e.as_str())
    {
        let d = v
            .get("error_description")
            .and_then(|d| d.as_str())
            .unwrap_or("");
        return format!("{e}: {d}");
    }
    describe_body(body)
}

fn www_authenticate(headers: &HeaderMap) -> Option<String> {
    let all: Vec<&str> = headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!all.is_empty()).then(|| all.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert!(parse_retry_after("soon").is_none());
        let future = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(120);
        let text =
            jiff::fmt::rfc2822::to_string(&future.to_zoned(jiff::tz::TimeZone::UTC)).unwrap();
        let d = parse_retry_after(&text).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
    }

    #[test]
    fn scope_keys_ignore_order_and_duplicates() {
        let realm = Url::parse("https://r/oauth2/token").unwrap();
        let a = scope_key(&realm, Some("r"), &["b".into(), "a".into(), "a".into()]);
        let b = scope_key(&realm, Some("r"), &["a".into(), "b".into()]);
        assert_eq!(a, b);
    }

    #[test]
    fn refresh_happens_before_expiry() {
        let now = Instant::now();
        let at = refresh_at(Duration::from_secs(60));
        assert!(at > now + Duration::from_secs(40) && at < now + Duration::from_secs(60));
        let at = refresh_at(Duration::from_secs(3600));
        assert!(at < now + Duration::from_secs(3600 - 59));
    }

    #[test]
    fn absurd_token_lifetimes_do_not_overflow() {
        // `expires_in: u64::MAX` panicked in `Instant + Duration` (found by
        // tests/fuzz_parsers.rs).
        let (_, lifetime) =
            read_token_answer(br#"{"token":"t","expires_in":18446744073709551615}"#).unwrap();
        let at = refresh_at(lifetime);
        assert!(at <= Instant::now() + MAX_TOKEN_LIFETIME);
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("{{\"exp\":{}}}", i64::MAX));
        let (_, lifetime) =
            read_token_answer(format!(r#"{{"token":"h.{payload}.s"}}"#).as_bytes()).unwrap();
        refresh_at(lifetime);
        refresh_at(Duration::MAX);
    }

    #[test]
    fn token_answers_say_what_is_missing() {
        let e = read_token_answer(br#"{"token":""}"#).unwrap_err();
        assert!(e.contains("neither `token` nor `access_token`"), "{e}");
        let e = read_exchange_answer(b"<html>").unwrap_err();
        assert!(e.contains("not JSON"), "{e}");
        let (t, l) = read_token_answer(br#"{"access_token":"a","token":"b"}"#).unwrap();
        assert_eq!((t.expose(), l), ("a", Duration::from_secs(60)));
    }

    #[test]
    fn jwt_lifetime_reads_exp() {
        let exp = jiff::Timestamp::now().as_second() + 300;
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{{\"exp\":{exp}}}"));
        let d = jwt_lifetime(&format!("h.{payload}.s")).unwrap();
        assert!(d.as_secs() > 290 && d.as_secs() <= 300);
        assert!(jwt_lifetime("opaque").is_none());
    }

    #[test]
    fn token_errors_read_both_shapes() {
        assert_eq!(
            token_error_detail(br#"{"error":"invalid_client","error_description":"bad secret"}"#),
            "invalid_client: bad secret"
        );
        assert_eq!(
            token_error_detail(
                br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#
            ),
            "UNAUTHORIZED: authentication required"
        );
    }
}
