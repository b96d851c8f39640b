//! Connecting to the cluster at start: a clear answer when it cannot be reached, given before the
//! terminal is taken over, so nothing is half-drawn. Reading the kubeconfig and choosing the
//! context is `cluster::connect`'s job; this adds the reachability check and the user's way out.

use std::path::Path;
use std::time::Duration;

use crate::cluster::connect::{self, KubeTarget};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}\n  Or try berth on the local sandbox: scripts/sandbox")]
    NoConfig(connect::ConnectError),
    #[error(
        "cannot reach the cluster of context {context:?} (kubeconfig: {source_desc}): {reason}\n  \
         Check it with `kubectl --context {context} get namespaces`, pick another context with \
         --context NAME, or try berth on the local sandbox: scripts/sandbox"
    )]
    Unreachable {
        source_desc: String,
        context: String,
        reason: String,
    },
}

/// Which kubeconfig is read, in words, for messages.
pub fn kubeconfig_desc(kubeconfig: Option<&Path>) -> String {
    match (kubeconfig, std::env::var_os("KUBECONFIG")) {
        (Some(p), _) => p.display().to_string(),
        (None, Some(v)) => format!("$KUBECONFIG={}", v.to_string_lossy()),
        (None, None) => "~/.kube/config".to_owned(),
    }
}

/// Connects and proves the apiserver answers, within `timeout`.
pub async fn connect(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
    timeout: Duration,
) -> Result<KubeTarget, StartupError> {
    let target = connect::connect(kubeconfig, context)
        .await
        .map_err(StartupError::NoConfig)?;
    let unreachable = |reason: String| StartupError::Unreachable {
        source_desc: kubeconfig_desc(kubeconfig),
        context: target.context.clone(),
        reason,
    };
    match tokio::time::timeout(timeout, target.client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(target),
        Ok(Err(e)) => Err(unreachable(error_chain(&e))),
        Err(_) => Err(unreachable(format!(
            "no answer within {} s",
            timeout.as_secs()
        ))),
    }
}

/// The error and its causes on one line: the root cause (connection refused, certificate
/// unknown) is what the user needs, and kube's top-level message rarely says it.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_kubeconfig_names_the_file_and_the_way_out() {
        let Err(err) = connect(
            Some(Path::new("/nonexistent/kubeconfig")),
            None,
            Duration::from_secs(5),
        )
        .await
        else {
            panic!("a missing kubeconfig connected");
        };
        let err = err.to_string();
        assert!(err.contains("/nonexistent/kubeconfig"), "{err}");
        assert!(err.contains("scripts/sandbox"), "{err}");
    }

    #[tokio::test]
    async fn refused_apiserver_names_context_and_cause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\ncurrent-context: nowhere\n\
             clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\n\
             users: [{name: u, user: {token: abc}}]\n\
             contexts: [{name: nowhere, context: {cluster: c, user: u}}]\n",
        )
        .unwrap();
        let Err(err) = connect(Some(&path), None, Duration::from_secs(10)).await else {
            panic!("connecting to a closed port succeeded");
        };
        let err = err.to_string();
        assert!(err.contains("\"nowhere\""), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.to_lowercase().contains("refused"), "{err}");
    }
}
