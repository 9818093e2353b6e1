//! Inspecting Ktor's keyed formats: `KtorSign` (`payload/hex(mac)`) and `KtorEncrypt`
//! (`hex(iv)/hex(ciphertext):hex(mac)`), read with the library's transformers. Ktor 1.x's
//! unkeyed digest is in `digest.rs`.

use std::time::SystemTime;

use typed_sessions::transform::{KtorEncrypt, KtorSign, Rejection, TransformContext, Transformer};

use super::keys;
use super::payload;
use super::settings::Settings;
use crate::error::CliError;
use crate::output::Output;

/// Whether `value` has the shape of a Ktor signed value: lowercase hex after the last `/`
/// (at least 16 digits, so that a truncated MAC is still recognised).
pub fn looks_signed(value: &str) -> bool {
    value
        .rsplit_once('/')
        .is_some_and(|(_, mac)| mac.len() >= 16 && is_lower_hex(mac))
}

/// Whether `value` has the shape of a Ktor encrypted value.
pub fn looks_encrypted(value: &str) -> bool {
    encrypted_parts(value).is_some()
}

/// `(iv, ciphertext, mac)` of a Ktor encrypted value, each lowercase hex.
fn encrypted_parts(value: &str) -> Option<(&str, &str, &str)> {
    let (iv, rest) = value.split_once('/')?;
    let (ciphertext, mac) = rest.rsplit_once(':')?;
    let ok = iv.len() == 32
        && !ciphertext.is_empty()
        && ciphertext.len().is_multiple_of(32)
        && [iv, ciphertext, mac].iter().all(|p| is_lower_hex(p));
    ok.then_some((iv, ciphertext, mac))
}

/// Whether `text` is non-empty lowercase hex.
pub fn is_lower_hex(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The JCE name of the HMAC whose hex output is as long as `mac`.
fn algorithm_for(mac: &str) -> Option<&'static str> {
    match mac.len() {
        40 => Some("HmacSHA1"),
        64 => Some("HmacSHA256"),
        96 => Some("HmacSHA384"),
        128 => Some("HmacSHA512"),
        _ => None,
    }
}

/// The MAC algorithm: the one configured, else the one the MAC's length says, else Ktor's
/// default.
fn algorithm(settings: &Settings, mac: Option<&str>) -> String {
    settings
        .ktor_algorithm
        .clone()
        .or_else(|| mac.and_then(algorithm_for).map(str::to_owned))
        .unwrap_or_else(|| "HmacSHA256".to_owned())
}

/// Inspects a `KtorSign` value.
pub fn inspect_signed(
    value: &str,
    settings: &Settings,
    now: SystemTime,
    out: &mut Output,
) -> Result<(), CliError> {
    let mac = value.rsplit_once('/').map(|(_, mac)| mac);
    let algorithm = algorithm(settings, mac);
    out.field("format", format_args!("ktor-sign ({algorithm})"));
    out.field("key id", "none (Ktor's formats do not name their key)");
    let Some(key) = settings.ktor_sign_key.as_ref() else {
        out.field("verifies", "unknown (no key given)");
        return Err(CliError::usage(
            "no key given: pass --ktor-sign-key (or set TYPED_SESSIONS_KTOR_SIGN_KEY); a value of Ktor 1.x's unkeyed digest that does not verify is also read as ktor-sign: see --format ktor-digest",
        ));
    };
    let key = keys::raw_key(key, "--ktor-sign-key")?;
    // Inspecting reads what a Ktor service wrote, whose key may well be under 16 bytes.
    let sign = KtorSign::new_allowing_short_key(key.as_slice())
        .and_then(|s| s.with_algorithm(&algorithm))
        .map_err(|e| CliError::usage(format!("--ktor-sign-key: {e}")))?;
    let ctx = TransformContext::new(settings.name.as_deref().unwrap_or(""), now);
    match sign.read(&ctx, value) {
        Ok(payload) => {
            show_verified(&payload.value, settings, out);
            Ok(())
        }
        Err(rejection) => {
            out.field("verifies", "no");
            Err(match rejection {
                Rejection::BadSignature => CliError::refused(format!(
                    "signature does not verify with the --ktor-sign-key given ({algorithm}): another key, or the value was altered or truncated"
                )),
                Rejection::TooLong => CliError::refused("the value is too long for Ktor's formats"),
                _ => match mac {
                    Some(mac) if is_lower_hex(mac) && mac.len() != expected_hex(&algorithm) => {
                        CliError::refused(format!(
                            "the MAC is {} hex digits, and {algorithm} makes {}: the value is truncated, or another --ktor-algorithm wrote it",
                            mac.len(),
                            expected_hex(&algorithm)
                        ))
                    }
                    _ => CliError::refused(
                        "the value is not in Ktor's signed form payload/hex(mac) (truncated, or not a Ktor value)",
                    ),
                },
            })
        }
    }
}

