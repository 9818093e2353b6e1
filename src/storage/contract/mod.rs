//! The storage contract suite: one call checks that a [`SessionStorage`] keeps every rule the
//! sessions layer relies on (feature `test-support`).
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap().block_on(async {
//! use typed_sessions::storage::{MemoryStorage, contract};
//!
//! // The factory makes a fresh, empty storage for each case.
//! contract::run(|| async { MemoryStorage::new() }).await;
//! # });
//! ```
//!
//! In your own tests, run it on a multi-threaded runtime so the concurrency cases run in
//! parallel:
//!
//! ```
//! # #[cfg(feature = "test-support")]
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 4)]
//! # async fn main() {
//! use typed_sessions::storage::{MemoryStorage, contract};
//!
//! // In your tests: #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
//! contract::run(|| async { MemoryStorage::new() }).await;
//! # }
//! # #[cfg(not(feature = "test-support"))]
//! # fn main() {}
//! ```
//!
//! A failure panics with the name of the [`Case`] and what went wrong. [`Suite`] runs a
//! subset, or relaxes what a backend cannot do (for example a backend that stores times at a
//! coarser precision, or one that expires records by its own clock only).
//!
//! The suite never sleeps: every operation gets an explicit `now`. Times are whole seconds
//! close to the real time (a storage may also expire records by its own clock, as Redis
//! does), and lifetimes are hours, so a slow run cannot expire anything by accident.

mod cases;
mod concurrent;
mod principals;
mod records;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::sync::LazyLock;

use super::{Namespace, Record, SessionId, SessionKey, SessionStorage, StorageError};

/// One rule of the contract, checked on a fresh storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Case {
    /// `load` of an id that was never stored is `None`; `delete` of it is `false`.
    LoadUnknown,
    /// `create` then `load` returns the record, for several payloads (unicode, newlines,
    /// quotes, 64 KiB) and for default and custom (lowercase) ids.
    CreateThenLoad,
    /// An empty payload round-trips.
    EmptyPayload,
    /// `create` of a taken id is a `Collision` and does not overwrite.
    CreateCollision,
    /// `create` over an expired record inserts.
    CreateOverExpired,
    /// `update` of an absent id is `false` and creates nothing.
    UpdateAbsent,
    /// `update` of a live record replaces it.
    UpdatePresent,
    /// `delete` removes, and is idempotent.
    DeleteIdempotent,
    /// After `delete`, `update` is `false` and does not resurrect the session.
    DeleteThenUpdate,
    /// An expired record reads as absent before any sweep.
    ExpiredReadsAbsent,
    /// `update` and `change_id` of an expired record are `false` and do not revive it.
    UpdateExpired,
    /// `delete_expired` removes exactly the expired records and returns their number.
    DeleteExpired,
    /// `change_id` moves the record and kills the old id.
    ChangeId,
    /// `change_id` refuses when the old record is gone or the new id is taken.
    ChangeIdRefusals,
    /// Many tasks racing to `create` one id: exactly one wins, and its record is stored.
    ConcurrentCreate,
    /// Many tasks updating one id while one deletes it: the delete wins, and no update that
    /// starts after it succeeds.
    ConcurrentDeleteWins,
    /// Many tasks racing `change_id` from one id to different new ids: exactly one wins.
    ConcurrentChangeId,
    /// Many tasks creating, updating, loading and deleting shared and private ids: no lost
    /// record, every load returns a whole record that some writer wrote.
    ConcurrentMixed,
    /// `stats`, if the storage supports it, counts exactly the live and the expired records
    /// at the `now` it is given, and changes nothing.
    Stats,
    /// `delete_expired_batch`, called until it says it is finished (with a small `limit`),
    /// removes exactly the expired records, as `delete_expired` does.
    DeleteExpiredBatch,
    /// Records of two namespaces never meet: one id stored in one namespace is absent in
    /// another (`load`, `update`, `delete` and `change_id` there neither see nor touch it),
    /// and the same id can hold one record in each.
    Namespaces,
    /// Data that is not text (every byte value, invalid UTF-8) round-trips.
    BinaryPayload,
    /// A record's revision and metadata (principal, last seen, end of lifetime, version,
    /// device, address) come back exactly as written, through create, update and change_id.
    Metadata,
    /// `update_if` writes only over the revision it expects (`Conflict` otherwise), never over
    /// a deleted, expired or unknown record (`Gone`); a storage without conditional updates
    /// says so and refuses with `Unsupported`.
    ConditionalUpdate,
    /// Many tasks add one item each to one record with read, modify and `update_if`, retrying
    /// on conflicts: every item is there at the end.
    ConcurrentConditionalUpdates,
    /// The principal index follows create, update, change_id (a login moves an anonymous
    /// session under a principal), delete and expiry, per namespace and per principal; a
    /// storage without the index says so and refuses its operations with `Unsupported`.
    PrincipalIndex,
    /// `delete_of` ends only the principal's own session (a handle of another principal's
    /// session ends nothing); `delete_all_of` ends all, or all but one.
    PrincipalEnds,
    /// Hundreds of concurrent logins, logouts and ends through the index of one principal
    /// leave the index listing exactly the live sessions.
    ConcurrentPrincipal,
}

