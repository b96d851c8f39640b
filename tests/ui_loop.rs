//! The event loop on a TestBackend: keys in through the Action channel, Tasks out, results back
//! in order, frames drawn, quit. Waits are bounded by deadlines (no fixed sleeps).

mod support_ui;

use std::time::Duration;

use berth::app::action::{Action, TaskOutcome};
use berth::app::demo::DemoRunner;
use berth::app::effects::{Effect, Task};
use berth::app::state::TaskState;
use berth::cluster::model::ObjectRef;
use berth::tui::{EffectRunner, event_loop};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use support_ui::*;
use tokio::sync::mpsc::unbounded_channel;

async fn recv_task(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Task>) -> Task {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("no task within 10 s")
        .expect("effect channel closed")
}

#[tokio::test]
async fn keys_become_tasks_results_come_back_and_q_quits() {
    let state = demo_state(120, 40);
    let (action_tx, action_rx) = unbounded_channel();
    let (effect_tx, mut effect_rx) = unbounded_channel();
    let ui = tokio::spawn(async move {
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let state = event_loop(&mut terminal, state, action_rx, effect_tx)
            .await
            .unwrap();
        (state, terminal.backend().to_string())
    });

    // Restart the selected deployment (web): r, then y on the confirmation.
    for k in ["r", "y"] {
        action_tx.send(Action::Key(key_event(k))).unwrap();
    }
    let task = recv_task(&mut effect_rx).await;
    assert!(
        matches!(&task.effect, Effect::Restart { deployment, dry_run: false, .. } if deployment.name == "web")
    );
    // The result goes in before the quit key: the channel keeps the order.
    action_tx
        .send(Action::TaskDone {
            id: task.id,
            result: Ok(TaskOutcome::Done {
                summary: "restarted shop/web".into(),
            }),
        })
        .unwrap();
    action_tx.send(Action::Key(key_event("q"))).unwrap();
    let (state, screen) = tokio::time::timeout(Duration::from_secs(10), ui)
        .await
        .expect("loop ends within 10 s of q")
        .unwrap();
    assert!(state.should_quit);
    assert!(matches!(state.tasks[&task.id].state, TaskState::Done(_)));
    assert_eq!(state.last_result.unwrap().text, "restarted shop/web");
    assert_eq!(
        (state.width, state.height),
        (100, 30),
        "the loop reads the terminal size"
    );
    assert!(
        screen.contains("Deployments"),
        "a frame was drawn:\n{screen}"
    );
}

#[tokio::test]
async fn closing_the_action_channel_ends_the_loop() {
    let (action_tx, action_rx) = unbounded_channel::<Action>();
    let (effect_tx, _effect_rx) = unbounded_channel();
    let ui = tokio::spawn(async move {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        event_loop(&mut terminal, demo_state(80, 24), action_rx, effect_tx).await
    });
    drop(action_tx);
    let state = tokio::time::timeout(Duration::from_secs(10), ui)
        .await
        .expect("loop ends when every sender is gone")
        .unwrap()
        .unwrap();
    assert!(!state.should_quit);
}

#[tokio::test]
async fn demo_runner_reports_progress_then_one_result() {
    let (tx, mut rx) = unbounded_channel();
    let pod = ObjectRef {
        namespace: "shop".into(),
        name: "api-5f7d9c8b6-vn2lx".into(),
    };
    let task = Task {
        id: berth::app::effects::TaskId(7),
        effect: Effect::Diagnose { pod: pod.clone() },
    };
    DemoRunner {
        step: Duration::ZERO,
    }
    .spawn(task, tx);
    let mut progress = 0;
    let outcome = loop {
        let a = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("runner answers within 10 s")
            .expect("runner keeps the channel until done");
        match a {
            Action::TaskProgress { id, .. } => {
                assert_eq!(id.0, 7);
                progress += 1;
            }
            Action::TaskDone { id, result } => {
                assert_eq!(id.0, 7);
                break result.expect("demo diagnosis succeeds");
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(progress >= 2);
    match outcome {
        TaskOutcome::Diagnosis(v) => {
            assert_eq!(v.pod, pod);
            assert!(v.fix.is_some());
        }
        other => panic!("expected a diagnosis, got {other:?}"),
    }
}
