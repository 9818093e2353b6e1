//! Inspecting typed-sessions' own formats, `Sign` and `Encrypt`.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use typed_sessions::transform::{
    Encrypt, EncryptAlgorithm, Format, KeyId, KeyRing, MAX_VALUE_LEN, Opened, Rejection, Sign,
    SignAlgorithm, TransformContext,
};

use super::keys;
use super::payload;
use super::settings::{FormatName, Settings};
use crate::error::CliError;
use crate::output::Output;
use crate::time;

/// The header every Sign and Encrypt value starts with: format, key id, expiry.
const HEADER_LEN: usize = 13;

/// Inspects `value` as a Sign (`wanted` = `Sign`) or Encrypt value, or either (`Auto`).
pub fn inspect(
    value: &str,
    wanted: FormatName,
    settings: &Settings,
    now: SystemTime,
    out: &mut Output,
) -> Result<(), CliError> {
    let ring = keys::ring(&settings.keys)?;
    if value.len() > MAX_VALUE_LEN {
        return Err(CliError::refused(format!(
            "the value is {} characters long; a Sign or Encrypt value is at most {MAX_VALUE_LEN}",
            value.len()
        )));
    }
    let (format, key_id) = Format::detect(value).map_err(|_| unreadable(value))?;
    match (wanted, format.is_encrypted()) {
        (FormatName::Sign, true) => {
            return Err(CliError::usage(format!(
                "the value is encrypted ({format}), not signed: use --format encrypt or auto"
            )));
        }
        (FormatName::Encrypt, false) => {
            return Err(CliError::usage(format!(
                "the value is signed ({format}), not encrypted: use --format sign or auto"
            )));
        }
        _ => {}
    }
    out.field("format", format);
    out.field("key id", describe_key(key_id, ring.as_ref()));
    let Some(ring) = ring else {
        out.field("verifies", "unknown (no key given)");
        return Err(CliError::usage(
            "no key given: pass --key (or set TYPED_SESSIONS_KEY, or `keys` in --config) to verify the value",
        ));
    };
    if ring.get(key_id).is_none() {
        out.field("verifies", "no");
        let given: Vec<String> = ring.keys().map(|k| k.id().to_string()).collect();
        return Err(CliError::refused(format!(
            "the value was protected with key {key_id}, which is not among the keys given ({})",
            given.join(", ")
        )));
    }
    let Some(name) = settings.name.as_deref() else {
        out.field("verifies", "unknown (no session name given)");
        return Err(CliError::usage(
            "Sign and Encrypt bind the session name into the value: pass --name (the cookie or header name)",
        ));
    };
    // "Now" at the epoch: the expiry is checked here, so an expired value still shows what
    // it holds. No expiry is required (`expires_at: None`), as for a session without a ttl.
    let ctx = TransformContext::new(name, UNIX_EPOCH);
    match open(format, ring, &ctx, value) {
        Ok(opened) => {
            out.field("verifies", "yes");
            report(&opened, settings, now, out)
        }
        Err(rejection) => {
            out.field("verifies", "no");
            Err(explain(rejection, format, key_id, name, value))
        }
    }
}

fn describe_key(id: KeyId, ring: Option<&KeyRing>) -> String {
    let Some(ring) = ring else {
        return format!("{id} (no key given)");
    };
    if ring.current().id() == id {
        format!("{id} (the current key, --key #1)")
    } else if let Some(n) = ring.previous().iter().position(|k| k.id() == id) {
        format!("{id} (a previous key, --key #{})", n + 2)
    } else {
        format!("{id} (not in the key ring)")
    }
}

fn open(
    format: Format,
    ring: KeyRing,
    ctx: &TransformContext<'_>,
    value: &str,
) -> Result<Opened, Rejection> {
    let sign = |algorithm| Sign::with_algorithm(ring.clone(), algorithm).open(ctx, value);
    let encrypt = |algorithm| Encrypt::with_algorithm(ring.clone(), algorithm).open(ctx, value);
    match format {
        Format::HmacSha256 => sign(SignAlgorithm::HmacSha256),
        Format::HmacSha384 => sign(SignAlgorithm::HmacSha384),
        Format::HmacSha512 => sign(SignAlgorithm::HmacSha512),
        Format::Aes256Gcm => encrypt(EncryptAlgorithm::Aes256Gcm),
        Format::XChaCha20Poly1305 => encrypt(EncryptAlgorithm::XChaCha20Poly1305),
        _ => Err(Rejection::Malformed),
    }
}

