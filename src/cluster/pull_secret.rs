//! Image pull secrets: `kubernetes.io/dockerconfigjson` written byte for byte as
//! `kubectl create secret docker-registry` writes it, and read tolerantly (host keys with a
//! scheme or path, `auth`-only entries, the legacy `.dockercfg` form).
//!
//! Passwords live in [`Secret`]; the serialised config is a [`Secret`] too.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret as KubeSecret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use crate::secret::Secret;

pub const DOCKERCONFIGJSON_TYPE: &str = "kubernetes.io/dockerconfigjson";
pub const DOCKERCFG_TYPE: &str = "kubernetes.io/dockercfg";
pub const DOCKERCONFIGJSON_KEY: &str = ".dockerconfigjson";
pub const DOCKERCFG_KEY: &str = ".dockercfg";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PullSecretError {
    #[error(
        "pull secret {secret} is malformed: {problem} (recreate it with `berth secret rotate` or `kubectl create secret docker-registry`)"
    )]
    Malformed { secret: String, problem: String },
    #[error(
        "secret {secret} has type {type_:?}, not a pull secret ({DOCKERCONFIGJSON_TYPE} or {DOCKERCFG_TYPE}); pick another name or delete it first"
    )]
    WrongType { secret: String, type_: String },
}

/// Credentials for one registry. `Debug` never shows the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryAuth {
    pub username: String,
    pub password: Secret,
    pub email: Option<String>,
}

/// The `auths` of a docker config: key as written (may carry a scheme or path) → credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DockerConfig {
    pub auths: BTreeMap<String, RegistryAuth>,
}

/// The registry host a key names, as kubelet matches it: no scheme, no path, lower case,
/// Docker Hub's aliases folded to `docker.io`.
pub fn normalize_registry_host(key: &str) -> String {
    let k = key.trim();
    let k = k
        .strip_prefix("https://")
        .or_else(|| k.strip_prefix("http://"))
        .unwrap_or(k);
    let host = k.split('/').next().unwrap_or("").to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_owned()
        }
        _ => host,
    }
}

#[derive(Deserialize)]
struct RawEntry {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// What kubectl serialises (field order and omitempty as in kubectl's `DockerConfigEntry`).
#[derive(serde::Serialize)]
struct OutEntry<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    username: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    password: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "String::is_empty")]
    auth: String,
}

impl DockerConfig {
    /// A config with one registry, as `kubectl create secret docker-registry
    /// --docker-server=S --docker-username=U --docker-password=P` builds it.
    pub fn single(server: &str, username: &str, password: Secret) -> Self {
        let mut c = Self::default();
        c.auths.insert(
            server.to_owned(),
            RegistryAuth {
                username: username.to_owned(),
                password,
                email: None,
            },
        );
        c
    }

    /// Credentials for a registry host (`127.0.0.1:5000`, `myacr.azurecr.io`), matching keys
    /// after normalisation. An exact key match wins over a normalised one.
    pub fn credentials_for(&self, host: &str) -> Option<&RegistryAuth> {
        if let Some(a) = self.auths.get(host) {
            return Some(a);
        }
        let want = normalize_registry_host(host);
        self.auths
            .iter()
            .find(|(k, _)| normalize_registry_host(k) == want)
            .map(|(_, a)| a)
    }

    /// Sets the credentials of `server`, replacing every key that names the same host.
    pub fn set(&mut self, server: &str, auth: RegistryAuth) {
        let want = normalize_registry_host(server);
        self.auths.retain(|k, _| normalize_registry_host(k) != want);
        self.auths.insert(server.to_owned(), auth);
    }

