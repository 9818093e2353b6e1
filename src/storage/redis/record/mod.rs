//! How a [`Record`] is laid out in a Redis value.
//!
//! ```text
//! byte 0         format version, 2
//! bytes 1..9     created_at        milliseconds since the Unix epoch, big-endian u64
//! bytes 9..17    expires_at        (the same offsets as format 1)
//! bytes 17..25   revision          big-endian u64
//! bytes 25..33   lifetime_ends_at  milliseconds
//! bytes 33..41   last_seen         milliseconds
//! byte 41        flags: 1 principal, 2 version, 4 device, 8 address
//! bytes 42..106  with a principal: its index reference, 64 lowercase hex characters
//!                (the hash that names the principal's index key; see `keys`)
//! then           the type version (big-endian u32), if flagged;
//!                principal, device, address, each flagged one as a big-endian u32 length
//!                and UTF-8 text;
//!                the serialized session: any bytes, to the end of the value.
//! ```
//!
//! Everything a script needs (liveness, revision, index reference) is at a fixed offset in the
//! first 106 bytes, which the scripts read with one `GETRANGE` (see [`scripts`](super::scripts)).
//!
//! Format 1 (a 17-byte header: version `1`, `created_at`, `expires_at`, then the data) still
//! reads: as a record with revision 0 and default metadata (last seen at creation, the
//! absolute lifetime ending at its expiry). Its first write rewrites it in format 2.
//!
//! A value of 9 bytes, `0xfe` and a revision, is a tombstone: what a move between two hash
//! slots leaves under the old key for a few seconds, so that a retried move recognises its own
//! effect. It reads as no session.

use std::sync::Arc;
use std::time::SystemTime;

mod recent;

pub(super) use self::recent::RecentPrincipals;
use super::keys::Principal;
use crate::storage::millis::{from_millis, to_millis};
use crate::storage::{IndexRef, Metadata, Namespace, Record, Revision};

/// Byte 0 of format 1.
pub(super) const V1: u8 = 1;
/// Byte 0 of format 2, the one written.
pub(super) const V2: u8 = 2;
/// Byte 0 of a tombstone.
const TOMBSTONE: u8 = 0xfe;
/// Length of a tombstone: the marker and a revision.
pub(super) const TOMBSTONE_LEN: usize = 9;

/// Length of the format 1 header.
const V1_HEADER_LEN: usize = 17;
/// Length of the fixed part of the format 2 header.
const FIXED_LEN: usize = 42;
/// Length of an index reference.
const REF_LEN: usize = 64;
/// How much of a value the scripts read: the fixed header and an index reference.
pub(super) const SCRIPT_HEAD_LEN: usize = FIXED_LEN + REF_LEN;

const FLAG_PRINCIPAL: u8 = 1;
const FLAG_VERSION: u8 = 2;
const FLAG_DEVICE: u8 = 4;
const FLAG_ADDRESS: u8 = 8;

/// The latest expiry Redis accepts comfortably: 9999-12-31T23:59:59.999Z.
const MAX_PXAT: u64 = 253_402_300_799_999;

/// The `PXAT` argument for `record`: its expiry in milliseconds, kept within what Redis
/// accepts (`PXAT 0` is an error, and so is a time past the year 292 million).
pub(super) fn pxat(record: &Record) -> u64 {
    to_millis(record.expires_at).clamp(1, MAX_PXAT)
}

/// The score of `record` in its principal's index: the end of its absolute lifetime (never
/// before its expiry), in milliseconds. No renewal moves a record's expiry past it, so the
/// entry outlives the record.
pub(super) fn index_score(record: &Record) -> u64 {
    to_millis(record.meta.lifetime_ends_at.max(record.expires_at)).clamp(1, MAX_PXAT)
}

/// The revision as the scripts compare it: 8 big-endian bytes.
pub(super) fn revision_bytes(revision: Revision) -> [u8; 8] {
    revision.as_u64().to_be_bytes()
}

/// The tombstone a move leaves under the old key: the new record's revision.
pub(super) fn tombstone(revision: Revision) -> [u8; TOMBSTONE_LEN] {
    let mut value = [TOMBSTONE; TOMBSTONE_LEN];
    for (out, byte) in value.iter_mut().skip(1).zip(revision_bytes(revision)) {
        *out = byte;
    }
    value
}

