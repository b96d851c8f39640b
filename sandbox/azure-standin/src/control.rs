//! Test controls under `/_standin/`: fault switches, request statistics, forgetting push times.

use crate::App;
use crate::http::{self, Resp, first, pairs, registry_error};
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Deserialize, Clone, serde::Serialize)]
pub struct Fault {
    #[serde(default)]
    pub id: u64,
    pub path_contains: String,
    /// Answer with this status (429, 500, 503, ...); absent = pass the request on after the delay.
    pub status: Option<u16>,
    pub retry_after: Option<u64>,
    pub delay_ms: Option<u64>,
    /// Answer with this body instead (status `status`, else 200; `application/json`): garbage
    /// JSON, a truncated document.
    pub body: Option<String>,
    /// Pass the request on, but answer with this `Docker-Content-Digest` (a registry or proxy
    /// that altered the content).
    pub digest: Option<String>,
    /// Pass the request on, but cut the connection after this many bytes of the body (a reset
    /// mid-manifest or mid-blob).
    pub reset_after_bytes: Option<usize>,
    /// How many matching requests the fault hits (default 1).
    #[serde(default = "one")]
    pub count: u64,
}

fn one() -> u64 {
    1
}

struct Seen {
    method: String,
    target: String,
    kind: &'static str,
    status: u16,
}

#[derive(Default)]
pub struct Control {
    faults: Mutex<(u64, Vec<Fault>)>,
    seen: Mutex<Vec<Seen>>,
    /// While non-empty, the registry's network rules apply only to requests naming one of these.
    firewall_scopes: Mutex<Vec<String>>,
    /// `jti`s of ACR refresh tokens a test has made expire early (`POST expire-refresh-token`):
    /// the fault "the refresh token expired mid-session" (a laptop suspended past its 3 hours,
    /// whose monotonic clock did not count the sleep). Per token, so tests running beside the
    /// one that asks keep theirs.
    expired_refresh: Mutex<std::collections::BTreeSet<String>>,
}

impl Control {
    pub fn refresh_expired(&self, jti: &str) -> bool {
        self.expired_refresh.lock().unwrap().contains(jti)
    }
}

const MAX_SEEN: usize = 200_000;

pub fn kind(path: &str) -> &'static str {
    if path == "/v2/" || path == "/v2" {
        "v2.base"
    } else if path.starts_with("/v2/_catalog") {
        "v2.catalog"
    } else if path.starts_with("/v2/") {
        if path.contains("/manifests/") {
            "v2.manifest"
        } else if path.contains("/blobs/uploads") {
            "v2.upload"
        } else if path.contains("/blobs/") {
            "v2.blob"
        } else if path.ends_with("/tags/list") {
            "v2.tags"
        } else {
            "v2.other"
        }
    } else if path.starts_with("/oauth2/token") {
        "oauth2.token"
    } else if path.starts_with("/oauth2/exchange") {
        "oauth2.exchange"
    } else if path.starts_with("/acr/v1/_catalog") {
        "acr.catalog"
    } else if path.starts_with("/acr/v1/") && path.ends_with("/_tags") || path.contains("/_tags/") {
        "acr.tags"
    } else if path.starts_with("/acr/v1/") && path.contains("/_manifests") {
        "acr.manifests"
    } else if path.starts_with("/subscriptions/") {
        let last = path.rsplit('/').next().unwrap_or("");
        if path.contains("/operationStatuses/") || path.contains("/operationResults/") {
            "arm.operation"
        } else {
            match last {
                "listCredentials" => "arm.listCredentials",
                "regenerateCredential" => "arm.regenerateCredential",
                "generateCredentials" => "arm.generateCredentials",
                "importImage" => "arm.importImage",
                _ if path.contains("/roleAssignments") => "arm.roleAssignments",
                _ if path.contains("/managedClusters/") => "arm.managedCluster",
                _ if path.contains("/virtualMachineScaleSets/") => "arm.vmss",
                _ => "arm.other",
            }
        }
    } else if path.starts_with("/metadata/identity/") {
        "imds.token"
    } else if path.contains("/oauth2/v2.0/token") {
        "entra.token"
    } else {
        "other"
    }
}

impl Control {
    /// Whether the network rules apply to a request about `names` (see `firewall_scopes`).
    pub fn firewall_applies(&self, names: &[&str]) -> bool {
        let scopes = self.firewall_scopes.lock().unwrap();
        scopes.is_empty()
            || names
                .iter()
                .any(|n| scopes.iter().any(|s| n.contains(s.as_str())))
    }

    /// The fault hitting this request, if any (and uses one of its count).
    pub fn take_fault(&self, target: &str) -> Option<Fault> {
        let decoded = decode(target);
        let mut g = self.faults.lock().unwrap();
        let idx = g.1.iter().position(|f| {
            target.contains(&f.path_contains) || decoded.contains(&f.path_contains)
        })?;
        let f = g.1[idx].clone();
        if g.1[idx].count <= 1 {
            g.1.remove(idx);
        } else {
            g.1[idx].count -= 1;
        }
        Some(f)
    }

