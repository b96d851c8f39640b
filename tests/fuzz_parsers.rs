//! Fuzzing every parser of outside input (issue 15, section 4), with proptest: cargo-fuzz needs
//! a nightly toolchain this project does not build with.
//!
//! One property per parser. Each feeds a mix of real examples with random edits (insertions of
//! the parser's own tokens and of awkward unicode, deletions, replacements, truncations,
//! repetitions up to tens of KiB), token soup, and arbitrary strings or bytes, and checks:
//! - no panic;
//! - every input is classified or refused, and a refusal's message is non-empty, names the
//!   input (or its problem), and never quotes a password;
//! - round trips hold where there is one (a reference renders to text, and to its familiar
//!   form, that parse back to it; a pull secret berth writes reads back to the same
//!   credentials).
//!
//! Parsers: image references, tags, digests and image ids; pull-secret keys against hosts;
//! `WWW-Authenticate` (both parsers) and `Link`; docker `config.json` and credential-helper
//! answers; `.dockerconfigjson` / `.dockercfg` and the diagnosis's evaluation of them, JWT
//! passwords; `config.toml` and its key names; registry error bodies, statuses, token and
//! exchange answers, listing pages, manifests, `Retry-After`; ARM and Entra answers; the
//! diagnosis over any node messages and registry words, and which containers it picks from
//! a pod's waiting reasons and events; the TUI's retag prompt and `set image` targets.
//!
//! Hangs: each parser also gets pathological inputs of [`size`] bytes (256 KiB by default,
//! `FUZZ_SIZING_BYTES` to change), in the test's own thread. No wall-clock assertion (the
//! machine is shared and noisy): the sizing is the assertion. A linear parser takes
//! milliseconds on them; a quadratic one minutes to hours, an exponential one forever, and
//! the run does not finish (`scripts/bench/fuzz` bounds each test with `timeout` and names
//! it).
//!
//! Budget: `PROPTEST_CASES` (default 256) cases per property, fewer for the expensive ones; the
//! file runs in a few seconds in CI. `scripts/bench/fuzz` runs it with 200 000. Seeds of past
//! failures are in `tests/fuzz_parsers.proptest-regressions` (proptest re-runs them first).

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config as ProptestConfig;

use berth::reference::{self, Reference, ReferenceError};

// ---------------------------------------------------------------------------------------------
// Budget and generators
// ---------------------------------------------------------------------------------------------

/// `PROPTEST_CASES` (proptest's default when unset: 256), divided by `cost`.
/// (`scripts/bench/fuzz` reads the `fuzz-budget` line of each test's output.)
fn budget(cost: u32) -> ProptestConfig {
    let base = ProptestConfig::default();
    let cases = (base.cases / cost).max(16);
    eprintln!(
        "fuzz-budget {} {cases}",
        std::thread::current().name().unwrap_or("?")
    );
    ProptestConfig {
        cases,
        max_shrink_iters: 2048,
        ..base
    }
}

/// Bytes for the pathological inputs.
fn size() -> usize {
    std::env::var("FUZZ_SIZING_BYTES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256 << 10)
}

/// Longest input a mutation may grow (repetitions stop there).
const MAX_MUTATED: usize = 64 * 1024;

/// Unicode and control characters that trip byte/char confusion, case folding (`K` KELVIN SIGN
/// lower-cases to ASCII `k`, `İ` grows when lower-cased), trimming and line handling.
const AWKWARD: &[&str] = &[
    "",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\0",
    "\u{7f}",
    "\u{1b}[2J",
    "é",
    "ß",
    "İ",
    "\u{212a}",
    "ǅ",
    "\u{200b}",
    "\u{feff}",
    "\u{301}",
    "\u{2028}",
    "\u{fffd}",
    "🦀",
    "\u{10ffff}",
    "ﬀ",
    "\\",
    "\"",
    "'",
    "%",
    "%00",
    "%2F",
    "\u{a0}",
    "０",
    "Ａ",
];

#[derive(Clone, Debug)]
enum Edit {
    Insert(Index, String),
    Delete(Index, usize),
    Replace(Index, usize, String),
    Truncate(Index),
    /// Repeat a slice of the input `times` times in place (long inputs).
    Repeat(Index, usize, usize),
}

fn piece(tokens: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(tokens).prop_map(str::to_owned),
        2 => prop::sample::select(AWKWARD).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
        1 => "\\PC{1,8}",
    ]
    .boxed()
}

fn edit(tokens: &'static [&'static str]) -> BoxedStrategy<Edit> {
    prop_oneof![
        4 => (any::<Index>(), piece(tokens)).prop_map(|(i, s)| Edit::Insert(i, s)),
        2 => (any::<Index>(), 1..12usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        2 => (any::<Index>(), 1..6usize, piece(tokens)).prop_map(|(i, n, s)| Edit::Replace(i, n, s)),
        1 => any::<Index>().prop_map(Edit::Truncate),
        1 => (any::<Index>(), 1..24usize, 2..48usize).prop_map(|(i, n, t)| Edit::Repeat(i, n, t)),
        1 => (any::<Index>(), 1..4usize, 512..8192usize).prop_map(|(i, n, t)| Edit::Repeat(i, n, t)),
    ]
    .boxed()
}

/// The edits applied to a sequence (chars of a string, or bytes).
fn apply<T: Clone>(mut v: Vec<T>, edits: &[Edit], piece: impl Fn(&str) -> Vec<T>) -> Vec<T> {
    for e in edits {
        match e {
            Edit::Insert(i, s) => {
                let at = i.index(v.len() + 1);
                v.splice(at..at, piece(s));
            }
            Edit::Delete(i, n) if !v.is_empty() => {
                let at = i.index(v.len());
                let end = (at + n).min(v.len());
                v.drain(at..end);
            }
            Edit::Replace(i, n, s) if !v.is_empty() => {
                let at = i.index(v.len());
                let end = (at + n).min(v.len());
                v.splice(at..end, piece(s));
            }
            Edit::Truncate(i) => {
                let at = i.index(v.len() + 1);
                v.truncate(at);
            }
            Edit::Repeat(i, n, times) if !v.is_empty() => {
                let at = i.index(v.len());
                let end = (at + n).min(v.len());
                let slice = v[at..end].to_vec();
                let room = MAX_MUTATED.saturating_sub(v.len()) / slice.len().max(1);
                let copies = (*times).min(room);
                let grown: Vec<T> = std::iter::repeat_n(slice, copies).flatten().collect();
                v.splice(end..end, grown);
            }
            _ => {}
        }
    }
    v
}

/// Real examples with random edits.
fn mutated(
    seeds: &'static [&'static str],
    tokens: &'static [&'static str],
) -> BoxedStrategy<String> {
    (
        prop::sample::select(seeds),
        prop::collection::vec(edit(tokens), 0..10),
    )
        .prop_map(|(seed, edits)| {
            apply(seed.chars().collect(), &edits, |s| s.chars().collect())
                .into_iter()
                .collect()
        })
        .boxed()
}

/// The parser's tokens and awkward characters, concatenated at random.
fn soup(tokens: &'static [&'static str]) -> BoxedStrategy<String> {
    prop::collection::vec(piece(tokens), 0..48)
        .prop_map(|v| v.concat())
        .boxed()
}

/// What every string property feeds: mostly mutated examples, then soup, then anything.
fn mixed(seeds: &'static [&'static str], tokens: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        6 => mutated(seeds, tokens),
        3 => soup(tokens),
        1 => "\\PC{0,64}",
        1 => any::<String>(),
    ]
    .boxed()
}

