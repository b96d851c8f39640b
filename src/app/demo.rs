//! A stand-in effect runner over the demo fixtures: answers every task after a short, visible
//! delay with per-step progress, so the UI can be tried (and watched in tmux) without a cluster
//! or registry. Results say "(demo)": nothing real happens.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::action::{Action, StepStatus, StepUpdate, TaskOutcome};
use super::diagnosis::{DiagnosisView, Evidence, Fix};
use super::effects::{Effect, Task};
use crate::tui::EffectRunner;

#[derive(Clone, Debug, Default)]
pub struct DemoRunner {
    /// Delay per step; tests use zero.
    pub step: Duration,
}

impl DemoRunner {
    pub fn new() -> Self {
        Self {
            step: Duration::from_millis(400),
        }
    }
}

fn steps(effect: &Effect) -> Vec<String> {
    match effect {
        Effect::RotateSecret { namespaces, .. } => {
            let mut v = vec!["regenerate".to_owned()];
            v.extend(namespaces.iter().cloned());
            v
        }
        Effect::Retag { .. } => vec!["manifest".into(), "put tag".into()],
        Effect::Diagnose { .. } => vec![
            "pull secrets".into(),
            "credentials".into(),
            "manifest".into(),
        ],
        _ => Vec::new(),
    }
}

fn outcome(effect: &Effect) -> TaskOutcome {
    if let Effect::FetchObject(t) = effect {
        // The demo has no apiserver: the object as far as the demo's rows know it.
        let value = serde_json::json!({
            "apiVersion": t.kind.api_version(),
            "kind": t.kind.kind,
            "metadata": {"name": t.name, "namespace": t.namespace, "uid": format!("demo-{}", t.name)},
            "spec": {"note": "(demo) berth --demo reads no cluster; this is a stand-in object"},
        });
        return TaskOutcome::Object(Box::new(crate::cluster::manifest::Manifest::from_value(
            t.kind, value,
        )));
    }
    if let Effect::Diagnose { pod } = effect {
        let deployment = crate::cluster::model::ObjectRef {
            namespace: pod.namespace.clone(),
            name: crate::cluster::store::workload_of_pod_name(
                &pod.name,
                pod.name.split('-').nth(1),
            )
            .to_owned(),
        };
        let image = format!("{}/api:2.3.0", super::fixtures::REGISTRY);
        return TaskOutcome::Diagnosis(Box::new(DiagnosisView {
            pod: pod.clone(),
            image: image.clone(),
            cause: "(demo) Tag missing: api:2.3.0 is not in the registry".into(),
            code: "tag-missing".into(),
            evidence: vec![
                Evidence {
                    check: "pull secrets".into(),
                    finding: "acr-pull (serviceaccount default)".into(),
                    ok: true,
                },
                Evidence {
                    check: "manifest".into(),
                    finding: "404 MANIFEST_UNKNOWN; newest existing tag 2.2.0".into(),
                    ok: false,
                },
            ],
            fix: Some(Fix {
                title: format!("set {} to api:2.2.0", deployment.name),
                effect: Effect::SetImage {
                    deployment,
                    container: "api".into(),
                    expected_image: image,
                    image: format!("{}/api:2.2.0", super::fixtures::REGISTRY),
                    dry_run: false,
                },
            }),
            advice: None,
        }));
    }
    TaskOutcome::Done {
        summary: format!("(demo) {}", effect.title()),
    }
}

/// The demo's logs: a few lines per stream, as a container would print them.
fn demo_lines(spec: &super::logs::StreamSpec, actions: &UnboundedSender<Action>) {
    use super::logs::{Delivered, LogLine, LogsUpdate, source_label};
    let source = source_label(&spec.key.pod, &spec.key.container);
    let now = jiff::Timestamp::now();
    let lines = (0..20)
        .map(|i| {
            let at = now - jiff::SignedDuration::from_secs(20 - i);
            let what = if spec.previous {
                format!("(demo) previous run: panic: connection refused ({i})")
            } else {
                format!("(demo) GET /healthz 200 {}ms", 3 + i % 7)
            };
            LogLine::log(source.clone(), format!("{at} {what}"))
        })
        .collect();
    let _ = actions.send(Action::Logs(LogsUpdate::Lines {
        session: spec.session,
        lines,
        dropped: 0,
        delivered: Delivered::default(),
    }));
}

impl EffectRunner for DemoRunner {
    fn spawn(&mut self, task: Task, actions: UnboundedSender<Action>) {
        if let Effect::LogStream(spec) = &task.effect {
            demo_lines(spec, &actions);
        }
        let delay = self.step;
        tokio::spawn(async move {
            for s in steps(&task.effect) {
                let _ = actions.send(Action::TaskProgress {
                    id: task.id,
                    step: StepUpdate {
                        step: s.clone(),
                        status: StepStatus::Running,
                        detail: String::new(),
                    },
                });
                tokio::time::sleep(delay).await;
                let _ = actions.send(Action::TaskProgress {
                    id: task.id,
                    step: StepUpdate {
                        step: s,
                        status: StepStatus::Done,
                        detail: String::new(),
                    },
                });
            }
            tokio::time::sleep(delay).await;
            let _ = actions.send(Action::TaskDone {
                id: task.id,
                result: Ok(outcome(&task.effect)),
            });
        });
    }
}
