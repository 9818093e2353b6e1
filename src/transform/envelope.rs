//! The envelope shared by the modern formats ([`Sign`](super::Sign), [`Encrypt`](super::Encrypt)):
//! a 13-byte header, strict base64url, the authenticated session name, the expiry, and what
//! opening a value reveals ([`Opened`]).
//!
//! ```text
//! header = format (1 byte) | key id (4 bytes) | expires (8 bytes, big-endian Unix seconds, 0 = none)
//! ```

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::keys::{DerivedKeys, KeyId};
use super::{Rejection, TransformContext, TransformError};

/// The longest value the modern formats write or accept, in characters (the browser limit for a
/// whole cookie). A longer incoming value is refused before it is decoded.
pub const MAX_VALUE_LEN: usize = 4096;

/// The header's length in bytes.
pub(crate) const HEADER_LEN: usize = 1 + KeyId::LEN + 8;

/// A modern value format: the first byte of every value, which also versions the layout.
///
/// A reader accepts only the one format it is configured with; the byte never selects an
/// algorithm (so there is no "algorithm confusion": a value in another format is refused).
///
/// ```
/// use typed_sessions::transform::{Encrypt, Format, Key, Sign, TransformContext, Transformer};
///
/// let key = Key::generate();
/// let ctx = TransformContext::new("s", std::time::SystemTime::now());
/// let signed = Sign::new(key.clone()).write(&ctx, "v")?;
/// assert_eq!(Format::detect(&signed).unwrap(), (Format::HmacSha256, key.id()));
/// let sealed = Encrypt::new(key.clone()).write(&ctx, "v")?;
/// assert!(Format::detect(&sealed).unwrap().0.is_encrypted());
/// # Ok::<(), typed_sessions::transform::TransformError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Signed, version 1, HMAC-SHA-256 (byte `0x01`).
    HmacSha256,
    /// Signed, version 1, HMAC-SHA-384 (byte `0x02`).
    HmacSha384,
    /// Signed, version 1, HMAC-SHA-512 (byte `0x03`).
    HmacSha512,
    /// Encrypted, version 1, XChaCha20-Poly1305 (byte `0x11`).
    XChaCha20Poly1305,
    /// Encrypted, version 1, AES-256-GCM (byte `0x12`).
    Aes256Gcm,
}

impl Format {
    /// The format's byte, the first byte of every value in it.
    pub fn byte(self) -> u8 {
        match self {
            Format::HmacSha256 => 0x01,
            Format::HmacSha384 => 0x02,
            Format::HmacSha512 => 0x03,
            Format::XChaCha20Poly1305 => 0x11,
            Format::Aes256Gcm => 0x12,
        }
    }

    /// The format a byte stands for.
    pub fn from_byte(byte: u8) -> Option<Format> {
        Some(match byte {
            0x01 => Format::HmacSha256,
            0x02 => Format::HmacSha384,
            0x03 => Format::HmacSha512,
            0x11 => Format::XChaCha20Poly1305,
            0x12 => Format::Aes256Gcm,
            _ => return None,
        })
    }

    /// Whether values in this format are encrypted (otherwise they are signed, and readable).
    pub fn is_encrypted(self) -> bool {
        matches!(self, Format::XChaCha20Poly1305 | Format::Aes256Gcm)
    }

