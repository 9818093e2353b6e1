//! The guide: from the quick start to every feature, and from other session libraries to this
//! one.
//!
//! These pages hold no code of their own; they explain the crate and link to the reference
//! documentation of each module. Every Rust example in them is compiled and run by
//! `cargo test --doc`.
//!
//! | page | for |
//! |---|---|
//! | [`tour`] | the whole crate in order: the quick start, then each feature, each with a runnable example |
//! | [`users_and_devices`] | a user's sessions: the principal index, the device list of an account page, ending devices, credential changes, a limit per user, remember me |
//! | [`evolving_session_data`] | session types that change across deploys (versions and migrations) and updates that lose nothing to concurrent requests |
//! | [`coming_from_ktor`] | every Ktor `Sessions` call and option and its counterpart here, what differs and why, and how to share sessions with a Ktor service during a migration |
//! | [`coming_from_tower_sessions`] | the concepts of tower-sessions and actix-session mapped to typed sessions, with a side-by-side migration |

#[doc = include_str!("../docs/guide/tour.md")]
pub mod tour {}

#[doc = include_str!("../docs/guide/users_and_devices.md")]
pub mod users_and_devices {}

#[doc = include_str!("../docs/guide/evolving_session_data.md")]
pub mod evolving_session_data {}

#[doc = include_str!("../docs/guide/coming_from_ktor.md")]
pub mod coming_from_ktor {}

#[doc = include_str!("../docs/guide/coming_from_tower_sessions.md")]
pub mod coming_from_tower_sessions {}
