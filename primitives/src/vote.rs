//! Finality votes and finality certificates.
//!
//! A vote is a validator's signed statement "the chain from `source` to `target` is mine":
//! `source` is the highest *justified* block the voter knows, `target` is the block at the head
//! of its chain that it has imported and fully validated. The rules that turn votes into
//! justification and finality, and why they are safe, are in the consensus crate
//! (`rustchain_consensus::finality`) and docs/consensus.md.
//!
//! The voter signs `tagged_hash("RustChain/vote", borsh(VoteBody))`; the body carries the chain
//! id, so a vote cannot be replayed on another chain.
//!
//! A [`FinalityCertificate`] proves that a block is final: it holds the votes of more than 2/3
//! of the validators for the link from that block (`source`) to its direct child (`target`).
//! It stores each vote's signature only; the body of every vote is the same and is rebuilt from
//! the certificate's fields and the verifier's chain id.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::chain::ChainId;
use crate::codec;
use crate::hash::{tagged_hash, Hash, Tag};
use crate::keys::{KeyError, KeyPair, PublicKey, Signature};

/// Largest encoded vote accepted from the network.
pub const MAX_VOTE_BYTES: usize = 512;
/// Most signatures in one finality certificate (and so most validators in one set).
pub const MAX_CERTIFICATE_VOTES: usize = 1_024;
/// Largest encoded finality certificate accepted from the network.
pub const MAX_CERTIFICATE_BYTES: usize = 256 + MAX_CERTIFICATE_VOTES * (32 + 64);

/// A block named by height and hash.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    BorshSerialize,
    BorshDeserialize,
)]
pub struct Checkpoint {
    /// Block height.
    pub height: u64,
    /// Block hash.
    pub hash: Hash,
}

/// The signed part of a vote.
#[derive(Debug, Clone, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct VoteBody {
    /// The chain the vote is for.
    pub chain_id: ChainId,
    /// The voting validator.
    pub voter: PublicKey,
    /// The highest justified block the voter knows (an ancestor of `target`).
    pub source: Checkpoint,
    /// The block the voter imported and validated, at the head of its chain.
    pub target: Checkpoint,
}

impl VoteBody {
    /// The digest the voter signs.
    pub fn signing_hash(&self) -> Hash {
        tagged_hash(Tag::Vote, &codec::encode(self))
    }

    /// Signs the body with `key` (deterministic nonce: a vote signed twice is byte-identical).
    pub fn sign(self, key: &KeyPair) -> Vote {
        let signature = key.sign_deterministic(&self.signing_hash());
        Vote {
            body: self,
            signature,
        }
    }
}

/// A signed finality vote.
#[derive(Debug, Clone, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Vote {
    /// What is voted for.
    pub body: VoteBody,
    /// BIP-340 signature by `body.voter` over [`VoteBody::signing_hash`].
    pub signature: Signature,
}

impl Vote {
    /// Verifies the voter's signature.
    pub fn verify_signature(&self) -> Result<(), KeyError> {
        self.body
            .voter
            .verify(&self.body.signing_hash(), &self.signature)
    }

    /// An id for de-duplication: the hash of the whole signed vote.
    pub fn id(&self) -> Hash {
        tagged_hash(Tag::Vote, &codec::encode(self))
    }

    /// Decodes untrusted bytes.
    pub fn decode(bytes: &[u8]) -> Result<Vote, codec::DecodeError> {
        codec::decode(bytes, MAX_VOTE_BYTES)
    }
}

/// Proof that `source` is final: votes of more than 2/3 of the validators for `source -> target`,
/// where `target` is `source`'s direct child.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct FinalityCertificate {
    /// The finalized block.
    pub source: Checkpoint,
    /// Its child, justified by the same votes.
    pub target: Checkpoint,
    /// `(voter, signature)` pairs, sorted by voter key, no voter twice.
    pub signatures: Vec<(PublicKey, Signature)>,
}

impl FinalityCertificate {
    /// The votes the certificate carries, rebuilt for `chain_id`.
    pub fn votes<'a>(&'a self, chain_id: &'a ChainId) -> impl Iterator<Item = Vote> + 'a {
        self.signatures.iter().map(move |(voter, signature)| Vote {
            body: VoteBody {
                chain_id: chain_id.clone(),
                voter: *voter,
                source: self.source,
                target: self.target,
            },
            signature: *signature,
        })
    }

    /// Decodes untrusted bytes.
    pub fn decode(bytes: &[u8]) -> Result<FinalityCertificate, codec::DecodeError> {
        codec::decode(bytes, MAX_CERTIFICATE_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(key: &KeyPair) -> VoteBody {
        VoteBody {
            chain_id: ChainId::new("dev-votes").unwrap(),
            voter: key.public_key(),
            source: Checkpoint {
                height: 4,
                hash: Hash([4; 32]),
            },
            target: Checkpoint {
                height: 5,
                hash: Hash([5; 32]),
            },
        }
    }

    #[test]
    fn vote_signature_commits_to_every_field() {
        let key = KeyPair::from_secret_bytes(&[7; 32]).unwrap();
        let vote = body(&key).sign(&key);
        vote.verify_signature().unwrap();
        let mut other = vote.clone();
        other.body.target.height = 6;
        assert!(other.verify_signature().is_err());
        let mut other = vote.clone();
        other.body.chain_id = ChainId::new("dev-other").unwrap();
        assert!(other.verify_signature().is_err());
        let mut other = vote.clone();
        other.body.source.hash = Hash([9; 32]);
        assert!(other.verify_signature().is_err());
    }

    #[test]
    fn certificate_rebuilds_the_signed_votes() {
        let keys: Vec<KeyPair> = (1..=3u8)
            .map(|i| KeyPair::from_secret_bytes(&[i; 32]).unwrap())
            .collect();
        let chain_id = ChainId::new("dev-votes").unwrap();
        let votes: Vec<Vote> = keys.iter().map(|k| body(k).sign(k)).collect();
        let cert = FinalityCertificate {
            source: votes[0].body.source,
            target: votes[0].body.target,
            signatures: votes.iter().map(|v| (v.body.voter, v.signature)).collect(),
        };
        let rebuilt: Vec<Vote> = cert.votes(&chain_id).collect();
        assert_eq!(rebuilt, votes);
        let bytes = codec::encode(&cert);
        assert_eq!(FinalityCertificate::decode(&bytes).unwrap(), cert);
        let mut long = bytes.clone();
        long.push(0);
        assert!(FinalityCertificate::decode(&long).is_err());
    }
}
