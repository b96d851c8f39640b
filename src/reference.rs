//! Image references: the docker reference grammar, normalisation, tag validation, and the
//! kubelet-style matching of a pull-secret key against an image's registry host.
//!
//! Grammar (distribution/reference):
//! `[host[:port]/]path-component[/path-component]*[:tag][@algorithm:hex]`. A first component
//! with no `.` or `:` that is not `localhost` is a path, and the registry defaults to
//! `docker.io`, where one-component names get `library/` (`busybox` → `docker.io/library/busybox`).

use std::fmt;

/// The registry docker uses when a reference names none.
pub const DOCKER_HUB: &str = "docker.io";
/// Where docker.io's v2 API actually answers.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("image reference is empty: give one like `myregistry.azurecr.io/web:1.0`")]
    Empty,
    #[error("image reference {input:?} is not valid: {reason}")]
    Invalid { input: String, reason: String },
    #[error(
        "tag {tag:?} is not valid: {reason} (a tag is 1-128 of A-Z a-z 0-9 _ . -, not starting with . or -)"
    )]
    InvalidTag { tag: String, reason: String },
    #[error(
        "digest {digest:?} is not valid: {reason} (expected `sha256:` followed by 64 lowercase hex digits)"
    )]
    InvalidDigest { digest: String, reason: String },
}

/// A tag's grammar, as the distribution spec writes it.
pub const TAG_GRAMMAR: &str = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";

impl ReferenceError {
    /// The message for a command line: like `Display`, but a bad tag or digest states the
    /// exact grammar (`tag "not/valid" is not valid: character '/' at position 4 is not
    /// allowed; a tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`).
    pub fn cli_message(&self) -> String {
        match self {
            Self::InvalidTag { tag, reason } => {
                format!("tag {tag:?} is not valid: {reason}; a tag must match {TAG_GRAMMAR}")
            }
            Self::InvalidDigest { digest, reason } => format!(
                "digest {digest:?} is not valid: {reason}; a digest is sha256: followed by 64 \
                 lowercase hex digits (sha256:[0-9a-f]{{64}})"
            ),
            other => other.to_string(),
        }
    }
}

fn invalid(input: &str, reason: impl Into<String>) -> ReferenceError {
    ReferenceError::Invalid {
        input: input.to_owned(),
        reason: reason.into(),
    }
}

