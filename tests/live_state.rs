//! The live runner's pure pieces fed through `update` as the running dashboard feeds them:
//! the start state (read-only, key overrides), permission verdicts, a diagnosis answer with its
//! one-key fix, registry rows, and a rotation report. No terminal, cluster or registry.

mod support_ui;

use berth::app::action::{
    Action, Notice, PermissionUpdate, RegistryUpdate, StepStatus, TaskOutcome,
};
use berth::app::effects::{Effect, MutationKind};
use berth::app::fixtures;
use berth::app::keymap::{Command, KeysConfig};
use berth::app::state::{Dialog, Focus, ReadOnly, State, TaskState};
use berth::app::update::refusal;
use berth::app::{Task, update};
use berth::cluster::actions::ActionError;
use berth::cluster::model::ObjectRef;
use berth::cluster::rotate::{NamespaceReport, RotationReport, WriteOutcome};
use berth::live::diagnosis::nothing_wrong;
use berth::live::outcome::{rotation_result, rotation_steps};
use berth::live::{Start, initial_state, permissions};
use berth::registry::types::{Platform, TagRow};
use support_ui::*;

fn start(read_only: Option<&str>) -> Start {
    Start {
        context: "berth-admin".into(),
        contexts: vec!["berth-admin".into(), "berth-readonly".into()],
        namespace: "shop".into(),
        read_only: read_only.map(str::to_owned),
        theme: Default::default(),
        registries: vec!["prod".into(), "mirror".into()],
    }
}

/// The start state with the fixtures' cluster and registry rows arriving as the watchers and
/// the registry listing would send them.
fn live(read_only: Option<&str>, keys: &KeysConfig) -> State {
    let mut s = initial_state(&start(read_only), keys, now());
    update(
        &mut s,
        Action::Resize {
            width: 140,
            height: 44,
        },
    );
    for a in fixtures::registry_actions()
        .into_iter()
        .chain(fixtures::cluster_actions())
    {
        update(&mut s, a);
    }
    s
}

fn notices(s: &State) -> Vec<String> {
    s.notices.iter().map(|n| n.notice.text.clone()).collect()
}

#[test]
fn the_start_state_shows_the_context_and_namespace_in_use() {
    let mut s = initial_state(&start(None), &KeysConfig::default(), now());
    assert_eq!(s.context, "berth-admin");
    assert_eq!(s.contexts, ["berth-admin", "berth-readonly"]);
    assert_eq!(s.namespace, "shop");
    assert_eq!(s.read_only, ReadOnly::Off);
    assert!(s.notices.is_empty());
    update(
        &mut s,
        Action::Resize {
            width: 140,
            height: 44,
        },
    );
    let screen = render(&s);
    assert!(screen.contains("ctx berth-admin"), "{screen}");
    assert!(screen.contains("ns shop"), "{screen}");
}

#[test]
fn read_only_refuses_every_mutation_key_and_spawns_nothing() {
    let mut s = live(Some("--read-only"), &KeysConfig::default());
    assert_eq!(s.read_only, ReadOnly::On("--read-only".into()));
    s.focus = Focus::Deployments;
    let tasks: Vec<Task> = ["r", "u", "p", "s", "a", "i"]
        .iter()
        .flat_map(|k| press(&mut s, k))
        .collect();
    assert!(tasks.is_empty(), "{tasks:?}");
    assert!(
        s.dialogs.is_empty(),
        "no confirmation opens: {:?}",
        s.dialogs
    );
    assert!(
        notices(&s)
            .iter()
            .any(|n| n.contains("refused: read-only (--read-only)")),
        "{:?}",
        notices(&s)
    );
    let screen = render(&s);
    assert!(screen.contains("READ-ONLY (--read-only)"), "{screen}");
    // Diagnosis reads only: it still runs.
    let tasks = press(&mut s, "d");
    assert!(matches!(
        tasks.as_slice(),
        [Task {
            effect: Effect::Diagnose { .. },
            ..
        }]
    ));
}

#[test]
fn key_overrides_from_config_apply_and_bad_ones_are_warned_about() {
    let keys: KeysConfig =
        toml::from_str("[deployments]\nrestart = \"R\"\nnope = \"x\"\n").expect("keys toml");
    let mut s = live(None, &keys);
    assert!(
        notices(&s)
            .iter()
            .any(|n| n.starts_with("config.toml [keys.deployments] nope")),
        "{:?}",
        notices(&s)
    );
    s.focus = Focus::Deployments;
    press(&mut s, "r");
    assert!(s.dialogs.is_empty(), "r no longer restarts");
    press(&mut s, "R");
    assert!(
        matches!(s.dialogs.last(), Some(Dialog::Confirm(c)) if matches!(c.effect, Effect::Restart { .. }))
    );
}

