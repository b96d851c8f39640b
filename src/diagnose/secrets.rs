//! Effective pull secrets: which secrets the pod and its service account name, what each holds,
//! and which credentials the node would try for the image, in the node's order.

use crate::cluster::pull_secret::keyring::{self, Keyring};
use crate::reference::Reference;
use crate::secret::Secret;

use super::facts::{Credential, CredentialUsed, EntryFacts, PullSecretFacts, SecretState};

/// A secret as the gatherer found it in the namespace, already read the way kubelet reads it.
#[derive(Clone, Debug)]
pub enum SecretInput {
    Missing,
    /// Not a docker-config secret kubelet would read (type and why).
    WrongType {
        type_: String,
        detail: String,
    },
    /// A docker-config type that kubelet fails to parse.
    Malformed {
        type_: String,
        reason: String,
    },
    /// Could not be read (forbidden, or the apiserver failed).
    Unreadable {
        reason: String,
    },
    Entries(Vec<DockerEntry>),
}

/// One `auths` entry, credentials decoded (from `username`/`password` or from `auth`).
#[derive(Clone, Debug)]
pub struct DockerEntry {
    pub key: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

/// The pull secrets with their facts, and the credentials the node would try, in order.
#[derive(Clone, Debug, Default)]
pub struct EffectiveSecrets {
    pub secrets: Vec<PullSecretFacts>,
    pub credentials: Vec<Credential>,
}

/// Evaluates the pod's and the service account's pull secrets against `image`.
///
/// Only the pod's own `imagePullSecrets` reach the node (the service account's are copied into
/// a pod when it is created), so only those yield credentials. kubelet merges every pod
/// secret into one keyring (`MakeDockerKeyring`) and tries each entry its `Lookup` returns, in
/// that order, pulling anonymously only when it returns none: the keyring is
/// [`crate::cluster::pull_secret::keyring`], a port of the kubelet's. A service-account-only
/// secret is matched as if it were the pod's only one.
pub fn evaluate(
    pod_secrets: &[String],
    sa_secrets: &[String],
    lookup: impl Fn(&str) -> SecretInput,
    image: &Reference,
) -> EffectiveSecrets {
    let mut names: Vec<(&str, bool, bool)> = Vec::new();
    for n in pod_secrets {
        if !names.iter().any(|(m, ..)| *m == n) {
            names.push((n, true, sa_secrets.contains(n)));
        }
    }
    for n in sa_secrets {
        if !names.iter().any(|(m, ..)| *m == n) {
            names.push((n, false, true));
        }
    }

    let target = keyring::image_name(image);
    let mut out = EffectiveSecrets::default();
    // The pod's keyring; an entry is known by (secret index, entry index).
    let mut pod_ring: Keyring<(usize, usize)> = Keyring::new();
    let mut pod_entries: Vec<(usize, usize, DockerEntry)> = Vec::new();
    for (si, (name, on_pod, on_sa)) in names.into_iter().enumerate() {
        let state = match lookup(name) {
            SecretInput::Missing => SecretState::Missing,
            SecretInput::WrongType { type_, detail } => SecretState::WrongType { type_, detail },
            SecretInput::Malformed { type_, reason } => SecretState::Malformed { type_, reason },
            SecretInput::Unreadable { reason } => SecretState::Unreadable { reason },
            SecretInput::Entries(entries) => {
                let mut own_ring = Keyring::new();
                let mut facts = Vec::with_capacity(entries.len());
                for (ei, e) in entries.into_iter().enumerate() {
                    let added = if on_pod {
                        pod_ring.add(&e.key, (si, ei))
                    } else {
                        own_ring.add(&e.key, (si, ei))
                    };
                    facts.push(EntryFacts {
                        has_password: e.password.as_ref().is_some_and(|p| !p.is_empty()),
                        expires: e.password.as_ref().and_then(jwt_expiry),
                        key: e.key.clone(),
                        username: e.username.clone(),
                        matches_image: false,
                        ignored: added.err().map(|why| {
                            format!("the node ignores this entry: its key is not a URL ({why})")
                        }),
                    });
                    if on_pod {
                        pod_entries.push((si, ei, e));
                    }
                }
                for (_, ei) in own_ring.lookup(&target) {
                    facts[ei].matches_image = true;
                }
                SecretState::Usable { entries: facts }
            }
        };
        out.secrets.push(PullSecretFacts {
            name: name.to_owned(),
            on_pod,
            on_service_account: on_sa,
            state,
        });
    }
    for (si, ei) in pod_ring.lookup(&target) {
        if let SecretState::Usable { entries } = &mut out.secrets[si].state {
            entries[ei].matches_image = true;
        }
        let Some((_, _, e)) = pod_entries.iter().find(|(s, i, _)| (*s, *i) == (si, ei)) else {
            continue;
        };
        out.credentials.push(Credential {
            used: CredentialUsed::Secret {
                secret: out.secrets[si].name.clone(),
                key: e.key.clone(),
                username: e.username.clone(),
            },
            username: e.username.clone().unwrap_or_default(),
            password: e.password.clone().unwrap_or_default(),
        });
    }
    out
}

/// The `exp` claim of a password that is a JWT; `None` for anything else.
pub fn jwt_expiry(password: &Secret) -> Option<jiff::Timestamp> {
    use base64::Engine as _;
    let mut parts = password.expose().split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    jiff::Timestamp::from_second(claims.get("exp")?.as_i64()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    fn entry(key: &str, user: &str) -> DockerEntry {
        DockerEntry {
            key: key.into(),
            username: Some(user.into()),
            password: Some(Secret::new(format!("pw-{user}"))),
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn eval(
        pod: &[&str],
        sa: &[&str],
        secrets: HashMap<&str, SecretInput>,
        image: &str,
    ) -> EffectiveSecrets {
        evaluate(
            &names(pod),
            &names(sa),
            |n| secrets.get(n).cloned().unwrap_or(SecretInput::Missing),
            &r(image),
        )
    }

    fn used(e: &EffectiveSecrets) -> Vec<(String, String)> {
        e.credentials
            .iter()
            .map(|c| match &c.used {
                CredentialUsed::Secret { secret, key, .. } => (secret.clone(), key.clone()),
                CredentialUsed::Anonymous => ("-".into(), "-".into()),
            })
            .collect()
    }

    /// The host-matching table: (secret key, image, does kubelet use it?). The full table,
    /// with the kubelet function deciding each row, is `cluster::pull_secret::keyring`'s.
    #[test]
    fn host_matching_table() {
        let table: &[(&str, &str, bool)] = &[
            ("myacr.azurecr.io", "myacr.azurecr.io/web:1", true),
            ("https://myacr.azurecr.io", "myacr.azurecr.io/web:1", true),
            ("https://myacr.azurecr.io/", "myacr.azurecr.io/web:1", true),
            ("http://myacr.azurecr.io", "myacr.azurecr.io/web:1", true),
            // Host parts compare exactly (`URLsMatch` uses `filepath.Match`).
            ("MyACR.azurecr.io", "myacr.azurecr.io/web:1", false),
            ("MyACR.azurecr.io", "MyACR.azurecr.io/web:1", true),
            ("myacr.azurecr.io/team", "myacr.azurecr.io/team/web:1", true),
            ("myacr.azurecr.io/team", "myacr.azurecr.io/web:1", false),
            (
                "https://myacr.azurecr.io/team/",
                "myacr.azurecr.io/team/web:1",
                true,
            ),
            ("other.azurecr.io", "myacr.azurecr.io/web:1", false),
            ("*.azurecr.io", "myacr.azurecr.io/web:1", true),
            ("127.0.0.1:5000", "127.0.0.1:5000/web:1", true),
            // `Add` strips /v2/ and /v1/ for every host: the node pulled with this key.
            ("https://127.0.0.1:5000/v2/", "127.0.0.1:5000/web:1", true),
            (
                "https://myacr.azurecr.io/v2/",
                "myacr.azurecr.io/web:1",
                true,
            ),
            // A key's path is a string prefix of the repository's (`strings.HasPrefix`).
            ("myacr.azurecr.io/tea", "myacr.azurecr.io/team/web:1", true),
            ("127.0.0.1:5000", "127.0.0.1:5001/web:1", false),
            ("127.0.0.1", "127.0.0.1:5000/web:1", false),
            ("https://index.docker.io/v1/", "busybox:1.36", true),
            ("docker.io", "busybox:1.36", true),
            ("index.docker.io", "docker.io/library/busybox", true),
            // The image is docker.io/bitnami/nginx: three host parts against two.
            ("registry-1.docker.io", "bitnami/nginx", false),
            (
                "https://index.docker.io/v1/",
                "myacr.azurecr.io/web:1",
                false,
            ),
        ];
        for &(key, image, want) in table {
            let secrets = HashMap::from([("s", SecretInput::Entries(vec![entry(key, "u")]))]);
            let e = eval(&["s"], &[], secrets, image);
            assert_eq!(
                e.secrets[0].has_match(),
                want,
                "key {key:?} image {image:?}"
            );
            assert_eq!(
                e.credentials.len(),
                usize::from(want),
                "key {key:?} image {image:?}"
            );
        }
    }

    #[test]
    fn auth_only_entry_yields_its_credentials() {
        // The gatherer decodes `auth` into username/password; the evaluation keeps them.
        let secrets = HashMap::from([(
            "s",
            SecretInput::Entries(vec![DockerEntry {
                key: "https://myacr.azurecr.io".into(),
                username: Some("tok".into()),
                password: Some(Secret::new("p")),
            }]),
        )]);
        let e = eval(&["s"], &[], secrets, "myacr.azurecr.io/web:1");
        assert_eq!(e.credentials.len(), 1);
        assert_eq!(e.credentials[0].username, "tok");
        assert_eq!(e.credentials[0].password.expose(), "p");
        let SecretState::Usable { entries } = &e.secrets[0].state else {
            panic!("{:?}", e.secrets[0].state)
        };
        assert!(entries[0].has_password);
    }

    #[test]
    fn a_jwt_password_tells_its_expiry() {
        use base64::Engine as _;
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!(
            "{}.{}.sig",
            b(r#"{"alg":"none"}"#),
            b(r#"{"exp":1700000000}"#)
        );
        assert_eq!(
            jwt_expiry(&Secret::new(jwt)).map(|t| t.as_second()),
            Some(1_700_000_000)
        );
        assert_eq!(jwt_expiry(&Secret::new("plain-password")), None);
        assert_eq!(jwt_expiry(&Secret::new("a.b.c")), None);
    }

    #[test]
    fn service_account_only_secret_is_listed_but_not_used() {
        let secrets = HashMap::from([(
            "sa-pull",
            SecretInput::Entries(vec![entry("myacr.azurecr.io", "u")]),
        )]);
        let e = eval(&[], &["sa-pull"], secrets, "myacr.azurecr.io/web:1");
        assert_eq!(e.secrets.len(), 1);
        assert!(!e.secrets[0].on_pod);
        assert!(e.secrets[0].on_service_account);
        assert!(e.secrets[0].has_match());
        assert!(
            e.credentials.is_empty(),
            "the node never sees an SA-only secret"
        );
    }

    #[test]
    fn secret_on_both_is_listed_once() {
        let secrets = HashMap::from([("s", SecretInput::Entries(vec![entry("h.io", "u")]))]);
        let e = eval(&["s"], &["s", "t"], secrets, "h.io/web:1");
        assert_eq!(e.secrets.len(), 2);
        assert!(e.secrets[0].on_pod && e.secrets[0].on_service_account);
        assert_eq!(e.secrets[1].name, "t");
        assert_eq!(e.secrets[1].state, SecretState::Missing);
        assert_eq!(e.credentials.len(), 1);
    }

    #[test]
    fn node_order_is_most_specific_key_first_then_secret_order() {
        let secrets = HashMap::from([
            (
                "a",
                SecretInput::Entries(vec![entry("h.io", "a1"), entry("other.io", "a2")]),
            ),
            (
                "b",
                SecretInput::Entries(vec![entry("h.io/team", "b1"), entry("https://h.io", "b2")]),
            ),
        ]);
        let e = eval(&["a", "b"], &[], secrets, "h.io/team/web:1");
        assert_eq!(
            used(&e),
            vec![
                ("b".into(), "h.io/team".into()),
                ("a".into(), "h.io".into()),
                ("b".into(), "https://h.io".into()),
            ]
        );
    }

    /// `MakeDockerKeyring` merges the pod's secrets into one keyring: the Docker Hub fallback
    /// (`Lookup`) applies only when no key of any of them matches.
    #[test]
    fn the_docker_hub_fallback_is_for_the_whole_pod() {
        let secrets = HashMap::from([
            (
                "hub",
                SecretInput::Entries(vec![entry("https://index.docker.io/v1/", "h")]),
            ),
            (
                "lib",
                SecretInput::Entries(vec![entry("docker.io/library", "l")]),
            ),
        ]);
        let e = eval(&["hub"], &[], secrets.clone(), "busybox:1");
        assert_eq!(
            used(&e),
            vec![("hub".into(), "https://index.docker.io/v1/".into())]
        );
        let e = eval(&["hub", "lib"], &[], secrets, "busybox:1");
        assert_eq!(used(&e), vec![("lib".into(), "docker.io/library".into())]);
        assert!(
            !e.secrets[0].has_match(),
            "the fallback is not used when a key matches"
        );
    }

    /// `Add` skips a key that is not a URL and reads the rest of the secret.
    #[test]
    fn an_entry_whose_key_is_not_a_url_is_ignored_alone() {
        let secrets = HashMap::from([(
            "s",
            SecretInput::Entries(vec![entry("h.io:port", "bad"), entry("h.io", "good")]),
        )]);
        let e = eval(&["s"], &[], secrets, "h.io/web:1");
        assert_eq!(used(&e), vec![("s".into(), "h.io".into())]);
        let SecretState::Usable { entries } = &e.secrets[0].state else {
            panic!("{:?}", e.secrets[0].state)
        };
        assert!(
            entries[0]
                .ignored
                .as_deref()
                .is_some_and(|w| w.contains("port")),
            "{entries:?}"
        );
        assert!(!entries[0].matches_image);
        assert_eq!(entries[1].ignored, None);
    }

    /// An entry with no credentials that matches is tried as it is (empty username and
    /// password: an anonymous pull), and it keeps the Docker Hub fallback away.
    #[test]
    fn a_matching_entry_without_credentials_is_still_tried() {
        let secrets = HashMap::from([(
            "s",
            SecretInput::Entries(vec![DockerEntry {
                key: "h.io".into(),
                username: None,
                password: None,
            }]),
        )]);
        let e = eval(&["s"], &[], secrets, "h.io/web:1");
        assert_eq!(e.credentials.len(), 1);
        assert!(e.credentials[0].username.is_empty() && e.credentials[0].password.is_empty());
    }

    #[test]
    fn missing_wrong_type_and_malformed_are_reported_and_give_no_credentials() {
        let secrets = HashMap::from([
            (
                "opaque",
                SecretInput::WrongType {
                    type_: "Opaque".into(),
                    detail: "x".into(),
                },
            ),
            (
                "bad",
                SecretInput::Malformed {
                    type_: "kubernetes.io/dockerconfigjson".into(),
                    reason: "y".into(),
                },
            ),
        ]);
        let e = eval(&["gone", "opaque", "bad"], &[], secrets, "h.io/web:1");
        assert_eq!(e.secrets[0].state, SecretState::Missing);
        assert!(matches!(e.secrets[1].state, SecretState::WrongType { .. }));
        assert!(matches!(e.secrets[2].state, SecretState::Malformed { .. }));
        assert!(e.credentials.is_empty());
    }
}
