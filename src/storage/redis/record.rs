//! How a [`Record`] is laid out in a Redis value.
//!
//! ```text
//! byte 0        format version, 1
//! bytes 1..9    created_at, milliseconds since the Unix epoch, big-endian u64
//! bytes 9..17   expires_at, milliseconds since the Unix epoch, big-endian u64
//! bytes 17..    the serialized session, UTF-8
//! ```
//!
//! A fixed binary header: reading it is two 8-byte loads and one UTF-8 check, and the Lua
//! scripts read `expires_at` with `string.byte` (see [`scripts`](super::scripts)).

use crate::storage::Record;
use crate::storage::millis::{from_millis, to_millis};

/// The format version in byte 0.
pub(super) const VERSION: u8 = 1;

/// Length of the header before the data.
pub(super) const HEADER_LEN: usize = 17;

/// The latest expiry Redis accepts comfortably: 9999-12-31T23:59:59.999Z.
const MAX_PXAT: u64 = 253_402_300_799_999;

/// The `PXAT` argument for `record`: its expiry in milliseconds, kept within what Redis
/// accepts (`PXAT 0` is an error, and so is a time past the year 292 million).
pub(super) fn pxat(record: &Record) -> u64 {
    to_millis(record.expires_at).clamp(1, MAX_PXAT)
}

/// The Redis value for `record`.
pub(super) fn encode(record: &Record) -> Vec<u8> {
    let mut value = Vec::with_capacity(HEADER_LEN + record.data.len());
    value.push(VERSION);
    value.extend_from_slice(&to_millis(record.created_at).to_be_bytes());
    value.extend_from_slice(&to_millis(record.expires_at).to_be_bytes());
    value.extend_from_slice(record.data.as_bytes());
    value
}

/// `created_at` and `expires_at` (milliseconds) from the header of a Redis value, or `None`
/// if the value does not start with a header of this format.
fn header(value: &[u8]) -> Option<(u64, u64)> {
    let header = value.get(..HEADER_LEN)?;
    let (version, times) = header.split_first()?;
    if *version != VERSION {
        return None;
    }
    let (created, expires) = times.split_at(8);
    Some((
        u64::from_be_bytes(created.try_into().ok()?),
        u64::from_be_bytes(expires.try_into().ok()?),
    ))
}

/// Whether `value` is a record of this format that has not expired at `now_ms`: the same
/// judgement as the scripts' `live` (see [`scripts`](super::scripts)), made on the client.
pub(super) fn is_live(value: &[u8], now_ms: u64) -> bool {
    header(value).is_some_and(|(_, expires_at)| expires_at > now_ms)
}

/// The record in a Redis value, or `None` if the value is not one (another format, truncated,
/// not UTF-8).
pub(super) fn decode(mut value: Vec<u8>) -> Option<Record> {
    let (created_at, expires_at) = header(&value)?;
    value.drain(..HEADER_LEN);
    let data = String::from_utf8(value).ok()?;
    Some(Record {
        data,
        created_at: from_millis(created_at),
        expires_at: from_millis(expires_at),
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn record(data: &str) -> Record {
        Record {
            data: data.into(),
            created_at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_001),
            expires_at: UNIX_EPOCH + Duration::from_millis(1_700_000_600_002),
        }
    }

    #[test]
    fn round_trips() {
        for data in ["", "{}", "ünïcödé \n \"quoted\" \0", &"x".repeat(70_000)] {
            let r = record(data);
            let value = encode(&r);
            assert_eq!(value.len(), HEADER_LEN + data.len());
            assert_eq!(decode(value), Some(r));
        }
    }

    #[test]
    fn layout_is_the_documented_one() {
        let value = encode(&record("{}"));
        assert_eq!(value[0], 1);
        assert_eq!(&value[1..9], &1_700_000_000_001u64.to_be_bytes());
        assert_eq!(&value[9..17], &1_700_000_600_002u64.to_be_bytes());
        assert_eq!(&value[17..], b"{}");
    }

    #[test]
    fn foreign_or_damaged_values_are_none() {
        let good = encode(&record("{}"));
        assert_eq!(decode(Vec::new()), None);
        assert_eq!(decode(good[..16].to_vec()), None);
        let mut other_version = good.clone();
        other_version[0] = 2;
        assert_eq!(decode(other_version), None);
        let mut not_utf8 = good.clone();
        not_utf8.push(0xff);
        assert_eq!(decode(not_utf8), None);
        assert_eq!(decode(b"{\"userId\":\"plain json\"}".to_vec()), None);
    }

    #[test]
    fn liveness_is_judged_from_the_header() {
        let value = encode(&record("{}"));
        assert!(is_live(&value, 1_700_000_600_001));
        assert!(
            !is_live(&value, 1_700_000_600_002),
            "expired at its expires_at"
        );
        assert!(!is_live(&value, u64::MAX));
        assert!(!is_live(&value[..16], 0), "a truncated header");
        assert!(
            !is_live(b"{\"userId\":\"plain json\"}", 0),
            "another format"
        );
        assert!(!is_live(b"", 0));
    }

    #[test]
    fn extreme_stored_times_decode_without_panicking() {
        let mut value = encode(&record("{}"));
        for (created, expires) in [(0, 0), (u64::MAX, u64::MAX), (0, u64::MAX), (u64::MAX, 1)] {
            value[1..9].copy_from_slice(&u64::to_be_bytes(created));
            value[9..17].copy_from_slice(&u64::to_be_bytes(expires));
            let decoded = decode(value.clone()).expect("a whole record");
            assert_eq!(decoded.data, "{}");
            assert_eq!(
                is_live(&value, 1_700_000_000_000),
                expires > 1_700_000_000_000
            );
            assert!((1..=MAX_PXAT).contains(&pxat(&decoded)));
        }
    }

    #[test]
    fn pxat_stays_in_the_range_redis_accepts() {
        let mut r = record("");
        r.expires_at = UNIX_EPOCH;
        assert_eq!(pxat(&r), 1);
        r.expires_at = UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) * 1000);
        assert_eq!(pxat(&r), MAX_PXAT);
    }
}
