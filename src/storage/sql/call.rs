//! How one SQL storage call runs: within a time limit, mapped to [`StorageError`], and sent
//! again when it failed on a connection the server had closed.
//!
//! A failure on a closed connection is ambiguous: the connection may have died before the
//! statement reached the server (a pooled connection left over from before a restart), or
//! after the server had executed it and before its reply arrived. The call is sent again
//! either way, so every operation is written to be sent twice: reads and plain updates are
//! idempotent, and the writes that are not (`create`, `change_id`, `update_if`) are told by
//! [`Attempt`] that they are a repeat, and then recognise their own earlier effect by the
//! record's revision (see each operation in [`queries`](super::queries)).

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
    /// Whether a call that found the database busy (SQLite's write lock held past the busy
    /// timeout) is sent again until the time limit: only for the migration, which may wait
    /// for another process's migration.
    pub(crate) retry_busy: bool,
}

/// Whether this is the first time a call is sent, or a repeat after a failure that may have
/// happened after the server executed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The first time: nothing of this call can be in the database yet.
    First,
    /// Again, after a failure on a closed connection: the earlier attempt may have taken
    /// effect, and the operation must recognise it rather than report it as someone else's.
    Repeat,
}

impl Attempt {
    pub(crate) fn is_repeat(self) -> bool {
        self == Attempt::Repeat
    }
}

/// Runs `op` within `limits`, passing it which attempt it is.
pub(crate) async fn run<T, F, Fut>(limits: Limits, what: &str, op: F) -> Result<T, StorageError>
where
    F: Fn(Attempt) -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let deadline = Instant::now() + limits.timeout;
    let mut retries = 0;
    let mut attempt = Attempt::First;
    loop {
        match timeout_at(deadline, op(attempt)).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) if retries < limits.retries && is_dead_connection(&error) => {
                retries += 1;
                attempt = Attempt::Repeat;
                tracing::debug!(%error, "SQL session storage: the connection was closed; sending once more");
            }
            Ok(Err(error)) if limits.retry_busy && is_busy(&error) => {
                tracing::debug!(%error, "SQL session storage: the database is busy; trying again");
                tokio::time::sleep_until(deadline.min(Instant::now() + BUSY_PAUSE)).await;
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

/// How long a busy retry waits before trying again.
const BUSY_PAUSE: Duration = Duration::from_millis(20);

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

/// Whether `error` is SQLite's `SQLITE_BUSY` or `SQLITE_LOCKED` (with their extended codes).
fn is_busy(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| is_busy_code(&code)),
        _ => false,
    }
}

/// Whether `code` is one of SQLite's busy or locked result codes. SQLite's codes, extended
/// ones included, have at most four digits; a PostgreSQL SQLSTATE always has five characters,
/// and some are all digits (`22021`, an invalid encoding, is 5 in its low byte).
fn is_busy_code(code: &str) -> bool {
    code.len() < 5 && code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
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
        sqlx::Error::Database(db) => {
            is_busy(error)
                || db.code().is_some_and(|code| {
                    // PostgreSQL: connection exceptions, shutdown / starting up, too many
                    // connections, serialization failure and deadlock (retry later).
                    code.starts_with("08")
                        || code.starts_with("57P")
                        || code == "53300"
                        || code == "40001"
                        || code == "40P01"
                })
        }
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

#[cfg(test)]
mod tests {
    use super::is_busy_code;

    #[test]
    fn sqlite_busy_and_locked_codes_are_busy_and_postgresql_states_never_are() {
        // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE.
        for busy in ["5", "6", "517", "262"] {
            assert!(is_busy_code(busy), "{busy}");
        }
        // SQLITE_CONSTRAINT, SQLITE_IOERR_CORRUPTFS; PostgreSQL: invalid encoding, unique
        // violation, division by zero, deadlock.
        for other in ["19", "8458", "22021", "23505", "22012", "40P01"] {
            assert!(!is_busy_code(other), "{other}");
        }
    }
}
