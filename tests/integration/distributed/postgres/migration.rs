//! PostgreSQL: a table of the previous release (schema version 1) is migrated in place, once,
//! however many instances open it at the same time.

use sqlx::AssertSqlSafe;
use typed_sessions::storage::PostgresStorage;

use super::{start_together, table};
use crate::distributed::semantics::base;
use crate::support::servers;
use crate::support::sql::{check_migrated, v1_insert, v1_rows, v1_schema};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_table_is_migrated_once_by_instances_starting_together() {
    let Some(server) = servers::postgres("migration from version 1") else {
        return;
    };
    let name = table();
    let t = name.as_str();
    let pool = sqlx::PgPool::connect(&server.url()).await.unwrap();
    for statement in v1_schema(t, false) {
        sqlx::query(AssertSqlSafe(statement))
            .execute(&pool)
            .await
            .unwrap();
    }
    let now = base();
    let rows = v1_rows(now);
    for row in &rows {
        sqlx::query(AssertSqlSafe(v1_insert(t)))
            .bind(row.key())
            .bind(&row.data)
            .bind(row.created_ms)
            .bind(row.expires_ms)
            .execute(&pool)
            .await
            .unwrap();
    }
    // Four instances of the new release start at once.
    let storages = start_together(&server.url(), &name, 4).await;
    let (version,): (i64,) =
        sqlx::query_as("SELECT version FROM typed_sessions_schema WHERE table_name = $1")
            .bind(t)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(version, 2);
    let (data_type,): (String,) = sqlx::query_as(
        "SELECT data_type FROM information_schema.columns WHERE table_name = $1 AND column_name = 'data'",
    )
    .bind(t)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(data_type, "bytea");
    let (principal_index,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM pg_indexes WHERE tablename = $1 AND indexdef LIKE '%(namespace, principal)%'",
    )
    .bind(t)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(principal_index, 1);
    check_migrated(&storages[3], &rows, now).await;
    // The migrated table has the shape of a new one: the same columns, types, nullability
    // and defaults.
    let shape = |table: String| {
        let pool = pool.clone();
        async move {
            let columns: Vec<(String, String, String, String)> = sqlx::query_as(
                "SELECT column_name::text, data_type::text, is_nullable::text, COALESCE(column_default::text, '') FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(&pool)
            .await
            .unwrap();
            columns
        }
    };
    let fresh = table();
    PostgresStorage::builder()
        .table(fresh.clone())
        .connect(&server.url())
        .await
        .unwrap();
    assert_eq!(
        shape(t.to_owned()).await,
        shape(fresh.as_str().to_owned()).await
    );
}
