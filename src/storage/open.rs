//! Opening a storage from one setting: a URL.

use std::sync::Arc;
use std::time::Duration;

use super::{SessionStorage, StorageError};

/// Why [`open_url`] could not open a storage.
///
/// Messages never repeat the URL, which may hold a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The URL's scheme names no storage.
    #[error(
        "unknown session storage scheme `{scheme}`: use a directory path, dir://, memory://, redis://, rediss://, redis+cluster://, rediss+cluster://, postgres://, postgresql:// or sqlite://"
    )]
    UnknownScheme {
        /// The scheme, lowercased (empty if the setting has none).
        scheme: String,
    },
    /// The scheme names a storage this build does not include.
    #[error("session storage `{scheme}://` needs the `{feature}` feature of typed-sessions")]
    FeatureDisabled {
        /// The scheme.
        scheme: String,
        /// The cargo feature to enable.
        feature: &'static str,
    },
    /// The URL is malformed, or one of its options is.
    #[error("invalid session storage URL: {reason}")]
    InvalidUrl {
        /// What is wrong.
        reason: String,
    },
    /// The storage could not be reached or set up.
    #[error("cannot open the session storage: {0}")]
    Storage(#[source] StorageError),
}

/// The options `open_url` reads from the URL's query, removed before the rest goes to the
/// backend.
#[derive(Debug, Default)]
struct Options {
    prefix: Option<String>,
    table: Option<String>,
    timeout: Option<Duration>,
    /// `durability=relaxed` (SQL storages).
    relaxed: bool,
}

/// Opens the storage `url` names, ready to share between sessions (pass it, or clones of it,
/// to [`SessionsConfig::cookie_with_storage`](crate::SessionsConfig::cookie_with_storage) and
/// [`header_with_storage`](crate::SessionsConfig::header_with_storage)):
///
/// | URL | storage | feature |
/// |---|---|---|
#[cfg_attr(
    feature = "redis",
    doc = "| `redis://[user:password@]host[:port][/db]`, `rediss://...` | [`RedisStorage`](crate::storage::RedisStorage) | `redis` (+ `rustls` for `rediss`) |"
)]
#[cfg_attr(
    not(feature = "redis"),
    doc = "| `redis://[user:password@]host[:port][/db]`, `rediss://...` | `RedisStorage` | `redis` (+ `rustls` for `rediss`) |"
)]
#[cfg_attr(
    feature = "redis",
    doc = "| `redis+cluster://[user:password@]host1:port1,host2:port2,...`, `rediss+cluster://...` | [`RedisStorage`](crate::storage::RedisStorage) on a Cluster | `redis` |"
)]
#[cfg_attr(
    not(feature = "redis"),
    doc = "| `redis+cluster://[user:password@]host1:port1,host2:port2,...`, `rediss+cluster://...` | `RedisStorage` on a Cluster | `redis` |"
)]
#[cfg_attr(
    feature = "postgres",
    doc = "| `postgres://...`, `postgresql://...` | [`PostgresStorage`](crate::storage::PostgresStorage) | `postgres` |"
)]
#[cfg_attr(
    not(feature = "postgres"),
    doc = "| `postgres://...`, `postgresql://...` | `PostgresStorage` | `postgres` |"
)]
#[cfg_attr(
    feature = "sqlite",
    doc = "| `sqlite://path/to/file.db`, `sqlite:///absolute/path.db`, `sqlite::memory:` | [`SqliteStorage`](crate::storage::SqliteStorage) | `sqlite` |"
)]
#[cfg_attr(
    not(feature = "sqlite"),
    doc = "| `sqlite://path/to/file.db`, `sqlite:///absolute/path.db`, `sqlite::memory:` | `SqliteStorage` | `sqlite` |"
)]
/// | a plain path, `dir://path`, `file://path`; with `?layout=ktor` for Ktor's layout | [`DirectoryStorage`](crate::storage::DirectoryStorage) | (none; Unix) |
/// | `memory://` | [`MemoryStorage`](crate::storage::MemoryStorage) | (none) |
///
/// Options in the query string, taken out before the URL reaches the backend:
/// `timeout_ms=N` (each call's time limit, default 2000), `prefix=TEXT` (Redis key prefix,
/// default `typed-sessions:`), `table=NAME` (SQL table, default `typed_sessions`),
/// `durability=relaxed` (SQL storages: see [`Durability`](crate::storage::sql::Durability);
/// default `full`).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use typed_sessions::SessionsConfig;
/// use typed_sessions::storage::open_url;
///
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct UserSession { user: String }
///
/// let url = std::env::var("SESSION_STORAGE")
///     .unwrap_or_else(|_| "redis://127.0.0.1:6379/0?prefix=demo:".into());
/// let storage = open_url(&url).await?;
/// let sessions = SessionsConfig::new()
///     .cookie_with_storage::<UserSession, _>("session", storage, |c| c)
///     .build()?;
/// # Ok(()) }
/// ```
pub async fn open_url(url: &str) -> Result<Arc<dyn SessionStorage>, OpenError> {
    let url = url.trim();
    let scheme = scheme(url);
    let (url, options) = take_options(url)?;
    match scheme.as_str() {
        "redis" | "rediss" | "redis+cluster" | "rediss+cluster" | "redis+unix" => {
            open_redis(&scheme, &url, options).await
        }
        "postgres" | "postgresql" => open_postgres(&scheme, &url, options).await,
        "sqlite" => open_sqlite(&scheme, &url, options).await,
        "memory" => Ok(Arc::new(super::MemoryStorage::new())),
        "dir" | "file" | "" => open_directory(&url),
        _ => Err(OpenError::UnknownScheme { scheme }),
    }
}

