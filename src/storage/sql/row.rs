//! A [`Record`] as a row: the values a write binds, and the record a read decodes.

use std::sync::Arc;
use std::time::SystemTime;

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::storage::millis::{from_millis_i64, to_millis_i64};
use crate::storage::{Metadata, Record, Revision, SessionHandle};

/// The record columns, in the order writes bind them (`$2` to `$10`; `$1` is the key) and
/// reads select them (followed by `principal`).
pub(crate) const RECORD_COLUMNS: [&str; 9] = [
    "data",
    "created_at",
    "expires_at",
    "revision",
    "last_seen",
    "lifetime_ends_at",
    "version",
    "device",
    "address",
];

/// What a write stores of a record, converted to SQL values once. The principal and the
/// namespace are bound separately: only `create` and `change_id` write them.
#[derive(Debug)]
pub(crate) struct Written<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) revision: i64,
    pub(crate) last_seen: i64,
    pub(crate) lifetime_ends_at: i64,
    pub(crate) version: Option<i64>,
    pub(crate) device: Option<&'a str>,
    pub(crate) address: Option<&'a str>,
    pub(crate) principal: Option<&'a str>,
}

impl<'a> Written<'a> {
    pub(crate) fn of(record: &'a Record) -> Written<'a> {
        let meta = &record.meta;
        Written {
            data: &record.data,
            created_at: to_millis_i64(record.created_at),
            expires_at: to_millis_i64(record.expires_at),
            revision: revision_value(record.revision),
            last_seen: to_millis_i64(meta.last_seen),
            lifetime_ends_at: to_millis_i64(meta.lifetime_ends_at),
            version: meta.version.map(i64::from),
            device: meta.device.as_deref(),
            address: meta.address.as_deref(),
            principal: meta.principal.as_deref(),
        }
    }
}

/// A revision as the `BIGINT` it is stored as (the same 64 bits, read as signed).
pub(crate) fn revision_value(revision: Revision) -> i64 {
    revision.as_u64().cast_signed()
}

/// `now` as the milliseconds the `expires_at` comparisons take.
pub(crate) fn now_value(now: SystemTime) -> i64 {
    to_millis_i64(now)
}

/// Binds a [`Written`] to a query as `$2` to `$10`, in the order of [`RECORD_COLUMNS`].
macro_rules! bind_record {
    ($query:expr, $w:expr) => {
        $query
            .bind($w.data)
            .bind($w.created_at)
            .bind($w.expires_at)
            .bind($w.revision)
            .bind($w.last_seen)
            .bind($w.lifetime_ends_at)
            .bind($w.version)
            .bind($w.device)
            .bind($w.address)
    };
}
pub(crate) use bind_record;

/// A row that holds the [`RECORD_COLUMNS`] and `principal` from column `first` on, and the
/// record in it:
/// `Ok(None)` if the values are not a record this library wrote (a type version out of
/// range), an error if the columns have other types.
pub(crate) fn decode<R>(row: &R, first: usize) -> Result<Option<Record>, sqlx::Error>
where
    R: Row,
    usize: ColumnIndex<R>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let time = |n: usize| row.try_get::<i64, _>(first + n).map(from_millis_i64);
    let version = match row.try_get::<Option<i64>, _>(first + 6)? {
        None => None,
        Some(stored) => match u32::try_from(stored) {
            Ok(version) => Some(version),
            Err(_) => return Ok(None),
        },
    };
    let mut meta = Metadata::new(time(4)?, time(5)?);
    meta.version = version;
    let text = |at: usize| -> Result<Option<Arc<str>>, sqlx::Error> {
        Ok(row.try_get::<Option<String>, _>(first + at)?.map(Arc::from))
    };
    meta.device = text(7)?;
    meta.address = text(8)?;
    meta.principal = text(9)?;
    Ok(Some(Record {
        data: row.try_get(first)?,
        created_at: time(1)?,
        expires_at: time(2)?,
        revision: Revision::from_u64(row.try_get::<i64, _>(first + 3)?.cast_unsigned()),
        meta,
    }))
}

/// The handle of a row filed under `key` (64 hex characters), or `None` for a key this
/// library did not write.
pub(crate) fn handle(key: &str) -> Option<SessionHandle> {
    let mut digest = [0u8; 32];
    hex::decode_to_slice(key, &mut digest).ok()?;
    Some(SessionHandle::from_digest(digest))
}

/// The error for a row whose columns do not have the expected types.
pub(crate) fn unexpected_columns(what: &str, error: sqlx::Error) -> crate::storage::StorageError {
    crate::storage::StorageError::backend(format!(
        "SQL session storage {what}: the row does not have the expected columns"
    ))
    .with_source(error)
}
