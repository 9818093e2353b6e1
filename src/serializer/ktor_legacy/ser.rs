//! Writing one value: the `serde::Serializer` that turns a Rust value into `#`-tagged text.
//!
//! This follows `SessionsBackwardCompatibleEncoder`, and, for the shapes that encoder cannot
//! write (collections of objects or of collections, `null` inside a collection), the reflection
//! serializer's `serializeValue`, which Ktor's readers expect.

use serde::Serialize;
use serde::ser::{self, Impossible};

use super::MAX_DEPTH;
use super::compound::{MapWriter, SeqWriter, StructWriter};
use super::error::{Error, Result};
use super::float::{double_to_string, float_to_string};

/// Serializes one value at nesting `depth` (a top-level field is at depth 1).
#[derive(Debug, Clone, Copy)]
pub(super) struct ValueSerializer {
    depth: usize,
    /// Whether this value is inside `Some`: a `None` here (`Some(None)`) would be written as
    /// `#n` and read back as the outer `None`, so it is refused.
    in_some: bool,
}

impl ValueSerializer {
    /// Serializes a value at `depth`, not inside `Some`.
    pub(super) fn at(depth: usize) -> ValueSerializer {
        ValueSerializer {
            depth,
            in_some: false,
        }
    }

    /// The depth of the values inside a container at this depth.
    pub(super) fn child_depth(self) -> Result<usize> {
        child_depth(self.depth)
    }
}

