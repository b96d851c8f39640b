//! `berth diagnose [-n NS] [POD] [--all] [--json]`: the diagnosis, headless.
//!
//! Entry point for `src/main.rs` (wire it as the `diagnose` subcommand):
//!
//! ```text
//! Command::Diagnose(args) => berth::diagnose::cli::run_connected(args, kubeconfig.as_deref(), context.as_deref(), &config).await
//! // or, with a client already connected:
//! Command::Diagnose(args) => berth::diagnose::cli::run(args, &target.client, &target.default_namespace, &config).await
//! ```
//!
//! Output: text for people (per failing container: the cause as the first line, then the
//! evidence, then the fix as commands), or with `--json` one document
//! `{"ok": bool, "diagnoses": [...]}`. On failure a one-line reason on stderr (with `--json`
//! also `{"error":{"kind","message"}}` on stdout).
//!
//! Exit codes: 0 no failing image pull in scope; 1 a cause was found (printed); 2 bad input;
//! 3 the pod does not exist; 8 the cluster could not be read.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::gather::{self, GatherError, GatherOptions};
use super::{Diagnosis, render};
use crate::config::Config;

#[derive(Debug, Clone, Args)]
pub struct DiagnoseArgs {
    /// The pod to diagnose. Without it, give --all.
    pub pod: Option<String>,
    /// Namespace (default: the kube context's namespace; with --all and no -n: every namespace).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Diagnose every pod whose image pull fails (or crawls) in the namespace, or in every
    /// namespace when -n is not given.
    #[arg(long, conflicts_with = "pod")]
    pub all: bool,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
    /// Extra CA bundle to trust for registries that have no `ca_file` in config.toml.
    #[arg(long, value_name = "FILE", env = "BERTH_CA_FILE")]
    pub ca_file: Option<PathBuf>,
}

pub const EXIT_CAUSE_FOUND: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;
pub const EXIT_POD_NOT_FOUND: u8 = 3;
pub const EXIT_CLUSTER: u8 = 8;

/// Connects (kubeconfig and context as everywhere in berth), then [`run`]s.
pub async fn run_connected(
    args: DiagnoseArgs,
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
    config: &Config,
) -> ExitCode {
    match crate::cluster::connect::connect(kubeconfig, context).await {
        Ok(target) => run(args, &target.client, &target.default_namespace, config).await,
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    json!({"error": {"kind": "cluster", "message": e.to_string()}})
                );
            }
            eprintln!("berth diagnose: {e}");
            ExitCode::from(EXIT_CLUSTER)
        }
    }
}

/// Runs the command and prints its result; returns the exit code.
pub async fn run(
    args: DiagnoseArgs,
    client: &kube::Client,
    default_namespace: &str,
    config: &Config,
) -> ExitCode {
    let (text, code) = report(&args, client, default_namespace, config).await;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = out.write_all(text.stdout.as_bytes());
    let _ = out.flush();
    if let Some(e) = text.stderr {
        eprintln!("berth diagnose: {e}");
    }
    ExitCode::from(code)
}

/// What the command prints.
#[derive(Debug, Default)]
pub struct Output {
    pub stdout: String,
    pub stderr: Option<String>,
}

/// The command without printing: output and exit code (for tests and other front ends).
pub async fn report(
    args: &DiagnoseArgs,
    client: &kube::Client,
    default_namespace: &str,
    config: &Config,
) -> (Output, u8) {
    let fail = |kind: &str, message: String, code: u8| {
        let stdout = if args.json {
            format!("{}\n", json!({"error": {"kind": kind, "message": message}}))
        } else {
            String::new()
        };
        (
            Output {
                stdout,
                stderr: Some(message),
            },
            code,
        )
    };
    if args.pod.is_none() && !args.all {
        return fail(
            "bad_input",
            "name a pod (berth diagnose -n NS POD) or give --all for every failing pod".to_owned(),
            EXIT_BAD_INPUT,
        );
    }
    if let Some(ns) = &args.namespace
        && !crate::config::is_dns1123_label(ns)
    {
        return fail(
            "bad_input",
            format!("{ns:?} is not a valid namespace name (lowercase letters, digits and '-')"),
            EXIT_BAD_INPUT,
        );
    }

    let mut opts = GatherOptions::from_config(config);
    opts.default_ca_file = args.ca_file.clone();
    let result = match &args.pod {
        Some(pod) => {
            let ns = args.namespace.as_deref().unwrap_or(default_namespace);
            gather::diagnose_pod(client, ns, pod, &opts).await
        }
        None => gather::diagnose_scope(client, args.namespace.as_deref(), &opts).await,
    };
    let diagnoses = match result {
        Ok(d) => d,
        Err(e @ GatherError::PodNotFound { .. }) => {
            return fail("pod_not_found", e.to_string(), EXIT_POD_NOT_FOUND);
        }
        Err(e @ GatherError::Kube { .. }) => return fail("cluster", e.to_string(), EXIT_CLUSTER),
    };
    let code = if diagnoses.is_empty() {
        0
    } else {
        EXIT_CAUSE_FOUND
    };
    let stdout = if args.json {
        format!("{}\n", render::json(&diagnoses))
    } else {
        text(args, default_namespace, &diagnoses)
    };
    (
        Output {
            stdout,
            stderr: None,
        },
        code,
    )
}

fn text(args: &DiagnoseArgs, default_namespace: &str, diagnoses: &[Diagnosis]) -> String {
    if diagnoses.is_empty() {
        let scope = match (&args.pod, &args.namespace) {
            (Some(p), ns) => format!("pod {}/{p}", ns.as_deref().unwrap_or(default_namespace)),
            (None, Some(ns)) => format!("namespace {ns}"),
            (None, None) => "any namespace".to_owned(),
        };
        return format!("no failing image pull in {scope}\n");
    }
    let mut s = String::new();
    // Several pods: one line each first, so the top of the output still says what is wrong.
    if args.all {
        for d in diagnoses {
            s.push_str(&format!(
                "{}/{} ({}): {}\n",
                d.namespace, d.pod, d.container, d.headline
            ));
        }
        s.push('\n');
    }
    for (i, d) in diagnoses.iter().enumerate() {
        if i > 0 {
            s.push_str("\n────────\n\n");
        }
        s.push_str(&render::text(d));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Debug, Parser)]
    struct Top {
        #[command(flatten)]
        args: DiagnoseArgs,
    }

    #[test]
    fn arguments_parse_as_documented() {
        Top::command().debug_assert();
        let t = Top::try_parse_from(["diagnose", "-n", "shop", "web-1", "--json"]).unwrap();
        assert_eq!(t.args.pod.as_deref(), Some("web-1"));
        assert_eq!(t.args.namespace.as_deref(), Some("shop"));
        assert!(t.args.json && !t.args.all);
        let t = Top::try_parse_from(["diagnose", "--all"]).unwrap();
        assert!(t.args.all && t.args.pod.is_none() && t.args.namespace.is_none());
        let err = Top::try_parse_from(["diagnose", "--all", "web-1"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn text_for_nothing_wrong_names_the_scope() {
        let a = |pod: Option<&str>, ns: Option<&str>| DiagnoseArgs {
            pod: pod.map(str::to_owned),
            namespace: ns.map(str::to_owned),
            all: pod.is_none(),
            json: false,
            ca_file: None,
        };
        assert_eq!(
            text(&a(Some("p"), None), "default", &[]),
            "no failing image pull in pod default/p\n"
        );
        assert_eq!(
            text(&a(None, None), "default", &[]),
            "no failing image pull in any namespace\n"
        );
    }
}
