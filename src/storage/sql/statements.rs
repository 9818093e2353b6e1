//! The SQL of the sessions table, written once for PostgreSQL and SQLite.
//!
//! Both databases accept the same text for every statement here: `$n` parameters (SQLite
//! reads `$1` as its `?1`), `INSERT ... ON CONFLICT ... DO UPDATE ... WHERE` (SQLite 3.24+),
//! double-quoted identifiers, and `BIGINT`/`TEXT` columns. The only differences are the
//! statement that opens a write transaction and a table option; see [`Dialect`].

use std::sync::Arc;

use super::table::TableName;

/// The schema version this library writes and reads. A table registered with a higher
/// version was migrated by a newer release and is refused.
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// Where each table's schema version is recorded.
pub(crate) const SCHEMA_TABLE: &str = "typed_sessions_schema";

/// What differs between the databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres,
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Sqlite,
}

impl Dialect {
    /// Opens a transaction that will write. SQLite takes the write lock at once, so two
    /// transactions never deadlock upgrading from read to write.
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            Dialect::Postgres => "BEGIN",
            Dialect::Sqlite => "BEGIN IMMEDIATE",
        }
    }

    /// Serializes concurrent migrations (several application instances starting at once).
    /// SQLite's `BEGIN IMMEDIATE` already does.
    fn migration_lock(self) -> Option<&'static str> {
        match self {
            Dialect::Postgres => Some("SELECT pg_advisory_xact_lock(7305823461726373459)"),
            Dialect::Sqlite => None,
        }
    }

    /// What [`Statements::size`] measures, for [`StorageStats`](crate::storage::StorageStats).
    pub(crate) fn size_measure(self) -> &'static str {
        match self {
            Dialect::Postgres => "table and indexes (pg_total_relation_size)",
            Dialect::Sqlite => "database file (page_count * page_size)",
        }
    }

    fn table_options(self) -> &'static str {
        match self {
            Dialect::Postgres => "",
            // The key is the primary key; no separate rowid b-tree is needed.
            Dialect::Sqlite => " WITHOUT ROWID",
        }
    }
}

/// Every statement, built once from the validated table name.
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) dialect: Dialect,
    /// `$1` key, `$2` now → `data, created_at, expires_at`.
    pub(crate) load: Arc<str>,
    /// `$1` key, `$2` data, `$3` created, `$4` expires, `$5` now. Inserts, or replaces a row
    /// that has expired at `now`; affects 0 rows if a live row holds the key.
    pub(crate) create: Arc<str>,
    /// `$1` key, `$2` data, `$3` created, `$4` expires, `$5` now. Affects a live row only.
    pub(crate) update: Arc<str>,
    /// `$1` key.
    pub(crate) delete: Arc<str>,
    /// `$1` key, `$2` now. Deletes the row only if it is live.
    pub(crate) take_live: Arc<str>,
    /// `$1` now, `$2` batch size. Deletes up to a batch of expired rows.
    pub(crate) delete_expired: Arc<str>,
    /// `$1` now → `total, expired` (both `BIGINT`).
    pub(crate) count: Arc<str>,
    /// → the size in bytes (`BIGINT`); see [`Dialect::size_measure`].
    pub(crate) size: Arc<str>,
    /// Migration, in order (see [`Migration`]).
    pub(crate) migration: Migration,
}

/// The statements that create or check the table.
#[derive(Debug)]
pub(crate) struct Migration {
    pub(crate) lock: Option<&'static str>,
    pub(crate) schema_table: Arc<str>,
    /// `$1` table name → `version`.
    pub(crate) version: Arc<str>,
    pub(crate) create_table: Arc<str>,
    pub(crate) create_index: Arc<str>,
    /// Fails unless the table has the expected columns.
    pub(crate) probe: Arc<str>,
    /// `$1` table name, `$2` version.
    pub(crate) register: Arc<str>,
}

impl Statements {
    pub(crate) fn new(dialect: Dialect, table: &TableName) -> Statements {
        let t = table.as_str();
        let s = |text: String| -> Arc<str> { text.into() };
        Statements {
            dialect,
            load: s(format!(
                r#"SELECT data, created_at, expires_at FROM "{t}" WHERE id = $1 AND expires_at > $2"#
            )),
            create: s(format!(
                r#"INSERT INTO "{t}" (id, data, created_at, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET data = excluded.data, created_at = excluded.created_at, expires_at = excluded.expires_at WHERE "{t}".expires_at <= $5"#
            )),
            update: s(format!(
                r#"UPDATE "{t}" SET data = $2, created_at = $3, expires_at = $4 WHERE id = $1 AND expires_at > $5"#
            )),
            delete: s(format!(r#"DELETE FROM "{t}" WHERE id = $1"#)),
            take_live: s(format!(
                r#"DELETE FROM "{t}" WHERE id = $1 AND expires_at > $2"#
            )),
            // The outer condition is checked again on each row, so a row renewed after the
            // inner select ran is kept.
            delete_expired: s(format!(
                r#"DELETE FROM "{t}" WHERE id IN (SELECT id FROM "{t}" WHERE expires_at <= $1 LIMIT $2) AND expires_at <= $1"#
            )),
            count: s(format!(
                r#"SELECT COUNT(*), COALESCE(SUM(CASE WHEN expires_at <= $1 THEN 1 ELSE 0 END), 0) FROM "{t}""#
            )),
            size: s(match dialect {
                // The name is validated lowercase, so the unquoted name resolves like the
                // quoted one (through the connection's search_path).
                Dialect::Postgres => format!("SELECT pg_total_relation_size(to_regclass('{t}'))"),
                Dialect::Sqlite => {
                    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
                        .to_owned()
                }
            }),
            migration: Migration {
                lock: dialect.migration_lock(),
                schema_table: s(format!(
                    "CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (table_name TEXT PRIMARY KEY, version BIGINT NOT NULL)"
                )),
                version: s(format!(
                    "SELECT version FROM {SCHEMA_TABLE} WHERE table_name = $1"
                )),
                create_table: s(format!(
                    r#"CREATE TABLE IF NOT EXISTS "{t}" (id TEXT PRIMARY KEY, data TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL){}"#,
                    dialect.table_options()
                )),
                create_index: s(format!(
                    r#"CREATE INDEX IF NOT EXISTS "{t}_expires_at" ON "{t}" (expires_at)"#
                )),
                probe: s(format!(
                    r#"SELECT id, data, created_at, expires_at FROM "{t}" WHERE 1 = 0"#
                )),
                register: s(format!(
                    "INSERT INTO {SCHEMA_TABLE} (table_name, version) VALUES ($1, $2)"
                )),
            },
        }
    }
}
