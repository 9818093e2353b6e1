//! The SQL of the sessions table, written once for PostgreSQL and SQLite.
//!
//! Both databases accept the same text for every statement here: `$n` parameters (SQLite
//! reads `$1` as its `?1`), `INSERT ... ON CONFLICT ... DO UPDATE ... WHERE` (SQLite 3.24+),
//! double-quoted identifiers, and `BIGINT`/`TEXT` columns. What differs (the binary column
//! type, the statement that opens a write transaction, a table option, the migration) is in
//! [`Dialect`] and [`schema`](super::schema).

use std::sync::Arc;

use super::row::RECORD_COLUMNS;
use super::schema::Migration;
use super::table::TableName;

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

    /// What [`Statements::size`] measures, for [`StorageStats`](crate::storage::StorageStats).
    pub(crate) fn size_measure(self) -> &'static str {
        match self {
            Dialect::Postgres => "table and indexes (pg_total_relation_size)",
            Dialect::Sqlite => "database file (page_count * page_size)",
        }
    }
}

/// Every statement, built once from the validated table name. `$1` is always the row key
/// (except where noted); a record is bound as `$2` to `$10` (see
/// [`bind_record`](super::row::bind_record)).
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) dialect: Dialect,
    /// `$1` key, `$2` now → the record columns and `principal`.
    pub(crate) load: Arc<str>,
    /// `$1` key, `$2`–`$10` record, `$11` now, `$12` namespace, `$13` principal, `$14` the
    /// record's own revision on a repeated attempt (`NULL` on the first). Inserts, or
    /// replaces a row that has expired at `now` or that holds this very record (the first
    /// attempt's effect); affects 0 rows if a live row of another write holds the key.
    pub(crate) create: Arc<str>,
    /// `$1` key, `$2`–`$10` record, `$11` now. Affects a live row only; leaves its namespace
    /// and principal as they are.
    pub(crate) update: Arc<str>,
    /// As `update`, `$12` the expected revision, `$13` another accepted one (the expected
    /// again on a first attempt; the new record's own revision on a repeated one).
    pub(crate) update_if: Arc<str>,
    /// `$1` key, `$2` now → `revision` of the live row.
    pub(crate) live_revision: Arc<str>,
    /// `$1` key.
    pub(crate) delete: Arc<str>,
    /// `$1` key, `$2` now. Deletes the row only if it is live.
    pub(crate) take_live: Arc<str>,
    /// `$1` namespace, `$2` principal, `$3` now → `id`, the record columns and `principal`
    /// of the principal's live rows.
    pub(crate) sessions_of: Arc<str>,
    /// `$1` key (the handle), `$2` namespace, `$3` principal.
    pub(crate) delete_of: Arc<str>,
    /// `$1` namespace, `$2` principal, `$3` the key to keep or `NULL`.
    pub(crate) delete_all_of: Arc<str>,
    /// `$1` now, `$2` batch size. Deletes up to a batch of expired rows.
    pub(crate) delete_expired: Arc<str>,
    /// `$1` now → `total, expired` (both `BIGINT`).
    pub(crate) count: Arc<str>,
    /// → the size in bytes (`BIGINT`); see [`Dialect::size_measure`].
    pub(crate) size: Arc<str>,
    /// The statements that create, check and migrate the table.
    pub(crate) migration: Migration,
}

impl Statements {
    pub(crate) fn new(dialect: Dialect, table: &TableName) -> Statements {
        let t = table.as_str();
        let s = |text: String| -> Arc<str> { text.into() };
        let columns = RECORD_COLUMNS.join(", ");
        let placeholders = (2..2 + RECORD_COLUMNS.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let set_bound = RECORD_COLUMNS
            .iter()
            .zip(2..)
            .map(|(column, n)| format!("{column} = ${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let set_excluded = RECORD_COLUMNS
            .iter()
            .chain(&["namespace", "principal"])
            .map(|column| format!("{column} = excluded.{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        let update = format!(r#"UPDATE "{t}" SET {set_bound} WHERE id = $1 AND expires_at > $11"#);
        Statements {
            dialect,
            load: s(format!(
                r#"SELECT {columns}, principal FROM "{t}" WHERE id = $1 AND expires_at > $2"#
            )),
            create: s(format!(
                r#"INSERT INTO "{t}" (id, {columns}, namespace, principal) VALUES ($1, {placeholders}, $12, $13) ON CONFLICT (id) DO UPDATE SET {set_excluded} WHERE "{t}".expires_at <= $11 OR "{t}".revision = $14"#
            )),
            update_if: s(format!("{update} AND (revision = $12 OR revision = $13)")),
            update: s(update),
            live_revision: s(format!(
                r#"SELECT revision FROM "{t}" WHERE id = $1 AND expires_at > $2"#
            )),
            delete: s(format!(r#"DELETE FROM "{t}" WHERE id = $1"#)),
            take_live: s(format!(
                r#"DELETE FROM "{t}" WHERE id = $1 AND expires_at > $2"#
            )),
            sessions_of: s(format!(
                r#"SELECT id, {columns}, principal FROM "{t}" WHERE namespace = $1 AND principal = $2 AND expires_at > $3"#
            )),
            delete_of: s(format!(
                r#"DELETE FROM "{t}" WHERE id = $1 AND namespace = $2 AND principal = $3"#
            )),
            delete_all_of: s(format!(
                r#"DELETE FROM "{t}" WHERE namespace = $1 AND principal = $2 AND ($3 IS NULL OR id <> $3)"#
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
            migration: Migration::new(dialect, table),
        }
    }
}
