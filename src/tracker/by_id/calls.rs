//! The storage calls of one by-id session: each bound to the session's namespace, bounded by
//! its timeout, and timed for metrics. No policy lives here.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use crate::error::StorageError;
use crate::id::{Namespace, SessionId};
use crate::metrics::Metrics;
use crate::storage::{
    Created, PrincipalSession, Record, Revision, SessionHandle, SessionStorage, Updated,
};

/// One session's handle on its storage.
///
/// The calls made on every request (`load`, `create`, `update`) are plain functions returning
/// the timed future: an `async fn` would wrap it in one more future that keeps a second copy of
/// its arguments, and these futures are part of what a request's handler and response wait on.
#[derive(Debug)]
pub(crate) struct StorageCalls {
    storage: Arc<dyn SessionStorage>,
    namespace: Namespace,
    timeout: Option<Duration>,
    metrics: Metrics,
}

impl StorageCalls {
    pub(crate) fn new(
        storage: Arc<dyn SessionStorage>,
        namespace: Namespace,
        timeout: Option<Duration>,
        metrics: Metrics,
    ) -> StorageCalls {
        StorageCalls {
            storage,
            namespace,
            timeout,
            metrics,
        }
    }

    /// The namespace the session's records are filed under.
    pub(crate) fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    pub(crate) fn load<'a>(
        &'a self,
        id: &'a SessionId,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<Record>, StorageError>> + 'a {
        let key = self.namespace.key(id);
        self.timed("load", self.storage.as_ref().load(key, now))
    }

    pub(crate) fn create<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        now: SystemTime,
    ) -> impl Future<Output = Result<Created, StorageError>> + 'a {
        let key = self.namespace.key(id);
        self.timed("create", self.storage.as_ref().create(key, record, now))
    }

    pub(crate) fn update<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, StorageError>> + 'a {
        let key = self.namespace.key(id);
        self.timed("update", self.storage.as_ref().update(key, record, now))
    }

    pub(crate) async fn update_if(
        &self,
        id: &SessionId,
        record: &Record,
        expected: Revision,
        now: SystemTime,
    ) -> Result<Updated, StorageError> {
        let key = self.namespace.key(id);
        self.timed(
            "update_if",
            self.storage.as_ref().update_if(key, record, expected, now),
        )
        .await
    }

    pub(crate) async fn delete(&self, id: &SessionId) -> Result<bool, StorageError> {
        let key = self.namespace.key(id);
        self.timed("delete", self.storage.as_ref().delete(key))
            .await
    }

    pub(crate) async fn change_id(
        &self,
        old: &SessionId,
        new: &SessionId,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let (old, new) = (self.namespace.key(old), self.namespace.key(new));
        self.timed(
            "change_id",
            self.storage.as_ref().change_id(old, new, record, now),
        )
        .await
    }

    /// The prefix the storage wants new ids of `principal`'s sessions to start with.
    pub(crate) fn id_prefix(&self, principal: &str) -> Option<String> {
        self.storage
            .as_ref()
            .principal_id_prefix(&self.namespace, principal)
    }

    pub(crate) async fn sessions_of(
        &self,
        principal: &str,
        now: SystemTime,
    ) -> Result<Vec<PrincipalSession>, StorageError> {
        self.timed(
            "sessions_of",
            self.storage
                .as_ref()
                .sessions_of(&self.namespace, principal, now),
        )
        .await
    }

    pub(crate) async fn delete_of(
        &self,
        principal: &str,
        handle: &SessionHandle,
    ) -> Result<bool, StorageError> {
        self.timed(
            "delete_of",
            self.storage
                .as_ref()
                .delete_of(&self.namespace, principal, handle),
        )
        .await
    }

    pub(crate) async fn delete_all_of(
        &self,
        principal: &str,
        except: Option<&SessionHandle>,
    ) -> Result<u64, StorageError> {
        self.timed(
            "delete_all_of",
            self.storage
                .as_ref()
                .delete_all_of(&self.namespace, principal, except),
        )
        .await
    }

    /// Whether the storage keeps the principal index.
    pub(crate) fn supports_principals(&self) -> bool {
        self.storage.as_ref().supports_principals()
    }

    /// Runs one storage call, with the timeout if there is one (a backend that does not answer
    /// in time is an outage, `503`, never a hung request), timed for metrics when enabled.
    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StorageError>>,
    ) -> Result<T, StorageError> {
        let started = self.metrics.timing().then(std::time::Instant::now);
        let result = match (Deadline {
            call,
            timeout: self.timeout,
            timer: None,
        })
        .await
        {
            Some(result) => result,
            None => Err(StorageError::unavailable(format!(
                "session storage {operation} timed out after {} ms",
                self.timeout.map_or(0, |t| t.as_millis())
            ))),
        };
        if let Some(started) = started {
            self.metrics.storage(
                self.namespace.name(),
                self.storage.as_ref().backend(),
                operation,
                started.elapsed().as_secs_f64(),
                result.is_err(),
            );
        }
        if let Err(error) = &result {
            tracing::error!(session = %self.namespace.name(), operation, %error, "session storage failed");
        }
        result
    }
}

pin_project_lite::pin_project! {
    /// A storage call bounded by a timeout whose timer starts only if the call does not finish
    /// at its first poll: calls that complete at once (the in-process storages, almost always)
    /// never touch the timer wheel, and the future stays small. `None` when time ran out.
    struct Deadline<F> {
        #[pin]
        call: F,
        timeout: Option<Duration>,
        timer: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl<F: Future> Future for Deadline<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.call.poll(cx) {
            return Poll::Ready(Some(output));
        }
        let Some(timeout) = *this.timeout else {
            return Poll::Pending;
        };
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
