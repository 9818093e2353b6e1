//! [`Sessions`]: the per-request handle (Ktor's `call.sessions`).

mod devices;
mod modify;

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;

pub use modify::MODIFY_TIMEOUT;

use crate::error::{MissingSessionsLayer, SessionError};
use crate::id::SessionId;
#[cfg(feature = "axum")]
use crate::state::Brought;
use crate::state::{Entry, RequestState};

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
/// As an axum extractor (feature `axum`, on by default):
///
#[cfg_attr(feature = "axum", doc = "```")]
#[cfg_attr(not(feature = "axum"), doc = "```ignore")]
/// use axum::{Router, routing::get};
/// use typed_sessions::{Encrypt, Key, Sessions, SessionError, SessionsConfig};
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
///     .cookie::<UserSession>("user_session", |c| c.transform(Encrypt::new(Key::generate())))
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
        let mut names = Vec::new();
        let mut state = Some(&*self.state);
        while let Some(current) = state {
            names.extend(current.pipelines.as_slice().iter().map(|p| &p.name));
            state = current.parent.as_deref();
        }
        f.debug_struct("Sessions")
            .field("sessions", &names)
            .finish()
    }
}

impl Sessions {
    /// The sessions handle a sessions layer put into these request extensions.
    ///
    /// Fails with [`MissingSessionsLayer`] if no sessions layer serves the request.
    pub fn from_extensions(
        extensions: &http::Extensions,
    ) -> Result<Sessions, MissingSessionsLayer> {
        extensions
            .get::<Sessions>()
            .cloned()
            .ok_or(MissingSessionsLayer)
    }

    /// Finds the session that serves `T`: this layer's, or an enclosing layer's.
    fn locate<T: 'static>(&self) -> Result<Entry<'_>, SessionError> {
        self.state
            .locate(TypeId::of::<T>())
            .ok_or_else(|| SessionError::NotRegistered {
                type_name: std::any::type_name::<T>().to_owned(),
            })
    }

