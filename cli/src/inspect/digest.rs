//! Inspecting Ktor 1.x's `SessionTransportTransformerDigest` (`payload/hex(H(salt ‖
//! payload))`), read with the library's `KtorUnkeyedDigest`. It is unkeyed: the tool needs no key
//! to verify it, and says that anyone could have written it.

use std::time::SystemTime;

use typed_sessions::transform::ktor::KTOR_DIGEST_SALT;
use typed_sessions::transform::{KtorUnkeyedDigest, Rejection, TransformContext, Transformer};

use super::ktor::is_lower_hex;
use super::payload;
use super::settings::Settings;
use crate::error::CliError;
use crate::output::Output;

/// The `MessageDigest` name of the hash whose hex output is as long as `digest`.
fn algorithm_for(digest: &str) -> Option<&'static str> {
    match digest.len() {
        40 => Some("SHA-1"),
        64 => Some("SHA-256"),
        96 => Some("SHA-384"),
        128 => Some("SHA-512"),
        _ => None,
    }
}

/// The hex part of `value` (after its last `/`).
fn digest_part(value: &str) -> Option<&str> {
    value.rsplit_once('/').map(|(_, digest)| digest)
}

/// The transformer for `value`: the salt given (else Ktor's), the hash given with
/// `--ktor-algorithm` (else the one the digest's length says, else Ktor 1.1+'s SHA-384).
fn transformer(settings: &Settings, value: &str) -> Result<KtorUnkeyedDigest, CliError> {
    let algorithm = settings
        .ktor_algorithm
        .as_deref()
        .or_else(|| digest_part(value).and_then(algorithm_for))
        .unwrap_or("SHA-384");
    let salt = settings
        .ktor_digest_salt
        .as_deref()
        .unwrap_or(KTOR_DIGEST_SALT);
    KtorUnkeyedDigest::new()
        .with_salt(salt)
        .with_algorithm(algorithm)
        .map_err(|e| CliError::usage(format!("--ktor-algorithm: {e}")))
}

/// Whether `value` is a digest value that verifies (for `--format auto`): nothing else can
/// match an unkeyed digest of its own payload by chance.
pub fn verifies(value: &str, settings: &Settings) -> bool {
    let shaped = digest_part(value).is_some_and(|d| algorithm_for(d).is_some() && is_lower_hex(d));
    let now = SystemTime::UNIX_EPOCH;
    shaped
        && transformer(settings, value)
            .is_ok_and(|t| t.read(&TransformContext::new("", now), value).is_ok())
}

/// Inspects a `KtorUnkeyedDigest` value.
pub fn inspect(
    value: &str,
    settings: &Settings,
    now: SystemTime,
    out: &mut Output,
) -> Result<(), CliError> {
    let digest = transformer(settings, value)?;
    out.field(
        "format",
        format_args!(
            "ktor-digest ({}; Ktor 1.x SessionTransportTransformerDigest)",
            digest.algorithm()
        ),
    );
    out.field(
        "key id",
        "none: UNKEYED, anyone can compute this digest (it detects corruption, not forgery)",
    );
    out.field(
        "salt",
        if settings.ktor_digest_salt.is_some() {
            "the one given (--ktor-digest-salt)"
        } else {
            "\"ktor\" (Ktor's default)"
        },
    );
    let ctx = TransformContext::new(settings.name.as_deref().unwrap_or(""), now);
    match digest.read(&ctx, value) {
        Ok(payload) => {
            out.field(
                "verifies",
                "yes (the value is intact; being unkeyed, this says nothing about who wrote it)",
            );
            out.field("expires", "not recorded (Ktor's formats carry no expiry)");
            payload::show(&payload.value, settings.serializer, settings.show_id, out);
            Ok(())
        }
        Err(rejection) => {
            out.field("verifies", "no");
            let algorithm = digest.algorithm();
            Err(match (rejection, digest_part(value)) {
                (Rejection::TooLong, _) => {
                    CliError::refused("the value is too long for Ktor's formats")
                }
                (Rejection::BadSignature, _) => CliError::refused(format!(
                    "the {algorithm} digest does not match the payload: the value was altered or truncated, or another salt (--ktor-digest-salt) wrote it"
                )),
                (_, Some(hex)) if is_lower_hex(hex) && algorithm_for(hex) != Some(algorithm) => {
                    CliError::refused(format!(
                        "the digest is {} hex digits, and {algorithm} makes {}: the value is truncated, or another --ktor-algorithm wrote it",
                        hex.len(),
                        2 * expected_len(algorithm)
                    ))
                }
                _ => CliError::refused(
                    "the value is not in the form payload/hex(digest) with a lowercase hex digest (truncated, or not a Ktor 1.x value)",
                ),
            })
        }
    }
}

/// The length in bytes of the hash named `algorithm` (a name `KtorUnkeyedDigest` accepted).
fn expected_len(algorithm: &str) -> usize {
    match algorithm {
        "SHA-1" => 20,
        "SHA-256" => 32,
        "SHA-512" => 64,
        _ => 48,
    }
}
