//! `berth promote WORKLOAD --from A --to B`: ship what runs in one environment to the next.

use std::time::Duration;

use clap::Args;

use crate::audit::AuditLog;
use crate::cluster::cli::{Workload, parse_workload};
use crate::envs::config::EnvironmentConfig;
use crate::envs::promote::{self, ImageForm, PromoteRequest};
use crate::envs::snapshot::KubeDefaults;
use crate::registry::config::RegistryConfig;

pub const EXIT_HELP: &str = "Steps: retag the promotion tag (the target environment's `tag`, or \
--tag) to the digest the source environment's pods run, lock it (--lock), set the target's \
image (pinned to that digest unless --tag-ref), follow the rollout (--wait), undo it if it gets \
stuck or does not finish (--undo-on-failure). Everything is checked before the first write \
(the source's rollout complete and one digest running, the target workload and container, its \
Helm/Argo CD/Flux owner, RBAC, the registries); each write is audited; the report lists every \
step, so a failure names what was already changed and how to take it back.
Exit status: 0 promoted (or a dry run, or nothing to do); 2 bad input; 3 refused by RBAC or \
the registry; 5 the target's rollout got stuck (undone with --undo-on-failure); 6 the source is \
not complete, or the target's rollout did not finish within --timeout; 8 the promotion tag is \
locked; 11 Helm, Argo CD or Flux manages the target (--force-unmanaged goes on); 1 anything \
else.";

#[derive(Args, Debug, Clone)]
pub struct PromoteArgs {
    /// The workload: NAME (a deployment), deploy/NAME, sts/NAME or ds/NAME.
    #[arg(value_parser = parse_workload, value_name = "WORKLOAD")]
    pub workload: Workload,
    /// The environment whose running image ships ([[environment]] name).
    #[arg(long, value_name = "ENV")]
    pub from: String,
    /// The environment it ships to.
    #[arg(long, value_name = "ENV")]
    pub to: String,
    /// The container to promote (default: the workload's only container).
    #[arg(short, long, value_name = "NAME")]
    pub container: Option<String>,
    /// The promotion tag to move (default: the target environment's `tag`).
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Lock the promotion tag after moving it (ACR: writeEnabled=false).
    #[arg(long)]
    pub lock: bool,
    /// Set the target's image pinned to the digest, repo:TAG@sha256:… (the default).
    #[arg(long, conflicts_with = "tag_ref")]
    pub pin_digest: bool,
    /// Set the target's image to repo:TAG instead (follows the tag; needs a tag).
    #[arg(long)]
    pub tag_ref: bool,
    /// Follow the target's rollout until it is complete or stuck.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: undo the target's rollout when it gets stuck or does not finish.
    #[arg(long, requires = "wait")]
    pub undo_on_failure: bool,
    /// Seconds to wait for each environment to list, and with --wait for the rollout.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// Check everything and show the diff and the steps; write nothing (the set image is a
    /// server-side dry run).
    #[arg(long)]
    pub dry_run: bool,
    /// Go on when Helm, Argo CD or Flux manages the target workload.
    #[arg(long)]
    pub force_unmanaged: bool,
    /// Print one JSON object (the report) instead of text.
    #[arg(long)]
    pub json: bool,
}

impl PromoteArgs {
    pub fn request(&self) -> PromoteRequest {
        PromoteRequest {
            kind: self.workload.kind,
            name: self.workload.name.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            container: self.container.clone(),
            tag: self.tag.clone(),
            lock: self.lock,
            form: if self.tag_ref {
                ImageForm::TagRef
            } else {
                ImageForm::PinDigest
            },
            wait: self.wait,
            timeout: Duration::from_secs(self.timeout.max(1)),
            undo_on_failure: self.undo_on_failure,
            dry_run: self.dry_run,
            force_unmanaged: self.force_unmanaged,
        }
    }
}

pub async fn run(
    args: PromoteArgs,
    envs: &[EnvironmentConfig],
    registries: &[RegistryConfig],
    defaults: &KubeDefaults,
    audit: &AuditLog,
) -> i32 {
    let report = promote::promote(&args.request(), envs, registries, defaults, audit).await;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("report serialises")
        );
    } else {
        let lines = promote::render(&report);
        let (last, body) = lines.split_last().expect("a report has a result line");
        for l in body {
            println!("{l}");
        }
        if report.exit == 0 {
            println!("{last}");
        } else {
            eprintln!("{last}");
        }
    }
    report.exit
}
