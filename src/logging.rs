//! Logs go to a file, never to the terminal the TUI owns.
//!
//! The file is size-bounded: past [`MAX_LOG_BYTES`] `berth.log` becomes `berth.log.1` (the
//! older ones move up to `.2`, `.3`) and a new `berth.log` starts, so at most
//! [`KEEP_ROTATED`] old files are kept beside the current one. The current log is always at
//! the configured path (`tail -f ~/.cache/berth/berth.log` keeps working across runs).
//!
//! Every line passes [`redact`] on its way to the file: values of credential-looking keys
//! (`password=`, `"access_token":`, `Authorization:`, a SAS `sig=`) and `Bearer`/`Basic`
//! credentials become `***`. berth itself logs no secrets (they are [`crate::secret::Secret`]s);
//! this guards against a dependency's debug logging, and `BERTH_LOG=debug` keeps the HTTP and
//! TLS stacks at `warn` unless the filter names them.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Size at which the log file is rotated.
pub const MAX_LOG_BYTES: u64 = 5 * 1024 * 1024;
/// Rotated files kept (`berth.log.1` … `berth.log.3`); older ones are deleted.
pub const KEEP_ROTATED: usize = 3;

/// Crates whose debug and trace output is noise (and may echo wire data); kept at `warn`
/// unless `BERTH_LOG` names them.
const QUIET_TARGETS: &[&str] = &["h2", "hyper", "hyper_util", "rustls", "tower", "reqwest"];

/// `<cache dir>/berth/berth.log` unless configured.
pub fn default_log_file() -> PathBuf {
    directories::ProjectDirs::from("", "", "berth")
        .map(|d| d.cache_dir().join("berth.log"))
        .unwrap_or_else(|| PathBuf::from("berth.log"))
}

/// Installs a file subscriber filtered by `BERTH_LOG` (default `info`). Failing to open the
/// log file is not fatal: berth runs without logs rather than refusing to start.
pub fn init(path: &Path) -> Option<PathBuf> {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let file = RotatingFile::open(path, MAX_LOG_BYTES, KEEP_ROTATED).ok()?;
    let directives = filter_directives(std::env::var("BERTH_LOG").ok().as_deref());
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter_directives(None)));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init()
        .ok()?;
    Some(path.to_owned())
}

/// The filter for a `BERTH_LOG` value: the user's directives (default `info`), and
/// [`QUIET_TARGETS`] at `warn` where the user did not name them.
pub fn filter_directives(berth_log: Option<&str>) -> String {
    let user = berth_log
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("info");
    let mut d = user.to_owned();
    for t in QUIET_TARGETS {
        let named = user
            .split(',')
            .any(|part| part.trim().split(['=', '[']).next() == Some(*t));
        if !named {
            d.push_str(&format!(",{t}=warn"));
        }
    }
    d
}

/// An append-only log file that rotates itself by size (see the module doc). Each `write`
/// is one formatted event (that is how `tracing-subscriber` writes), redacted first.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    written: u64,
}

impl RotatingFile {
    pub fn open(path: &Path, max_bytes: u64, keep: usize) -> io::Result<Self> {
        let file = open_append(path)?;
        let written = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Self {
            path: path.to_owned(),
            max_bytes,
            keep,
            file,
            written,
        })
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut s = self.path.clone().into_os_string();
        s.push(format!(".{n}"));
        PathBuf::from(s)
    }

    /// Makes room for `incoming` bytes.
    fn rotate(&mut self, incoming: u64) -> io::Result<()> {
        // Another berth process may have rotated already: then only follow it to the new file.
        let on_disk = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        if on_disk > 0 && on_disk + incoming > self.max_bytes {
            if self.keep == 0 {
                std::fs::remove_file(&self.path)?;
            } else {
                let _ = std::fs::remove_file(self.rotated(self.keep));
                for n in (1..self.keep).rev() {
                    let from = self.rotated(n);
                    if from.exists() {
                        std::fs::rename(&from, self.rotated(n + 1))?;
                    }
                }
                std::fs::rename(&self.path, self.rotated(1))?;
            }
        }
        self.file = open_append(&self.path)?;
        self.written = self.file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written > 0 && self.written + buf.len() as u64 > self.max_bytes {
            // A failed rotation must not lose the line: keep writing to the file we have.
            let _ = self.rotate(buf.len() as u64);
        }
        let text = String::from_utf8_lossy(buf);
        let line = redact(&text);
        self.file.write_all(line.as_bytes())?;
        self.written += line.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Keys whose values are credentials (matched case-insensitively, as whole words).
const SECRET_KEYS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "password",
    "passwd",
    "password1",
    "password2",
    "client_secret",
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "sig",
    ".dockerconfigjson",
    "dockerconfigjson",
];

/// Replaces credential values in a log line with `***` (see the module doc). Lines without
/// any come back borrowed.
pub fn redact(line: &str) -> Cow<'_, str> {
    let b = line.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    let word = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.');
    while i < b.len() {
        if i > 0 && word(b[i - 1]) {
            i += 1;
            continue;
        }
        let value = SECRET_KEYS
            .iter()
            .find_map(|k| key_value_at(b, i, k))
            .or_else(|| scheme_credential_at(b, i));
        if let Some((start, end)) = value {
            let o = out.get_or_insert_with(|| String::with_capacity(line.len()));
            o.push_str(&line[copied..start]);
            o.push_str("***");
            copied = end;
            i = end;
        } else {
            i += 1;
        }
    }
    match out {
        None => Cow::Borrowed(line),
        Some(mut o) => {
            o.push_str(&line[copied..]);
            Cow::Owned(o)
        }
    }
}