    /// A stable name, such as `sign/hmac-sha256` or `encrypt/xchacha20poly1305`; it is also
    /// the end of the HKDF `info` (`typed-sessions/v1/<name>`) of the format's derived key.
    pub fn name(self) -> &'static str {
        match self {
            Format::HmacSha256 => "sign/hmac-sha256",
            Format::HmacSha384 => "sign/hmac-sha384",
            Format::HmacSha512 => "sign/hmac-sha512",
            Format::XChaCha20Poly1305 => "encrypt/xchacha20poly1305",
            Format::Aes256Gcm => "encrypt/aes256gcm",
        }
    }

    /// The HKDF `info` of the key this format derives from a master key.
    pub(crate) fn info(self) -> &'static [u8] {
        match self {
            Format::HmacSha256 => b"typed-sessions/v1/sign/hmac-sha256",
            Format::HmacSha384 => b"typed-sessions/v1/sign/hmac-sha384",
            Format::HmacSha512 => b"typed-sessions/v1/sign/hmac-sha512",
            Format::XChaCha20Poly1305 => b"typed-sessions/v1/encrypt/xchacha20poly1305",
            Format::Aes256Gcm => b"typed-sessions/v1/encrypt/aes256gcm",
        }
    }

    /// Reads the format and key id of a modern value **without authenticating anything**: for
    /// diagnostics, to pick the transformer and key that can [`open`](super::Sign::open) it.
    pub fn detect(value: &str) -> Result<(Format, KeyId), Rejection> {
        let bytes = decode(value)?;
        let (header, _) = Header::split(&bytes)?;
        Ok((header.format, header.key_id))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What [`Sign::open`](super::Sign::open) or [`Encrypt::open`](super::Encrypt::open) found in a
/// value that verified: everything but key material.
///
/// `Debug` shows the payload's length, not the payload, so an `Opened` in a log leaks nothing.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Opened {
    /// The value's format.
    pub format: Format,
    /// The id of the key that protected it.
    pub key_id: KeyId,
    /// When it stops being accepted (`None`: it carries no expiry).
    pub expires_at: Option<SystemTime>,
    /// What was protected (for a session: the serialized session).
    pub payload: String,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("format", &self.format)
            .field("key_id", &self.key_id)
            .field("expires_at", &self.expires_at)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// The parsed header of a value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub(crate) format: Format,
    pub(crate) key_id: KeyId,
    /// Unix seconds; 0 means no expiry.
    pub(crate) expires: u64,
}

impl Header {
    /// The header of a value written now in `format` with key `key_id`.
    pub(crate) fn new(format: Format, key_id: KeyId, ctx: &TransformContext<'_>) -> Header {
        let expires = ctx.expires_at.map_or(0, |at| {
            // Rounded down, so a value never outlives its ttl; never 0, which means "none".
            at.duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_secs())
                .max(1)
        });
        Header {
            format,
            key_id,
            expires,
        }
    }

    pub(crate) fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let (format, rest) = out.split_at_mut(1);
        let (key_id, expires) = rest.split_at_mut(KeyId::LEN);
        format.fill(self.format.byte());
        key_id.copy_from_slice(self.key_id.as_bytes());
        expires.copy_from_slice(&self.expires.to_be_bytes());
        out
    }

    /// Splits a decoded value into its header and the rest.
    pub(crate) fn split(bytes: &[u8]) -> Result<(Header, &[u8]), Rejection> {
        let (header, rest) = bytes
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(Rejection::Malformed)?;
        let (&[format], rest_of_header) = header
            .split_first_chunk::<1>()
            .ok_or(Rejection::Malformed)?;
        let (key_id, expires) = rest_of_header
            .split_first_chunk::<{ KeyId::LEN }>()
            .ok_or(Rejection::Malformed)?;
        let expires: [u8; 8] = expires.try_into().map_err(|_| Rejection::Malformed)?;
        Ok((
            Header {
                format: Format::from_byte(format).ok_or(Rejection::Malformed)?,
                key_id: KeyId::from_bytes(*key_id),
                expires: u64::from_be_bytes(expires),
            },
            rest,
        ))
    }

    /// Checks the expiry against `ctx` (after the value verified): `Expired` when it has
    /// passed, and when the value carries none although the session has a lifetime.
    pub(crate) fn check_expiry(
        &self,
        ctx: &TransformContext<'_>,
    ) -> Result<Option<SystemTime>, Rejection> {
        if self.expires == 0 {
            return match ctx.expires_at {
                // The session has a lifetime now, so a value without one (written before a
                // ttl was configured) is not accepted forever.
                Some(_) => Err(Rejection::Expired),
                None => Ok(None),
            };
        }
        let at = UNIX_EPOCH
            .checked_add(Duration::from_secs(self.expires))
            .ok_or(Rejection::Malformed)?;
        if ctx.now >= at {
            return Err(Rejection::Expired);
        }
        Ok(Some(at))
    }
}

