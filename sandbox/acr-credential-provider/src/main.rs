//! acr-credential-provider (test-only): a kubelet image credential provider plugin
//! (`credentialprovider.kubelet.k8s.io/v1alpha1`, kubelet 1.20's `KubeletCredentialProviders`)
//! that does what AKS's acr-credential-provider does with the kubelet managed identity, against
//! the azure-standin:
//!
//! 1. reads a `CredentialProviderRequest` (`{"image": ...}`) from stdin;
//! 2. gets a managed-identity token from IMDS for `https://management.azure.com/` with the
//!    kubelet identity's client id (`userAssignedIdentityID` of the azure.json given as the only
//!    argument), header `Metadata: true`;
//! 3. `GET https://{registry}/v2/` for the Bearer challenge (realm, service);
//! 4. `POST {realm host}/oauth2/exchange` form `grant_type=access_token_refresh_token, service,
//!    tenant, access_token, refresh_token` → the ACR refresh token;
//! 5. prints a `CredentialProviderResponse`: `{registry: {username: 00000000-…, password:
//!    refresh token}}` plus the empty-credential anonymous entry the real one adds.
//!
//! kubelet 1.20 runs plugins with no environment except the config's `env`:
//! - `BERTH_IMDS_ENDPOINT` (required): base URL of the IMDS stand-in, e.g. `http://127.0.0.1:16413`
//!   (AKS: `http://169.254.169.254`, which cannot be bound here);
//! - `BERTH_CA_FILE`: PEM bundle trusted for the registry (the test CA);
//! - `BERTH_ANONYMOUS_GLOB`: key of the anonymous entry (default `*.azurecr.*`, as the real one;
//!   the local environment sets a glob matching its `127.0.0.1:PORT` host);
//! - `BERTH_CACHE_DURATION`: `cacheDuration` of the response (absent: kubelet's default).
//!
//! Errors go to stderr and the exit status is 1 (kubelet then pulls without these credentials).

use serde_json::{Value, json};
use std::io::Read;
use std::time::Duration;

const NULL_USER: &str = "00000000-0000-0000-0000-000000000000";
const USER_AGENT: &str = "kubernetes-credentialprovider-acr";
const API_VERSION: &str = "credentialprovider.kubelet.k8s.io/v1alpha1";
const ARM_RESOURCE: &str = "https://management.azure.com/";

fn main() {
    match run() {
        Ok(out) => println!("{out}"),
        Err(e) => {
            eprintln!("acr-credential-provider: {e}");
            std::process::exit(1);
        }
    }
}

