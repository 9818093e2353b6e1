//! Conditional updates of one session from one process take turns: [`UpdateLocks`].
//!
//! A conditional update that loses a race reads the session again and retries. Within one
//! process, concurrent updates of a session would mostly lose to each other (each read the same
//! revision), so they wait for each other instead: each then reads what the previous one wrote
//! and writes once. Across processes the storage's revision check still decides. The locks are
//! striped (a fixed set, chosen by the session id), so memory stays bounded whatever the number
//! of sessions; two sessions that share a stripe only wait for each other's updates.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use tokio::sync::Mutex;

use crate::id::SessionId;

/// How many locks the stripes hold.
const STRIPES: usize = 64;

/// The striped locks of one session registration.
pub(crate) struct UpdateLocks {
    stripes: Box<[Mutex<()>]>,
}

impl std::fmt::Debug for UpdateLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateLocks")
            .field("stripes", &self.stripes.len())
            .finish()
    }
}

impl Default for UpdateLocks {
    fn default() -> Self {
        UpdateLocks {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl UpdateLocks {
    /// The lock the updates of session `id` take.
    pub(crate) fn of(&self, id: &SessionId) -> &Mutex<()> {
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(id.as_str());
        let index = usize::try_from(hash % STRIPES as u64).unwrap_or(0);
        match self.stripes.get(index).or_else(|| self.stripes.first()) {
            Some(lock) => lock,
            None => unreachable!("there are {STRIPES} stripes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_session_always_gets_the_same_lock_and_sessions_spread() {
        let locks = UpdateLocks::default();
        let id = SessionId::generate();
        assert!(std::ptr::eq(locks.of(&id), locks.of(&id.clone())));
        let used: std::collections::HashSet<*const Mutex<()>> = (0..1000)
            .map(|_| locks.of(&SessionId::generate()) as *const _)
            .collect();
        assert!(used.len() > STRIPES / 2, "{}", used.len());
    }
}
