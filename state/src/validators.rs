//! Validator records and the jail rules.
//!
//! Every genesis validator has a record in the authenticated state (absent = clean). Evidence of
//! an offence (see `rustchain_primitives::evidence`) included in a block jails the offender:
//!
//! | offence number | jailed for |
//! |---|---|
//! | first | `jail_slots[0]` slots from the block's slot |
//! | second | `jail_slots[1]` slots |
//! | third and later | permanently |
//!
//! A jailed validator is out of the proposer rotation and its votes are not counted. The quorum
//! stays more than 2/3 of the *whole* genesis set, so jailing never lowers the number of votes
//! needed to finalize, and safety does not depend on who is jailed.
//!
//! An offence (identified by [`Evidence::offence_id`]) is punished once; a block that carries
//! evidence of an offence already punished, evidence that does not verify, or evidence against a
//! key that is not a genesis validator is invalid.

use borsh::{BorshDeserialize, BorshSerialize};
use rustchain_primitives::{ChainId, Evidence, EvidenceError, PublicKey};

/// A validator's standing, as stored in the state tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ValidatorRecord {
    /// Offences punished so far.
    pub offences: u32,
    /// Jailed for every slot below this one (`u64::MAX`: permanently). 0 = never jailed.
    pub jailed_until_slot: u64,
}

impl ValidatorRecord {
    /// Is the validator jailed at `slot`?
    pub fn is_jailed(&self, slot: u64) -> bool {
        slot < self.jailed_until_slot
    }

    /// Is the validator jailed forever?
    pub fn is_permanently_jailed(&self) -> bool {
        self.jailed_until_slot == u64::MAX
    }

    /// The record after one more offence punished in a block at `slot`.
    pub fn punished(&self, slot: u64, jail_slots: [u64; 2]) -> ValidatorRecord {
        let offences = self.offences.saturating_add(1);
        let until = match offences {
            1 => slot.saturating_add(jail_slots[0]),
            2 => slot.saturating_add(jail_slots[1]),
            _ => u64::MAX,
        };
        ValidatorRecord {
            offences,
            // A new offence never shortens a running sentence.
            jailed_until_slot: until.max(self.jailed_until_slot),
        }
    }
}

/// Why a block's evidence is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceInvalid {
    /// The evidence does not prove its offence.
    #[error("evidence does not verify: {0}")]
    Unproven(#[from] EvidenceError),
    /// The offender is not a genesis validator.
    #[error("offender {0} is not a validator")]
    NotValidator(PublicKey),
    /// The offence was already punished (in an earlier block or earlier in this one).
    #[error("offence already punished")]
    AlreadyPunished,
}

/// Checks the parts of evidence validity that need no state.
pub fn check_evidence(
    evidence: &Evidence,
    chain_id: &ChainId,
    validators: &[PublicKey],
) -> Result<(), EvidenceInvalid> {
    evidence.verify(chain_id)?;
    let offender = evidence.offender();
    if !validators.contains(&offender) {
        return Err(EvidenceInvalid::NotValidator(offender));
    }
    Ok(())
}

/// The validators not jailed at `slot`, in genesis order.
pub fn active_validators(
    validators: &[PublicKey],
    record: impl Fn(&PublicKey) -> ValidatorRecord,
    slot: u64,
) -> Vec<PublicKey> {
    validators
        .iter()
        .filter(|v| !record(v).is_jailed(slot))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_escalate_to_permanent() {
        let periods = [10, 100];
        let r0 = ValidatorRecord::default();
        assert!(!r0.is_jailed(0));
        let r1 = r0.punished(50, periods);
        assert_eq!(r1.jailed_until_slot, 60);
        assert!(r1.is_jailed(59) && !r1.is_jailed(60));
        let r2 = r1.punished(70, periods);
        assert_eq!(r2.jailed_until_slot, 170);
        let r3 = r2.punished(500, periods);
        assert!(r3.is_permanently_jailed());
        assert!(r3.is_jailed(u64::MAX - 1));
        // A second offence while jailed never shortens the sentence.
        let long = ValidatorRecord {
            offences: 1,
            jailed_until_slot: 1_000,
        };
        assert_eq!(long.punished(10, periods).jailed_until_slot, 1_000);
    }

    #[test]
    fn active_set_skips_jailed() {
        let v: Vec<PublicKey> = (0..4u8).map(|i| PublicKey([i; 32])).collect();
        let active = active_validators(
            &v,
            |k| {
                if k.0[0] == 2 {
                    ValidatorRecord {
                        offences: 1,
                        jailed_until_slot: 10,
                    }
                } else {
                    ValidatorRecord::default()
                }
            },
            5,
        );
        assert_eq!(active.len(), 3);
        assert!(!active.contains(&PublicKey([2; 32])));
    }
}
