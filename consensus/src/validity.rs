//! Block validity against the parent.
//!
//! A block `B` with parent `P` is valid when all of these hold (checked before execution):
//!
//! 1. `B.version` is the current header version.
//! 2. `B.height = P.height + 1` and `B.parent_hash = hash(P)`.
//! 3. `B.slot > P.slot` (slots strictly increase, so one proposer cannot fill two blocks into one
//!    slot of the same chain), and `B.timestamp_ms` is exactly the start time of `B.slot`.
//! 4. The slot is not in the future: its start is at most [`MAX_FUTURE_DRIFT_MS`] after the local
//!    clock, which bounds how far a proposer can run ahead of honest clocks.
//! 5. `B.proposer` is the scheduled proposer of `B.slot` (see [`crate::schedule`]) and
//!    `B.signature` is its BIP-340 signature over the chain id and block hash.
//! 6. The body matches the header: transactions, attestations and evidence roots recomputed from
//!    the body equal the header's, and the body respects the count limits.
//!
//! After these, execution (in the state crate) must reproduce the header's state and receipts
//! roots; a block passing everything is valid. Nothing here reads a clock: the caller passes the
//! time, so the rules are deterministic given their inputs.

use rustchain_primitives::block::HEADER_VERSION;
use rustchain_primitives::codec::MAX_BLOCK_TXS;
use rustchain_primitives::evidence::MAX_BLOCK_EVIDENCE;
use rustchain_primitives::{Block, BlockHeader, ChainId, Hash, PublicKey};

use crate::clock::SlotTiming;
use crate::schedule::proposer_for_slot;

/// How far in the future a block's slot may start, relative to the local clock.
pub const MAX_FUTURE_DRIFT_MS: u64 = 500;

/// Why a header or body is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Unknown header version.
    #[error("unsupported header version {0}")]
    Version(u32),
    /// Not the child of the given parent.
    #[error("block does not extend its parent: expected height {expected_height} and parent {expected_parent}")]
    NotChild {
        /// expected height
        expected_height: u64,
        /// expected parent
        expected_parent: Hash,
    },
    /// Slot not after the parent's.
    #[error("slot {slot} is not after the parent's slot {parent_slot}")]
    SlotNotIncreasing {
        /// block slot
        slot: u64,
        /// parent slot
        parent_slot: u64,
    },
    /// Timestamp is not the slot start.
    #[error("timestamp {got} is not the start of slot {slot} ({expected})")]
    Timestamp {
        /// slot
        slot: u64,
        /// required
        expected: u64,
        /// found
        got: u64,
    },
    /// Slot in the future.
    #[error("slot {slot} starts at {start_ms}, too far after the local time {now_ms}")]
    FutureSlot {
        /// slot
        slot: u64,
        /// its start
        start_ms: u64,
        /// local time
        now_ms: u64,
    },
    /// Not the scheduled proposer.
    #[error("wrong proposer for slot {slot}: expected {expected}, got {got}")]
    WrongProposer {
        /// slot
        slot: u64,
        /// scheduled
        expected: PublicKey,
        /// found
        got: PublicKey,
    },
    /// No validators at all.
    #[error("no validators")]
    NoValidators,
    /// Bad proposer signature.
    #[error("invalid proposer signature")]
    BadSignature,
    /// A body root does not match.
    #[error("{root} root mismatch: header has {header}, body gives {computed}")]
    BodyRoot {
        /// which root
        root: &'static str,
        /// header's
        header: Hash,
        /// computed
        computed: Hash,
    },
    /// Too many transactions.
    #[error("block has {0} transactions, above the limit of {MAX_BLOCK_TXS}")]
    TooManyTransactions(usize),
    /// Too many pieces of evidence.
    #[error("block has {0} pieces of evidence, above the limit of {MAX_BLOCK_EVIDENCE}")]
    TooMuchEvidence(usize),
}

