//! `berth` opens the TUI; subcommands run headless (for scripts, CI and runbooks).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    about = "Ship container images from ACR to AKS: registry, cluster and rollout events on one screen",
    long_about = None
)]
struct Cli {
    /// config.toml to use (default: $BERTH_CONFIG, else ~/.config/berth/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Kube context (default: the kubeconfig's current context).
    #[arg(long, global = true, value_name = "NAME")]
    context: Option<String>,
    /// Refuse every mutation (the TUI hides them).
    #[arg(long, global = true)]
    read_only: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("berth: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> color_eyre::Result<ExitCode> {
    let config = berth::config::Config::load(cli.config.as_deref())?;
    let log_file = config
        .general
        .log_file
        .clone()
        .unwrap_or_else(berth::logging::default_log_file);
    berth::logging::init(&log_file);
    match cli.command {
        None => {
            let kubeconfig = cli.kubeconfig.or(config.cluster.kubeconfig.clone());
            let context = cli.context.or(config.cluster.context.clone());
            let (_client, target) =
                berth::startup::connect(kubeconfig, context, Duration::from_secs(10)).await?;
            tracing::info!(context = ?target.context, source = %target.source, "connected");
            eprintln!(
                "berth: connected to {:?}; the TUI is not wired yet",
                target.context
            );
            Ok(ExitCode::FAILURE)
        }
        Some(command) => match command {},
    }
}
