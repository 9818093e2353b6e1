//! Compiling one registration (its draft, kind and codec) into the pipeline the layer runs.

use super::builder::Draft;
use crate::error::ConfigError;
use crate::id::{IdGenerator, Namespace};
use crate::metrics::Metrics;
use crate::pipeline::{Parts, Pipeline};
use crate::serializer::ErasedCodec;
use crate::storage::SessionStorage;
use crate::tracker::by_id::{Lifetime, Principals, StorageCalls};
use crate::tracker::{ById, ByValue, Tracker};
use crate::transport::cookie::CookieTransport;
use crate::transport::header::HeaderTransport;
use crate::transport::{DEFAULT_MAX_AGE, Transport};

/// Compiles one registration into its pipeline; every mistake is a [`ConfigError`].
pub(super) fn compile(
    draft: Draft,
    header: bool,
    type_name: &'static str,
    codec: Box<dyn ErasedCodec>,
    metrics: Metrics,
) -> Result<Pipeline, ConfigError> {
    let name = draft.name;
    let invalid = |reason: &'static str| ConfigError::Invalid {
        name: name.clone(),
        reason: reason.into(),
    };
    let transport = if header {
        Transport::Header(HeaderTransport::new(&name)?)
    } else {
        Transport::Cookie(CookieTransport::new(&name, &draft.cookie)?)
    };
    let cookie_max_age = match &transport {
        Transport::Cookie(c) => c.max_age().filter(|d| !d.is_zero()),
        Transport::Header(_) => None,
    };
    let default_lifetime = cookie_max_age.unwrap_or(DEFAULT_MAX_AGE);
    if draft.storage.is_none() {
        match (draft.chain.is_empty(), draft.unprotected) {
            (true, false) => return Err(ConfigError::Unprotected { name }),
            (false, true) => {
                return Err(invalid(
                    "`unprotected()` and a transformer contradict each other; remove one",
                ));
            }
            _ => {}
        }
    }
    let tracker = match draft.storage {
        None if codec.version().is_some() && draft.chain.is_empty() => {
            return Err(invalid(
                "a versioned by-value session needs a transformer (`Encrypt` or `Sign`): the version travels inside what it authenticates",
            ));
        }
        None => Tracker::ByValue(ByValue {
            ttl: draft.ttl.unwrap_or(Some(default_lifetime)),
            send_only_if_modified: draft.send_only_if_modified,
        }),
        Some(storage) => {
            let lifetime = draft.lifetime.unwrap_or(default_lifetime);
            if lifetime.is_zero() {
                return Err(invalid("the lifetime must be longer than zero"));
            }
            if draft.idle_timeout.is_some_and(|d| d.is_zero()) {
                return Err(invalid("the idle timeout must be longer than zero"));
            }
            if !(0.0..=1.0).contains(&draft.renew_fraction) {
                return Err(invalid("`renew_after` must be between 0.0 and 1.0"));
            }
            if draft.storage_timeout.is_some_and(|d| d.is_zero()) {
                return Err(invalid("the storage timeout must be longer than zero"));
            }
            let wants_index = draft.principal.is_some() || draft.principal_limit.is_some();
            if wants_index && !storage.supports_principals() {
                return Err(invalid(
                    "sessions with a principal need a storage that keeps a principal index (every storage of this crate does, but the Ktor-compatible directory layout)",
                ));
            }
            let devices = draft.devices.unwrap_or(draft.principal.is_some());
            // A storage that bounds its own calls within the timeout is not timed twice.
            let timeout = draft
                .storage_timeout
                .filter(|timeout| storage.call_bound().is_none_or(|bound| bound > *timeout));
            Tracker::ById(ById {
                storage: StorageCalls::new(storage, Namespace::new(&name), timeout, metrics),
                lifetime: Lifetime {
                    lifetime,
                    idle_timeout: draft.idle_timeout,
                    renew_fraction: draft.renew_fraction,
                    max_lifetime: draft.max_lifetime.unwrap_or(lifetime),
                },
                principals: Principals {
                    of_value: draft.principal,
                    limit: draft.principal_limit,
                    devices,
                },
                ids: IdGenerator::new(draft.identity),
                send_only_if_modified: draft.send_only_if_modified,
                version: codec.version(),
                metrics,
                update_locks: crate::tracker::UpdateLocks::default(),
            })
        }
    };
    Ok(Pipeline::new(Parts {
        name,
        type_name,
        transport,
        chain: draft.chain,
        codec,
        tracker,
        metrics,
    }))
}
