//! The principal index: which sessions belong to which user, for account pages ("where am I
//! logged in"), "log out everywhere else", and limits on sessions per user.
//!
//! A storage that keeps the index ([`SessionStorage::supports_principals`]) files every record
//! whose [`Metadata::principal`](super::Metadata::principal) is set under that principal, within
//! the record's namespace, in the same atomic operation as the record write; deleting or
//! expiring the record removes the entry. Sessions are listed and ended by a
//! [`SessionHandle`], never by their id.
//!
//! [`SessionStorage::supports_principals`]: super::SessionStorage::supports_principals

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use std::sync::Arc;
use std::time::SystemTime;

use super::{Record, SessionStorage, StorageError};
use crate::id::{Namespace, SessionKey};

/// An opaque handle of one session: the SHA-256 of its namespace and id
/// ([`SessionKey::digest`]), shown as 43 base64url characters.
///
/// It names a session without revealing its id (a handle cannot be turned into a cookie), so
/// an account page can list a user's sessions and offer to end one. The server verifies a
/// handle by looking it up in the principal's own index: a handle of another user's session
/// ends nothing.
///
/// ```
/// use typed_sessions::storage::{Namespace, SessionHandle, SessionId};
///
/// let id = SessionId::generate();
/// let user = Namespace::new("user_session");
/// let handle = SessionHandle::of(user.key(&id));
/// let text = handle.to_string();
/// assert_eq!(text.len(), 43);
/// assert!(!text.contains(id.as_str()));
/// assert_eq!(text.parse::<SessionHandle>().unwrap(), handle);
/// assert!("not a handle".parse::<SessionHandle>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionHandle([u8; 32]);

impl SessionHandle {
    /// The handle of the session filed under `key`.
    pub fn of(key: SessionKey<'_>) -> SessionHandle {
        SessionHandle(key.digest())
    }

    /// A handle from the 32 bytes a storage keeps (its storage key, decoded).
    pub const fn from_digest(digest: [u8; 32]) -> SessionHandle {
        SessionHandle(digest)
    }

    /// The 32 bytes: the session key's digest.
    pub const fn digest(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest as 64 lowercase hex characters: the storage key persistent storages file the
    /// record under ([`SessionKey::storage_key`]).
    pub fn storage_key(&self) -> String {
        hex::encode(self.0)
    }
}

/// A handle that is not 43 base64url characters of 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a session handle: a handle is 43 base64url characters")]
pub struct InvalidHandle;

impl FromStr for SessionHandle {
    type Err = InvalidHandle;

    fn from_str(text: &str) -> Result<SessionHandle, InvalidHandle> {
        if text.len() != 43 {
            return Err(InvalidHandle);
        }
        let mut digest = [0u8; 32];
        match URL_SAFE_NO_PAD.decode_slice(text, &mut digest) {
            Ok(32) => Ok(SessionHandle(digest)),
            _ => Err(InvalidHandle),
        }
    }
}

impl fmt::Display for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; 43];
        match URL_SAFE_NO_PAD.encode_slice(self.0, &mut out) {
            Ok(43) => f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?),
            _ => Err(fmt::Error),
        }
    }
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionHandle({self})")
    }
}

/// What a login does when its user already has as many sessions as the configuration allows
/// ([`SessionBuilder::max_sessions_per_principal`](crate::SessionBuilder::max_sessions_per_principal),
/// Spring Security's "maximum sessions").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnLimit {
    /// The least recently used sessions end, so the new one fits.
    EndOldest,
    /// The new login is refused with
    /// [`SessionError::SessionLimit`](crate::SessionError::SessionLimit); the existing sessions
    /// stay.
    Refuse,
}

/// One live session of a principal, as its index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrincipalSession {
    /// Names the session for [`SessionStorage::delete_of`].
    pub handle: SessionHandle,
    /// The session's record (its data, times and metadata).
    pub record: Record,
}

impl PrincipalSession {
    /// The session `handle` with its `record`.
    pub fn new(handle: SessionHandle, record: Record) -> PrincipalSession {
        PrincipalSession { handle, record }
    }
}

/// One of a user's sessions as an account page shows it: where and since when it is logged
/// in, never its id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Device {
    /// Names the session, to end it ([`Principals::end`], [`Sessions::end_device`]).
    ///
    /// [`Sessions::end_device`]: crate::Sessions::end_device
    pub handle: SessionHandle,
    /// Whether it is the session of the current request (set by
    /// [`Sessions::devices`](crate::Sessions::devices)).
    pub current: bool,
    /// When the session started (the login).
    pub created_at: SystemTime,
    /// When it was last written (its last use, to within the renewal throttle).
    pub last_seen: SystemTime,
    /// When it ends unless used again.
    pub expires_at: SystemTime,
    /// Browser and operating system family, such as "Firefox on Linux".
    pub description: Option<String>,
    /// The network it logged in from, if the application records addresses.
    pub address: Option<String>,
}

