//! The name of the sessions table, checked before it is ever put into SQL.

use std::fmt;

/// The table name used unless a builder sets another.
pub const DEFAULT_TABLE: &str = "typed_sessions";

/// The longest table name accepted, leaving room for the index name (`<table>_expires_at`)
/// within PostgreSQL's 63-byte identifier limit.
pub const MAX_TABLE_LEN: usize = 48;

/// A validated name for the sessions table: 1 to 48 characters from `[a-z0-9_]`, starting
/// with a letter or `_`.
///
/// SQL statements cannot take a table name as a bind parameter, so the name is written into
/// the SQL text (double-quoted); this type is what makes that safe. Lowercase only, so the
/// quoted name means the same table as the unquoted one in PostgreSQL. To put the table in
/// another PostgreSQL schema, set the connection's `search_path` (for example
/// `?options=-c%20search_path%3Dsessions` in the URL).
///
/// ```
/// # #[cfg(any(feature = "postgres", feature = "sqlite"))] {
/// use typed_sessions::storage::sql::TableName;
/// assert!(TableName::new("shop_sessions").is_ok());
/// assert!(TableName::new("sessions; DROP TABLE users").is_err());
/// assert!(TableName::new("Sessions").is_err());
/// assert!(TableName::new("").is_err());
/// # }
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TableName(Box<str>);

/// A table name that [`TableName::new`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid session table name {0:?}: use 1 to {MAX_TABLE_LEN} characters from [a-z0-9_], starting with a letter or `_`"
)]
pub struct InvalidTableName(pub String);

impl TableName {
    /// Checks `name`.
    pub fn new(name: &str) -> Result<TableName, InvalidTableName> {
        let mut bytes = name.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
        let rest_ok = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if first_ok && rest_ok && name.len() <= MAX_TABLE_LEN {
            Ok(TableName(name.into()))
        } else {
            Err(InvalidTableName(name.chars().take(80).collect()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TableName {
    fn default() -> Self {
        TableName(DEFAULT_TABLE.into())
    }
}

impl fmt::Debug for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_lowercase_identifiers() {
        for good in [
            "s",
            "_s",
            "typed_sessions",
            "s2",
            &"a".repeat(MAX_TABLE_LEN),
        ] {
            assert!(TableName::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "2s",
            "S",
            "a-b",
            "a b",
            "a\"b",
            "a;b",
            "schema.table",
            "ünï",
            "a\0",
            &"a".repeat(MAX_TABLE_LEN + 1),
        ] {
            assert!(TableName::new(bad).is_err(), "{bad:?}");
        }
    }
}
