//! `/v2/` passed through to the real registry byte for byte (bodies streamed), with ACR's 403 for a
//! valid token lacking scope, ACR's tag locks enforced (a manifest PUT onto a tag with
//! `writeEnabled: false`, a manifest DELETE of a digest a write- or delete-locked tag points at:
//! 405 `REGISTRY_DISALLOWED_OPERATION`), and push times recorded for `/acr/v1`.

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
    let claims = http::bearer(req.headers()).and_then(|t| app.check_access(&t));
    // ACR's firewall, for repository requests that carry a token (the challenge itself and the
    // token endpoint's own check come first for a client without one).
    if claims.is_some() && path.len() > "/v2/".len() {
        let peer = req.extensions().get::<crate::aks::Peer>().map(|p| p.0);
        if let Some(r) = app.firewall(req.headers(), peer, &[&path]) {
            return r;
        }
    }
    // Locks, for a client that holds a token (one without gets the registry's challenge first).
    if claims.is_some()
        && let Some((repo, reference)) = manifest_path(&path)
    {
        if method == Method::PUT
            && !reference.starts_with("sha256:")
            && !app
                .state
                .lock()
                .unwrap()
                .attributes(repo, reference)
                .write_enabled
        {
            return crate::acr_v1::disallowed();
        }
        if method == Method::DELETE
            && let Some(r) = app.delete_locked(repo, reference).await
        {
            return r;
        }
    }
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
    // ACR answers 403 when the identity asked for the scope and was refused it; a token that never
    // asked for it keeps the registry's 401 challenge so the client can fetch a fitting one.
    let needed = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split_once("scope=\""))
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(scope, _)| scope.to_string());
    if resp.status() == StatusCode::UNAUTHORIZED
        && let (Some(claims), Some(needed)) = (&claims, &needed)
        && App::token_requested(claims, needed)
    {
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
    /// ACR's refusal when deleting `repo@reference` would take a tag whose `writeEnabled` or
    /// `deleteEnabled` is false with it.
    async fn delete_locked(&self, repo: &str, reference: &str) -> Option<Resp> {
        let locked: Vec<String> = self
            .state
            .lock()
            .unwrap()
            .tag_attributes
            .get(repo)?
            .iter()
            .filter(|(_, a)| !a.write_enabled || !a.delete_enabled)
            .map(|(t, _)| t.clone())
            .collect();
        if locked.is_empty() {
            return None;
        }
        let digest = if reference.starts_with("sha256:") {
            reference.to_owned()
        } else {
            self.resolve(repo, reference).await.ok()??
        };
        for tag in locked {
            if self.resolve(repo, &tag).await.ok().flatten().as_deref() == Some(digest.as_str()) {
                return Some(crate::acr_v1::disallowed());
            }
        }
        None
    }

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
