//! Miner key files (mode 0600 on Unix).
//!
//! - **Plain**: the 32-byte secret as 64 hex characters and a newline.
//! - **Encrypted** (with a passphrase): JSON
//!   `{"version":1,"kdf":"argon2id","m_kib":65536,"t":3,"p":1,"salt":hex16,
//!   "cipher":"xchacha20poly1305","nonce":hex24,"ciphertext":hex48,"public_key":hex32}`;
//!   the key is Argon2id(passphrase, salt) and the associated data is [`AAD`], so the
//!   ciphertext cannot be moved to another format. The public key is stored in clear so
//!   `rustchain-miner` can show it without the passphrase; it is checked after decryption.

use std::io::{Read, Write};
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rustchain_primitives::KeyPair;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Associated data of the encrypted secret.
pub const AAD: &[u8] = b"RustChain/miner-key/v1";
/// Largest key file read.
pub const MAX_KEY_FILE: u64 = 4 * 1024;
/// Largest passphrase file read.
pub const MAX_PASSPHRASE_FILE: u64 = 4 * 1024;

/// Argon2id cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfCost {
    /// Memory, KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Default for KdfCost {
    /// 64 MiB, 3 passes, 1 lane (about a second on a small machine).
    fn default() -> Self {
        KdfCost {
            m_kib: 64 * 1024,
            t: 3,
            p: 1,
        }
    }
}

/// Key file errors.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// I/O.
    #[error("{path}: {source}")]
    Io {
        /// file
        path: String,
        /// cause
        source: std::io::Error,
    },
    /// The file is not a key file.
    #[error("{0}: not a miner key file ({1})")]
    Format(String, String),
    /// The file is encrypted and no passphrase was given.
    #[error("{0} is encrypted: give --passphrase-file")]
    NeedPassphrase(String),
    /// Wrong passphrase or tampered file.
    #[error("{0}: wrong passphrase, or the file was modified")]
    Decrypt(String),
    /// The KDF parameters are refused.
    #[error("key derivation: {0}")]
    Kdf(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct Encrypted {
    version: u32,
    kdf: String,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
    cipher: String,
    nonce: String,
    ciphertext: String,
    public_key: String,
}

fn derive(
    passphrase: &[u8],
    salt: &[u8],
    cost: KdfCost,
) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    // Bounds on what a file may ask for: at most 4 GiB of memory and 64 passes.
    if cost.m_kib > 4 * 1024 * 1024 || cost.t > 64 || cost.p > 16 {
        return Err(KeyFileError::Kdf(format!(
            "cost {cost:?} is above the limits"
        )));
    }
    let params = Params::new(cost.m_kib, cost.t, cost.p, Some(32))
        .map_err(|e| KeyFileError::Kdf(e.to_string()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, key.as_mut())
        .map_err(|e| KeyFileError::Kdf(e.to_string()))?;
    Ok(key)
}

/// The text of a key file for `key` (plain, or encrypted with `passphrase`).
pub fn encode(
    key: &KeyPair,
    passphrase: Option<&[u8]>,
    cost: KdfCost,
) -> Result<Zeroizing<String>, KeyFileError> {
    let secret = key.secret_bytes();
    let Some(passphrase) = passphrase else {
        return Ok(Zeroizing::new(format!("{}\n", hex::encode(&secret[..]))));
    };
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let derived = derive(passphrase, &salt, cost)?;
    let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(derived.as_ref()));
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: &secret[..],
                aad: AAD,
            },
        )
        .map_err(|_| KeyFileError::Kdf("encryption failed".into()))?;
    let file = Encrypted {
        version: 1,
        kdf: "argon2id".into(),
        m_kib: cost.m_kib,
        t: cost.t,
        p: cost.p,
        salt: hex::encode(salt),
        cipher: "xchacha20poly1305".into(),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ciphertext),
        public_key: hex::encode(key.public_key().0),
    };
    let mut text =
        serde_json::to_string_pretty(&file).map_err(|e| KeyFileError::Kdf(e.to_string()))?;
    text.push('\n');
    Ok(Zeroizing::new(text))
}

