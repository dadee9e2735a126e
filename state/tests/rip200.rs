//! RIP-200 through the chain state: attestations recorded per window, one settlement per epoch
//! in the first block of the next, exact payouts, no double credit across rollbacks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use rustchain_consensus::rip200::{settle, AttestationInvalid, EpochEntry, EpochSchedule};
use rustchain_genesis::{dev_genesis, dev_validator_key, Genesis};
use rustchain_primitives::attestation::{
    CacheLevel, CpuidEvidence, PlatformEvidence, TimingEvidence,
};
use rustchain_primitives::receipt::settlement_receipt_id;
use rustchain_primitives::{
    Address, Amount, Arch, Attestation, AttestationBody, AttestationMode, Block, Checkpoint, Event,
    HardwareEvidence, Hash, KeyPair, PublicKey,
};
use rustchain_state::execution::StateReader;
use rustchain_state::rip200::epoch_miners;
use rustchain_state::{BlockContext, BlockExecutionError, Chain, ChainError};

fn genesis() -> Genesis {
    dev_genesis().validate().unwrap()
}

/// A bare-metal Zen 4 desktop; `cores` varies the hardware profile.
fn evidence(cores: u32) -> HardwareEvidence {
    HardwareEvidence {
        arch: Arch::X86_64,
        cpuid: Some(CpuidEvidence {
            vendor: "AuthenticAMD".into(),
            brand: "AMD Ryzen 5 7600X 6-Core Processor".into(),
            signature: 0x00a60f12,
            features: CpuidEvidence::FEATURE_SSE2
                | CpuidEvidence::FEATURE_SSE3
                | CpuidEvidence::FEATURE_SSE41
                | CpuidEvidence::FEATURE_SSE42
                | CpuidEvidence::FEATURE_AVX
                | CpuidEvidence::FEATURE_AVX2
                | CpuidEvidence::FEATURE_AES
                | CpuidEvidence::FEATURE_SHA
                | CpuidEvidence::FEATURE_LM,
            caches: vec![
                CacheLevel::new(1, 1, 32),
                CacheLevel::new(2, 3, 1024),
                CacheLevel::new(3, 3, 32 * 1024),
            ],
            hypervisor_bit: false,
            hypervisor_vendor: None,
            hyperv_root_partition: false,
            microcode: None,
        }),
        logical_cpus: cores * 2,
        physical_cores: Some(cores),
        memory_mib: 32_768,
        os: "Linux 6.1".into(),
        platform: PlatformEvidence::default(),
        timing: TimingEvidence::default(),
        unmeasured: vec![],
    }
}

fn miner(i: u8) -> KeyPair {
    KeyPair::from_secret_bytes(&[i + 40; 32]).unwrap()
}

fn attest(chain: &Chain, key: &KeyPair, cores: u32, reference_height: u64) -> Attestation {
    let g = chain.genesis();
    let hash = chain.store().hash_at(reference_height).unwrap().unwrap();
    let slot = chain.store().header(&hash).unwrap().unwrap().slot;
    let schedule = EpochSchedule::of(g);
    let evidence = evidence(cores);
    let mut body = AttestationBody {
        chain_id: g.chain_id.clone(),
        miner: key.public_key(),
        epoch: schedule.epoch(slot),
        window: schedule.window(slot),
        reference: Checkpoint {
            height: reference_height,
            hash,
        },
        mode: AttestationMode::Simulated,
        profile_hash: evidence.profile_hash(),
        evidence,
        pow_nonce: 0,
    };
    assert!(body.solve_pow(g.rip200.pow_bits, 0, 1 << 24));
    body.sign(key)
}

/// Executes and commits a block at `slot` on the head with `attestations`.
fn commit(chain: &Chain, slot: u64, attestations: Vec<Attestation>) -> Result<Block, ChainError> {
    let executed = chain.execute(&common::context(slot), &[], &attestations, &[])?;
    let block = common::seal(chain, slot, &executed, vec![], attestations);
    chain.commit(&block, executed)?;
    Ok(block)
}

fn balance(chain: &Chain, key: &PublicKey) -> u64 {
    chain
        .account(&Address::from_public_key(key), None)
        .unwrap()
        .balance
        .base_units()
}

