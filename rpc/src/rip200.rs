//! `attest_*`, `epoch_*` and `miner_*`: RIP-200 over JSON-RPC.

use jsonrpsee::core::RpcResult;
use rustchain_consensus::rip200::{settle, EpochEntry, EpochSchedule, MachineVerdict};
use rustchain_mempool::{admit_attestation, inclusion_slot};
use rustchain_primitives::attestation::MAX_ATTESTATION_BYTES;
use rustchain_primitives::{Address, Amount, Attestation, AttestationError, PublicKey};
use rustchain_state::rip200::{epoch_miners, window_bit, EpochMiner, EpochSummary, MinerRecord};
use rustchain_state::StateReader;

use crate::api::{AttestApiServer, EpochApiServer, MinerApiServer};
use crate::error::{self, err, internal};
use crate::server::RpcContext;
use crate::types::{
    AttestResultJson, BlockRef, ChallengeJson, EpochInfoJson, EpochMinerJson, EpochRewardsJson,
    MinerJson,
};

/// Most miners returned by one `epoch_getRewards` or `miner_list` call.
const MAX_PAGE: u64 = 1_000;

impl RpcContext {
    fn schedule(&self) -> EpochSchedule {
        EpochSchedule::of(self.chain.genesis())
    }

    fn epoch_summary(&self, epoch: u64) -> RpcResult<Option<EpochSummary>> {
        self.chain
            .head_state()
            .epoch_summary(epoch)
            .map_err(internal)
    }

    /// The miners of `epoch` from position `offset`, at most `limit` (capped at
    /// [`MAX_PAGE`]).
    fn epoch_page(&self, epoch: u64, offset: u64, limit: u64) -> RpcResult<Vec<EpochMiner>> {
        let state = self.chain.head_state();
        let count = state
            .epoch_summary(epoch)
            .map_err(internal)?
            .map_or(0, |s| s.miners);
        let end = count.min(offset.saturating_add(limit.min(MAX_PAGE)));
        let mut out = Vec::new();
        for i in offset..end {
            let key = state
                .epoch_miner_at(epoch, i)
                .map_err(internal)?
                .ok_or_else(|| internal(format!("epoch {epoch} lists no miner {i}")))?;
            let entry = state
                .epoch_miner(epoch, &key)
                .map_err(internal)?
                .ok_or_else(|| internal(format!("epoch {epoch} has no entry for {key}")))?;
            out.push(entry);
        }
        Ok(out)
    }

    fn miner_json(&self, miner: &PublicKey, record: &MinerRecord) -> MinerJson {
        MinerJson {
            miner: *miner,
            address: Address::from_public_key(miner).encode(self.kind()),
            first_epoch: record.first_epoch,
            last_epoch: record.last_epoch,
            last_window: record.last_window,
            attestations: record.attestations,
            class: record.class,
            verdict: MachineVerdict::from(record.verdict).as_str().into(),
            multiplier_bps: record.multiplier_bps,
            profile_hash: record.profile_hash,
            total_rewards: record.total_rewards,
        }
    }

    fn epoch_miner_json(&self, m: &EpochMiner) -> EpochMinerJson {
        EpochMinerJson {
            miner: m.miner,
            address: Address::from_public_key(&m.miner).encode(self.kind()),
            windows: (0..64).filter(|w| m.windows & (1u64 << w) != 0).collect(),
            class: m.class,
            verdict: MachineVerdict::from(m.verdict).as_str().into(),
            multiplier_bps: m.multiplier_bps,
            profile_hash: m.profile_hash,
            reward: m.reward,
        }
    }
}

fn parse_attestation(hex_text: &str) -> RpcResult<Attestation> {
    let digits = hex_text.strip_prefix("0x").unwrap_or(hex_text);
    if digits.len() > 2 * MAX_ATTESTATION_BYTES {
        return Err(err(
            error::ATTESTATION_DECODE,
            format!(
                "attestation is {} bytes, above the limit of {MAX_ATTESTATION_BYTES}",
                digits.len() / 2
            ),
        ));
    }
    let bytes = hex::decode(digits).map_err(|e| {
        err(
            error::INVALID_HEX,
            format!("attestation is not valid hex: {e}"),
        )
    })?;
    Attestation::decode(&bytes).map_err(|e| match e {
        AttestationError::Decode(d) => err(
            error::ATTESTATION_DECODE,
            format!("attestation does not decode: {d}"),
        ),
        other => err(
            error::ATTESTATION_INVALID,
            format!("malformed attestation: {other}"),
        ),
    })
}

impl AttestApiServer for RpcContext {
    fn get_challenge(&self) -> RpcResult<ChallengeJson> {
        let g = self.chain.genesis();
        let head = self.chain.head();
        let schedule = self.schedule();
        let (epoch, window) = (schedule.epoch(head.slot), schedule.window(head.slot));
        let next_window = schedule
            .window_start(epoch, window)
            .saturating_add(schedule.window_slots());
        let next_window_ms = next_window
            .saturating_mul(g.slot_duration_ms)
            .saturating_add(g.genesis_time_ms);
        Ok(ChallengeJson {
            chain_id: g.chain_id.to_string(),
            epoch,
            window,
            windows_per_epoch: u32::try_from(schedule.windows).unwrap_or(u32::MAX),
            reference: BlockRef {
                height: head.height,
                hash: head.hash,
            },
            pow_bits: g.rip200.pow_bits,
            simulated_allowed: g.rip200.allow_simulated,
            window_start_slot: schedule.window_start(epoch, window),
            window_end_slot: next_window,
            slot_duration_ms: g.slot_duration_ms,
            ms_to_next_window: next_window_ms.saturating_sub(self.now_ms()),
        })
    }