/// `key=v`, `key: v`, `key="v"`, `"key":"v"` at `i`: the byte range of the value to hide.
fn key_value_at(b: &[u8], i: usize, key: &str) -> Option<(usize, usize)> {
    let mut j = i;
    let quoted_key = b.get(j) == Some(&b'"');
    if quoted_key {
        j += 1;
    }
    let k = key.as_bytes();
    if b.len() < j + k.len() || !b[j..j + k.len()].eq_ignore_ascii_case(k) {
        return None;
    }
    j += k.len();
    if quoted_key {
        if b.get(j) != Some(&b'"') {
            return None;
        }
        j += 1;
    }
    while b.get(j) == Some(&b' ') {
        j += 1;
    }
    if !matches!(b.get(j), Some(b'=' | b':')) {
        return None;
    }
    j += 1;
    while b.get(j) == Some(&b' ') {
        j += 1;
    }
    // `Authorization: Bearer xyz`: hide the scheme's credential, keep the scheme.
    if let Some(range) = scheme_credential_at(b, j) {
        return Some(range);
    }
    value_range(b, j)
}

fn value_range(b: &[u8], start: usize) -> Option<(usize, usize)> {
    match b.get(start) {
        Some(b'"') => {
            let mut e = start + 1;
            while e < b.len() && b[e] != b'"' {
                e += if b[e] == b'\\' { 2 } else { 1 };
            }
            let e = e.min(b.len());
            (e > start + 1).then_some((start + 1, e))
        }
        Some(_) => {
            let e = b[start..]
                .iter()
                .position(|c| c.is_ascii_whitespace() || b"&,;}\"')".contains(c))
                .map_or(b.len(), |p| start + p);
            (e > start).then_some((start, e))
        }
        None => None,
    }
}

/// `Bearer <token68>` / `Basic <token68>` at `i`: the token's range (not an auth-param list
/// like `Bearer realm="…"`).
fn scheme_credential_at(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let rest = &b[i..];
    let skip = [
        &b"Bearer "[..],
        &b"Basic "[..],
        &b"bearer "[..],
        &b"basic "[..],
    ]
    .iter()
    .find(|s| rest.starts_with(s))?
    .len();
    let start = i + skip;
    let token68 = |c: &u8| c.is_ascii_alphanumeric() || b"-._~+/".contains(c);
    let mut e = start + b[start..].iter().take_while(|c| token68(c)).count();
    while b.get(e) == Some(&b'=') {
        e += 1;
    }
    if e == start || matches!(b.get(e), Some(b'"')) {
        return None;
    }
    Some((start, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted_and_the_rest_kept() {
        for (line, want) in [
            (
                "request password=hunter2 user=me",
                "request password=*** user=me",
            ),
            (
                r#"body {"username":"u","password":"p@ss w"} done"#,
                r#"body {"username":"u","password":"***"} done"#,
            ),
            (
                "headers authorization: Bearer eyJ0eXAi.abc-def_g",
                "headers authorization: Bearer ***",
            ),
            (
                "Authorization: Basic dXNlcjpwYXNz==",
                "Authorization: Basic ***",
            ),
            (
                "GET https://x.blob.core.windows.net/b?sv=2020&sig=AbC%2Fd&se=1",
                "GET https://x.blob.core.windows.net/b?sv=2020&sig=***&se=1",
            ),
            (
                "token response access_token=aaa refresh_token=\"bbb\"",
                "token response access_token=*** refresh_token=\"***\"",
            ),
            (
                r#"challenge www-authenticate: Bearer realm="https://r.io/oauth2/token""#,
                r#"challenge www-authenticate: Bearer realm="https://r.io/oauth2/token""#,
            ),
            (
                "rotated secret acr-pull token_name=ci token_lifetime_days=90",
                "rotated secret acr-pull token_name=ci token_lifetime_days=90",
            ),
        ] {
            assert_eq!(redact(line), want, "{line}");
        }
        assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_log_rotates_by_size_and_keeps_a_few_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.log");
        let mut f = RotatingFile::open(&path, 100, 2).unwrap();
        // One write per event, as tracing-subscriber writes.
        for i in 0..20 {
            f.write_all(format!("line {i:02} {}\n", "x".repeat(30)).as_bytes())
                .unwrap();
        }
        f.flush().unwrap();
        let len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["berth.log", "berth.log.1", "berth.log.2"]);
        for n in &names {
            assert!(len(&dir.path().join(n)) <= 100, "{n} too big");
        }
        let current = std::fs::read_to_string(&path).unwrap();
        assert!(current.contains("line 19"), "{current}");
        let older = std::fs::read_to_string(dir.path().join("berth.log.1")).unwrap();
        assert!(
            !older.contains("line 19") && older.contains("line 1"),
            "{older}"
        );

        // A new process appends to the current file rather than starting over.
        let before = len(&path);
        let mut g = RotatingFile::open(&path, 1000, 2).unwrap();
        g.write_all(b"again\n").unwrap();
        assert_eq!(len(&path), before + 6);
    }

    #[test]
    fn berth_log_keeps_the_http_stack_quiet_unless_named() {
        assert_eq!(
            filter_directives(None),
            "info,h2=warn,hyper=warn,hyper_util=warn,rustls=warn,tower=warn,reqwest=warn"
        );
        let d = filter_directives(Some("debug,hyper=trace"));
        assert!(d.starts_with("debug,hyper=trace,h2=warn"), "{d}");
        assert!(!d.contains("hyper=warn"), "{d}");
        assert!(tracing_subscriber::EnvFilter::try_new(&d).is_ok());
    }
}