/// A normalised image reference. Invariants (checked on construction): the registry is a valid
/// host\[:port\], the repository follows the path grammar and is lowercase, the tag and digest are
/// valid when present.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl Reference {
    /// Parses and normalises (`busybox` → `docker.io/library/busybox`, `index.docker.io` →
    /// `docker.io`). A reference with neither tag nor digest keeps neither; use
    /// [`Reference::manifest_ref`] for what a pull would ask for (`latest`).
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if input.trim() != input || input.chars().any(char::is_whitespace) {
            return Err(invalid(input, "it contains whitespace"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => {
                validate_digest(d)?;
                (r, Some(d.to_owned()))
            }
            None => (input, None),
        };
        // The host, if any, is the first component; a path never holds a ':', so the first ':'
        // after the host starts the tag. (`web:not/valid` is repository `web` with tag
        // `not/valid`, which is then reported as the invalid tag it is, not as a bad port.)
        let (registry, path) = split_registry(rest);
        let (repository, tag) = match path.split_once(':') {
            Some((p, t)) => {
                validate_tag(t)?;
                (p, Some(t.to_owned()))
            }
            None => (path, None),
        };
        if repository.is_empty() {
            return Err(invalid(input, "the repository name is empty"));
        }
        let registry = normalise_host(registry);
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository.to_owned()
        };
        Self::checked(input, registry, repository, tag, digest)
    }

    /// Builds a reference from parts, validating each.
    pub fn new(
        registry: &str,
        repository: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> Result<Self, ReferenceError> {
        let shown = format!(
            "{registry}/{repository}{}{}",
            tag.map(|t| format!(":{t}")).unwrap_or_default(),
            digest.map(|d| format!("@{d}")).unwrap_or_default()
        );
        if let Some(t) = tag {
            validate_tag(t)?;
        }
        if let Some(d) = digest {
            validate_digest(d)?;
        }
        Self::checked(
            &shown,
            normalise_host(registry),
            repository.to_owned(),
            tag.map(str::to_owned),
            digest.map(str::to_owned),
        )
    }

    fn checked(
        input: &str,
        registry: String,
        repository: String,
        tag: Option<String>,
        digest: Option<String>,
    ) -> Result<Self, ReferenceError> {
        validate_host(&registry).map_err(|r| invalid(input, r))?;
        validate_repository(&repository).map_err(|r| invalid(input, r))?;
        if registry.len() + 1 + repository.len() > MAX_NAME_LEN {
            return Err(invalid(
                input,
                format!("the name is longer than {MAX_NAME_LEN} characters"),
            ));
        }
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// `host[:port]`, normalised (`docker.io` for Docker Hub).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host to send API calls to (`registry-1.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API_HOST
        } else {
            &self.registry
        }
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// What `GET /v2/<repo>/manifests/<ref>` asks for: the digest if any (it wins over a tag, as
    /// in containerd), else the tag, else `latest`.
    pub fn manifest_ref(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// The same image under another tag (drops the digest).
    pub fn with_tag(&self, tag: &str) -> Result<Self, ReferenceError> {
        validate_tag(tag)?;
        Ok(Self {
            tag: Some(tag.to_owned()),
            digest: None,
            ..self.clone()
        })
    }

    /// The same repository pinned to a digest (drops the tag).
    pub fn with_digest(&self, digest: &str) -> Result<Self, ReferenceError> {
        validate_digest(digest)?;
        Ok(Self {
            tag: None,
            digest: Some(digest.to_owned()),
            ..self.clone()
        })
    }

    /// `registry/repository` without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The short form docker shows (`busybox:1.36` for `docker.io/library/busybox:1.36`), when
    /// it names the same image; else the full form (`docker.io/ker.io/k` shortened would be
    /// `ker.io/k`, registry `ker.io`).
    pub fn familiar(&self) -> String {
        if self.registry != DOCKER_HUB {
            return self.to_string();
        }
        let name = self
            .repository
            .strip_prefix("library/")
            .filter(|r| !r.contains('/'))
            .unwrap_or(&self.repository);
        let short = format!("{name}{}", self.suffix());
        if Reference::parse(&short).as_ref() == Ok(self) {
            short
        } else {
            self.to_string()
        }
    }

    fn suffix(&self) -> String {
        let mut s = String::new();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.registry, self.repository, self.suffix())
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Splits `name` into (registry, path) with docker's rule (see [`names_registry`]).
fn split_registry(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest)) if first_component_is_host(first) => (first, rest),
        _ => (DOCKER_HUB, name),
    }
}

/// Does the reference text begin with a registry host (`myacr.azurecr.io/…`,
/// `localhost:5000/…`), rather than a repository path (`web:1`, `team/api:2`)?
///
/// Docker's rule: the first of several `/`-separated components is a host when it contains a
/// `.` or a `:`, is `localhost`, or has an uppercase letter. One refinement: `name:x` with a
/// non-numeric `x` and no `.` in `name` (`web:not/valid`) is a repository and a tag that
/// contains a `/`, not a host with a bad port.
pub fn names_registry(input: &str) -> bool {
    input
        .split_once('/')
        .is_some_and(|(first, _)| first_component_is_host(first))
}

fn first_component_is_host(first: &str) -> bool {
    if first.starts_with('[') || first == "localhost" {
        return true;
    }
    if let Some((name, port)) = first.split_once(':') {
        return name.contains('.')
            || name == "localhost"
            || (!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    }
    first.contains('.') || first.chars().any(|c| c.is_ascii_uppercase())
}

/// An image string split where its parts are, without validating it (a pod spec may hold a
/// reference the grammar refuses; it is still shown, compared and retargeted): (name with
/// host, tag, digest). The tag's colon is the last one after the last `/` (a port's colon comes
/// before it).
pub fn split_image(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].rfind(':') {
        Some(i) => (
            &rest[..last_slash + i],
            Some(&rest[last_slash + i + 1..]),
            digest,
        ),
        None => (rest, None, digest),
    }
}

