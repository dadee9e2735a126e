//! The attestation pool: RIP-200 attestations between arrival (RPC `attest_submit`, gossip) and
//! inclusion in a block.
//!
//! [`admit_attestation`] runs every rule a block would (`Chain::check_attestation`: chain,
//! mode, fresh reference, window, epoch, proof of work, signature, one per miner per window,
//! one profile per epoch) against the head, for inclusion at the *next* slot, before the pool
//! lock is taken. The pool keeps at most one attestation per (miner, epoch, window), at most
//! [`MAX_POOLED_ATTESTATIONS`] in all, and drops those of past epochs on [`AttestationPool::
//! prune`]; block building re-checks everything against its own slot and leaves out what has
//! gone stale.

use std::collections::BTreeMap;

use rustchain_consensus::rip200::{AttestationInvalid, Scored};
use rustchain_primitives::{Attestation, Hash, PublicKey};
use rustchain_state::{Chain, StoreError};

/// Most attestations held.
pub const MAX_POOLED_ATTESTATIONS: usize = 8_192;

/// Why the pool refused an attestation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationRejection {
    /// A RIP-200 rule is broken.
    #[error(transparent)]
    Invalid(#[from] AttestationInvalid),
    /// The same miner's attestation for this window is already pooled.
    #[error("an attestation by this miner for epoch {epoch} window {window} is already pending")]
    AlreadyPending {
        /// epoch
        epoch: u64,
        /// window
        window: u32,
    },
    /// The pool is full.
    #[error("the attestation pool is full ({MAX_POOLED_ATTESTATIONS} pending)")]
    PoolFull,
}

/// Pending attestations.
#[derive(Debug, Default)]
pub struct AttestationPool {
    /// By (miner, epoch, window): (arrival number, id, attestation).
    by_slot: BTreeMap<(PublicKey, u64, u32), (u64, Hash, Attestation)>,
    /// Arrivals so far (orders candidates first come, first served).
    arrivals: u64,
}

impl AttestationPool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number pending.
    pub fn len(&self) -> usize {
        self.by_slot.len()
    }

    /// Nothing pending?
    pub fn is_empty(&self) -> bool {
        self.by_slot.is_empty()
    }

    /// Is this exact attestation pending?
    pub fn contains(&self, id: &Hash) -> bool {
        self.by_slot.values().any(|(_, h, _)| h == id)
    }

    /// Adds an attestation whose rules were checked by the caller.
    pub fn insert(&mut self, attestation: Attestation) -> Result<Hash, AttestationRejection> {
        let body = &attestation.body;
        let key = (body.miner, body.epoch, body.window);
        if self.by_slot.contains_key(&key) {
            return Err(AttestationRejection::AlreadyPending {
                epoch: body.epoch,
                window: body.window,
            });
        }
        if self.by_slot.len() >= MAX_POOLED_ATTESTATIONS {
            return Err(AttestationRejection::PoolFull);
        }
        let id = attestation.hash();
        self.arrivals += 1;
        self.by_slot.insert(key, (self.arrivals, id, attestation));
        Ok(id)
    }

    /// Candidates for a block: oldest window first, then first come, first served (not by
    /// key, which a miner could grind for priority).
    pub fn candidates(&self) -> Vec<Attestation> {
        let mut list: Vec<&(u64, Hash, Attestation)> = self.by_slot.values().collect();
        list.sort_by_key(|(arrival, _, a)| (a.body.epoch, a.body.window, *arrival));
        list.into_iter().map(|(_, _, a)| a.clone()).collect()
    }

    /// Removes attestations that a block included (by id).
    pub fn remove_included(&mut self, included: &[Attestation]) {
        for a in included {
            self.by_slot
                .remove(&(a.body.miner, a.body.epoch, a.body.window));
        }
    }

    /// Drops attestations of epochs before `epoch` (they can no longer be included) and those
    /// for which `recorded(miner, epoch, window)` says the chain already holds one.
    pub fn prune(&mut self, epoch: u64, mut recorded: impl FnMut(&PublicKey, u64, u32) -> bool) {
        self.by_slot
            .retain(|(miner, e, w), _| *e >= epoch && !recorded(miner, *e, *w));
    }

    /// Removes the attestations `left_out` names (block building found them invalid).
    pub fn remove(&mut self, left_out: &[(Attestation, AttestationInvalid)]) {
        for (a, _) in left_out {
            self.by_slot
                .remove(&(a.body.miner, a.body.epoch, a.body.window));
        }
    }
}

