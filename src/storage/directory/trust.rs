//! Whether the directory can be trusted: checked once, at [`open`](super::DirectoryStorage::open).
//!
//! Whoever can write the session directory can plant, change or redirect any session, so the
//! storage only works in a directory that is private to the server's user: the root and every
//! fan-out directory of the layout must be owned by the process's effective user and must not
//! be writable by its group or by others, and no fan-out directory may be a symbolic link. The
//! path up to the root is the operator's configuration and is followed as given; below the
//! root nothing is followed.
//!
//! Reading by group or others is allowed (with a warning at open): record files are `0600`,
//! but a listing shows their names, which in the Ktor-compatible layout are the raw ids.

use std::fmt;
use std::fs::{self, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::layout::Layout;
use crate::storage::StorageError;

/// Permission bits that let the group or others change a directory's entries.
const WRITABLE_BY_OTHERS: u32 = 0o022;

/// Permission bits that let the group or others list or enter a directory.
const READABLE_BY_OTHERS: u32 = 0o055;

/// Which directory of the storage a [`UntrustedDirectory`] error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectoryRole {
    /// The storage's root, the directory passed to [`open`](super::DirectoryStorage::open).
    Root,
    /// One of the layout's directories below the root (`root/ab/` in the default layout, each
    /// level of `root/ab/cd/…/` in the Ktor-compatible one).
    FanOut,
}

impl fmt::Display for DirectoryRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DirectoryRole::Root => "the session directory",
            DirectoryRole::FanOut => "a fan-out directory inside the session directory",
        })
    }
}

/// Why a [`DirectoryStorage`](super::DirectoryStorage) refuses its directory at `open`: the
/// source of the [`StorageError`] that `open` returns (find it with
/// [`std::error::Error::source`] and `downcast_ref`). Each message names the fix. Messages
/// hold no paths: below the root, paths of the Ktor-compatible layout are made of ids.
///
/// ```
/// use std::error::Error;
/// use std::os::unix::fs::PermissionsExt;
/// use typed_sessions::storage::DirectoryStorage;
/// use typed_sessions::storage::directory::{DirectoryRole, UntrustedDirectory};
///
/// # let dir = tempfile::tempdir().unwrap();
/// let root = dir.path().join("sessions");
/// std::fs::create_dir(&root)?;
/// std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777))?;
/// let error = DirectoryStorage::open(&root).unwrap_err();
/// let why = error.source().and_then(|e| e.downcast_ref::<UntrustedDirectory>());
/// assert!(matches!(
///     why,
///     Some(UntrustedDirectory::WritableByOthers { role: DirectoryRole::Root, .. })
/// ));
/// assert!(error.to_string().contains("chmod"));
///
/// std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700))?;
/// assert!(DirectoryStorage::open(&root).is_ok());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UntrustedDirectory {
    /// The directory belongs to another user, who could change any session in it.
    #[error(
        "{role} is owned by uid {owner}, not by this process's effective user (uid {user}); \
         run the server as the directory's owner, or give the directory to the server's user \
         (`chown -R`)"
    )]
    NotOwned {
        /// Which directory.
        role: DirectoryRole,
        /// Its owner.
        owner: u32,
        /// The process's effective user.
        user: u32,
    },
    /// The directory's group or others may create, remove or rename entries in it.
    #[error(
        "{role} can be written by its group or by others (mode {mode:04o}); make it private to \
         the server's user (`chmod -R go-rwx`)"
    )]
    WritableByOthers {
        /// Which directory.
        role: DirectoryRole,
        /// Its permission bits.
        mode: u32,
    },
    /// A fan-out directory is a symbolic link, which would send reads and writes elsewhere.
    #[error(
        "{role} is a symbolic link, which this storage never follows; remove the link (the \
         storage creates its own directories)"
    )]
    SymbolicLink {
        /// Which directory.
        role: DirectoryRole,
    },
}

/// The effective user id of this process.
#[allow(unsafe_code)]
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: `geteuid` takes no arguments, touches no memory of ours and cannot fail
    // (POSIX: "shall always be successful").
    unsafe { libc::geteuid() }
}

/// Checks the root (following the path to it, which is configuration) and every fan-out
/// directory of `layout` below it (never following a link).
pub(crate) fn verify(root: &Path, layout: Layout) -> Result<(), StorageError> {
    let user = effective_uid();
    let metadata = fs::metadata(root).map_err(|e| {
        StorageError::unavailable("cannot read the session directory").with_source(e)
    })?;
    if !metadata.is_dir() {
        return Err(StorageError::unavailable(
            "the session directory path is not a directory",
        ));
    }
    check(&metadata, DirectoryRole::Root, user)?;
    if metadata.mode() & READABLE_BY_OTHERS != 0 {
        tracing::warn!(
            "the session directory can be listed by other users, who then see the names of \
             session files (raw ids in the Ktor-compatible layout); make it 0700"
        );
    }
    verify_fan_out(root, 0, layout, user)
}

/// Refuses `metadata` of a directory in `role` unless it is `user`'s and not writable by
/// others.
fn check(metadata: &Metadata, role: DirectoryRole, user: u32) -> Result<(), StorageError> {
    let refusal = if metadata.uid() != user {
        UntrustedDirectory::NotOwned {
            role,
            owner: metadata.uid(),
            user,
        }
    } else if metadata.mode() & WRITABLE_BY_OTHERS != 0 {
        UntrustedDirectory::WritableByOthers {
            role,
            mode: metadata.mode() & 0o7777,
        }
    } else {
        return Ok(());
    };
    Err(refused(refusal))
}

fn refused(why: UntrustedDirectory) -> StorageError {
    StorageError::backend(why.to_string()).with_source(why)
}

/// Checks the fan-out directories in `dir` (`depth` levels below the root) and below them.
fn verify_fan_out(dir: &Path, depth: usize, layout: Layout, user: u32) -> Result<(), StorageError> {
    let listing_failed =
        |e| StorageError::unavailable("cannot list the session directory").with_source(e);
    for entry in fs::read_dir(dir).map_err(listing_failed)? {
        let entry = entry.map_err(listing_failed)?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !layout.is_layout_dir(&name, depth) {
            continue; // not the storage's: never read, written or followed
        }
        // `file_type` and `metadata` of a directory entry describe the entry itself, not
        // what a link points to.
        let kind = entry.file_type().map_err(listing_failed)?;
        if kind.is_symlink() {
            return Err(refused(UntrustedDirectory::SymbolicLink {
                role: DirectoryRole::FanOut,
            }));
        }
        if !kind.is_dir() {
            continue;
        }
        check(
            &entry.metadata().map_err(listing_failed)?,
            DirectoryRole::FanOut,
            user,
        )?;
        verify_fan_out(&entry.path(), depth + 1, layout, user)?;
    }
    Ok(())
}
