//! Ktor's legacy `#`-format (placeholder while the serde data format is written).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{SerializerError, SessionSerializer};

/// Ktor's pre-3.0 session format.
#[derive(Debug, Clone, Copy, Default)]
pub struct KtorLegacy;

impl<T: Serialize + DeserializeOwned> SessionSerializer<T> for KtorLegacy {
    fn serialize(&self, _value: &T) -> Result<String, SerializerError> {
        Err(SerializerError::new("not yet implemented"))
    }
    fn deserialize(&self, _text: &str) -> Result<T, SerializerError> {
        Err(SerializerError::new("not yet implemented"))
    }
}
