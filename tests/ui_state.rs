//! State tests: drive `update` with key Actions through each flow and check the Effects it asks
//! for and the State it leaves. No terminal, no cluster: `update` is pure.

mod support_ui;

use berth::app::action::{
    Action, Level, Permission, PermissionUpdate, StepStatus, StepUpdate, TaskError, TaskOutcome,
};
use berth::app::diagnosis::{DiagnosisView, Evidence, Fix};
use berth::app::effects::{Effect, ImageLocation, MutationKind, PasswordSlot};
use berth::app::state::{Dialog, Focus, ReadOnly, State};
use berth::app::{update, view};
use berth::cluster::model::{ModelEvent, ObjectRef, Row};
use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use support_ui::*;

fn obj(ns: &str, name: &str) -> ObjectRef {
    ObjectRef {
        namespace: ns.into(),
        name: name.into(),
    }
}

fn top(state: &State) -> &Dialog {
    state.dialogs.last().expect("a dialog is open")
}

fn confirm_effect(state: &State) -> &Effect {
    match top(state) {
        Dialog::Confirm(c) => &c.effect,
        other => panic!("expected a confirmation, found {other:?}"),
    }
}

fn last_notice(state: &State) -> String {
    state
        .notices
        .last()
        .map(|n| n.notice.text.clone())
        .unwrap_or_default()
}

fn web_image(tag: &str) -> String {
    format!("{REGISTRY}/web:{tag}")
}

#[test]
fn retag_prompts_validates_confirms_and_asks_for_the_effect() {
    let mut s = demo_state(120, 40);
    select_tag(&mut s, "1.0.29");
    assert!(press(&mut s, "t").is_empty());
    assert!(matches!(top(&s), Dialog::Prompt(_)));

    // A bad tag: a clear error, nothing else happens.
    assert!(type_text(&mut s, "1.0 beta").is_empty());
    assert!(press(&mut s, "enter").is_empty());
    match top(&s) {
        Dialog::Prompt(p) => {
            let e = p.error.as_deref().unwrap_or_default();
            assert!(e.contains("not valid"), "{e}");
        }
        other => panic!("prompt should stay open, found {other:?}"),
    }

    press(&mut s, "ctrl-u");
    type_text(&mut s, "stable");
    assert!(
        press(&mut s, "enter").is_empty(),
        "confirm first, run later"
    );
    let Dialog::Confirm(c) = top(&s) else {
        panic!("confirmation expected")
    };
    assert!(c.overwrites.is_none());
    let target = c.changes.iter().find(|ch| ch.label == "target").unwrap();
    assert_eq!(target.new, web_image("stable"));

    press(&mut s, "d"); // dry run on
    let tasks = press(&mut s, "y");
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0].effect,
        Effect::Retag {
            src: ImageLocation {
                registry: REGISTRY.into(),
                repository: "web".into(),
                reference: "1.0.29".into()
            },
            dst: ImageLocation {
                registry: REGISTRY.into(),
                repository: "web".into(),
                reference: "stable".into()
            },
            force: false,
            lock: false,
            dry_run: true,
        }
    );
    assert!(s.dialogs.is_empty());
    assert_eq!(s.running_tasks(), 1);

    // The result comes back as a notice, in the timeline, and in the status bar.
    update(
        &mut s,
        Action::TaskDone {
            id: tasks[0].id,
            result: Ok(TaskOutcome::Done {
                summary: "would tag web:stable → sha256:445e26de788a".into(),
            }),
        },
    );
    assert_eq!(s.running_tasks(), 0);
    assert!(last_notice(&s).contains("would tag web:stable"));
    assert_eq!(s.last_result.as_ref().unwrap().level, Level::Success);
    assert!(s.journal.iter().any(|j| j.text.contains("would tag")));
}

#[test]
fn retag_onto_an_existing_tag_needs_force() {
    let mut s = demo_state(120, 40);
    select_tag(&mut s, "1.0.29");
    press(&mut s, "t");
    type_text(&mut s, "1.0.28");
    press(&mut s, "enter");
    let Dialog::Confirm(c) = top(&s) else {
        panic!("confirmation expected")
    };
    assert!(c.overwrites.is_some());
    // The demo's shop/web names web:1.0.28: moving it changes what its next pods run.
    assert!(
        c.notes
            .iter()
            .any(|n| n.starts_with("shop/web runs web:1.0.28 by tag: running pods keep")),
        "{:?}",
        c.notes
    );
    assert!(press(&mut s, "y").is_empty(), "no force, no retag");
    let Dialog::Confirm(c) = top(&s) else {
        panic!("confirmation stays")
    };
    assert!(c.error.as_deref().unwrap().contains("press f"));
    press(&mut s, "f");
    let tasks = press(&mut s, "y");
    assert!(matches!(
        &tasks[..],
        [t] if matches!(&t.effect, Effect::Retag { force: true, dry_run: false, .. })
    ));
    // A real retag shows up in the tag list at once.
    update(
        &mut s,
        Action::TaskDone {
            id: tasks[0].id,
            result: Ok(TaskOutcome::Done {
                summary: String::new(),
            }),
        },
    );
    assert_eq!(
        view::selected_tag(&s).unwrap().name,
        "1.0.29",
        "the cursor stays on the source tag"
    );
    let moved = s.registry.tags_of("web").unwrap();
    let t28 = moved.iter().find(|t| t.name == "1.0.28").unwrap();
    let t29 = moved.iter().find(|t| t.name == "1.0.29").unwrap();
    assert_eq!(t28.digest, t29.digest);
}

