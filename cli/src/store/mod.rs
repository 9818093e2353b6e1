//! `typed-sessions store`: operations on a session storage given by URL or path, the forms of
//! `typed_sessions::storage::open_url`.

mod clear;
mod principal;
mod purge;
mod stats;

use std::path::Path;
use std::sync::Arc;

use clap::{Args, Subcommand};
use typed_sessions::storage::{OpenError, Principals, SessionStorage, open_url};

use crate::error::CliError;
use crate::output::Output;

/// The storage forms, for every `store` command's help.
const STORAGE_HELP: &str = "\
The storage, as typed_sessions::storage::open_url takes it:
  /var/lib/app/sessions, dir:///var/lib/app/sessions   a directory (add ?layout=ktor for Ktor's layout)
  redis://[user:password@]host[:port][/db]              Redis (rediss:// needs the rustls build)
  redis+cluster://host1:port1,host2:port2               a Redis Cluster (every primary is visited)
  postgres://user[:password]@host[:port]/db             PostgreSQL
  sqlite:///absolute/path.db, sqlite://relative.db      SQLite
  memory://                                             a new, empty in-process storage (for trying)
Options in the query: prefix=TEXT (Redis key prefix), table=NAME (SQL table), timeout_ms=N
(each call's limit, default 2000). A directory or SQLite file that does not exist is an error:
the tool never creates one. The URL is never printed (it may hold a password).";

const STATS_ABOUT: &str = "Count the sessions of a storage: live ones, expired ones still stored \
(what purge-expired would remove), unreadable ones, and the storage's size (what is measured \
depends on the backend: files and directories on disk, Redis memory, table and indexes, the \
SQLite file). It reads every record (Redis: SCAN, on every primary of a Cluster), creates and \
deletes nothing.\n\nExample:\n  $ typed-sessions store stats /var/lib/app/sessions\n  \
storage: directory\n  live: 1200\n  expired: 35\n  unreadable: 0\n  size: 6103040 bytes \
(5.8 MiB; session files and directories on disk)";

const PURGE_ABOUT: &str = "Delete the sessions that have expired, in batches (a directory one fan-out \
directory at a time, SQL --batch rows at a time), and print how many were removed. When \
standard output is a terminal and more than a few thousand sessions are stored, a progress bar \
shows on standard error. Redis expires sessions by itself: there is nothing to purge.\n\n\
Example:\n  $ typed-sessions store purge-expired /var/lib/app/sessions\n  \
storage: directory\n  removed: 35";

const CLEAR_ABOUT: &str = "End one session: delete its record from the storage (as a logout does), by \
its session's name (the cookie or header name it is registered under) and its id. The id is \
checked as the library checks ids (64 lowercase hex characters, or 1 to 128 characters from \
[A-Za-z0-9_-] for a custom generator) and looked up as the storages file it (SHA-256 of the \
session's name and the id). The id itself is never printed.\n\n\
Example:\n  $ echo \"$SESSION_ID\" | typed-sessions store clear /var/lib/app/sessions --session user_session -\n  \
storage: directory\n  removed: yes";

const SESSIONS_ABOUT: &str = "List a user's live sessions (the principal a by-id session is \
filed under), the most recently used first: when each started, was last seen and ends, its \
device (browser and operating system) and, if the application records it, its network. Each \
session is named by a handle, never by its id; `store end` takes the handle.\n\n\
Example:\n  $ typed-sessions store sessions /var/lib/app/sessions --session account ada\n  \
storage: directory\n  sessions: 1\n\n  handle: 3q2-7wA...\n  created: 2026-12-05T09:12:44Z (2 hours ago)\n  \
last seen: 2026-12-05T11:02:10Z (10 minutes ago)\n  expires: 2026-12-12T09:12:44Z (in 6 days)\n  \
device: Firefox on Linux";

const END_ABOUT: &str = "End a user's sessions through the principal index: one, by the handle \
`store sessions` printed (--handle), or all of them (--all: after a password reset, or to \
lock an account). A handle of another user's session ends nothing.\n\n\
Example:\n  $ typed-sessions store end /var/lib/app/sessions --session account ada --all\n  \
storage: directory\n  ended: 3";

/// The `store` commands.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Count the live, expired and unreadable sessions, and tell the storage's size.
    #[command(long_about = STATS_ABOUT)]
    Stats(StatsArgs),
    /// Delete the expired sessions, in batches, with a progress bar on long runs.
    #[command(long_about = PURGE_ABOUT)]
    PurgeExpired(PurgeArgs),
    /// End one session: delete it from the storage, by its id.
    #[command(long_about = CLEAR_ABOUT)]
    Clear(ClearArgs),
    /// List a user's live sessions (their devices), the most recently used first.
    #[command(long_about = SESSIONS_ABOUT)]
    Sessions(SessionsArgs),
    /// End one of a user's sessions, by handle, or all of them.
    #[command(long_about = END_ABOUT)]
    End(EndArgs),
}

