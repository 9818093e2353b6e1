//! Helpers for the transformer tests.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `value` (base64url) with each bit of each decoded byte flipped in turn, re-encoded
/// canonically: every single-bit change a client could make to the protected bytes.
pub(crate) fn every_byte_flipped(value: &str) -> Vec<String> {
    let bytes = URL_SAFE_NO_PAD.decode(value).unwrap();
    let mut out = Vec::with_capacity(bytes.len() * 8);
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut tampered = bytes.clone();
            tampered[i] ^= 1 << bit;
            out.push(URL_SAFE_NO_PAD.encode(&tampered));
        }
    }
    out
}

/// ASCII `value` with each character from index `from` on replaced in turn by each byte of
/// `with` (a byte equal to the one it would replace is skipped): every single-character
/// change a client could make to a textual format.
pub(crate) fn every_char_replaced(value: &str, from: usize, with: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for i in from..value.len() {
        for &c in with {
            let mut bytes = value.as_bytes().to_vec();
            if bytes[i] != c {
                bytes[i] = c;
                out.push(String::from_utf8(bytes).unwrap());
            }
        }
    }
    out
}

/// Other spellings of the same bytes that a lenient decoder would accept: padded, the
/// standard alphabet, non-canonical trailing bits, embedded whitespace.
pub(crate) fn re_encodings(value: &str) -> Vec<String> {
    let mut out = vec![
        format!("{value}="),
        format!("{value}=="),
        format!("{value}\n"),
        format!(" {value}"),
    ];
    let pad = (4 - value.len() % 4) % 4;
    if pad > 0 {
        out.push(format!("{value}{}", "=".repeat(pad)));
    }
    let standard = value.replace('-', "+").replace('_', "/");
    if standard != value {
        out.push(standard);
    }
    let unused_bits = match value.len() % 4 {
        2 => 4,
        3 => 2,
        _ => 0,
    };
    if unused_bits > 0 {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last = *value.as_bytes().last().unwrap();
        let index = ALPHABET.iter().position(|&c| c == last).unwrap();
        let mut noncanonical = value[..value.len() - 1].to_owned();
        noncanonical.push(ALPHABET[index ^ 1] as char);
        out.push(noncanonical);
    }
    out
}
