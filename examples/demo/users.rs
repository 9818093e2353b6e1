//! The demo's users, their passwords, and a credential version per user that a password
//! change moves on.
//!
//! The users are fixed (alice and bob), with the plaintext passwords the login page shows; a
//! real application keeps password hashes (argon2) in a database. A password change lasts
//! until the demo stops: after a restart the passwords are the listed ones again.
//!
//! **The credential version** is when the user's password was last changed (Unix
//! milliseconds; `0` for the listed passwords). Each session keeps the version it was made
//! with, and [`SessionAuth::credentials`](typed_sessions::auth::SessionAuth::credentials)
//! compares it with [`Users::credentials`] on every request: a session made before a change is
//! refused at its next request, whatever ended or did not end it before (Django's session auth
//! hash, ASP.NET's security stamp). The password change also ends the user's other sessions at
//! once through the principal index (see `password`), so this check is the safety net: for a
//! session the index could not end (a storage outage at that moment), and after a restart,
//! where a session made with a changed password is refused because the password is the listed
//! one again.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use subtle::ConstantTimeEq;
use typed_sessions::auth::{Challenge, SessionAuth};

/// The demo's users and their passwords at startup, shown on the login page.
pub const USERS: &[(&str, &str)] = &[("alice", "wonderland"), ("bob", "builder")];

/// The shortest new password the demo takes (in characters).
pub const MIN_PASSWORD_LEN: usize = 8;

/// The longest password the demo takes (in bytes).
const MAX_PASSWORD_LEN: usize = 128;

/// One user's current password and credential version.
struct Account {
    password: String,
    credentials: u64,
}

/// The users, in memory; a lock held for a lookup or a change only, never across an await.
pub struct Users {
    accounts: RwLock<BTreeMap<&'static str, Account>>,
}

/// A successful password check: the user and the credential version to keep in the session.
#[derive(Debug, Clone, Copy)]
pub struct Login {
    /// The user name.
    pub user: &'static str,
    /// The user's credential version now.
    pub credentials: u64,
}

/// Why a password change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordError {
    /// The current password given is not the user's.
    WrongPassword,
    /// The new password is shorter than [`MIN_PASSWORD_LEN`] or longer than the limit.
    BadLength,
}

impl Users {
    /// alice and bob with their listed passwords.
    pub fn demo() -> Users {
        let accounts = USERS
            .iter()
            .map(|(user, password)| {
                let account = Account {
                    password: (*password).to_owned(),
                    credentials: 0,
                };
                (*user, account)
            })
            .collect();
        Users {
            accounts: RwLock::new(accounts),
        }
    }

    /// The user `name` if `password` is theirs. `ct_eq` takes as long for a nearly right
    /// password as for a wrong one, so response times do not tell how much of a guess was
    /// right.
    pub fn check(&self, name: &str, password: &str) -> Option<Login> {
        let accounts = self.accounts.read().unwrap_or_else(PoisonError::into_inner);
        let (user, account) = accounts.get_key_value(name)?;
        let right = account.password.as_bytes().ct_eq(password.as_bytes());
        bool::from(right).then_some(Login {
            user,
            credentials: account.credentials,
        })
    }

    /// The credential version of `name` now, or `None` if there is no such user (a session of
    /// a user who was removed is refused).
    pub fn credentials(&self, name: &str) -> Option<u64> {
        let accounts = self.accounts.read().unwrap_or_else(PoisonError::into_inner);
        accounts.get(name).map(|account| account.credentials)
    }

    /// Whether `name`'s password is no longer the listed one.
    pub fn changed(&self, name: &str) -> bool {
        self.credentials(name).is_some_and(|version| version != 0)
    }

    /// Sets `name`'s password to `new` if `current` is the password now; the new credential
    /// version, which every session made before no longer matches.
    pub fn change_password(
        &self,
        name: &str,
        current: &str,
        new: &str,
    ) -> Result<u64, PasswordError> {
        let mut accounts = self
            .accounts
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let account = accounts.get_mut(name).ok_or(PasswordError::WrongPassword)?;
        if !bool::from(account.password.as_bytes().ct_eq(current.as_bytes())) {
            return Err(PasswordError::WrongPassword);
        }
        if new.chars().count() < MIN_PASSWORD_LEN || new.len() > MAX_PASSWORD_LEN {
            return Err(PasswordError::BadLength);
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        // Strictly newer than the version it replaces, even within one millisecond.
        account.credentials = now.max(account.credentials.saturating_add(1));
        account.password = new.to_owned();
        Ok(account.credentials)
    }
}

/// A session type that belongs to a user: it names its user (its principal in the storage's
/// index) and the credential version it was made with.
pub trait Owned: Clone + Send + Sync + 'static {
    /// The user it belongs to.
    fn user(&self) -> &str;
    /// The user's credential version when it was made.
    fn credentials(&self) -> u64;
}

/// The guard of the routes that need a session of type `T`: a session of a known user whose
/// credential version is the user's current one, or `challenge`.
pub fn require<T: Owned>(users: &Arc<Users>, challenge: Challenge) -> SessionAuth<T> {
    let users = Arc::clone(users);
    SessionAuth::<T>::new()
        .credentials(
            |session: &T| session.credentials(),
            move |session: T| std::future::ready(users.credentials(session.user())),
        )
        .challenge(challenge)
}

/// The principal a session of type `T` is filed under in the storage's index: its user.
pub fn principal<T: Owned>(session: &T) -> Option<String> {
    Some(session.user().to_owned())
}
