//! The application every variant serves: the same routes, session types, payloads and bodies.
//!
//! * `GET /counter`: reads the `Counter` session (absent → 0), sets `count + 1`, answers the new
//!   count (Ktor's canonical sessions example);
//! * `GET /untouched`: does not touch the session, answers [`UNTOUCHED_BODY`];
//! * `GET /large`: reads the `Large` session (a counter and a 2 KiB string), checks the string,
//!   sets `count + 1` with the same string, answers the new count.
//!
//! The baseline (no sessions) answers `1` on `/counter` and `/large`.

use serde::{Deserialize, Serialize};

/// The counter route.
pub const COUNTER_PATH: &str = "/counter";
/// The route that does not touch the session.
pub const UNTOUCHED_PATH: &str = "/untouched";
/// The route with the 2 KiB session.
pub const LARGE_PATH: &str = "/large";
/// What `/untouched` answers.
pub const UNTOUCHED_BODY: &str = "untouched";

/// The cookie (or map key, for peers with one dynamic session map) of the counter session.
pub const COUNTER_NAME: &str = "counter";
/// The cookie (or map key) of the large session.
pub const LARGE_NAME: &str = "large";

/// The length of the large session's string field.
pub const BLOB_LEN: usize = 2048;

/// The counter session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    /// Requests so far in this session.
    pub count: u64,
}

/// The large session: a counter and a 2 KiB string that must come back unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Large {
    /// Requests so far in this session.
    pub count: u64,
    /// [`blob`]'s text, checked on every request.
    pub blob: String,
}

/// The large session's string: 2 KiB of URL- and cookie-safe ASCII, not compressible to
/// nothing (a repeating 62-character alphabet).
pub fn blob() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..BLOB_LEN)
        .map(|i| char::from(ALPHABET[(i * 7 + i / 62) % ALPHABET.len()]))
        .collect()
}

/// The large session's string came back changed.
#[derive(Debug)]
pub struct BlobMismatch;

/// The counter after `previous`.
pub fn next_counter(previous: Option<Counter>) -> Counter {
    Counter {
        count: previous.map_or(0, |c| c.count) + 1,
    }
}

/// The large session after `previous`: the count goes up, the string is checked and kept.
pub fn next_large(previous: Option<Large>) -> Result<Large, BlobMismatch> {
    match previous {
        None => Ok(Large {
            count: 1,
            blob: blob(),
        }),
        Some(large) => {
            if large.blob.len() != BLOB_LEN || large.blob != blob_ref() {
                return Err(BlobMismatch);
            }
            Ok(Large {
                count: large.count + 1,
                blob: large.blob,
            })
        }
    }
}

/// The expected string, built once per process.
fn blob_ref() -> &'static str {
    static BLOB: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BLOB.get_or_init(blob)
}

/// A fixed 64-byte master key for every variant that signs or encrypts (a benchmark, not a
/// secret): the peers' cookie-rs `Key` takes 64 bytes; ours takes the first 32.
pub const KEY: [u8; 64] = {
    let mut key = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        key[i] = (i as u8).wrapping_mul(37).wrapping_add(11);
        i += 1;
    }
    key
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_is_2_kib_of_cookie_safe_text() {
        let b = blob();
        assert_eq!(b.len(), BLOB_LEN);
        assert!(b.bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn large_checks_its_string() {
        let first = next_large(None).unwrap();
        assert_eq!(first.count, 1);
        let second = next_large(Some(first.clone())).unwrap();
        assert_eq!(second.count, 2);
        let mut broken = first;
        broken.blob.pop();
        assert!(next_large(Some(broken)).is_err());
    }
}
