//! Strict parsing of BIP-32 extended keys.
//!
//! `bitcoin` 0.32 decodes extended keys without three of BIP-32's serialization rules (test
//! vector 5 has the cases): a private key's 33 key bytes must start with `0x00`, and a depth-0
//! (master) key must have a zero parent fingerprint and child number 0. A key that breaks them is
//! not a key any honest wallet wrote, so everything here that imports extended keys (watch-only
//! descriptors, multisig cosigner keys) refuses it instead of silently accepting it.

use std::str::FromStr;

use bitcoin::bip32::{ChildNumber, Fingerprint, Xpriv, Xpub};

/// Why an extended key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XkeyError {
    /// Not Base58Check, or not 78 bytes.
    #[error("not a BIP-32 extended key: {0}")]
    Encoding(String),
    /// A master (depth 0) key with a parent fingerprint or a child number.
    #[error("extended key at depth 0 has a parent fingerprint or a child number")]
    MasterWithParent,
    /// Private key data that does not start with `0x00` (often a public key under a private
    /// version).
    #[error("extended private key data does not start with 0x00")]
    PrivateKeyPrefix,
    /// Refused by the `bitcoin` crate's own checks.
    #[error("invalid extended key: {0}")]
    Invalid(String),
}

/// BIP-32's rule for the depth-0 fields, on a decoded public key.
pub fn check_xpub(key: &Xpub) -> Result<(), XkeyError> {
    check_depth_zero(key.depth, key.parent_fingerprint, key.child_number)
}

fn check_depth_zero(depth: u8, parent: Fingerprint, child: ChildNumber) -> Result<(), XkeyError> {
    if depth == 0 && (parent != Fingerprint::default() || child != ChildNumber::from(0)) {
        return Err(XkeyError::MasterWithParent);
    }
    Ok(())
}

/// The checks that need the serialized bytes (the private key prefix byte is gone once decoded).
fn check_serialized(key: &str, private: bool) -> Result<(), XkeyError> {
    let data =
        bitcoin::base58::decode_check(key).map_err(|e| XkeyError::Encoding(e.to_string()))?;
    if data.len() != 78 {
        return Err(XkeyError::Encoding(format!(
            "{} bytes, expected 78",
            data.len()
        )));
    }
    if private && data[45] != 0 {
        return Err(XkeyError::PrivateKeyPrefix);
    }
    Ok(())
}

/// Parses an extended public key (`xpub`, `tpub`) with every BIP-32 rule.
pub fn parse_xpub(key: &str) -> Result<Xpub, XkeyError> {
    check_serialized(key, false)?;
    let xpub = Xpub::from_str(key).map_err(|e| XkeyError::Invalid(e.to_string()))?;
    check_xpub(&xpub)?;
    Ok(xpub)
}

/// Parses an extended private key (`xprv`, `tprv`) with every BIP-32 rule.
pub fn parse_xpriv(key: &str) -> Result<Xpriv, XkeyError> {
    check_serialized(key, true)?;
    let xpriv = Xpriv::from_str(key).map_err(|e| XkeyError::Invalid(e.to_string()))?;
    check_depth_zero(xpriv.depth, xpriv.parent_fingerprint, xpriv.child_number)?;
    Ok(xpriv)
}

#[cfg(test)]
mod tests {
    use super::*;

    // BIP-32 test vector 1, chain m.
    const XPUB_M: &str = "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8";
    const XPRV_M: &str = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";

    #[test]
    fn valid_master_keys_parse() {
        assert_eq!(parse_xpub(XPUB_M).unwrap().to_string(), XPUB_M);
        assert_eq!(parse_xpriv(XPRV_M).unwrap().to_string(), XPRV_M);
    }

    #[test]
    fn a_master_key_with_a_child_number_is_refused() {
        let mut xpub = Xpub::from_str(XPUB_M).unwrap();
        xpub.child_number = ChildNumber::from(1);
        let text = xpub.to_string();
        assert!(Xpub::from_str(&text).is_ok(), "the crate alone accepts it");
        assert_eq!(parse_xpub(&text), Err(XkeyError::MasterWithParent));
        xpub.child_number = ChildNumber::from(0);
        xpub.parent_fingerprint = Fingerprint::from([1, 2, 3, 4]);
        assert_eq!(
            parse_xpub(&xpub.to_string()),
            Err(XkeyError::MasterWithParent)
        );
    }

    #[test]
    fn garbage_is_an_encoding_error() {
        assert!(matches!(parse_xpub("xpub"), Err(XkeyError::Encoding(_))));
        assert!(matches!(parse_xpriv(""), Err(XkeyError::Encoding(_))));
    }
}
