//! Fuzz target bodies, shared by the cargo-fuzz crate (`fuzz/`) and the corpus replay test that
//! runs on stable Rust in the normal test command. Not part of the public API.
//!
//! Each function takes arbitrary bytes, feeds them to a decoder that reads client input, and
//! checks the decoder's invariants: it never panics, and what it accepts round-trips. One module
//! per kind of decoder: the codecs (`Cookie` header, cookie values, ids, serializers), the
//! transformers, a whole request through the layer, the CSRF token.

mod codec;
mod csrf;
mod request;
mod transform;

pub use codec::{cookie_header, cookie_value, json, ktor_legacy, session_id};
pub use csrf::csrf_token;
pub use request::request;
pub use transform::{encrypt, ktor_digest, ktor_encrypt, ktor_sign, sign};

/// A session type with the shapes that matter: strings, numbers, nesting, options, maps.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FuzzSession {
    /// A string.
    pub name: String,
    /// A number.
    pub count: u64,
    /// A list.
    pub items: Vec<String>,
    /// An option.
    pub note: Option<String>,
    /// A map.
    pub tags: std::collections::BTreeMap<String, i32>,
}

/// A fuzz target body.
pub type Target = fn(&[u8]);

/// The names of the targets, for the corpus replay test.
pub const TARGETS: &[(&str, Target)] = &[
    ("cookie_header", cookie_header),
    ("cookie_value", cookie_value),
    ("session_id", session_id),
    ("json", json),
    ("ktor_legacy", ktor_legacy),
    ("sign", sign),
    ("encrypt", encrypt),
    ("ktor_sign", ktor_sign),
    ("ktor_encrypt", ktor_encrypt),
    ("ktor_digest", ktor_digest),
    ("request", request),
    ("csrf_token", csrf_token),
];
