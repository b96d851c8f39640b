//! Snapshot tests of every pane and dialog at 120×40 and 80×24 (ratatui TestBackend + insta),
//! with the demo fixtures shaped like the real model. Colours are checked separately where they
//! carry meaning (a failing pod must be impossible to miss).

mod support_ui;

use berth::app::action::{
    Action, Notice, Permission, PermissionUpdate, StepStatus, StepUpdate, TaskOutcome,
};
use berth::app::diagnosis::{DiagnosisView, Evidence, Fix};
use berth::app::effects::{Effect, MutationKind};
use berth::app::state::{Focus, ReadOnly, State};
use berth::app::{update, view};
use berth::cluster::model::ObjectRef;
use berth::ui::Theme;
use support_ui::*;

const SIZES: [(u16, u16); 2] = [(120, 40), (80, 24)];

fn snap(name: &str, build: impl Fn(u16, u16) -> State) {
    // "Stale since" is said in local time ("since 10:00:00" in UTC): the fixtures' "now" is
    // written as hh:mm:ss there so the snapshots hold in every time zone.
    let local_now = format!(
        "since {}",
        berth::app::fixtures::now()
            .to_zoned(jiff::tz::TimeZone::system())
            .strftime("%H:%M:%S")
    );
    for (w, h) in SIZES {
        let state = build(w, h);
        let screen = render(&state).replace(&local_now, "since hh:mm:ss");
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen);
    }
}

#[test]
fn main_screen() {
    snap("main", demo_state);
}

#[test]
fn failing_deployment_pods_focused() {
    snap("pods_failing", |w, h| {
        let mut s = demo_state(w, h);
        select_deployment(&mut s, "api");
        press(&mut s, "enter");
        s
    });
}

#[test]
fn failing_pod_status_is_alarm_coloured() {
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "api");
    let buf = render_buffer(&s);
    let (x, y) = find(&buf, "ImagePullBackOff").expect("status on screen");
    let theme = Theme::default();
    assert_eq!(buf[(x, y)].bg, theme.alarm.bg.unwrap());
    assert_eq!(buf[(x, y)].fg, theme.alarm.fg.unwrap());
    let (x, y) = find(&buf, "stuck").expect("rollout state on screen");
    assert_eq!(buf[(x, y)].bg, theme.alarm.bg.unwrap());
    // Warnings in the timeline are highlighted.
    let (x, y) = find(&buf, "Back-off pulling").expect("warning event on screen");
    assert_eq!(buf[(x, y)].fg, theme.warning.fg.unwrap());
}

#[test]
fn namespace_timeline_when_nothing_is_selected() {
    snap("events_namespace", |w, h| {
        let mut s = demo_state(w, h);
        press(&mut s, "/");
        type_text(&mut s, "nomatch");
        press(&mut s, "enter");
        s.focus = Focus::Events;
        s
    });
}

#[test]
fn events_scrolled_back() {
    snap("events_scrolled", |w, h| {
        let mut s = demo_state(w, h);
        select_deployment(&mut s, "api");
        s.focus = Focus::Events;
        press(&mut s, "k k");
        s
    });
}

#[test]
fn help_overlay() {
    snap("help_pods", |w, h| {
        let mut s = demo_state(w, h);
        s.focus = Focus::Pods;
        press(&mut s, "?");
        s
    });
}

#[test]
fn palette() {
    snap("palette_ns", |w, h| {
        let mut s = demo_state(w, h);
        press(&mut s, ":");
        type_text(&mut s, "ns ");
        s
    });
    snap("palette_commands", |w, h| {
        let mut s = demo_state(w, h);
        press(&mut s, ":");
        type_text(&mut s, "re");
        press(&mut s, "down");
        s
    });
}

#[test]
fn filter_line() {
    snap("filter_tags", |w, h| {
        let mut s = demo_state(w, h);
        s.focus = Focus::Tags;
        press(&mut s, "/");
        type_text(&mut s, "1.0.2");
        s
    });
}

