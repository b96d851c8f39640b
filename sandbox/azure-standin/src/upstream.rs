//! The stand-in's own calls to the real registry (listing, import), with tokens it mints for
//! itself.

use crate::App;
use crate::auth::Identity;
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// Immutable facts about one manifest (cached by digest).
#[derive(Debug, Clone)]
pub struct ManifestInfo {
    pub media_type: String,
    pub size: u64,
    pub created: Option<jiff::Timestamp>,
    pub architecture: Option<String>,
    pub os: Option<String>,
    pub image_size: u64,
    /// Child manifests of an index.
    pub references: Vec<String>,
}

pub fn is_index(media_type: &str) -> bool {
    media_type.contains("index") || media_type.contains("manifest.list")
}

impl App {
    pub fn internal_token(&self, scopes: &[String]) -> String {
        self.mint_access(&Identity::Internal, scopes)
    }

    /// A request to the real registry at `path` (starting with `/v2/`) with a token for `scopes`.
    pub fn up(&self, method: Method, path: &str, scopes: &[String]) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.cfg.upstream)
        };
        self.http
            .request(method, url)
            .bearer_auth(self.internal_token(scopes))
    }

    pub async fn up_send(&self, rb: reqwest::RequestBuilder) -> Result<Response, String> {
        rb.send()
            .await
            .map_err(|e| format!("registry behind the stand-in: {e}"))
    }

    /// Every repository, lexically (the registry pages at most 1000 per call).
    pub async fn catalog_all(&self) -> Result<Vec<String>, String> {
        let scopes = vec!["registry:catalog:*".to_string()];
        let mut repos: Vec<String> = Vec::new();
        loop {
            let mut path = "/v2/_catalog?n=1000".to_string();
            if let Some(l) = repos.last() {
                path.push_str(&format!("&last={l}"));
            }
            let r = self.up_send(self.up(Method::GET, &path, &scopes)).await?;
            if !r.status().is_success() {
                return Err(format!("registry catalog: {}", r.status()));
            }
            let v: Value = r
                .json()
                .await
                .map_err(|e| format!("registry catalog: {e}"))?;
            let page: Vec<String> = v["repositories"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let done = page.len() < 1000;
            repos.extend(page);
            if done {
                break;
            }
        }
        repos.sort();
        repos.dedup();
        Ok(repos)
    }

    /// Every tag of `repo` (None when the repository does not exist).
    pub async fn tags_all(&self, repo: &str) -> Result<Option<Vec<String>>, String> {
        let scopes = vec![format!("repository:{repo}:pull")];
        let r = self
            .up_send(self.up(Method::GET, &format!("/v2/{repo}/tags/list"), &scopes))
            .await?;
        if r.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !r.status().is_success() {
            return Err(format!("registry tags of {repo}: {}", r.status()));
        }
        let v: Value = r.json().await.map_err(|e| format!("registry tags: {e}"))?;
        Ok(Some(
            v["tags"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        ))
    }

    /// The digest `repo:reference` points at now (None when missing).
    pub async fn resolve(&self, repo: &str, reference: &str) -> Result<Option<String>, String> {
        let scopes = vec![format!("repository:{repo}:pull")];
        let r = self
            .up_send(
                self.up(
                    Method::HEAD,
                    &format!("/v2/{repo}/manifests/{reference}"),
                    &scopes,
                )
                .header("Accept", MANIFEST_ACCEPT),
            )
            .await?;
        if r.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !r.status().is_success() {
            return Err(format!(
                "registry manifest {repo}:{reference}: {}",
                r.status()
            ));
        }
        Ok(r.headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(String::from))
    }

    pub async fn manifest_info(&self, repo: &str, digest: &str) -> Result<ManifestInfo, String> {
        if let Some(i) = self.manifests.lock().unwrap().get(digest) {
            return Ok(i.clone());
        }
        let scopes = vec![format!("repository:{repo}:pull")];
        let r = self
            .up_send(
                self.up(
                    Method::GET,
                    &format!("/v2/{repo}/manifests/{digest}"),
                    &scopes,
                )
                .header("Accept", MANIFEST_ACCEPT),
            )
            .await?;
        if !r.status().is_success() {
            return Err(format!("registry manifest {repo}@{digest}: {}", r.status()));
        }
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = r.bytes().await.map_err(|e| format!("manifest body: {e}"))?;
        let m: Value = serde_json::from_slice(&bytes).map_err(|e| format!("manifest json: {e}"))?;
        let media_type = m["mediaType"].as_str().map(String::from).unwrap_or(ct);
        let mut info = ManifestInfo {
            media_type: media_type.clone(),
            size: bytes.len() as u64,
            created: None,
            architecture: None,
            os: None,
            image_size: bytes.len() as u64,
            references: vec![],
        };
        if is_index(&media_type) {
            for child in m["manifests"].as_array().into_iter().flatten() {
                let Some(d) = child["digest"].as_str() else {
                    continue;
                };
                info.references.push(d.to_string());
                if let Ok(ci) = Box::pin(self.manifest_info(repo, d)).await {
                    info.image_size += ci.image_size;
                    info.created = info.created.max(ci.created);
                }
            }
        } else {
            info.image_size += m["config"]["size"].as_u64().unwrap_or(0);
            for l in m["layers"].as_array().into_iter().flatten() {
                info.image_size += l["size"].as_u64().unwrap_or(0);
            }
            if let Some(cd) = m["config"]["digest"].as_str() {
                let r = self
                    .up_send(self.up(Method::GET, &format!("/v2/{repo}/blobs/{cd}"), &scopes))
                    .await?;
                if r.status().is_success() {
                    let c: Value = r.json().await.unwrap_or(Value::Null);
                    info.created = c["created"].as_str().and_then(|s| s.parse().ok());
                    info.architecture = c["architecture"].as_str().map(String::from);
                    info.os = c["os"].as_str().map(String::from);
                }
            }
        }
        self.manifests
            .lock()
            .unwrap()
            .insert(digest.to_string(), info.clone());
        Ok(info)
    }
}
