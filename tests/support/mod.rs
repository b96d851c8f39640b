//! Helpers every integration test uses to reach the local environment (`scripts/env/up`).
//!
//! In a test file: `mod support;` then e.g.
//!
//! ```ignore
//! let env = support::Env::get();            // panics "local environment not running" if down
//! let ns = support::TestNamespace::new("deploy"); // deleted again on drop
//! support::kubectl(["-n", ns.name(), "get", "pods"]);
//! support::wait_for("pod ready", Duration::from_secs(60), || check());
//! ```
//!
//! Tests share one environment and run concurrently: make every name unique
//! ([`unique_name`], [`TestNamespace`]) and never stop the environment from a test.
#![allow(dead_code, unused_imports)]

pub mod acr;
pub mod env;
pub mod kube;
pub mod matrix;
pub mod wait;

pub use acr::{acr_copy, admin_creds};
pub use env::Env;
pub use kube::{
    TestNamespace, events_for, kubectl, kubectl_as, kubectl_json, kubectl_stdin, try_kubectl,
    unique_name,
};
pub use wait::wait_for;