#[test]
fn retag_prompt_and_confirm() {
    snap("retag_prompt_error", |w, h| {
        let mut s = demo_state(w, h);
        select_tag(&mut s, "1.0.29");
        press(&mut s, "t");
        type_text(&mut s, "1.0 beta");
        press(&mut s, "enter");
        s
    });
    snap("retag_confirm_overwrite", |w, h| {
        let mut s = demo_state(w, h);
        select_tag(&mut s, "1.0.29");
        press(&mut s, "t");
        type_text(&mut s, "1.0.28");
        press(&mut s, "enter y");
        s
    });
    snap("retag_confirm_new_dry", |w, h| {
        let mut s = demo_state(w, h);
        select_tag(&mut s, "1.0.29");
        press(&mut s, "t");
        type_text(&mut s, "stable");
        press(&mut s, "enter d");
        s
    });
}

#[test]
fn set_image_confirm() {
    snap("set_image_confirm", |w, h| {
        let mut s = demo_state(w, h);
        select_deployment(&mut s, "web");
        select_tag(&mut s, "1.0.29");
        press(&mut s, "i");
        s
    });
    snap("set_image_confirm_pinned", |w, h| {
        let mut s = demo_state(w, h);
        select_deployment(&mut s, "web");
        select_tag(&mut s, "1.0.29");
        press(&mut s, "i @");
        s
    });
}