    pub fn record(&self, method: &str, target: &str, path: &str, status: u16) {
        let mut s = self.seen.lock().unwrap();
        if s.len() >= MAX_SEEN {
            s.drain(..MAX_SEEN / 2);
        }
        s.push(Seen {
            method: method.into(),
            target: target.into(),
            kind: kind(path),
            status,
        });
    }
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn fault_response(f: &Fault, status: u16) -> Resp {
    let st = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let (code, msg) = match status {
        429 => (
            "TOOMANYREQUESTS",
            "too many requests (fault injected by azure-standin)",
        ),
        _ => (
            "UNAVAILABLE",
            "service unavailable (fault injected by azure-standin)",
        ),
    };
    let mut r = registry_error(st, code, msg);
    if let Some(s) = f.retry_after {
        r = http::header(r, "Retry-After", &s.to_string());
    }
    r
}

/// A fault's change to the answer the request got (body, digest header, cut connection).
pub fn alter(f: &Fault, mut resp: Resp) -> Resp {
    if let Some(body) = &f.body {
        let status = f
            .status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::OK);
        let mut r = hyper::Response::new(http::full(body.clone()));
        *r.status_mut() = status;
        return http::header(r, "Content-Type", "application/json");
    }
    if let Some(d) = &f.digest {
        resp = http::header(resp, "Docker-Content-Digest", d);
    }
    if let Some(limit) = f.reset_after_bytes {
        use http_body_util::BodyExt;
        let (parts, body) = resp.into_parts();
        let mut sent = 0usize;
        let stream = http_body_util::BodyStream::new(body);
        use futures_util::StreamExt;
        let limited = stream.map(move |frame| {
            let frame = frame?;
            match frame.into_data() {
                Ok(data) => {
                    if sent >= limit {
                        return Err::<hyper::body::Frame<bytes::Bytes>, http::BoxError>(
                            "connection reset (fault injected by azure-standin)".into(),
                        );
                    }
                    let keep = (limit - sent).min(data.len());
                    sent += keep;
                    Ok(hyper::body::Frame::data(data.slice(..keep)))
                }
                Err(other) => Ok(other),
            }
        });
        let body = http_body_util::StreamBody::new(limited).boxed_unsync();
        return hyper::Response::from_parts(parts, body);
    }
    resp
}

