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

/// The monochrome theme (`NO_COLOR`): no cell carries a colour, the selected row is reversed
/// and bold, the failing pod's status and the stuck rollout reversed and underlined, and the
/// text is the one the colour theme shows.
#[test]
fn mono_theme_marks_selection_and_alarms_without_colour() {
    use ratatui::style::{Color, Modifier};
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "api");
    let coloured = render(&s);
    s.theme = Theme::mono().into();
    assert_eq!(render(&s), coloured, "the theme changed the text");
    let buf = render_buffer(&s);
    for cell in buf.content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    let (x, y) = find(&buf, "ImagePullBackOff").expect("status on screen");
    let alarm = Modifier::REVERSED | Modifier::UNDERLINED | Modifier::BOLD;
    assert!(buf[(x, y)].modifier.contains(alarm), "{:?}", buf[(x, y)]);
    let (x, y) = find(&buf, "stuck").expect("rollout state on screen");
    assert!(buf[(x, y)].modifier.contains(alarm), "{:?}", buf[(x, y)]);
    // The selected deployment's name cell: reversed and bold (the selection), in every theme
    // a cell the eye finds without colour.
    let row = row_text(&buf, y);
    let x = row[..row.find("││api ").expect("api's row")]
        .chars()
        .count() as u16
        + 2;
    assert!(
        buf[(x, y)]
            .modifier
            .contains(Modifier::REVERSED | Modifier::BOLD),
        "{:?}",
        buf[(x, y)]
    );
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

