//! `berth envs`: every `[[environment]]` side by side.

use std::time::Duration;

use clap::Args;

use crate::cluster::cli::{EXIT_FAILED, EXIT_INVALID, EXIT_OK, EXIT_PARTIAL};
use crate::envs::config::EnvironmentConfig;
use crate::envs::snapshot::{self, KubeDefaults, Reach};
use crate::envs::table;

pub const EXIT_HELP: &str = "Exit status: 0 every environment was read; 7 some could not be \
(each says why; the others are shown); 1 none could; 2 bad input (no [[environment]] in \
config.toml, an unknown name).";

#[derive(Args, Debug, Clone)]
pub struct EnvsArgs {
    /// Only these environments (default: every [[environment]], in promotion order).
    #[arg(value_name = "ENV")]
    pub only: Vec<String>,
    /// Give up on an environment that has not answered and listed within this many seconds.
    #[arg(long, default_value_t = 20, value_name = "SECONDS")]
    pub timeout: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn fail(json: bool, code: &str, message: &str, exit: i32) -> i32 {
    if json {
        println!("{}", serde_json::json!({"error": code, "message": message}));
    } else {
        eprintln!("error: {message}");
    }
    exit
}

/// The environments `only` names (all of them when empty), in promotion order.
pub fn pick(envs: &[EnvironmentConfig], only: &[String]) -> Result<Vec<EnvironmentConfig>, String> {
    if envs.is_empty() {
        return Err(
            "config.toml has no [[environment]] entries: add one per environment, in \
                    promotion order (see config.example.toml)"
                .to_owned(),
        );
    }
    for name in only {
        crate::envs::config::find(envs, name)?;
    }
    Ok(envs
        .iter()
        .filter(|e| only.is_empty() || only.contains(&e.name))
        .cloned()
        .collect())
}

pub async fn run(args: EnvsArgs, envs: &[EnvironmentConfig], defaults: &KubeDefaults) -> i32 {
    let chosen = match pick(envs, &args.only) {
        Ok(c) => c,
        Err(e) => return fail(args.json, "invalid", &e, EXIT_INVALID),
    };
    let snapshots =
        snapshot::read_all(&chosen, defaults, Duration::from_secs(args.timeout.max(1))).await;
    let failed = snapshots.iter().filter(|s| s.reach != Reach::Live).count();
    let code = match failed {
        0 => EXIT_OK,
        n if n == snapshots.len() => EXIT_FAILED,
        _ => EXIT_PARTIAL,
    };
    if args.json {
        let rows = table::rows(&snapshots);
        let workloads: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let cells: serde_json::Map<String, serde_json::Value> = snapshots
                    .iter()
                    .zip(&r.cells)
                    .map(|(e, c)| (e.name.clone(), serde_json::to_value(c).expect("serialises")))
                    .collect();
                serde_json::json!({
                    "kind": r.kind,
                    "name": r.name,
                    "differs": r.differs,
                    "environments": cells,
                })
            })
            .collect();
        let environments: Vec<serde_json::Value> = snapshots
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.name,
                    "context": s.context,
                    "namespaces": s.namespaces,
                    "reach": s.reach,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "environments": environments,
                "workloads": workloads,
            }))
            .expect("serialises")
        );
    } else {
        for line in table::render(&snapshots, jiff::Timestamp::now()) {
            println!("{line}");
        }
    }
    code
}
