//! The effect runner of the live dashboard: each `Effect` becomes one tokio task that reports
//! `TaskProgress` steps and then exactly one `TaskDone` — also when the work fails or panics.
//!
//! What a task acts on is decided when the UI hands it over, in the order the UI asked: the
//! context in use at that moment (a later `:ctx` does not redirect a confirmed action), and
//! refusals (read-only mode, a context switch under way) come back at once.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use tokio::sync::mpsc::UnboundedSender;

use super::cluster_side::{ClusterSide, KubeNow};
use super::diagnosis::{self, Rotation};
use super::outcome::{self, done, rotate_error, rotation_result, rotation_steps};
use super::registry_side::{self, Registries};
use super::{rollout, rotation};
use crate::app::Action;
use crate::app::action::{
    RegistryUpdate, StepStatus, StepUpdate, TaskError, TaskOutcome, TaskResult,
};
use crate::app::effects::{Effect, PasswordSlot, Task, TaskId};
use crate::audit::AuditLog;
use crate::cluster::rotate::{self, RotationRequest, WriteOutcome};
use crate::diagnose::gather::{self, GatherError, GatherOptions};
use crate::tui::EffectRunner;

/// Everything the tasks share.
#[derive(Debug)]
pub struct Shared {
    pub cluster: ClusterSide,
    pub registries: Registries,
    pub audit: AuditLog,
    pub read_only: bool,
    pub gather: GatherOptions,
    /// The admin slot the pull secrets hold since berth's last rotation.
    pub slot_in_use: Mutex<Option<PasswordSlot>>,
}

impl Shared {
    fn slot_in_use(&self) -> Option<PasswordSlot> {
        match self.slot_in_use.lock() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        }
    }

    fn set_slot_in_use(&self, slot: PasswordSlot) {
        match self.slot_in_use.lock() {
            Ok(mut g) => *g = Some(slot),
            Err(p) => *p.into_inner() = Some(slot),
        }
    }

    /// A diagnosis may offer a rotation on one key only when berth could run it.
    fn rotation_for_fix(&self) -> Option<Rotation> {
        if self.read_only || self.cluster.rotation.is_err() {
            return None;
        }
        let registry = self.registries.primary()?.host.clone();
        let slot = self
            .slot_in_use()
            .map_or(PasswordSlot::Password2, PasswordSlot::other);
        Some(Rotation { registry, slot })
    }
}

/// Reports one task's progress, and its result exactly once (`done` consumes it).
pub struct Reporter {
    id: TaskId,
    tx: UnboundedSender<Action>,
}

impl Reporter {
    pub fn new(id: TaskId, tx: UnboundedSender<Action>) -> Self {
        Self { id, tx }
    }

    pub fn step(&self, step: &str, status: StepStatus, detail: impl Into<String>) {
        self.progress(StepUpdate {
            step: step.to_owned(),
            status,
            detail: detail.into(),
        });
    }

    pub fn progress(&self, step: StepUpdate) {
        let _ = self.tx.send(Action::TaskProgress { id: self.id, step });
    }

    pub fn done(self, result: TaskResult) {
        let _ = self.tx.send(Action::TaskDone {
            id: self.id,
            result,
        });
    }
}

/// Counts context switches under way; cluster mutations are refused meanwhile (the user
/// confirmed them against a view that is being replaced).
struct Switching(Arc<AtomicUsize>);

impl Switching {
    fn begin(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(count))
    }
}

impl Drop for Switching {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct LiveRunner {
    shared: Arc<Shared>,
    switching: Arc<AtomicUsize>,
    logs: super::logs::LogSessions,
}

impl LiveRunner {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            switching: Arc::default(),
            logs: Default::default(),
        }
    }
}

/// Why a task is refused before it starts, if it is.
pub fn refusal(effect: &Effect, read_only: bool, switching: bool) -> Option<TaskError> {
    let kind = effect.mutation()?;
    let title = effect.title();
    if read_only {
        return Some(outcome::error(
            &title,
            "berth runs read-only (--read-only or general.read_only)",
            "nothing was changed; restart berth without read-only mode to make changes",
        ));
    }
    let cluster_side = !matches!(kind, crate::app::effects::MutationKind::Retag);
    if switching && cluster_side {
        return Some(outcome::error(
            &title,
            "a context switch is under way",
            "nothing was changed; retry once the new context shows",
        ));
    }
    None
}

