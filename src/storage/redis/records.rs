//! The storage contract on Redis: loads, creates, updates, conditional updates, deletes and id
//! changes of records, each keeping the principal index in step (see the
//! [module documentation](super) for the commands and their atomicity).

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::time::Instant;

use super::cache::{LocalCache, Lookup, SessionDigest, WriteTicket, key_of_member};
use super::keys::RecordKey;
use super::record::{self, Encoded, Stored};
use super::{RedisStorage, scripts};
use crate::storage::millis::to_millis;
use crate::storage::{
    Created, Namespace, PrincipalSession, Record, Revision, SessionHandle, SessionKey,
    SessionStorage, StorageError, StorageStats, Updated,
};

/// What a conditional write did.
enum WriteIf {
    Done(Updated),
    /// Nothing written: the record names another principal than the stored one.
    OtherPrincipal,
}

impl RedisStorage {
    /// `record` over the live record under `session` if its revision is `expected` (the
    /// `UPDATE_IF` script); with `check_principal`, only if both name the same principal.
    async fn write_if(
        &self,
        deadline: Instant,
        session: SessionKey<'_>,
        record: &Record,
        expected: Revision,
        now: SystemTime,
        check_principal: bool,
    ) -> Result<WriteIf, StorageError> {
        let key = self.keys.record(session);
        let encoded = self.encode(&key, session, record)?;
        let (pxat, now) = (record::pxat(record), to_millis(now));
        let expected = record::revision_bytes(expected);
        let revision = record::revision_bytes(record.revision);
        let check = if check_principal { "1" } else { "0" };
        // A script: Redis reports its writes back to this connection, so they are not cached.
        let _ticket = self.write_ticket(&key);
        let outcome: i64 = self
            .run(deadline, "update_if", |mut conn| {
                let (key, value) = (&key, &encoded.value);
                async move {
                    scripts::UPDATE_IF
                        .key(key.as_str())
                        .arg(value)
                        .arg(pxat)
                        .arg(now)
                        .arg(&expected[..])
                        .arg(&revision[..])
                        .arg(check)
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await?;
        Ok(match outcome {
            1 => WriteIf::Done(Updated::Written),
            2 => WriteIf::Done(Updated::Conflict),
            3 => WriteIf::OtherPrincipal,
            _ => WriteIf::Done(Updated::Gone),
        })
    }

    /// After an update wrote `record` over `old`, a record of another principal: writes it
    /// again with `old`'s principal, unless another write came in between.
    async fn restore_principal(
        &self,
        deadline: Instant,
        session: SessionKey<'_>,
        record: &Record,
        old: Vec<u8>,
        now: SystemTime,
    ) -> Result<(), StorageError> {
        if let Stored::Record(previous) = record::decode(old) {
            let mut kept = record.clone();
            kept.meta.principal = previous.meta.principal;
            self.write_if(deadline, session, &kept, record.revision, now, false)
                .await?;
        }
        Ok(())
    }

    /// The value under `key`, if any.
    async fn get(
        &self,
        deadline: Instant,
        what: &str,
        key: &RecordKey,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let mut get = ::redis::Cmd::with_capacity(2, 3 + key.as_str().len());
        get.arg("GET").arg(key.as_str());
        self.run(deadline, what, |mut conn| {
            let get = &get;
            async move { conn.query(get).await }
        })
        .await
    }

    /// A ticket for a write of `key` by this process, if the storage caches: no fill of the
    /// key happens while it is held (see [`WriteTicket`]).
    pub(super) fn write_ticket(&self, key: &RecordKey) -> Option<WriteTicket<'_>> {
        let cache = self.cache.as_deref()?;
        Some(cache.begin_write(key_of_member(key.member().as_bytes())?))
    }

    /// [`write_ticket`](Self::write_ticket) for the session with `digest`.
    fn write_ticket_of(&self, digest: [u8; 32]) -> Option<WriteTicket<'_>> {
        Some(self.cache.as_deref()?.begin_write(LocalCache::key(digest)))
    }

    /// The digest of `session` (its Redis key's tail): remembered by the cache if it has seen
    /// the session, computed otherwise.
    fn digest(&self, session: SessionKey<'_>) -> (Option<SessionDigest>, [u8; 32]) {
        match self.cache.as_deref() {
            Some(cache) => {
                let digest = cache.digest(session);
                (Some(digest), digest.bytes)
            }
            None => (None, session.digest()),
        }
    }

    /// Remembers the digest of a session found in Redis, for its next requests.
    fn remember(&self, digest: Option<SessionDigest>) {
        if let (Some(cache), Some(digest)) = (self.cache.as_deref(), digest) {
            cache.remember(&digest);
        }
    }

    /// `record` encoded for `session`'s namespace, refused if it would land outside its
    /// principal's hash slot.
    fn encode(
        &self,
        key: &RecordKey,
        session: SessionKey<'_>,
        record: &Record,
    ) -> Result<Encoded, StorageError> {
        let encoded = record::encode(record, session.namespace());
        if let Some(principal) = &encoded.principal {
            self.keys.check_placement(key, principal)?;
        }
        Ok(encoded)
    }
}

#[async_trait]
impl SessionStorage for RedisStorage {
    async fn load(
        &self,
        key: SessionKey<'_>,
        now: SystemTime,
    ) -> Result<Option<Record>, StorageError> {
        let session = key;
        let (known, digest) = self.digest(session);
        let ticket = match self
            .cache
            .as_deref()
            .map(|c| c.lookup(LocalCache::key(digest), now))
        {
            Some(Lookup::Hit(record)) => return Ok(Some(record)),
            Some(Lookup::Miss(ticket)) => Some(ticket),
            None => None,
        };
        let key = self.keys.record_of(session, &digest);
        let deadline = self.deadline();
        let Some(value) = self.get(deadline, "load", &key).await? else {
            return Ok(None);
        };
        match record::decode_in(value, session.namespace(), &self.recent) {
            Stored::Record(record) if record.is_expired(now) => Ok(None),
            Stored::Record(record) => {
                if let (Some(cache), Some(ticket)) = (self.cache.as_deref(), ticket) {
                    cache.fill_read(ticket, record.clone(), now);
                }
                self.remember(known);
                Ok(Some(record))
            }
            Stored::Tombstone => Ok(None),
            Stored::Foreign => {
                tracing::warn!(
                    id = %session.id().log_tag(),
                    "a Redis session value is not in the expected format; it is removed"
                );
                // A repair: it gets a deadline of its own (see `call_bound`).
                Box::pin(self.remove(self.deadline(), &key)).await?;
                Ok(None)
            }
        }
    }

