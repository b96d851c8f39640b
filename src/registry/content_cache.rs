//! Manifests and image configs kept on disk by digest: they are content-addressed, so a copy
//! whose bytes hash to its name is the registry's answer forever, and is never fetched twice.
//!
//! Only small documents go here (manifests, configs: [`MAX_DOCUMENT_BYTES`]), never layers.
//! An image config can carry what its author baked into `Env`, so the directory is the user's
//! alone (0700, files 0600). A file that does not hash to its name (a torn write, a disk error,
//! someone's edit) is ignored and replaced, never believed.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::manifest::sha256_digest;

/// Largest document cached (and fetched for a diff): configs of real images are a few kB, the
/// biggest indexes some tens of kB.
pub const MAX_DOCUMENT_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct ContentCache {
    dir: PathBuf,
}

impl ContentCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `BERTH_CONTENT_CACHE`, else `<cache dir>/berth/content`.
    pub fn default_location() -> Self {
        if let Some(p) = std::env::var_os("BERTH_CONTENT_CACHE") {
            return Self::new(p);
        }
        let dir = directories::ProjectDirs::from("", "", "berth")
            .map(|d| d.cache_dir().join("content"))
            .unwrap_or_else(|| PathBuf::from(".berth-content"));
        Self::new(dir)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `sha256:<64 hex>` → `<dir>/sha256/<hex>`; anything else is not cacheable (`None`).
    fn path_of(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:")?;
        (hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then(|| self.dir.join("sha256").join(hex))
    }

    /// The bytes of `digest`, when a copy that hashes to it is here.
    pub fn get(&self, digest: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.path_of(digest)?).ok()?;
        if sha256_digest(&bytes) == digest {
            Some(bytes)
        } else {
            tracing::warn!(
                digest,
                "a cached document does not match its digest; fetching it again"
            );
            None
        }
    }

    /// Keeps `bytes` under `digest` (which they must hash to). Failing to write is not an
    /// error for the caller: the cache only saves a round trip next time.
    pub fn put(&self, digest: &str, bytes: &[u8]) {
        if bytes.len() as u64 > MAX_DOCUMENT_BYTES || sha256_digest(bytes) != digest {
            return;
        }
        let Some(path) = self.path_of(digest) else {
            return;
        };
        if let Err(e) = write_atomically(&path, bytes) {
            tracing::debug!(digest, error = %e, "not cached");
        }
    }
}

/// Write to a private temporary file beside the target, then rename: a reader sees the whole
/// document or none (and a torn temporary file is never read: its name is not a digest).
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("a cache path has a parent");
    create_private_dir(dir)?;
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("x")
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    drop(f);
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_documents_by_digest_and_never_believes_a_wrong_copy() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ContentCache::new(dir.path());
        let doc = br#"{"schemaVersion":2}"#;
        let digest = sha256_digest(doc);
        assert_eq!(cache.get(&digest), None);
        cache.put(&digest, doc);
        assert_eq!(cache.get(&digest).as_deref(), Some(&doc[..]));

        // Bytes that are not the digest's are not kept...
        let other = sha256_digest(b"other");
        cache.put(&other, doc);
        assert_eq!(cache.get(&other), None);
        // ...and a copy changed on disk is not believed.
        let path = cache.path_of(&digest).unwrap();
        std::fs::write(&path, b"tampered").unwrap();
        assert_eq!(cache.get(&digest), None);
        // Names that are not sha256 digests never reach the file system.
        for bad in [
            "sha256:../../etc/passwd",
            "sha512:ab",
            "latest",
            "sha256:ABC",
        ] {
            assert!(cache.path_of(bad).is_none(), "{bad}");
            cache.put(bad, doc);
            assert_eq!(cache.get(bad), None);
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_cache_is_private_to_its_user() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let cache = ContentCache::new(dir.path().join("c"));
        let doc = b"{}";
        let digest = sha256_digest(doc);
        cache.put(&digest, doc);
        let file = cache.path_of(&digest).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(file.parent().unwrap()), 0o700);
    }
}
