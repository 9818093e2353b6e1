//! The text encodings several wings share, each written once: hexadecimal ([`hex`]) and
//! percent-encoding ([`percent`]). Below everything that uses them; they know nothing of
//! sessions.

pub(crate) mod hex;
pub(crate) mod percent;
