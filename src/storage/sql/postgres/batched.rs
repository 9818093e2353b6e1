//! PostgreSQL's `load` and `update` under load: one statement for many calls (see
//! [`batch`](super::super::batch)).
//!
//! A call that finds a connection free runs its own statement, as before. One that would wait
//! joins the queue of its kind; whichever queued call gets a connection first runs all of
//! them as one statement over arrays (`unnest`), with each call's own key and time:
//!
//! * reads: `SELECT ... FROM unnest($keys, $nows) WITH ORDINALITY AS v JOIN t ON t.id = v.id
//!   AND t.expires_at > v.now`, each row going to the call of its ordinal;
//! * updates: `UPDATE t SET ... FROM unnest(...) AS v WHERE t.id = v.id AND t.expires_at >
//!   v.now RETURNING v.i`: each row is updated by the same condition as a lone `update` (the
//!   row is live at the call's time), and the calls whose ordinal comes back wrote. One
//!   statement holds one update per row: a second update of a row waits for the next.
//!
//! Both statements are one statement, so they are atomic as a whole; each call's answer is the
//! one its own statement would have given.

use std::future::Future;
use std::sync::Arc;

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Postgres, Row};

use super::PostgresStorage;
use crate::storage::sql::batch::{Batch, Turn};
use crate::storage::sql::call::is_dead_connection;
use crate::storage::sql::connections::Lease;
use crate::storage::sql::row::{RECORD_COLUMNS, Written};
use crate::storage::sql::table::TableName;

/// The queues and statements of the batched calls.
pub(super) struct Batches {
    load: Batch<LoadCall, Option<PgRow>>,
    update: Batch<UpdateCall, bool>,
    load_many: Arc<str>,
    update_many: Arc<str>,
}

/// A queued `load`: the row key and the time.
struct LoadCall {
    key: String,
    now: i64,
}

/// A queued `update`: the row key, the record's values and the time.
struct UpdateCall {
    key: String,
    data: Vec<u8>,
    times: [i64; 5],
    version: Option<i64>,
    device: Option<String>,
    address: Option<String>,
    now: i64,
}

impl UpdateCall {
    fn of(key: &str, w: &Written<'_>, now: i64) -> UpdateCall {
        UpdateCall {
            key: key.to_owned(),
            data: w.data.to_vec(),
            times: [
                w.created_at,
                w.expires_at,
                w.revision,
                w.last_seen,
                w.lifetime_ends_at,
            ],
            version: w.version,
            device: w.device.map(str::to_owned),
            address: w.address.map(str::to_owned),
            now,
        }
    }
}