#[test]
fn set_image_shows_old_and_new_and_can_pin_the_digest() {
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "web");
    select_tag(&mut s, "1.0.29");
    press(&mut s, "i");
    let Dialog::Confirm(c) = top(&s) else {
        panic!("confirmation expected")
    };
    let image = c.changes.iter().find(|ch| ch.label == "image").unwrap();
    assert_eq!(image.old.as_deref(), Some(web_image("1.0.28").as_str()));
    assert_eq!(image.new, web_image("1.0.29"));
    let digest = c.changes.iter().find(|ch| ch.label == "digest").unwrap();
    assert!(
        digest
            .old
            .as_deref()
            .unwrap()
            .starts_with("sha256:c6f05e30")
    );

    press(&mut s, "@");
    let tag_digest = view::selected_tag(&s).unwrap().digest.clone().unwrap();
    let pinned = format!("{REGISTRY}/web@{tag_digest}");
    let Dialog::Confirm(c) = top(&s) else {
        panic!("confirmation expected")
    };
    assert_eq!(c.changes[2].new, pinned);
    let tasks = press(&mut s, "y");
    assert_eq!(
        tasks[0].effect,
        Effect::SetImage {
            deployment: obj("shop", "web"),
            container: "web".into(),
            expected_image: web_image("1.0.28"),
            image: pinned,
            dry_run: false,
        }
    );
}

#[test]
fn set_image_to_what_runs_already_says_so() {
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "web");
    select_tag(&mut s, "1.0.28");
    assert!(press(&mut s, "i").is_empty());
    assert!(s.dialogs.is_empty());
    assert!(
        last_notice(&s).contains("already runs"),
        "{}",
        last_notice(&s)
    );
}

#[test]
fn restart_undo_pause_resume() {
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "web");
    press(&mut s, "r");
    assert_eq!(
        confirm_effect(&s),
        &Effect::Restart {
            kind: berth::cluster::model::WorkloadKind::Deployment,
            deployment: obj("shop", "web"),
            dry_run: false
        }
    );
    press(&mut s, "n");
    assert!(s.dialogs.is_empty());

    press(&mut s, "u");
    let Dialog::Confirm(c) = top(&s) else {
        panic!("undo confirmation expected")
    };
    assert_eq!(
        c.effect,
        Effect::Undo {
            kind: berth::cluster::model::WorkloadKind::Deployment,
            deployment: obj("shop", "web"),
            to_revision: Some(3),
            dry_run: false
        }
    );
    let image = c.changes.iter().find(|ch| ch.label == "image").unwrap();
    assert_eq!(image.old.as_deref(), Some(web_image("1.0.28").as_str()));
    assert_eq!(image.new, web_image("1.0.27"));
    let tasks = press(&mut s, "y");
    assert_eq!(tasks.len(), 1);

    press(&mut s, "p");
    assert!(matches!(confirm_effect(&s), Effect::Pause { .. }));
    press(&mut s, "esc");

    select_deployment(&mut s, "worker");
    press(&mut s, "p");
    assert!(
        matches!(confirm_effect(&s), Effect::Resume { deployment, .. } if deployment.name == "worker")
    );
    press(&mut s, "esc");

    // worker has one revision: undo has nowhere to go and says so.
    assert!(press(&mut s, "u").is_empty());
    assert!(s.dialogs.is_empty());
    assert!(last_notice(&s).contains("no earlier revision"));
}

#[test]
fn rotate_names_the_slot_and_every_namespace() {
    let mut s = demo_state(120, 40);
    press(&mut s, "s");
    let Dialog::Confirm(c) = top(&s) else {
        panic!("confirmation expected")
    };
    let slot = c
        .changes
        .iter()
        .find(|ch| ch.label == "password slot")
        .unwrap();
    assert_eq!(slot.old.as_deref(), Some("password in use"));
    assert_eq!(slot.new, "regenerate password2");
    press(&mut s, "d");
    let tasks = press(&mut s, "y");
    assert_eq!(
        tasks[0].effect,
        Effect::RotateSecret {
            registry: REGISTRY.into(),
            secret: "acr-pull".into(),
            namespaces: vec!["shop".into(), "staging".into()],
            slot: PasswordSlot::Password2,
            attach: None,
            dry_run: true,
        }
    );
    // Per-namespace progress lands on the task.
    let id = tasks[0].id;
    for (ns, st) in [("shop", StepStatus::Done), ("staging", StepStatus::Running)] {
        update(
            &mut s,
            Action::TaskProgress {
                id,
                step: StepUpdate {
                    step: ns.into(),
                    status: st,
                    detail: String::new(),
                },
            },
        );
    }
    let t = &s.tasks[&id];
    assert_eq!(t.steps.len(), 2);
    assert_eq!(t.steps[1].status, StepStatus::Running);
    // Input still works while it runs.
    press(&mut s, "tab");
    assert_eq!(s.focus, Focus::Pods);
}

#[test]
fn attach_adds_the_secret_or_says_it_is_there() {
    let mut s = demo_state(120, 40);
    press(&mut s, "a");
    let Dialog::Confirm(c) = top(&s) else {
        panic!("confirmation expected")
    };
    let ips = c
        .changes
        .iter()
        .find(|ch| ch.label == "imagePullSecrets")
        .unwrap();
    assert_eq!(ips.old.as_deref(), Some("(none)"));
    assert_eq!(ips.new, "acr-pull");
    let tasks = press(&mut s, "y");
    assert_eq!(
        tasks[0].effect,
        Effect::AttachSecret {
            service_account: obj("shop", "default"),
            secret: "acr-pull".into(),
            dry_run: false
        }
    );

    press(&mut s, ":");
    type_text(&mut s, "ns staging");
    press(&mut s, "enter");
    assert!(press(&mut s, "a").is_empty());
    assert!(last_notice(&s).contains("already has acr-pull"));
}

