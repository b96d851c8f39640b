//! Helpers for the stand-in tests (`tests/standin_*.rs`): find the running environment, call the
//! stand-in over TLS with the test CA, run skopeo, poll with a deadline.
//!
//! The variables come from the process environment when `BERTH_ACR_HOST` is set there, else from
//! `$BERTH_ENV_DIR/env.sh` (default `/tmp/berth-env/env.sh`). Only the registry side
//! (`scripts/env/registry-up`) is needed, not the cluster.
#![allow(dead_code)]

use base64::Engine;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Env {
    vars: BTreeMap<String, String>,
    source: String,
}

const NOT_RUNNING: &str = "local environment not running: run scripts/env/up";

impl Env {
    pub fn get() -> &'static Env {
        static ENV: OnceLock<Result<Env, String>> = OnceLock::new();
        match ENV.get_or_init(Env::load) {
            Ok(e) => e,
            Err(m) => panic!("{m}"),
        }
    }

    fn load() -> Result<Env, String> {
        let process: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("BERTH_"))
            .collect();
        if process.contains_key("BERTH_ACR_HOST") {
            return Ok(Env {
                vars: process,
                source: "the process environment".into(),
            });
        }
        let dir = process
            .get("BERTH_ENV_DIR")
            .cloned()
            .unwrap_or_else(|| "/tmp/berth-env".into());
        let file = PathBuf::from(&dir).join("env.sh");
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("{NOT_RUNNING} ({} unreadable: {e})", file.display()))?;
        let vars: BTreeMap<String, String> = text
            .lines()
            .filter_map(|l| {
                let l = l.trim().strip_prefix("export ")?;
                let (k, v) = l.split_once('=')?;
                Some((k.to_string(), unquote(v)))
            })
            .collect();
        if !vars.contains_key("BERTH_ACR_HOST") {
            return Err(format!(
                "{NOT_RUNNING} (BERTH_ACR_HOST missing from {}: did scripts/env/registry-up run?)",
                file.display()
            ));
        }
        Ok(Env {
            vars,
            source: file.display().to_string(),
        })
    }

    pub fn var(&self, name: &str) -> &str {
        self.vars
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("{name} is not set in {}", self.source))
    }

    pub fn acr(&self) -> &str {
        self.var("BERTH_ACR_HOST")
    }

    pub fn base(&self) -> String {
        format!("https://{}", self.acr())
    }

    pub fn ca_pem(&self) -> Vec<u8> {
        let f = self.var("BERTH_CA_FILE");
        std::fs::read(f).unwrap_or_else(|e| panic!("reading the test CA {f}: {e}"))
    }

    /// A directory holding the CA as `ca.crt`, for `skopeo --cert-dir`.
    pub fn cert_dir(&self) -> PathBuf {
        static DIR: OnceLock<PathBuf> = OnceLock::new();
        DIR.get_or_init(|| {
            let dir =
                std::env::temp_dir().join(format!("berth-standin-certs-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("create cert dir");
            std::fs::write(dir.join("ca.crt"), self.ca_pem()).expect("write ca.crt");
            dir
        })
        .clone()
    }

    pub fn http(&self) -> reqwest::Client {
        let certs = reqwest::Certificate::from_pem_bundle(&self.ca_pem()).expect("test CA PEM");
        reqwest::Client::builder()
            .tls_certs_only(certs)
            .timeout(Duration::from_secs(60))
            .build()
            .expect("HTTP client")
    }

    pub fn registry_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerRegistry/registries/{}",
            self.var("BERTH_SUBSCRIPTION_ID"),
            self.var("BERTH_RESOURCE_GROUP"),
            self.var("BERTH_ACR_NAME")
        )
    }
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2
        && (v.starts_with('\'') && v.ends_with('\'') || v.starts_with('"') && v.ends_with('"'))
    {
        return v[1..v.len() - 1].to_string();
    }
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{nanos:x}", std::process::id())
}

