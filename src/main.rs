//! `berth` opens the TUI; subcommands run headless (for scripts, CI and runbooks).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use berth::audit::AuditLog;
use berth::cluster::cli::{RolloutArgs, RolloutCommand, SecretArgs, SecretCommand};
use berth::config::Config;
use berth::diagnose::cli::DiagnoseArgs;
use berth::registry::cli::{RegistryArgs, RegistryCommand, RetagArgs};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    about = "Ship container images from ACR to AKS: registry, cluster and rollout events on one screen",
    long_about = "Ship container images from ACR to AKS: registry, cluster and rollout events on \
                  one screen.\n\nWithout a subcommand berth opens the dashboard on the current \
                  kubeconfig context. The subcommands do the same work headless, for scripts and \
                  runbooks; each prints text (or --json) and exits non-zero when something is wrong."
)]
struct Cli {
    /// config.toml to use (default: $BERTH_CONFIG, else ~/.config/berth/config.toml).
    #[arg(long, global = true, display_order = 900, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Kubeconfig file (default: config.toml's cluster.kubeconfig, $KUBECONFIG, ~/.kube/config).
    #[arg(long, global = true, display_order = 900, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Kube context (default: config.toml's cluster.context, else the kubeconfig's current one).
    #[arg(long, global = true, display_order = 900, value_name = "NAME")]
    context: Option<String>,
    /// Refuse every mutation (the TUI hides them); also `general.read_only` in config.toml.
    #[arg(long, global = true, display_order = 900)]
    read_only: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Browse a configured registry: repositories and tags.
    Registry(RegistryArgs),
    /// Copy a tag to a new tag (promote), in the same or another repository or registry.
    Retag(RetagArgs),
    /// Deployment rollouts: status, restart, set image, undo, pause, resume.
    Rollout(RolloutArgs),
    /// Image pull secrets: rotate the registry credentials they hold, attach them.
    Secret(SecretArgs),
    /// Why a pod cannot pull its image, with the evidence and the fix.
    Diagnose(DiagnoseArgs),
    /// Every [[environment]] side by side: per workload the tag, the digest its pods run, the
    /// revision, its age and the rollout state, and whether the environments differ.
    Envs(berth::cli::envs::EnvsArgs),
    /// Ship what runs in one environment to another: retag (and lock) the promotion tag, set
    /// the image pinned to the digest, follow the rollout, undo it if it gets stuck.
    Promote(berth::cli::promote::PromoteArgs),
    /// The logs of a pod, or of every pod of a workload interleaved (-f follows, and a
    /// rollout's new pods join).
    Logs(berth::cluster::logs::LogsArgs),
    /// Can the AKS nodes pull from the registry with their kubelet identity? (the node pool,
    /// the role assignment, the network rules; --fix makes the fixes)
    CheckAcr(berth::diagnose::check_acr::CheckAcrArgs),
    /// Open the dashboard on built-in demo data (no cluster or registry needed).
    Demo,
    /// Internal: runs a kubeconfig exec credential plugin for the dashboard, which lends the
    /// plugin the terminal when it prompts.
    #[command(name = "exec-credential-handoff", hide = true)]
    ExecCredentialHandoff {
        /// The plugin and its arguments, after `--`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// Print a shell completion script (bash: `source <(berth completions bash)`).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page as roff (`berth man | man -l -`; `berth man rollout set-image`
    /// for a subcommand's page).
    Man {
        /// The subcommand whose page to print (default: berth's own).
        #[arg(value_name = "SUBCOMMAND")]
        path: Vec<String>,
    },
}

impl Command {
    /// The name of the mutation this command would make, if it makes one for real.
    fn mutation(&self) -> Option<&'static str> {
        match self {
            Command::Retag(_) => Some("retag"),
            Command::Rollout(r) => match &r.command {
                RolloutCommand::Status { .. } => None,
                RolloutCommand::Restart { dry_run, .. } => (!dry_run).then_some("rollout restart"),
                RolloutCommand::SetImage { dry_run, .. } => {
                    (!dry_run).then_some("rollout set-image")
                }
                RolloutCommand::Undo { dry_run, .. } => (!dry_run).then_some("rollout undo"),
                RolloutCommand::Pause { dry_run, .. } => (!dry_run).then_some("rollout pause"),
                RolloutCommand::Resume { dry_run, .. } => (!dry_run).then_some("rollout resume"),
            },
            Command::Secret(s) => match &s.command {
                SecretCommand::Rotate { dry_run, .. } => (!dry_run).then_some("secret rotate"),
                SecretCommand::Attach { dry_run, .. } => (!dry_run).then_some("secret attach"),
            },
            Command::Registry(r) => match &r.command {
                RegistryCommand::Lock { .. } => Some("registry lock"),
                RegistryCommand::Unlock { .. } => Some("registry unlock"),
                RegistryCommand::Repos { .. }
                | RegistryCommand::Tags { .. }
                | RegistryCommand::Diff { .. } => None,
            },
            Command::CheckAcr(a) => (a.fix && !a.dry_run).then_some("check-acr --fix"),
            Command::Promote(a) => (!a.dry_run).then_some("promote"),
            Command::Diagnose(_)
            | Command::Envs(_)
            | Command::Logs(_)
            | Command::Demo
            | Command::ExecCredentialHandoff { .. }
            | Command::Completions { .. }
            | Command::Man { .. } => None,
        }
    }
}

