//! Session types that evolve: each version declares the previous one and how to migrate from
//! it, so a deploy that changes the session struct does not log everybody out.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use typed_sessions::serializer::{SessionVersion, Unversioned};
//!
//! /// The first version (what the application had before it declared versions).
//! #[derive(Clone, Serialize, Deserialize)]
//! struct CartV1 { items: Vec<u64> }
//! impl SessionVersion for CartV1 {
//!     const VERSION: u32 = 1;
//!     type Previous = Unversioned;
//!     fn migrate(previous: Unversioned) -> Self { match previous {} }
//! }
//!
//! /// The current version: items with a quantity.
//! #[derive(Clone, Serialize, Deserialize)]
//! struct Cart { items: Vec<(u64, u32)> }
//! impl SessionVersion for Cart {
//!     const VERSION: u32 = 2;
//!     type Previous = CartV1;
//!     fn migrate(v1: CartV1) -> Self {
//!         Cart { items: v1.items.into_iter().map(|id| (id, 1)).collect() }
//!     }
//! }
//! ```
//!
//! Register the current version with
//! [`SessionBuilder::versioned`](crate::SessionBuilder::versioned). The version travels inside
//! what is authenticated: in the record of a by-id session
//! ([`Metadata::version`](crate::storage::Metadata::version)), and as a `v<N>:` prefix of the
//! serialized value inside the signed or encrypted envelope of a by-value session (a by-value
//! versioned session needs a transformer). A value of an older version is migrated when it is
//! read (each step in turn: 1 → 2 → 3) and written back under the current version by the same
//! response; a value without a version is read as the oldest version of the chain, so an
//! application can declare versions after the fact; a value of a *newer* version (after a
//! rollback) reads as no session, and is neither cleared from the browser nor deleted from the
//! storage, so it is still there when the newer code returns. Ktor's formats are unaffected: a
//! type without a version is written exactly as before.

use std::any::Any;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Decoded, ErasedCodec, SerializerError};

/// One version of a session type: its number and how to make it from the previous version.
///
/// Chains end with [`Unversioned`]: the first version's `Previous` is `Unversioned`, whose
/// `migrate` cannot be called (`match previous {}`).
pub trait SessionVersion: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// This version's number, greater than the previous version's (and than 0).
    const VERSION: u32;
    /// The version before this one, or [`Unversioned`] for the first.
    type Previous: Earlier;
    /// This version made from a value of the previous one.
    fn migrate(previous: Self::Previous) -> Self;
}

/// What comes before the first version of a chain. It has no values, so the first version's
/// `migrate` is `match previous {}`.
#[derive(Debug, Clone, Copy)]
pub enum Unversioned {}

/// A serde data format that can read and write every version of a chain: [`Json`](super::Json)
/// (the default), [`KtorLegacy`](super::KtorLegacy), or one of yours.
pub trait SerdeFormat: Send + Sync + 'static {
    /// `value` as text.
    fn write_text<T: Serialize>(&self, value: &T) -> Result<String, SerializerError>;
    /// A value back from text.
    fn read_text<T: DeserializeOwned>(&self, text: &str) -> Result<T, SerializerError>;
}

impl SerdeFormat for super::Json {
    fn write_text<T: Serialize>(&self, value: &T) -> Result<String, SerializerError> {
        super::json::write(value)
    }
    fn read_text<T: DeserializeOwned>(&self, text: &str) -> Result<T, SerializerError> {
        super::json::read(text)
    }
}

impl SerdeFormat for super::KtorLegacy {
    fn write_text<T: Serialize>(&self, value: &T) -> Result<String, SerializerError> {
        super::ktor_legacy::to_string(value)
    }
    fn read_text<T: DeserializeOwned>(&self, text: &str) -> Result<T, SerializerError> {
        super::ktor_legacy::from_str(text)
    }
}

/// A link of a version chain: a [`SessionVersion`] or the chain's start, [`Unversioned`].
/// Implemented for both; there is nothing to implement by hand.
pub trait Earlier: Sized + Send + Sync + 'static {
    /// The version's number (0 for [`Unversioned`]).
    const NUMBER: u32;

    /// Reads a value written as version `version`, migrating it up to this version; `None`
    /// when `version` is newer than this one (or not in the chain).
    #[doc(hidden)]
    fn read_as<F: SerdeFormat>(
        format: &F,
        version: u32,
        text: &str,
    ) -> Result<Option<Self>, SerializerError>;

    /// Reads a value written before versions were declared: as the chain's first version.
    #[doc(hidden)]
    fn read_oldest<F: SerdeFormat>(format: &F, text: &str)
    -> Result<Option<Self>, SerializerError>;
}

impl Earlier for Unversioned {
    const NUMBER: u32 = 0;

