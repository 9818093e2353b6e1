#![no_main]
//! See `typed_sessions::fuzzing::request`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| typed_sessions::fuzzing::request(data));