    /// Finds the by-id session that serves `T`.
    pub(crate) fn locate_by_id<T: 'static>(
        &self,
    ) -> Result<(Entry<'_>, &crate::tracker::ById), SessionError> {
        let entry = self.locate::<T>()?;
        match entry.pipeline.tracker.by_id() {
            Some(by_id) => Ok((entry, by_id)),
            None => Err(SessionError::NotById {
                name: entry.pipeline.name.clone(),
            }),
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
        if let Some(current) = entry.inspect(|intent| intent.current::<T>()) {
            return Ok(current);
        }
        Self::loaded_value(&entry).await
    }

    /// The value the request brought for `entry`, loaded on first use.
    async fn loaded_value<T: Clone + 'static>(
        entry: &Entry<'_>,
    ) -> Result<Option<T>, SessionError> {
        let loaded = entry.load().await?;
        Ok(loaded
            .value
            .as_ref()
            .and_then(|v| v.downcast_ref::<T>())
            .cloned())
    }

    /// The session of type `T` as the request brought it, read without marking it used: a
    /// check made before the handler runs (CSRF) leaves no trace in the response (no renewal,
    /// no `Set-Cookie`, no `Vary`) unless the handler uses the session itself.
    #[cfg(feature = "axum")]
    pub(crate) async fn peek<T: Clone + Send + Sync + 'static>(
        &self,
    ) -> Result<Option<T>, SessionError> {
        let entry = self.locate::<T>()?;
        Self::loaded_value(&entry).await
    }

    /// The id of the by-id session of type `T` the request brought, read without marking it
    /// used (see [`peek`](Self::peek)); `None` without a valid one.
    #[cfg(feature = "axum")]
    pub(crate) async fn peek_id<T: 'static>(&self) -> Result<Option<SessionId>, SessionError> {
        let (entry, _) = self.locate_by_id::<T>()?;
        Ok(entry.load().await?.stored().map(|s| s.id.clone()))
    }

    /// Which kinds of session values the request carries (a cookie session's cookie, a header
    /// session's header), over this layer and every enclosing one, leaving out the session of
    /// type `except`. Presence only: nothing is decoded or verified.
    #[cfg(feature = "axum")]
    pub(crate) fn brought(&self, except: TypeId) -> Brought {
        self.state.brought(except)
    }

    /// Sets the session of type `T`; it is sent when the response leaves.
    ///
    /// The value is serialized at once, and for by-value sessions also protected and rendered,
    /// so a value that cannot be sent (too large for a cookie, say) is an error here rather
    /// than a cookie the browser drops. After [`clear`](Self::clear) in the same request, the
    /// value starts a new session: for by-id sessions a new record under a new id, the old one
    /// ended (the order Ktor's documentation uses for a login).
    pub fn set<T: Clone + Send + Sync + 'static>(&self, value: T) -> Result<(), SessionError> {
        let entry = self.locate::<T>()?;
        if entry.state.is_committed() {
            return Err(entry.too_late());
        }
        let new = entry
            .pipeline
            .prepare(Box::new(value), || entry.state.now())?;
        entry.change(|intent| intent.set(new))
    }

    /// Removes the session of type `T`: the response tells the client to drop it, and a by-id
    /// session's record is deleted from its storage.
    pub fn clear<T: 'static>(&self) -> Result<(), SessionError> {
        self.locate::<T>()?.change(|intent| intent.clear())
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
    /// For a session that gets a new id in this request (set for the first time, set after
    /// [`clear`](Self::clear), or [regenerated](Self::regenerate)), the id it will be stored
    /// under is decided now, so it can be recorded before the response leaves (unlike Ktor,
    /// where it is `null` until then).
    pub async fn id<T: 'static>(&self) -> Result<Option<SessionId>, SessionError> {
        let (entry, by_id) = self.locate_by_id::<T>()?;
        entry.touch();
        // The stored session matters unless it was cleared.
        let cleared = entry.inspect(|intent| intent.ended);
        let stored = if cleared {
            None
        } else {
            entry.load().await?.stored()
        };
        match entry.inspect(|intent| by_id.next_id(intent, stored)) {
            None => Ok(None),
            Some(None) => Ok(entry
                .inspect(|intent| match &intent.change {
                    crate::tracker::Change::Written(written) => Some(written.stored.id.clone()),
                    _ => None,
                })
                .or_else(|| stored.map(|s| s.id.clone()))),
            Some(Some(principal)) => {
                let name = &entry.pipeline.name;
                let request = entry.state.request();
                let prefix = by_id.id_prefix(principal.as_deref());
                entry
                    .change(|intent| match &intent.minted {
                        Some(id) => Ok(id.clone()),
                        None => {
                            let id = by_id.ids.generate(name, request, prefix.as_deref())?;
                            intent.minted = Some(id.clone());
                            Ok(id)
                        }
                    })?
                    .map(Some)
            }
        }
    }

    /// Gives the by-id session of type `T` a new id and ends the old one, keeping its data
    /// (the defence against session fixation: call it when a user logs in or changes
    /// privileges). The change happens when the response leaves; the old id stops working
    /// at that moment. Without a session there is nothing to regenerate, and this does
    /// nothing.
    pub async fn regenerate<T: 'static>(&self) -> Result<(), SessionError> {
        let (entry, _) = self.locate_by_id::<T>()?;
        if entry.state.is_committed() {
            return Err(entry.too_late());
        }
        entry.touch();
        let stored = entry.load().await?.stored().is_some();
        entry.change(|intent| {
            // Only a stored session has an id to replace; a new one gets a fresh id anyway.
            if stored && !intent.ended {
                intent.regenerate = true;
                intent.minted = None;
            }
        })
    }

    /// Ends another session of type `T` by its id, at once (Ktor 3.5's
    /// `sessions.clear<T>(id)`): for "log out my other devices". The current request's own
    /// session is not affected unless `id` is its id.
    pub async fn clear_by_id<T: 'static>(&self, id: impl AsRef<str>) -> Result<(), SessionError> {
        let (entry, by_id) = self.locate_by_id::<T>()?;
        let name = &entry.pipeline.name;
        let id = by_id
            .ids
            .parse(id.as_ref())
            .ok_or_else(|| SessionError::InvalidId { name: name.clone() })?;
        by_id.storage.delete(&id).await?;
        by_id.metrics.event(name, crate::metrics::Event::Cleared);
        tracing::debug!(session = %name, id = %id.log_tag(), "session cleared by id");
        Ok(())
    }
}
