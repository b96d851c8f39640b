//! berth in a real terminal: a tmux session on a private server ([`Tmux`]) running the real
//! binary with a config of its own ([`Berth`]). Shared by the tmux end-to-end tests
//! (tests/ui_e2e.rs, tests/ui_liveness.rs); a test file says `mod tmux_support;` after
//! `mod cluster_common; mod support;`.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use crate::support::{Env, unique_name, wait_for};

/// Starting, listing and a rollout on the one-node environment: generous, never a sleep.
pub const SCREEN: Duration = Duration::from_secs(120);
pub const WIDTH: u16 = 160;
pub const HEIGHT: u16 = 48;

// ------------------------------------------------------------------------------------------
// tmux

/// berth running in a detached tmux session on a private server; the server dies on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux (scripts/env/install installs it)")
    }

    /// Starts `command` in a 160x48 session. `remain-on-exit` keeps the pane (and whatever
    /// berth printed when it failed to start) readable after the process ends.
    /// `env`: variables for berth's environment. They reach the new tmux server (and so berth)
    /// through the environment of the process that starts it, never through a command line.
    pub fn start(dir: &Path, command: &[String], env: &[(&str, String)]) -> Self {
        let conf = dir.join("tmux.conf");
        std::fs::write(&conf, "set -g remain-on-exit on\nset -g status off\n")
            .expect("write tmux.conf");
        let t = Tmux {
            socket: unique_name("berth-e2e"),
        };
        let (w, h) = (WIDTH.to_string(), HEIGHT.to_string());
        let mut args = vec![
            "-f",
            conf.to_str().expect("utf-8 temp path"),
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            &w,
            "-y",
            &h,
            "--",
        ];
        args.extend(command.iter().map(String::as_str));
        let out = Command::new("tmux")
            .args(["-L", &t.socket])
            .args(&args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .expect("run tmux (scripts/env/install installs it)");
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    pub fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", "main"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen with its attributes and colours as SGR escape sequences (`capture-pane -e`).
    pub fn screen_with_escapes(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-e", "-t", "main"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Presses keys by tmux name (`j`, `Enter`, `C-u`), one call each so that none is read as
    /// part of an escape sequence.
    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let out = self.tmux(&["send-keys", "-t", "main", k]);
            assert!(out.status.success(), "tmux send-keys {k} failed");
        }
    }

    /// Presses Escape and waits until `closes` has left the screen. A key sent before berth has
    /// read the Escape arrives in the same read and is parsed as Alt+key (the terminal's own
    /// encoding of Meta), so the next key must wait for the Escape to be handled.
    pub fn escape(&self, closes: &str) {
        self.keys(&["Escape"]);
        self.wait(&format!("Escape to close {closes:?}"), |s| {
            (!s.contains(closes)).then_some(())
        });
    }

    /// Types text literally.
    pub fn type_text(&self, text: &str) {
        let out = self.tmux(&["send-keys", "-t", "main", "-l", text]);
        assert!(out.status.success(), "tmux send-keys -l {text:?} failed");
    }

    /// Polls the screen until `check` accepts it; the timeout message shows the last screen.
    pub fn wait<T>(&self, desc: &str, mut check: impl FnMut(&str) -> Option<T>) -> T {
        wait_for(desc, SCREEN, || {
            let s = self.screen();
            check(&s).ok_or_else(|| format!("the screen was:\n{s}"))
        })
    }

    pub fn wait_text(&self, desc: &str, needle: &str) {
        self.wait(desc, |s| s.contains(needle).then_some(()));
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// The SGR parameters in force where `needle` starts on `line` (of
/// [`Tmux::screen_with_escapes`]): attributes switched on since the last reset.
pub fn sgr_at(line: &str, needle: &str) -> Option<std::collections::BTreeSet<u16>> {
    let mut active = std::collections::BTreeSet::new();
    let mut rest = line;
    loop {
        if rest.starts_with(needle) {
            return Some(active);
        }
        if let Some(seq) = rest.strip_prefix("\x1b[") {
            let end = seq.find(|c: char| c.is_ascii_alphabetic())?;
            if seq.as_bytes()[end] == b'm' {
                for p in seq[..end].split(';') {
                    match p.parse::<u16>().unwrap_or(0) {
                        0 => active.clear(),
                        // 22 ends bold and dim, 2x ends the attribute x.
                        22 => {
                            active.remove(&1);
                            active.remove(&2);
                        }
                        n @ 23..=29 => {
                            active.remove(&(n - 20));
                        }
                        n => {
                            active.insert(n);
                        }
                    }
                }
            }
            rest = &seq[end + 1..];
            continue;
        }
        let mut chars = rest.chars();
        chars.next()?;
        rest = chars.as_str();
    }
}

/// SGR colour parameters anywhere on the screen (30–38, 40–48, 90–97, 100–107; the defaults
/// 39 and 49 are not colours).
pub fn colour_codes(screen: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = screen;
    while let Some(at) = rest.find("\x1b[") {
        let seq = &rest[at + 2..];
        let Some(end) = seq.find(|c: char| c.is_ascii_alphabetic()) else {
            break;
        };
        if seq.as_bytes()[end] == b'm'
            && seq[..end].split(';').any(|p| {
                matches!(
                    p.parse::<u16>(),
                    Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
                )
            })
        {
            found.push(seq[..end].to_owned());
        }
        rest = &seq[end..];
    }
    found
}

/// A line of the screen that holds every one of `parts`.
pub fn line_with<'a>(screen: &'a str, parts: &[&str]) -> Option<&'a str> {
    screen.lines().find(|l| parts.iter().all(|p| l.contains(p)))
}

// ------------------------------------------------------------------------------------------
/// What a headless berth run left: exit code, output, and how long the process took.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

