//! Creating, checking and migrating the sessions table when a storage opens (see
//! [`schema`](super::schema) for the statements).

use std::time::Duration;

/// The least time the migration may take, waiting for another instance's migration included
/// (a storage's own timeout applies if it is longer): converting a large version 1 table
/// rewrites every row.
pub(crate) const MIGRATION_TIMEOUT: Duration = Duration::from_secs(120);

/// Implements `migrate` for `$storage`.
macro_rules! sql_migration {
    ($storage:ty, $db:ty) => {
        impl $storage {
            /// Creates the table, its indexes and its schema record if they are missing,
            /// migrates a table of an older version, and refuses a table of another shape or
            /// a newer version; all in one write transaction.
            async fn migrate(&self) -> Result<(), $crate::storage::StorageError> {
                use sqlx::{AssertSqlSafe, Row};
                use $crate::storage::sql::schema::SCHEMA_VERSION;
                use $crate::storage::sql::statements::Dialect;

                let m = &self.sql.migration;
                let table = self.table.as_str();
                let limits = $crate::storage::sql::call::Limits {
                    timeout: self
                        .limits
                        .timeout
                        .max($crate::storage::sql::migrate::MIGRATION_TIMEOUT),
                    retry_busy: self.sql.dialect == Dialect::Sqlite,
                    ..self.limits
                };
                let outcome = $crate::storage::sql::call::run(limits, "migration", |_| async {
                    let mut tx = self.pool.begin_with(self.sql.dialect.begin_write()).await?;
                    if let Some(lock) = m.lock {
                        sqlx::query::<$db>(lock).execute(&mut *tx).await?;
                    }
                    sqlx::query::<$db>(AssertSqlSafe(m.schema_table.clone()))
                        .execute(&mut *tx)
                        .await?;
                    let version = sqlx::query::<$db>(AssertSqlSafe(m.version.clone()))
                        .bind(table)
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(|row| row.try_get::<i64, _>(0))
                        .transpose()?;
                    // The steps to take, and the statement that records the new version.
                    let (mut steps, record) = match version {
                        Some(SCHEMA_VERSION) => (Vec::new(), None),
                        None => (vec![m.create_table.clone()], Some(&m.register)),
                        Some(1) => (m.from_v1.clone(), Some(&m.set_version)),
                        Some(other) => return Ok(Err(other)),
                    };
                    if record.is_some() {
                        steps.extend(m.create_indexes.iter().cloned());
                    }
                    for step in steps {
                        sqlx::query::<$db>(AssertSqlSafe(step))
                            .execute(&mut *tx)
                            .await?;
                    }
                    if let Some(record) = record {
                        sqlx::query::<$db>(AssertSqlSafe(record.clone()))
                            .bind(table)
                            .bind(SCHEMA_VERSION)
                            .execute(&mut *tx)
                            .await?;
                    }
                    sqlx::query::<$db>(AssertSqlSafe(m.probe.clone()))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(Ok(()))
                })
                .await?;
                outcome.map_err(|other| {
                    $crate::storage::StorageError::backend(if other > SCHEMA_VERSION {
                        format!(
                            "session table `{table}` has schema version {other}, written by a newer typed-sessions; this one knows up to version {SCHEMA_VERSION}"
                        )
                    } else {
                        format!("session table `{table}` has an unknown schema version {other}")
                    })
                })
            }
        }
    };
}

pub(crate) use sql_migration;