fn diagnosis_for(pod: ObjectRef) -> DiagnosisView {
    DiagnosisView {
        pod: pod.clone(),
        image: format!("{REGISTRY}/api:2.3.0"),
        cause: "Tag missing: api:2.3.0 is not in berthacr.azurecr.io".into(),
        code: "tag-missing".into(),
        evidence: vec![
            Evidence {
                check: "pull secrets".into(),
                finding: "acr-pull (from serviceaccount default)".into(),
                ok: true,
            },
            Evidence {
                check: "manifest api:2.3.0".into(),
                finding: "404 MANIFEST_UNKNOWN".into(),
                ok: false,
            },
        ],
        fix: Some(Fix {
            title: "set api's image to api:2.2.0 (newest existing tag)".into(),
            effect: Effect::SetImage {
                deployment: obj("shop", "api"),
                container: "api".into(),
                expected_image: format!("{REGISTRY}/api:2.3.0"),
                image: format!("{REGISTRY}/api:2.2.0"),
                dry_run: false,
            },
        }),
        advice: None,
    }
}

#[test]
fn diagnose_opens_the_panel_and_applies_the_fix_through_a_confirmation() {
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "api");
    press(&mut s, "enter"); // into the pods
    assert_eq!(s.focus, Focus::Pods);
    let failing = view::pods(&s)
        .iter()
        .position(|p| view::pod_status(p) == "ImagePullBackOff")
        .unwrap();
    for _ in 0..failing {
        press(&mut s, "j");
    }
    let tasks = press(&mut s, "d");
    let pod = obj("shop", "api-5f7d9c8b6-vn2lx");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].effect, Effect::Diagnose { pod: pod.clone() });
    assert!(matches!(top(&s), Dialog::Diagnosis(p) if p.view.is_none()));

    update(
        &mut s,
        Action::TaskDone {
            id: tasks[0].id,
            result: Ok(TaskOutcome::Diagnosis(Box::new(diagnosis_for(pod)))),
        },
    );
    assert!(matches!(top(&s), Dialog::Diagnosis(p) if matches!(p.view, Some(Ok(_)))));
    assert!(press(&mut s, "f").is_empty(), "the fix is confirmed first");
    assert!(
        matches!(confirm_effect(&s), Effect::SetImage { image, .. } if image.ends_with("api:2.2.0"))
    );
    let tasks = press(&mut s, "y");
    assert!(matches!(&tasks[0].effect, Effect::SetImage { .. }));
    assert!(s.dialogs.is_empty(), "fix applied: the panel closes");
}

#[test]
fn diagnose_from_a_deployment_picks_its_failing_pod_and_reports_failures() {
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "api");
    let tasks = press(&mut s, "d");
    assert_eq!(
        tasks[0].effect,
        Effect::Diagnose {
            pod: obj("shop", "api-5f7d9c8b6-vn2lx")
        }
    );
    update(
        &mut s,
        Action::TaskDone {
            id: tasks[0].id,
            result: Err(TaskError {
                what: "diagnosis".into(),
                why: "registry unreachable".into(),
                hint: "check the network".into(),
                sticky: false,
            }),
        },
    );
    assert!(matches!(top(&s), Dialog::Diagnosis(p) if matches!(p.view, Some(Err(_)))));
    press(&mut s, "esc");
    assert!(s.dialogs.is_empty());
}

#[test]
fn filter_narrows_live_enter_keeps_esc_clears() {
    let mut s = demo_state(120, 40);
    s.focus = Focus::Tags;
    press(&mut s, "/");
    type_text(&mut s, "1.0.2");
    assert_eq!(view::tags(&s).len(), 11, "1.0.2 and 1.0.20..1.0.29");
    press(&mut s, "enter");
    assert!(s.dialogs.is_empty());
    assert_eq!(s.nav.tags.filter, "1.0.2");
    assert_eq!(view::tags(&s).len(), 11);
    // Back clears the filter before it leaves the list.
    press(&mut s, "esc");
    assert_eq!(s.nav.tags.filter, "");
    assert_eq!(s.focus, Focus::Tags);
    press(&mut s, "/");
    type_text(&mut s, "zzz");
    assert!(view::tags(&s).is_empty());
    press(&mut s, "esc");
    assert_eq!(s.nav.tags.filter, "");
    assert_eq!(view::tags(&s).len(), 31);
}

#[test]
fn palette_switches_namespace_context_and_repository() {
    let mut s = demo_state(120, 40);
    press(&mut s, ":");
    type_text(&mut s, "ns st");
    press(&mut s, "tab");
    match top(&s) {
        Dialog::Palette { input, .. } => assert_eq!(input.text, "ns staging"),
        other => panic!("palette expected, found {other:?}"),
    }
    let tasks = press(&mut s, "enter");
    assert_eq!(
        tasks[0].effect,
        Effect::SwitchNamespace {
            namespace: "staging".into()
        }
    );
    assert_eq!(s.namespace, "staging");
    assert!(s.selected_deployment.is_none());

    press(&mut s, ":");
    type_text(&mut s, "ctx nope");
    assert!(press(&mut s, "enter").is_empty());
    assert!(last_notice(&s).contains("not in the kubeconfig"));
    assert_eq!(s.context, "aks-prod");

    press(&mut s, ":");
    type_text(&mut s, "ctx aks-staging");
    let tasks = press(&mut s, "enter");
    assert_eq!(
        tasks[0].effect,
        Effect::SwitchContext {
            context: "aks-staging".into()
        }
    );
    assert!(
        s.cluster.deployments().next().is_none(),
        "the old context's rows are gone"
    );

    press(&mut s, ":");
    type_text(&mut s, "repo api");
    press(&mut s, "enter");
    assert_eq!(s.focus, Focus::Tags);
    assert_eq!(view::selected_repository(&s).unwrap().name, "api");
    assert_eq!(view::tags(&s)[0].name, "2.2.0", "newest first");

    // Command names run as if their key was pressed.
    press(&mut s, ":");
    type_text(&mut s, "help");
    press(&mut s, "enter");
    assert!(matches!(top(&s), Dialog::Help));
}

