//! The live dashboard: the TUI wired to the real cluster watchers, registry clients, rollout
//! actions, rotation and diagnosis.
//!
//! - [`watchers`]: the watchers of one context bridged into the Action channel, and what the
//!   identity may watch;
//! - [`cluster_side`]: the context in use, context and namespace switches;
//! - [`permissions`]: access reviews per mutation kind → `Action::Permissions`;
//! - [`registry_side`]: repositories, tags and retag from the configured registries;
//! - [`rollout`], [`rotation`], [`diagnosis`]: the cluster mutations, pull-secret rotation, and
//!   the diagnosis panel's view;
//! - [`logs`]: the logs view's streams, one bounded queue per view, batches per frame;
//! - [`runner`]: `EffectRunner` — one task per effect, progress, exactly one result;
//! - [`outcome`]: results and errors as the user reads them.

pub mod cluster_side;
pub mod diagnosis;
pub mod logs;
pub mod outcome;
pub mod permissions;
pub mod registry_side;
pub mod rollout;
pub mod rotation;
pub mod runner;
pub mod watchers;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::app::action::{Action, Notice};
use crate::app::keymap::{Keymap, KeysConfig};
use crate::app::state::{ReadOnly, State};
use crate::audit::AuditLog;
use crate::cluster::connect::{self, KubeTarget};
use crate::config::Config;
use crate::diagnose::gather::GatherOptions;

use cluster_side::{ClusterSide, KubeNow};
use registry_side::Registries;
use runner::{LiveRunner, Shared};

/// What the live runner needs to reconnect on a context switch.
#[derive(Clone, Debug, Default)]
pub struct KubeSettings {
    pub kubeconfig: Option<PathBuf>,
    /// Namespaces to watch (config.toml `cluster.namespaces`); empty = every namespace the
    /// identity may list (else the context's namespace). The first is the one shown at start.
    pub namespaces: Vec<String>,
}

/// The facts the first frame is drawn from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Start {
    pub context: String,
    pub contexts: Vec<String>,
    pub namespace: String,
    /// Why mutations are off, when they are.
    pub read_only: Option<String>,
    pub theme: Arc<crate::ui::Theme>,
    /// The `[[registry]]` names; the first is browsed at start.
    pub registries: Vec<String>,
}

/// The namespace shown at start: the first configured one, else the context's.
pub fn start_namespace(settings: &KubeSettings, target_default: &str) -> String {
    settings
        .namespaces
        .first()
        .cloned()
        .unwrap_or_else(|| target_default.to_owned())
}

/// Why berth is read-only, in the words of the switch that made it so.
pub fn read_only_reason(cli_or_config: bool, config: bool) -> Option<String> {
    match (cli_or_config, config) {
        (false, _) => None,
        (true, true) => Some("general.read_only in config.toml".to_owned()),
        (true, false) => Some("--read-only".to_owned()),
    }
}

/// The State berth opens with: the context and namespace in view, read-only marked (every
/// mutation refused, with the reason on the key hints), the key map with the config's
/// overrides (bad entries become warnings), everything else still connecting.
pub fn initial_state(start: &Start, keys: &KeysConfig, now: jiff::Timestamp) -> State {
    let mut s = State::new(now);
    let (keymap, warnings) = Keymap::with_overrides(keys);
    s.keymap = keymap;
    s.theme = start.theme.clone();
    s.registries = start.registries.clone();
    s.registry_name = start.registries.first().cloned().unwrap_or_default();
    for w in warnings {
        crate::app::notices::notify(&mut s, Notice::warning(format!("config.toml {w}")));
    }
    s.context = start.context.clone();
    s.contexts = start.contexts.clone();
    if !s.contexts.contains(&s.context) {
        s.contexts.push(s.context.clone());
    }
    s.namespace = start.namespace.clone();
    if let Some(why) = &start.read_only {
        s.read_only = ReadOnly::On(why.clone());
    }
    s
}

/// Opens the dashboard on `target` and runs until the user quits.
pub async fn run(
    target: KubeTarget,
    kube: KubeSettings,
    config: &Config,
    read_only: bool,
    audit: AuditLog,
) -> color_eyre::Result<()> {
    crate::cluster::watch::heap::limit_arenas();
    let actor = connect::identity(&target).await;
    let contexts = connect::contexts(kube.kubeconfig.as_deref())
        .map(|(c, _)| c)
        .unwrap_or_default();
    let namespace = start_namespace(&kube, &target.default_namespace);
    let plan = watchers::plan(&target.client, &actor, &kube.namespaces, &namespace).await;
    let start = Start {
        context: target.context.clone(),
        contexts,
        namespace: namespace.clone(),
        read_only: read_only_reason(read_only, config.general.read_only),
        theme: crate::ui::Theme::from_env(config.theme.clone()),
        registries: config.registries.iter().map(|r| r.name.clone()).collect(),
    };
    let state = initial_state(&start, &config.keys, jiff::Timestamp::now());

    let registries = Registries::new(config.registries.clone());
    let rotation = rotation::availability(registries.primary(), rotation::env_var_set);
    let mut gather = GatherOptions::from_config(config);
    // As `berth diagnose` does: a CA for registries that have no ca_file of their own.
    gather.default_ca_file = std::env::var_os("BERTH_CA_FILE").map(PathBuf::from);
    let shared = Arc::new(Shared {
        cluster: ClusterSide::new(
            kube,
            KubeNow { target, actor },
            plan,
            namespace.clone(),
            rotation,
        ),
        registries,
        audit,
        read_only,
        gather,
        slot_in_use: Mutex::new(None),
    });

    let feed_shared = Arc::clone(&shared);
    let feed = move |tx: tokio::sync::mpsc::UnboundedSender<Action>| {
        feed_shared.cluster.start(&tx);
        tokio::spawn(async move {
            let s = feed_shared;
            let skipped = {
                let w = s.cluster.watch.lock().await;
                watchers::skipped_notice(&w.plan)
            };
            if let Some(text) = skipped {
                let _ = tx.send(Action::Notice(Notice::warning(text)));
            }
            let repos = registry_side::load_repositories(&s.registries, &tx);
            let perms = async {
                if !s.read_only {
                    s.cluster.send_permissions(&namespace, &tx).await;
                }
            };
            let (loaded, ()) = futures::join!(repos, perms);
            if let Err(e) = loaded {
                let _ = tx.send(Action::Notice(Notice::error(e.to_string())));
            }
        });
    };
    tui_run(state, LiveRunner::new(shared), feed).await
}

async fn tui_run(
    state: State,
    runner: LiveRunner,
    feed: impl FnOnce(tokio::sync::mpsc::UnboundedSender<Action>),
) -> color_eyre::Result<()> {
    crate::tui::run(state, runner, feed)
        .await
        .map(|_| ())
        .map_err(|e| color_eyre::eyre::eyre!("the terminal failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_says_which_switch() {
        assert_eq!(read_only_reason(false, false), None);
        assert_eq!(
            read_only_reason(true, false).as_deref(),
            Some("--read-only")
        );
        assert_eq!(
            read_only_reason(true, true).as_deref(),
            Some("general.read_only in config.toml")
        );
    }

    #[test]
    fn the_first_configured_namespace_is_shown() {
        let s = KubeSettings {
            kubeconfig: None,
            namespaces: vec!["shop".into(), "payments".into()],
        };
        assert_eq!(start_namespace(&s, "default"), "shop");
        assert_eq!(start_namespace(&KubeSettings::default(), "ops"), "ops");
    }
}
