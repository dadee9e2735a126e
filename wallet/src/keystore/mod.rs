//! The wallet's encrypted keystore: one wallet (a BIP-39 mnemonic and its state) per file.
//!
//! # Use
//!
//! ```no_run
//! use rustchain_wallet::keystore::{
//!     KdfParams, Keystore, Metadata, NewWallet, SecretString, WalletData,
//! };
//! use zeroize::Zeroizing;
//! # fn main() -> Result<(), rustchain_wallet::keystore::KeystoreError> {
//! let mnemonic = Zeroizing::new(String::from("abandon abandon abandon abandon abandon \
//!     abandon abandon abandon abandon abandon abandon about"));
//! let password = SecretString::new("correct horse battery staple");
//! let no_passphrase = SecretString::default();
//! let mut wallet = Keystore::create(
//!     "wallet.json",
//!     NewWallet {
//!         mnemonic: &mnemonic,
//!         bip39_passphrase: &no_passphrase,
//!         metadata: Metadata::new("savings", "rtc-main"),
//!         data: WalletData::default(),
//!     },
//!     &password,
//!     KdfParams::default(),
//! )?;
//! wallet.data_mut().gap_limit = 50;
//! wallet.save()?; // re-encrypted with a fresh nonce; the old file becomes wallet.json.bak.1
//!
//! let locked = Keystore::open("wallet.json")?; // format checked, no password needed
//! println!("{} ({})", locked.metadata().name, locked.metadata().chain);
//! let unlocked = locked.unlock(&password)?;
//! let seed = unlocked.seed(&no_passphrase)?; // Zeroizing<[u8; 64]>
//! # let _ = seed; Ok(()) }
//! ```
//!
//! # Public surface
//!
//! - `Keystore::create(path, NewWallet, &SecretString, KdfParams) -> Result<UnlockedKeystore>`,
//!   `Keystore::open(path) -> Result<LockedKeystore>`,
//!   `Keystore::open_insecure_for_tests(path) -> Result<LockedKeystore>`;
//! - `LockedKeystore`: `path()`, `metadata()`, `kdf_params()`,
//!   `unlock(&SecretString) -> Result<UnlockedKeystore>`;
//! - `UnlockedKeystore`: `mnemonic() -> &Zeroizing<String>`, `uses_bip39_passphrase()`,
//!   `seed(&SecretString) -> Result<Zeroizing<[u8; 64]>>`, `metadata()`/`metadata_mut()`,
//!   `data()`/`data_mut()`, `save()`, `change_password(&SecretString, KdfParams)`,
//!   `set_backups(n)`, `path()`, `kdf_params()`;
//! - types [`KdfParams`], [`SecretString`], [`Metadata`], [`WalletData`], [`AccountState`],
//!   [`NewWallet`], [`KeystoreError`]; [`backup_path`].
//!
//! # Decisions
//!
//! - **What is encrypted.** The mnemonic, the passphrase flag and check value, and all of
//!   [`WalletData`] (accounts, gap limit, policy, watched multisig accounts) are inside the
//!   ciphertext: they are private and change over time, and inside the ciphertext their
//!   integrity needs no extra mechanism. Only [`Metadata`] (name, creation time, chain kind) is
//!   in clear, so wallets can be listed before unlocking; it is authenticated as associated
//!   data together with every other header field, so editing it (or the KDF parameters) makes
//!   unlocking fail.
//! - **BIP-39 passphrase.** Not stored. The file records whether the wallet uses one and a
//!   4-byte check value of the resulting seed, so [`UnlockedKeystore::seed`] refuses a mistyped
//!   passphrase ([`KeystoreError::WrongPassphrase`]) instead of silently opening an empty
//!   wallet. The cost: someone who has the keystore password learns that a passphrase exists
//!   and can test guesses against the check value (no "hidden wallet" deniability).
//! - **Saving.** An unlocked keystore keeps its Argon2id-derived key (zeroized on drop) so
//!   [`UnlockedKeystore::save`] re-encrypts with a fresh random nonce without asking for the
//!   password again or re-running the KDF; the key is no more sensitive than the mnemonic the
//!   unlocked keystore already holds. [`UnlockedKeystore::change_password`] draws a new salt,
//!   derives a new key, and removes the backups (they are encrypted under the old password).
//! - **Test parameters.** [`KdfParams::insecure_for_tests`] makes files that only
//!   [`Keystore::open_insecure_for_tests`] opens; [`Keystore::open`] refuses them.
//!
//! # File format
//!
//! Version 1 is canonical pretty-printed JSON (any edit, even of whitespace, is refused);
//! reads are limited to [`MAX_FILE_BYTES`]:
//!
//! ```json
//! {
//!   "format": "rustchain-keystore",
//!   "version": 1,
//!   "kdf": {"algorithm": "argon2id", "version": 19, "m_cost_kib": 65536, "t_cost": 3,
//!           "p_cost": 1, "salt": "<16 bytes hex>"},
//!   "cipher": {"algorithm": "xchacha20-poly1305", "nonce": "<24 bytes hex>"},
//!   "metadata": {"name": "savings", "created_at": 1700000000, "chain": "rtc-main"},
//!   "ciphertext": "<hex: encrypted payload || 16-byte tag>"
//! }
//! ```
//!
//! The associated data is `"rustchain-keystore/v1/associated-data\n"` followed by the compact
//! JSON of the object without `ciphertext`. The payload is the compact JSON
//! `{"mnemonic": "...", "bip39_passphrase": bool, "passphrase_check": "<4 bytes hex>",
//! "wallet": WalletData}`. The full specification, threat model and error meanings are in
//! `docs/keystore.md`.

