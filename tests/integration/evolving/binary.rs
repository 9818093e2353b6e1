//! Binary payloads: a by-id session with a binary serializer is stored as raw bytes (any
//! byte value, no base64) on every storage and read back.

use std::time::SystemTime;

use axum::Router;
use axum::routing::get;
use typed_sessions::serializer::{BinarySerializer, SerializerError};
use typed_sessions::storage::{Namespace, SessionId};
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use crate::common::get as get_path;
use crate::support::storages;

/// Raw bytes: every byte value, including what is not UTF-8.
/// (Registration asks for serde as for every session type; the serializer below never uses it.)
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Blob(Vec<u8>);

/// The bytes as they are, after a one-byte format tag.
struct Raw;

impl BinarySerializer<Blob> for Raw {
    fn serialize(&self, value: &Blob) -> Result<Vec<u8>, SerializerError> {
        let mut out = vec![0xB1];
        out.extend_from_slice(&value.0);
        Ok(out)
    }
    fn deserialize(&self, bytes: &[u8]) -> Result<Blob, SerializerError> {
        match bytes.split_first() {
            Some((0xB1, rest)) => Ok(Blob(rest.to_vec())),
            _ => Err(SerializerError::new("not a blob")),
        }
    }
}

fn blob() -> Blob {
    Blob((0..=255).chain((0..=255).rev()).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_sessions_are_stored_as_bytes_on_every_storage() {
    for named in storages::every("binary_payloads").await {
        let name = named.name;
        let storage = named.storage;
        let layer = SessionsConfig::new()
            .cookie_with_storage::<Blob, _>("blob", storage.clone(), |c| {
                c.secure(false).binary_serializer(Raw)
            })
            .build()
            .unwrap();
        let app = Router::new()
            .route(
                "/put",
                get(|s: Sessions| async move {
                    s.set(blob())?;
                    Ok::<_, SessionError>("put")
                }),
            )
            .route(
                "/check",
                get(|s: Sessions| async move {
                    Ok::<_, SessionError>(match s.get::<Blob>().await? {
                        Some(b) if b == blob() => "same".to_owned(),
                        Some(b) => format!("different: {} bytes", b.0.len()),
                        None => "none".into(),
                    })
                }),
            )
            .route(
                "/id",
                get(|s: Sessions| async move {
                    Ok::<_, SessionError>(s.id::<Blob>().await?.unwrap().as_str().to_owned())
                }),
            )
            .layer(layer);
        let put = get_path(&app, "/put", None).await;
        assert_eq!(put.status, 200, "{name}: {}", put.body);
        let cookie = put.cookie_pair("blob").unwrap();
        assert_eq!(
            get_path(&app, "/check", Some(&cookie)).await.body,
            "same",
            "{name}"
        );
        let id = SessionId::parse(&get_path(&app, "/id", Some(&cookie)).await.body).unwrap();
        let namespace = Namespace::new("blob");
        let record = storage
            .load(namespace.key(&id), SystemTime::now())
            .await
            .unwrap()
            .unwrap();
        let mut expected = vec![0xB1];
        expected.extend(blob().0);
        assert_eq!(
            record.data, expected,
            "{name}: the bytes as the serializer wrote them"
        );
    }
}
