//! One client for ACR and any OCI registry.

pub mod types;