/// Notices (six of them, the most berth keeps) never cover a row of the panes an operator
/// acts on: the registry, deployments and pods panes read the same with them as without.
#[test]
fn notices_leave_the_acting_panes_alone() {
    for (w, h) in SIZES {
        let mut s = demo_state(w, h);
        select_deployment(&mut s, "web");
        let layout = berth::ui::layout::ScreenLayout::compute(w, h);
        let before = render_buffer(&s);
        for i in 0..6 {
            update(
                &mut s,
                Action::Notice(Notice::error(format!(
                    "notice {i}: the registry refused the token — run `az login`, then retry"
                ))),
            );
        }
        let after = render_buffer(&s);
        assert!(
            find(&after, "notice 5").is_some(),
            "{w}x{h}: the newest notice shows"
        );
        for pane in [
            layout.repositories,
            layout.tags,
            layout.deployments,
            layout.pods,
        ] {
            for y in pane.top()..pane.bottom() {
                for x in pane.left()..pane.right() {
                    assert_eq!(
                        before[(x, y)].symbol(),
                        after[(x, y)].symbol(),
                        "{w}x{h}: a notice covers ({x}, {y})"
                    );
                }
            }
        }
    }
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

/// The logs view of the workload `web` with `n` lines from its three pods, interleaved.
fn logs_state(w: u16, h: u16, n: usize) -> State {
    use berth::app::logs::{Delivered, LogLine, LogsUpdate, source_label};
    let mut s = demo_state(w, h);
    select_deployment(&mut s, "web");
    let tasks = press(&mut s, "l");
    let session = match tasks.first().map(|t| &t.effect) {
        Some(Effect::LogStream(spec)) => spec.session,
        other => panic!("expected log streams: {other:?}"),
    };
    let pods = [
        "web-7c9f8d6b5-2xkqp",
        "web-7c9f8d6b5-8hzvm",
        "web-7c9f8d6b5-tq4wd",
    ];
    let lines = (0..n)
        .map(|i| {
            let pod = pods[i % 3];
            let level = if i % 7 == 3 { "ERROR" } else { "INFO" };
            LogLine::log(
                source_label(pod, "web"),
                format!(
                    "2026-12-02T05:{:02}:{:02}.000000000Z {level} GET /api/cart/{i} 200 {}ms",
                    i / 60 % 60,
                    i % 60,
                    i * 7 % 300
                ),
            )
        })
        .collect();
    update(
        &mut s,
        Action::Logs(LogsUpdate::Lines {
            session,
            lines,
            dropped: 0,
            delivered: Delivered::default(),
        }),
    );
    s
}

/// `l` on a workload: every pod's lines interleaved with a `pod/container` prefix, following.
#[test]
fn logs_view_follows_a_workload() {
    snap("logs_following", |w, h| logs_state(w, h, 60));
}

/// Scrolled up: paused, with the count of newer lines; a search highlights every hit and the
/// current one; timestamps on, long lines wrapped; lines dropped for a lagging UI are counted.
#[test]
fn logs_view_paused_search_timestamps_wrap() {
    use berth::app::logs::{Delivered, LogLine, LogsUpdate, source_label};
    snap("logs_paused_search", |w, h| {
        let mut s = logs_state(w, h, 60);
        press(&mut s, "k k k k k /");
        type_text(&mut s, "error");
        press(&mut s, "enter");
        s
    });
    snap("logs_timestamps_wrap_dropped", |w, h| {
        let mut s = logs_state(w, h, 30);
        let session = match s.dialogs.last() {
            Some(berth::app::state::Dialog::Logs(v)) => v.session,
            _ => panic!("logs view open"),
        };
        update(
            &mut s,
            Action::Logs(LogsUpdate::Lines {
                session,
                lines: vec![LogLine::log(
                    source_label("web-7c9f8d6b5-2xkqp", "web"),
                    format!("2026-12-02T06:00:00.000000000Z {}", "long line ".repeat(30)),
                )],
                dropped: 1234,
                delivered: Delivered::default(),
            }),
        );
        press(&mut s, "t w");
        s
    });
}

/// The logs view's streams: one per running container of the workload's pods; a pod that
/// appears (a rollout) joins; lines of a closed view's session are ignored; esc closes the
/// streams.
#[test]
fn logs_view_streams_follow_the_model() {
    use berth::app::fixtures::model;
    use berth::app::logs::{Delivered, LogLine, LogsUpdate, source_label};
    use berth::cluster::model::{ContainerRow, ContainerState, ModelEvent, PodRow, Row};
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "web");
    let tasks = press(&mut s, "l");
    let mut pods: Vec<String> = tasks
        .iter()
        .filter_map(|t| match &t.effect {
            Effect::LogStream(spec) => {
                assert!(spec.follow && !spec.previous);
                assert_eq!(spec.tail_lines, Some(berth::app::logs::DEFAULT_TAIL));
                Some(spec.key.pod.clone())
            }
            _ => None,
        })
        .collect();
    pods.sort();
    assert_eq!(
        pods,
        [
            "web-7c9f8d6b5-2xkqp",
            "web-7c9f8d6b5-8hzvm",
            "web-7c9f8d6b5-tq4wd"
        ]
    );
    let Effect::LogStream(first) = &tasks[0].effect else {
        unreachable!()
    };
    let session = first.session;
    // A new pod of the workload's ReplicaSet appears, first creating, then running.
    let old = s
        .cluster
        .pod("shop", "web-7c9f8d6b5-2xkqp")
        .unwrap()
        .clone();
    let mut new = PodRow {
        name: "web-7c9f8d6b5-new01".into(),
        uid: "uid-new01".into(),
        containers: vec![ContainerRow {
            name: "web".into(),
            state: ContainerState::Waiting {
                reason: "ContainerCreating".into(),
                message: String::new(),
            },
            ..old.containers[0].clone()
        }],
        ..old.clone()
    };
    let t = update(&mut s, model(ModelEvent::Upsert(Row::Pod(new.clone()))));
    assert!(t.is_empty(), "no stream before the container runs: {t:?}");
    new.containers[0].state = ContainerState::Running { since: None };
    let t = update(&mut s, model(ModelEvent::Upsert(Row::Pod(new.clone()))));
    match t.as_slice() {
        [task] => match &task.effect {
            Effect::LogStream(spec) => {
                assert_eq!(spec.key.pod, "web-7c9f8d6b5-new01");
                assert_eq!(spec.session, session);
            }
            other => panic!("{other:?}"),
        },
        other => panic!("expected one new stream: {other:?}"),
    }
    // The same pod again opens nothing more.
    assert!(update(&mut s, model(ModelEvent::Upsert(Row::Pod(new)))).is_empty());
    // `p`: previous containers; only tq4wd's container restarted, the others get a note.
    let t = press(&mut s, "p");
    assert!(matches!(t[0].effect, Effect::StopLogs { session: old } if old == session));
    let prev: Vec<_> = t
        .iter()
        .filter_map(|t| match &t.effect {
            Effect::LogStream(spec) => Some((spec.key.pod.as_str(), spec.previous, spec.follow)),
            _ => None,
        })
        .collect();
    assert_eq!(prev, [("web-7c9f8d6b5-tq4wd", true, false)]);
    // Lines of the old session are not shown.
    update(
        &mut s,
        Action::Logs(LogsUpdate::Lines {
            session,
            lines: vec![LogLine::log(source_label("x", "y"), "stale line".into())],
            dropped: 0,
            delivered: Delivered::default(),
        }),
    );
    assert!(!render(&s).contains("stale line"));
    let t = press(&mut s, "esc");
    assert!(matches!(t.as_slice(), [task] if matches!(task.effect, Effect::StopLogs { .. })));
    assert!(s.dialogs.is_empty());
}

