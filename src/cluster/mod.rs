//! The live model of the cluster: kube-rs watches → slim rows; rollout status and actions.

pub mod model;
