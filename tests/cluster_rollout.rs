//! Rollout actions against the real control plane and node, pulling from the ACR stand-in,
//! checked with kubectl and through the live model.

mod cluster_common;
mod support;

use std::time::Duration;

use berth::cluster::actions::{self, ActionError, ImageTarget};
use berth::cluster::model::{DeploymentRow, Kind, RolloutState};
use berth::cluster::store::ClusterModel;
use cluster_common::*;
use support::{TestNamespace, kubectl, kubectl_json, try_kubectl};

const KINDS: [Kind; 4] = [Kind::Deployment, Kind::ReplicaSet, Kind::Pod, Kind::Event];
const ROLLOUT: Duration = Duration::from_secs(180);

fn dep<'a>(m: &'a ClusterModel, ns: &str, name: &str) -> Result<&'a DeploymentRow, String> {
    m.deployment(ns, name)
        .ok_or_else(|| format!("deployment {ns}/{name} not in the model yet"))
}

/// Waits until the model says Complete at `revision` with every pod of the current revision
/// ready and the old revisions scaled to no pods.
fn wait_complete(live: &LiveModel, ns: &str, name: &str, revision: i64) {
    live.wait(
        &format!("{ns}/{name} complete at revision {revision} in the model"),
        ROLLOUT,
        |m| {
            let d = dep(m, ns, name)?;
            let revs = m.revisions(d);
            let seen = format!(
                "rollout {:?} revision {:?} revisions {:?}",
                d.rollout,
                d.revision,
                revs.iter()
                    .map(|r| (r.revision, r.current, r.pods.len()))
                    .collect::<Vec<_>>()
            );
            let current_ok = revs.iter().any(|r| {
                r.current
                    && r.revision == Some(revision)
                    && !r.pods.is_empty()
                    && r.pods.iter().all(|p| p.containers.iter().all(|c| c.ready))
            });
            let old_empty = revs
                .iter()
                .filter(|r| !r.current)
                .all(|r| r.pods.iter().all(|p| p.deleting) || r.pods.is_empty());
            if d.rollout == RolloutState::Complete
                && d.revision == Some(revision)
                && current_ok
                && old_empty
            {
                Ok(())
            } else {
                Err(seen)
            }
        },
    );
}

fn image_of(ns: &str, name: &str) -> String {
    kubectl([
        "-n",
        ns,
        "get",
        "deployment",
        name,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ])
}

fn history_revisions(ns: &str, name: &str) -> Vec<i64> {
    let out = kubectl([
        "-n",
        ns,
        "rollout",
        "history",
        &format!("deployment/{name}"),
    ]);
    out.lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// A namespace of its own with `web` on `image` (`replicas` pods, the admin pull secret), the
/// live model watching it, and the first rollout complete.
fn web_rolled_out(
    t: &berth::cluster::connect::KubeTarget,
    prefix: &str,
    image: &str,
    replicas: i32,
) -> (TestNamespace, LiveModel) {
    let ns = TestNamespace::new(prefix);
    admin_pull_secret(ns.name(), "acr");
    create(
        ns.name(),
        &deployment_json("web", &acr_image(image), Some("acr"), replicas),
    );
    let live = LiveModel::start(t, Some(vec![ns.name().to_owned()]), &KINDS);
    wait_complete(&live, ns.name(), "web", 1);
    (ns, live)
}

#[test]
fn restart_makes_a_new_replica_set_and_the_rollout_completes() {
    let _lock = apiserver_lock(false);
    let t = admin();
    let audit = Audit::new();
    let (ns, live) = web_rolled_out(&t, "cl-restart", "web:1.0.10", 2);

    let ctx = action_ctx(&t, &audit, false);
    let report = rt()
        .block_on(actions::restart(&ctx, ns.name(), "web"))
        .expect("restart");
    assert!(report.changed && !report.dry_run, "{report:?}");

    wait_complete(&live, ns.name(), "web", 2);
    // kubectl agrees: two revisions, the template carries the restart stamp, status succeeds.
    assert_eq!(history_revisions(ns.name(), "web"), vec![1, 2]);
    let stamp = kubectl([
        "-n",
        ns.name(),
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}",
    ]);
    assert!(
        report.new.as_deref().unwrap().ends_with(stamp.trim()) && !stamp.trim().is_empty(),
        "restartedAt {stamp:?} vs report {report:?}"
    );
    kubectl([
        "-n",
        ns.name(),
        "rollout",
        "status",
        "deployment/web",
        "--timeout=10s",
    ]);
    let rs = kubectl_json(["-n", ns.name(), "get", "replicasets"]);
    assert_eq!(rs["items"].as_array().unwrap().len(), 2, "{rs}");

    // Events reach the deployment through its ReplicaSets and pods.
    live.wait(
        "scaling and pod events joined to the deployment",
        ROLLOUT,
        |m| {
            let d = dep(m, ns.name(), "web")?;
            let evs = m.events_of_deployment(d);
            let reasons: Vec<&str> = evs.iter().map(|e| e.reason.as_str()).collect();
            let has = |r: &str| reasons.contains(&r);
            if has("ScalingReplicaSet") && has("SuccessfulCreate") && has("Started") {
                Ok(())
            } else {
                Err(format!("reasons so far: {reasons:?}"))
            }
        },
    );

    let records = audit.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["action"], "rollout.restart");
    assert_eq!(records[0]["target"], format!("{}/web", ns.name()));
    assert_eq!(records[0]["outcome"]["status"], "ok");
    assert_eq!(records[0]["actor"], "berth-admin", "{records:?}");
}

