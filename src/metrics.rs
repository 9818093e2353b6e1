//! Counters and histograms through the `metrics` facade (feature `metrics`), off unless
//! `SessionsConfig::metrics(true)`. The names and labels are documented for users in the
//! guide (`docs/guide/tour.md`, "Metrics"); a change here changes them there.

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