/// The checks every modern format makes before its cryptography, in this order: the length
/// and strict base64url ([`decode`]), the header, the format byte (only `format`), the key the
/// value names (exactly one key of the ring: [`Rejection::UnknownKey`] otherwise). Returns the
/// decoded value, its header and the key.
pub(crate) fn open_header<'k, K>(
    value: &str,
    format: Format,
    keys: &'k DerivedKeys<K>,
) -> Result<(Vec<u8>, Header, &'k K), Rejection> {
    let bytes = decode(value)?;
    let (header, _) = Header::split(&bytes)?;
    if header.format != format {
        return Err(Rejection::Malformed);
    }
    let key = keys.get(header.key_id).ok_or(Rejection::UnknownKey)?;
    Ok((bytes, header, key))
}

/// The session name as authenticated: its length (4 bytes, big-endian), then its bytes.
pub(crate) fn name_prefix(name: &str) -> [u8; 4] {
    u32::try_from(name.len()).unwrap_or(u32::MAX).to_be_bytes()
}

/// Length check, then strict base64url (no padding, canonical trailing bits).
pub(crate) fn decode(value: &str) -> Result<Vec<u8>, Rejection> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Rejection::TooLong);
    }
    // `decode_vec` into a buffer of our own: `decode` allocates zeroed memory (`calloc`).
    let mut bytes = Vec::new();
    URL_SAFE_NO_PAD
        .decode_vec(value, &mut bytes)
        .map_err(|_| Rejection::Malformed)?;
    Ok(bytes)
}

