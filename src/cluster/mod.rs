//! The live model of the cluster: kube-rs watches → slim rows; rollout status and actions.
//!
//! - [`model`]: the slim row types and the watcher → owner messages (the contract with the UI).
//! - [`store`]: [`store::ClusterModel`], the plain-data state the messages are applied to.
//! - [`watch`]: the watcher tasks ([`watch::Watchers::spawn`]).
//! - [`rollout`]: rollout status as `kubectl rollout status` computes it.
//! - [`convert`]: Kubernetes objects → rows.

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
