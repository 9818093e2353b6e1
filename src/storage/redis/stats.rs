//! [`SessionStorage::stats`](crate::storage::SessionStorage::stats) for Redis: `SCAN` over the
//! storage's keys on every node, and per page one pipeline that reads each record's header
//! (`GETRANGE`) and size (`MEMORY USAGE`, or `STRLEN` where that command is not allowed).

use std::time::SystemTime;

use ::redis::{Value, from_redis_value};

use super::RedisStorage;
use super::connection::Node;
use super::record::{self, HEADER_LEN};
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
    /// Counts this storage's sessions (keys `prefix + 64 hex digits`) on every node.
    pub(super) async fn survey(&self, now: SystemTime) -> Result<StorageStats, StorageError> {
        let nodes = self
            .run("stats", |mut conn| async move { conn.primaries().await })
            .await?;
        let pattern = format!("{}*", glob_escape(&self.prefix));
        let mut tally = Tally::default();
        for node in &nodes {
            let mut cursor = 0u64;
            loop {
                let (next, keys) = self.scan_page(node.as_ref(), cursor, &pattern).await?;
                let keys: Vec<Vec<u8>> = keys
                    .into_iter()
                    .filter(|key| self.is_session_key(key))
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

    /// Whether `key` is one of this storage's: the prefix, then a 64-digit storage key.
    fn is_session_key(&self, key: &[u8]) -> bool {
        key.strip_prefix(self.prefix.as_bytes())
            .is_some_and(|hash| {
                hash.len() == 64
                    && hash
                        .iter()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
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
        self.run("stats", |mut conn| {
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
                .arg(HEADER_LEN - 1)
                .cmd("MEMORY")
                .arg("USAGE")
                .arg(key)
                .cmd("STRLEN")
                .arg(key);
        }
        let count = keys.len() * 3;
        let replies = self
            .run("stats", |mut conn| {
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
                Some(expires_at) if expires_at <= now => tally.expired += 1,
                Some(_) => tally.live += 1,
                None => tally.unreadable += 1,
            }
        }
        Ok(())
    }
}

/// The `expires_at` in a record's header, or `None` if the value is not a record.
fn expiry_of(header: Value) -> Option<SystemTime> {
    let bytes: Vec<u8> = from_redis_value(header).ok()?;
    let (version, times) = bytes.split_first()?;
    if *version != record::VERSION {
        return None;
    }
    let expires: [u8; 8] = times.get(8..16)?.try_into().ok()?;
    Some(from_millis(u64::from_be_bytes(expires)))
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
    use crate::storage::Record;

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape("typed-sessions:"), "typed-sessions:");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
        assert_eq!(glob_escape("{tag}:"), "{tag}:");
    }

    #[test]
    fn the_expiry_comes_from_the_header() {
        let expires = UNIX_EPOCH + Duration::from_millis(1_700_000_600_002);
        let value = record::encode(&Record::new("{}", UNIX_EPOCH, expires));
        let header = Value::BulkString(value[..HEADER_LEN].to_vec());
        assert_eq!(expiry_of(header), Some(expires));
        assert_eq!(expiry_of(Value::BulkString(b"{\"json\":1}".to_vec())), None);
        assert_eq!(expiry_of(Value::BulkString(vec![1, 2, 3])), None);
        assert_eq!(expiry_of(Value::Nil), None);
    }
}
