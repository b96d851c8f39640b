//! The live model of the cluster: kube-rs watches → slim rows; rollout status and actions.
//!
//! Wiring the live model into the TUI (plain data, no locks):
//!
//! ```ignore
//! impl From<ModelUpdate> for Action { fn from(u: ModelUpdate) -> Self { Action::Cluster(u) } }
//! let target = connect::connect(kubeconfig, context).await?;
//! let epoch = 1;
//! let mut watchers = Watchers::spawn(target.client.clone(), &WatchOptions::default(), epoch, tx.clone());
//! // update(): Action::Cluster(u) => { if state.cluster.apply(u) { state.dirty = true } }
//! // context switch: drop(watchers); state.cluster.reset(epoch + 1);
//! //                 watchers = Watchers::spawn(new_target.client, &opts, epoch + 1, tx.clone());
//! // status bar: state.cluster.connection()  (Connecting / Live / Reconnecting / Forbidden)
//! ```
//!
//! Actions ([`actions`], [`rotate`]) are async functions taking an [`actions::ActionContext`]
//! (client, actor from [`connect::identity`], audit log, dry-run flag): run them as tasks and
//! send their `ActionReport` / error back as an Action. Headless commands: [`cli`].
//!
//! - [`model`]: the slim row types and the watcher → owner messages (the contract with the UI).
//! - [`store`]: [`store::ClusterModel`], the plain-data state the messages are applied to.
//! - [`watch`]: the watcher tasks ([`watch::Watchers::spawn`]).
//! - [`rollout`]: rollout status as `kubectl rollout status` computes it.
//! - [`convert`]: Kubernetes objects → rows.
//! - [`actions`]: restart, set image, undo, pause/resume (access review, dry run, resourceVersion,
//!   audit).
//! - [`pull_secret`]: dockerconfigjson read/write; [`rotate`]: rotation engine and
//!   `CredentialSource`; [`acr_source`]: ACR admin/token and static sources (minimal ARM client).
//! - [`connect`]: kubeconfig/context → client, and the kube identity.

pub mod acr_source;
pub mod actions;
pub mod cli;
pub mod connect;
pub mod convert;
pub mod model;
pub mod pull_secret;
pub mod rollout;
pub mod rotate;
pub mod store;
pub mod watch;
