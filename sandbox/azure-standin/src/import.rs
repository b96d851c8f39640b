//! ARM `importImage`: really copies manifests and blobs (index children too) from a source
//! registry into the real registry, as a long-running operation.

use crate::App;
use crate::arm::arm_error;
use crate::http::{self, Resp};
use crate::upstream::{MANIFEST_ACCEPT, is_index};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Digest;
use std::sync::Arc;

struct Job {
    /// None: the stand-in's own registry.
    remote: Option<String>,
    creds: Option<(String, String)>,
    src_repo: String,
    src_ref: String,
    targets: Vec<(String, String)>,
    force: bool,
}

fn split_ref(s: &str) -> Option<(String, String)> {
    if let Some((r, d)) = s.split_once('@') {
        return Some((r.to_string(), d.to_string()));
    }
    let slash = s.rfind('/').map_or(0, |i| i + 1);
    match s[slash..].rfind(':') {
        Some(i) => Some((s[..slash + i].to_string(), s[slash + i + 1..].to_string())),
        None => Some((s.to_string(), "latest".to_string())),
    }
}

fn failed(code: &str, message: String) -> Value {
    json!({"code": code, "message": message})
}

pub async fn start(app: &Arc<App>, req: Request<Incoming>, api: &str) -> Resp {
    let bad = |m: &str| arm_error(StatusCode::BAD_REQUEST, "InvalidParameter", m);
    let b = match http::read_body(req.into_body(), 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => return bad(&e),
    };
    let body: Value = match serde_json::from_slice(&b) {
        Ok(v) => v,
        Err(e) => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                &format!("The request content was invalid and could not be deserialized: '{e}'."),
            );
        }
    };
    let src = &body["source"];
    let Some(source_image) = src["sourceImage"].as_str().filter(|s| !s.is_empty()) else {
        return bad("source.sourceImage is required (repo:tag or repo@sha256:...).");
    };
    let remote = match (src["registryUri"].as_str(), src["resourceId"].as_str()) {
        (Some(_), Some(_)) | (None, None) => {
            return bad("Give exactly one of source.registryUri and source.resourceId.");
        }
        (None, Some(id)) => {
            if !id.eq_ignore_ascii_case(&app.cfg.registry_id()) {
                return arm_error(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFound",
                    &format!("The source registry '{id}' was not found."),
                );
            }
            None
        }
        (Some(uri), None) => {
            let host = uri
                .trim_start_matches("https://")
                .trim_end_matches('/')
                .to_string();
            (host != app.cfg.login_server).then_some(host)
        }
    };
    let creds = match (
        src["credentials"]["username"].as_str(),
        src["credentials"]["password"].as_str(),
    ) {
        (Some(u), Some(p)) => Some((u.to_string(), p.to_string())),
        (None, None) => None,
        _ => return bad("source.credentials needs both username and password."),
    };
    let Some((src_repo, src_ref)) = split_ref(source_image) else {
        return bad("source.sourceImage must be repo:tag or repo@sha256:digest.");
    };
    let mut targets = Vec::new();
    for t in body["targetTags"].as_array().into_iter().flatten() {
        let Some(t) = t.as_str() else {
            return bad("targetTags must be strings like repo:tag.");
        };
        match split_ref(t) {
            Some((r, tag)) if !tag.starts_with("sha256:") && !r.is_empty() => {
                targets.push((r, tag))
            }
            _ => return bad(&format!("The target tag '{t}' must be repo:tag.")),
        }
    }
    if targets.is_empty()
        && body["untaggedTargetRepositories"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    {
        if src_ref.starts_with("sha256:") {
            return bad(
                "Give targetTags (or untaggedTargetRepositories) when importing by digest.",
            );
        }
        targets.push((src_repo.clone(), src_ref.clone()));
    }
    let force = match body["mode"].as_str().unwrap_or("NoForce") {
        "NoForce" => false,
        "Force" => true,
        m => return bad(&format!("mode '{m}' is invalid: use NoForce or Force.")),
    };
    let job = Job {
        remote,
        creds,
        src_repo,
        src_ref,
        targets,
        force,
    };
    let id = app.start_operation();
    let app2 = app.clone();
    let id2 = id.clone();
    tokio::spawn(async move {
        let outcome = run(&app2, &job).await;
        match &outcome {
            Ok(_) => eprintln!(
                "azure-standin: import {}:{} → {:?} succeeded",
                job.src_repo, job.src_ref, job.targets
            ),
            Err(e) => eprintln!("azure-standin: import failed: {e}"),
        }
        app2.finish_operation(&id2, outcome.map(|_| None));
    });
    let (status, result) = (
        format!(
            "https://{}/subscriptions/{}/providers/Microsoft.ContainerRegistry/locations/{}/operationStatuses/{id}?api-version={api}",
            app.cfg.login_server, app.cfg.azure.subscription_id, app.cfg.azure.location
        ),
        format!(
            "https://{}/subscriptions/{}/providers/Microsoft.ContainerRegistry/locations/{}/operationResults/{id}?api-version={api}",
            app.cfg.login_server, app.cfg.azure.subscription_id, app.cfg.azure.location
        ),
    );
    let r = http::json(StatusCode::ACCEPTED, &json!({}));
    let r = http::header(r, "Azure-AsyncOperation", &status);
    let r = http::header(r, "Location", &result);
    http::header(r, "Retry-After", "1")
}