    async fn create(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        let (session, key) = (key, self.keys.record(key));
        let encoded = self.encode(&key, session, record)?;
        Ok(
            if self
                .insert(self.deadline(), &key, &encoded, record, now)
                .await?
            {
                Created::Inserted
            } else {
                Created::Collision
            },
        )
    }

    async fn update(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let session = key;
        let (known, digest) = self.digest(session);
        let key = self.keys.record_of(session, &digest);
        let encoded = self.encode(&key, session, record)?;
        let pxat = record::pxat(record);
        let ticket = self.write_ticket_of(digest);
        // One command, no script: `XX` writes only over an existing key (a deleted session
        // stays deleted), `GET` returns what it replaced, so the clock rule is judged here.
        // Sent twice (a lost reply), it gets back its own value, live: written.
        let mut set = ::redis::Cmd::with_capacity(7, 40 + key.as_str().len() + encoded.value.len());
        set.arg("SET")
            .arg(key.as_str())
            .arg(&encoded.value)
            .arg("XX")
            .arg("PXAT")
            .arg(pxat)
            .arg("GET");
        let deadline = self.deadline();
        let replaced: Option<Vec<u8>> = self
            .run(deadline, "update", |mut conn| {
                let set = &set;
                async move { conn.query(set).await }
            })
            .await?;
        match replaced {
            None => Ok(false),
            Some(old) if record::is_live(&old, to_millis(now)) => {
                if record::principal_ref(&old) != encoded.principal_ref() {
                    // The record names another principal than the one the session was
                    // stored with (a caller that updates in place what only an id change may
                    // move): the stored principal stays, as the index says. Not cached: the
                    // ticket, held until the rewrite ends, only ends the write. A repair: it
                    // gets a deadline of its own (see `call_bound`). Boxed, as every repair
                    // here: rare, and kept out of the size of every call's future.
                    Box::pin(self.restore_principal(self.deadline(), session, record, old, now))
                        .await?;
                } else if let Some(ticket) = ticket
                    // Decoded only for the cache: without one, a write decodes nothing.
                    && let Stored::Record(written) =
                        record::decode_in(encoded.value, session.namespace(), &self.recent)
                {
                    // Redis holds exactly what was written: keep it.
                    ticket.written(written, true, now);
                }
                self.remember(known);
                Ok(true)
            }
            Some(_) => {
                // The key held a record expired by our clock (Redis's runs behind), a
                // tombstone or a value of another format: the session had ended, so the write
                // must not revive it.
                tracing::debug!(
                    id = %session.id().log_tag(),
                    "Redis update replaced an ended record; removing it"
                );
                // A repair: it gets a deadline of its own (see `call_bound`).
                Box::pin(self.remove(self.deadline(), &key)).await?;
                Ok(false)
            }
        }
    }

