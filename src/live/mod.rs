//! The live dashboard: the TUI wired to the real cluster watchers, registry clients, rollout
//! actions, rotation and diagnosis. (Being written: until then `run` says so and exits.)

use std::path::PathBuf;

use crate::audit::AuditLog;
use crate::cluster::connect::KubeTarget;
use crate::config::Config;

/// What the live runner needs to reconnect on a context switch.
#[derive(Clone, Debug, Default)]
pub struct KubeSettings {
    pub kubeconfig: Option<PathBuf>,
    /// Namespaces to watch (config.toml `cluster.namespaces`); empty = the context's namespace.
    pub namespaces: Vec<String>,
}

/// Opens the dashboard on `target` and runs until the user quits.
pub async fn run(
    target: KubeTarget,
    _kube: KubeSettings,
    _config: &Config,
    _read_only: bool,
    _audit: AuditLog,
) -> color_eyre::Result<()> {
    color_eyre::eyre::bail!(
        "connected to {:?}, but the live dashboard is not wired yet; try `berth demo`",
        target.context
    )
}
