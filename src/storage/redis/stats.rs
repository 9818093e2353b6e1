//! [`SessionStorage::stats`](crate::storage::SessionStorage::stats) for Redis: `SCAN` over the
//! storage's keys on every node, and per page one pipeline that reads each record's header
//! (`GETRANGE`) and size (`MEMORY USAGE`, or `STRLEN` where that command is not allowed).

use std::time::SystemTime;

use ::redis::{Value, from_redis_value};

use super::RedisStorage;
use super::connection::Node;
use super::record;
use crate::storage::millis::from_millis;
use crate::storage::{StorageError, StorageStats};

/// Keys asked for per `SCAN` page.
const SCAN_COUNT: u64 = 1000;

/// What the pages seen so far add up to.
#[derive(Debug, Default)]
struct Tally {
    live: u64,
    expired: u64,
    unreadable: u64,
    memory: u64,
    /// `MEMORY USAGE` failed for some key (not allowed, or an old server): use `lengths`.
    memory_unavailable: bool,
    lengths: u64,
}

impl RedisStorage {
    /// Counts this storage's sessions (its record keys: the prefix, a hash tag in a Cluster
    /// that tags keys, 64 hex digits) on every node.
    pub(super) async fn survey(&self, now: SystemTime) -> Result<StorageStats, StorageError> {
        let nodes = self
            .run(self.deadline(), "stats", |mut conn| async move {
                conn.primaries().await
            })
            .await?;
        let pattern = format!("{}*", glob_escape(self.prefix()));
        let mut tally = Tally::default();
        for node in &nodes {
            let mut cursor = 0u64;
            loop {
                let (next, keys) = self.scan_page(node.as_ref(), cursor, &pattern).await?;
                let keys: Vec<Vec<u8>> = keys
                    .into_iter()
                    .filter(|key| self.keys.is_record_key(key))
                    .collect();
                if !keys.is_empty() {
                    self.tally_page(node.as_ref(), &keys, now, &mut tally)
                        .await?;
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        let stats = StorageStats::new(tally.live, tally.expired).with_unreadable(tally.unreadable);
        Ok(if tally.memory_unavailable {
            stats.with_size(tally.lengths, "length of the session values")
        } else {
            stats.with_size(tally.memory, "memory of the session keys (MEMORY USAGE)")
        })
    }

    async fn scan_page(
        &self,
        node: Option<&Node>,
        cursor: u64,
        pattern: &str,
    ) -> Result<(u64, Vec<Vec<u8>>), StorageError> {
        let mut scan = ::redis::cmd("SCAN");
        scan.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT);
        self.run(self.deadline(), "stats", |mut conn| {
            let scan = &scan;
            async move {
                let reply = conn.on_node(node, scan).await?.extract_error()?;
                Ok(from_redis_value(reply)?)
            }
        })
        .await
    }

    async fn tally_page(
        &self,
        node: Option<&Node>,
        keys: &[Vec<u8>],
        now: SystemTime,
        tally: &mut Tally,
    ) -> Result<(), StorageError> {
        let mut pipeline = ::redis::pipe();
        for key in keys {
            pipeline
                .cmd("GETRANGE")
                .arg(key)
                .arg(0)
                .arg(HEAD_LEN - 1)
                .cmd("MEMORY")
                .arg("USAGE")
                .arg(key)
                .cmd("STRLEN")
                .arg(key);
        }
        let count = keys.len() * 3;
        let replies = self
            .run(self.deadline(), "stats", |mut conn| {
                let pipeline = &pipeline;
                async move { conn.pipeline_on_node(node, pipeline, count).await }
            })
            .await?;
        let mut replies = replies.into_iter();
        while let (Some(header), Some(memory), Some(length)) =
            (replies.next(), replies.next(), replies.next())
        {
            let length: u64 = from_redis_value(length).unwrap_or(0);
            if length == 0 {
                continue; // gone since the scan (an empty value is never a record)
            }
            tally.lengths = tally.lengths.saturating_add(length);
            match from_redis_value::<u64>(memory) {
                Ok(bytes) => tally.memory = tally.memory.saturating_add(bytes),
                Err(_) => tally.memory_unavailable = true,
            }
            match expiry_of(header) {
                Head::Record(expires_at) if expires_at <= now => tally.expired += 1,
                Head::Record(_) => tally.live += 1,
                Head::Tombstone => {}
                Head::Unreadable => tally.unreadable += 1,
            }
        }
        Ok(())
    }
}

/// How many bytes of each value a page reads: enough for the expiry of either format.
const HEAD_LEN: usize = 42;

/// What the first bytes of a value under a record key say.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    /// A record expiring then.
    Record(SystemTime),
    /// What a move leaves under its old key for a few seconds: not a session.
    Tombstone,
    /// Not a record of this storage.
    Unreadable,
}

/// What `header` (the first bytes of a value) holds.
fn expiry_of(header: Value) -> Head {
    let Ok(bytes) = from_redis_value::<Vec<u8>>(header) else {
        return Head::Unreadable;
    };
    if record::is_tombstone(&bytes) {
        return Head::Tombstone;
    }
    match record::expires_at_ms(&bytes) {
        Some(ms) => Head::Record(from_millis(ms)),
        None => Head::Unreadable,
    }
}

/// `text` with the characters special to `SCAN MATCH` (`* ? [ ] \`) escaped.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::storage::{Namespace, Record, Revision};

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape("typed-sessions:"), "typed-sessions:");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
        assert_eq!(glob_escape("{tag}:"), "{tag}:");
    }

    #[test]
    fn the_expiry_comes_from_the_header() {
        let expires = UNIX_EPOCH + Duration::from_millis(1_700_000_600_002);
        let record = Record::new("{}", UNIX_EPOCH, expires).with_principal("ada");
        let value = record::encode(&record, &Namespace::new("s")).value;
        let header = Value::BulkString(value[..HEAD_LEN].to_vec());
        assert_eq!(expiry_of(header), Head::Record(expires));
        let mut v1 = vec![1u8];
        v1.extend_from_slice(&0u64.to_be_bytes());
        v1.extend_from_slice(&1_700_000_600_002u64.to_be_bytes());
        assert_eq!(expiry_of(Value::BulkString(v1)), Head::Record(expires));
        let stone = record::tombstone(Revision::from_u64(1)).to_vec();
        assert_eq!(expiry_of(Value::BulkString(stone)), Head::Tombstone);
        let json = Value::BulkString(b"{\"json\":1}".to_vec());
        assert_eq!(expiry_of(json), Head::Unreadable);
        assert_eq!(
            expiry_of(Value::BulkString(vec![1, 2, 3])),
            Head::Unreadable
        );
        assert_eq!(expiry_of(Value::Nil), Head::Unreadable);
    }
}
