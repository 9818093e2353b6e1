//! Shared code of the typed-sessions benchmarks.
//!
//! The side-by-side HTTP load benchmark (`bench`, `bench-server`, `loadgen`), the in-process
//! allocation counter (`allocs`) and the callgrind driver (`callgrind-driver`):
//!
//! | module | job |
//! |---|---|
//! | [`app`] | the routes, session types and payloads every variant serves |
//! | [`variants`] | one server configuration per variant: baseline, ours, the peers |
//! | [`scenario`] | the load scenarios and the answers they expect |
//! | [`cookies`] | the client's cookie jar |
//! | [`loadgen`] | the HTTP load generator |
//! | [`inproc`] | in-process requests, for allocation and instruction counts |
//! | [`procstat`] | CPU time from `/proc` |
//! | [`runner`] | the `bench` command: services, servers, repetitions, reports |
//! | [`chart`] | the `chart` command: the SVG chart of the HTTP load results |
//! | [`storage_support`] | the storage micro benchmarks' payload and the `moka` comparison storage |

pub mod affinity;
pub mod app;
pub mod chart;
pub mod cli;
pub mod cookies;
pub mod inproc;
pub mod loadgen;
pub mod perfcount;
pub mod procstat;
pub mod runner;
pub mod scenario;
pub mod storage_support;
pub mod variants;

pub use storage_support::{MokaStorage, PAYLOAD, bench_key, ready, record, rss_bytes};
