//! The rules an attestation must pass to be put in a block.
//!
//! Checked against the block that would include it (its slot) and the attestation's reference
//! block as the including chain knows it. In order, cheapest first:
//!
//! 1. **Chain**: the body's chain id is this chain's.
//! 2. **Mode**: `Simulated` only when the genesis allows it (never on a mainnet chain id: the
//!    genesis refuses `allow_simulated` there).
//! 3. **Reference**: the reference block (height and hash) is on the including block's chain,
//!    at most `max_reference_age_slots` slots before the including block; its slot fixes the
//!    epoch and the window, which must equal the body's; the epoch must be the including
//!    block's epoch (so an epoch's attestations are all in place before it is settled by the
//!    first block of the next epoch).
//! 4. **Proof of work**: the proof-of-work hash has at least `pow_bits` leading zero bits.
//! 5. **Signature**: BIP-340 by the miner key over the body.
//! 6. **Classification**: the class and machine verdict are derived from the evidence
//!    ([`super::classify`]); a VM, emulator or container is *valid* but weighs 0: it is recorded
//!    with its reasons and earns nothing, and nobody is punished for a false positive.
//!
//! "One attestation per miner per window" needs the chain state (earlier blocks) and is checked
//! by the state's executor; the well-formedness rules (sizes, profile hash) are checked when the
//! attestation is decoded ([`rustchain_primitives::Attestation::decode`]).

use rustchain_genesis::Genesis;
use rustchain_primitives::attestation::leading_zero_bits;
use rustchain_primitives::{Attestation, AttestationMode, HardwareClass, Hash};

use super::classify::{classify, MachineVerdict};
use super::windows::EpochSchedule;

/// The reference block as the including chain knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceBlock {
    /// Its hash on the including chain at the attestation's reference height.
    pub hash: Hash,
    /// Its slot.
    pub slot: u64,
}

/// Why an attestation cannot go into a block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationInvalid {
    /// Signed for another chain.
    #[error("attestation is for chain {found}, this chain is {expected}")]
    WrongChain {
        /// this chain
        expected: String,
        /// the body's
        found: String,
    },
    /// Simulated evidence on a chain that refuses it.
    #[error("simulated attestations are not accepted on this chain")]
    SimulatedNotAllowed,
    /// The reference block is not on this chain (unknown height, or another block there).
    #[error("reference block {height} {hash} is not on this chain")]
    UnknownReference {
        /// referenced height
        height: u64,
        /// referenced hash
        hash: Hash,
    },
    /// The reference block is too old.
    #[error("reference block is {age} slots old, the limit is {max}")]
    StaleReference {
        /// slots between the reference and the including block
        age: u64,
        /// the genesis limit
        max: u64,
    },
    /// The reference block is not before the including block.
    #[error("reference block slot {reference_slot} is not before slot {slot}")]
    FutureReference {
        /// reference slot
        reference_slot: u64,
        /// including slot
        slot: u64,
    },
    /// Epoch or window do not match the reference block's slot.
    #[error(
        "attestation names epoch {epoch} window {window}, its reference block is in epoch \
         {reference_epoch} window {reference_window}"
    )]
    WrongWindow {
        /// named epoch
        epoch: u64,
        /// named window
        window: u32,
        /// the reference's epoch
        reference_epoch: u64,
        /// the reference's window
        reference_window: u32,
    },
    /// The attestation's epoch is over (or not yet started) for the including block.
    #[error("attestation is for epoch {epoch}, the block is in epoch {block_epoch}")]
    WrongEpoch {
        /// attested epoch
        epoch: u64,
        /// including block's epoch
        block_epoch: u64,
    },
    /// Not enough proof of work.
    #[error("proof of work has {bits} leading zero bits, {needed} needed")]
    WeakProofOfWork {
        /// what the hash has
        bits: u32,
        /// the genesis target
        needed: u32,
    },
    /// The signature does not verify.
    #[error("bad attestation signature")]
    BadSignature,
    /// The miner attested earlier in this epoch with another hardware profile.
    #[error("miner attested epoch {epoch} with hardware profile {first}, not {this}")]
    ProfileChanged {
        /// epoch
        epoch: u64,
        /// the profile of its first attestation in the epoch
        first: Hash,
        /// this attestation's profile
        this: Hash,
    },
    /// The epoch already has the most miners the genesis allows, and this one is new.
    #[error("epoch {epoch} already has {max} miners, the most allowed")]
    EpochFull {
        /// epoch
        epoch: u64,
        /// the genesis limit
        max: u64,
    },
    /// The miner already attested this window.
    #[error("miner already attested epoch {epoch} window {window}")]
    DuplicateWindow {
        /// epoch
        epoch: u64,
        /// window
        window: u32,
    },
}

/// A valid attestation's worth, as every validator derives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scored {
    /// The epoch.
    pub epoch: u64,
    /// The window.
    pub window: u32,
    /// The hardware class.
    pub class: HardwareClass,
    /// The machine verdict.
    pub verdict: MachineVerdict,
    /// The class multiplier in basis points, or 0 when the verdict does not earn.
    pub multiplier_bps: u32,
    /// Reasons for the verdict and the class.
    pub reasons: Vec<String>,
}

