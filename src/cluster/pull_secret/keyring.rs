//! The kubelet's keyring, exactly: which pull-secret entries apply to an image, in the order
//! the node tries them.
//!
//! A port of kubernetes v1.20 `pkg/credentialprovider/keyring.go` (`BasicDockerKeyring.Add`,
//! `BasicDockerKeyring.Lookup`, `isDefaultRegistryMatch`, `ParseSchemelessURL`, `SplitURL`,
//! `URLsMatch`), with the parts of Go's standard library it leans on ported as well:
//! `net/url.Parse` (which keys the kubelet accepts, and what host and path it sees),
//! `net.SplitHostPort` and `path/filepath.Match` (go1.15, which kubelet 1.20 is built with).
//!
//! What follows from the kubelet's code and is easy to get wrong:
//! - a key is read as a URL (`https://` is prepended unless it starts with `https://` or
//!   `http://`, exactly so, lower case); a key that does not parse is ignored, alone
//!   (`Add`: "Entry %q in dockercfg invalid (%v), ignoring");
//! - a path beginning `/v1/` or `/v2/` loses that prefix, for every host (`Add`); `/v2`
//!   without the trailing slash is a repository path like any other;
//! - hosts compare exactly, case included, part by part with `filepath.Match` globs
//!   (`URLsMatch`): `MyACR.azurecr.io` does not match `myacr.azurecr.io`, `*.azurecr.io` does
//!   not match `azurecr.io` (the number of parts must agree);
//! - ports compare exactly, a missing port being the empty port (`URLsMatch`);
//! - a key's path is a plain string prefix of the image's path (`strings.HasPrefix`):
//!   `reg.io/tea` applies to `reg.io/team/web`;
//! - the image is the normalised name without tag or digest (kuberuntime's `PullImage` looks
//!   up `parsers.ParseImageName`'s repository): `docker.io/library/busybox`;
//! - when no key matches, an image on Docker Hub by `isDefaultRegistryMatch` gets the entries
//!   whose key became exactly `index.docker.io` (`https://index.docker.io/v1/` does);
//!   `registry-1.docker.io` is just another host.

use std::collections::BTreeMap;

use crate::reference::{DOCKER_HUB, Reference};

/// `defaultRegistryHost` in keyring.go.
const DEFAULT_REGISTRY_HOST: &str = "index.docker.io";

/// The string the kubelet looks an image up by: kuberuntime's `PullImage` passes
/// `parsers.ParseImageName(image)`'s repository, docker's normalised name without tag or
/// digest (`busybox:1` → `docker.io/library/busybox`).
pub fn image_name(image: &Reference) -> String {
    image.name()
}

/// One pod's keyring: the entries of all its pull secrets, indexed as `Add` indexes them.
/// `T` identifies an entry to the caller (which secret, which key).
#[derive(Clone, Debug)]
pub struct Keyring<T> {
    /// Kubelet's `index`: distinct keys, reverse-sorted so that longer keys with the same
    /// prefix come first.
    index: Vec<String>,
    /// Kubelet's `creds`: per key, entries in the order they were added.
    creds: BTreeMap<String, Vec<T>>,
}

impl<T> Default for Keyring<T> {
    fn default() -> Self {
        Self {
            index: Vec::new(),
            creds: BTreeMap::new(),
        }
    }
}