impl EffectRunner for LiveRunner {
    fn spawn(&mut self, task: Task, actions: UnboundedSender<Action>) {
        let Task { id, effect } = task;
        let reporter = Reporter::new(id, actions.clone());
        // Log streams live as long as their view, not as a task: the view's session owns them.
        match effect {
            Effect::LogStream(spec) => {
                let client = self.shared.cluster.now().target.client.clone();
                self.logs.stream(client, *spec, &actions);
                return reporter.done(done(String::new()));
            }
            Effect::StopLogs { session } => {
                self.logs.stop(session);
                return reporter.done(done(String::new()));
            }
            _ => {}
        }
        let switching = self.switching.load(Ordering::SeqCst) > 0;
        if let Some(e) = refusal(&effect, self.shared.read_only, switching) {
            reporter.done(Err(e));
            return;
        }
        let guard = matches!(effect, Effect::SwitchContext { .. })
            .then(|| Switching::begin(&self.switching));
        let kube = self.shared.cluster.now();
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            let title = effect.title();
            let work = execute(&shared, &kube, &effect, &reporter);
            let result = match AssertUnwindSafe(work).catch_unwind().await {
                Ok(r) => r,
                Err(_) => {
                    tracing::error!("task {id} ({title}) panicked");
                    Err(outcome::error(
                        &title,
                        "berth hit an internal error (a bug) while doing this",
                        "check the result by hand; please report it with berth's log file",
                    ))
                }
            };
            drop(guard);
            let retagged = match (&effect, &result) {
                (
                    Effect::Retag {
                        dst,
                        dry_run: false,
                        ..
                    },
                    Ok(_),
                ) => Some(dst.clone()),
                _ => None,
            };
            reporter.done(result);
            if let Some(dst) = retagged {
                registry_side::refresh_after_retag(&shared.registries, &dst, &actions).await;
            }
        });
    }
}

