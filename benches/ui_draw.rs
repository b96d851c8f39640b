//! Draw benchmarks (design.md targets): the first frame (≤ 30 ms) and one frame with 10,000 pods
//! (≤ 2 ms, only visible rows are drawn), plus one cluster change → redrawn frame at 10,000 pods.
//!
//! `cargo bench --bench ui_draw` runs it optimised with many iterations; `cargo test --bench
//! ui_draw` runs a short smoke pass (debug build: the numbers are an upper bound). Reports
//! medians; never fails on time (timing is measured here, never asserted in tests).
//!
//! Without a release build of the whole dependency tree, optimise only what is on the draw
//! path (berth and ratatui) in the shared dev target and pass `--bench` for the full run:
//!
//! ```sh
//! C=; for p in berth ratatui ratatui-core ratatui-widgets ratatui-crossterm unicode-width \
//!   unicode-segmentation compact_str hashbrown lru; do C="$C --config profile.dev.package.$p.opt-level=3"; done
//! cargo test --bench ui_draw $C -- --bench
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use berth::app::action::Action;
use berth::app::fixtures::{add_pods, cluster_actions, demo_state, now, registry_actions};
use berth::app::state::{Focus, State};
use berth::app::{update, view};
use berth::cluster::model::{ModelEvent, Row};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<F: FnMut()>(iters: usize, mut f: F) -> (Duration, Duration) {
    let mut v = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        f();
        v.push(t.elapsed());
    }
    let max = *v.iter().max().unwrap_or(&Duration::ZERO);
    (median(v), max)
}

fn report(name: &str, (median, max): (Duration, Duration), target: Duration) {
    let verdict = if median <= target {
        "ok"
    } else {
        "OVER TARGET"
    };
    println!(
        "{name:<44} median {:>9.3} ms   max {:>9.3} ms   target {:>6.1} ms   {verdict}",
        median.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        target.as_secs_f64() * 1e3,
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let iters = if full { 300 } else { 5 };
    let (w, h) = (120, 40);

    // First frame: a fresh State fed the initial lists (what the watchers deliver first), laid
    // out and drawn once into a new terminal.
    let first = time(iters.min(50), || {
        let mut s = State::new(now());
        update(
            &mut s,
            Action::Resize {
                width: w,
                height: h,
            },
        );
        for a in registry_actions().into_iter().chain(cluster_actions()) {
            update(&mut s, a);
        }
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| berth::ui::draw(f, &s)).unwrap();
        black_box(t.backend().buffer().area);
    });
    report(
        "first frame (load + layout + draw)",
        first,
        Duration::from_millis(30),
    );

    // The same screen with the demo's handful of pods: the fixed cost of a frame.
    let small = demo_state(w, h);
    let mut ts = Terminal::new(TestBackend::new(w, h)).unwrap();
    let base = time(iters, || {
        ts.draw(|f| berth::ui::draw(f, &small)).unwrap();
    });
    report(
        "one frame, demo (a few pods)",
        base,
        Duration::from_millis(2),
    );

    // 10,000 pods under one deployment, cursor in the middle of the pods list.
    let mut s = demo_state(w, h);
    add_pods(&mut s, 10_000);
    s.focus = Focus::Pods;
    let n = view::pods(&s).len();
    assert!(n >= 10_000, "fixture has {n} pods");
    for _ in 0..(n / 2) / 30 {
        update(
            &mut s,
            Action::Command(berth::app::keymap::Command::PageDown),
        );
    }
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let frame = time(iters, || {
        t.draw(|f| berth::ui::draw(f, &s)).unwrap();
    });
    report(
        "one frame, 10,000 pods (terminal.draw)",
        frame,
        Duration::from_millis(2),
    );

    let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
    let render = time(iters, || {
        buf.reset();
        berth::ui::render(&s, &berth::ui::Theme::default(), buf.area, &mut buf);
    });
    report(
        "one frame, 10,000 pods (render only)",
        render,
        Duration::from_millis(2),
    );

    // One pod changes (a watch event) and the frame is redrawn.
    let pod = view::pods(&s)[n / 2].clone();
    let mut i = 0;
    let change = time(iters, || {
        let mut p = pod.clone();
        i += 1;
        p.containers[0].restarts = i;
        update(
            &mut s,
            berth::app::fixtures::model(ModelEvent::Upsert(Row::Pod(p))),
        );
        t.draw(|f| berth::ui::draw(f, &s)).unwrap();
    });
    report(
        "pod change → frame, 10,000 pods",
        change,
        Duration::from_millis(50),
    );

    // Moving the cursor (a key press) and redrawing.
    let key = time(iters, || {
        update(&mut s, Action::Command(berth::app::keymap::Command::Down));
        t.draw(|f| berth::ui::draw(f, &s)).unwrap();
    });
    report(
        "key (down) → frame, 10,000 pods",
        key,
        Duration::from_millis(16),
    );
    if !full {
        println!(
            "(smoke run in the test profile: run `cargo bench --bench ui_draw` for real numbers)"
        );
    }
}
