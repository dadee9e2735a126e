//! What a keystore holds: clear metadata (authenticated) and the encrypted payload.

use std::fmt;
use std::io::Write;

use rustchain_primitives::Hash;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// Longest wallet name (bytes of UTF-8).
pub const MAX_NAME_BYTES: usize = 128;
/// Longest chain kind (bytes).
pub const MAX_CHAIN_BYTES: usize = 32;

/// Non-secret metadata stored **in clear** in the file (so a wallet can be listed without its
/// password) and bound to the ciphertext as AEAD associated data (so it cannot be changed
/// without the password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Wallet name: 1 to [`MAX_NAME_BYTES`] bytes, no control characters.
    pub name: String,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: u64,
    /// The chain kind the wallet is for, e.g. `rtc-main`, `rtc-test`, `rtc-dev`, `bitcoin`:
    /// 1 to [`MAX_CHAIN_BYTES`] characters of `a-z`, `0-9`, `-`, `_`, `.`.
    pub chain: String,
}

impl Metadata {
    /// Metadata created now.
    pub fn new(name: impl Into<String>, chain: impl Into<String>) -> Self {
        let created_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Metadata {
            name: name.into(),
            created_at,
            chain: chain.into(),
        }
    }

    /// Checks the field rules.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() || self.name.len() > MAX_NAME_BYTES {
            return Err(format!(
                "wallet name must be 1 to {MAX_NAME_BYTES} bytes, not {}",
                self.name.len()
            ));
        }
        if self.name.chars().any(char::is_control) {
            return Err("wallet name contains a control character".into());
        }
        if self.chain.is_empty()
            || self.chain.len() > MAX_CHAIN_BYTES
            || !self.chain.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
            })
        {
            return Err(format!(
                "chain kind must be 1 to {MAX_CHAIN_BYTES} characters of a-z, 0-9, '-', '_', '.'"
            ));
        }
        Ok(())
    }
}

/// Derivation state of one HD account (its position in [`WalletData::accounts`] is its
/// BIP-44 account index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountState {
    /// Next unused index on the external (receive) chain.
    pub next_receive: u32,
    /// Next unused index on the internal (change) chain.
    pub next_change: u32,
}

/// Wallet state stored **inside the encrypted payload**: private (multisig cosigner keys and
/// policies reveal holdings) and changed by the wallet over time. Not secret in the sense of
/// key material, so `Debug` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletData {
    /// HD accounts in use (index = BIP-44 account number).
    pub accounts: Vec<AccountState>,
    /// Address gap limit for discovery.
    pub gap_limit: u32,
    /// Spending policy settings (defined by the wallet's policy module; opaque here).
    pub policy: serde_json::Value,
    /// Watched multisig accounts (defined by the wallet's multisig module; opaque here).
    pub multisig: Vec<serde_json::Value>,
}

impl Default for WalletData {
    /// One account, gap limit 20, no policy, no multisig accounts.
    fn default() -> Self {
        WalletData {
            accounts: vec![AccountState::default()],
            gap_limit: 20,
            policy: serde_json::Value::Null,
            multisig: Vec::new(),
        }
    }
}

/// The plaintext that is encrypted: secrets plus [`WalletData`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Payload {
    /// The BIP-39 mnemonic, normalised to single spaces.
    #[serde(serialize_with = "ser_secret", deserialize_with = "de_secret")]
    pub mnemonic: Zeroizing<String>,
    /// Whether the wallet uses a (non-empty) BIP-39 passphrase; the passphrase itself is not
    /// stored.
    pub bip39_passphrase: bool,
    /// Check value of the seed (mnemonic + passphrase): 4 bytes, hex. Detects a mistyped
    /// passphrase.
    pub passphrase_check: String,
    /// Wallet state.
    pub wallet: WalletData,
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payload")
            .field("mnemonic", &"<redacted>")
            .field("bip39_passphrase", &self.bip39_passphrase)
            .field("wallet", &self.wallet)
            .finish_non_exhaustive()
    }
}

fn ser_secret<S: Serializer>(secret: &Zeroizing<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.as_str())
}

fn de_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Zeroizing<String>, D::Error> {
    String::deserialize(d).map(Zeroizing::new)
}

/// Counts bytes written, to size a buffer before serializing secrets into it.
struct Counter(usize);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Payload {
    /// Compact JSON in a zeroizing buffer allocated once at its final size (a growing `Vec`
    /// would leave copies of the mnemonic in freed memory).
    pub fn to_json(&self) -> Result<Zeroizing<Vec<u8>>, serde_json::Error> {
        let mut counter = Counter(0);
        serde_json::to_writer(&mut counter, self)?;
        let mut buf = Zeroizing::new(Vec::with_capacity(counter.0));
        serde_json::to_writer(&mut *buf, self)?;
        Ok(buf)
    }

    /// Parses decrypted JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Domain tag of the passphrase check value.
const CHECK_TAG: &[u8] = b"RustChain/keystore/bip39-seed-check\0";

/// The 4-byte check value of a BIP-39 seed, hex: the first bytes of
/// SHA-256(`CHECK_TAG` || seed). It lets `seed()` refuse a mistyped passphrase; 32 bits leave
/// a one-in-four-billion chance that a wrong passphrase passes.
pub(crate) fn passphrase_check(seed: &[u8; 64]) -> String {
    let mut buf = Zeroizing::new(Vec::with_capacity(CHECK_TAG.len() + seed.len()));
    buf.extend_from_slice(CHECK_TAG);
    buf.extend_from_slice(seed);
    let digest = Hash::sha256(&buf);
    hex::encode(&digest.0[..4])
}

/// Normalises a mnemonic to single spaces, into a zeroizing buffer allocated once.
pub(crate) fn normalize_mnemonic(phrase: &str) -> (Zeroizing<String>, usize) {
    let words: Vec<&str> = phrase.split_whitespace().collect();
    let len = words.iter().map(|w| w.len()).sum::<usize>() + words.len().saturating_sub(1);
    let mut out = Zeroizing::new(String::with_capacity(len));
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    (out, words.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_rules() {
        assert!(Metadata::new("main", "rtc-main").validate().is_ok());
        assert!(Metadata::new("", "rtc-main").validate().is_err());
        assert!(Metadata::new("a\nb", "rtc-main").validate().is_err());
        assert!(Metadata::new("x".repeat(129), "rtc-main")
            .validate()
            .is_err());
        assert!(Metadata::new("ok", "RTC").validate().is_err());
        assert!(Metadata::new("ok", "").validate().is_err());
        assert!(Metadata::new("Wället ✓", "bitcoin").validate().is_ok());
    }

    #[test]
    fn payload_json_round_trip_and_redacted_debug() {
        let p = Payload {
            mnemonic: Zeroizing::new("abandon about".into()),
            bip39_passphrase: false,
            passphrase_check: "00112233".into(),
            wallet: WalletData::default(),
        };
        let json = p.to_json().unwrap();
        assert_eq!(json.len(), json.capacity());
        let back = Payload::from_json(&json).unwrap();
        assert_eq!(back.mnemonic.as_str(), "abandon about");
        assert_eq!(back.wallet, WalletData::default());
        assert!(!format!("{p:?}").contains("abandon"));
    }

    #[test]
    fn normalize() {
        let (m, n) = normalize_mnemonic("  a\tb \n c ");
        assert_eq!((m.as_str(), n), ("a b c", 3));
        assert_eq!(m.len(), m.capacity());
    }
}
