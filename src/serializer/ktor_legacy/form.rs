//! A bundle of named values as Ktor writes it (`formUrlEncode`) and reads it
//! (`parseQueryString`): the session object, and every nested `##` object inside it.

use std::collections::HashSet;

use super::MAX_PARAMS;
use super::error::{Error, Result};
use super::url::{decode_url_query_component, encode_url_parameter};

/// Ktor's `List<Pair<String, String>>.formUrlEncode()`: `name=value` pairs joined with `&`,
/// both sides through `encodeURLParameter(spaceToPlus = true)`.
///
/// Refuses what [`parse_query_string`] would not read back as written: an empty name (skipped
/// when read) and a name that appears twice (the first value wins when read).
pub(super) fn form_url_encode<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<String> {
    let mut out = String::new();
    let mut names = HashSet::new();
    for (name, value) in params {
        if name.is_empty() {
            return Err(Error::new(
                "a field or map key with an empty name cannot be written in Ktor's legacy \
                 format (its reader skips it)",
            ));
        }
        if !names.insert(name) {
            return Err(Error::new(
                "a field or map key name appears twice; Ktor's legacy format would read only \
                 the first",
            ));
        }
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&encode_url_parameter(name));
        out.push('=');
        out.push_str(&encode_url_parameter(value));
    }
    Ok(out)
}

/// Ktor's `parseQueryString(text)`, with these differences:
///
/// * more than [`MAX_PARAMS`] `&`-separated parts is an error (Ktor silently drops the rest);
/// * a name without `=` is an error (Ktor keeps a name without a value, which then fails when
///   it is read);
/// * a `+` in a name is a space. Ktor decodes names without `+` as a space, although its
///   `formUrlEncode` writes a space in a name as `+` (and a `+` as `%2B`), so a name with a space
///   does not survive Ktor's own round trip; here it does.
///
/// Like Ktor: parts are split at `&`, then at their first `=`; whitespace around the raw name
/// and the raw value is trimmed; a part whose name is empty is skipped; values are decoded with
/// `+` as a space; a malformed `%` escape is an error. Duplicates are kept, in order.
pub(super) fn parse_query_string(text: &str) -> Result<Vec<(String, String)>> {
    if text.split('&').nth(MAX_PARAMS).is_some() {
        return Err(Error::new(format_args!(
            "more than {MAX_PARAMS} parameters in one object"
        )));
    }
    let mut params = Vec::new();
    for part in text.split('&') {
        let (raw_name, raw_value) = match part.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (part, None),
        };
        let raw_name = raw_name.trim_matches(is_kotlin_whitespace);
        if raw_name.is_empty() {
            continue;
        }
        let Some(raw_value) = raw_value else {
            return Err(Error::new("a parameter has no `=` and no value"));
        };
        let name = decode_url_query_component(raw_name, true)?.into_owned();
        let raw_value = raw_value.trim_matches(is_kotlin_whitespace);
        let value = decode_url_query_component(raw_value, true)?.into_owned();
        params.push((name, value));
    }
    Ok(params)
}

/// Kotlin's `Char.isWhitespace()` on the JVM: Unicode `Zs`, `Zl`, `Zp`, and `\t \n \x0B \x0C \r`
/// and `\x1C`–`\x1F`. Rust's `is_whitespace` differs only by U+0085 and `\x1C`–`\x1F`.
fn is_kotlin_whitespace(c: char) -> bool {
    (c.is_whitespace() && c != '\u{85}') || ('\u{1c}'..='\u{1f}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_query_string(text).unwrap()
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn encodes_like_form_url_encode() {
        assert_eq!(
            form_url_encode([("cart", "#cl"), ("userId", "#sid2")]).unwrap(),
            "cart=%23cl&userId=%23sid2"
        );
        assert_eq!(form_url_encode([("a b", "c d+e")]).unwrap(), "a+b=c+d%2Be");
        assert_eq!(form_url_encode([]).unwrap(), "");
    }

    #[test]
    fn refuses_names_that_would_not_read_back() {
        // An empty name is skipped by the reader; a repeated one reads as its first value.
        assert!(form_url_encode([("", "#i1")]).is_err());
        assert!(form_url_encode([("a", "#i1"), ("a", "#i2")]).is_err());
        assert_eq!(pairs("=%23i1"), owned(&[]));
    }

    #[test]
    fn parses_like_parse_query_string() {
        assert_eq!(
            pairs("test=#i1&list=#cl%23sa%26%23sb%26%23sc"),
            owned(&[("test", "#i1"), ("list", "#cl#sa&#sb&#sc")])
        );
        // `+` is a space; the first `=` splits; empty names are skipped.
        assert_eq!(
            pairs("a+b=c+d&e=f=g&=x&&  &a%2Bb=%2B"),
            owned(&[("a b", "c d"), ("e", "f=g"), ("a+b", "+")])
        );
        // Raw whitespace around names and values is trimmed, encoded whitespace is not.
        assert_eq!(
            pairs(" a \t= %20b+ &\u{a0}c\u{1f}=d"),
            owned(&[("a", " b "), ("c", "d")])
        );
        // Duplicates stay, in order (the reader keeps the first, like Ktor's `get`).
        assert_eq!(pairs("a=1&a=2"), owned(&[("a", "1"), ("a", "2")]));
        assert_eq!(pairs(""), owned(&[]));
    }

    #[test]
    fn rejects_what_ktor_would_fail_on_or_silently_truncate() {
        assert!(parse_query_string("a").is_err(), "name without a value");
        assert!(parse_query_string("a=%2").is_err(), "truncated escape");
        assert!(
            parse_query_string("a%zz=1").is_err(),
            "bad escape in a name"
        );
        let many = vec!["a=#i1"; MAX_PARAMS].join("&");
        assert_eq!(parse_query_string(&many).unwrap().len(), MAX_PARAMS);
        assert!(parse_query_string(&format!("{many}&")).is_err());
    }

    #[test]
    fn kotlin_whitespace() {
        for c in [
            ' ', '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1c}', '\u{1f}', '\u{a0}', '\u{2028}',
        ] {
            assert!(is_kotlin_whitespace(c), "{c:?}");
        }
        for c in ['\u{85}', 'a', '+', '\u{200b}'] {
            assert!(!is_kotlin_whitespace(c), "{c:?}");
        }
    }
}
