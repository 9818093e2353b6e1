//! The sweep of expired rows and the statistics of the SQL storages.

/// Batch size of [`delete_expired`](crate::storage::SessionStorage::delete_expired).
pub(crate) const SWEEP_BATCH: i64 = 1000;

/// Implements the sweep and the statistics for `$storage` as inherent methods that the
/// [`SessionStorage`](crate::storage::SessionStorage) implementation calls.
macro_rules! sql_maintenance {
    ($storage:ty, $db:ty) => {
        impl $storage {
            /// `DELETE`s of up to `SWEEP_BATCH` expired rows until one removes fewer.
            async fn purge_expired(
                &self,
                now: ::std::time::SystemTime,
            ) -> Result<u64, $crate::storage::StorageError> {
                use $crate::storage::sql::maintenance::SWEEP_BATCH;

                let mut removed = 0u64;
                loop {
                    let step = self.purge_rows(now, SWEEP_BATCH).await?;
                    removed += step;
                    if step < SWEEP_BATCH.unsigned_abs() {
                        return Ok(removed);
                    }
                }
            }

            /// One step of a purge: one `DELETE` of up to `limit` expired rows (1 to 100 000).
            async fn purge_expired_step(
                &self,
                now: ::std::time::SystemTime,
                limit: u64,
            ) -> Result<$crate::storage::PurgeBatch, $crate::storage::StorageError> {
                use $crate::storage::sql::maintenance::SWEEP_BATCH;

                let limit = limit.clamp(1, 100_000);
                let removed = self
                    .purge_rows(now, i64::try_from(limit).unwrap_or(SWEEP_BATCH))
                    .await?;
                Ok(if removed >= limit {
                    $crate::storage::PurgeBatch::more(removed, $crate::storage::PurgeCursor::new(0))
                } else {
                    $crate::storage::PurgeBatch::finished(removed)
                })
            }

            /// One `DELETE` of up to `batch` expired rows, with the index on `expires_at`.
            async fn purge_rows(
                &self,
                now: ::std::time::SystemTime,
                batch: i64,
            ) -> Result<u64, $crate::storage::StorageError> {
                use sqlx::AssertSqlSafe;

                let now = $crate::storage::sql::row::now_value(now);
                let done = $crate::storage::sql::call::run(self.limits, "delete_expired", |_| {
                    sqlx::query::<$db>(AssertSqlSafe(self.sql.delete_expired.clone()))
                        .bind(now)
                        .bind(batch)
                        .execute(&self.pool)
                })
                .await?;
                Ok(done.rows_affected())
            }

            /// `COUNT` with the expiry compared to `now`, and the size.
            async fn count_rows(
                &self,
                now: ::std::time::SystemTime,
            ) -> Result<$crate::storage::StorageStats, $crate::storage::StorageError> {
                use sqlx::{AssertSqlSafe, Row};

                let now = $crate::storage::sql::row::now_value(now);
                let counts = $crate::storage::sql::call::run(self.limits, "stats", |_| {
                    sqlx::query::<$db>(AssertSqlSafe(self.sql.count.clone()))
                        .bind(now)
                        .fetch_one(&self.pool)
                })
                .await?;
                let size = $crate::storage::sql::call::run(self.limits, "stats", |_| {
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
                let stats =
                    $crate::storage::StorageStats::new(total.saturating_sub(expired), expired);
                Ok(match bytes {
                    Some(bytes) => {
                        stats.with_size(bytes.unsigned_abs(), self.sql.dialect.size_measure())
                    }
                    None => stats,
                })
            }
        }
    };
}

pub(crate) use sql_maintenance;