/// `depth + 1`, or an error past [`MAX_DEPTH`].
pub(super) fn child_depth(depth: usize) -> Result<usize> {
    let child = depth + 1;
    if child > MAX_DEPTH {
        return Err(Error::new(format_args!(
            "values are nested deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(child)
}

fn tagged(tag: &str, payload: impl std::fmt::Display) -> Result<String> {
    Ok(format!("{tag}{payload}"))
}

impl ser::Serializer for ValueSerializer {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = SeqWriter;
    type SerializeTuple = SeqWriter;
    type SerializeTupleStruct = SeqWriter;
    type SerializeTupleVariant = Impossible<String, Error>;
    type SerializeMap = MapWriter;
    type SerializeStruct = StructWriter;
    type SerializeStructVariant = Impossible<String, Error>;

    fn serialize_bool(self, v: bool) -> Result<String> {
        Ok(if v { "#bot" } else { "#bof" }.to_owned())
    }

    // Kotlin `Int`: every Rust integer type that always fits in 32 signed bits.
    fn serialize_i8(self, v: i8) -> Result<String> {
        tagged("#i", v)
    }
    fn serialize_i16(self, v: i16) -> Result<String> {
        tagged("#i", v)
    }
    fn serialize_i32(self, v: i32) -> Result<String> {
        tagged("#i", v)
    }
    fn serialize_u8(self, v: u8) -> Result<String> {
        tagged("#i", v)
    }
    fn serialize_u16(self, v: u16) -> Result<String> {
        tagged("#i", v)
    }

    // Kotlin `Long`: the types that need more than 32 signed bits.
    fn serialize_i64(self, v: i64) -> Result<String> {
        tagged("#l", v)
    }
    fn serialize_u32(self, v: u32) -> Result<String> {
        tagged("#l", v)
    }
    fn serialize_u64(self, v: u64) -> Result<String> {
        if i64::try_from(v).is_err() {
            return Err(Error::new(
                "a u64 above i64::MAX does not fit in a Kotlin Long",
            ));
        }
        tagged("#l", v)
    }

    // `java.math.BigInteger`.
    fn serialize_i128(self, v: i128) -> Result<String> {
        tagged("#bi", v)
    }
    fn serialize_u128(self, v: u128) -> Result<String> {
        tagged("#bi", v)
    }

    fn serialize_f32(self, v: f32) -> Result<String> {
        tagged("#f", float_to_string(v))
    }
    fn serialize_f64(self, v: f64) -> Result<String> {
        tagged("#f", double_to_string(v))
    }

    fn serialize_char(self, v: char) -> Result<String> {
        tagged("#ch", v)
    }
    fn serialize_str(self, v: &str) -> Result<String> {
        tagged("#s", v)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String> {
        Err(Error::unsupported("a byte array"))
    }

    // A nullable Kotlin property: `null` or the value itself.
    fn serialize_none(self) -> Result<String> {
        if self.in_some {
            return Err(Error::new(
                "`Some(None)` cannot be written in Ktor's legacy session format: Kotlin has one \
                 `null`, so it would read back as `None`",
            ));
        }
        Ok("#n".to_owned())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<String> {
        value.serialize(ValueSerializer {
            in_some: true,
            ..self
        })
    }

    // A Kotlin `object` without properties.
    fn serialize_unit(self) -> Result<String> {
        Ok("##".to_owned())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String> {
        Ok("##".to_owned())
    }

    // A Kotlin enum constant.
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String> {
        tagged("#s", variant)
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
        Err(Error::unsupported(
            "an enum variant with data (newtype variant)",
        ))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<SeqWriter> {
        Ok(SeqWriter::new(self.child_depth()?, len))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqWriter> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqWriter> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Impossible<String, Error>> {
        Err(Error::unsupported(
            "an enum variant with data (tuple variant)",
        ))
    }

    fn serialize_map(self, len: Option<usize>) -> Result<MapWriter> {
        Ok(MapWriter::new(self.child_depth()?, len))
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<StructWriter> {
        Ok(StructWriter::nested(self.child_depth()?, len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Impossible<String, Error>> {
        Err(Error::unsupported(
            "an enum variant with data (struct variant)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn write<T: Serialize + ?Sized>(value: &T) -> Result<String> {
        value.serialize(ValueSerializer::at(1))
    }

    #[derive(Serialize)]
    enum Shape {
        Dot,
        Circle(f64),
        Pair(i32, i32),
        Rect { w: i32 },
    }

    #[test]
    fn scalars_get_their_kotlin_tags() {
        assert_eq!(write(&true).unwrap(), "#bot");
        assert_eq!(write(&false).unwrap(), "#bof");
        assert_eq!(write(&-7i8).unwrap(), "#i-7");
        assert_eq!(write(&i32::MIN).unwrap(), "#i-2147483648");
        assert_eq!(write(&u16::MAX).unwrap(), "#i65535");
        assert_eq!(write(&u32::MAX).unwrap(), "#l4294967295");
        assert_eq!(write(&i64::MIN).unwrap(), "#l-9223372036854775808");
        assert_eq!(write(&(i64::MAX as u64)).unwrap(), "#l9223372036854775807");
        assert!(write(&(i64::MAX as u64 + 1)).is_err());
        assert_eq!(write(&-1i128).unwrap(), "#bi-1");
        assert_eq!(write(&u128::MAX).unwrap(), format!("#bi{}", u128::MAX));
        assert_eq!(write(&3.0f64).unwrap(), "#f3.0");
        assert_eq!(write(&4.0f32).unwrap(), "#f4.0");
        assert_eq!(write(&1e10f64).unwrap(), "#f1.0E10");
        assert_eq!(write(&'x').unwrap(), "#chx");
        assert_eq!(write("a b&c").unwrap(), "#sa b&c");
        assert_eq!(write(&None::<i32>).unwrap(), "#n");
        assert_eq!(write(&Some(1)).unwrap(), "#i1");
        assert_eq!(write(&()).unwrap(), "##");
        assert_eq!(write(&Shape::Dot).unwrap(), "#sDot");
    }

    #[test]
    fn collections_nest_with_weak_escaping() {
        assert_eq!(write(&vec!["1", "2"]).unwrap(), "#cl#s1&#s2");
        assert_eq!(write(&Vec::<i32>::new()).unwrap(), "#cl");
        assert_eq!(write(&vec!["a b", "%"]).unwrap(), "#cl#sa%2520b&#s%2525");
        assert_eq!(write(&vec![Some(1), None]).unwrap(), "#cl#i1&#n");
        assert_eq!(write(&(1, "x")).unwrap(), "#cl#i1&#sx");
        let map = BTreeMap::from([("key1", 1), ("key2", 2)]);
        assert_eq!(write(&map).unwrap(), "#m#skey1=#i1&#skey2=#i2");
        assert_eq!(write(&BTreeMap::<i32, i32>::new()).unwrap(), "#m");
    }

    #[test]
    fn unsupported_shapes_are_errors() {
        let bytes = serde_bytes_like(&[1, 2]);
        assert!(
            write(&bytes)
                .unwrap_err()
                .to_string()
                .contains("byte array")
        );
        for shape in [Shape::Circle(1.0), Shape::Pair(1, 2), Shape::Rect { w: 1 }] {
            let e = write(&shape).unwrap_err().to_string();
            assert!(e.contains("enum variant with data"), "{e}");
        }
    }

    #[test]
    fn depth_is_bounded() {
        assert!(child_depth(MAX_DEPTH - 1).is_ok());
        assert!(child_depth(MAX_DEPTH).is_err());
    }

    /// A value that serializes as bytes, without a serde_bytes dependency.
    fn serde_bytes_like(b: &[u8]) -> impl Serialize + '_ {
        struct Bytes<'a>(&'a [u8]);
        impl Serialize for Bytes<'_> {
            fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        Bytes(b)
    }
}