#[test]
fn set_image_missing_tag_is_stuck_and_undo_returns() {
    let _lock = apiserver_lock(false);
    let t = admin();
    let audit = Audit::new();
    let (ns, live) = web_rolled_out(&t, "cl-setimage", "web:1.0.11", 1);
    let ctx = action_ctx(&t, &audit, false);

    // An existing tag: the rollout completes on it.
    let r = rt()
        .block_on(actions::set_image(
            &ctx,
            ns.name(),
            "web",
            "app",
            &ImageTarget::Tag("1.0.12".into()),
        ))
        .expect("set image 1.0.12");
    assert_eq!(
        r.new.as_deref(),
        Some(format!("app={}", acr_image("web:1.0.12")).as_str())
    );
    wait_complete(&live, ns.name(), "web", 2);
    assert_eq!(image_of(ns.name(), "web"), acr_image("web:1.0.12"));

    // A missing tag: the new pod cannot pull, the model says Stuck long before the deadline.
    rt().block_on(actions::set_image(
        &ctx,
        ns.name(),
        "web",
        "app",
        &ImageTarget::Tag("0.0.0-missing".into()),
    ))
    .expect("set image to a missing tag");
    let stuck = live.wait("the model reports the rollout stuck", ROLLOUT, |m| {
        let d = dep(m, ns.name(), "web")?;
        match &d.rollout {
            RolloutState::Stuck { reason, message }
                if reason == "ImagePullBackOff" || reason == "ErrImagePull" =>
            {
                Ok(message.clone())
            }
            other => Err(format!("{other:?}")),
        }
    });
    assert!(stuck.contains("container app"), "{stuck}");
    // kubectl sees the same pod waiting.
    let pods = kubectl_json(["-n", ns.name(), "get", "pods"]);
    let waiting: Vec<String> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!(
        waiting
            .iter()
            .any(|r| r == "ImagePullBackOff" || r == "ErrImagePull"),
        "kubectl shows no pull failure: {waiting:?}"
    );
    // The old pod keeps serving (maxUnavailable 0).
    assert_eq!(
        live.with(|m| dep(m, ns.name(), "web").map(|d| d.available)),
        Ok(1)
    );

    // Undo: back to the previous image, and it completes.
    let r = rt()
        .block_on(actions::undo(&ctx, ns.name(), "web", None))
        .expect("undo");
    assert!(r.new.as_deref().unwrap().contains("web:1.0.12"), "{r:?}");
    wait_complete(&live, ns.name(), "web", 4);
    assert_eq!(image_of(ns.name(), "web"), acr_image("web:1.0.12"));
    kubectl([
        "-n",
        ns.name(),
        "rollout",
        "status",
        "deployment/web",
        "--timeout=10s",
    ]);

    // Undo to a chosen revision (1 = the first image).
    rt().block_on(actions::undo(&ctx, ns.name(), "web", Some(1)))
        .expect("undo to revision 1");
    wait_complete(&live, ns.name(), "web", 5);
    assert_eq!(image_of(ns.name(), "web"), acr_image("web:1.0.11"));
    assert_eq!(history_revisions(ns.name(), "web"), vec![3, 4, 5]);

    // An unknown revision changes nothing and says which exist.
    let e = rt()
        .block_on(actions::undo(&ctx, ns.name(), "web", Some(99)))
        .unwrap_err();
    assert!(
        matches!(&e, ActionError::Invalid(m) if m.contains("known revisions")),
        "{e}"
    );
    let actions_done: Vec<String> = audit
        .records()
        .iter()
        .map(|r| format!("{}:{}", r["action"], r["outcome"]["status"]))
        .collect();
    assert_eq!(
        actions_done,
        [
            "\"rollout.set-image\":\"ok\"",
            "\"rollout.set-image\":\"ok\"",
            "\"rollout.undo\":\"ok\"",
            "\"rollout.undo\":\"ok\"",
            "\"rollout.undo\":\"failed\""
        ]
    );
}

