//! Hexadecimal: lowercase out (what Ktor and this crate write: ids, storage keys, MACs), strict
//! lowercase in, and the digits of `%XX` escapes.
//!
//! Ids, storage keys and Redis key names are encoded and decoded on every request, so both
//! directions work on fixed 32-byte blocks with arithmetic rather than tables, which the
//! compiler turns into vector instructions. Decoding is strict because a value this crate wrote
//! never has uppercase (accepting it, as the `hex` crate's decoder does, would give one value
//! two spellings).

use std::fmt;

/// Appends `bytes` as lowercase hex to `out` (a `String` or a `Formatter`), 32 bytes at a time
/// through a stack buffer ([`encode_block`]).
pub(crate) fn push_lower(out: &mut impl fmt::Write, bytes: &[u8]) {
    let (blocks, rest) = bytes.as_chunks::<32>();
    let mut write = |digits: &[u8]| {
        // Hex digits are ASCII, so this never fails; neither does writing to a `String`.
        let _ = out.write_str(std::str::from_utf8(digits).unwrap_or_default());
    };
    for block in blocks {
        write(&encode_block(block));
    }
    if !rest.is_empty() {
        let mut block = [0u8; 32];
        if let Some(head) = block.get_mut(..rest.len()) {
            head.copy_from_slice(rest);
        }
        let digits = encode_block(&block);
        write(digits.get(..rest.len() * 2).unwrap_or_default());
    }
}

/// 32 bytes as 64 lowercase hex digits. Fixed sizes and arithmetic rather than a table, so
/// that both passes run as vector instructions: a nibble `n` is the digit `b'0' + n`, or 39
/// further on (`b'a' + n - 10`) when it is over 9.
pub(crate) fn encode_block(bytes: &[u8; 32]) -> [u8; 64] {
    let mut digits = [0u8; 64];
    for (pair, &byte) in digits.as_chunks_mut::<2>().0.iter_mut().zip(bytes) {
        *pair = [byte >> 4, byte & 0x0f];
    }
    for digit in &mut digits {
        *digit += b'0' + 39 * u8::from(*digit > 9);
    }
    digits
}

/// Decodes exactly `out.len()` bytes of lowercase hex from `text` (which must be twice as
/// long), branch-free: 64 digits at a time ([`decode_block`]), then a pair at a time;
/// `false`, with `out` unspecified, for any other text.
pub(crate) fn decode_lower_into(text: &[u8], out: &mut [u8]) -> bool {
    if Some(text.len()) != out.len().checked_mul(2) {
        return false;
    }
    let (blocks, rest) = text.as_chunks::<64>();
    let (out_blocks, out_rest) = out.as_chunks_mut::<32>();
    let mut valid = true;
    for (block, out) in blocks.iter().zip(out_blocks) {
        valid &= decode_block(block, out);
    }
    for (byte, &[high, low]) in out_rest.iter_mut().zip(rest.as_chunks::<2>().0) {
        valid &= is_digit(high) & is_digit(low);
        *byte = (value(high) << 4) | value(low);
    }
    valid
}

/// 64 lowercase hex digits into `out`; `false` (with `out` unspecified) if any is not one.
/// Fixed sizes and arithmetic rather than a table, so that each pass runs as vector
/// instructions.
fn decode_block(text: &[u8; 64], out: &mut [u8; 32]) -> bool {
    let valid = is_lower(text);
    let mut values = [0u8; 64];
    for (value_of, &c) in values.iter_mut().zip(text) {
        *value_of = value(c);
    }
    for (byte, &[high, low]) in out.iter_mut().zip(values.as_chunks::<2>().0) {
        *byte = (high << 4) | low;
    }
    valid
}

/// Whether `text` is all lowercase hex digits, in one branch-free pass that runs as vector
/// instructions.
pub(crate) fn is_lower(text: &[u8]) -> bool {
    text.iter().fold(true, |valid, &c| valid & is_digit(c))
}

/// Whether `c` is a lowercase hex digit: `0x30..=0x39` or `0x61..=0x66`.
fn is_digit(c: u8) -> bool {
    (c.wrapping_sub(b'0') < 10) | (c.wrapping_sub(b'a') < 6)
}

/// The value of the lowercase hex digit `c`: its low nibble, plus 9 for a letter (bit 6).
fn value(c: u8) -> u8 {
    (c & 0x0f) + 9 * ((c >> 6) & 1)
}