#[test]
fn an_epoch_is_settled_once_exactly_and_survives_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::open(dir.path(), genesis()).unwrap();
    let pot = chain.genesis().reward_per_epoch;
    let (a, b, c) = (miner(1), miner(2), miner(3));

    commit(&chain, 1, vec![]).unwrap();
    // Window 0: a and b share one machine (profile 6 cores), c has its own (8 cores).
    commit(
        &chain,
        2,
        vec![
            attest(&chain, &a, 6, 1),
            attest(&chain, &b, 6, 1),
            attest(&chain, &c, 8, 1),
        ],
    )
    .unwrap();
    // The same window again is refused, in a block and (for the pool) by check_attestation.
    let again = attest(&chain, &a, 6, 2);
    assert!(matches!(
        commit(&chain, 3, vec![again.clone()]),
        Err(ChainError::Execution(
            BlockExecutionError::InvalidAttestation {
                reason: AttestationInvalid::DuplicateWindow { .. },
                ..
            }
        ))
    ));
    assert!(matches!(
        chain.check_attestation(&again, 3, true).unwrap(),
        Err(AttestationInvalid::DuplicateWindow { .. })
    ));
    // Another profile for the same key within the epoch is refused too.
    commit(&chain, 13, vec![]).unwrap();
    assert!(matches!(
        chain
            .check_attestation(&attest(&chain, &a, 12, 3), 14, true)
            .unwrap(),
        Err(AttestationInvalid::ProfileChanged { .. })
    ));
    // Window 1: only a.
    commit(&chain, 14, vec![attest(&chain, &a, 6, 3)]).unwrap();

    let record = epoch_miners(&chain.head_state(), 0).unwrap();
    assert_eq!(record.len(), 3);
    assert!(chain
        .head_state()
        .epoch_summary(0)
        .unwrap()
        .unwrap()
        .settlement
        .is_none());
    let entries: Vec<EpochEntry> = record
        .iter()
        .map(rustchain_state::rip200::EpochMiner::entry)
        .collect();
    assert!(
        entries.iter().all(|e| e.multiplier_bps > 0),
        "bare-metal evidence earns: {record:?}"
    );
    let expected = settle(pot, &entries);
    let before: Vec<u64> = [&a, &b, &c]
        .iter()
        .map(|k| balance(&chain, &k.public_key()))
        .collect();

    // Slot 59 is still epoch 0: nothing is paid.
    commit(&chain, 59, vec![]).unwrap();
    assert_eq!(balance(&chain, &a.public_key()), before[0]);
    let settling_height = chain.head().height + 1;
    // Slot 61: the first block of epoch 1 settles epoch 0.
    let settling = commit(&chain, 61, vec![]).unwrap();
    let paid: Vec<u64> = [&a, &b, &c]
        .iter()
        .zip(&before)
        .map(|(k, b)| balance(&chain, &k.public_key()) - b)
        .collect();
    assert_eq!(
        paid.iter().sum::<u64>(),
        pot.base_units(),
        "the pot, exactly"
    );
    for p in &expected {
        let i = [&a, &b, &c]
            .iter()
            .position(|k| k.public_key() == p.miner)
            .unwrap();
        assert_eq!(paid[i], p.amount.base_units());
    }
    // a and b are one machine: their profile weighs two windows (a's two), split 2:1; c's
    // profile weighs one window.
    assert!(paid[2] > 0 && paid[0] > paid[1]);
    // The settlement receipt follows the (absent) transaction receipts.
    let receipts = chain.store().receipts(&settling.hash()).unwrap();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].tx_hash, settlement_receipt_id(0));
    let credited: u64 = receipts[0]
        .events
        .iter()
        .map(|e| match e {
            Event::EpochReward {
                epoch: 0, amount, ..
            } => amount.base_units(),
            other => panic!("unexpected event {other:?}"),
        })
        .sum();
    assert_eq!(credited, pot.base_units());
    let state = chain.head_state();
    let settled = state.epoch_summary(0).unwrap().unwrap().settlement.unwrap();
    assert_eq!(
        (settled.height, settled.pot, settled.paid),
        (settling_height, pot, pot)
    );
    for m in epoch_miners(&state, 0).unwrap() {
        let i = [&a, &b, &c]
            .iter()
            .position(|k| k.public_key() == m.miner)
            .unwrap();
        assert_eq!(m.reward.unwrap().base_units(), paid[i]);
    }
    assert_eq!(state.rip200_totals().unwrap().issued, pot);
    let a_record = state.miner_record(&a.public_key()).unwrap().unwrap();
    assert_eq!(a_record.attestations, 2);
    assert_eq!(a_record.total_rewards.base_units(), paid[0]);

    // Later blocks of epoch 1 never pay epoch 0 again.
    commit(&chain, 62, vec![]).unwrap();
    assert_eq!(balance(&chain, &a.public_key()) - before[0], paid[0]);

    // Roll back below the settling block and settle again on another branch (a later slot):
    // the same payouts, once.
    chain.rollback_to(settling_height - 1).unwrap();
    assert_eq!(balance(&chain, &a.public_key()), before[0]);
    assert!(chain
        .head_state()
        .epoch_summary(0)
        .unwrap()
        .unwrap()
        .settlement
        .is_none());
    commit(&chain, 65, vec![]).unwrap();
    commit(&chain, 66, vec![]).unwrap();
    assert_eq!(balance(&chain, &a.public_key()) - before[0], paid[0]);
    assert_eq!(chain.head_state().rip200_totals().unwrap().issued, pot);
}

#[test]
fn an_epoch_nobody_attested_issues_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::open(dir.path(), genesis()).unwrap();
    commit(&chain, 5, vec![]).unwrap();
    let block = commit(&chain, 70, vec![]).unwrap();
    assert!(chain.store().receipts(&block.hash()).unwrap().is_empty());
    assert_eq!(
        chain.head_state().rip200_totals().unwrap().issued,
        Amount::ZERO
    );
}

