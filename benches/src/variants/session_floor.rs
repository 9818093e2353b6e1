//! The floors of a session that changes on every request: the least work a server must do to
//! answer `/counter` (and `/large`) with the same session semantics and the same response as
//! this library's default configuration, written by hand in the handler, with no middleware,
//! no configuration and nothing general.
//!
//! * [`encrypted_router`] (`floor-encrypt`): the session kept whole in the cookie, as
//!   `Encrypt` writes it: base64url of a 13-byte header (format, key id, expiry), a 12-byte
//!   nonce, the AES-256-GCM ciphertext of the JSON value and its tag, with the header and the
//!   cookie's name as associated data. Reading checks the length, the header, the tag and the
//!   expiry; writing takes its nonce from a per-thread ChaCha12 generator seeded once from the
//!   OS.
//! * [`memory_router`] (`floor-memory`): the session kept in a process-wide map under a 256-bit
//!   id from that generator, with its expiry; the cookie carries the id in hex. Reading checks
//!   the id's form and the expiry, writing replaces the record (or files a new one under a new
//!   id). The map holds 1 000 other sessions, as `typed-id-memory`'s storage does.
//!
//! Both answer with what this library's default configuration sends: a `Set-Cookie` with
//! `Max-Age` and `Expires` seven days ahead, `Path=/`, `Secure`, `HttpOnly` and `SameSite=Lax`,
//! plus `Vary: cookie` and `Cache-Control: no-store`. A malformed, tampered, expired or unknown
//! value reads as no session, never as an error.
//!
//! What they leave out, and any session library needs: a middleware (its own floor is
//! `floor-handle`), sessions a handler reads lazily or not at all, several session types,
//! a typed and configurable serializer and transformer chain, key rotation, a pluggable storage,
//! id collisions, logs and metrics. So each is a lower bound on what a session library can cost
//! for the same response, not a design to copy.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20::ChaCha12Rng;
use rand_core::{Rng as _, SeedableRng as _};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::{
    COUNTER_NAME, COUNTER_PATH, Counter, KEY, LARGE_NAME, LARGE_PATH, UNTOUCHED_BODY,
    UNTOUCHED_PATH, next_counter, next_large,
};

/// How long a session lives: seven days, the library's default (`Max-Age=604800`).
const LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// The header's format byte (`Encrypt`'s AES-256-GCM).
const FORMAT: u8 = 0x12;
/// The header's key id.
const KEY_ID: [u8; 4] = [0x5e, 0x55, 0x10, 0x4e];
/// Format, key id, expiry.
const HEADER_LEN: usize = 1 + 4 + 8;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// An id's length in bytes.
const ID_LEN: usize = 32;
/// The other sessions in the memory floor's map.
const OTHER_SESSIONS: usize = 1_000;

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

/// The response: `body`, the session's cookie, `Vary` and `Cache-Control`.
fn respond(name: &str, value: &str, now: SystemTime, body: String) -> Response {
    let expires_secs = unix_secs(now) + LIFETIME.as_secs();
    let line = EXPIRES.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != expires_secs {
            *cached = (
                expires_secs,
                httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(expires_secs)),
            );
        }
        // Pushed piece by piece into one buffer of the right size: `format!` costs more.
        let mut line = String::with_capacity(name.len() + value.len() + 96);
        for piece in [
            name,
            "=",
            value,
            "; Max-Age=604800; Expires=",
            &cached.1,
            "; Path=/; Secure; HttpOnly; SameSite=Lax",
        ] {
            line.push_str(piece);
        }
        line
    });
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

/// `header | len(name) | name`, the associated data of a value of session `name`.
fn associated_data<'b>(header: &[u8; HEADER_LEN], name: &str, buf: &'b mut [u8; 64]) -> &'b [u8] {
    let len = u32::try_from(name.len()).unwrap_or(u32::MAX).to_be_bytes();
    let total = HEADER_LEN + len.len() + name.len();
    let Some(out) = buf.get_mut(..total) else {
        return &[];
    };
    let (head, rest) = out.split_at_mut(HEADER_LEN);
    head.copy_from_slice(header);
    let (length, tail) = rest.split_at_mut(len.len());
    length.copy_from_slice(&len);
    tail.copy_from_slice(name.as_bytes());
    out
}

/// The session kept whole and encrypted in its cookie.
#[derive(Clone)]
struct Sealed {
    cipher: Arc<Aes256Gcm>,
}

