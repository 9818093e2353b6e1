#![no_main]
//! See `typed_sessions::fuzzing::json`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| typed_sessions::fuzzing::json(data));
