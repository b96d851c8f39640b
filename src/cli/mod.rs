//! Headless commands that span the domains: `berth envs`, `berth promote`. Each prints text,
//! or one JSON object with `--json`, and exits with a status its `--help` lists. (The older
//! commands still live beside their domains: `cluster::cli`, `registry::cli`, `diagnose::cli`.)

pub mod envs;
pub mod promote;
