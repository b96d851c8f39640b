//! kubectl (the real client, built from the same Kubernetes source) and per-test namespaces.

use std::collections::hash_map::RandomState;
use std::ffi::OsStr;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::env::Env;
use super::wait::wait_for;

/// Runs kubectl with `kubeconfig`; Ok(stdout) or Err(a message with the command and stderr).
pub fn kubectl_as<I, S>(kubeconfig: &Path, args: I, stdin: Option<&str>) -> Result<String, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let env = Env::get();
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let shown = args
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new(env.kubectl())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(&args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", env.kubectl().display()));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("piped stdin");
        pipe.write_all(input.as_bytes())
            .expect("write kubectl stdin");
    }
    let out = child.wait_with_output().expect("wait for kubectl");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "kubectl {shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// kubectl as the admin identity; Err carries stderr.
pub fn try_kubectl<I, S>(args: I) -> Result<String, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    kubectl_as(&Env::get().kubeconfig(), args, None)
}

/// kubectl as the admin identity; returns stdout, panics with stderr.
pub fn kubectl<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    try_kubectl(args).unwrap_or_else(|e| panic!("{e}"))
}

/// kubectl as admin with `input` on stdin (e.g. `["apply", "-f", "-"]` and a manifest).
pub fn kubectl_stdin<I, S>(args: I, input: &str) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    kubectl_as(&Env::get().kubeconfig(), args, Some(input)).unwrap_or_else(|e| panic!("{e}"))
}

/// `kubectl ARGS -o json`, parsed.
pub fn kubectl_json<I, S>(args: I) -> serde_json::Value
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    args.extend(["-o".into(), "json".into()]);
    let out = kubectl(&args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("kubectl printed no JSON ({e}): {out}"))
}

/// The events of one object as (type, reason, message), through `kubectl get events`.
pub fn events_for(namespace: &str, kind: &str, name: &str) -> Vec<(String, String, String)> {
    let selector = format!("involvedObject.kind={kind},involvedObject.name={name}");
    let list = kubectl_json([
        "-n",
        namespace,
        "get",
        "events",
        "--field-selector",
        &selector,
    ]);
    list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|e| {
                    let field = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                    (field("type"), field("reason"), field("message"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `prefix-xxxxxx`: a DNS-1123 label unique across concurrently running tests and runs.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    let prefix: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    format!(
        "{}-{:06x}",
        prefix.trim_matches('-'),
        hasher.finish() & 0xff_ffff
    )
}

/// A namespace of its own for one test, deleted (without waiting) when dropped.
///
/// `new` returns once the namespace's `default` service account has its token, since pods
/// created before that are refused by the apiserver.
pub struct TestNamespace {
    name: String,
}

impl TestNamespace {
    pub fn new(prefix: &str) -> Self {
        let name = unique_name(prefix);
        kubectl(["create", "namespace", &name]);
        kubectl(["label", "namespace", &name, "berth-test=true"]);
        let ns = TestNamespace { name };
        wait_for(
            &format!("service account default in namespace {}", ns.name),
            Duration::from_secs(60),
            || {
                let secret = try_kubectl([
                    "-n",
                    &ns.name,
                    "get",
                    "serviceaccount",
                    "default",
                    "-o",
                    "jsonpath={.secrets[0].name}",
                ])?;
                if secret.is_empty() {
                    Err("no token secret yet".to_owned())
                } else {
                    Ok(())
                }
            },
        );
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // Never panic in drop; a leftover namespace is harmless (labelled berth-test=true).
        let _ = try_kubectl([
            "delete",
            "namespace",
            &self.name,
            "--wait=false",
            "--ignore-not-found",
        ]);
    }
}
