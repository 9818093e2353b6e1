#![no_main]
//! See `typed_sessions::fuzzing::sign`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| typed_sessions::fuzzing::sign(data));