/// The demo state with `web` (namespace shop) labelled as Helm-managed, as a Helm 3 release
/// labels what it installs.
fn helm_managed_web(w: u16, h: u16) -> State {
    use berth::cluster::model::{ModelEvent, ModelUpdate, Row, WorkloadKind};
    use std::collections::BTreeMap;
    let mut s = demo_state(w, h);
    let ns = s.namespace.clone();
    let mut row = s
        .cluster
        .workload(WorkloadKind::Deployment, &ns, "web")
        .expect("demo has web")
        .clone();
    let labels: BTreeMap<String, String> = [
        ("app.kubernetes.io/managed-by", "Helm"),
        ("app.kubernetes.io/instance", "shop-web"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let annotations: BTreeMap<String, String> = [
        ("meta.helm.sh/release-name", "shop-web"),
        ("meta.helm.sh/release-namespace", ns.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    row.owner = berth::cluster::owner::detect_owner(&labels, &annotations);
    assert!(row.owner.is_some());
    let epoch = s.cluster.epoch();
    update(
        &mut s,
        Action::from(ModelUpdate {
            epoch,
            event: ModelEvent::Upsert(Row::Workload(row)),
        }),
    );
    s
}

/// The demo state with `web:1.0.28` write-locked on ACR, as its listing reports it.
fn locked_tag(w: u16, h: u16) -> State {
    let mut s = demo_state(w, h);
    let t = s
        .registry
        .tags
        .get_mut("web")
        .and_then(|ts| ts.iter_mut().find(|t| t.name == "1.0.28"))
        .expect("demo has web:1.0.28");
    t.attributes = Some(berth::registry::locks::TagAttributes {
        write_enabled: false,
        ..Default::default()
    });
    s
}

#[test]
fn locked_tags_show_and_refuse_a_retag() {
    snap("tags_locked", |w, h| {
        let mut s = locked_tag(w, h);
        select_tag(&mut s, "1.0.28");
        s
    });
    snap("retag_confirm_locked", |w, h| {
        let mut s = locked_tag(w, h);
        select_tag(&mut s, "1.0.29");
        press(&mut s, "t");
        type_text(&mut s, "1.0.28");
        press(&mut s, "enter f y");
        s
    });
    // On ACR the confirmation offers to lock the target after promoting it.
    snap("retag_confirm_lock_after", |w, h| {
        let mut s = locked_tag(w, h);
        select_tag(&mut s, "1.0.29");
        press(&mut s, "t");
        type_text(&mut s, "stable");
        press(&mut s, "enter l");
        s
    });
    let mut s = locked_tag(120, 40);
    select_tag(&mut s, "1.0.29");
    press(&mut s, "t");
    type_text(&mut s, "stable");
    let tasks = press(&mut s, "enter l y");
    assert!(
        matches!(
            tasks.as_slice(),
            [t] if matches!(&t.effect, Effect::Retag { lock: true, force: false, .. })
        ),
        "{tasks:?}"
    );
    // Not offered where the listing has no locks (a plain registry).
    let mut s = demo_state(120, 40);
    select_tag(&mut s, "1.0.29");
    press(&mut s, "t");
    type_text(&mut s, "stable");
    let tasks = press(&mut s, "enter l y");
    assert!(
        matches!(
            tasks.as_slice(),
            [t] if matches!(&t.effect, Effect::Retag { lock: false, .. })
        ),
        "{tasks:?}"
    );
    // Confirming (even with the overwrite allowed) starts nothing and names the lock.
    let mut s = locked_tag(120, 40);
    select_tag(&mut s, "1.0.29");
    press(&mut s, "t");
    type_text(&mut s, "1.0.28");
    let tasks = press(&mut s, "enter f y");
    assert!(tasks.is_empty(), "{tasks:?}");
    let buf = render_buffer(&s);
    assert!(find(&buf, "✗ refused: web:1.0.28 is locked (writeEnabled=false)").is_some());
}

#[test]
fn managed_workload_confirms_warn_about_the_owner() {
    snap("managed_main", |w, h| {
        let mut s = helm_managed_web(w, h);
        select_deployment(&mut s, "web");
        s
    });
    for (name, key) in [
        ("managed_restart_confirm", "r"),
        ("managed_undo_confirm", "u"),
    ] {
        snap(name, |w, h| {
            let mut s = helm_managed_web(w, h);
            select_deployment(&mut s, "web");
            press(&mut s, key);
            s
        });
    }
    snap("managed_set_image_confirm", |w, h| {
        let mut s = helm_managed_web(w, h);
        select_deployment(&mut s, "web");
        select_tag(&mut s, "1.0.29");
        press(&mut s, "i");
        s
    });
    // The warning is on screen, in the danger style, naming the release and the way instead.
    let mut s = helm_managed_web(120, 40);
    select_deployment(&mut s, "web");
    select_tag(&mut s, "1.0.29");
    press(&mut s, "i");
    let buf = render_buffer(&s);
    let (x, y) = find(&buf, "⚠ deploy/web is managed by Helm release shop-web").expect("warning");
    assert_eq!(
        buf[(x + 2, y)].fg,
        Theme::default().dialog_danger.fg.unwrap()
    );
    assert!(find(&buf, "instead: helm upgrade shop-web CHART").is_some());
}

#[test]
fn deployment_action_confirms() {
    for (name, key, dep) in [
        ("restart_confirm", "r", "web"),
        ("undo_confirm", "u", "web"),
        ("pause_confirm", "p", "web"),
        ("resume_confirm", "p", "worker"),
        ("rotate_confirm", "s", "web"),
        ("attach_confirm", "a", "web"),
    ] {
        snap(name, |w, h| {
            let mut s = demo_state(w, h);
            select_deployment(&mut s, dep);
            press(&mut s, key);
            s
        });
    }
}

/// `U`: every revision of web, newest first, the live one marked; the cursor starts where undo
/// would go; enter on another opens the undo confirmation to exactly that revision.
#[test]
fn revision_picker_undoes_to_the_chosen_revision() {
    snap("revisions", |w, h| {
        let mut s = demo_state(w, h);
        select_deployment(&mut s, "web");
        press(&mut s, "U");
        s
    });
    snap("revisions_undo_confirm", |w, h| {
        let mut s = demo_state(w, h);
        select_deployment(&mut s, "web");
        press(&mut s, "U j enter");
        s
    });
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "web");
    press(&mut s, "U j enter");
    let tasks = press(&mut s, "y");
    match tasks.first().map(|t| &t.effect) {
        Some(Effect::Undo { to_revision, .. }) => assert_eq!(*to_revision, Some(2)),
        other => panic!("expected the undo to revision 2: {other:?}"),
    }
    // Enter on the live revision changes nothing.
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "web");
    press(&mut s, "U k enter");
    // The picker stays open; `y` means nothing there.
    assert!(press(&mut s, "y").is_empty());
    let screen = render(&s);
    assert!(
        screen.contains("revision 4 is the one web runs"),
        "{screen}"
    );
}

fn rotating(w: u16, h: u16) -> State {
    let mut s = demo_state(w, h);
    press(&mut s, "s");
    let tasks = press(&mut s, "y");
    let id = tasks[0].id;
    for (ns, st, detail) in [
        ("shop", StepStatus::Done, "updated"),
        ("staging", StepStatus::Running, "patching"),
    ] {
        update(
            &mut s,
            Action::TaskProgress {
                id,
                step: StepUpdate {
                    step: ns.into(),
                    status: st,
                    detail: detail.into(),
                },
            },
        );
    }
    s
}

#[test]
fn progress_and_notices() {
    snap("progress_rotate", rotating);
    snap("notices", |w, h| {
        let mut s = demo_state(w, h);
        select_deployment(&mut s, "web");
        press(&mut s, "r");
        let tasks = press(&mut s, "y");
        update(
            &mut s,
            Action::TaskDone {
                id: tasks[0].id,
                result: Ok(TaskOutcome::Done {
                    summary: "restarted shop/web: revision 5 rolling out".into(),
                }),
            },
        );
        update(
            &mut s,
            Action::Notice(Notice::error(
                "registry berthacr.azurecr.io: token refresh failed: 401 unauthorized — run \
                 `az login` or set BERTH_SP_CLIENT_SECRET, then press : and type ctx to reconnect",
            )),
        );
        s
    });
}

fn api_pod() -> ObjectRef {
    ObjectRef {
        namespace: "shop".into(),
        name: "api-5f7d9c8b6-vn2lx".into(),
    }
}

#[test]
fn diagnosis_panel() {
    snap("diagnosis_running", |w, h| {
        let mut s = demo_state(w, h);
        select_deployment(&mut s, "api");
        let tasks = press(&mut s, "d");
        update(
            &mut s,
            Action::TaskProgress {
                id: tasks[0].id,
                step: StepUpdate {
                    step: "pull secrets".into(),
                    status: StepStatus::Done,
                    detail: "acr-pull via serviceaccount default".into(),
                },
            },
        );
        update(
            &mut s,
            Action::TaskProgress {
                id: tasks[0].id,
                step: StepUpdate {
                    step: "registry probe".into(),
                    status: StepStatus::Running,
                    detail: format!("GET /v2/api/manifests/2.3.0 on {REGISTRY}"),
                },
            },
        );
        s
    });
    snap("diagnosis_result", |w, h| {
        let mut s = demo_state(w, h);
        select_deployment(&mut s, "api");
        let tasks = press(&mut s, "d");
        update(
            &mut s,
            Action::TaskDone {
                id: tasks[0].id,
                result: Ok(TaskOutcome::Diagnosis(Box::new(DiagnosisView {
                    pod: api_pod(),
                    image: format!("{REGISTRY}/api:2.3.0"),
                    cause: format!("Tag missing: api:2.3.0 is not in {REGISTRY}"),
                    code: "tag-missing".into(),
                    evidence: vec![
                        Evidence {
                            check: "image reference".into(),
                            finding: format!("{REGISTRY}/api:2.3.0"),
                            ok: true,
                        },
                        Evidence {
                            check: "pull secrets".into(),
                            finding: "acr-pull (imagePullSecrets of serviceaccount default)".into(),
                            ok: true,
                        },
                        Evidence {
                            check: "credentials".into(),
                            finding: "token for repository:api:pull issued".into(),
                            ok: true,
                        },
                        Evidence {
                            check: "manifest".into(),
                            finding: "HEAD /v2/api/manifests/2.3.0 → 404 MANIFEST_UNKNOWN; \
                                      existing tags: 2.2.0, 2.1.0, 2.0.0"
                                .into(),
                            ok: false,
                        },
                    ],
                    fix: Some(Fix {
                        title: "set deployment shop/api to api:2.2.0 (newest existing tag)".into(),
                        effect: Effect::SetImage {
                            deployment: ObjectRef {
                                namespace: "shop".into(),
                                name: "api".into(),
                            },
                            container: "api".into(),
                            expected_image: format!("{REGISTRY}/api:2.3.0"),
                            image: format!("{REGISTRY}/api:2.2.0"),
                            dry_run: false,
                        },
                    }),
                    advice: Some("or push api:2.3.0, then the pod pulls on its next retry".into()),
                }))),
            },
        );
        s
    });
}

#[test]
fn read_only_and_rbac_hints() {
    snap("read_only", |w, h| {
        let mut s = demo_state(w, h);
        s.read_only = ReadOnly::On("--read-only".into());
        s
    });
    snap("rbac_denied", |w, h| {
        let mut s = demo_state(w, h);
        update(
            &mut s,
            Action::Permissions(
                [
                    MutationKind::Restart,
                    MutationKind::Undo,
                    MutationKind::SetImage,
                ]
                .into_iter()
                .map(|kind| PermissionUpdate {
                    kind,
                    namespace: Some("shop".into()),
                    permission: Permission::Denied("RBAC: cannot patch deployments in shop".into()),
                })
                .collect(),
            ),
        );
        s
    });
}

#[test]
fn empty_and_connecting() {
    snap("connecting", |w, h| {
        let mut s = State::new(now());
        update(
            &mut s,
            Action::Resize {
                width: w,
                height: h,
            },
        );
        s
    });
    snap("reconnecting", |w, h| {
        let mut s = demo_state(w, h);
        update(
            &mut s,
            berth::app::fixtures::model(berth::cluster::model::ModelEvent::Connection {
                scope: berth::cluster::model::WatchScope::new(
                    berth::cluster::model::Kind::Pod,
                    None,
                ),
                state: berth::cluster::model::ConnectionState::Reconnecting {
                    error: "watch stream ended: connection reset".into(),
                },
            }),
        );
        s
    });
}

#[test]
fn too_small_never_panics() {
    for (w, h) in [(59, 24), (80, 15), (1, 1), (0, 0), (20, 5)] {
        let mut s = demo_state(120, 40);
        update(
            &mut s,
            Action::Resize {
                width: w,
                height: h,
            },
        );
        press(&mut s, "?");
        // (TestBackend cannot print a zero-width screen; drawing it must still not panic.)
        let buf = render_buffer(&s);
        if w >= 20 {
            let screen = render(&s);
            assert!(screen.contains("too small"), "{w}×{h}:\n{screen}");
        } else {
            assert_eq!(buf.area.width, w);
        }
    }
    let mut s = demo_state(120, 40);
    update(
        &mut s,
        Action::Resize {
            width: 50,
            height: 12,
        },
    );
    insta::assert_snapshot!("too_small_50x12", render(&s));
}

#[test]
fn every_size_from_minimum_up_draws_without_panicking() {
    // Progress, notices and each kind of dialog over the panes: the worst cases for layout
    // arithmetic.
    for w in (60..=130).step_by(7) {
        for h in (16..=44).step_by(4) {
            let mut s = rotating(w, h);
            update(&mut s, Action::Notice(Notice::error("x ".repeat(100))));
            select_tag(&mut s, "1.0.29");
            press(&mut s, "t");
            type_text(&mut s, "stable");
            press(&mut s, "enter");
            assert!(render(&s).contains("Retag"), "{w}×{h}");
            press(&mut s, "esc");
            select_deployment(&mut s, "api");
            press(&mut s, "d");
            assert!(render(&s).contains("Diagnosis"), "{w}×{h}");
            press(&mut s, "esc ?");
            assert!(render(&s).contains("Keys"), "{w}×{h}");
            press(&mut s, "esc :");
            type_text(&mut s, "ns ");
            assert!(render(&s).contains("Command"), "{w}×{h}");
            assert!(view::selected_tag(&s).is_some());
        }
    }
}

#[test]
fn ten_thousand_pods_paged() {
    snap("pods_10k_middle", |w, h| {
        let mut s = demo_state(w, h);
        berth::app::fixtures::add_pods(&mut s, 10_000);
        press(&mut s, "enter g");
        for _ in 0..5000 {
            update(&mut s, Action::Command(berth::app::keymap::Command::Down));
        }
        assert_eq!(s.nav.pods.selected, 5000);
        assert_eq!(view::pods_count(&s), 10_003);
        s
    });
}
