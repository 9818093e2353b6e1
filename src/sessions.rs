//! [`Sessions`]: the per-request handle (Ktor's `call.sessions`).

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;

use crate::error::SessionError;
use crate::id::SessionId;
use crate::state::{Change, Entry, RequestState, render};
use crate::tracker::{Outcome, Tracker};

/// The sessions of the current request.
///
/// Get it as an axum extractor (`sessions: Sessions`), or from the request extensions in any
/// tower service ([`Sessions::from_extensions`]). It is cheap to clone; clones share the state.
///
/// * [`get`](Self::get) loads a session on first use (decode, verify, deserialize, and for by-id
///   sessions one storage read) and returns a copy; later calls reuse the result;
/// * [`set`](Self::set) and [`clear`](Self::clear) record what should happen; the session is
///   written once, when the response leaves the layer;
/// * a session the handler never touches costs nothing: no decoding, no storage access, no
///   header.
///
/// ```
/// use axum::{Router, routing::get};
/// use typed_sessions::{Sessions, SessionError, SessionsConfig};
///
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct UserSession { id: String, count: u32 }
///
/// async fn user(sessions: Sessions) -> Result<String, SessionError> {
///     let Some(s) = sessions.get::<UserSession>().await? else {
///         return Ok("no session".into());
///     };
///     sessions.set(UserSession { count: s.count + 1, ..s.clone() })?;
///     Ok(format!("count {}", s.count))
/// }
///
/// let sessions = SessionsConfig::new()
///     .cookie::<UserSession>("user_session", |c| c)
///     .build()?;
/// let app: Router = Router::new().route("/user", get(user)).layer(sessions);
/// # Ok::<(), typed_sessions::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Sessions {
    pub(crate) state: Arc<RequestState>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field(
                "sessions",
                &self
                    .state
                    .shared
                    .providers
                    .iter()
                    .map(|p| &p.name)
                    .collect::<Vec<_>>(),
            )
            .field("parent", &self.state.parent)
            .finish()
    }
}

impl Sessions {
    /// The sessions handle a sessions layer put into these request extensions.
    ///
    /// Fails with [`SessionError::LayerMissing`] if no sessions layer serves the request.
    pub fn from_extensions(extensions: &http::Extensions) -> Result<Sessions, SessionError> {
        extensions
            .get::<Sessions>()
            .cloned()
            .ok_or(SessionError::LayerMissing)
    }

    /// Finds the session that serves `T`: this layer's, or an enclosing layer's.
    fn locate<T: 'static>(&self) -> Result<Entry<'_>, SessionError> {
        let wanted = TypeId::of::<T>();
        let mut handle = self;
        loop {
            if let Some(entry) = handle
                .state
                .shared
                .index_of(wanted)
                .and_then(|i| handle.state.entry(i))
            {
                return Ok(entry);
            }
            match &handle.state.parent {
                Some(parent) => handle = parent,
                None => {
                    return Err(SessionError::NotRegistered {
                        type_name: std::any::type_name::<T>().to_owned(),
                    });
                }
            }
        }
    }

