//! Manifests and indexes: media types, digests, what a manifest references.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::types::Platform;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Every manifest type berth reads and writes, for `Accept`.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

pub fn is_index_type(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// `sha256:<hex>` of the bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct DescriptorPlatform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub platform: Option<DescriptorPlatform>,
    /// Foreign layers (Windows base layers) live elsewhere and are never copied.
    #[serde(default)]
    pub urls: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ManifestDoc {
    #[serde(default)]
    pub schema_version: Option<u32>,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// OCI 1.1 referrers' subject.
    #[serde(default)]
    pub subject: Option<Descriptor>,
}

/// A manifest as fetched: exact bytes (never re-serialised: the digest is over these bytes),
/// its media type and digest, and the parsed document.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: String,
    pub doc: ManifestDoc,
}

impl Manifest {
    /// Parses `bytes`; the media type is the `Content-Type` when it is a manifest type, else the
    /// document's `mediaType`, else inferred from its shape.
    pub fn parse(bytes: Vec<u8>, content_type: Option<&str>) -> Result<Self, String> {
        let doc: ManifestDoc = serde_json::from_slice(&bytes)
            .map_err(|e| format!("the manifest is not valid JSON: {e}"))?;
        if doc.schema_version == Some(1) {
            return Err(
                "schema 1 manifests are not supported (push the image again with a current client)"
                    .into(),
            );
        }
        let ct = content_type
            .map(|c| c.split(';').next().unwrap_or("").trim())
            .filter(|c| {
                [
                    DOCKER_MANIFEST,
                    DOCKER_MANIFEST_LIST,
                    OCI_MANIFEST,
                    OCI_INDEX,
                ]
                .contains(c)
            });
        let media_type = ct
            .map(str::to_owned)
            .or_else(|| doc.media_type.clone())
            .unwrap_or_else(|| {
                if doc.manifests.is_empty() {
                    OCI_MANIFEST.to_owned()
                } else {
                    OCI_INDEX.to_owned()
                }
            });
        if is_index_type(&media_type) {
            if doc.config.is_some() {
                return Err(format!("a {media_type} must not have a `config`"));
            }
        } else if doc.config.is_none() {
            return Err(format!("a {media_type} has no `config` descriptor"));
        }
        let digest = sha256_digest(&bytes);
        Ok(Self {
            bytes,
            media_type,
            digest,
            doc,
        })
    }

    pub fn is_index(&self) -> bool {
        is_index_type(&self.media_type)
    }

    /// The blobs an image manifest needs in its repository: config then layers (foreign layers
    /// excluded). Empty for an index.
    pub fn blobs(&self) -> Vec<&Descriptor> {
        self.doc
            .config
            .iter()
            .chain(self.doc.layers.iter().filter(|l| l.urls.is_empty()))
            .collect()
    }

    /// The child manifests of an index.
    pub fn children(&self) -> &[Descriptor] {
        &self.doc.manifests
    }

    /// Platforms of an index (attestation entries `unknown/unknown` left out).
    pub fn platforms(&self) -> Vec<Platform> {
        self.doc
            .manifests
            .iter()
            .filter_map(|m| m.platform.as_ref())
            .filter(|p| p.os != "unknown" && p.architecture != "unknown")
            .map(|p| Platform {
                os: p.os.clone(),
                architecture: p.architecture.clone(),
                variant: p.variant.clone(),
            })
            .collect()
    }

    /// Config size plus layer sizes (an image's compressed size); for an index, the children's
    /// manifest sizes only.
    ///
    /// Saturating: the sizes are the registry's word, and `"size": 18446744073709551615` beside
    /// another layer overflowed the sum (a panic with overflow checks, a wrapped size without).
    pub fn size(&self) -> u64 {
        self.blobs()
            .iter()
            .fold(0u64, |sum, d| sum.saturating_add(d.size))
            .saturating_add(self.bytes.len() as u64)
    }
}

/// The `created` time of an image config (`{"created": "2024-..."}`).
pub fn config_created(config: &[u8]) -> Option<jiff::Timestamp> {
    #[derive(Deserialize)]
    struct C {
        created: Option<String>,
    }
    let c: C = serde_json::from_slice(config).ok()?;
    c.created?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMG: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
      "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:aa","size":10},
      "layers":[{"mediaType":"x","digest":"sha256:bb","size":100},
                {"mediaType":"y","digest":"sha256:cc","size":5,"urls":["https://foreign"]}]}"#;
    const IDX: &str = r#"{"schemaVersion":2,"manifests":[
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:11","size":300,"platform":{"os":"linux","architecture":"amd64"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:22","size":300,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:33","size":300,"platform":{"os":"unknown","architecture":"unknown"}}]}"#;

    #[test]
    fn digest_is_sha256_of_the_exact_bytes() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let m = Manifest::parse(IMG.as_bytes().to_vec(), Some("application/json")).unwrap();
        assert_eq!(m.digest, sha256_digest(IMG.as_bytes()));
        assert_eq!(m.media_type, OCI_MANIFEST);
    }

    #[test]
    fn blobs_children_platforms() {
        let m = Manifest::parse(IMG.as_bytes().to_vec(), None).unwrap();
        let blobs: Vec<&str> = m.blobs().iter().map(|d| d.digest.as_str()).collect();
        assert_eq!(blobs, ["sha256:aa", "sha256:bb"]);
        let i = Manifest::parse(IDX.as_bytes().to_vec(), None).unwrap();
        assert!(i.is_index());
        assert_eq!(i.children().len(), 3);
        let p: Vec<String> = i.platforms().iter().map(|p| p.to_string()).collect();
        assert_eq!(p, ["linux/amd64", "linux/arm64/v8"]);
        let d = Manifest::parse(IDX.as_bytes().to_vec(), Some(DOCKER_MANIFEST_LIST)).unwrap();
        assert_eq!(d.media_type, DOCKER_MANIFEST_LIST);
    }

    #[test]
    fn garbage_is_a_clear_error() {
        assert!(
            Manifest::parse(b"<html>".to_vec(), None)
                .unwrap_err()
                .contains("JSON")
        );
        assert!(
            Manifest::parse(br#"{"schemaVersion":1}"#.to_vec(), None)
                .unwrap_err()
                .contains("schema 1")
        );
        assert!(
            Manifest::parse(br#"{"schemaVersion":2,"layers":[]}"#.to_vec(), None)
                .unwrap_err()
                .contains("config")
        );
    }

    #[test]
    fn absurd_sizes_saturate() {
        // Found by tests/fuzz_parsers.rs: the sum overflowed.
        let m = Manifest::parse(
            br#"{"config":{"digest":"sha256:aa","size":18446744073709551615},"layers":[{"digest":"sha256:bb","size":1}]}"#
                .to_vec(),
            None,
        )
        .unwrap();
        assert_eq!(m.size(), u64::MAX);
    }

    #[test]
    fn created_from_config() {
        let t = config_created(br#"{"created":"2024-01-02T03:04:05.123Z","architecture":"amd64"}"#)
            .unwrap();
        assert_eq!(t.to_string(), "2024-01-02T03:04:05.123Z");
        assert!(config_created(b"{}").is_none());
    }
}