// berth's config and the registry through skopeo

pub struct Berth {
    pub dir: tempfile::TempDir,
    /// Variables berth needs in its environment (the service principal's, when it signs in so).
    pub env: Vec<(&'static str, String)>,
}

impl Berth {
    /// A config.toml like scripts/sandbox writes: the ACR stand-in with its admin user
    /// (password in a 0600 file), the test CA, one namespace, logs and audit in the temp dir.
    pub fn new(namespace: &str) -> Self {
        Self::with_kubeconfig(namespace, &Env::get().kubeconfig())
    }

    pub fn with_kubeconfig(namespace: &str, kubeconfig: &Path) -> Self {
        Self::configured(namespace, kubeconfig, false)
    }

    /// As scripts/sandbox configures it: signed in as the service principal through Entra, with
    /// the registry's ARM coordinates, so berth can mint credentials (rotation, secret fixes).
    pub fn with_service_principal(namespace: &str) -> Self {
        Self::configured(namespace, &Env::get().kubeconfig(), true)
    }

    pub fn configured(namespace: &str, kubeconfig: &Path, service_principal: bool) -> Self {
        let env = Env::get();
        let dir = tempfile::tempdir().expect("temp dir");
        let password = dir.path().join("acr-password");
        std::fs::write(&password, env.var("BERTH_ACR_ADMIN_PASSWORD")).expect("password file");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600))
                .expect("chmod password file");
        }
        let q = |p: &Path| p.display().to_string();
        let config = format!(
            r#"[general]
audit_log = "{audit}"
log_file = "{log}"

[cluster]
kubeconfig = "{kubeconfig}"
namespaces = ["{namespace}"]

[cluster.aks]
provider_match_images = ["{aks_images}"]

[[registry]]
name = "e2e"
host = "{host}"
kind = "acr"
ca_file = "{ca}"
{credential}
"#,
            audit = q(&dir.path().join("audit.jsonl")),
            aks_images = env.var("BERTH_AKS_IMAGE_PREFIX"),
            log = q(&dir.path().join("berth.log")),
            kubeconfig = q(kubeconfig),
            host = env.acr_host(),
            ca = q(&env.ca_file()),
            credential = if service_principal {
                format!(
                    "credential = {{ type = \"client-secret\", tenant_id_env = \"BERTH_TENANT_ID\", \
                     client_id_env = \"BERTH_SP_CLIENT_ID\", client_secret_env = \"BERTH_SP_CLIENT_SECRET\" }}\n\
                     [registry.arm]\nsubscription_id = \"{}\"\nresource_group = \"{}\"\n\
                     registry_name = \"{}\"\nendpoint = \"{url}\"\nauthority_host = \"{url}\"",
                    env.var("BERTH_SUBSCRIPTION_ID"),
                    env.var("BERTH_RESOURCE_GROUP"),
                    env.var("BERTH_ACR_NAME"),
                    url = env.var("BERTH_AZURE_URL"),
                )
            } else {
                format!(
                    "credential = {{ type = \"basic\", username = \"{}\", password_file = \"{}\" }}",
                    env.var("BERTH_ACR_ADMIN_USER"),
                    q(&password)
                )
            },
        );
        std::fs::write(dir.path().join("config.toml"), config).expect("write config.toml");
        let env = if service_principal {
            ["BERTH_TENANT_ID", "BERTH_SP_CLIENT_ID"]
                .into_iter()
                .map(|k| (k, env.var(k).to_owned()))
                .chain([(
                    "BERTH_SP_CLIENT_SECRET",
                    env.secret("BERTH_SP_CLIENT_SECRET").expose().to_owned(),
                )])
                .collect()
        } else {
            Vec::new()
        };
        Self { dir, env }
    }

    pub fn command(&self, extra: &[&str]) -> Vec<String> {
        let mut c = vec![
            env!("CARGO_BIN_EXE_berth").to_owned(),
            "--config".to_owned(),
            self.dir.path().join("config.toml").display().to_string(),
        ];
        c.extend(extra.iter().map(|s| (*s).to_owned()));
        c
    }

    /// Runs berth headless to the end, as a script would: its config's audit log (not the
    /// environment's `BERTH_AUDIT_LOG`), the credentials' variables, plus `extra_env`. Fails the
    /// test if berth printed the service principal's secret.
    pub fn run(&self, args: &[&str], extra_env: &[(&str, &std::ffi::OsStr)]) -> Run {
        let env = Env::get();
        let argv = self.command(args);
        let start = std::time::Instant::now();
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .envs(extra_env.iter().copied())
            .env_remove("BERTH_AUDIT_LOG")
            .output()
            .expect("run berth");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            took: start.elapsed(),
        };
        let secret = env.secret("BERTH_SP_CLIENT_SECRET");
        assert!(
            !run.stdout.contains(secret.expose()) && !run.stderr.contains(secret.expose()),
            "berth printed the client secret"
        );
        run
    }

    pub fn start(&self, extra: &[&str]) -> Tmux {
        Tmux::start(self.dir.path(), &self.command(extra), &self.env)
    }

    /// Like [`Berth::start`], with more variables in berth's environment (`NO_COLOR`).
    pub fn start_with_env(&self, extra: &[&str], more: &[(&'static str, String)]) -> Tmux {
        let mut env = self.env.clone();
        env.extend(more.iter().cloned());
        Tmux::start(self.dir.path(), &self.command(extra), &env)
    }

    /// The records that end each action (the intents before writes are left out).
    pub fn audit_records(&self) -> Vec<Value> {
        let log = berth::audit::AuditLog::new(self.dir.path().join("audit.jsonl"));
        crate::cluster_common::finished_records(&log)
    }
}
