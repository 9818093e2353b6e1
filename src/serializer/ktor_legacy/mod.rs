//! Ktor's legacy `#`-format, as a serde data format.
//!
//! Ktor 2 and earlier stored sessions on the JVM with a reflection serializer
//! (`reflectionSessionSerializer`), and Ktor 3 can still write the same format with
//! `KotlinxBackwardCompatibleSessionSerializer`. A session is a form-url-encoded bundle of its
//! properties, each value a `#`, a type tag and a payload:
//!
//! ```text
//! int=%23i1&string=%23s2&boolean=%23bot&double=%23f3.0&nullable=%23n&enum=%23sA
//! ```
//!
//! [`KtorLegacy`] writes, byte for byte, what `KotlinxBackwardCompatibleSessionSerializer`
//! writes (and, for the shapes that one cannot write, what the reflection serializer writes), and
//! reads what both of Ktor's encoders write. [`to_string`] and [`from_str`] are the same
//! functions for any serde type.
//!
//! # Type mapping
//!
//! | Rust | written as | Kotlin | also read from |
//! |---|---|---|---|
//! | a struct (the session) | `name=value&…`, fields in declaration order | data class | names in any order (the reflection writer sorts them) |
//! | `HashMap<String, V>`, `BTreeMap<String, V>` (the session) | `key=value&…` | `Parameters` | |
//! | `bool` | `#bot`, `#bof` | `Boolean` | |
//! | `i8`, `i16`, `i32`, `u8`, `u16` | `#i` + digits | `Int` | `#l`, `#bi`, and `#bd` without a fraction, if the value fits |
//! | `i64`, `u32`, `u64` up to `i64::MAX` | `#l` + digits | `Long` | as above |
//! | `u64` above `i64::MAX` | an error: a Kotlin `Long` cannot hold it | | |
//! | `i128`, `u128` | `#bi` + digits | `java.math.BigInteger` | as above |
//! | `f32`, `f64` | `#f` + Kotlin's `toString()`: `3.0`, `1.0E10`, `NaN`, `-Infinity` | `Float`, `Double` | `#i`, `#l`, `#bi`, `#bd` |
//! | `char` | `#ch` + the character | `Char` | `#s` of one character |
//! | `String`, `&str` | `#s` + the text | `String`, `UUID` | `#ch`, `#bd`, `#bi` (as their text) |
//! | unit variant of an enum | `#s` + variant name | enum constant | |
//! | `None` | `#n` | `null` | `#om` (empty `java.util.Optional`) |
//! | `Some(v)` | `v` as written alone | a nullable property | `#op` + value (present `Optional`) |
//! | `Vec<T>`, `HashSet<T>`, `BTreeSet<T>`, slices, tuples | `#cl` + items | `List`, `Set` | `#cs` (reflection `Set`) |
//! | `HashMap<K, V>`, `BTreeMap<K, V>` (nested) | `#m` + `key=value` entries, keys tagged too | `Map` | `##` (an object's properties) |
//! | a nested struct | `##` + its own `name=value` bundle | a nested class | `#m` with string keys |
//! | `()`, a unit struct | `##` (an object without properties) | `object` | `#n` |
//! | newtype struct | the inner value | value class | |
//! | byte arrays, enum variants with data | an error | | |
//!
//! Ktor's own writer has no tags for bytes and sizes below `Int` (its encoder silently drops
//! Kotlin `Byte` and `Short` properties), so the small Rust integer types become `Int`. Kotlin
//! has no unsigned types in this format: `u32` becomes a `Long` so that every value survives;
//! if the Kotlin property is an `Int`, use `i32` in Rust.
//!
//! Enums with data are refused because Ktor has no single format for them: the reflection
//! writer adds a `$type` parameter naming the sealed subclass, the kotlinx one writes `type` and
//! `value` parameters, and Ktor's kotlinx-based reader cannot read either back.
//!
//! # Escaping, and what Ktor cannot read back
//!
//! A top-level value goes through `encodeURLParameter` (everything but `A-Za-z0-9-._~` escaped,
//! space as `+`). A nested object is form-url-encoded the same way, then escaped again as a
//! value. List and map payloads use Ktor's weak `encodeURLQueryComponent`, once per item and
//! once for the whole payload, and it leaves `&`, `=`, `#` and `+` alone. The writer reproduces
//! all of this byte for byte; the consequences are Ktor's:
//!
//! | value | read back here | by Ktor's reflection reader | by Ktor's kotlinx reader |
//! |---|---|---|---|
//! | a string in a top-level field, any text | yes | yes | yes |
//! | a string in a nested object's field | yes | yes | `&` and `%` break it and `+` becomes a space (it decodes nested objects twice) |
//! | a list item string with a space, `%` or non-ASCII text | yes | yes | no: list items are not decoded (`a%20b`) |
//! | a map key or value string with a space, `%` or non-ASCII text | yes | yes | yes |
//! | a list item or map string with `+` or `#` | yes | yes | lists yes; in a map `+` becomes a space |
//! | a list item or map value string with `&` | yes; if the `&` is followed by `#` (in a map value: and later by `=#`), it is not written (an error) | no (`Bad serialized value`) | no |
//! | a map key string with `&` or `=` | yes; if either is followed by `#`, it is not written (an error) | no | no |
//! | a map value string with `=` | yes | yes | yes |
//! | map keys that differ only by case | yes | yes | no: they collide (it reads maps through case-insensitive `Parameters`) |
//! | a list or map of objects with several fields, a map whose values are lists | yes | no | no (its writer cannot write them either) |
//! | a list in a list, a map in a list or in a map, a list as a map key, each with more than one inner item | not written (an error): the inner `&` cannot be told from the outer one | no | no |
//! | `null` inside a list | yes (`#n`) | yes | its writer moves the `null` out of the list |
//!
//! Where Ktor splits a collection at every `&`, this crate glues a piece that does not start
//! with `#` back onto the item before it (every item starts with `#`), and in a map, an item
//! without `=#` onto the entry before it. So it reads everything that Ktor's writers produce and
//! Ktor's readers read back, the same way, and the extra cases above.
//!
//! # Reading
//!
//! * Struct fields are matched by name, in any order. A name that is not a field but equals one
//!   ignoring case is taken as that field, as Ktor's case-insensitive `Parameters` do (an exact
//!   match wins, so fields differing only by case still work). Unknown names are ignored unless
//!   the type says `#[serde(deny_unknown_fields)]`. If a name appears twice, the first value
//!   wins, as in Ktor. Keys of a top-level map are taken as written.
//! * `+` is a space in top-level and nested objects' values, as in `parseQueryString`, and in
//!   names too (Ktor's reader keeps a name's `+`, although its writer turns a space into one).
//!   A `#` need not be escaped: Ktor's own test vector
//!   `test=#i1&list=#cl%23sa%26%23sb%26%23sc` reads as `test = 1, list = ["a", "b", "c"]`.
//! * `#n` reads as `None`; Kotlin has one `null`, so `Some(None)` is not written (see below).
//! * The input is a client's cookie and is never trusted. Every problem is a
//!   [`SerializerError`], never a panic: text over 64 KiB, more than 1000 parameters in one
//!   object (Ktor silently drops the rest), values nested deeper than 32 levels, a value without
//!   `#`, an unknown tag, a malformed `%` escape, escapes that are not UTF-8 (Ktor substitutes
//!   U+FFFD), a parameter without `=`, a number that does not parse or does not fit. Ktor's
//!   reflection reader also takes `#`, `#n…`, `#bo` + any text starting with `t`/`f`, and a
//!   longer `#ch…`, which its writers never produce; those are errors here. The format's error
//!   messages (serde's `invalid type` and `unknown field` ones included) never repeat the input.
//!
//! # Writing
//!
//! Writing fails, rather than writing what would read back differently, for the shapes in the
//! tables marked as errors, for values nested deeper than 32 levels, and for output over 64 KiB.
//! Before it writes a list or a map, the writer splits the text it is about to write exactly as
//! the reader will, and refuses the value unless that gives back the items it joined: a string
//! item holding `&#` would otherwise read as two items, and whatever a user typed into it would
//! become structure that is then signed or encrypted with the rest of the session. The same
//! goes for `Some(None)` (it would read as `None`), an empty field or map key name (the reader
//! skips it) and a name that appears twice (the reader keeps the first). The error is a
//! [`SerializerError`] at `set`, and never quotes the value. So every value that is written
//! reads back equal (a property test checks it), while reading still follows Ktor's splitting,
//! so that what Ktor writes reads as Ktor reads it.
//! Two struct fields whose names differ only by case are written as two parameters; Ktor would
//! merge them into one name with two values, and read the first for both. A nested struct with a
//! `#[serde(flatten)]` field reaches the writer as a map, so it is written as `#m`, which this
//! crate reads back but Ktor does not read as an object; flattening into the session itself is
//! fine.

