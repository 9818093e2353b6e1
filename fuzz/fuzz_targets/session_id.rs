#![no_main]
//! See `typed_sessions::fuzzing::session_id`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| typed_sessions::fuzzing::session_id(data));
