//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`).
//!
//! Off by default. With the feature enabled, one line turns them on:
//!
//! ```
//! # #[cfg(feature = "metrics")] {
//! # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct UserSession;
//! let layer = typed_sessions::SessionsConfig::new()
//!     .metrics(true)
//!     .cookie::<UserSession>("user_session", |c| {
//!         c.transform(typed_sessions::Encrypt::new(typed_sessions::Key::generate()))
//!     })
//!     .build()?;
//! # }
//! # Ok::<(), typed_sessions::ConfigError>(())
//! ```
//!
//! They go to whatever recorder the application installed (Prometheus, StatsD, ...). Every
//! metric carries the label `session` (the session's name).
//!
//! | name | kind | labels | counts |
//! |---|---|---|---|
//! | `typed_sessions_loaded_total` | counter | `session`, `outcome` = `valid`, `absent`, `invalid`, `newer` | sessions loaded on first use in a request (`newer`: a value of a newer version of the type, after a rollback) |
//! | `typed_sessions_rejected_total` | counter | `session`, `reason` | invalid values, by reason: `encoding`, `malformed`, `bad_signature`, `unknown_key`, `expired`, `too_long`, `malformed_id`, `unknown_id`, `undecodable` |
//! | `typed_sessions_expired_total` | counter | `session` | values refused because the expiry they carry has passed (by-value sessions; an expired by-id session reads as `unknown_id`, since its storage no longer has it) |
//! | `typed_sessions_created_total` | counter | `session` | new sessions sent (by value) or stored (by id) |
//! | `typed_sessions_updated_total` | counter | `session` | existing sessions given a new value |
//! | `typed_sessions_renewed_total` | counter | `session` | by-id sessions whose idle deadline was extended without a new value |
//! | `typed_sessions_regenerated_total` | counter | `session` | by-id sessions moved to a new id |
//! | `typed_sessions_cleared_total` | counter | `session` | sessions cleared by the handler (`clear`, `clear_by_id`) |
//! | `typed_sessions_reissued_total` | counter | `session` | values re-sent under the current key after a rotation, with their expiry cut to a shortened ttl, or under the current version after a migration (by value) |
//! | `typed_sessions_migrated_total` | counter | `session` | by-id sessions of an older version written back under the current one |
//! | `typed_sessions_storage_seconds` | histogram | `session`, `backend`, `operation` | the time of each storage call |
//! | `typed_sessions_storage_errors_total` | counter | `session`, `backend`, `operation` | storage calls that failed or timed out |
//!
//! `backend` is [`SessionStorage::backend`](crate::storage::SessionStorage::backend) (`memory`,
//! `directory`, `cache`, `redis`, `postgres`, `sqlite`, or what a custom storage says);
//! `operation` is `load`, `create`, `update`, `delete` or `change_id`.

/// Where one session's metrics go: nowhere unless enabled.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Metrics {
    #[cfg(feature = "metrics")]
    enabled: bool,
}

/// A session lifecycle event that has a counter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    Created,
    Updated,
    Renewed,
    Regenerated,
    Cleared,
    Reissued,
    Migrated,
}

#[cfg(feature = "metrics")]
impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::Created => "typed_sessions_created_total",
            Event::Updated => "typed_sessions_updated_total",
            Event::Renewed => "typed_sessions_renewed_total",
            Event::Regenerated => "typed_sessions_regenerated_total",
            Event::Cleared => "typed_sessions_cleared_total",
            Event::Reissued => "typed_sessions_reissued_total",
            Event::Migrated => "typed_sessions_migrated_total",
        }
    }
}

#[cfg(feature = "metrics")]
impl Metrics {
    pub(crate) fn new(enabled: bool) -> Metrics {
        Metrics { enabled }
    }

    pub(crate) fn loaded(self, session: &str, outcome: &'static str, reason: Option<&'static str>) {
        if !self.enabled {
            return;
        }
        let session = session.to_owned();
        metrics::counter!("typed_sessions_loaded_total", "session" => session.clone(), "outcome" => outcome)
            .increment(1);
        if let Some(reason) = reason {
            if reason == "expired" {
                metrics::counter!("typed_sessions_expired_total", "session" => session.clone())
                    .increment(1);
            }
            metrics::counter!("typed_sessions_rejected_total", "session" => session, "reason" => reason)
                .increment(1);
        }
    }

    pub(crate) fn event(self, session: &str, event: Event) {
        if self.enabled {
            metrics::counter!(event.name(), "session" => session.to_owned()).increment(1);
        }
    }

    pub(crate) fn storage(
        self,
        session: &str,
        backend: &'static str,
        operation: &'static str,
        seconds: f64,
        failed: bool,
    ) {
        if !self.enabled {
            return;
        }
        let labels = [
            ("session", session.to_owned()),
            ("backend", backend.to_owned()),
            ("operation", operation.to_owned()),
        ];
        metrics::histogram!("typed_sessions_storage_seconds", &labels).record(seconds);
        if failed {
            metrics::counter!("typed_sessions_storage_errors_total", &labels).increment(1);
        }
    }

    /// Whether storage calls should be timed.
    pub(crate) fn timing(self) -> bool {
        self.enabled
    }
}

#[cfg(not(feature = "metrics"))]
impl Metrics {
    pub(crate) fn new(_enabled: bool) -> Metrics {
        Metrics {}
    }

    #[inline(always)]
    pub(crate) fn loaded(self, _: &str, _: &'static str, _: Option<&'static str>) {}

    #[inline(always)]
    pub(crate) fn event(self, _: &str, _: Event) {}

    #[inline(always)]
    pub(crate) fn storage(self, _: &str, _: &'static str, _: &'static str, _: f64, _: bool) {}

    #[inline(always)]
    pub(crate) fn timing(self) -> bool {
        false
    }
}