/// Decodes lowercase hex strictly (even length, `0-9a-f` only).
pub(crate) fn decode_lower(text: &str) -> Option<Vec<u8>> {
    let mut out = super::zeroed(text.len() / 2);
    decode_lower_into(text.as_bytes(), &mut out).then_some(out)
}

/// The uppercase hex digit of a nibble (`n < 16`), as `%XX` escapes write it.
pub(crate) fn upper_digit(n: u8) -> char {
    char::from(if n < 10 {
        b'0' + n
    } else {
        b'A' + (n & 0x0f) - 10
    })
}

/// The value of a hex digit of either case, as `%XX` escapes are read.
pub(crate) fn digit_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_byte_at_every_length_as_the_hex_crate_does() {
        let bytes: Vec<u8> = (0..=255u8).rev().chain(0..=255u8).collect();
        for len in 0..bytes.len() {
            let mut s = String::new();
            push_lower(&mut s, &bytes[..len]);
            assert_eq!(s, ::hex::encode(&bytes[..len]));
        }
    }

    #[test]
    fn writes_lowercase_of_any_length() {
        let mut s = String::new();
        push_lower(&mut s, &[0x00, 0xab, 0x5f, 0xff]);
        assert_eq!(s, "00ab5fff");
        let long = [0x00, 0x0f, 0xf0, 0xff].repeat(20);
        let mut s = String::new();
        push_lower(&mut s, &long);
        assert_eq!(s, ::hex::encode(&long));
        let mut s = String::new();
        push_lower(&mut s, &[]);
        assert_eq!(s, "");
    }

    #[test]
    fn reads_exactly_lowercase_hex() {
        assert_eq!(decode_lower("00ab5fff"), Some(vec![0, 0xab, 0x5f, 0xff]));
        assert_eq!(decode_lower(""), Some(vec![]));
        for bad in ["0", "abc", "AB", "0g", "g0", "zz", " 0", "0 ", "é0"] {
            assert_eq!(decode_lower(bad), None, "{bad:?}");
        }
        let mut out = [0u8; 2];
        assert!(decode_lower_into(b"ff01", &mut out));
        assert_eq!(out, [0xff, 0x01]);
        assert!(!decode_lower_into(b"ff0", &mut out), "odd length");
        assert!(
            !decode_lower_into(b"ff0102", &mut out),
            "too long for the output"
        );
        assert!(!decode_lower_into(b"FF01", &mut out), "uppercase");
        // Every pair of bytes: accepted exactly when both are lowercase digits, with the value
        // the `hex` crate reads.
        let lower = |b: u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
        for high in 0..=255u8 {
            for low in 0..=255u8 {
                let mut out = [0u8];
                let valid = lower(high) && lower(low);
                assert_eq!(decode_lower_into(&[high, low], &mut out), valid);
                if valid {
                    assert_eq!(out, ::hex::decode([high, low]).unwrap().as_slice());
                }
            }
        }
    }

    #[test]
    fn reads_long_texts_exactly_as_the_hex_crate_does() {
        let text: Vec<u8> = (0..64u8)
            .map(|i| b"0123456789abcdef"[usize::from(i % 16)])
            .collect();
        let lower = |b: u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
        // Every byte at every position of texts of one block, one block and three pairs, and
        // two blocks and one pair.
        for len in [64, 70, 130] {
            let text: Vec<u8> = text.iter().copied().cycle().take(len).collect();
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut text = text.clone();
                    text[at] = b;
                    let mut out = vec![0u8; len / 2];
                    assert_eq!(
                        decode_lower_into(&text, &mut out),
                        lower(b),
                        "{at} {b:#04x}"
                    );
                    if lower(b) {
                        assert_eq!(out, ::hex::decode(&text).unwrap());
                    }
                }
            }
        }
    }

    #[test]
    fn escape_digits_round_trip() {
        for n in 0..16u8 {
            let digit = upper_digit(n);
            assert!(digit.is_ascii_hexdigit() && !digit.is_ascii_lowercase());
            assert_eq!(digit_value(digit as u8), Some(n));
            assert_eq!(digit_value(digit.to_ascii_lowercase() as u8), Some(n));
        }
        assert_eq!(digit_value(b'g'), None);
        assert_eq!(digit_value(b'+'), None);
    }
}