impl Case {
    /// Every case, in the order [`Suite::run`] runs them.
    pub const ALL: &'static [Case] = &[
        Case::LoadUnknown,
        Case::CreateThenLoad,
        Case::EmptyPayload,
        Case::CreateCollision,
        Case::CreateOverExpired,
        Case::UpdateAbsent,
        Case::UpdatePresent,
        Case::DeleteIdempotent,
        Case::DeleteThenUpdate,
        Case::ExpiredReadsAbsent,
        Case::UpdateExpired,
        Case::DeleteExpired,
        Case::ChangeId,
        Case::ChangeIdRefusals,
        Case::ConcurrentCreate,
        Case::ConcurrentDeleteWins,
        Case::ConcurrentChangeId,
        Case::ConcurrentMixed,
        Case::Stats,
        Case::DeleteExpiredBatch,
        Case::Namespaces,
        Case::BinaryPayload,
        Case::Metadata,
        Case::ConditionalUpdate,
        Case::ConcurrentConditionalUpdates,
        Case::PrincipalIndex,
        Case::PrincipalEnds,
        Case::ConcurrentPrincipal,
    ];

    /// The cases that need a record's revision and metadata stored (the Ktor-compatible
    /// directory layout keeps only the data, as Ktor does).
    pub const RECORD_METADATA: &'static [Case] = &[Case::Metadata];

    /// The cases that need records filed under their namespace (the Ktor-compatible
    /// directory layout files them under the raw id, as Ktor does).
    pub const NAMESPACED: &'static [Case] = &[Case::Namespaces];

    /// The cases whose expectations depend on the expiry a record carries (for storages
    /// that cannot keep a per-record expiry, such as the Ktor-compatible directory layout).
    pub const RECORD_EXPIRY: &'static [Case] = &[
        Case::CreateOverExpired,
        Case::ExpiredReadsAbsent,
        Case::UpdateExpired,
        Case::DeleteExpired,
        Case::Stats,
        Case::DeleteExpiredBatch,
    ];

    /// A short stable name.
    pub fn name(self) -> &'static str {
        match self {
            Case::LoadUnknown => "load_unknown",
            Case::CreateThenLoad => "create_then_load",
            Case::EmptyPayload => "empty_payload",
            Case::CreateCollision => "create_collision",
            Case::CreateOverExpired => "create_over_expired",
            Case::UpdateAbsent => "update_absent",
            Case::UpdatePresent => "update_present",
            Case::DeleteIdempotent => "delete_idempotent",
            Case::DeleteThenUpdate => "delete_then_update",
            Case::ExpiredReadsAbsent => "expired_reads_absent",
            Case::UpdateExpired => "update_expired",
            Case::DeleteExpired => "delete_expired",
            Case::ChangeId => "change_id",
            Case::ChangeIdRefusals => "change_id_refusals",
            Case::ConcurrentCreate => "concurrent_create",
            Case::ConcurrentDeleteWins => "concurrent_delete_wins",
            Case::ConcurrentChangeId => "concurrent_change_id",
            Case::ConcurrentMixed => "concurrent_mixed",
            Case::Stats => "stats",
            Case::DeleteExpiredBatch => "delete_expired_batch",
            Case::Namespaces => "namespaces",
            Case::BinaryPayload => "binary_payload",
            Case::Metadata => "metadata",
            Case::ConditionalUpdate => "conditional_update",
            Case::ConcurrentConditionalUpdates => "concurrent_conditional_updates",
            Case::PrincipalIndex => "principal_index",
            Case::PrincipalEnds => "principal_ends",
            Case::ConcurrentPrincipal => "concurrent_principal",
        }
    }
}