/// A directory storage at `dir://path`, `file://path` or a plain path; `dir+ktor://path` (or
/// `?layout=ktor`) for the Ktor-compatible layout.
#[cfg(unix)]
fn open_directory(url: &str) -> Result<Arc<dyn SessionStorage>, OpenError> {
    let (path, ktor) = match url.split_once('?') {
        Some((path, "layout=ktor")) => (path, true),
        Some(_) => {
            return Err(OpenError::InvalidUrl {
                reason: "the only option of a directory storage is `layout=ktor`".into(),
            });
        }
        None => (url, false),
    };
    let path = ["dir://", "file://"]
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix))
        .unwrap_or(path);
    if path.is_empty() {
        return Err(OpenError::InvalidUrl {
            reason: "a directory storage needs a path".into(),
        });
    }
    let storage = if ktor {
        super::DirectoryStorage::ktor_compatible(path)
    } else {
        super::DirectoryStorage::open(path)
    };
    storage
        .map(|s| Arc::new(s) as Arc<dyn SessionStorage>)
        .map_err(OpenError::Storage)
}

#[cfg(not(unix))]
fn open_directory(_url: &str) -> Result<Arc<dyn SessionStorage>, OpenError> {
    Err(OpenError::InvalidUrl {
        reason: "the directory storage is available on Unix only".into(),
    })
}

/// The lowercased scheme: what comes before `://`, or before `:` for `sqlite:...`.
fn scheme(url: &str) -> String {
    let end = url.find("://").or_else(|| {
        url.to_ascii_lowercase()
            .starts_with("sqlite:")
            .then_some("sqlite".len())
    });
    end.and_then(|end| url.get(..end))
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Splits our options off the query string; the other parameters stay for the backend.
fn take_options(url: &str) -> Result<(String, Options), OpenError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), Options::default()));
    };
    let mut options = Options::default();
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "prefix" => options.prefix = Some(percent_decode(value)?),
            "table" => options.table = Some(percent_decode(value)?),
            "durability" => {
                options.relaxed = match value {
                    "full" => false,
                    "relaxed" => true,
                    _ => {
                        return Err(OpenError::InvalidUrl {
                            reason: "durability must be `full` or `relaxed`".into(),
                        });
                    }
                }
            }
            "timeout_ms" => {
                let ms: u64 = value.parse().map_err(|_| OpenError::InvalidUrl {
                    reason: "timeout_ms must be a whole number of milliseconds".into(),
                })?;
                options.timeout = Some(Duration::from_millis(ms.max(1)));
            }
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, options))
}

/// An option value of the URL's query, decoded as a form value (`%XX`, `+` for a space).
fn percent_decode(text: &str) -> Result<String, OpenError> {
    crate::codec::percent::decode(text, true)
        .map(std::borrow::Cow::into_owned)
        .ok_or_else(|| OpenError::InvalidUrl {
            reason: "an option value has a malformed %-escape or is not UTF-8".into(),
        })
}

#[cfg(feature = "redis")]
async fn open_redis(
    _scheme: &str,
    url: &str,
    options: Options,
) -> Result<Arc<dyn SessionStorage>, OpenError> {
    if options.table.is_some() || options.relaxed {
        return Err(OpenError::InvalidUrl {
            reason:
                "`table` and `durability` are options of the SQL storages; Redis takes `prefix`"
                    .into(),
        });
    }
    super::redis::connection::Target::parse(url)
        .map_err(|reason| OpenError::InvalidUrl { reason })?;
    let mut builder = super::RedisStorage::builder();
    if let Some(prefix) = options.prefix {
        builder = builder.prefix(prefix);
    }
    if let Some(timeout) = options.timeout {
        builder = builder.timeout(timeout);
    }
    let storage = builder.connect(url).await.map_err(OpenError::Storage)?;
    Ok(Arc::new(storage))
}