/// What a Ktor value that verified shows: its payload, and that it carries no expiry.
fn show_verified(payload: &str, settings: &Settings, out: &mut Output) {
    out.field("verifies", "yes");
    out.field("expires", "not recorded (Ktor's formats carry no expiry)");
    payload::show(payload, settings.serializer, settings.show_id, out);
}

/// The length in hex digits of an HMAC named `algorithm`.
fn expected_hex(algorithm: &str) -> usize {
    match algorithm.to_ascii_lowercase().as_str() {
        "hmacsha1" => 40,
        "hmacsha384" => 96,
        "hmacsha512" => 128,
        _ => 64,
    }
}

/// Inspects a `KtorEncrypt` value.
pub fn inspect_encrypted(
    value: &str,
    settings: &Settings,
    now: SystemTime,
    out: &mut Output,
) -> Result<(), CliError> {
    let parts = encrypted_parts(value);
    let algorithm = algorithm(settings, parts.map(|(_, _, mac)| mac));
    let (Some(encrypt_key), Some(sign_key)) = (
        settings.ktor_encrypt_key.as_ref(),
        settings.ktor_sign_key.as_ref(),
    ) else {
        out.field("format", format_args!("ktor-encrypt ({algorithm})"));
        out.field("key id", "none (Ktor's formats do not name their key)");
        out.field("verifies", "unknown (no key given)");
        return Err(CliError::usage(
            "a ktor-encrypt value needs two keys: pass --ktor-encrypt-key and --ktor-sign-key (or set TYPED_SESSIONS_KTOR_ENCRYPT_KEY and TYPED_SESSIONS_KTOR_SIGN_KEY)",
        ));
    };
    let encrypt_key = keys::raw_key(encrypt_key, "--ktor-encrypt-key")?;
    let sign_key = keys::raw_key(sign_key, "--ktor-sign-key")?;
    out.field(
        "format",
        format_args!(
            "ktor-encrypt (AES-{}-CBC, {algorithm})",
            encrypt_key.len() * 8
        ),
    );
    out.field("key id", "none (Ktor's formats do not name their key)");
    let encrypt =
        KtorEncrypt::new_allowing_short_sign_key(encrypt_key.as_slice(), sign_key.as_slice())
            .and_then(|e| e.with_sign_algorithm(&algorithm))
            .map_err(|e| CliError::usage(format!("Ktor keys: {e}")))?
            .backward_compatible_read(settings.ktor_backward_compatible);
    let ctx = TransformContext::new(settings.name.as_deref().unwrap_or(""), now);
    match encrypt.read(&ctx, value) {
        Ok(payload) => {
            show_verified(&payload.value, settings, out);
            Ok(())
        }
        Err(rejection) => {
            out.field("verifies", "no");
            Err(match (rejection, parts) {
                (Rejection::BadSignature, _) => CliError::refused(format!(
                    "the MAC does not verify with the --ktor-sign-key given ({algorithm}): another key, or the value was altered or truncated"
                )),
                (Rejection::TooLong, _) => {
                    CliError::refused("the value is too long for Ktor's formats")
                }
                (_, Some(_)) => CliError::refused(
                    "the MAC verifies but decryption fails: the --ktor-encrypt-key is not the key that encrypted the value",
                ),
                (_, None) => CliError::refused(
                    "the value is not in Ktor's encrypted form hex(iv)/hex(ciphertext):hex(mac) (truncated, or not a Ktor value)",
                ),
            })
        }
    }
}