/// Runs every case of the contract against storages made by `factory` (one fresh storage per
/// case), and panics on the first failure. See the [module documentation](self).
pub async fn run<F, Fut, S>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: SessionStorage,
{
    Suite::new(factory).run().await;
}

/// A configurable run of the contract.
///
/// ```
/// # tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap().block_on(async {
/// use typed_sessions::storage::{MemoryStorage, contract::{Case, Suite}};
///
/// Suite::new(|| async { MemoryStorage::new() })
///     .only(&[Case::CreateCollision, Case::ConcurrentCreate])
///     .tasks(16)
///     .run()
///     .await;
/// # });
/// ```
#[derive(Debug)]
#[must_use = "a suite does nothing until `run` is awaited"]
pub struct Suite<F> {
    factory: F,
    cases: Vec<Case>,
    exact_times: bool,
    tasks: usize,
    ops_per_task: usize,
}

impl<F, Fut, S> Suite<F>
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: SessionStorage,
{
    /// Every case, exact times, 64 concurrent tasks of 40 operations each.
    pub fn new(factory: F) -> Self {
        Suite {
            factory,
            cases: Case::ALL.to_vec(),
            exact_times: true,
            tasks: 64,
            ops_per_task: 40,
        }
    }

    /// Leaves `cases` out.
    pub fn skip(mut self, cases: &[Case]) -> Self {
        self.cases.retain(|c| !cases.contains(c));
        self
    }

    /// Runs only `cases`.
    pub fn only(mut self, cases: &[Case]) -> Self {
        self.cases = cases.to_vec();
        self
    }

    /// Whether a loaded record must carry exactly the `created_at` and `expires_at` it was
    /// written with (default), or only the same data (for storages that derive times from
    /// elsewhere, such as a file's modification time).
    pub fn exact_times(mut self, exact: bool) -> Self {
        self.exact_times = exact;
        self
    }

    /// How many tasks the concurrency cases run at once (default 64, at least 2).
    pub fn tasks(mut self, tasks: usize) -> Self {
        self.tasks = tasks.max(2);
        self
    }

    /// How many operations each task of [`Case::ConcurrentMixed`] performs (default 40).
    pub fn ops_per_task(mut self, ops: usize) -> Self {
        self.ops_per_task = ops.max(1);
        self
    }

    /// Runs the selected cases in order, each on a fresh storage; panics on the first failure.
    pub async fn run(self) {
        for case in &self.cases {
            let storage: Arc<dyn SessionStorage> = Arc::new((self.factory)().await);
            let ctx = Ctx {
                case: *case,
                base: base_time(),
                exact_times: self.exact_times,
                tasks: self.tasks,
                ops_per_task: self.ops_per_task,
            };
            tracing::debug!(case = case.name(), "storage contract");
            match case {
                Case::ConcurrentCreate
                | Case::ConcurrentDeleteWins
                | Case::ConcurrentChangeId
                | Case::ConcurrentMixed => concurrent::run(&ctx, storage).await,
                Case::BinaryPayload
                | Case::Metadata
                | Case::ConditionalUpdate
                | Case::ConcurrentConditionalUpdates => records::run(&ctx, storage).await,
                Case::PrincipalIndex | Case::PrincipalEnds | Case::ConcurrentPrincipal => {
                    principals::run(&ctx, storage).await
                }
                _ => cases::run(&ctx, &*storage).await,
            }
        }
    }
}

