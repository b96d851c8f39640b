//! What a registry client authenticates with, and docker `config.json` lookup (including
//! `credHelpers` / `credsStore` helpers, as docker does).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use base64::Engine;
use serde::Deserialize;

use crate::reference::registry_key_matches;
use crate::secret::Secret;

/// How to authenticate to one registry.
#[derive(Clone)]
pub enum Credential {
    /// No credentials: anonymous token requests, no `Authorization` header.
    Anonymous,
    /// Username and password: HTTP Basic on a Basic challenge, or at the token endpoint on a
    /// Bearer challenge (ACR admin user, scope-map tokens, service principal id/secret, htpasswd).
    Basic { username: String, password: Secret },
    /// docker's `identitytoken` or an ACR refresh token: sent to the token endpoint with
    /// `grant_type=refresh_token`.
    IdentityToken(Secret),
    /// Entra ID: an `azure_identity` credential's token is exchanged at `/oauth2/exchange` for an
    /// ACR refresh token.
    Entra {
        credential: Arc<dyn TokenCredential>,
        tenant: Option<String>,
        /// Shown in errors and audit records (`client-secret 1234-...`, `azure-cli`).
        label: String,
    },
}

impl Credential {
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// Who acts, for audit records and messages (never a secret).
    pub fn actor(&self) -> String {
        match self {
            Self::Anonymous => "anonymous".into(),
            Self::Basic { username, .. } => format!("basic:{username}"),
            Self::IdentityToken(_) => "identity-token".into(),
            Self::Entra { label, .. } => format!("entra:{label}"),
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Anonymous => f.write_str("Anonymous"),
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"***")
                .finish(),
            Self::IdentityToken(_) => f.write_str("IdentityToken(***)"),
            Self::Entra { tenant, label, .. } => f
                .debug_struct("Entra")
                .field("tenant", tenant)
                .field("label", label)
                .finish_non_exhaustive(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DockerConfigError {
    #[error("cannot read docker config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("docker config {path} is not valid JSON: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("docker config {path}: the `auth` entry for {key} is not base64 of `user:password`")]
    BadAuth { path: PathBuf, key: String },
    #[error(
        "credential helper docker-credential-{helper} for {host} failed: {message} (is it installed and logged in? try `docker-credential-{helper} list`)"
    )]
    Helper {
        helper: String,
        host: String,
        message: String,
    },
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct DockerConfig {
    #[serde(default)]
    pub auths: BTreeMap<String, DockerAuth>,
    #[serde(default, rename = "credsStore")]
    pub creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    pub cred_helpers: BTreeMap<String, String>,
}

#[derive(Clone, Default, Deserialize)]
pub struct DockerAuth {
    #[serde(default)]
    pub auth: Option<Secret>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default)]
    pub identitytoken: Option<Secret>,
}

impl fmt::Debug for DockerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerAuth")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Where docker looks: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn default_docker_config_path() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(d).join("config.json"));
    }
    directories::BaseDirs::new().map(|b| b.home_dir().join(".docker/config.json"))
}

impl DockerConfig {
    pub fn parse(text: &str, path: &Path) -> Result<Self, DockerConfigError> {
        serde_json::from_str(text).map_err(|e| DockerConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    pub fn load(path: &Path) -> Result<Self, DockerConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| DockerConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// The helper docker would ask for `host`: `credHelpers[host]`, else `credsStore`.
    pub fn helper_for(&self, host: &str) -> Option<&str> {
        self.cred_helpers
            .iter()
            .find(|(k, _)| registry_key_matches(k, host))
            .map(|(_, v)| v.as_str())
            .or(self.creds_store.as_deref())
    }

    /// The `auths` entry for `host`, decoded (no helpers).
    pub fn inline_credential(
        &self,
        host: &str,
        path: &Path,
    ) -> Result<Option<Credential>, DockerConfigError> {
        // An exact key wins over a normalised match (docker looks up the exact key first).
        let entry = self.auths.get(host).map(|e| (host, e)).or_else(|| {
            self.auths
                .iter()
                .find(|(k, _)| registry_key_matches(k, host))
                .map(|(k, e)| (k.as_str(), e))
        });
        let Some((key, entry)) = entry else {
            return Ok(None);
        };
        if let Some(tok) = entry.identitytoken.as_ref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credential::IdentityToken(tok.clone())));
        }
        if let Some(auth) = entry.auth.as_ref().filter(|a| !a.is_empty()) {
            let bad = || DockerConfigError::BadAuth {
                path: path.to_owned(),
                key: key.to_owned(),
            };
            let raw = base64::engine::general_purpose::STANDARD
                .decode(auth.expose().trim())
                .map_err(|_| bad())?;
            let text = String::from_utf8(raw).map_err(|_| bad())?;
            let (u, p) = text.split_once(':').ok_or_else(bad)?;
            return Ok(Some(Credential::basic(u, p)));
        }
        match (&entry.username, &entry.password) {
            (Some(u), Some(p)) if !u.is_empty() => {
                Ok(Some(Credential::basic(u.clone(), p.clone())))
            }
            _ => Ok(None),
        }
    }

    /// What docker would use for `host`: a helper's answer, else the inline entry, else anonymous.
    pub async fn credential_for(
        &self,
        host: &str,
        path: &Path,
    ) -> Result<Credential, DockerConfigError> {
        if let Some(helper) = self.helper_for(host) {
            if let Some(c) = run_helper(helper, host).await? {
                return Ok(c);
            }
        }
        Ok(self
            .inline_credential(host, path)?
            .unwrap_or(Credential::Anonymous))
    }
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: Secret,
}

