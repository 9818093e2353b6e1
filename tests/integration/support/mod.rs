//! Test infrastructure beyond the HTTP helpers: real servers.
#![allow(dead_code)]

pub mod servers;
