//! Environments (dev → staging → prod): the `[[environment]]` entries of config.toml in
//! promotion order ([`config`]), what each one runs, read through the one cluster model
//! ([`snapshot`]), the environments side by side ([`table`]), and a promotion from one to
//! another ([`promote`]). The headless commands are in [`crate::cli`].

pub mod config;
pub mod promote;
pub mod snapshot;
pub mod table;
