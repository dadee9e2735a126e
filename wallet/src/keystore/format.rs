//! The versioned file format: strict, size-limited parsing and canonical serialization.
//!
//! A version-1 file is pretty-printed JSON (two-space indent, fields in this order, a final
//! newline), all hex lowercase:
//!
//! ```json
//! {
//!   "format": "rustchain-keystore",
//!   "version": 1,
//!   "kdf": {"algorithm": "argon2id", "version": 19, "m_cost_kib": 65536, "t_cost": 3,
//!           "p_cost": 1, "salt": "<16 bytes hex>"},
//!   "cipher": {"algorithm": "xchacha20-poly1305", "nonce": "<24 bytes hex>"},
//!   "metadata": {"name": "...", "created_at": 1700000000, "chain": "rtc-main"},
//!   "ciphertext": "<hex: encrypted payload || 16-byte tag>"
//! }
//! ```
//!
//! The AEAD associated data is [`AD_PREFIX`] followed by the compact JSON of the same object
//! without its `ciphertext` member, so every header field (KDF parameters, salt, algorithm
//! names, nonce, metadata) is authenticated. The parser accepts only the exact bytes the wallet
//! writes: after parsing, the file is serialized again and must be byte-identical, so any edit
//! (even whitespace or hex case) is refused as [`KeystoreError::Corrupt`] before decryption.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::contents::Metadata;
use super::crypto::{KdfParams, NONCE_LEN, SALT_LEN, TAG_LEN};
use super::error::{KeystoreError, Result};

/// The `format` field.
pub const FORMAT_NAME: &str = "rustchain-keystore";
/// The version this build reads and writes.
pub const FORMAT_VERSION: u64 = 1;
/// Largest keystore file read or written (1 MiB).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// The KDF algorithm name.
pub const KDF_ALGORITHM: &str = "argon2id";
/// The Argon2 version (0x13).
pub const ARGON2_VERSION: u32 = 19;
/// The cipher algorithm name.
pub const CIPHER_ALGORITHM: &str = "xchacha20-poly1305";
/// Prefix of the associated data.
pub const AD_PREFIX: &[u8] = b"rustchain-keystore/v1/associated-data\n";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKdf {
    algorithm: String,
    version: u32,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCipher {
    algorithm: String,
    nonce: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    format: String,
    version: u64,
    kdf: RawKdf,
    cipher: RawCipher,
    metadata: Metadata,
    ciphertext: String,
}

/// The header as authenticated (the file without `ciphertext`).
#[derive(Serialize)]
struct AdView<'a> {
    format: &'a str,
    version: u64,
    kdf: &'a RawKdf,
    cipher: &'a RawCipher,
    metadata: &'a Metadata,
}

/// Just enough to route by version.
#[derive(Deserialize)]
struct Probe {
    format: Option<String>,
    version: Option<u64>,
}

/// A parsed, validated version-1 file.
#[derive(Debug, Clone)]
pub(crate) struct KeystoreFile {
    pub kdf: KdfParams,
    pub salt: [u8; SALT_LEN],
    pub nonce: [u8; NONCE_LEN],
    pub metadata: Metadata,
    pub ciphertext: Vec<u8>,
}

/// Decodes lowercase hex only (the canonical form), to exactly `N` bytes.
fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = hex_lower(text)?;
    bytes.try_into().ok()
}

fn hex_lower(text: &str) -> Option<Vec<u8>> {
    if !text
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    hex::decode(text).ok()
}

impl KeystoreFile {
    fn raw(&self) -> RawFile {
        RawFile {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            kdf: RawKdf {
                algorithm: KDF_ALGORITHM.to_string(),
                version: ARGON2_VERSION,
                m_cost_kib: self.kdf.m_cost_kib(),
                t_cost: self.kdf.t_cost(),
                p_cost: self.kdf.p_cost(),
                salt: hex::encode(self.salt),
            },
            cipher: RawCipher {
                algorithm: CIPHER_ALGORITHM.to_string(),
                nonce: hex::encode(self.nonce),
            },
            metadata: self.metadata.clone(),
            ciphertext: hex::encode(&self.ciphertext),
        }
    }

