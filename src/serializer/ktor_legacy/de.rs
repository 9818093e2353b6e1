//! Reading one value: the `serde::Deserializer` over one `#`-tagged text.
//!
//! The text has already been decoded by the level around it (the bundle or the collection it
//! came from). The type asked for drives the conversion, as in Ktor's reflection reader, which
//! coerces a `#f` into a `Float` property, an `#s` into an enum or a UUID, and so on.

use serde::de::{self, Visitor};

use super::access::{BundleAccess, EntriesAccess, ItemsAccess, UnitVariantAccess};
use super::error::{Error, Result};
use super::ser::child_depth;
use super::tag::Tagged;

/// Deserializes the value `text` at nesting `depth` (a top-level field is at depth 1).
#[derive(Debug, Clone, Copy)]
pub(super) struct ValueDeserializer<'a> {
    text: &'a str,
    depth: usize,
}

impl<'a> ValueDeserializer<'a> {
    pub(super) fn new(text: &'a str, depth: usize) -> ValueDeserializer<'a> {
        ValueDeserializer { text, depth }
    }

    fn tagged(&self) -> Result<Tagged<'a>> {
        Tagged::parse(self.text)
    }

    /// The value inside a present `#op`, one level deeper.
    fn inner(&self, text: &'a str) -> Result<ValueDeserializer<'a>> {
        Ok(ValueDeserializer::new(text, child_depth(self.depth)?))
    }

    fn items(&self, payload: &str) -> Result<ItemsAccess> {
        ItemsAccess::new(payload, child_depth(self.depth)?)
    }

    fn entries(&self, payload: &str) -> Result<EntriesAccess> {
        EntriesAccess::new(payload, child_depth(self.depth)?)
    }

    fn bundle(&self, payload: &str, fields: Option<&[&str]>) -> Result<BundleAccess> {
        BundleAccess::parse(payload, fields, child_depth(self.depth)?)
    }

    /// Visits a value that may hold an integer (a `#bd` only if it has no fraction).
    fn integer<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.tagged()? {
            Tagged::Int(t) | Tagged::Long(t) | Tagged::BigInteger(t) | Tagged::BigDecimal(t) => {
                visit_integer(t, visitor)
            }
            other => Err(mismatch("an integer", &other)),
        }
    }

    /// The digits of a value that may hold a floating-point number.
    fn float_text(&self) -> Result<&'a str> {
        match self.tagged()? {
            Tagged::Float(t)
            | Tagged::Int(t)
            | Tagged::Long(t)
            | Tagged::BigInteger(t)
            | Tagged::BigDecimal(t) => Ok(t),
            other => Err(mismatch("a floating-point number", &other)),
        }
    }
}

fn mismatch(expected: &str, found: &Tagged<'_>) -> Error {
    Error::new(format_args!(
        "expected {expected}, found {}",
        found.describe()
    ))
}

/// Visits `text` as the narrowest integer type that holds it.
fn visit_integer<'de, V: Visitor<'de>>(text: &str, visitor: V) -> Result<V::Value> {
    if let Ok(v) = text.parse::<i64>() {
        visitor.visit_i64(v)
    } else if let Ok(v) = text.parse::<u64>() {
        visitor.visit_u64(v)
    } else if let Ok(v) = text.parse::<i128>() {
        visitor.visit_i128(v)
    } else if let Ok(v) = text.parse::<u128>() {
        visitor.visit_u128(v)
    } else {
        Err(Error::new("a number is not a valid integer"))
    }
}

/// Whether `text` fits one of the integer types serde knows.
fn is_integer(text: &str) -> bool {
    text.parse::<i128>().is_ok() || text.parse::<u128>().is_ok()
}

fn parse_float<F: std::str::FromStr>(text: &str) -> Result<F> {
    text.parse()
        .map_err(|_| Error::new("a number is not a valid floating-point number"))
}

macro_rules! integers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            self.integer(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.tagged()? {
            Tagged::Null | Tagged::OptionalEmpty => visitor.visit_none(),
            Tagged::OptionalPresent(inner) => visitor.visit_some(self.inner(inner)?),
            Tagged::Int(t) | Tagged::Long(t) => visit_integer(t, visitor),
            Tagged::BigInteger(t) if is_integer(t) => visit_integer(t, visitor),
            Tagged::BigInteger(t) => visitor.visit_str(t),
            // Lossless: a decimal type can parse it, and an f64 loses digits.
            Tagged::BigDecimal(t) => visitor.visit_str(t),
            Tagged::Float(t) => visitor.visit_f64(parse_float(t)?),
            Tagged::Bool(b) => visitor.visit_bool(b),
            Tagged::Str(s) => visitor.visit_str(s),
            Tagged::Char(c) => visitor.visit_char(c),
            Tagged::List(p) | Tagged::Set(p) => visitor.visit_seq(self.items(p)?),
            Tagged::Map(p) => visitor.visit_map(self.entries(p)?),
            Tagged::Object(p) => visitor.visit_map(self.bundle(p, None)?),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.tagged()? {
            Tagged::Bool(b) => visitor.visit_bool(b),
            other => Err(mismatch("a boolean", &other)),
        }
    }

    integers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        // Parsed straight to f32, as Kotlin's `toFloat()`, to avoid rounding twice.
        visitor.visit_f32(parse_float(self.float_text()?)?)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_f64(parse_float(self.float_text()?)?)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.tagged()? {
            Tagged::Char(c) => visitor.visit_char(c),
            Tagged::Str(s) => {
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => visitor.visit_char(c),
                    _ => Err(Error::new("expected one character, found a longer string")),
                }
            }
            other => Err(mismatch("a character", &other)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.tagged()? {
            Tagged::Str(s) | Tagged::BigDecimal(s) | Tagged::BigInteger(s) => visitor.visit_str(s),
            Tagged::Char(c) => visitor.visit_str(c.encode_utf8(&mut [0; 4])),
            other => Err(mismatch("a string", &other)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(Error::new(
            "byte arrays are not part of Ktor's legacy session format",
        ))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.tagged()? {
            Tagged::Null | Tagged::OptionalEmpty => visitor.visit_none(),
            Tagged::OptionalPresent(inner) => visitor.visit_some(self.inner(inner)?),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.tagged()? {
            Tagged::Null | Tagged::Object("") => visitor.visit_unit(),
            other => Err(mismatch("an empty object (`##`)", &other)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.tagged()? {
            Tagged::List(p) | Tagged::Set(p) => visitor.visit_seq(self.items(p)?),
            other => Err(mismatch("a list (`#cl`) or a set (`#cs`)", &other)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.tagged()? {
            Tagged::Map(p) => visitor.visit_map(self.entries(p)?),
            Tagged::Object(p) => visitor.visit_map(self.bundle(p, None)?),
            other => Err(mismatch("a map (`#m`) or an object (`##`)", &other)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.tagged()? {
            Tagged::Object(p) => visitor.visit_map(self.bundle(p, Some(fields))?),
            Tagged::Map(p) => visitor.visit_map(self.entries(p)?),
            other => Err(mismatch("an object (`##`)", &other)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.tagged()? {
            Tagged::Str(name) => visitor.visit_enum(UnitVariantAccess::new(name)),
            other => Err(mismatch("an enum constant's name (`#s`)", &other)),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
}
