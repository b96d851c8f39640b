//! Finding the running local environment.
//!
//! The variables (see HELPERS.md, "The local environment contract") come from the process
//! environment when `BERTH_KUBECONFIG` is set there (e.g. `. /tmp/berth-env/env.sh; cargo test`),
//! otherwise from `$BERTH_ENV_DIR/env.sh` (default `/tmp/berth-env/env.sh`), which
//! `scripts/env/up` writes and `scripts/env/down` removes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use berth::secret::Secret;

const DEFAULT_ENV_DIR: &str = "/tmp/berth-env";
const NOT_RUNNING: &str = "local environment not running: run scripts/env/up";

#[derive(Debug, Clone)]
pub struct Env {
    vars: BTreeMap<String, String>,
    source: String,
}

impl Env {
    /// The environment, loaded once per test binary; panics with a clear message when it is not
    /// running.
    pub fn get() -> &'static Env {
        static ENV: OnceLock<Result<Env, String>> = OnceLock::new();
        match ENV.get_or_init(Env::load) {
            Ok(env) => env,
            Err(msg) => panic!("{msg}"),
        }
    }

    /// Loads the variables without caching: process environment first, else env.sh.
    pub fn load() -> Result<Env, String> {
        let process: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("BERTH_"))
            .collect();
        let env = if process.contains_key("BERTH_KUBECONFIG") {
            Env {
                vars: process,
                source: "the process environment".to_owned(),
            }
        } else {
            let dir = process
                .get("BERTH_ENV_DIR")
                .cloned()
                .unwrap_or_else(|| DEFAULT_ENV_DIR.to_owned());
            let file = Path::new(&dir).join("env.sh");
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("{NOT_RUNNING} ({} unreadable: {e})", file.display()))?;
            Env {
                vars: parse_env_sh(&text),
                source: file.display().to_string(),
            }
        };
        let kubeconfig = env.try_var("BERTH_KUBECONFIG").ok_or_else(|| {
            format!(
                "{NOT_RUNNING} (BERTH_KUBECONFIG missing from {})",
                env.source
            )
        })?;
        if !Path::new(kubeconfig).is_file() {
            return Err(format!(
                "{NOT_RUNNING} (BERTH_KUBECONFIG={kubeconfig} from {} does not exist)",
                env.source
            ));
        }
        Ok(env)
    }

    /// A variable that may be absent.
    pub fn try_var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// A variable the test needs; panics naming it and where it was looked for.
    pub fn var(&self, name: &str) -> &str {
        self.try_var(name).unwrap_or_else(|| {
            panic!(
                "{name} is not set in {} (is scripts/env/registry-up part of the running environment?)",
                self.source
            )
        })
    }

    /// A password or token variable, wrapped so it cannot be printed by accident.
    pub fn secret(&self, name: &str) -> Secret {
        Secret::new(self.var(name))
    }

    pub fn dir(&self) -> PathBuf {
        PathBuf::from(self.var("BERTH_ENV_DIR"))
    }
    pub fn ca_file(&self) -> PathBuf {
        PathBuf::from(self.var("BERTH_CA_FILE"))
    }
    pub fn kubeconfig(&self) -> PathBuf {
        PathBuf::from(self.var("BERTH_KUBECONFIG"))
    }
    pub fn kubeconfig_readonly(&self) -> PathBuf {
        PathBuf::from(self.var("BERTH_KUBECONFIG_READONLY"))
    }
    pub fn kubectl(&self) -> PathBuf {
        PathBuf::from(self.var("BERTH_KUBECTL"))
    }
    pub fn node_name(&self) -> &str {
        self.var("BERTH_NODE_NAME")
    }
    pub fn acr_host(&self) -> &str {
        self.var("BERTH_ACR_HOST")
    }
    pub fn plain_registry_host(&self) -> &str {
        self.var("BERTH_PLAIN_REGISTRY_HOST")
    }

    /// A directory with the test CA as `ca.crt`, the layout `skopeo --cert-dir` and
    /// containers-style tools expect.
    ///
    /// Written once per test process: tests run in parallel threads, and rewriting `ca.crt`
    /// while another test's skopeo read it gave that skopeo an empty file ("certificate signed
    /// by unknown authority", seen in CI).
    pub fn cert_dir(&self) -> PathBuf {
        static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        DIR.get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("berth-test-certs-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("create the test cert dir");
            // Copied beside it and renamed into place: a reader sees the whole file or none.
            let partial = dir.join("ca.crt.partial");
            std::fs::copy(self.ca_file(), &partial).unwrap_or_else(|e| {
                panic!(
                    "copy {} into {}: {e}",
                    self.ca_file().display(),
                    dir.display()
                )
            });
            std::fs::rename(&partial, dir.join("ca.crt")).expect("move ca.crt into place");
            dir
        })
        .clone()
    }
}

/// Parses the `export NAME=value` lines of env.sh; values may be shell-quoted ('…', "…", `\x`).
pub fn parse_env_sh(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
            if line.starts_with('#') {
                return None;
            }
            let (name, value) = line.split_once('=')?;
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            valid.then(|| (name.to_owned(), unquote(value)))
        })
        .collect()
}

/// Undoes shell quoting of one word (what `printf %q` and hand-written quotes produce).
fn unquote(word: &str) -> String {
    let mut out = String::new();
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => out.extend(chars.by_ref().take_while(|&c| c != '\'')),
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(n @ ('"' | '\\' | '$' | '`')) => out.push(n),
                            Some(n) => {
                                out.push('\\');
                                out.push(n);
                            }
                            None => out.push('\\'),
                        },
                        c => out.push(c),
                    }
                }
            }
            '\\' => out.extend(chars.next()),
            c if c.is_whitespace() => break,
            c => out.push(c),
        }
    }
    out
}