mod access;
mod compound;
mod de;
mod error;
mod float;
mod form;
mod ser;
mod split;
mod tag;
mod top;
mod url;

#[cfg(test)]
mod tests;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::json::MAX_INPUT;
use super::{SerializerError, SessionSerializer};

/// The most `&`-separated parameters one object may have, as Ktor's `parseQueryString` limit.
const MAX_PARAMS: usize = 1000;

/// The deepest nesting of values (objects, collections, `#op`) read or written.
const MAX_DEPTH: usize = 32;

/// Ktor's legacy `#`-format session serializer (`KotlinxBackwardCompatibleSessionSerializer`,
/// and Ktor 2's `reflectionSessionSerializer`), for sharing sessions with Ktor services.
///
/// Works for any `T: Serialize + DeserializeOwned` whose serialized form is a struct or a
/// string-keyed map; see the [module documentation](self) for the type mapping, the escaping,
/// and the limits.
///
/// Field names must be the Kotlin property names (use `#[serde(rename = "...")]` or
/// `#[serde(rename_all = "camelCase")]`). Fields are written in declaration order, as
/// `KotlinxBackwardCompatibleSessionSerializer` does; Ktor's reflection writer sorts them by
/// name instead, so declare them alphabetically if the bytes must match it too. Either order
/// is read.
///
/// ```
/// use typed_sessions::serializer::{KtorLegacy, SessionSerializer};
///
/// // Ktor's `TestUserSession("id2", emptyList())`, properties declared alphabetically.
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// #[serde(rename_all = "camelCase")]
/// struct TestUserSession { cart: Vec<String>, user_id: String }
///
/// let session = TestUserSession { cart: vec![], user_id: "id2".into() };
/// let text = KtorLegacy.serialize(&session)?;
/// assert_eq!(text, "cart=%23cl&userId=%23sid2");
/// assert_eq!(KtorLegacy.deserialize(&text), Ok(session));
///
/// // Ktor's `AutoSerializerTest.testSimple` vector: reflection format, `#` left unescaped.
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// struct TestSession { test: i32, list: Vec<String> }
///
/// let read: TestSession = KtorLegacy.deserialize("test=#i1&list=#cl%23sa%26%23sb%26%23sc")?;
/// assert_eq!(read, TestSession { test: 1, list: vec!["a".into(), "b".into(), "c".into()] });
/// # Ok::<(), typed_sessions::serializer::SerializerError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct KtorLegacy;

