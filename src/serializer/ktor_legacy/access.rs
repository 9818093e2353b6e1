//! Reading containers: the `serde` access types over an object's parameters, a list's items, a
//! map's entries and an enum constant.

use std::collections::HashSet;
use std::ops::Range;
use std::vec;

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer};

use super::de::ValueDeserializer;
use super::error::{Error, Result};
use super::form::parse_query_string;
use super::split::{list_items, map_entries};
use super::url::decode_url_query_component;

/// The parameters of an object (the session, or a nested `##` object), names plain and values
/// tagged.
#[derive(Debug)]
pub(super) struct BundleAccess {
    params: vec::IntoIter<(String, String)>,
    value: Option<String>,
    depth: usize,
}

impl BundleAccess {
    /// Parses `text` (`parseQueryString`) into an object whose values are at `depth`.
    ///
    /// With the `fields` of a struct, a name that is not a field but equals one ignoring case is
    /// read as that field, as Ktor's case-insensitive `Parameters` do; an exact match wins, so
    /// fields that differ only by case still work. A name that appears again (after that
    /// mapping) is skipped: the first value wins, as in Ktor's `parameters[name]`.
    pub(super) fn parse(text: &str, fields: Option<&[&str]>, depth: usize) -> Result<Self> {
        let mut seen = HashSet::new();
        let mut params = Vec::new();
        for (name, value) in parse_query_string(text)? {
            let name = match fields {
                Some(fields) if !fields.contains(&name.as_str()) => fields
                    .iter()
                    .find(|field| eq_ignore_case(field, &name))
                    .map_or(name, |field| (*field).to_owned()),
                _ => name,
            };
            if seen.insert(name.clone()) {
                params.push((name, value));
            }
        }
        Ok(BundleAccess {
            params: params.into_iter(),
            value: None,
            depth,
        })
    }

    /// Whether the object has no parameters left.
    pub(super) fn is_empty(&self) -> bool {
        self.params.len() == 0
    }
}

/// Kotlin's `equals(ignoreCase = true)`, near enough.
fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || (!(a.is_ascii() && b.is_ascii())
            && a.chars()
                .flat_map(char::to_lowercase)
                .eq(b.chars().flat_map(char::to_lowercase)))
}

impl<'de> de::MapAccess<'de> for BundleAccess {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let Some((name, value)) = self.params.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(name.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let value = self
            .value
            .take()
            .ok_or_else(|| Error::new("a value was read before its name"))?;
        seed.deserialize(ValueDeserializer::new(&value, self.depth))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.params.len())
    }
}

/// The items of a list or set payload.
#[derive(Debug)]
pub(super) struct ItemsAccess {
    payload: String,
    items: vec::IntoIter<Range<usize>>,
    depth: usize,
}

impl ItemsAccess {
    /// `payload.decodeURLQueryComponent()`, split into items that are at `depth`.
    pub(super) fn new(payload: &str, depth: usize) -> Result<ItemsAccess> {
        let payload = decode_url_query_component(payload, false)?.into_owned();
        let items = list_items(&payload)?.into_iter();
        Ok(ItemsAccess {
            payload,
            items,
            depth,
        })
    }
}

/// One collection item or map key or value, decoded (`decodeURLQueryComponent()`) a second time.
fn decode_piece(payload: &str, range: Range<usize>) -> Result<std::borrow::Cow<'_, str>> {
    let raw = payload
        .get(range)
        .ok_or_else(|| Error::new("a collection item is out of bounds"))?;
    decode_url_query_component(raw, false)
}

impl<'de> de::SeqAccess<'de> for ItemsAccess {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        let Some(range) = self.items.next() else {
            return Ok(None);
        };
        let item = decode_piece(&self.payload, range)?;
        seed.deserialize(ValueDeserializer::new(&item, self.depth))
            .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// The entries of a map payload; keys and values are both tagged.
#[derive(Debug)]
pub(super) struct EntriesAccess {
    payload: String,
    entries: vec::IntoIter<(Range<usize>, Range<usize>)>,
    value: Option<Range<usize>>,
    depth: usize,
}

impl EntriesAccess {
    /// `payload.decodeURLQueryComponent()`, split into entries whose keys and values are at
    /// `depth`.
    pub(super) fn new(payload: &str, depth: usize) -> Result<EntriesAccess> {
        let payload = decode_url_query_component(payload, false)?.into_owned();
        let entries = map_entries(&payload)?.into_iter();
        Ok(EntriesAccess {
            payload,
            entries,
            value: None,
            depth,
        })
    }
}

impl<'de> de::MapAccess<'de> for EntriesAccess {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        let key = decode_piece(&self.payload, key)?;
        seed.deserialize(ValueDeserializer::new(&key, self.depth))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let range = self
            .value
            .take()
            .ok_or_else(|| Error::new("a map value was read before its key"))?;
        let value = decode_piece(&self.payload, range)?;
        seed.deserialize(ValueDeserializer::new(&value, self.depth))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum constant, written as its name (`#sA`). Only unit variants exist in the format.
#[derive(Debug)]
pub(super) struct UnitVariantAccess<'a> {
    name: &'a str,
}

impl<'a> UnitVariantAccess<'a> {
    pub(super) fn new(name: &'a str) -> UnitVariantAccess<'a> {
        UnitVariantAccess { name }
    }
}

impl<'de, 'a> de::EnumAccess<'de> for UnitVariantAccess<'a> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        let name: StrDeserializer<'a, Error> = self.name.into_deserializer();
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for UnitVariantAccess<'_> {
    type Error = Error;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value> {
        Err(variant_with_data())
    }

    fn tuple_variant<V: de::Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value> {
        Err(variant_with_data())
    }

    fn struct_variant<V: de::Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value> {
        Err(variant_with_data())
    }
}

fn variant_with_data() -> Error {
    Error::new("enum variants with data are not part of Ktor's legacy session format")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_equality() {
        assert!(eq_ignore_case("userId", "USERID"));
        assert!(!eq_ignore_case("straße", "STRASSE"));
        assert!(eq_ignore_case("Ünïcode", "üNÏCODE"));
        assert!(!eq_ignore_case("a", "b"));
    }

    #[test]
    fn names_map_onto_fields_and_the_first_one_wins() {
        let fields: &[&str] = &["userId", "cart", "Cart"];
        let bundle = BundleAccess::parse(
            "USERID=%23s1&userid=%23s2&cart=%23cl&Cart=%23cl%23i1&CART=%23n&other=%23n",
            Some(fields),
            1,
        )
        .unwrap();
        let names: Vec<(String, String)> = bundle.params.collect();
        assert_eq!(
            names,
            [
                ("userId".into(), "#s1".into()),
                ("cart".into(), "#cl".into()),
                ("Cart".into(), "#cl#i1".into()),
                ("other".into(), "#n".into()),
            ]
        );
    }

    #[test]
    fn without_fields_names_stay_as_written() {
        let bundle = BundleAccess::parse("A=%23i1&a=%23i2&A=%23i3", None, 1).unwrap();
        let names: Vec<String> = bundle.params.map(|(n, _)| n).collect();
        assert_eq!(names, ["A", "a"]);
    }
}