mod contents;
mod crypto;
mod error;
mod file;
mod format;

use std::fmt;
use std::path::{Path, PathBuf};

use rustchain_primitives::hd;
use zeroize::Zeroizing;

pub use contents::{AccountState, Metadata, WalletData, MAX_CHAIN_BYTES, MAX_NAME_BYTES};
pub use crypto::{KdfParams, SecretString, SALT_LEN};
pub use error::{KeystoreError, Result};
pub use file::backup_path;
pub use format::{FORMAT_NAME, FORMAT_VERSION, MAX_FILE_BYTES};

use contents::{normalize_mnemonic, passphrase_check, Payload};
use crypto::{derive_key, random_bytes, KEY_LEN, NONCE_LEN};
use format::KeystoreFile;

/// Backups kept by [`UnlockedKeystore::save`] unless changed with
/// [`UnlockedKeystore::set_backups`].
pub const DEFAULT_BACKUPS: usize = 5;
/// A new random BIP-39 mnemonic of `words` words (12 or 24), entropy from the operating system.
pub fn generate_mnemonic(words: usize) -> Result<Zeroizing<String>> {
    let mut entropy = Zeroizing::new([0u8; 32]);
    let len = match words {
        12 => 16,
        24 => 32,
        other => {
            return Err(KeystoreError::InvalidMnemonic(format!(
                "expected 12 or 24 words, got {other}"
            )))
        }
    };
    crypto::random_bytes(&mut entropy[..len])?;
    let mnemonic = bip39::Mnemonic::from_entropy(&entropy[..len])
        .map_err(|e| KeystoreError::InvalidMnemonic(e.to_string()))?;
    Ok(Zeroizing::new(mnemonic.to_string()))
}

/// Most backups that can be kept.
pub const MAX_BACKUPS: usize = 100;

/// Entry points: create a keystore file or open one.
#[derive(Debug)]
pub enum Keystore {}

/// What [`Keystore::create`] stores.
pub struct NewWallet<'a> {
    /// A 12- or 24-word English BIP-39 mnemonic (whitespace is normalised to single spaces).
    pub mnemonic: &'a Zeroizing<String>,
    /// The BIP-39 passphrase (empty for none). Not stored; see the module docs.
    pub bip39_passphrase: &'a SecretString,
    /// Clear, authenticated metadata.
    pub metadata: Metadata,
    /// Initial wallet state.
    pub data: WalletData,
}

