//! `typed-sessions inspect`: what a session cookie or header value is.
//!
//! # The `--config` file
//!
//! A small TOML file with the session's configuration, so a long command line need not be
//! repeated. Every field is optional; a command-line option (or its environment variable) wins
//! over the file, and unknown fields are an error.
//!
//! ```toml
//! name = "user_session"          # the cookie or header name (bound into Sign and Encrypt)
//! format = "encrypt"             # auto | sign | encrypt | ktor-sign | ktor-encrypt | ktor-digest | plain
//! encoding = "uri"               # uri | base64 | raw  (how the cookie value is encoded)
//! serializer = "json"            # json | ktor-legacy (how the payload is shown)
//! keys = ["<hex or base64>"]     # Sign/Encrypt master keys, the current one first
//! ktor_sign_key = "<hex>"        # KtorSign's key, or KtorEncrypt's sign key
//! ktor_encrypt_key = "<hex>"     # KtorEncrypt's AES key (16, 24 or 32 bytes)
//! ktor_algorithm = "HmacSHA256"  # the Ktor formats' MAC or ktor-digest's hash (default: by length)
//! ktor_backward_compatible = false  # also read values of Ktor before 3.0 (KtorEncrypt)
//! ktor_digest_salt = "ktor"      # the salt of Ktor 1.x's unkeyed digest (default: "ktor")
//! ```
//!
//! A file that holds keys should be readable by its owner only (the tool warns otherwise).

mod digest;
mod keys;
mod ktor;
mod modern;
mod payload;
mod settings;

use std::borrow::Cow;
use std::io::Read as _;
use std::path::PathBuf;
use std::time::SystemTime;

use clap::Args;
use typed_sessions::CookieEncoding;

use self::settings::{EncodingName, FormatName, SerializerName, Settings};
use crate::error::CliError;
use crate::output::Output;

