//! berth: a terminal dashboard for shipping container images from ACR to AKS.
//!
//! The binary (`src/main.rs`) is thin; everything lives in this library so that the
//! integration tests in `tests/` drive the same code the user runs.

pub mod app;
pub mod audit;
pub mod azure;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod diagnose;
pub mod envs;
pub mod handoff;
pub mod live;
pub mod logging;
pub mod reference;
pub mod registry;
pub mod secret;
pub mod startup;
pub mod theme;
pub mod tui;
pub mod ui;