/// How to authorize against a remote source registry.
enum Auth {
    None,
    Basic(String, String),
    Bearer(String),
}

struct Source<'a> {
    app: &'a App,
    job: &'a Job,
    auth: Auth,
}

impl Source<'_> {
    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        match &self.job.remote {
            None => self.app.up(
                Method::GET,
                path,
                &[format!("repository:{}:pull", self.job.src_repo)],
            ),
            Some(host) => {
                let rb = self.app.http.get(format!("https://{host}{path}"));
                match &self.auth {
                    Auth::None => rb,
                    Auth::Basic(u, p) => rb.basic_auth(u, Some(p)),
                    Auth::Bearer(t) => rb.bearer_auth(t),
                }
            }
        }
    }

    /// Answers the source's challenge (Basic, or Bearer via its token realm) once.
    async fn login(&mut self) -> Result<(), Value> {
        let Some(host) = &self.job.remote else {
            return Ok(());
        };
        let unreachable = |e: String| {
            failed(
                "InvalidParameter",
                format!("The source registry '{host}' could not be reached: {e}"),
            )
        };
        let r = self
            .app
            .http
            .get(format!("https://{host}/v2/"))
            .send()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        if r.status().is_success() {
            return Ok(());
        }
        let challenge = r
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let denied = || {
            failed(
                "InvalidParameter",
                format!(
                    "Authentication with the source registry '{host}' failed: check source.credentials."
                ),
            )
        };
        let lower = challenge.to_ascii_lowercase();
        if lower.starts_with("basic") {
            let (u, p) = self.job.creds.clone().ok_or_else(denied)?;
            self.auth = Auth::Basic(u, p);
            return Ok(());
        }
        if lower.starts_with("bearer") {
            let param = |k: &str| {
                challenge
                    .split([',', ' '])
                    .find_map(|kv| kv.trim().strip_prefix(&format!("{k}=")))
                    .map(|v| v.trim_matches('"').to_string())
            };
            let realm = param("realm").ok_or_else(denied)?;
            let service = param("service").unwrap_or_default();
            let mut rb = self.app.http.get(&realm).query(&[
                ("service", service.as_str()),
                ("scope", &format!("repository:{}:pull", self.job.src_repo)),
            ]);
            if let Some((u, p)) = &self.job.creds {
                rb = rb.basic_auth(u, Some(p));
            }
            let r = rb.send().await.map_err(|e| unreachable(e.to_string()))?;
            if !r.status().is_success() {
                return Err(denied());
            }
            let v: Value = r.json().await.map_err(|e| unreachable(e.to_string()))?;
            let t = v["token"]
                .as_str()
                .or(v["access_token"].as_str())
                .ok_or_else(denied)?;
            self.auth = Auth::Bearer(t.to_string());
            return Ok(());
        }
        Err(unreachable(format!(
            "unexpected answer {} to /v2/",
            r.status()
        )))
    }
}

async fn run(app: &App, job: &Job) -> Result<(), Value> {
    if !job.force {
        for (repo, tag) in &job.targets {
            match app.resolve(repo, tag).await {
                Ok(Some(_)) => {
                    return Err(failed(
                        "Conflict",
                        format!(
                            "The target tag '{repo}:{tag}' already exists in registry '{}'. Use mode 'Force' to overwrite it.",
                            app.cfg.azure.registry_name
                        ),
                    ));
                }
                Ok(None) => {}
                Err(e) => return Err(failed("InternalServerError", e)),
            }
        }
    }
    let mut src = Source {
        app,
        job,
        auth: Auth::None,
    };
    src.login().await?;
    let (bytes, ct, digest) = fetch_manifest(&src, &job.src_ref).await?;
    let mut dst_repos: Vec<&str> = job.targets.iter().map(|(r, _)| r.as_str()).collect();
    dst_repos.dedup();
    for dst in &dst_repos {
        copy_content(&src, &bytes, &ct, dst).await?;
        put_manifest(app, dst, &digest, &bytes, &ct).await?;
    }
    for (repo, tag) in &job.targets {
        put_manifest(app, repo, tag, &bytes, &ct).await?;
        app.record_push(repo, tag, &digest);
    }
    Ok(())
}