/// The expiry and payload of a value that verified; an expired one is refused after.
fn report(
    opened: &Opened,
    settings: &Settings,
    now: SystemTime,
    out: &mut Output,
) -> Result<(), CliError> {
    let expired_at = match opened.expires_at {
        Some(at) => {
            out.field(
                "expires",
                format_args!("{} ({})", time::rfc3339(at), time::relative(at, now)),
            );
            let expired = at <= now;
            out.field("expired", if expired { "yes" } else { "no" });
            expired.then_some(at)
        }
        None => {
            out.field(
                "expires",
                "never (the value carries no expiry; a session with a ttl refuses it)",
            );
            out.field("expired", "no");
            None
        }
    };
    payload::show(&opened.payload, settings.serializer, settings.show_id, out);
    match expired_at {
        Some(at) => Err(CliError::refused(format!(
            "the value expired at {} ({}): the server refuses it",
            time::rfc3339(at),
            time::relative(at, now)
        ))),
        None => Ok(()),
    }
}

/// Why a value whose header could not be read is unreadable.
fn unreadable(value: &str) -> CliError {
    match URL_SAFE_NO_PAD.decode(value) {
        Err(_) => CliError::refused(
            "the value is truncated or not base64url (a Sign or Encrypt value is one unpadded base64url string)",
        ),
        Ok(bytes) if bytes.len() < HEADER_LEN => CliError::refused(format!(
            "the value is truncated: {} bytes, shorter than the {HEADER_LEN}-byte header of a Sign or Encrypt value",
            bytes.len()
        )),
        Ok(bytes) => CliError::refused(format!(
            "not a Sign or Encrypt value: unknown format byte 0x{:02x}",
            bytes.first().copied().unwrap_or(0)
        )),
    }
}

/// The explanation of a rejection by `open`.
fn explain(
    rejection: Rejection,
    format: Format,
    key_id: KeyId,
    name: &str,
    value: &str,
) -> CliError {
    match rejection {
        Rejection::BadSignature if format.is_encrypted() => CliError::refused(format!(
            "decryption fails with key {key_id} (the authentication tag does not verify): the key matches the value's key id, so the value was written for another session name than {name:?} (--name), or it was altered or truncated"
        )),
        Rejection::BadSignature => CliError::refused(format!(
            "signature does not verify with key {key_id}: the key matches the value's key id, so the value was written for another session name than {name:?} (--name), or it was altered or truncated"
        )),
        Rejection::UnknownKey => CliError::refused(format!(
            "the value was protected with key {key_id}, which is not among the keys given"
        )),
        Rejection::TooLong => CliError::refused(format!(
            "the value is longer than {MAX_VALUE_LEN} characters"
        )),
        _ => {
            let len = URL_SAFE_NO_PAD.decode(value).map_or(0, |b| b.len());
            let min = min_len(format);
            if len < min {
                CliError::refused(format!(
                    "the value is truncated: {len} bytes, and {format} needs at least {min}"
                ))
            } else {
                CliError::refused(format!("the value is malformed for {format}"))
            }
        }
    }
}

/// The length of a value with an empty payload.
fn min_len(format: Format) -> usize {
    HEADER_LEN
        + match format {
            Format::HmacSha256 => 32,
            Format::HmacSha384 => 48,
            Format::HmacSha512 => 64,
            Format::Aes256Gcm => EncryptAlgorithm::Aes256Gcm.nonce_len() + 16,
            Format::XChaCha20Poly1305 => EncryptAlgorithm::XChaCha20Poly1305.nonce_len() + 16,
            _ => 0,
        }
}

/// The format of a value that starts like a Sign or Encrypt value (its first byte), without
/// decoding the rest: so that `auto` calls a truncated value truncated, not plain text.
pub fn looks_modern(value: &str) -> Option<Format> {
    if value.len() < 8
        || !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    let first = URL_SAFE_NO_PAD.decode(value.get(..4)?).ok()?;
    Format::from_byte(*first.first()?)
}
