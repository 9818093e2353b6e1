//! The error type inside the data format; it becomes a [`SerializerError`] at the API boundary.
//!
//! The input is a client's cookie, and error messages can end up in logs, so no message repeats
//! input text: serde's `invalid type: string "…"` style messages are replaced by ones that only
//! name the kind of value.

use std::fmt;

use serde::de::{self, Expected, Unexpected};

use crate::serializer::SerializerError;

/// Why a value could not be written or read in the legacy format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Error(String);

/// The result type of the data format.
pub(super) type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with this message (which must not contain session content).
    pub(super) fn new(message: impl fmt::Display) -> Error {
        Error(message.to_string())
    }

    /// A collection whose items the format cannot delimit, so that it would read back as other
    /// items (the message never quotes the items).
    pub(super) fn ambiguous(what: &str) -> Error {
        Error(format!(
            "{what} holds text that Ktor's legacy session format cannot delimit, so it would \
             read back as other items (a string item holding `&#`, a map key holding `=#`, a \
             collection of collections with several items); it is not written"
        ))
    }

    /// A Rust shape the format cannot express.
    pub(super) fn unsupported(shape: &str) -> Error {
        Error(format!(
            "{shape} cannot be written in Ktor's legacy session format"
        ))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<Error> for SerializerError {
    fn from(error: Error) -> SerializerError {
        SerializerError(error.0)
    }
}

impl serde::ser::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Error {
        Error::new(message)
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Error {
        Error::new(message)
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Error {
        Error(format!(
            "invalid type: {}, expected {expected}",
            kind(unexpected)
        ))
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Error {
        Error(format!(
            "invalid value: {}, expected {expected}",
            kind(unexpected)
        ))
    }

    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Error {
        Error(format!("unknown variant, expected {}", one_of(expected)))
    }

    fn unknown_field(_field: &str, expected: &'static [&'static str]) -> Error {
        Error(format!("unknown field, expected {}", one_of(expected)))
    }
}

/// What kind of value `unexpected` is, without the value itself.
fn kind(unexpected: Unexpected<'_>) -> &str {
    match unexpected {
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) => "an integer",
        Unexpected::Float(_) => "a floating-point number",
        Unexpected::Char(_) => "a character",
        Unexpected::Str(_) => "a string",
        Unexpected::Bytes(_) => "a byte array",
        Unexpected::Unit => "a unit value",
        Unexpected::Option => "an optional value",
        Unexpected::NewtypeStruct => "a newtype struct",
        Unexpected::Seq => "a sequence",
        Unexpected::Map => "a map",
        Unexpected::Enum => "an enum",
        Unexpected::UnitVariant => "a unit variant",
        Unexpected::NewtypeVariant => "a newtype variant",
        Unexpected::TupleVariant => "a tuple variant",
        Unexpected::StructVariant => "a struct variant",
        Unexpected::Other(other) => other,
    }
}

/// The names a Rust type accepts (from the type, never from the input).
fn one_of(names: &[&str]) -> String {
    match names {
        [] => "nothing".to_owned(),
        [name] => format!("`{name}`"),
        names => {
            let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!("one of {}", quoted.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::de::Error as _;

    use super::*;

    #[test]
    fn messages_never_repeat_input() {
        let e = Error::invalid_type(Unexpected::Str("secret-token"), &"an integer");
        assert_eq!(e.to_string(), "invalid type: a string, expected an integer");
        let e = Error::invalid_value(Unexpected::Signed(-41), &"u8");
        assert_eq!(e.to_string(), "invalid value: an integer, expected u8");
        let e = Error::unknown_variant("secret", &["A", "B"]);
        assert_eq!(e.to_string(), "unknown variant, expected one of `A`, `B`");
        let e = Error::unknown_field("secret", &["id"]);
        assert_eq!(e.to_string(), "unknown field, expected `id`");
        let e = Error::unknown_field("secret", &[]);
        assert!(!e.to_string().contains("secret"));
    }

    #[test]
    fn converts_into_the_public_error() {
        let e: SerializerError = Error::unsupported("a byte array").into();
        assert_eq!(
            e.to_string(),
            "a byte array cannot be written in Ktor's legacy session format"
        );
    }
}