/// The registry host an image string names, by Docker's first-component rule (`docker.io`
/// when it names none), Docker Hub's aliases folded.
pub fn image_host(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first_component_is_host(first) => normalise_host(first),
        _ => DOCKER_HUB.to_owned(),
    }
}

/// `sha256:0123456789ab`: the algorithm and 12 hex digits.
pub fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        Some((alg, hex)) => format!("{alg}:{}", hex.chars().take(12).collect::<String>()),
        None => d.to_owned(),
    }
}

/// `0123456789ab`: the 12 hex digits alone, as `docker images` shows them.
pub fn short_hex(d: &str) -> String {
    let hex = d.split_once(':').map_or(d, |(_, h)| h);
    hex.chars().take(12).collect()
}

/// Folds Docker Hub's aliases into `docker.io`. Other hosts keep their case (as docker does:
/// an uppercase first component is what marks `Reg/web` as a host); compare hosts with
/// [`same_host`].
pub fn normalise_host(host: &str) -> String {
    match host.to_ascii_lowercase().as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_owned()
        }
        _ => host.to_owned(),
    }
}

/// Host names compare case-insensitively, with Docker Hub's aliases folded.
pub fn same_host(a: &str, b: &str) -> bool {
    normalise_host(a).eq_ignore_ascii_case(&normalise_host(b))
}

fn validate_host(host: &str) -> Result<(), String> {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        // [IPv6]:port
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("registry host {host:?} has an unclosed '['"))?;
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!(
                "registry host {host:?} is not a valid IPv6 address"
            ));
        }
        match after {
            "" => return Ok(()),
            p => (
                "",
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| format!("registry host {host:?}: junk after ']'"))?,
                ),
            ),
        }
    } else {
        match host.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (host, None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.parse::<u16>().is_err())
    {
        return Err(format!(
            "registry port {p:?} is not a number between 0 and 65535"
        ));
    }
    if host.starts_with('[') {
        return Ok(());
    }
    if name.is_empty() {
        return Err("the registry host is empty".into());
    }
    for comp in name.split('.') {
        let ok = !comp.is_empty()
            && comp.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !comp.starts_with('-')
            && !comp.ends_with('-');
        if !ok {
            return Err(format!(
                "registry host {name:?} is not a valid host name (letters, digits, '-' and '.')"
            ));
        }
    }
    Ok(())
}

fn validate_repository(repo: &str) -> Result<(), String> {
    if repo.is_empty() {
        return Err("the repository name is empty".into());
    }
    if repo.len() == 64 && repo.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("a 64-character hex string is an image id, not a repository name".into());
    }
    for comp in repo.split('/') {
        if comp.is_empty() {
            return Err(format!("repository {repo:?} has an empty path component"));
        }
        if comp.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(format!("repository {repo:?} must be lowercase"));
        }
        if !path_component_ok(comp) {
            return Err(format!(
                "repository path component {comp:?} is not valid (lowercase letters and digits, \
                 separated by '.', '_', '__' or dashes)"
            ));
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn path_component_ok(comp: &str) -> bool {
    let b = comp.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// A new tag name: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), ReferenceError> {
    let err = |reason: String| ReferenceError::InvalidTag {
        tag: tag.to_owned(),
        reason,
    };
    let Some(first) = tag.chars().next() else {
        return Err(err("it is empty".into()));
    };
    if tag.len() > MAX_TAG_LEN {
        return Err(err(format!(
            "it is {} characters long, at most {MAX_TAG_LEN} are allowed",
            tag.len()
        )));
    }
    if !(first.is_ascii_alphanumeric() || first == '_') {
        return Err(err(format!("it starts with {first:?}")));
    }
    if let Some((pos, c)) = tag
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(err(format!(
            "character {c:?} at position {} is not allowed",
            pos + 1
        )));
    }
    Ok(())
}