#[test]
fn read_only_refuses_every_mutation_but_not_reading() {
    let mut s = demo_state(120, 40);
    s.read_only = ReadOnly::On("--read-only".into());
    select_deployment(&mut s, "web");
    for k in ["i", "r", "u", "p", "s", "a"] {
        assert!(press(&mut s, k).is_empty(), "{k}");
        assert!(s.dialogs.is_empty(), "{k} opened a dialog");
        assert!(
            last_notice(&s).contains("read-only"),
            "{k}: {}",
            last_notice(&s)
        );
    }
    select_tag(&mut s, "1.0.29");
    assert!(press(&mut s, "t").is_empty());
    assert!(s.dialogs.is_empty());
    // Diagnosis only reads.
    select_deployment(&mut s, "api");
    assert_eq!(press(&mut s, "d").len(), 1);
}

#[test]
fn rbac_denial_refuses_with_the_reason_even_inside_an_open_confirmation() {
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "web");
    press(&mut s, "r");
    update(
        &mut s,
        Action::Permissions(vec![PermissionUpdate {
            kind: MutationKind::Restart,
            namespace: Some("shop".into()),
            permission: Permission::Denied("RBAC: cannot patch deployments in shop".into()),
        }]),
    );
    assert!(press(&mut s, "y").is_empty());
    let Dialog::Confirm(c) = top(&s) else {
        panic!("confirmation stays open")
    };
    assert!(c.error.as_deref().unwrap().contains("RBAC"));
    press(&mut s, "esc");
    assert!(press(&mut s, "r").is_empty());
    assert!(last_notice(&s).contains("RBAC: cannot patch"));
    // Other mutations stay available.
    press(&mut s, "p");
    assert!(matches!(confirm_effect(&s), Effect::Pause { .. }));
}

#[test]
fn navigation_keys_mouse_and_live_updates_keep_the_cursor() {
    let mut s = demo_state(120, 40);
    assert_eq!(s.focus, Focus::Deployments);
    press(&mut s, "tab tab tab");
    assert_eq!(s.focus, Focus::Repositories);
    press(&mut s, "shift-tab");
    assert_eq!(s.focus, Focus::Events);

    select_deployment(&mut s, "web");
    // A new deployment sorting before `web` arrives: the cursor stays on `web`.
    let mut d = s.cluster.deployment("shop", "web").unwrap().clone();
    d.name = "aaa".into();
    d.uid = "uid-aaa".into();
    update(
        &mut s,
        berth::app::fixtures::model(ModelEvent::Upsert(Row::Workload(d))),
    );
    assert_eq!(view::selected_deployment(&s).unwrap().name, "web");

    // Clicking a row selects it and focuses its pane.
    let buf = render_buffer(&s);
    let (x, y) = find(&buf, "1.0.25").expect("tag 1.0.25 on screen");
    update(
        &mut s,
        Action::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: x,
            row: y,
            modifiers: crossterm::event::KeyModifiers::empty(),
        }),
    );
    assert_eq!(s.focus, Focus::Tags);
    assert_eq!(view::selected_tag(&s).unwrap().name, "1.0.25");
    update(
        &mut s,
        Action::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: x,
            row: y,
            modifiers: crossterm::event::KeyModifiers::empty(),
        }),
    );
    assert_eq!(view::selected_tag(&s).unwrap().name, "1.0.22");

    press(&mut s, "G");
    assert_eq!(view::selected_tag(&s).unwrap().name, "1.0.0");
    press(&mut s, "g");
    assert_eq!(s.nav.tags.selected, 0);
}

#[test]
fn help_closes_on_any_key_and_q_in_a_dialog_never_quits() {
    let mut s = demo_state(120, 40);
    press(&mut s, "?");
    assert!(matches!(top(&s), Dialog::Help));
    let before = s.nav.deployments.selected;
    press(&mut s, "j");
    assert!(s.dialogs.is_empty());
    assert_eq!(
        s.nav.deployments.selected, before,
        "the closing key is not acted on"
    );

    press(&mut s, "r");
    press(&mut s, "q");
    assert!(s.dialogs.is_empty());
    assert!(!s.should_quit);
    press(&mut s, "q");
    assert!(s.should_quit);
}

#[test]
fn failed_task_reports_what_why_and_what_to_do() {
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "web");
    press(&mut s, "r");
    let tasks = press(&mut s, "y");
    update(
        &mut s,
        Action::TaskDone {
            id: tasks[0].id,
            result: Err(TaskError {
                what: "restart shop/web".into(),
                why: "the deployment changed since it was read (resourceVersion 1000)".into(),
                hint: "press r again to retry on the current version".into(),
                sticky: false,
            }),
        },
    );
    let n = last_notice(&s);
    assert!(
        n.contains("restart shop/web") && n.contains("press r again"),
        "{n}"
    );
    assert_eq!(s.last_result.as_ref().unwrap().level, Level::Error);
    assert!(
        s.journal
            .iter()
            .any(|j| j.level == Level::Error && j.subject == Some(obj("shop", "web")))
    );
    // Notices expire with time; the journal keeps the record.
    update(
        &mut s,
        Action::Tick(now() + jiff::SignedDuration::from_secs(60)),
    );
    assert!(s.notices.is_empty());
    assert!(!s.journal.is_empty());
}

