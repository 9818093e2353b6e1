//! The JSON serializer (the default).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{SerializerError, SessionSerializer};

/// Compact JSON through `serde_json`: fields in declaration order, no spaces.
///
/// For a struct whose fields match a Ktor `@Serializable` data class (same names, same order),
/// the output is byte for byte what Ktor 3 writes, so the two can share sessions. Ktor omits
/// properties that equal their Kotlin default (`encodeDefaults = false`); mirror such a property
/// with `#[serde(default, skip_serializing_if = ...)]`.
///
/// Deserialization refuses input over 64 KiB before parsing, and, like Ktor, fails on
/// malformed input (which reads as "no session").
///
/// ```
/// use typed_sessions::serializer::{Json, SessionSerializer};
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct TestUserSession { #[serde(rename = "userId")] user_id: String, cart: Vec<String> }
///
/// let text = Json.serialize(&TestUserSession { user_id: "id2".into(), cart: vec![] }).unwrap();
/// assert_eq!(text, r#"{"userId":"id2","cart":[]}"#);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

/// The longest text a built-in serializer will parse.
pub(crate) const MAX_INPUT: usize = 64 * 1024;

impl<T: Serialize + DeserializeOwned> SessionSerializer<T> for Json {
    fn serialize(&self, value: &T) -> Result<String, SerializerError> {
        write(value)
    }

    fn deserialize(&self, text: &str) -> Result<T, SerializerError> {
        read(text)
    }
}

/// `value` as compact JSON.
pub(super) fn write<T: Serialize + ?Sized>(value: &T) -> Result<String, SerializerError> {
    serde_json::to_string(value).map_err(SerializerError::new)
}

/// A value from JSON text of at most [`MAX_INPUT`] bytes.
pub(super) fn read<T: DeserializeOwned>(text: &str) -> Result<T, SerializerError> {
    if text.len() > MAX_INPUT {
        return Err(SerializerError::new("input too long"));
    }
    serde_json::from_str(text).map_err(SerializerError::new)
}
