//! The logs view's streams: one task per container instance reading its log (kube's
//! `log_stream`, following), all of one view feeding one bounded [`LogQueue`], and one
//! forwarder per view that hands the queue to the UI at most once per frame, and only after
//! the UI took the previous batch ([`Delivered`]): the streams never wait for the UI, and the
//! UI never gets more than it can draw.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;

use crate::app::Action;
use crate::app::logs::{Delivered, LogLine, LogQueue, LogsUpdate, StreamSpec, clean_line};
use crate::cluster::logs::{CappedLines, OpenError, open};

/// One logs view's queue and tasks.
struct Session {
    queue: Arc<Mutex<LogQueue>>,
    /// Lines are waiting.
    wake: Arc<Notify>,
    tasks: Vec<AbortHandle>,
}

impl Drop for Session {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The open logs views of the dashboard (normally one).
#[derive(Default)]
pub struct LogSessions {
    sessions: HashMap<u64, Session>,
}

fn lock(q: &Mutex<LogQueue>) -> std::sync::MutexGuard<'_, LogQueue> {
    q.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl LogSessions {
    /// Start one stream of view `spec.session` (its forwarder too, for the first).
    pub fn stream(&mut self, client: kube::Client, spec: StreamSpec, tx: &UnboundedSender<Action>) {
        let session = spec.session;
        let s = self.sessions.entry(session).or_insert_with(|| {
            let queue = Arc::new(Mutex::new(LogQueue::default()));
            let wake = Arc::new(Notify::new());
            let fwd = tokio::spawn(forward(
                session,
                Arc::clone(&queue),
                Arc::clone(&wake),
                tx.clone(),
            ));
            Session {
                queue,
                wake,
                tasks: vec![fwd.abort_handle()],
            }
        });
        let queue = Arc::clone(&s.queue);
        let wake = Arc::clone(&s.wake);
        let tx = tx.clone();
        let t = tokio::spawn(async move {
            let error = read(&client, &spec, &queue, &wake).await.err();
            let _ = tx.send(Action::Logs(LogsUpdate::Ended {
                session,
                stream: spec.key,
                error,
            }));
        });
        s.tasks.push(t.abort_handle());
    }

    /// Close every stream of a view (dropping the session aborts its tasks).
    pub fn stop(&mut self, session: u64) {
        self.sessions.remove(&session);
    }
}

async fn read(
    client: &kube::Client,
    spec: &StreamSpec,
    queue: &Mutex<LogQueue>,
    wake: &Notify,
) -> Result<(), String> {
    let source = crate::app::logs::source_label(&spec.key.pod, &spec.key.container);
    let r = open(client, spec, true).await.map_err(|e| match e {
        OpenError::Refused(m) => format!("no log: {m}"),
        OpenError::Unreachable(m) => m,
    })?;
    let mut lines = CappedLines::new(r);
    loop {
        match lines.next().await {
            Ok(Some(cut)) => {
                let text = clean_line(lines.line(), cut);
                lock(queue).push(LogLine::log(Arc::clone(&source), text));
                wake.notify_one();
            }
            Ok(None) => return Ok(()),
            Err(e) => return Err(format!("the log stream broke: {e}")),
        }
    }
}

/// Hands the queue to the UI: after lines arrive, once the previous batch was taken, at most
/// once per frame (so lines are batched per frame).
async fn forward(
    session: u64,
    queue: Arc<Mutex<LogQueue>>,
    wake: Arc<Notify>,
    tx: UnboundedSender<Action>,
) {
    let taken = Arc::new(Notify::new());
    let mut in_flight = false;
    loop {
        wake.notified().await;
        if in_flight {
            taken.notified().await;
        }
        tokio::time::sleep(crate::tui::FRAME).await;
        let (lines, dropped) = lock(&queue).take();
        if lines.is_empty() && dropped == 0 {
            in_flight = false;
            continue;
        }
        let u = LogsUpdate::Lines {
            session,
            lines,
            dropped,
            delivered: Delivered::new(Arc::clone(&taken)),
        };
        in_flight = true;
        if tx.send(Action::Logs(u)).is_err() {
            return;
        }
    }
}