impl Sealed {
    fn open<T: DeserializeOwned>(&self, name: &str, value: &str, now: SystemTime) -> Option<T> {
        if value.len() > 4096 {
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
        let mut aad = [0u8; 64];
        let aad = associated_data(&header, name, &mut aad);
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

    fn seal<T: Serialize>(&self, name: &str, value: &T, now: SystemTime) -> Option<String> {
        let json = serde_json::to_vec(value).ok()?;
        let mut header = [0u8; HEADER_LEN];
        header[0] = FORMAT;
        header[1..5].copy_from_slice(&KEY_ID);
        header[5..].copy_from_slice(&(unix_secs(now) + LIFETIME.as_secs()).to_be_bytes());
        let mut blob = Vec::with_capacity(HEADER_LEN + NONCE_LEN + json.len() + TAG_LEN);
        blob.extend_from_slice(&header);
        blob.resize(HEADER_LEN + NONCE_LEN, 0);
        blob.extend_from_slice(&json);
        let (head, body) = blob.split_at_mut(HEADER_LEN + NONCE_LEN);
        let nonce = &mut head[HEADER_LEN..];
        random(nonce);
        let mut aad = [0u8; 64];
        let aad = associated_data(&header, name, &mut aad);
        let tag = self
            .cipher
            .encrypt_inout_detached((&*nonce).try_into().ok()?, aad, body.into())
            .ok()?;
        blob.extend_from_slice(&tag);
        Some(URL_SAFE_NO_PAD.encode(&blob))
    }
}

impl Floor for Sealed {
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
        match self.seal(name, &value, now) {
            Some(sealed) => respond(name, &sealed, now, count.to_string()),
            None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

/// The AES-256 key: the first half of the benchmark's key (the floor derives nothing).
fn key() -> aes_gcm::Key<Aes256Gcm> {
    let mut key = aes_gcm::Key::<Aes256Gcm>::default();
    key.copy_from_slice(&KEY[..32]);
    key
}

/// `floor-encrypt`: see the [module documentation](self).
pub fn encrypted_router() -> Router {
    let sealed = Sealed {
        cipher: Arc::new(Aes256Gcm::new(&key())),
    };
    router(sealed)
}

/// A stored session: its JSON and when it expires.
struct Record {
    expires: SystemTime,
    json: Vec<u8>,
}

/// The sessions kept on the server, by id.
#[derive(Clone)]
struct Stored {
    records: Arc<Mutex<HashMap<[u8; ID_LEN], Record>>>,
}

impl Stored {
    fn with_others() -> Stored {
        let mut records = HashMap::with_capacity(OTHER_SESSIONS);
        for _ in 0..OTHER_SESSIONS {
            let mut id = [0u8; ID_LEN];
            random(&mut id);
            let json = serde_json::to_vec(&Counter { count: 1 }).unwrap_or_default();
            let expires = SystemTime::now() + LIFETIME;
            records.insert(id, Record { expires, json });
        }
        Stored {
            records: Arc::new(Mutex::new(records)),
        }
    }
}

impl Floor for Stored {
    fn step<T: Serialize + DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        name: &str,
        next: impl FnOnce(Option<T>) -> Option<(T, u64)>,
    ) -> Response {
        let now = SystemTime::now();
        let mut id = [0u8; ID_LEN];
        let known =
            cookie(headers, name).is_some_and(|value| hex::decode_to_slice(value, &mut id).is_ok());
        let Ok(mut records) = self.records.lock() else {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        };
        let previous = known
            .then(|| records.get(&id))
            .flatten()
            .filter(|record| record.expires > now)
            .and_then(|record| serde_json::from_slice(&record.json).ok());
        let found = previous.is_some();
        let Some((value, count)) = next(previous) else {
            return changed();
        };
        let Ok(json) = serde_json::to_vec(&value) else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        if !found {
            random(&mut id);
        }
        let expires = now + LIFETIME;
        records.insert(id, Record { expires, json });
        drop(records);
        // Into a buffer on the stack: `hex::encode` goes character by character.
        let mut text = [0u8; 2 * ID_LEN];
        if hex::encode_to_slice(id, &mut text).is_err() {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        let Ok(text) = std::str::from_utf8(&text) else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        respond(name, text, now, count.to_string())
    }
}

/// `floor-memory`: see the [module documentation](self).
pub fn memory_router() -> Router {
    router(Stored::with_others())
}

/// How a floor keeps its session: read the previous value from the request, let `next` make
/// the new one (or refuse), and answer with it written.
trait Floor: Clone + Send + Sync + 'static {
    fn step<T: Serialize + DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        name: &str,
        next: impl FnOnce(Option<T>) -> Option<(T, u64)>,
    ) -> Response;
}

/// The benchmark's routes over a floor.
fn router<F: Floor>(floor: F) -> Router {
    async fn counter<F: Floor>(State(floor): State<F>, request: Request) -> Response {
        floor.step(request.headers(), COUNTER_NAME, |previous| {
            let next = next_counter(previous);
            let count = next.count;
            Some((next, count))
        })
    }
    async fn large<F: Floor>(State(floor): State<F>, request: Request) -> Response {
        floor.step(request.headers(), LARGE_NAME, |previous| {
            let next = next_large(previous).ok()?;
            let count = next.count;
            Some((next, count))
        })
    }
    Router::new()
        .route(COUNTER_PATH, get(counter::<F>))
        .route(LARGE_PATH, get(large::<F>))
        .route(UNTOUCHED_PATH, get(|| async { UNTOUCHED_BODY }))
        .with_state(floor)
}
