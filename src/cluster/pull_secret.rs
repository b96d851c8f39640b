//! Image pull secrets: `kubernetes.io/dockerconfigjson` written byte for byte as
//! `kubectl create secret docker-registry` writes it, and read exactly as the kubelet reads it
//! (kubernetes v1.20 `pkg/credentialprovider/secrets/secrets.go` `MakeDockerKeyring` and
//! `pkg/credentialprovider/config.go` `DockerConfigJSON`, `DockerConfigEntry.UnmarshalJSON`,
//! `decodeDockerConfigFieldAuth`, decoded by Go's `encoding/json`).
//!
//! Which entry applies to an image is [`keyring`]'s business, the one matcher.
//!
//! Passwords live in [`Secret`]; the serialised config is a [`Secret`] too.

pub mod keyring;

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
    /// A pull-secret type whose data key is absent or empty: `MakeDockerKeyring` skips such a
    /// secret without an error.
    #[error("pull secret {secret} gives the node no credentials: {reason}")]
    Ignored {
        secret: String,
        type_: String,
        reason: String,
    },
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

/// The registry a key names, for rotation's "the same registry": no scheme, no path, lower
/// case, Docker Hub's aliases folded to `docker.io`. This is an identity for replacing keys,
/// not the node's matching: which entry applies to an image is [`keyring`]'s.
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

    /// The node's keyring of this config alone (keys it ignores left out).
    pub fn keyring(&self) -> keyring::Keyring<&str> {
        let mut k = keyring::Keyring::new();
        for key in self.auths.keys() {
            let _ignored = k.add(key, key.as_str());
        }
        k
    }

    /// The keys the node would use for `image`, in the order it tries them.
    pub fn keys_for(&self, image: &crate::reference::Reference) -> Vec<&str> {
        self.keyring().lookup(&keyring::image_name(image))
    }

    /// Credentials for a registry host (`127.0.0.1:5000`, `myacr.azurecr.io`): an entry with
    /// exactly that key, else the first the node would use for some image on that host
    /// ([`keyring::Keyring::lookup_host`]).
    pub fn credentials_for(&self, host: &str) -> Option<&RegistryAuth> {
        if let Some(a) = self.auths.get(host) {
            return Some(a);
        }
        let key = *self.keyring().lookup_host(host).first()?;
        self.auths.get(key)
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
                // An entry without credentials (kept from a secret being rewritten) stays
                // without: `auth` of ":" would say nothing more.
                let auth = if a.username.is_empty() && a.password.is_empty() {
                    String::new()
                } else {
                    B64.encode(format!("{}:{}", a.username, a.password.expose()))
                };
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

    /// Parses `.dockerconfigjson` content as the kubelet does: `json.Unmarshal` into
    /// `DockerConfigJSON` (config.go), which reads only `auths` (and checks `HttpHeaders`);
    /// a document without `auths` gives no entries and no error. Go's field names match
    /// case-insensitively and unknown fields are ignored.
    pub fn parse_dockerconfigjson(bytes: &[u8], secret: &str) -> Result<Self, PullSecretError> {
        let mut out = Self::default();
        match parse_json(bytes, secret)? {
            GoJson::Null => {}
            GoJson::Object(fields) => {
                for (name, v) in fields {
                    if go_field_is(&name, "auths") {
                        match v {
                            // Go sets the map to nil.
                            GoJson::Null => out.auths.clear(),
                            GoJson::Object(entries) => out.add_entries(entries, secret)?,
                            other => {
                                return Err(malformed(
                                    secret,
                                    &format!("\"auths\" is {}, not an object", other.kind()),
                                ));
                            }
                        }
                    } else if go_field_is(&name, "HttpHeaders") {
                        check_http_headers(&v, secret)?;
                    }
                }
            }
            other => {
                return Err(malformed(
                    secret,
                    &format!("its content is {}, not a JSON object", other.kind()),
                ));
            }
        }
        Ok(out)
    }

    /// Parses legacy `.dockercfg` content (`{"host":{...}}`) as the kubelet does:
    /// `json.Unmarshal` into `DockerConfig`, a map of entries. An `auths` here is a registry
    /// key like any other (it names no registry).
    pub fn parse_dockercfg(bytes: &[u8], secret: &str) -> Result<Self, PullSecretError> {
        let mut out = Self::default();
        match parse_json(bytes, secret)? {
            GoJson::Null => {}
            GoJson::Object(entries) => out.add_entries(entries, secret)?,
            other => {
                return Err(malformed(
                    secret,
                    &format!("its content is {}, not a JSON object", other.kind()),
                ));
            }
        }
        Ok(out)
    }

    /// Each entry through `DockerConfigEntry.UnmarshalJSON`: any error fails the whole
    /// `json.Unmarshal`, hence the whole secret (and `MakeDockerKeyring`, hence every pull of
    /// the pod). An entry with no credentials at all is accepted, as the kubelet accepts it.
    fn add_entries(
        &mut self,
        entries: Vec<(String, GoJson)>,
        secret: &str,
    ) -> Result<(), PullSecretError> {
        for (key, v) in entries {
            let auth = decode_entry(&key, v).map_err(|problem| malformed(secret, &problem))?;
            // A repeated key: the last one wins, as in a Go map.
            self.auths.insert(key, auth);
        }
        Ok(())
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
            // `MakeDockerKeyring` reads a secret only when its type and data key agree and
            // the data is not empty; otherwise it skips it, without an error.
            DOCKERCONFIGJSON_TYPE => match get(DOCKERCONFIGJSON_KEY).filter(|b| !b.is_empty()) {
                Some(bytes) => Self::parse_dockerconfigjson(bytes, &label),
                None => Err(ignored(&label, type_, DOCKERCONFIGJSON_KEY)),
            },
            DOCKERCFG_TYPE => match get(DOCKERCFG_KEY).filter(|b| !b.is_empty()) {
                Some(bytes) => Self::parse_dockercfg(bytes, &label),
                None => Err(ignored(&label, type_, DOCKERCFG_KEY)),
            },
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

fn ignored(secret: &str, type_: &str, data_key: &str) -> PullSecretError {
    PullSecretError::Ignored {
        secret: secret.to_owned(),
        type_: type_.to_owned(),
        reason: format!("it has no {data_key} data, or it is empty, so the node skips it"),
    }
}

fn parse_json(bytes: &[u8], secret: &str) -> Result<GoJson, PullSecretError> {
    // Go's decoder takes invalid UTF-8 inside strings (as U+FFFD); so does this.
    let text = String::from_utf8_lossy(bytes);
    // Never quote the content in the error: it holds credentials.
    serde_json::from_str(&text).map_err(|e| {
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

/// A JSON value as Go's `encoding/json` walks it: objects keep their members in document
/// order, duplicates included (the last assignment wins there).
#[derive(Debug)]
enum GoJson {
    Null,
    Bool,
    Number,
    String(String),
    Array,
    Object(Vec<(String, GoJson)>),
}

impl GoJson {
    fn kind(&self) -> &'static str {
        match self {
            GoJson::Null => "null",
            GoJson::Bool => "a boolean",
            GoJson::Number => "a number",
            GoJson::String(_) => "a string",
            GoJson::Array => "an array",
            GoJson::Object(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for GoJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = GoJson;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<GoJson, E> {
                Ok(GoJson::Null)
            }
            fn visit_none<E>(self) -> Result<GoJson, E> {
                Ok(GoJson::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<GoJson, E> {
                Ok(GoJson::Bool)
            }
            fn visit_i64<E>(self, _: i64) -> Result<GoJson, E> {
                Ok(GoJson::Number)
            }
            fn visit_u64<E>(self, _: u64) -> Result<GoJson, E> {
                Ok(GoJson::Number)
            }
            fn visit_f64<E>(self, _: f64) -> Result<GoJson, E> {
                Ok(GoJson::Number)
            }
            fn visit_str<E>(self, s: &str) -> Result<GoJson, E> {
                Ok(GoJson::String(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<GoJson, E> {
                Ok(GoJson::String(s))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<GoJson, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(GoJson::Array)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<GoJson, A::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, GoJson>()? {
                    members.push((k, v));
                }
                Ok(GoJson::Object(members))
            }
        }
        d.deserialize_any(V)
    }
}

/// Does a JSON member name set the Go struct field `field`? `encoding/json` matches names
/// case-insensitively (with Unicode's two extra folds for `k` and `s`).
fn go_field_is(name: &str, field: &str) -> bool {
    let fold = |c: char| match c {
        '\u{212A}' => 'k',
        '\u{017F}' => 's',
        c => c.to_ascii_lowercase(),
    };
    name.chars().map(fold).eq(field.chars().map(fold))
}

/// `HttpHeaders map[string]string`: an object of strings, or null; anything else fails the
/// unmarshalling.
fn check_http_headers(v: &GoJson, secret: &str) -> Result<(), PullSecretError> {
    let ok = match v {
        GoJson::Null => true,
        GoJson::Object(m) => m
            .iter()
            .all(|(_, v)| matches!(v, GoJson::String(_) | GoJson::Null)),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(malformed(
            secret,
            "\"HttpHeaders\" is not an object of strings",
        ))
    }
}

/// `DockerConfigEntry.UnmarshalJSON` (config.go): `username`, `password`, `email` and `auth`
/// read as strings; a non-empty `auth` is decoded and replaces both username and password.
fn decode_entry(key: &str, v: GoJson) -> Result<RegistryAuth, String> {
    let fields = match v {
        // Unmarshalling null is a no-op: an entry with nothing.
        GoJson::Null => Vec::new(),
        GoJson::Object(fields) => fields,
        other => {
            return Err(format!(
                "the entry for {key:?} is {}, not a credentials object",
                other.kind()
            ));
        }
    };
    let (mut username, mut password, mut email, mut auth) =
        (String::new(), String::new(), String::new(), String::new());
    for (name, v) in fields {
        let slot = if go_field_is(&name, "username") {
            &mut username
        } else if go_field_is(&name, "password") {
            &mut password
        } else if go_field_is(&name, "email") {
            &mut email
        } else if go_field_is(&name, "auth") {
            &mut auth
        } else {
            continue;
        };
        match v {
            GoJson::String(s) => *slot = s,
            GoJson::Null => {}
            other => {
                return Err(format!(
                    "the {name:?} of the entry for {key:?} is {}, not a string",
                    other.kind()
                ));
            }
        }
    }
    if !auth.is_empty() {
        (username, password) = decode_docker_config_field_auth(&auth)
            .map_err(|why| format!("the \"auth\" of the entry for {key:?} {why}"))?;
    }
    Ok(RegistryAuth {
        username,
        password: Secret::new(password),
        email: Some(email).filter(|e| !e.is_empty()),
    })
}

/// Go's `base64.StdEncoding` and `RawStdEncoding` decoders: standard alphabet, padding
/// required (resp. forbidden), non-zero trailing bits accepted (neither is `Strict`).
const GO_STD: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireCanonical),
);
const GO_RAW_STD: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
);

/// `decodeDockerConfigFieldAuth` (config.go, since kubernetes 1.17: #82148, #85687): a field
/// that ends in `=` (after trimming white space) is decoded padded, any other unpadded; Go's
/// decoders skip `\r` and `\n` anywhere. The URL-safe alphabet is not accepted. Then the
/// decoded text splits at its first `:`. The error never quotes the field.
fn decode_docker_config_field_auth(field: &str) -> Result<(String, String), String> {
    let padded = field.trim().ends_with('=');
    let cleaned: String = field
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n'))
        .collect();
    let engine = if padded { &GO_STD } else { &GO_RAW_STD };
    let decoded = engine.decode(cleaned).map_err(|e| match e {
        base64::DecodeError::InvalidByte(at, _) => {
            format!("is not base64: illegal base64 data at input byte {at}")
        }
        base64::DecodeError::InvalidPadding if padded => {
            "is not base64: its padding is wrong".to_owned()
        }
        base64::DecodeError::InvalidPadding => "is not base64: '=' inside unpadded data".to_owned(),
        _ => "is not base64: its length is impossible for base64".to_owned(),
    })?;
    let colon = decoded
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(|| "has no ':' between user and password: unable to parse auth field, must be formatted as base64(username:password)".to_owned())?;
    // Go keeps any bytes; a Rust string needs UTF-8, so invalid sequences become U+FFFD.
    Ok((
        String::from_utf8_lossy(&decoded[..colon]).into_owned(),
        String::from_utf8_lossy(&decoded[colon + 1..]).into_owned(),
    ))
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

    fn one(json: &str) -> Result<(String, RegistryAuth), String> {
        let c = DockerConfig::parse_dockerconfigjson(json.as_bytes(), "ns/s")
            .map_err(|e| e.to_string())?;
        assert_eq!(c.auths.len(), 1, "{json}");
        Ok(c.auths.into_iter().next().unwrap())
    }

    /// `DockerConfigEntry.UnmarshalJSON` + `decodeDockerConfigFieldAuth` (config.go, v1.20):
    /// (entry JSON, Ok((username, password)) or Err(part of the error)).
    #[test]
    fn entries_decode_as_the_kubelet_decodes_them() {
        use base64::Engine as _;
        let std = |s: &str| B64.encode(s);
        let raw = |s: &str| base64::engine::general_purpose::STANDARD_NO_PAD.encode(s);
        let url = |s: &str| base64::engine::general_purpose::URL_SAFE.encode(s);
        // "u?>:p" has '?' and '>' so its URL-safe form differs from the standard one.
        let odd = "u?>:p~~";
        assert_ne!(std(odd), url(odd));
        type Want = Result<(&'static str, &'static str), &'static str>;
        let cases: Vec<(String, Want)> = vec![
            // username/password as written.
            (r#"{"username":"u","password":"p"}"#.into(), Ok(("u", "p"))),
            // A non-empty auth replaces both (UnmarshalJSON: "if len(tmp.Auth) == 0 ... ").
            (
                format!(
                    r#"{{"username":"x","password":"y","auth":"{}"}}"#,
                    std("u:p")
                ),
                Ok(("u", "p")),
            ),
            (
                format!(r#"{{"username":"x","auth":"{}"}}"#, std("u:p")),
                Ok(("u", "p")),
            ),
            (
                r#"{"username":"u","password":"p","auth":""}"#.into(),
                Ok(("u", "p")),
            ),
            // Padded: StdEncoding; unpadded: RawStdEncoding (the field's last '=' decides).
            (format!(r#"{{"auth":"{}"}}"#, std("u:pw")), Ok(("u", "pw"))),
            (format!(r#"{{"auth":"{}"}}"#, raw("u:pw")), Ok(("u", "pw"))),
            (
                format!(r#"{{"auth":"{}"}}"#, raw("user:pa:ss")),
                Ok(("user", "pa:ss")),
            ),
            // Go's decoders skip \r and \n anywhere.
            (r#"{"auth":"dTpw\r\nYXNz"}"#.into(), Ok(("u", "pass"))),
            // Non-zero trailing bits: Go's decoders are not Strict.
            (r#"{"auth":"dTpx"}"#.into(), Ok(("u", "q"))),
            (r#"{"auth":"dTq="}"#.into(), Ok(("u", ""))),
            // Rejected: the URL-safe alphabet, padding where it does not belong, junk.
            (format!(r#"{{"auth":"{}"}}"#, url(odd)), Err("not base64")),
            (r#"{"auth":"dTpwYQ="}"#.into(), Err("not base64")),
            (r#"{"auth":"dQ==dQ=="}"#.into(), Err("not base64")),
            (r#"{"auth":"dTpw "}"#.into(), Err("not base64")),
            (r#"{"auth":"not base64!"}"#.into(), Err("not base64")),
            (r#"{"auth":"d"}"#.into(), Err("not base64")),
            // Decoded, but no ':' (SplitN(..., ":", 2) has one part).
            (format!(r#"{{"auth":"{}"}}"#, std("hunter2")), Err("no ':'")),
            (r#"{"auth":"\n"}"#.into(), Err("no ':'")),
            // No credentials at all is not an error: the kubelet keeps an empty entry.
            (r#"{"email":"a@b.c"}"#.into(), Ok(("", ""))),
            (r#"{}"#.into(), Ok(("", ""))),
            ("null".into(), Ok(("", ""))),
            // Go's field names match case-insensitively; null leaves a field empty; unknown
            // fields are ignored whatever their type.
            (
                r#"{"Username":"u","PASSWORD":"p","x":[1]}"#.into(),
                Ok(("u", "p")),
            ),
            (r#"{"username":null,"password":"p"}"#.into(), Ok(("", "p"))),
            (
                r#"{"username":"a","username":"u","password":"p"}"#.into(),
                Ok(("u", "p")),
            ),
            // A known field of another type fails the unmarshalling.
            (
                r#"{"username":5,"password":"p"}"#.into(),
                Err("not a string"),
            ),
            (r#""u:p""#.into(), Err("not a credentials object")),
        ];
        for (entry, want) in cases {
            let json = format!(r#"{{"auths":{{"r.io":{entry}}}}}"#);
            let got = one(&json);
            match (want, got) {
                (Ok((u, p)), Ok((_, a))) => {
                    assert_eq!(
                        (a.username.as_str(), a.password.expose()),
                        (u, p),
                        "{entry}"
                    )
                }
                (Err(needle), Err(e)) => {
                    assert!(e.contains(needle), "{entry}: {e}");
                    assert!(e.contains("ns/s") && e.contains("\"r.io\""), "{e}");
                    assert!(!e.contains("hunter2") && !e.contains("dTpw"), "{e}");
                }
                (want, got) => panic!("{entry}: want {want:?}, got {got:?}"),
            }
        }
    }

    /// `MakeDockerKeyring` + `json.Unmarshal` into `DockerConfigJSON` / `DockerConfig`.
    #[test]
    fn documents_read_as_the_kubelet_reads_them() {
        let j = |s: &str| DockerConfig::parse_dockerconfigjson(s.as_bytes(), "ns/s");
        // An email-only entry beside a good one: both kept, nothing malformed.
        let c =
            j(r#"{"auths":{"r.io":{"username":"u","password":"p"},"other.io":{"email":"e@x"}}}"#)
                .unwrap();
        assert_eq!(c.auths.len(), 2);
        assert_eq!(c.credentials_for("r.io").unwrap().username, "u");
        assert_eq!(c.credentials_for("other.io").unwrap().username, "");
        // No auths: no entries, no error. `Auths` matches case-insensitively. Only `auths`
        // counts: a top-level registry key is an unknown field.
        assert!(j("{}").unwrap().auths.is_empty());
        assert!(j("null").unwrap().auths.is_empty());
        assert!(j(r#"{"auths":null}"#).unwrap().auths.is_empty());
        assert!(
            j(r#"{"r.io":{"username":"u","password":"p"}}"#)
                .unwrap()
                .auths
                .is_empty()
        );
        assert_eq!(j(r#"{"Auths":{"r.io":{}}}"#).unwrap().auths.len(), 1);
        assert!(j(r#"{"auths":{},"HttpHeaders":{"User-Agent":"x"}}"#).is_ok());
        for (bad, needle) in [
            ("not json hunter2", "not JSON"),
            ("[]", "not a JSON object"),
            (r#"{"auths":[]}"#, "\"auths\" is an array"),
            (r#"{"auths":"hunter2"}"#, "\"auths\" is a string"),
            (r#"{"auths":{},"HttpHeaders":{"a":1}}"#, "HttpHeaders"),
            // One bad entry fails the whole document, good entries beside it too.
            (
                r#"{"auths":{"good.io":{"username":"u","password":"p"},"r.io":{"auth":"%%%"}}}"#,
                "not base64",
            ),
        ] {
            let e = j(bad).unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains("ns/s"), "{bad}: {e}");
            assert!(!e.contains("hunter2"), "{e}");
        }

        // Legacy `.dockercfg`: the document is the map of entries itself.
        let d = |s: &str| DockerConfig::parse_dockercfg(s.as_bytes(), "ns/s");
        let legacy = d(r#"{"https://index.docker.io/v1/":{"auth":"dTpw","email":"e"}}"#).unwrap();
        let a = legacy.credentials_for("docker.io").unwrap();
        assert_eq!((a.username.as_str(), a.password.expose()), ("u", "p"));
        assert!(legacy.credentials_for("ghcr.io").is_none());
        // The new form in the old key: `auths` is just a key naming no registry.
        let mixed = d(r#"{"auths":{"r.io":{"username":"u","password":"p"}}}"#).unwrap();
        assert_eq!(mixed.auths.keys().collect::<Vec<_>>(), ["auths"]);
        assert!(mixed.credentials_for("r.io").is_none());
        assert!(d(r#"{"r.io":{"auth":"hunter2!"}}"#).is_err());
        assert!(d("[]").is_err());
    }

    #[test]
    fn from_secret_follows_make_docker_keyring() {
        let with = |type_: &str, key: &str, data: &[u8]| KubeSecret {
            metadata: ObjectMeta {
                namespace: Some("ns".into()),
                name: Some("s".into()),
                ..Default::default()
            },
            type_: Some(type_.into()),
            data: Some(BTreeMap::from([(
                key.to_owned(),
                ByteString(data.to_vec()),
            )])),
            ..Default::default()
        };
        let good = br#"{"auths":{"r.io":{"username":"u","password":"p"}}}"#;
        let cfg = br#"{"r.io":{"username":"u","password":"p"}}"#;
        assert!(
            DockerConfig::from_secret(&with(DOCKERCONFIGJSON_TYPE, DOCKERCONFIGJSON_KEY, good))
                .is_ok()
        );
        assert!(DockerConfig::from_secret(&with(DOCKERCFG_TYPE, DOCKERCFG_KEY, cfg)).is_ok());
        // The type's own data key, non-empty, or the node skips the secret (no error).
        for s in [
            with(DOCKERCONFIGJSON_TYPE, DOCKERCFG_KEY, good),
            with(DOCKERCFG_TYPE, DOCKERCONFIGJSON_KEY, cfg),
            with(DOCKERCONFIGJSON_TYPE, DOCKERCONFIGJSON_KEY, b""),
        ] {
            assert!(
                matches!(
                    DockerConfig::from_secret(&s),
                    Err(PullSecretError::Ignored { .. })
                ),
                "{:?}",
                s.data.as_ref().map(|d| d.keys().collect::<Vec<_>>())
            );
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
    fn credentials_for_uses_the_kubelet_keyring() {
        let json = br#"{"auths":{"https://r.io/v2/":{"username":"v2","password":"1"},"MyAcr.azurecr.io":{"username":"upper","password":"2"}}}"#;
        let c = DockerConfig::parse_dockerconfigjson(json, "s").unwrap();
        assert_eq!(c.credentials_for("r.io").unwrap().username, "v2");
        // Host case is exact for the node.
        assert!(c.credentials_for("myacr.azurecr.io").is_none());
        assert_eq!(
            c.credentials_for("MyAcr.azurecr.io").unwrap().username,
            "upper"
        );
        let web = crate::reference::Reference::parse("r.io/team/web:1").unwrap();
        assert_eq!(c.keys_for(&web), ["https://r.io/v2/"]);
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

    proptest::proptest! {
        /// `decodeDockerConfigFieldAuth`: padded or not, with CR/LF anywhere, `auth` gives back
        /// the user (no ':') and the password (any); the URL-safe alphabet is refused whenever
        /// it differs from the standard one.
        #[test]
        fn auth_round_trips_as_the_kubelet_decodes_it(
            user in "[^:\\r\\n]{0,12}",
            pass in "\\PC{0,24}",
            pad in proptest::bool::ANY,
            breaks in proptest::collection::vec(0usize..64, 0..3),
        ) {
            use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE};
            let plain = format!("{user}:{pass}");
            let mut auth = if pad { B64.encode(&plain) } else { STANDARD_NO_PAD.encode(&plain) };
            for b in breaks {
                let at = b.min(auth.len());
                auth.insert_str(at, "\r\n");
            }
            let json = serde_json::json!({"auths": {"r.io": {"auth": auth}}}).to_string();
            let c = DockerConfig::parse_dockerconfigjson(json.as_bytes(), "s").unwrap();
            let a = &c.auths["r.io"];
            proptest::prop_assert_eq!(&a.username, &user);
            proptest::prop_assert_eq!(a.password.expose(), pass.as_str());

            let url = URL_SAFE.encode(&plain);
            if url != B64.encode(&plain) {
                let json = serde_json::json!({"auths": {"r.io": {"auth": url}}}).to_string();
                proptest::prop_assert!(DockerConfig::parse_dockerconfigjson(json.as_bytes(), "s").is_err());
            }
        }
    }

    #[test]
    fn debug_never_shows_passwords() {
        let c = DockerConfig::single("r", "u", Secret::new("hunter2"));
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{:?}", c.to_dockerconfigjson()).contains("hunter2"));
    }
}