impl Batches {
    pub(super) fn new(table: &TableName) -> Batches {
        let t = table.as_str();
        let columns = |prefix: &str| {
            RECORD_COLUMNS
                .iter()
                .map(|c| format!("{prefix}{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let set = RECORD_COLUMNS
            .iter()
            .map(|c| format!("{c} = v.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        Batches {
            load: Batch::default(),
            update: Batch::default(),
            load_many: format!(
                r#"SELECT {}, "{t}".principal, v.i FROM unnest($1::text[], $2::int8[]) WITH ORDINALITY AS v(id, now, i) JOIN "{t}" ON "{t}".id = v.id AND "{t}".expires_at > v.now"#,
                columns(&format!(r#""{t}"."#))
            )
            .into(),
            update_many: format!(
                r#"UPDATE "{t}" SET {set} FROM unnest($1::text[], $2::bytea[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[], $9::text[], $10::text[], $11::int8[]) WITH ORDINALITY AS v(id, {}, now, i) WHERE "{t}".id = v.id AND "{t}".expires_at > v.now RETURNING v.i"#,
                columns("")
            )
            .into(),
        }
    }
}

impl PostgresStorage {
    /// A `load`: its own statement when no load is in flight, else batched with the loads
    /// that wait for it.
    pub(super) async fn load_row(&self, key: &str, now: i64) -> Result<Option<PgRow>, sqlx::Error> {
        let call = || LoadCall {
            key: key.to_owned(),
            now,
        };
        let leader = match self.batches.load.turn(call).await {
            Turn::Answered(found) => return Ok(found),
            // A read: whatever became of the statement that carried it, it can run again.
            Turn::Rerun | Turn::Abandoned => {
                return self
                    .load_alone(self.connections.lease().await?, key, now)
                    .await;
            }
            Turn::Alone(turn) => {
                let found = self
                    .load_alone(self.connections.lease().await?, key, now)
                    .await;
                drop(turn);
                return found;
            }
            Turn::Leads(leader) => leader,
        };
        let lease = self.connections.lease().await?;
        let (turn, mut taken) = leader.take(|_, _| true);
        if taken.inputs.len() < 2 {
            let found = self.load_alone(lease, key, now).await;
            drop(turn);
            return found;
        }
        let keys: Vec<&str> = taken.inputs.iter().map(|c| c.key.as_str()).collect();
        let nows: Vec<i64> = taken.inputs.iter().map(|c| c.now).collect();
        let query = sqlx::query::<Postgres>(AssertSqlSafe(self.batches.load_many.clone()))
            .bind(&keys[..])
            .bind(&nows[..]);
        let rows = match fetch_shared(lease, query).await {
            Ok(rows) => rows,
            Err(error) => {
                drop(turn);
                taken.rerun();
                return self
                    .after_failed_batch(error, || async {
                        self.load_alone(self.connections.lease().await?, key, now)
                            .await
                    })
                    .await;
            }
        };
        drop(turn);
        let mut found: Vec<Option<PgRow>> = taken.inputs.iter().map(|_| None).collect();
        for row in rows {
            let at = row.try_get::<i64, _>(RECORD_COLUMNS.len() + 1)?;
            if let Some(slot) = ordinal(at).and_then(|i| found.get_mut(i)) {
                *slot = Some(row);
            }
        }
        Ok(taken.answer(found).flatten())
    }

    /// An `update`: its own statement when no update is in flight, else batched with the
    /// updates of other rows that wait for it.
    pub(super) async fn update_row(
        &self,
        key: &str,
        w: &Written<'_>,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let leader = match self
            .batches
            .update
            .turn(|| UpdateCall::of(key, w, now))
            .await
        {
            Turn::Answered(written) => return Ok(written),
            Turn::Rerun => {
                return self
                    .update_alone(self.connections.lease().await?, key, w, now)
                    .await;
            }
            // The statement may still be applied after a write sent now, and undo it.
            Turn::Abandoned => return Err(abandoned()),
            Turn::Alone(turn) => {
                let written = self
                    .update_alone(self.connections.lease().await?, key, w, now)
                    .await;
                drop(turn);
                return written;
            }
            Turn::Leads(leader) => leader,
        };
        let lease = self.connections.lease().await?;
        let (turn, mut taken) = leader.take(|taken: &[UpdateCall], next: &UpdateCall| {
            taken.iter().all(|call| call.key != next.key)
        });
        if taken.inputs.len() < 2 {
            let written = self.update_alone(lease, key, w, now).await;
            drop(turn);
            return written;
        }
        let calls = &taken.inputs;
        let keys: Vec<&str> = calls.iter().map(|c| c.key.as_str()).collect();
        let data: Vec<&[u8]> = calls.iter().map(|c| c.data.as_slice()).collect();
        let times: [Vec<i64>; 5] = std::array::from_fn(|n| {
            calls
                .iter()
                .map(|c| c.times.get(n).copied().unwrap_or_default())
                .collect()
        });
        let versions: Vec<Option<i64>> = calls.iter().map(|c| c.version).collect();
        let devices: Vec<Option<&str>> = calls.iter().map(|c| c.device.as_deref()).collect();
        let addresses: Vec<Option<&str>> = calls.iter().map(|c| c.address.as_deref()).collect();
        let nows: Vec<i64> = calls.iter().map(|c| c.now).collect();
        let [created, expires, revisions, last_seen, lifetime_ends] = &times;
        let query = sqlx::query::<Postgres>(AssertSqlSafe(self.batches.update_many.clone()))
            .bind(&keys[..])
            .bind(&data[..])
            .bind(&created[..])
            .bind(&expires[..])
            .bind(&revisions[..])
            .bind(&last_seen[..])
            .bind(&lifetime_ends[..])
            .bind(&versions[..])
            .bind(&devices[..])
            .bind(&addresses[..])
            .bind(&nows[..]);
        let rows = match fetch_shared(lease, query).await {
            Ok(rows) => rows,
            Err(error) => {
                drop(turn);
                taken.rerun();
                return self
                    .after_failed_batch(error, || async {
                        self.update_alone(self.connections.lease().await?, key, w, now)
                            .await
                    })
                    .await;
            }
        };
        drop(turn);
        let mut written = vec![false; calls.len()];
        for row in rows {
            let at = row.try_get::<i64, _>(0)?;
            if let Some(slot) = ordinal(at).and_then(|i| written.get_mut(i)) {
                *slot = true;
            }
        }
        Ok(taken.answer(written).unwrap_or_default())
    }

    /// After a shared statement failed with `error`: a broken connection goes back to
    /// [`run`](crate::storage::sql::call::run), which sends the call again; any other error may
    /// come from another call's values, so this call runs its own statement (`alone`).
    async fn after_failed_batch<T, F, Fut>(
        &self,
        error: sqlx::Error,
        alone: F,
    ) -> Result<T, sqlx::Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        if is_dead_connection(&error) {
            return Err(error);
        }
        tracing::debug!(%error, "PostgreSQL session storage: a shared statement failed; each call runs its own");
        alone().await
    }
}

/// The rows of the shared statement `query`, sent on `lease`, whose connection is then ready
/// for the next call; if it fails, the connection is closed.
async fn fetch_shared(
    mut lease: Lease<'_, Postgres>,
    query: Query<'_, Postgres, PgArguments>,
) -> Result<Vec<PgRow>, sqlx::Error> {
    let rows = query.fetch_all(lease.connection()?).await?;
    lease.done();
    Ok(rows)
}

/// The index of the call whose ordinal (from 1) a row carries.
fn ordinal(at: i64) -> Option<usize> {
    usize::try_from(at.checked_sub(1)?).ok()
}

/// The error of an update whose shared statement was abandoned by the call that sent it: the
/// database may still apply it, so whether this update was applied is unknown.
fn abandoned() -> sqlx::Error {
    sqlx::Error::Protocol(
        "the shared statement that carried this update was cancelled after it was sent; whether it was applied is unknown".into(),
    )
}