    /// The `.dockerconfigjson` bytes exactly as kubectl writes them:
    /// `{"auths":{"S":{"username":"U","password":"P","auth":"base64(U:P)"}}}`.
    pub fn to_dockerconfigjson(&self) -> Secret {
        let auths: BTreeMap<&str, OutEntry<'_>> = self
            .auths
            .iter()
            .map(|(k, a)| {
                let auth = B64.encode(format!("{}:{}", a.username, a.password.expose()));
                (
                    k.as_str(),
                    OutEntry {
                        username: &a.username,
                        password: a.password.expose(),
                        email: a.email.as_deref().filter(|e| !e.is_empty()),
                        auth,
                    },
                )
            })
            .collect();
        #[derive(serde::Serialize)]
        struct Out<'a> {
            auths: BTreeMap<&'a str, OutEntry<'a>>,
        }
        let json = serde_json::to_string(&Out { auths }).expect("docker config serialises");
        Secret::new(json)
    }

    /// Parses `.dockerconfigjson` content (`{"auths":{...}}`); a document without `auths`
    /// whose top level looks like registry entries is accepted as the legacy form.
    pub fn parse_dockerconfigjson(bytes: &[u8], secret: &str) -> Result<Self, PullSecretError> {
        let v = parse_json(bytes, secret)?;
        match v.get("auths") {
            Some(auths) => Self::from_entries(auths, secret),
            None if v.as_object().is_some_and(|o| !o.is_empty()) => Self::from_entries(&v, secret),
            None => Err(malformed(secret, "it has no \"auths\" object")),
        }
    }

    /// Parses legacy `.dockercfg` content (`{"host":{...}}`).
    pub fn parse_dockercfg(bytes: &[u8], secret: &str) -> Result<Self, PullSecretError> {
        let v = parse_json(bytes, secret)?;
        // Some writers put the new form into the old key; accept it.
        match v.get("auths") {
            Some(auths) => Self::from_entries(auths, secret),
            None => Self::from_entries(&v, secret),
        }
    }

    fn from_entries(v: &serde_json::Value, secret: &str) -> Result<Self, PullSecretError> {
        let obj = v
            .as_object()
            .ok_or_else(|| malformed(secret, "\"auths\" is not an object"))?;
        let mut out = Self::default();
        for (key, entry) in obj {
            let raw: RawEntry = serde_json::from_value(entry.clone()).map_err(|e| {
                malformed(
                    secret,
                    &format!("the entry for {key:?} is not a credentials object: {e}"),
                )
            })?;
            let (mut username, mut password) = (
                raw.username.unwrap_or_default(),
                raw.password.unwrap_or_default(),
            );
            if (username.is_empty() || password.is_empty())
                && let Some(auth) = raw.auth.filter(|a| !a.is_empty())
            {
                let decoded = B64
                    .decode(auth.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        malformed(
                            secret,
                            &format!("the \"auth\" of {key:?} is not base64 of user:password"),
                        )
                    })?;
                let (u, p) = decoded.split_once(':').ok_or_else(|| {
                    malformed(
                        secret,
                        &format!("the \"auth\" of {key:?} has no ':' between user and password"),
                    )
                })?;
                username = u.to_owned();
                password = p.to_owned();
            }
            if username.is_empty() && password.is_empty() {
                return Err(malformed(
                    secret,
                    &format!("the entry for {key:?} has neither username/password nor auth"),
                ));
            }
            out.auths.insert(
                key.clone(),
                RegistryAuth {
                    username,
                    password: Secret::new(password),
                    email: raw.email.filter(|e| !e.is_empty()),
                },
            );
        }
        Ok(out)
    }

    /// Reads a Kubernetes secret of either pull-secret type.
    pub fn from_secret(s: &KubeSecret) -> Result<Self, PullSecretError> {
        let label = format!(
            "{}/{}",
            s.metadata.namespace.as_deref().unwrap_or(""),
            s.metadata.name.as_deref().unwrap_or("")
        );
        let type_ = s.type_.as_deref().unwrap_or("Opaque");
        let data = s.data.as_ref();
        let get = |k: &str| data.and_then(|d| d.get(k)).map(|b| b.0.as_slice());
        match type_ {
            DOCKERCONFIGJSON_TYPE => {
                let bytes = get(DOCKERCONFIGJSON_KEY)
                    .ok_or_else(|| malformed(&label, "it has no .dockerconfigjson key"))?;
                Self::parse_dockerconfigjson(bytes, &label)
            }
            DOCKERCFG_TYPE => {
                let bytes = get(DOCKERCFG_KEY)
                    .ok_or_else(|| malformed(&label, "it has no .dockercfg key"))?;
                Self::parse_dockercfg(bytes, &label)
            }
            other => Err(PullSecretError::WrongType {
                secret: label,
                type_: other.to_owned(),
            }),
        }
    }
}

fn malformed(secret: &str, problem: &str) -> PullSecretError {
    PullSecretError::Malformed {
        secret: secret.to_owned(),
        problem: problem.to_owned(),
    }
}

