//! The dashboard ended by a signal (issue 15 §6): SIGTERM, SIGINT and SIGHUP restore the
//! terminal and exit with the conventional status 128 + the signal's number (143, 130, 129),
//! not 0. The real binary in a real terminal (tmux, private server), on `berth demo`'s built-in
//! data (no cluster needed): the signal goes to berth's process alone; the shell around it
//! records the exit status and the terminal's mode afterwards.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux (scripts/env/install installs it)")
    }

    fn start(dir: &Path, script: &str) -> Self {
        let conf = dir.join("tmux.conf");
        std::fs::write(&conf, "set -g remain-on-exit on\nset -g status off\n").unwrap();
        let socket = format!(
            "berth-signals-{}-{}",
            std::process::id(),
            dir.file_name().unwrap().to_string_lossy()
        );
        let t = Tmux { socket };
        let out = Command::new("tmux")
            .args(["-L", &t.socket, "-f", conf.to_str().unwrap()])
            .args(["new-session", "-d", "-s", "main", "-x", "120", "-y", "40"])
            .args(["--", "sh", "-c", script])
            // berth's config (logs in the temp dir) reaches it through the server's environment.
            .env("BERTH_CONFIG", dir.join("config.toml"))
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "main"]).stdout)
            .into_owned()
    }

    /// A tmux format of the pane, e.g. `#{alternate_on}`.
    fn pane(&self, format: &str) -> String {
        let out = self.tmux(&["display-message", "-p", "-t", "main", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn wait<T>(desc: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match check() {
            Ok(v) => return v,
            Err(last) if Instant::now() > deadline => {
                panic!("timed out waiting for {desc}: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The pid of the shell's child (berth), from /proc.
fn child_of(pid: &str) -> Result<String, String> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map_err(|e| e.to_string())?;
    children
        .split_whitespace()
        .next()
        .map(str::to_owned)
        .ok_or_else(|| format!("no child of {pid} yet"))
}

fn ended_by(signal: &str, expected: i32) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!("[general]\nlog_file = {:?}\n", dir.path().join("berth.log")),
    )
    .unwrap();
    let rc = dir.path().join("rc");
    let tty = dir.path().join("stty");
    // After berth: its status, the terminal's line settings, then a marker on the main screen.
    let script = format!(
        "'{berth}' demo; echo \"rc=$?\" > '{rc}'; stty -a > '{tty}'; echo berth-has-exited; exec sleep 600",
        berth = env!("CARGO_BIN_EXE_berth"),
        rc = rc.display(),
        tty = tty.display(),
    );
    let t = Tmux::start(dir.path(), &script);
    // The dashboard is up: on the alternate screen, mouse reporting on, the demo data drawn.
    wait("the demo dashboard", || {
        let s = t.screen();
        let ready = t.pane("#{alternate_on}") == "1" && s.contains("Deployments");
        ready.then_some(()).ok_or(s)
    });
    assert_eq!(t.pane("#{mouse_any_flag}"), "1", "mouse capture is on");
    let shell = t.pane("#{pane_pid}");
    let berth = wait("berth's pid", || child_of(&shell));
    let out = Command::new("kill")
        .args([&format!("-{signal}"), &berth])
        .output()
        .unwrap();
    assert!(out.status.success(), "kill -{signal} {berth}");

    let status = wait("the exit status", || {
        std::fs::read_to_string(&rc)
            .ok()
            .filter(|s| s.ends_with('\n'))
            .ok_or_else(|| t.screen())
    });
    assert_eq!(status.trim(), format!("rc={expected}"), "SIG{signal}");
    wait("the shell's marker", || {
        let s = t.screen();
        s.contains("berth-has-exited").then_some(()).ok_or(s)
    });
    // The terminal is back: main screen, no mouse reporting, cursor shown, cooked mode.
    assert_eq!(
        t.pane("#{alternate_on}"),
        "0",
        "SIG{signal}: still on the alternate screen"
    );
    assert_eq!(
        t.pane("#{mouse_any_flag}"),
        "0",
        "SIG{signal}: mouse capture left on"
    );
    assert_eq!(t.pane("#{cursor_flag}"), "1", "SIG{signal}: cursor hidden");
    let stty = std::fs::read_to_string(&tty).unwrap();
    let words: Vec<&str> = stty.split_whitespace().collect();
    for mode in ["icanon", "echo", "isig"] {
        assert!(
            words.contains(&mode),
            "SIG{signal}: the terminal is left in raw mode ({mode} off): {stty}"
        );
    }
}

#[test]
fn sigterm_restores_the_terminal_and_exits_143() {
    ended_by("TERM", 143);
}

#[test]
fn sigint_restores_the_terminal_and_exits_130() {
    ended_by("INT", 130);
}

#[test]
fn sighup_restores_the_terminal_and_exits_129() {
    ended_by("HUP", 129);
}