#[test]
fn keymap_override_changes_keys_and_hints() {
    let cfg: berth::app::keymap::KeysConfig =
        toml::from_str("[pods]\ndiagnose = \"D\"\n[deployments]\ndiagnose = \"D\"\n").unwrap();
    let (km, warnings) = berth::app::keymap::Keymap::with_overrides(&cfg);
    assert!(warnings.is_empty(), "{warnings:?}");
    let mut s = demo_state(120, 40);
    s.keymap = km;
    select_deployment(&mut s, "api");
    assert!(press(&mut s, "d").is_empty());
    assert_eq!(press(&mut s, "D").len(), 1);
    press(&mut s, "esc");
    let screen = render(&s);
    assert!(
        screen.contains(" D  diagnose"),
        "hint shows the new key:\n{screen}"
    );
}

#[test]
fn registry_refreshes_keep_the_cursor_on_the_same_repository_and_tag() {
    use berth::app::action::RegistryUpdate;
    use berth::registry::types::{RepositoryRow, TagRow};
    let mut s = demo_state(120, 40);
    select_tag(&mut s, "1.0.25");
    // A newer tag arrives on top, and the repository list is refreshed with a new first entry.
    let newest = TagRow {
        repository: "web".into(),
        name: "1.0.30".into(),
        digest: Some("sha256:ffff".into()),
        created: Some(now()),
        updated: Some(now()),
        ..Default::default()
    };
    update(&mut s, Action::Registry(RegistryUpdate::Tag(newest)));
    assert_eq!(view::selected_tag(&s).unwrap().name, "1.0.25");
    let mut repos: Vec<RepositoryRow> = s.registry.repositories.clone();
    repos.push(RepositoryRow { name: "aaa".into() });
    let tasks = update(
        &mut s,
        Action::Registry(RegistryUpdate::Repositories {
            registry: REGISTRY.into(),
            repositories: repos,
        }),
    );
    assert!(
        tasks.is_empty(),
        "tags of web are loaded: nothing to ask for"
    );
    assert_eq!(view::selected_repository(&s).unwrap().name, "web");
    assert_eq!(view::selected_tag(&s).unwrap().name, "1.0.25");
    // Moving to a repository whose tags are unknown asks for them once.
    s.focus = Focus::Repositories;
    press(&mut s, "g");
    let tasks = press(&mut s, "j");
    assert_eq!(view::selected_repository(&s).unwrap().name, "api");
    assert!(tasks.is_empty(), "api's tags are in the fixture");
    let tasks = press(&mut s, "j");
    assert_eq!(
        tasks.iter().map(|t| &t.effect).collect::<Vec<_>>(),
        vec![&Effect::LoadTags {
            repository: "tools/armonly".into()
        }]
    );
    press(&mut s, "k j");
    assert!(
        press(&mut s, "k j").is_empty(),
        "no second request while the first runs"
    );
}

#[test]
fn a_rollout_adding_pods_above_keeps_the_cursor_on_the_same_pod() {
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "web");
    press(&mut s, "enter j j");
    assert_eq!(s.focus, Focus::Pods);
    assert_eq!(view::selected_pod(&s).unwrap().name, "web-7c9f8d6b5-tq4wd");
    let mut p = view::selected_pod(&s).unwrap().clone();
    p.name = "web-7c9f8d6b5-aaaaa".into();
    p.uid = "uid-new".into();
    update(
        &mut s,
        berth::app::fixtures::model(ModelEvent::Upsert(Row::Pod(p))),
    );
    assert_eq!(view::pods(&s).len(), 4);
    assert_eq!(view::selected_pod(&s).unwrap().name, "web-7c9f8d6b5-tq4wd");
    update(
        &mut s,
        berth::app::fixtures::model(ModelEvent::Delete(berth::cluster::model::RowKey::Pod(obj(
            "shop",
            "web-7c9f8d6b5-2xkqp",
        )))),
    );
    assert_eq!(view::selected_pod(&s).unwrap().name, "web-7c9f8d6b5-tq4wd");
}

#[test]
fn ctrl_r_reloads_repositories_and_the_selected_tags_once() {
    let mut s = demo_state(120, 40);
    select_tag(&mut s, "1.0.29");
    let tasks = press(&mut s, "ctrl-r");
    let effects: Vec<_> = tasks.iter().map(|t| t.effect.clone()).collect();
    assert_eq!(
        effects,
        [
            Effect::LoadRepositories,
            Effect::LoadTags {
                repository: "web".into()
            }
        ]
    );
    // The rows stay while the reload runs, and a second ctrl-r does not pile up requests.
    assert!(s.registry.tags.contains_key("web"));
    assert!(press(&mut s, "ctrl-r").is_empty());
}