impl<T: Clone> Keyring<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// `BasicDockerKeyring.Add` for one entry. `Err` (why) when the kubelet ignores the entry
    /// because its key is not a URL it can parse; the rest of the secret is unaffected.
    pub fn add(&mut self, key: &str, entry: T) -> Result<(), String> {
        let k = keyring_key(key)?;
        if !self.creds.contains_key(&k) {
            // sets.NewString(index...).List() then sort.Reverse: distinct, reverse byte order.
            let at = self
                .index
                .binary_search_by(|probe| k.as_str().cmp(probe.as_str()))
                .unwrap_or_else(|i| i);
            self.index.insert(at, k.clone());
        }
        self.creds.entry(k).or_default().push(entry);
        Ok(())
    }

    /// `BasicDockerKeyring.Lookup`: every entry whose key matches `image` (see [`image_name`]),
    /// most specific key first; when none does, the Docker Hub fallback.
    pub fn lookup(&self, image: &str) -> Vec<T> {
        let mut out = Vec::new();
        for k in &self.index {
            // Both are schemeless: keys lost their scheme in `add`.
            if urls_match_str(k, image) {
                out.extend(self.creds[k].iter().cloned());
            }
        }
        if out.is_empty()
            && is_default_registry_match(image)
            && let Some(c) = self.creds.get(DEFAULT_REGISTRY_HOST)
        {
            out.extend(c.iter().cloned());
        }
        out
    }

    /// Entries that apply to images on `host` whatever their repository: the key's host and
    /// port match (`URLsMatch` without the path test), or the Docker Hub fallback. For
    /// rotation, which asks "what does this secret hold for that registry".
    pub fn lookup_host(&self, host: &str) -> Vec<T> {
        let mut out = Vec::new();
        let Ok(target) = parse_schemeless_url(host) else {
            return out;
        };
        for k in &self.index {
            if let Ok(glob) = parse_schemeless_url(k)
                && hosts_match(&glob.host, &target.host)
            {
                out.extend(self.creds[k].iter().cloned());
            }
        }
        let hub_image = if host == DOCKER_HUB {
            format!("{host}/library/x")
        } else {
            format!("{host}/x")
        };
        if out.is_empty()
            && is_default_registry_match(&hub_image)
            && let Some(c) = self.creds.get(DEFAULT_REGISTRY_HOST)
        {
            out.extend(c.iter().cloned());
        }
        out
    }
}

/// The index key `Add` files an entry under: the URL's host (port included) and its path
/// with a leading `/v1` or `/v2` (before a `/`) removed, no path when that leaves `/` or
/// nothing. `Err` when the kubelet ignores the entry.
pub fn keyring_key(loc: &str) -> Result<String, String> {
    let value = if loc.starts_with("https://") || loc.starts_with("http://") {
        loc.to_owned()
    } else {
        format!("https://{loc}")
    };
    let parsed = go_url_parse(&value)?;
    // "It also considers /v2/ and /v1/ equivalent to the hostname" (keyring.go, `Add`).
    let mut path = parsed.path.as_str();
    if path.starts_with("/v2/") || path.starts_with("/v1/") {
        path = &path[3..];
    }
    Ok(if !path.is_empty() && path != "/" {
        format!("{}{path}", parsed.host)
    } else {
        parsed.host
    })
}

/// `isDefaultRegistryMatch` (keyring.go): would docker pull `image` from Docker Hub?
pub fn is_default_registry_match(image: &str) -> bool {
    let mut parts = image.splitn(2, '/');
    let first = parts.next().unwrap_or("");
    if first.is_empty() {
        return false;
    }
    if parts.next().is_none() {
        return true;
    }
    if first == "docker.io" || first == "index.docker.io" {
        return true;
    }
    !first.contains(['.', ':'])
}

/// `URLsMatchStr(glob, target)`; a parse or pattern error is no match, as `Lookup` treats it.
pub fn urls_match_str(glob: &str, target: &str) -> bool {
    let (Ok(g), Ok(t)) = (parse_schemeless_url(glob), parse_schemeless_url(target)) else {
        return false;
    };
    // `URLsMatch`: ports, number of host parts, path prefix, then each part as a glob.
    t.path.starts_with(g.path.as_str()) && hosts_match(&g.host, &t.host)
}

/// The host half of `URLsMatch`: `SplitURL` both, ports equal, as many parts, each part
/// matching by `filepath.Match` (an error being no match).
fn hosts_match(glob_host: &str, target_host: &str) -> bool {
    let (gparts, gport) = split_url(glob_host);
    let (tparts, tport) = split_url(target_host);
    gport == tport
        && gparts.len() == tparts.len()
        && gparts
            .iter()
            .zip(&tparts)
            .all(|(g, t)| filepath_match(g, t) == Ok(true))
}

/// `SplitURL`: `net.SplitHostPort`, or the whole host and no port when that fails; then the
/// host split at dots.
fn split_url(host: &str) -> (Vec<&str>, &str) {
    let (h, port) = split_host_port(host).unwrap_or((host, ""));
    (h.split('.').collect(), port)
}

