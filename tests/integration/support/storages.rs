//! Every storage the crate has, fresh and empty, for tests that must hold on all of them:
//! memory, directory, the cache over a directory, and (with their features, unless
//! `TYPED_SESSIONS_SKIP` turns them off) Redis (also with its client-side cache), Redis
//! Cluster, PostgreSQL and SQLite on the real servers the tests start.

use std::sync::Arc;

use typed_sessions::storage::{CacheStorage, DirectoryStorage, MemoryStorage, SessionStorage};

use super::servers;

/// A storage and the name to report it by.
pub struct Named {
    pub name: &'static str,
    pub storage: Arc<dyn SessionStorage>,
}

/// A fresh storage of every kind available to `test`.
pub async fn every(test: &str) -> Vec<Named> {
    let mut all = vec![
        Named {
            name: "memory",
            storage: Arc::new(MemoryStorage::new()),
        },
        Named {
            name: "directory",
            storage: Arc::new(DirectoryStorage::open(servers::temp_dir("dir")).unwrap()),
        },
        Named {
            name: "cache over directory",
            storage: Arc::new(CacheStorage::new(
                DirectoryStorage::open(servers::temp_dir("dir")).unwrap(),
            )),
        },
    ];
    distributed(test, &mut all).await;
    all
}

#[cfg(not(any(feature = "redis", feature = "postgres", feature = "sqlite")))]
async fn distributed(_: &str, _: &mut Vec<Named>) {}

#[cfg(any(feature = "redis", feature = "postgres", feature = "sqlite"))]
async fn distributed(test: &str, all: &mut Vec<Named>) {
    #[cfg(feature = "redis")]
    {
        if let Some(redis) = crate::distributed::redis::fresh(test).await {
            all.push(Named {
                name: "redis",
                storage: Arc::new(redis),
            });
        }
        if let Some(cluster) = crate::distributed::redis_cluster::fresh(test).await {
            all.push(Named {
                name: "redis cluster",
                storage: Arc::new(cluster),
            });
        }
        if let Some(cached) = crate::distributed::redis_cache::fresh(test).await {
            all.push(Named {
                name: "redis with client-side cache",
                storage: Arc::new(cached),
            });
        }
    }
    #[cfg(feature = "postgres")]
    if let Some(postgres) = crate::distributed::postgres::fresh(test).await {
        all.push(Named {
            name: "postgres",
            storage: Arc::new(postgres),
        });
    }
    #[cfg(feature = "sqlite")]
    if let Some(sqlite) = crate::distributed::sqlite::fresh(test).await {
        all.push(Named {
            name: "sqlite",
            storage: Arc::new(sqlite),
        });
    }
}
