//! Evidence of validator misbehaviour.
//!
//! Three offences are provable from signed messages alone, with no trust in whoever reports them:
//!
//! | offence | proof |
//! |---|---|
//! | double proposal | two different block headers for the same slot, both signed by the same proposer |
//! | double vote | two different votes by one validator with the same target height |
//! | surround vote | two votes by one validator where one's `source..target` span strictly contains the other's |
//!
//! The last two are Casper FFG's two slashing conditions; an honest validator never breaks them
//! (its votes have strictly increasing targets and non-decreasing sources), and two conflicting
//! finalized blocks are impossible unless more than 1/3 of the validators broke one of them
//! (docs/consensus.md). Evidence is gossiped, included in blocks, and jails the offender.
//!
//! [`Evidence::verify`] checks that a piece of evidence really proves its offence. Whether the
//! offender is (or was) a validator is a question for the state, not for this module.
//! [`Evidence::offence_id`] names the offence itself, so that different evidence of the same
//! offence (for example the same two votes in the other order) is punished only once.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::block::BlockHeader;
use crate::chain::ChainId;
use crate::codec;
use crate::hash::{tagged_hash, Hash, Tag, TaggedHasher};
use crate::keys::{KeyError, PublicKey};
use crate::vote::Vote;

/// Largest encoded evidence accepted from the network.
pub const MAX_EVIDENCE_BYTES: usize = 4 * 1024;
/// Most pieces of evidence in one block.
pub const MAX_BLOCK_EVIDENCE: usize = 64;

/// A proof of misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Evidence {
    /// Two different headers for one slot, signed by one proposer.
    DoubleProposal {
        /// one header
        first: Box<BlockHeader>,
        /// the other
        second: Box<BlockHeader>,
    },
    /// Two different votes by one validator for the same target height.
    DoubleVote {
        /// one vote
        first: Vote,
        /// the other
        second: Vote,
    },
    /// Two votes by one validator, `outer`'s span strictly containing `inner`'s:
    /// `outer.source < inner.source` and `inner.target < outer.target` (heights).
    SurroundVote {
        /// the wider vote
        outer: Vote,
        /// the vote it surrounds
        inner: Vote,
    },
}

/// Why a piece of evidence proves nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The two messages were signed by different keys.
    #[error("the two messages are by different signers")]
    DifferentSigners,
    /// The two messages are the same.
    #[error("the two messages are identical")]
    Identical,
    /// The two headers are for different slots.
    #[error("the headers are for different slots ({first} and {second})")]
    DifferentSlots {
        /// slot of the first
        first: u64,
        /// slot of the second
        second: u64,
    },
    /// The two votes have different target heights.
    #[error("the votes have different target heights ({first} and {second})")]
    DifferentTargetHeights {
        /// first target height
        first: u64,
        /// second target height
        second: u64,
    },
    /// The outer vote does not strictly surround the inner one.
    #[error(
        "vote span {outer_source}..{outer_target} does not surround {inner_source}..{inner_target}"
    )]
    NotSurrounding {
        /// outer source height
        outer_source: u64,
        /// outer target height
        outer_target: u64,
        /// inner source height
        inner_source: u64,
        /// inner target height
        inner_target: u64,
    },
    /// A message is for another chain.
    #[error("a message is for chain {found}, not {expected}")]
    WrongChain {
        /// the chain id in the message
        found: String,
        /// this chain's id
        expected: String,
    },
    /// A signature does not verify.
    #[error("bad signature: {0}")]
    Signature(#[from] KeyError),
}

impl Evidence {
    /// The validator the evidence accuses.
    pub fn offender(&self) -> PublicKey {
        match self {
            Evidence::DoubleProposal { first, .. } => first.proposer,
            Evidence::DoubleVote { first, .. } => first.body.voter,
            Evidence::SurroundVote { outer, .. } => outer.body.voter,
        }
    }

