//! Keystore errors.
//!
//! Every error says what went wrong and with which file; none carries secret material (no
//! password, mnemonic, seed or decrypted bytes ever reaches an error message).

use std::path::PathBuf;

/// Why a keystore operation failed.
///
/// - [`KeystoreError::WrongPassword`]: the file is well formed but does not decrypt. With an AEAD
///   cipher a wrong password and a modified ciphertext (or modified authenticated header) cannot
///   be told apart, so the message says both.
/// - [`KeystoreError::Corrupt`]: the file is detectably damaged or edited (not JSON, truncated,
///   unknown fields, wrong lengths, unknown algorithm, not in the canonical form the wallet writes).
/// - [`KeystoreError::UnsupportedVersion`] and [`KeystoreError::KdfParamsOutOfRange`]: the file is
///   readable but this build refuses it.
///
/// No variant ever means "partly unlocked": on any error no secret is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// Reading or writing the file (or its directory, temporary file or backups) failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `create` refuses to overwrite an existing file.
    #[error("{}: already exists; refusing to overwrite a keystore", path.display())]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// The file is not a well-formed keystore (structural damage or editing, detected before
    /// any decryption).
    #[error("{}: not a valid RustChain keystore: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file is larger than [`crate::keystore::MAX_FILE_BYTES`] (read) or would be (write).
    #[error("{}: keystore of {size} bytes or more is above the {max}-byte limit", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (at least this many bytes).
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A keystore format version this build does not read.
    #[error("{}: keystore version {version} is not supported (this build reads version {supported})", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        version: u64,
        /// The version this build reads.
        supported: u64,
    },
    /// Argon2id parameters outside the accepted range (absurd costs are refused before any
    /// memory is allocated; below-minimum costs are refused unless opened with
    /// [`crate::keystore::Keystore::open_insecure_for_tests`]).
    #[error("key derivation parameters out of range: {0}")]
    KdfParamsOutOfRange(String),
    /// Decryption failed on a structurally valid file.
    #[error("{}: wrong password, or the file was modified", path.display())]
    WrongPassword {
        /// The file.
        path: PathBuf,
    },
    /// The BIP-39 passphrase does not match the one the wallet was created with.
    #[error("wrong BIP-39 passphrase (it does not match the one this wallet was created with)")]
    WrongPassphrase,
    /// The mnemonic given to `create` is not a 12- or 24-word English BIP-39 mnemonic.
    #[error("invalid mnemonic: {0}")]
    InvalidMnemonic(String),
    /// Metadata that cannot be stored (bad name or chain kind).
    #[error("invalid keystore metadata: {0}")]
    InvalidMetadata(String),
    /// An empty password was given to `create` or `change_password`.
    #[error("the keystore password must not be empty")]
    EmptyPassword,
    /// The operating system's random number generator failed.
    #[error("random number generator failed: {0}")]
    Randomness(String),
    /// Internal failure (a cryptographic primitive or serializer failed; not a wrong password).
    #[error("internal keystore error: {0}")]
    Internal(String),
}

/// Shorthand for keystore results.
pub type Result<T> = std::result::Result<T, KeystoreError>;

impl KeystoreError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> KeystoreError {
        let path = path.into();
        move |source| KeystoreError::Io { path, source }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> KeystoreError {
        KeystoreError::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
