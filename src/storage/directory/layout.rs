//! Where a session's file lives: the default (hashed) layout and Ktor's layout.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::id::SessionKey;

/// How session files are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `root/<k0k1>/<k>`, `k` the SHA-256 hex of the id; the file holds the record envelope.
    Hashed,
    /// Ktor's `directorySessionStorage`: the raw id in 2-character directories,
    /// `root/ab/cd/…/xx.dat`; the file holds the serialized session only, and a record is valid
    /// for `max_age` after the file's last modification.
    Ktor { max_age: Duration },
}

/// The place of one session's file.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    /// The directories between the root and the file, in order.
    pub(crate) dirs: Vec<String>,
    /// The file's name.
    pub(crate) name: String,
    /// The directory that holds the file.
    pub(crate) dir: PathBuf,
    /// The file.
    pub(crate) file: PathBuf,
}

impl Location {
    /// The file `name` in the directories `dirs` under `root`.
    pub(crate) fn new(root: &Path, dirs: Vec<String>, name: String) -> Location {
        let mut dir = root.to_path_buf();
        for part in &dirs {
            dir.push(part);
        }
        let file = dir.join(&name);
        Location {
            dirs,
            name,
            dir,
            file,
        }
    }
}

impl Layout {
    /// Where `key`'s record lives under `root`, or `None` if this layout cannot hold its id
    /// (the Ktor layout refuses ids with capital letters: on a case-insensitive file system
    /// `Ab` and `aB` would share a file).
    ///
    /// The hashed layout files a record under the key's [storage key](SessionKey::storage_key),
    /// bound to its session's namespace. The Ktor layout files it under the raw id, as Ktor
    /// does, so the namespace plays no part there: sessions that share a Ktor-layout directory
    /// share their ids.
    pub(crate) fn locate(&self, root: &Path, key: SessionKey<'_>) -> Option<Location> {
        let (dirs, name) = match self {
            Layout::Hashed => {
                let key = key.storage_key();
                (vec![key.get(..2)?.to_owned()], key)
            }
            Layout::Ktor { .. } => {
                let text = key.id().as_str();
                if text.bytes().any(|b| b.is_ascii_uppercase()) {
                    return None;
                }
                // The id holds only ASCII, so two-byte windows are two characters.
                let mut parts: Vec<String> = text
                    .as_bytes()
                    .chunks(2)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect();
                let last = parts.pop()?;
                (parts, format!("{last}.dat"))
            }
        };
        Some(Location::new(root, dirs, name))
    }

    /// Where the hashed layout files the record of `storage_key`, if it is one (64 lowercase
    /// hex characters, as the principal index names its entries).
    pub(crate) fn hashed(root: &Path, storage_key: &str) -> Option<Location> {
        if !Layout::Hashed.is_session_file(storage_key, 1) {
            return None;
        }
        let fan_out = storage_key.get(..2)?.to_owned();
        Some(Location::new(root, vec![fan_out], storage_key.to_owned()))
    }

    /// Whether `name`, in a directory `depth` levels below the root, is a session file of this
    /// layout.
    pub(crate) fn is_session_file(&self, name: &str, depth: usize) -> bool {
        match self {
            Layout::Hashed => {
                depth == 1
                    && name.len() == 64
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            }
            Layout::Ktor { .. } => name.ends_with(".dat") && !name.starts_with('.'),
        }
    }

    /// Whether a directory named `name`, `depth` levels below the root, belongs to this layout.
    pub(crate) fn is_layout_dir(&self, name: &str, depth: usize) -> bool {
        let allowed =
            |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
        match self {
            Layout::Hashed => {
                depth == 0
                    && name.len() == 2
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            }
            Layout::Ktor { .. } => name.len() == 2 && name.bytes().all(allowed),
        }
    }
}

/// Whether `name` is one of this storage's temporary files (`.<name>.<random>.tmp`).
pub(crate) fn is_temp(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp") && name.len() > 5
}

/// A fresh temporary file name for `name`.
pub(crate) fn temp_name(name: &str) -> String {
    let mut random = [0u8; 8];
    crate::random::fill(&mut random);
    format!(".{name}.{}.tmp", hex::encode(random))
}

