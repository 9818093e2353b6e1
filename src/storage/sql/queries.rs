//! The [`SessionStorage`](crate::storage::SessionStorage) implementation shared by the SQL
//! storages.
//!
//! One macro, expanded once per database, because sqlx's executor and codec traits are
//! implemented per database type: written generically, every function would carry a page of
//! trait bounds. The SQL itself lives in [`statements`](super::statements), once.

/// Batch size of [`delete_expired`](crate::storage::SessionStorage::delete_expired).
pub(crate) const SWEEP_BATCH: i64 = 1000;

/// Implements the migration and [`SessionStorage`](crate::storage::SessionStorage) for
/// `$storage` (a struct with fields `pool: sqlx::Pool<$db>`, `sql: Arc<Statements>`,
/// `limits: Limits` and `table: TableName`).
macro_rules! sql_storage {
    ($storage:ty, $db:ty, $backend:literal) => {
        impl $storage {
            /// Creates the table, its index and its schema record if they are missing;
            /// refuses a table of another shape or a newer schema version.
            async fn migrate(&self) -> Result<(), $crate::storage::StorageError> {
                use sqlx::{AssertSqlSafe, Row};
                use $crate::storage::sql::statements::SCHEMA_VERSION;

                let m = &self.sql.migration;
                let table = self.table.as_str();
                let limits = $crate::storage::sql::call::Limits {
                    timeout: self
                        .limits
                        .timeout
                        .max(::std::time::Duration::from_secs(10)),
                    ..self.limits
                };
                let outcome = $crate::storage::sql::call::run(limits, "migration", || async {
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
                    match version {
                        Some(SCHEMA_VERSION) => {}
                        Some(newer) if newer > SCHEMA_VERSION => {
                            return Ok(Err(newer));
                        }
                        _ => {
                            sqlx::query::<$db>(AssertSqlSafe(m.create_table.clone()))
                                .execute(&mut *tx)
                                .await?;
                            sqlx::query::<$db>(AssertSqlSafe(m.create_index.clone()))
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    sqlx::query::<$db>(AssertSqlSafe(m.probe.clone()))
                        .execute(&mut *tx)
                        .await?;
                    if version.is_none() {
                        sqlx::query::<$db>(AssertSqlSafe(m.register.clone()))
                            .bind(table)
                            .bind(SCHEMA_VERSION)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(Ok(()))
                })
                .await?;
                outcome.map_err(|newer| {
                    $crate::storage::StorageError::backend(format!(
                        "session table `{table}` has schema version {newer}, written by a newer typed-sessions; this one knows up to version {SCHEMA_VERSION}"
                    ))
                })
            }
        }

        #[async_trait::async_trait]
        impl $crate::storage::SessionStorage for $storage {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn load(
                &self,
                key: $crate::storage::SessionKey<'_>,
                now: ::std::time::SystemTime,
            ) -> Result<Option<$crate::storage::Record>, $crate::storage::StorageError> {
                use sqlx::{AssertSqlSafe, Row};
                use $crate::storage::millis::{from_millis_i64, to_millis_i64};

                let key = key.storage_key();
                let now = to_millis_i64(now);
                let row = $crate::storage::sql::call::run(self.limits, "load", || {
                    sqlx::query::<$db>(AssertSqlSafe(self.sql.load.clone()))
                        .bind(key.as_str())
                        .bind(now)
                        .fetch_optional(&self.pool)
                })
                .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let decoded = (|| {
                    Ok::<_, sqlx::Error>($crate::storage::Record::new(
                        row.try_get::<String, _>(0)?.into_bytes(),
                        from_millis_i64(row.try_get::<i64, _>(1)?),
                        from_millis_i64(row.try_get::<i64, _>(2)?),
                    ))
                })();
                decoded.map(Some).map_err(|error| {
                    $crate::storage::StorageError::backend(
                        "SQL session storage load: the row does not have the expected columns",
                    )
                    .with_source(error)
                })
            }

            async fn create(
                &self,
                key: $crate::storage::SessionKey<'_>,
                record: &$crate::storage::Record,
                now: ::std::time::SystemTime,
            ) -> Result<$crate::storage::Created, $crate::storage::StorageError> {
                use sqlx::AssertSqlSafe;
                use $crate::storage::millis::to_millis_i64;

                let key = key.storage_key();
                let (created, expires) = (
                    to_millis_i64(record.created_at),
                    to_millis_i64(record.expires_at),
                );
                let now = to_millis_i64(now);
                let done = $crate::storage::sql::call::run(self.limits, "create", || {
                    sqlx::query::<$db>(AssertSqlSafe(self.sql.create.clone()))
                        .bind(key.as_str())
                        .bind(String::from_utf8_lossy(&record.data).into_owned())
                        .bind(created)
                        .bind(expires)
                        .bind(now)
                        .execute(&self.pool)
                })
                .await?;
                Ok(if done.rows_affected() == 1 {
                    $crate::storage::Created::Inserted
                } else {
                    $crate::storage::Created::Collision
                })
            }

            async fn update(
                &self,
                key: $crate::storage::SessionKey<'_>,
                record: &$crate::storage::Record,
                now: ::std::time::SystemTime,
            ) -> Result<bool, $crate::storage::StorageError> {
                use sqlx::AssertSqlSafe;
                use $crate::storage::millis::to_millis_i64;

                let key = key.storage_key();
                let (created, expires) = (
                    to_millis_i64(record.created_at),
                    to_millis_i64(record.expires_at),
                );
                let now = to_millis_i64(now);
                let done = $crate::storage::sql::call::run(self.limits, "update", || {
                    sqlx::query::<$db>(AssertSqlSafe(self.sql.update.clone()))
                        .bind(key.as_str())
                        .bind(String::from_utf8_lossy(&record.data).into_owned())
                        .bind(created)
                        .bind(expires)
                        .bind(now)
                        .execute(&self.pool)
                })
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete(
                &self,
                key: $crate::storage::SessionKey<'_>,
            ) -> Result<bool, $crate::storage::StorageError> {
                use sqlx::AssertSqlSafe;

                let key = key.storage_key();
                let done = $crate::storage::sql::call::run(self.limits, "delete", || {
                    sqlx::query::<$db>(AssertSqlSafe(self.sql.delete.clone()))
                        .bind(key.as_str())
                        .execute(&self.pool)
                })
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn change_id(
                &self,
                old: $crate::storage::SessionKey<'_>,
                new: $crate::storage::SessionKey<'_>,
                record: &$crate::storage::Record,
                now: ::std::time::SystemTime,
            ) -> Result<bool, $crate::storage::StorageError> {
                use sqlx::AssertSqlSafe;
                use $crate::storage::millis::to_millis_i64;

                let (old_key, new_key) = (old.storage_key(), new.storage_key());
                let (created, expires) = (
                    to_millis_i64(record.created_at),
                    to_millis_i64(record.expires_at),
                );
                let now = to_millis_i64(now);
                $crate::storage::sql::call::run(self.limits, "change_id", || async {
                    let mut tx = self.pool.begin_with(self.sql.dialect.begin_write()).await?;
                    let taken = sqlx::query::<$db>(AssertSqlSafe(self.sql.take_live.clone()))
                        .bind(old_key.as_str())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if taken == 0 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    let inserted = sqlx::query::<$db>(AssertSqlSafe(self.sql.create.clone()))
                        .bind(new_key.as_str())
                        .bind(String::from_utf8_lossy(&record.data).into_owned())
                        .bind(created)
                        .bind(expires)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if inserted == 0 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    tx.commit().await?;
                    Ok(true)
                })
                .await
            }

            async fn delete_expired(
                &self,
                now: ::std::time::SystemTime,
            ) -> Result<u64, $crate::storage::StorageError> {
                use sqlx::AssertSqlSafe;
                use $crate::storage::millis::to_millis_i64;
                use $crate::storage::sql::queries::SWEEP_BATCH;

                let now = to_millis_i64(now);
                let mut removed = 0u64;
                loop {
                    let done = $crate::storage::sql::call::run(self.limits, "delete_expired", || {
                        sqlx::query::<$db>(AssertSqlSafe(self.sql.delete_expired.clone()))
                            .bind(now)
                            .bind(SWEEP_BATCH)
                            .execute(&self.pool)
                    })
                    .await?;
                    removed += done.rows_affected();
                    if done.rows_affected() < SWEEP_BATCH.unsigned_abs() {
                        return Ok(removed);
                    }
                }
            }

            /// One `DELETE` of up to `limit` expired rows (at least 1, at most 100 000), with
            /// the index on `expires_at`; the purge goes on while a step removes `limit` rows.
            async fn delete_expired_batch(
                &self,
                now: ::std::time::SystemTime,
                _from: Option<$crate::storage::PurgeCursor>,
                limit: u64,
            ) -> Result<$crate::storage::PurgeBatch, $crate::storage::StorageError> {
                use sqlx::AssertSqlSafe;
                use $crate::storage::millis::to_millis_i64;

                let limit = limit.clamp(1, 100_000);
                let batch = i64::try_from(limit).unwrap_or($crate::storage::sql::queries::SWEEP_BATCH);
                let now = to_millis_i64(now);
                let done = $crate::storage::sql::call::run(self.limits, "delete_expired", || {
                    sqlx::query::<$db>(AssertSqlSafe(self.sql.delete_expired.clone()))
                        .bind(now)
                        .bind(batch)
                        .execute(&self.pool)
                })
                .await?;
                let removed = done.rows_affected();
                Ok(if removed >= limit {
                    $crate::storage::PurgeBatch::more(removed, $crate::storage::PurgeCursor::new(0))
                } else {
                    $crate::storage::PurgeBatch::finished(removed)
                })
            }

            /// `COUNT` with the expiry compared to `now`, and the size of the table
            /// (PostgreSQL: `pg_total_relation_size`, indexes and dead rows included) or of
            /// the whole database file (SQLite: `page_count * page_size`).
            async fn stats(
                &self,
                now: ::std::time::SystemTime,
            ) -> Result<Option<$crate::storage::StorageStats>, $crate::storage::StorageError>
            {
                use sqlx::{AssertSqlSafe, Row};
                use $crate::storage::millis::to_millis_i64;

                let now = to_millis_i64(now);
                let counts = $crate::storage::sql::call::run(self.limits, "stats", || {
                    sqlx::query::<$db>(AssertSqlSafe(self.sql.count.clone()))
                        .bind(now)
                        .fetch_one(&self.pool)
                })
                .await?;
                let size = $crate::storage::sql::call::run(self.limits, "stats", || {
                    sqlx::query::<$db>(AssertSqlSafe(self.sql.size.clone())).fetch_one(&self.pool)
                })
                .await?;
                let decoded = (|| {
                    Ok::<_, sqlx::Error>((
                        counts.try_get::<i64, _>(0)?,
                        counts.try_get::<i64, _>(1)?,
                        size.try_get::<Option<i64>, _>(0)?,
                    ))
                })();
                let (total, expired, bytes) = decoded.map_err(|error| {
                    $crate::storage::StorageError::backend(
                        "SQL session storage stats: unexpected result columns",
                    )
                    .with_source(error)
                })?;
                let (total, expired) = (total.unsigned_abs(), expired.unsigned_abs());
                let stats = $crate::storage::StorageStats::new(
                    total.saturating_sub(expired),
                    expired,
                );
                Ok(Some(match bytes {
                    Some(bytes) => {
                        stats.with_size(bytes.unsigned_abs(), self.sql.dialect.size_measure())
                    }
                    None => stats,
                }))
            }
        }
    };
}

pub(crate) use sql_storage;