impl Device {
    fn of(session: PrincipalSession) -> Device {
        let record = session.record;
        Device {
            handle: session.handle,
            current: false,
            created_at: record.created_at,
            last_seen: record.meta.last_seen,
            expires_at: record.expires_at,
            description: record.meta.device.map(|d| d.to_string()),
            address: record.meta.address.map(|a| a.to_string()),
        }
    }
}

/// A user's sessions of one session type in one storage, outside any request: for an
/// administrator's tool, a job, or a password reset done elsewhere. Inside a handler,
/// [`Sessions::devices`](crate::Sessions::devices) and its siblings do the same for the
/// current user.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime};
/// use typed_sessions::storage::{
///     MemoryStorage, Namespace, Principals, Record, SessionId, SessionStorage,
/// };
///
/// let storage = Arc::new(MemoryStorage::new());
/// let now = SystemTime::now();
/// let user_session = Namespace::new("user_session");
/// for _ in 0..2 {
///     let record = Record::new("{}", now, now + Duration::from_secs(60)).with_principal("ada");
///     storage.create(user_session.key(&SessionId::generate()), &record, now).await?;
/// }
///
/// let principals = Principals::new(storage, "user_session");
/// assert_eq!(principals.sessions("ada", now).await?.len(), 2);
/// assert_eq!(principals.end_all("ada", None).await?, 2); // a password reset
/// assert!(principals.sessions("ada", now).await?.is_empty());
/// # Ok::<(), typed_sessions::storage::StorageError>(()) }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Principals {
    storage: Arc<dyn SessionStorage>,
    namespace: Namespace,
}

impl Principals {
    /// The principal index of the session registered as `session` in `storage`.
    pub fn new(storage: Arc<dyn SessionStorage>, session: &str) -> Principals {
        Principals {
            storage,
            namespace: Namespace::new(session),
        }
    }

    /// `principal`'s live sessions at `now`, the most recently used first.
    pub async fn sessions(
        &self,
        principal: &str,
        now: SystemTime,
    ) -> Result<Vec<Device>, StorageError> {
        let sessions = self
            .storage
            .sessions_of(&self.namespace, principal, now)
            .await?;
        Ok(newest_first(sessions))
    }

    /// Ends `principal`'s session `handle` (a handle of anyone else's session ends nothing);
    /// whether it ended one.
    pub async fn end(&self, principal: &str, handle: &SessionHandle) -> Result<bool, StorageError> {
        self.storage
            .delete_of(&self.namespace, principal, handle)
            .await
    }

    /// Ends every session of `principal` but `except`; how many.
    pub async fn end_all(
        &self,
        principal: &str,
        except: Option<&SessionHandle>,
    ) -> Result<u64, StorageError> {
        self.storage
            .delete_all_of(&self.namespace, principal, except)
            .await
    }
}

/// `sessions` as devices, the most recently used first.
pub(crate) fn newest_first(sessions: Vec<PrincipalSession>) -> Vec<Device> {
    let mut devices: Vec<Device> = sessions.into_iter().map(Device::of).collect();
    devices.sort_by_key(|d| std::cmp::Reverse((d.last_seen, d.created_at)));
    devices
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{Namespace, SessionId};

    #[test]
    fn handles_round_trip_and_refuse_garbage() {
        let id = SessionId::generate();
        let ns = Namespace::new("s");
        let handle = SessionHandle::of(ns.key(&id));
        assert_eq!(handle.storage_key(), ns.key(&id).storage_key());
        assert_eq!(handle.to_string().parse::<SessionHandle>(), Ok(handle));
        for bad in [
            "",
            "a",
            &"A".repeat(42),
            &"A".repeat(44),
            &format!("{}=", "A".repeat(42)),
            &"+".repeat(43),
            "ü".repeat(22).as_str(),
        ] {
            assert_eq!(bad.parse::<SessionHandle>(), Err(InvalidHandle), "{bad:?}");
        }
        // A non-canonical last character (unused bits set) is refused too.
        let mut text = handle.to_string();
        let last = text.pop().unwrap();
        let flipped = if last == 'A' { 'B' } else { 'A' };
        text.push(flipped);
        let parsed = text.parse::<SessionHandle>();
        assert!(parsed.is_err() || parsed != Ok(handle));
    }
}