#[test]
fn pause_dry_run_and_resume() {
    let _lock = apiserver_lock(false);
    let t = admin();
    let audit = Audit::new();
    let (ns, live) = web_rolled_out(&t, "cl-pause", "web:1.0.13", 1);
    let ctx = action_ctx(&t, &audit, false);
    let dry = action_ctx(&t, &audit, true);
    let generation = || {
        kubectl([
            "-n",
            ns.name(),
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.metadata.generation}",
        ])
    };
    let before = generation();

    // Dry runs go to the apiserver (dryRun=All) and change nothing.
    let r = rt()
        .block_on(actions::restart(&dry, ns.name(), "web"))
        .unwrap();
    assert!(r.dry_run && r.changed);
    rt().block_on(actions::set_image(
        &dry,
        ns.name(),
        "web",
        "app",
        &ImageTarget::Tag("1.0.14".into()),
    ))
    .unwrap();
    // Invalid input is refused by berth before any call.
    assert!(
        rt().block_on(actions::set_image(
            &ctx,
            ns.name(),
            "web",
            "app",
            &ImageTarget::Tag("-bad".into())
        ))
        .is_err()
    );
    assert_eq!(
        generation(),
        before,
        "a dry run or invalid input changed the deployment"
    );
    assert_eq!(image_of(ns.name(), "web"), acr_image("web:1.0.13"));

    // Pause, then change the image: nothing rolls, the model says Paused.
    rt().block_on(actions::set_paused(&ctx, ns.name(), "web", true))
        .unwrap();
    let again = rt()
        .block_on(actions::set_paused(&ctx, ns.name(), "web", true))
        .unwrap();
    assert!(!again.changed, "pausing twice is a no-op: {again:?}");
    let e = rt()
        .block_on(actions::restart(&ctx, ns.name(), "web"))
        .unwrap_err();
    assert!(e.to_string().contains("paused"), "{e}");
    rt().block_on(actions::set_image(
        &ctx,
        ns.name(),
        "web",
        "app",
        &ImageTarget::Tag("1.0.14".into()),
    ))
    .unwrap();
    live.wait("the model reports Paused", ROLLOUT, |m| {
        let d = dep(m, ns.name(), "web")?;
        if d.rollout == RolloutState::Paused && d.paused {
            Ok(())
        } else {
            Err(format!("{:?} paused={}", d.rollout, d.paused))
        }
    });
    assert_eq!(
        kubectl_json(["-n", ns.name(), "get", "replicasets"])["items"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "a paused deployment made a new ReplicaSet"
    );

    // Resume: the held change rolls out.
    rt().block_on(actions::set_paused(&ctx, ns.name(), "web", false))
        .unwrap();
    wait_complete(&live, ns.name(), "web", 2);
    // `paused: false` is omitted by the apiserver (omitempty): empty or "false".
    let paused = kubectl([
        "-n",
        ns.name(),
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.paused}",
    ]);
    assert!(matches!(paused.trim(), "" | "false"), "{paused}");
    let outcomes: Vec<String> = audit
        .records()
        .iter()
        .map(|r| format!("{}:{}", r["action"], r["outcome"]["status"]))
        .collect();
    assert!(
        outcomes.starts_with(&[
            "\"rollout.restart\":\"dry_run\"".to_owned(),
            "\"rollout.set-image\":\"dry_run\"".to_owned(),
        ]),
        "{outcomes:?}"
    );
}

