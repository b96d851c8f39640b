//! The terminal side: setup and restore (also on panic, Ctrl-C, SIGTERM/SIGHUP), the input
//! stream, ticks, and frame scheduling. One Action channel feeds `update`; effects go out on
//! another channel to whatever runs them.
//!
//! `crate::live` wires it to the real watchers and clients; `run_demo` to the demo fixtures.

use std::io::{self, Stdout};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event, EventStream, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;

use crate::app::{Action, State, Task, update};

/// At most one frame per this interval (~60 Hz).
pub const FRAME: Duration = Duration::from_millis(16);
/// Ages and clocks tick at 1 Hz; spinners faster, only while tasks run.
pub const IDLE_TICK: Duration = Duration::from_secs(1);
pub const BUSY_TICK: Duration = Duration::from_millis(125);
/// Actions taken from the channel per batch before a frame is considered.
const BATCH: usize = 512;

/// Runs effects. The binary implements it with the real registry/cluster/diagnosis clients;
/// `spawn` must not block: start the work and report with `Action::TaskProgress`/`TaskDone`.
pub trait EffectRunner: Send + 'static {
    fn spawn(&mut self, task: Task, actions: UnboundedSender<Action>);
}

/// Put the terminal back: raw mode off, main screen, mouse off, cursor on. Never panics.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Take the terminal again after lending it (raw mode, alternate screen, mouse); the next
/// frame must be a whole one.
pub fn reenter() {
    let _ = enable_raw_mode();
    let _ = execute!(
        io::stdout(),
        EnterAlternateScreen,
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All),
        EnableMouseCapture
    );
}

/// Restores on drop, so every exit path (return, `?`, panic unwinding) leaves a usable shell.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

fn setup() -> io::Result<(Terminal<CrosstermBackend<Stdout>>, TerminalGuard)> {
    // The hook runs before unwinding prints the message, so the message lands on a sane screen.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    enable_raw_mode()?;
    let guard = TerminalGuard;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    Ok((terminal, guard))
}

/// Forward terminal input as Actions until the channel closes. While `paused` is true (the
/// terminal is lent to a credential plugin) no event stream is open: the plugin reads the keys.
fn spawn_input(
    actions: UnboundedSender<Action>,
    mut paused: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut events = EventStream::new();
        loop {
            let ev = tokio::select! {
                ev = events.next() => ev,
                changed = paused.changed() => {
                    if changed.is_err() {
                        continue;
                    }
                    if *paused.borrow_and_update() {
                        drop(events);
                        while *paused.borrow_and_update() {
                            if paused.changed().await.is_err() {
                                return;
                            }
                        }
                        events = EventStream::new();
                    }
                    continue;
                }
            };
            let Some(ev) = ev else {
                break;
            };
            let action = match ev {
                Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => Action::Key(k),
                Ok(Event::Mouse(m)) => Action::Mouse(m),
                Ok(Event::Resize(width, height)) => Action::Resize { width, height },
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!("terminal input failed: {e}");
                    break;
                }
            };
            if actions.send(action).is_err() {
                break;
            }
        }
    })
}

/// The signal that ended the UI (0: none).
static QUIT_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The signal (SIGTERM, SIGINT, SIGHUP) that ended the UI, if one did: the process then exits
/// with the conventional status 128 + its number (143, 130, 129) once the terminal is restored.
pub fn quit_signal() -> Option<i32> {
    match QUIT_SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    }
}

/// The exit status after the UI: 0, or 128 + the signal that ended it.
pub fn exit_status() -> u8 {
    quit_signal().map_or(0, |n| u8::try_from(128 + n).unwrap_or(1))
}

/// SIGTERM / SIGHUP / SIGINT → `Action::Quit` (Ctrl-C in raw mode arrives as a key instead);
/// which one it was is kept for [`quit_signal`].
fn spawn_signals(actions: UnboundedSender<Action>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::warn!("could not install signal handlers");
                return;
            };
            // The numbers are POSIX's (the same on every Unix).
            let n = tokio::select! {
                _ = term.recv() => 15,
                _ = hup.recv() => 1,
                _ = int.recv() => 2,
            };
            QUIT_SIGNAL.store(n, Ordering::SeqCst);
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            QUIT_SIGNAL.store(2, Ordering::SeqCst);
        }
        let _ = actions.send(Action::Quit);
    })
}