/// The batch token reaches the runner once `update` has taken the lines: the forwarder sends
/// the next batch only then.
#[test]
fn a_batch_is_acknowledged_when_update_took_it() {
    use berth::app::logs::{Delivered, LogsUpdate};
    use std::sync::Arc;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut s = logs_state(120, 40, 1);
    let session = match s.dialogs.last() {
        Some(berth::app::state::Dialog::Logs(v)) => v.session,
        _ => panic!("logs view open"),
    };
    let notify = Arc::new(tokio::sync::Notify::new());
    update(
        &mut s,
        Action::Logs(LogsUpdate::Lines {
            session,
            lines: Vec::new(),
            dropped: 0,
            delivered: Delivered::new(Arc::clone(&notify)),
        }),
    );
    rt.block_on(async {
        tokio::time::timeout(std::time::Duration::from_secs(5), notify.notified())
            .await
            .expect("the token was released by update");
    });
}

/// Every hit of a search is highlighted, the current one in the alarm style.
#[test]
fn logs_search_highlights_hits() {
    let mut s = logs_state(120, 40, 60);
    press(&mut s, "/");
    type_text(&mut s, "error");
    press(&mut s, "enter");
    let buf = render_buffer(&s);
    let theme = Theme::default();
    let y_of = |needle: &str| find(&buf, needle).expect("line on screen").1;
    let x = find(&buf, "ERROR GET /api/cart/59").expect("newest hit").0;
    assert_eq!(buf[(x, y_of("/api/cart/59 "))].bg, theme.alarm.bg.unwrap());
    let x = find(&buf, "ERROR GET /api/cart/52").expect("older hit").0;
    assert_eq!(
        buf[(x, y_of("/api/cart/52 "))].bg,
        theme.selected.bg.unwrap()
    );
    // N goes to the older hit, which becomes the current one.
    press(&mut s, "N");
    let buf = render_buffer(&s);
    let x = find(&buf, "ERROR GET /api/cart/52").expect("older hit").0;
    let y = find(&buf, "/api/cart/52 ").unwrap().1;
    assert_eq!(buf[(x, y)].bg, theme.alarm.bg.unwrap());
}

/// `?` in the logs view lists its keys; `/` shows the search being typed at the bottom.
#[test]
fn logs_view_help_and_search_input() {
    snap("logs_help", |w, h| {
        let mut s = logs_state(w, h, 40);
        press(&mut s, "?");
        s
    });
    snap("logs_search_typing", |w, h| {
        let mut s = logs_state(w, h, 40);
        press(&mut s, "/");
        type_text(&mut s, "cart/3");
        s
    });
}

/// The object view on the failing `api` pod, answered with the pod as the apiserver returns
/// it (managedFields included: the view hides them).
fn object_state(w: u16, h: u16) -> State {
    use berth::cluster::manifest::{KindInfo, Manifest};
    let mut s = demo_state(w, h);
    select_deployment(&mut s, "api");
    press(&mut s, "enter");
    let pod = view::selected_pod(&s).unwrap().clone();
    let tasks = press(&mut s, "y");
    let value = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod.name,
            "namespace": "shop",
            "uid": pod.uid,
            "resourceVersion": "48121",
            "creationTimestamp": "2026-12-02T04:58:01Z",
            "labels": {"app": "api", "pod-template-hash": "5f7d9c8b6"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-5f7d9c8b6",
                "uid": "uid-rs-shop-api-5f7d9c8b6", "controller": true, "blockOwnerDeletion": true}],
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {}}}}]
        },
        "spec": {
            "containers": [{"name": "api", "image": pod.containers[0].image,
                "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "resources": {}}],
            "imagePullSecrets": [{"name": "acr-pull"}],
            "nodeName": "aks-nodepool1-31718369-vmss000000",
            "restartPolicy": "Always",
            "serviceAccountName": "default"
        },
        "status": {
            "phase": "Pending",
            "containerStatuses": [{"name": "api", "image": pod.containers[0].image, "imageID": "",
                "ready": false, "restartCount": 0, "started": false,
                "state": {"waiting": {"reason": "ImagePullBackOff",
                    "message": "Back-off pulling image \"berthacr.azurecr.io/api:2.3.0\""}}}]
        }
    });
    let manifest = Manifest::from_value(KindInfo::find("pod").unwrap(), value);
    update(
        &mut s,
        Action::TaskDone {
            id: tasks[0].id,
            result: Ok(TaskOutcome::Object(Box::new(manifest))),
        },
    );
    s
}

