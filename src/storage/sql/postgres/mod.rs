//! The PostgreSQL storage.

mod batched;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use self::batched::Batches;
use super::call::Limits;
use super::connections::Connections;
use super::queries::sql_storage;
use super::statements::{Dialect, Statements};
use super::{Durability, TableName};
use crate::storage::StorageError;

/// Sessions in a PostgreSQL table, with conditional updates and the principal index. See the
/// [module documentation](super) for the table and its migration, expiry, the principal index,
/// what each operation costs, and the behaviour in an outage.
///
/// Cheap to clone: clones share one connection pool.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use typed_sessions::SessionsConfig;
/// use typed_sessions::storage::PostgresStorage;
///
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct UserSession { user: String }
///
/// let storage = PostgresStorage::connect("postgres://app:secret@127.0.0.1:5432/app").await?;
/// let sessions = SessionsConfig::new()
///     .cookie_with_storage::<UserSession, _>("session", storage, |c| c)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStorage {
    pool: PgPool,
    connections: Arc<Connections<sqlx::Postgres>>,
    batches: Arc<Batches>,
    sql: Arc<Statements>,
    limits: Limits,
    table: TableName,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("table", &self.table)
            .field("timeout", &self.limits.timeout)
            .finish_non_exhaustive()
    }
}

/// Options for a [`PostgresStorage`].
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use typed_sessions::storage::PostgresStorage;
/// use typed_sessions::storage::sql::TableName;
///
/// let storage = PostgresStorage::builder()
///     .table(TableName::new("shop_sessions")?)
///     .timeout(Duration::from_secs(1))
///     .max_connections(20)
///     .connect("postgresql://app@db.internal/app?sslmode=disable")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `connect` is awaited"]
pub struct PostgresStorageBuilder {
    table: TableName,
    timeout: Duration,
    max_connections: u32,
    durability: Durability,
}

impl Default for PostgresStorageBuilder {
    fn default() -> Self {
        PostgresStorageBuilder {
            table: TableName::default(),
            timeout: crate::storage::DEFAULT_CALL_TIMEOUT,
            max_connections: 10,
            durability: Durability::Full,
        }
    }
}

impl PostgresStorageBuilder {
    /// The sessions table (default `typed_sessions`).
    pub fn table(mut self, table: TableName) -> Self {
        self.table = table;
        self
    }

    /// The longest one call may take, waiting for a connection included (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most connections the storage opens for its session calls (default 10). They are
    /// its own, not its [`pool`](PostgresStorage::pool)'s: a session call takes one and gives
    /// it back without the round trip that sqlx's pool makes to test every connection given
    /// back to it, so a call costs one round trip per statement. The pool, which opens at
    /// most as many again and only when used, runs the migration, the sweep, the statistics
    /// and your own queries.
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Whether session writes wait for their WAL flush (default [`Durability::Full`]);
    /// [`Durability::Relaxed`] sets `synchronous_commit=off` on this storage's connections
    /// only, and says what a database crash can then lose.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Connects to the database `url` names (`postgres://` or `postgresql://`, with any
    /// parameter libpq-style URLs take, such as `sslmode`; TLS needs the `rustls` feature),
    /// then creates, migrates or checks the sessions table (see the
    /// [module documentation](super#versions-and-migration)).
    ///
    /// Fails with [`Unavailable`](crate::storage::StorageErrorKind::Unavailable) if the
    /// database cannot be reached within the timeout, and with
    /// [`Backend`](crate::storage::StorageErrorKind::Backend) for a malformed URL or a table
    /// that cannot be used.
    pub async fn connect(self, url: &str) -> Result<PostgresStorage, StorageError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|error| StorageError::backend("invalid PostgreSQL URL").with_source(error))?;
        self.connect_with(options).await
    }

    /// Like [`connect`](Self::connect), with sqlx's connection options.
    pub async fn connect_with(
        self,
        options: PgConnectOptions,
    ) -> Result<PostgresStorage, StorageError> {
        let mut options = options.application_name("typed-sessions");
        if self.durability == Durability::Relaxed {
            options = options.options([("synchronous_commit", "off")]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(self.max_connections)
            .min_connections(0)
            .acquire_timeout(self.timeout)
            .test_before_acquire(false)
            .connect_lazy_with(options.clone());
        let storage = PostgresStorage {
            pool,
            connections: Arc::new(Connections::kept(options, self.max_connections)),
            batches: Arc::new(Batches::new(&self.table)),
            sql: Arc::new(Statements::new(Dialect::Postgres, &self.table)),
            limits: Limits {
                timeout: self.timeout,
                retries: self.max_connections,
                retry_busy: false,
            },
            table: self.table,
        };
        storage.migrate().await?;
        Ok(storage)
    }
}

impl PostgresStorage {
    /// Connects with the default table, timeout and pool size. See
    /// [`PostgresStorageBuilder::connect`].
    pub async fn connect(url: &str) -> Result<PostgresStorage, StorageError> {
        PostgresStorageBuilder::default().connect(url).await
    }

    /// Options: table, timeout, connections, durability.
    pub fn builder() -> PostgresStorageBuilder {
        PostgresStorageBuilder::default()
    }

    /// The sessions table.
    pub fn table(&self) -> &TableName {
        &self.table
    }

    /// The connection pool, for queries of your own (such as counting sessions). The storage
    /// runs its migration, sweep and statistics on it; its session calls run on connections
    /// of its own (see [`PostgresStorageBuilder::max_connections`]).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

sql_storage!(PostgresStorage, sqlx::Postgres, "postgres");
