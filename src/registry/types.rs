//! Registry rows: what the registry pane shows and the diagnosis reasons with.

use jiff::Timestamp;
use serde::Serialize;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RepositoryRow {
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TagRow {
    pub repository: String,
    pub name: String,
    /// `sha256:...`; `None` until read lazily on a plain OCI registry.
    pub digest: Option<String>,
    pub created: Option<Timestamp>,
    pub updated: Option<Timestamp>,
    pub media_type: Option<String>,
    /// Platforms of an index; empty for a single-platform manifest (or not yet known).
    pub platforms: Vec<Platform>,
    pub size: Option<u64>,
    /// ACR's `changeableAttributes` (locks) from its listing; `None` on a plain registry.
    pub attributes: Option<super::locks::TagAttributes>,
}
