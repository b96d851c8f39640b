//! ACR tag locks: a tag's `changeableAttributes` (`writeEnabled`, `deleteEnabled`,
//! `listEnabled`, `readEnabled`), read with `GET /acr/v1/{repo}/_tags/{tag}` and changed with
//! `PATCH /acr/v1/{repo}/_tags/{tag}` (a JSON object with the attributes to set; the answer is
//! the tag with its attributes). ACR refuses a manifest PUT onto a tag whose `writeEnabled` is
//! false (and its deletion, whatever `deleteEnabled` says) with `REGISTRY_DISALLOWED_OPERATION`;
//! berth reads the lock before it writes, so a retag onto a locked tag is refused naming the lock,
//! with nothing written.

use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};

use super::client::{Call, CallBody, RegistryClient, repo_scope};
use super::config::RegistryKind;
use super::connect::Registry;
use super::error::RegistryError;
use crate::audit::{self, AuditLog, Subject};

fn yes() -> bool {
    true
}

/// A tag's (or manifest's) `changeableAttributes`; a missing field is ACR's default, enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagAttributes {
    #[serde(default = "yes")]
    pub write_enabled: bool,
    #[serde(default = "yes")]
    pub delete_enabled: bool,
    #[serde(default = "yes")]
    pub list_enabled: bool,
    #[serde(default = "yes")]
    pub read_enabled: bool,
}

impl Default for TagAttributes {
    fn default() -> Self {
        Self {
            write_enabled: true,
            delete_enabled: true,
            list_enabled: true,
            read_enabled: true,
        }
    }
}

impl TagAttributes {
    /// The attributes that are off, by their ACR names (`writeEnabled`, …), in a fixed order.
    pub fn disabled(&self) -> Vec<&'static str> {
        [
            (self.write_enabled, "writeEnabled"),
            (self.delete_enabled, "deleteEnabled"),
            (self.read_enabled, "readEnabled"),
            (self.list_enabled, "listEnabled"),
        ]
        .into_iter()
        .filter(|(on, _)| !on)
        .map(|(_, name)| name)
        .collect()
    }

    /// `writeEnabled=false deleteEnabled=true …` (what the audit log records).
    pub fn describe(&self) -> String {
        format!(
            "writeEnabled={} deleteEnabled={} readEnabled={} listEnabled={}",
            self.write_enabled, self.delete_enabled, self.read_enabled, self.list_enabled
        )
    }

    /// A short mark for narrow columns: `locked` (no writes, so no moves and no deletes),
    /// `no-delete`, `no-read`, `unlisted`, joined with `,`; empty when all are enabled.
    pub fn mark(&self) -> String {
        let mut m = Vec::new();
        if !self.write_enabled {
            m.push("locked");
        } else if !self.delete_enabled {
            m.push("no-delete");
        }
        if !self.read_enabled {
            m.push("no-read");
        }
        if !self.list_enabled {
            m.push("unlisted");
        }
        m.join(",")
    }

    fn apply(mut self, p: &AttributesPatch) -> Self {
        if let Some(v) = p.write_enabled {
            self.write_enabled = v;
        }
        if let Some(v) = p.delete_enabled {
            self.delete_enabled = v;
        }
        if let Some(v) = p.list_enabled {
            self.list_enabled = v;
        }
        if let Some(v) = p.read_enabled {
            self.read_enabled = v;
        }
        self
    }
}

/// The body of a PATCH: only the attributes to change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributesPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_enabled: Option<bool>,
}

impl AttributesPatch {
    /// `berth registry lock` / `retag --lock`: no more writes (ACR then refuses moves and
    /// deletes of the tag).
    pub fn lock() -> Self {
        Self {
            write_enabled: Some(false),
            ..Self::default()
        }
    }

    /// `berth registry unlock`: writes and deletes allowed again, as `az acr repository update
    /// --write-enabled true --delete-enabled true` does.
    pub fn unlock() -> Self {
        Self {
            write_enabled: Some(true),
            delete_enabled: Some(true),
            ..Self::default()
        }
    }
}

