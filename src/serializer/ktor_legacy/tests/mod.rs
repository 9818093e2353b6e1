//! Tests of the whole format through its public functions: Ktor's vectors, round trips, and
//! malformed input. The building blocks have their own tests next to them.

mod malformed;
mod names;
mod reads_back;
mod round_trip;
mod scalars;
mod tricky;
mod vectors;

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{KtorLegacy, SessionSerializer, from_str};

/// Writes `value`, panicking with the error.
fn write<T: Serialize + DeserializeOwned>(value: &T) -> String {
    KtorLegacy.serialize(value).unwrap()
}

/// The error writing `value`, panicking if it is written.
fn write_err<T: Serialize + DeserializeOwned>(value: &T) -> String {
    match KtorLegacy.serialize(value) {
        Ok(text) => panic!("should not be written, but gave {text:?}"),
        Err(e) => e.to_string(),
    }
}

/// Reads a `T`, panicking with the error.
fn read<T: DeserializeOwned>(text: &str) -> T {
    match from_str(text) {
        Ok(value) => value,
        Err(e) => panic!("{text:?} did not read: {e}"),
    }
}

/// The error reading `text` as a `T`, panicking if it reads.
fn read_err<T: DeserializeOwned + Debug>(text: &str) -> String {
    match from_str::<T>(text) {
        Ok(value) => panic!("{text:?} should not read, but gave {value:?}"),
        Err(e) => e.to_string(),
    }
}

/// Writes `value`, reads it back (through [`KtorLegacy`]), and checks that it is unchanged;
/// returns the text.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) -> String {
    let text = write(value);
    let back: T = KtorLegacy.deserialize(&text).unwrap();
    assert_eq!(&back, value, "through {text:?}");
    text
}
