//! Test infrastructure beyond the HTTP helpers: real servers, and every storage at once.
#![allow(dead_code)]

pub mod servers;
pub mod storages;
