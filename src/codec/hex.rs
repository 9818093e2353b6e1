//! Hexadecimal: lowercase out (what Ktor and this crate write: ids, storage keys, MACs), strict
//! lowercase in, and the digits of `%XX` escapes.
//!
//! Encoding goes through the `hex` crate's table; strict decoding is here because the crate's
//! decoder also takes uppercase, and a value this crate wrote never has it (accepting it would
//! give one value two spellings).

use std::fmt;

/// Appends `bytes` as lowercase hex to `out` (a `String` or a `Formatter`): 32 bytes at a time
/// through a stack buffer, with the `hex` crate's table-based encoder.
pub(crate) fn push_lower(out: &mut impl fmt::Write, bytes: &[u8]) {
    let mut buf = [0u8; 64];
    for chunk in bytes.chunks(buf.len() / 2) {
        let Some(digits) = buf.get_mut(..chunk.len() * 2) else {
            return;
        };
        if ::hex::encode_to_slice(chunk, digits).is_ok() {
            // Hex digits are ASCII, so this never fails; neither does writing to a `String`.
            let _ = out.write_str(std::str::from_utf8(digits).unwrap_or_default());
        }
    }
}

/// Decodes exactly `out.len()` bytes of lowercase hex from `text` (which must be twice as
/// long) in one branch-free pass; `false`, with `out` unspecified, for any other text.
///
/// Arithmetic rather than a table: a digit is `0x30..=0x39` or `0x61..=0x66`, and its value is
/// its low nibble, plus 9 for a letter (bit 6).
pub(crate) fn decode_lower_into(text: &[u8], out: &mut [u8]) -> bool {
    let (pairs, []) = text.as_chunks::<2>() else {
        return false;
    };
    if pairs.len() != out.len() {
        return false;
    }
    let is_digit = |c: u8| (c.wrapping_sub(b'0') < 10) | (c.wrapping_sub(b'a') < 6);
    let value = |c: u8| (c & 0x0f) + 9 * ((c >> 6) & 1);
    let mut valid = true;
    for (byte, &[high, low]) in out.iter_mut().zip(pairs) {
        valid &= is_digit(high) & is_digit(low);
        *byte = (value(high) << 4) | value(low);
    }
    valid
}

/// Decodes lowercase hex strictly (even length, `0-9a-f` only).
pub(crate) fn decode_lower(text: &str) -> Option<Vec<u8>> {
    let mut out = vec![0u8; text.len() / 2];
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
        // Every byte at every position of a 64-digit text and of a 70-digit one.
        for len in [64, 70] {
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
