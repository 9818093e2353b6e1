//! A user's sessions from a handler: the principal of the current session, its devices, and
//! ending them ("log out this device", "log out everywhere else", a password change).

use std::time::Duration;

use super::Sessions;
use crate::error::{SessionError, StorageError};
use crate::state::Entry;
use crate::storage::{Device, OnLimit, SessionHandle, principal::newest_first};
use crate::tracker::{ById, Change, Stored};

impl Sessions {
    /// Logs a user in: stores `value` as the by-id session of type `T` under a new id (the old
    /// one, if any, ends: no session fixation), filed under the principal its value names (or
    /// the one given to [`set_principal`](Self::set_principal) before). When the configuration
    /// limits sessions per principal with [`OnLimit::Refuse`]
    /// and the user is at the limit, the login is refused here with
    /// [`SessionError::SessionLimit`] and nothing changes, so the handler can say why (the
    /// limit is checked again when the response leaves, where a concurrent login of the same
    /// user may still be refused; [`OnLimit::EndOldest`]
    /// ends the oldest sessions then).
    ///
    /// ```
    /// use typed_sessions::{SessionError, Sessions};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Account { user: String }
    ///
    /// async fn login(sessions: Sessions, user: String) -> Result<&'static str, SessionError> {
    ///     match sessions.login(Account { user }).await {
    ///         Ok(()) => Ok("welcome"),
    ///         Err(SessionError::SessionLimit { .. }) => Ok("log out on another device first"),
    ///         Err(error) => Err(error),
    ///     }
    /// }
    /// ```
    pub async fn login<T: Clone + Send + Sync + 'static>(
        &self,
        value: T,
    ) -> Result<(), SessionError> {
        let (entry, by_id) = self.locate_by_id::<T>()?;
        if entry.state.is_committed() {
            return Err(entry.too_late());
        }
        entry.touch();
        let loaded = entry.load().await?;
        let stored = loaded.stored().cloned();
        let explicit = entry.inspect(|intent| intent.principal.clone());
        let principal = match (explicit, &by_id.principals.of_value) {
            (Some(explicit), _) => explicit,
            (None, Some(of_value)) => of_value(&value),
            (None, None) => None,
        };
        if let (Some(principal), Some(limit)) = (&principal, &by_id.principals.limit)
            && limit.overflow == OnLimit::Refuse
        {
            let now = entry.state.now();
            // A login on a device that is already this user's replaces its session.
            let replaced = stored
                .as_ref()
                .filter(|s| s.meta.principal.as_deref() == Some(principal.as_ref()))
                .map(|s| SessionHandle::of(by_id.storage.namespace().key(&s.id)));
            let others = by_id
                .storage
                .sessions_of(principal, now)
                .await?
                .into_iter()
                .filter(|s| Some(&s.handle) != replaced.as_ref())
                .count();
            if others >= limit.max {
                return Err(SessionError::SessionLimit {
                    name: entry.pipeline.name.clone(),
                    limit: limit.max,
                });
            }
        }
        self.set(value)?;
        let stored = stored.is_some();
        entry.change(|intent| {
            if stored && !intent.ended {
                intent.regenerate = true;
                intent.minted = None;
            }
        })
    }

    /// Files the by-id session of type `T` under the user `principal` (or under nobody, with
    /// `None`), instead of the principal its value names: for logins where the value does not
    /// say who logged in. The session gets a new id when the response leaves (a login never
    /// keeps the id it had before), and the principal index follows atomically. The storage
    /// must keep a principal index.
    pub fn set_principal<T: 'static>(&self, principal: Option<&str>) -> Result<(), SessionError> {
        let (entry, by_id) = self.locate_by_id::<T>()?;
        if !by_id.storage.supports_principals() {
            return Err(unsupported(&entry));
        }
        entry.change(|intent| intent.principal = Some(principal.map(str::to_owned)))
    }

    /// Chooses how long the by-id session of type `T` lives, counted from its creation and
    /// capped by the configured [`max_lifetime`](crate::SessionBuilder::max_lifetime): for
    /// "remember me" at login. The session's cookie then lasts as long (its `Max-Age` is the
    /// remaining lifetime in every response that sends it).
    ///
    /// ```
    /// use std::time::Duration;
    /// use typed_sessions::{SessionError, Sessions};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Account { user: String }
    ///
    /// async fn login(sessions: Sessions, remember: bool) -> Result<(), SessionError> {
    ///     sessions.set(Account { user: "ada".into() })?;
    ///     sessions.regenerate::<Account>().await?;
    ///     if remember {
    ///         sessions.set_lifetime::<Account>(Duration::from_secs(30 * 24 * 3600))?;
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn set_lifetime<T: 'static>(&self, lifetime: Duration) -> Result<(), SessionError> {
        let (entry, _) = self.locate_by_id::<T>()?;
        entry.change(|intent| intent.lifetime = Some(lifetime))
    }

    /// The sessions of the current session's user (its principal) in the storage of `T`, the
    /// most recently used first, the current one marked, each named by a
    /// [`SessionHandle`] (never by its id): what an account page lists as "where you are
    /// logged in". Empty when the current session has no principal.
    pub async fn devices<T: 'static>(&self) -> Result<Vec<Device>, SessionError> {
        let (entry, by_id) = self.locate_by_id::<T>()?;
        let Some((principal, current)) = current_principal(&entry, by_id).await? else {
            return Ok(Vec::new());
        };
        let now = entry.state.now();
        let sessions = by_id.storage.sessions_of(&principal, now).await?;
        let mut devices = newest_first(sessions);
        for device in &mut devices {
            device.current = device.handle == current;
        }
        Ok(devices)
    }

    /// Ends the current user's session `handle` ("log out this device"); a handle of anyone
    /// else's session ends nothing. The current session's handle ends the current session, as
    /// [`clear`](Self::clear) does. Whether a session ended.
    pub async fn end_device<T: 'static>(
        &self,
        handle: &SessionHandle,
    ) -> Result<bool, SessionError> {
        let (entry, by_id) = self.locate_by_id::<T>()?;
        let Some((principal, current)) = current_principal(&entry, by_id).await? else {
            return Ok(false);
        };
        if *handle == current {
            entry.change(|intent| intent.clear())?;
            return Ok(true);
        }
        Ok(by_id.storage.delete_of(&principal, handle).await?)
    }

    /// Ends every session of the current user but the current one ("log out everywhere
    /// else"); how many.
    pub async fn end_other_devices<T: 'static>(&self) -> Result<u64, SessionError> {
        let (entry, by_id) = self.locate_by_id::<T>()?;
        let Some((principal, current)) = current_principal(&entry, by_id).await? else {
            return Ok(0);
        };
        Ok(by_id
            .storage
            .delete_all_of(&principal, Some(&current))
            .await?)
    }

    /// Ends every session of the current user, the current one included (an account deletion,
    /// a "log out everywhere"); how many, the current one counted.
    pub async fn end_all_devices<T: 'static>(&self) -> Result<u64, SessionError> {
        let (entry, by_id) = self.locate_by_id::<T>()?;
        let Some((principal, current)) = current_principal(&entry, by_id).await? else {
            return Ok(0);
        };
        let others = by_id
            .storage
            .delete_all_of(&principal, Some(&current))
            .await?;
        entry.change(|intent| intent.clear())?;
        Ok(others + 1)
    }

    /// After the current user's credentials changed (a new password): stores `updated` as the
    /// current session (carrying the new credential version the application keeps in it, which
    /// [`SessionAuth::credentials`](crate::auth::SessionAuth::credentials) checks on every
    /// request), under a new id, and ends every other session of the user at once, so the old
    /// password's sessions die now in every storage with a principal index, and at their next
    /// request wherever the credential check runs. The new id means that a copy of this
    /// session's cookie taken before the change (a stolen one) dies with the others. Returns
    /// how many other sessions ended (Django's `update_session_auth_hash`, which also gives
    /// the session a new key).
    ///
    /// The new id takes effect when the response leaves, like [`regenerate`](Self::regenerate)'s:
    /// the response carries it (a header session's client must take it from there), CSRF
    /// tokens bound to the session (`CsrfConfig::bind`) issued before stop working, and device
    /// operations later in the same request still see the old id, so call this last.
    pub async fn credentials_changed<T: Clone + Send + Sync + 'static>(
        &self,
        updated: T,
    ) -> Result<u64, SessionError> {
        self.set(updated)?;
        // The new id first: if ending the others fails, the response still moves this
        // session (with its new credentials) away from the old id.
        self.regenerate::<T>().await?;
        self.end_other_devices::<T>().await
    }
}

/// The current session's principal and handle, if it has a principal.
async fn current_principal(
    entry: &Entry<'_>,
    by_id: &ById,
) -> Result<Option<(String, SessionHandle)>, SessionError> {
    if !by_id.storage.supports_principals() {
        return Err(unsupported(entry));
    }
    entry.touch();
    let written = entry.inspect(|intent| match &intent.change {
        Change::Written(written) => Some(Stored::clone(&written.stored)),
        Change::Clear => None,
        _ => None,
    });
    let stored = match written {
        Some(stored) => Some(stored),
        None => entry.load().await?.stored().cloned(),
    };
    Ok(stored.and_then(|stored| {
        let handle = SessionHandle::of(by_id.storage.namespace().key(&stored.id));
        stored
            .meta
            .principal
            .map(|principal| (principal.to_string(), handle))
    }))
}

/// The error for a principal operation on a storage without a principal index.
fn unsupported(entry: &Entry<'_>) -> SessionError {
    SessionError::Storage(StorageError::unsupported(format!(
        "the storage of session `{}` does not keep a principal index",
        entry.pipeline.name
    )))
}
