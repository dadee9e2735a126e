//! The honest voting rule, with slashing protection.
//!
//! A validator votes `source -> target` only when
//! 1. `target` is its current head, imported and fully validated;
//! 2. `source` is the latest justified block it knows, and an ancestor of `target`;
//! 3. `target.height` is above every target it ever voted for, and `source.height` is at least
//!    every source it ever used.
//!
//! Rule 3 makes double votes (same target height) and surround votes impossible for an honest
//! validator, whatever it is shown. The record ([`VoterRecord`]) must be written to disk *before*
//! the vote leaves the process, so that a restart (even after a crash) cannot make the validator
//! sign a conflicting vote; this is the same idea as Ethereum's slashing-protection database.

use borsh::{BorshDeserialize, BorshSerialize};
use rustchain_primitives::{ChainId, Checkpoint, KeyPair, Vote, VoteBody};

/// What a validator has voted so far (persisted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct VoterRecord {
    /// Highest source height used.
    pub max_source_height: u64,
    /// Highest target height voted for (0 = never voted: genesis is never a target).
    pub max_target_height: u64,
}

impl VoterRecord {
    /// May this validator vote `source -> target` without breaking rule 3?
    pub fn allows(&self, source: &Checkpoint, target: &Checkpoint) -> bool {
        target.height > self.max_target_height
            && source.height >= self.max_source_height
            && source.height < target.height
    }

    /// The record after voting `source -> target`.
    pub fn after(&self, source: &Checkpoint, target: &Checkpoint) -> VoterRecord {
        VoterRecord {
            max_source_height: self.max_source_height.max(source.height),
            max_target_height: self.max_target_height.max(target.height),
        }
    }
}

/// The vote to cast for `head` with `justified` as source, if the rules allow one. The caller
/// guarantees rules 1 and 2 (head validated, justified an ancestor of head); this checks rule 3.
/// Returns the signed vote and the record to persist before sending it.
pub fn next_vote(
    record: &VoterRecord,
    chain_id: &ChainId,
    key: &KeyPair,
    justified: Checkpoint,
    head: Checkpoint,
) -> Option<(Vote, VoterRecord)> {
    if !record.allows(&justified, &head) {
        return None;
    }
    let vote = VoteBody {
        chain_id: chain_id.clone(),
        voter: key.public_key(),
        source: justified,
        target: head,
    }
    .sign(key);
    Some((vote, record.after(&justified, &head)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rustchain_primitives::{Evidence, Hash};

    fn cp(height: u64, fork: u8) -> Checkpoint {
        Checkpoint {
            height,
            hash: Hash([fork; 32]),
        }
    }

    #[test]
    fn votes_once_per_height_and_never_backwards() {
        let key = KeyPair::from_secret_bytes(&[3; 32]).unwrap();
        let chain = ChainId::new("dev-voter").unwrap();
        let r0 = VoterRecord::default();
        let (v1, r1) = next_vote(&r0, &chain, &key, cp(0, 0), cp(1, 1)).unwrap();
        assert_eq!(v1.body.target, cp(1, 1));
        // Same height on another fork: refused.
        assert!(next_vote(&r1, &chain, &key, cp(0, 0), cp(1, 2)).is_none());
        // Lower source than before: refused.
        let (_, r2) = next_vote(&r1, &chain, &key, cp(1, 1), cp(2, 1)).unwrap();
        assert!(next_vote(&r2, &chain, &key, cp(0, 0), cp(5, 2)).is_none());
        assert!(next_vote(&r2, &chain, &key, cp(1, 1), cp(3, 1)).is_some());
    }

    proptest! {
        /// Whatever sequence of (justified, head) the validator is shown, no two of the votes it
        /// signs form evidence.
        #[test]
        fn honest_votes_never_form_evidence(
            views in proptest::collection::vec((0u64..20, 0u64..20, any::<u8>()), 1..40)
        ) {
            let key = KeyPair::from_secret_bytes(&[5; 32]).unwrap();
            let chain = ChainId::new("dev-voter").unwrap();
            let mut record = VoterRecord::default();
            let mut votes = Vec::new();
            for (s, t, fork) in views {
                if let Some((vote, next)) = next_vote(&record, &chain, &key, cp(s, fork), cp(t, fork.wrapping_add(1))) {
                    record = next;
                    votes.push(vote);
                }
            }
            for a in &votes {
                for b in &votes {
                    if a == b { continue; }
                    let double = Evidence::DoubleVote { first: a.clone(), second: b.clone() };
                    prop_assert!(double.verify(&chain).is_err());
                    let surround = Evidence::SurroundVote { outer: a.clone(), inner: b.clone() };
                    prop_assert!(surround.verify(&chain).is_err());
                }
            }
        }
    }
}
