//! A promotion: what runs in environment A goes to environment B.
//!
//! 1. **Plan** (reads only): A's workload must be complete and its pods must run one digest of
//!    the container; B's workload and container must exist; B's owner (Helm, Argo CD, Flux) and
//!    B's RBAC are checked; what changes is read from the registry (the digests' manifests and
//!    configs, from the content cache when seen before).
//! 2. **Steps**, each audited where it writes, in this order, stopping at the first failure:
//!    retag the promotion tag (B's `tag`, or `--tag`) to the digest, lock it (`--lock`), set B's
//!    image (pinned to the digest by default, or the tag), follow B's rollout (`--wait`), and
//!    undo it when it gets stuck or does not finish (`--undo-on-failure`).
//!
//! The report lists every step with what it did, so a failure names what was already changed
//! (and how to take it back) and what was not done.

use std::time::Duration;

use serde::Serialize;

use super::config::EnvironmentConfig;
use super::snapshot::{self, KubeDefaults, Reached, WorkloadRun};
use crate::audit::AuditLog;
use crate::cluster::actions::{
    self, ActionContext, ActionError, ImageTarget, OwnerPolicy, Permission,
};
use crate::cluster::cli::{
    EXIT_FAILED, EXIT_INVALID, EXIT_MANAGED, EXIT_NOT_READY, EXIT_OK, EXIT_REFUSED, EXIT_STUCK,
};
use crate::cluster::connect;
use crate::cluster::follow::{Follow, FollowEnd};
use crate::cluster::model::{DeploymentRow, RolloutState, WorkloadKind};
use crate::cluster::owner::OwnedAction;
use crate::cluster::watch::WatchOptions;
use crate::reference::{Reference, same_host, short_digest, split_image};
use crate::registry::config::{RegistryConfig, RegistryKind};
use crate::registry::connect::Registry;
use crate::registry::error::RegistryError;
use crate::registry::shipping::{ShippingDiff, image_facts};

/// How B's pod spec names the image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageForm {
    /// `repo:TAG@sha256:…` (or `repo@sha256:…`): B runs exactly what was checked, whatever the
    /// tag does later.
    #[default]
    PinDigest,
    /// `repo:TAG`: B follows the tag (needs a tag; pods pull again on restarts).
    TagRef,
}

#[derive(Clone, Debug)]
pub struct PromoteRequest {
    pub kind: WorkloadKind,
    pub name: String,
    pub from: String,
    pub to: String,
    pub container: Option<String>,
    /// The promotion tag (default: the target environment's `tag`).
    pub tag: Option<String>,
    pub lock: bool,
    pub form: ImageForm,
    pub wait: bool,
    pub timeout: Duration,
    pub undo_on_failure: bool,
    pub dry_run: bool,
    pub force_unmanaged: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Done,
    /// Nothing needed changing.
    Unchanged,
    /// A dry run: what would happen.
    WouldDo,
    Failed,
    /// Not asked for (no tag, no --lock, no --wait…).
    Skipped,
    /// Not reached: an earlier step failed.
    NotRun,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub step: &'static str,
    pub status: StepStatus,
    pub message: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl Step {
    fn new(step: &'static str, status: StepStatus, message: impl Into<String>) -> Self {
        Self {
            step,
            status,
            message: message.into(),
            old: None,
            new: None,
        }
    }

    fn change(mut self, old: Option<String>, new: Option<String>) -> Self {
        self.old = old;
        self.new = new;
        self
    }
}

/// One side of the promotion, as read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Side {
    pub environment: String,
    pub context: String,
    pub namespace: String,
    pub image: Option<String>,
    /// The digest its pods run.
    pub digest: Option<String>,
    pub revision: Option<i64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PromoteReport {
    /// `deploy/web`.
    pub workload: String,
    pub container: Option<String>,
    pub from: Side,
    pub to: Side,
    /// What B will run: the image reference set in B's spec.
    pub image: Option<String>,
    /// The promotion tag, `repo:TAG`, when there is one.
    pub tag: Option<String>,
    pub diff: Option<ShippingDiff>,
    /// Why there is no diff, when there is none.
    pub diff_error: Option<String>,
    pub steps: Vec<Step>,
    /// `promoted`, `unchanged`, `dry_run`, `invalid`, `refused`, `managed`, `failed`, `stuck`,
    /// `not_ready`.
    pub outcome: &'static str,
    /// The first failure, in a line.
    pub error: Option<String>,
    /// The exit status (see `berth promote --help`).
    pub exit: i32,
}

/// Exit status of a promotion refused by a write-locked promotion tag (as `berth retag`).
pub const EXIT_LOCKED: i32 = 8;

const STEPS: [&str; 5] = ["retag", "lock", "set-image", "rollout", "undo"];

impl PromoteReport {
    fn new(req: &PromoteRequest) -> Self {
        Self {
            workload: format!("{}/{}", req.kind.short(), req.name),
            container: req.container.clone(),
            from: Side {
                environment: req.from.clone(),
                ..Side::default()
            },
            to: Side {
                environment: req.to.clone(),
                ..Side::default()
            },
            image: None,
            tag: None,
            diff: None,
            diff_error: None,
            steps: Vec::new(),
            outcome: "failed",
            error: None,
            exit: EXIT_FAILED,
        }
    }