/// Decodes a key file's text.
pub fn decode(name: &str, text: &str, passphrase: Option<&[u8]>) -> Result<KeyPair, KeyFileError> {
    let bad = |why: &str| KeyFileError::Format(name.to_string(), why.to_string());
    let trimmed = text.trim();
    if !trimmed.starts_with('{') {
        let hex_secret = trimmed.trim_start_matches("0x");
        let mut secret = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_secret, secret.as_mut())
            .map_err(|_| bad("expected 64 hex characters"))?;
        return KeyPair::from_secret_bytes(&secret).map_err(|e| bad(&e.to_string()));
    }
    let file: Encrypted = serde_json::from_str(trimmed).map_err(|e| bad(&e.to_string()))?;
    if file.version != 1 || file.kdf != "argon2id" || file.cipher != "xchacha20poly1305" {
        return Err(bad("unsupported version, kdf or cipher"));
    }
    let passphrase = passphrase.ok_or_else(|| KeyFileError::NeedPassphrase(name.to_string()))?;
    let salt = hex::decode(&file.salt).map_err(|_| bad("salt is not hex"))?;
    let nonce = hex::decode(&file.nonce).map_err(|_| bad("nonce is not hex"))?;
    let ciphertext = hex::decode(&file.ciphertext).map_err(|_| bad("ciphertext is not hex"))?;
    if nonce.len() != 24 || salt.len() < 8 || ciphertext.len() != 48 {
        return Err(bad("wrong salt, nonce or ciphertext length"));
    }
    let derived = derive(
        passphrase,
        &salt,
        KdfCost {
            m_kib: file.m_kib,
            t: file.t,
            p: file.p,
        },
    )?;
    let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(derived.as_ref()));
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: AAD,
                },
            )
            .map_err(|_| KeyFileError::Decrypt(name.to_string()))?,
    );
    let mut secret = Zeroizing::new([0u8; 32]);
    if plain.len() != 32 {
        return Err(bad("decrypted secret has the wrong length"));
    }
    secret.copy_from_slice(&plain);
    let key = KeyPair::from_secret_bytes(&secret).map_err(|e| bad(&e.to_string()))?;
    if hex::encode(key.public_key().0) != file.public_key.trim_start_matches("0x") {
        return Err(bad("the public key does not match the secret"));
    }
    Ok(key)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes a new key file with mode 0600 (refuses to overwrite an existing file).
pub fn write(
    path: &Path,
    key: &KeyPair,
    passphrase: Option<&[u8]>,
    cost: KdfCost,
) -> Result<(), KeyFileError> {
    let text = encode(key, passphrase, cost)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(text.as_bytes()).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    Ok(())
}

/// Reads a bounded file.
fn read_bounded(path: &Path, max: u64) -> Result<Zeroizing<String>, KeyFileError> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    let mut text = Zeroizing::new(String::new());
    file.take(max + 1)
        .read_to_string(&mut text)
        .map_err(io(path))?;
    if text.len() as u64 > max {
        return Err(KeyFileError::Format(
            path.display().to_string(),
            format!("larger than {max} bytes"),
        ));
    }
    Ok(text)
}

/// Reads a key file.
pub fn read(path: &Path, passphrase: Option<&[u8]>) -> Result<KeyPair, KeyFileError> {
    let text = read_bounded(path, MAX_KEY_FILE)?;
    decode(&path.display().to_string(), &text, passphrase)
}

/// Reads a passphrase file (its first line, without the line end).
pub fn read_passphrase(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let text = read_bounded(path, MAX_PASSPHRASE_FILE)?;
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(KeyFileError::Format(
            path.display().to_string(),
            "empty passphrase".into(),
        ));
    }
    Ok(Zeroizing::new(line.as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: KdfCost = KdfCost {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    #[test]
    fn plain_round_trip_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("miner.key");
        let key = KeyPair::from_secret_bytes(&[7; 32]).unwrap();
        write(&path, &key, None, CHEAP).unwrap();
        let back = read(&path, None).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Never overwrites.
        assert!(write(&path, &key, None, CHEAP).is_err());
    }

    #[test]
    fn encrypted_round_trip_wrong_passphrase_and_tampering() {
        let key = KeyPair::from_secret_bytes(&[9; 32]).unwrap();
        let text = encode(&key, Some(b"correct horse"), CHEAP).unwrap();
        assert!(!text.contains(&hex::encode([9u8; 32])));
        let back = decode("k", &text, Some(b"correct horse")).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        assert!(matches!(
            decode("k", &text, Some(b"wrong")),
            Err(KeyFileError::Decrypt(_))
        ));
        assert!(matches!(
            decode("k", &text, None),
            Err(KeyFileError::NeedPassphrase(_))
        ));
        let mut file: serde_json::Value = serde_json::from_str(&text).unwrap();
        file["m_kib"] = serde_json::json!(u32::MAX);
        assert!(matches!(
            decode("k", &file.to_string(), Some(b"correct horse")),
            Err(KeyFileError::Kdf(_))
        ));
        assert!(decode("k", "not a key", None).is_err());
        assert!(decode("k", "{\"version\":1}", None).is_err());
    }
}