    /// The session of type `T`, or `None` if the request has none (or an invalid, expired or
    /// unknown one, which the response then clears).
    ///
    /// Fails if `T` is not registered, or if the storage of a by-id session fails (the error
    /// maps to `503`; the client's cookie is kept).
    pub async fn get<T: Clone + Send + Sync + 'static>(&self) -> Result<Option<T>, SessionError> {
        let entry = self.locate::<T>()?;
        entry.touch();
        {
            let pending = entry.slot.lock();
            match &pending.change {
                Change::Set { value, .. } => return Ok(value.downcast_ref::<T>().cloned()),
                Change::Clear => return Ok(None),
                Change::Keep => {}
            }
        }
        let loaded = entry.load().await?;
        Ok(loaded
            .value
            .as_ref()
            .and_then(|v| v.downcast_ref::<T>())
            .cloned())
    }

    /// Sets the session of type `T`; it is sent when the response leaves.
    ///
    /// The value is serialized at once, and for by-value sessions also protected and rendered,
    /// so a value that cannot be sent (too large for a cookie, say) is an error here rather
    /// than a cookie the browser drops.
    pub fn set<T: Clone + Send + Sync + 'static>(&self, value: T) -> Result<(), SessionError> {
        let entry = self.locate::<T>()?;
        entry.check_open()?;
        let provider = entry.provider;
        let serialized = provider
            .codec
            .serialize(&value)
            .map_err(|e| SessionError::Serialize {
                name: provider.name.clone(),
                reason: e.0,
            })?;
        let rendered = match provider.tracker {
            Tracker::ByValue { .. } => Some(render(provider, &serialized, entry.state.now())?),
            Tracker::ById(_) => None,
        };
        let mut pending = entry.slot.lock();
        entry.check_open()?;
        pending.change = Change::Set {
            value: Box::new(value),
            serialized,
            rendered,
        };
        drop(pending);
        entry.touch();
        Ok(())
    }

    /// Removes the session of type `T`: the response tells the client to drop it, and a by-id
    /// session's record is deleted from its storage.
    pub fn clear<T: 'static>(&self) -> Result<(), SessionError> {
        let entry = self.locate::<T>()?;
        let mut pending = entry.slot.lock();
        entry.check_open()?;
        pending.change = Change::Clear;
        pending.regenerate = false;
        pending.minted = None;
        drop(pending);
        entry.touch();
        Ok(())
    }

    /// The session of type `T`, or, if there is none, the value `make` returns, which is then
    /// set.
    pub async fn get_or_set<T: Clone + Send + Sync + 'static>(
        &self,
        make: impl FnOnce() -> T,
    ) -> Result<T, SessionError> {
        if let Some(value) = self.get::<T>().await? {
            return Ok(value);
        }
        let value = make();
        self.set(value.clone())?;
        Ok(value)
    }

    /// The id of the by-id session of type `T`, or `None` if there is no session.
    ///
    /// For a session set in this request, the id it will be stored under is decided now, so
    /// it can be recorded before the response leaves (unlike Ktor, where it is `null` until
    /// then).
    pub async fn id<T: 'static>(&self) -> Result<Option<SessionId>, SessionError> {
        let entry = self.locate::<T>()?;
        let provider = entry.provider;
        let Some(by_id) = provider.tracker.by_id() else {
            return Err(SessionError::NotById {
                name: provider.name.clone(),
            });
        };
        entry.touch();
        let loaded = entry.load().await?;
        let current = match &loaded.outcome {
            Outcome::Valid(valid) => valid.stored.as_ref().map(|s| s.id.clone()),
            _ => None,
        };
        let mut pending = entry.slot.lock();
        let wants_new_id = match pending.change {
            Change::Clear => return Ok(None),
            Change::Set { .. } => current.is_none() || pending.regenerate,
            Change::Keep => pending.regenerate,
        };
        if !wants_new_id {
            return Ok(current);
        }
        if pending.minted.is_none() {
            pending.minted = Some(by_id.new_id(&provider.name, entry.state.request.as_deref())?);
        }
        Ok(pending.minted.clone())
    }

    /// Gives the by-id session of type `T` a new id and ends the old one, keeping its data
    /// (the defence against session fixation: call it when a user logs in or changes
    /// privileges). The change happens when the response leaves; the old id stops working
    /// at that moment. Without a session there is nothing to regenerate, and this does
    /// nothing.
    pub async fn regenerate<T: 'static>(&self) -> Result<(), SessionError> {
        let entry = self.locate::<T>()?;
        let provider = entry.provider;
        if provider.tracker.by_id().is_none() {
            return Err(SessionError::NotById {
                name: provider.name.clone(),
            });
        }
        entry.check_open()?;
        entry.touch();
        let stored = entry
            .load()
            .await?
            .valid()
            .is_some_and(|v| v.stored.is_some());
        let mut pending = entry.slot.lock();
        entry.check_open()?;
        // Only a stored session has an id to replace; a new one gets a fresh id anyway.
        if !stored || matches!(pending.change, Change::Clear) {
            return Ok(());
        }
        pending.regenerate = true;
        pending.minted = None;
        Ok(())
    }

    /// Ends another session of type `T` by its id, at once (Ktor 3.5's
    /// `sessions.clear<T>(id)`): for "log out my other devices". The current request's own
    /// session is not affected unless `id` is its id.
    pub async fn clear_by_id<T: 'static>(&self, id: impl AsRef<str>) -> Result<(), SessionError> {
        let entry = self.locate::<T>()?;
        let provider = entry.provider;
        let Some(by_id) = provider.tracker.by_id() else {
            return Err(SessionError::NotById {
                name: provider.name.clone(),
            });
        };
        let id = by_id.parse_id(id.as_ref()).ok_or_else(|| {
            SessionError::InvalidId(format!("not an id of session `{}`", provider.name))
        })?;
        by_id.delete(&id).await?;
        provider
            .metrics
            .event(&provider.name, crate::metrics::Event::Cleared);
        tracing::debug!(session = %provider.name, id = %id.log_tag(), "session cleared by id");
        Ok(())
    }
}
