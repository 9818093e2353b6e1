//! The file format of the default layout: one header line of ASCII, then the body in bytes.
//!
//! ```text
//! typed-sessions/2 <created> <expires> <revision> <last seen> <lifetime ends> <version>
//!     <namespace length> <principal length> <device length> <address length> <data length>
//!     <check>\n<namespace><principal><device><address><data>
//! ```
//!
//! (one line, fields separated by single spaces):
//!
//! * `created`, `expires`, `last seen`, `lifetime ends`: nanoseconds since the Unix epoch, in
//!   decimal (negative before it);
//! * `revision`: 16 lowercase hex characters;
//! * `version`: the session type's version in decimal, or `-` for none;
//! * the lengths, in bytes, of the parts of the body, in order: the namespace (the name the
//!   session is registered under, always there), the principal, the device and the address
//!   (`-` for none: absent is not the same as empty), and the data (any bytes);
//! * `check`: 16 hex characters, the first 8 bytes of SHA-256 over everything before it (the
//!   header up to and including the data length, without the space that follows), a newline,
//!   and the body.
//!
//! Files of the first format, `typed-sessions/1 <created> <expires> <data length> <check>\n<data>`
//! (checked the same way), still load: with the metadata a record without any gets (last seen
//! at creation, the lifetime ending at the expiry), no namespace, and the check as revision,
//! so a conditional update of such a record compares something stable. Every write stores the
//! new format.
//!
//! A file that is empty, truncated, extended, altered, of another version, whose times do not
//! fit a `SystemTime`, or whose strings are not UTF-8, does not decode, and the storage then
//! treats it as absent. Atomic writes make a torn file impossible short of disk corruption;
//! the check catches that too.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::storage::{Metadata, Record, Revision};

const MAGIC_V1: &str = "typed-sessions/1";
const MAGIC_V2: &str = "typed-sessions/2";

/// The longest header line: the magic, four i128s, the revision, a u32, five u64s and the
/// check, with spaces (about 330 bytes), with room to spare.
const MAX_HEADER: usize = 512;

/// The largest session payload a directory storage writes or reads (16 MiB).
pub(crate) const MAX_DATA: usize = 16 * 1024 * 1024;

/// The most bytes the namespace, principal, device and address of one record may take
/// together (64 KiB).
pub(crate) const MAX_META: usize = 64 * 1024;

/// The largest file the default layout reads as a record.
pub(crate) const MAX_FILE: usize = MAX_HEADER + MAX_META + MAX_DATA;

/// What a session file of the default layout holds: the record and the namespace it was
/// written under (`None` for files of the first format, which did not keep it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    pub(crate) record: Record,
    pub(crate) namespace: Option<String>,
}

/// Whether `record`, written under `namespace`, fits the limits of the format.
pub(crate) fn fits(record: &Record, namespace: &str) -> bool {
    let meta = &record.meta;
    let strings = [
        Some(namespace),
        meta.principal.as_deref(),
        meta.device.as_deref(),
        meta.address.as_deref(),
    ];
    let meta_len: usize = strings.iter().flatten().map(|s| s.len()).sum();
    record.data.len() <= MAX_DATA && meta_len <= MAX_META
}

/// The bytes of a file holding `record`, written under `namespace`.
pub(crate) fn encode(record: &Record, namespace: &str) -> Vec<u8> {
    let meta = &record.meta;
    let optional = |s: Option<&str>| s.map_or_else(|| "-".to_owned(), |s| s.len().to_string());
    let line = format!(
        "{MAGIC_V2} {} {} {:016x} {} {} {} {} {} {} {} {}",
        nanos(record.created_at),
        nanos(record.expires_at),
        record.revision.as_u64(),
        nanos(meta.last_seen),
        nanos(meta.lifetime_ends_at),
        meta.version
            .map_or_else(|| "-".to_owned(), |v| v.to_string()),
        namespace.len(),
        optional(meta.principal.as_deref()),
        optional(meta.device.as_deref()),
        optional(meta.address.as_deref()),
        record.data.len(),
    );
    let parts = [
        Some(namespace),
        meta.principal.as_deref(),
        meta.device.as_deref(),
        meta.address.as_deref(),
    ];
    let mut body = Vec::with_capacity(
        parts.iter().flatten().map(|s| s.len()).sum::<usize>() + record.data.len(),
    );
    for part in parts.into_iter().flatten() {
        body.extend_from_slice(part.as_bytes());
    }
    body.extend_from_slice(&record.data);
    let check = hex::encode(check(line.as_bytes(), &body));
    let mut bytes = Vec::with_capacity(line.len() + 18 + body.len());
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b' ');
    bytes.extend_from_slice(check.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(&body);
    bytes
}

