//! The connection to a single server of a storage with a client-side cache: one multiplexed
//! RESP3 connection, opened by the storage itself so that tracking is on before anything is
//! read through it.
//!
//! redis-rs's `ConnectionManager` reconnects by itself, but gives no way to run a command on a
//! new connection before others use it, and passes push messages on through a task of its own
//! (out of order with the replies). Here every connection is a plain `MultiplexedConnection`:
//!
//! 1. the cache starts a new generation (emptied, not serving);
//! 2. the connection is opened with a push handler bound to that generation, which the
//!    client calls inline, in the order the messages arrive on the socket;
//! 3. `CLIENT TRACKING ON BCAST PREFIX <prefix> NOLOOP` runs on it;
//! 4. only then is it published for requests, and the generation switched on.
//!
//! When the connection breaks (the client's disconnection notice, or an error or timeout of a
//! request), it is dropped and the cache reset at once; the next request opens a new one.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{
    AsyncConnectionConfig, Client, Cmd, Pipeline, PushInfo, PushKind, RedisError, RedisFuture,
    RedisResult, Value,
};

use super::cache::SharedCache;

/// A single-server connection with tracking; clones share it.
#[derive(Clone)]
pub(crate) struct Tracked(Arc<TrackedInner>);

/// What the clones of a [`Tracked`] share.
pub(crate) struct TrackedInner {
    client: Client,
    config: AsyncConnectionConfig,
    tracking: Cmd,
    cache: SharedCache,
    db: i64,
    current: Mutex<Option<Live>>,
    /// Held while a connection is being opened, so that one request opens it for all.
    opening: tokio::sync::Mutex<()>,
}

/// The connection in use and the cache generation it belongs to.
#[derive(Clone)]
struct Live {
    generation: u64,
    conn: MultiplexedConnection,
}

impl Tracked {
    /// Opens the first connection (an error if the server cannot be reached or refuses
    /// tracking).
    pub(crate) async fn open(
        client: Client,
        config: AsyncConnectionConfig,
        tracking: Cmd,
        cache: SharedCache,
    ) -> RedisResult<Tracked> {
        let db = client.get_connection_info().redis_settings().db();
        let tracked = Tracked(Arc::new(TrackedInner {
            client,
            config,
            tracking,
            cache,
            db,
            current: Mutex::new(None),
            opening: tokio::sync::Mutex::new(()),
        }));
        tracked.live().await?;
        Ok(tracked)
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Option<Live>> {
        self.0
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection in use, opening one if there is none.
    async fn live(&self) -> RedisResult<Live> {
        if let Some(live) = self.current().clone() {
            return Ok(live);
        }
        // Rare, and its future (a connect, then the tracking command) is large: boxed, so
        // that the future of every call that finds a connection stays small.
        Box::pin(self.open_live()).await
    }

    /// Opens a connection with tracking and publishes it (unless another call just did).
    async fn open_live(&self) -> RedisResult<Live> {
        let _opening = self.0.opening.lock().await;
        if let Some(live) = self.current().clone() {
            return Ok(live);
        }
        let generation = self.0.cache.reset();
        let weak = Arc::downgrade(&self.0);
        let config = self
            .0
            .config
            .clone()
            .set_push_sender(move |push: PushInfo| {
                on_push(&weak, generation, &push);
                Ok::<(), Infallible>(())
            });
        let mut conn = self
            .0
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        conn.req_packed_command(&self.0.tracking)
            .await?
            .extract_error()?;
        let live = Live { generation, conn };
        *self.current() = Some(live.clone());
        self.0.cache.confirm(generation);
        tracing::debug!(
            generation,
            "Redis client-side cache: tracking connection open"
        );
        Ok(live)
    }

    /// Drops the connection of `generation` (if it is still the one in use) and resets the
    /// cache: invalidations may have been lost with it.
    fn lost(&self, generation: u64) {
        lose(&self.0, generation);
    }

    /// The connection is in doubt (a request on it timed out): drop it.
    pub(crate) fn trouble(&self) {
        let generation = self.current().as_ref().map(|live| live.generation);
        if let Some(generation) = generation {
            self.lost(generation);
        }
    }

    /// A `PING` on the connection in use (opening one if needed): whether it answered.
    pub(crate) async fn ping(&self) -> bool {
        let mut me = self.clone();
        me.req_packed_command(&redis::cmd("PING")).await.is_ok()
    }

    /// Sends `cmd` and reads its reply, as [`req_packed_command`] does, without boxing the
    /// call twice (the hot path: a load's `GET`, an update's `SET`).
    ///
    /// [`req_packed_command`]: ConnectionLike::req_packed_command
    pub(crate) async fn send(&self, cmd: &Cmd) -> RedisResult<Value> {
        let mut live = self.live().await?;
        let result = live.conn.send_packed_command(cmd).await;
        self.finish(live.generation, result)
    }

    /// Whether `weak` still refers to a live storage's connection.
    pub(crate) fn upgrade(weak: &Weak<TrackedInner>) -> Option<Tracked> {
        weak.upgrade().map(Tracked)
    }

    pub(crate) fn downgrade(&self) -> Weak<TrackedInner> {
        Arc::downgrade(&self.0)
    }

    fn finish<T>(&self, generation: u64, result: RedisResult<T>) -> RedisResult<T> {
        if let Err(error) = &result
            && breaks_connection(error)
        {
            self.lost(generation);
        }
        result
    }
}

/// The connection of `generation` is gone: drop it if it is still the one in use, and reset
/// the cache if that generation is still current (even if the connection was never
/// published: it may have died between its tracking and its publication).
fn lose(inner: &TrackedInner, generation: u64) {
    {
        let mut current = inner.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|l| l.generation == generation) {
            *current = None;
        }
    }
    if inner.cache.generation() == generation {
        tracing::debug!(
            generation,
            "Redis client-side cache: connection lost; emptied"
        );
        inner.cache.reset();
    }
}

/// A push message of the connection of `generation`, in the order it arrived.
fn on_push(weak: &Weak<TrackedInner>, generation: u64, push: &PushInfo) {
    let Some(inner) = weak.upgrade() else {
        return;
    };
    if push.kind == PushKind::Disconnection {
        lose(&inner, generation);
    } else {
        inner.cache.on_push(push);
    }
}

/// Whether `error` means the connection is gone or in doubt.
fn breaks_connection(error: &RedisError) -> bool {
    error.is_unrecoverable_error()
        || error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
}

impl ConnectionLike for Tracked {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(self.send(cmd))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let mut live = self.live().await?;
            let result = live.conn.req_packed_commands(pipeline, offset, count).await;
            self.finish(live.generation, result)
        })
    }

    fn get_db(&self) -> i64 {
        self.0.db
    }
}
