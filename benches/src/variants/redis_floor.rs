//! The floor of a Redis session: the baseline's routes, where `/counter` makes one `SET` round
//! trip to Redis and nothing else (no session, no cookie, no read).
//!
//! A sticky `/counter` changes its session on every request, so any storage that keeps the
//! session in Redis, with or without a local cache of reads, writes it there once per request:
//! this variant is that write alone, through the client this library uses (redis-rs, one
//! multiplexed connection), so the difference between it and the baseline is what one Redis
//! round trip costs on the machine, Redis's own CPU included.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use redis::aio::MultiplexedConnection;

use super::BoxError;
use crate::app::{COUNTER_PATH, LARGE_PATH, UNTOUCHED_BODY, UNTOUCHED_PATH};

/// The value written: about as long as the record the Redis storage writes for the benchmark's
/// counter session (a 42-byte header and the JSON count).
const VALUE: [u8; VALUE_LEN] = [b'v'; VALUE_LEN];
/// [`VALUE`]'s length in bytes.
pub const VALUE_LEN: usize = 64;
/// How many keys the writes cycle through (the sessions of a load are a few hundred).
const KEYS: u64 = 1024;
/// How long a written key lives, in milliseconds (30 minutes: any expiry does, the keys are
/// rewritten long before).
const TTL_MILLIS: u64 = 30 * 60 * 1000;

#[derive(Clone)]
struct Floor {
    conn: MultiplexedConnection,
    next: Arc<AtomicU64>,
}

/// The router: `/counter` and `/large` write one key and answer `1`, `/untouched` its constant
/// with no round trip.
pub async fn router(url: &str) -> Result<Router, BoxError> {
    let client = redis::Client::open(url)?;
    // No response timeout: redis-rs's arms a timer per command, and the floor is the cheapest
    // round trip (the storage bounds its calls with a deadline of its own).
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let floor = Floor {
        conn,
        next: Arc::new(AtomicU64::new(0)),
    };
    Ok(Router::new()
        .route(COUNTER_PATH, get(write_one))
        .route(LARGE_PATH, get(write_one))
        .route(UNTOUCHED_PATH, get(|| async { UNTOUCHED_BODY }))
        .with_state(floor))
}

/// One `SET key value PX ttl`; a failed write is a 503, as a storage outage is for a session.
async fn write_one(State(floor): State<Floor>) -> Result<&'static str, StatusCode> {
    let n = floor.next.fetch_add(1, Ordering::Relaxed) % KEYS;
    let mut conn = floor.conn;
    let mut set = redis::cmd("SET");
    // As long as a record key: a prefix and 64 hexadecimal digits.
    set.arg(format!("floor:{n:064x}"))
        .arg(&VALUE[..])
        .arg("PX")
        .arg(TTL_MILLIS);
    set.query_async::<()>(&mut conn)
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    Ok("1")
}