impl<T: Serialize + DeserializeOwned> SessionSerializer<T> for KtorLegacy {
    fn serialize(&self, value: &T) -> Result<String, SerializerError> {
        to_string(value)
    }

    fn deserialize(&self, text: &str) -> Result<T, SerializerError> {
        from_str(text)
    }
}

/// Writes `value` in Ktor's legacy format, as [`KtorLegacy`] does.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Cart { items: Vec<u16>, coupon: Option<String> }
///
/// let text = typed_sessions::serializer::ktor_legacy::to_string(
///     &Cart { items: vec![1, 3, 7], coupon: None },
/// ).unwrap();
/// assert_eq!(text, "items=%23cl%23i1%26%23i3%26%23i7&coupon=%23n");
/// ```
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, SerializerError> {
    let text = value.serialize(top::TopSerializer)?;
    if text.len() > MAX_INPUT {
        return Err(SerializerError::new(format_args!(
            "the session is longer than {MAX_INPUT} bytes in Ktor's legacy format"
        )));
    }
    Ok(text)
}

/// Reads a `T` from Ktor's legacy format, as [`KtorLegacy`] does. Any problem with the text,
/// which may come from a client, is an error.
///
/// ```
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Cart { items: Vec<u16>, coupon: Option<String> }
///
/// let cart: Cart = typed_sessions::serializer::ktor_legacy::from_str(
///     "coupon=%23n&items=%23cl%23i1%26%23i3",
/// ).unwrap();
/// assert_eq!(cart, Cart { items: vec![1, 3], coupon: None });
/// assert!(typed_sessions::serializer::ktor_legacy::from_str::<Cart>("items=1").is_err());
/// ```
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, SerializerError> {
    if text.len() > MAX_INPUT {
        return Err(SerializerError::new("input too long"));
    }
    Ok(T::deserialize(top::TopDeserializer::new(text))?)
}
