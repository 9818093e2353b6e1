#![no_main]
//! See `typed_sessions::fuzzing::csrf_token`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| typed_sessions::fuzzing::csrf_token(data));