/// Options of `store stats`.
#[derive(Debug, Args)]
#[command(after_help = STORAGE_HELP)]
pub struct StatsArgs {
    /// The storage: a URL or a directory path.
    #[arg(value_name = "STORAGE")]
    storage: String,
}

/// Options of `store purge-expired`.
#[derive(Debug, Args)]
#[command(after_help = STORAGE_HELP)]
pub struct PurgeArgs {
    /// The storage: a URL or a directory path.
    #[arg(value_name = "STORAGE")]
    storage: String,

    /// How many rows one SQL batch deletes.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    batch: u64,
}

/// Options of `store clear`.
#[derive(Debug, Args)]
#[command(after_help = STORAGE_HELP)]
pub struct ClearArgs {
    /// The storage: a URL or a directory path.
    #[arg(value_name = "STORAGE")]
    storage: String,

    /// The name the session is registered under (its cookie or header name): records are
    /// filed under the name and the id together.
    #[arg(long, value_name = "NAME")]
    session: String,

    /// The session id (the raw id, not the signed cookie value); `-` reads it from standard
    /// input, which keeps it out of shell history. (Custom ids may start with `-`.)
    #[arg(value_name = "SESSION_ID", allow_hyphen_values = true)]
    id: String,
}

/// Options of `store sessions`.
#[derive(Debug, Args)]
#[command(after_help = STORAGE_HELP)]
pub struct SessionsArgs {
    #[command(flatten)]
    user: UserArgs,
}

/// A user's sessions in a storage: what `store sessions` and `store end` act on.
#[derive(Debug, Args)]
struct UserArgs {
    /// The storage: a URL or a directory path.
    #[arg(value_name = "STORAGE")]
    storage: String,

    /// The name the session is registered under (its cookie or header name).
    #[arg(long, value_name = "NAME")]
    session: String,

    /// The user: the principal the application files the sessions under.
    #[arg(value_name = "PRINCIPAL")]
    principal: String,
}

impl UserArgs {
    /// The storage opened, and the index of the user's sessions in it.
    async fn principals(&self, out: &mut Output) -> Result<Principals, CliError> {
        let (storage, _) = open(&self.storage, out).await?;
        Ok(Principals::new(storage, &self.session))
    }
}

/// Options of `store end`.
#[derive(Debug, Args)]
#[command(after_help = STORAGE_HELP)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["handle", "all"])))]
pub struct EndArgs {
    #[command(flatten)]
    user: UserArgs,

    /// The session to end, as `store sessions` names it (handles may start with `-`).
    #[arg(long, value_name = "HANDLE", allow_hyphen_values = true)]
    handle: Option<String>,

    /// End every session of the user.
    #[arg(long)]
    all: bool,
}

/// Runs a `store` command on a new single-threaded runtime.
pub fn run(command: StoreCommand, out: &mut Output) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Storage(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        match command {
            StoreCommand::Stats(args) => {
                let (storage, kind) = open(&args.storage, out).await?;
                stats::run(storage.as_ref(), kind, out).await
            }
            StoreCommand::PurgeExpired(args) => {
                let (storage, kind) = open(&args.storage, out).await?;
                purge::run(storage.as_ref(), kind, args.batch, out).await
            }
            StoreCommand::Clear(args) => {
                let id = clear::parse_id(&args.id)?;
                let (storage, _) = open(&args.storage, out).await?;
                let namespace = typed_sessions::storage::Namespace::new(&args.session);
                clear::run(storage.as_ref(), namespace.key(&id), out).await
            }
            StoreCommand::Sessions(args) => {
                let principals = args.user.principals(out).await?;
                principal::list(&principals, &args.user.principal, out).await
            }
            StoreCommand::End(args) => {
                let which = match &args.handle {
                    Some(handle) => principal::Which::One(principal::parse_handle(handle)?),
                    None => principal::Which::All,
                };
                let principals = args.user.principals(out).await?;
                principal::end(&principals, &args.user.principal, which, out).await
            }
        }
    })
}