/// Exit code of a refused mutation (read-only mode), matching the cluster commands' "refused".
const EXIT_READ_ONLY: u8 = 4;

/// The CLI with the audit exit statuses in the `--help` of every command that changes something
/// (appended, so help text written on the commands themselves stays).
fn cli_command() -> clap::Command {
    fn with_audit_help(c: clap::Command) -> clap::Command {
        with_exit_help(c, berth::audit::EXIT_HELP)
    }
    fn with_exit_help(c: clap::Command, text: &'static str) -> clap::Command {
        let join = |h: Option<&clap::builder::StyledStr>| match h {
            Some(h) => format!("{h}\n\n{text}"),
            None => text.to_owned(),
        };
        let short = join(c.get_after_help());
        let long = c.get_after_long_help().map(|h| join(Some(h)));
        let c = c.after_help(short);
        match long {
            Some(l) => c.after_long_help(l),
            None => c,
        }
    }
    Cli::command()
        .mut_subcommand("retag", with_audit_help)
        .mut_subcommand("registry", |c| {
            c.mut_subcommands(|s| match s.get_name() {
                "lock" | "unlock" => with_audit_help(s),
                _ => s,
            })
        })
        .mut_subcommand("check-acr", with_audit_help)
        .mut_subcommand("envs", |c| with_exit_help(c, berth::cli::envs::EXIT_HELP))
        .mut_subcommand("promote", |c| {
            with_audit_help(with_exit_help(c, berth::cli::promote::EXIT_HELP))
        })
        .mut_subcommand("logs", |c| {
            with_exit_help(c, berth::cluster::logs::EXIT_HELP)
        })
        .mut_subcommand("rollout", |c| {
            with_audit_help(c).mut_subcommands(|s| match s.get_name() {
                "status" => s,
                "restart" | "set-image" | "undo" => {
                    with_audit_help(with_exit_help(s, berth::cluster::cli::EXIT_MANAGED_HELP))
                }
                _ => with_audit_help(s),
            })
        })
        .mut_subcommand("secret", |c| {
            with_audit_help(c).mut_subcommands(with_audit_help)
        })
}

