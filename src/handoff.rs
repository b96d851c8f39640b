//! Handing the terminal to an exec credential plugin that speaks mid-session (issue 13 §9).
//!
//! On AKS with Entra ID, kubeconfig users run `kubelogin`, which prints a device code ("To sign
//! in, use a web browser to open … and enter the code …") when its token runs out, and other
//! plugins ask for a password. kube-rs runs the plugin with the terminal as its stdin and stderr
//! (kubectl does the same); under the dashboard that text would land in the alternate screen,
//! half drawn over, and the dashboard's input reader would take the user's answer.
//!
//! So while the dashboard runs, each exec user of the kubeconfig runs its plugin through berth
//! itself (`berth exec-credential-handoff -- PLUGIN ARGS…`). The plugin's stdout (the
//! credential) goes straight to kube-rs, its stdin is the terminal, and its stderr goes through
//! the shim: at its first byte the shim asks the dashboard (over a Unix socket named in
//! [`SOCKET_ENV`]) to give the terminal back, and only then writes it out; when the plugin
//! ends the connection closes and the dashboard takes the terminal again and redraws. A plugin
//! that says nothing (a cached token) never disturbs the screen. Without a dashboard (the
//! headless commands, or the socket gone) the shim is a plain pass-through.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The variable that tells the shim where the dashboard listens.
pub const SOCKET_ENV: &str = "BERTH_TERMINAL_HANDOFF";
/// berth's hidden subcommand that runs a plugin.
pub const SHIM_COMMAND: &str = "exec-credential-handoff";

static SOCKET: OnceLock<PathBuf> = OnceLock::new();

/// The dashboard's socket for this process (in the runtime or temp directory, private to the
/// user); from now on [`wrap_exec_plugins`] routes plugins through the shim.
pub fn enable() -> &'static Path {
    SOCKET.get_or_init(|| {
        let dir = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|d| d.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        dir.join(format!("berth-{}-terminal.sock", std::process::id()))
    })
}

/// Route every exec plugin of `kc` through the shim (only once [`enable`] ran; a user whose
/// `interactiveMode` is `Never` is left alone: kube-rs gives it no terminal anyway).
pub fn wrap_exec_plugins(kc: &mut kube::config::Kubeconfig) {
    let Some(socket) = SOCKET.get() else {
        return;
    };
    let Ok(me) = std::env::current_exe() else {
        return;
    };
    for named in &mut kc.auth_infos {
        let Some(exec) = named.auth_info.as_mut().and_then(|a| a.exec.as_mut()) else {
            continue;
        };
        if exec.interactive_mode == Some(kube::config::ExecInteractiveMode::Never) {
            continue;
        }
        let Some(command) = exec.command.take() else {
            continue;
        };
        let mut args = vec![SHIM_COMMAND.to_owned(), "--".to_owned(), command];
        args.extend(exec.args.take().unwrap_or_default());
        exec.command = Some(me.display().to_string());
        exec.args = Some(args);
        exec.env.get_or_insert_with(Vec::new).push(
            [
                ("name".to_owned(), SOCKET_ENV.to_owned()),
                ("value".to_owned(), socket.display().to_string()),
            ]
            .into(),
        );
    }
}

/// `berth exec-credential-handoff -- PLUGIN ARGS…`: run the plugin, and give it the terminal
/// when it first writes to stderr. Exits as the plugin did.
pub fn run_shim(command: &[OsString]) -> ExitCode {
    let Some((program, args)) = command.split_first() else {
        eprintln!("berth {SHIM_COMMAND}: no plugin to run");
        return ExitCode::from(2);
    };
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("berth: cannot run the credential plugin {program:?}: {e}");
            return ExitCode::from(1);
        }
    };
    let socket = std::env::var_os(SOCKET_ENV).map(PathBuf::from);
    let mut stderr = child.stderr.take().expect("stderr is piped");
    // Held until the plugin is done: closing it gives the dashboard its terminal back.
    let mut lease: Option<std::os::unix::net::UnixStream> = None;
    let mut buf = [0u8; 4096];
    loop {
        let n = match stderr.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if lease.is_none()
            && let Some(path) = &socket
        {
            lease = borrow_terminal(path);
        }
        let mut out = std::io::stderr();
        let _ = out.write_all(&buf[..n]);
        let _ = out.flush();
    }
    let status = child.wait();
    drop(lease);
    match status {
        Ok(s) => ExitCode::from(s.code().map_or(1, |c| u8::try_from(c).unwrap_or(1))),
        Err(_) => ExitCode::from(1),
    }
}

