//! Manifest and blob operations of the distribution API.

use futures::TryStreamExt;
use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderValue};

use super::client::{Call, CallBody, RegistryClient, repo_scope};
use super::error::RegistryError;
use super::manifest::{ACCEPT, Manifest, sha256_digest};

/// What `HEAD` on a manifest says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestHead {
    pub digest: Option<String>,
    pub media_type: Option<String>,
    pub size: Option<u64>,
}

/// The answer to a cross-repository mount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountOutcome {
    Mounted,
    /// The registry started an upload session instead (the blob was not mountable).
    UploadNeeded {
        location: String,
    },
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

const DIGEST_HEADER: &str = "docker-content-digest";

impl RegistryClient {
    fn object(repo: &str, reference: &str) -> String {
        if reference.contains(':') && reference.starts_with("sha") {
            format!("{repo}@{reference}")
        } else {
            format!("{repo}:{reference}")
        }
    }

    /// `GET /v2/{repo}/manifests/{reference}`: the exact bytes, verified against the
    /// `Docker-Content-Digest` header and against `reference` when it is a digest.
    pub async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Manifest, RegistryError> {
        self.get_manifest_scoped(repo, reference, vec![repo_scope(repo, "pull")])
            .await
    }

    pub(crate) async fn get_manifest_scoped(
        &self,
        repo: &str,
        reference: &str,
        scopes: Vec<String>,
    ) -> Result<Manifest, RegistryError> {
        let object = Self::object(repo, reference);
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
        let resp = self
            .execute_ok(Call {
                method: Method::GET,
                url: self.url(&format!("/v2/{repo}/manifests/{reference}")),
                scopes,
                headers,
                body: CallBody::Empty,
                object: &object,
            })
            .await?;
        let content_type = header_str(resp.headers(), header::CONTENT_TYPE);
        let claimed = resp
            .headers()
            .get(DIGEST_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| RegistryError::Network {
                registry: self.name().to_owned(),
                object: object.clone(),
                kind: super::error::classify_transport(&e).0,
                message: e.to_string(),
            })?
            .to_vec();
        let actual = sha256_digest(&bytes);
        for expected in [
            claimed.as_deref(),
            reference.starts_with("sha256:").then_some(reference),
        ]
        .into_iter()
        .flatten()
        {
            if expected.starts_with("sha256:") && expected != actual {
                return Err(RegistryError::DigestMismatch {
                    registry: self.name().to_owned(),
                    object,
                    expected: expected.to_owned(),
                    actual,
                });
            }
        }
        Manifest::parse(bytes, content_type.as_deref()).map_err(|message| {
            RegistryError::InvalidResponse {
                registry: self.name().to_owned(),
                object,
                message,
            }
        })
    }