    /// Ends the report at a failure: the steps not reached are listed as not run.
    fn stop(mut self, outcome: &'static str, exit: i32, error: impl Into<String>) -> Self {
        for step in STEPS {
            if !self.steps.iter().any(|s| s.step == step) {
                self.steps.push(Step::new(
                    step,
                    StepStatus::NotRun,
                    "not run: an earlier check or step failed",
                ));
            }
        }
        self.outcome = outcome;
        self.exit = exit;
        self.error = Some(error.into());
        self
    }

    fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.step == name)
    }
}

fn action_exit(e: &ActionError) -> (&'static str, i32) {
    match e {
        ActionError::Forbidden { .. } => ("refused", EXIT_REFUSED),
        ActionError::Managed { .. } => ("managed", EXIT_MANAGED),
        ActionError::Invalid(_) | ActionError::NotFound { .. } => ("invalid", EXIT_INVALID),
        ActionError::Conflict { .. } => ("failed", crate::cluster::cli::EXIT_CONFLICT),
        ActionError::Audit(f) => ("failed", i32::from(f.exit_code())),
        ActionError::Api { .. } => ("failed", EXIT_FAILED),
    }
}

fn registry_exit(e: &RegistryError) -> (&'static str, i32) {
    match e {
        RegistryError::TagLocked { .. } => ("refused", EXIT_LOCKED),
        RegistryError::Forbidden { .. } | RegistryError::Unauthorized { .. } => {
            ("refused", EXIT_REFUSED)
        }
        RegistryError::Audit(f) => ("failed", i32::from(f.exit_code())),
        _ => ("failed", EXIT_FAILED),
    }
}

/// A workload as one environment runs it: its model row (owner, generation) and what it runs.
struct Found {
    row: DeploymentRow,
    run: WorkloadRun,
}

/// Lists the workload's kind in the environment's namespaces and finds it there.
async fn find_workload(
    reached: &Reached,
    env: &str,
    kind: WorkloadKind,
    name: &str,
    timeout: Duration,
) -> Result<Found, (&'static str, i32, String)> {
    let options = WatchOptions {
        namespaces: Some(reached.namespaces.clone()),
        kinds: kind.watch_kinds(),
    };
    let mut follow = Follow::start(reached.target.client.clone(), &options);
    match follow.until(timeout, |_| true).await {
        FollowEnd::Done => {}
        FollowEnd::Forbidden(e) => return Err(("refused", EXIT_REFUSED, format!("{env}: {e}"))),
        FollowEnd::TimedOut => {
            return Err((
                "failed",
                EXIT_FAILED,
                format!(
                    "{env}: the {}s of {} were not listed within {}s ({:?})",
                    kind.noun(),
                    reached.namespaces.join(", "),
                    timeout.as_secs(),
                    follow.model().connection()
                ),
            ));
        }
    }
    let model = follow.model();
    let row = reached
        .namespaces
        .iter()
        .find_map(|ns| model.workload(kind, ns, name))
        .ok_or_else(|| {
            (
                "invalid",
                EXIT_INVALID,
                format!(
                    "{env} has no {} {name} in namespace{} {} (check the name and the \
                     environment's namespaces in config.toml)",
                    kind.noun(),
                    if reached.namespaces.len() == 1 {
                        ""
                    } else {
                        "s"
                    },
                    reached.namespaces.join(", ")
                ),
            )
        })?;
    let run = snapshot::workloads_of(model, std::slice::from_ref(&row.namespace))
        .into_iter()
        .find(|w| w.kind == kind && w.name == name)
        .expect("the row just found");
    Ok(Found {
        row: row.clone(),
        run,
    })
}

