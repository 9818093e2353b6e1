//! Concurrency (issue 8), for every storage: hundreds of clients over loopback keep their own
//! sessions; a logout racing slow requests of the same session is never undone; two requests
//! updating one session follow the documented rule, last writer wins (whole records). The
//! storages wait as long as it takes ([`PATIENT`](crate::support::PATIENT)): these tests are
//! about sessions never being lost or mixed up, not about latency.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use tokio::sync::{Barrier, Notify};
use typed_sessions::storage::{CacheStorage, DirectoryStorage, MemoryStorage, SessionStorage};
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use crate::common::{cookie_client, serve};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Counter {
    client: String,
    n: u64,
}

/// Pauses one request between its read and its write, so a test can interleave others.
#[derive(Clone, Default)]
struct Gate {
    read: Arc<Notify>,
    go: Arc<Notify>,
}

/// One gate per value a slow request writes, so each paused request is released on its own.
#[derive(Clone, Default)]
struct Gates(Arc<std::collections::HashMap<u64, Gate>>);

impl Gates {
    fn new(values: &[u64]) -> Gates {
        Gates(Arc::new(
            values.iter().map(|v| (*v, Gate::default())).collect(),
        ))
    }

    fn of(&self, value: u64) -> &Gate {
        &self.0[&value]
    }
}

fn app(storage: Arc<dyn SessionStorage>, gates: Gates) -> Router {
    let layer = SessionsConfig::new()
        .cookie_with_storage::<Counter, _>("s", storage, |c| {
            c.secure(false)
                .storage_timeout(crate::support::PATIENT + Duration::from_secs(5))
        })
        .build()
        .unwrap();
    Router::new()
        .route(
            "/login/{client}",
            get(|s: Sessions, Path(client): Path<String>| async move {
                s.set(Counter { client, n: 0 })?;
                Ok::<_, SessionError>("in")
            }),
        )
        .route(
            "/count",
            get(|s: Sessions| async move {
                let Some(mut c) = s.get::<Counter>().await? else {
                    return Ok::<_, SessionError>("none".to_owned());
                };
                c.n += 1;
                s.set(c.clone())?;
                Ok(format!("{}:{}", c.client, c.n))
            }),
        )
        .route(
            "/show",
            get(|s: Sessions| async move {
                Ok::<_, SessionError>(match s.get::<Counter>().await? {
                    Some(c) => format!("{}:{}", c.client, c.n),
                    None => "none".to_owned(),
                })
            }),
        )
        .route(
            "/logout",
            get(|s: Sessions| async move {
                s.clear::<Counter>()?;
                Ok::<_, SessionError>("out")
            }),
        )
        // Reads, waits for the test, then writes `n = value`.
        .route(
            "/slow/{value}",
            get(
                |s: Sessions, State(gates): State<Gates>, Path(value): Path<u64>| async move {
                    let mut c = s.get::<Counter>().await?.unwrap();
                    let gate = gates.of(value);
                    gate.read.notify_one();
                    gate.go.notified().await;
                    c.n = value;
                    s.set(c)?;
                    Ok::<_, SessionError>("slow done")
                },
            ),
        )
        .with_state(gates)
        .layer(layer)
}

