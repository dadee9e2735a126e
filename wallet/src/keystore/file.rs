//! Bounded reads and crash-safe writes of keystore files.
//!
//! A write never modifies a keystore in place:
//!
//! 1. the new bytes go to a temporary file in the same directory (`.NAME.tmp-PID-RANDOM`),
//!    created exclusively with mode 0600, then `fsync`ed;
//! 2. for an existing keystore, backups rotate: `NAME.bak.N` is removed, `NAME.bak.i` becomes
//!    `NAME.bak.(i+1)`, and the current file is hard-linked (or, where links are unsupported,
//!    copied) to `NAME.bak.1`;
//! 3. the temporary file is renamed over `NAME` (a new keystore is instead hard-linked to
//!    `NAME`, which fails if `NAME` exists, so creation never overwrites), and the directory is
//!    `fsync`ed.
//!
//! A crash at any point leaves `NAME` either old or new, never partial; at worst a temporary
//! file is left behind, which readers ignore.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use super::crypto::random_bytes;
use super::error::{KeystoreError, Result};

/// Reads at most `max` bytes; a longer file is [`KeystoreError::TooLarge`].
pub(crate) fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(KeystoreError::io(path))?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(KeystoreError::io(path))?;
    if bytes.len() as u64 > max {
        return Err(KeystoreError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            max,
        });
    }
    Ok(bytes)
}

/// `NAME.bak.i`.
pub fn backup_path(path: &Path, i: usize) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".bak.{i}"));
    path.with_file_name(name)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates, writes and syncs a fresh temporary file (mode 0600) beside `path`.
fn write_temp(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let mut random = [0u8; 8];
    random_bytes(&mut random)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = path.with_file_name(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        hex::encode(random)
    ));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(source) = result {
        let _ = fs::remove_file(&temp);
        return Err(KeystoreError::Io { path: temp, source });
    }
    Ok(temp)
}

/// Syncs the directory holding `path`, so a rename or link survives a crash.
fn sync_dir(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let dir = parent_dir(path);
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(KeystoreError::io(dir))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Writes a new file at `path`; fails with [`KeystoreError::AlreadyExists`] if it exists.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    if fs::symlink_metadata(path).is_ok() {
        return Err(KeystoreError::AlreadyExists {
            path: path.to_path_buf(),
        });
    }
    let temp = write_temp(path, bytes)?;
    let linked = fs::hard_link(&temp, path);
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            return Err(KeystoreError::AlreadyExists {
                path: path.to_path_buf(),
            })
        }
        Err(source) => {
            return Err(KeystoreError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    }
    sync_dir(path)
}

/// Rotates `NAME.bak.1..=backups` and saves the current `path` (if any) as `NAME.bak.1`.
fn rotate_backups(path: &Path, backups: usize) -> Result<()> {
    if backups == 0 {
        return Ok(());
    }
    let oldest = backup_path(path, backups);
    match fs::remove_file(&oldest) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(source) => {
            return Err(KeystoreError::Io {
                path: oldest,
                source,
            })
        }
    }
    for i in (1..backups).rev() {
        let from = backup_path(path, i);
        match fs::rename(&from, backup_path(path, i + 1)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(source) => return Err(KeystoreError::Io { path: from, source }),
        }
    }
    let first = backup_path(path, 1);
    match fs::hard_link(path, &first) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(_) => {
            // No hard links here: copy (keeps the mode) and sync.
            match fs::copy(path, &first) {
                Ok(_) => File::open(&first)
                    .and_then(|f| f.sync_all())
                    .map_err(KeystoreError::io(first)),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                Err(source) => Err(KeystoreError::Io {
                    path: first,
                    source,
                }),
            }
        }
    }
}

/// Replaces `path` with `bytes` atomically, keeping up to `backups` previous versions.
///
/// `Err(Replaced::No(_))`: `path` still holds the old contents. `Err(Replaced::Yes(_))`: the new
/// contents are in place but the directory sync failed (durability is not guaranteed).
pub(crate) fn replace(
    path: &Path,
    bytes: &[u8],
    backups: usize,
) -> std::result::Result<(), Replaced> {
    let temp = write_temp(path, bytes).map_err(Replaced::No)?;
    let renamed = rotate_backups(path, backups)
        .and_then(|()| fs::rename(&temp, path).map_err(KeystoreError::io(path)));
    if let Err(e) = renamed {
        let _ = fs::remove_file(&temp);
        return Err(Replaced::No(e));
    }
    sync_dir(path).map_err(Replaced::Yes)
}

/// A failed [`replace`], saying whether the new contents are in place.
#[derive(Debug)]
pub(crate) enum Replaced {
    /// The old file is unchanged.
    No(KeystoreError),
    /// The new file is in place; a later step (the directory sync) failed.
    Yes(KeystoreError),
}

impl From<Replaced> for KeystoreError {
    fn from(r: Replaced) -> Self {
        match r {
            Replaced::No(e) | Replaced::Yes(e) => e,
        }
    }
}

/// Removes `NAME.bak.1..=max` (missing ones are fine).
pub(crate) fn remove_backups(path: &Path, max: usize) -> Result<()> {
    for i in 1..=max {
        let backup = backup_path(path, i);
        match fs::remove_file(&backup) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(source) => {
                return Err(KeystoreError::Io {
                    path: backup,
                    source,
                })
            }
        }
    }
    sync_dir(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_refuses_existing_and_replace_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.json");
        write_new(&path, b"v0").unwrap();
        assert!(matches!(
            write_new(&path, b"again"),
            Err(KeystoreError::AlreadyExists { .. })
        ));
        for v in 1..=4 {
            replace(&path, format!("v{v}").as_bytes(), 2).unwrap();
        }
        assert_eq!(fs::read(&path).unwrap(), b"v4");
        assert_eq!(fs::read(backup_path(&path, 1)).unwrap(), b"v3");
        assert_eq!(fs::read(backup_path(&path, 2)).unwrap(), b"v2");
        assert!(!backup_path(&path, 3).exists());
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 3, "no temporary files left");
        remove_backups(&path, 5).unwrap();
        assert!(!backup_path(&path, 1).exists());
    }

    #[test]
    fn bounded_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        fs::write(&path, vec![0u8; 11]).unwrap();
        assert!(matches!(
            read_bounded(&path, 10),
            Err(KeystoreError::TooLarge { .. })
        ));
        assert_eq!(read_bounded(&path, 11).unwrap().len(), 11);
        assert!(matches!(
            read_bounded(&dir.path().join("missing"), 10),
            Err(KeystoreError::Io { .. })
        ));
    }

    #[test]
    fn backup_names() {
        assert_eq!(
            backup_path(Path::new("/a/w.json"), 3),
            PathBuf::from("/a/w.json.bak.3")
        );
        assert_eq!(parent_dir(Path::new("w.json")), PathBuf::from("."));
    }
}
