//! By value: the transported string is the serialized session.

use super::{Invalid, Loaded, Outcome, Provider, Valid};

/// Deserializes an unwrapped incoming value.
pub(crate) fn load(provider: &Provider, text: String) -> Loaded {
    match provider.codec.deserialize(&text) {
        Ok(value) => Loaded {
            value: Some(value),
            outcome: Outcome::Valid(Valid {
                serialized: text,
                stored: None,
                stale_key: false,
                value_expires_at: None,
            }),
        },
        Err(_) => {
            // The serializer's message may quote the value: it is not logged.
            tracing::debug!(session = %provider.name, "session value could not be deserialized");
            Loaded::invalid(Invalid::Undecodable, None)
        }
    }
}
