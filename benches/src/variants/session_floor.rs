//! The floors of a session that changes on every request: the least work this benchmark's
//! authors could make a server do to answer `/counter` (and `/large`) with the same session
//! semantics and the same response as this library's default configuration, written by hand
//! in the handler, with no middleware, no configuration and nothing general.
//!
//! * [`encrypted_router`] (`floor-encrypt`): the session kept whole in the cookie, as
//!   `Encrypt` writes it: base64url of a 13-byte header (format, key id, expiry), a 12-byte
//!   nonce, the AES-256-GCM ciphertext of the JSON value and its tag, with the header and the
//!   cookie's name as associated data. Reading checks the length, the header, the tag and the
//!   expiry; writing takes its nonce from a per-thread ChaCha12 generator seeded once from the
//!   OS.
//! * [`memory_router`] (`floor-memory`): the session kept in a process-wide map under a 256-bit
//!   id from that generator and its session's name, with its expiry; the cookie carries the id
//!   in hex. Reading checks the id's form and the expiry; writing rewrites the record in place
//!   (or files a new one under a new id). Like `typed-id-memory`'s storage, the map holds
//!   1 000 other sessions, is bounded (101 000 sessions; a new one past that evicts an old one)
//!   and hashes ids with a cheap seeded word hash rather than SipHash (every stored id is
//!   minted by the server).
//!
//! Both answer with what this library's default configuration sends: a `Set-Cookie` with
//! `Max-Age` and `Expires` seven days ahead, `Path=/`, `Secure`, `HttpOnly` and `SameSite=Lax`,
//! plus `Vary: cookie` and `Cache-Control: no-store`. A malformed, tampered, expired or unknown
//! value reads as no session, never as an error. Their state is in statics, so their routes
//! are stateless like the baseline's (a router state is cloned on every request).
//!
//! What they leave out, and any session library needs: a middleware (its own floor is
//! `floor-handle`), sessions a handler reads lazily or not at all, several session types,
//! a typed and configurable serializer and transformer chain, key rotation, a pluggable storage,
//! id collisions, logs and metrics. So each measures what the work itself costs with these
//! crates, below what a session library can cost for the same response; they are not a design
//! to copy.

use std::cell::RefCell;
use std::hash::{BuildHasher, Hasher};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use axum::Router;
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20::ChaCha12Rng;
use indexmap::IndexMap;
use rand_core::{Rng as _, SeedableRng as _};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::{
    COUNTER_NAME, COUNTER_PATH, Counter, KEY, LARGE_NAME, LARGE_PATH, UNTOUCHED_BODY,
    UNTOUCHED_PATH, next_counter, next_large,
};

/// How long a session lives: seven days, the library's default (`Max-Age=604800`).
const LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// The cookie attributes after `Expires`.
const ATTRIBUTES: &[u8] = b"; Path=/; Secure; HttpOnly; SameSite=Lax";
/// The header's format byte (`Encrypt`'s AES-256-GCM).
const FORMAT: u8 = 0x12;
/// The header's key id.
const KEY_ID: [u8; 4] = [0x5e, 0x55, 0x10, 0x4e];
/// Format, key id, expiry.
const HEADER_LEN: usize = 1 + 4 + 8;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// The longest session name the associated data has room for.
const AAD_LEN: usize = 64;
/// An id's length in bytes.
const ID_LEN: usize = 32;
/// The other sessions in the memory floor's map.
const OTHER_SESSIONS: usize = 1_000;
/// The most sessions the memory floor's map holds: the 1 000 others and the benchmark's
/// storage capacity of 100 000.
const CAPACITY: usize = OTHER_SESSIONS + 100_000;

