//! How one SQL storage call runs: within a time limit, mapped to [`StorageError`], and sent
//! again when it failed on a connection the server had already closed.

use std::future::Future;
use std::time::Duration;

use tokio::time::{Instant, timeout_at};

use crate::storage::StorageError;

/// The limits of one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The whole call, waiting for a pooled connection included.
    pub(crate) timeout: Duration,
    /// How many times a call that failed on a dead connection is sent again: one per pooled
    /// connection, since after a server restart every one of them may be dead.
    pub(crate) retries: u32,
}

/// Runs `op` within `limits`.
pub(crate) async fn run<T, F, Fut>(limits: Limits, what: &str, op: F) -> Result<T, StorageError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let deadline = Instant::now() + limits.timeout;
    let mut retries = 0;
    loop {
        match timeout_at(deadline, op()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) if retries < limits.retries && is_dead_connection(&error) => {
                retries += 1;
                tracing::debug!(%error, "SQL session storage: the connection was closed; sending once more");
            }
            Ok(Err(error)) => return Err(storage_error(what, error)),
            Err(_) => {
                return Err(StorageError::unavailable(format!(
                    "SQL session storage {what}: no answer within {:?}",
                    limits.timeout
                )));
            }
        }
    }
}

/// Whether `error` came from a connection the server closed (a restart, a failover, an idle
/// timeout): a new connection will most likely work.
pub(crate) fn is_dead_connection(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // PostgreSQL: admin_shutdown, crash_shutdown, connection exceptions.
            code == "57P01" || code == "57P02" || code.starts_with("08")
        }),
        _ => false,
    }
}

/// Whether `error` means the database is down, busy or unreachable.
fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // PostgreSQL: connection exceptions, shutdown / starting up, too many
            // connections, serialization failure and deadlock (retry later).
            code.starts_with("08")
                || code.starts_with("57P")
                || code == "53300"
                || code == "40001"
                || code == "40P01"
                // SQLite: SQLITE_BUSY and SQLITE_LOCKED, with their extended codes.
                || code
                    .parse::<i32>()
                    .is_ok_and(|n| matches!(n & 0xff, 5 | 6))
        }),
        _ => false,
    }
}

/// A [`StorageError`] for a failed SQL call.
pub(crate) fn storage_error(what: &str, error: sqlx::Error) -> StorageError {
    if is_unavailable(&error) {
        StorageError::unavailable(format!(
            "SQL session storage {what}: the database is unreachable or busy"
        ))
        .with_source(error)
    } else {
        StorageError::backend(format!("SQL session storage {what} failed")).with_source(error)
    }
}
