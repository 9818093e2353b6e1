//! `typed-sessions keygen`: a new master key from the operating system's CSPRNG.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use typed_sessions::transform::{Key, MAX_KEY_LEN, MIN_KEY_LEN};
use zeroize::Zeroizing;

use crate::error::CliError;
use crate::output::Output;

pub const LONG_ABOUT: &str = "\
Generate a new random master key for the Sign and Encrypt formats, from the operating system's
CSPRNG, and print it as base64 and as hex (either form is accepted by `Key::from_base64`,
`Key::from_hex`, and `typed-sessions inspect --key`), with its key id.

The key id is the public 4-byte fingerprint that every Sign and Encrypt value carries, so
`typed-sessions inspect` can tell which key protected a value. It reveals nothing about the key.

Keep the key in your secret store; the output is the only copy.

Example:
  $ typed-sessions keygen
  base64: kOCa4FJ1xWgJLu5fam0ZYps/8qTOyJjIc1RUNnuzoz8=
  hex: 90e09ae05275c568092eee5f6a6d19629b3ff2a4cec898c8735454367bb3a33f
  key id: 4daa378b";

/// Options of `keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Length of the key in bytes (at least 32, at most 1024).
    #[arg(long, default_value_t = 32, value_name = "N")]
    bytes: usize,
}

/// Prints a new key.
pub fn run(args: &KeygenArgs, out: &mut Output) -> Result<(), CliError> {
    if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&args.bytes) {
        return Err(CliError::usage(format!(
            "--bytes {}: a key is {MIN_KEY_LEN} to {MAX_KEY_LEN} bytes long",
            args.bytes
        )));
    }
    let mut bytes = Zeroizing::new(vec![0u8; args.bytes]);
    // Only a broken generator gives a key `Key` refuses (one byte repeated): draw again.
    let key = loop {
        getrandom::fill(&mut bytes).map_err(|error| {
            CliError::usage(format!(
                "the operating system's random generator failed: {error}"
            ))
        })?;
        if let Ok(key) = Key::from_bytes(&bytes) {
            break key;
        }
    };
    out.field(
        "base64",
        Zeroizing::new(STANDARD.encode(bytes.as_slice())).as_str(),
    );
    out.field(
        "hex",
        Zeroizing::new(hex::encode(bytes.as_slice())).as_str(),
    );
    out.field("key id", key.id());
    Ok(())
}
