//! What the PostgreSQL and SQLite tests share: the version 1 schema, as the previous release
//! created it (to test the migration), the checks of a migrated table, and a workload of
//! concurrent logins and logouts through two storages on one database.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use typed_sessions::storage::{
    Created, Namespace, Record, SessionHandle, SessionId, SessionStorage, Updated,
};

use crate::common::session_key;

/// The statements with which the previous release (schema version 1) created its table, with
/// the SQLite table option when `sqlite`.
pub fn v1_schema(table: &str, sqlite: bool) -> Vec<String> {
    let options = if sqlite { " WITHOUT ROWID" } else { "" };
    vec![
        "CREATE TABLE IF NOT EXISTS typed_sessions_schema (table_name TEXT PRIMARY KEY, version BIGINT NOT NULL)".to_owned(),
        format!(
            r#"CREATE TABLE IF NOT EXISTS "{table}" (id TEXT PRIMARY KEY, data TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL){options}"#
        ),
        format!(r#"CREATE INDEX IF NOT EXISTS "{table}_expires_at" ON "{table}" (expires_at)"#),
        format!("INSERT INTO typed_sessions_schema (table_name, version) VALUES ('{table}', 1)"),
    ]
}

/// The previous release's insert: `$1` key, `$2` data (text), `$3` created, `$4` expires
/// (milliseconds).
pub fn v1_insert(table: &str) -> String {
    format!(r#"INSERT INTO "{table}" (id, data, created_at, expires_at) VALUES ($1, $2, $3, $4)"#)
}

/// The query `raw` of [`concurrent_logins`] runs: the keys of the rows of `ada` live at `$1`.
pub fn live_rows_of_ada(table: &str) -> String {
    format!("SELECT id FROM {table} WHERE principal = 'ada' AND expires_at > $1")
}

/// One session the previous release stored.
#[derive(Debug, Clone)]
pub struct V1Row {
    pub id: SessionId,
    pub data: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}

impl V1Row {
    pub fn key(&self) -> String {
        session_key(&self.id).storage_key()
    }
}

fn millis(time: SystemTime) -> i64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .try_into()
        .unwrap()
}

fn time(ms: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms.try_into().unwrap())
}

/// Sessions as the previous release stored them at `now`: JSON with unicode, quotes and
/// backslashes (which a careless text-to-bytes conversion would mangle), an empty one, a large
/// one, and one that has expired.
pub fn v1_rows(now: SystemTime) -> Vec<V1Row> {
    let now_ms = millis(now);
    let row = |data: String, created: i64, expires: i64| V1Row {
        id: SessionId::generate(),
        data,
        created_ms: created,
        expires_ms: expires,
    };
    vec![
        row(
            r#"{"userId":"ädä ✓ 😀","cart":["a\"b","c\\d","\\x41"]}"#.to_owned(),
            now_ms - 1_000,
            now_ms + 3_600_000,
        ),
        row(String::new(), now_ms, now_ms + 60_000),
        row(
            format!("{{\"blob\":\"{}\"}}", "x".repeat(70_000)),
            now_ms,
            now_ms + 600_000,
        ),
        row(
            r#"{"old":true}"#.to_owned(),
            now_ms - 7_200_000,
            now_ms - 3_600_000,
        ),
    ]
}

/// Checks a storage opened over a table of the previous release holding `rows`: every live
/// row loads with its data as bytes, its times, a revision, and the metadata a record of the
/// previous release implies (last seen at creation, lifetime ending at its expiry); the
/// expired one reads as absent; conditional updates and the principal index work on them.
pub async fn check_migrated(storage: &dyn SessionStorage, rows: &[V1Row], now: SystemTime) {
    for row in rows {
        let loaded = storage.load(session_key(&row.id), now).await.unwrap();
        if row.expires_ms <= millis(now) {
            assert_eq!(loaded, None, "an expired row of the previous release");
            continue;
        }
        let record = loaded.expect("a live row of the previous release loads");
        assert_eq!(record.data, row.data.as_bytes(), "the data, as bytes");
        assert_eq!(record.created_at, time(row.created_ms));
        assert_eq!(record.expires_at, time(row.expires_ms));
        assert_eq!(record.meta.last_seen, time(row.created_ms));
        assert_eq!(record.meta.lifetime_ends_at, time(row.expires_ms));
        assert_eq!(record.meta.principal, None);
        assert_eq!(
            (record.meta.version, record.meta.device.as_deref()),
            (None, None)
        );
        // The revision it was given takes part in conditional updates like any other.
        let next = Record::new("{\"v\":2}", record.created_at, record.expires_at);
        let stale = Record::new("{\"v\":3}", record.created_at, record.expires_at);
        let key = session_key(&row.id);
        assert_eq!(
            storage
                .update_if(key, &next, record.revision, now)
                .await
                .unwrap(),
            Updated::Written
        );
        assert_eq!(
            storage
                .update_if(key, &stale, record.revision, now)
                .await
                .unwrap(),
            Updated::Conflict
        );
        assert_eq!(storage.load(key, now).await.unwrap(), Some(next));
    }
    // A migrated session logs in: it moves under a principal and is listed.
    let first = rows.first().expect("rows");
    let login = SessionId::generate();
    let record = Record::new("{}", now, now + Duration::from_secs(3600)).with_principal("ada");
    assert!(
        storage
            .change_id(session_key(&first.id), session_key(&login), &record, now)
            .await
            .unwrap()
    );
    let listed = storage
        .sessions_of(&Namespace::new("s"), "ada", now)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].handle, SessionHandle::of(session_key(&login)));
}