/// The `[[registry]]` serving `host`, or the one named.
fn registry_for<'a>(
    registries: &'a [RegistryConfig],
    named: Option<&str>,
    host: &str,
) -> Option<&'a RegistryConfig> {
    match named {
        Some(n) => registries.iter().find(|r| r.name == n),
        None => registries.iter().find(|r| same_host(&r.host, host)),
    }
}

/// Runs the promotion `req` between two of `envs`, writing each step's audit record to `audit`.
pub async fn promote(
    req: &PromoteRequest,
    envs: &[EnvironmentConfig],
    registries: &[RegistryConfig],
    defaults: &KubeDefaults,
    audit: &AuditLog,
) -> PromoteReport {
    let mut report = PromoteReport::new(req);
    let invalid = |r: PromoteReport, m: String| r.stop("invalid", EXIT_INVALID, m);
    let (from_env, to_env) = match (
        super::config::find(envs, &req.from),
        super::config::find(envs, &req.to),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return invalid(report, e),
    };
    if from_env.name == to_env.name {
        return invalid(
            report,
            format!(
                "--from and --to are both {}: promote between two environments",
                req.from
            ),
        );
    }
    let tag = req.tag.clone().or_else(|| to_env.tag.clone());
    if let Some(t) = &req.tag
        && let Err(e) = crate::reference::validate_tag(t)
    {
        return invalid(report, format!("--tag: {}", e.cli_message()));
    }
    if tag.is_none() && (req.form == ImageForm::TagRef || req.lock) {
        return invalid(
            report,
            format!(
                "{} needs a promotion tag, and environment {} has none: pass --tag TAG or set \
                 `tag` in its [[environment]] entry; nothing was changed",
                if req.lock { "--lock" } else { "--tag-ref" },
                to_env.name
            ),
        );
    }

    // Both environments at once: neither waits for the other.
    let (a, b) = tokio::join!(
        snapshot::reach(from_env, defaults),
        snapshot::reach(to_env, defaults)
    );
    let (a, b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) => return report.stop("failed", EXIT_FAILED, format!("{}: {e}", req.from)),
        (_, Err(e)) => return report.stop("failed", EXIT_FAILED, format!("{}: {e}", req.to)),
    };
    report.from.context = a.target.context.clone();
    report.to.context = b.target.context.clone();
    let (found_a, found_b) = tokio::join!(
        find_workload(&a, &req.from, req.kind, &req.name, req.timeout),
        find_workload(&b, &req.to, req.kind, &req.name, req.timeout)
    );
    let (found_a, found_b) = match (found_a, found_b) {
        (Ok(x), Ok(y)) => (x, y),
        (Err((o, code, m)), _) | (_, Err((o, code, m))) => return report.stop(o, code, m),
    };
    let (from_run, to_run) = (&found_a.run, &found_b.run);
    report.from.namespace = from_run.namespace.clone();
    report.to.namespace = to_run.namespace.clone();
    report.from.revision = from_run.revision;
    report.to.revision = to_run.revision;

    // The container: named, or the only one.
    let container = match &req.container {
        Some(c) => c.clone(),
        None => match from_run.containers.as_slice() {
            [one] => one.name.clone(),
            many => {
                return invalid(
                    report,
                    format!(
                        "{} has {} containers ({}): name the one to promote with --container",
                        from_run.label(),
                        many.len(),
                        many.iter()
                            .map(|c| c.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        },
    };
    report.container = Some(container.clone());
    let (Some(src_c), Some(dst_c)) = (from_run.container(&container), to_run.container(&container))
    else {
        let side = if from_run.container(&container).is_none() {
            &req.from
        } else {
            &req.to
        };
        return invalid(
            report,
            format!(
                "{side}'s {} has no container {container:?}",
                from_run.label()
            ),
        );
    };
    report.from.image = Some(src_c.image.clone());
    report.to.image = Some(dst_c.image.clone());
    report.to.digest = match dst_c.running.as_slice() {
        [one] => Some(one.clone()),
        _ => dst_c.pinned.clone(),
    };

    // What ships: the one digest A's current pods run, once A's rollout is complete.
    if found_a.row.rollout != RolloutState::Complete {
        let detail = from_run
            .detail
            .clone()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return report.stop(
            "not_ready",
            EXIT_NOT_READY,
            format!(
                "{}'s {} is {}{detail}; promote what runs there once its rollout is complete; \
                 nothing was changed",
                req.from,
                from_run.label(),
                from_run.state
            ),
        );
    }
    let digest = match src_c.running.as_slice() {
        [one] => one.clone(),
        [] => {
            return report.stop(
                "not_ready",
                EXIT_NOT_READY,
                format!(
                    "no pod of {}'s {} reports the digest it runs (imageID) yet; nothing was \
                     changed",
                    req.from,
                    from_run.label()
                ),
            );
        }
        many => {
            return invalid(
                report,
                format!(
                    "{}'s {} pods run {} different digests of {} ({}): the tag moved while they \
                     pulled; pin it (berth rollout set-image --digest) before promoting",
                    req.from,
                    from_run.label(),
                    many.len(),
                    src_c.image,
                    many.iter()
                        .map(|d| short_digest(d))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    };
    report.from.digest = Some(digest.clone());
    let src_repo = split_image(&src_c.image).0.to_owned();
    let dst_repo_as_written = split_image(&dst_c.image).0.to_owned();

    // The registries: A's image's host, and B's (or the one B's environment names).
    let src_host = crate::reference::image_host(&src_c.image);
    let dst_host = crate::reference::image_host(&dst_c.image);
    let src_cfg = registry_for(registries, None, &src_host);
    let dst_cfg = registry_for(registries, to_env.registry.as_deref(), &dst_host);
    // B's repository in B's registry (the environment's registry may differ from the host its
    // image names today: the promotion moves it there).
    let dst_repo = match (dst_cfg, Reference::parse(&dst_repo_as_written)) {
        (Some(cfg), Ok(r)) => format!("{}/{}", cfg.host, r.repository()),
        _ => dst_repo_as_written.clone(),
    };
    let src_ref = match Reference::parse(&format!("{src_repo}@{digest}")) {
        Ok(r) => r,
        Err(e) => return invalid(report, e.cli_message()),
    };
    let same_repository = Reference::parse(&dst_repo).is_ok_and(|d| {
        same_host(d.registry(), src_ref.registry()) && d.repository() == src_ref.repository()
    });
    if tag.is_none() && !same_repository {
        return invalid(
            report,
            format!(
                "{} runs {src_repo} and {} runs {dst_repo}: a promotion between repositories \
                 copies the image under a tag; pass --tag TAG or set `tag` in {}'s \
                 [[environment]] entry; nothing was changed",
                req.from, req.to, req.to
            ),
        );
    }
    let target_ref = match &tag {
        Some(t) => match Reference::parse(&format!("{dst_repo}:{t}")) {
            Ok(r) => Some(r),
            Err(e) => return invalid(report, e.cli_message()),
        },
        None => None,
    };
    report.tag = target_ref.as_ref().map(Reference::familiar);
    let image = match (req.form, &tag) {
        (ImageForm::TagRef, Some(t)) => format!("{dst_repo}:{t}"),
        (_, Some(t)) => format!("{dst_repo}:{t}@{digest}"),
        (_, None) => format!("{dst_repo}@{digest}"),
    };
    report.image = Some(image.clone());

    // Registry checks before anything is written.
    if target_ref.is_some() {
        let (Some(_), Some(d)) = (src_cfg, dst_cfg) else {
            let (which, host) = if src_cfg.is_none() {
                (&req.from, &src_host)
            } else {
                (&req.to, &dst_host)
            };
            return invalid(
                report,
                format!(
                    "{which}'s image is on {host}, which no [[registry]] in config.toml serves: \
                     add it (its credential says how to sign in) to retag there"
                ),
            );
        };
        if req.lock && d.kind() != RegistryKind::Acr {
            return invalid(
                report,
                format!(
                    "--lock: registry {} is a plain OCI registry, and tag locks are an Azure \
                     Container Registry feature; nothing was changed",
                    d.name
                ),
            );
        }
    }
    let connect_registry = |cfg: Option<&RegistryConfig>| {
        let cfg = cfg.cloned();
        async move {
            match cfg {
                Some(c) => Some(crate::registry::connect::connect(&c).await),
                None => None,
            }
        }
    };
    let (src_reg, dst_reg) = tokio::join!(connect_registry(src_cfg), connect_registry(dst_cfg));
    let src_reg: Option<Registry> = match src_reg {
        Some(Ok(r)) => Some(r),
        Some(Err(e)) if target_ref.is_some() => {
            let (o, code) = registry_exit(&e);
            return report.stop(o, code, e.to_string());
        }
        _ => None,
    };
    let dst_reg: Option<Registry> = match dst_reg {
        Some(Ok(r)) => Some(r),
        Some(Err(e)) if target_ref.is_some() => {
            let (o, code) = registry_exit(&e);
            return report.stop(o, code, e.to_string());
        }
        _ => None,
    };

    // What ships: B's running digest (else what its spec names) against the digest of A.
    match (&src_reg, &dst_reg) {
        (Some(s), Some(d)) => {
            let cache = crate::registry::content_cache::ContentCache::default_location();
            let old_ref = report
                .to
                .digest
                .clone()
                .or_else(|| split_image(&dst_c.image).1.map(str::to_owned))
                .unwrap_or_else(|| "latest".to_owned());
            let repo_of = |r: &str| {
                Reference::parse(r)
                    .map(|x| x.repository().to_owned())
                    .unwrap_or_default()
            };
            let dst_repository = repo_of(&dst_repo_as_written);
            let (old, new) = tokio::join!(
                image_facts(&d.client, &cache, &dst_repository, &old_ref, None),
                image_facts(&s.client, &cache, src_ref.repository(), &digest, None)
            );
            match (old, new) {
                (Ok(o), Ok(n)) => report.diff = Some(ShippingDiff::between(o, n)),
                (Err(e), _) => {
                    report.diff_error = Some(format!("{}'s image could not be read: {e}", req.to))
                }
                (_, Err(e)) => {
                    report.diff_error = Some(format!("{}'s image could not be read: {e}", req.from))
                }
            }
        }
        _ => {
            report.diff_error = Some(format!(
                "no [[registry]] in config.toml serves {}: add it to see what changes",
                if src_reg.is_none() {
                    &src_host
                } else {
                    &dst_host
                }
            ))
        }
    }

    // B's owner and B's RBAC, before the first write.
    let actor = connect::identity(&b.target).await;
    if let Some(owner) = found_b.row.owner.clone()
        && !req.force_unmanaged
    {
        let e = actions::managed_refusal(
            owner,
            req.kind,
            &to_run.namespace,
            &req.name,
            OwnedAction::SetImage,
        );
        return report.stop("managed", EXIT_MANAGED, e.to_string());
    }
    let resource = match req.kind {
        WorkloadKind::Deployment => "deployments",
        WorkloadKind::StatefulSet => "statefulsets",
        WorkloadKind::DaemonSet => "daemonsets",
    };
    if let Err(e) = actions::check_access(
        &b.target.client,
        &actor,
        &[Permission::new("patch", "apps", resource, &to_run.namespace).named(&req.name)],
    )
    .await
    {
        let (o, code) = action_exit(&e);
        return report.stop(o, code, e.to_string());
    }

    // Nothing to do: B already runs this digest, named as it would be.
    if dst_c.image == image && report.to.digest.as_deref() == Some(digest.as_str()) {
        for step in STEPS {
            report.steps.push(Step::new(
                step,
                StepStatus::Unchanged,
                format!("{} already runs {image}", req.to),
            ));
        }
        report.outcome = "unchanged";
        report.exit = EXIT_OK;
        return report;
    }

    // 1. retag (and 2. lock) the promotion tag.
    match (&target_ref, &src_reg, &dst_reg) {
        (Some(target), Some(s), Some(d)) => {
            let familiar = target.familiar();
            if req.dry_run {
                let old = d
                    .client
                    .head_manifest(
                        target.repository(),
                        target.tag().unwrap_or_default(),
                        vec![crate::registry::client::repo_scope(
                            target.repository(),
                            "pull",
                        )],
                    )
                    .await
                    .ok()
                    .flatten()
                    .and_then(|h| h.digest);
                report.steps.push(
                    Step::new(
                        "retag",
                        StepStatus::WouldDo,
                        format!("would point {familiar} at {}", short_digest(&digest)),
                    )
                    .change(old, Some(digest.clone())),
                );
            } else {
                match crate::registry::retag::retag(
                    s,
                    &src_ref,
                    d,
                    target,
                    crate::registry::retag::RetagOptions { force: true },
                    audit,
                )
                .await
                {
                    Ok(o) => {
                        let status = if o.old_digest.as_deref() == Some(o.new_digest.as_str()) {
                            StepStatus::Unchanged
                        } else {
                            StepStatus::Done
                        };
                        report.steps.push(
                            Step::new(
                                "retag",
                                status,
                                format!(
                                    "{familiar}: {} → {}",
                                    o.old_digest
                                        .as_deref()
                                        .map_or("(new tag)".to_owned(), short_digest),
                                    short_digest(&o.new_digest)
                                ),
                            )
                            .change(o.old_digest, Some(o.new_digest)),
                        );
                    }
                    Err(e) => {
                        let (o, code) = registry_exit(&e);
                        report
                            .steps
                            .push(Step::new("retag", StepStatus::Failed, e.to_string()));
                        return report.stop(
                            o,
                            code,
                            format!("retag {familiar}: {e}; nothing was changed"),
                        );
                    }
                }
            }
            if req.lock {
                if req.dry_run {
                    report.steps.push(Step::new(
                        "lock",
                        StepStatus::WouldDo,
                        format!("would lock {familiar}"),
                    ));
                } else {
                    match crate::registry::locks::set_tag_attributes(
                        d,
                        target.repository(),
                        target.tag().unwrap_or_default(),
                        &crate::registry::locks::AttributesPatch::lock(),
                        audit,
                    )
                    .await
                    {
                        Ok(l) => report.steps.push(Step::new(
                            "lock",
                            if l.changed {
                                StepStatus::Done
                            } else {
                                StepStatus::Unchanged
                            },
                            format!(
                                "{familiar} locked (writes refused until `berth registry unlock`)"
                            ),
                        )),
                        Err(e) => {
                            let (o, code) = registry_exit(&e);
                            report
                                .steps
                                .push(Step::new("lock", StepStatus::Failed, e.to_string()));
                            let moved = moved_tag_note(&report);
                            return report.stop(o, code, format!("lock {familiar}: {e}{moved}"));
                        }
                    }
                }
            } else {
                report
                    .steps
                    .push(Step::new("lock", StepStatus::Skipped, "not asked (--lock)"));
            }
        }
        _ => {
            report.steps.push(Step::new(
                "retag",
                StepStatus::Skipped,
                format!("{} has no promotion tag: the digest is set alone", req.to),
            ));
            report
                .steps
                .push(Step::new("lock", StepStatus::Skipped, "no promotion tag"));
        }
    }

    // 3. set B's image.
    let ctx = ActionContext {
        client: b.target.client.clone(),
        actor,
        audit: audit.clone(),
        dry_run: req.dry_run,
        owner_policy: if req.force_unmanaged {
            OwnerPolicy::Allow
        } else {
            OwnerPolicy::Refuse
        },
    };
    match actions::workload::set_image(
        &ctx,
        req.kind,
        &to_run.namespace,
        &req.name,
        &container,
        &ImageTarget::Reference(image.clone()),
    )
    .await
    {
        Ok(r) => report.steps.push(
            Step::new(
                "set-image",
                if req.dry_run {
                    StepStatus::WouldDo
                } else {
                    StepStatus::Done
                },
                format!(
                    "{} {}/{} container {container}",
                    req.to, to_run.namespace, req.name
                ),
            )
            .change(r.old, r.new),
        ),
        Err(e) => {
            let (o, code) = action_exit(&e);
            report
                .steps
                .push(Step::new("set-image", StepStatus::Failed, e.to_string()));
            let moved = moved_tag_note(&report);
            return report.stop(o, code, format!("set image in {}: {e}{moved}", req.to));
        }
    }
    if req.dry_run {
        report
            .steps
            .push(Step::new("rollout", StepStatus::Skipped, "dry run"));
        report
            .steps
            .push(Step::new("undo", StepStatus::Skipped, "dry run"));
        report.outcome = "dry_run";
        report.exit = EXIT_OK;
        return report;
    }

    // 4. follow B's rollout.
    if !req.wait {
        report.steps.push(Step::new(
            "rollout",
            StepStatus::Skipped,
            format!(
                "not followed (--wait); `berth rollout status {} -n {} --context {} --wait` does",
                report.workload, to_run.namespace, report.to.context
            ),
        ));
        report.steps.push(Step::new(
            "undo",
            StepStatus::Skipped,
            "not asked (--undo-on-failure)",
        ));
        report.outcome = "promoted";
        report.exit = EXIT_OK;
        return report;
    }
    let reached_b = Reached {
        target: b.target.clone(),
        namespaces: vec![to_run.namespace.clone()],
    };
    let (state, revision) = follow_rollout(&reached_b, req.kind, &req.name, req.timeout).await;
    report.to.revision = revision.or(report.to.revision);
    let failure = match &state {
        Ok(RolloutState::Complete) => None,
        Ok(RolloutState::Stuck { reason, message }) => {
            Some(("stuck", EXIT_STUCK, format!("stuck: {reason}: {message}")))
        }
        Ok(other) => Some((
            "not_ready",
            EXIT_NOT_READY,
            format!(
                "{} within {}s",
                crate::cluster::rollout::state_label(other),
                req.timeout.as_secs()
            ),
        )),
        Err(e) => Some(("failed", EXIT_FAILED, e.clone())),
    };
    let Some((outcome, code, why)) = failure else {
        report.steps.push(Step::new(
            "rollout",
            StepStatus::Done,
            format!(
                "complete in {} (revision {})",
                req.to,
                report.to.revision.map_or("?".to_owned(), |r| r.to_string())
            ),
        ));
        report
            .steps
            .push(Step::new("undo", StepStatus::Skipped, "not needed"));
        report.outcome = "promoted";
        report.exit = EXIT_OK;
        return report;
    };
    report
        .steps
        .push(Step::new("rollout", StepStatus::Failed, why.clone()));

    // 5. undo, when asked.
    let moved = moved_tag_note(&report);
    if !req.undo_on_failure {
        let how = format!(
            "{}'s rollout: {why}; undo with `berth rollout undo {} -n {} --context {}`{moved}",
            req.to, report.workload, to_run.namespace, report.to.context
        );
        return report.stop(outcome, code, how);
    }
    let undo_ctx = ActionContext {
        owner_policy: OwnerPolicy::Allow,
        ..ctx
    };
    match actions::workload::undo(&undo_ctx, req.kind, &to_run.namespace, &req.name, None).await {
        Ok(r) => {
            report.steps.push(
                Step::new(
                    "undo",
                    StepStatus::Done,
                    format!("{} rolled back: {}", req.to, r.message),
                )
                .change(r.old, r.new),
            );
            report.stop(
                outcome,
                code,
                format!("{}'s rollout: {why}; undone{moved}", req.to),
            )
        }
        Err(e) => {
            report
                .steps
                .push(Step::new("undo", StepStatus::Failed, e.to_string()));
            report.stop(
                outcome,
                code,
                format!("{}'s rollout: {why}; the undo failed: {e}{moved}", req.to),
            )
        }
    }
}

/// When the promotion tag was moved before a later failure: where it points and how to put it
/// back.
fn moved_tag_note(report: &PromoteReport) -> String {
    match (report.step("retag"), &report.tag) {
        (Some(s), Some(tag)) if s.status == StepStatus::Done => {
            let back = match &s.old {
                Some(old) => format!(
                    "; to move it back: berth retag {}@{old} {tag} --force",
                    tag.rsplit_once(':').map_or(tag.as_str(), |(r, _)| r)
                ),
                None => "; it did not exist before".to_owned(),
            };
            format!(
                " (the tag {tag} was moved to {} and stays there{back})",
                s.new.as_deref().map(short_digest).unwrap_or_default()
            )
        }
        _ => String::new(),
    }
}

/// Follows one workload's rollout until it is complete or stuck, or `timeout` passes.
async fn follow_rollout(
    reached: &Reached,
    kind: WorkloadKind,
    name: &str,
    timeout: Duration,
) -> (Result<RolloutState, String>, Option<i64>) {
    let ns = &reached.namespaces[0];
    let options = WatchOptions {
        namespaces: Some(reached.namespaces.clone()),
        kinds: kind.watch_kinds(),
    };
    let mut follow = Follow::start(reached.target.client.clone(), &options);
    let end = follow
        .until(timeout, |m| {
            m.workload(kind, ns, name).is_some_and(|d| {
                matches!(
                    d.rollout,
                    RolloutState::Complete | RolloutState::Stuck { .. }
                )
            })
        })
        .await;
    let row = follow.model().workload(kind, ns, name);
    let revision = row.and_then(|d| d.revision);
    match (end, row) {
        (FollowEnd::Forbidden(e), _) => (Err(e), revision),
        (_, None) => (Err(format!("{} {ns}/{name} is gone", kind.noun())), None),
        (_, Some(d)) => (Ok(d.rollout.clone()), revision),
    }
}

/// The report as text, for people.
pub fn render(r: &PromoteReport) -> Vec<String> {
    let mut out = vec![format!(
        "promote {}{}: {} ({}, namespace {}) → {} ({}, namespace {})",
        r.workload,
        r.container
            .as_deref()
            .map(|c| format!(" container {c}"))
            .unwrap_or_default(),
        r.from.environment,
        r.from.context,
        r.from.namespace,
        r.to.environment,
        r.to.context,
        r.to.namespace
    )];
    if let (Some(img), Some(d)) = (&r.from.image, &r.from.digest) {
        out.push(format!(
            "  ships    {} (runs in {} as {img})",
            short_digest(d),
            r.from.environment
        ));
    }
    if let Some(img) = &r.to.image {
        out.push(format!(
            "  replaces {img}{}",
            r.to.digest
                .as_deref()
                .map(|d| format!(" ({})", short_digest(d)))
                .unwrap_or_default()
        ));
    }
    if let Some(img) = &r.image {
        out.push(format!("  new spec {img}"));
    }
    match (&r.diff, &r.diff_error) {
        (Some(d), _) => {
            out.push("what changes:".to_owned());
            let from = format!(
                "{} ({})",
                r.to.environment,
                r.to.digest.as_deref().map(short_digest).unwrap_or_default()
            );
            let to = format!(
                "{} ({})",
                r.from.environment,
                r.from
                    .digest
                    .as_deref()
                    .map(short_digest)
                    .unwrap_or_default()
            );
            out.extend(d.render(&from, &to).into_iter().map(|l| format!("  {l}")));
        }
        (None, Some(e)) => out.push(format!("what changes: unknown ({e})")),
        (None, None) => {}
    }
    if !r.steps.is_empty() {
        out.push("steps:".to_owned());
        for s in &r.steps {
            let mark = match s.status {
                StepStatus::Done => "done     ",
                StepStatus::Unchanged => "unchanged",
                StepStatus::WouldDo => "would do ",
                StepStatus::Failed => "FAILED   ",
                StepStatus::Skipped => "skipped  ",
                StepStatus::NotRun => "not run  ",
            };
            let change = match (&s.old, &s.new) {
                (Some(o), Some(n)) if s.step == "set-image" => format!(": {o} → {n}"),
                _ => String::new(),
            };
            out.push(format!("  {mark} {:<9} {}{change}", s.step, s.message));
        }
    }
    out.push(match &r.error {
        Some(e) => format!("result: {} — {e}", r.outcome),
        None => format!("result: {}", r.outcome),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> PromoteReport {
        PromoteReport::new(&PromoteRequest {
            kind: WorkloadKind::Deployment,
            name: "web".into(),
            from: "staging".into(),
            to: "prod".into(),
            container: None,
            tag: None,
            lock: false,
            form: ImageForm::PinDigest,
            wait: false,
            timeout: Duration::from_secs(1),
            undo_on_failure: false,
            dry_run: false,
            force_unmanaged: false,
        })
    }

    #[test]
    fn a_stop_lists_every_step_not_reached() {
        let mut r = report();
        r.steps
            .push(Step::new("retag", StepStatus::Done, "web:prod: a → b"));
        let r = r.stop("failed", EXIT_FAILED, "boom");
        let names: Vec<&str> = r.steps.iter().map(|s| s.step).collect();
        assert_eq!(names, STEPS);
        assert_eq!(r.steps[0].status, StepStatus::Done);
        assert!(r.steps[1..].iter().all(|s| s.status == StepStatus::NotRun));
        assert_eq!(
            (r.outcome, r.exit, r.error.as_deref()),
            ("failed", EXIT_FAILED, Some("boom"))
        );
    }

    #[test]
    fn a_moved_tag_is_named_with_the_way_back() {
        let mut r = report();
        r.tag = Some("127.0.0.1:5000/web:prod".into());
        r.steps.push(
            Step::new("retag", StepStatus::Done, "moved")
                .change(Some("sha256:old".into()), Some("sha256:new".into())),
        );
        let note = moved_tag_note(&r);
        assert!(
            note.contains(
                "berth retag 127.0.0.1:5000/web@sha256:old 127.0.0.1:5000/web:prod --force"
            ),
            "{note}"
        );
        r.steps[0].status = StepStatus::Unchanged;
        assert_eq!(
            moved_tag_note(&r),
            "",
            "a tag that did not move needs no way back"
        );
    }

    #[test]
    fn the_text_report_marks_failed_and_unreached_steps() {
        let mut r = report();
        r.steps.push(Step::new(
            "retag",
            StepStatus::Failed,
            "tag web:prod is locked",
        ));
        let r = r.stop("refused", EXIT_LOCKED, "retag: locked");
        let text = render(&r).join("\n");
        assert!(
            text.contains("FAILED    retag     tag web:prod is locked"),
            "{text}"
        );
        assert!(text.contains("not run   set-image"), "{text}");
        assert!(text.ends_with("result: refused — retag: locked"), "{text}");
    }
}