impl fmt::Debug for NewWallet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewWallet")
            .field("mnemonic", &"<redacted>")
            .field("bip39_passphrase", &"<redacted>")
            .field("metadata", &self.metadata)
            .field("data", &self.data)
            .finish()
    }
}

impl Keystore {
    /// Creates a new keystore file at `path` (mode 0600) and returns it unlocked. Refuses to
    /// overwrite an existing file ([`KeystoreError::AlreadyExists`]).
    pub fn create(
        path: impl AsRef<Path>,
        wallet: NewWallet<'_>,
        password: &SecretString,
        params: KdfParams,
    ) -> Result<UnlockedKeystore> {
        let path = path.as_ref();
        if password.is_empty() {
            return Err(KeystoreError::EmptyPassword);
        }
        params.check(true)?;
        wallet
            .metadata
            .validate()
            .map_err(KeystoreError::InvalidMetadata)?;
        let (mnemonic, words) = normalize_mnemonic(wallet.mnemonic);
        if words != 12 && words != 24 {
            return Err(KeystoreError::InvalidMnemonic(format!(
                "expected 12 or 24 words, got {words}"
            )));
        }
        let seed = hd::seed_from_mnemonic(&mnemonic, wallet.bip39_passphrase.expose())
            .map_err(mnemonic_error)?;
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(KeystoreError::AlreadyExists {
                path: path.to_path_buf(),
            });
        }
        let mut salt = [0u8; SALT_LEN];
        random_bytes(&mut salt)?;
        let key = derive_key(password.expose().as_bytes(), &salt, params)?;
        let keystore = UnlockedKeystore {
            path: path.to_path_buf(),
            metadata: wallet.metadata,
            kdf: params,
            salt,
            key,
            payload: Payload {
                mnemonic,
                bip39_passphrase: !wallet.bip39_passphrase.is_empty(),
                passphrase_check: passphrase_check(&seed),
                wallet: wallet.data,
            },
            backups: DEFAULT_BACKUPS,
        };
        let bytes = keystore.encode()?;
        file::write_new(path, &bytes)?;
        Ok(keystore)
    }

    /// Reads and validates the keystore at `path` (no password needed). Refuses files whose
    /// KDF parameters are below [`KdfParams::MIN_M_COST_KIB`]/[`KdfParams::MIN_T_COST`].
    pub fn open(path: impl AsRef<Path>) -> Result<LockedKeystore> {
        Self::open_inner(path.as_ref(), false)
    }

    /// **Tests only**: like [`Keystore::open`] but also accepts files written with
    /// [`KdfParams::insecure_for_tests`] (the upper bounds still apply). Production code must
    /// call [`Keystore::open`].
    pub fn open_insecure_for_tests(path: impl AsRef<Path>) -> Result<LockedKeystore> {
        Self::open_inner(path.as_ref(), true)
    }

    fn open_inner(path: &Path, allow_insecure: bool) -> Result<LockedKeystore> {
        let bytes = file::read_bounded(path, MAX_FILE_BYTES)?;
        let file = KeystoreFile::parse(path, &bytes, allow_insecure)?;
        Ok(LockedKeystore {
            path: path.to_path_buf(),
            file,
        })
    }
}

/// A validated keystore file, not yet decrypted.
pub struct LockedKeystore {
    path: PathBuf,
    file: KeystoreFile,
}

impl fmt::Debug for LockedKeystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockedKeystore")
            .field("path", &self.path)
            .field("metadata", &self.file.metadata)
            .field("kdf", &self.file.kdf)
            .finish_non_exhaustive()
    }
}

impl LockedKeystore {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The clear metadata (authenticated only once unlocked: before that, treat it as a hint).
    pub fn metadata(&self) -> &Metadata {
        &self.file.metadata
    }

