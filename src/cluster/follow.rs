//! A headless command's own cluster model: the same watchers the dashboard runs, into the same
//! [`ClusterModel`], read until a condition holds (listed once, a rollout done, ...). The
//! commands that ask "what runs there" (`rollout status`, `envs`, `promote`) all read through
//! this, so they and the dashboard cannot disagree.

use std::time::Duration;

use kube::Client;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::model::{ConnectionState, ModelUpdate};
use super::store::ClusterModel;
use super::watch::{WatchOptions, Watchers};

/// Why [`Follow::until`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FollowEnd {
    /// The condition held once every watch had listed.
    Done,
    /// The deadline passed first.
    TimedOut,
    /// A watch was refused (RBAC): the apiserver's words.
    Forbidden(String),
}

/// Watchers feeding one model; dropping it stops them.
pub struct Follow {
    model: ClusterModel,
    rx: mpsc::Receiver<ModelUpdate>,
    expected_scopes: usize,
    _watchers: Watchers,
}

impl Follow {
    pub fn start(client: Client, options: &WatchOptions) -> Self {
        let (tx, rx) = mpsc::channel::<ModelUpdate>(1024);
        let watchers = Watchers::spawn(client, options, 1, tx);
        Self {
            model: ClusterModel::new(watchers.epoch()),
            rx,
            expected_scopes: watchers.task_count(),
            _watchers: watchers,
        }
    }

    pub fn model(&self) -> &ClusterModel {
        &self.model
    }

    /// Every watch has listed and is live: the model holds what the apiserver holds.
    pub fn listed(&self) -> bool {
        let states = self.model.connections();
        states.len() == self.expected_scopes && states.values().all(|s| *s == ConnectionState::Live)
    }

    /// Applies watch events until the model is listed and `done` holds, a watch is refused, or
    /// `timeout` passes.
    pub async fn until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&ClusterModel) -> bool,
    ) -> FollowEnd {
        let deadline = Instant::now() + timeout;
        loop {
            if self.listed() && done(&self.model) {
                return FollowEnd::Done;
            }
            if let Some(ConnectionState::Forbidden { error }) = self
                .model
                .connections()
                .into_values()
                .find(|s| matches!(s, ConnectionState::Forbidden { .. }))
            {
                return FollowEnd::Forbidden(error);
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(u)) => {
                    self.model.apply(u);
                }
                // The watchers never close the channel while `_watchers` lives.
                Ok(None) | Err(_) => return FollowEnd::TimedOut,
            }
        }
    }
}