#[test]
fn same_second_events_show_in_creation_order_not_uid_order() {
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "web");
    let pod = s
        .cluster
        .events()
        // A pod of `web`, not any pod of the namespace.
        .find(|e| {
            e.involved_kind == "Pod" && e.namespace == "shop" && e.involved_name.starts_with("web-")
        })
        .expect("an event of a web pod in the demo")
        .clone();
    let at = jiff::Timestamp::now();
    // uids sort the other way round from creation.
    for (uid, reason, order) in [("z-pulling", "Pulling", 1), ("a-started", "Started", 2)] {
        let mut e = pod.clone();
        e.uid = uid.into();
        e.reason = reason.into();
        e.first_seen = Some(at);
        e.last_seen = Some(at);
        e.order = order;
        update(
            &mut s,
            berth::app::fixtures::model(ModelEvent::Upsert(Row::Event(e))),
        );
    }
    let reasons: Vec<String> = view::timeline(&s)
        .iter()
        .filter_map(|i| match i {
            view::TimelineItem::Event(e) if e.last_seen == Some(at) => Some(e.reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, ["Pulling", "Started"]);
}

#[test]
fn applied_but_not_audited_stays_on_screen() {
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "web");
    press(&mut s, "r");
    let tasks = press(&mut s, "y");
    update(
        &mut s,
        Action::TaskDone {
            id: tasks[0].id,
            result: Err(TaskError {
                what: "restart shop/web".into(),
                why: "applied, but not audited: rollout.restart shop/web".into(),
                hint: "the change was made: check it".into(),
                sticky: true,
            }),
        },
    );
    // Other notices come and go; this one outlives them and every expiry.
    for i in 0..6 {
        update(
            &mut s,
            Action::Notice(berth::app::action::Notice::error(format!("other {i}"))),
        );
    }
    update(
        &mut s,
        Action::Tick(now() + jiff::SignedDuration::from_secs(3600)),
    );
    assert_eq!(s.notices.len(), 1, "{:?}", s.notices);
    assert!(
        s.notices[0]
            .notice
            .text
            .contains("applied, but not audited")
    );
    assert_eq!(s.notices[0].notice.level, Level::Error);
}

#[test]
fn an_unreachable_apiserver_shows_stale_since_and_refuses_cluster_writes() {
    use berth::app::fixtures::model;
    use berth::cluster::model::Probe;
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "web");
    let at = |secs: i64| {
        now()
            .checked_add(jiff::SignedDuration::from_secs(secs))
            .unwrap()
    };
    let probe = |secs: i64, error: Option<&str>| {
        model(ModelEvent::Probe(Probe {
            at: at(secs),
            error: error.map(str::to_owned),
        }))
    };
    update(&mut s, probe(0, None));
    assert!(render(&s).contains("ctx aks-prod ● live"));
    // A confirmation opened before the outage is refused at the last moment.
    press(&mut s, "r");
    update(
        &mut s,
        probe(1, Some("not answering (no reply to /readyz within 1.5 s)")),
    );
    assert!(press(&mut s, "y").is_empty());
    let Dialog::Confirm(c) = top(&s) else {
        panic!("confirmation stays open")
    };
    assert!(
        c.error
            .as_deref()
            .unwrap()
            .contains("cluster is unreachable"),
        "{:?}",
        c.error
    );
    press(&mut s, "esc");

    let label = berth::app::state::stale_label(Some(at(0)));
    let screen = render(&s);
    assert!(
        screen.contains(&format!("ctx aks-prod ● {label}")),
        "{screen}"
    );
    assert!(
        screen
            .lines()
            .any(|l| l.contains("Deployments") && l.contains(&label)),
        "the deployments pane says so too:\n{screen}"
    );
    // Every cluster write is refused with the reason; a retag (registry only) is not.
    for k in ["i", "r", "u", "p", "s", "a"] {
        assert!(press(&mut s, k).is_empty(), "{k}");
        assert!(s.dialogs.is_empty(), "{k} opened a dialog");
        let n = last_notice(&s);
        assert!(
            n.contains("refused") && n.contains("not answering"),
            "{k}: {n}"
        );
        assert!(n.contains(&label), "{k}: {n}");
    }
    select_tag(&mut s, "1.0.29");
    press(&mut s, "t");
    assert!(!s.dialogs.is_empty(), "retag still opens");
    press(&mut s, "esc");

    // It answers again: stale (relisting) but writable, with a warning; live after relists.
    update(&mut s, probe(5, None));
    assert!(render(&s).contains(&format!("ctx aks-prod ● {label}")));
    select_deployment(&mut s, "web");
    press(&mut s, "r");
    assert!(matches!(confirm_effect(&s), Effect::Restart { .. }));
    assert!(last_notice(&s).contains("relisting"), "{}", last_notice(&s));
    press(&mut s, "esc");
    let rows: Vec<Row> = s
        .cluster
        .deployments()
        .cloned()
        .map(Row::Workload)
        .collect();
    for kind in berth::cluster::model::Kind::ALL {
        let scope = berth::cluster::model::WatchScope::new(kind, None);
        let rows = rows.iter().filter(|r| r.kind() == kind).cloned().collect();
        update(
            &mut s,
            model(ModelEvent::Resynced {
                scope,
                rows,
                at: now(),
            }),
        );
    }
    let screen = render(&s);
    assert!(screen.contains("ctx aks-prod ● live"), "{screen}");
    assert!(
        !screen
            .lines()
            .any(|l| l.contains("Deployments") && l.contains("stale")),
        "{screen}"
    );
}