/// A record encoded for `namespace`, and the principal it is filed under, if any.
#[derive(Debug)]
pub(super) struct Encoded {
    pub(super) value: Vec<u8>,
    pub(super) principal: Option<Principal>,
}

impl Encoded {
    /// The principal index reference in the value's header, if it names one.
    pub(super) fn principal_ref(&self) -> Option<&[u8]> {
        principal_ref(&self.value)
    }
}

/// The Redis value for `record` of a session of `namespace`.
pub(super) fn encode(record: &Record, namespace: &Namespace) -> Encoded {
    let meta = &record.meta;
    let principal = Principal::of_meta(namespace, meta);
    let texts = [&meta.principal, &meta.device, &meta.address];
    let text_len: usize = texts
        .iter()
        .flat_map(|t| t.as_deref())
        .map(|t| 4 + t.len())
        .sum();
    let mut value = Vec::with_capacity(SCRIPT_HEAD_LEN + 4 + text_len + record.data.len());
    value.push(V2);
    for time in [record.created_at, record.expires_at] {
        value.extend_from_slice(&to_millis(time).to_be_bytes());
    }
    value.extend_from_slice(&revision_bytes(record.revision));
    for time in [meta.lifetime_ends_at, meta.last_seen] {
        value.extend_from_slice(&to_millis(time).to_be_bytes());
    }
    let flag = |set: bool, bit: u8| if set { bit } else { 0 };
    value.push(
        flag(principal.is_some(), FLAG_PRINCIPAL)
            | flag(meta.version.is_some(), FLAG_VERSION)
            | flag(meta.device.is_some(), FLAG_DEVICE)
            | flag(meta.address.is_some(), FLAG_ADDRESS),
    );
    if let Some(principal) = &principal {
        value.extend_from_slice(principal.hex_bytes());
    }
    if let Some(version) = meta.version {
        value.extend_from_slice(&version.to_be_bytes());
    }
    for text in texts.into_iter().flatten() {
        // A text over 4 GiB is cut (there is no such principal, device or address).
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        value.extend_from_slice(&len.to_be_bytes());
        value.extend_from_slice(text.as_bytes().get(..len as usize).unwrap_or_default());
    }
    value.extend_from_slice(&record.data);
    Encoded { value, principal }
}

/// The principal index reference in a value's header, if it names one (`None` for format 1,
/// tombstones, records without a principal and anything shorter than a header).
pub(super) fn principal_ref(value: &[u8]) -> Option<&[u8]> {
    let flags = *value.get(FIXED_LEN - 1)?;
    if value.first() != Some(&V2) || flags & FLAG_PRINCIPAL == 0 {
        return None;
    }
    value.get(FIXED_LEN..SCRIPT_HEAD_LEN)
}

/// What a Redis value under a record key holds.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Stored {
    /// A record (of either format).
    Record(Record),
    /// What a move left under its old key: no session.
    Tombstone,
    /// Not a value of this storage, or a damaged one: to be removed.
    Foreign,
}

/// What `value` holds, read for a session of `namespace`: [`decode`]'s answer, and a record
/// remembers its principal's index reference (see [`Principal::of_meta`]), so that writing it
/// back does not hash its principal again. A principal kept in `recent` is shared, text
/// and reference, instead of built again.
pub(super) fn decode_in(
    value: Vec<u8>,
    namespace: &Namespace,
    recent: &RecentPrincipals,
) -> Stored {
    decode_with(value, |reference, text| {
        recent.resolve(namespace.tag(), reference, text)
    })
}

/// What `value` holds. Never panics, whatever the bytes.
pub(super) fn decode(value: Vec<u8>) -> Stored {
    decode_with(value, |_, text| {
        let principal = std::str::from_utf8(text).ok()?;
        Some((Arc::from(principal), IndexRef::default()))
    })
}

