//! PostgreSQL: the principal index is an index of the rows, used by its queries, and agrees
//! with the rows through racing logins and logouts of two instances.

use std::collections::BTreeSet;
use std::sync::Arc;

use sqlx::AssertSqlSafe;
use typed_sessions::storage::PostgresStorage;

use super::{fresh, table};
use crate::support::servers;
use crate::support::sql::{concurrent_logins, live_rows_of_ada};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_principal_queries_can_use_the_index() {
    let Some(storage) = fresh("the_principal_queries_can_use_the_index").await else {
        return;
    };
    let mut conn = storage.pool().acquire().await.unwrap();
    // The table is tiny; tell the planner to take an index whenever one applies.
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    let t = storage.table();
    let list = format!(
        "EXPLAIN SELECT id FROM {t} WHERE namespace = $1 AND principal = $2 AND expires_at > $3"
    );
    let end_all = format!(
        "EXPLAIN DELETE FROM {t} WHERE namespace = $1 AND principal = $2 AND ($3 IS NULL OR id <> $3)"
    );
    let plans = [
        sqlx::query_as::<_, (String,)>(AssertSqlSafe(list))
            .bind("s")
            .bind("ada")
            .bind(0i64)
            .fetch_all(&mut *conn)
            .await
            .unwrap(),
        sqlx::query_as::<_, (String,)>(AssertSqlSafe(end_all))
            .bind("s")
            .bind("ada")
            .bind(None::<String>)
            .fetch_all(&mut *conn)
            .await
            .unwrap(),
    ];
    for plan in plans {
        let plan: Vec<String> = plan.into_iter().map(|(line,)| line).collect();
        assert!(
            plan.iter()
                .any(|line| line.contains(&format!("{t}_principal"))),
            "{plan:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_logins_and_logouts_of_two_instances_keep_index_and_rows_equal() {
    let Some(server) = servers::postgres("racing logins and logouts") else {
        return;
    };
    let name = table();
    let open = || {
        let (name, url) = (name.clone(), server.url());
        async move { PostgresStorage::builder().table(name).connect(&url).await }
    };
    let (a, b) = (open().await.unwrap(), open().await.unwrap());
    let pool = a.pool().clone();
    let raw = |now_ms: i64| {
        let (pool, sql) = (pool.clone(), live_rows_of_ada(name.as_str()));
        async move {
            let rows: Vec<(String,)> = sqlx::query_as(AssertSqlSafe(sql))
                .bind(now_ms)
                .fetch_all(&pool)
                .await
                .unwrap();
            rows.into_iter().map(|(id,)| id).collect::<BTreeSet<_>>()
        }
    };
    concurrent_logins(Arc::new(a), Arc::new(b), 200, raw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_keep_the_principal() {
    let Some(storage) = fresh("updates_keep_the_principal").await else {
        return;
    };
    crate::support::sql::updates_keep_the_principal(&storage).await;
}
