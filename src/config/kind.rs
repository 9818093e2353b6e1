//! Marker types that say what kind of session a [`SessionBuilder`](crate::SessionBuilder) configures, so that each
//! kind offers only the settings that apply to it.
//!
//! The kinds are fixed: the traits below are sealed, for use in bounds only.
//!
//! ```
//! use typed_sessions::SessionBuilder;
//! use typed_sessions::config::kind;
//!
//! /// Cookie attributes shared by several sessions, by value or by id.
//! fn shop_cookie<T, K: kind::Cookie>(c: SessionBuilder<T, K>) -> SessionBuilder<T, K> {
//!     c.path("/shop").max_age(std::time::Duration::from_secs(3600))
//! }
//! ```

/// A session whose serialized value travels in a cookie.
#[derive(Debug)]
pub enum CookieByValue {}
/// A session whose id travels in a cookie; the value is kept in a storage.
#[derive(Debug)]
pub enum CookieById {}
/// A session whose serialized value travels in a header.
#[derive(Debug)]
pub enum HeaderByValue {}
/// A session whose id travels in a header; the value is kept in a storage.
#[derive(Debug)]
pub enum HeaderById {}

/// Kinds carried in a cookie.
pub trait Cookie: sealed::Kind {}
impl Cookie for CookieByValue {}
impl Cookie for CookieById {}

/// Kinds carried by value.
pub trait ByValue: sealed::Kind {}
impl ByValue for CookieByValue {}
impl ByValue for HeaderByValue {}

/// Kinds carried by id.
pub trait ById: sealed::Kind {}
impl ById for CookieById {}
impl ById for HeaderById {}

/// Every kind.
pub trait AnyKind: sealed::Kind {}
impl<K: sealed::Kind> AnyKind for K {}

/// What the registration code knows about each kind; not nameable outside the crate, so
/// no other kind can exist.
pub(crate) mod sealed {
    pub trait Kind {
        /// Carried in a header (not a cookie).
        const HEADER: bool;
    }
    impl Kind for super::CookieByValue {
        const HEADER: bool = false;
    }
    impl Kind for super::CookieById {
        const HEADER: bool = false;
    }
    impl Kind for super::HeaderByValue {
        const HEADER: bool = true;
    }
    impl Kind for super::HeaderById {
        const HEADER: bool = true;
    }
}
