//! secp256k1 keys and BIP-340 Schnorr signatures.
//!
//! Public keys are 32-byte x-only keys (BIP-340). A [`PublicKey`] holds raw bytes so that it is
//! cheap to decode, compare and hash; whether the bytes are a valid curve point is checked when
//! a signature is verified (an invalid key verifies nothing). Secret material lives only inside
//! [`KeyPair`], which erases itself on drop and never prints.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use bitcoin::secp256k1::{self, schnorr, Keypair, Message, Secp256k1, XOnlyPublicKey};
use borsh::{BorshDeserialize, BorshSerialize};
use zeroize::Zeroizing;

use crate::hash::{parse_hex_array, Hash, HexError};

/// One signing and verification context for the whole process.
static SECP: LazyLock<Secp256k1<secp256k1::All>> = LazyLock::new(Secp256k1::new);

/// Why a key or signature operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The bytes are not a valid secret key (zero or not below the curve order).
    #[error("invalid secret key")]
    InvalidSecretKey,
    /// The bytes are not an x-only public key on the curve.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// The signature does not verify for this key and message.
    #[error("invalid signature")]
    InvalidSignature,
    /// Bad hex text.
    #[error("{0}")]
    Hex(#[from] HexError),
}

/// A BIP-340 x-only public key, as 32 raw bytes.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// Parses the bytes as a curve point.
    pub fn to_xonly(&self) -> Result<XOnlyPublicKey, KeyError> {
        XOnlyPublicKey::from_slice(&self.0).map_err(|_| KeyError::InvalidPublicKey)
    }

    /// Verifies a BIP-340 signature over a 32-byte message digest.
    pub fn verify(&self, msg: &Hash, sig: &Signature) -> Result<(), KeyError> {
        let key = self.to_xonly()?;
        let sig = schnorr::Signature::from_slice(&sig.0).map_err(|_| KeyError::InvalidSignature)?;
        SECP.verify_schnorr(&sig, &Message::from_digest(msg.0), &key)
            .map_err(|_| KeyError::InvalidSignature)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = PublicKey(parse_hex_array::<32>(s)?);
        key.to_xonly()?;
        Ok(key)
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A 64-byte BIP-340 Schnorr signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// The all-zero signature, used only for the genesis block (which is not signed).
    pub const EMPTY: Signature = Signature([0u8; 64]);
}

impl Default for Signature {
    fn default() -> Self {
        Signature::EMPTY
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

/// A secret key with its public key. Erased on drop; `Debug` shows only the public key.
pub struct KeyPair {
    inner: Keypair,
    public: PublicKey,
}

impl KeyPair {
    /// Builds a key pair from 32 secret bytes.
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Result<Self, KeyError> {
        let inner =
            Keypair::from_seckey_slice(&SECP, secret).map_err(|_| KeyError::InvalidSecretKey)?;
        let public = PublicKey(inner.x_only_public_key().0.serialize());
        Ok(KeyPair { inner, public })
    }

    /// A fresh random key pair from the operating system's randomness.
    pub fn generate() -> Self {
        let inner = Keypair::new(&SECP, &mut bitcoin::secp256k1::rand::thread_rng());
        let public = PublicKey(inner.x_only_public_key().0.serialize());
        KeyPair { inner, public }
    }

    /// The x-only public key.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The secret bytes, in a buffer that is zeroed when dropped.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.inner.secret_bytes())
    }

    /// Signs a 32-byte digest with BIP-340 (with fresh auxiliary randomness).
    pub fn sign(&self, msg: &Hash) -> Signature {
        let sig = SECP.sign_schnorr(&Message::from_digest(msg.0), &self.inner);
        Signature(sig.serialize())
    }

    /// Signs deterministically (no auxiliary randomness); used for reproducible fixtures.
    pub fn sign_deterministic(&self, msg: &Hash) -> Signature {
        let sig = SECP.sign_schnorr_no_aux_rand(&Message::from_digest(msg.0), &self.inner);
        Signature(sig.serialize())
    }
}

impl Clone for KeyPair {
    fn clone(&self) -> Self {
        KeyPair {
            inner: self.inner,
            public: self.public,
        }
    }
}

impl Drop for KeyPair {
    fn drop(&mut self) {
        self.inner.non_secure_erase();
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KeyPair {{ public: {}, secret: <redacted> }}",
            self.public
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{tagged_hash, Tag};

    #[test]
    fn sign_and_verify() {
        let kp = KeyPair::from_secret_bytes(&[7u8; 32]).unwrap();
        let msg = tagged_hash(Tag::TxSignature, b"m");
        let sig = kp.sign(&msg);
        assert_eq!(kp.public_key().verify(&msg, &sig), Ok(()));
        let other = tagged_hash(Tag::TxSignature, b"n");
        assert_eq!(
            kp.public_key().verify(&other, &sig),
            Err(KeyError::InvalidSignature)
        );
        let mut bad = sig;
        bad.0[5] ^= 1;
        assert!(kp.public_key().verify(&msg, &bad).is_err());
    }

    #[test]
    fn invalid_keys_are_errors_not_panics() {
        assert_eq!(
            KeyPair::from_secret_bytes(&[0u8; 32]).unwrap_err(),
            KeyError::InvalidSecretKey
        );
        // x = 5 is not on secp256k1? Use the field prime, which is never a valid x coordinate.
        let not_on_curve = PublicKey([0xff; 32]);
        assert_eq!(
            not_on_curve.to_xonly().unwrap_err(),
            KeyError::InvalidPublicKey
        );
        assert!(not_on_curve.verify(&Hash::ZERO, &Signature::EMPTY).is_err());
    }

    #[test]
    fn debug_redacts_secret() {
        let kp = KeyPair::from_secret_bytes(&[9u8; 32]).unwrap();
        let shown = format!("{kp:?}");
        assert!(shown.contains("redacted"));
        assert!(!shown.contains(&hex::encode([9u8; 32])));
    }
}