#[cfg(not(feature = "redis"))]
async fn open_redis(
    scheme: &str,
    _url: &str,
    _options: Options,
) -> Result<Arc<dyn SessionStorage>, OpenError> {
    Err(OpenError::FeatureDisabled {
        scheme: scheme.into(),
        feature: "redis",
    })
}

#[cfg(any(feature = "postgres", feature = "sqlite"))]
fn sql_options(options: &Options) -> Result<Option<super::sql::TableName>, OpenError> {
    if options.prefix.is_some() {
        return Err(OpenError::InvalidUrl {
            reason: "`prefix` is an option of the Redis storage; SQL storages take `table`".into(),
        });
    }
    options
        .table
        .as_deref()
        .map(super::sql::TableName::new)
        .transpose()
        .map_err(|e| OpenError::InvalidUrl {
            reason: e.to_string(),
        })
}

#[cfg(feature = "postgres")]
async fn open_postgres(
    _scheme: &str,
    url: &str,
    options: Options,
) -> Result<Arc<dyn SessionStorage>, OpenError> {
    use std::str::FromStr;
    let table = sql_options(&options)?;
    let connect =
        sqlx::postgres::PgConnectOptions::from_str(url).map_err(|_| OpenError::InvalidUrl {
            reason: "not a valid PostgreSQL URL".into(),
        })?;
    let mut builder = super::PostgresStorage::builder();
    if let Some(table) = table {
        builder = builder.table(table);
    }
    if options.relaxed {
        builder = builder.durability(super::sql::Durability::Relaxed);
    }
    if let Some(timeout) = options.timeout {
        builder = builder.timeout(timeout);
    }
    let storage = builder
        .connect_with(connect)
        .await
        .map_err(OpenError::Storage)?;
    Ok(Arc::new(storage))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(
    scheme: &str,
    _url: &str,
    _options: Options,
) -> Result<Arc<dyn SessionStorage>, OpenError> {
    Err(OpenError::FeatureDisabled {
        scheme: scheme.into(),
        feature: "postgres",
    })
}

#[cfg(feature = "sqlite")]
async fn open_sqlite(
    _scheme: &str,
    url: &str,
    options: Options,
) -> Result<Arc<dyn SessionStorage>, OpenError> {
    use std::str::FromStr;
    let table = sql_options(&options)?;
    let connect =
        sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(|_| OpenError::InvalidUrl {
            reason: "not a valid SQLite URL".into(),
        })?;
    let mut builder = super::SqliteStorage::builder();
    if let Some(table) = table {
        builder = builder.table(table);
    }
    if options.relaxed {
        builder = builder.durability(super::sql::Durability::Relaxed);
    }
    if let Some(timeout) = options.timeout {
        builder = builder.timeout(timeout);
    }
    let storage = builder
        .connect_with(connect)
        .await
        .map_err(OpenError::Storage)?;
    Ok(Arc::new(storage))
}

#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(
    scheme: &str,
    _url: &str,
    _options: Options,
) -> Result<Arc<dyn SessionStorage>, OpenError> {
    Err(OpenError::FeatureDisabled {
        scheme: scheme.into(),
        feature: "sqlite",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(scheme("redis://h"), "redis");
        assert_eq!(scheme("REDIS+Cluster://h:1,h:2"), "redis+cluster");
        assert_eq!(scheme("sqlite::memory:"), "sqlite");
        assert_eq!(scheme("sqlite://x.db"), "sqlite");
        assert_eq!(scheme("/var/lib/sessions"), "");
        assert_eq!(scheme("ünï://x"), "ünï");
    }

    #[test]
    fn options_are_taken_out_of_the_query() {
        let (url, options) =
            take_options("redis://h:1/0?prefix=app%3As%3A&protocol=resp3&timeout_ms=250").unwrap();
        assert_eq!(url, "redis://h:1/0?protocol=resp3");
        assert_eq!(options.prefix.as_deref(), Some("app:s:"));
        assert_eq!(options.timeout, Some(Duration::from_millis(250)));
        let (url, options) = take_options("postgres://u@h/db?table=shop").unwrap();
        assert_eq!(url, "postgres://u@h/db");
        assert_eq!(options.table.as_deref(), Some("shop"));
        assert!(take_options("redis://h?timeout_ms=soon").is_err());
        assert!(take_options("redis://h?prefix=%zz").is_err());
    }

    #[tokio::test]
    async fn unknown_schemes_are_typed_errors_that_hide_the_url() {
        for url in ["http://user:hunter2@h/", "mysql://h/db", "ftp://h/x"] {
            let err = open_url(url)
                .await
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.starts_with("unknown session storage scheme"),
                "{url}: {err}"
            );
            assert!(!err.contains("hunter2"), "{err}");
        }
        // No scheme means a directory path, and an empty path is refused.
        assert!(matches!(
            open_url("").await,
            Err(OpenError::InvalidUrl { .. })
        ));
    }
}
