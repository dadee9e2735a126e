//! 32-byte SHA-256 hashes and BIP-340-style tagged hashing.
//!
//! `tagged_hash(tag, msg) = SHA256(SHA256(tag) || SHA256(tag) || msg)`, exactly as in BIP-340.
//! Each message kind hashed or signed anywhere in RustChain has its own [`Tag`], so a hash or a
//! signature made for one purpose can never be replayed as another.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use borsh::{BorshDeserialize, BorshSerialize};
use sha2::{Digest, Sha256};

/// Every domain-separation tag used in the protocol. The string is part of consensus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tag {
    /// Message signed by a transaction's sender (commits to the chain id inside the body).
    TxSignature,
    /// Transaction id: hash of the whole signed transaction.
    TxId,
    /// Block hash: hash of the header without its signature.
    Block,
    /// Message signed by a block proposer: chain id and block hash.
    BlockSignature,
    /// Address derivation from a public key.
    Address,
    /// Merkle tree leaf (transactions, attestations, receipts roots).
    MerkleLeaf,
    /// Merkle tree inner node.
    MerkleNode,
    /// Merkle root of an empty list.
    MerkleEmpty,
    /// Key of an entry in the authenticated state tree.
    StateKey,
    /// Hash of a receipt (receipts root leaves).
    Receipt,
    /// Hash of the canonical genesis specification (parent of the genesis block).
    Genesis,
    /// Message signed by a validator's finality vote (commits to the chain id inside the body).
    Vote,
    /// Hash of a piece of misbehaviour evidence (evidence root leaves).
    Evidence,
    /// Identity of one offence, so that several pieces of evidence of it punish it once.
    Offence,
    /// Hash of the stable part of a miner's hardware evidence.
    HardwareProfile,
    /// Message signed by a miner's attestation (commits to the chain id inside the body).
    AttestationSignature,
    /// Proof of work of an attestation.
    AttestationPow,
    /// Attestation id: hash of the whole signed attestation (attestations root leaves).
    AttestationId,
    /// Address of a multisig account: hash of its policy (threshold and signer keys).
    MultisigAccount,
    /// Message signed by a multisig co-signer approving one call (commits to the chain id).
    MultisigApproval,
    /// Address of the bounty escrow account.
    BountyEscrow,
}

impl Tag {
    /// The tag string. Changing one is a hard fork.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tag::TxSignature => "RustChain/tx-signature",
            Tag::TxId => "RustChain/txid",
            Tag::Block => "RustChain/block",
            Tag::BlockSignature => "RustChain/block-signature",
            Tag::Address => "RustChain/address",
            Tag::MerkleLeaf => "RustChain/merkle-leaf",
            Tag::MerkleNode => "RustChain/merkle-node",
            Tag::MerkleEmpty => "RustChain/merkle-empty",
            Tag::StateKey => "RustChain/state-key",
            Tag::Receipt => "RustChain/receipt",
            Tag::Genesis => "RustChain/genesis",
            Tag::Vote => "RustChain/vote",
            Tag::Evidence => "RustChain/evidence",
            Tag::Offence => "RustChain/offence",
            Tag::HardwareProfile => "RustChain/hardware-profile",
            Tag::AttestationSignature => "RustChain/attestation",
            Tag::AttestationPow => "RustChain/attestation-pow",
            Tag::AttestationId => "RustChain/attestation-id",
            Tag::MultisigAccount => "RustChain/multisig-account",
            Tag::MultisigApproval => "RustChain/multisig-approval",
            Tag::BountyEscrow => "RustChain/bounty-escrow",
        }
    }

    const ALL: [Tag; 21] = [
        Tag::TxSignature,
        Tag::TxId,
        Tag::Block,
        Tag::BlockSignature,
        Tag::Address,
        Tag::MerkleLeaf,
        Tag::MerkleNode,
        Tag::MerkleEmpty,
        Tag::StateKey,
        Tag::Receipt,
        Tag::Genesis,
        Tag::Vote,
        Tag::Evidence,
        Tag::Offence,
        Tag::HardwareProfile,
        Tag::AttestationSignature,
        Tag::AttestationPow,
        Tag::AttestationId,
        Tag::MultisigAccount,
        Tag::MultisigApproval,
        Tag::BountyEscrow,
    ];
}

