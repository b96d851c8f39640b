//! Small helpers around hyper requests and responses.

use base64::Engine;
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{HeaderMap, Response, StatusCode};
use serde_json::Value;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Body = UnsyncBoxBody<Bytes, BoxError>;
pub type Resp = Response<Body>;

pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub fn incoming(b: Incoming) -> Body {
    b.map_err(|e| Box::new(e) as BoxError).boxed_unsync()
}

pub fn json(status: StatusCode, v: &Value) -> Resp {
    let mut r = Response::new(full(v.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

pub fn empty(status: StatusCode) -> Resp {
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = status;
    r
}

pub fn header(mut r: Resp, name: &str, value: &str) -> Resp {
    if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
        r.headers_mut().insert(n, v);
    }
    r
}

/// Registry-style error body `{"errors":[{code,message}]}`.
pub fn registry_error(status: StatusCode, code: &str, message: &str) -> Resp {
    json(
        status,
        &serde_json::json!({"errors": [{"code": code, "message": message, "detail": null}]}),
    )
}

pub async fn read_body(b: Incoming, limit: usize) -> Result<Bytes, String> {
    Limited::new(b, limit)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| format!("reading request body: {e}"))
}

/// All `key=value` pairs of a form or query string, decoded, in order.
pub fn pairs(s: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(s.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

pub fn basic_auth(h: &HeaderMap) -> Option<(String, String)> {
    let v = h.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let dec = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let s = String::from_utf8(dec).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

pub fn bearer(h: &HeaderMap) -> Option<String> {
    let v = h.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim().to_string())
}

/// ACR-style time: RFC 3339 with 7 fractional digits.
pub fn acr_time(t: jiff::Timestamp) -> String {
    let secs = t.strftime("%Y-%m-%dT%H:%M:%S");
    format!("{secs}.{:07}Z", t.subsec_nanosecond() / 100)
}

/// The query string with secret-bearing parameters blanked, for logs.
pub fn redact_query(q: &str) -> String {
    pairs(q)
        .into_iter()
        .map(|(k, v)| {
            let secret = ["token", "password", "secret", "refresh", "access"]
                .iter()
                .any(|s| k.to_ascii_lowercase().contains(s));
            format!("{k}={}", if secret { "<redacted>" } else { v.as_str() })
        })
        .collect::<Vec<_>>()
        .join("&")
}