    /// The canonical file bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(&self.raw())
            .map_err(|e| KeystoreError::Internal(format!("serializing the keystore: {e}")))?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// The AEAD associated data: [`AD_PREFIX`] and the compact JSON of the header. It does not
    /// depend on the ciphertext, so it can be computed before encrypting.
    pub fn associated_data(&self) -> Result<Vec<u8>> {
        let raw = self.raw();
        let view = AdView {
            format: &raw.format,
            version: raw.version,
            kdf: &raw.kdf,
            cipher: &raw.cipher,
            metadata: &raw.metadata,
        };
        let mut ad = AD_PREFIX.to_vec();
        serde_json::to_writer(&mut ad, &view)
            .map_err(|e| KeystoreError::Internal(format!("serializing the header: {e}")))?;
        Ok(ad)
    }

    /// Parses and validates file bytes. `allow_insecure` admits KDF parameters below the
    /// production minimum (test-only files).
    pub fn parse(path: &Path, bytes: &[u8], allow_insecure: bool) -> Result<Self> {
        let corrupt = |reason: &str| KeystoreError::corrupt(path, reason);
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(KeystoreError::TooLarge {
                path: path.to_path_buf(),
                size: bytes.len() as u64,
                max: MAX_FILE_BYTES,
            });
        }
        if bytes.is_empty() {
            return Err(corrupt("the file is empty"));
        }
        let probe: Probe = serde_json::from_slice(bytes)
            .map_err(|e| corrupt(&format!("not a complete JSON object ({e})")))?;
        if probe.format.as_deref() != Some(FORMAT_NAME) {
            return Err(corrupt(&format!(
                "the \"format\" field is not \"{FORMAT_NAME}\""
            )));
        }
        match probe.version {
            Some(FORMAT_VERSION) => {}
            Some(version) => {
                return Err(KeystoreError::UnsupportedVersion {
                    path: path.to_path_buf(),
                    version,
                    supported: FORMAT_VERSION,
                })
            }
            None => return Err(corrupt("no \"version\" field")),
        }
        let raw: RawFile = serde_json::from_slice(bytes)
            .map_err(|e| corrupt(&format!("invalid version-1 keystore ({e})")))?;
        if raw.kdf.algorithm != KDF_ALGORITHM || raw.kdf.version != ARGON2_VERSION {
            return Err(corrupt(&format!(
                "unsupported key derivation (only {KDF_ALGORITHM} version {ARGON2_VERSION})"
            )));
        }
        if raw.cipher.algorithm != CIPHER_ALGORITHM {
            return Err(corrupt(&format!(
                "unsupported cipher (only {CIPHER_ALGORITHM})"
            )));
        }
        // Bounds before anything can allocate Argon2 memory.
        let kdf = KdfParams::from_raw(raw.kdf.m_cost_kib, raw.kdf.t_cost, raw.kdf.p_cost);
        kdf.check(allow_insecure)?;
        let salt = hex_array::<SALT_LEN>(&raw.kdf.salt).ok_or_else(|| {
            corrupt(&format!(
                "the salt is not {SALT_LEN} bytes of lowercase hex"
            ))
        })?;
        let nonce = hex_array::<NONCE_LEN>(&raw.cipher.nonce).ok_or_else(|| {
            corrupt(&format!(
                "the nonce is not {NONCE_LEN} bytes of lowercase hex"
            ))
        })?;
        let ciphertext = hex_lower(&raw.ciphertext)
            .ok_or_else(|| corrupt("the ciphertext is not lowercase hex"))?;
        if ciphertext.len() < TAG_LEN {
            return Err(corrupt(
                "the ciphertext is shorter than its authentication tag",
            ));
        }
        raw.metadata
            .validate()
            .map_err(|e| corrupt(&format!("metadata: {e}")))?;
        let file = KeystoreFile {
            kdf,
            salt,
            nonce,
            metadata: raw.metadata,
            ciphertext,
        };
        if file.to_bytes()? != bytes {
            return Err(corrupt(
                "not in the exact form the wallet writes (the file was edited)",
            ));
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> KeystoreFile {
        KeystoreFile {
            kdf: KdfParams::default(),
            salt: [1; SALT_LEN],
            nonce: [2; NONCE_LEN],
            metadata: Metadata {
                name: "w".into(),
                created_at: 5,
                chain: "rtc-dev".into(),
            },
            ciphertext: vec![0xab; 40],
        }
    }

    #[test]
    fn canonical_round_trip() {
        let file = sample();
        let bytes = file.to_bytes().unwrap();
        let back = KeystoreFile::parse(Path::new("k"), &bytes, false).unwrap();
        assert_eq!(back.to_bytes().unwrap(), bytes);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("{\n  \"format\": \"rustchain-keystore\",\n  \"version\": 1,"));
        // Whitespace or hex-case edits are refused even though they parse.
        let edited = text.replacen("\"version\": 1", "\"version\":  1", 1);
        assert!(matches!(
            KeystoreFile::parse(Path::new("k"), edited.as_bytes(), false),
            Err(KeystoreError::Corrupt { .. })
        ));
        let upper = text.replacen("abab", "ABab", 1);
        assert_ne!(upper, text);
        assert!(matches!(
            KeystoreFile::parse(Path::new("k"), upper.as_bytes(), false),
            Err(KeystoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn associated_data_covers_header_not_ciphertext() {
        let a = sample();
        let mut b = sample();
        b.ciphertext = vec![9; 17];
        assert_eq!(a.associated_data().unwrap(), b.associated_data().unwrap());
        let mut c = sample();
        c.metadata.name = "x".into();
        assert_ne!(a.associated_data().unwrap(), c.associated_data().unwrap());
        let mut d = sample();
        d.kdf = KdfParams::new(65536, 4, 1).unwrap();
        assert_ne!(a.associated_data().unwrap(), d.associated_data().unwrap());
        assert!(a.associated_data().unwrap().starts_with(AD_PREFIX));
    }

    #[test]
    fn version_and_kdf_errors() {
        let text = String::from_utf8(sample().to_bytes().unwrap()).unwrap();
        let v2 = text.replacen("\"version\": 1,", "\"version\": 2,", 1);
        assert!(matches!(
            KeystoreFile::parse(Path::new("k"), v2.as_bytes(), false),
            Err(KeystoreError::UnsupportedVersion { version: 2, .. })
        ));
        let huge = text.replacen("65536", "4294967295", 1);
        assert!(matches!(
            KeystoreFile::parse(Path::new("k"), huge.as_bytes(), false),
            Err(KeystoreError::KdfParamsOutOfRange(_))
        ));
        let weak = text.replacen("65536", "8", 1);
        assert!(matches!(
            KeystoreFile::parse(Path::new("k"), weak.as_bytes(), false),
            Err(KeystoreError::KdfParamsOutOfRange(_))
        ));
        assert!(matches!(
            KeystoreFile::parse(Path::new("k"), b"", false),
            Err(KeystoreError::Corrupt { .. })
        ));
        assert!(matches!(
            KeystoreFile::parse(Path::new("k"), b"{\"format\":\"other\"}", false),
            Err(KeystoreError::Corrupt { .. })
        ));
        let big = vec![b' '; MAX_FILE_BYTES as usize + 1];
        assert!(matches!(
            KeystoreFile::parse(Path::new("k"), &big, false),
            Err(KeystoreError::TooLarge { .. })
        ));
    }
}
