//! The [`SessionStorage`](crate::storage::SessionStorage) implementation shared by the SQL
//! storages.
//!
//! One macro, expanded once per database, because sqlx's executor and codec traits are
//! implemented per database type: written generically, every function would carry a page of
//! trait bounds. The SQL itself lives in [`statements`](super::statements), once; the record
//! operations are here, the principal index in [`principals`](super::principals), the
//! migration in [`migrate`](super::migrate) and the sweep and statistics in
//! [`maintenance`](super::maintenance).

/// Implements the migration and [`SessionStorage`](crate::storage::SessionStorage) for
/// `$storage` (a struct with fields `pool: sqlx::Pool<$db>` (for the migration and the
/// sweep), `connections: Arc<Connections<$db>>` (for everything else), `sql: Arc<Statements>`,
/// `limits: Limits` and `table: TableName`).
macro_rules! sql_storage {
    ($storage:ty, $db:ty, $backend:literal) => {
        $crate::storage::sql::migrate::sql_migration!($storage, $db);
        $crate::storage::sql::principals::sql_principals!($storage, $db);
        $crate::storage::sql::maintenance::sql_maintenance!($storage, $db);

        impl $storage {
            /// The `load` statement on `lease`'s connection: the live row of `key` at `now`.
            async fn load_alone(
                &self,
                mut lease: $crate::storage::sql::connections::Lease<'_, $db>,
                key: &str,
                now: i64,
            ) -> Result<Option<<$db as sqlx::Database>::Row>, sqlx::Error> {
                use sqlx::AssertSqlSafe;

                let found = sqlx::query::<$db>(AssertSqlSafe(self.sql.load.clone()))
                    .bind(key)
                    .bind(now)
                    .fetch_optional(lease.connection()?)
                    .await?;
                lease.done();
                Ok(found)
            }

            /// The `update` statement on `lease`'s connection: whether it wrote the live row.
            async fn update_alone(
                &self,
                mut lease: $crate::storage::sql::connections::Lease<'_, $db>,
                key: &str,
                w: &$crate::storage::sql::row::Written<'_>,
                now: i64,
            ) -> Result<bool, sqlx::Error> {
                use sqlx::AssertSqlSafe;
                use $crate::storage::sql::row::bind_record;

                let query = sqlx::query::<$db>(AssertSqlSafe(self.sql.update.clone())).bind(key);
                let done = bind_record!(query, w)
                    .bind(now)
                    .execute(lease.connection()?)
                    .await?;
                lease.done();
                Ok(done.rows_affected() == 1)
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
                use $crate::storage::sql::row;

                let key = key.storage_key();
                let now = row::now_value(now);
                let key = key.as_str();
                let found = $crate::storage::sql::call::run(self.limits, "load", |_| {
                    self.load_row(key, now)
                })
                .await?;
                match found {
                    Some(found) => {
                        row::decode(&found, 0).map_err(|e| row::unexpected_columns("load", e))
                    }
                    None => Ok(None),
                }
            }

            /// One `INSERT ... ON CONFLICT DO UPDATE ... WHERE` (the row of an expired
            /// session is replaced; a live one is left alone). Sent again after a lost reply,
            /// it also replaces a live row that holds this very record (same revision): the
            /// first attempt's insert, which is reported as `Inserted`, not as a collision.
            async fn create(
                &self,
                key: $crate::storage::SessionKey<'_>,
                record: &$crate::storage::Record,
                now: ::std::time::SystemTime,
            ) -> Result<$crate::storage::Created, $crate::storage::StorageError> {
                use sqlx::AssertSqlSafe;
                use $crate::storage::sql::row::{self, Written, bind_record};

                let (namespace, key) = (key.namespace().name(), key.storage_key());
                let (key, w) = (key.as_str(), &Written::of(record));
                let now = row::now_value(now);
                let done = $crate::storage::sql::call::run(self.limits, "create", |attempt| async move {
                    let mut lease = self.connections.lease().await?;
                    let query =
                        sqlx::query::<$db>(AssertSqlSafe(self.sql.create.clone())).bind(key);
                    let done = bind_record!(query, w)
                        .bind(now)
                        .bind(namespace)
                        .bind(w.principal)
                        .bind(attempt.is_repeat().then_some(w.revision))
                        .execute(lease.connection()?)
                        .await?;
                    lease.done();
                    Ok(done)
                })
                .await?;
                Ok(if done.rows_affected() == 1 {
                    $crate::storage::Created::Inserted
                } else {
                    $crate::storage::Created::Collision
                })
            }

            /// One `UPDATE ... WHERE id = $1 AND expires_at > $now`; the row keeps its
            /// namespace and principal.
            async fn update(
                &self,
                key: $crate::storage::SessionKey<'_>,
                record: &$crate::storage::Record,
                now: ::std::time::SystemTime,
            ) -> Result<bool, $crate::storage::StorageError> {
                use $crate::storage::sql::row::{self, Written};

                let key = key.storage_key();
                let (key, w) = (key.as_str(), &Written::of(record));
                let now = row::now_value(now);
                $crate::storage::sql::call::run(self.limits, "update", |_| {
                    self.update_row(key, w, now)
                })
                .await
            }

            /// `UPDATE ... WHERE id = $1 AND expires_at > $now AND revision = $expected`
            /// (sent again after a lost reply, `revision` may also be the new record's own:
            /// the first attempt's write). If it writes nothing, a second statement reads the
            /// live row's revision: a live row is a `Conflict`, none is `Gone`; either was
            /// true when it was read, and nothing was written. A repeat that finds a third
            /// revision cannot tell whether the first attempt wrote before another writer
            /// replaced it, and fails as `Unavailable` rather than risk a `Conflict` that
            /// would make the caller apply its change twice.
            async fn update_if(
                &self,
                key: $crate::storage::SessionKey<'_>,
                record: &$crate::storage::Record,
                expected: $crate::storage::Revision,
                now: ::std::time::SystemTime,
            ) -> Result<$crate::storage::Updated, $crate::storage::StorageError> {
                use sqlx::AssertSqlSafe;
                use $crate::storage::Updated;
                use $crate::storage::sql::row::{self, Written, bind_record};

                let key = key.storage_key();
                let (key, w) = (key.as_str(), &Written::of(record));
                let (now, expected) = (row::now_value(now), row::revision_value(expected));
                let outcome = $crate::storage::sql::call::run(self.limits, "update_if", |attempt| async move {
                    let also = if attempt.is_repeat() {
                        w.revision
                    } else {
                        expected
                    };
                    let mut lease = self.connections.lease().await?;
                    let query =
                        sqlx::query::<$db>(AssertSqlSafe(self.sql.update_if.clone())).bind(key);
                    let done = bind_record!(query, w)
                        .bind(now)
                        .bind(expected)
                        .bind(also)
                        .execute(lease.connection()?)
                        .await?;
                    if done.rows_affected() == 1 {
                        lease.done();
                        return Ok(Some(Updated::Written));
                    }
                    let live = sqlx::query::<$db>(AssertSqlSafe(self.sql.live_revision.clone()))
                        .bind(key)
                        .bind(now)
                        .fetch_optional(lease.connection()?)
                        .await?;
                    lease.done();
                    Ok(match live {
                        None => Some(Updated::Gone),
                        Some(_) if attempt.is_repeat() => None,
                        Some(_) => Some(Updated::Conflict),
                    })
                })
                .await?;
                outcome.ok_or_else(|| {
                    $crate::storage::StorageError::unavailable(
                        "SQL session storage update_if: the connection was lost after the update was sent, and the record has been replaced since; whether this update was applied is unknown",
                    )
                })
            }

            /// One `DELETE`. Sent again after a lost reply, it finds nothing and says so.
            async fn delete(
                &self,
                key: $crate::storage::SessionKey<'_>,
            ) -> Result<bool, $crate::storage::StorageError> {
                use sqlx::AssertSqlSafe;

                let key = key.storage_key();
                let key = key.as_str();
                let done = $crate::storage::sql::call::run(self.limits, "delete", |_| async move {
                    let mut lease = self.connections.lease().await?;
                    let done = sqlx::query::<$db>(AssertSqlSafe(self.sql.delete.clone()))
                        .bind(key)
                        .execute(lease.connection()?)
                        .await?;
                    lease.done();
                    Ok(done)
                })
                .await?;
                Ok(done.rows_affected() > 0)
            }

            /// One transaction: delete the old row if live, then insert the new one (filed
            /// under the new record's principal); rolled back if either affects no row.
            /// Sent again after a lost reply, a move that finds the old row gone and the new
            /// one holding this very record (same revision) was the first attempt's, and
            /// reports `true`.
            async fn change_id(
                &self,
                old: $crate::storage::SessionKey<'_>,
                new: $crate::storage::SessionKey<'_>,
                record: &$crate::storage::Record,
                now: ::std::time::SystemTime,
            ) -> Result<bool, $crate::storage::StorageError> {
                use sqlx::{AssertSqlSafe, Connection, Row};
                use $crate::storage::sql::row::{self, Written, bind_record};

                let namespace = new.namespace().name();
                let (old, new) = (old.storage_key(), new.storage_key());
                if old == new {
                    return Ok(false); // the new id is taken, by the old session itself
                }
                let (old, new, w) = (old.as_str(), new.as_str(), &Written::of(record));
                let now = row::now_value(now);
                let sql = &self.sql;
                $crate::storage::sql::call::run(self.limits, "change_id", |attempt| async move {
                    let mut lease = self.connections.lease().await?;
                    let mut tx = lease.connection()?.begin_with(sql.dialect.begin_write()).await?;
                    let taken = sqlx::query::<$db>(AssertSqlSafe(sql.take_live.clone()))
                        .bind(old)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if taken == 0 {
                        let mut moved = false;
                        if attempt.is_repeat() {
                            let live = sqlx::query::<$db>(AssertSqlSafe(sql.live_revision.clone()))
                                .bind(new)
                                .bind(now)
                                .fetch_optional(&mut *tx)
                                .await?;
                            let revision = live.map(|r| r.try_get::<i64, _>(0)).transpose()?;
                            moved = revision == Some(w.revision);
                        }
                        tx.rollback().await?;
                        lease.done();
                        return Ok(moved);
                    }
                    let query = sqlx::query::<$db>(AssertSqlSafe(sql.create.clone())).bind(new);
                    let inserted = bind_record!(query, w)
                        .bind(now)
                        .bind(namespace)
                        .bind(w.principal)
                        .bind(None::<i64>)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if inserted == 0 {
                        tx.rollback().await?;
                        lease.done();
                        return Ok(false);
                    }
                    tx.commit().await?;
                    lease.done();
                    Ok(true)
                })
                .await
            }

            fn supports_conditional_updates(&self) -> bool {
                true
            }

            /// The storage's `timeout`: every call (but the sweep's and the statistics') runs
            /// under one deadline, waiting for a connection or for a batched statement, every
            /// statement and every attempt included.
            fn call_bound(&self) -> Option<::std::time::Duration> {
                Some(self.limits.timeout)
            }

            fn supports_principals(&self) -> bool {
                true
            }

            async fn sessions_of(
                &self,
                namespace: &$crate::storage::Namespace,
                principal: &str,
                now: ::std::time::SystemTime,
            ) -> Result<Vec<$crate::storage::PrincipalSession>, $crate::storage::StorageError> {
                self.principal_sessions(namespace, principal, now).await
            }

            async fn delete_of(
                &self,
                namespace: &$crate::storage::Namespace,
                principal: &str,
                handle: &$crate::storage::SessionHandle,
            ) -> Result<bool, $crate::storage::StorageError> {
                self.end_principal_session(namespace, principal, handle)
                    .await
            }

            async fn delete_all_of(
                &self,
                namespace: &$crate::storage::Namespace,
                principal: &str,
                except: Option<&$crate::storage::SessionHandle>,
            ) -> Result<u64, $crate::storage::StorageError> {
                self.end_principal_sessions(namespace, principal, except)
                    .await
            }

            async fn delete_expired(
                &self,
                now: ::std::time::SystemTime,
            ) -> Result<u64, $crate::storage::StorageError> {
                self.purge_expired(now).await
            }

            /// One `DELETE` of up to `limit` expired rows (at least 1, at most 100 000), with
            /// the index on `expires_at`; the purge goes on while a step removes `limit` rows.
            async fn delete_expired_batch(
                &self,
                now: ::std::time::SystemTime,
                _from: Option<$crate::storage::PurgeCursor>,
                limit: u64,
            ) -> Result<$crate::storage::PurgeBatch, $crate::storage::StorageError> {
                self.purge_expired_step(now, limit).await
            }

            /// `COUNT` with the expiry compared to `now`, and the size of the table
            /// (PostgreSQL: `pg_total_relation_size`, indexes and dead rows included) or of
            /// the whole database file (SQLite: `page_count * page_size`).
            async fn stats(
                &self,
                now: ::std::time::SystemTime,
            ) -> Result<Option<$crate::storage::StorageStats>, $crate::storage::StorageError> {
                self.count_rows(now).await.map(Some)
            }
        }
    };
}

pub(crate) use sql_storage;