/// Ask the dashboard for the terminal; `None` when there is none to ask (then the shim writes
/// through, as kubectl would).
fn borrow_terminal(path: &Path) -> Option<std::os::unix::net::UnixStream> {
    // No read timeout: while another plugin has the terminal (a second client renewing at the
    // same moment) this one waits its turn, its output held in the pipe.
    let mut stream = std::os::unix::net::UnixStream::connect(path).ok()?;
    stream.write_all(b"suspend\n").ok()?;
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).ok()?;
    (answer.trim() == "ok").then_some(stream)
}

// ---------------------------------------------------------------------------------------------
// The dashboard's side

/// What the dashboard's event loop must know: whether the terminal is lent out (no drawing),
/// and whether it came back (clear and redraw everything).
#[derive(Debug, Default)]
pub struct Lent {
    pub out: AtomicBool,
    pub returned: AtomicBool,
}

/// The input reader's switch: while lent, the reader drops its terminal event stream (so it
/// reads nothing the plugin is waiting for) and opens a new one after.
pub type InputPause = tokio::sync::watch::Sender<bool>;

/// Listen on the socket [`enable`] named; each connection borrows the terminal until it closes.
/// `redraw` is called once the terminal is back (the event loop then draws a whole frame).
pub fn listen(
    lent: std::sync::Arc<Lent>,
    pause: InputPause,
    redraw: impl Fn() + Send + 'static,
) -> Option<tokio::task::JoinHandle<()>> {
    let path = SOCKET.get()?;
    let _ = std::fs::remove_file(path);
    let listener = match tokio::net::UnixListener::bind(path) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(
                "cannot listen on {}: {e}; a credential plugin that prompts will write over the dashboard",
                path.display()
            );
            return None;
        }
    };
    Some(tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            lend(&lent, &pause, stream).await;
            redraw();
        }
    }))
}

async fn lend(lent: &Lent, pause: &InputPause, stream: tokio::net::UnixStream) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let (read, mut write) = stream.into_split();
    let mut read = tokio::io::BufReader::new(read);
    let mut line = String::new();
    if read.read_line(&mut line).await.is_err() || line.trim() != "suspend" {
        return;
    }
    lent.out.store(true, Ordering::SeqCst);
    let _ = pause.send(true);
    // The reader drops its event stream at once; a moment lets an event in flight land.
    tokio::time::sleep(Duration::from_millis(50)).await;
    crate::tui::restore();
    let _ = std::io::stdout().flush();
    tracing::info!("the terminal is lent to a credential plugin");
    if write.write_all(b"ok\n").await.is_ok() {
        // Until the shim closes the connection (its plugin ended).
        let mut rest = Vec::new();
        let _ = read.read_to_end(&mut rest).await;
    }
    crate::tui::reenter();
    lent.out.store(false, Ordering::SeqCst);
    lent.returned.store(true, Ordering::SeqCst);
    let _ = pause.send(false);
    tracing::info!("the terminal is back from the credential plugin");
}

/// The socket goes with the dashboard.
pub fn cleanup() {
    if let Some(path) = SOCKET.get() {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_users_run_through_the_shim_unless_never_interactive() {
        let mut kc: kube::config::Kubeconfig = serde_json::from_value(serde_json::json!({
            "users": [
                {"name": "aks", "user": {"exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": "kubelogin",
                    "args": ["get-token", "--login", "devicecode"],
                    "env": [{"name": "AAD_LOGIN_METHOD", "value": "devicecode"}]
                }}},
                {"name": "ci", "user": {"exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": "ci-token", "interactiveMode": "Never"
                }}},
                {"name": "plain", "user": {"token": "t"}}
            ]
        }))
        .unwrap();
        let socket = enable().to_owned();
        wrap_exec_plugins(&mut kc);
        let exec = |i: usize| {
            kc.auth_infos[i]
                .auth_info
                .as_ref()
                .unwrap()
                .exec
                .clone()
                .unwrap()
        };
        let aks = exec(0);
        let me = std::env::current_exe().unwrap().display().to_string();
        assert_eq!(aks.command.as_deref(), Some(me.as_str()));
        assert_eq!(
            aks.args.unwrap(),
            [
                SHIM_COMMAND,
                "--",
                "kubelogin",
                "get-token",
                "--login",
                "devicecode"
            ]
        );
        let env = aks.env.unwrap();
        assert_eq!(
            env[0]["name"], "AAD_LOGIN_METHOD",
            "the plugin's own env is kept"
        );
        assert_eq!(env[1]["name"], SOCKET_ENV);
        assert_eq!(env[1]["value"], socket.display().to_string());
        assert_eq!(exec(1).command.as_deref(), Some("ci-token"));
        assert!(kc.auth_infos[2].auth_info.as_ref().unwrap().exec.is_none());
    }
}
