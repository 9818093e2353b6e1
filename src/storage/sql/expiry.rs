//! A background task that removes expired sessions now and then.

use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;

use crate::storage::SessionStorage;

/// A running expiry task (see [`PostgresStorage::spawn_expiry_task`](super::PostgresStorage::spawn_expiry_task)
/// and [`SqliteStorage::spawn_expiry_task`](super::SqliteStorage::spawn_expiry_task)).
///
/// The task stops when this handle is dropped or [`stop`](ExpiryTask::stop)ped; keep it for
/// as long as the application runs.
#[derive(Debug)]
#[must_use = "the expiry task stops when its handle is dropped"]
pub struct ExpiryTask {
    handle: JoinHandle<()>,
}

impl ExpiryTask {
    /// Every `period` (the first time right away), calls
    /// [`delete_expired`](SessionStorage::delete_expired) on `storage`. Failures are logged
    /// and the task carries on. Needs a Tokio runtime.
    pub(crate) fn spawn<S: SessionStorage>(storage: S, period: Duration) -> ExpiryTask {
        let period = period.max(Duration::from_millis(1));
        let handle = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match storage.delete_expired(SystemTime::now()).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::debug!(removed, "expired sessions removed"),
                    Err(error) => {
                        tracing::warn!(%error, "removing expired sessions failed; trying again later");
                    }
                }
            }
        });
        ExpiryTask { handle }
    }

    /// Stops the task (also what dropping the handle does).
    pub fn stop(self) {}

    /// Whether the task has stopped.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

impl Drop for ExpiryTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}