    /// `HEAD /v2/{repo}/manifests/{reference}`; `None` when the tag (or repository) does not exist.
    pub async fn head_manifest(
        &self,
        repo: &str,
        reference: &str,
        scopes: Vec<String>,
    ) -> Result<Option<ManifestHead>, RegistryError> {
        let object = Self::object(repo, reference);
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
        let resp = self
            .execute(Call {
                method: Method::HEAD,
                url: self.url(&format!("/v2/{repo}/manifests/{reference}")),
                scopes,
                headers,
                body: CallBody::Empty,
                object: &object,
            })
            .await?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            // A HEAD has no body; map by status alone.
            return Err(self.status_error(&object, status, resp.headers(), b""));
        }
        let h = resp.headers();
        Ok(Some(ManifestHead {
            digest: header_str(h, header::HeaderName::from_static(DIGEST_HEADER)),
            media_type: header_str(h, header::CONTENT_TYPE),
            size: resp.content_length(),
        }))
    }

    /// `PUT /v2/{repo}/manifests/{reference}` with the exact bytes and media type; verifies the
    /// digest the registry answers.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        manifest: &Manifest,
        scopes: Vec<String>,
    ) -> Result<String, RegistryError> {
        let object = Self::object(repo, reference);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&manifest.media_type).map_err(|_| {
                RegistryError::InvalidResponse {
                    registry: self.name().to_owned(),
                    object: object.clone(),
                    message: format!("media type {:?} is not a valid header", manifest.media_type),
                }
            })?,
        );
        let resp = self
            .execute_ok(Call {
                method: Method::PUT,
                url: self.url(&format!("/v2/{repo}/manifests/{reference}")),
                scopes,
                headers,
                body: CallBody::Bytes(manifest.bytes.clone()),
                object: &object,
            })
            .await?;
        let returned = resp
            .headers()
            .get(DIGEST_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match returned {
            Some(d) if d != manifest.digest => Err(RegistryError::DigestMismatch {
                registry: self.name().to_owned(),
                object,
                expected: manifest.digest.clone(),
                actual: d,
            }),
            // Some registries omit the header on PUT; the bytes are ours, so the digest is known.
            _ => Ok(manifest.digest.clone()),
        }
    }

    /// `POST /v2/{target}/blobs/uploads/?mount={digest}&from={source}`.
    pub async fn mount_blob(
        &self,
        target: &str,
        digest: &str,
        source: &str,
        scopes: Vec<String>,
    ) -> Result<MountOutcome, RegistryError> {
        let object = format!("{target}@{digest} (mount from {source})");
        let mut url = self.url(&format!("/v2/{target}/blobs/uploads/"));
        url.query_pairs_mut()
            .append_pair("mount", digest)
            .append_pair("from", source);
        let resp = self
            .execute_ok(Call {
                method: Method::POST,
                url,
                scopes,
                headers: HeaderMap::new(),
                body: CallBody::Bytes(Vec::new()),
                object: &object,
            })
            .await?;
        match resp.status().as_u16() {
            201 => Ok(MountOutcome::Mounted),
            _ => Ok(MountOutcome::UploadNeeded {
                location: header_str(resp.headers(), header::LOCATION).unwrap_or_default(),
            }),
        }
    }

    /// `HEAD /v2/{repo}/blobs/{digest}`.
    pub async fn blob_exists(
        &self,
        repo: &str,
        digest: &str,
        scopes: Vec<String>,
    ) -> Result<bool, RegistryError> {
        let object = format!("{repo}@{digest}");
        let resp = self
            .execute(Call {
                method: Method::HEAD,
                url: self.url(&format!("/v2/{repo}/blobs/{digest}")),
                scopes,
                headers: HeaderMap::new(),
                body: CallBody::Empty,
                object: &object,
            })
            .await?;
        match resp.status().as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            s => Err(self.status_error(
                &object,
                reqwest::StatusCode::from_u16(s).expect("valid"),
                resp.headers(),
                b"",
            )),
        }
    }

    /// `GET /v2/{repo}/blobs/{digest}` as a response to stream from.
    pub async fn get_blob(
        &self,
        repo: &str,
        digest: &str,
        scopes: Vec<String>,
    ) -> Result<reqwest::Response, RegistryError> {
        let object = format!("{repo}@{digest}");
        self.execute_ok(Call {
            method: Method::GET,
            url: self.url(&format!("/v2/{repo}/blobs/{digest}")),
            scopes,
            headers: HeaderMap::new(),
            body: CallBody::Empty,
            object: &object,
        })
        .await
    }

    /// A small blob (an image config) in memory, verified against its digest.
    pub async fn get_blob_bytes(
        &self,
        repo: &str,
        digest: &str,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let object = format!("{repo}@{digest}");
        let resp = self
            .get_blob(repo, digest, vec![repo_scope(repo, "pull")])
            .await?;
        if resp.content_length().is_some_and(|l| l > limit) {
            return Err(RegistryError::InvalidResponse {
                registry: self.name().to_owned(),
                object,
                message: format!("the blob is larger than the {limit} bytes expected"),
            });
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| RegistryError::Network {
                registry: self.name().to_owned(),
                object: object.clone(),
                kind: super::error::classify_transport(&e).0,
                message: e.to_string(),
            })?
            .to_vec();
        self.count_blob_down(bytes.len() as u64);
        let actual = sha256_digest(&bytes);
        if digest.starts_with("sha256:") && actual != digest {
            return Err(RegistryError::DigestMismatch {
                registry: self.name().to_owned(),
                object,
                expected: digest.to_owned(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Uploads a blob streamed from `source` (another registry): `POST` an upload session, then
    /// one monolithic `PUT ?digest=` whose body is the source's response body.
    pub async fn upload_blob_from(
        &self,
        repo: &str,
        digest: &str,
        size: u64,
        source: reqwest::Response,
        scopes: Vec<String>,
        location: Option<String>,
    ) -> Result<(), RegistryError> {
        let object = format!("{repo}@{digest}");
        let location = match location.filter(|l| !l.is_empty()) {
            Some(l) => l,
            None => {
                let resp = self
                    .execute_ok(Call {
                        method: Method::POST,
                        url: self.url(&format!("/v2/{repo}/blobs/uploads/")),
                        scopes: scopes.clone(),
                        headers: HeaderMap::new(),
                        body: CallBody::Bytes(Vec::new()),
                        object: &object,
                    })
                    .await?;
                header_str(resp.headers(), header::LOCATION).ok_or_else(|| {
                    RegistryError::InvalidResponse {
                        registry: self.name().to_owned(),
                        object: object.clone(),
                        message: "the upload session answer has no Location".into(),
                    }
                })?
            }
        };
        let mut url =
            self.url("/")
                .join(&location)
                .map_err(|e| RegistryError::InvalidResponse {
                    registry: self.name().to_owned(),
                    object: object.clone(),
                    message: format!("upload Location {location:?} is not a URL: {e}"),
                })?;
        url.query_pairs_mut().append_pair("digest", digest);
        let counter = self.clone();
        let stream = source
            .bytes_stream()
            .inspect_ok(move |chunk| counter.count_blob_up(chunk.len() as u64));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        self.execute_ok(Call {
            method: Method::PUT,
            url,
            scopes,
            headers,
            body: CallBody::Stream(reqwest::Body::wrap_stream(stream), size),
            object: &object,
        })
        .await?;
        Ok(())
    }
}
