//! One value of the format: `#`, a type tag, and a payload.

use super::error::{Error, Result};

/// A value split into its tag and its payload, borrowed from the (already decoded) text.
///
/// Stricter than Ktor's reflection reader, which also takes a bare `#` or `#n…` as null,
/// `#bo` followed by anything starting with `t` or `f` as a boolean, and the first character of
/// a longer `#ch…`: Ktor's writers never produce those, so they are errors here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Tagged<'a> {
    /// `#n`: Kotlin `null`.
    Null,
    /// `#i`: Kotlin `Int`.
    Int(&'a str),
    /// `#l`: Kotlin `Long`.
    Long(&'a str),
    /// `#f`: Kotlin `Float` or `Double`.
    Float(&'a str),
    /// `#bot` or `#bof`.
    Bool(bool),
    /// `#bd`: `java.math.BigDecimal` (reflection format only).
    BigDecimal(&'a str),
    /// `#bi`: `java.math.BigInteger` (reflection format only).
    BigInteger(&'a str),
    /// `#om`: an empty `java.util.Optional` (reflection format only).
    OptionalEmpty,
    /// `#op` and a value: a present `java.util.Optional` (reflection format only).
    OptionalPresent(&'a str),
    /// `#s`: a string, an enum constant's name or a UUID.
    Str(&'a str),
    /// `#ch`: one character.
    Char(char),
    /// `#cl`: a list; the payload is still in its collection escaping.
    List(&'a str),
    /// `#cs`: a set (reflection format only); the payload is still in its collection escaping.
    Set(&'a str),
    /// `#m`: a map; the payload is still in its collection escaping.
    Map(&'a str),
    /// `##`: an object; the payload is a nested form-url-encoded bundle.
    Object(&'a str),
}

impl<'a> Tagged<'a> {
    /// Splits `text` into tag and payload.
    pub(super) fn parse(text: &'a str) -> Result<Tagged<'a>> {
        let Some(rest) = text.strip_prefix('#') else {
            return Err(Error::new("a value does not start with `#`"));
        };
        let mut chars = rest.chars();
        let tag = chars.next();
        let after = chars.as_str();
        let value = match tag {
            Some('n') if after.is_empty() => Tagged::Null,
            Some('i') => Tagged::Int(after),
            Some('l') => Tagged::Long(after),
            Some('f') => Tagged::Float(after),
            Some('s') => Tagged::Str(after),
            Some('m') => Tagged::Map(after),
            Some('#') => Tagged::Object(after),
            Some('b') => match after {
                "ot" => Tagged::Bool(true),
                "of" => Tagged::Bool(false),
                _ => {
                    if let Some(p) = after.strip_prefix('d') {
                        Tagged::BigDecimal(p)
                    } else if let Some(p) = after.strip_prefix('i') {
                        Tagged::BigInteger(p)
                    } else {
                        return Err(unknown());
                    }
                }
            },
            Some('o') => match after.strip_prefix('p') {
                Some(inner) => Tagged::OptionalPresent(inner),
                None if after == "m" => Tagged::OptionalEmpty,
                None => return Err(unknown()),
            },
            Some('c') => {
                let mut chars = after.chars();
                let sub = chars.next();
                let payload = chars.as_str();
                match sub {
                    Some('l') => Tagged::List(payload),
                    Some('s') => Tagged::Set(payload),
                    Some('h') => {
                        let mut c = payload.chars();
                        match (c.next(), c.next()) {
                            (Some(only), None) => Tagged::Char(only),
                            _ => return Err(Error::new("`#ch` must hold exactly one character")),
                        }
                    }
                    _ => return Err(unknown()),
                }
            }
            _ => return Err(unknown()),
        };
        Ok(value)
    }

    /// What the value is, for error messages (never the payload).
    pub(super) fn describe(&self) -> &'static str {
        match self {
            Tagged::Null => "null (`#n`)",
            Tagged::Int(_) => "an Int (`#i`)",
            Tagged::Long(_) => "a Long (`#l`)",
            Tagged::Float(_) => "a floating-point number (`#f`)",
            Tagged::Bool(_) => "a boolean (`#bo`)",
            Tagged::BigDecimal(_) => "a BigDecimal (`#bd`)",
            Tagged::BigInteger(_) => "a BigInteger (`#bi`)",
            Tagged::OptionalEmpty => "an empty Optional (`#om`)",
            Tagged::OptionalPresent(_) => "a present Optional (`#op`)",
            Tagged::Str(_) => "a string (`#s`)",
            Tagged::Char(_) => "a character (`#ch`)",
            Tagged::List(_) => "a list (`#cl`)",
            Tagged::Set(_) => "a set (`#cs`)",
            Tagged::Map(_) => "a map (`#m`)",
            Tagged::Object(_) => "an object (`##`)",
        }
    }
}

fn unknown() -> Error {
    Error::new("unknown type tag")
}

/// Whether a raw (still escaped once) collection piece starts a value: `#`, or `%23` which
/// decodes to it.
pub(super) fn starts_value(raw: &str) -> bool {
    raw.starts_with('#') || raw.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("%23"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_parses() {
        let cases: &[(&str, Tagged<'_>)] = &[
            ("#n", Tagged::Null),
            ("#i-12", Tagged::Int("-12")),
            ("#l5", Tagged::Long("5")),
            ("#f3.0", Tagged::Float("3.0")),
            ("#bot", Tagged::Bool(true)),
            ("#bof", Tagged::Bool(false)),
            ("#bd1.50", Tagged::BigDecimal("1.50")),
            ("#bi10", Tagged::BigInteger("10")),
            ("#om", Tagged::OptionalEmpty),
            ("#op#i1", Tagged::OptionalPresent("#i1")),
            ("#s", Tagged::Str("")),
            ("#sa b#", Tagged::Str("a b#")),
            ("#ché", Tagged::Char('é')),
            ("#cl#i1&#i2", Tagged::List("#i1&#i2")),
            ("#cs", Tagged::Set("")),
            ("#m#sk=#sv", Tagged::Map("#sk=#sv")),
            ("##a=%23i1", Tagged::Object("a=%23i1")),
        ];
        for (text, expected) in cases {
            assert_eq!(Tagged::parse(text).unwrap(), *expected, "{text}");
        }
    }

    #[test]
    fn malformed_tags_are_errors() {
        for bad in [
            "", "i1", "s#x", "#", "#x", "#nx", "#b", "#bo", "#boT", "#botrue", "#bx", "#o", "#omx",
            "#ox", "#c", "#cx", "#ch", "#chab", "#é",
        ] {
            assert!(Tagged::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn value_starts() {
        assert!(starts_value("#sa"));
        assert!(starts_value("%23sa"));
        assert!(!starts_value("%2a"));
        assert!(!starts_value("b=%2523i2"));
        assert!(!starts_value(""));
        assert!(!starts_value("%2"));
    }
}