    fn read_as<F: SerdeFormat>(_: &F, _: u32, _: &str) -> Result<Option<Self>, SerializerError> {
        Ok(None)
    }

    fn read_oldest<F: SerdeFormat>(_: &F, _: &str) -> Result<Option<Self>, SerializerError> {
        Ok(None)
    }
}

impl<T: SessionVersion> Earlier for T {
    const NUMBER: u32 = T::VERSION;

    fn read_as<F: SerdeFormat>(
        format: &F,
        version: u32,
        text: &str,
    ) -> Result<Option<Self>, SerializerError> {
        if version == T::VERSION {
            return format.read_text(text).map(Some);
        }
        if version > T::VERSION {
            return Ok(None);
        }
        Ok(T::Previous::read_as(format, version, text)?.map(T::migrate))
    }

    fn read_oldest<F: SerdeFormat>(
        format: &F,
        text: &str,
    ) -> Result<Option<Self>, SerializerError> {
        if <T::Previous as Earlier>::NUMBER == 0 {
            return format.read_text(text).map(Some);
        }
        Ok(T::Previous::read_oldest(format, text)?.map(T::migrate))
    }
}

/// The `v<N>:` prefix a by-value versioned session's text starts with.
fn prefixed(version: u32, text: &str) -> String {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(version);
    let mut out = String::with_capacity(2 + digits.len() + text.len());
    out.push('v');
    out.push_str(digits);
    out.push(':');
    out.push_str(text);
    out
}

/// The version and the rest of a `v<N>:`-prefixed text; `None` without a prefix (a value
/// written before versions were declared). JSON and Ktor's legacy format never start with
/// `v<digits>:`.
fn split_prefix(text: &str) -> Option<(u32, &str)> {
    let rest = text.strip_prefix('v')?;
    let colon = rest.find(':')?;
    let (digits, payload) = rest.split_at(colon);
    if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, payload.get(1..)?))
}

/// The erased codec of a versioned type `T` in format `F`.
pub(crate) struct VersionedCodec<T, F> {
    format: F,
    _type: PhantomData<fn() -> T>,
}

impl<T, F> VersionedCodec<T, F> {
    pub(crate) fn new(format: F) -> Self {
        VersionedCodec {
            format,
            _type: PhantomData,
        }
    }
}

impl<T: SessionVersion, F: SerdeFormat> VersionedCodec<T, F> {
    fn decode(&self, version: Option<u32>, text: &str) -> Result<Decoded, SerializerError> {
        let read = match version {
            Some(version) => T::read_as(&self.format, version, text)?,
            None => T::read_oldest(&self.format, text)?,
        };
        Ok(match read {
            None => Decoded::Newer,
            Some(value) if version == Some(T::VERSION) => Decoded::Current(Box::new(value)),
            Some(value) => Decoded::Migrated(Box::new(value)),
        })
    }

    fn value<'a>(&self, value: &'a (dyn Any + Send + Sync)) -> Result<&'a T, SerializerError> {
        value.downcast_ref::<T>().ok_or_else(|| {
            SerializerError::new(format_args!(
                "expected a value of type `{}`",
                std::any::type_name::<T>()
            ))
        })
    }
}

impl<T: SessionVersion, F: SerdeFormat> ErasedCodec for VersionedCodec<T, F> {
    fn version(&self) -> Option<u32> {
        Some(T::VERSION)
    }

    fn serialize_text(&self, value: &(dyn Any + Send + Sync)) -> Result<String, SerializerError> {
        let text = self.format.write_text(self.value(value)?)?;
        Ok(prefixed(T::VERSION, &text))
    }

    fn serialize_bytes(&self, value: &(dyn Any + Send + Sync)) -> Result<Vec<u8>, SerializerError> {
        self.format
            .write_text(self.value(value)?)
            .map(String::into_bytes)
    }

    fn decode_text(&self, text: &str) -> Result<Decoded, SerializerError> {
        match split_prefix(text) {
            Some((version, payload)) => self.decode(Some(version), payload),
            None => self.decode(None, text),
        }
    }

    fn decode_bytes(&self, bytes: &[u8], version: Option<u32>) -> Result<Decoded, SerializerError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| SerializerError::new("the stored session is not UTF-8 text"))?;
        self.decode(version, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_round_trip_and_plain_text_has_none() {
        assert_eq!(prefixed(3, r#"{"a":1}"#), r#"v3:{"a":1}"#);
        assert_eq!(split_prefix(r#"v3:{"a":1}"#), Some((3, r#"{"a":1}"#)));
        assert_eq!(split_prefix("v4294967295:x"), Some((u32::MAX, "x")));
        for plain in [
            r#"{"a":1}"#,
            "v:",
            "vx:1",
            "v99999999999:x",
            "",
            "v12",
            "user=%23sa",
        ] {
            assert_eq!(split_prefix(plain), None, "{plain}");
        }
    }
}