/// Creates the directories of `location` that are missing (mode `0700`), fsyncing each parent
/// that gained an entry when `durable`.
pub(crate) fn create_dirs(root: &Path, location: &Location, durable: bool) -> io::Result<()> {
    if fs::symlink_metadata(&location.dir).is_ok_and(|m| m.is_dir()) {
        return Ok(()); // the common case: one look, no walk
    }
    let mut current = root.to_path_buf();
    for part in &location.dirs {
        let next = current.join(part);
        match DirBuilder::new().mode(0o700).create(&next) {
            Ok(()) => {
                if durable {
                    sync_dir(root, &current)?;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if !fs::symlink_metadata(&next)?.is_dir() {
                    return Err(io::Error::other("a session directory is not a directory"));
                }
            }
            Err(e) => return Err(e),
        }
        current = next;
    }
    Ok(())
}

/// Removes the now empty directories of `location`, deepest first, never the root (Ktor's
/// `deleteParentsWhileEmpty`). Stops at the first that is not empty.
pub(crate) fn prune_dirs(location: &Location) {
    let mut dir = location.dir.clone();
    for _ in 0..location.dirs.len() {
        if fs::remove_dir(&dir).is_err() {
            return;
        }
        if !dir.pop() {
            return;
        }
    }
}

/// Fsyncs a directory, so the entries added to or removed from it survive a power loss. The
/// root is opened as configured; a directory below it never through a symbolic link.
pub(crate) fn sync_dir(root: &Path, dir: &Path) -> io::Result<()> {
    let flags = if dir == root {
        libc::O_DIRECTORY
    } else {
        libc::O_DIRECTORY | libc::O_NOFOLLOW
    };
    OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(dir)?
        .sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{SessionId, test_key};

    #[test]
    fn hashed_layout_uses_the_storage_key_only() {
        let id = SessionId::generate();
        let location = Layout::Hashed
            .locate(Path::new("/r"), test_key(&id))
            .unwrap();
        let key = test_key(&id).storage_key();
        assert_eq!(location.file, Path::new("/r").join(&key[..2]).join(&key));
        assert!(!location.file.to_string_lossy().contains(id.as_str()));
        assert!(Layout::Hashed.is_session_file(&key, 1));
        assert!(Layout::Hashed.is_layout_dir(&key[..2], 0));
    }

    #[test]
    fn ktor_layout_splits_the_raw_id_like_ktor() {
        let ktor = Layout::Ktor {
            max_age: Duration::from_secs(1),
        };
        let id = SessionId::parse_custom("abcdef").unwrap();
        assert_eq!(
            ktor.locate(Path::new("/r"), test_key(&id)).unwrap().file,
            Path::new("/r/ab/cd/ef.dat")
        );
        let odd = SessionId::parse_custom("abcde").unwrap();
        assert_eq!(
            ktor.locate(Path::new("/r"), test_key(&odd)).unwrap().file,
            Path::new("/r/ab/cd/e.dat")
        );
        let short = SessionId::parse_custom("x").unwrap();
        let location = ktor.locate(Path::new("/r"), test_key(&short)).unwrap();
        assert_eq!(location.file, Path::new("/r/x.dat"));
        assert!(location.dirs.is_empty());
        let default = SessionId::generate();
        let location = ktor.locate(Path::new("/r"), test_key(&default)).unwrap();
        assert_eq!(location.dirs.len(), 31);
        assert_eq!(location.name.len(), "xx.dat".len());
        assert!(
            ktor.locate(
                Path::new("/r"),
                test_key(&SessionId::parse_custom("aB").unwrap())
            )
            .is_none()
        );
    }

    #[test]
    fn temp_names_are_recognised_and_never_session_files() {
        let name = temp_name(&"a".repeat(64));
        assert!(is_temp(&name));
        assert!(!Layout::Hashed.is_session_file(&name, 1));
        let ktor = Layout::Ktor {
            max_age: Duration::from_secs(1),
        };
        let name = temp_name("ef.dat");
        assert!(is_temp(&name) && !ktor.is_session_file(&name, 3));
        assert_ne!(temp_name("x"), temp_name("x"));
    }
}