fn parse_json(bytes: &[u8], secret: &str) -> Result<serde_json::Value, PullSecretError> {
    // Never quote the content in the error: it holds credentials.
    serde_json::from_slice(bytes).map_err(|e| {
        malformed(
            secret,
            &format!(
                "its content is not JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })
}

/// The Secret object `kubectl create secret docker-registry NAME -n NS` creates.
pub fn docker_registry_secret(namespace: &str, name: &str, config: &DockerConfig) -> KubeSecret {
    let json = config.to_dockerconfigjson();
    KubeSecret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            ..Default::default()
        },
        type_: Some(DOCKERCONFIGJSON_TYPE.to_owned()),
        data: Some(BTreeMap::from([(
            DOCKERCONFIGJSON_KEY.to_owned(),
            ByteString(json.expose().as_bytes().to_vec()),
        )])),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_exactly_what_kubectl_writes() {
        // kubectl create secret docker-registry x --docker-server=127.0.0.1:5000
        //   --docker-username=u --docker-password=p -o jsonpath='{.data.\.dockerconfigjson}'
        let c = DockerConfig::single("127.0.0.1:5000", "u", Secret::new("p"));
        assert_eq!(
            c.to_dockerconfigjson().expose(),
            r#"{"auths":{"127.0.0.1:5000":{"username":"u","password":"p","auth":"dTpw"}}}"#
        );
        let s = docker_registry_secret("ns", "acr", &c);
        assert_eq!(s.type_.as_deref(), Some(DOCKERCONFIGJSON_TYPE));
        let back = DockerConfig::from_secret(&KubeSecret {
            metadata: ObjectMeta {
                namespace: Some("ns".into()),
                name: Some("acr".into()),
                ..Default::default()
            },
            ..s
        })
        .unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn email_sits_between_password_and_auth() {
        let mut c = DockerConfig::single("r", "u", Secret::new("p"));
        c.auths.get_mut("r").unwrap().email = Some("e@x".into());
        assert_eq!(
            c.to_dockerconfigjson().expose(),
            r#"{"auths":{"r":{"username":"u","password":"p","email":"e@x","auth":"dTpw"}}}"#
        );
    }

    #[test]
    fn tolerant_parsing_of_keys_auth_only_and_legacy() {
        let json = br#"{"auths":{"https://MyAcr.azurecr.io/v1/":{"auth":"dXNlcjpwYTpzcw=="}}}"#;
        let c = DockerConfig::parse_dockerconfigjson(json, "ns/s").unwrap();
        let a = c.credentials_for("myacr.azurecr.io").unwrap();
        assert_eq!(a.username, "user");
        assert_eq!(a.password.expose(), "pa:ss", "only the first ':' splits");
        let legacy = br#"{"index.docker.io":{"username":"u","password":"p","email":"e"}}"#;
        let c = DockerConfig::parse_dockercfg(legacy, "ns/s").unwrap();
        assert_eq!(c.credentials_for("docker.io").unwrap().username, "u");
        assert!(c.credentials_for("ghcr.io").is_none());
    }

    #[test]
    fn malformed_secrets_get_clear_errors_without_content() {
        let cases: [(&[u8], &str); 5] = [
            (b"not json hunter2", "not JSON"),
            (br#"{}"#, "no \"auths\""),
            (br#"{"auths":{"r":{"auth":"!!!hunter2"}}}"#, "not base64"),
            (br#"{"auths":{"r":{"auth":"aHVudGVyMg=="}}}"#, "no ':'"),
            (
                br#"{"auths":{"r":{}}}"#,
                "neither username/password nor auth",
            ),
        ];
        for (bytes, want) in cases {
            let e = DockerConfig::parse_dockerconfigjson(bytes, "ns/s")
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e}");
            assert!(e.contains("ns/s") && !e.contains("hunter2"), "{e}");
        }
        let wrong = KubeSecret {
            type_: Some("Opaque".into()),
            ..Default::default()
        };
        assert!(matches!(
            DockerConfig::from_secret(&wrong),
            Err(PullSecretError::WrongType { .. })
        ));
    }

    #[test]
    fn set_replaces_every_key_of_the_same_host() {
        let json = br#"{"auths":{"https://r.io/v2/":{"username":"a","password":"1"},"other.io":{"username":"b","password":"2"}}}"#;
        let mut c = DockerConfig::parse_dockerconfigjson(json, "s").unwrap();
        c.set(
            "r.io",
            RegistryAuth {
                username: "new".into(),
                password: Secret::new("3"),
                email: None,
            },
        );
        assert_eq!(c.auths.len(), 2);
        assert_eq!(c.credentials_for("r.io").unwrap().username, "new");
        assert_eq!(c.credentials_for("other.io").unwrap().username, "b");
    }

    #[test]
    fn debug_never_shows_passwords() {
        let c = DockerConfig::single("r", "u", Secret::new("hunter2"));
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{:?}", c.to_dockerconfigjson()).contains("hunter2"));
    }
}
