//! Which sessions each user has open: the index that "log out everywhere" needs.
//!
//! The library ends any session by its id ([`Sessions::clear_by_id`]), but which sessions
//! belong to whom is the application's knowledge. The demo records each session id under its
//! user when the session starts (a browser login, an API token) and forgets it when the
//! session ends (logout), in `logins.json` in the data directory.
//!
//! **Why it survives a restart:** the file is rewritten whole at every change, atomically (a
//! temporary file, fsync, `rename` over the old file, fsync of the directory), so after a
//! restart, even after a `kill -9`, the index holds exactly the sessions that were recorded,
//! like the sessions in the directory storage next to it. Entries of sessions that expired
//! are dropped the next time the user's sessions are listed (each listed id is looked up in
//! the session storage).
//!
//! Session ids are secrets: the file is readable by its owner only (0600), like the key, and
//! an id read from it is not a working cookie, because the cookies carry the id signed with the
//! demo key. In production, keep this index where the sessions are (a Redis set, an SQL table
//! next to the sessions table) rather than in a local file.
//!
//! [`Sessions::clear_by_id`]: typed_sessions::Sessions::clear_by_id

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use typed_sessions::storage::{Namespace, SessionStorage, StorageError};
use typed_sessions::{SessionError, SessionId, Sessions};

use super::{AppState, DemoError};

/// What kind of session an id belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A browser's `user_session` cookie.
    Browser,
    /// An API token (`x-api-session` header).
    Api,
}

impl Kind {
    /// The namespace the storage files this kind of session under (its registered name).
    fn namespace(self) -> Namespace {
        Namespace::new(match self {
            Kind::Browser => super::auth::COOKIE,
            Kind::Api => super::api::HEADER,
        })
    }
}

/// One open session of a user.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    kind: Kind,
    id: String,
    /// When it was recorded (Unix seconds).
    since: u64,
}

/// How long a new entry is kept without its session in the storage: the session is written
/// when the response that created it leaves, a moment after it is recorded here.
const GRACE: Duration = Duration::from_secs(60);

/// The index: user name to that user's open sessions. Changes are serialized by the mutex
/// and written to the file before the call returns.
pub struct Logins {
    file: PathBuf,
    users: tokio::sync::Mutex<BTreeMap<String, Vec<Entry>>>,
}

impl Logins {
    /// The index kept in `file` (empty if the file does not exist yet).
    pub fn open(file: PathBuf) -> Result<Logins, String> {
        let users = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "the login index {} is not valid ({e}); delete it to start over",
                    file.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
        };
        Ok(Logins {
            file,
            users: tokio::sync::Mutex::new(users),
        })
    }

    /// Records that `user` has a new session `id` (and drops the user's entries whose
    /// session is gone, so the index does not grow with every login).
    pub async fn add(
        &self,
        user: &str,
        kind: Kind,
        id: &SessionId,
        storage: &dyn SessionStorage,
    ) -> Result<(), IndexError> {
        let mut users = self.users.lock().await;
        let entries = users.entry(user.to_owned()).or_default();
        prune(entries, None, storage).await?;
        entries.push(Entry {
            kind,
            id: id.as_str().to_owned(),
            since: unix_seconds(SystemTime::now()),
        });
        self.save(&users).await
    }

    /// Forgets sessions of `user` (ended by a logout, or by "log out everywhere").
    pub async fn remove(&self, user: &str, ids: &[&SessionId]) -> Result<(), IndexError> {
        let mut users = self.users.lock().await;
        let Some(entries) = users.get_mut(user) else {
            return Ok(());
        };
        entries.retain(|e| !ids.iter().any(|id| id.as_str() == e.id));
        if entries.is_empty() {
            users.remove(user);
        }
        self.save(&users).await
    }

    /// The sessions of `user` other than `current` that are still alive in `storage`; the
    /// entries of sessions that are gone (expired, ended) are dropped from the index.
    pub async fn others(
        &self,
        user: &str,
        current: Option<&SessionId>,
        storage: &dyn SessionStorage,
    ) -> Result<Vec<Other>, IndexError> {
        let mut users = self.users.lock().await;
        let Some(entries) = users.get_mut(user) else {
            return Ok(Vec::new());
        };
        let before = entries.len();
        let others = prune(entries, current, storage).await?;
        if entries.len() != before {
            if entries.is_empty() {
                users.remove(user);
            }
            self.save(&users).await?;
        }
        Ok(others)
    }

    /// Writes the whole index to the file, atomically and durably.
    async fn save(&self, users: &BTreeMap<String, Vec<Entry>>) -> Result<(), IndexError> {
        let json = serde_json::to_vec_pretty(users).map_err(|e| IndexError::Save(e.into()))?;
        let temporary = self
            .file
            .with_extension(format!("new-{}", std::process::id()));
        let write = async {
            let mut file = tokio::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temporary)
                .await?;
            file.write_all(&json).await?;
            file.sync_all().await?;
            tokio::fs::rename(&temporary, &self.file).await?;
            // The rename itself must reach the disk: fsync the directory.
            let dir = self.file.parent().filter(|p| !p.as_os_str().is_empty());
            tokio::fs::File::open(dir.unwrap_or(std::path::Path::new(".")))
                .await?
                .sync_all()
                .await
        };
        write.await.map_err(IndexError::Save)
    }
}

