//! Connecting to the cluster at start: which kubeconfig and context, and a clear answer when
//! the cluster cannot be reached (before the terminal is taken over, so nothing is half-drawn).

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// Where the kube configuration came from, for messages.
#[derive(Clone, Debug)]
pub struct KubeTarget {
    /// The file read, or a description (`$KUBECONFIG` list, in-cluster).
    pub source: String,
    pub context: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "no usable kubeconfig ({source_desc}): {reason}\n  \
         Point berth at one with --kubeconfig FILE or $KUBECONFIG, or try the sandbox: scripts/sandbox"
    )]
    NoConfig { source_desc: String, reason: String },
    #[error(
        "cannot reach the cluster of context {context:?} (kubeconfig: {source_desc}): {reason}\n  \
         Check it with `kubectl --context {context} get namespaces`, pick another context with \
         --context NAME, or try the sandbox: scripts/sandbox"
    )]
    Unreachable {
        source_desc: String,
        context: String,
        reason: String,
    },
}

/// Reads the kubeconfig (explicit file, else `$KUBECONFIG`, else `~/.kube/config`) and picks
/// the context.
pub async fn kube_config(
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
) -> Result<(kube::Config, KubeTarget), ConnectError> {
    let source_desc = match (&kubeconfig, std::env::var_os("KUBECONFIG")) {
        (Some(p), _) => p.display().to_string(),
        (None, Some(v)) => format!("$KUBECONFIG={}", v.to_string_lossy()),
        (None, None) => "~/.kube/config".to_owned(),
    };
    let no_config = |reason: String| ConnectError::NoConfig {
        source_desc: source_desc.clone(),
        reason,
    };
    let file = match &kubeconfig {
        Some(p) => Kubeconfig::read_from(p).map_err(|e| no_config(e.to_string()))?,
        None => Kubeconfig::read().map_err(|e| no_config(e.to_string()))?,
    };
    let chosen = context.clone().or_else(|| file.current_context.clone());
    let options = KubeConfigOptions {
        context: context.clone(),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(file, &options)
        .await
        .map_err(|e| no_config(e.to_string()))?;
    Ok((
        config,
        KubeTarget {
            source: source_desc,
            context: chosen,
        },
    ))
}

/// Builds a client and proves the apiserver answers, within `timeout`.
pub async fn connect(
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    timeout: Duration,
) -> Result<(kube::Client, KubeTarget), ConnectError> {
    let (config, target) = kube_config(kubeconfig, context).await?;
    let unreachable = |reason: String| ConnectError::Unreachable {
        source_desc: target.source.clone(),
        context: target.context.clone().unwrap_or_else(|| "(none)".into()),
        reason,
    };
    let client = kube::Client::try_from(config).map_err(|e| unreachable(e.to_string()))?;
    match tokio::time::timeout(timeout, client.apiserver_version()).await {
        Ok(Ok(_)) => Ok((client, target)),
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
        let err = kube_config(Some("/nonexistent/kubeconfig".into()), None)
            .await
            .unwrap_err()
            .to_string();
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
        let Err(err) = connect(Some(path.clone()), None, Duration::from_secs(10)).await else {
            panic!("connecting to a closed port succeeded");
        };
        let err = err.to_string();
        assert!(err.contains("\"nowhere\""), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.to_lowercase().contains("refused"), "{err}");
    }
}