/// What a case needs besides its storage.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    pub(crate) case: Case,
    /// "Now" at the start of the case: the real time, in whole seconds.
    pub(crate) base: SystemTime,
    pub(crate) exact_times: bool,
    pub(crate) tasks: usize,
    pub(crate) ops_per_task: usize,
}

/// The namespace the cases file their records under (besides [`Case::Namespaces`]'s second
/// one).
static CONTRACT: LazyLock<Namespace> = LazyLock::new(|| Namespace::new("contract"));

/// `id` in the contract's namespace.
fn key(id: &SessionId) -> SessionKey<'_> {
    CONTRACT.key(id)
}

/// A new id for a session of `principal` in `namespace`, made as the sessions layer makes it:
/// starting with the prefix the storage asks for
/// ([`principal_id_prefix`](SessionStorage::principal_id_prefix)), if any.
fn principal_id(s: &dyn SessionStorage, namespace: &Namespace, principal: &str) -> SessionId {
    let id = SessionId::generate();
    let Some(prefix) = s.principal_id_prefix(namespace, principal) else {
        return id;
    };
    let text = format!("{prefix}{}", id.as_str().get(prefix.len()..).unwrap_or(""));
    match SessionId::parse(&text).or_else(|| SessionId::parse_custom(&text)) {
        Some(prefixed) => prefixed,
        None => panic!("storage contract: the storage's id prefix {prefix:?} makes no valid id"),
    }
}

const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);

fn base_time() -> SystemTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs(secs)
}

impl Ctx {
    /// `base + secs`.
    pub(crate) fn at(&self, secs: u64) -> SystemTime {
        self.base + SECOND * u32::try_from(secs).unwrap_or(u32::MAX)
    }

    /// A record created at `base` that expires `lifetime` later, with a revision derived from
    /// its content (so the same call made again describes the same record).
    pub(crate) fn record(&self, data: &str, lifetime: Duration) -> Record {
        deterministic(Record::new(data, self.base, self.base + lifetime))
    }

    /// A record valid for an hour.
    pub(crate) fn live(&self, data: &str) -> Record {
        self.record(data, HOUR)
    }

    /// A record of bytes valid for an hour.
    pub(crate) fn live_bytes(&self, data: Vec<u8>) -> Record {
        deterministic(Record::new(data, self.base, self.base + HOUR))
    }

    /// Unwraps a storage result, failing the case on an error.
    #[track_caller]
    pub(crate) fn ok<T>(&self, what: &str, result: Result<T, StorageError>) -> T {
        match result {
            Ok(value) => value,
            Err(error) => self.fail(&format!("{what} failed: {error}")),
        }
    }

    #[track_caller]
    pub(crate) fn fail(&self, message: &str) -> ! {
        panic!("storage contract, case `{}`: {message}", self.case.name())
    }

    #[track_caller]
    pub(crate) fn check(&self, condition: bool, message: &str) {
        if !condition {
            self.fail(message);
        }
    }

    /// Whether `got` is `want` (with or without the times, per the suite's setting).
    pub(crate) fn matches(&self, got: &Record, want: &Record) -> bool {
        if self.exact_times {
            got == want
        } else {
            got.data == want.data
        }
    }

