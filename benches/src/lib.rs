//! Shared code of the typed-sessions benchmarks.
