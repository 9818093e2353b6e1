//! The writes that take more than one command or a script: an insert that may meet an old
//! record, a delete with its index entry, and the two kinds of id change (one hash slot, or
//! two: see the [module documentation](super#round-trips-and-atomicity)).

use std::time::SystemTime;

use tokio::time::Instant;

use ::redis::{Script, ScriptInvocation, Value};

use super::keys::RecordKey;
use super::record::{self, Encoded};
use super::{RedisStorage, scripts};
use crate::storage::millis::to_millis;
use crate::storage::{Record, StorageError};

impl RedisStorage {
    /// Inserts the record under `key` unless a live record holds it at `now`, with its index
    /// entry; whether it did (or finds its own revision there: a retried insert).
    pub(super) async fn insert(
        &self,
        deadline: Instant,
        key: &RecordKey,
        encoded: &Encoded,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        // Held while the write is in flight; what a create writes is not cached: a session's
        // first load fills the cache (most new sessions of a flood are never loaded again).
        let _ticket = self.write_ticket(key);
        if encoded.principal.is_none() {
            let mut set =
                ::redis::Cmd::with_capacity(6, 40 + key.as_str().len() + encoded.value.len());
            set.arg("SET")
                .arg(key.as_str())
                .arg(&encoded.value)
                .arg("NX")
                .arg("PXAT")
                .arg(record::pxat(record));
            let set: Value = self
                .run(deadline, "create", |mut conn| {
                    let set = &set;
                    async move { conn.query(set).await }
                })
                .await?;
            if !matches!(set, Value::Nil) {
                return Ok(true);
            }
            // The key exists: a live session, one expired by our clock but not yet by
            // Redis's, a tombstone, or our own value (this insert's reply was lost).
        }
        let write = Write::new(self, encoded, record, now);
        let inserted: i64 = self
            .run(deadline, "create", |mut conn| {
                let (keys, members) = ([key.as_str()], [key.member()]);
                let script = write.invocation(&scripts::CREATE, &keys, key.tag(), &members);
                async move { script.invoke_async(&mut conn).await }
            })
            .await?;
        Ok(inserted == 1)
    }

    /// Deletes the value under `key` and its index entry; whether there was a value.
    pub(super) async fn remove(
        &self,
        deadline: Instant,
        key: &RecordKey,
    ) -> Result<bool, StorageError> {
        let _ticket = self.write_ticket(key);
        let removed: i64 = self
            .run(deadline, "delete", |mut conn| async move {
                scripts::DELETE
                    .key(key.as_str())
                    .arg(self.keys.prefix())
                    .arg(self.keys.tagged_arg())
                    .arg(key.tag())
                    .arg(key.member())
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(removed > 0)
    }

    /// Moves the record from `old` to `new` in one script (both keys in one hash slot).
    pub(super) async fn move_in_slot(
        &self,
        deadline: Instant,
        old: &RecordKey,
        new: &RecordKey,
        encoded: &Encoded,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let write = Write::new(self, encoded, record, now);
        let moved: i64 = self
            .run(deadline, "change_id", |mut conn| {
                let keys = [old.as_str(), new.as_str()];
                let members = [old.member(), new.member()];
                let script = write.invocation(&scripts::CHANGE_ID, &keys, new.tag(), &members);
                async move { script.invoke_async(&mut conn).await }
            })
            .await?;
        Ok(moved == 1)
    }

    /// Moves the record from `old` to `new` in two hash slots: inserts the new record, then
    /// ends the old one if it is still live, leaving the move's tombstone.
    pub(super) async fn move_across_slots(
        &self,
        deadline: Instant,
        old: &RecordKey,
        new: &RecordKey,
        encoded: &Encoded,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        if !self.insert(deadline, new, encoded, record, now).await? {
            return Ok(false);
        }
        let tombstone = record::tombstone(record.revision);
        let (now, lasts) = (to_millis(now), self.tombstone_millis());
        let taken = self
            .run(deadline, "change_id", |mut conn| async move {
                scripts::TAKE_LIVE
                    .key(old.as_str())
                    .arg(now)
                    .arg(&tombstone[..])
                    .arg(lasts)
                    .arg(self.keys.prefix())
                    .arg(self.keys.tagged_arg())
                    .arg(old.tag())
                    .arg(old.member())
                    .invoke_async::<i64>(&mut conn)
                    .await
            })
            .await;
        match taken {
            Ok(1) => Ok(true),
            Ok(_) => {
                // Ended meanwhile (a concurrent logout or move): deletion wins. A repair: it
                // gets a deadline of its own (see `call_bound`).
                self.remove(self.deadline(), new).await?;
                Ok(false)
            }
            Err(error) => {
                // Unknown whether the old record is gone: take the new one back, best effort.
                // A repair: it gets a deadline of its own (the call's may have run out; see
                // `call_bound`).
                if let Err(undo) = self.remove(self.deadline(), new).await {
                    tracing::warn!(error = %undo, "Redis change_id: could not remove the new key after a failure; it expires on its own");
                }
                Err(error)
            }
        }
    }
}

/// The arguments of a script that writes a record and files it (`CREATE`, `CHANGE_ID`).
struct Write<'a> {
    storage: &'a RedisStorage,
    encoded: &'a Encoded,
    /// The key of the principal's index, if the record has a principal.
    index: Option<String>,
    pxat: u64,
    now: u64,
    revision: [u8; 8],
    score: u64,
}

impl<'a> Write<'a> {
    fn new(
        storage: &'a RedisStorage,
        encoded: &'a Encoded,
        record: &Record,
        now: SystemTime,
    ) -> Write<'a> {
        Write {
            storage,
            encoded,
            index: encoded.principal.as_ref().map(|p| storage.keys.index(p)),
            pxat: record::pxat(record),
            now: to_millis(now),
            revision: record::revision_bytes(record.revision),
            score: record::index_score(record),
        }
    }

    /// `script` on `keys` and the index, with its arguments: value, expiry, now, revision,
    /// prefix, tagged, `tag`, the `members` of the records it writes, the index score.
    fn invocation(
        &self,
        script: &'static Script,
        keys: &[&str],
        tag: &str,
        members: &[&str],
    ) -> ScriptInvocation<'static> {
        let mut invocation = script.prepare_invoke();
        for key in keys.iter().copied().chain(self.index.as_deref()) {
            invocation.key(key);
        }
        invocation
            .arg(&self.encoded.value)
            .arg(self.pxat)
            .arg(self.now)
            .arg(&self.revision[..])
            .arg(self.storage.keys.prefix())
            .arg(self.storage.keys.tagged_arg())
            .arg(tag);
        for member in members {
            invocation.arg(*member);
        }
        invocation.arg(self.score);
        invocation
    }
}
