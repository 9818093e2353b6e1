//! [`ConfigError`]: what `SessionsConfig::build` refuses.

use std::borrow::Cow;

/// A configuration mistake, reported by [`SessionsConfig::build`](crate::SessionsConfig::build).
///
/// Every variant names the session it concerns and says what is wrong, so the message alone
/// is enough to fix the configuration.
///
/// ```
/// use typed_sessions::{ConfigError, SessionsConfig};
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct A;
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct B;
/// let err = SessionsConfig::new()
///     .cookie::<A>("s", |c| c.unprotected())
///     .cookie::<B>("s", |c| c.unprotected())
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, ConfigError::DuplicateName { .. }));
/// assert_eq!(err.to_string(), "a session named `s` is already registered");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Two sessions share one name.
    #[error("a session named `{name}` is already registered")]
    DuplicateName {
        /// The repeated name.
        name: String,
    },
    /// Two sessions share one Rust type.
    #[error(
        "a session of type `{type_name}` is already registered (as `{existing}`); each type can be registered once"
    )]
    DuplicateType {
        /// The repeated type.
        type_name: String,
        /// The name it was first registered under.
        existing: String,
    },
    /// The cookie name is not a valid RFC 6265 cookie name.
    #[error("`{name}` is not a valid cookie name: {reason}")]
    InvalidCookieName {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The header name is not a valid HTTP header name.
    #[error("`{name}` is not a valid header name: {reason}")]
    InvalidHeaderName {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A cookie attribute value cannot be rendered safely (it would break the `Set-Cookie` line).
    #[error("session `{name}`: invalid cookie attribute `{attribute}`: {reason}")]
    InvalidAttribute {
        /// The session name.
        name: String,
        /// The attribute.
        attribute: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A combination of cookie attributes that browsers reject or that is unsafe.
    #[error("session `{name}`: {reason}")]
    InvalidCombination {
        /// The session name.
        name: String,
        /// What is wrong.
        reason: Cow<'static, str>,
    },
    /// A session carried by value has no transformer, so the client could read and forge it,
    /// and its registration does not say that this is intended.
    #[error(
        "session `{name}` is carried by value without a transformer, so the client can read \
         and forge it; add `.transform(Encrypt::new(key))` (or `Sign`), or, if that is really \
         meant (Ktor parity, data that is neither secret nor trusted), say so with \
         `.unprotected()`"
    )]
    Unprotected {
        /// The session name.
        name: String,
    },
    /// Any other invalid setting.
    #[error("session `{name}`: {reason}")]
    Invalid {
        /// The session name.
        name: String,
        /// What is wrong.
        reason: Cow<'static, str>,
    },
    /// An invalid setting of the CSRF protection (`csrf::CsrfConfig::build`).
    #[error("CSRF protection: {reason}")]
    Csrf {
        /// What is wrong.
        reason: Cow<'static, str>,
    },
}