/// `y` on a pod: its YAML, keys marked; a search's hits; `e`: its events as kubectl
/// describe lists them; a Secret: keys and sizes, never the data.
#[test]
fn object_view_yaml_events_and_a_secret() {
    snap("object_yaml", object_state);
    snap("object_yaml_search", |w, h| {
        let mut s = object_state(w, h);
        press(&mut s, "/");
        type_text(&mut s, "image");
        press(&mut s, "enter n");
        s
    });
    snap("object_events", |w, h| {
        let mut s = object_state(w, h);
        press(&mut s, "e");
        s
    });
    snap("object_secret", |w, h| {
        use berth::cluster::manifest::{KindInfo, Manifest};
        let mut s = demo_state(w, h);
        press(&mut s, ":");
        type_text(&mut s, "yaml secret/acr-pull");
        let tasks = press(&mut s, "enter");
        let value = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": "acr-pull", "namespace": "shop", "uid": "uid-secret-acr-pull",
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                    "{\"data\":{\".dockerconfigjson\":\"eyJhdXRocyI6e319\"}}"}},
            "data": {".dockerconfigjson": "eyJhdXRocyI6e319"}
        });
        let m = Manifest::from_value(KindInfo::find("secret").unwrap(), value);
        update(
            &mut s,
            Action::TaskDone {
                id: tasks[0].id,
                result: Ok(TaskOutcome::Object(Box::new(m))),
            },
        );
        let screen = render(&s);
        assert!(!screen.contains("eyJhdXRocyI6e319"), "{screen}");
        assert!(screen.contains("<hidden: 12 bytes>"), "{screen}");
        s
    });
}

/// Every full-screen view and dialog in the monochrome theme: the same text as in colour, no
/// cell coloured, and something in it marked without colour (a selection, a hit, a title).
#[test]
fn mono_theme_draws_every_view_without_colour() {
    use ratatui::style::{Color, Modifier};
    type Build = Box<dyn Fn(u16, u16) -> State>;
    let views: Vec<(&str, Build)> = vec![
        ("object yaml", Box::new(object_state)),
        (
            "object search",
            Box::new(|w, h| {
                let mut s = object_state(w, h);
                press(&mut s, "/");
                type_text(&mut s, "image");
                press(&mut s, "enter");
                s
            }),
        ),
        ("logs", Box::new(|w, h| logs_state(w, h, 60))),
        (
            "revisions",
            Box::new(|w, h| {
                let mut s = demo_state(w, h);
                select_deployment(&mut s, "web");
                press(&mut s, "U");
                s
            }),
        ),
        (
            "help",
            Box::new(|w, h| {
                let mut s = demo_state(w, h);
                press(&mut s, "?");
                s
            }),
        ),
        (
            "retag confirmation",
            Box::new(|w, h| {
                let mut s = demo_state(w, h);
                select_tag(&mut s, "1.0.29");
                press(&mut s, "t");
                type_text(&mut s, "stable");
                press(&mut s, "enter");
                s
            }),
        ),
        (
            "restart confirmation",
            Box::new(|w, h| {
                let mut s = demo_state(w, h);
                select_deployment(&mut s, "web");
                press(&mut s, "r");
                s
            }),
        ),
        (
            "diagnosis",
            Box::new(|w, h| {
                let mut s = demo_state(w, h);
                select_deployment(&mut s, "api");
                press(&mut s, "d");
                s
            }),
        ),
    ];
    for (name, build) in views {
        for (w, h) in SIZES {
            let mut s = build(w, h);
            let coloured = render(&s);
            s.theme = Theme::mono().into();
            assert_eq!(
                render(&s),
                coloured,
                "{name} {w}x{h}: the theme changed the text"
            );
            let buf = render_buffer(&s);
            let mut marked = 0;
            for cell in buf.content() {
                assert_eq!(
                    (cell.fg, cell.bg),
                    (Color::Reset, Color::Reset),
                    "{name} {w}x{h}: {cell:?}"
                );
                if cell
                    .modifier
                    .intersects(Modifier::REVERSED | Modifier::BOLD | Modifier::UNDERLINED)
                {
                    marked += 1;
                }
            }
            assert!(marked > 0, "{name} {w}x{h}: nothing marked");
        }
    }
}