    /// Short name of the offence kind, for logs and receipts.
    pub fn kind(&self) -> &'static str {
        match self {
            Evidence::DoubleProposal { .. } => "double_proposal",
            Evidence::DoubleVote { .. } => "double_vote",
            Evidence::SurroundVote { .. } => "surround_vote",
        }
    }

    /// Hash of the evidence (leaf of a block's evidence root).
    pub fn hash(&self) -> Hash {
        tagged_hash(Tag::Evidence, &codec::encode(self))
    }

    /// Names the offence: equal for every piece of evidence of the same misbehaviour.
    ///
    /// Double proposal: (offender, slot). Double vote: (offender, target height). Surround vote:
    /// (offender, both spans, order-independent).
    pub fn offence_id(&self) -> Hash {
        let mut h = TaggedHasher::new(Tag::Offence);
        h.update(&self.offender().0);
        match self {
            Evidence::DoubleProposal { first, .. } => {
                h.update(&[0]).update(&first.slot.to_be_bytes());
            }
            Evidence::DoubleVote { first, .. } => {
                h.update(&[1])
                    .update(&first.body.target.height.to_be_bytes());
            }
            Evidence::SurroundVote { outer, inner } => {
                h.update(&[2]);
                for v in [outer, inner] {
                    h.update(&v.body.source.height.to_be_bytes())
                        .update(&v.body.target.height.to_be_bytes());
                }
            }
        }
        h.finish()
    }

    /// The height or slot at which the offence happened, for the jail rules' bookkeeping.
    pub fn position(&self) -> u64 {
        match self {
            Evidence::DoubleProposal { first, .. } => first.slot,
            Evidence::DoubleVote { first, .. } => first.body.target.height,
            Evidence::SurroundVote { inner, .. } => inner.body.target.height,
        }
    }

    /// Checks that the evidence proves its offence on `chain_id`: same signer, a real conflict,
    /// and valid signatures on both messages.
    pub fn verify(&self, chain_id: &ChainId) -> Result<(), EvidenceError> {
        match self {
            Evidence::DoubleProposal { first, second } => {
                if first.proposer != second.proposer {
                    return Err(EvidenceError::DifferentSigners);
                }
                if first.slot != second.slot {
                    return Err(EvidenceError::DifferentSlots {
                        first: first.slot,
                        second: second.slot,
                    });
                }
                if first.hash() == second.hash() {
                    return Err(EvidenceError::Identical);
                }
                first.verify_signature(chain_id)?;
                second.verify_signature(chain_id)?;
            }
            Evidence::DoubleVote { first, second } => {
                check_vote_pair(first, second, chain_id)?;
                if first.body.target.height != second.body.target.height {
                    return Err(EvidenceError::DifferentTargetHeights {
                        first: first.body.target.height,
                        second: second.body.target.height,
                    });
                }
                if first.body == second.body {
                    return Err(EvidenceError::Identical);
                }
            }
            Evidence::SurroundVote { outer, inner } => {
                check_vote_pair(outer, inner, chain_id)?;
                let (o, i) = (&outer.body, &inner.body);
                if !(o.source.height < i.source.height && i.target.height < o.target.height) {
                    return Err(EvidenceError::NotSurrounding {
                        outer_source: o.source.height,
                        outer_target: o.target.height,
                        inner_source: i.source.height,
                        inner_target: i.target.height,
                    });
                }
            }
        }
        Ok(())
    }

    /// Decodes untrusted bytes.
    pub fn decode(bytes: &[u8]) -> Result<Evidence, codec::DecodeError> {
        codec::decode(bytes, MAX_EVIDENCE_BYTES)
    }
}

