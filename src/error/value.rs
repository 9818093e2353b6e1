//! The errors of the wings a value passes through on its way out: [`SerializerError`] (a
//! serializer) and [`TransformError`] (a transformer).

use std::fmt;

/// Why a value could not be serialized or deserialized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SerializerError(pub String);

impl SerializerError {
    /// An error with this message.
    pub fn new(message: impl fmt::Display) -> SerializerError {
        SerializerError(message.to_string())
    }
}

/// Why a transformer could not protect an outgoing value.
///
/// [`Sessions::set`](crate::Sessions::set) reports it as
/// [`SessionError::TooLarge`](crate::SessionError::TooLarge) or
/// [`SessionError::Transform`](crate::SessionError::Transform).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// The protected value would exceed what the format accepts back.
    #[error("the protected value would be {size} bytes long, over the limit of {limit}")]
    TooLarge {
        /// The size it would have had.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Any other failure (the message never contains the value or key material).
    #[error("{0}")]
    Failed(String),
}
