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
    by_slot: BTreeMap<(PublicKey, u64, u32), (Hash, Attestation)>,
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
        self.by_slot.values().any(|(h, _)| h == id)
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
        self.by_slot.insert(key, (id, attestation));
        Ok(id)
    }

    /// Candidates for a block, oldest window first.
    pub fn candidates(&self) -> Vec<Attestation> {
        let mut list: Vec<&Attestation> = self.by_slot.values().map(|(_, a)| a).collect();
        list.sort_by_key(|a| (a.body.epoch, a.body.window, a.body.miner));
        list.into_iter().cloned().collect()
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
