//! The file format of the default layout: one header line, then the data.
//!
//! ```text
//! typed-sessions/1 <created> <expires> <length> <check>\n<data>
//! ```
//!
//! * `created`, `expires`: nanoseconds since the Unix epoch, in decimal (negative before it);
//! * `length`: the byte length of `data`;
//! * `check`: 16 hex characters, the first 8 bytes of SHA-256 over everything before it (the
//!   header up to and including `<length>`, without the space that follows) and the data.
//!
//! A file that is empty, truncated, extended, altered, not UTF-8, or of another version does not
//! decode, and the storage then treats it as absent. Atomic writes make a torn file impossible
//! short of disk corruption; the check catches that too.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::storage::Record;

const MAGIC: &str = "typed-sessions/1";

/// The longest header line: the magic, two i128s, a u64 and the check, with spaces.
const MAX_HEADER: usize = 128;

/// The largest session payload a directory storage writes or reads (16 MiB).
pub(crate) const MAX_DATA: usize = 16 * 1024 * 1024;

/// The bytes of a file holding `record`.
pub(crate) fn encode(record: &Record) -> Vec<u8> {
    let line = format!(
        "{MAGIC} {} {} {}",
        nanos(record.created_at),
        nanos(record.expires_at),
        record.data.len()
    );
    let check = check(line.as_bytes(), &record.data);
    let mut bytes = Vec::with_capacity(line.len() + 18 + record.data.len());
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b' ');
    bytes.extend_from_slice(check.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(&record.data);
    bytes
}

/// The record in `bytes`, or `None` if they are not a whole, intact record.
pub(crate) fn decode(mut bytes: Vec<u8>) -> Option<Record> {
    let newline = bytes.iter().take(MAX_HEADER).position(|b| *b == b'\n')?;
    let data = bytes.split_off(newline + 1);
    let header = std::str::from_utf8(bytes.get(..newline)?).ok()?;
    let (line, check_hex) = header.rsplit_once(' ')?;
    let mut fields = line.split(' ');
    let (Some(MAGIC), Some(created), Some(expires), Some(length), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return None;
    };
    if length.parse::<usize>().ok()? != data.len() || check(line.as_bytes(), &data) != check_hex {
        return None;
    }
    Some(Record::new(
        data,
        time(created.parse().ok()?)?,
        time(expires.parse().ok()?)?,
    ))
}

fn check(line: &[u8], data: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(line)
        .chain_update(b"\n")
        .chain_update(data)
        .finalize();
    hex::encode(digest.get(..8).unwrap_or_default())
}

fn nanos(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    }
}

fn time(nanos: i128) -> Option<SystemTime> {
    let magnitude = Duration::new(
        u64::try_from(nanos.unsigned_abs() / 1_000_000_000).ok()?,
        (nanos.unsigned_abs() % 1_000_000_000) as u32,
    );
    if nanos >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        let now = SystemTime::now();
        Record::new(
            "{\"a\":\"ü\\n\"}\nline two",
            now,
            now + Duration::from_nanos(3_600_000_000_123),
        )
    }

    #[test]
    fn round_trips_exactly() {
        let record = sample();
        assert_eq!(decode(encode(&record)), Some(record));
        let before_epoch = Record::new("", UNIX_EPOCH - Duration::from_nanos(5), UNIX_EPOCH);
        assert_eq!(decode(encode(&before_epoch)), Some(before_epoch));
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_refused() {
        let bytes = encode(&sample());
        for len in 0..bytes.len() {
            assert_eq!(decode(bytes[..len].to_vec()), None, "truncated to {len}");
        }
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x01;
            assert_eq!(decode(flipped), None, "byte {at} flipped");
        }
        let mut extended = bytes.clone();
        extended.push(b' ');
        assert_eq!(decode(extended), None);
    }

    #[test]
    fn the_extremes_of_the_clock_round_trip() {
        let latest = UNIX_EPOCH + Duration::new(i64::MAX as u64, 999_999_999);
        let earliest = UNIX_EPOCH - Duration::new(i64::MAX as u64, 999_999_999);
        let record = Record::new("{}", earliest, latest);
        assert_eq!(decode(encode(&record)), Some(record));
    }

    #[test]
    fn out_of_range_times_with_a_valid_check_are_refused_without_panicking() {
        // A writer of the directory can compute the (unkeyed) check: times beyond what the
        // clock holds must still only make the file unreadable.
        for (created, expires) in [
            (i128::MAX, 0),
            (0, i128::MAX),
            (i128::MIN, i128::MIN),
            (i128::from(u64::MAX) * 1_000_000_000 + 999_999_999, 0),
        ] {
            let line = format!("{MAGIC} {created} {expires} 2");
            let mut bytes = line.clone().into_bytes();
            bytes.push(b' ');
            bytes.extend_from_slice(check(line.as_bytes(), b"{}").as_bytes());
            bytes.extend_from_slice(b"\n{}");
            assert_eq!(decode(bytes), None, "{created} {expires}");
        }
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        for garbage in [
            &b""[..],
            b"\n",
            b"typed-sessions/1\n",
            b"typed-sessions/1 1 2 0 0000000000000000\n",
            b"typed-sessions/2 1 2 0 0000000000000000\n",
            b"typed-sessions/1 99999999999999999999999999999999999999999 2 0 x\n",
            &[0xff; 300],
            b"{\"userID\":\"123\"}",
        ] {
            assert_eq!(decode(garbage.to_vec()), None, "{garbage:?}");
        }
    }
}