/// Checks rules 1–5 for `header` on top of `parent`.
pub fn check_header(
    header: &BlockHeader,
    parent: &BlockHeader,
    chain_id: &ChainId,
    timing: &SlotTiming,
    validators: &[PublicKey],
    now_ms: u64,
) -> Result<(), HeaderError> {
    if header.version != HEADER_VERSION {
        return Err(HeaderError::Version(header.version));
    }
    let parent_hash = parent.hash();
    if header.height != parent.height.saturating_add(1) || header.parent_hash != parent_hash {
        return Err(HeaderError::NotChild {
            expected_height: parent.height.saturating_add(1),
            expected_parent: parent_hash,
        });
    }
    if header.slot <= parent.slot {
        return Err(HeaderError::SlotNotIncreasing {
            slot: header.slot,
            parent_slot: parent.slot,
        });
    }
    let start = timing.slot_start(header.slot).unwrap_or(u64::MAX);
    if header.timestamp_ms != start {
        return Err(HeaderError::Timestamp {
            slot: header.slot,
            expected: start,
            got: header.timestamp_ms,
        });
    }
    if start > now_ms.saturating_add(MAX_FUTURE_DRIFT_MS) {
        return Err(HeaderError::FutureSlot {
            slot: header.slot,
            start_ms: start,
            now_ms,
        });
    }
    let expected = proposer_for_slot(validators, header.slot).ok_or(HeaderError::NoValidators)?;
    if header.proposer != expected {
        return Err(HeaderError::WrongProposer {
            slot: header.slot,
            expected,
            got: header.proposer,
        });
    }
    header
        .verify_signature(chain_id)
        .map_err(|_| HeaderError::BadSignature)
}

