//! Removing expired records in the background, for storages that cannot expire them alone.

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use super::SessionStorage;
#[cfg(doc)]
use super::open_url;

/// Runs [`delete_expired`](SessionStorage::delete_expired) on `storage` every `period`, with
/// the system time, on the current tokio runtime, until the storage is dropped (the task holds
/// only a weak reference) or the returned handle is aborted.
///
/// A failed sweep is logged and retried at the next period.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use typed_sessions::SessionsConfig;
/// use typed_sessions::storage::{MemoryStorage, spawn_sweeper};
///
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Cart;
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let storage = Arc::new(MemoryStorage::new());
/// let sweeper = spawn_sweeper(&storage, Duration::from_secs(60));
/// let layer = SessionsConfig::new()
///     .cookie_with_storage::<Cart, _>("cart", Arc::clone(&storage), |c| c)
///     .build()
///     .unwrap();
/// # sweeper.abort();
/// # });
/// ```
///
/// It takes the shared storage [`open_url`] returns (an `Arc<dyn SessionStorage>`) as well.
///
/// # Panics
///
/// If called outside a tokio runtime, or with a zero `period`.
pub fn spawn_sweeper<S: SessionStorage + ?Sized>(
    storage: &Arc<S>,
    period: Duration,
) -> tokio::task::JoinHandle<()> {
    let weak: Weak<S> = Arc::downgrade(storage);
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::spawn(async move {
        interval.tick().await; // the first tick is immediate; sweep one period after start
        loop {
            interval.tick().await;
            let Some(storage) = weak.upgrade() else {
                return;
            };
            match storage.delete_expired(SystemTime::now()).await {
                Ok(0) => {}
                Ok(removed) => tracing::debug!(removed, "expired sessions swept"),
                Err(error) => tracing::warn!(%error, "sweeping expired sessions failed"),
            }
        }
    })
}