/// Rounds of racing logins and logouts of one user through two storages on one database (as
/// two application instances): each round creates an anonymous session, two instances log it
/// in at once (two regenerations to different ids: exactly one may win), and meanwhile the
/// other instance ends one of the user's earlier sessions through the index, or all but the
/// newest. Afterwards the index, the rows (`raw`: the keys of the user's rows live at the
/// given milliseconds, read with plain SQL) and the loaded sessions agree.
pub async fn concurrent_logins<F, Fut>(
    a: Arc<dyn SessionStorage>,
    b: Arc<dyn SessionStorage>,
    rounds: usize,
    raw: F,
) where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = BTreeSet<String>>,
{
    let ns = Namespace::new("s");
    let now = SystemTime::now();
    let record = |data: &str| Record::new(data, now, now + Duration::from_secs(3600));
    let mut issued: Vec<SessionId> = Vec::new();
    for round in 0..rounds {
        let anonymous = SessionId::generate();
        assert_eq!(
            a.create(session_key(&anonymous), &record("{}"), now)
                .await
                .unwrap(),
            Created::Inserted
        );
        let (to_a, to_b) = (SessionId::generate(), SessionId::generate());
        let end = issued
            .get(round / 2)
            .map(|id| SessionHandle::of(session_key(id)));
        let keep = issued.last().map(|id| SessionHandle::of(session_key(id)));
        let (s1, s2, s3) = (Arc::clone(&a), Arc::clone(&b), Arc::clone(&b));
        let (anon1, anon2) = (anonymous.clone(), anonymous.clone());
        let (n1, n2, ns3) = (to_a.clone(), to_b.clone(), ns.clone());
        let (r1, r2) = (
            record("a").with_principal("ada"),
            record("b").with_principal("ada"),
        );
        let login_a = tokio::spawn(async move {
            s1.change_id(session_key(&anon1), session_key(&n1), &r1, now)
                .await
                .unwrap()
        });
        let login_b = tokio::spawn(async move {
            s2.change_id(session_key(&anon2), session_key(&n2), &r2, now)
                .await
                .unwrap()
        });
        let logout = tokio::spawn(async move {
            if round % 5 == 4 {
                s3.delete_all_of(&ns3, "ada", keep.as_ref()).await.unwrap();
            } else if let Some(end) = end {
                s3.delete_of(&ns3, "ada", &end).await.unwrap();
            }
        });
        let (won_a, won_b) = (login_a.await.unwrap(), login_b.await.unwrap());
        logout.await.unwrap();
        assert!(
            won_a != won_b,
            "round {round}: exactly one login wins ({won_a}, {won_b})"
        );
        issued.push(if won_a { to_a } else { to_b });
        assert_eq!(a.load(session_key(&anonymous), now).await.unwrap(), None);
    }
    let mut live = BTreeSet::new();
    for id in &issued {
        if let Some(found) = a.load(session_key(id), now).await.unwrap() {
            assert_eq!(found.meta.principal.as_deref(), Some("ada"));
            live.insert(session_key(id).storage_key());
        }
    }
    assert!(
        !live.is_empty() && live.len() < issued.len(),
        "{} of {}",
        live.len(),
        issued.len()
    );
    for storage in [&a, &b] {
        let listed: BTreeSet<String> = storage
            .sessions_of(&ns, "ada", now)
            .await
            .unwrap()
            .iter()
            .map(|s| s.handle.storage_key())
            .collect();
        assert_eq!(listed, live, "the index lists exactly the live sessions");
    }
    assert_eq!(
        raw(millis(now)).await,
        live,
        "the rows hold exactly the listed sessions"
    );
}

/// An update whose record names another principal (or none) neither moves the session in the
/// index nor drops it from it: the session keeps the principal it was stored with, as
/// `SessionStorage::update` promises.
pub async fn updates_keep_the_principal(storage: &dyn SessionStorage) {
    let ns = Namespace::new("s");
    let now = SystemTime::now();
    let id = SessionId::generate();
    let record = |data: &str| Record::new(data, now, now + Duration::from_secs(3600));
    let stored = record("{}").with_principal("ada");
    storage
        .create(session_key(&id), &stored, now)
        .await
        .unwrap();
    let handle = SessionHandle::of(session_key(&id));
    assert!(
        storage
            .update(session_key(&id), &record("1"), now)
            .await
            .unwrap()
    );
    let revision = storage
        .load(session_key(&id), now)
        .await
        .unwrap()
        .unwrap()
        .revision;
    let other = record("2").with_principal("bob");
    let outcome = storage
        .update_if(session_key(&id), &other, revision, now)
        .await
        .unwrap();
    assert_eq!(outcome, Updated::Written);
    let loaded = storage.load(session_key(&id), now).await.unwrap().unwrap();
    assert_eq!(loaded.data, b"2");
    assert_eq!(loaded.meta.principal.as_deref(), Some("ada"));
    let listed = storage.sessions_of(&ns, "ada", now).await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.handle).collect::<Vec<_>>(),
        [handle]
    );
    assert!(
        storage
            .sessions_of(&ns, "bob", now)
            .await
            .unwrap()
            .is_empty()
    );
}