#[test]
fn changes_out_of_view_draw_no_frame_unless_the_registry_pane_shows_them() {
    let mut s = demo_state(120, 40);
    assert_eq!(s.namespace, "shop");
    let template = s
        .cluster
        .pods()
        .find(|p| p.namespace == "shop")
        .unwrap()
        .clone();
    let pod = |ns: &str, image_id: Option<&str>, reason: &str| {
        let mut p = template.clone();
        p.namespace = ns.into();
        p.uid = format!("uid-{ns}");
        for c in &mut p.containers {
            c.image_id = image_id.map(str::to_owned);
            c.state = berth::cluster::model::ContainerState::Waiting {
                reason: reason.into(),
                message: String::new(),
            };
        }
        p
    };
    let digest = format!(
        "registry.berth.local/web@{}",
        berth::app::fixtures::digest("x")
    );
    let apply = |s: &mut State, p| {
        update(
            s,
            berth::app::fixtures::model(ModelEvent::Upsert(Row::Pod(p))),
        );
        s.dirty
    };
    // A new pod elsewhere that runs a digest: the registry pane's "where" may change.
    assert!(apply(&mut s, pod("payments", Some(&digest), "A")));
    // Its status changes: applied, no frame.
    assert!(!apply(&mut s, pod("payments", Some(&digest), "B")));
    let waiting = |s: &State| {
        let p = s
            .cluster
            .pod("payments", &pod("payments", None, "").name)
            .unwrap();
        berth::app::view::pod_status(p)
    };
    assert_eq!(waiting(&s), "B");
    // The same change in the namespace on screen: a frame.
    let mut here = pod("shop", None, "C");
    here.uid = s.cluster.pod("shop", &here.name).unwrap().uid.clone();
    assert!(apply(&mut s, here.clone()));
    // The same row again: nothing changed, no frame.
    assert!(!apply(&mut s, here));
}

/// `o` in the tags pane switches between newest first and highest version first; the title
/// names the version order and the cursor stays on its tag.
#[test]
fn tags_sort_by_version_keeps_the_cursor_on_its_tag() {
    use berth::app::action::RegistryUpdate;
    use berth::app::store::TagOrder;
    let mut s = demo_state(120, 40);
    // An old line's patch, pushed last: newest first puts it on top, by version near the end.
    let mut patch = view::tags(&s)
        .iter()
        .find(|t| t.name == "1.0.3")
        .map(|t| (*t).clone())
        .expect("web:1.0.3 in the fixtures");
    patch.name = "0.9.1".into();
    patch.updated = Some(s.now);
    update(&mut s, Action::Registry(RegistryUpdate::Tag(patch)));
    let names =
        |s: &State| -> Vec<String> { view::tags(s).iter().map(|t| t.name.clone()).collect() };
    assert_eq!(names(&s)[0], "0.9.1");
    select_tag(&mut s, "1.0.20");
    press(&mut s, "o");
    assert_eq!(s.registry.order, TagOrder::Version);
    let by_version = names(&s);
    assert_eq!(&by_version[..3], ["1.0.29", "1.0.28", "1.0.27"]);
    assert_eq!(
        &by_version[by_version.len() - 3..],
        ["1.0.0", "0.9.1", "latest"]
    );
    assert_eq!(
        view::selected_tag(&s).map(|t| t.name.as_str()),
        Some("1.0.20")
    );
    assert!(render(&s).contains("Tags web by version"), "{}", render(&s));
    // A tag that arrives now is sorted in the order in use.
    let mut hot = view::selected_tag(&s).expect("a tag").clone();
    hot.name = "1.0.30-rc.1".into();
    update(&mut s, Action::Registry(RegistryUpdate::Tag(hot)));
    assert_eq!(names(&s)[0], "1.0.30-rc.1");
    press(&mut s, "o");
    assert_eq!(s.registry.order, TagOrder::Newest);
    assert_eq!(names(&s)[0], "0.9.1");
    assert!(!render(&s).contains("by version"));
}

/// A pod as the apiserver returns it, with managedFields (the YAML view hides them).
fn pod_manifest(name: &str, uid: &str, restarts: i32) -> berth::cluster::manifest::Manifest {
    let kind = berth::cluster::manifest::KindInfo::find("pod").unwrap();
    berth::cluster::manifest::Manifest::from_value(
        kind,
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": "shop",
                "uid": uid,
                "managedFields": [{"manager": "kube-controller-manager", "operation": "Update"}]
            },
            "spec": {"containers": [{"name": "api", "image": "berthacr.azurecr.io/api:2.3.0"}]},
            "status": {"containerStatuses": [{"name": "api", "restartCount": restarts}]}
        }),
    )
}

fn object_view(state: &State) -> &berth::app::object_view::ObjectView {
    match top(state) {
        Dialog::Object(v) => v,
        other => panic!("expected the object view, found {other:?}"),
    }
}

fn object_lines(state: &State) -> Vec<String> {
    berth::app::object_view::lines(state, object_view(state))
}

fn one_read(tasks: &[berth::app::effects::Task]) -> berth::app::effects::TaskId {
    match tasks {
        [t] => match &t.effect {
            Effect::FetchObject(_) => t.id,
            other => panic!("expected a read, found {other:?}"),
        },
        other => panic!("expected one read, found {other:?}"),
    }
}

