//! PostgreSQL and SQLite storages, on [sqlx](https://docs.rs/sqlx) (features `postgres` and
//! `sqlite`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use typed_sessions::storage::{PostgresStorage, SqliteStorage};
//!
//! # #[cfg(feature = "postgres")] {
//! let postgres = PostgresStorage::connect("postgres://app@db.internal/app").await?;
//! let _sweeper = postgres.spawn_expiry_task(Duration::from_secs(300));
//! # }
//! # #[cfg(feature = "sqlite")] {
//! let sqlite = SqliteStorage::open("data/sessions.db").await?;
//! # }
//! # Ok(()) }
//! ```
//!
//! # The table
//!
//! Created on startup if missing (`CREATE TABLE IF NOT EXISTS`), by default as
//! `typed_sessions` ([`TableName`] picks another name):
//!
//! ```sql
//! CREATE TABLE typed_sessions (
//!     id         TEXT PRIMARY KEY,  -- hex(SHA-256(session id)), never the id itself
//!     data       TEXT NOT NULL,     -- the serialized session
//!     created_at BIGINT NOT NULL,   -- milliseconds since the Unix epoch
//!     expires_at BIGINT NOT NULL    -- milliseconds since the Unix epoch
//! );                                -- SQLite: WITHOUT ROWID
//! CREATE INDEX typed_sessions_expires_at ON typed_sessions (expires_at);
//! CREATE TABLE typed_sessions_schema (table_name TEXT PRIMARY KEY, version BIGINT NOT NULL);
//! ```
//!
//! `typed_sessions_schema` records the layout version of each sessions table (now `1`), so a
//! later release can migrate it; a table marked with a newer version than this release knows
//! is refused rather than misread. Migration runs in one transaction, serialized between
//! application instances that start together (a PostgreSQL advisory lock; SQLite's write
//! lock). An existing table with the chosen name but other columns is refused too.
//!
//! # Expiry
//!
//! Every query compares `expires_at` with the `now` it is given: an expired row is never
//! loaded, updated or moved, whether or not it has been removed yet. Removing expired rows is
//! [`delete_expired`](crate::storage::SessionStorage::delete_expired) (in batches of 1000,
//! using the index), which [`PostgresStorage::spawn_expiry_task`] and
//! [`SqliteStorage::spawn_expiry_task`] call periodically.
//!
//! # Atomicity
//!
//! | operation | SQL | atomic because |
//! |---|---|---|
//! | `load` | `SELECT ... WHERE id = $1 AND expires_at > $now` | one statement |
//! | `create` | `INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE expires_at <= $now` | one statement: inserts, or replaces an expired row, or does nothing to a live one |
//! | `update` | `UPDATE ... WHERE id = $1 AND expires_at > $now` | one statement |
//! | `delete` | `DELETE ... WHERE id = $1` | one statement |
//! | `change_id` | in one transaction: delete the old row if live, then the `create` statement for the new id; roll back if either affects no row | the transaction (PostgreSQL's row lock on the old row serializes racing moves and updates; SQLite's `BEGIN IMMEDIATE` takes the write lock up front) |
//!
//! # Outages
//!
//! Each call, waiting for a pooled connection included, is bounded by the storage's timeout
//! (default 2 s): when the database is down, every call fails within it as
//! [`Unavailable`](crate::storage::StorageErrorKind::Unavailable) (the sessions layer
//! answers `503` and keeps the client's cookie). Connections are not tested before use (that
//! would cost a round trip per call); instead a call that fails on a connection the server
//! closed is sent again on another one, so after a restart the first request already works.
//! The pool opens new connections as needed; nothing needs a restart.

mod call;
mod expiry;
#[cfg(feature = "postgres")]
mod postgres;
mod queries;
#[cfg(feature = "sqlite")]
mod sqlite;
mod statements;
mod table;

pub use expiry::ExpiryTask;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresStorage, PostgresStorageBuilder};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteStorage, SqliteStorageBuilder};
pub use table::{DEFAULT_TABLE, InvalidTableName, MAX_TABLE_LEN, TableName};

/// The time limit of one storage call unless a builder sets another.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
