//! Reaching a cluster: kubeconfig + context → client, and who we are there (for the audit log).

use std::path::{Path, PathBuf};

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::api::PostParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "cannot read the kubeconfig {}: {source} (set KUBECONFIG or pass --kubeconfig)",
        path.as_ref().map_or_else(|| "(KUBECONFIG or ~/.kube/config)".to_owned(), |p| p.display().to_string())
    )]
    Read {
        path: Option<PathBuf>,
        source: kube::config::KubeconfigError,
    },
    #[error("kube context {context:?} not found in the kubeconfig; known contexts: {known}")]
    NoSuchContext { context: String, known: String },
    #[error("the kubeconfig has no current-context and none was given (pass --context)")]
    NoContext,
    #[error("cannot use kube context {context:?}: {source}")]
    Config {
        context: String,
        source: kube::config::KubeconfigError,
    },
    #[error("cannot build a kube client for context {context:?}: {source}")]
    Client {
        context: String,
        source: kube::Error,
    },
    /// The user's `exec` credential plugin (kubelogin, `az`, `aws`, ...) failed: its own words.
    #[error(
        "the kubeconfig's credential plugin {command:?} for context {context:?} failed ({status}){}; \
         sign in again as that plugin needs (e.g. `az login`, or `kubelogin convert-kubeconfig`) and retry",
        if said.is_empty() { String::new() } else { format!(": {said}") }
    )]
    ExecPlugin {
        context: String,
        command: String,
        status: String,
        /// The plugin's stderr (else stdout), trimmed.
        said: String,
    },
}

/// A client-building error, with an exec plugin's failure told in its own words.
fn client_error(context: &str, plugin: Option<&str>, source: kube::Error) -> ConnectError {
    if let kube::Error::Auth(kube::client::AuthError::AuthExecRun { out, .. }) = &source {
        let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_owned();
        let said = match text(&out.stderr) {
            s if s.is_empty() => text(&out.stdout),
            s => s,
        };
        return ConnectError::ExecPlugin {
            context: context.to_owned(),
            command: plugin.unwrap_or("exec").to_owned(),
            status: out.status.to_string(),
            said: said.chars().take(500).collect(),
        };
    }
    ConnectError::Client {
        context: context.to_owned(),
        source,
    }
}

/// A connected cluster: the client plus what the kubeconfig says about it.
#[derive(Clone)]
pub struct KubeTarget {
    pub client: Client,
    pub context: String,
    /// The kubeconfig's user entry name of the context (the audit actor when the apiserver
    /// cannot tell us who we are).
    pub kubeconfig_user: Option<String>,
    /// The context's namespace, else `default`.
    pub default_namespace: String,
}

impl std::fmt::Debug for KubeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeTarget")
            .field("context", &self.context)
            .field("kubeconfig_user", &self.kubeconfig_user)
            .field("default_namespace", &self.default_namespace)
            .finish_non_exhaustive()
    }
}

fn read(kubeconfig: Option<&Path>) -> Result<Kubeconfig, ConnectError> {
    match kubeconfig {
        Some(p) => Kubeconfig::read_from(p),
        None => Kubeconfig::read(),
    }
    .map_err(|source| ConnectError::Read {
        path: kubeconfig.map(Path::to_path_buf),
        source,
    })
}

/// Context names of the kubeconfig, and the current one.
pub fn contexts(kubeconfig: Option<&Path>) -> Result<(Vec<String>, Option<String>), ConnectError> {
    let kc = read(kubeconfig)?;
    Ok((
        kc.contexts.iter().map(|c| c.name.clone()).collect(),
        kc.current_context.clone(),
    ))
}

/// Connects to `context` (or the kubeconfig's current context).
pub async fn connect(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<KubeTarget, ConnectError> {
    let mut kc = read(kubeconfig)?;
    crate::handoff::wrap_exec_plugins(&mut kc);
    let name = match context {
        Some(c) => c.to_owned(),
        None => kc.current_context.clone().ok_or(ConnectError::NoContext)?,
    };
    let Some(named) = kc.contexts.iter().find(|c| c.name == name) else {
        return Err(ConnectError::NoSuchContext {
            known: kc
                .contexts
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            context: name,
        });
    };
    let kubeconfig_user = named.context.as_ref().and_then(|c| c.user.clone());
    let plugin = kubeconfig_user
        .as_deref()
        .and_then(|u| kc.auth_infos.iter().find(|a| a.name == u))
        .and_then(|a| a.auth_info.as_ref())
        .and_then(|i| i.exec.as_ref())
        .and_then(|e| e.command.clone());
    let default_namespace = named
        .context
        .as_ref()
        .and_then(|c| c.namespace.clone())
        .unwrap_or_else(|| "default".to_owned());
    let options = KubeConfigOptions {
        context: Some(name.clone()),
        ..Default::default()
    };
    let config = Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(|source| ConnectError::Config {
            context: name.clone(),
            source,
        })?;
    let client = Client::try_from(config)
        .map_err(|source| client_error(&name, plugin.as_deref(), source))?;
    Ok(KubeTarget {
        client,
        context: name,
        kubeconfig_user,
        default_namespace,
    })
}

/// Who the apiserver thinks we are: SelfSubjectReview (Kubernetes ≥ 1.28); older apiservers
/// (1.20 answers 404) fall back to the kubeconfig's user entry name.
pub async fn identity(target: &KubeTarget) -> String {
    let api: Api<SelfSubjectReview> = Api::all(target.client.clone());
    match api
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
    {
        Ok(r) => {
            if let Some(name) = r
                .status
                .and_then(|s| s.user_info)
                .and_then(|u| u.username)
                .filter(|n| !n.is_empty())
            {
                return name;
            }
        }
        Err(e) => tracing::debug!("SelfSubjectReview unavailable, using the kubeconfig user: {e}"),
    }
    target
        .kubeconfig_user
        .clone()
        .unwrap_or_else(|| format!("unknown user of context {}", target.context))
}