/// The slot an attestation arriving at `now_ms` would be included at: the next slot by the
/// clock, and never at or before the head's.
pub fn inclusion_slot(chain: &Chain, now_ms: u64) -> u64 {
    let g = chain.genesis();
    let now_slot = now_ms
        .saturating_sub(g.genesis_time_ms)
        .checked_div(g.slot_duration_ms)
        .unwrap_or(0);
    now_slot
        .saturating_add(1)
        .max(chain.head().slot.saturating_add(1))
}

/// Admits an attestation from outside (RPC or gossip) for inclusion at `slot` (normally the
/// next slot): every rule is checked against the head before the pool lock is taken. `Err` is
/// a storage failure, never the submitter's fault.
pub fn admit_attestation(
    pool: &parking_lot::Mutex<AttestationPool>,
    chain: &Chain,
    attestation: Attestation,
    slot: u64,
) -> Result<Result<(Hash, Scored), AttestationRejection>, StoreError> {
    let scored = match chain.check_attestation(&attestation, slot, true)? {
        Ok(s) => s,
        Err(e) => return Ok(Err(e.into())),
    };
    Ok(pool.lock().insert(attestation).map(|id| (id, scored)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustchain_primitives::attestation::{PlatformEvidence, TimingEvidence};
    use rustchain_primitives::{
        Arch, AttestationBody, AttestationMode, ChainId, Checkpoint, HardwareEvidence, KeyPair,
    };

    fn attestation(miner: u8, epoch: u64, window: u32) -> Attestation {
        let key = KeyPair::from_secret_bytes(&[miner; 32]).unwrap();
        let evidence = HardwareEvidence {
            arch: Arch::X86_64,
            cpuid: None,
            logical_cpus: 4,
            physical_cores: None,
            memory_mib: 4_096,
            os: "test".into(),
            platform: PlatformEvidence::default(),
            timing: TimingEvidence::default(),
            unmeasured: vec![],
        };
        AttestationBody {
            chain_id: ChainId::new("dev-test").unwrap(),
            miner: key.public_key(),
            epoch,
            window,
            reference: Checkpoint::default(),
            mode: AttestationMode::Simulated,
            profile_hash: evidence.profile_hash(),
            evidence,
            pow_nonce: 0,
        }
        .sign(&key)
    }

    #[test]
    fn one_per_miner_and_window_first_come_first_served() {
        let mut pool = AttestationPool::new();
        // Arrival order 9, 1, 5 within window 1; an older window arrives last.
        for m in [9, 1, 5] {
            pool.insert(attestation(m, 2, 1)).unwrap();
        }
        pool.insert(attestation(7, 2, 0)).unwrap();
        assert_eq!(
            pool.insert(attestation(9, 2, 1)),
            Err(AttestationRejection::AlreadyPending {
                epoch: 2,
                window: 1
            })
        );
        let order: Vec<(u32, PublicKey)> = pool
            .candidates()
            .iter()
            .map(|a| (a.body.window, a.body.miner))
            .collect();
        let key = |m: u8| KeyPair::from_secret_bytes(&[m; 32]).unwrap().public_key();
        assert_eq!(
            order,
            vec![(0, key(7)), (1, key(9)), (1, key(1)), (1, key(5))]
        );
        let first = pool.candidates()[0].hash();
        assert!(pool.contains(&first));
        assert!(!pool.contains(&attestation(8, 2, 1).hash()));
    }

    #[test]
    fn prune_drops_past_epochs_and_recorded_windows() {
        let mut pool = AttestationPool::new();
        pool.insert(attestation(1, 1, 4)).unwrap();
        pool.insert(attestation(2, 2, 0)).unwrap();
        pool.insert(attestation(3, 2, 0)).unwrap();
        let recorded = KeyPair::from_secret_bytes(&[3; 32]).unwrap().public_key();
        pool.prune(2, |miner, _, _| *miner == recorded);
        let left: Vec<u64> = pool.candidates().iter().map(|a| a.body.epoch).collect();
        assert_eq!(left, vec![2]);
        assert_eq!(pool.len(), 1);
    }

    #[test]
    fn a_full_pool_refuses() {
        let mut pool = AttestationPool::new();
        for i in 0..MAX_POOLED_ATTESTATIONS {
            // Distinct (miner, epoch, window) keys; the pool does not check signatures.
            let mut a = attestation(1, 0, 0);
            a.body.epoch = i as u64;
            pool.insert(a).unwrap();
        }
        assert_eq!(
            pool.insert(attestation(2, 0, 0)),
            Err(AttestationRejection::PoolFull)
        );
    }
}