#[test]
fn stale_and_foreign_references_are_refused_in_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::open(dir.path(), genesis()).unwrap();
    commit(&chain, 1, vec![]).unwrap();
    let a = attest(&chain, &miner(1), 6, 1);
    let max = chain.genesis().rip200.max_reference_age_slots;
    assert!(matches!(
        commit(&chain, 2 + max, vec![a.clone()]),
        Err(ChainError::Execution(
            BlockExecutionError::InvalidAttestation {
                reason: AttestationInvalid::StaleReference { .. },
                ..
            }
        ))
    ));
    let mut foreign = a.clone();
    foreign.body.reference.hash = Hash([1; 32]);
    let foreign = foreign.body.sign(&miner(1));
    assert!(matches!(
        commit(&chain, 2, vec![foreign]),
        Err(ChainError::Execution(
            BlockExecutionError::InvalidAttestation {
                reason: AttestationInvalid::UnknownReference { .. },
                ..
            }
        ))
    ));
    commit(&chain, 2, vec![a]).unwrap();
}

#[test]
fn a_full_epoch_refuses_new_miners_but_not_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = dev_genesis();
    spec.rip200.max_miners_per_epoch = 2;
    let chain = Chain::open(dir.path(), spec.validate().unwrap()).unwrap();
    commit(&chain, 1, vec![]).unwrap();
    commit(
        &chain,
        2,
        vec![
            attest(&chain, &miner(1), 6, 1),
            attest(&chain, &miner(2), 8, 1),
        ],
    )
    .unwrap();
    let third = attest(&chain, &miner(3), 10, 2);
    assert!(matches!(
        chain.check_attestation(&third, 3, true).unwrap(),
        Err(AttestationInvalid::EpochFull { max: 2, .. })
    ));
    assert!(matches!(
        commit(&chain, 3, vec![third]),
        Err(ChainError::Execution(
            BlockExecutionError::InvalidAttestation {
                reason: AttestationInvalid::EpochFull { .. },
                ..
            }
        ))
    ));
    // Enrolled miners keep attesting; the next epoch starts empty.
    commit(&chain, 13, vec![]).unwrap();
    commit(&chain, 14, vec![attest(&chain, &miner(1), 6, 3)]).unwrap();
    commit(&chain, 60, vec![]).unwrap();
    let next = attest(&chain, &miner(3), 10, 5);
    assert!(chain.check_attestation(&next, 61, true).unwrap().is_ok());
}

#[test]
fn block_building_keeps_attestations_within_their_byte_budget() {
    use rustchain_primitives::attestation::{
        MAX_ATTESTATION_BYTES, MAX_BLOCK_ATTESTATION_BYTES, MAX_EVIDENCE_ITEMS,
    };
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::open(dir.path(), genesis()).unwrap();
    commit(&chain, 1, vec![]).unwrap();
    // Near-maximal attestations: long DMI fields and notes.
    let big = |i: u16| {
        let mut secret = [7u8; 32];
        secret[..2].copy_from_slice(&i.to_be_bytes());
        let key = KeyPair::from_secret_bytes(&secret).unwrap();
        let mut a = attest(&chain, &key, 6, 1);
        let mut body = a.body.clone();
        body.evidence.platform.dmi = (0..MAX_EVIDENCE_ITEMS)
            .map(|j| (format!("field_{j:02}_{}", "x".repeat(40)), "v".repeat(128)))
            .collect();
        body.evidence.unmeasured = (0..MAX_EVIDENCE_ITEMS).map(|_| "n".repeat(100)).collect();
        body.profile_hash = body.evidence.profile_hash();
        assert!(body.solve_pow(chain.genesis().rip200.pow_bits, 0, 1 << 24));
        a = body.sign(&key);
        assert!(
            a.encoded_len() <= MAX_ATTESTATION_BYTES,
            "{}",
            a.encoded_len()
        );
        assert!(a.encoded_len() > 4_500, "{}", a.encoded_len());
        a
    };
    let candidates: Vec<Attestation> = (1..=500u16).map(big).collect();
    let total: usize = candidates.iter().map(Attestation::encoded_len).sum();
    assert!(total > MAX_BLOCK_ATTESTATION_BYTES);
    let proposer = dev_validator_key(0).unwrap();
    let built = chain
        .build(
            &BlockContext {
                proposer: proposer.public_key(),
                slot: 2,
            },
            vec![],
            candidates,
            vec![],
        )
        .unwrap();
    let used: usize = built
        .attestations
        .iter()
        .map(Attestation::encoded_len)
        .sum();
    assert!(used <= MAX_BLOCK_ATTESTATION_BYTES, "{used}");
    assert!(
        used > MAX_BLOCK_ATTESTATION_BYTES - MAX_ATTESTATION_BYTES,
        "{used}"
    );
}