thread_local! {
    /// The thread's generator of nonces and ids, seeded once from the OS.
    static RNG: RefCell<ChaCha12Rng> = RefCell::new(seeded());
    /// `Expires` for the current second, and that second.
    static EXPIRES: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

fn seeded() -> ChaCha12Rng {
    let mut seed = [0u8; 32];
    // The benchmark cannot run without the OS's generator: no fallback.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut seed).expect("the OS random number generator failed");
    ChaCha12Rng::from_seed(seed)
}

fn random(buf: &mut [u8]) {
    RNG.with(|rng| rng.borrow_mut().fill_bytes(buf));
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The first value of cookie `name` in the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get_all(COOKIE).iter().find_map(|header| {
        header.to_str().ok()?.split(';').find_map(|pair| {
            pair.trim_start()
                .strip_prefix(name)?
                .strip_prefix('=')
                .map(str::trim_end)
        })
    })
}

/// The response: `body`, the session's cookie (whose value `value` appends to the line),
/// `Vary` and `Cache-Control`.
fn respond(
    name: &str,
    value: impl FnOnce(&mut Vec<u8>) -> Option<()>,
    now: SystemTime,
    body: String,
) -> Response {
    let expires_secs = unix_secs(now) + LIFETIME.as_secs();
    // One buffer, written in place: `format!` and separate value strings cost more.
    let mut line = Vec::with_capacity(256);
    line.extend_from_slice(name.as_bytes());
    line.push(b'=');
    if value(&mut line).is_none() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    line.extend_from_slice(b"; Max-Age=604800; Expires=");
    EXPIRES.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != expires_secs {
            *cached = (
                expires_secs,
                httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(expires_secs)),
            );
        }
        line.extend_from_slice(cached.1.as_bytes());
    });
    line.extend_from_slice(ATTRIBUTES);
    let Ok(set_cookie) = HeaderValue::try_from(line) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(SET_COOKIE, set_cookie);
    headers.insert(VARY, HeaderValue::from_static("cookie"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The answer when a large session came back changed (never, unless something is broken).
fn changed() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "the large session's string changed",
    )
        .into_response()
}

/// `header | len(name) | name`, the associated data of a value of session `name`, or `None`
/// if the name is too long for the buffer.
fn associated_data<'b>(
    header: &[u8; HEADER_LEN],
    name: &str,
    buf: &'b mut [u8; AAD_LEN],
) -> Option<&'b [u8]> {
    let len = u32::try_from(name.len()).ok()?.to_be_bytes();
    let out = buf.get_mut(..HEADER_LEN + len.len() + name.len())?;
    let (head, rest) = out.split_at_mut(HEADER_LEN);
    head.copy_from_slice(header);
    let (length, tail) = rest.split_at_mut(len.len());
    length.copy_from_slice(&len);
    tail.copy_from_slice(name.as_bytes());
    Some(out)
}

/// How a floor keeps its session: read the previous value from the request, let `next` make
/// the new one (or refuse), and answer with it written.
trait Floor: Sync + 'static {
    /// The process's one instance.
    fn get() -> &'static Self;

    fn step<T: Serialize + DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        name: &str,
        next: impl FnOnce(Option<T>) -> Option<(T, u64)>,
    ) -> Response;
}

/// The benchmark's routes over a floor, stateless.
fn router<F: Floor>() -> Router {
    async fn counter<F: Floor>(request: Request) -> Response {
        F::get().step(request.headers(), COUNTER_NAME, |previous| {
            let next = next_counter(previous);
            let count = next.count;
            Some((next, count))
        })
    }
    async fn large<F: Floor>(request: Request) -> Response {
        F::get().step(request.headers(), LARGE_NAME, |previous| {
            let next = next_large(previous).ok()?;
            let count = next.count;
            Some((next, count))
        })
    }
    Router::new()
        .route(COUNTER_PATH, get(counter::<F>))
        .route(LARGE_PATH, get(large::<F>))
        .route(UNTOUCHED_PATH, get(|| async { UNTOUCHED_BODY }))
}

/// The session kept whole and encrypted in its cookie.
struct Sealed {
    cipher: Aes256Gcm,
}