    async fn update_if(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        expected: Revision,
        now: SystemTime,
    ) -> Result<Updated, StorageError> {
        let deadline = self.deadline();
        match self
            .write_if(deadline, key, record, expected, now, true)
            .await?
        {
            WriteIf::Done(updated) => Ok(updated),
            WriteIf::OtherPrincipal => {
                // The record names another principal than the stored one: written with the
                // stored principal, which an update keeps.
                let current = self
                    .get(deadline, "update_if", &self.keys.record(key))
                    .await?;
                match current.map(record::decode) {
                    Some(Stored::Record(stored)) if stored.revision == expected => {
                        let mut kept = record.clone();
                        kept.meta.principal = stored.meta.principal;
                        match self
                            .write_if(deadline, key, &kept, expected, now, false)
                            .await?
                        {
                            WriteIf::Done(updated) => Ok(updated),
                            WriteIf::OtherPrincipal => Ok(Updated::Conflict),
                        }
                    }
                    Some(Stored::Record(_)) => Ok(Updated::Conflict),
                    _ => Ok(Updated::Gone),
                }
            }
        }
    }

    async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
        self.remove(self.deadline(), &self.keys.record(key)).await
    }

    async fn change_id(
        &self,
        old: SessionKey<'_>,
        new: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let (old_key, new_key) = (self.keys.record(old), self.keys.record(new));
        let encoded = self.encode(&new_key, new, record)?;
        let _tickets = (self.write_ticket(&old_key), self.write_ticket(&new_key));
        if old_key.tag() == new_key.tag() {
            // One hash slot: a single node, a prefix with a hash tag, or ids with one tag.
            self.move_in_slot(self.deadline(), &old_key, &new_key, &encoded, record, now)
                .await
        } else {
            self.move_across_slots(self.deadline(), &old_key, &new_key, &encoded, record, now)
                .await
        }
    }

    /// Redis deletes expired keys by itself (every key carries `PXAT`, every index its highest
    /// score), so this does nothing and returns 0.
    async fn delete_expired(&self, _now: SystemTime) -> Result<u64, StorageError> {
        Ok(0)
    }

    fn backend(&self) -> &'static str {
        "redis"
    }

    fn supports_conditional_updates(&self) -> bool {
        true
    }

    /// Twice the timeout: every command of a call shares the call's deadline, except a repair
    /// that ends some paths (removing a value that is not a record, ending again a session
    /// that an update found ended, restoring a principal, ending or taking back the new key
    /// of an id change between two hash slots), which gets one deadline of its own. No path
    /// has more than one.
    fn call_bound(&self) -> Option<Duration> {
        self.timeout.checked_mul(2)
    }

    fn supports_principals(&self) -> bool {
        true
    }

    async fn sessions_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        now: SystemTime,
    ) -> Result<Vec<PrincipalSession>, StorageError> {
        self.list_principal(namespace, principal, now).await
    }

    async fn delete_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        handle: &SessionHandle,
    ) -> Result<bool, StorageError> {
        self.end_principal_session(namespace, principal, handle)
            .await
    }

    async fn delete_all_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        except: Option<&SessionHandle>,
    ) -> Result<u64, StorageError> {
        self.end_principal_sessions(namespace, principal, except)
            .await
    }

    /// In a Cluster without a hash tag in the prefix: the principal's four hex characters, so
    /// its sessions and its index share a hash slot. `None` otherwise (one slot holds all).
    fn principal_id_prefix(&self, namespace: &Namespace, principal: &str) -> Option<String> {
        self.keys.id_prefix(namespace, principal)
    }

    /// `SCAN` over the storage's keys (`prefix*`, every primary of a Cluster), reading each
    /// record's header for its expiry and `MEMORY USAGE` for the size (the value lengths
    /// where `MEMORY USAGE` is not allowed). Records expired by the `now` given but not yet
    /// by Redis's clock count as expired; values under a record key that are not records
    /// count as unreadable; principal indexes and the tombstones of moves are not counted.
    async fn stats(&self, now: SystemTime) -> Result<Option<StorageStats>, StorageError> {
        self.survey(now).await.map(Some)
    }
}
