//! `/v2/` passed through to the real registry byte for byte (bodies streamed), with ACR's 403 for a
//! valid token lacking scope, and push times recorded for `/acr/v1`.

use crate::App;
use crate::http::{self, Resp, registry_error};
use crate::state::Push;
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode, Uri};

/// `(repository, reference)` of a `/v2/{name}/manifests/{reference}` path.
pub fn manifest_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/v2/")?;
    let (name, reference) = rest.rsplit_once("/manifests/")?;
    (!name.is_empty() && !reference.is_empty() && !reference.contains('/'))
        .then_some((name, reference))
}

pub async fn proxy(app: &App, mut req: Request<Incoming>) -> Resp {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let pq = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let token_valid = http::bearer(req.headers()).is_some_and(|t| app.check_access(&t).is_some());
    let uri: Uri = match format!("{}{}", app.cfg.upstream, pq).parse() {
        Ok(u) => u,
        Err(e) => {
            return registry_error(
                StatusCode::BAD_REQUEST,
                "UNSUPPORTED",
                &format!("bad path: {e}"),
            );
        }
    };
    *req.uri_mut() = uri;
    let resp = match app.upstream.request(req).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("azure-standin: upstream registry unreachable: {e}");
            return registry_error(
                StatusCode::BAD_GATEWAY,
                "UNAVAILABLE",
                "the registry behind the stand-in is unreachable",
            );
        }
    };
    if resp.status() == StatusCode::UNAUTHORIZED && token_valid {
        return registry_error(
            StatusCode::FORBIDDEN,
            "DENIED",
            "requested access to the resource is denied",
        );
    }
    if method == Method::PUT
        && resp.status() == StatusCode::CREATED
        && let Some((repo, reference)) = manifest_path(&path)
    {
        let digest = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        app.record_push(repo, reference, &digest);
    }
    let (parts, body) = resp.into_parts();
    hyper::Response::from_parts(parts, http::incoming(body))
}

impl App {
    /// Remembers that `repo:reference` was pushed now (a tag, or a bare digest).
    pub fn record_push(&self, repo: &str, reference: &str, digest: &str) {
        let now = jiff::Timestamp::now();
        let mut st = self.state.lock().unwrap();
        if !digest.is_empty() {
            st.manifest_pushes
                .entry(format!("{repo}@{digest}"))
                .or_insert(now);
        }
        if !reference.starts_with("sha256:") {
            let tags = st.pushes.entry(repo.to_string()).or_default();
            match tags.get_mut(reference) {
                Some(p) => {
                    p.updated = now;
                    p.digest = digest.to_string();
                }
                None => {
                    tags.insert(
                        reference.to_string(),
                        Push {
                            digest: digest.to_string(),
                            created: now,
                            updated: now,
                        },
                    );
                }
            }
        }
        st.save(&self.cfg.state_file);
    }
}
