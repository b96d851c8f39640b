//! The per-context apiserver liveness probe: `GET /readyz` every second with a 1.5 s deadline.
//!
//! Why a probe: kube's client speaks HTTP/1.1 (hyper, no HTTP/2 PINGs), and a quiet cluster's
//! watch is silent, so a silent watch proves nothing. A frozen apiserver (SIGSTOP, a hung VM, a
//! partition that drops packets) keeps the TCP connections open: kube-runtime's watcher gives
//! up only after its idle timeout (the 290 s server-side watch timeout + 5 s). A client read
//! timeout (`kube::Config::read_timeout`, off by default in kube 5) short enough to matter would
//! break every idle watch (bookmarks come about once a minute) and relist it over and over, and
//! would cut long requests too. So the watches keep kube's idle timeout and this probe tells, per
//! context, within 1 s + 1.5 s whether the apiserver still answers.
//!
//! This is a liveness check, not a data poll: one tiny request a second (`/readyz` answers "ok",
//! and anyone may ask it), never a list. The rows still come only from the watches.
//!
//! A failed probe makes the model call every watch stale (`ClusterModel::connections`); when the
//! apiserver answers again the probe asks the watchers to relist (nobody knows whether a watch
//! connection survived the outage), and each watch is live again with its `Resynced`.

use std::time::Duration;

use jiff::Timestamp;
use kube::Client;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

use super::model::{ModelEvent, ModelUpdate, Probe};

pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

/// The probe task of one context. Dropping it stops the probe.
#[derive(Debug)]
pub struct Liveness {
    handle: AbortHandle,
    relist: watch::Receiver<u64>,
}

impl Liveness {
    /// Probes `client`'s apiserver every [`PROBE_INTERVAL`] and sends each answer as
    /// `ModelEvent::Probe` stamped with `epoch`.
    pub fn spawn<T>(client: Client, epoch: u64, tx: mpsc::Sender<T>) -> Self
    where
        T: From<ModelUpdate> + Send + 'static,
    {
        let (relist_tx, relist) = watch::channel(0u64);
        let task = async move {
            let mut tick = tokio::time::interval(PROBE_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut was_down = false;
            loop {
                tick.tick().await;
                let at = Timestamp::now();
                let error = probe(&client).await.err();
                let down = error.is_some();
                if down != was_down {
                    match &error {
                        Some(e) => tracing::warn!("apiserver {e}"),
                        None => tracing::info!("apiserver answers again; relisting"),
                    }
                }
                let event = ModelEvent::Probe(Probe { at, error });
                if tx
                    .send(T::from(ModelUpdate { epoch, event }))
                    .await
                    .is_err()
                {
                    return; // nobody listens any more
                }
                // After the model has heard that it is up: the relists' Resynced come later.
                if was_down && !down {
                    relist_tx.send_modify(|n| *n += 1);
                }
                was_down = down;
            }
        };
        Self {
            handle: tokio::spawn(task).abort_handle(),
            relist,
        }
    }

    /// Changes each time the apiserver answers again after an outage: the watchers relist.
    pub fn relist_signal(&self) -> watch::Receiver<u64> {
        self.relist.clone()
    }

    pub fn abort(&self) {
        self.handle.abort();
    }
}

impl Drop for Liveness {
    fn drop(&mut self) {
        self.abort();
    }
}

/// One probe: `Ok` when the apiserver answers ready within [`PROBE_TIMEOUT`].
pub async fn probe(client: &Client) -> Result<(), String> {
    let req = http::Request::get("/readyz")
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(PROBE_TIMEOUT, client.request_text(req)).await {
        Err(_) => Err(format!(
            "not answering (no reply to /readyz within {:.1} s)",
            PROBE_TIMEOUT.as_secs_f32()
        )),
        Ok(Err(kube::Error::Api(s))) => Err(format!("not ready: {}", s.message.trim())),
        Ok(Err(e)) => Err(format!("unreachable: {e}")),
        Ok(Ok(_)) => Ok(()),
    }
}
