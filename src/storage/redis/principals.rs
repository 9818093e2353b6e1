//! The principal index on Redis: listing a principal's sessions and ending them, each one
//! script over the principal's sorted set and its records (one hash slot; see the
//! [module documentation](super#the-principal-index)).

use std::time::SystemTime;

use super::cache::key_of_member;
use super::keys::Principal;
use super::record::{self, Stored};
use super::{RedisStorage, scripts};
use crate::storage::millis::to_millis;
use crate::storage::{Namespace, PrincipalSession, SessionHandle, StorageError};

impl RedisStorage {
    /// The live sessions of `principal` in `namespace` at `now`.
    pub(super) async fn list_principal(
        &self,
        namespace: &Namespace,
        principal: &str,
        now: SystemTime,
    ) -> Result<Vec<PrincipalSession>, StorageError> {
        let filed = Principal::of(namespace, principal);
        let (index, records) = (self.keys.index(&filed), self.keys.records_of(&filed));
        let now_ms = to_millis(now);
        let pairs: Vec<Vec<u8>> = self
            .run(self.deadline(), "sessions_of", |mut conn| {
                let (index, records, filed) = (&index, &records, &filed);
                async move {
                    scripts::SESSIONS_OF
                        .key(index)
                        .arg(now_ms)
                        .arg(records)
                        .arg(filed.hex())
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await?;
        let mut sessions = Vec::with_capacity(pairs.len() / 2);
        let mut pairs = pairs.into_iter();
        while let (Some(member), Some(value)) = (pairs.next(), pairs.next()) {
            let Some(handle) = handle_of(&member) else {
                continue;
            };
            if let Stored::Record(record) = record::decode(value)
                && !record.is_expired(now)
                && record.meta.principal.as_deref() == Some(principal)
            {
                sessions.push(PrincipalSession::new(handle, record));
            }
        }
        Ok(sessions)
    }

    /// Ends `principal`'s session `handle`, if it is in the principal's index.
    pub(super) async fn end_principal_session(
        &self,
        namespace: &Namespace,
        principal: &str,
        handle: &SessionHandle,
    ) -> Result<bool, StorageError> {
        let filed = Principal::of(namespace, principal);
        let (index, records) = (self.keys.index(&filed), self.keys.records_of(&filed));
        let member = handle.storage_key();
        let _ticket = self
            .cache
            .as_deref()
            .and_then(|cache| Some(cache.begin_write(key_of_member(member.as_bytes())?)));
        let ended: i64 = self
            .run(self.deadline(), "delete_of", |mut conn| {
                let (index, records, filed, member) = (&index, &records, &filed, &member);
                async move {
                    scripts::DELETE_OF
                        .key(index)
                        .arg(member)
                        .arg(records)
                        .arg(filed.hex())
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await?;
        Ok(ended == 1)
    }

    /// Ends every session in `principal`'s index but `except`; how many.
    pub(super) async fn end_principal_sessions(
        &self,
        namespace: &Namespace,
        principal: &str,
        except: Option<&SessionHandle>,
    ) -> Result<u64, StorageError> {
        let filed = Principal::of(namespace, principal);
        let (index, records) = (self.keys.index(&filed), self.keys.records_of(&filed));
        let keep = except.map(SessionHandle::storage_key).unwrap_or_default();
        let ended: Result<Vec<Vec<u8>>, StorageError> = self
            .run(self.deadline(), "delete_all_of", |mut conn| {
                let (index, records, filed, keep) = (&index, &records, &filed, &keep);
                async move {
                    scripts::DELETE_ALL_OF
                        .key(index)
                        .arg(keep)
                        .arg(records)
                        .arg(filed.hex())
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await;
        if let Some(cache) = self.cache.as_deref() {
            match &ended {
                Ok(members) => cache.invalidate_members(members),
                // Which sessions ended is unknown: forget them all.
                Err(_) => cache.invalidate_all(),
            }
        }
        Ok(ended?.len() as u64)
    }
}

/// The handle of an index member (a storage key in hex), or `None` if it is not one.
fn handle_of(member: &[u8]) -> Option<SessionHandle> {
    let mut digest = [0u8; 32];
    hex::decode_to_slice(member, &mut digest).ok()?;
    Some(SessionHandle::from_digest(digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SessionId;

    #[test]
    fn members_are_handles() {
        let id = SessionId::generate();
        let ns = Namespace::new("s");
        let handle = SessionHandle::of(ns.key(&id));
        assert_eq!(handle_of(handle.storage_key().as_bytes()), Some(handle));
        assert_eq!(handle_of(b"not hex"), None);
        assert_eq!(handle_of(&[b'a'; 62]), None);
    }
}
