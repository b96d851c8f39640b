//! One client for ACR and any OCI registry.
//!
//! - [`connect::connect`]: a `[[registry]]` entry ([`config::RegistryConfig`]) → a
//!   [`connect::Registry`] (client + ARM client when configured).
//! - [`client::RegistryClient`]: authentication (Basic / Bearer challenges, per-scope token
//!   cache refreshed before expiry and after a 401, anonymous, Basic, docker config.json and its
//!   helpers, the Entra exchange for ACR), retries for GET/HEAD only (backoff, `Retry-After`),
//!   errors naming registry and object; [`ops`] has manifest and blob calls.
//! - [`list`]: repositories and tags as page streams (`Link` pagination), lazy tag details
//!   with bounded concurrency.
//! - [`retag::retag`]: same-repository retag, cross-repository promote by mount, cross-registry
//!   import over ARM or streamed copy; never overwrites without force; audited.
//! - [`probe::probe`]: fetch one manifest with exactly given credentials and report precisely
//!   what happened (the diagnosis engine's evidence).
//! - [`cli`]: `berth registry repos|tags|diff|lock|unlock`, `berth retag`.
//! - [`shipping`]: what differs between two images ("what am I shipping"), read through
//!   [`content_cache`] (manifests and configs kept on disk by digest).
//! - `tls`: whom the clients trust: `ca_file`, then the system store (read lazily, once).

pub mod challenge;
pub mod cli;
pub mod client;
pub mod config;
pub mod connect;
pub mod content_cache;
pub mod credential;
pub mod error;
pub mod list;
pub mod locks;
pub mod manifest;
pub mod ops;
pub mod probe;
pub mod retag;
pub mod shipping;
mod tls;
pub mod types;

pub use client::{ClientConfig, RegistryClient, RetryPolicy, Stats};
pub use config::{CredentialSource, RegistryConfig, RegistryKind};
pub use connect::{Registry, connect};
pub use credential::Credential;
pub use error::RegistryError;
pub use probe::{ProbeOptions, ProbeOutcome, ProbeReport, probe};