/// The kind of storage a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Directory,
    Memory,
    Redis,
    Postgres,
    Sqlite,
    Other,
}

impl Kind {
    fn of(url: &str) -> Kind {
        let lower = url.trim().to_ascii_lowercase();
        let scheme = lower.split_once("://").map_or("", |(scheme, _)| scheme);
        match scheme {
            "" if lower.starts_with("sqlite:") => Kind::Sqlite,
            "" | "dir" | "file" => Kind::Directory,
            "memory" => Kind::Memory,
            "redis" | "rediss" | "redis+cluster" | "rediss+cluster" | "redis+unix" => Kind::Redis,
            "postgres" | "postgresql" => Kind::Postgres,
            "sqlite" => Kind::Sqlite,
            _ => Kind::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Directory => "directory",
            Kind::Memory => "memory",
            Kind::Redis => "redis",
            Kind::Postgres => "postgres",
            Kind::Sqlite => "sqlite",
            Kind::Other => "other",
        }
    }
}

/// Opens the storage, after checking that a directory or SQLite file exists (opening would
/// create it).
async fn open(url: &str, out: &mut Output) -> Result<(Arc<dyn SessionStorage>, Kind), CliError> {
    let kind = Kind::of(url);
    match kind {
        Kind::Directory => must_exist(directory_path(url), true)?,
        Kind::Sqlite => {
            if let Some(path) = sqlite_path(url) {
                must_exist(Some(path), false)?;
            }
        }
        Kind::Memory => {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "note: memory:// is a new, empty storage inside this process"
            );
        }
        _ => {}
    }
    let storage = open_url(url).await.map_err(|error| match error {
        OpenError::Storage(e) => CliError::storage(&e),
        other => CliError::usage(crate::error::one_line(&other)),
    })?;
    out.field("storage", kind.name());
    Ok((storage, kind))
}

/// The path of a directory storage URL.
fn directory_path(url: &str) -> Option<&str> {
    let url = url.trim();
    let path = url.split_once('?').map_or(url, |(path, _)| path);
    let path = ["dir://", "file://"]
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix))
        .unwrap_or(path);
    (!path.is_empty()).then_some(path)
}

/// The file of an SQLite URL, `None` for an in-memory database.
fn sqlite_path(url: &str) -> Option<&str> {
    let url = url.trim();
    let rest = url.get("sqlite:".len()..)?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.contains("mode=memory") {
        return None;
    }
    Some(path)
}

fn must_exist(path: Option<&str>, directory: bool) -> Result<(), CliError> {
    let Some(path) = path else {
        return Ok(()); // open_url explains what is wrong with the URL
    };
    let what = if directory {
        "directory"
    } else {
        "SQLite database file"
    };
    match std::fs::metadata(Path::new(path)) {
        Ok(m) if m.is_dir() == directory => Ok(()),
        Ok(_) => Err(CliError::usage(format!("{path} is not a {what}"))),
        Err(e) => Err(CliError::usage(format!(
            "no session {what} at {path} ({e}); the tool does not create one"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_paths() {
        assert_eq!(Kind::of("/var/lib/s"), Kind::Directory);
        assert_eq!(Kind::of("dir://x?layout=ktor"), Kind::Directory);
        assert_eq!(Kind::of("REDIS://h"), Kind::Redis);
        assert_eq!(Kind::of("redis+cluster://h:1,h:2"), Kind::Redis);
        assert_eq!(Kind::of("postgresql://h/db"), Kind::Postgres);
        assert_eq!(Kind::of("sqlite::memory:"), Kind::Sqlite);
        assert_eq!(Kind::of("sqlite:///a/b.db"), Kind::Sqlite);
        assert_eq!(Kind::of("mysql://h"), Kind::Other);
        assert_eq!(directory_path("dir:///a/b?layout=ktor"), Some("/a/b"));
        assert_eq!(directory_path("rel/dir"), Some("rel/dir"));
        assert_eq!(sqlite_path("sqlite:///a/b.db?table=t"), Some("/a/b.db"));
        assert_eq!(sqlite_path("sqlite://rel.db"), Some("rel.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }
}