/// Run the UI until the user quits (or `Action::Quit` arrives). `action_tx` is a sender of the
/// same channel as `action_rx` (input and signals use it). Returns the final State.
/// A watcher's complete (re)list: the moment the model lets a whole scope's old rows go.
fn is_complete_list(action: &Action) -> bool {
    matches!(
        action,
        Action::Cluster(crate::app::action::ClusterUpdate::Model(
            crate::cluster::model::ModelUpdate {
                event: crate::cluster::model::ModelEvent::Resynced { .. },
                ..
            }
        ))
    )
}

pub async fn run_with(
    state: State,
    action_tx: UnboundedSender<Action>,
    action_rx: UnboundedReceiver<Action>,
    effect_tx: UnboundedSender<Task>,
) -> io::Result<State> {
    let (mut terminal, _guard) = setup()?;
    let (pause, paused) = tokio::sync::watch::channel(false);
    let input = spawn_input(action_tx.clone(), paused);
    let signals = spawn_signals(action_tx.clone());
    let lent = std::sync::Arc::new(crate::handoff::Lent::default());
    let redraw_tx = action_tx.clone();
    let handoff = crate::handoff::listen(std::sync::Arc::clone(&lent), pause, move || {
        if let Ok((width, height)) = crossterm::terminal::size() {
            let _ = redraw_tx.send(Action::Resize { width, height });
        }
    });
    let result = event_loop_lending(&mut terminal, state, action_rx, effect_tx, &lent).await;
    if let Some(h) = handoff {
        h.abort();
        crate::handoff::cleanup();
    }
    input.abort();
    signals.abort();
    terminal.show_cursor()?;
    result
}

/// The loop itself, on any backend (tests drive it with a `TestBackend`): batches of Actions
/// through `update`, Tasks out, a frame when something changed (at most every [`FRAME`]),
/// ticks at 1 Hz (faster only while tasks run).
pub async fn event_loop<B: ratatui::backend::Backend>(
    terminal: &mut Terminal<B>,
    state: State,
    action_rx: UnboundedReceiver<Action>,
    effect_tx: UnboundedSender<Task>,
) -> io::Result<State>
where
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let never_lent = crate::handoff::Lent::default();
    event_loop_lending(terminal, state, action_rx, effect_tx, &never_lent).await
}

/// [`event_loop`], drawing nothing while the terminal is lent to a credential plugin and a
/// whole frame when it is back.
async fn event_loop_lending<B: ratatui::backend::Backend>(
    terminal: &mut Terminal<B>,
    mut state: State,
    mut action_rx: UnboundedReceiver<Action>,
    effect_tx: UnboundedSender<Task>,
    lent: &crate::handoff::Lent,
) -> io::Result<State>
where
    B::Error: std::error::Error + Send + Sync + 'static,
{
    use std::sync::atomic::Ordering;
    let to_io = |e: B::Error| io::Error::other(e);
    let size = terminal.size().map_err(to_io)?;
    update(
        &mut state,
        Action::Resize {
            width: size.width,
            height: size.height,
        },
    );
    update(&mut state, Action::Tick(jiff::Timestamp::now()));
    let mut frame_log = FrameLog::from_env();
    let frame = terminal
        .draw(|f| crate::ui::draw(f, &state))
        .map_err(to_io)?;
    if let Some(log) = frame_log.as_mut() {
        log.drawn(frame.buffer);
    }
    state.dirty = false;
    let mut last_draw = Instant::now();
    let mut next_tick = Instant::now() + IDLE_TICK;
    let mut batch = Vec::with_capacity(BATCH);

    loop {
        let frame_due = last_draw + FRAME;
        tokio::select! {
            n = action_rx.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    break;
                }
                let mut dirty = state.dirty;
                let mut listed = false;
                for action in batch.drain(..) {
                    listed |= is_complete_list(&action);
                    for task in update(&mut state, action) {
                        if effect_tx.send(task).is_err() {
                            tracing::warn!("effect runner is gone; a request was dropped");
                        }
                    }
                    dirty |= state.dirty;
                }
                state.dirty = dirty;
                if listed {
                    // The list's pages and the rows it replaced are free now: give them back.
                    crate::cluster::watch::heap::trim();
                }
            }
            _ = tokio::time::sleep_until(next_tick) => {
                update(&mut state, Action::Tick(jiff::Timestamp::now()));
                let period = if state.running_tasks() > 0 { BUSY_TICK } else { IDLE_TICK };
                next_tick = Instant::now() + period;
            }
            _ = tokio::time::sleep_until(frame_due), if state.dirty && !lent.out.load(Ordering::SeqCst) => {}
        }
        if state.should_quit {
            break;
        }
        // A task started: tick faster from now on so its spinner moves.
        if state.running_tasks() > 0 && next_tick > Instant::now() + BUSY_TICK {
            next_tick = Instant::now() + BUSY_TICK;
        }
        if lent.out.load(Ordering::SeqCst) {
            continue;
        }
        if lent.returned.swap(false, Ordering::SeqCst) {
            // The screen was cleared when it came back, but ratatui only writes cells that
            // differ from its last frame: a blank frame first makes the next one whole.
            // (`Terminal::clear` would do it by asking the terminal for the cursor position,
            // an answer that can arrive after crossterm stops waiting.)
            terminal
                .draw(|f| f.render_widget(ratatui::widgets::Clear, f.area()))
                .map_err(to_io)?;
            state.dirty = true;
            last_draw = Instant::now() - FRAME;
        }
        if state.dirty && Instant::now() >= last_draw + FRAME {
            let frame = terminal
                .draw(|f| crate::ui::draw(f, &state))
                .map_err(to_io)?;
            if let Some(log) = frame_log.as_mut() {
                log.drawn(frame.buffer);
            }
            state.dirty = false;
            last_draw = Instant::now();
        }
    }
    Ok(state)
}