/// base64url without padding; refuses output over [`MAX_VALUE_LEN`].
pub(crate) fn encode(bytes: &[u8]) -> Result<String, TransformError> {
    let len = (bytes.len() * 4).div_ceil(3);
    if len > MAX_VALUE_LEN {
        return Err(TransformError::TooLarge {
            size: len,
            limit: MAX_VALUE_LEN,
        });
    }
    // Straight into an exactly sized buffer: `encode_string` goes through base64's chunked
    // encoder, several times slower on values of a few hundred bytes.
    let mut out = crate::codec::zeroed(len);
    let written = URL_SAFE_NO_PAD
        .encode_slice(bytes, &mut out)
        .map_err(|_| TransformError::Failed("base64 encoding failed".into()))?;
    out.truncate(written);
    String::from_utf8(out).map_err(|_| TransformError::Failed("base64 encoding failed".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_length_is_exact() {
        for n in 0..50 {
            let bytes = vec![0xa5u8; n];
            let s = encode(&bytes).unwrap();
            assert_eq!(s.len(), s.capacity(), "n = {n}");
            assert_eq!(decode(&s).unwrap(), bytes);
        }
        // 3072 bytes encode to exactly 4096 characters: the largest accepted.
        assert_eq!(encode(&[1; 3072]).unwrap().len(), 4096);
        assert_eq!(
            encode(&[1; 3073]),
            Err(TransformError::TooLarge {
                size: 4098,
                limit: 4096
            })
        );
    }

    #[test]
    fn decoding_is_strict() {
        assert_eq!(decode("AQID").unwrap(), [1, 2, 3]);
        assert_eq!(decode("AQI").unwrap(), [1, 2]);
        assert_eq!(decode("AQI="), Err(Rejection::Malformed)); // padding
        assert_eq!(decode("AQJ"), Err(Rejection::Malformed)); // non-zero trailing bits
        assert_eq!(decode("AQ+/"), Err(Rejection::Malformed)); // standard alphabet
        assert_eq!(decode("AQ I"), Err(Rejection::Malformed));
        assert_eq!(decode("A"), Err(Rejection::Malformed));
        assert_eq!(decode(&"A".repeat(4097)), Err(Rejection::TooLong));
    }

    #[test]
    fn any_carried_expiry_is_checked_without_panicking() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let ctx = TransformContext::new("s", now).with_expiry(Some(now + Duration::from_secs(60)));
        let header = |expires| Header {
            format: Format::HmacSha256,
            key_id: KeyId::from_bytes([0; 4]),
            expires,
        };
        let latest = UNIX_EPOCH + Duration::from_secs(i64::MAX as u64);
        assert_eq!(header(i64::MAX as u64).check_expiry(&ctx), Ok(Some(latest)));
        // Beyond what the clock holds: refused, not wrapped or panicking.
        assert_eq!(
            header(u64::MAX).check_expiry(&ctx),
            Err(Rejection::Malformed)
        );
        assert_eq!(header(1).check_expiry(&ctx), Err(Rejection::Expired));
        // And the latest time the clock holds is written back as it was read.
        let written = Header::new(
            Format::HmacSha256,
            KeyId::from_bytes([0; 4]),
            &ctx.with_expiry(Some(latest)),
        );
        assert_eq!(written.expires, i64::MAX as u64);
    }

    #[test]
    fn header_round_trip_and_expiry() {
        let now = UNIX_EPOCH + Duration::from_millis(1_000_500);
        let ctx = TransformContext::new("s", now).with_expiry(Some(now + Duration::from_secs(10)));
        let id = KeyId::from_bytes([1, 2, 3, 4]);
        let header = Header::new(Format::Aes256Gcm, id, &ctx);
        // 1010.5 s rounds down to 1010.
        assert_eq!(header.expires, 1010);
        let bytes = header.to_bytes();
        assert_eq!(bytes[..5], [0x12, 1, 2, 3, 4]);
        let joined = [&bytes[..], b"xy"].concat();
        let (parsed, rest) = Header::split(&joined).unwrap();
        assert_eq!(rest, b"xy");
        assert_eq!(parsed.format, Format::Aes256Gcm);
        assert_eq!(parsed.key_id, id);
        assert_eq!(
            parsed.check_expiry(&ctx),
            Ok(Some(UNIX_EPOCH + Duration::from_secs(1010)))
        );
        let later = TransformContext::new("s", UNIX_EPOCH + Duration::from_secs(1010));
        assert_eq!(parsed.check_expiry(&later), Err(Rejection::Expired));
        assert_eq!(
            Header::split(&bytes[..12]).unwrap_err(),
            Rejection::Malformed
        );
        let mut unknown = bytes;
        unknown[0] = 0x7f;
        assert_eq!(Header::split(&unknown).unwrap_err(), Rejection::Malformed);
    }

    #[test]
    fn no_expiry_is_only_accepted_without_a_lifetime() {
        let now = SystemTime::now();
        let none = TransformContext::new("s", now);
        let header = Header::new(Format::HmacSha256, KeyId::from_bytes([0; 4]), &none);
        assert_eq!(header.expires, 0);
        assert_eq!(header.check_expiry(&none), Ok(None));
        let with_ttl = none.with_expiry(Some(now + Duration::from_secs(60)));
        assert_eq!(header.check_expiry(&with_ttl), Err(Rejection::Expired));
        // An expiry before 1970 is written as already expired, never as "none".
        let ancient = none.with_expiry(Some(UNIX_EPOCH));
        assert_eq!(
            Header::new(Format::HmacSha256, KeyId::from_bytes([0; 4]), &ancient).expires,
            1
        );
    }

    #[test]
    fn format_bytes_round_trip() {
        for f in [
            Format::HmacSha256,
            Format::HmacSha384,
            Format::HmacSha512,
            Format::XChaCha20Poly1305,
            Format::Aes256Gcm,
        ] {
            assert_eq!(Format::from_byte(f.byte()), Some(f));
            assert!(f.info().ends_with(f.name().as_bytes()));
            assert_eq!(f.is_encrypted(), f.name().starts_with("encrypt/"));
        }
        assert_eq!(Format::from_byte(0), None);
    }
}