fn run() -> Result<Value, String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("reading the request from stdin: {e}"))?;
    let req: Value = serde_json::from_str(&input)
        .map_err(|e| format!("decoding the CredentialProviderRequest: {e}"))?;
    if req["apiVersion"].as_str().is_some_and(|v| v != API_VERSION) {
        return Err(format!(
            "unsupported apiVersion {} (want {API_VERSION})",
            req["apiVersion"]
        ));
    }
    let image = req["image"]
        .as_str()
        .filter(|i| !i.is_empty())
        .ok_or("the CredentialProviderRequest has no image")?;
    let registry = image.split('/').next().unwrap_or(image).to_string();

    let cfg_path = std::env::args()
        .nth(1)
        .ok_or("usage: acr-credential-provider AZURE_JSON (the cloud provider config)")?;
    let cfg: Value = serde_json::from_str(
        &std::fs::read_to_string(&cfg_path).map_err(|e| format!("reading {cfg_path}: {e}"))?,
    )
    .map_err(|e| format!("decoding {cfg_path}: {e}"))?;
    if cfg["useManagedIdentityExtension"] != true {
        return Err(format!(
            "{cfg_path}: useManagedIdentityExtension is not true (only the managed identity is emulated)"
        ));
    }
    let client_id = cfg["userAssignedIdentityID"].as_str().unwrap_or("");
    let tenant = cfg["tenantId"].as_str().unwrap_or("");
    let imds = std::env::var("BERTH_IMDS_ENDPOINT")
        .map_err(|_| "BERTH_IMDS_ENDPOINT is not set (the provider config's env)".to_string())?;

    let mut builder = reqwest::blocking::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(Duration::from_secs(30));
    if let Ok(ca) = std::env::var("BERTH_CA_FILE") {
        let pem = std::fs::read(&ca).map_err(|e| format!("reading {ca}: {e}"))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{ca}: not a PEM bundle: {e}"))?;
        builder = builder.tls_certs_only(certs);
    }
    let http = builder.build().map_err(|e| format!("HTTP client: {e}"))?;

    // 1. managed identity token from IMDS
    let mut q = vec![("api-version", "2018-02-01"), ("resource", ARM_RESOURCE)];
    if !client_id.is_empty() {
        q.push(("client_id", client_id));
    }
    let url = format!(
        "{}/metadata/identity/oauth2/token",
        imds.trim_end_matches('/')
    );
    let r = http
        .get(&url)
        .header("Metadata", "true")
        .query(&q)
        .send()
        .map_err(|e| format!("failed to get a managed identity token from IMDS {url}: {e}"))?;
    let status = r.status();
    let body = r.text().unwrap_or_default();
    if !status.is_success() {
        return Err(format!(
            "failed to get a managed identity token from IMDS {url} (client_id {client_id}): {} {body}",
            status.as_u16()
        ));
    }
    let aad: Value = serde_json::from_str(&body).map_err(|e| format!("IMDS answer: {e}"))?;
    let aad = aad["access_token"]
        .as_str()
        .ok_or("IMDS answer has no access_token")?;

    // 2. challenge
    let challenge_url = format!("https://{registry}/v2/");
    let r = http
        .get(&challenge_url)
        .send()
        .map_err(|e| format!("error reaching registry endpoint {challenge_url}, error: {e}"))?;
    if r.status().as_u16() != 401 {
        return Err(format!(
            "registry did not issue a valid AAD challenge, status: {}",
            r.status().as_u16()
        ));
    }
    let header = r
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .ok_or("challenge response does not contain header 'Www-Authenticate'")?
        .to_string();
    let (scheme, params) = header.split_once(' ').unwrap_or((&header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(format!(
            "Www-Authenticate: expected realm: Bearer, actual: {scheme}"
        ));
    }
    let params = parse_challenge(params);
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (realm, service) = (get("realm"), get("service"));
    if service.is_empty() {
        return Err("Www-Authenticate: missing header \"service\"".into());
    }
    let realm_host = realm
        .strip_prefix("https://")
        .map(|r| r.split('/').next().unwrap_or(r))
        .ok_or_else(|| format!("Www-Authenticate: invalid realm {realm}"))?;

    // 3. exchange
    let exchange = format!("https://{realm_host}/oauth2/exchange");
    let r = http
        .post(&exchange)
        .form(&[
            ("service", service.as_str()),
            ("grant_type", "access_token_refresh_token"),
            ("access_token", aad),
            ("refresh_token", aad),
            ("tenant", tenant),
        ])
        .send()
        .map_err(|_| format!("Www-Authenticate: failed to reach auth url {exchange}"))?;
    if r.status().as_u16() != 200 {
        return Err(format!(
            "Www-Authenticate: auth url {exchange} responded with status code {}",
            r.status().as_u16()
        ));
    }
    let v: Value = r
        .json()
        .map_err(|e| format!("Www-Authenticate: unable to read response: {e}"))?;
    let refresh = v["refresh_token"]
        .as_str()
        .ok_or("Www-Authenticate: the exchange answered no refresh_token")?;

    let glob = std::env::var("BERTH_ANONYMOUS_GLOB").unwrap_or_else(|_| "*.azurecr.*".into());
    let mut resp = json!({
        "kind": "CredentialProviderResponse",
        "apiVersion": API_VERSION,
        "cacheKeyType": "Registry",
        "auth": {
            registry: {"username": NULL_USER, "password": refresh},
            // The real provider's "ACR anonymous repo support" entry.
            glob: {"username": "", "password": ""},
        },
    });
    if let Ok(d) = std::env::var("BERTH_CACHE_DURATION") {
        resp["cacheDuration"] = json!(d);
    }
    Ok(resp)
}

/// `key="value", key2=value2` pairs of a challenge (quoted values may hold commas).
fn parse_challenge(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while let Some((k, v)) = rest.split_once('=') {
        let key = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let v = v.trim_start();
        let (value, tail) = if let Some(q) = v.strip_prefix('"') {
            match q.split_once('"') {
                Some((val, tail)) => (val.to_string(), tail),
                None => (q.to_string(), ""),
            }
        } else {
            match v.split_once(',') {
                Some((val, tail)) => (val.trim().to_string(), tail),
                None => (v.trim().to_string(), ""),
            }
        };
        out.push((key, value));
        rest = tail.trim_start().trim_start_matches(',');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_params() {
        let p = parse_challenge(
            r#"realm="https://127.0.0.1:1/oauth2/token",service="127.0.0.1:1",scope="repository:a:pull,push""#,
        );
        assert_eq!(
            p,
            vec![
                ("realm".into(), "https://127.0.0.1:1/oauth2/token".into()),
                ("service".into(), "127.0.0.1:1".into()),
                ("scope".into(), "repository:a:pull,push".into()),
            ]
        );
        assert_eq!(
            parse_challenge("realm=x, service=y"),
            vec![("realm".into(), "x".into()), ("service".into(), "y".into())]
        );
    }
}