pub async fn handle(app: &App, req: Request<Incoming>, rest: &str) -> Resp {
    let method = req.method().clone();
    let query = pairs(req.uri().query().unwrap_or(""));
    match (method, rest) {
        (Method::POST, "faults") => {
            let body = match http::read_body(req.into_body(), 64 * 1024).await {
                Ok(b) => b,
                Err(e) => return bad(&e),
            };
            let mut f: Fault = match serde_json::from_slice(&body) {
                Ok(f) => f,
                Err(e) => return bad(&format!("fault body: {e}")),
            };
            if f.path_contains.is_empty() {
                return bad("path_contains must not be empty (faults would hit every test)");
            }
            if f.status.is_none()
                && f.delay_ms.is_none()
                && f.body.is_none()
                && f.digest.is_none()
                && f.reset_after_bytes.is_none()
            {
                return bad(
                    "a fault needs a status, a delay_ms, a body, a digest or reset_after_bytes",
                );
            }
            let mut g = app.control.faults.lock().unwrap();
            g.0 += 1;
            f.id = g.0;
            let id = f.id;
            g.1.push(f);
            http::json(StatusCode::CREATED, &json!({"id": id}))
        }
        (Method::POST, "expire-refresh-token") => {
            let body = match http::read_body(req.into_body(), 64 * 1024).await {
                Ok(b) => b,
                Err(e) => return bad(&e),
            };
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let Some(token) = v["token"].as_str() else {
                return bad("expire-refresh-token needs {\"token\": \"<an ACR refresh token>\"}");
            };
            let Some(jti) = app
                .signer
                .verify(token)
                .and_then(|c| c.get("jti").and_then(Value::as_str).map(str::to_owned))
            else {
                return bad("not a refresh token this stand-in issued (or it has expired already)");
            };
            app.control
                .expired_refresh
                .lock()
                .unwrap()
                .insert(jti.clone());
            http::json(StatusCode::OK, &json!({"expired": jti}))
        }
        (Method::GET, "faults") => {
            let g = app.control.faults.lock().unwrap();
            http::json(StatusCode::OK, &json!({"faults": g.1}))
        }
        (Method::DELETE, r) if r == "faults" || r.starts_with("faults/") => {
            let mut g = app.control.faults.lock().unwrap();
            let before = g.1.len();
            if let Some(id) = r.strip_prefix("faults/") {
                let Ok(id) = id.parse::<u64>() else {
                    return bad("fault id must be a number");
                };
                g.1.retain(|f| f.id != id);
            } else if let Some(p) = first(&query, "path_contains") {
                g.1.retain(|f| !f.path_contains.contains(p));
            } else {
                return bad(
                    "DELETE /_standin/faults needs ?path_contains= (or use /_standin/faults/{id})",
                );
            }
            http::json(StatusCode::OK, &json!({"removed": before - g.1.len()}))
        }
        (Method::GET, "stats") => {
            let pc = first(&query, "path_contains").unwrap_or("");
            let s = app.control.seen.lock().unwrap();
            let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
            let mut reqs: Vec<Value> = Vec::new();
            let mut total = 0u64;
            for r in s.iter() {
                if !(r.target.contains(pc) || decode(&r.target).contains(pc)) {
                    continue;
                }
                total += 1;
                *by_kind
                    .entry(format!("{} {}", r.method, r.kind))
                    .or_default() += 1;
                reqs.push(json!({"method": r.method, "path": r.target.split('?').next(), "kind": r.kind, "status": r.status}));
            }
            let skip = reqs.len().saturating_sub(1000);
            http::json(
                StatusCode::OK,
                &json!({"total": total, "by_kind": by_kind, "requests": reqs[skip..]}),
            )
        }
        (Method::POST, "firewall") => {
            let body = match http::read_body(req.into_body(), 64 * 1024).await {
                Ok(b) => b,
                Err(e) => return bad(&e),
            };
            let v: Value = match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(e) => return bad(&format!("firewall body: {e}")),
            };
            let Some(scope) = v["scope"].as_str().filter(|s| !s.is_empty()) else {
                return bad("firewall needs {\"scope\": \"<repository name the test owns>\"}");
            };
            let mut g = app.control.firewall_scopes.lock().unwrap();
            if !g.iter().any(|s| s == scope) {
                g.push(scope.to_string());
            }
            http::json(StatusCode::CREATED, &json!({"scopes": *g}))
        }
        (Method::GET, "firewall") => {
            let g = app.control.firewall_scopes.lock().unwrap();
            http::json(StatusCode::OK, &json!({"scopes": *g}))
        }
        (Method::DELETE, "firewall") => {
            let Some(scope) = first(&query, "scope") else {
                return bad("DELETE /_standin/firewall needs ?scope=");
            };
            let mut g = app.control.firewall_scopes.lock().unwrap();
            g.retain(|s| s != scope);
            http::json(StatusCode::OK, &json!({"scopes": *g}))
        }
        (Method::DELETE, "pushes") => {
            let Some(repo) = first(&query, "repository") else {
                return bad("DELETE /_standin/pushes needs ?repository=");
            };
            let mut st = app.state.lock().unwrap();
            let n = st.pushes.remove(repo).map_or(0, |m| m.len());
            let prefix = format!("{repo}@");
            st.manifest_pushes.retain(|k, _| !k.starts_with(&prefix));
            st.save(&app.cfg.state_file);
            http::json(StatusCode::OK, &json!({"forgotten": n}))
        }
        _ => registry_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "unknown /_standin endpoint (see sandbox/azure-standin/README.md)",
        ),
    }
}

fn bad(msg: &str) -> Resp {
    http::json(StatusCode::BAD_REQUEST, &json!({"error": msg}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_paths() {
        assert_eq!(kind("/v2/"), "v2.base");
        assert_eq!(kind("/v2/a/b/manifests/1.0"), "v2.manifest");
        assert_eq!(kind("/v2/a/blobs/uploads/x"), "v2.upload");
        assert_eq!(kind("/v2/a/blobs/sha256:0"), "v2.blob");
        assert_eq!(kind("/acr/v1/web/_tags"), "acr.tags");
        assert_eq!(
            kind("/subscriptions/s/resourceGroups/r/providers/P/registries/x/importImage"),
            "arm.importImage"
        );
        assert_eq!(kind("/t/oauth2/v2.0/token"), "entra.token");
    }

    #[test]
    fn decode_handles_percent_and_plus() {
        assert_eq!(
            decode("scope=repository%3Aweb%3Apull+x"),
            "scope=repository:web:pull x"
        );
        assert_eq!(decode("100%"), "100%");
    }

    #[test]
    fn fault_hits_count_times_and_only_matching_paths() {
        let c = Control::default();
        c.faults.lock().unwrap().1.push(Fault {
            id: 1,
            path_contains: "repository:web".into(),
            status: Some(429),
            retry_after: None,
            delay_ms: None,
            body: None,
            digest: None,
            reset_after_bytes: None,
            count: 2,
        });
        assert!(c.take_fault("/v2/api/manifests/1").is_none());
        assert!(
            c.take_fault("/oauth2/token?scope=repository%3Aweb%3Apull")
                .is_some()
        );
        assert!(
            c.take_fault("/oauth2/token?scope=repository:web:pull")
                .is_some()
        );
        assert!(
            c.take_fault("/oauth2/token?scope=repository:web:pull")
                .is_none()
        );
    }
}
