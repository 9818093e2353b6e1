//! The session object itself: a struct (or a string-keyed map) written as a bundle of
//! `name=value` parameters, without the `##` prefix a nested object has.

use serde::Serialize;
use serde::de::{self, Visitor};
use serde::ser::{self, Impossible};

use super::access::BundleAccess;
use super::compound::{StructWriter, TopMapWriter};
use super::error::{Error, Result};

/// Serializes the session object.
#[derive(Debug, Clone, Copy)]
pub(super) struct TopSerializer;

fn not_an_object<T>() -> Result<T> {
    Err(Error::new(
        "a session in Ktor's legacy format must be a struct or a map with string keys",
    ))
}

macro_rules! reject {
    ($($method:ident($($arg:ty),*))*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<String> {
            not_an_object()
        }
    )*};
}

impl ser::Serializer for TopSerializer {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = Impossible<String, Error>;
    type SerializeTuple = Impossible<String, Error>;
    type SerializeTupleStruct = Impossible<String, Error>;
    type SerializeTupleVariant = Impossible<String, Error>;
    type SerializeMap = TopMapWriter;
    type SerializeStruct = StructWriter;
    type SerializeStructVariant = Impossible<String, Error>;

    reject! {
        serialize_bool(bool) serialize_char(char) serialize_str(&str) serialize_bytes(&[u8])
        serialize_i8(i8) serialize_i16(i16) serialize_i32(i32) serialize_i64(i64)
        serialize_i128(i128) serialize_u8(u8) serialize_u16(u16) serialize_u32(u32)
        serialize_u64(u64) serialize_u128(u128) serialize_f32(f32) serialize_f64(f64)
        serialize_none() serialize_unit_variant(&'static str, u32, &'static str)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<String> {
        not_an_object()
    }

    /// A struct without fields: an empty bundle.
    fn serialize_unit(self) -> Result<String> {
        Ok(String::new())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<String> {
        Ok(String::new())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String> {
        not_an_object()
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        not_an_object()
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
        not_an_object()
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        not_an_object()
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        not_an_object()
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<TopMapWriter> {
        Ok(TopMapWriter::default())
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<StructWriter> {
        Ok(StructWriter::top(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        not_an_object()
    }
}

/// Deserializes the session object from the whole text.
#[derive(Debug, Clone, Copy)]
pub(super) struct TopDeserializer<'a> {
    text: &'a str,
}

impl<'a> TopDeserializer<'a> {
    pub(super) fn new(text: &'a str) -> TopDeserializer<'a> {
        TopDeserializer { text }
    }
}

impl<'de> de::Deserializer<'de> for TopDeserializer<'_> {
    type Error = Error;

    /// Everything but a struct reads the text as a map of names to values; a type that is not
    /// a map then rejects it.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_map(BundleAccess::parse(self.text, None, 1)?)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_map(BundleAccess::parse(self.text, Some(fields), 1)?)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if BundleAccess::parse(self.text, None, 1)?.is_empty() {
            visitor.visit_unit()
        } else {
            Err(Error::new("expected an empty session, found parameters"))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option seq tuple tuple_struct map enum identifier
    }
}
