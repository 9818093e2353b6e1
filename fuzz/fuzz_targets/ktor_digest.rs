#![no_main]
//! See `typed_sessions::fuzzing::ktor_digest`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| typed_sessions::fuzzing::ktor_digest(data));
