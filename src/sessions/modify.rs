//! [`Sessions::modify`]: a read, modify and write of a by-id session that loses nothing to a
//! concurrent request.

use std::time::Duration;

use super::Sessions;
use crate::error::SessionError;
use crate::storage::Updated;
use crate::tracker::{Change, Stored, Written};

/// How long a conditional update keeps retrying after conflicts before it gives up.
pub const MODIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a retry waits before the first retry; the ceiling doubles with each further
/// conflict, up to [`BACKOFF_MAX`].
const BACKOFF_FIRST: Duration = Duration::from_millis(1);

/// The ceiling of the random wait before a retry.
const BACKOFF_MAX: Duration = Duration::from_millis(32);

impl Sessions {
    /// Changes the by-id session of type `T` with `change`, losing nothing to concurrent
    /// requests: reads the session, applies `change`, and writes the result only if the stored
    /// session has not changed since it was read, atomically in the storage (a revision
    /// compared under the storage's lock, in one script, or in an `UPDATE ... WHERE`). On a
    /// conflict it waits a short random time (growing with each conflict, so that requests
    /// contending for one session spread out), reads the session again and applies `change`
    /// again, for up to [`MODIFY_TIMEOUT`], then fails with [`SessionError::Conflict`] (a
    /// 503). Conditional updates of one session from the same
    /// process take turns instead of conflicting (each then starts from what the previous one
    /// wrote); conflicts come from other processes sharing the storage. Use it for
    /// changes that depend on the current value ("add this item to the cart"); a plain
    /// [`set`](Self::set) keeps last-writer-wins.
    ///
    /// Returns the new value, or `None` if there is no session (nothing is created: start one
    /// with `set` or `get_or_set`) or it ended meanwhile (deletion wins: a session a concurrent
    /// logout deleted is never revived, and the response clears the client's copy). The write
    /// happens at once, not when the response leaves. A value set earlier in the same request
    /// is changed in place and written with the response. By-value sessions cannot do this
    /// (the client holds the only copy): they get [`SessionError::NotById`].
    ///
    /// ```
    /// use typed_sessions::{SessionError, Sessions};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Cart { items: Vec<u64> }
    ///
    /// async fn add(sessions: Sessions, item: u64) -> Result<usize, SessionError> {
    ///     sessions.get_or_set(|| Cart { items: vec![] }).await?;
    ///     let cart = sessions
    ///         .modify(|cart: &Cart| {
    ///             let mut cart = cart.clone();
    ///             cart.items.push(item);
    ///             cart
    ///         })
    ///         .await?;
    ///     Ok(cart.map_or(0, |cart| cart.items.len()))
    /// }
    /// ```
    pub async fn modify<T, F>(&self, mut change: F) -> Result<Option<T>, SessionError>
    where
        T: Clone + Send + Sync + 'static,
        F: FnMut(&T) -> T,
    {
        let (entry, by_id) = self.locate_by_id::<T>()?;
        if entry.state.is_committed() {
            return Err(entry.too_late());
        }
        entry.touch();
        let pending = entry.inspect(|intent| match &intent.change {
            Change::Keep => Base::Unread,
            Change::Set(new) => new
                .value
                .downcast_ref::<T>()
                .cloned()
                .map_or(Base::Gone, Base::Pending),
            Change::Written(written) => written
                .value
                .downcast_ref::<T>()
                .cloned()
                .map_or(Base::Gone, |value| {
                    Base::Stored(value, Stored::clone(&written.stored))
                }),
            Change::Clear => Base::Gone,
        });
        let (value, stored) = match pending {
            Base::Pending(value) => {
                let next = change(&value);
                self.set(next.clone())?;
                return Ok(Some(next));
            }
            Base::Gone => return Ok(None),
            Base::Stored(value, stored) => (value, stored),
            Base::Unread => {
                let loaded = entry.load().await?;
                let value = loaded.value.as_ref().and_then(|v| v.downcast_ref::<T>());
                match (value, loaded.stored()) {
                    (Some(value), Some(stored)) => (value.clone(), stored.clone()),
                    _ => return Ok(None),
                }
            }
        };
        let now = entry.state.now();
        // Updates of this session from this process take turns; one that had to wait starts
        // from what the previous one wrote.
        let lock = by_id.update_locks.of(&stored.id);
        let (_turn, mut current) = match lock.try_lock() {
            Ok(turn) => (turn, Some((value, stored))),
            Err(_) => {
                let turn = lock.lock().await;
                let id = stored.id;
                (turn, reread::<T>(&entry, &id, now).await?)
            }
        };
        let started = tokio::time::Instant::now();
        let mut attempt = 0;
        while attempt == 0 || started.elapsed() < MODIFY_TIMEOUT {
            attempt += 1;
            let Some((value, stored)) = current.take() else {
                // Ended meanwhile: deletion wins, and the client drops its copy.
                let _ = entry.change(|intent| intent.clear());
                return Ok(None);
            };
            if attempt > 1 {
                tokio::time::sleep(back_off(attempt - 1)).await;
            }
            let next = change(&value);
            let new = entry.pipeline.prepare(Box::new(next.clone()), || now)?;
            let (updated, record) = by_id.write_if(&stored, new.serialized.clone(), now).await?;
            match updated {
                Updated::Written => {
                    entry.record_written(Written {
                        value: new.value,
                        serialized: new.serialized,
                        stored: Box::new(Stored::of(stored.id, record)),
                    });
                    return Ok(Some(next));
                }
                Updated::Gone => current = None,
                // Another process wrote in between: start again from what it wrote.
                Updated::Conflict => current = reread::<T>(&entry, &stored.id, now).await?,
            }
            if current.is_none() {
                let _ = entry.change(|intent| intent.clear());
                return Ok(None);
            }
        }
        Err(SessionError::Conflict {
            name: entry.pipeline.name.clone(),
            attempts: attempt,
        })
    }
}