/// `algorithm:hex`; sha256 and sha512 are checked exactly, other algorithms by the grammar.
pub fn validate_digest(digest: &str) -> Result<(), ReferenceError> {
    let err = |reason: &str| ReferenceError::InvalidDigest {
        digest: digest.to_owned(),
        reason: reason.to_owned(),
    };
    let (alg, hex) = digest
        .split_once(':')
        .ok_or_else(|| err("there is no ':' between algorithm and hex"))?;
    let alg_ok = !alg.is_empty()
        && alg.split(['+', '.', '_', '-']).all(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if !alg_ok {
        return Err(err("the algorithm is not valid"));
    }
    let lower_hex = |h: &str| {
        h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match alg {
        "sha256" if hex.len() != 64 => Err(err("sha256 needs exactly 64 hex digits")),
        "sha512" if hex.len() != 128 => Err(err("sha512 needs exactly 128 hex digits")),
        _ if hex.len() < 32 => Err(err("the hex part is shorter than 32 digits")),
        _ if !lower_hex(hex) => Err(err("the hex part must be lowercase hex digits")),
        _ => Ok(()),
    }
}

/// The digest of a resolved image id as a pod's status reports it (`host/repo@sha256:…`,
/// `docker-pullable://…@sha256:…`), if it carries one.
pub fn digest_of_image_id(image_id: &str) -> Option<&str> {
    image_id
        .rfind("sha256:")
        .map(|i| &image_id[i..])
        .filter(|d| d.len() > "sha256:".len())
}

/// Does a pull-secret key (a `.dockerconfigjson` `auths` key) apply to images on `image_host`?
///
/// Keys are matched the way kubelet does: a scheme (`https://`) and any path (`/v1/`) are
/// ignored, hosts compare case-insensitively, ports must match exactly, and a component may be
/// a glob (`*.azurecr.io`). Docker Hub's spellings (`docker.io`, `index.docker.io`,
/// `registry-1.docker.io`, `https://index.docker.io/v1/`) all mean the same registry.
/// A key with a repository path (`myreg.io/team`) matches the host here; use
/// [`registry_key_matches_reference`] to honour the path as kubelet does.
pub fn registry_key_matches(key: &str, image_host: &str) -> bool {
    let (key_host, _) = split_key(key);
    host_matches(&key_host, image_host)
}

/// Like [`registry_key_matches`], and a key's path must be a prefix of the repository path.
pub fn registry_key_matches_reference(key: &str, image: &Reference) -> bool {
    let (key_host, key_path) = split_key(key);
    if !host_matches(&key_host, image.registry()) {
        return false;
    }
    let path = key_path.trim_matches('/');
    // Docker Hub's legacy `/v1/` suffix is not a repository path.
    if path.is_empty() || (normalise_host(&key_host) == DOCKER_HUB && path == "v1") {
        return true;
    }
    let repo = image.repository();
    repo == path || repo.starts_with(&format!("{path}/"))
}

/// Strips scheme; returns (host\[:port\], path).
fn split_key(key: &str) -> (String, String) {
    let k = key.trim();
    let k = k.split_once("://").map_or(
        k,
        |(scheme, rest)| if scheme.contains('/') { k } else { rest },
    );
    match k.split_once('/') {
        Some((h, p)) => (h.to_ascii_lowercase(), p.to_owned()),
        None => (k.to_ascii_lowercase(), String::new()),
    }
}

fn split_port(host: &str) -> (&str, Option<&str>) {
    if host.starts_with('[') {
        return match host.rsplit_once("]:") {
            Some((h, p)) => (h.trim_start_matches('['), Some(p)),
            None => (host.trim_matches(['[', ']']), None),
        };
    }
    match host.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host, None),
    }
}

fn host_matches(key_host: &str, image_host: &str) -> bool {
    let key = normalise_host(key_host).to_ascii_lowercase();
    let image = normalise_host(image_host).to_ascii_lowercase();
    let (kh, kp) = split_port(&key);
    let (ih, ip) = split_port(&image);
    if kp != ip {
        return false;
    }
    let kparts: Vec<&str> = kh.split('.').collect();
    let iparts: Vec<&str> = ih.split('.').collect();
    kparts.len() == iparts.len()
        && kparts
            .iter()
            .zip(&iparts)
            .all(|(k, i)| glob_match(k.as_bytes(), i.as_bytes()))
}

