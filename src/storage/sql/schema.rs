//! The layout of the sessions table, its version, and the migration from older layouts.
//!
//! `typed_sessions_schema` records the layout version of each sessions table. On startup the
//! storage, in one write transaction (PostgreSQL: serialized with an advisory lock; SQLite:
//! `BEGIN IMMEDIATE` takes the write lock), creates a missing table at the current version,
//! migrates an older one step by step, or refuses one of a newer version. Every step is
//! transactional DDL, so a migration that fails or is interrupted leaves the old table as it
//! was, and an instance that waited for another's migration finds the table current.

use std::sync::Arc;

use super::statements::Dialect;
use super::table::TableName;

/// The schema version this library writes and reads. A table registered with a higher
/// version was migrated by a newer release and is refused.
pub(crate) const SCHEMA_VERSION: i64 = 2;

/// Where each table's schema version is recorded.
pub(crate) const SCHEMA_TABLE: &str = "typed_sessions_schema";

/// Taken by every PostgreSQL migration transaction, so concurrent startups migrate one at a
/// time.
const ADVISORY_LOCK: &str = "SELECT pg_advisory_xact_lock(7305823461726373459)";

/// The statements that create, check and migrate the table.
#[derive(Debug)]
pub(crate) struct Migration {
    /// Serializes migrations (PostgreSQL; SQLite's `BEGIN IMMEDIATE` already does).
    pub(crate) lock: Option<&'static str>,
    pub(crate) schema_table: Arc<str>,
    /// `$1` table name → `version`.
    pub(crate) version: Arc<str>,
    pub(crate) create_table: Arc<str>,
    /// The indexes of the current layout (`IF NOT EXISTS`).
    pub(crate) create_indexes: [Arc<str>; 2],
    /// Fails unless the table has the current layout's columns.
    pub(crate) probe: Arc<str>,
    /// `$1` table name, `$2` version.
    pub(crate) register: Arc<str>,
    /// `$1` table name, `$2` version.
    pub(crate) set_version: Arc<str>,
    /// From version 1 to 2, in order (followed by `create_indexes`).
    pub(crate) from_v1: Vec<Arc<str>>,
}

/// The columns of version 2, after `id TEXT PRIMARY KEY`, with `{binary}` for the database's
/// byte string type.
fn v2_columns(binary: &str) -> String {
    format!(
        "data {binary} NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, \
         revision BIGINT NOT NULL, last_seen BIGINT NOT NULL, lifetime_ends_at BIGINT NOT NULL, \
         version BIGINT, device TEXT, address TEXT, namespace TEXT, principal TEXT"
    )
}

impl Migration {
    pub(crate) fn new(dialect: Dialect, table: &TableName) -> Migration {
        let t = table.as_str();
        let s = |text: String| -> Arc<str> { text.into() };
        let (binary, options) = match dialect {
            Dialect::Postgres => ("BYTEA", ""),
            // The key is the primary key; no separate rowid b-tree is needed.
            Dialect::Sqlite => ("BLOB", " WITHOUT ROWID"),
        };
        let columns = v2_columns(binary);
        let from_v1 = match dialect {
            // Columns are added in place (no rewrite: constant or no defaults), then one
            // rewrite converts the text data to bytes and fills the times from the v1 row.
            Dialect::Postgres => vec![
                format!(
                    r#"ALTER TABLE "{t}" ADD COLUMN revision BIGINT NOT NULL DEFAULT 0, ADD COLUMN last_seen BIGINT, ADD COLUMN lifetime_ends_at BIGINT, ADD COLUMN version BIGINT, ADD COLUMN device TEXT, ADD COLUMN address TEXT, ADD COLUMN namespace TEXT, ADD COLUMN principal TEXT"#
                ),
                format!(
                    r#"ALTER TABLE "{t}" ALTER COLUMN data TYPE BYTEA USING convert_to(data, 'UTF8'), ALTER COLUMN last_seen TYPE BIGINT USING created_at, ALTER COLUMN last_seen SET NOT NULL, ALTER COLUMN lifetime_ends_at TYPE BIGINT USING expires_at, ALTER COLUMN lifetime_ends_at SET NOT NULL, ALTER COLUMN revision DROP DEFAULT"#
                ),
            ],
            // SQLite cannot change a column's type: the table is rebuilt (its documented
            // procedure), which also drops the old index.
            Dialect::Sqlite => vec![
                format!(r#"CREATE TABLE "{t}__v2" (id TEXT PRIMARY KEY, {columns}){options}"#),
                format!(
                    r#"INSERT INTO "{t}__v2" (id, data, created_at, expires_at, revision, last_seen, lifetime_ends_at) SELECT id, CAST(data AS BLOB), created_at, expires_at, 0, created_at, expires_at FROM "{t}""#
                ),
                format!(r#"DROP TABLE "{t}""#),
                format!(r#"ALTER TABLE "{t}__v2" RENAME TO "{t}""#),
            ],
        };
        Migration {
            lock: match dialect {
                Dialect::Postgres => Some(ADVISORY_LOCK),
                Dialect::Sqlite => None,
            },
            schema_table: s(format!(
                "CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (table_name TEXT PRIMARY KEY, version BIGINT NOT NULL)"
            )),
            version: s(format!(
                "SELECT version FROM {SCHEMA_TABLE} WHERE table_name = $1"
            )),
            create_table: s(format!(
                r#"CREATE TABLE IF NOT EXISTS "{t}" (id TEXT PRIMARY KEY, {columns}){options}"#
            )),
            create_indexes: [
                s(format!(
                    r#"CREATE INDEX IF NOT EXISTS "{t}_expires_at" ON "{t}" (expires_at)"#
                )),
                // The principal index: only rows with a principal are in it.
                s(format!(
                    r#"CREATE INDEX IF NOT EXISTS "{t}_principal" ON "{t}" (namespace, principal) WHERE principal IS NOT NULL"#
                )),
            ],
            probe: s(format!(
                r#"SELECT id, {}, namespace, principal FROM "{t}" WHERE 1 = 0"#,
                super::row::RECORD_COLUMNS.join(", ")
            )),
            register: s(format!(
                "INSERT INTO {SCHEMA_TABLE} (table_name, version) VALUES ($1, $2)"
            )),
            set_version: s(format!(
                "UPDATE {SCHEMA_TABLE} SET version = $2 WHERE table_name = $1"
            )),
            from_v1: from_v1.into_iter().map(s).collect(),
        }
    }
}
