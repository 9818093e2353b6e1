//! Where a SQL storage's session calls get their connection: [`Connections`].
//!
//! sqlx's pool tests every connection that goes back to it with a round trip to the server (a
//! `Sync` and its `ReadyForQuery` for PostgreSQL), so a call that takes a pooled connection
//! costs the server two round trips where its statement needs one. For PostgreSQL, whose
//! session calls are one statement each, that doubles the database's work per request. The
//! PostgreSQL storage therefore keeps connections of its own ([`Connections::Kept`]): a call
//! takes one, and gives it back only if the call completed (every reply read, any transaction
//! committed or rolled back), so the connection is known to be ready and needs no test. A call
//! that failed, timed out or was cancelled drops its connection instead, which closes it.
//!
//! SQLite keeps the pool ([`Connections::Pool`]): its test costs no network round trip, and
//! an in-memory database lives only as long as the pool's one connection.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{ConnectOptions, Connection, Database, Pool};
use tokio::sync::{Semaphore, SemaphorePermit};

/// How long a kept connection is used before it is closed and replaced (sqlx's default
/// `max_lifetime`).
const MAX_AGE: Duration = Duration::from_secs(30 * 60);
/// How long a kept connection may sit unused and still be used (sqlx's default
/// `idle_timeout`); an older one is closed when it is next found.
const MAX_IDLE: Duration = Duration::from_secs(10 * 60);

/// The connections a SQL storage runs its session calls on.
pub(crate) enum Connections<DB: Database> {
    /// A connection of the pool per call.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Pool(Pool<DB>),
    /// Connections of the storage's own, at most `max` of them.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Kept(Kept<DB>),
}

/// Connections opened with `options` and kept between calls: ready ones, most recently used
/// last, and one permit per connection that may be open.
pub(crate) struct Kept<DB: Database> {
    options: <DB::Connection as Connection>::Options,
    ready: Mutex<Vec<Ready<DB>>>,
    permits: Semaphore,
}

/// A kept connection between two calls. Boxed, as in a lease: a connection is large (its
/// buffers and statement cache), and a lease is held across the awaits of every call, so
/// inline it would make each call's future that much larger and costlier to move.
struct Ready<DB: Database> {
    connection: Box<DB::Connection>,
    opened: Instant,
    used: Instant,
}

/// One call's connection. [`done`](Lease::done) gives a completed call's connection back;
/// dropped otherwise, the lease closes a kept connection, or returns a pooled one to the pool
/// (which tests it).
pub(crate) enum Lease<'a, DB: Database> {
    Pool(PoolConnection<DB>),
    Kept {
        connection: Option<(Box<DB::Connection>, Instant)>,
        home: &'a Kept<DB>,
        _permit: SemaphorePermit<'a>,
    },
}

impl<DB: Database> Connections<DB> {
    /// Connections kept by the storage: at most `max`, opened with `options` when needed.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn kept(options: <DB::Connection as Connection>::Options, max: u32) -> Self {
        Connections::Kept(Kept {
            options,
            ready: Mutex::new(Vec::new()),
            permits: Semaphore::new(
                usize::try_from(max.max(1))
                    .unwrap_or(1)
                    .min(Semaphore::MAX_PERMITS),
            ),
        })
    }

    /// A connection for one call: a ready one if there is one, else a new one (waiting for a
    /// permit while `max` are in use). Not bounded in time: callers run it within their
    /// call's deadline.
    pub(crate) async fn lease(&self) -> Result<Lease<'_, DB>, sqlx::Error> {
        match self {
            // Boxed, as opening a connection is below: inline, the pool's large future would
            // make every call's future as large, whichever variant it takes.
            Connections::Pool(pool) => Ok(Lease::Pool(Box::pin(pool.acquire()).await?)),
            Connections::Kept(kept) => {
                let permit = kept
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| sqlx::Error::PoolClosed)?;
                let now = Instant::now();
                let connection = match kept.take_ready(now) {
                    Some(ready) => (ready.connection, ready.opened),
                    // Boxed: opening a connection is rare, and its future is large; inline,
                    // it would make every call's future as large, and costly to move.
                    None => (Box::new(Box::pin(kept.options.connect()).await?), now),
                };
                Ok(Lease::Kept {
                    connection: Some(connection),
                    home: kept,
                    _permit: permit,
                })
            }
        }
    }
}

impl<DB: Database> Kept<DB> {
    /// The most recently used ready connection; every ready one that is too old or has been
    /// idle too long is closed (dropped) first.
    fn take_ready(&self, now: Instant) -> Option<Ready<DB>> {
        let mut ready = self.ready.lock().unwrap_or_else(PoisonError::into_inner);
        // Every stale one goes, not only those on top: under light load the bottom of the
        // stack is never reached.
        ready.retain(|found| {
            now.saturating_duration_since(found.opened) < MAX_AGE
                && now.saturating_duration_since(found.used) < MAX_IDLE
        });
        ready.pop()
    }

    fn give_back(&self, connection: Box<DB::Connection>, opened: Instant) {
        let used = Instant::now();
        self.ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Ready {
                connection,
                opened,
                used,
            });
    }
}

impl<DB: Database> Lease<'_, DB> {
    /// The connection for the call's statements.
    pub(crate) fn connection(&mut self) -> Result<&mut DB::Connection, sqlx::Error> {
        match self {
            Lease::Pool(pooled) => Ok(&mut **pooled),
            Lease::Kept { connection, .. } => connection
                .as_mut()
                .map(|(connection, _)| &mut **connection)
                .ok_or(sqlx::Error::PoolClosed),
        }
    }

    /// Ends a call that completed: its connection is ready for the next one.
    pub(crate) fn done(mut self) {
        if let Lease::Kept {
            connection, home, ..
        } = &mut self
            && let Some((connection, opened)) = connection.take()
        {
            home.give_back(connection, opened);
        }
    }
}
