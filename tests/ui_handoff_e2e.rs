//! A kubeconfig exec credential plugin that prompts mid-session (kubelogin's device code on AKS
//! with Entra ID does) gets the terminal: the dashboard leaves the screen, the plugin's prompt
//! shows and reads the answer typed, and the dashboard comes back live — in a real terminal
//! (tmux) against the local environment's apiserver, with a plugin that hands out the admin
//! token only after the right code is typed.

mod cluster_common;
mod support;
mod tmux_support;

use std::os::unix::fs::PermissionsExt;

use cluster_common::apiserver_lock;
use support::{Env, TestNamespace, kubectl};
use tmux_support::{Berth, line_with};

/// The plugin, as kubelogin behaves: a cached token is handed out silently; until the test
/// creates `prompt-now` the token is valid 70 s (kube-rs renews a token that has under 60 s
/// left, so it asks again 10 s in); then it asks for a code on stderr, reads it from its
/// terminal, and caches a token for an hour, which every later run hands out silently.
const PLUGIN: &str = r#"#!/bin/sh
dir=$(dirname "$0")
echo "run $$" >> "$dir/runs"
if [ -e "$dir/token-cache" ]; then
  expires=$(cat "$dir/token-cache")
elif [ -e "$dir/prompt-now" ]; then
  printf 'To sign in, enter the code BERTH-4321 shown on your device: ' >&2
  read -r code
  if [ "$code" != "BERTH-4321" ]; then echo "wrong code: $code" >&2; exit 1; fi
  echo "signed in" >&2
  expires=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
  echo "$expires" > "$dir/token-cache"
  echo answered >> "$dir/runs"
else
  expires=$(date -u -d '+70 seconds' +%Y-%m-%dT%H:%M:%SZ)
fi
printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' "$BERTH_TEST_TOKEN" "$expires"
"#;

#[test]
fn a_credential_plugin_that_prompts_mid_session_gets_the_terminal() {
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("ui-handoff");
    let dir = tempfile::tempdir().expect("temp dir");
    let plugin = dir.path().join("plugin.sh");
    std::fs::write(&plugin, PLUGIN).expect("plugin");
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    // The environment's admin context, with its user's token handed out by the plugin.
    let env = Env::get();
    let kubeconfig = env.kubeconfig();
    let flat = kubectl([
        "--kubeconfig",
        &kubeconfig.display().to_string(),
        "config",
        "view",
        "--raw",
        "--minify",
        "--flatten",
        "-o",
        "json",
    ]);
    let mut kc: serde_json::Value = serde_json::from_str(&flat).expect("kubeconfig JSON");
    let token = kc["users"][0]["user"]["token"]
        .as_str()
        .expect("the admin user has a token")
        .to_owned();
    kc["users"][0]["user"] = serde_json::json!({
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": plugin.display().to_string(),
            "env": [{"name": "BERTH_TEST_TOKEN", "value": token}],
            "interactiveMode": "IfAvailable"
        }
    });
    let exec_kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&exec_kubeconfig, kc.to_string()).expect("kubeconfig");
    let runs = || std::fs::read_to_string(dir.path().join("runs")).unwrap_or_default();

    let berth = Berth::with_kubeconfig(ns.name(), &exec_kubeconfig);
    let tui = berth.start(&[]);
    tui.wait("the dashboard, live through the plugin's token", |s| {
        line_with(s, &["ctx", "● live"]).map(|_| ())
    });
    assert!(runs().contains("run"), "the plugin ran: {:?}", runs());

    // The token runs out (kube-rs renews it 60 s before it expires); this time the plugin asks.
    std::fs::write(dir.path().join("prompt-now"), "").expect("marker");
    let screen = tui.wait(
        "the plugin's prompt on the terminal, the dashboard gone",
        |s| {
            s.contains("enter the code BERTH-4321")
                .then(|| s.to_owned())
        },
    );
    assert!(
        !screen.contains("● live") && !screen.contains('╭'),
        "the prompt must not be drawn over the dashboard:\n{screen}"
    );
    // What is typed reaches the plugin, not the dashboard.
    tui.type_text("BERTH-4321");
    tui.keys(&["Enter"]);
    tui.wait("the dashboard back, live", |s| {
        (line_with(s, &["ctx", "● live"]).is_some() && !s.contains("BERTH-4321")).then_some(())
    });
    assert!(
        runs().contains("answered"),
        "the plugin read the code: {:?}",
        runs()
    );
    // Still answering keys: the help opens and closes.
    tui.keys(&["?"]);
    tui.wait_text("the help", "everywhere");
    tui.escape("everywhere");
    tui.keys(&["q"]);
}
