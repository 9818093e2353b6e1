//! How the storage sends its calls: each within the timeout, once more after a lost
//! connection, and what a doubtful connection means for the client-side cache.

use std::future::Future;

use ::redis::RedisResult;
use tokio::time::{Instant, timeout_at};

use super::RedisStorage;
use super::connection::{Conn, is_retryable, storage_error};
use crate::storage::StorageError;

impl RedisStorage {
    /// How long the tombstone of a move between two hash slots stays: longer than any retry
    /// of the move (ours and the Cluster client's all end with the call's timeout), short
    /// enough not to matter.
    pub(super) fn tombstone_millis(&self) -> u64 {
        let timeout = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        timeout.saturating_add(1000)
    }

    /// The deadline of a call that starts now: the timeout from now. Every command of one
    /// call of the storage's methods runs within the same deadline, so the whole call ends
    /// within the timeout, or twice it on a path that ends with a repair (see
    /// [`call_bound`](crate::storage::SessionStorage::call_bound)).
    pub(super) fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    /// Runs `op` on the connection by `deadline`, once more if the connection was lost.
    ///
    /// The connection may have been lost after the server ran the command (only its reply
    /// lost): every `op` given here is a read, or a write that recognises its own earlier
    /// effect (see the [module documentation](super#outages-and-retries)).
    pub(super) async fn run<T, F, Fut>(
        &self,
        deadline: Instant,
        what: &str,
        op: F,
    ) -> Result<T, StorageError>
    where
        F: Fn(Conn) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        match timeout_at(deadline, op(self.conn.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) if is_retryable(&error) => {
                tracing::debug!(%error, "Redis connection lost; sending once more");
                self.connection_in_doubt();
                match timeout_at(deadline, op(self.conn.clone())).await {
                    Ok(Ok(value)) => Ok(value),
                    Ok(Err(error)) => Err(storage_error(what, error)),
                    Err(_) => Err(self.timed_out(what)),
                }
            }
            Ok(Err(error)) => Err(storage_error(what, error)),
            Err(_) => Err(self.timed_out(what)),
        }
    }

    fn timed_out(&self, what: &str) -> StorageError {
        self.connection_in_doubt();
        StorageError::unavailable(format!("Redis {what}: no answer within {:?}", self.timeout))
    }

    /// A call found the connection lost, or got no answer in time: invalidations may be lost
    /// with it, so the client-side cache (if any) empties and waits for tracking to be set up
    /// again.
    fn connection_in_doubt(&self) {
        match (&self.conn, &self.cache) {
            (Conn::Tracked(tracked), _) => tracked.trouble(),
            (_, Some(cache)) => cache.lost(),
            (_, None) => {}
        }
    }
}
