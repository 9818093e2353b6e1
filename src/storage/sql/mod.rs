//! PostgreSQL and SQLite storages, on [sqlx](https://docs.rs/sqlx) (features `postgres` and
//! `sqlite`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! # #[cfg(feature = "postgres")] {
//! // With the `postgres` feature:
//! use std::sync::Arc;
//! use std::time::Duration;
//! use typed_sessions::storage::{PostgresStorage, spawn_sweeper};
//!
//! let postgres = Arc::new(PostgresStorage::connect("postgres://app@db.internal/app").await?);
//! let _sweeper = spawn_sweeper(&postgres, Duration::from_secs(300));
//! # }
//! # #[cfg(feature = "sqlite")] {
//! // With the `sqlite` feature:
//! use typed_sessions::storage::SqliteStorage;
//!
//! let sqlite = SqliteStorage::open("data/sessions.db").await?;
//! # }
//! # Ok(()) }
//! ```
//!
//! # The table
//!
//! Created on startup if missing, by default as `typed_sessions` ([`TableName`] picks another
//! name). One row per session; the principal index is two of its columns:
//!
//! ```sql
//! CREATE TABLE typed_sessions (
//!     id               TEXT PRIMARY KEY,  -- hex(SHA-256(session name, id)), never the id itself
//!     data             BYTEA NOT NULL,    -- the serialized session (SQLite: BLOB)
//!     created_at       BIGINT NOT NULL,   -- milliseconds since the Unix epoch
//!     expires_at       BIGINT NOT NULL,   -- milliseconds since the Unix epoch
//!     revision         BIGINT NOT NULL,   -- a random tag of the last write, for update_if
//!     last_seen        BIGINT NOT NULL,   -- milliseconds: last write of the session
//!     lifetime_ends_at BIGINT NOT NULL,   -- milliseconds: end of the absolute lifetime
//!     version          BIGINT,            -- the session type's version, if it declares one
//!     device           TEXT,              -- browser and OS family, if known
//!     address          TEXT,              -- the client's network, if turned on
//!     namespace        TEXT,              -- the session's name (NULL in rows of version 1)
//!     principal        TEXT               -- the user it belongs to, if any
//! );                                      -- SQLite: WITHOUT ROWID
//! CREATE INDEX typed_sessions_expires_at ON typed_sessions (expires_at);
//! CREATE INDEX typed_sessions_principal ON typed_sessions (namespace, principal)
//!     WHERE principal IS NOT NULL;
//! CREATE TABLE typed_sessions_schema (table_name TEXT PRIMARY KEY, version BIGINT NOT NULL);
//! ```
//!
//! # Versions and migration
//!
//! `typed_sessions_schema` records the layout version of each sessions table: `2` for the
//! table above. At startup the storage, in one write transaction serialized between instances
//! that start together (a PostgreSQL advisory lock; SQLite's write lock, waited for up to the
//! migration's time limit), creates a missing table, migrates a table of version 1, or
//! refuses a table of a newer version (written by a later release) or of another shape rather
//! than misread it. DDL is transactional in both databases: a migration that fails or is
//! interrupted leaves the version 1 table as it was.
//!
//! Version 1 (`id`, `data TEXT`, `created_at`, `expires_at`) becomes version 2 with every row
//! kept: the text data becomes its UTF-8 bytes, each row gets revision `0` (any value works:
//! revisions are compared per row, and every later write stores a random one), `last_seen`
//! its `created_at` and `lifetime_ends_at` its `expires_at` (as
//! [`Record::new`](crate::storage::Record::new) does: a session of the previous release is
//! not renewed past the expiry it had), and no namespace, principal or other metadata.
//! PostgreSQL adds the columns in place and converts `data` with `ALTER COLUMN ... TYPE BYTEA
//! USING convert_to(data, 'UTF8')`, which rewrites the table once under an exclusive lock;
//! SQLite, which cannot change a column's type, rebuilds the table (`CREATE`, `INSERT ...
//! SELECT`, `DROP`, `RENAME`; indexes, triggers or views of your own on it are not carried
//! over). The migration may take up to the storage's timeout or two minutes, whichever is
//! longer; for a very large table, run it once beforehand with a longer
//! [`timeout`](PostgresStorageBuilder::timeout).
//!
//! Stop the instances of the previous release before the first instance of this one starts:
//! once the table is migrated, their statements (text data, four columns) fail, and a
//! restarted one refuses the newer version.
//!
//! # Expiry
//!
//! Every query compares `expires_at` with the `now` it is given: an expired row is never
//! loaded, updated, moved or listed, whether or not it has been removed yet. Removing expired
//! rows is [`delete_expired`](crate::storage::SessionStorage::delete_expired) (in batches of
//! 1000, using the index), which [`spawn_sweeper`](crate::storage::spawn_sweeper) calls
//! periodically, as for every storage.
//!
//! # The principal index
//!
//! A session's principal and namespace are columns of its row, indexed together (rows without
//! a principal are not in the index). So the index is written by the very statement that
//! writes the record, in the same transaction, and an entry goes when its row is deleted,
//! expires (no query lists an expired row) or is swept: the index can never disagree with the
//! sessions, and nothing accumulates. [`update`](crate::storage::SessionStorage::update) and
//! [`update_if`](crate::storage::SessionStorage::update_if) leave both columns as they are; a
//! new principal comes with a new id ([`change_id`](crate::storage::SessionStorage::change_id)).
//! A [`SessionHandle`](crate::storage::SessionHandle) is the row's key, decoded, so
//! [`delete_of`](crate::storage::SessionStorage::delete_of) deletes by primary key and checks
//! the namespace and principal in the same `WHERE`.
//!
//! # Operations: what they do and what they cost
//!
//! | operation | SQL | round trips | atomic because |
//! |---|---|---|---|
//! | `load` | `SELECT ... WHERE id = $1 AND expires_at > $now` | 1, by primary key (PostgreSQL under load: shared, see below) | one statement |
//! | `create` | `INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE expires_at <= $now` | 1 | one statement: inserts, or replaces an expired row, or does nothing to a live one |
//! | `update` | `UPDATE ... WHERE id = $1 AND expires_at > $now` | 1 (PostgreSQL under load: shared, see below) | one statement |
//! | `update_if` | `UPDATE ... WHERE id = $1 AND expires_at > $now AND revision = $expected`; if it writes nothing, `SELECT revision ... WHERE id = $1 AND expires_at > $now` tells `Conflict` (a live row) from `Gone` | 1 when written, 2 otherwise | the compare is in the `UPDATE`'s `WHERE` (PostgreSQL re-checks it on the locked row); the second statement writes nothing, and its answer was true when it ran |
//! | `delete` | `DELETE ... WHERE id = $1` | 1 | one statement |
//! | `change_id` | in one transaction: delete the old row if live, then the `create` statement for the new id (with the new record's principal); roll back if either affects no row | 4 (`BEGIN`, `DELETE`, `INSERT`, `COMMIT`) | the transaction (PostgreSQL's row lock on the old row serializes racing moves and updates; SQLite's `BEGIN IMMEDIATE` takes the write lock up front) |
//! | `sessions_of` | `SELECT ... WHERE namespace = $1 AND principal = $2 AND expires_at > $now` | 1, on the principal index | one statement |
//! | `delete_of` | `DELETE ... WHERE id = $handle AND namespace = $1 AND principal = $2` | 1, by primary key | one statement |
//! | `delete_all_of` | `DELETE ... WHERE namespace = $1 AND principal = $2 AND id <> $except` | 1, on the principal index | one statement |
//! | `delete_expired` | `DELETE` of up to 1000 rows with `expires_at <= $now` | 1 per 1000 rows, on the expiry index | each batch |
//! | `stats` | `COUNT(*)` and the size | 2, reading every row | (a report) |
//!
//! # PostgreSQL under load: one statement for many requests
//!
//! `load` and `update`, the calls of every request that reads and changes a session, run at
//! most one statement of each kind at a time. A call that finds none of its kind in flight
//! yields once to the tasks that are ready (so that calls made at the same moment can join
//! it), then runs its statement. One that finds one in flight waits in a queue; when the
//! statement in flight ends, the first waiting call runs the whole queue (up to 64 calls) as
//! one statement over arrays, each call with its own key and time, and hands each the answer
//! its own statement would have given:
//!
//! ```sql
//! SELECT ..., v.i FROM unnest($keys, $nows) WITH ORDINALITY AS v(id, now, i)
//!     JOIN typed_sessions ON typed_sessions.id = v.id AND typed_sessions.expires_at > v.now;
//! UPDATE typed_sessions SET data = v.data, ... FROM unnest($keys, $data, ..., $nows)
//!     WITH ORDINALITY AS v(id, data, ..., now, i)
//!     WHERE typed_sessions.id = v.id AND typed_sessions.expires_at > v.now RETURNING v.i;
//! ```
//!
//! Under load a statement and its round trip serve tens of requests instead of one, which is
//! most of what a session costs on PostgreSQL (see `BENCHMARKS.md`); without load nothing
//! waits. Each update still writes only a live row, and one statement holds at most one
//! update per row (a second update of the same session waits for the next statement, so
//! updates of one session apply in turn, never one lost inside a statement). Calls are taken
//! into a statement only by a call that already holds a connection, right before it is sent;
//! a call whose request is cancelled while it waits leaves the queue and is never run later.
//! If the shared statement fails, every call it carried runs its own statement, within its
//! own time limit. If the call that sent it is cancelled meanwhile (its request went away),
//! the database may still apply the statement: the loads it carried run their own, and the
//! updates fail as `Unavailable` (whether they were applied is unknown), as a lone update
//! cut short does.
//!
//! # Outages and lost replies
//!
//! Each call, waiting for a pooled connection included, is bounded by the storage's timeout
//! (default 2 s): when the database is down, every call fails within it as
//! [`Unavailable`](crate::storage::StorageErrorKind::Unavailable) (the sessions layer
//! answers `503` and keeps the client's cookie). Connections are not tested before use (that
//! would cost a round trip per call); instead a call that fails on a connection the server
//! closed is sent again on another one, so after a restart the first request already works.
//! New connections are opened as needed; nothing needs a restart.
//!
//! PostgreSQL's session calls run on connections the storage keeps between calls, not on
//! sqlx's pool, which tests every connection given back to it with a round trip of its own
//! (twice the round trips of a one-statement call). A connection is kept only after a call
//! that completed; one whose call failed, timed out or was cancelled is closed, so no reply
//! of an unfinished call is ever read as another's. Kept connections that are 30 minutes old
//! or have been unused for 10 minutes (sqlx's defaults) are closed by the next call. SQLite keeps the pool: its test is
//! no network round trip.
//!
//! A connection can also break after the server executed a statement and before its reply
//! arrived, so a call sent again may find its own earlier effect. Each operation recognises
//! it: reads, `update` and the deletes are idempotent (a repeated delete may report that it
//! found nothing); a repeated `create` also replaces a live row that holds this very record
//! (the same revision) and reports `Inserted`, not a collision; a repeated `change_id` that
//! finds the old row gone and the new one holding this very record reports the move as done;
//! a repeated `update_if` also accepts its own revision in place of the expected one, and if
//! it finds a third revision (its write may have happened and been replaced since) it fails
//! as `Unavailable` rather than report a `Conflict` that would make the caller apply its
//! change twice. A lost reply therefore never turns a login into a logout or a new session
//! into an error.

#[cfg(feature = "postgres")]
mod batch;
mod call;
mod connections;
mod durability;
mod maintenance;
mod migrate;
#[cfg(feature = "postgres")]
mod postgres;
mod principals;
mod queries;
mod row;
mod schema;
#[cfg(feature = "sqlite")]
mod sqlite;
mod statements;
mod table;

pub use durability::Durability;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresStorage, PostgresStorageBuilder};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteStorage, SqliteStorageBuilder};
pub use table::{DEFAULT_TABLE, InvalidTableName, MAX_TABLE_LEN, TableName};