fn check_vote_pair(a: &Vote, b: &Vote, chain_id: &ChainId) -> Result<(), EvidenceError> {
    if a.body.voter != b.body.voter {
        return Err(EvidenceError::DifferentSigners);
    }
    for v in [a, b] {
        if &v.body.chain_id != chain_id {
            return Err(EvidenceError::WrongChain {
                found: v.body.chain_id.to_string(),
                expected: chain_id.to_string(),
            });
        }
    }
    a.verify_signature()?;
    b.verify_signature()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::HEADER_VERSION;
    use crate::keys::{KeyPair, Signature};
    use crate::vote::{Checkpoint, VoteBody};

    fn chain() -> ChainId {
        ChainId::new("dev-evidence").unwrap()
    }

    fn key(i: u8) -> KeyPair {
        KeyPair::from_secret_bytes(&[i; 32]).unwrap()
    }

    fn header(k: &KeyPair, slot: u64, root: u8) -> Box<BlockHeader> {
        let mut h = BlockHeader {
            version: HEADER_VERSION,
            height: 3,
            slot,
            timestamp_ms: 0,
            parent_hash: Hash([1; 32]),
            transactions_root: Hash([root; 32]),
            attestations_root: Hash::default(),
            evidence_root: Hash::default(),
            state_root: Hash::default(),
            receipts_root: Hash::default(),
            proposer: k.public_key(),
            signature: Signature::EMPTY,
        };
        h.sign(&chain(), k);
        Box::new(h)
    }

    fn vote(k: &KeyPair, source: u64, target: u64, tag: u8) -> Vote {
        VoteBody {
            chain_id: chain(),
            voter: k.public_key(),
            source: Checkpoint {
                height: source,
                hash: Hash([tag; 32]),
            },
            target: Checkpoint {
                height: target,
                hash: Hash([tag.wrapping_add(1); 32]),
            },
        }
        .sign(k)
    }

    #[test]
    fn double_proposal_needs_same_slot_same_signer_different_blocks() {
        let (a, b) = (key(1), key(2));
        let ok = Evidence::DoubleProposal {
            first: header(&a, 7, 1),
            second: header(&a, 7, 2),
        };
        ok.verify(&chain()).unwrap();
        assert_eq!(ok.offender(), a.public_key());
        let identical = Evidence::DoubleProposal {
            first: header(&a, 7, 1),
            second: header(&a, 7, 1),
        };
        assert_eq!(identical.verify(&chain()), Err(EvidenceError::Identical));
        let slots = Evidence::DoubleProposal {
            first: header(&a, 7, 1),
            second: header(&a, 8, 2),
        };
        assert!(matches!(
            slots.verify(&chain()),
            Err(EvidenceError::DifferentSlots { .. })
        ));
        let signers = Evidence::DoubleProposal {
            first: header(&a, 7, 1),
            second: header(&b, 7, 2),
        };
        assert_eq!(
            signers.verify(&chain()),
            Err(EvidenceError::DifferentSigners)
        );
        let mut forged = header(&a, 7, 2);
        forged.signature = header(&a, 7, 1).signature;
        let forged = Evidence::DoubleProposal {
            first: header(&a, 7, 1),
            second: forged,
        };
        assert!(matches!(
            forged.verify(&chain()),
            Err(EvidenceError::Signature(_))
        ));
    }

    #[test]
    fn double_and_surround_votes() {
        let a = key(1);
        let double = Evidence::DoubleVote {
            first: vote(&a, 2, 5, 10),
            second: vote(&a, 2, 5, 20),
        };
        double.verify(&chain()).unwrap();
        let same = Evidence::DoubleVote {
            first: vote(&a, 2, 5, 10),
            second: vote(&a, 2, 5, 10),
        };
        assert_eq!(same.verify(&chain()), Err(EvidenceError::Identical));
        let heights = Evidence::DoubleVote {
            first: vote(&a, 2, 5, 10),
            second: vote(&a, 2, 6, 20),
        };
        assert!(matches!(
            heights.verify(&chain()),
            Err(EvidenceError::DifferentTargetHeights { .. })
        ));
        let surround = Evidence::SurroundVote {
            outer: vote(&a, 1, 9, 10),
            inner: vote(&a, 3, 5, 20),
        };
        surround.verify(&chain()).unwrap();
        let not = Evidence::SurroundVote {
            outer: vote(&a, 3, 9, 10),
            inner: vote(&a, 3, 5, 20),
        };
        assert!(matches!(
            not.verify(&chain()),
            Err(EvidenceError::NotSurrounding { .. })
        ));
    }

    #[test]
    fn offence_id_ignores_order_and_which_evidence() {
        let a = key(1);
        let one = Evidence::DoubleVote {
            first: vote(&a, 2, 5, 10),
            second: vote(&a, 2, 5, 20),
        };
        let other_order = Evidence::DoubleVote {
            first: vote(&a, 2, 5, 20),
            second: vote(&a, 2, 5, 10),
        };
        let third_vote = Evidence::DoubleVote {
            first: vote(&a, 2, 5, 30),
            second: vote(&a, 2, 5, 10),
        };
        assert_eq!(one.offence_id(), other_order.offence_id());
        assert_eq!(one.offence_id(), third_vote.offence_id());
        let later = Evidence::DoubleVote {
            first: vote(&a, 2, 6, 20),
            second: vote(&a, 2, 6, 10),
        };
        assert_ne!(one.offence_id(), later.offence_id());
    }
}
