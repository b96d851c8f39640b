//! The live model of the cluster: kube-rs watches → slim rows; rollout status and actions.
//!
//! The watchers send plain messages ([`model::ModelUpdate`], stamped with an epoch so a
//! previous context's stragglers are dropped) that the UI applies to its own store; `crate::live`
//! does the wiring.
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
//! - [`owner`]: who owns a workload (Helm, Argo CD, Flux), from its labels and annotations.
//! - [`connect`]: kubeconfig/context → client, and the kube identity.
//! - [`logs`]: container log streams (capped lines) and `berth logs`.
//! - [`manifest`]: one object as YAML (Secret data hidden), the kinds berth can name.

pub mod acr_source;
pub mod actions;
pub mod cli;
pub mod connect;
pub mod convert;
pub mod follow;
pub mod liveness;
pub mod logs;
pub mod manifest;
pub mod model;
pub mod owner;
pub mod pull_secret;
pub mod rollout;
pub mod rotate;
pub mod store;
pub mod watch;