static SEALED: LazyLock<Sealed> = LazyLock::new(|| {
    // The AES-256 key: the first half of the benchmark's key (the floor derives nothing).
    let mut key = aes_gcm::Key::<Aes256Gcm>::default();
    key.copy_from_slice(&KEY[..32]);
    Sealed {
        cipher: Aes256Gcm::new(&key),
    }
});

impl Sealed {
    fn open<T: DeserializeOwned>(&self, name: &str, value: &str, now: SystemTime) -> Option<T> {
        if value.len() > typed_sessions::transform::MAX_VALUE_LEN {
            return None;
        }
        // Into a buffer of our own: `decode` allocates zeroed memory.
        let mut bytes = Vec::new();
        URL_SAFE_NO_PAD.decode_vec(value, &mut bytes).ok()?;
        let body_len = bytes.len().checked_sub(HEADER_LEN + NONCE_LEN + TAG_LEN)?;
        let (head, rest) = bytes.split_at_mut(HEADER_LEN + NONCE_LEN);
        let (header, nonce) = head.split_at(HEADER_LEN);
        let header: [u8; HEADER_LEN] = header.try_into().ok()?;
        if header[0] != FORMAT || header[1..5] != KEY_ID {
            return None;
        }
        let (body, tag) = rest.split_at_mut(body_len);
        let mut aad = [0u8; AAD_LEN];
        let aad = associated_data(&header, name, &mut aad)?;
        self.cipher
            .decrypt_inout_detached(
                nonce.try_into().ok()?,
                aad,
                body.into(),
                (&*tag).try_into().ok()?,
            )
            .ok()?;
        let expires = u64::from_be_bytes(header[5..].try_into().ok()?);
        if expires <= unix_secs(now) {
            return None;
        }
        serde_json::from_slice(body).ok()
    }

    /// Appends the sealed value's base64url to `line`.
    fn seal<T: Serialize>(
        &self,
        name: &str,
        value: &T,
        now: SystemTime,
        line: &mut Vec<u8>,
    ) -> Option<()> {
        let mut header = [0u8; HEADER_LEN];
        header[0] = FORMAT;
        header[1..5].copy_from_slice(&KEY_ID);
        header[5..].copy_from_slice(&(unix_secs(now) + LIFETIME.as_secs()).to_be_bytes());
        // The JSON written straight after the header and nonce, with room for the tag.
        let mut blob = Vec::with_capacity(HEADER_LEN + NONCE_LEN + 32 + TAG_LEN);
        blob.extend_from_slice(&header);
        blob.resize(HEADER_LEN + NONCE_LEN, 0);
        serde_json::to_writer(&mut blob, value).ok()?;
        let (head, body) = blob.split_at_mut(HEADER_LEN + NONCE_LEN);
        let nonce = &mut head[HEADER_LEN..];
        random(nonce);
        let mut aad = [0u8; AAD_LEN];
        let aad = associated_data(&header, name, &mut aad)?;
        let tag = self
            .cipher
            .encrypt_inout_detached((&*nonce).try_into().ok()?, aad, body.into())
            .ok()?;
        blob.extend_from_slice(&tag);
        // Encoded straight into the cookie line.
        let start = line.len();
        line.resize(start + (blob.len() * 4).div_ceil(3), 0);
        let written = URL_SAFE_NO_PAD
            .encode_slice(&blob, line.get_mut(start..)?)
            .ok()?;
        line.truncate(start + written);
        Some(())
    }
}

impl Floor for Sealed {
    fn get() -> &'static Sealed {
        &SEALED
    }

    fn step<T: Serialize + DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        name: &str,
        next: impl FnOnce(Option<T>) -> Option<(T, u64)>,
    ) -> Response {
        let now = SystemTime::now();
        let previous = cookie(headers, name).and_then(|value| self.open(name, value, now));
        let Some((value, count)) = next(previous) else {
            return changed();
        };
        respond(
            name,
            |line| self.seal(name, &value, now, line),
            now,
            count.to_string(),
        )
    }
}