/// Checks rule 6: the body matches the header.
pub fn check_body(block: &Block) -> Result<(), HeaderError> {
    if block.transactions.len() > MAX_BLOCK_TXS {
        return Err(HeaderError::TooManyTransactions(block.transactions.len()));
    }
    if block.evidence.len() > MAX_BLOCK_EVIDENCE {
        return Err(HeaderError::TooMuchEvidence(block.evidence.len()));
    }
    for (root, header, computed) in [
        (
            "transactions",
            block.header.transactions_root,
            block.compute_transactions_root(),
        ),
        (
            "attestations",
            block.header.attestations_root,
            block.compute_attestations_root(),
        ),
        (
            "evidence",
            block.header.evidence_root,
            block.compute_evidence_root(),
        ),
    ] {
        if header != computed {
            return Err(HeaderError::BodyRoot {
                root,
                header,
                computed,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustchain_primitives::merkle::merkle_root;
    use rustchain_primitives::{KeyPair, Signature};

    struct Fixture {
        chain: ChainId,
        timing: SlotTiming,
        keys: Vec<KeyPair>,
        validators: Vec<PublicKey>,
        parent: BlockHeader,
    }

    fn fixture() -> Fixture {
        let keys: Vec<KeyPair> = (1..=4u8)
            .map(|i| KeyPair::from_secret_bytes(&[i; 32]).unwrap())
            .collect();
        let validators = keys.iter().map(KeyPair::public_key).collect();
        let timing = SlotTiming {
            genesis_time_ms: 1_000_000,
            slot_duration_ms: 1_000,
        };
        let parent = BlockHeader {
            version: HEADER_VERSION,
            height: 0,
            slot: 0,
            timestamp_ms: 1_000_000,
            parent_hash: Hash([7; 32]),
            transactions_root: merkle_root(&[]),
            attestations_root: merkle_root(&[]),
            evidence_root: merkle_root(&[]),
            state_root: Hash([1; 32]),
            receipts_root: merkle_root(&[]),
            proposer: PublicKey::default(),
            signature: Signature::EMPTY,
        };
        Fixture {
            chain: ChainId::new("dev-c").unwrap(),
            timing,
            keys,
            validators,
            parent,
        }
    }

    fn child(f: &Fixture, slot: u64) -> BlockHeader {
        let proposer = &f.keys[(slot % 4) as usize];
        let mut h = BlockHeader {
            height: 1,
            slot,
            timestamp_ms: f.timing.slot_start(slot).unwrap(),
            parent_hash: f.parent.hash(),
            proposer: proposer.public_key(),
            ..f.parent.clone()
        };
        h.sign(&f.chain, proposer);
        h
    }

    fn check(f: &Fixture, h: &BlockHeader, now: u64) -> Result<(), HeaderError> {
        check_header(h, &f.parent, &f.chain, &f.timing, &f.validators, now)
    }

    #[test]
    fn valid_child_passes() {
        let f = fixture();
        let h = child(&f, 3);
        assert_eq!(check(&f, &h, f.timing.slot_start(3).unwrap()), Ok(()));
    }

    #[test]
    fn each_rule_rejects() {
        let f = fixture();
        let now = f.timing.slot_start(10).unwrap();
        let resign = |mut h: BlockHeader, slot: u64| {
            h.sign(&f.chain, &f.keys[(slot % 4) as usize]);
            h
        };

        let h = resign(
            BlockHeader {
                version: 2,
                ..child(&f, 3)
            },
            3,
        );
        assert_eq!(check(&f, &h, now), Err(HeaderError::Version(2)));

        let h = resign(
            BlockHeader {
                height: 2,
                ..child(&f, 3)
            },
            3,
        );
        assert!(matches!(
            check(&f, &h, now),
            Err(HeaderError::NotChild { .. })
        ));

        let h = resign(
            BlockHeader {
                parent_hash: Hash([0; 32]),
                ..child(&f, 3)
            },
            3,
        );
        assert!(matches!(
            check(&f, &h, now),
            Err(HeaderError::NotChild { .. })
        ));

        let mut parent_later = fixture();
        parent_later.parent.slot = 3;
        let h = child(&parent_later, 3);
        assert!(matches!(
            check(&parent_later, &h, now),
            Err(HeaderError::SlotNotIncreasing { .. })
        ));

        let h = resign(
            BlockHeader {
                timestamp_ms: child(&f, 3).timestamp_ms + 1,
                ..child(&f, 3)
            },
            3,
        );
        assert!(matches!(
            check(&f, &h, now),
            Err(HeaderError::Timestamp { .. })
        ));

        let h = child(&f, 11);
        assert!(matches!(
            check(&f, &h, now),
            Err(HeaderError::FutureSlot { .. })
        ));
        assert_eq!(
            check(&f, &h, now + 1_000 - MAX_FUTURE_DRIFT_MS),
            Ok(()),
            "within drift"
        );

        // Signed by validator 1 for a slot that belongs to validator 2.
        let mut h = child(&f, 2);
        h.proposer = f.keys[1].public_key();
        h.sign(&f.chain, &f.keys[1]);
        assert!(matches!(
            check(&f, &h, now),
            Err(HeaderError::WrongProposer { .. })
        ));

        let mut h = child(&f, 3);
        h.signature.0[10] ^= 1;
        assert_eq!(check(&f, &h, now), Err(HeaderError::BadSignature));

        // A signature for another chain.
        let mut h = child(&f, 3);
        h.sign(&ChainId::new("dev-other").unwrap(), &f.keys[3]);
        assert_eq!(check(&f, &h, now), Err(HeaderError::BadSignature));
    }

    #[test]
    fn body_must_match_roots() {
        let f = fixture();
        let mut block = Block {
            header: child(&f, 1),
            transactions: vec![],
            attestations: vec![],
            evidence: vec![],
        };
        assert_eq!(check_body(&block), Ok(()));
        block.header.transactions_root = Hash([3; 32]);
        assert!(matches!(
            check_body(&block),
            Err(HeaderError::BodyRoot {
                root: "transactions",
                ..
            })
        ));
    }
}
