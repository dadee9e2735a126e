//! Block headers and blocks.
//!
//! The block hash is `tagged_hash("RustChain/block", borsh(header) without the trailing 64-byte
//! signature)`: the signature is not part of the id, so a block has one id however it was signed.
//! The proposer signs `tagged_hash("RustChain/block-signature", borsh(chain_id) || block hash)`,
//! which commits to the chain id. The genesis block is unsigned; its `parent_hash` is the hash of
//! the genesis specification, so the genesis hash commits to every genesis parameter.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::attestation::Attestation;
use crate::chain::ChainId;
use crate::codec::{self, DecodeError, MAX_BLOCK_BYTES};
use crate::evidence::Evidence;
use crate::hash::{tagged_hash, Hash, Tag, TaggedHasher};
use crate::keys::{KeyError, KeyPair, PublicKey, Signature};
use crate::merkle::merkle_root;
use crate::transaction::Transaction;

/// Current header version.
pub const HEADER_VERSION: u32 = 1;

/// A block header. Field order is part of consensus (it is the encoding order).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BlockHeader {
    /// Header format version.
    pub version: u32,
    /// Distance from genesis (genesis is 0).
    pub height: u64,
    /// Slot number the block was produced in (strictly increasing along a chain).
    pub slot: u64,
    /// Milliseconds since the Unix epoch, the start of `slot`.
    pub timestamp_ms: u64,
    /// Hash of the parent block (for genesis: hash of the genesis specification).
    pub parent_hash: Hash,
    /// Merkle root of the transaction ids.
    pub transactions_root: Hash,
    /// Merkle root of the attestation hashes.
    pub attestations_root: Hash,
    /// Merkle root of the evidence hashes.
    pub evidence_root: Hash,
    /// Root of the authenticated state after executing this block.
    pub state_root: Hash,
    /// Merkle root of the receipt hashes, one per transaction in order.
    pub receipts_root: Hash,
    /// The validator that produced the block.
    pub proposer: PublicKey,
    /// The proposer's signature (must stay the last field; see the module docs).
    pub signature: Signature,
}

impl BlockHeader {
    /// The block hash (excludes the signature).
    pub fn hash(&self) -> Hash {
        let bytes = codec::encode(self);
        let unsigned = &bytes[..bytes.len().saturating_sub(64)];
        tagged_hash(Tag::Block, unsigned)
    }

    /// The digest the proposer signs.
    pub fn signing_hash(&self, chain_id: &ChainId) -> Hash {
        let mut h = TaggedHasher::new(Tag::BlockSignature);
        h.update(&codec::encode(chain_id)).update(&self.hash().0);
        h.finish()
    }

    /// Signs the header in place.
    pub fn sign(&mut self, chain_id: &ChainId, key: &KeyPair) {
        self.signature = key.sign(&self.signing_hash(chain_id));
    }

    /// Verifies the proposer's signature.
    pub fn verify_signature(&self, chain_id: &ChainId) -> Result<(), KeyError> {
        self.proposer
            .verify(&self.signing_hash(chain_id), &self.signature)
    }
}

/// A block: header, transactions, attestations and evidence of misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// Transactions, executed in order.
    pub transactions: Vec<Transaction>,
    /// RIP-200 hardware attestations (at most
    /// [`MAX_BLOCK_ATTESTATIONS`](crate::attestation::MAX_BLOCK_ATTESTATIONS), each well formed).
    #[borsh(deserialize_with = "crate::attestation::deserialize_list")]
    pub attestations: Vec<Attestation>,
    /// Evidence of validator misbehaviour, applied after the transactions.
    pub evidence: Vec<Evidence>,
}

impl Block {
    /// The block hash.
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// Merkle root of this block's transaction ids.
    pub fn compute_transactions_root(&self) -> Hash {
        let ids: Vec<Hash> = self.transactions.iter().map(Transaction::hash).collect();
        merkle_root(&ids)
    }

    /// Merkle root of this block's attestations.
    pub fn compute_attestations_root(&self) -> Hash {
        let ids: Vec<Hash> = self.attestations.iter().map(Attestation::hash).collect();
        merkle_root(&ids)
    }

    /// Merkle root of this block's evidence.
    pub fn compute_evidence_root(&self) -> Hash {
        let ids: Vec<Hash> = self.evidence.iter().map(Evidence::hash).collect();
        merkle_root(&ids)
    }

    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes untrusted bytes (at most [`MAX_BLOCK_BYTES`], no trailing bytes).
    pub fn decode(bytes: &[u8]) -> Result<Block, DecodeError> {
        codec::decode(bytes, MAX_BLOCK_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> BlockHeader {
        BlockHeader {
            version: HEADER_VERSION,
            height: 1,
            slot: 4,
            timestamp_ms: 1_000,
            parent_hash: Hash([1; 32]),
            transactions_root: merkle_root(&[]),
            attestations_root: merkle_root(&[]),
            evidence_root: merkle_root(&[]),
            state_root: Hash([2; 32]),
            receipts_root: merkle_root(&[]),
            proposer: PublicKey::default(),
            signature: Signature::EMPTY,
        }
    }

    #[test]
    fn hash_excludes_signature_but_covers_fields() {
        let key = KeyPair::from_secret_bytes(&[4u8; 32]).unwrap();
        let chain = ChainId::new("dev-x").unwrap();
        let mut h = header();
        h.proposer = key.public_key();
        let before = h.hash();
        h.sign(&chain, &key);
        assert_eq!(h.hash(), before);
        assert!(h.verify_signature(&chain).is_ok());
        assert!(h.verify_signature(&ChainId::new("dev-y").unwrap()).is_err());
        let mut changed = h.clone();
        changed.state_root = Hash([3; 32]);
        assert_ne!(changed.hash(), before);
        assert!(changed.verify_signature(&chain).is_err());
    }

    #[test]
    fn attestation_count_is_capped() {
        let block = Block {
            header: header(),
            transactions: vec![],
            attestations: vec![],
            evidence: vec![],
        };
        let mut bytes = block.encode();
        let n = bytes.len();
        // Rewrite the attestation count (the 4 bytes before the empty evidence list).
        let over = crate::attestation::MAX_BLOCK_ATTESTATIONS as u32 + 1;
        bytes[n - 8..n - 4].copy_from_slice(&over.to_le_bytes());
        let err = Block::decode(&bytes).unwrap_err();
        assert!(err.to_string().contains("above the limit"), "{err}");
        bytes[n - 8..n - 4].copy_from_slice(&1u32.to_le_bytes());
        assert!(
            Block::decode(&bytes).is_err(),
            "a count with no attestation after it"
        );
        assert_eq!(Block::decode(&block.encode()).unwrap(), block);
    }
}