/// `floor-encrypt`: see the [module documentation](self).
pub fn encrypted_router() -> Router {
    LazyLock::force(&SEALED);
    router::<Sealed>()
}

/// A record's key: the session's name (its first byte, enough for the benchmark's two), then
/// its id.
type RecordKey = [u8; 1 + ID_LEN];

/// A stored session: its JSON and when it expires.
struct Record {
    expires: SystemTime,
    json: Vec<u8>,
}

/// Hashes a [`RecordKey`] by one word of its id, mixed with a per-process seed (the
/// library's memory storage hashes its keys as cheaply).
#[derive(Clone, Copy)]
struct IdHash {
    seed: u64,
}

impl BuildHasher for IdHash {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher(self.seed)
    }
}

/// [`IdHash`]'s hasher.
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let word = bytes
            .get(1..9)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map_or(0, u64::from_le_bytes);
        let mixed = (self.0 ^ word ^ u64::from(bytes.first().copied().unwrap_or(0)))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = mixed ^ (mixed >> 32);
    }

    fn write_usize(&mut self, _: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The sessions kept on the server.
struct Stored {
    records: Mutex<IndexMap<RecordKey, Record, IdHash>>,
}

static STORED: LazyLock<Stored> = LazyLock::new(|| {
    let mut seed = [0u8; 8];
    random(&mut seed);
    let hash = IdHash {
        seed: u64::from_le_bytes(seed),
    };
    let mut records = IndexMap::with_capacity_and_hasher(OTHER_SESSIONS, hash);
    let json = serde_json::to_vec(&Counter { count: 1 }).unwrap_or_default();
    for _ in 0..OTHER_SESSIONS {
        let mut key = [0u8; 1 + ID_LEN];
        random(&mut key[1..]);
        let expires = SystemTime::now() + LIFETIME;
        let json = json.clone();
        records.insert(key, Record { expires, json });
    }
    Stored {
        records: Mutex::new(records),
    }
});

impl Floor for Stored {
    fn get() -> &'static Stored {
        &STORED
    }

    fn step<T: Serialize + DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        name: &str,
        next: impl FnOnce(Option<T>) -> Option<(T, u64)>,
    ) -> Response {
        let now = SystemTime::now();
        let mut key = [0u8; 1 + ID_LEN];
        key[0] = name.as_bytes().first().copied().unwrap_or(0);
        let known = cookie(headers, name)
            .is_some_and(|value| hex::decode_to_slice(value, &mut key[1..]).is_ok());
        let Ok(mut records) = self.records.lock() else {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        };
        let record = known
            .then(|| records.get_mut(&key))
            .flatten()
            .filter(|record| record.expires > now);
        let count = match record {
            Some(record) => {
                let previous = serde_json::from_slice(&record.json).ok();
                let Some((value, count)) = next(previous) else {
                    return changed();
                };
                // Rewritten in place.
                record.json.clear();
                if serde_json::to_writer(&mut record.json, &value).is_err() {
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
                record.expires = now + LIFETIME;
                count
            }
            None => {
                let Some((value, count)) = next(None) else {
                    return changed();
                };
                let Ok(json) = serde_json::to_vec(&value) else {
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                };
                random(&mut key[1..]);
                if records.len() >= CAPACITY {
                    records.swap_remove_index(0);
                }
                let expires = now + LIFETIME;
                records.insert(key, Record { expires, json });
                count
            }
        };
        drop(records);
        let id = key.get(1..).unwrap_or_default();
        respond(
            name,
            |line| {
                let start = line.len();
                line.resize(start + 2 * ID_LEN, 0);
                hex::encode_to_slice(id, line.get_mut(start..)?).ok()
            },
            now,
            count.to_string(),
        )
    }
}

/// `floor-memory`: see the [module documentation](self).
pub fn memory_router() -> Router {
    LazyLock::force(&STORED);
    router::<Stored>()
}
