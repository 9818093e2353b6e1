//! Serializers: a session value to a string and back.
//!
//! * [`Json`] (the default): compact JSON through serde, byte for byte what Ktor 3 writes for the
//!   same fields in the same order.
//! * [`KtorLegacy`]: Ktor's pre-3.0 `#`-format (`name=%23sJohn&count=%23i3`), as a serde data
//!   format, for sharing sessions with Ktor 2 services.
//! * Any type of yours that implements [`SessionSerializer`].
//!
//! ```
//! use typed_sessions::serializer::{Json, SessionSerializer};
//!
//! #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
//! struct UserSession { id: String, count: u32 }
//!
//! let text = Json.serialize(&UserSession { id: "123abc".into(), count: 0 }).unwrap();
//! assert_eq!(text, r#"{"id":"123abc","count":0}"#);
//! let back: UserSession = Json.deserialize(&text).unwrap();
//! assert_eq!(back.count, 0);
//! ```

mod binary;
mod json;
pub mod ktor_legacy;
mod versioned;

use std::any::Any;
use std::marker::PhantomData;

pub use crate::error::SerializerError;
pub(crate) use binary::BinaryCodec;
pub use binary::BinarySerializer;
pub use json::Json;
pub use ktor_legacy::KtorLegacy;
pub(crate) use versioned::VersionedCodec;
pub use versioned::{Earlier, SerdeFormat, SessionVersion, Unversioned};

/// Turns a session value of type `T` into a string and back.
///
/// Implement it to use your own format; register it with
/// [`SessionBuilder::serializer`](crate::config::SessionBuilder::serializer).
///
/// ```
/// use typed_sessions::serializer::{SerializerError, SessionSerializer};
///
/// #[derive(Clone)]
/// struct Cart { user: String, items: Vec<String> }
///
/// /// `user;item1,item2`, as in Ktor's custom serializer test.
/// struct CartFormat;
///
/// impl SessionSerializer<Cart> for CartFormat {
///     fn serialize(&self, cart: &Cart) -> Result<String, SerializerError> {
///         Ok(format!("{};{}", cart.user, cart.items.join(",")))
///     }
///     fn deserialize(&self, text: &str) -> Result<Cart, SerializerError> {
///         let (user, items) = text.split_once(';').ok_or_else(|| SerializerError::new("no `;`"))?;
///         let items = items.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
///         Ok(Cart { user: user.to_owned(), items })
///     }
/// }
///
/// let text = CartFormat.serialize(&Cart { user: "u1".into(), items: vec!["a".into()] }).unwrap();
/// assert_eq!(text, "u1;a");
/// ```
pub trait SessionSerializer<T>: Send + Sync + 'static {
    /// The value as a string.
    fn serialize(&self, value: &T) -> Result<String, SerializerError>;
    /// The value back from a string. Input comes from clients: any error means "no session".
    fn deserialize(&self, text: &str) -> Result<T, SerializerError>;
}

/// What decoding a session value found.
pub(crate) enum Decoded {
    /// A value of the current version (or of a type without versions).
    Current(Box<dyn Any + Send + Sync>),
    /// A value of an older version, migrated: the response writes it back.
    Migrated(Box<dyn Any + Send + Sync>),
    /// A value of a newer version than this code knows (after a rollback): no session, and
    /// the value is left where it is.
    Newer,
}

/// A serializer for one session type with the type erased, so pipelines need no generics.
///
/// By-value sessions travel as text ([`serialize_text`](Self::serialize_text)); by-id sessions
/// are stored as bytes ([`serialize_bytes`](Self::serialize_bytes)), which for a text
/// serializer are its UTF-8 text, without a copy, and a record carries the type's version
/// beside them.
pub(crate) trait ErasedCodec: Send + Sync {
    /// The version of the type, for versioned types.
    fn version(&self) -> Option<u32> {
        None
    }
    /// Serializes `value`, which must be the pipeline's type, as text.
    fn serialize_text(&self, value: &(dyn Any + Send + Sync)) -> Result<String, SerializerError>;
    /// Serializes `value` as bytes (without the version, which the record carries).
    fn serialize_bytes(&self, value: &(dyn Any + Send + Sync)) -> Result<Vec<u8>, SerializerError> {
        self.serialize_text(value).map(String::into_bytes)
    }
    /// Decodes text that [`serialize_text`](Self::serialize_text) wrote.
    fn decode_text(&self, text: &str) -> Result<Decoded, SerializerError>;
    /// Decodes bytes stored with `version`.
    fn decode_bytes(&self, bytes: &[u8], version: Option<u32>) -> Result<Decoded, SerializerError>;
}

/// The erased form of a `(T, S)` pair.
pub(crate) struct Codec<T, S> {
    serializer: S,
    _type: PhantomData<fn() -> T>,
}

impl<T, S> Codec<T, S> {
    pub(crate) fn new(serializer: S) -> Self {
        Codec {
            serializer,
            _type: PhantomData,
        }
    }
}

/// The value behind `value` as a `T`.
fn downcast<T: 'static>(value: &(dyn Any + Send + Sync)) -> Result<&T, SerializerError> {
    value.downcast_ref::<T>().ok_or_else(|| {
        SerializerError::new(format_args!(
            "expected a value of type `{}`",
            std::any::type_name::<T>()
        ))
    })
}

impl<T, S> ErasedCodec for Codec<T, S>
where
    T: Send + Sync + 'static,
    S: SessionSerializer<T>,
{
    fn serialize_text(&self, value: &(dyn Any + Send + Sync)) -> Result<String, SerializerError> {
        self.serializer.serialize(downcast::<T>(value)?)
    }

    fn decode_text(&self, text: &str) -> Result<Decoded, SerializerError> {
        Ok(Decoded::Current(Box::new(
            self.serializer.deserialize(text)?,
        )))
    }

    fn decode_bytes(&self, bytes: &[u8], version: Option<u32>) -> Result<Decoded, SerializerError> {
        if version.is_some() {
            // Written by a versioned type: this code is older than that type.
            return Ok(Decoded::Newer);
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| SerializerError::new("the stored session is not UTF-8 text"))?;
        self.decode_text(text)
    }
}
