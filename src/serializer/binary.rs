//! Binary serializers for by-id sessions: the record holds bytes, so a compact format needs no
//! base64.

use std::any::Any;
use std::marker::PhantomData;

use super::{Decoded, ErasedCodec, SerializerError};

/// Turns a session value of type `T` into bytes and back, for sessions kept in a storage
/// (register it with
/// [`SessionBuilder::binary_serializer`](crate::SessionBuilder::binary_serializer)). By-value
/// sessions travel as text and keep a [`SessionSerializer`](super::SessionSerializer).
///
/// ```
/// use typed_sessions::serializer::{BinarySerializer, SerializerError};
///
/// /// A counter as 8 little-endian bytes.
/// struct Counter;
/// impl BinarySerializer<u64> for Counter {
///     fn serialize(&self, value: &u64) -> Result<Vec<u8>, SerializerError> {
///         Ok(value.to_le_bytes().to_vec())
///     }
///     fn deserialize(&self, bytes: &[u8]) -> Result<u64, SerializerError> {
///         let bytes: [u8; 8] = bytes.try_into().map_err(|_| SerializerError::new("not 8 bytes"))?;
///         Ok(u64::from_le_bytes(bytes))
///     }
/// }
/// assert_eq!(Counter.deserialize(&Counter.serialize(&7).unwrap()).unwrap(), 7);
/// ```
pub trait BinarySerializer<T>: Send + Sync + 'static {
    /// The value as bytes.
    fn serialize(&self, value: &T) -> Result<Vec<u8>, SerializerError>;
    /// The value back from bytes. They come from the storage: any error means "no session".
    fn deserialize(&self, bytes: &[u8]) -> Result<T, SerializerError>;
}

/// The erased form of a `(T, S)` pair with a binary serializer.
pub(crate) struct BinaryCodec<T, S> {
    serializer: S,
    _type: PhantomData<fn() -> T>,
}

impl<T, S> BinaryCodec<T, S> {
    pub(crate) fn new(serializer: S) -> Self {
        BinaryCodec {
            serializer,
            _type: PhantomData,
        }
    }
}

impl<T, S> ErasedCodec for BinaryCodec<T, S>
where
    T: Send + Sync + 'static,
    S: BinarySerializer<T>,
{
    fn serialize_text(&self, _: &(dyn Any + Send + Sync)) -> Result<String, SerializerError> {
        Err(SerializerError::new(
            "a binary serializer writes bytes for by-id sessions only",
        ))
    }

    fn serialize_bytes(&self, value: &(dyn Any + Send + Sync)) -> Result<Vec<u8>, SerializerError> {
        let value = value.downcast_ref::<T>().ok_or_else(|| {
            SerializerError::new(format_args!(
                "expected a value of type `{}`",
                std::any::type_name::<T>()
            ))
        })?;
        self.serializer.serialize(value)
    }

    fn decode_text(&self, _: &str) -> Result<Decoded, SerializerError> {
        Err(SerializerError::new(
            "a binary serializer reads bytes for by-id sessions only",
        ))
    }

    fn decode_bytes(&self, bytes: &[u8], version: Option<u32>) -> Result<Decoded, SerializerError> {
        if version.is_some() {
            return Ok(Decoded::Newer);
        }
        Ok(Decoded::Current(Box::new(
            self.serializer.deserialize(bytes)?,
        )))
    }
}