#[test]
fn readonly_identity_is_refused_before_any_write() {
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("cl-readonly");
    admin_pull_secret(ns.name(), "acr");
    create(
        ns.name(),
        &deployment_json("web", &acr_image("web:1.0.15"), Some("acr"), 1),
    );
    // Generation and spec, not resourceVersion: the deployment controller keeps writing the
    // new deployment's status meanwhile, and every refused action would change the spec.
    let rv = || {
        kubectl([
            "-n",
            ns.name(),
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.metadata.generation} {.spec}",
        ])
    };
    let before = rv();
    let t = readonly();
    let audit = Audit::new();
    let ctx = action_ctx(&t, &audit, false);
    assert_eq!(ctx.actor, "berth-readonly");
    let results = [
        rt().block_on(actions::restart(&ctx, ns.name(), "web")),
        rt().block_on(actions::set_image(
            &ctx,
            ns.name(),
            "web",
            "app",
            &ImageTarget::Tag("1.0.16".into()),
        )),
        rt().block_on(actions::undo(&ctx, ns.name(), "web", None)),
        rt().block_on(actions::set_paused(&ctx, ns.name(), "web", true)),
    ];
    for r in &results {
        let e = r
            .as_ref()
            .expect_err("the read-only identity was allowed to act");
        let msg = e.to_string();
        assert!(
            matches!(e, ActionError::Forbidden { .. })
                && msg.contains("berth-readonly may not")
                && msg.contains("deployments.apps")
                && msg.contains("nothing was changed"),
            "{msg}"
        );
    }
    assert_eq!(rv(), before, "the deployment changed");
    let recs = audit.records();
    assert_eq!(recs.len(), 4);
    assert!(
        recs.iter().all(|r| r["outcome"]["status"] == "refused"),
        "{recs:?}"
    );
    // Reading is fine for this identity: the model lists the deployment (secrets are forbidden
    // to it and reported so, not retried in a tight loop).
    let live = LiveModel::start(
        &t,
        Some(vec![ns.name().to_owned()]),
        &[Kind::Deployment, Kind::SecretMeta],
    );
    live.wait(
        "readonly model lists the deployment, secrets forbidden",
        ROLLOUT,
        |m| {
            let forbidden = m
                .connections()
                .iter()
                .filter(|(s, st)| {
                    s.kind == Kind::SecretMeta
                        && matches!(st, berth::cluster::model::ConnectionState::Forbidden { .. })
                })
                .count();
            if m.deployment(ns.name(), "web").is_some() && forbidden == 2 {
                Ok(())
            } else {
                Err(format!("{:?}", m.connections()))
            }
        },
    );
    assert!(try_kubectl(["-n", ns.name(), "get", "deployment", "web"]).is_ok());
}