/// `net.SplitHostPort` (go1.15).
fn split_host_port(hostport: &str) -> Option<(&str, &str)> {
    let b = hostport.as_bytes();
    let i = hostport.rfind(':')?;
    let (host, j, k);
    if b.first() == Some(&b'[') {
        let end = hostport.find(']')?;
        if end + 1 == b.len() || end + 1 != i {
            return None;
        }
        host = &hostport[1..end];
        (j, k) = (1, end + 1);
    } else {
        host = &hostport[..i];
        if host.contains(':') {
            return None;
        }
        (j, k) = (0, 0);
    }
    if hostport[j..].contains('[') || hostport[k..].contains(']') {
        return None;
    }
    Some((host, &hostport[i + 1..]))
}

/// A URL as far as the keyring looks at it: `URL.Host` and `URL.Path`, both unescaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoUrl {
    pub host: String,
    pub path: String,
}

/// `ParseSchemelessURL`: `url.Parse("https://" + s)`.
fn parse_schemeless_url(s: &str) -> Result<GoUrl, String> {
    go_url_parse(&format!("https://{s}"))
}

/// `net/url.Parse` (go1.15) for an absolute `scheme://` URL, which is all the keyring gives
/// it: the errors it returns and the host and path it finds. Userinfo, query and fragment are
/// checked as Go checks them, then dropped.
pub fn go_url_parse(raw: &str) -> Result<GoUrl, String> {
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let (u, frag) = match raw.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (raw, None),
    };
    let (_scheme, rest) = u
        .split_once("://")
        .filter(|(s, _)| {
            s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        })
        .ok_or_else(|| "not an absolute URL".to_owned())?;
    // The query starts at the first '?'; Go keeps it in RawQuery unchecked.
    let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = parse_authority(authority)?;
    let path = unescape(path, Mode::Path)?;
    if let Some(f) = frag {
        unescape(f, Mode::Fragment)?;
    }
    Ok(GoUrl { host, path })
}

fn parse_authority(authority: &str) -> Result<String, String> {
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let host = parse_host(host)?;
    if let Some(ui) = userinfo {
        let valid = ui
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b));
        if !valid {
            return Err("net/url: invalid userinfo".into());
        }
        // Userinfo may hold a password: say what is wrong, never quote it.
        let (user, pass) = ui.split_once(':').unwrap_or((ui, ""));
        if unescape(user, Mode::UserPassword).is_err()
            || unescape(pass, Mode::UserPassword).is_err()
        {
            return Err("net/url: invalid URL escape in userinfo".into());
        }
    }
    Ok(host)
}

fn parse_host(host: &str) -> Result<String, String> {
    let valid_optional_port = |p: &str| {
        p.is_empty() || (p.starts_with(':') && p[1..].bytes().all(|b| b.is_ascii_digit()))
    };
    if host.starts_with('[') {
        let i = host
            .rfind(']')
            .ok_or_else(|| "missing ']' in host".to_owned())?;
        let colon_port = &host[i + 1..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {colon_port:?} after host"));
        }
        // RFC 6874 zone: "%25" starts it, and inside it any escape is allowed.
        if let Some(zone) = host[..i].find("%25") {
            let a = unescape(&host[..zone], Mode::Host)?;
            let b = unescape(&host[zone..i], Mode::Zone)?;
            let c = unescape(&host[i..], Mode::Host)?;
            return Ok(format!("{a}{b}{c}"));
        }
    } else if let Some(i) = host.rfind(':') {
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {colon_port:?} after host"));
        }
    }
    unescape(host, Mode::Host)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Host,
    Zone,
    Path,
    UserPassword,
    Fragment,
}

/// `shouldEscape(c, encodeHost)` for ASCII: what may not appear raw in a host.
fn host_must_escape(c: u8) -> bool {
    !(c.is_ascii_alphanumeric() || b"-_.~!$&'()*+,;=:[]<>\"".contains(&c))
}

