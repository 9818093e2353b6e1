//! [`Durability`]: whether a session write waits for the disk.

/// Whether the SQL storages' session writes wait until they are on disk before they return.
///
/// | | PostgreSQL | SQLite (WAL mode) |
/// |---|---|---|
/// | [`Full`](Durability::Full) (default) | each commit waits for its WAL flush (`synchronous_commit` as the server has it, `on` by default) | `synchronous=FULL`: each commit is flushed to disk |
/// | [`Relaxed`](Durability::Relaxed) | `synchronous_commit=off` for the storage's own connections only | `synchronous=NORMAL`: the WAL is flushed at checkpoints |
///
/// **What relaxed durability can lose.** A crash of the database server (PostgreSQL) or of the
/// operating system or its power (SQLite; an application crash loses nothing) can lose the
/// session writes of its last moments: PostgreSQL's `wal_writer_delay` (200 ms by default, at
/// most three times that), SQLite's writes since the last checkpoint. What is lost is whole
/// writes, never part of one: the database comes back consistent, each record as it was at
/// some commit, with its principal index in step (one transaction). For sessions that means a
/// login, a logout or a cart change of the last moments before the crash may be undone: a
/// user may find themselves logged out, or, rarer, a logout undone. Redis with its default
/// persistence has the same exposure, larger (`appendfsync everysec`, or only periodic
/// snapshots). Nothing else changes: every other guarantee of the storage holds.
///
/// Choose [`Relaxed`](Durability::Relaxed) when a lost last second of session changes after a
/// database crash is acceptable, which for sessions it usually is: without it, every session
/// write of PostgreSQL waits for a disk flush, and that flush dominates the cost of a request
/// (see `BENCHMARKS.md`).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// # #[cfg(feature = "postgres")] {
/// use typed_sessions::storage::PostgresStorage;
/// use typed_sessions::storage::sql::Durability;
///
/// let storage = PostgresStorage::builder()
///     .durability(Durability::Relaxed)
///     .connect("postgres://app@db.internal/app")
///     .await?;
/// # }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every session write is on disk when it returns.
    #[default]
    Full,
    /// Session writes return before they are on disk; a database or system crash can lose
    /// those of its last moments (never part of one).
    Relaxed,
}