/// The headless entry points the lead wires into main.rs, with their exit codes.
#[test]
fn headless_rollout_commands_and_exit_codes() {
    use berth::cluster::cli::{self, KubeArgs, RolloutArgs, RolloutCommand};
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("cl-cli");
    admin_pull_secret(ns.name(), "acr");
    create(
        ns.name(),
        &deployment_json("web", &acr_image("web:1.0.18"), Some("acr"), 1),
    );
    let audit = Audit::new();
    // SAFETY of set_var: this test binary reads BERTH_AUDIT_LOG only through the CLI below.
    unsafe { std::env::set_var("BERTH_AUDIT_LOG", audit.log.path()) };
    let kube = |kubeconfig: std::path::PathBuf| KubeArgs {
        kubeconfig: Some(kubeconfig),
        context: None,
        namespace: Some(ns.name().to_owned()),
        json: true,
        audit_log: None,
    };
    let env = support::Env::get();
    let run = |kubeconfig: std::path::PathBuf, command: RolloutCommand| {
        rt().block_on(cli::run_rollout(RolloutArgs {
            kube: kube(kubeconfig),
            command,
        }))
    };
    let status = |wait| RolloutCommand::Status {
        deployment: "web".into(),
        wait,
        timeout: 180,
    };
    assert_eq!(run(env.kubeconfig(), status(true)), cli::EXIT_OK);
    assert_eq!(
        run(
            env.kubeconfig_readonly(),
            RolloutCommand::Restart {
                deployment: "web".into(),
                dry_run: false,
                force_unmanaged: false,
            }
        ),
        cli::EXIT_REFUSED
    );
    assert_eq!(
        run(
            env.kubeconfig(),
            RolloutCommand::SetImage {
                deployment: "web".into(),
                container: Some("nope".into()),
                more: vec![],
                tag: Some("1.0.19".into()),
                digest: None,
                image: None,
                dry_run: false,
                force_unmanaged: false,
            }
        ),
        cli::EXIT_INVALID
    );
    assert_eq!(
        run(
            env.kubeconfig(),
            RolloutCommand::SetImage {
                deployment: "web".into(),
                container: Some("app".into()),
                more: vec![],
                tag: Some("0.0.0-missing".into()),
                digest: None,
                image: None,
                dry_run: false,
                force_unmanaged: false,
            }
        ),
        cli::EXIT_OK
    );
    assert_eq!(run(env.kubeconfig(), status(true)), cli::EXIT_STUCK);
    assert_eq!(
        run(
            env.kubeconfig(),
            RolloutCommand::Status {
                deployment: "missing".into(),
                wait: false,
                timeout: 30
            }
        ),
        cli::EXIT_INVALID
    );
    let recs = audit.records();
    let outcomes: Vec<&str> = recs
        .iter()
        .map(|r| r["outcome"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["refused", "failed", "ok"], "{recs:?}");
}

/// The optimistic-concurrency guard refuses a write whose read is stale in its spec, but not one
/// whose read is stale only in metadata or status (which the controllers rewrite constantly:
/// a pause right after a rollout used to fail on the controller's status update).
#[test]
fn a_stale_spec_conflicts_but_a_status_or_metadata_change_does_not() {
    use k8s_openapi::api::apps::v1::Deployment;
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("cl-conflict");
    let t = admin();
    let audit = Audit::new();
    create(
        ns.name(),
        &deployment_json("web", &acr_image("web:1.0.13"), None, 0),
    );
    let ctx = action_ctx(&t, &audit, false);
    let api: kube::Api<Deployment> = kube::Api::namespaced(t.client.clone(), ns.name());
    let paused = || {
        kubectl([
            "-n",
            ns.name(),
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.paused}",
        ])
    };

    // Metadata changes after the read (an annotation, which bumps a Deployment's generation
    // too): the write still goes through.
    let read = rt().block_on(api.get("web")).unwrap();
    kubectl([
        "-n",
        ns.name(),
        "annotate",
        "deploy",
        "web",
        "berth-test/touch=1",
    ]);
    rt().block_on(actions::write_patch(
        &ctx,
        ns.name(),
        "web",
        &read,
        serde_json::json!({"spec": {"paused": true}}),
    ))
    .expect("a metadata-only change since the read is not a conflict");
    assert_eq!(paused(), "true");

    // The spec changes after the read: refused, and nothing written.
    let read = rt().block_on(api.get("web")).unwrap();
    kubectl([
        "-n",
        ns.name(),
        "set",
        "image",
        "deploy/web",
        &format!("app={}", acr_image("web:1.0.14")),
    ]);
    let e = rt()
        .block_on(actions::write_patch(
            &ctx,
            ns.name(),
            "web",
            &read,
            serde_json::json!({"spec": {"paused": false}}),
        ))
        .unwrap_err();
    assert!(matches!(e, ActionError::Conflict { .. }), "{e}");
    assert_eq!(paused(), "true", "a refused write changed the deployment");
}