pub const LONG_ABOUT: &str = "\
Explain a session cookie or header value: which format it is in, which key protected it (and
whether that key is among those given), whether it verifies, when it expires (and whether it
has expired), and, once it verifies, the payload it holds (JSON pretty-printed, or Ktor's legacy
#-format decoded with --serializer ktor-legacy). Key material is never printed; a payload that
is a by-id session's id is only named (printed whole with --show-id).

Give the value as copied from the browser or a log (a cookie value is URI-encoded; use
--encoding raw for a header value), as an argument or on standard input with `-`. A value that
starts with `-` goes after `--`. `name=value`, as in a Cookie header, is accepted when --name is
the name.

Options may come from a TOML file (--config); the command line and the environment win:

  name = \"user_session\"          # the cookie or header name (bound into Sign and Encrypt)
  format = \"encrypt\"             # auto | sign | encrypt | ktor-sign | ktor-encrypt | ktor-digest | plain
  encoding = \"uri\"               # uri | base64 | raw
  serializer = \"json\"            # json | ktor-legacy
  keys = [\"<hex or base64>\"]     # Sign/Encrypt master keys, the current one first
  ktor_sign_key = \"<hex>\"        # KtorSign's key, or KtorEncrypt's sign key
  ktor_encrypt_key = \"<hex>\"     # KtorEncrypt's AES key (16, 24 or 32 bytes)
  ktor_algorithm = \"HmacSHA256\"  # the Ktor formats' MAC or ktor-digest's hash (default: by length)
  ktor_backward_compatible = false  # also read KtorEncrypt values of Ktor before 3.0
  ktor_digest_salt = \"ktor\"      # the salt of Ktor 1.x's digest (default: \"ktor\")

Ktor 1.x's SessionTransportTransformerDigest (payload/hex(SHA-384(\"ktor\" + payload)), SHA-256
before Ktor 1.1) is recognised and verified without a key: it has none. Anyone can compute it,
so \"verifies: yes\" means only that the value is intact, not that the server wrote it.

Exit status: 0 the value would be accepted; 1 it would be refused (it does not verify, names a
key that was not given, is truncated or malformed, or has expired); 2 a usage or configuration
error (no key, an invalid key, no --name for Sign/Encrypt).

Example:
  $ export TYPED_SESSIONS_KEY=90e09ae05275c568092eee5f6a6d19629b3ff2a4cec898c8735454367bb3a33f
  $ typed-sessions inspect --name user_session \
      Ek2qN4sAAAAAawS9XmSwg9MIiTJvKrHYG1Gd0LzV87BUv2yTv64AtOVGO12VatP-0i5_SbjrKYdrsE75afKVLuDo
  format: encrypt/aes256gcm
  key id: 4daa378b (the current key, --key #1)
  verifies: yes
  expires: 2026-11-23T22:25:34Z (in 59m 56s)
  expired: no
  payload: JSON, 25 bytes
  {
    \"id\": \"123abc\",
    \"count\": 0
  }";

/// Options of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The cookie or header value; `-` reads it from standard input.
    #[arg(value_name = "VALUE")]
    value: String,

    /// The format of the value [default: auto].
    #[arg(long, value_enum)]
    format: Option<FormatName>,

    /// A master key of Sign/Encrypt, hex or base64 (`hex:`/`base64:` to force); repeat it for a
    /// key ring, the current key first. Comma-separated in the environment variable.
    #[arg(
        long = "key",
        value_name = "KEY",
        env = "TYPED_SESSIONS_KEY",
        hide_env_values = true,
        value_delimiter = ','
    )]
    keys: Vec<String>,

    /// KtorSign's key, or KtorEncrypt's sign key (hex, as Ktor's `hex("...")`).
    #[arg(
        long,
        value_name = "KEY",
        env = "TYPED_SESSIONS_KTOR_SIGN_KEY",
        hide_env_values = true
    )]
    ktor_sign_key: Option<String>,

    /// KtorEncrypt's AES key (hex; 16, 24 or 32 bytes).
    #[arg(
        long,
        value_name = "KEY",
        env = "TYPED_SESSIONS_KTOR_ENCRYPT_KEY",
        hide_env_values = true
    )]
    ktor_encrypt_key: Option<String>,

    /// The Ktor formats' MAC: HmacSHA1, HmacSHA256, HmacSHA384 or HmacSHA512; for
    /// ktor-digest the hash: SHA-1, SHA-256, SHA-384 or SHA-512 [default: from the length].
    #[arg(long, value_name = "NAME")]
    ktor_algorithm: Option<String>,

    /// Also accept KtorEncrypt values written by Ktor before 3.0 (MAC over the plaintext).
    #[arg(long)]
    ktor_backward_compatible: bool,

    /// The salt of Ktor 1.x's unkeyed digest (ktor-digest) [default: ktor].
    #[arg(long, value_name = "SALT")]
    ktor_digest_salt: Option<String>,

    /// The session's name (the cookie or header name), bound into Sign and Encrypt values.
    #[arg(long)]
    name: Option<String>,

    /// How the cookie value is encoded [default: uri].
    #[arg(long, value_enum)]
    encoding: Option<EncodingName>,

    /// How to show the payload [default: json].
    #[arg(long, value_enum)]
    serializer: Option<SerializerName>,

    /// A TOML file with the session's configuration (see the long help, `--help`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// When the payload is a session id (the cookie of a by-id session), print it, e.g. for
    /// `store clear`. It is a secret: whoever has it has the session.
    #[arg(long)]
    show_id: bool,
}

/// Inspects the value.
pub fn run(args: &InspectArgs, out: &mut Output) -> Result<(), CliError> {
    let settings = Settings::resolve(args)?;
    let given = read_value(&args.value)?;
    let given = strip_name(&given, settings.name.as_deref());
    let value = decode(given, settings.encoding)?;
    let now = SystemTime::now();
    let format = match settings.format {
        FormatName::Auto => detect(&value, &settings),
        format => format,
    };
    match format {
        FormatName::Sign | FormatName::Encrypt | FormatName::Auto => {
            modern::inspect(&value, format, &settings, now, out)
        }
        FormatName::KtorSign => ktor::inspect_signed(&value, &settings, now, out),
        FormatName::KtorEncrypt => ktor::inspect_encrypted(&value, &settings, now, out),
        FormatName::KtorDigest => digest::inspect(&value, &settings, now, out),
        FormatName::Plain => {
            out.field("format", "plain (not signed or encrypted)");
            out.field("verifies", "no (there is nothing to verify)");
            payload::show(&value, settings.serializer, settings.show_id, out);
            Ok(())
        }
    }
}