/// What `value` holds, its principal (if any) built by `principal_of` from the index
/// reference and the text the header holds (`None`: the value is not a record).
fn decode_with(
    mut value: Vec<u8>,
    principal_of: impl FnOnce(&[u8; REF_LEN], &[u8]) -> Option<(Arc<str>, IndexRef)>,
) -> Stored {
    match value.first() {
        Some(&V1) => {
            let Some((created, expires)) = v1_times(&value) else {
                return Stored::Foreign;
            };
            value.drain(..V1_HEADER_LEN);
            Stored::Record(
                Record::new(value, created, expires).with_revision(Revision::from_u64(0)),
            )
        }
        Some(&V2) => match parse_v2(&value, principal_of) {
            Some((data_at, record)) => {
                value.drain(..data_at);
                Stored::Record(Record {
                    data: value,
                    ..record
                })
            }
            None => Stored::Foreign,
        },
        Some(&TOMBSTONE) if value.len() == TOMBSTONE_LEN => Stored::Tombstone,
        _ => Stored::Foreign,
    }
}

/// Whether `value` (or its first bytes) is a record that has not expired at `now_ms`: the same
/// judgement as the scripts' `live` (see [`scripts`](super::scripts)), made on the client.
pub(super) fn is_live(value: &[u8], now_ms: u64) -> bool {
    expires_at_ms(value).is_some_and(|expires_at| expires_at > now_ms)
}

/// The `expires_at` of the record whose value starts with `head`, in milliseconds; `None` for
/// a tombstone or a value that is not a record.
pub(super) fn expires_at_ms(head: &[u8]) -> Option<u64> {
    let min_len = match *head.first()? {
        V1 => V1_HEADER_LEN,
        V2 => FIXED_LEN,
        _ => return None,
    };
    if head.len() < min_len {
        return None;
    }
    Reader::at(head, 9).u64()
}

/// Whether `head` (the first bytes of a value) is a tombstone.
pub(super) fn is_tombstone(head: &[u8]) -> bool {
    head.len() == TOMBSTONE_LEN && head.first() == Some(&TOMBSTONE)
}

fn v1_times(value: &[u8]) -> Option<(SystemTime, SystemTime)> {
    let mut header = Reader::at(value.get(..V1_HEADER_LEN)?, 1);
    Some((from_millis(header.u64()?), from_millis(header.u64()?)))
}

/// The record of a format 2 value, without its data, and where the data starts.
fn parse_v2(
    value: &[u8],
    principal_of: impl FnOnce(&[u8; REF_LEN], &[u8]) -> Option<(Arc<str>, IndexRef)>,
) -> Option<(usize, Record)> {
    let mut r = Reader::at(value, 1);
    let created_at = from_millis(r.u64()?);
    let expires_at = from_millis(r.u64()?);
    let revision = Revision::from_u64(r.u64()?);
    let mut meta = Metadata::new(SystemTime::UNIX_EPOCH, SystemTime::UNIX_EPOCH);
    meta.lifetime_ends_at = from_millis(r.u64()?);
    meta.last_seen = from_millis(r.u64()?);
    let flags = r.u8()?;
    let reference = if flags & FLAG_PRINCIPAL != 0 {
        Some(<&[u8; REF_LEN]>::try_from(r.bytes(REF_LEN)?).ok()?)
    } else {
        None
    };
    if flags & FLAG_VERSION != 0 {
        meta.version = Some(r.u32()?);
    }
    if let Some(reference) = reference {
        let (principal, index_ref) = principal_of(reference, r.text_bytes()?)?;
        meta.principal = Some(principal);
        meta.index_ref = index_ref;
    }
    for (bit, field) in [
        (FLAG_DEVICE, &mut meta.device),
        (FLAG_ADDRESS, &mut meta.address),
    ] {
        if flags & bit != 0 {
            *field = Some(r.text()?);
        }
    }
    let record = Record {
        data: Vec::new(),
        created_at,
        expires_at,
        revision,
        meta,
    };
    Some((r.at, record))
}

/// Reads big-endian fields from a byte slice, `None` past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn at(bytes: &'a [u8], at: usize) -> Reader<'a> {
        Reader { bytes, at }
    }

    fn bytes(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(len)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn u8(&mut self) -> Option<u8> {
        self.bytes(1)?.first().copied()
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.bytes(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.bytes(8)?.try_into().ok()?))
    }

    /// A length-prefixed text's bytes, not checked.
    fn text_bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u32()?).ok()?;
        self.bytes(len)
    }

    fn text(&mut self) -> Option<Arc<str>> {
        std::str::from_utf8(self.text_bytes()?).ok().map(Arc::from)
    }
}

#[cfg(test)]
mod tests;
