//! Hierarchical deterministic keys: BIP-39 mnemonics and BIP-32 derivation of RTC account keys.
//!
//! RTC account keys live at `m/44'/COIN_TYPE'/account'/change/index` (BIP-44 layout). The coin
//! type [`COIN_TYPE`] is RustChain's own and is not registered in SLIP-44; it is part of every
//! wallet's derivation and must not change. Derivation uses `bitcoin::bip32`.

use bitcoin::bip32::{ChildNumber, DerivationPath, Xpriv};
use zeroize::Zeroizing;

use crate::keys::{KeyError, KeyPair};

/// RustChain's BIP-44 coin type (0x5254, "RT").
pub const COIN_TYPE: u32 = 0x5254;

/// Why a mnemonic or derivation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HdError {
    /// The phrase is not a valid BIP-39 English mnemonic (unknown word, bad checksum, length).
    #[error("invalid mnemonic: {0}")]
    Mnemonic(String),
    /// BIP-32 derivation failed (an index out of range or an invalid derived key).
    #[error("key derivation failed: {0}")]
    Derivation(String),
    /// The derived key is unusable.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The 64-byte BIP-39 seed of a mnemonic and passphrase. Zeroed on drop.
pub fn seed_from_mnemonic(phrase: &str, passphrase: &str) -> Result<Zeroizing<[u8; 64]>, HdError> {
    let mnemonic = bip39::Mnemonic::parse_in(bip39::Language::English, phrase)
        .map_err(|e| HdError::Mnemonic(e.to_string()))?;
    Ok(Zeroizing::new(mnemonic.to_seed(passphrase)))
}

/// `m/44'/COIN_TYPE'/account'/change/index`.
pub fn account_path(account: u32, change: u32, index: u32) -> Result<DerivationPath, HdError> {
    let hardened =
        |i: u32| ChildNumber::from_hardened_idx(i).map_err(|e| HdError::Derivation(e.to_string()));
    let normal =
        |i: u32| ChildNumber::from_normal_idx(i).map_err(|e| HdError::Derivation(e.to_string()));
    Ok(DerivationPath::from(vec![
        hardened(44)?,
        hardened(COIN_TYPE)?,
        hardened(account)?,
        normal(change)?,
        normal(index)?,
    ]))
}

/// Derives the key pair at `path` from a BIP-39 seed.
pub fn derive_keypair(seed: &[u8], path: &DerivationPath) -> Result<KeyPair, HdError> {
    let secp = bitcoin::secp256k1::Secp256k1::signing_only();
    let master = Xpriv::new_master(bitcoin::NetworkKind::Main, seed)
        .map_err(|e| HdError::Derivation(e.to_string()))?;
    let child = master
        .derive_priv(&secp, path)
        .map_err(|e| HdError::Derivation(e.to_string()))?;
    let secret = Zeroizing::new(child.private_key.secret_bytes());
    Ok(KeyPair::from_secret_bytes(&secret)?)
}

/// The key of RTC account `account`, external chain, address `index`, from a mnemonic.
pub fn rtc_account_key(
    phrase: &str,
    passphrase: &str,
    account: u32,
    index: u32,
) -> Result<KeyPair, HdError> {
    let seed = seed_from_mnemonic(phrase, passphrase)?;
    derive_keypair(seed.as_ref(), &account_path(account, 0, index)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHRASE: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    #[test]
    fn bip39_seed_matches_trezor_vector() {
        // First vector of the Trezor BIP-39 list (passphrase "TREZOR").
        let seed = seed_from_mnemonic(PHRASE, "TREZOR").unwrap();
        assert_eq!(
            hex::encode(&seed[..]),
            "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"
        );
    }

    #[test]
    fn bad_mnemonics_are_clear_errors() {
        let bad_word = PHRASE.replace("about", "aboot");
        assert!(matches!(
            seed_from_mnemonic(&bad_word, ""),
            Err(HdError::Mnemonic(_))
        ));
        let bad_checksum = PHRASE.replace("about", "abandon");
        assert!(matches!(
            seed_from_mnemonic(&bad_checksum, ""),
            Err(HdError::Mnemonic(_))
        ));
    }

    #[test]
    fn derivation_is_deterministic_and_index_sensitive() {
        let a = rtc_account_key(PHRASE, "", 0, 0).unwrap().public_key();
        let b = rtc_account_key(PHRASE, "", 0, 0).unwrap().public_key();
        let c = rtc_account_key(PHRASE, "", 0, 1).unwrap().public_key();
        let d = rtc_account_key(PHRASE, "pass", 0, 0).unwrap().public_key();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert!(account_path(1 << 31, 0, 0).is_err());
    }
}