async fn fetch_manifest(
    src: &Source<'_>,
    reference: &str,
) -> Result<(Vec<u8>, String, String), Value> {
    let job = src.job;
    let r = src
        .get(&format!("/v2/{}/manifests/{reference}", job.src_repo))
        .header("Accept", MANIFEST_ACCEPT)
        .send()
        .await
        .map_err(|e| failed("InvalidParameter", format!("source registry: {e}")))?;
    if r.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(failed(
            "NotFound",
            format!(
                "The source image '{}:{reference}' was not found in the source registry.",
                job.src_repo
            ),
        ));
    }
    if r.status() == reqwest::StatusCode::UNAUTHORIZED
        || r.status() == reqwest::StatusCode::FORBIDDEN
    {
        return Err(failed(
            "InvalidParameter",
            format!(
                "The source registry refused access to '{}:{reference}' ({}): check source.credentials.",
                job.src_repo,
                r.status()
            ),
        ));
    }
    if !r.status().is_success() {
        return Err(failed(
            "InvalidParameter",
            format!(
                "The source registry answered {} for '{}:{reference}'.",
                r.status(),
                job.src_repo
            ),
        ));
    }
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/vnd.oci.image.manifest.v1+json")
        .to_string();
    let bytes = r
        .bytes()
        .await
        .map_err(|e| failed("InvalidParameter", format!("source manifest: {e}")))?
        .to_vec();
    let digest = format!("sha256:{:x}", sha2::Sha256::digest(&bytes));
    Ok((bytes, ct, digest))
}

/// Copies everything a manifest refers to (blobs, or child manifests of an index) into `dst`.
async fn copy_content(src: &Source<'_>, bytes: &[u8], ct: &str, dst: &str) -> Result<(), Value> {
    let m: Value = serde_json::from_slice(bytes).map_err(|e| {
        failed(
            "InvalidParameter",
            format!("source manifest is not JSON: {e}"),
        )
    })?;
    let media_type = m["mediaType"].as_str().unwrap_or(ct);
    if is_index(media_type) {
        for child in m["manifests"].as_array().into_iter().flatten() {
            let Some(d) = child["digest"].as_str() else {
                continue;
            };
            let (cb, cct, cd) = fetch_manifest(src, d).await?;
            Box::pin(copy_content(src, &cb, &cct, dst)).await?;
            put_manifest(src.app, dst, &cd, &cb, &cct).await?;
        }
        return Ok(());
    }
    let mut blobs: Vec<&str> = vec![];
    if let Some(c) = m["config"]["digest"].as_str() {
        blobs.push(c);
    }
    for l in m["layers"].as_array().into_iter().flatten() {
        if let Some(d) = l["digest"].as_str() {
            blobs.push(d);
        }
    }
    for d in blobs {
        copy_blob(src, d, dst).await?;
    }
    Ok(())
}

async fn copy_blob(src: &Source<'_>, digest: &str, dst: &str) -> Result<(), Value> {
    let app = src.app;
    let err = |e: String| failed("InternalServerError", format!("copying blob {digest}: {e}"));
    let scopes = vec![
        format!("repository:{dst}:pull,push"),
        format!("repository:{}:pull", src.job.src_repo),
    ];
    let head = app
        .up_send(app.up(Method::HEAD, &format!("/v2/{dst}/blobs/{digest}"), &scopes))
        .await
        .map_err(err)?;
    if head.status().is_success() {
        return Ok(());
    }
    if src.job.remote.is_none() {
        let r = app
            .up_send(app.up(
                Method::POST,
                &format!(
                    "/v2/{dst}/blobs/uploads/?mount={digest}&from={}",
                    src.job.src_repo
                ),
                &scopes,
            ))
            .await
            .map_err(err)?;
        if r.status() == reqwest::StatusCode::CREATED {
            return Ok(());
        }
    }
    let blob = src
        .get(&format!("/v2/{}/blobs/{digest}", src.job.src_repo))
        .send()
        .await
        .map_err(|e| err(e.to_string()))?;
    if !blob.status().is_success() {
        return Err(err(format!("source answered {}", blob.status())));
    }
    let start = app
        .up_send(app.up(Method::POST, &format!("/v2/{dst}/blobs/uploads/"), &scopes))
        .await
        .map_err(err)?;
    let loc = start
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| err(format!("upload start answered {}", start.status())))?;
    let loc = if loc.starts_with("http") {
        loc.to_string()
    } else {
        format!("{}{loc}", app.cfg.upstream)
    };
    let sep = if loc.contains('?') { '&' } else { '?' };
    let len = blob.content_length();
    let mut rb = app
        .up(Method::PUT, &format!("{loc}{sep}digest={digest}"), &scopes)
        .header("Content-Type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(blob.bytes_stream()));
    if let Some(len) = len {
        rb = rb.header("Content-Length", len);
    }
    let r = app.up_send(rb).await.map_err(err)?;
    if r.status() != reqwest::StatusCode::CREATED {
        return Err(err(format!("upload answered {}", r.status())));
    }
    Ok(())
}

async fn put_manifest(
    app: &App,
    repo: &str,
    reference: &str,
    bytes: &[u8],
    ct: &str,
) -> Result<(), Value> {
    let scopes = vec![format!("repository:{repo}:pull,push")];
    let r = app
        .up_send(
            app.up(
                Method::PUT,
                &format!("/v2/{repo}/manifests/{reference}"),
                &scopes,
            )
            .header("Content-Type", ct)
            .body(bytes.to_vec()),
        )
        .await
        .map_err(|e| failed("InternalServerError", e))?;
    if r.status() != reqwest::StatusCode::CREATED {
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        return Err(failed(
            "InternalServerError",
            format!("writing manifest {repo}:{reference}: {status} {text}"),
        ));
    }
    Ok(())
}