pub struct Skopeo {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs skopeo with the test CA for every registry of the environment.
pub async fn skopeo(args: &[&str]) -> Skopeo {
    let env = Env::get();
    let cert_dir = env.cert_dir();
    let cert_dir = cert_dir.to_str().unwrap();
    let mut full: Vec<&str> = vec![args[0]];
    match args[0] {
        "copy" => full.extend(["--src-cert-dir", cert_dir, "--dest-cert-dir", cert_dir]),
        _ => full.extend(["--cert-dir", cert_dir]),
    }
    full.extend(&args[1..]);
    let out = tokio::process::Command::new("skopeo")
        .args(&full)
        .output()
        .await
        .expect("skopeo runs (apt-get install skopeo)");
    Skopeo {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `skopeo inspect` of an image on the ACR host with `user:password`.
pub async fn inspect(image: &str, user: &str, password: &str) -> Result<Value, String> {
    let env = Env::get();
    let creds = format!("{user}:{password}");
    let r = skopeo(&[
        "inspect",
        "--retry-times",
        "0",
        "--creds",
        &creds,
        &format!("docker://{}/{image}", env.acr()),
    ])
    .await;
    if r.ok {
        Ok(serde_json::from_str(&r.stdout).expect("skopeo inspect prints JSON"))
    } else {
        Err(r.stderr)
    }
}

/// Copies a seeded image to `dest` (repo:tag) on the ACR host as the admin user.
pub async fn push_copy(src: &str, dest: &str) {
    let env = Env::get();
    let creds = format!(
        "{}:{}",
        env.var("BERTH_ACR_ADMIN_USER"),
        env.var("BERTH_ACR_ADMIN_PASSWORD")
    );
    let r = skopeo(&[
        "copy",
        "--all",
        "--preserve-digests",
        "--src-creds",
        &creds,
        "--dest-creds",
        &creds,
        &format!("docker://{}/{src}", env.acr()),
        &format!("docker://{}/{dest}", env.acr()),
    ])
    .await;
    assert!(r.ok, "skopeo copy {src} -> {dest} failed: {}", r.stderr);
}

/// An Entra access token for a service principal and resource (`https://management.azure.com`).
pub async fn entra_token(client_id: &str, secret: &str, resource: &str) -> String {
    let env = Env::get();
    let r = env
        .http()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            env.base(),
            env.var("BERTH_TENANT_ID")
        ))
        .form(&[
            ("client_id", client_id),
            ("client_secret", secret),
            ("grant_type", "client_credentials"),
            ("scope", &format!("{resource}/.default")),
        ])
        .send()
        .await
        .expect("Entra token request");
    assert_eq!(r.status(), 200, "Entra token for {client_id} refused");
    let v: Value = r.json().await.unwrap();
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

pub async fn arm_token() -> String {
    let env = Env::get();
    entra_token(
        env.var("BERTH_SP_CLIENT_ID"),
        env.var("BERTH_SP_CLIENT_SECRET"),
        "https://management.azure.com",
    )
    .await
}

pub struct ArmResp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

/// An ARM call on the registry: `suffix` follows the registry id (e.g. `/listCredentials`).
pub async fn arm(
    token: &str,
    method: reqwest::Method,
    suffix: &str,
    body: Option<Value>,
) -> ArmResp {
    let env = Env::get();
    let sep = if suffix.contains('?') { '&' } else { '?' };
    let url = format!(
        "{}{}{suffix}{sep}api-version=2023-07-01",
        env.base(),
        env.registry_id()
    );
    arm_url(token, method, &url, body).await
}

pub async fn arm_url(
    token: &str,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> ArmResp {
    let env = Env::get();
    let mut rb = env.http().request(method, url).bearer_auth(token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.expect("ARM request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    ArmResp {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// Polls an `Azure-AsyncOperation` URL until the operation leaves InProgress.
pub async fn wait_operation(token: &str, url: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = arm_url(token, reqwest::Method::GET, url, None).await;
        assert_eq!(r.status, 200, "operation status {url}: {}", r.body);
        if r.body["status"] != "InProgress" {
            return r.body;
        }
        assert!(
            Instant::now() < deadline,
            "operation {url} still InProgress after 60 s: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Creates a scope-map token through ARM with password1 (optionally expiring) → its password.
pub async fn new_token(token: &str, name: &str, scope_map: &str, expiry: Option<&str>) -> String {
    let env = Env::get();
    let r = arm(
        token,
        reqwest::Method::PUT,
        &format!("/tokens/{name}"),
        Some(serde_json::json!({"properties": {
            "scopeMapId": format!("{}/scopeMaps/{scope_map}", env.registry_id()),
            "status": "enabled"}})),
    )
    .await;
    assert!(
        r.status == 200 || r.status == 201,
        "create token {name}: {} {}",
        r.status,
        r.body
    );
    generate(token, name, "password1", expiry).await
}

/// `generateCredentials` for one slot of a token → the new password (follows the 202 form too).
pub async fn generate(token: &str, name: &str, slot: &str, expiry: Option<&str>) -> String {
    let env = Env::get();
    let mut body = serde_json::json!({"tokenId": format!("{}/tokens/{name}", env.registry_id()), "name": slot});
    if let Some(e) = expiry {
        body["expiry"] = Value::from(e);
    }
    let r = arm(
        token,
        reqwest::Method::POST,
        "/generateCredentials",
        Some(body),
    )
    .await;
    let result = match r.status {
        200 => r.body,
        202 => {
            let loc = r.headers["location"].to_str().unwrap().to_string();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let p = arm_url(token, reqwest::Method::GET, &loc, None).await;
                if p.status == 200 {
                    break p.body;
                }
                assert_eq!(p.status, 202, "polling {loc}: {}", p.body);
                assert!(
                    Instant::now() < deadline,
                    "generateCredentials still running after 30 s"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        s => panic!("generateCredentials {name}/{slot}: {s} {}", r.body),
    };
    result["passwords"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == slot))
        .and_then(|p| p["value"].as_str())
        .unwrap_or_else(|| panic!("no {slot} in {result}"))
        .to_string()
}

/// A registry access token from `/oauth2/token` (Basic) for the given scopes.
pub async fn registry_token(
    user: &str,
    password: &str,
    scopes: &[&str],
) -> Result<String, (u16, String)> {
    let env = Env::get();
    let mut q: Vec<(&str, &str)> = vec![("service", env.acr())];
    q.extend(scopes.iter().map(|s| ("scope", *s)));
    let r = env
        .http()
        .get(format!("{}/oauth2/token", env.base()))
        .query(&q)
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("token request");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    if status != 200 {
        return Err((status, text));
    }
    let v: Value = serde_json::from_str(&text).unwrap();
    Ok(v["access_token"].as_str().unwrap().to_string())
}

/// The `access` claim of a JWT (no verification: the registry verifies).
pub fn access_claim(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .expect("base64url payload");
    let v: Value = serde_json::from_slice(&bytes).expect("JSON claims");
    v["access"].clone()
}

/// The `rel="next"` target of a Link header, if any.
pub fn next_link(h: &reqwest::header::HeaderMap) -> Option<String> {
    let l = h.get("link")?.to_str().ok()?;
    let start = l.find('<')? + 1;
    let end = l.find('>')?;
    l.contains("rel=\"next\"")
        .then(|| l[start..end].to_string())
}

/// Polls `check` (Ok = done) until `timeout`, then panics with the last state.
pub async fn wait_for<T, F, Fut>(desc: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {desc}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