/// Bytes: mutated examples (byte edits, so invalid UTF-8 too), soup, arbitrary bytes.
fn mixed_bytes(
    seeds: &'static [&'static str],
    tokens: &'static [&'static str],
) -> BoxedStrategy<Vec<u8>> {
    let byte_edits = (
        prop::sample::select(seeds),
        prop::collection::vec(edit(tokens), 0..10),
        prop::collection::vec((any::<Index>(), any::<u8>()), 0..3),
    )
        .prop_map(|(seed, edits, flips)| {
            let mut v = apply(seed.as_bytes().to_vec(), &edits, |s| s.as_bytes().to_vec());
            for (i, b) in flips {
                if !v.is_empty() {
                    let at = i.index(v.len());
                    v[at] = b;
                }
            }
            v
        });
    prop_oneof![
        6 => byte_edits,
        3 => soup(tokens).prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
    .boxed()
}

/// A refusal's message: non-empty, on one line or a few, naming what it is about.
fn assert_message(msg: &str, names: &str) {
    assert!(!msg.trim().is_empty(), "an empty error message");
    assert!(
        msg.contains(names),
        "the message does not name {names:?}: {msg}"
    );
}

/// A `Debug` or `Display` of something holding `secret` must not show it, unless the secret is
/// short or is also part of what may be shown (a user name, a key).
fn assert_hidden(shown: &str, secret: &str, visible: &[&str]) {
    if secret.len() < 6
        || visible
            .iter()
            .any(|v| v.contains(secret) || format!("{v:?}").contains(secret))
    {
        return;
    }
    assert!(
        !shown.contains(secret),
        "shows a secret ({secret:?}): {shown}"
    );
}

fn check_credential_hidden(c: &berth::registry::credential::Credential) {
    use berth::registry::credential::Credential;
    let shown = format!("{c:?}");
    match c {
        Credential::Basic { username, password } => {
            assert_hidden(&shown, password.expose(), &[username])
        }
        Credential::IdentityToken(t) => assert_hidden(&shown, t.expose(), &[]),
        _ => {}
    }
}

/// No message may quote a password (or an `auth` that encodes one).
fn assert_no_secret(msg: &str, secrets: &[&str]) {
    for s in secrets.iter().filter(|s| s.len() >= 6) {
        assert!(
            !msg.contains(s),
            "the message quotes a secret ({s:?}): {msg}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Image references
// ---------------------------------------------------------------------------------------------

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

const REFERENCES: &[&str] = &[
    "busybox",
    "busybox:1.36",
    "library/busybox:latest",
    "docker.io/library/busybox:1.36",
    "index.docker.io/bitnami/nginx:1.25",
    "registry-1.docker.io/library/redis",
    "myacr.azurecr.io/web:1.0.3",
    "MyACR.azurecr.io/team/web:prod",
    "myacr.azurecr.io/team/sub.group/web_app__x--y:v1.2-rc.3",
    "127.0.0.1:5000/tools/multi.arch/x_y:v1.2-3",
    "localhost:5000/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "localhost/web",
    "[::1]:5000/web:1",
    "[fe80::1%25eth0]:5000/web",
    "reg.io/web:1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "reg.io/web@sha512:00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "reg.io/web@multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
    "A/000",
    "web:not/valid",
    "reg.io:99999/web",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
];

const REFERENCE_TOKENS: &[&str] = &[
    "/",
    ":",
    "@",
    ".",
    "-",
    "_",
    "__",
    "[",
    "]",
    "::",
    "sha256:",
    "sha512:",
    "localhost",
    "docker.io",
    "library/",
    "azurecr.io",
    "5000",
    "65536",
    "A",
    "Z",
    "0",
    "latest",
    "//",
    "..",
    "--",
    DIGEST,
    "+",
    "%",
];

/// The tag grammar, independently: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
fn tag_ok(t: &str) -> bool {
    (1..=128).contains(&t.len())
        && t.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn check_reference(input: &str) {
    match Reference::parse(input) {
        Ok(r) => {
            // Classified: every part is valid and the whole renders back to itself.
            assert!(
                !r.registry().is_empty() && !r.repository().is_empty(),
                "{r:?}"
            );
            assert!(
                r.tag().is_none_or(tag_ok),
                "{input:?} gave tag {:?}",
                r.tag()
            );
            if let Some(d) = r.digest() {
                reference::validate_digest(d).expect("a parsed digest is valid");
            }
            assert!(!r.manifest_ref().is_empty());
            let shown = r.to_string();
            let again = Reference::parse(&shown)
                .unwrap_or_else(|e| panic!("{input:?} → {shown:?} does not parse: {e}"));
            assert_eq!(again, r, "{input:?} → {shown:?}");
            let familiar = r.familiar();
            let again = Reference::parse(&familiar)
                .unwrap_or_else(|e| panic!("{input:?} → familiar {familiar:?}: {e}"));
            assert_eq!(again, r, "{input:?} → familiar {familiar:?}");
            assert_eq!(
                r.with_tag("fuzz").map(|t| t.tag() == Some("fuzz")),
                Ok(true)
            );
            assert!(r.with_digest(DIGEST).is_ok());
        }
        Err(e) => {
            let msg = e.to_string();
            match &e {
                ReferenceError::Empty => assert!(input.is_empty()),
                ReferenceError::Invalid { input: i, reason } => {
                    assert_eq!(i, input);
                    assert!(!reason.is_empty());
                    assert_message(&msg, &format!("{input:?}"));
                }
                ReferenceError::InvalidTag { tag, reason } => {
                    assert!(input.contains(tag.as_str()) && !reason.is_empty(), "{e:?}");
                    assert_message(&msg, "tag");
                }
                ReferenceError::InvalidDigest { digest, reason } => {
                    assert!(
                        input.contains(digest.as_str()) && !reason.is_empty(),
                        "{e:?}"
                    );
                    assert_message(&msg, "digest");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(budget(1))]

    /// `Reference::parse`, `Display`, `familiar`, `with_tag`, `with_digest`.
    #[test]
    fn references(input in mixed(REFERENCES, REFERENCE_TOKENS)) {
        check_reference(&input);
    }

    /// `validate_tag` and `validate_digest` on their own (the retag prompt, `--tag`,
    /// `--digest`).
    #[test]
    fn tags_and_digests(input in mixed(&["1.0.3", "v1.2-rc.3", "_x", "latest", DIGEST, "sha512:00"], REFERENCE_TOKENS)) {
        match reference::validate_tag(&input) {
            Ok(()) => prop_assert!(tag_ok(&input), "{input:?}"),
            Err(e) => {
                prop_assert!(!tag_ok(&input), "{input:?}");
                assert_message(&e.to_string(), "tag");
            }
        }
        match reference::validate_digest(&input) {
            Ok(()) => {
                let (alg, hex) = input.split_once(':').unwrap();
                prop_assert!(!alg.is_empty() && hex.len() >= 32, "{input:?}");
            }
            Err(e) => assert_message(&e.to_string(), "digest"),
        }
    }

    /// `digest_of_image_id`, as a pod's status reports the resolved image.
    #[test]
    fn image_ids(input in mixed(&["docker-pullable://reg.io/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "sha256:abc", "reg.io/web@sha256:"], REFERENCE_TOKENS)) {
        if let Some(d) = reference::digest_of_image_id(&input) {
            prop_assert!(d.starts_with("sha256:") && d.len() > 7 && input.ends_with(d));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pull-secret keys against hosts (`registry_key_matches*`, `same_host`)
// ---------------------------------------------------------------------------------------------

const KEYS: &[&str] = &[
    "myacr.azurecr.io",
    "https://myacr.azurecr.io",
    "https://myacr.azurecr.io/v2/",
    "http://MyACR.azurecr.io/team/",
    "*.azurecr.io",
    "*.*.io",
    "my?cr.azurecr.io",
    "127.0.0.1:5000",
    "[::1]:5000",
    "https://index.docker.io/v1/",
    "docker.io",
    "registry-1.docker.io",
    "reg.io/team",
    "  reg.io  ",
    "https:/broken",
    "ftp://x/y://z",
];

const KEY_TOKENS: &[&str] = &[
    "*",
    "?",
    "**",
    ".",
    ":",
    "/",
    "://",
    "https://",
    "http://",
    "[",
    "]",
    "v1",
    "v2",
    "5000",
    "azurecr.io",
    "docker.io",
    "a",
    "A",
    "-",
];

const HOSTS: &[&str] = &[
    "myacr.azurecr.io",
    "MyAcr.azurecr.io",
    "127.0.0.1:5000",
    "[::1]:5000",
    "docker.io",
    "registry-1.docker.io",
    "localhost",
];

proptest! {
    #![proptest_config(budget(1))]

    /// `registry_key_matches`, `registry_key_matches_reference`, `same_host`,
    /// `normalise_host`: the node's matching of pull-secret keys (outside input: whatever a
    /// secret holds).
    #[test]
    fn key_matching(key in mixed(KEYS, KEY_TOKENS),
                    host in prop_oneof![mixed(HOSTS, KEY_TOKENS), "[a-z*?]{0,60}(\\.[a-z]{1,10}){0,3}"],
                    image in mixed(REFERENCES, REFERENCE_TOKENS)) {
        let m = reference::registry_key_matches(&key, &host);
        let _ = reference::same_host(&key, &host);
        let _ = reference::normalise_host(&host);
        if let Ok(r) = Reference::parse(&image) {
            let with_path = reference::registry_key_matches_reference(&key, &r);
            // A key that applies to the image's repository applies to its host.
            if with_path {
                prop_assert!(reference::registry_key_matches(&key, r.registry()), "{key:?} {r}");
            }
            // The image's own host, as a key, applies to it.
            prop_assert!(reference::registry_key_matches(r.registry(), r.registry()), "{r}");
            let key = format!("https://{}/", r.registry());
            prop_assert!(reference::registry_key_matches_reference(&key, &r), "{key:?} {r}");
        }
        // Scheme and case do not matter.
        if !key.contains("://") && !key.trim().is_empty() && key.trim() == key {
            prop_assert_eq!(reference::registry_key_matches(&format!("https://{key}"), &host), m);
        }
    }

    /// Globs with many `*` against long host components (the shape that hung the diagnosis).
    #[test]
    fn glob_keys(stars in prop::collection::vec(prop_oneof![Just("*"), Just("a"), Just("?"), Just("b")], 0..40),
                 component in "[ab]{0,120}") {
        let key = format!("{}.io", stars.concat());
        let _ = reference::registry_key_matches(&key, &format!("{component}.io"));
        let _ = reference::registry_key_matches(&format!("{component}.io"), &key);
    }
}

// ---------------------------------------------------------------------------------------------
// WWW-Authenticate challenges and Link headers
// ---------------------------------------------------------------------------------------------

const CHALLENGES: &[&str] = &[
    r#"Bearer realm="https://r.azurecr.io/oauth2/token",service="r.azurecr.io",scope="repository:web:pull""#,
    r#"  bearer   Realm = "https://a/token" ,  service=a.io , scope="repository:x:pull,push registry:catalog:*", Basic realm="Registry \"R\"""#,
    "Bearer realm=https://auth.example/token,service=reg",
    "Negotiate, Basic realm=x",
    "Custom abc123==",
    r#"Basic realm="Registry Realm""#,
    r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull",error="insufficient_scope""#,
    r#"Bearer realm="unterminated"#,
    "",
];

const CHALLENGE_TOKENS: &[&str] = &[
    "Bearer", "Basic", "realm", "service", "scope", "=", "\"", "\\\"", ",", ", ", " ", "\t",
    "https://", "/", ":", "==", "error", "token68", "\\",
];

const LINKS: &[&str] = &[
    r#"</v2/_catalog?last=x&n=100>; rel="next""#,
    r#"<https://r/a?p=1>; rel="prev", <https://r/a?p=3>;rel=next"#,
    r#"</a>; title="x, <y>"; rel="prev next""#,
    r#"</a>; rel="prev""#,
    r#"</v2/web/tags/list?n=50&last=1.0.9>; rel="next"; type="application/json""#,
    "<>; rel=next",
    "",
];

const LINK_TOKENS: &[&str] = &[
    "<", ">", ";", ",", "rel", "=", "\"", "next", "prev", " ", "/", "?", "&", "title", "NEXT",
];

const NODE_WORDS: &[&str] = &[
    "Failed to pull image \"r.io/aks/web:1\": [rpc error: code = Unknown desc = failed to pull and unpack image \"r.io/aks/web:1\": failed to resolve reference \"r.io/aks/web:1\": failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized, rpc error: code = Unknown desc = failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized]",
    "Failed to pull image \"x\": rpc error: code = Unknown desc = failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://r.io/oauth2/token?scope=a:b&service=r.io: 403 Forbidden",
    "Failed to pull image \"x\": rpc error: code = NotFound desc = x: not found",
    "Failed to pull image \"x\": pulling from host r failed with status code [manifests 1]: 403 Forbidden",
    "",
];

const NODE_WORD_TOKENS: &[&str] = &[
    "Failed to pull image \"",
    "\": ",
    "[",
    "]",
    ", ",
    "rpc error: ",
    " desc = ",
    "failed to fetch oauth token",
    "failed to fetch anonymous token",
    "unexpected status: ",
    "unexpected status from ",
    " request to ",
    ": ",
    "401",
    "403 Forbidden",
    "failed with status code [manifests ",
    "]: ",
    ": not found",
    "dial tcp",
    "\"",
    "é",
    "",
];

proptest! {
    #![proptest_config(budget(1))]

    /// kubelet's pull failure messages: never a panic; every attempt keeps its text.
    #[test]
    fn node_words(message in mixed(NODE_WORDS, NODE_WORD_TOKENS)) {
        if let Some(p) = berth::diagnose::node_words::parse(&message) {
            prop_assert!(!p.attempts.is_empty(), "{message:?}");
            prop_assert!(message.contains(&p.image));
            let _ = (p.refusal_status(), p.with_credentials().count());
        } else {
            prop_assert!(!message.starts_with("Failed to pull image \"") || !message.contains("\": "));
        }
    }
}

proptest! {
    #![proptest_config(budget(1))]

    /// `parse_challenges` and the `Challenge` accessors.
    #[test]
    fn www_authenticate(header in mixed(CHALLENGES, CHALLENGE_TOKENS)) {
        for c in berth::registry::challenge::parse_challenges(&header) {
            prop_assert!(!c.scheme.is_empty(), "{header:?}: {c:?}");
            prop_assert_eq!(c.scheme.to_ascii_lowercase(), c.scheme.clone());
            for (name, _) in &c.params {
                prop_assert_eq!(name.to_ascii_lowercase(), name.clone());
            }
            let _ = (c.realm(), c.service(), c.scopes(), c.is_bearer(), c.is_basic());
        }
        // The rotation's own minimal parser (cluster::acr_source).
        let (scheme, params) = berth::cluster::acr_source::parse_challenge(&header);
        prop_assert_eq!(scheme.to_ascii_lowercase(), scheme);
        for (name, _) in params {
            prop_assert_eq!(name.to_ascii_lowercase(), name);
        }
    }

    /// `next_link`: the target is a piece of the header, and a plain `<t>; rel="next"` gives t.
    #[test]
    fn link_headers(header in mixed(LINKS, LINK_TOKENS), target in "[a-z/?&=_.0-9]{1,40}") {
        if let Some(t) = berth::registry::challenge::next_link(&header) {
            prop_assert!(!t.is_empty() && header.contains(t.as_str()), "{header:?} → {t:?}");
        }
        let plain = format!("<{target}>; rel=\"next\"");
        prop_assert_eq!(berth::registry::challenge::next_link(&plain), Some(target.clone()));
        // Appended after anything without quotes (a quote is open until the next one, across
        // links), a next link is found.
        if !header.contains('"') {
            let after = format!("{header}, {plain}");
            prop_assert!(berth::registry::challenge::next_link(&after).is_some(), "{after:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// docker config.json (berth's own credentials) and credential helpers
// ---------------------------------------------------------------------------------------------

const PASSWORD: &str = "hunter2-pa55";
/// base64 of `user:hunter2-pa55`.
const AUTH: &str = "dXNlcjpodW50ZXIyLXBhNTU=";

const DOCKER_CONFIGS: &[&str] = &[
    r#"{"auths":{"myacr.azurecr.io":{"auth":"dXNlcjpodW50ZXIyLXBhNTU="}}}"#,
    r#"{"auths":{"https://index.docker.io/v1/":{"username":"user","password":"hunter2-pa55"}},"credsStore":"desktop"}"#,
    r#"{"auths":{"reg.io":{"identitytoken":"hunter2-pa55"}},"credHelpers":{"*.azurecr.io":"acr-env","reg.io":"pass"}}"#,
    r#"{"auths":{"reg.io":{"auth":"%%%"},"other.io":{"auth":"bm9jb2xvbg=="}}}"#,
    r#"{"auths":{"127.0.0.1:5000":{"auth":" dXNlcjpodW50ZXIyLXBhNTU= ","email":"a@b"}}}"#,
    r#"{}"#,
    r#"{"auths":null}"#,
];

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "null",
    "true",
    "0",
    "-1",
    "1e999",
    "18446744073709551615",
    "\"auths\"",
    "\"auth\"",
    "\"username\"",
    "\"password\"",
    "\"identitytoken\"",
    "\\u0000",
    "\\ud800",
    "\\",
    AUTH,
    PASSWORD,
];

proptest! {
    #![proptest_config(budget(2))]

    /// `registry::credential::DockerConfig::parse`, `helper_for`, `inline_credential`, and a
    /// credential helper's answer (`read_helper_answer`).
    #[test]
    fn docker_config_json(text in mixed(DOCKER_CONFIGS, JSON_TOKENS), host in mixed(HOSTS, KEY_TOKENS)) {
        use berth::registry::credential::{DockerConfig, read_helper_answer};
        let path = Path::new("/fuzz/config.json");
        match DockerConfig::parse(&text, path) {
            Ok(c) => {
                let _ = c.helper_for(&host);
                let keys: Vec<String> = c.auths.keys().cloned().collect();
                for h in keys.iter().map(String::as_str).chain([host.as_str()]) {
                    match c.inline_credential(h, path) {
                        Ok(Some(cred)) => check_credential_hidden(&cred),
                        Ok(None) => {}
                        Err(e) => {
                            let msg = e.to_string();
                            assert_message(&msg, "/fuzz/config.json");
                            let msg = without_keys(msg, &json_keys(text.as_bytes()));
                            assert_no_secret(&msg, &[PASSWORD, AUTH]);
                        }
                    }
                }
            }
            Err(e) => assert_message(&e.to_string(), "/fuzz/config.json"),
        }
        match read_helper_answer(text.as_bytes()) {
            Ok(c) => check_credential_hidden(&c),
            Err(m) => assert_message(&m, "JSON"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pull secrets: .dockerconfigjson / .dockercfg, and the diagnosis's evaluation of them
// ---------------------------------------------------------------------------------------------

const PULL_SECRETS: &[&str] = &[
    r#"{"auths":{"myacr.azurecr.io":{"username":"user","password":"hunter2-pa55","auth":"dXNlcjpodW50ZXIyLXBhNTU="}}}"#,
    r#"{"auths":{"https://myacr.azurecr.io/v2/":{"auth":"dXNlcjpodW50ZXIyLXBhNTU="}}}"#,
    r#"{"auths":{"reg.io":{"auth":"dXNlcjpodW50ZXIyLXBhNTU"}}}"#,
    r#"{"auths":{"reg.io":{"email":"a@b"},"other.io":{"username":"u","password":"hunter2-pa55"}}}"#,
    r#"{"myacr.azurecr.io":{"auth":"dXNlcjpodW50ZXIyLXBhNTU=","email":"a@b"}}"#,
    r#"{"auths":{"*.azurecr.io":{"username":"00000000-0000-0000-0000-000000000000","password":"hunter2-pa55"}},"HttpHeaders":{"X":"y"}}"#,
    r#"{"auths":{"reg.io":"dXNlcjpodW50ZXIyLXBhNTU="}}"#,
    r#"{"auths":{"reg.io":{"auth":"%%%"}}}"#,
    r#"{"auths":[]}"#,
    r#"null"#,
    r#"[]"#,
];

const SECRET_LABEL: &str = "shop/fuzz-pull";

/// Every object key in the document (registry keys may be named in a message; the fuzzer
/// also puts secrets into keys).
fn json_keys(bytes: &[u8]) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    out.push(k.clone());
                    walk(v, out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&String::from_utf8_lossy(bytes)) {
        walk(&v, &mut out);
    }
    out
}

fn check_pull_secret_error(e: &berth::cluster::pull_secret::PullSecretError, input: &[u8]) {
    let mut msg = e.to_string();
    assert_message(&msg, SECRET_LABEL);
    msg = without_keys(msg, &json_keys(input));
    assert_no_secret(&msg, &[PASSWORD, AUTH, AUTH.trim_end_matches('=')]);
}

/// The message with the registry keys it may name taken out (quoted, or bare when long enough
/// not to hide anything else).
fn without_keys(mut msg: String, keys: &[String]) -> String {
    for key in keys {
        msg = msg.replace(&format!("{key:?}"), "<key>");
        if key.len() >= 6 {
            msg = msg.replace(key.as_str(), "<key>");
        }
    }
    msg
}

fn entries_of(
    c: &berth::cluster::pull_secret::DockerConfig,
) -> Vec<berth::diagnose::secrets::DockerEntry> {
    c.auths
        .iter()
        .map(|(key, a)| berth::diagnose::secrets::DockerEntry {
            key: key.clone(),
            username: Some(a.username.clone()).filter(|u| !u.is_empty()),
            password: Some(a.password.clone()).filter(|p| !p.is_empty()),
        })
        .collect()
}

proptest! {
    #![proptest_config(budget(2))]

    /// `cluster::pull_secret::DockerConfig::{parse_dockerconfigjson, parse_dockercfg,
    /// from_secret, credentials_for}`, `normalize_registry_host`, and the diagnosis's
    /// `secrets::evaluate` over what they read.
    #[test]
    fn pull_secrets(bytes in mixed_bytes(PULL_SECRETS, JSON_TOKENS),
                    type_ in prop_oneof![Just("kubernetes.io/dockerconfigjson".to_owned()), Just("kubernetes.io/dockercfg".to_owned()), Just("Opaque".to_owned()), "\\PC{0,20}"],
                    image in mixed(REFERENCES, REFERENCE_TOKENS),
                    host in mixed(HOSTS, KEY_TOKENS)) {
        use berth::cluster::pull_secret::{DockerConfig, normalize_registry_host};
        use berth::diagnose::secrets::{SecretInput, evaluate};
        use k8s_openapi::ByteString;
        use k8s_openapi::api::core::v1::Secret as KubeSecret;

        let mut read = Vec::new();
        for parsed in [
            DockerConfig::parse_dockerconfigjson(&bytes, SECRET_LABEL),
            DockerConfig::parse_dockercfg(&bytes, SECRET_LABEL),
        ] {
            match parsed {
                Ok(c) => read.push(c),
                Err(e) => check_pull_secret_error(&e, &bytes),
            }
        }
        let secret = KubeSecret {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                namespace: Some("shop".into()),
                name: Some("fuzz-pull".into()),
                ..Default::default()
            },
            type_: Some(type_.clone()),
            data: Some(
                [".dockerconfigjson", ".dockercfg"]
                    .map(|k| (k.to_owned(), ByteString(bytes.clone())))
                    .into(),
            ),
            ..Default::default()
        };
        match DockerConfig::from_secret(&secret) {
            Ok(c) => read.push(c),
            Err(e) => check_pull_secret_error(&e, &bytes),
        }
        let _ = normalize_registry_host(&host);
        let image = Reference::parse(&image).unwrap_or_else(|_| Reference::parse("myacr.azurecr.io/web:1").unwrap());
        for c in &read {
            let shown = format!("{c:?}");
            let visible: Vec<&str> = c.auths.iter().flat_map(|(k, a)| [k.as_str(), a.username.as_str(), a.email.as_deref().unwrap_or("")]).collect();
            for a in c.auths.values() {
                assert_hidden(&shown, a.password.expose(), &visible);
            }
            let _ = c.credentials_for(&host);
            let _ = c.credentials_for(image.registry());
            let entries = entries_of(c);
            let n = entries.len();
            let names = vec!["a".to_owned(), "b".to_owned()];
            let e = evaluate(&names, &["b".to_owned(), "c".to_owned()], |name| match name {
                "a" | "b" => SecretInput::Entries(entries.clone()),
                _ => SecretInput::Missing,
            }, &image);
            prop_assert_eq!(e.secrets.len(), 3);
            // Credentials come only from the pod's secrets, one per matching entry at most.
            prop_assert!(e.credentials.len() <= 2 * n, "{} credentials from {n} entries", e.credentials.len());
        }
    }

    /// What berth writes (`to_dockerconfigjson`, as kubectl writes it) reads back the same.
    #[test]
    fn pull_secret_round_trip(auths in prop::collection::btree_map(
            prop_oneof![mixed(KEYS, KEY_TOKENS), "\\PC{1,30}"],
            ("[^:\\p{C}]{1,20}", "\\PC{1,30}", proptest::option::of("\\PC{1,20}")),
            0..5)) {
        use berth::cluster::pull_secret::{DockerConfig, RegistryAuth};
        use berth::secret::Secret;
        let mut c = DockerConfig::default();
        for (k, (u, p, email)) in auths {
            c.auths.insert(k, RegistryAuth { username: u, password: Secret::new(p), email });
        }
        let json = c.to_dockerconfigjson();
        let back = DockerConfig::parse_dockerconfigjson(json.expose().as_bytes(), SECRET_LABEL)
            .unwrap_or_else(|e| panic!("berth's own secret does not read back: {e}"));
        let want: Vec<_> = c.auths.iter().map(|(k, a)| (k.clone(), a.username.clone(), a.password.expose().to_owned(), a.email.clone().filter(|e| !e.is_empty()))).collect();
        let got: Vec<_> = back.auths.iter().map(|(k, a)| (k.clone(), a.username.clone(), a.password.expose().to_owned(), a.email.clone())).collect();
        prop_assert_eq!(got, want);
    }

    /// `secrets::jwt_expiry`: passwords that are (or look like) JWTs.
    #[test]
    fn jwt_passwords(header in "[A-Za-z0-9_-]{0,20}",
                     claims in prop_oneof![
                         any::<i64>().prop_map(|e| format!("{{\"exp\":{e}}}")),
                         Just("{\"exp\":1e999}".to_owned()),
                         Just("{\"exp\":18446744073709551615}".to_owned()),
                         mixed(&["{\"exp\":1700000000}", "{}", "[]"], JSON_TOKENS),
                     ],
                     sep in prop_oneof![Just("."), Just(".."), Just("")],
                     raw in mixed(&["a.b.c", "eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAwMDB9.sig"], &[".", "=", "-", "_", "+", "/"])) {
        use base64::Engine as _;
        use berth::secret::Secret;
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&claims);
        for p in [format!("{header}.{b}{sep}sig"), raw] {
            let _ = berth::diagnose::secrets::jwt_expiry(&Secret::new(p));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// config.toml (and the key names in it)
// ---------------------------------------------------------------------------------------------

const CONFIGS: &[&str] = &[
    include_str!("../config.example.toml"),
    "",
    "[general]\nread_only = true\naudit_log = \"/tmp/a.jsonl\"\n",
    "[cluster]\nnamespaces = [\"shop\", \"Shop\"]\ncontext = \"aks\"\n",
    "[[registry]]\nname = \"p\"\nhost = \"myacr.azurecr.io\"\ncredential = { type = \"basic\", username = \"u\", password_env = \"P\" }\n",
    "[[registry]]\nname = \"x\"\nhost = \"https://a.io\"\n",
    "[keys.global]\nquit = [\"q\", \"ctrl-q\"]\n[keys.pods]\ndiagnose = \"D\"\nrestart = []\n[keys.nope]\nx = \"f25\"\n",
];

const TOML_TOKENS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\"",
    "'",
    "'''",
    "\"\"\"",
    "\n",
    "#",
    ".",
    ",",
    "{",
    "}",
    "true",
    "1979-05-27T07:32:00Z",
    "0x1",
    "inf",
    "nan",
    "1e400",
    "registry",
    "keys",
    "general",
    "cluster",
    "name",
    "host",
    "credential",
    "type",
    "ctrl-",
    "alt-",
    "f1",
    "\\u0000",
    "\\",
];

proptest! {
    #![proptest_config(budget(4))]

    /// `Config::parse` (TOML, then validation of namespaces and `[[registry]]` entries), and the
    /// key names of `[keys.*]` through `Keymap::with_overrides` / `Key::parse`.
    #[test]
    fn config_toml(text in mixed(CONFIGS, TOML_TOKENS)) {
        use berth::app::keymap::{Key, Keymap};
        match berth::config::Config::parse(&text, Path::new("/fuzz/config.toml")) {
            Ok(c) => {
                let (_keymap, warnings) = Keymap::with_overrides(&c.keys);
                for w in warnings {
                    prop_assert!(!w.trim().is_empty());
                }
                for r in &c.registries {
                    prop_assert!(r.validate().is_ok());
                    let _ = r.kind();
                }
            }
            Err(e) => assert_message(&e.to_string(), "/fuzz/config.toml"),
        }
        for word in text.split(['"', '\n', '[', ']', ',']).take(64) {
            if let Err(m) = Key::parse(word) {
                prop_assert!(!m.is_empty());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Registry answers: error bodies, token answers, listings, manifests, Retry-After
// ---------------------------------------------------------------------------------------------

const ERROR_BODIES: &[&str] = &[
    r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest tagged by \"1.1.2\" is not found","detail":{"Tag":"1.1.2"}}]}"#,
    r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#,
    r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Name":"web","Action":"pull"}]}]}"#,
    r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"},{"code":"TOOMANYREQUESTS"}]}"#,
    r#"{"error":"invalid_client","error_description":"bad secret"}"#,
    "<html>\n <body>502 Bad Gateway</body></html>",
    "",
];

const TOKEN_ANSWERS: &[&str] = &[
    r#"{"token":"abc","expires_in":300,"issued_at":"2024-01-01T00:00:00Z"}"#,
    r#"{"access_token":"eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAwMDB9.sig"}"#,
    r#"{"access_token":"","token":"x","expires_in":18446744073709551615}"#,
    r#"{"refresh_token":"eyJhbGciOiJub25lIn0.eyJleHAiOjkyMjMzNzIwMzY4NTQ3NzU4MDd9.sig"}"#,
    r#"{"token":null}"#,
];

const LISTINGS: &[&str] = &[
    r#"{"repositories":["web","team/api","a/b/c"]}"#,
    r#"{"name":"web","tags":["1.0.0","1.0.1","latest"]}"#,
    r#"{"registry":"myacr.azurecr.io","imageName":"web","tags":[{"name":"1.0.0","digest":"sha256:aa","createdTime":"2024-01-02T03:04:05.1234567Z","lastUpdateTime":"2024-01-02T03:04:05Z","signed":false,"changeableAttributes":{"deleteEnabled":true}}]}"#,
    r#"{"tags":[{"name":"x","createdTime":"not a time"},{"name":"y","createdTime":"+999999-01-01T00:00:00Z"}]}"#,
    r#"{"repositories":null,"tags":null}"#,
];

const MANIFESTS: &[&str] = &[
    r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:aa","size":10},"layers":[{"mediaType":"x","digest":"sha256:bb","size":100},{"mediaType":"y","digest":"sha256:cc","size":18446744073709551615,"urls":["https://foreign"]}]}"#,
    r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:11","size":300,"platform":{"os":"linux","architecture":"amd64"}},{"digest":"sha256:22","size":300,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},{"digest":"sha256:33","platform":{"os":"unknown","architecture":"unknown"}}]}"#,
    r#"{"schemaVersion":1,"name":"web","tag":"1","fsLayers":[]}"#,
    r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","config":{"digest":"sha256:aa"},"manifests":[]}"#,
    r#"{"created":"2024-01-02T03:04:05.123Z","architecture":"amd64","os":"linux"}"#,
];

const RETRY_AFTERS: &[&str] = &[
    "3",
    " 0 ",
    "120",
    "18446744073709551615",
    "99999999999999999999",
    "-1",
    "Sun, 06 Nov 1994 08:49:37 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "soon",
    "",
];

const CONTENT_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8",
    "application/json",
    "",
];

proptest! {
    #![proptest_config(budget(2))]

    /// `parse_api_errors`, `describe_body`, `excerpt`, `token_error_detail`, and
    /// `client::status_error` (status, error codes and `Retry-After` → `RegistryError`).
    #[test]
    fn registry_error_answers(body in mixed_bytes(ERROR_BODIES, JSON_TOKENS),
                              status in prop_oneof![Just(401u16), Just(403), Just(404), Just(429), Just(500), Just(502), 100u16..1000],
                              retry in mixed(RETRY_AFTERS, &["0", "9", " ", ",", "GMT"])) {
        use berth::registry::client::{status_error, token_error_detail};
        use berth::registry::error::{describe_body, excerpt, parse_api_errors};
        use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

        let _ = parse_api_errors(&body);
        let shown = excerpt(&body);
        prop_assert!(shown.chars().count() <= 201, "{} chars", shown.chars().count());
        prop_assert!(!shown.contains('\n'));
        let _ = describe_body(&body);
        let _ = token_error_detail(&body);
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&retry) {
            headers.insert(RETRY_AFTER, v);
        }
        let status = reqwest::StatusCode::from_u16(status).unwrap();
        let e = status_error("fuzzreg", "web:1", status, &headers, &body);
        let msg = e.to_string();
        assert_message(&msg, "fuzzreg");
        assert_message(&msg, "web:1");
        prop_assert!(!e.kind().is_empty());
    }

    /// `read_token_answer`, `read_exchange_answer` and `refresh_at` (the lifetime a token
    /// endpoint or a JWT claims).
    #[test]
    fn token_answers(body in mixed_bytes(TOKEN_ANSWERS, JSON_TOKENS), exp in any::<i64>(), expires_in in any::<u64>()) {
        use base64::Engine as _;
        use berth::registry::client::{read_exchange_answer, read_token_answer, refresh_at};
        let jwt = format!(
            "{{\"token\":\"h.{}.s\"}}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{{\"exp\":{exp}}}"))
        );
        let plain = format!("{{\"token\":\"t\",\"expires_in\":{expires_in}}}");
        for b in [body.as_slice(), jwt.as_bytes(), plain.as_bytes()] {
            for answer in [read_token_answer(b), read_exchange_answer(b)] {
                match answer {
                    Ok((token, lifetime)) => {
                        prop_assert!(!token.is_empty());
                        let _ = refresh_at(lifetime);
                    }
                    Err(m) => assert_message(&m, "answer"),
                }
            }
        }
    }

    /// Listing pages (`Catalog`, `TagList`, `AcrTags` through `client::decode_json`, then
    /// their rows) and the tags' nearness (`diagnose::tags::closest`, `version_cmp`).
    #[test]
    fn listings(body in mixed_bytes(LISTINGS, JSON_TOKENS), wanted in mixed(&["1.0.30", "v2.1", "latest", "2.1.O"], &[".", "0", "9", "v", "-"])) {
        use berth::diagnose::facts::TagFacts;
        use berth::registry::client::decode_json;
        use berth::registry::list::{AcrTags, Catalog, TagList};
        let mut names = Vec::new();
        match decode_json::<Catalog>("fuzzreg", "the repository catalog", &body) {
            Ok(c) => names.extend(c.rows().into_iter().map(|r| (r.name, None))),
            Err(e) => assert_message(&e.to_string(), "fuzzreg"),
        }
        if let Ok(t) = decode_json::<TagList>("fuzzreg", "tags of web", &body) {
            names.extend(t.rows("web").into_iter().map(|r| (r.name, r.created)));
        }
        if let Ok(t) = decode_json::<AcrTags>("fuzzreg", "tags of web", &body) {
            names.extend(t.rows("web").into_iter().map(|r| (r.name, r.created.or(r.updated))));
        }
        let tags: Vec<TagFacts> = names.into_iter().map(|(name, created)| TagFacts { name, created }).collect();
        let got = berth::diagnose::tags::closest(&wanted, &tags, 5);
        prop_assert!(got.len() <= 5.min(tags.len()));
        for t in tags.iter().take(8) {
            for u in tags.iter().take(8) {
                let (a, b) = (berth::diagnose::tags::version_cmp(&t.name, &u.name), berth::diagnose::tags::version_cmp(&u.name, &t.name));
                prop_assert_eq!(a, b.reverse(), "{:?} {:?}", t.name, u.name);
            }
        }
    }

    /// `Manifest::parse` (with and without a manifest `Content-Type`) and `config_created`.
    #[test]
    fn manifests(body in mixed_bytes(MANIFESTS, JSON_TOKENS), ct in mixed(CONTENT_TYPES, &[";", " ", "+json"])) {
        use berth::registry::manifest::{Manifest, config_created, sha256_digest};
        for content_type in [None, Some(ct.as_str())] {
            match Manifest::parse(body.clone(), content_type) {
                Ok(m) => {
                    prop_assert_eq!(&m.digest, &sha256_digest(&body));
                    let _ = (m.blobs(), m.children(), m.platforms(), m.is_index());
                    let _ = m.size();
                }
                Err(e) => prop_assert!(!e.trim().is_empty()),
            }
        }
        let _ = config_created(&body);
    }

    /// `Retry-After` (`parse_retry_after`), and what the ARM poller makes of it
    /// (`PollPolicy::next_wait`).
    #[test]
    fn retry_after(v in prop_oneof![
                       3 => mixed(RETRY_AFTERS, &["0", "9", " ", ",", "GMT", "Mon", "Jan"]),
                       1 => any::<u64>().prop_map(|n| n.to_string()),
                   ],
                   elapsed in any::<u64>()) {
        let policy = berth::azure::arm::PollPolicy::default();
        if let Some(d) = berth::registry::client::parse_retry_after(&v) {
            for e in [Duration::ZERO, Duration::from_millis(elapsed % 3_600_000), Duration::from_secs(elapsed)] {
                if let Some(w) = policy.next_wait(e, d) {
                    prop_assert!(w <= policy.max_interval);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ARM and Entra answers
// ---------------------------------------------------------------------------------------------

const ARM_ANSWERS: &[&str] = &[
    r#"{"username":"berthacr","passwords":[{"name":"password","value":"hunter2-pa55"},{"name":"password2","value":"p2","expiry":"2030-01-01T00:00:00Z"}]}"#,
    r#"{"status":"Succeeded"}"#,
    r#"{"status":"InProgress","startTime":"2024-01-01T00:00:00Z"}"#,
    r#"{"status":"Failed","error":{"code":"ImportImageFailed","message":"the source image was not found"}}"#,
    r#"{"error":{"code":"AuthorizationFailed","message":"The client does not have authorization","details":[]}}"#,
    r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAi"}"#,
    r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#,
    "",
];

proptest! {
    #![proptest_config(budget(2))]

    /// `azure::arm::{error_detail, read_body, read_operation_status, parse_credentials}`, and the
    /// rotation's own ARM/Entra reading (`cluster::acr_source::{read_json_answer,
    /// read_entra_token}`).
    #[test]
    fn arm_answers(body in mixed_bytes(ARM_ANSWERS, JSON_TOKENS), status in 100u16..600, expires_in in any::<u64>()) {
        use berth::azure::arm::{error_detail, parse_credentials, read_body, read_operation_status};
        use berth::cluster::acr_source::{read_entra_token, read_json_answer};

        let (code, message) = error_detail(status, &body);
        let _ = (code, message);
        match read_body("listCredentials", &body) {
            Ok(v) => match parse_credentials("listCredentials", v.clone()) {
                Ok(c) => {
                    let shown = format!("{c:?}");
                    let mut visible = vec![c.username.as_str()];
                    visible.extend(c.passwords.iter().flat_map(|p| [p.name.as_str(), p.expiry.as_deref().unwrap_or("")]));
                    for p in &c.passwords {
                        assert_hidden(&shown, p.value.expose(), &visible);
                    }
                }
                Err(e) => assert_message(&e.to_string(), "listCredentials"),
            },
            Err(e) => assert_message(&e.to_string(), "listCredentials"),
        }
        match read_operation_status("importImage", &body) {
            Ok(_) => {}
            Err(e) => assert_message(&e.to_string(), "importImage"),
        }
        let status = reqwest::StatusCode::from_u16(status).unwrap();
        let entra = format!("{{\"access_token\":\"t\",\"expires_in\":{expires_in}}}");
        for text in [String::from_utf8_lossy(&body).into_owned(), entra] {
        match read_json_answer(status, &text, "Entra token request") {
            Ok(v) => match read_entra_token(&v) {
                Ok((token, keep)) => {
                    let _ = std::time::Instant::now() + keep;
                    assert_hidden(&format!("{token:?}"), token.expose(), &[]);
                }
                Err(e) => assert_message(&e.0, "access_token"),
            },
            Err(e) => assert_message(&e.0, "Entra token request"),
        }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The diagnosis over what the node and the registry said
// ---------------------------------------------------------------------------------------------

mod diagnosis {
    use super::*;
    use berth::cluster::model::{ContainerRow, ContainerState, EventRow, PodRow};
    use berth::diagnose::facts::*;
    use berth::registry::error::ApiError;
    use berth::registry::probe::{AuthStage, ProbeOutcome};
    use berth::registry::types::Platform;
    use jiff::Timestamp;

    /// kubelet's and containerd's words, real and mangled.
    const NODE_MESSAGES: &[&str] = &[
        "Back-off pulling image \"myacr.azurecr.io/web:1.0.30\"",
        "Failed to pull image \"myacr.azurecr.io/web:1.0.30\": rpc error: code = NotFound desc = failed to pull and unpack image \"myacr.azurecr.io/web:1.0.30\": failed to resolve reference \"myacr.azurecr.io/web:1.0.30\": myacr.azurecr.io/web:1.0.30: not found",
        "Failed to pull image \"myacr.azurecr.io/web:1\": failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized",
        "Error: ErrImagePull",
        "Error: ImagePullBackOff",
        "Container image \"web:1\" is not present with pull policy of Never",
        "Pulling image \"myacr.azurecr.io/web:1.0.30\"",
        "Successfully pulled image \"myacr.azurecr.io/web:1.0.30\" in 1.2s (1.2s including waiting)",
        "Failed to inspect image \"\": rpc error: code = Unknown desc = Error response from daemon: manifest unknown",
        "no matching manifest for linux/arm64/v8 in the manifest list entries",
        "dial tcp: lookup myacr.azurecr.io on 10.0.0.10:53: no such host",
        "tls: failed to verify certificate: x509: certificate signed by unknown authority",
    ];

    const NODE_TOKENS: &[&str] = &[
        "\"",
        ":",
        " ",
        "Error: ",
        "image ",
        "rpc error",
        "code = ",
        "desc = ",
        "401",
        "403",
        "404",
        "429",
        "not found",
        "expired",
        "disabled",
        "\n",
    ];

    const REASONS: &[&str] = &[
        "ErrImagePull",
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "InvalidImageName",
        "SlowPull",
        "Pulling",
        "Pulled",
        "Failed",
        "InspectFailed",
        "BackOff",
        "CrashLoopBackOff",
        "",
    ];

    fn text() -> BoxedStrategy<String> {
        prop_oneof![
            3 => "\\PC{0,12}",
            2 => prop::sample::select(AWKWARD).prop_map(str::to_owned),
            2 => prop::sample::select(REASONS).prop_map(str::to_owned),
            1 => mixed(NODE_MESSAGES, NODE_TOKENS),
        ]
        .boxed()
    }

    fn time() -> BoxedStrategy<Option<Timestamp>> {
        prop_oneof![
            Just(None),
            Just(Some(Timestamp::MIN)),
            Just(Some(Timestamp::MAX)),
            (-10_000_000_000i64..10_000_000_000).prop_map(|s| Timestamp::from_second(s).ok()),
        ]
        .boxed()
    }

    fn api_errors() -> BoxedStrategy<Vec<ApiError>> {
        prop::collection::vec(
            (text(), text()).prop_map(|(code, message)| ApiError {
                code,
                message,
                detail: None,
            }),
            0..3,
        )
        .boxed()
    }

    fn stage() -> BoxedStrategy<AuthStage> {
        prop_oneof![
            Just(AuthStage::TokenEndpoint),
            Just(AuthStage::Exchange),
            Just(AuthStage::Registry)
        ]
        .boxed()
    }

    fn platform() -> BoxedStrategy<Platform> {
        (text(), text(), proptest::option::of(text()))
            .prop_map(|(os, architecture, variant)| Platform {
                os,
                architecture,
                variant,
            })
            .boxed()
    }

    fn outcome() -> BoxedStrategy<ProbeOutcome> {
        prop_oneof![
            (text(), text(), prop::collection::vec(platform(), 0..3)).prop_map(
                |(media_type, digest, platforms)| ProbeOutcome::Ok {
                    media_type,
                    digest,
                    platforms,
                    children: vec![]
                }
            ),
            text().prop_map(|message| ProbeOutcome::Dns { message }),
            text().prop_map(|message| ProbeOutcome::Connect { message }),
            text().prop_map(|message| ProbeOutcome::Tls { message }),
            text().prop_map(|message| ProbeOutcome::Timeout { message }),
            (stage(), any::<u16>(), api_errors(), text()).prop_map(
                |(stage, status, errors, detail)| ProbeOutcome::Unauthorized {
                    stage,
                    status,
                    errors,
                    detail
                }
            ),
            (stage(), api_errors(), text()).prop_map(|(stage, errors, detail)| {
                ProbeOutcome::Forbidden {
                    stage,
                    errors,
                    detail,
                }
            }),
            (api_errors(), text())
                .prop_map(|(errors, detail)| ProbeOutcome::RepositoryUnknown { errors, detail }),
            (api_errors(), text())
                .prop_map(|(errors, detail)| ProbeOutcome::ManifestUnknown { errors, detail }),
            text().prop_map(|detail| ProbeOutcome::NotFound { detail }),
            (proptest::option::of(any::<u64>()), text()).prop_map(|(retry_after_secs, detail)| {
                ProbeOutcome::RateLimited {
                    retry_after_secs,
                    detail,
                }
            }),
            (any::<u16>(), text())
                .prop_map(|(status, detail)| ProbeOutcome::ServerError { status, detail }),
            text().prop_map(|message| ProbeOutcome::CredentialUnavailable { message }),
            text().prop_map(|message| ProbeOutcome::InvalidResponse { message }),
            (proptest::option::of(any::<u16>()), text())
                .prop_map(|(status, detail)| ProbeOutcome::Unexpected { status, detail }),
        ]
        .boxed()
    }

    fn credential_used() -> BoxedStrategy<CredentialUsed> {
        prop_oneof![
            Just(CredentialUsed::Anonymous),
            (text(), text(), proptest::option::of(text())).prop_map(|(secret, key, username)| {
                CredentialUsed::Secret {
                    secret,
                    key,
                    username,
                }
            }),
        ]
        .boxed()
    }

    fn secret_state() -> BoxedStrategy<SecretState> {
        prop_oneof![
            Just(SecretState::Missing),
            (text(), text()).prop_map(|(type_, detail)| SecretState::WrongType { type_, detail }),
            (text(), text()).prop_map(|(type_, reason)| SecretState::Malformed { type_, reason }),
            text().prop_map(|reason| SecretState::Unreadable { reason }),
            prop::collection::vec(
                (
                    text(),
                    proptest::option::of(text()),
                    any::<bool>(),
                    any::<bool>(),
                    time()
                )
                    .prop_map(
                        |(key, username, has_password, matches_image, expires)| EntryFacts {
                            key,
                            username,
                            has_password,
                            matches_image,
                            expires,
                            ignored: None,
                        }
                    ),
                0..3,
            )
            .prop_map(|entries| SecretState::Usable { entries }),
        ]
        .boxed()
    }

    fn tags() -> BoxedStrategy<Option<TagListing>> {
        prop_oneof![
            Just(None),
            Just(Some(TagListing::RepositoryUnknown)),
            text().prop_map(|reason| Some(TagListing::Failed { reason })),
            // Many tags, some with times and some without (an ACR listing whose times do not
            // all parse): the nearness sort must stay a total order.
            prop::collection::vec(
                (
                    prop_oneof!["[0-9]{1,2}(\\.[0-9]{1,2}){0,2}", text()],
                    time()
                )
                    .prop_map(|(name, created)| TagFacts { name, created }),
                0..120
            )
            .prop_map(|tags| Some(TagListing::Listed { tags })),
        ]
        .boxed()
    }

    fn node_messages() -> impl Strategy<Value = NodeMessages> {
        (
            proptest::option::of(text()),
            proptest::option::of(text()),
            prop::collection::vec(
                (text(), text(), any::<bool>(), any::<i32>(), time()).prop_map(
                    |(reason, message, warning, count, last_seen)| EventFacts {
                        reason,
                        message,
                        warning,
                        count,
                        last_seen,
                    },
                ),
                0..4,
            ),
            time(),
        )
            .prop_map(|(reason, message, events, last_failure)| NodeMessages {
                reason,
                message,
                events,
                last_failure,
            })
    }

    prop_compose! {
        fn facts()((image, names, init) in (mixed(REFERENCES, REFERENCE_TOKENS), (text(), text(), text(), text()), any::<bool>()),
                   (pull_secrets, unattached, probes, tags) in (
                       prop::collection::vec((text(), any::<bool>(), any::<bool>(), secret_state()).prop_map(|(name, on_pod, on_service_account, state)| PullSecretFacts { name, on_pod, on_service_account, state }), 0..4),
                       prop::collection::vec(text(), 0..2),
                       prop::collection::vec((credential_used(), outcome()).prop_map(|(credential, outcome)| ProbeFacts { credential, outcome }), 0..3),
                       tags(),
                   ),
                   (node, node_messages, owner, gaps, observed_at) in (
                       proptest::option::of((text(), text(), text()).prop_map(|(name, os, architecture)| NodeFacts { name, os, architecture, aks: None, aks_node_resource_group: None })),
                       node_messages(),
                       proptest::option::of((prop_oneof![Just("Deployment".to_owned()), text()], text()).prop_map(|(kind, name)| Workload { kind, name })),
                       prop::collection::vec(text(), 0..2),
                       time(),
                   )) -> Facts {
            let reference = Reference::parse(&image).map_err(|e| e.to_string());
            Facts {
                namespace: names.0,
                pod: names.1,
                container: names.2,
                init,
                image,
                reference,
                service_account: names.3,
                pull_secrets,
                unattached_matching_secrets: unattached,
                probes,
                tags,
                node,
                node_pull: node_messages
                    .events
                    .iter()
                    .find_map(|e| berth::diagnose::node_words::parse(&e.message)),
                node_identity: None,
                node_messages,
                owner,
                gaps,
                observed_at: observed_at.unwrap_or(Timestamp::UNIX_EPOCH),
            }
        }
    }

    fn pod_and_events() -> impl Strategy<Value = (PodRow, Vec<EventRow>)> {
        let container = (
            text(),
            any::<bool>(),
            mixed(REFERENCES, REFERENCE_TOKENS),
            prop_oneof![
                (text(), mixed(NODE_MESSAGES, NODE_TOKENS))
                    .prop_map(|(reason, message)| ContainerState::Waiting { reason, message }),
                time().prop_map(|since| ContainerState::Running { since }),
                (text(), any::<i32>()).prop_map(|(reason, exit_code)| ContainerState::Terminated {
                    reason,
                    exit_code
                }),
                Just(ContainerState::Unknown),
            ],
        )
            .prop_map(|(name, init, image, state)| ContainerRow {
                name,
                init,
                image,
                state,
                ..ContainerRow::default()
            });
        let event = (
            prop::sample::select(REASONS),
            mixed(NODE_MESSAGES, NODE_TOKENS),
            any::<bool>(),
            any::<i32>(),
            time(),
            text(),
        )
            .prop_map(
                |(reason, message, warning, count, last_seen, name)| EventRow {
                    reason: reason.to_owned(),
                    message,
                    warning,
                    count,
                    last_seen,
                    order: berth::cluster::convert::event_name_nanos(&name),
                    ..EventRow::default()
                },
            );
        (
            prop::collection::vec(container, 0..4),
            prop::collection::vec(event, 0..12),
        )
            .prop_map(|(containers, events)| {
                (
                    PodRow {
                        containers,
                        ..PodRow::default()
                    },
                    events,
                )
            })
    }

    proptest! {
        #![proptest_config(budget(4))]

        /// `diagnose::diagnose` (classify, headline, evidence, fixes), its text and JSON, over
        /// any node messages, registry words, secret states and tag listings.
        #[test]
        fn diagnoses(f in facts()) {
            let d = berth::diagnose::diagnose(f);
            prop_assert!(!d.headline.trim().is_empty());
            prop_assert!(!d.cause.kind().is_empty());
            let text = berth::diagnose::render::text(&d);
            prop_assert!(text.starts_with(&d.headline));
            serde_json::to_string(&d).expect("a diagnosis serialises");
            for fix in &d.fixes {
                for c in fix.commands() {
                    prop_assert!(!c.trim().is_empty());
                }
            }
        }

        /// `gather::failing_containers`: which containers' pulls fail or crawl, from their
        /// waiting reasons and the pod's events.
        #[test]
        fn failing_containers((pod, events) in pod_and_events(), now in time(), slow in any::<u32>()) {
            let now = now.unwrap_or(Timestamp::UNIX_EPOCH);
            let out = berth::diagnose::gather::failing_containers(&pod, &events, now, Duration::from_secs(u64::from(slow)));
            prop_assert!(out.len() <= pod.containers.len());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The TUI's retag prompt
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(budget(1))]

    /// `app::refcheck::parse_target`: what a user types as a retag target.
    #[test]
    fn retag_targets(input in mixed(&["stable", "web:1.2.0", "team/api", "other.io/web:1", "localhost:5000/x", "reg.io/web@sha256:ab", ""], REFERENCE_TOKENS)) {
        use berth::app::effects::ImageLocation;
        let src = ImageLocation { registry: "myacr.azurecr.io".into(), repository: "web".into(), reference: "1.0".into() };
        match berth::app::refcheck::parse_target(&input, &src) {
            Ok(dst) => {
                prop_assert!(dst != src);
                prop_assert!(Reference::parse(&dst.to_string()).is_ok(), "{dst}");
            }
            Err(m) => prop_assert!(!m.trim().is_empty()),
        }
    }

    /// `cluster::actions::retarget_image` (and its `split_image`): a container's image as the
    /// pod spec has it, pointed at a new tag, digest or reference.
    #[test]
    fn set_image_targets(current in mixed(REFERENCES, REFERENCE_TOKENS),
                         target in mixed(&["1.2.0", DIGEST, "other.io/web:2", "v1/x", " "], REFERENCE_TOKENS)) {
        use berth::cluster::actions::{ImageTarget, retarget_image, split_image};
        let _ = split_image(&current);
        let parsed = Reference::parse(&current);
        for t in [ImageTarget::Tag(target.clone()), ImageTarget::Digest(target.clone()), ImageTarget::Reference(target.clone())] {
            match retarget_image(&current, &t) {
                Ok(image) => {
                    // A valid image pointed at a valid tag or digest stays the same repository.
                    if let (Ok(before), ImageTarget::Tag(_) | ImageTarget::Digest(_)) = (&parsed, &t) {
                        let after = Reference::parse(&image)
                            .unwrap_or_else(|e| panic!("{current:?} with {t:?} gave {image:?}: {e}"));
                        prop_assert_eq!(after.name(), before.name());
                    }
                }
                Err(e) => assert_message(&e.to_string(), "nothing was changed"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pathological sizes: each must return (the test finishing is the assertion)
// ---------------------------------------------------------------------------------------------

/// `unit` repeated to about `bytes`, between `head` and `tail`.
fn long(head: &str, unit: &str, tail: &str, bytes: usize) -> String {
    let n = bytes / unit.len().max(1);
    let mut s = String::with_capacity(head.len() + n * unit.len() + tail.len());
    s.push_str(head);
    for _ in 0..n {
        s.push_str(unit);
    }
    s.push_str(tail);
    s
}

/// Families of `(head, unit, tail)` for one parser.
fn families(shapes: &[(&str, &str, &str)]) -> Vec<String> {
    let n = size();
    shapes.iter().map(|(h, u, t)| long(h, u, t, n)).collect()
}

#[test]
fn long_references() {
    for s in families(&[
        ("", "a", ""),
        ("", "a/", "x"),
        ("", ":", ""),
        ("", "@", ""),
        ("", "a.", "/x"),
        ("", "[", ""),
        ("reg.io/web@sha256:", "a", ""),
        ("reg.io/", "a/", ":t"),
        ("reg.io/", "a-", "a"),
        ("reg.io/", "a__", "a"),
        ("reg.io/web:", "1", ""),
        ("", "A", "/x"),
    ]) {
        check_reference(&s);
        let _ = berth::cluster::actions::split_image(&s);
        let _ = reference::validate_tag(&s);
        let _ = reference::validate_digest(&s);
        let _ = reference::digest_of_image_id(&s);
    }
}

#[test]
fn long_keys() {
    let image = Reference::parse(&format!("{}.io/web", "a".repeat(240))).unwrap();
    for s in families(&[
        ("", "*a", "x.io"),
        ("", "*", "b.io"),
        ("", "?", ".io"),
        ("https://", "/", ""),
        ("", "*.", "io"),
        ("", "a", ""),
    ]) {
        let _ = reference::registry_key_matches(&s, image.registry());
        let _ = reference::registry_key_matches_reference(&s, &image);
        let _ = reference::same_host(&s, image.registry());
    }
}

#[test]
fn long_challenges_and_links() {
    use berth::registry::challenge::{next_link, parse_challenges};
    for s in families(&[
        ("Bearer ", "a=b,", ""),
        ("", ",", ""),
        ("Bearer realm=\"", "\"", ""),
        ("Bearer realm=\"", "\\\"", ""),
        ("", "a, ", ""),
        ("", "a ", ""),
        ("Bearer ", " =", ""),
        ("", "B a=\"b\" ", ""),
        ("Bearer a=b", ", c", ""),
        ("", "x", ""),
    ]) {
        let _ = parse_challenges(&s);
        let _ = berth::cluster::acr_source::parse_challenge(&s);
    }
    for s in families(&[
        ("", "<", ""),
        ("", "<a>", ""),
        ("<a>", ";", ""),
        ("<a>; rel=\"", "\"", ""),
        ("", "<a>;rel=\"x\",", ""),
        ("", "\"<", ""),
        ("", "<a>; rel=prev ", ">"),
        ("<", "a", ""),
    ]) {
        let _ = next_link(&s);
    }
}

#[test]
fn long_json_answers() {
    use berth::cluster::pull_secret::DockerConfig as PullConfig;
    use berth::registry::client::{decode_json, read_token_answer, status_error};
    use berth::registry::list::AcrTags;
    let headers = reqwest::header::HeaderMap::new();
    for s in families(&[
        ("", "[", ""),
        ("", "{\"a\":", ""),
        ("{\"auths\":{\"h\":", "[", ""),
        ("\"", "\\u0000", "\""),
        ("{\"errors\":[", "{\"code\":\"NAME_UNKNOWN\"},", "{}]}"),
        (
            "{\"tags\":[",
            "{\"name\":\"1.0.1\",\"createdTime\":\"x\"},",
            "{\"name\":\"a\"}]}",
        ),
        (
            "{\"auths\":{",
            "\"h\":{\"auth\":\"dTpw\"},",
            "\"z\":{\"auth\":\"dTpw\"}}}",
        ),
        (
            "{\"layers\":[",
            "{\"digest\":\"a\",\"size\":1},",
            "{\"digest\":\"b\"}],\"config\":{\"digest\":\"c\"}}",
        ),
        ("", " ", ""),
        ("{\"token\":\"", "a", "\"}"),
    ]) {
        let b = s.as_bytes();
        let _ = berth::registry::error::describe_body(b);
        let _ = status_error("r", "o", reqwest::StatusCode::NOT_FOUND, &headers, b);
        let _ = read_token_answer(b);
        let _ = decode_json::<AcrTags>("r", "o", b).map(|t| t.rows("web"));
        let _ = berth::registry::manifest::Manifest::parse(b.to_vec(), None);
        let _ = PullConfig::parse_dockerconfigjson(b, "s");
        let _ = PullConfig::parse_dockercfg(b, "s");
        let _ = berth::registry::credential::DockerConfig::parse(&s, Path::new("c.json"));
        let _ = berth::azure::arm::read_operation_status("op", b);
        let _ = berth::azure::arm::error_detail(500, b);
    }
}

#[test]
fn long_config_toml() {
    use berth::app::keymap::Key;
    for s in families(&[
        ("a = ", "[", ""),
        ("a = ", "{b = ", ""),
        ("", "[", ""),
        ("a", ".a", " = 1"),
        ("", "[[registry]]\n", ""),
        ("[cluster]\nnamespaces = [", "\"a\",", "]"),
        ("a = \"", "\\u0000", "\""),
        ("[keys.global]\nquit = \"", "ctrl-", "x\""),
        ("", "# comment\n", ""),
    ]) {
        if let Ok(c) = berth::config::Config::parse(&s, Path::new("c.toml")) {
            let _ = berth::app::keymap::Keymap::with_overrides(&c.keys);
        }
    }
    for s in families(&[
        ("", "ctrl-", "x"),
        ("", "alt-", "x"),
        ("", "c-", "x"),
        ("", "f", ""),
    ]) {
        let _ = Key::parse(&s);
    }
}

#[test]
fn long_diagnosis_inputs() {
    use berth::diagnose::facts::TagFacts;
    use berth::diagnose::tags::{closest, version_cmp};
    let n = size();
    // Many tags, every other one with a time (as from an ACR listing whose times do not all
    // parse).
    let tags: Vec<TagFacts> = (0..n / 16)
        .map(|i| TagFacts {
            name: format!("1.{}.{}", i % 97, i),
            created: (i % 2 == 0).then(|| {
                jiff::Timestamp::from_second(1_700_000_000 + (i as i64 * 7919) % 100_000).unwrap()
            }),
        })
        .collect();
    let _ = closest("1.0.30", &tags, 5);
    let _ = closest("x", &tags, 5);
    let a = "0".repeat(n);
    let _ = version_cmp(&a, &a);
    let b = "1a".repeat(n / 2);
    let _ = version_cmp(&b, &b);
    let one = vec![TagFacts {
        name: "a".repeat(n / 8),
        created: None,
    }];
    let _ = closest(&"b".repeat(128), &one, 5);
}