/// `net/url.unescape`: `%XX` decoded; a bad escape, an escaped ASCII byte in a host (but
/// `%25`), or a byte a host may not hold is an error.
fn unescape(s: &str, mode: Mode) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                let (Some(h), Some(l)) = (
                    b.get(i + 1).copied().and_then(hex),
                    b.get(i + 2).copied().and_then(hex),
                ) else {
                    let end = b.len().min(i + 3);
                    return Err(format!(
                        "invalid URL escape {:?}",
                        String::from_utf8_lossy(&b[i..end])
                    ));
                };
                if mode == Mode::Host && h < 8 && &b[i..i + 3] != b"%25" {
                    return Err(format!("invalid URL escape {:?}", &s[i..i + 3]));
                }
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && host_must_escape(c) {
                    return Err(format!("invalid character {:?} in host name", c as char));
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A pattern `filepath.Match` rejects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadPattern;

/// `path/filepath.Match` (go1.15, Unix): `*`, `?`, `[...]` classes (`^` negates, `a-z`
/// ranges), `\` escapes; `*` and `?` never match `/`. Works on bytes as Go does, decoding a
/// rune only where Go does.
pub fn filepath_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let mut pattern = pattern.as_bytes();
    let mut name = name.as_bytes();
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // Trailing * matches rest of string unless it has a /.
            return Ok(!name.contains(&b'/'));
        }
        let (t, ok, err) = match_chunk(chunk, name);
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if let Some(e) = err {
            return Err(e);
        }
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                let (t, ok, err) = match_chunk(chunk, &name[i + 1..]);
                if ok {
                    if pattern.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                if let Some(e) = err {
                    return Err(e);
                }
                i += 1;
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while pattern.first() == Some(&b'*') {
        pattern = &pattern[1..];
        star = true;
    }
    let mut inrange = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => inrange = true,
            b']' => inrange = false,
            b'*' if !inrange => break,
            _ => {}
        }
        i += 1;
    }
    (star, &pattern[..i], &pattern[i..])
}

/// Go's `utf8.DecodeRune`: the rune and its length, `(U+FFFD, 1)` for a bad byte.
fn decode_rune(b: &[u8]) -> (u32, usize) {
    let end = b.len().min(4);
    let valid = match std::str::from_utf8(&b[..end]) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&b[..e.valid_up_to()]).unwrap_or(""),
    };
    match valid.chars().next() {
        Some(c) => (c as u32, c.len_utf8()),
        None => (0xFFFD, 1),
    }
}

fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> (&'a [u8], bool, Option<BadPattern>) {
    while !chunk.is_empty() {
        if s.is_empty() {
            return (s, false, None);
        }
        match chunk[0] {
            b'[' => {
                let (r, n) = decode_rune(s);
                s = &s[n..];
                chunk = &chunk[1..];
                if chunk.is_empty() {
                    return (s, false, Some(BadPattern));
                }
                let negated = chunk[0] == b'^';
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if chunk.first() == Some(&b']') && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let lo;
                    (lo, chunk) = match get_esc(chunk) {
                        Ok(v) => v,
                        Err(e) => return (s, false, Some(e)),
                    };
                    let mut hi = lo;
                    if chunk[0] == b'-' {
                        (hi, chunk) = match get_esc(&chunk[1..]) {
                            Ok(v) => v,
                            Err(e) => return (s, false, Some(e)),
                        };
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    return (s, false, None);
                }
            }
            b'?' => {
                if s[0] == b'/' {
                    return (s, false, None);
                }
                let (_, n) = decode_rune(s);
                s = &s[n..];
                chunk = &chunk[1..];
            }
            c => {
                let c = if c == b'\\' {
                    chunk = &chunk[1..];
                    match chunk.first() {
                        Some(&c) => c,
                        None => return (s, false, Some(BadPattern)),
                    }
                } else {
                    c
                };
                if c != s[0] {
                    return (s, false, None);
                }
                s = &s[1..];
                chunk = &chunk[1..];
            }
        }
    }
    (s, true, None)
}

fn get_esc(mut chunk: &[u8]) -> Result<(u32, &[u8]), BadPattern> {
    if chunk.is_empty() || chunk[0] == b'-' || chunk[0] == b']' {
        return Err(BadPattern);
    }
    if chunk[0] == b'\\' {
        chunk = &chunk[1..];
        if chunk.is_empty() {
            return Err(BadPattern);
        }
    }
    let (r, n) = decode_rune(chunk);
    if r == 0xFFFD && n == 1 {
        return Err(BadPattern);
    }
    let rest = &chunk[n..];
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, rest))
}

#[cfg(test)]
mod tests;
