//! One client for ACR and any OCI registry.
//!
//! - [`client::RegistryClient`]: authentication (Basic / Bearer challenges, per-scope token
//!   cache, Entra exchange for ACR), retries for safe requests, error mapping.
//! - [`probe::probe`]: fetch one manifest with exactly given credentials and report precisely
//!   what happened (the diagnosis engine's evidence).
//! - [`config::RegistryConfig`]: the `[[registry]]` section of config.toml.

pub mod challenge;
pub mod cli;
pub mod client;
pub mod config;
pub mod connect;
pub mod credential;
pub mod error;
pub mod list;
pub mod manifest;
pub mod ops;
pub mod probe;
pub mod retag;
pub mod types;

pub use client::{ClientConfig, RegistryClient, RetryPolicy, Stats};
pub use config::{CredentialSource, RegistryConfig, RegistryKind};
pub use credential::Credential;
pub use error::RegistryError;
pub use probe::{ProbeOptions, ProbeOutcome, ProbeReport, probe};