    /// The Argon2id parameters recorded in the file.
    pub fn kdf_params(&self) -> KdfParams {
        self.file.kdf
    }

    /// Derives the key (Argon2id with the file's parameters) and decrypts. Either everything
    /// is returned or nothing: [`KeystoreError::WrongPassword`] when the tag does not verify.
    pub fn unlock(&self, password: &SecretString) -> Result<UnlockedKeystore> {
        let key = derive_key(password.expose().as_bytes(), &self.file.salt, self.file.kdf)?;
        let ad = self.file.associated_data()?;
        let plain =
            crypto::open(&key, &self.file.nonce, &ad, &self.file.ciphertext).ok_or_else(|| {
                KeystoreError::WrongPassword {
                    path: self.path.clone(),
                }
            })?;
        // Authentic from here on: a bad payload means a bad writer, not an attacker without
        // the password.
        let payload = Payload::from_json(&plain).map_err(|e| {
            KeystoreError::corrupt(
                &self.path,
                format!("the decrypted contents are invalid ({})", e.classify_str()),
            )
        })?;
        let words = payload.mnemonic.split(' ').count();
        if (words != 12 && words != 24) || payload.passphrase_check.len() != 8 {
            return Err(KeystoreError::corrupt(
                &self.path,
                "the decrypted contents are invalid (mnemonic or check value)",
            ));
        }
        Ok(UnlockedKeystore {
            path: self.path.clone(),
            metadata: self.file.metadata.clone(),
            kdf: self.file.kdf,
            salt: self.file.salt,
            key,
            payload,
            backups: DEFAULT_BACKUPS,
        })
    }
}

/// The mnemonic error without a doubled "invalid mnemonic" prefix (it names positions, never
/// words).
fn mnemonic_error(e: hd::HdError) -> KeystoreError {
    match e {
        hd::HdError::Mnemonic(why) => KeystoreError::InvalidMnemonic(why),
        other => KeystoreError::InvalidMnemonic(other.to_string()),
    }
}

trait ClassifyStr {
    fn classify_str(&self) -> &'static str;
}

impl ClassifyStr for serde_json::Error {
    /// The error category only: the message of a decrypted payload's parse error could quote
    /// secret text.
    fn classify_str(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

/// A decrypted keystore: the mnemonic, the derived file key and the wallet state. Everything
/// secret is zeroized on drop; `Debug` shows only metadata, KDF parameters and wallet state.
pub struct UnlockedKeystore {
    path: PathBuf,
    metadata: Metadata,
    kdf: KdfParams,
    salt: [u8; SALT_LEN],
    key: Zeroizing<[u8; KEY_LEN]>,
    payload: Payload,
    backups: usize,
}

impl fmt::Debug for UnlockedKeystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnlockedKeystore")
            .field("path", &self.path)
            .field("metadata", &self.metadata)
            .field("kdf", &self.kdf)
            .field("mnemonic", &"<redacted>")
            .field("key", &"<redacted>")
            .field("bip39_passphrase", &self.payload.bip39_passphrase)
            .field("data", &self.payload.wallet)
            .field("backups", &self.backups)
            .finish()
    }
}

impl UnlockedKeystore {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The BIP-39 mnemonic (words separated by single spaces).
    pub fn mnemonic(&self) -> &Zeroizing<String> {
        &self.payload.mnemonic
    }

    /// Whether the wallet was created with a non-empty BIP-39 passphrase.
    pub fn uses_bip39_passphrase(&self) -> bool {
        self.payload.bip39_passphrase
    }

    /// The 64-byte BIP-39 seed for `passphrase` (empty for none). Refuses a passphrase that
    /// does not match the one the wallet was created with.
    pub fn seed(&self, passphrase: &SecretString) -> Result<Zeroizing<[u8; 64]>> {
        let seed = hd::seed_from_mnemonic(&self.payload.mnemonic, passphrase.expose())
            .map_err(mnemonic_error)?;
        if passphrase_check(&seed) != self.payload.passphrase_check {
            return Err(KeystoreError::WrongPassphrase);
        }
        Ok(seed)
    }