/// `*` and `?` globbing within one host component (kubelet uses `filepath.Match`).
///
/// Iterative, with one backtrack point (the last `*`): O(pattern × text) at worst. (Trying
/// every split for every `*` recursively took exponential time: a pull-secret key like
/// `**********************x.io` against a long host name hung the diagnosis.)
fn glob_match(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    // After the last `*` seen: where the pattern resumes, and where in `s` that `*` ends.
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match pat.get(p) {
            Some(b'*') => {
                p += 1;
                star = Some((p, i));
            }
            Some(&c) if c == b'?' || c == s[i] => {
                p += 1;
                i += 1;
            }
            _ => match star {
                // Let the last `*` take one more byte and retry from there.
                Some((sp, si)) => {
                    p = sp;
                    i = si + 1;
                    star = Some((sp, si + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_splits_hosts_and_short_digests() {
        assert_eq!(
            split_image("127.0.0.1:5000/web:1.0"),
            ("127.0.0.1:5000/web", Some("1.0"), None)
        );
        assert_eq!(
            split_image("127.0.0.1:5000/web"),
            ("127.0.0.1:5000/web", None, None)
        );
        assert_eq!(
            split_image("h:1/a/b:t@sha256:ab"),
            ("h:1/a/b", Some("t"), Some("sha256:ab"))
        );
        // Not a valid reference, still split where its parts are.
        assert_eq!(split_image("Web:Bad Tag"), ("Web", Some("Bad Tag"), None));
        assert_eq!(image_host("myacr.azurecr.io/web:1"), "myacr.azurecr.io");
        assert_eq!(image_host("localhost:5000/web"), "localhost:5000");
        assert_eq!(image_host("team/api:2"), "docker.io");
        assert_eq!(image_host("nginx"), "docker.io");
        assert_eq!(image_host("index.docker.io/library/nginx"), "docker.io");
        // `web:not/valid` is a repository and a tag with a `/`, not a host.
        assert_eq!(image_host("web:not/valid"), "docker.io");
        let d = format!("sha256:{}", "0123456789abcdef".repeat(4));
        assert_eq!(short_digest(&d), "sha256:0123456789ab");
        assert_eq!(short_hex(&d), "0123456789ab");
        assert_eq!(short_digest("sha256:ab"), "sha256:ab");
        assert_eq!(short_digest("nocolon"), "nocolon");
        // Characters, not bytes: no panic off a char boundary.
        assert_eq!(short_digest("x:ééééééééééééé"), "x:éééééééééééé");
    }
    use proptest::prelude::*;

    fn p(s: &str) -> Reference {
        Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn docker_hub_normalisation() {
        let r = p("busybox");
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/busybox");
        assert_eq!(r.tag(), None);
        assert_eq!(r.manifest_ref(), "latest");
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert_eq!(r.familiar(), "busybox");
        assert_eq!(
            p("index.docker.io/busybox:1").to_string(),
            "docker.io/library/busybox:1"
        );
        assert_eq!(p("docker.io/bitnami/nginx:1").repository(), "bitnami/nginx");
        assert_eq!(p("bitnami/nginx").registry(), "docker.io");
        assert_eq!(p("bitnami/nginx").familiar(), "bitnami/nginx");
        // Found by tests/fuzz_parsers.rs: the short form named registry ker.io.
        assert_eq!(p("docker.io/ker.io/k").familiar(), "docker.io/ker.io/k");
        assert_eq!(
            p("docker.io/localhost/k:1").familiar(),
            "docker.io/localhost/k:1"
        );
        assert_eq!(p("docker.io/library/a.b").familiar(), "a.b");
    }

    #[test]
    fn hosts_ports_paths_tags_digests() {
        let r = p("127.0.0.1:5000/tools/multi.arch/x_y:v1.2-3");
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "tools/multi.arch/x_y");
        assert_eq!(r.tag(), Some("v1.2-3"));
        let r = p("localhost/web");
        assert_eq!(r.registry(), "localhost");
        let r = p(&format!("myacr.azurecr.io/web:1.0@{D}"));
        assert_eq!(r.tag(), Some("1.0"));
        assert_eq!(r.digest(), Some(D));
        assert_eq!(r.manifest_ref(), D);
        let r = p(&format!("localhost:5000/web@{D}"));
        assert_eq!(r.tag(), None);
        assert_eq!(r.to_string(), format!("localhost:5000/web@{D}"));
        let r = p("[::1]:5000/web:1");
        assert_eq!(r.registry(), "[::1]:5000");
        assert!(same_host(
            p("MyACR.azurecr.io/web").registry(),
            "myacr.azurecr.io"
        ));
    }

    #[test]
    fn bad_references_say_why() {
        for (input, needle) in [
            ("", "empty"),
            ("Web:1", "lowercase"),
            ("reg.io/Web:1", "lowercase"),
            ("reg.io/web:", "empty"),
            ("reg.io/web:.x", "starts with"),
            ("reg.io//web", "empty path component"),
            ("reg.io/web@sha256:abc", "64"),
            ("reg.io:99999/web", "port"),
            ("reg.io/we$b", "not valid"),
            ("reg.io/web:1 ", "whitespace"),
            ("reg.io/", "empty"),
            ("reg.io/web-:1", "not valid"),
        ] {
            let err = Reference::parse(input).unwrap_err().to_string();
            assert!(err.contains(needle), "{input:?}: {err}");
        }
    }

    #[test]
    fn a_slash_in_the_tag_is_a_bad_tag_not_a_bad_port() {
        for input in [
            "web:not/valid",
            "reg.io/web:not/valid",
            "127.0.0.1:5000/web:not/valid",
        ] {
            let e = Reference::parse(input).unwrap_err();
            assert!(
                matches!(&e, ReferenceError::InvalidTag { tag, .. } if tag == "not/valid"),
                "{input}: {e}"
            );
            let m = e.cli_message();
            assert!(
                m.contains("'/' at position 4") && m.contains(TAG_GRAMMAR),
                "{m}"
            );
        }
        // Hosts are still hosts, and their ports still checked.
        assert!(names_registry("localhost:5000/web"));
        assert!(names_registry("reg.io:abc/web"));
        assert!(names_registry("registry:5000/web"));
        assert!(names_registry("[::1]/web"));
        assert!(names_registry("Reg/web"));
        assert!(!names_registry("web:v1/x"));
        // A numeric "tag" before a '/' is a port, as docker reads it.
        assert!(names_registry("web:1/x"));
        assert!(!names_registry("team/web:1"));
        assert!(!names_registry("web:1"));
        let e = Reference::parse("reg.io:abc/web").unwrap_err().to_string();
        assert!(e.contains("port"), "{e}");
        assert_eq!(p("registry:5000/web:1").registry(), "registry:5000");
    }

    #[test]
    fn tag_validation() {
        assert!(validate_tag("1.0.0").is_ok());
        assert!(validate_tag("_x").is_ok());
        assert!(validate_tag(&"a".repeat(128)).is_ok());
        let e = validate_tag(&"a".repeat(129)).unwrap_err().to_string();
        assert!(e.contains("129"), "{e}");
        let e = validate_tag("v1/2").unwrap_err().to_string();
        assert!(e.contains("'/'") && e.contains("position 3"), "{e}");
        assert!(validate_tag("-x").is_err());
        assert!(validate_tag("").is_err());
    }

    #[test]
    fn key_matching() {
        assert!(registry_key_matches("myacr.azurecr.io", "myacr.azurecr.io"));
        assert!(registry_key_matches(
            "https://myacr.azurecr.io",
            "MyAcr.azurecr.io"
        ));
        assert!(registry_key_matches(
            "https://myacr.azurecr.io/v2/",
            "myacr.azurecr.io"
        ));
        assert!(registry_key_matches("*.azurecr.io", "myacr.azurecr.io"));
        assert!(!registry_key_matches("*.azurecr.io", "azurecr.io"));
        assert!(!registry_key_matches(
            "myacr.azurecr.io",
            "other.azurecr.io"
        ));
        assert!(registry_key_matches("127.0.0.1:5000", "127.0.0.1:5000"));
        assert!(!registry_key_matches("127.0.0.1:5000", "127.0.0.1:5001"));
        assert!(!registry_key_matches("127.0.0.1", "127.0.0.1:5000"));
        for k in [
            "docker.io",
            "index.docker.io",
            "registry-1.docker.io",
            "https://index.docker.io/v1/",
        ] {
            assert!(registry_key_matches(k, "docker.io"), "{k}");
            assert!(registry_key_matches(k, "registry-1.docker.io"), "{k}");
        }
        let web = p("reg.io/team/web:1");
        assert!(registry_key_matches_reference("reg.io/team", &web));
        assert!(registry_key_matches_reference("https://reg.io/", &web));
        assert!(!registry_key_matches_reference("reg.io/tea", &web));
        assert!(registry_key_matches_reference(
            "https://index.docker.io/v1/",
            &p("busybox")
        ));
    }

    /// The recursive definition `glob_match` must agree with (exponential: small inputs only).
    fn glob_model(pat: &[u8], s: &[u8]) -> bool {
        match pat.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| glob_model(rest, &s[i..])),
            Some((b'?', rest)) => !s.is_empty() && glob_model(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && glob_model(rest, &s[1..]),
        }
    }

    #[test]
    fn globs_with_many_stars_do_not_take_exponential_time() {
        // Found by tests/fuzz_parsers.rs: this took ~C(70, 30) steps before.
        let key = format!("{}x.io", "*".repeat(30));
        let host = format!("{}.io", "a".repeat(40));
        assert!(!registry_key_matches(&key, &host));
        assert!(registry_key_matches(
            &key,
            &format!("{}x.io", "a".repeat(40))
        ));
        let long = "a".repeat(5000);
        assert!(!glob_match(
            "*a*a*a*a*a*a*a*a*a*a*b".as_bytes(),
            long.as_bytes()
        ));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"a*b?c", b"aXXbYc"));
        assert!(!glob_match(b"a*b?c", b"aXXbc"));
    }

    fn component() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,5}([._-][a-z0-9]{1,5}){0,2}"
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = Reference::parse(&s);
        }

        #[test]
        fn parse_never_panics_on_reference_like_input(s in "[a-zA-Z0-9:/@._\\-\\[\\]]{0,60}") {
            if let Ok(r) = Reference::parse(&s) {
                // Whatever parses renders to something that parses back to itself.
                prop_assert_eq!(Reference::parse(&r.to_string()).unwrap(), r);
            }
        }

        #[test]
        fn round_trip(host in "[a-z]{1,8}\\.[a-z]{2,4}(:[0-9]{2,4})?",
                      path in prop::collection::vec(component(), 1..4),
                      tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9._-]{0,20}"),
                      digest in proptest::option::of("[0-9a-f]{64}")) {
            let repo = path.join("/");
            let mut s = format!("{host}/{repo}");
            if let Some(t) = &tag { s.push(':'); s.push_str(t); }
            let digest = digest.map(|d| format!("sha256:{d}"));
            if let Some(d) = &digest { s.push('@'); s.push_str(d); }
            let r = Reference::parse(&s).unwrap();
            prop_assert_eq!(r.registry(), host.as_str());
            prop_assert_eq!(r.repository(), repo.as_str());
            prop_assert_eq!(r.tag(), tag.as_deref());
            prop_assert_eq!(r.digest(), digest.as_deref());
            prop_assert_eq!(r.to_string(), s);
        }

        #[test]
        fn tag_validation_agrees_with_the_pattern(t in "[ -~]{0,130}") {
            let ok = !t.is_empty() && t.len() <= 128
                && t.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                && t.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            prop_assert_eq!(validate_tag(&t).is_ok(), ok);
        }

        #[test]
        fn glob_agrees_with_its_recursive_definition(pat in "[ab*?]{0,8}", s in "[ab?]{0,8}") {
            prop_assert_eq!(glob_match(pat.as_bytes(), s.as_bytes()), glob_model(pat.as_bytes(), s.as_bytes()));
        }

        #[test]
        fn key_matching_ignores_scheme_and_path(host in "[a-z]{1,8}\\.[a-z]{2,4}(:[0-9]{2,4})?",
                                                path in "(/[a-z0-9]{0,6}){0,2}") {
            let key = format!("https://{host}{path}");
            prop_assert!(registry_key_matches(&key, &host));
            prop_assert!(registry_key_matches(&host.to_uppercase(), &host));
        }
    }
}