async fn execute(shared: &Shared, kube: &KubeNow, effect: &Effect, rep: &Reporter) -> TaskResult {
    let title = effect.title();
    match effect {
        Effect::LoadRepositories => {
            registry_side::load_repositories(&shared.registries, &rep.tx).await
        }
        Effect::LoadTags { repository } => {
            let failed = registry_side::load_tags(&shared.registries, repository, &rep.tx).await?;
            if failed > 0 {
                rep.step(
                    "details",
                    StepStatus::Failed,
                    format!("the details of {failed} tags could not be read (see the log)"),
                );
            }
            done(format!("tags of {repository}"))
        }
        Effect::Retag {
            src,
            dst,
            force,
            lock,
            dry_run,
        } => {
            rep.step("retag", StepStatus::Running, "");
            let r = registry_side::retag_task(
                &shared.registries,
                &shared.audit,
                &title,
                src,
                dst,
                *force,
                *lock,
                *dry_run,
            )
            .await;
            let status = if r.is_ok() {
                StepStatus::Done
            } else {
                StepStatus::Failed
            };
            rep.step("retag", status, "");
            r
        }
        Effect::SetImage { .. }
        | Effect::Restart { .. }
        | Effect::Undo { .. }
        | Effect::Pause { .. }
        | Effect::Resume { .. }
        | Effect::AttachSecret { .. } => match rollout::run(kube, &shared.audit, effect).await {
            Some(r) => r,
            None => Err(outcome::error(
                &title,
                "not a cluster action",
                "a bug in berth",
            )),
        },
        Effect::RotateSecret {
            registry,
            secret,
            namespaces,
            slot,
            attach,
            dry_run,
        } => {
            let Some(cfg) = shared.registries.for_host(registry) else {
                return Err(outcome::error(
                    &title,
                    format!("no [[registry]] with host {registry} in config.toml"),
                    "nothing was changed; add it with its [registry.arm] section",
                ));
            };
            let source = rotation::admin_source(cfg, *slot)
                .map_err(|why| outcome::error(&title, why, "nothing was changed"))?;
            let mut req = RotationRequest::new(secret, namespaces.clone());
            req.dry_run = *dry_run;
            req.attach_service_account = attach.clone();
            // Pods get their service account's pull secrets when they are created: the failing
            // ones must be replaced to use the secret just attached.
            req.restart_failing = attach.is_some();
            rep.step("rotate", StepStatus::Running, source_label(*slot));
            let r = rotate::rotate(
                &kube.target.client,
                &kube.actor,
                &shared.audit,
                &source,
                &req,
            )
            .await;
            match r {
                Ok(report) => {
                    rep.step("rotate", StepStatus::Done, source_label(*slot));
                    for s in rotation_steps(&report) {
                        rep.progress(s);
                    }
                    let result = rotation_result(&title, &report);
                    if !dry_run
                        && report.namespaces.iter().any(|n| {
                            matches!(n.secret, WriteOutcome::Created | WriteOutcome::Updated)
                        })
                    {
                        shared.set_slot_in_use(*slot);
                        let _ = rep
                            .tx
                            .send(Action::Registry(RegistryUpdate::SlotInUse(*slot)));
                    }
                    result
                }
                Err(e) => {
                    rep.step("rotate", StepStatus::Failed, "");
                    // Applied, but not audited: some secret holds the new slot all the same.
                    if !dry_run && matches!(&e, rotate::RotateError::Audit(f) if f.applied()) {
                        shared.set_slot_in_use(*slot);
                        let _ = rep
                            .tx
                            .send(Action::Registry(RegistryUpdate::SlotInUse(*slot)));
                    }
                    Err(rotate_error(&title, &e))
                }
            }
        }
        Effect::AzureFix {
            registry,
            action,
            dry_run,
        } => {
            rep.step("azure", StepStatus::Running, action.command());
            let r = crate::diagnose::check_acr::apply_for_registry(
                &shared.gather,
                registry,
                &shared.audit,
                action,
                *dry_run,
            )
            .await;
            match r {
                Ok(summary) => {
                    rep.step("azure", StepStatus::Done, "");
                    done(summary)
                }
                Err(e) => {
                    rep.step("azure", StepStatus::Failed, "");
                    let mut err = outcome::error(&title, &e, e.hint());
                    err.sticky = e.applied_unaudited();
                    Err(err)
                }
            }
        }
        Effect::Diagnose { pod } => {
            rep.step(
                "gather",
                StepStatus::Running,
                "pod, pull secrets, registry probe",
            );
            let found = gather::diagnose_pod(
                &kube.target.client,
                &pod.namespace,
                &pod.name,
                &shared.gather,
            )
            .await;
            match found {
                Ok(ds) => {
                    rep.step("gather", StepStatus::Done, "");
                    let rot = shared.rotation_for_fix();
                    let v = diagnosis::view(pod, &ds, rot.as_ref());
                    Ok(TaskOutcome::Diagnosis(Box::new(v)))
                }
                Err(e) => {
                    rep.step("gather", StepStatus::Failed, "");
                    let hint = match e {
                        GatherError::PodNotFound { .. } => {
                            "the pod may have been replaced: pick it again in the pods list"
                        }
                        GatherError::Kube { .. } => {
                            "check the cluster connection (status bar) and retry"
                        }
                    };
                    Err(outcome::error(&title, e, hint))
                }
            }
        }
        Effect::SwitchContext { context } => {
            shared
                .cluster
                .switch_context(&title, context, &rep.tx)
                .await
        }
        Effect::SwitchNamespace { namespace } => {
            shared.cluster.switch_namespace(namespace, &rep.tx).await
        }
        Effect::SwitchRegistry { name } => {
            if !shared.registries.select(name) {
                return Err(outcome::error(
                    &title,
                    format!("no [[registry]] named {name:?} in config.toml"),
                    "use one of the names :reg suggests; nothing was changed",
                ));
            }
            registry_side::load_repositories(&shared.registries, &rep.tx).await
        }
        Effect::FetchObject(target) => {
            match crate::cluster::manifest::fetch(&kube.target.client, target).await {
                Ok(m) => Ok(TaskOutcome::Object(Box::new(m))),
                Err(e) => Err(outcome::error(&title, e.to_string(), e.hint())),
            }
        }
        Effect::LogStream(_) | Effect::StopLogs { .. } => Err(outcome::error(
            &title,
            "log streams are the logs view's, not tasks",
            "a bug in berth",
        )),
    }
}

fn source_label(slot: PasswordSlot) -> String {
    format!("ACR admin {slot}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::effects::ImageLocation;
    use crate::cluster::model::ObjectRef;

    #[test]
    fn refusals_come_before_any_work() {
        let restart = Effect::Restart {
            kind: crate::cluster::model::WorkloadKind::Deployment,
            deployment: ObjectRef {
                namespace: "shop".into(),
                name: "web".into(),
            },
            dry_run: false,
        };
        let retag = Effect::Retag {
            src: ImageLocation {
                registry: "h".into(),
                repository: "web".into(),
                reference: "1".into(),
            },
            dst: ImageLocation {
                registry: "h".into(),
                repository: "web".into(),
                reference: "2".into(),
            },
            force: false,
            lock: false,
            dry_run: false,
        };
        let e = refusal(&restart, true, false).unwrap();
        assert!(e.why.contains("read-only") && e.hint.starts_with("nothing was changed"));
        assert!(refusal(&retag, true, false).is_some());
        let e = refusal(&restart, false, true).unwrap();
        assert!(e.why.contains("context switch"));
        // A registry-side retag does not depend on the context.
        assert!(refusal(&retag, false, true).is_none());
        assert!(refusal(&restart, false, false).is_none());
        let load = Effect::LoadTags {
            repository: "web".into(),
        };
        assert!(refusal(&load, true, true).is_none());
    }
}