/// Another open session of a user.
#[derive(Debug)]
pub struct Other {
    /// Browser or API.
    pub kind: Kind,
    /// Its id (a secret: never shown, never logged).
    pub id: SessionId,
    /// When it started (Unix seconds).
    pub since: u64,
}

/// Drops the entries whose session is gone from `storage` (unless recorded within
/// [`GRACE`]) and returns the live ones other than `current`.
async fn prune(
    entries: &mut Vec<Entry>,
    current: Option<&SessionId>,
    storage: &dyn SessionStorage,
) -> Result<Vec<Other>, StorageError> {
    let now = SystemTime::now();
    let recent = unix_seconds(now).saturating_sub(GRACE.as_secs());
    let mut kept = Vec::with_capacity(entries.len());
    let mut others = Vec::new();
    for entry in entries.iter() {
        let Some(id) = SessionId::parse(&entry.id) else {
            continue; // not an id this demo wrote: drop it
        };
        if Some(&id) == current {
            kept.push(entry.clone());
            continue;
        }
        let namespace = entry.kind.namespace();
        if entry.since < recent && storage.load(namespace.key(&id), now).await?.is_none() {
            continue; // expired or ended
        }
        others.push(Other {
            kind: entry.kind,
            id,
            since: entry.since,
        });
        kept.push(entry.clone());
    }
    *entries = kept;
    Ok(others)
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The index could not be used: the session storage failed while an entry was checked, or
/// the file could not be written (which a handler reports as [`DemoError::Index`]).
#[derive(Debug)]
pub enum IndexError {
    /// The session storage failed.
    Storage(StorageError),
    /// The file could not be written.
    Save(std::io::Error),
}

impl From<StorageError> for IndexError {
    fn from(e: StorageError) -> Self {
        IndexError::Storage(e)
    }
}

impl From<IndexError> for DemoError {
    fn from(e: IndexError) -> Self {
        match e {
            IndexError::Storage(e) => DemoError::Session(SessionError::Storage(e)),
            IndexError::Save(e) => DemoError::Index(e),
        }
    }
}

/// A session type that belongs to a user.
pub trait Owned: Clone + Send + Sync + 'static {
    /// Which kind of session it is.
    const KIND: Kind;
    /// The user it belongs to.
    fn user(&self) -> &str;
}

/// Starts `session` under a new id and records it under its user. A session of the same type
/// that came with the request (the user was logged in already, or someone planted an id)
/// ends: [`Sessions::regenerate`] moves the data to a new id and the old id stops working when
/// the response leaves, which is the defence against session fixation.
pub async fn start<T: Owned>(
    app: &AppState,
    sessions: &Sessions,
    session: T,
) -> Result<(), DemoError> {
    let before = current::<T>(sessions).await?;
    let user = session.user().to_owned();
    sessions.set(session)?;
    sessions.regenerate::<T>().await?;
    // The id the session will be stored under, decided now so it can be recorded first.
    if let Some(id) = sessions.id::<T>().await?
        && let Err(e) = app.logins.add(&user, T::KIND, &id, &*app.storage).await
    {
        // Unrecorded, "log out everywhere" could not end it: do not start it.
        sessions.clear::<T>()?;
        return Err(e.into());
    }
    if let Some((user, id)) = before {
        forget(app, &user, &id).await;
    }
    Ok(())
}

/// Ends the request's session of type `T` (a logout) and forgets it.
pub async fn end<T: Owned>(app: &AppState, sessions: &Sessions) -> Result<(), SessionError> {
    if let Some((user, id)) = current::<T>(sessions).await? {
        forget(app, &user, &id).await;
    }
    sessions.clear::<T>()
}

/// The request's session of type `T`: its user and id.
async fn current<T: Owned>(
    sessions: &Sessions,
) -> Result<Option<(String, SessionId)>, SessionError> {
    let Some(session) = sessions.get::<T>().await? else {
        return Ok(None);
    };
    Ok(sessions
        .id::<T>()
        .await?
        .map(|id| (session.user().to_owned(), id)))
}

/// Removes an ended session from the index. A failure leaves only stale entries, which are
/// dropped later, so it is logged rather than failing the logout.
async fn forget(app: &AppState, user: &str, id: &SessionId) {
    if let Err(e) = app.logins.remove(user, &[id]).await {
        tracing::warn!(error = ?e, "the login index could not be updated");
    }
}
