//! The SQLite storage: an embedded, single-file choice.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::call::Limits;
use super::connections::Connections;
use super::queries::sql_storage;
use super::statements::{Dialect, Statements};
use super::{Durability, TableName};
use crate::storage::StorageError;

/// Sessions in an SQLite database file, with conditional updates and the principal index. See
/// the [module documentation](super) for the table and its migration, expiry, the principal
/// index, what each operation costs, and the behaviour in an outage.
///
/// The file is opened in WAL mode (readers never wait for the writer) with
/// `synchronous=FULL` (each commit on disk when it returns; [`Durability::Relaxed`] chooses
/// `NORMAL`, durable across application crashes, where an operating-system crash or a power
/// loss may take the last writes) and a busy timeout equal to the call timeout. A new file is created with
/// permissions 0600, and its directory if missing. Cheap to clone: clones share one pool.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use typed_sessions::SessionsConfig;
/// use typed_sessions::storage::SqliteStorage;
///
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct UserSession { user: String }
///
/// let storage = SqliteStorage::open("data/sessions.db").await?;
/// let sessions = SessionsConfig::new()
///     .cookie_with_storage::<UserSession, _>("session", storage, |c| c)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteStorage {
    pool: SqlitePool,
    connections: Arc<Connections<sqlx::Sqlite>>,
    sql: Arc<Statements>,
    limits: Limits,
    table: TableName,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("table", &self.table)
            .field("timeout", &self.limits.timeout)
            .finish_non_exhaustive()
    }
}

/// Options for a [`SqliteStorage`].
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use typed_sessions::storage::SqliteStorage;
/// use typed_sessions::storage::sql::TableName;
///
/// let storage = SqliteStorage::builder()
///     .table(TableName::new("sessions")?)
///     .timeout(Duration::from_secs(5))
///     .open("/var/lib/myapp/sessions.db")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `open` or `connect` is awaited"]
pub struct SqliteStorageBuilder {
    table: TableName,
    timeout: Duration,
    max_connections: u32,
    durability: Durability,
}

impl Default for SqliteStorageBuilder {
    fn default() -> Self {
        SqliteStorageBuilder {
            table: TableName::default(),
            timeout: crate::storage::DEFAULT_CALL_TIMEOUT,
            max_connections: 4,
            durability: Durability::Full,
        }
    }
}

impl SqliteStorageBuilder {
    /// The sessions table (default `typed_sessions`).
    pub fn table(mut self, table: TableName) -> Self {
        self.table = table;
        self
    }

    /// The longest one call may take, waiting for the write lock included (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most connections the pool opens (default 4; SQLite has one writer at a time).
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Whether each commit is flushed to disk (default [`Durability::Full`]:
    /// `synchronous=FULL`); [`Durability::Relaxed`] chooses `synchronous=NORMAL`, and says what
    /// a crash can then lose.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Opens (creating if needed) the database file at `path`, then creates, migrates or
    /// checks the sessions table (see the [module documentation](super#versions-and-migration)).
    pub async fn open(self, path: impl AsRef<Path>) -> Result<SqliteStorage, StorageError> {
        self.connect_with(SqliteConnectOptions::new().filename(path))
            .await
    }

    /// Opens the database an sqlx SQLite URL names: `sqlite://relative/path.db`,
    /// `sqlite:///absolute/path.db`, or `sqlite::memory:` (an in-process database on one
    /// connection, gone when the storage is dropped; for tests and demos).
    pub async fn connect(self, url: &str) -> Result<SqliteStorage, StorageError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|error| StorageError::backend("invalid SQLite URL").with_source(error))?;
        self.connect_with(options).await
    }

    /// Like [`open`](Self::open), with sqlx's connection options (journal mode, busy timeout
    /// and file creation are set on top of them).
    pub async fn connect_with(
        self,
        options: SqliteConnectOptions,
    ) -> Result<SqliteStorage, StorageError> {
        let path = options.get_filename().to_owned();
        let in_memory = path.as_os_str().is_empty()
            || path.to_string_lossy().contains(":memory:")
            || path.to_string_lossy().starts_with("file:sqlx-in-memory");
        if !in_memory {
            prepare_file(&path).await?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(if in_memory {
                SqliteJournalMode::Memory
            } else {
                SqliteJournalMode::Wal
            })
            .synchronous(match self.durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Relaxed => SqliteSynchronous::Normal,
            })
            .busy_timeout(self.timeout);
        let mut pool = SqlitePoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.timeout)
            .test_before_acquire(false);
        if in_memory {
            // One connection, kept for good: the database lives as long as a connection does,
            // and shared-cache locks (unlike file locks) do not wait for the busy timeout.
            pool = pool
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = pool.connect_lazy_with(options);
        let storage = SqliteStorage {
            connections: Arc::new(Connections::Pool(pool.clone())),
            pool,
            sql: Arc::new(Statements::new(Dialect::Sqlite, &self.table)),
            limits: Limits {
                timeout: self.timeout,
                retries: 0,
                retry_busy: false,
            },
            table: self.table,
        };
        storage.migrate().await?;
        Ok(storage)
    }
}

/// Creates the file's directory if missing, and the file itself with permissions 0600 (SQLite
/// gives its `-wal` and `-shm` files the same permissions).
async fn prepare_file(path: &Path) -> Result<(), StorageError> {
    let failed = |what: &str, error: std::io::Error| {
        StorageError::backend(format!("SQLite session storage: cannot {what}")).with_source(error)
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| failed("create the database directory", e))?;
    }
    let mut open = tokio::fs::OpenOptions::new();
    open.write(true).create(true).truncate(false);
    #[cfg(unix)]
    open.mode(0o600);
    open.open(path)
        .await
        .map_err(|e| failed("create the database file", e))?;
    Ok(())
}

impl SqliteStorage {
    /// Opens (creating if needed) the database file at `path` with the default table and
    /// timeout.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), typed_sessions::storage::StorageError> {
    /// let storage = typed_sessions::storage::SqliteStorage::open("sessions.db").await?;
    /// # Ok(()) }
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteStorage, StorageError> {
        SqliteStorageBuilder::default().open(path).await
    }

    /// Opens the database an sqlx SQLite URL names; see [`SqliteStorageBuilder::connect`].
    pub async fn connect(url: &str) -> Result<SqliteStorage, StorageError> {
        SqliteStorageBuilder::default().connect(url).await
    }

    /// Options: table, timeout, pool size.
    pub fn builder() -> SqliteStorageBuilder {
        SqliteStorageBuilder::default()
    }

    /// The sessions table.
    pub fn table(&self) -> &TableName {
        &self.table
    }

    /// The connection pool, for queries of your own.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

sql_storage!(SqliteStorage, sqlx::Sqlite, "sqlite");

impl SqliteStorage {
    /// A `load` on a pooled connection.
    async fn load_row(
        &self,
        key: &str,
        now: i64,
    ) -> Result<Option<sqlx::sqlite::SqliteRow>, sqlx::Error> {
        self.load_alone(self.connections.lease().await?, key, now)
            .await
    }

    /// An `update` on a pooled connection.
    async fn update_row(
        &self,
        key: &str,
        w: &super::row::Written<'_>,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        self.update_alone(self.connections.lease().await?, key, w, now)
            .await
    }
}