    /// Fails unless `got` is `want`.
    #[track_caller]
    pub(crate) fn expect(&self, what: &str, got: Option<Record>, want: Option<&Record>) {
        let same = match (&got, want) {
            (None, None) => true,
            (Some(got), Some(want)) => self.matches(got, want),
            _ => false,
        };
        if !same {
            self.fail(&format!(
                "{what}: expected {}, got {}",
                describe(want),
                describe(got.as_ref())
            ));
        }
    }
}

/// `record` with a revision that is a hash of its data and times: records made alike are
/// equal, records with different data differ.
pub(crate) fn deterministic(record: Record) -> Record {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    record.data.hash(&mut hasher);
    record.created_at.hash(&mut hasher);
    record.expires_at.hash(&mut hasher);
    let revision = super::Revision::from_u64(hasher.finish());
    record.with_revision(revision)
}

/// A record for failure messages: its size and a prefix of the data, and its times.
fn describe(record: Option<&Record>) -> String {
    match record {
        None => "no record".into(),
        Some(r) => {
            let prefix: String = String::from_utf8_lossy(&r.data).chars().take(40).collect();
            format!(
                "a record of {} bytes starting {prefix:?}, created {:?}, expiring {:?}, {:?}, {:?} (principal {:?})",
                r.data.len(),
                r.created_at,
                r.expires_at,
                r.revision,
                r.meta,
                r.meta.principal,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    //! The suite must fail storages that break the contract, each in the case that names the
    //! broken rule.

    use crate::storage::SessionKey;
    use std::time::SystemTime;

    use async_trait::async_trait;

    use super::*;
    use crate::storage::{Created, MemoryStorage};

    #[derive(Debug, Clone, Copy)]
    enum Flaw {
        CreateOverwrites,
        UpdateUpserts,
        LoadIgnoresExpiry,
        UpdateIgnoresExpiry,
        DeleteExpiredMiscounts,
        ChangeIdKeepsOld,
        StatsCountsExpiredAsLive,
        BatchStopsEarly,
    }

    #[derive(Debug)]
    struct Broken {
        inner: MemoryStorage,
        flaw: Flaw,
    }

    /// Long ago, when nothing had expired yet: what the flawed operations use instead of
    /// `now`.
    fn never() -> SystemTime {
        UNIX_EPOCH
    }

    #[async_trait]
    impl SessionStorage for Broken {
        async fn load(
            &self,
            key: SessionKey<'_>,
            now: SystemTime,
        ) -> Result<Option<Record>, StorageError> {
            match self.flaw {
                Flaw::LoadIgnoresExpiry => self.inner.load(key, never()).await,
                _ => self.inner.load(key, now).await,
            }
        }
        async fn create(
            &self,
            key: SessionKey<'_>,
            record: &Record,
            now: SystemTime,
        ) -> Result<Created, StorageError> {
            if let Flaw::CreateOverwrites = self.flaw {
                self.inner.delete(key).await?;
            }
            self.inner.create(key, record, now).await
        }
        async fn update(
            &self,
            key: SessionKey<'_>,
            record: &Record,
            now: SystemTime,
        ) -> Result<bool, StorageError> {
            match self.flaw {
                Flaw::UpdateUpserts => {
                    self.inner.delete(key).await?;
                    self.inner.create(key, record, now).await?;
                    Ok(true)
                }
                Flaw::UpdateIgnoresExpiry => self.inner.update(key, record, never()).await,
                _ => self.inner.update(key, record, now).await,
            }
        }
        async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
            self.inner.delete(key).await
        }
        async fn change_id(
            &self,
            old: SessionKey<'_>,
            new: SessionKey<'_>,
            record: &Record,
            now: SystemTime,
        ) -> Result<bool, StorageError> {
            if let Flaw::ChangeIdKeepsOld = self.flaw {
                let created = self.inner.create(new, record, now).await?;
                return Ok(created == Created::Inserted);
            }
            self.inner.change_id(old, new, record, now).await
        }
        async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
            let removed = self.inner.delete_expired(now).await?;
            match self.flaw {
                Flaw::DeleteExpiredMiscounts => Ok(removed + 1),
                _ => Ok(removed),
            }
        }
        async fn delete_expired_batch(
            &self,
            now: SystemTime,
            from: Option<crate::storage::PurgeCursor>,
            limit: u64,
        ) -> Result<crate::storage::PurgeBatch, StorageError> {
            match self.flaw {
                Flaw::BatchStopsEarly => Ok(crate::storage::PurgeBatch::finished(0)),
                _ => self.inner.delete_expired_batch(now, from, limit).await,
            }
        }
        async fn stats(
            &self,
            now: SystemTime,
        ) -> Result<Option<crate::storage::StorageStats>, StorageError> {
            let stats = self.inner.stats(now).await?;
            Ok(match (self.flaw, stats) {
                (Flaw::StatsCountsExpiredAsLive, Some(s)) => {
                    Some(crate::storage::StorageStats::new(s.live + s.expired, 0))
                }
                (_, stats) => stats,
            })
        }
    }

    async fn run_broken(flaw: Flaw, cases: &[Case]) {
        Suite::new(|| async move {
            Broken {
                inner: MemoryStorage::new(),
                flaw,
            }
        })
        .only(cases)
        .tasks(16)
        .run()
        .await;
    }

    #[tokio::test]
    #[should_panic(expected = "case `create_collision`")]
    async fn catches_a_create_that_overwrites() {
        run_broken(Flaw::CreateOverwrites, &[Case::CreateCollision]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[should_panic(expected = "case `concurrent_create`")]
    async fn catches_a_create_that_overwrites_under_concurrency() {
        run_broken(Flaw::CreateOverwrites, &[Case::ConcurrentCreate]).await;
    }

    #[tokio::test]
    #[should_panic(expected = "case `delete_then_update`")]
    async fn catches_an_update_that_resurrects() {
        run_broken(Flaw::UpdateUpserts, &[Case::DeleteThenUpdate]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[should_panic(expected = "case `concurrent_delete_wins`")]
    async fn catches_an_update_that_resurrects_under_concurrency() {
        run_broken(Flaw::UpdateUpserts, &[Case::ConcurrentDeleteWins]).await;
    }

    #[tokio::test]
    #[should_panic(expected = "case `expired_reads_absent`")]
    async fn catches_a_load_that_ignores_expiry() {
        run_broken(Flaw::LoadIgnoresExpiry, &[Case::ExpiredReadsAbsent]).await;
    }

    #[tokio::test]
    #[should_panic(expected = "case `update_expired`")]
    async fn catches_an_update_that_revives_an_expired_record() {
        run_broken(Flaw::UpdateIgnoresExpiry, &[Case::UpdateExpired]).await;
    }

    #[tokio::test]
    #[should_panic(expected = "case `delete_expired`")]
    async fn catches_a_wrong_sweep_count() {
        run_broken(Flaw::DeleteExpiredMiscounts, &[Case::DeleteExpired]).await;
    }

    #[tokio::test]
    #[should_panic(expected = "case `change_id`")]
    async fn catches_a_change_id_that_keeps_the_old_id() {
        run_broken(Flaw::ChangeIdKeepsOld, &[Case::ChangeId]).await;
    }

    #[tokio::test]
    #[should_panic(expected = "case `stats`")]
    async fn catches_stats_that_miscount() {
        run_broken(Flaw::StatsCountsExpiredAsLive, &[Case::Stats]).await;
    }

    #[tokio::test]
    #[should_panic(expected = "case `delete_expired_batch`")]
    async fn catches_a_batched_purge_that_stops_early() {
        run_broken(Flaw::BatchStopsEarly, &[Case::DeleteExpiredBatch]).await;
    }

    #[tokio::test]
    async fn a_correct_storage_passes_with_every_flaw_switched_off() {
        Suite::new(|| async { MemoryStorage::new() })
            .tasks(8)
            .run()
            .await;
    }
}