/// `GET /acr/v1/{repo}/_tags/{tag}`: `{registry, imageName, tag: {name, digest, …,
/// changeableAttributes}}`.
#[derive(Deserialize)]
struct TagProperties {
    tag: TagBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagBody {
    #[serde(default)]
    changeable_attributes: Option<TagAttributes>,
}

fn not_acr(client: &RegistryClient, repo: &str, tag: &str) -> RegistryError {
    RegistryError::Unsupported {
        registry: client.name().to_owned(),
        object: format!("{repo}:{tag}"),
        message: "tag locks are an Azure Container Registry feature (changeableAttributes); \
                  this registry is a plain OCI registry (kind = \"oci\" in config.toml)"
            .into(),
    }
}

impl RegistryClient {
    /// The tag's attributes on ACR; `None` on a plain OCI registry (no locks there) or when the
    /// tag does not exist.
    pub async fn tag_attributes(
        &self,
        repo: &str,
        tag: &str,
    ) -> Result<Option<TagAttributes>, RegistryError> {
        if self.kind() != RegistryKind::Acr {
            return Ok(None);
        }
        let object = format!("attributes of {repo}:{tag}");
        let url = self.url(&format!("/acr/v1/{repo}/_tags/{tag}"));
        match self
            .get_json::<TagProperties>(url, vec![repo_scope(repo, "metadata_read")], &object)
            .await
        {
            Ok((p, _)) => Ok(Some(p.tag.changeable_attributes.unwrap_or_default())),
            Err(
                RegistryError::NotFound { .. }
                | RegistryError::ManifestUnknown { .. }
                | RegistryError::RepositoryUnknown { .. },
            ) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `PATCH /acr/v1/{repo}/_tags/{tag}` with `patch`; the attributes the registry answers.
    pub async fn update_tag_attributes(
        &self,
        repo: &str,
        tag: &str,
        patch: &AttributesPatch,
    ) -> Result<TagAttributes, RegistryError> {
        if self.kind() != RegistryKind::Acr {
            return Err(not_acr(self, repo, tag));
        }
        let object = format!("attributes of {repo}:{tag}");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let body = serde_json::to_vec(patch).expect("a patch serialises");
        let resp = self
            .execute_ok(Call {
                method: Method::PATCH,
                url: self.url(&format!("/acr/v1/{repo}/_tags/{tag}")),
                scopes: vec![repo_scope(repo, "metadata_write")],
                headers,
                body: CallBody::Bytes(body),
                object: &object,
            })
            .await?;
        let bytes = resp.bytes().await.map_err(|e| RegistryError::Network {
            registry: self.name().to_owned(),
            object: object.clone(),
            kind: super::error::NetworkKind::Other,
            message: e.to_string(),
        })?;
        let p: TagProperties = super::client::decode_json(self.name(), &object, &bytes)?;
        Ok(p.tag.changeable_attributes.unwrap_or_default())
    }
}

/// Refuses a write onto `repo:tag` when its attributes forbid it, naming the lock.
pub fn check_writable(
    client: &RegistryClient,
    repo: &str,
    tag: &str,
    attributes: Option<&TagAttributes>,
) -> Result<(), RegistryError> {
    match attributes {
        Some(a) if !a.write_enabled => Err(RegistryError::TagLocked {
            registry: client.name().to_owned(),
            object: format!("{repo}:{tag}"),
            lock: "writeEnabled=false".into(),
        }),
        _ => Ok(()),
    }
}

/// What `berth registry lock|unlock` (and `retag --lock`) did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LockOutcome {
    pub registry: String,
    pub repository: String,
    pub tag: String,
    pub old: TagAttributes,
    pub new: TagAttributes,
    /// False when the attributes already were as asked (nothing was written).
    pub changed: bool,
}

/// Reads the tag's attributes, then PATCHes `patch` (audited as `registry.lock` /
/// `registry.unlock`); nothing is written when they already are as asked.
pub async fn set_tag_attributes(
    reg: &Registry,
    repo: &str,
    tag: &str,
    patch: &AttributesPatch,
    audit: &AuditLog,
) -> Result<LockOutcome, RegistryError> {
    let client = &reg.client;
    let action = if patch.write_enabled == Some(false) {
        "registry.lock"
    } else {
        "registry.unlock"
    };
    let target = format!("{}/{repo}:{tag}", client.name());
    let subject = Subject::new(&client.actor(), action, &target, false);
    audit::audited(audit, subject, |gate| async move {
        if client.kind() != RegistryKind::Acr {
            return Err(not_acr(client, repo, tag));
        }
        let Some(old) = client.tag_attributes(repo, tag).await? else {
            return Err(RegistryError::ManifestUnknown {
                registry: client.name().to_owned(),
                object: format!("{repo}:{tag}"),
                detail: "no such tag: nothing was changed (check the repository and tag with \
                         berth registry tags REPO)"
                    .into(),
            });
        };
        let wanted = old.apply(patch);
        gate.plan(Some(old.describe()), Some(wanted.describe()));
        let outcome = |new, changed| LockOutcome {
            registry: client.name().to_owned(),
            repository: repo.to_owned(),
            tag: tag.to_owned(),
            old,
            new,
            changed,
        };
        if wanted == old {
            return Ok(outcome(old, false));
        }
        gate.open()?;
        let new = client.update_tag_attributes(repo, tag, patch).await?;
        if new != wanted {
            return Err(RegistryError::InvalidResponse {
                registry: client.name().to_owned(),
                object: format!("attributes of {repo}:{tag}"),
                message: format!(
                    "asked for {}, the registry answered {}",
                    wanted.describe(),
                    new.describe()
                ),
            });
        }
        Ok(outcome(new, true))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_read_as_acr_writes_them() {
        let body = br#"{"registry":"r.azurecr.io","imageName":"web","tag":{"name":"1.0",
            "digest":"sha256:00","changeableAttributes":{"deleteEnabled":true,
            "writeEnabled":false,"readEnabled":true,"listEnabled":true}}}"#;
        let p: TagProperties = serde_json::from_slice(body).unwrap();
        let a = p.tag.changeable_attributes.unwrap();
        assert!(!a.write_enabled && a.delete_enabled);
        assert_eq!(a.disabled(), vec!["writeEnabled"]);
        assert_eq!(a.mark(), "locked");
        // Missing fields are enabled.
        let a: TagAttributes = serde_json::from_str(r#"{"deleteEnabled":false}"#).unwrap();
        assert_eq!(a.disabled(), vec!["deleteEnabled"]);
        assert_eq!(a.mark(), "no-delete");
        assert_eq!(TagAttributes::default().mark(), "");
    }

    #[test]
    fn acr_refusals_read_as_the_lock() {
        // What ACR answers a push onto (or a delete of) a locked tag.
        let body = br#"{"errors":[{"code":"REGISTRY_DISALLOWED_OPERATION","detail":{},"message":"The operation is disallowed on this registry, repository or image."}]}"#;
        let e = super::super::client::status_error(
            "acr",
            "web:prod",
            reqwest::StatusCode::METHOD_NOT_ALLOWED,
            &HeaderMap::new(),
            body,
        );
        assert_eq!(e.kind(), "tag_locked");
        let s = e.to_string();
        assert!(
            s.contains("web:prod is locked") && s.contains("disallowed") && s.contains("unlock"),
            "{s}"
        );
        // Another 405 is not a lock.
        let e = super::super::client::status_error(
            "acr",
            "web:prod",
            reqwest::StatusCode::METHOD_NOT_ALLOWED,
            &HeaderMap::new(),
            br#"{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}"#,
        );
        assert_ne!(e.kind(), "tag_locked");
    }

    #[test]
    fn patches_carry_only_what_changes() {
        assert_eq!(
            serde_json::to_string(&AttributesPatch::lock()).unwrap(),
            r#"{"writeEnabled":false}"#
        );
        assert_eq!(
            serde_json::to_string(&AttributesPatch::unlock()).unwrap(),
            r#"{"writeEnabled":true,"deleteEnabled":true}"#
        );
        let locked = TagAttributes::default().apply(&AttributesPatch::lock());
        assert!(!locked.write_enabled && locked.delete_enabled);
        let unlocked = TagAttributes {
            write_enabled: false,
            delete_enabled: false,
            ..TagAttributes::default()
        }
        .apply(&AttributesPatch::unlock());
        assert_eq!(unlocked, TagAttributes::default());
    }
}