#[test]
fn permission_verdicts_refuse_with_the_rbac_reason() {
    let mut s = live(None, &KeysConfig::default());
    let denied = ActionError::Forbidden {
        actor: "berth-readonly".into(),
        verb: "patch".into(),
        resource: "deployments.apps".into(),
        namespace: "shop".into(),
        reason: String::new(),
    };
    let ok: Result<(), String> = Ok(());
    let list = vec![PermissionUpdate {
        kind: MutationKind::Restart,
        namespace: permissions::scope(MutationKind::Restart, "shop"),
        permission: permissions::verdict(MutationKind::Restart, Err(denied), &ok).unwrap(),
    }];
    update(&mut s, Action::Permissions(list));
    assert_eq!(
        refusal(&s, Command::Restart).as_deref(),
        Some("RBAC: cannot patch deployments.apps in shop")
    );
    assert_eq!(refusal(&s, Command::Undo), None, "only what was reviewed");
    s.focus = Focus::Deployments;
    assert!(press(&mut s, "r").is_empty());
    assert!(s.dialogs.is_empty());
}

#[test]
fn a_diagnosis_answer_offers_its_fix_through_the_confirmation() {
    let mut s = live(None, &KeysConfig::default());
    s.focus = Focus::Deployments;
    let tasks = press(&mut s, "d");
    let [
        Task {
            id,
            effect: Effect::Diagnose { pod },
        },
    ] = tasks.as_slice()
    else {
        panic!("d starts one diagnosis: {tasks:?}");
    };
    // The engine's view with a fix, as the runner sends it.
    let mut view = nothing_wrong(pod);
    view.cause = "tag \"2.3.0\" does not exist".into();
    view.fix = Some(berth::app::diagnosis::Fix {
        title: "set the image to existing api:2.2.0".into(),
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
    });
    update(
        &mut s,
        Action::TaskDone {
            id: *id,
            result: Ok(TaskOutcome::Diagnosis(Box::new(view))),
        },
    );
    assert!(render(&s).contains("does not exist"));
    press(&mut s, "f");
    let tasks = press(&mut s, "y");
    match tasks.as_slice() {
        [
            Task {
                effect:
                    Effect::SetImage {
                        expected_image,
                        image,
                        ..
                    },
                ..
            },
        ] => {
            assert_eq!(expected_image, &format!("{REGISTRY}/api:2.3.0"));
            assert_eq!(image, &format!("{REGISTRY}/api:2.2.0"));
        }
        other => panic!("the fix runs as one SetImage: {other:?}"),
    }
}

#[test]
fn listed_rows_then_their_details_keep_the_order_and_the_cursor() {
    let mut s = live(None, &KeysConfig::default());
    let at = |h: i64| {
        now()
            .checked_sub(jiff::SignedDuration::from_hours(h))
            .unwrap()
    };
    let row = |name: &str, h: i64| TagRow {
        repository: "web".into(),
        name: name.into(),
        digest: Some(fixtures::digest(name)),
        updated: Some(at(h)),
        ..TagRow::default()
    };
    // The listing first (what load_tags sends at once) ...
    update(
        &mut s,
        Action::Registry(RegistryUpdate::Tags {
            repository: "web".into(),
            tags: vec![row("1.0.1", 2), row("1.0.2", 1), row("1.0.0", 3)],
        }),
    );
    let names = |s: &State| -> Vec<String> {
        s.registry
            .tags_of("web")
            .unwrap()
            .iter()
            .map(|t| t.name.clone())
            .collect()
    };
    assert_eq!(names(&s), ["1.0.2", "1.0.1", "1.0.0"]);
    // ... then one detail row at a time.
    let mut detailed = row("1.0.1", 2);
    detailed.media_type = Some("application/vnd.oci.image.index.v1+json".into());
    detailed.platforms = vec![Platform {
        os: "linux".into(),
        architecture: "arm64".into(),
        variant: None,
    }];
    update(&mut s, Action::Registry(RegistryUpdate::Tag(detailed)));
    assert_eq!(names(&s), ["1.0.2", "1.0.1", "1.0.0"]);
    let t = &s.registry.tags_of("web").unwrap()[1];
    assert_eq!(t.platforms.len(), 1);
    assert!(!berth::live::registry_side::needs_details(t));
}