/// For `scripts/bench/watch` only (off unless `BERTH_FRAME_LOG` names a file): after each
/// frame, the number that follows `BERTH_FRAME_MARK` (default `M`) on screen, when it differs
/// from the last frame's, is appended with the wall-clock time the frame was drawn
/// (`<unix nanoseconds> <number>`), so the bench can tell when a change reached the screen.
struct FrameLog {
    file: std::fs::File,
    mark: String,
    last: Option<u64>,
}

impl FrameLog {
    fn from_env() -> Option<Self> {
        let path = std::env::var_os("BERTH_FRAME_LOG")?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .inspect_err(|e| tracing::warn!("BERTH_FRAME_LOG {path:?}: {e}"))
            .ok()?;
        let mark = std::env::var("BERTH_FRAME_MARK").unwrap_or_else(|_| "M".to_owned());
        Some(Self {
            file,
            mark,
            last: None,
        })
    }

    fn drawn(&mut self, buffer: &ratatui::buffer::Buffer) {
        let text: String = buffer.content().iter().map(|c| c.symbol()).collect();
        let found = text.match_indices(&self.mark).find_map(|(i, m)| {
            let digits: String = text[i + m.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<u64>().ok()
        });
        if found.is_none() || found == self.last {
            return;
        }
        self.last = found;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        use std::io::Write;
        let _ = writeln!(self.file, "{nanos} {}", found.unwrap_or_default());
    }
}

/// Like [`run_with`], creating the channels and handing every effect to `runner`. `feed` gets
/// a sender for the watchers before the UI starts.
pub async fn run<R: EffectRunner>(
    state: State,
    mut runner: R,
    feed: impl FnOnce(UnboundedSender<Action>),
) -> io::Result<State> {
    let (action_tx, action_rx) = tokio::sync::mpsc::unbounded_channel();
    let (effect_tx, mut effect_rx) = tokio::sync::mpsc::unbounded_channel::<Task>();
    feed(action_tx.clone());
    let runner_tx = action_tx.clone();
    let runner_task = tokio::spawn(async move {
        while let Some(task) = effect_rx.recv().await {
            runner.spawn(task, runner_tx.clone());
        }
    });
    let result = run_with(state, action_tx, action_rx, effect_tx).await;
    runner_task.abort();
    result
}

/// Open the UI on the demo fixtures with [`crate::app::demo::DemoRunner`] answering every
/// action: for trying berth (its keys, a theme) without a cluster or registry.
pub async fn run_demo(theme: std::sync::Arc<crate::ui::Theme>) -> io::Result<()> {
    let mut state = crate::app::fixtures::demo_state(120, 40);
    state.now = jiff::Timestamp::now();
    state.theme = crate::ui::Theme::from_env(theme);
    let result = run(state, crate::app::demo::DemoRunner::new(), |_| {}).await;
    result.map(|_| ())
}
