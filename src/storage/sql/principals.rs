//! The principal index of the SQL storages: the `namespace` and `principal` columns of the
//! rows themselves, with a partial index on them (rows without a principal are not in it).
//!
//! Because the index entry is the row, it is written by the same statement as the record
//! (`create`, or `change_id`'s transaction), and goes when the row is deleted, expires (no
//! query lists an expired row) or is swept: the index can never disagree with the sessions.

/// Implements the principal index queries for `$storage` as inherent methods that the
/// [`SessionStorage`](crate::storage::SessionStorage) implementation calls.
macro_rules! sql_principals {
    ($storage:ty, $db:ty) => {
        impl $storage {
            /// One `SELECT` on the principal index: the principal's live rows.
            async fn principal_sessions(
                &self,
                namespace: &$crate::storage::Namespace,
                principal: &str,
                now: ::std::time::SystemTime,
            ) -> Result<Vec<$crate::storage::PrincipalSession>, $crate::storage::StorageError> {
                use sqlx::{AssertSqlSafe, Row};
                use $crate::storage::sql::row;

                let now = row::now_value(now);
                let rows =
                    $crate::storage::sql::call::run(self.limits, "sessions_of", |_| async move {
                        let mut lease = self.connections.lease().await?;
                        let rows = sqlx::query::<$db>(AssertSqlSafe(self.sql.sessions_of.clone()))
                            .bind(namespace.name())
                            .bind(principal)
                            .bind(now)
                            .fetch_all(lease.connection()?)
                            .await?;
                        lease.done();
                        Ok(rows)
                    })
                    .await?;
                let mut sessions = Vec::with_capacity(rows.len());
                for found in &rows {
                    let decoded = found
                        .try_get::<String, _>(0)
                        .and_then(|key| Ok((row::handle(&key), row::decode(found, 1)?)))
                        .map_err(|e| row::unexpected_columns("sessions_of", e))?;
                    if let (Some(handle), Some(record)) = decoded {
                        sessions.push($crate::storage::PrincipalSession::new(handle, record));
                    }
                }
                Ok(sessions)
            }

            /// One `DELETE` of the handle's row, if it is the principal's in the namespace.
            async fn end_principal_session(
                &self,
                namespace: &$crate::storage::Namespace,
                principal: &str,
                handle: &$crate::storage::SessionHandle,
            ) -> Result<bool, $crate::storage::StorageError> {
                use sqlx::AssertSqlSafe;

                let key = handle.storage_key();
                let key = key.as_str();
                let done =
                    $crate::storage::sql::call::run(self.limits, "delete_of", |_| async move {
                        let mut lease = self.connections.lease().await?;
                        let done = sqlx::query::<$db>(AssertSqlSafe(self.sql.delete_of.clone()))
                            .bind(key)
                            .bind(namespace.name())
                            .bind(principal)
                            .execute(lease.connection()?)
                            .await?;
                        lease.done();
                        Ok(done)
                    })
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            /// One `DELETE` of the principal's rows in the namespace, but `except`'s.
            async fn end_principal_sessions(
                &self,
                namespace: &$crate::storage::Namespace,
                principal: &str,
                except: Option<&$crate::storage::SessionHandle>,
            ) -> Result<u64, $crate::storage::StorageError> {
                use sqlx::AssertSqlSafe;

                let except = except.map($crate::storage::SessionHandle::storage_key);
                let except = except.as_deref();
                let done =
                    $crate::storage::sql::call::run(self.limits, "delete_all_of", |_| async move {
                        let mut lease = self.connections.lease().await?;
                        let done =
                            sqlx::query::<$db>(AssertSqlSafe(self.sql.delete_all_of.clone()))
                                .bind(namespace.name())
                                .bind(principal)
                                .bind(except)
                                .execute(lease.connection()?)
                                .await?;
                        lease.done();
                        Ok(done)
                    })
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use sql_principals;