/// `docker-credential-<helper> get` with the host on stdin. `None` when the helper has no
/// entry for the host (docker treats that as "no credentials").
pub async fn run_helper(helper: &str, host: &str) -> Result<Option<Credential>, DockerConfigError> {
    if helper.is_empty() || helper.contains(['/', '\\']) {
        return Err(DockerConfigError::Helper {
            helper: helper.to_owned(),
            host: host.to_owned(),
            message: "the helper name is not valid".into(),
        });
    }
    run_helper_program(
        helper,
        Path::new(&format!("docker-credential-{helper}")),
        host,
    )
    .await
}

async fn run_helper_program(
    helper: &str,
    program: &Path,
    host: &str,
) -> Result<Option<Credential>, DockerConfigError> {
    use tokio::io::AsyncWriteExt;
    let err = |message: String| DockerConfigError::Helper {
        helper: helper.to_owned(),
        host: host.to_owned(),
        message,
    };
    let mut child = tokio::process::Command::new(program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| err(format!("cannot start it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(host.as_bytes())
            .await
            .map_err(|e| err(format!("cannot write to it: {e}")))?;
    }
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .map_err(|_| err("it did not answer within 60 s".into()))?
        .map_err(|e| err(e.to_string()))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        if msg.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        return Err(err(format!("{}: {}", out.status, msg.trim())));
    }
    read_helper_answer(&out.stdout).map(Some).map_err(err)
}

/// A credential helper's `get` answer (`{"Username": ..., "Secret": ...}`; the username
/// `<token>` marks an identity token). The error is the message of a
/// [`DockerConfigError::Helper`].
pub fn read_helper_answer(stdout: &[u8]) -> Result<Credential, String> {
    let answer: HelperAnswer = serde_json::from_slice(stdout)
        .map_err(|e| format!("its answer is not the expected JSON: {e}"))?;
    Ok(if answer.username == "<token>" {
        Credential::IdentityToken(answer.secret)
    } else {
        Credential::Basic {
            username: answer.username,
            password: answer.secret,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(json: &str) -> DockerConfig {
        DockerConfig::parse(json, Path::new("config.json")).unwrap()
    }

    #[test]
    fn inline_auth_and_key_normalisation() {
        let c = cfg(r#"{"auths":{
            "https://index.docker.io/v1/":{"auth":"dTpw"},
            "127.0.0.1:5000":{"username":"a","password":"b"},
            "tok.io":{"identitytoken":"itok"}}}"#);
        let p = Path::new("config.json");
        match c.inline_credential("docker.io", p).unwrap() {
            Some(Credential::Basic { username, password }) => {
                assert_eq!(username, "u");
                assert_eq!(password.expose(), "p");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            c.inline_credential("127.0.0.1:5000", p).unwrap(),
            Some(Credential::Basic { .. })
        ));
        assert!(matches!(
            c.inline_credential("tok.io", p).unwrap(),
            Some(Credential::IdentityToken(_))
        ));
        assert!(c.inline_credential("other.io", p).unwrap().is_none());
    }

    #[test]
    fn bad_auth_is_a_clear_error() {
        let c = cfg(r#"{"auths":{"r.io":{"auth":"!!notbase64"}}}"#);
        let e = c
            .inline_credential("r.io", Path::new("/x/config.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("r.io") && e.contains("/x/config.json"), "{e}");
    }

    #[test]
    fn helper_selection_prefers_cred_helpers() {
        let c = cfg(r#"{"credsStore":"desktop","credHelpers":{"myacr.azurecr.io":"acr-env"}}"#);
        assert_eq!(c.helper_for("myacr.azurecr.io"), Some("acr-env"));
        assert_eq!(c.helper_for("docker.io"), Some("desktop"));
    }

    #[tokio::test]
    async fn helper_protocol() {
        let dir = tempfile::tempdir().unwrap();
        let helper = dir.path().join("docker-credential-berthtest");
        std::fs::write(
            &helper,
            "#!/bin/sh\nread host\nif [ \"$host\" = known.io ]; then echo '{\"ServerURL\":\"known.io\",\"Username\":\"<token>\",\"Secret\":\"s3\"}'; \
             else echo 'credentials not found in native keychain'; exit 1; fi\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        match run_helper_program("berthtest", &helper, "known.io")
            .await
            .unwrap()
        {
            Some(Credential::IdentityToken(s)) => assert_eq!(s.expose(), "s3"),
            other => panic!("{other:?}"),
        }
        assert!(
            run_helper_program("berthtest", &helper, "other.io")
                .await
                .unwrap()
                .is_none()
        );
        let e = run_helper("does-not-exist-berth", "x.io")
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("docker-credential-does-not-exist-berth")
        );
    }
}
