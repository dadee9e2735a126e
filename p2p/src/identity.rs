//! The node's libp2p identity: an ed25519 key in a file.
//!
//! The file holds the key in libp2p's protobuf encoding (`Keypair::to_protobuf_encoding`), is
//! created with mode 0600 and written atomically (a temporary file in the same directory, synced,
//! then renamed over the final name), so a crash never leaves a half-written key. An existing
//! file that does not decode is an error: replacing it would silently change the node's peer id.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use libp2p::identity::{KeyType, Keypair};
use zeroize::Zeroizing;

use crate::error::P2pError;

/// Largest identity file read (an ed25519 keypair is 68 bytes encoded).
const MAX_IDENTITY_FILE_BYTES: u64 = 4096;

/// Loads the identity at `path`, or creates a new ed25519 identity there if no file exists.
pub fn load_or_create_identity(path: &Path) -> Result<Keypair, P2pError> {
    let io_err = |source| P2pError::IdentityIo {
        path: path.to_path_buf(),
        source,
    };
    match fs::File::open(path) {
        Ok(file) => load(path, file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path).map_err(io_err),
        Err(e) => Err(io_err(e)),
    }
}

fn load(path: &Path, file: fs::File) -> Result<Keypair, P2pError> {
    let corrupt = |reason: String| P2pError::IdentityCorrupt {
        path: path.to_path_buf(),
        reason,
    };
    #[cfg(unix)]
    if let Ok(meta) = file.metadata() {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{mode:o}"),
                "node identity file is readable by other users; it should be mode 0600"
            );
        }
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_IDENTITY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| P2pError::IdentityIo {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > MAX_IDENTITY_FILE_BYTES {
        return Err(corrupt(format!(
            "larger than {MAX_IDENTITY_FILE_BYTES} bytes"
        )));
    }
    let keypair = Keypair::from_protobuf_encoding(&bytes)
        .map_err(|e| corrupt(format!("not a protobuf-encoded libp2p key: {e}")))?;
    if keypair.key_type() != KeyType::Ed25519 {
        return Err(corrupt(format!(
            "key type {:?}, expected Ed25519",
            keypair.key_type()
        )));
    }
    Ok(keypair)
}

fn create(path: &Path) -> std::io::Result<Keypair> {
    let keypair = Keypair::generate_ed25519();
    let encoded = Zeroizing::new(
        keypair
            .to_protobuf_encoding()
            .map_err(|e| std::io::Error::other(e.to_string()))?,
    );
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "identity".into());
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let written = write_new_private(&tmp, &encoded).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // Make the rename durable.
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    tracing::info!(path = %path.display(), peer_id = %keypair.public().to_peer_id(), "created a new node identity");
    Ok(keypair)
}

/// Writes `bytes` to a new file readable only by its owner, and syncs it.
fn write_new_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn identity_persists_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("p2p_key");
        let first = load_or_create_identity(&path).unwrap();
        let second = load_or_create_identity(&path).unwrap();
        assert_eq!(first.public().to_peer_id(), second.public().to_peer_id());
        assert_eq!(first.key_type(), KeyType::Ed25519);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // no temporary file left behind
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn corrupt_identity_is_an_error_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p2p_key");
        fs::write(&path, b"definitely not a key").unwrap();
        let err = load_or_create_identity(&path).unwrap_err();
        assert!(
            matches!(err, P2pError::IdentityCorrupt { .. }),
            "unexpected {err:?}"
        );
        assert!(err.to_string().contains("corrupt"));
        assert_eq!(fs::read(&path).unwrap(), b"definitely not a key");

        // truncated real key
        let good = Keypair::generate_ed25519().to_protobuf_encoding().unwrap();
        fs::write(&path, &good[..good.len() - 5]).unwrap();
        assert!(matches!(
            load_or_create_identity(&path),
            Err(P2pError::IdentityCorrupt { .. })
        ));

        // oversized file
        fs::write(&path, vec![0u8; 10_000]).unwrap();
        assert!(matches!(
            load_or_create_identity(&path),
            Err(P2pError::IdentityCorrupt { .. })
        ));
    }

    #[test]
    fn unreadable_location_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        // a directory where the file should be
        let path = dir.path().join("p2p_key");
        fs::create_dir(&path).unwrap();
        assert!(load_or_create_identity(&path).is_err());
    }
}