    /// The clear metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The clear metadata, to change before [`UnlockedKeystore::save`].
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// The wallet state.
    pub fn data(&self) -> &WalletData {
        &self.payload.wallet
    }

    /// The wallet state, to change before [`UnlockedKeystore::save`].
    pub fn data_mut(&mut self) -> &mut WalletData {
        &mut self.payload.wallet
    }

    /// The Argon2id parameters of the file.
    pub fn kdf_params(&self) -> KdfParams {
        self.kdf
    }

    /// How many backups [`UnlockedKeystore::save`] keeps (0 to [`MAX_BACKUPS`]; default
    /// [`DEFAULT_BACKUPS`]).
    pub fn set_backups(&mut self, backups: usize) {
        self.backups = backups.min(MAX_BACKUPS);
    }

    /// Encrypts the current state with a fresh nonce and returns the file bytes, after
    /// checking that they parse and decrypt back to the same payload.
    fn encode(&self) -> Result<Vec<u8>> {
        self.metadata
            .validate()
            .map_err(KeystoreError::InvalidMetadata)?;
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        let mut file = KeystoreFile {
            kdf: self.kdf,
            salt: self.salt,
            nonce,
            metadata: self.metadata.clone(),
            ciphertext: Vec::new(),
        };
        let ad = file.associated_data()?;
        let plain = self
            .payload
            .to_json()
            .map_err(|e| KeystoreError::Internal(format!("serializing the payload: {e}")))?;
        file.ciphertext = crypto::seal(&self.key, &nonce, &ad, &plain)?;
        let bytes = file.to_bytes()?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(KeystoreError::TooLarge {
                path: self.path.clone(),
                size: bytes.len() as u64,
                max: MAX_FILE_BYTES,
            });
        }
        // Never write a file we could not read back.
        let parsed = KeystoreFile::parse(&self.path, &bytes, true)?;
        let back = crypto::open(
            &self.key,
            &parsed.nonce,
            &parsed.associated_data()?,
            &parsed.ciphertext,
        );
        if back.as_deref().map(|b| b.as_slice()) != Some(plain.as_slice()) {
            return Err(KeystoreError::Internal(
                "the encrypted keystore did not decrypt back".into(),
            ));
        }
        Ok(bytes)
    }

    /// Writes the current metadata and wallet state back to the file (fresh nonce, same key),
    /// atomically, rotating backups.
    pub fn save(&mut self) -> Result<()> {
        let bytes = self.encode()?;
        Ok(file::replace(&self.path, &bytes, self.backups)?)
    }

    /// Re-encrypts under `new_password` with a fresh salt and `params`, then removes the
    /// backups (they are encrypted under the old password). If the new file could not be put
    /// in place, the file and this value are unchanged (old password); once it is in place,
    /// this value uses the new password even if a later step (directory sync, removing
    /// backups) reports an error.
    pub fn change_password(
        &mut self,
        new_password: &SecretString,
        params: KdfParams,
    ) -> Result<()> {
        if new_password.is_empty() {
            return Err(KeystoreError::EmptyPassword);
        }
        params.check(true)?;
        let mut salt = [0u8; SALT_LEN];
        random_bytes(&mut salt)?;
        let key = derive_key(new_password.expose().as_bytes(), &salt, params)?;
        let old = (self.kdf, self.salt, self.key.clone());
        self.kdf = params;
        self.salt = salt;
        self.key = key;
        let written = match self.encode() {
            Ok(bytes) => file::replace(&self.path, &bytes, 0),
            Err(e) => Err(file::Replaced::No(e)),
        };
        match written {
            Ok(()) => {}
            Err(file::Replaced::No(e)) => {
                (self.kdf, self.salt, self.key) = old;
                return Err(e);
            }
            Err(file::Replaced::Yes(e)) => return Err(e),
        }
        file::remove_backups(&self.path, MAX_BACKUPS)
    }
}
