//! Typed HTTP sessions for tower and axum, after Ktor's `Sessions` plugin.
//!
//! A session is a Rust type of yours. You register it once, under a name, as a cookie or a
//! header, carried **by value** (the serialized session travels, protected by a
//! [transformer](transform)) or **by id** (an id travels; the session lives in a
//! [storage]). Handlers get a [`Sessions`] handle with typed `get`, `set` and `clear`. With
//! the default feature `axum`:
//!
#![cfg_attr(feature = "axum", doc = "```")]
#![cfg_attr(not(feature = "axum"), doc = "```ignore")]
//! use axum::{Router, routing::get};
//! use typed_sessions::{Encrypt, Key, SessionError, Sessions, SessionsConfig};
//!
//! #[derive(Clone, serde::Serialize, serde::Deserialize)]
//! struct UserSession { id: String, count: u32 }
//!
//! async fn counter(sessions: Sessions) -> Result<String, SessionError> {
//!     let session = sessions.get_or_set(|| UserSession { id: "u1".into(), count: 0 }).await?;
//!     sessions.set(UserSession { count: session.count + 1, ..session.clone() })?;
//!     Ok(format!("count {}", session.count))
//! }
//!
//! // In production: `Key::from_hex(&secret)?` with 32 random bytes kept in your secret store.
//! let key = Key::generate();
//! let sessions = SessionsConfig::new()
//!     .cookie::<UserSession>("user_session", |c| c.transform(Encrypt::new(key)))
//!     .build()?;
//! let app: Router = Router::new().route("/counter", get(counter)).layer(sessions);
//! # Ok::<(), typed_sessions::ConfigError>(())
//! ```
//!
//! A session carried by value is encrypted here: without a transformer the client could read
//! and forge it. [`transform`] explains the formats, keys and rotation.
//!
//! # The pieces
//!
//! Ktor's own decomposition, one module each:
//!
//! | piece | job | module |
//! |---|---|---|
//! | transport | carries one string between server and client: a cookie or a header | [`transport`] |
//! | transformer | protects that string: sign, encrypt, Ktor's formats | [`transform`] |
//! | tracker | what the string is: the serialized session, or an id | by value / by id |
//! | serializer | session value to string and back: JSON, Ktor's legacy format, yours | [`serializer`] |
//! | storage | where by-id sessions live | [`storage`] |
//! | layer | per request: lazy loading, change tracking, one write when the response leaves | [`SessionsLayer`] |
//!
//! Built on them: [`auth`] (routes that require a session), [`csrf`] (CSRF protection bound
//! to the session, for every form) and [`flash`] (typed messages shown once after a redirect).
//!
//! # Guide
//!
//! The [`guide`] walks through the crate page by page, every example a doctest:
//!
//! * [`guide::tour`]: from the quick start through every feature in order (transports,
//!   cookie attributes, encodings, transformers and key rotation, serializers, storages,
//!   lifetimes, regeneration, authentication, CSRF protection and flash messages, metrics,
//!   errors, plain tower, the CLI);
//! * [`guide::users_and_devices`]: a user's sessions across devices: the principal index, the
//!   device list, ending devices, credential changes, a limit per user, remember me;
//! * [`guide::evolving_session_data`]: versioned session types migrated across deploys, and
//!   conditional updates that lose nothing to concurrent requests;
//! * [`guide::coming_from_ktor`]: every Ktor `Sessions` call and option mapped to this crate,
//!   what differs and why, and sharing sessions with a Ktor service during a migration;
//! * [`guide::coming_from_tower_sessions`]: tower-sessions and actix-session concepts mapped to
//!   typed sessions, with a side-by-side migration.
//!
//! # Guarantees
//!
//! * Client input never causes an error, a panic or a 5xx: tampered, malformed, expired or
//!   unknown values read as "no session", and the response clears them.
//! * A session the handler does not touch costs nothing.
//! * A storage outage is an error the handler sees ([`SessionError::Storage`], `503`); the
//!   client's cookie is kept and no new session is minted.
//! * Deletion wins: a request that read a session before a concurrent logout can never write
//!   it back.
//! * Nothing is lost silently: a value too large for a cookie, or a storage write that fails,
//!   is an error, never a dropped cookie.
//!
//! # Cargo features
//!
//! | feature | default | enables |
//! |---|---|---|
//! | `axum` | yes | the axum side: [`Sessions`] and [`flash::Flashed`] as handler arguments, `IntoResponse` for [`SessionError`], route protection ([`auth`]), CSRF protection ([`csrf`]), and the [`guide`] |
//! | `redis` | | [`storage::RedisStorage`] (single node and Cluster, on redis-rs), and `redis://` URLs in [`storage::open_url`] |
//! | `postgres` | | [`storage::PostgresStorage`] (on sqlx), and `postgres://` URLs |
//! | `sqlite` | | [`storage::SqliteStorage`] (on sqlx, SQLite compiled in), and `sqlite://` URLs |
//! | `rustls` | | TLS for the network storages enabled with it: `rediss://` URLs and PostgreSQL's `sslmode` (rustls with ring and the webpki roots) |
//! | `metrics` | | counters and histograms through the `metrics` facade: [`SessionsConfig::metrics`]; the names and labels are in the guide ([`guide::tour`](crate::guide::tour), "Metrics") |
//! | `test-support` | | for dev-dependencies: [`storage::contract`], the suite every storage passes, to run against a storage of yours; it also lets through the sample keys printed in this documentation, which key constructors refuse otherwise, so never enable it in a build that serves users |
//!
//! Without `axum` the crate is a plain tower layer ([`SessionsLayer`]) over any service, which
//! takes its handle with [`Sessions::from_extensions`]. Every item that needs a feature says
//! so in this documentation. The feature `fuzzing` is internal (the bodies of
//! the repository's fuzz targets): not part of the public API, and, like `test-support`, it lets
//! the sample keys through.
//!
//! The command-line tool (keys, inspecting cookies, looking after storages) is its own crate,
//! `typed-sessions-cli`, installed as `typed-sessions`.
// Two audited `unsafe` calls exist: the fork handler of the random generator
// (`src/random/fork.rs`) and `geteuid` for the directory storage's ownership check
// (`src/storage/directory/trust.rs`); everything else is safe Rust.
// On docs.rs (nightly rustdoc, `--cfg docsrs`): each item that needs a feature is marked with it.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

#[cfg(feature = "axum")]
pub mod auth;
pub mod clock;
mod codec;
pub mod config;
#[cfg(feature = "axum")]
pub mod csrf;
mod error;
#[cfg(feature = "axum")]
mod extract;
pub mod flash;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "axum")]
pub mod guide;
mod id;
mod layer;
mod metrics;
mod pipeline;
mod random;
pub mod serializer;
mod sessions;
mod state;
pub mod storage;
mod tracker;
pub mod transform;
pub mod transport;

pub use config::{SessionBuilder, SessionData, SessionsConfig};
pub use error::{ConfigError, MissingSessionsLayer, SessionError};
pub use id::{LogTag, RequestInfo, SessionId};
pub use layer::{ResponseFuture, SessionsLayer, SessionsService};
pub use sessions::{MODIFY_TIMEOUT, Sessions};
pub use transform::{Encrypt, Key, KeyRing, Sign};
pub use transport::{CookieEncoding, SameSite};

/// The README's code, compiled and run as doctests so it cannot drift from the crate. Its
/// examples are axum applications: they run with the `axum` feature (the default), and those
/// that need a storage feature say so (`#[cfg(feature = ...)]` inside).
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
