//! One record as the memory storage keeps it: compact, with the rarely set metadata boxed.

use std::sync::Arc;
use std::time::SystemTime;

use crate::storage::{Metadata, Record, Revision};

/// One stored record.
pub(super) struct Entry {
    data: Box<[u8]>,
    created_at: SystemTime,
    expires_at: SystemTime,
    last_seen: SystemTime,
    lifetime_ends_at: SystemTime,
    revision: u64,
    version: Option<u32>,
    /// Principal, device and address: set for logged-in sessions only.
    extra: Option<Box<Extra>>,
}

/// The metadata most sessions do not have.
struct Extra {
    principal: Option<Arc<str>>,
    device: Option<Arc<str>>,
    address: Option<Arc<str>>,
}

impl Entry {
    pub(super) fn new(record: &Record) -> Entry {
        let meta = &record.meta;
        let extra = (meta.principal.is_some() || meta.device.is_some() || meta.address.is_some())
            .then(|| {
                Box::new(Extra {
                    principal: meta.principal.clone(),
                    device: meta.device.clone(),
                    address: meta.address.clone(),
                })
            });
        Entry {
            data: record.data.as_slice().into(),
            created_at: record.created_at,
            expires_at: record.expires_at,
            last_seen: meta.last_seen,
            lifetime_ends_at: meta.lifetime_ends_at,
            revision: record.revision.as_u64(),
            version: meta.version,
            extra,
        }
    }

    /// Makes `record` the next state of this entry in place, keeping the principal it was
    /// stored with (an update never moves a session between principals: that is an id change).
    /// Buffers of the same size are reused, so a renewal or a same-size change allocates nothing.
    pub(super) fn update_from(&mut self, record: &Record) {
        let meta = &record.meta;
        if self.data.len() == record.data.len() {
            self.data.copy_from_slice(&record.data);
        } else {
            self.data = record.data.as_slice().into();
        }
        self.created_at = record.created_at;
        self.expires_at = record.expires_at;
        self.last_seen = meta.last_seen;
        self.lifetime_ends_at = meta.lifetime_ends_at;
        self.revision = record.revision.as_u64();
        self.version = meta.version;
        match &mut self.extra {
            Some(extra) => {
                extra.device.clone_from(&meta.device);
                extra.address.clone_from(&meta.address);
                if extra.principal.is_none() && extra.device.is_none() && extra.address.is_none() {
                    self.extra = None;
                }
            }
            None if meta.device.is_some() || meta.address.is_some() => {
                self.extra = Some(Box::new(Extra {
                    principal: None,
                    device: meta.device.clone(),
                    address: meta.address.clone(),
                }));
            }
            None => {}
        }
    }

    pub(super) fn record(&self) -> Record {
        let mut meta = Metadata::new(self.last_seen, self.lifetime_ends_at);
        meta.version = self.version;
        if let Some(extra) = &self.extra {
            meta.principal.clone_from(&extra.principal);
            meta.device.clone_from(&extra.device);
            meta.address.clone_from(&extra.address);
        }
        Record {
            data: self.data.to_vec(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            revision: Revision::from_u64(self.revision),
            meta,
        }
    }

    pub(super) fn is_expired(&self, now: SystemTime) -> bool {
        self.expires_at <= now
    }

    pub(super) fn revision(&self) -> Revision {
        Revision::from_u64(self.revision)
    }

    pub(super) fn principal(&self) -> Option<&str> {
        self.extra.as_ref()?.principal.as_deref()
    }

    pub(super) fn data_len(&self) -> usize {
        self.data.len()
    }
}