/// What a file holds, or `None` if its bytes are not a whole, intact record of either format.
pub(crate) fn decode(mut bytes: Vec<u8>) -> Option<Stored> {
    let newline = bytes.iter().take(MAX_HEADER).position(|b| *b == b'\n')?;
    let body = bytes.split_off(newline.checked_add(1)?);
    let header = std::str::from_utf8(bytes.get(..newline)?).ok()?;
    let (line, check_hex) = header.rsplit_once(' ')?;
    let sum = check(line.as_bytes(), &body);
    if check_hex.len() != 16 || hex::encode(sum) != check_hex {
        return None;
    }
    let mut fields = line.split(' ');
    match fields.next()? {
        MAGIC_V2 => decode_v2(fields, body),
        MAGIC_V1 => decode_v1(fields, body, sum),
        _ => None,
    }
}

/// `typed-sessions/1 <created> <expires> <length>`: the data and its times only.
fn decode_v1<'a>(
    mut fields: impl Iterator<Item = &'a str>,
    data: Vec<u8>,
    sum: [u8; 8],
) -> Option<Stored> {
    let (Some(created), Some(expires), Some(length), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return None;
    };
    if length.parse::<usize>().ok()? != data.len() {
        return None;
    }
    let record = Record::new(data, time(created)?, time(expires)?)
        .with_revision(Revision::from_u64(u64::from_be_bytes(sum)));
    Some(Stored {
        record,
        namespace: None,
    })
}

fn decode_v2<'a>(mut fields: impl Iterator<Item = &'a str>, mut body: Vec<u8>) -> Option<Stored> {
    let mut next = || fields.next();
    let created = time(next()?)?;
    let expires = time(next()?)?;
    let revision = revision(next()?)?;
    let last_seen = time(next()?)?;
    let lifetime_ends_at = time(next()?)?;
    let version = optional(next()?, |v| v.parse::<u32>().ok())?;
    let namespace_len = next()?.parse::<usize>().ok()?;
    let principal_len = optional(next()?, |l| l.parse::<usize>().ok())?;
    let device_len = optional(next()?, |l| l.parse::<usize>().ok())?;
    let address_len = optional(next()?, |l| l.parse::<usize>().ok())?;
    let data_len = next()?.parse::<usize>().ok()?;
    if next().is_some() {
        return None;
    }
    let lengths = [Some(namespace_len), principal_len, device_len, address_len];
    let meta_len = lengths
        .iter()
        .flatten()
        .try_fold(0usize, |sum, len| sum.checked_add(*len))?;
    if meta_len.checked_add(data_len)? != body.len() {
        return None;
    }
    let data = body.split_off(meta_len);
    let mut rest = body.as_slice();
    let mut take = |len: Option<usize>| -> Option<Option<&str>> {
        let Some(len) = len else {
            return Some(None);
        };
        let (part, after) = rest.split_at_checked(len)?;
        rest = after;
        Some(Some(std::str::from_utf8(part).ok()?))
    };
    let namespace = take(Some(namespace_len))?.map(str::to_owned);
    let mut meta = Metadata::new(last_seen, lifetime_ends_at);
    meta.principal = take(principal_len)?.map(Arc::from);
    meta.device = take(device_len)?.map(Arc::from);
    meta.address = take(address_len)?.map(Arc::from);
    meta.version = version;
    let record = Record::new(data, created, expires)
        .with_revision(revision)
        .with_meta(meta);
    Some(Stored { record, namespace })
}

/// `-` for `None`, or what `parse` makes of `text` (`None` if it cannot).
fn optional<T>(text: &str, parse: impl FnOnce(&str) -> Option<T>) -> Option<Option<T>> {
    match text {
        "-" => Some(None),
        text => parse(text).map(Some),
    }
}

fn revision(text: &str) -> Option<Revision> {
    if text.len() != 16 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u64::from_str_radix(text, 16).ok().map(Revision::from_u64)
}

/// The first 8 bytes of SHA-256 over `line`, a newline and `body`.
pub(crate) fn check(line: &[u8], body: &[u8]) -> [u8; 8] {
    let digest = Sha256::new()
        .chain_update(line)
        .chain_update(b"\n")
        .chain_update(body)
        .finalize();
    let mut first = [0u8; 8];
    for (to, from) in first.iter_mut().zip(digest.iter()) {
        *to = *from;
    }
    first
}

fn nanos(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => i128::try_from(before.duration().as_nanos()).map_or(i128::MIN, |n| -n),
    }
}

/// The time `text` (nanoseconds since the epoch) stands for, or `None` if it is not a number
/// or does not fit a `SystemTime`.
fn time(text: &str) -> Option<SystemTime> {
    let nanos: i128 = text.parse().ok()?;
    let magnitude = Duration::new(
        u64::try_from(nanos.unsigned_abs() / 1_000_000_000).ok()?,
        u32::try_from(nanos.unsigned_abs() % 1_000_000_000).ok()?,
    );
    if nanos >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
}