/// SHA-256 engines already fed with `SHA256(tag) || SHA256(tag)`, one per tag (a midstate cache).
static PREFIXED: LazyLock<Vec<Sha256>> = LazyLock::new(|| {
    Tag::ALL
        .iter()
        .map(|tag| {
            let tag_hash = Sha256::digest(tag.as_str().as_bytes());
            let mut engine = Sha256::new();
            engine.update(tag_hash);
            engine.update(tag_hash);
            engine
        })
        .collect()
});

/// A tagged hasher for building a hash from several parts without concatenating them first.
#[derive(Clone)]
pub struct TaggedHasher(Sha256);

impl fmt::Debug for TaggedHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TaggedHasher")
    }
}

impl TaggedHasher {
    /// Starts a hash for `tag`.
    pub fn new(tag: Tag) -> Self {
        let index = Tag::ALL.iter().position(|t| *t == tag).unwrap_or_default();
        TaggedHasher(PREFIXED[index].clone())
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(bytes);
        self
    }

    /// Finishes the hash.
    pub fn finish(self) -> Hash {
        Hash(self.0.finalize().into())
    }
}

/// `SHA256(SHA256(tag) || SHA256(tag) || msg)`.
pub fn tagged_hash(tag: Tag, msg: &[u8]) -> Hash {
    let mut h = TaggedHasher::new(tag);
    h.update(msg);
    h.finish()
}

/// A 32-byte hash. Shown and parsed as `0x`-prefixed lowercase hex.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero hash (parent of nothing).
    pub const ZERO: Hash = Hash([0u8; 32]);

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Plain SHA-256 (untagged); used only where an external format requires it.
    pub fn sha256(bytes: &[u8]) -> Hash {
        Hash(Sha256::digest(bytes).into())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a string is not a hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// No `0x` prefix.
    #[error("expected 0x-prefixed hex")]
    MissingPrefix,
    /// Not hex digits.
    #[error("invalid hex: {0}")]
    Invalid(String),
    /// Wrong number of bytes.
    #[error("expected {expected} bytes, got {got}")]
    Length {
        /// bytes expected
        expected: usize,
        /// bytes found
        got: usize,
    },
}

/// Parses `0x`-prefixed hex into bytes (any length).
pub fn parse_hex(s: &str) -> Result<Vec<u8>, HexError> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or(HexError::MissingPrefix)?;
    hex::decode(digits).map_err(|e| HexError::Invalid(e.to_string()))
}

/// Parses `0x`-prefixed hex of exactly `N` bytes.
pub fn parse_hex_array<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    let bytes = parse_hex(s)?;
    let got = bytes.len();
    bytes
        .try_into()
        .map_err(|_| HexError::Length { expected: N, got })
}

impl FromStr for Hash {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex_array::<32>(s).map(Hash)
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_hash_matches_bip340_definition() {
        let tag = Sha256::digest(b"RustChain/txid");
        let mut plain = Sha256::new();
        plain.update(tag);
        plain.update(tag);
        plain.update(b"hello");
        assert_eq!(
            tagged_hash(Tag::TxId, b"hello").0,
            <[u8; 32]>::from(plain.finalize())
        );
    }

    #[test]
    fn different_tags_give_different_hashes() {
        let mut seen = std::collections::BTreeSet::new();
        for tag in Tag::ALL {
            assert!(
                seen.insert(tagged_hash(tag, b"same message")),
                "{tag:?} collides"
            );
        }
    }

    #[test]
    fn tag_strings_are_unique() {
        let strings: std::collections::BTreeSet<_> = Tag::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(strings.len(), Tag::ALL.len());
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let h = tagged_hash(Tag::Block, b"x");
        assert_eq!(h.to_string().parse::<Hash>().unwrap(), h);
        assert_eq!("abcd".parse::<Hash>(), Err(HexError::MissingPrefix));
        assert!(matches!("0xzz".parse::<Hash>(), Err(HexError::Invalid(_))));
        assert_eq!(
            "0xabcd".parse::<Hash>(),
            Err(HexError::Length {
                expected: 32,
                got: 2
            })
        );
    }
}