/// 200 clients, each with its own cookie jar, log in and count concurrently; every answer must
/// be the client's own session with the next number.
pub async fn hundreds_of_clients(storage: Arc<dyn SessionStorage>, rounds: u64) {
    const CLIENTS: usize = 200;
    let addr = serve(app(storage, Gates::default())).await;
    let start = Arc::new(Barrier::new(CLIENTS));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let start = start.clone();
            tokio::spawn(async move {
                let client = cookie_client();
                let url = |path: &str| format!("http://{addr}{path}");
                let name = format!("client{i}");
                start.wait().await;
                let login = client
                    .get(url(&format!("/login/{name}")))
                    .send()
                    .await
                    .unwrap();
                let status = login.status();
                assert_eq!(login.text().await.unwrap(), "in", "login answered {status}");
                for n in 1..=rounds {
                    let answer = client.get(url("/count")).send().await.unwrap();
                    assert_eq!(answer.status(), 200);
                    assert_eq!(
                        answer.text().await.unwrap(),
                        format!("{name}:{n}"),
                        "lost or mixed up"
                    );
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

/// A request that read the session before a logout cannot write it back; nor can one that
/// starts after the logout.
pub async fn logout_racing_slow_requests(storage: Arc<dyn SessionStorage>) {
    let gates = Gates::new(&[99]);
    let gate = gates.of(99).clone();
    let addr = serve(app(storage, gates)).await;
    let client = cookie_client();
    let url = |path: &str| format!("http://{addr}{path}");
    client.get(url("/login/racer")).send().await.unwrap();
    let slow = tokio::spawn({
        let (client, url) = (client.clone(), url("/slow/99"));
        async move { client.get(url).send().await.unwrap() }
    });
    gate.read.notified().await;
    assert_eq!(
        client
            .get(url("/logout"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "out"
    );
    gate.go.notify_one();
    let slow = slow.await.unwrap();
    let removal = slow
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(
        removal.is_some_and(|c| c.contains("Max-Age=0")),
        "the slow response clears"
    );
    assert_eq!(slow.text().await.unwrap(), "slow done");
    assert_eq!(
        client
            .get(url("/show"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "none"
    );
}

/// Two requests read one session, then write different values: the later write wins, whole.
pub async fn last_writer_wins(storage: Arc<dyn SessionStorage>) {
    let gates = Gates::new(&[1, 2]);
    let (first_gate, second_gate) = (gates.of(1).clone(), gates.of(2).clone());
    let addr = serve(app(storage, gates)).await;
    let client = cookie_client();
    let url = |path: &str| format!("http://{addr}{path}");
    client.get(url("/login/writer")).send().await.unwrap();
    let first = tokio::spawn({
        let (client, url) = (client.clone(), url("/slow/1"));
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    });
    first_gate.read.notified().await;
    let second = tokio::spawn({
        let (client, url) = (client.clone(), url("/slow/2"));
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    });
    second_gate.read.notified().await;
    first_gate.go.notify_one();
    assert_eq!(first.await.unwrap(), "slow done");
    assert_eq!(
        client
            .get(url("/show"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "writer:1"
    );
    second_gate.go.notify_one();
    assert_eq!(second.await.unwrap(), "slow done");
    assert_eq!(
        client
            .get(url("/show"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "writer:2"
    );
}

macro_rules! concurrency_tests {
    ($module:ident, $rounds:expr, $storage:expr) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn hundreds_of_clients_keep_their_own_sessions() {
                let Some(storage) = $storage else { return };
                super::hundreds_of_clients(storage, $rounds).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_logout_racing_slow_requests_is_never_undone() {
                let Some(storage) = $storage else { return };
                super::logout_racing_slow_requests(storage).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_last_writer_wins() {
                let Some(storage) = $storage else { return };
                super::last_writer_wins(storage).await;
            }
        }
    };
}

fn shared<S: SessionStorage>(storage: S) -> Option<Arc<dyn SessionStorage>> {
    Some(Arc::new(storage))
}

fn directory() -> DirectoryStorage {
    let dir = tempfile::tempdir().unwrap().keep();
    DirectoryStorage::open(dir).unwrap()
}

concurrency_tests!(memory, 10, shared(MemoryStorage::new()));
concurrency_tests!(directory, 3, shared(directory()));
concurrency_tests!(cached_directory, 3, shared(CacheStorage::new(directory())));
#[cfg(feature = "redis")]
concurrency_tests!(
    redis,
    5,
    crate::distributed::redis::patient("concurrency")
        .await
        .map(|s| Arc::new(s) as Arc<dyn SessionStorage>)
);
#[cfg(feature = "redis")]
concurrency_tests!(
    redis_cluster,
    5,
    crate::distributed::redis_cluster::patient("concurrency")
        .await
        .map(|s| Arc::new(s) as Arc<dyn SessionStorage>)
);
#[cfg(feature = "postgres")]
concurrency_tests!(
    postgres,
    5,
    crate::distributed::postgres::patient("concurrency")
        .await
        .map(|s| Arc::new(s) as Arc<dyn SessionStorage>)
);
#[cfg(feature = "sqlite")]
concurrency_tests!(
    sqlite,
    3,
    crate::distributed::sqlite::patient("concurrency")
        .await
        .map(|s| Arc::new(s) as Arc<dyn SessionStorage>)
);