/// Checks every stateless-per-window rule of `attestation` for inclusion in a block at
/// `block_slot` whose chain has `reference` at the attestation's reference height (`None`: no
/// block at that height on this chain). `verify_signature: false` skips rule 5 for a caller
/// that has already verified this exact attestation (for example at pool admission).
pub fn check_attestation(
    attestation: &Attestation,
    genesis: &Genesis,
    block_slot: u64,
    reference: Option<ReferenceBlock>,
    verify_signature: bool,
) -> Result<Scored, AttestationInvalid> {
    let body = &attestation.body;
    let params = &genesis.rip200;
    if body.chain_id != genesis.chain_id {
        return Err(AttestationInvalid::WrongChain {
            expected: genesis.chain_id.to_string(),
            found: body.chain_id.to_string(),
        });
    }
    if body.mode == AttestationMode::Simulated && !params.allow_simulated {
        return Err(AttestationInvalid::SimulatedNotAllowed);
    }
    let unknown = AttestationInvalid::UnknownReference {
        height: body.reference.height,
        hash: body.reference.hash,
    };
    let reference = match reference {
        Some(r) if r.hash == body.reference.hash => r,
        _ => return Err(unknown),
    };
    if reference.slot >= block_slot {
        return Err(AttestationInvalid::FutureReference {
            reference_slot: reference.slot,
            slot: block_slot,
        });
    }
    let age = block_slot - reference.slot;
    if age > params.max_reference_age_slots {
        return Err(AttestationInvalid::StaleReference {
            age,
            max: params.max_reference_age_slots,
        });
    }
    let schedule = EpochSchedule::of(genesis);
    let (reference_epoch, reference_window) = (
        schedule.epoch(reference.slot),
        schedule.window(reference.slot),
    );
    if (body.epoch, body.window) != (reference_epoch, reference_window) {
        return Err(AttestationInvalid::WrongWindow {
            epoch: body.epoch,
            window: body.window,
            reference_epoch,
            reference_window,
        });
    }
    let block_epoch = schedule.epoch(block_slot);
    if body.epoch != block_epoch {
        return Err(AttestationInvalid::WrongEpoch {
            epoch: body.epoch,
            block_epoch,
        });
    }
    let bits = leading_zero_bits(&body.pow_hash());
    if bits < params.pow_bits {
        return Err(AttestationInvalid::WeakProofOfWork {
            bits,
            needed: params.pow_bits,
        });
    }
    if verify_signature && attestation.verify_signature().is_err() {
        return Err(AttestationInvalid::BadSignature);
    }
    let classification = classify(&body.evidence);
    let multiplier_bps = if classification.verdict.earns() {
        params.multipliers_bps.of(classification.class)
    } else {
        0
    };
    Ok(Scored {
        epoch: body.epoch,
        window: body.window,
        class: classification.class,
        verdict: classification.verdict,
        multiplier_bps,
        reasons: classification.reasons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustchain_genesis::dev_genesis;
    use rustchain_primitives::attestation::{CpuidEvidence, PlatformEvidence, TimingEvidence};
    use rustchain_primitives::{
        Arch, AttestationBody, ChainId, Checkpoint, HardwareEvidence, KeyPair,
    };

    fn genesis() -> Genesis {
        dev_genesis().validate().unwrap()
    }

    fn evidence() -> HardwareEvidence {
        HardwareEvidence {
            arch: Arch::X86_64,
            cpuid: Some(CpuidEvidence {
                vendor: "GenuineIntel".into(),
                brand: "Intel(R) Core(TM) i5-2400 CPU @ 3.10GHz".into(),
                signature: 0x000206a7,
                features: CpuidEvidence::FEATURE_SSE42 | CpuidEvidence::FEATURE_AVX,
                caches: vec![],
                hypervisor_bit: false,
                hypervisor_vendor: None,
                hyperv_root_partition: false,
                microcode: None,
            }),
            logical_cpus: 4,
            physical_cores: Some(4),
            memory_mib: 8_192,
            os: "Linux".into(),
            platform: PlatformEvidence::default(),
            timing: TimingEvidence::default(),
            unmeasured: vec![],
        }
    }

    /// Reference block at slot 13 (dev genesis: epoch 0, window 1), included at slot 15.
    const REF: ReferenceBlock = ReferenceBlock {
        hash: Hash([9; 32]),
        slot: 13,
    };

    fn attestation(mode: AttestationMode) -> (Attestation, KeyPair) {
        let key = KeyPair::from_secret_bytes(&[5; 32]).unwrap();
        let evidence = evidence();
        let mut body = AttestationBody {
            chain_id: genesis().chain_id,
            miner: key.public_key(),
            epoch: 0,
            window: 1,
            reference: Checkpoint {
                height: 7,
                hash: REF.hash,
            },
            mode,
            profile_hash: evidence.profile_hash(),
            evidence,
            pow_nonce: 0,
        };
        assert!(body.solve_pow(genesis().rip200.pow_bits, 0, 1 << 24));
        (body.sign(&key), key)
    }

    fn resign(
        mut a: Attestation,
        key: &KeyPair,
        edit: impl FnOnce(&mut AttestationBody),
    ) -> Attestation {
        edit(&mut a.body);
        a.body.sign(key)
    }

    #[test]
    fn a_valid_attestation_is_scored_from_its_evidence() {
        let (a, _) = attestation(AttestationMode::Hardware);
        let scored = check_attestation(&a, &genesis(), 15, Some(REF), true).unwrap();
        assert_eq!((scored.epoch, scored.window), (0, 1));
        let g = genesis();
        if scored.verdict.earns() {
            assert_eq!(
                scored.multiplier_bps,
                g.rip200.multipliers_bps.of(scored.class)
            );
        } else {
            assert_eq!(scored.multiplier_bps, 0);
        }
    }

    #[test]
    fn each_rule_rejects() {
        let g = genesis();
        let (a, key) = attestation(AttestationMode::Hardware);
        let check = |a: &Attestation, slot, r| check_attestation(a, &g, slot, r, true);

        let other = resign(a.clone(), &key, |b| {
            b.chain_id = ChainId::new("dev-other").unwrap()
        });
        assert!(matches!(
            check(&other, 15, Some(REF)),
            Err(AttestationInvalid::WrongChain { .. })
        ));

        assert!(matches!(
            check(&a, 15, None),
            Err(AttestationInvalid::UnknownReference { .. })
        ));
        let elsewhere = ReferenceBlock {
            hash: Hash([8; 32]),
            ..REF
        };
        assert!(matches!(
            check(&a, 15, Some(elsewhere)),
            Err(AttestationInvalid::UnknownReference { .. })
        ));
        assert!(matches!(
            check(&a, 13, Some(REF)),
            Err(AttestationInvalid::FutureReference { .. })
        ));
        let max = g.rip200.max_reference_age_slots;
        assert!(
            13 + max < 60,
            "the dev genesis keeps the limit inside one epoch"
        );
        assert!(check(&a, 13 + max, Some(REF)).is_ok());
        assert!(matches!(
            check(&a, 14 + max, Some(REF)),
            Err(AttestationInvalid::StaleReference { .. })
        ));

        let wrong_window = resign(a.clone(), &key, |b| b.window = 2);
        assert!(matches!(
            check(&wrong_window, 15, Some(REF)),
            Err(AttestationInvalid::WrongWindow { .. })
        ));
        // Slot 60 is epoch 1: an epoch-0 attestation can no longer be included (even with a
        // reference young enough).
        let late_ref = ReferenceBlock {
            hash: REF.hash,
            slot: 58,
        };
        let late = resign(a.clone(), &key, |b| b.window = 4);
        assert!(matches!(
            check(&late, 61, Some(late_ref)),
            Err(AttestationInvalid::WrongEpoch { .. })
        ));

        let mut tampered = a.clone();
        tampered.signature.0[0] ^= 1;
        assert_eq!(
            check(&tampered, 15, Some(REF)),
            Err(AttestationInvalid::BadSignature)
        );
        assert!(check_attestation(&tampered, &g, 15, Some(REF), false).is_ok());

        // Changing the nonce (and re-signing) breaks the proof of work, with overwhelming
        // probability for some nonce near the solution.
        let weak = (1..64u64)
            .map(|d| {
                resign(a.clone(), &key, |b| {
                    b.pow_nonce = b.pow_nonce.wrapping_add(d)
                })
            })
            .find(|w| leading_zero_bits(&w.body.pow_hash()) < g.rip200.pow_bits)
            .unwrap();
        assert!(matches!(
            check(&weak, 15, Some(REF)),
            Err(AttestationInvalid::WeakProofOfWork { .. })
        ));
    }

    #[test]
    fn simulated_mode_is_refused_on_a_mainnet_chain_id() {
        let mut spec = dev_genesis();
        spec.chain_id = ChainId::new("rustchain-mainnet").unwrap();
        spec.accounts.clear();
        spec.rip200.allow_simulated = true;
        assert!(
            spec.validate().is_err(),
            "a mainnet genesis cannot allow simulation"
        );
        spec.rip200.allow_simulated = false;
        let mainnet = spec.validate().unwrap();
        let key = KeyPair::from_secret_bytes(&[5; 32]).unwrap();
        let (a, _) = attestation(AttestationMode::Simulated);
        let a = resign(a, &key, |b| b.chain_id = mainnet.chain_id.clone());
        assert_eq!(
            check_attestation(&a, &mainnet, 15, Some(REF), true),
            Err(AttestationInvalid::SimulatedNotAllowed)
        );
    }

    #[test]
    fn simulated_mode_needs_the_genesis_to_allow_it() {
        let (a, _) = attestation(AttestationMode::Simulated);
        let mut g = genesis();
        assert!(check_attestation(&a, &g, 15, Some(REF), true).is_ok());
        g.rip200.allow_simulated = false;
        assert_eq!(
            check_attestation(&a, &g, 15, Some(REF), true),
            Err(AttestationInvalid::SimulatedNotAllowed)
        );
    }
}