    fn submit(&self, attestation: String) -> RpcResult<AttestResultJson> {
        let attestation = parse_attestation(&attestation)?;
        let slot = inclusion_slot(&self.chain, self.now_ms());
        let (id, scored) =
            admit_attestation(&self.attestations, &self.chain, attestation.clone(), slot)
                .map_err(internal)?
                .map_err(|r| error::attestation_rejection(&r))?;
        if let Some(broadcast) = &self.attestation_broadcast {
            if broadcast.try_send(attestation.clone()).is_err() {
                tracing::debug!("attestation gossip queue full; not gossiped");
            }
        }
        // Estimate: the epoch as recorded so far, plus this window for this miner.
        let body = &attestation.body;
        // O(miners in the epoch), bounded by the genesis `max_miners_per_epoch`, and paid for
        // by a fresh valid attestation per call.
        let miners = epoch_miners(&self.chain.head_state(), scored.epoch).map_err(internal)?;
        let mine = miners.iter().find(|m| m.miner == body.miner);
        let mut entries: Vec<EpochEntry> = miners
            .iter()
            .filter(|m| m.miner != body.miner)
            .map(EpochMiner::entry)
            .collect();
        entries.push(EpochEntry {
            miner: body.miner,
            profile_hash: body.profile_hash,
            windows: mine.map_or(0, |m| m.windows) | window_bit(scored.window),
            multiplier_bps: mine
                .map_or(0, |m| m.multiplier_bps)
                .max(scored.multiplier_bps),
        });
        let expected_reward = settle(self.chain.genesis().reward_per_epoch, &entries)
            .into_iter()
            .find(|p| p.miner == body.miner)
            .map_or(Amount::ZERO, |p| p.amount);
        Ok(AttestResultJson {
            id,
            epoch: scored.epoch,
            window: scored.window,
            class: scored.class,
            multiplier_bps: scored.multiplier_bps,
            verdict: scored.verdict.as_str().into(),
            reasons: scored.reasons,
            profile_hash: body.profile_hash,
            expected_reward,
        })
    }
}

impl EpochApiServer for RpcContext {
    fn get_info(&self) -> RpcResult<EpochInfoJson> {
        let g = self.chain.genesis();
        let head = self.chain.head();
        let schedule = self.schedule();
        let epoch = schedule.epoch(head.slot);
        let enrolled = self.epoch_summary(epoch)?.map_or(0, |s| s.miners);
        let issued = self
            .chain
            .head_state()
            .rip200_totals()
            .map_err(internal)?
            .issued;
        Ok(EpochInfoJson {
            epoch,
            window: schedule.window(head.slot),
            windows_per_epoch: u32::try_from(schedule.windows).unwrap_or(u32::MAX),
            epoch_slots: schedule.epoch_slots,
            first_slot: schedule.epoch_start(epoch),
            pot: g.reward_per_epoch,
            enrolled_miners: enrolled,
            pending_attestations: self.attestations.lock().len() as u64,
            issued_total: issued,
        })
    }

    fn get_rewards(
        &self,
        epoch: u64,
        offset: Option<u64>,
        limit: Option<u64>,
    ) -> RpcResult<EpochRewardsJson> {
        let summary = self.epoch_summary(epoch)?.ok_or_else(|| {
            err(
                error::NOT_FOUND,
                format!("no miner attested in epoch {epoch} on the canonical chain"),
            )
        })?;
        let offset = offset.unwrap_or(0);
        let page = self.epoch_page(epoch, offset, limit.unwrap_or(MAX_PAGE))?;
        Ok(EpochRewardsJson {
            epoch,
            settled: summary.settlement.is_some(),
            settled_at_height: summary.settlement.map(|s| s.height),
            pot: summary.settlement.map(|s| s.pot),
            paid: summary.settlement.map_or(Amount::ZERO, |s| s.paid),
            miner_count: summary.miners,
            offset,
            miners: page.iter().map(|m| self.epoch_miner_json(m)).collect(),
        })
    }
}

impl MinerApiServer for RpcContext {
    fn get(&self, miner: PublicKey) -> RpcResult<MinerJson> {
        let record = self
            .chain
            .head_state()
            .miner_record(&miner)
            .map_err(internal)?
            .ok_or_else(|| err(error::NOT_FOUND, format!("miner {miner} never attested")))?;
        Ok(self.miner_json(&miner, &record))
    }

    fn list(
        &self,
        epoch: Option<u64>,
        offset: Option<u64>,
        limit: Option<u64>,
    ) -> RpcResult<Vec<MinerJson>> {
        let epoch = epoch.unwrap_or_else(|| self.schedule().epoch(self.chain.head().slot));
        let page = self.epoch_page(epoch, offset.unwrap_or(0), limit.unwrap_or(MAX_PAGE))?;
        let state = self.chain.head_state();
        let mut out = Vec::with_capacity(page.len());
        for m in &page {
            if let Some(r) = state.miner_record(&m.miner).map_err(internal)? {
                out.push(self.miner_json(&m.miner, &r));
            }
        }
        Ok(out)
    }
}