/// The value argument, or standard input for `-` (surrounding whitespace removed).
fn read_value(arg: &str) -> Result<String, CliError> {
    if arg != "-" {
        return Ok(arg.trim().to_owned());
    }
    let mut text = String::new();
    std::io::stdin()
        .take(1 << 20)
        .read_to_string(&mut text)
        .map_err(|e| CliError::usage(format!("cannot read the value from standard input: {e}")))?;
    Ok(text.trim().to_owned())
}

/// `value` without a leading `name=`.
fn strip_name<'a>(value: &'a str, name: Option<&str>) -> &'a str {
    name.and_then(|name| value.strip_prefix(name))
        .and_then(|rest| rest.strip_prefix('='))
        .unwrap_or(value)
}

/// Undoes the cookie encoding.
fn decode(value: &str, encoding: EncodingName) -> Result<String, CliError> {
    let (encoding, what) = match encoding {
        EncodingName::Uri => (
            CookieEncoding::Uri,
            "URI-encoded (a malformed %-escape, or not UTF-8)",
        ),
        EncodingName::Base64 => (CookieEncoding::Base64, "base64 of UTF-8 text"),
        EncodingName::Raw => (CookieEncoding::Raw, ""),
    };
    encoding.decode(value).map(Cow::into_owned).ok_or_else(|| {
        CliError::refused(format!(
            "the value is not {what}; pass the right --encoding (raw for a header value)"
        ))
    })
}

/// The format a value is in, from its shape: a Sign/Encrypt format byte, Ktor's encrypted form,
/// Ktor 1.x's digest (when it verifies: it needs no key), Ktor's signed form, or else plain.
fn detect(value: &str, settings: &Settings) -> FormatName {
    if let Some(format) = modern::looks_modern(value) {
        return if format.is_encrypted() {
            FormatName::Encrypt
        } else {
            FormatName::Sign
        };
    }
    if ktor::looks_encrypted(value) {
        FormatName::KtorEncrypt
    } else if digest::verifies(value, settings) {
        FormatName::KtorDigest
    } else if ktor::looks_signed(value) {
        FormatName::KtorSign
    } else {
        FormatName::Plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let detect = |value: &str| detect(value, &Settings::default());
        assert_eq!(detect("EgAAAAAAAAAAAAAAAAAAAAAA"), FormatName::Encrypt);
        assert_eq!(detect("AQAAAAAAAAAAAAAAAA"), FormatName::Sign);
        let mac = "a".repeat(64);
        assert_eq!(detect(&format!("%7B%7D/{mac}")), FormatName::KtorSign);
        let iv = "0".repeat(32);
        let ct = "1".repeat(32);
        assert_eq!(detect(&format!("{iv}/{ct}:{mac}")), FormatName::KtorEncrypt);
        assert_eq!(detect(r#"{"id":"x"}"#), FormatName::Plain);
        assert_eq!(detect(&"0".repeat(64)), FormatName::Plain);
        assert_eq!(strip_name("s=abc", Some("s")), "abc");
        assert_eq!(strip_name("s=abc", Some("t")), "s=abc");
        assert_eq!(strip_name("s=abc", None), "s=abc");
    }

    #[test]
    fn a_digest_that_verifies_is_ktor_digest_and_one_that_does_not_is_ktor_sign() {
        let detect = |value: &str| detect(value, &Settings::default());
        // Ktor 1.x's own value (SessionTest.testSessionByIdDigest, SHA-256), and the same id
        // under SHA-384: python3 -c 'import hashlib; print(hashlib.sha384(b"ktor"+b"666").hexdigest())'
        let sha256 = "666/c2d4eaad4fe0bc6dbd0584cdf36929d79d52d7a748d1cc02835a71131a0963fb";
        let sha384 = "666/ac3aaf25429f220afd9daef49813cd91bf7b47696354c8c3174e365d594216521a80c3e157a03864dce403b33451e146";
        assert_eq!(detect(sha256), FormatName::KtorDigest);
        assert_eq!(detect(sha384), FormatName::KtorDigest);
        assert_eq!(detect(&sha384.replace("666", "667")), FormatName::KtorSign);
        let salted = Settings {
            ktor_digest_salt: Some("pepper".into()),
            ..Settings::default()
        };
        assert_eq!(super::detect(sha384, &salted), FormatName::KtorSign);
    }
}
