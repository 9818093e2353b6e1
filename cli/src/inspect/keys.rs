//! Keys given as text: master keys (hex or base64) for Sign and Encrypt, raw keys for Ktor's
//! formats. Messages say which key is wrong, never what it holds.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use typed_sessions::transform::{Key, KeyRing};
use zeroize::Zeroizing;

use crate::error::CliError;

/// A master key: `hex:...`, `base64:...`, or either without the prefix (hex when the text is
/// hexadecimal, base64 otherwise).
pub fn master_key(text: &str, which: &str) -> Result<Key, CliError> {
    let text = text.trim();
    let parsed = if let Some(hex) = text.strip_prefix("hex:") {
        Key::from_hex(hex)
    } else if let Some(b64) = text.strip_prefix("base64:") {
        Key::from_base64(b64)
    } else if is_hex(text) {
        Key::from_hex(text)
    } else {
        Key::from_base64(text)
    };
    parsed.map_err(|e| CliError::usage(format!("{which}: {e}")))
}

/// The key ring of `--key` values: the first is the current key, the others previous ones.
pub fn ring(keys: &[Zeroizing<String>]) -> Result<Option<KeyRing>, CliError> {
    let mut parsed = Vec::with_capacity(keys.len());
    for (n, text) in keys.iter().enumerate() {
        parsed.push(master_key(text, &format!("--key #{}", n + 1))?);
    }
    let mut parsed = parsed.into_iter();
    let Some(current) = parsed.next() else {
        return Ok(None);
    };
    KeyRing::from_keys(current, parsed)
        .map(Some)
        .map_err(|e| CliError::usage(format!("--key: {e}")))
}

/// The bytes of a Ktor key: hex (as Ktor's `hex("...")`, either case), or base64.
pub fn raw_key(text: &str, which: &str) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let text = text.trim();
    let decoded = if is_hex(text) {
        hex::decode(text).ok()
    } else {
        [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
    };
    match decoded {
        Some(bytes) if !bytes.is_empty() => Ok(Zeroizing::new(bytes)),
        Some(_) => Err(CliError::usage(format!("{which}: the key is empty"))),
        None => Err(CliError::usage(format!(
            "{which}: the key is neither hexadecimal nor base64"
        ))),
    }
}

fn is_hex(text: &str) -> bool {
    !text.is_empty() && text.len().is_multiple_of(2) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn master_keys_in_every_spelling() {
        let key = master_key(HEX32, "k").unwrap();
        let b64 = STANDARD.encode(hex::decode(HEX32).unwrap());
        assert_eq!(master_key(&b64, "k").unwrap(), key);
        assert_eq!(master_key(&format!("hex:{HEX32}"), "k").unwrap(), key);
        assert_eq!(master_key(&format!("base64:{b64}"), "k").unwrap(), key);
        let error = master_key("00112233", "--key #2").unwrap_err().to_string();
        assert!(
            error.starts_with("--key #2: the key is 4 bytes long"),
            "{error}"
        );
        assert!(!error.contains("00112233"), "{error}");
    }

    #[test]
    fn rings_refuse_duplicates() {
        let keys = [
            Zeroizing::new(HEX32.to_owned()),
            Zeroizing::new(HEX32.to_owned()),
        ];
        let error = ring(&keys).unwrap_err().to_string();
        assert!(error.contains("same id"), "{error}");
        assert!(ring(&[]).unwrap().is_none());
    }

    #[test]
    fn raw_keys() {
        assert_eq!(
            raw_key("6819b57a326945c1968f45236589", "k").unwrap().len(),
            14
        );
        assert_eq!(raw_key("AQID", "k").unwrap().as_slice(), &[1, 2, 3]);
        assert!(raw_key("!!", "k").is_err());
    }
}