#[test]
fn a_partial_rotation_shows_per_namespace_steps_and_fails_with_the_way_out() {
    let mut s = live(None, &KeysConfig::default());
    s.focus = Focus::Deployments;
    press(&mut s, "s");
    let tasks = press(&mut s, "y");
    let [
        Task {
            id,
            effect: Effect::RotateSecret { .. },
        },
    ] = tasks.as_slice()
    else {
        panic!("s then y starts one rotation: {tasks:?}");
    };
    let ns = |name: &str, secret| NamespaceReport {
        namespace: name.into(),
        secret,
        message: None,
        attached: None,
        restarted: Vec::new(),
        follow_up_errors: Vec::new(),
    };
    let report = RotationReport {
        source: "ACR admin user of berthacr".into(),
        registry: REGISTRY.into(),
        secret_name: "acr-pull".into(),
        username: Some("berthacr".into()),
        slot: Some("password2".into()),
        expiry: None,
        dry_run: false,
        verified: true,
        namespaces: vec![
            ns("shop", WriteOutcome::Updated),
            ns("staging", WriteOutcome::Failed),
        ],
        invalidated_slot: None,
        invalidate_skipped: None,
        warning: None,
    };
    for step in rotation_steps(&report) {
        update(&mut s, Action::TaskProgress { id: *id, step });
    }
    let result = rotation_result("rotate acr-pull", &report);
    update(&mut s, Action::TaskDone { id: *id, result });
    let task = &s.tasks[id];
    assert_eq!(task.steps.len(), 2);
    assert_eq!(task.steps[1].status, StepStatus::Failed);
    assert!(
        matches!(&task.state, TaskState::Failed(e) if e.why.contains("1 of 2 namespaces (staging)"))
    );
    let last: &Notice = &s.notices.last().unwrap().notice;
    assert!(last.text.contains("old slot stays valid"), "{}", last.text);
}

/// `:reg NAME` with two configured registries: the pane's rows go at once, the runner is asked
/// for the other registry, the title names it; an unknown name changes nothing and says which
/// names exist.
#[test]
fn reg_switches_the_browsed_registry_and_refuses_an_unknown_name() {
    let mut s = live(None, &KeysConfig::default());
    assert_eq!(s.registry_name, "prod");
    assert!(render(&s).contains("Registry prod 1/2"), "{}", render(&s));
    assert!(!s.registry.repositories.is_empty());

    press(&mut s, ":");
    type_text(&mut s, "reg nope");
    let fx = press(&mut s, "enter");
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(s.registry_name, "prod");
    assert!(
        !s.registry.repositories.is_empty(),
        "an unknown name cleared the pane"
    );
    let text = s
        .notices
        .last()
        .map(|n| n.notice.text.clone())
        .unwrap_or_default();
    assert!(
        text.contains("\"nope\"") && text.contains("prod, mirror"),
        "{text}"
    );

    press(&mut s, ":");
    type_text(&mut s, "reg mirror");
    let fx = press(&mut s, "enter");
    assert!(
        fx.iter().any(|t| t.effect
            == berth::app::effects::Effect::SwitchRegistry {
                name: "mirror".into()
            }),
        "{fx:?}"
    );
    assert_eq!(s.registry_name, "mirror");
    assert!(s.registry.repositories.is_empty() && s.registry.tags.is_empty());
    assert!(render(&s).contains("Registry mirror 2/2"), "{}", render(&s));
    // The same name again asks for nothing.
    press(&mut s, ":");
    type_text(&mut s, "reg mirror");
    assert!(press(&mut s, "enter").is_empty());
}

/// Back out of the repositories pane (`h`, `esc`): the configured registries, the browsed one
/// highlighted; enter on another browses it.
#[test]
fn back_from_the_repositories_lists_the_registries() {
    let mut s = live(None, &KeysConfig::default());
    s.focus = Focus::Repositories;
    assert!(press(&mut s, "h").is_empty());
    let screen = render(&s);
    assert!(
        screen.contains("reg prod") && screen.contains("reg mirror"),
        "{screen}"
    );
    match s.dialogs.last() {
        Some(berth::app::state::Dialog::Palette { selected, .. }) => assert_eq!(*selected, 0),
        other => panic!("the registry list: {other:?}"),
    }
    press(&mut s, "down");
    let fx = press(&mut s, "enter");
    assert!(
        fx.iter().any(|t| t.effect
            == berth::app::effects::Effect::SwitchRegistry {
                name: "mirror".into()
            }),
        "{fx:?}"
    );
    assert_eq!(s.registry_name, "mirror");
}