/// The stored session `id` read again: its value and record, or `None` if it has ended.
async fn reread<T: Clone + 'static>(
    entry: &crate::state::Entry<'_>,
    id: &crate::id::SessionId,
    now: std::time::SystemTime,
) -> Result<Option<(T, Stored)>, SessionError> {
    let loaded = entry.pipeline.reload(id, now).await?;
    let value = loaded.value.as_ref().and_then(|v| v.downcast_ref::<T>());
    Ok(match (value, loaded.stored()) {
        (Some(value), Some(stored)) => Some((value.clone(), stored.clone())),
        _ => None,
    })
}

/// A random wait before retry `retry` (1 for the first): uniform below a ceiling that starts
/// at [`BACKOFF_FIRST`] and doubles with each retry up to [`BACKOFF_MAX`].
fn back_off(retry: u32) -> Duration {
    let ceiling = BACKOFF_FIRST
        .saturating_mul(1 << retry.saturating_sub(1).min(16))
        .min(BACKOFF_MAX);
    let mut bytes = [0; 8];
    crate::random::fill(&mut bytes);
    let ceiling_nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX).max(1);
    Duration::from_nanos(u64::from_le_bytes(bytes) % ceiling_nanos)
}

/// What a conditional update starts from.
enum Base<T> {
    /// Nothing read yet: the stored session.
    Unread,
    /// A value set in this request, not yet written.
    Pending(T),
    /// The value a previous conditional update of this request wrote.
    Stored(T, Stored),
    /// No session (cleared in this request).
    Gone,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_grows_to_its_ceiling() {
        for retry in 1..40 {
            let ceiling = Duration::from_millis(1 << (retry - 1).min(5));
            for _ in 0..50 {
                assert!(back_off(retry) < ceiling, "retry {retry}");
            }
        }
        // Random, not constant.
        let waits: std::collections::HashSet<_> = (0..20).map(|_| back_off(6)).collect();
        assert!(waits.len() > 10);
    }
}