/// `y` on a pod: one read of that pod (no progress task), its YAML without managedFields
/// until `m`; a watch event for the pod reads it again (one read at a time, one more after a
/// change during a read); its deletion is shown; `e` lists its events from the model.
#[test]
fn yaml_view_reads_the_selected_pod_and_follows_its_changes() {
    use berth::app::fixtures::model;
    let mut s = demo_state(120, 40);
    select_deployment(&mut s, "api");
    press(&mut s, "enter");
    let pod = view::selected_pod(&s).unwrap().clone();
    let tasks = press(&mut s, "y");
    let id = one_read(&tasks);
    let Effect::FetchObject(t) = &tasks[0].effect else {
        unreachable!()
    };
    assert_eq!(
        (t.kind.kind, t.namespace.as_str(), t.name.as_str()),
        ("Pod", "shop", pod.name.as_str())
    );
    assert!(!s.tasks.contains_key(&id), "a read is not a progress task");
    assert_eq!(object_lines(&s), [format!("reading pod/{}…", pod.name)]);

    let answer = |id, restarts| Action::TaskDone {
        id,
        result: Ok(TaskOutcome::Object(Box::new(pod_manifest(
            &pod.name, &pod.uid, restarts,
        )))),
    };
    assert!(update(&mut s, answer(id, 0)).is_empty());
    let yaml = object_lines(&s);
    assert_eq!(yaml[0], "apiVersion: v1");
    assert!(yaml.iter().any(|l| l == "kind: Pod"), "{yaml:?}");
    assert!(
        yaml.iter().any(|l| l.contains("restartCount: 0")),
        "{yaml:?}"
    );
    assert!(
        !yaml.iter().any(|l| l.contains("managedFields")),
        "{yaml:?}"
    );
    press(&mut s, "m");
    assert!(
        object_lines(&s)
            .iter()
            .any(|l| l.contains("managedFields:"))
    );
    press(&mut s, "m");

    // The pod changes: read again; another change during that read waits for it.
    let mut row = pod.clone();
    row.containers[0].restarts += 1;
    let id2 = one_read(&update(
        &mut s,
        model(ModelEvent::Upsert(Row::Pod(row.clone()))),
    ));
    assert!(update(&mut s, model(ModelEvent::Upsert(Row::Pod(row.clone())))).is_empty());
    let id3 = one_read(&update(&mut s, answer(id2, 1)));
    assert!(update(&mut s, answer(id3, 1)).is_empty());
    assert!(
        object_lines(&s)
            .iter()
            .any(|l| l.contains("restartCount: 1"))
    );
    // Another pod's change reads nothing.
    let mut other = pod.clone();
    other.name = "api-other".into();
    assert!(update(&mut s, model(ModelEvent::Upsert(Row::Pod(other)))).is_empty());

    // A stale answer (of an earlier read) changes nothing.
    assert!(update(&mut s, answer(id, 7)).is_empty());
    assert!(
        !object_lines(&s)
            .iter()
            .any(|l| l.contains("restartCount: 7"))
    );

    // Search: the hit line, n finds none below.
    press(&mut s, "/");
    type_text(&mut s, "image:");
    press(&mut s, "enter");
    let hit = object_view(&s).hit.expect("a hit");
    assert!(
        object_lines(&s)[hit].contains("image: "),
        "{:?}",
        object_lines(&s)[hit]
    );
    assert!(object_view(&s).note.is_none());
    press(&mut s, "/");
    type_text(&mut s, "nowhere-at-all");
    press(&mut s, "enter");
    assert!(
        object_view(&s)
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("below"),
        "{:?}",
        object_view(&s).note
    );

    // e: the pod's own events, from the model, as kubectl describe lists them.
    press(&mut s, "e");
    let events = object_lines(&s);
    assert!(events[0].starts_with("Type "), "{events:?}");
    let own = s.cluster.events_of(&pod.uid);
    assert!(!own.is_empty(), "the fixture has events for {}", pod.name);
    assert_eq!(events.len(), own.len() + 2, "{events:?}");
    for e in own {
        assert!(events.iter().any(|l| l.contains(&e.message)), "{events:?}");
    }

    // Deleted: the last YAML stays, the title says so.
    update(
        &mut s,
        model(ModelEvent::Delete(berth::cluster::model::RowKey::Pod(obj(
            "shop", &pod.name,
        )))),
    );
    assert!(object_view(&s).deleted);
    press(&mut s, "esc");
    assert!(s.dialogs.is_empty());
}

/// `:yaml KIND/NAME` reads any object of the namespace in view; a kind berth does not know,
/// or a missing name, is refused with what to write; a failed read shows the apiserver's
/// words; `y` on a registry row says why not.
#[test]
fn yaml_by_name_and_its_errors() {
    let mut s = demo_state(120, 40);
    press(&mut s, ":");
    type_text(&mut s, "yaml secret/acr-pull");
    let tasks = press(&mut s, "enter");
    let id = one_read(&tasks);
    let Effect::FetchObject(t) = &tasks[0].effect else {
        unreachable!()
    };
    assert_eq!((t.kind.kind, t.namespace.as_str()), ("Secret", "shop"));
    update(
        &mut s,
        Action::TaskDone {
            id,
            result: Err(TaskError {
                what: "read secret/acr-pull".into(),
                why: "secrets \"acr-pull\" not found".into(),
                hint: "it may have been deleted".into(),
                sticky: false,
            }),
        },
    );
    assert!(object_lines(&s)[0].contains("secrets \"acr-pull\" not found"));
    press(&mut s, "q");
    assert!(s.dialogs.is_empty());

    for (typed, says) in [
        ("yaml widget/x", "does not know the kind \"widget\""),
        ("yaml nosuchthing", "KIND/NAME"),
    ] {
        press(&mut s, ":");
        type_text(&mut s, typed);
        assert!(press(&mut s, "enter").is_empty(), "{typed}");
        assert!(
            last_notice(&s).contains(says),
            "{typed}: {}",
            last_notice(&s)
        );
        assert!(s.dialogs.is_empty());
    }

    // A name alone takes the suggestion: the workload of that name.
    press(&mut s, ":");
    type_text(&mut s, "yaml web");
    let tasks = press(&mut s, "enter");
    match &tasks[..] {
        [t] => match &t.effect {
            Effect::FetchObject(t) => {
                assert_eq!((t.kind.kind, t.name.as_str()), ("Deployment", "web"))
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    press(&mut s, "esc");

    s.focus = Focus::Tags;
    press(&mut s, ":");
    type_text(&mut s, "yaml");
    assert!(press(&mut s, "enter").is_empty());
    assert!(
        last_notice(&s).contains("not Kubernetes objects"),
        "{}",
        last_notice(&s)
    );
}