fn main() -> ExitCode {
    let cli = Cli::from_arg_matches(&cli_command().get_matches()).unwrap_or_else(|e| e.exit());
    // These two only print what clap knows: no config, log or runtime needed.
    match &cli.command {
        Some(Command::Completions { shell }) => {
            clap_complete::generate(*shell, &mut cli_command(), "berth", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Some(Command::Man { path }) => return man_page(path),
        Some(Command::ExecCredentialHandoff { command }) => {
            return berth::handoff::run_shim(command);
        }
        _ => {}
    }
    // The headless registry commands make a few requests one after the other: one thread does
    // them, without starting a worker per core.
    let runtime = match &cli.command {
        Some(Command::Registry(_) | Command::Retag(_)) => {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        _ => tokio::runtime::Runtime::new(),
    };
    let runtime = match runtime {
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
    let config = Config::load(cli.config.as_deref())?;
    let log_file = config
        .general
        .log_file
        .clone()
        .unwrap_or_else(berth::logging::default_log_file);
    berth::logging::init(&log_file);
    let kubeconfig = cli.kubeconfig.or(config.cluster.kubeconfig.clone());
    let context = cli.context.or(config.cluster.context.clone());
    let read_only = cli.read_only || config.general.read_only;
    let audit = config
        .general
        .audit_log
        .clone()
        .map(AuditLog::new)
        .unwrap_or_else(AuditLog::default_location);

    let Some(command) = cli.command else {
        // From here on the kubeconfig's credential plugins run through berth, which lends them
        // the terminal when they prompt (kubelogin's device code on AKS with Entra ID).
        berth::handoff::enable();
        let target = berth::startup::connect(
            kubeconfig.as_deref(),
            context.as_deref(),
            Duration::from_secs(10),
        )
        .await?;
        tracing::info!(context = %target.context, "connected");
        let kube = berth::live::KubeSettings {
            kubeconfig,
            namespaces: config.cluster.namespaces.clone(),
        };
        berth::live::run(target, kube, &config, read_only, audit).await?;
        // Ended by SIGTERM, SIGINT or SIGHUP: 143, 130, 129 (the terminal is restored by now).
        return Ok(ExitCode::from(berth::tui::exit_status()));
    };

    if read_only && let Some(what) = command.mutation() {
        eprintln!(
            "berth: read-only mode refuses `{what}`; nothing was changed. Run without --read-only \
             (and with general.read_only = false in config.toml), or add --dry-run where the \
             command has it."
        );
        return Ok(ExitCode::from(EXIT_READ_ONLY));
    }
    Ok(match command {
        Command::Registry(args) => {
            berth::registry::cli::run_registry(args, &config.registries, &audit).await
        }
        Command::Retag(args) => {
            berth::registry::cli::run_retag(args, &config.registries, &audit).await
        }
        Command::Rollout(mut args) => {
            args.kube.kubeconfig = kubeconfig;
            args.kube.context = context;
            args.kube.audit_log = Some(audit.path().to_path_buf());
            exit_code(berth::cluster::cli::run_rollout(args).await)
        }
        Command::Secret(mut args) => {
            args.kube.kubeconfig = kubeconfig;
            args.kube.context = context;
            args.kube.audit_log = Some(audit.path().to_path_buf());
            exit_code(berth::cluster::cli::run_secret(args).await)
        }
        Command::Diagnose(args) => {
            berth::diagnose::cli::run_connected(
                args,
                kubeconfig.as_deref(),
                context.as_deref(),
                &config,
            )
            .await
        }
        Command::Envs(args) => {
            let defaults = berth::envs::snapshot::KubeDefaults {
                kubeconfig,
                context,
            };
            exit_code(berth::cli::envs::run(args, &config.environments, &defaults).await)
        }
        Command::Promote(args) => {
            let defaults = berth::envs::snapshot::KubeDefaults {
                kubeconfig,
                context,
            };
            exit_code(
                berth::cli::promote::run(
                    args,
                    &config.environments,
                    &config.registries,
                    &defaults,
                    &audit,
                )
                .await,
            )
        }
        Command::Logs(mut args) => {
            args.kubeconfig = kubeconfig;
            args.context = context;
            exit_code(berth::cluster::logs::run(args).await)
        }
        Command::CheckAcr(args) => {
            berth::diagnose::check_acr::run(
                args,
                kubeconfig.as_deref(),
                context.as_deref(),
                &config,
                &audit,
            )
            .await
        }
        Command::Demo => {
            berth::tui::run_demo(config.theme.clone()).await?;
            ExitCode::from(berth::tui::exit_status())
        }
        Command::Completions { .. }
        | Command::Man { .. }
        | Command::ExecCredentialHandoff { .. } => {
            unreachable!("handled in main")
        }
    })
}

/// `berth man [SUBCOMMAND…]`: the roff page of berth or of one of its subcommands.
fn man_page(path: &[String]) -> ExitCode {
    let mut cmd = cli_command();
    cmd.build();
    let mut page = cmd;
    for name in path {
        let Some(sub) = page.find_subcommand(name).cloned() else {
            let known: Vec<&str> = page
                .get_subcommands()
                .map(|c| c.get_name())
                .filter(|n| *n != "help")
                .collect();
            eprintln!(
                "berth man: {} has no subcommand {name:?} (it has: {})",
                page.get_name(),
                known.join(", ")
            );
            return ExitCode::from(2);
        };
        page = sub;
    }
    if !path.is_empty() {
        page = page
            .name(format!("berth-{}", path.join("-")))
            .version(env!("CARGO_PKG_VERSION"));
    }
    let mut out = std::io::stdout().lock();
    match clap_mangen::Man::new(page).render(&mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth man: {e}");
            ExitCode::FAILURE
        }
    }
}

fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_argument_and_subcommand_has_help() {
        fn walk(c: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in c.get_arguments() {
                if a.is_hide_set() || matches!(a.get_id().as_str(), "help" | "version") {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path}: {}", a.get_id()));
                }
            }
            for s in c.get_subcommands().filter(|s| s.get_name() != "help") {
                let sub = format!("{path} {}", s.get_name());
                if s.get_about().is_none() {
                    missing.push(format!("{sub} (no about)"));
                }
                walk(s, &sub, missing);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        cmd.clone().debug_assert();
        let mut missing = Vec::new();
        walk(&cmd, "berth", &mut missing);
        assert!(missing.is_empty(), "without help text: {missing:#?}");
    }
}
