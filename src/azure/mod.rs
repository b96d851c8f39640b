//! Azure: credentials from config (`azure_identity`) and ARM calls with long-running-operation
//! polling.

pub mod aks;
pub mod arm;
pub mod credential;
