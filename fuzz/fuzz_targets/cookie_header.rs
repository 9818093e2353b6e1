#![no_main]
//! See `typed_sessions::fuzzing::cookie_header`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| typed_sessions::fuzzing::cookie_header(data));
