//! Writing containers: lists (`#cl`), maps (`#m`) and objects (`##`, or the session itself).

use serde::Serialize;
use serde::ser::{self, SerializeMap, SerializeSeq, SerializeStruct};

use super::error::{Error, Result};
use super::form::form_url_encode;
use super::ser::ValueSerializer;
use super::split::{join_list, join_map};
use super::url::encode_url_query_component;

/// Most of a container's up-front capacity that a size hint may ask for.
const MAX_PREALLOCATED: usize = 64;

/// A list: `"#cl" + items.joinToString("&") { it.encodeURLQueryComponent() }
/// .encodeURLQueryComponent()`.
#[derive(Debug)]
pub(super) struct SeqWriter {
    depth: usize,
    items: Vec<String>,
}

impl SeqWriter {
    /// A list whose items are at `depth`.
    pub(super) fn new(depth: usize, len: Option<usize>) -> SeqWriter {
        let capacity = len.unwrap_or(0).min(MAX_PREALLOCATED);
        SeqWriter {
            depth,
            items: Vec::with_capacity(capacity),
        }
    }
}

impl SerializeSeq for SeqWriter {
    type Ok = String;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let item = value.serialize(ValueSerializer::at(self.depth))?;
        self.items
            .push(encode_url_query_component(&item).into_owned());
        Ok(())
    }

    fn end(self) -> Result<String> {
        let joined = join_list(&self.items).ok_or_else(|| Error::ambiguous("a list"))?;
        Ok(format!("#cl{}", encode_url_query_component(&joined)))
    }
}

impl ser::SerializeTuple for SeqWriter {
    type Ok = String;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<String> {
        SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqWriter {
    type Ok = String;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<String> {
        SerializeSeq::end(self)
    }
}

/// A map: `"#m" + entries.map { k.encodeURLQueryComponent() + "=" + v.encodeURLQueryComponent() }
/// .joinToString("&").encodeURLQueryComponent()`, keys and values both tagged.
#[derive(Debug)]
pub(super) struct MapWriter {
    depth: usize,
    entries: Vec<(String, String)>,
    key: Option<String>,
}

impl MapWriter {
    /// A map whose keys and values are at `depth`.
    pub(super) fn new(depth: usize, len: Option<usize>) -> MapWriter {
        let capacity = len.unwrap_or(0).min(MAX_PREALLOCATED);
        MapWriter {
            depth,
            entries: Vec::with_capacity(capacity),
            key: None,
        }
    }
}

impl SerializeMap for MapWriter {
    type Ok = String;
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        let key = key.serialize(ValueSerializer::at(self.depth))?;
        self.key = Some(encode_url_query_component(&key).into_owned());
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error::new("a map value was written before its key"))?;
        let value = value.serialize(ValueSerializer::at(self.depth))?;
        self.entries
            .push((key, encode_url_query_component(&value).into_owned()));
        Ok(())
    }

    fn end(self) -> Result<String> {
        let joined = join_map(&self.entries).ok_or_else(|| Error::ambiguous("a map"))?;
        Ok(format!("#m{}", encode_url_query_component(&joined)))
    }
}

/// An object: its fields in declaration order, `formUrlEncode`d; nested ones get a `##` prefix.
#[derive(Debug)]
pub(super) struct StructWriter {
    depth: usize,
    nested: bool,
    fields: Vec<(&'static str, String)>,
}

impl StructWriter {
    /// A nested object (`##…`) whose fields are at `depth`.
    pub(super) fn nested(depth: usize, len: usize) -> StructWriter {
        StructWriter {
            depth,
            nested: true,
            fields: Vec::with_capacity(len.min(MAX_PREALLOCATED)),
        }
    }

    /// The session object itself: no prefix, fields at depth 1.
    pub(super) fn top(len: usize) -> StructWriter {
        StructWriter {
            depth: 1,
            nested: false,
            fields: Vec::with_capacity(len.min(MAX_PREALLOCATED)),
        }
    }
}

impl SerializeStruct for StructWriter {
    type Ok = String;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        let value = value.serialize(ValueSerializer::at(self.depth))?;
        self.fields.push((key, value));
        Ok(())
    }

    fn end(self) -> Result<String> {
        let body = form_url_encode(self.fields.iter().map(|(k, v)| (*k, v.as_str())))?;
        Ok(if self.nested {
            format!("##{body}")
        } else {
            body
        })
    }
}

/// A map as the session object (Ktor's `Parameters`): `name=value` pairs, names plain, values
/// tagged. Keys must be strings (or enum unit variants).
#[derive(Debug, Default)]
pub(super) struct TopMapWriter {
    params: Vec<(String, String)>,
    key: Option<String>,
}

impl SerializeMap for TopMapWriter {
    type Ok = String;
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        // A string, and only a string (or a unit variant's name), is tagged `#s`.
        let tagged = key.serialize(ValueSerializer::at(1))?;
        let name = tagged.strip_prefix("#s").ok_or_else(|| {
            Error::new(
                "a session in Ktor's legacy format must be a struct or a map with string keys",
            )
        })?;
        self.key = Some(name.to_owned());
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error::new("a map value was written before its key"))?;
        let value = value.serialize(ValueSerializer::at(1))?;
        self.params.push((key, value));
        Ok(())
    }

    fn end(self) -> Result<String> {
        form_url_encode(self.params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}
