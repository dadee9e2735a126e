//! RIP-200 in the chain state: enrollment, per-epoch attestation records and settlement.
//!
//! Everything that decides a reward lives in the authenticated state tree, so every validator
//! recomputes it and a light client can prove it:
//!
//! | key | value |
//! |---|---|
//! | `Epoch(e)` | [`EpochSummary`]: how many miners attested in epoch `e` and, once settled, the settlement (height, pot, paid) |
//! | `EpochMinerAt(e, i)` | the key of the `i`-th miner (in order of first attestation) of epoch `e`: an append-only index |
//! | `EpochMiner(e, k)` | [`EpochMiner`]: miner `k`'s profile, windows (a bit set), class, verdict and multiplier in epoch `e`, and its reward once settled |
//! | `Miner(k)` | [`MinerRecord`]: the miner's latest class and verdict, attestation count, total rewards |
//! | `Rip200Totals` | [`Rip200Totals`]: RTC issued to miners so far (for the supply cap) |
//!
//! Every attestation touches a constant number of small entries (its miner's epoch entry and
//! record, and for a miner new in the epoch one index entry and the summary), so the cost of a
//! block does not grow with the number of miners; only the settlement reads every entry of
//! the epoch, once. At most `rip200.max_miners_per_epoch` miners (genesis) enroll per epoch.
//!
//! **Attestations** (validated by `rustchain_consensus::rip200::check_attestation`, which the
//! chain runs before execution) add the window to the miner's entry of their epoch. The state
//! adds three rules: a miner attests each window at most once, keeps one hardware profile for
//! the whole epoch, and a new miner is refused once the epoch has `max_miners_per_epoch`.
//!
//! **Settlement** happens exactly once per epoch, in the first block whose slot is in a later
//! epoch than its parent's: that block settles the parent's epoch (attestations of an epoch can
//! only be included in blocks of that epoch, so no attestation can arrive after it). The pot is
//! `reward_per_epoch`, reduced if needed so that issuance never takes the supply above the
//! genesis cap; it is split by `rustchain_consensus::rip200::settle` and credited to each
//! miner's address, with one `EpochReward` event per miner in the block's settlement receipt.
//! Each miner's epoch entry then carries its reward and the summary is marked settled; a second
//! settlement of the same epoch is impossible (the summary says so), and a fork or rollback
//! restores the state of its height, settlement included, like any other state.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use rustchain_consensus::rip200::{settle, AttestationInvalid, EpochEntry, MachineVerdict, Scored};
use rustchain_primitives::receipt::settlement_receipt_id;
use rustchain_primitives::{
    Address, Amount, Attestation, Event, HardwareClass, Hash, PublicKey, Receipt, TxStatus,
};

use crate::execution::{BlockExecutor, StateReader};
use crate::StoreError;

/// Machine verdict as stored (the consensus enum has no encoding of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum StoredVerdict {
    /// Physical hardware.
    BareMetal,
    /// Virtual machine guest.
    VirtualMachine,
    /// Emulator or binary translator.
    Emulator,
    /// Container.
    Container,
}

impl From<MachineVerdict> for StoredVerdict {
    fn from(v: MachineVerdict) -> Self {
        match v {
            MachineVerdict::BareMetal => StoredVerdict::BareMetal,
            MachineVerdict::VirtualMachine => StoredVerdict::VirtualMachine,
            MachineVerdict::Emulator => StoredVerdict::Emulator,
            MachineVerdict::Container => StoredVerdict::Container,
        }
    }
}

impl From<StoredVerdict> for MachineVerdict {
    fn from(v: StoredVerdict) -> Self {
        match v {
            StoredVerdict::BareMetal => MachineVerdict::BareMetal,
            StoredVerdict::VirtualMachine => MachineVerdict::VirtualMachine,
            StoredVerdict::Emulator => MachineVerdict::Emulator,
            StoredVerdict::Container => MachineVerdict::Container,
        }
    }
}

/// One miner's attestations in one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EpochMiner {
    /// The miner key.
    pub miner: PublicKey,
    /// Its hardware profile for the epoch (from its first attestation).
    pub profile_hash: Hash,
    /// Windows attested, bit `w` for window `w`.
    pub windows: u64,
    /// Class derived from the evidence.
    pub class: HardwareClass,
    /// Machine verdict.
    pub verdict: StoredVerdict,
    /// Multiplier in basis points (0 when the verdict does not earn); the highest seen in the
    /// epoch.
    pub multiplier_bps: u32,
    /// Its reward, once the epoch is settled (zero included).
    pub reward: Option<Amount>,
}

impl EpochMiner {
    /// Did the miner attest `window`?
    pub fn has_window(&self, window: u32) -> bool {
        self.windows & window_bit(window) != 0
    }

    /// What the settlement needs of this entry.
    pub fn entry(&self) -> EpochEntry {
        EpochEntry {
            miner: self.miner,
            profile_hash: self.profile_hash,
            windows: self.windows,
            multiplier_bps: self.multiplier_bps,
        }
    }
}

/// An epoch's settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Settlement {
    /// Height of the block that settled it.
    pub height: u64,
    /// The pot (after the supply cap).
    pub pot: Amount,
    /// Sum credited (the pot, or zero when no miner had weight).
    pub paid: Amount,
}

/// An epoch's miner count and, once settled, its settlement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EpochSummary {
    /// Miners enrolled (entries `EpochMinerAt(e, 0..miners)`).
    pub miners: u64,
    /// Set by the settling block.
    pub settlement: Option<Settlement>,
}

/// A miner's standing across epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct MinerRecord {
    /// First epoch attested.
    pub first_epoch: u64,
    /// Latest epoch attested.
    pub last_epoch: u64,
    /// Latest window attested.
    pub last_window: u32,
    /// Attestations included so far.
    pub attestations: u64,
    /// Latest hardware profile.
    pub profile_hash: Hash,
    /// Latest class.
    pub class: HardwareClass,
    /// Latest verdict.
    pub verdict: StoredVerdict,
    /// Latest multiplier (basis points).
    pub multiplier_bps: u32,
    /// Rewards received so far.
    pub total_rewards: Amount,
}

/// RIP-200 issuance so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Rip200Totals {
    /// RTC issued to miners so far.
    pub issued: Amount,
}

/// The RIP-200 state changes of one block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rip200Changes {
    /// Epoch summaries changed.
    pub summaries: BTreeMap<u64, EpochSummary>,
    /// Index entries added: `(epoch, position) -> miner`.
    pub index: BTreeMap<(u64, u64), PublicKey>,
    /// Epoch entries changed, by `(epoch, miner)`.
    pub entries: BTreeMap<(u64, PublicKey), EpochMiner>,
    /// Miner records changed.
    pub miners: BTreeMap<PublicKey, MinerRecord>,
    /// New totals, when issuance happened.
    pub totals: Option<Rip200Totals>,
}

impl Rip200Changes {
    /// Nothing changed?
    pub fn is_empty(&self) -> bool {
        self.summaries.is_empty()
            && self.index.is_empty()
            && self.entries.is_empty()
            && self.miners.is_empty()
            && self.totals.is_none()
    }
}

/// Every miner entry of `epoch`, in enrollment order.
pub fn epoch_miners<R: StateReader + ?Sized>(
    reader: &R,
    epoch: u64,
) -> Result<Vec<EpochMiner>, StoreError> {
    let count = reader.epoch_summary(epoch)?.map_or(0, |s| s.miners);
    let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for i in 0..count {
        let key = reader
            .epoch_miner_at(epoch, i)?
            .ok_or_else(|| missing_entry(epoch, i))?;
        out.push(
            reader
                .epoch_miner(epoch, &key)?
                .ok_or_else(|| missing_entry(epoch, i))?,
        );
    }
    Ok(out)
}

fn missing_entry(epoch: u64, index: u64) -> StoreError {
    StoreError::Corrupt {
        table: crate::tables::STATE_VALUES,
        detail: format!("RIP-200 epoch {epoch} lists miner {index} without its entry"),
    }
}

/// What settlement needs to know about the chain.
#[derive(Debug, Clone, Copy)]
pub struct SettlementRules {
    /// The genesis `reward_per_epoch`.
    pub reward_per_epoch: Amount,
    /// The genesis supply cap.
    pub supply_cap: Amount,
    /// Sum of the genesis balances.
    pub genesis_supply: Amount,
    /// Height of the block being executed.
    pub height: u64,
}

/// What the state's attestation rules need from the genesis.
#[derive(Debug, Clone, Copy)]
pub struct EnrollmentRules {
    /// Most miners per epoch.
    pub max_miners_per_epoch: u64,
}

impl<R: StateReader + ?Sized> BlockExecutor<'_, R> {
    fn epoch_summary(&self, epoch: u64) -> Result<EpochSummary, StoreError> {
        match self.output.rip200.summaries.get(&epoch) {
            Some(s) => Ok(*s),
            None => Ok(self.reader.epoch_summary(epoch)?.unwrap_or_default()),
        }
    }

    fn epoch_miner(&self, epoch: u64, miner: &PublicKey) -> Result<Option<EpochMiner>, StoreError> {
        match self.output.rip200.entries.get(&(epoch, *miner)) {
            Some(e) => Ok(Some(*e)),
            None => self.reader.epoch_miner(epoch, miner),
        }
    }

    fn epoch_miner_at(&self, epoch: u64, index: u64) -> Result<Option<PublicKey>, StoreError> {
        match self.output.rip200.index.get(&(epoch, index)) {
            Some(k) => Ok(Some(*k)),
            None => self.reader.epoch_miner_at(epoch, index),
        }
    }

    fn miner_record(&self, miner: &PublicKey) -> Result<Option<MinerRecord>, StoreError> {
        match self.output.rip200.miners.get(miner) {
            Some(r) => Ok(Some(*r)),
            None => self.reader.miner_record(miner),
        }
    }

    /// Records one attestation, already checked (and scored) by
    /// `rustchain_consensus::rip200::check_attestation` against this block. Refuses a second
    /// attestation of the same window by the same miner, a change of hardware profile within
    /// an epoch, and a new miner in a full epoch; nothing changes on refusal.
    pub fn apply_attestation(
        &mut self,
        attestation: &Attestation,
        scored: &Scored,
        rules: &EnrollmentRules,
    ) -> Result<Result<(), AttestationInvalid>, StoreError> {
        let body = &attestation.body;
        let epoch = scored.epoch;
        let window_bit = window_bit(scored.window);
        let entry = match self.epoch_miner(epoch, &body.miner)? {
            Some(e) => {
                if let Err(reason) = check_entry(&e, attestation, scored) {
                    return Ok(Err(reason));
                }
                EpochMiner {
                    windows: e.windows | window_bit,
                    class: scored.class,
                    verdict: scored.verdict.into(),
                    multiplier_bps: e.multiplier_bps.max(scored.multiplier_bps),
                    ..e
                }
            }
            None => {
                let mut summary = self.epoch_summary(epoch)?;
                if summary.miners >= rules.max_miners_per_epoch {
                    return Ok(Err(AttestationInvalid::EpochFull {
                        epoch,
                        max: rules.max_miners_per_epoch,
                    }));
                }
                self.output
                    .rip200
                    .index
                    .insert((epoch, summary.miners), body.miner);
                summary.miners += 1;
                self.output.rip200.summaries.insert(epoch, summary);
                EpochMiner {
                    miner: body.miner,
                    profile_hash: body.profile_hash,
                    windows: window_bit,
                    class: scored.class,
                    verdict: scored.verdict.into(),
                    multiplier_bps: scored.multiplier_bps,
                    reward: None,
                }
            }
        };
        let miner = match self.miner_record(&body.miner)? {
            Some(m) => MinerRecord {
                last_epoch: epoch,
                last_window: scored.window,
                attestations: m.attestations.saturating_add(1),
                profile_hash: body.profile_hash,
                class: scored.class,
                verdict: scored.verdict.into(),
                multiplier_bps: scored.multiplier_bps,
                ..m
            },
            None => MinerRecord {
                first_epoch: epoch,
                last_epoch: epoch,
                last_window: scored.window,
                attestations: 1,
                profile_hash: body.profile_hash,
                class: scored.class,
                verdict: scored.verdict.into(),
                multiplier_bps: scored.multiplier_bps,
                total_rewards: Amount::ZERO,
            },
        };
        self.output
            .rip200
            .entries
            .insert((epoch, body.miner), entry);
        self.output.rip200.miners.insert(body.miner, miner);
        Ok(Ok(()))
    }

    /// Settles `epoch` (see the module docs): credits each miner's share of the pot and
    /// records the rewards. Does nothing for an epoch that is already settled or has no
    /// attestations. Must run before the block's transactions.
    pub fn settle_epoch(&mut self, epoch: u64, rules: &SettlementRules) -> Result<(), StoreError> {
        let mut summary = self.epoch_summary(epoch)?;
        if summary.settlement.is_some() || summary.miners == 0 {
            return Ok(());
        }
        let mut miners = Vec::with_capacity(usize::try_from(summary.miners).unwrap_or(0));
        for i in 0..summary.miners {
            let key = self
                .epoch_miner_at(epoch, i)?
                .ok_or_else(|| missing_entry(epoch, i))?;
            miners.push(
                self.epoch_miner(epoch, &key)?
                    .ok_or_else(|| missing_entry(epoch, i))?,
            );
        }
        let totals = match self.output.rip200.totals {
            Some(t) => t,
            None => self.reader.rip200_totals()?,
        };
        let issued_so_far = rules
            .genesis_supply
            .checked_add(totals.issued)
            .unwrap_or(rules.supply_cap);
        let room = rules
            .supply_cap
            .checked_sub(issued_so_far)
            .unwrap_or(Amount::ZERO);
        let pot = rules.reward_per_epoch.min(room);
        let entries: Vec<EpochEntry> = miners.iter().map(EpochMiner::entry).collect();
        let payouts: BTreeMap<PublicKey, Amount> = settle(pot, &entries)
            .into_iter()
            .map(|p| (p.miner, p.amount))
            .collect();
        let mut events = Vec::with_capacity(payouts.len());
        let mut paid = Amount::ZERO;
        for (miner, amount) in &payouts {
            let address = Address::from_public_key(miner);
            let mut account = self.account(&address)?;
            // Cannot overflow: the total stays under the supply cap.
            account.balance = account
                .balance
                .checked_add(*amount)
                .unwrap_or(account.balance);
            self.output.changed.insert(address, account);
            if let Some(mut m) = self.miner_record(miner)? {
                m.total_rewards = m
                    .total_rewards
                    .checked_add(*amount)
                    .unwrap_or(m.total_rewards);
                self.output.rip200.miners.insert(*miner, m);
            }
            paid = paid.checked_add(*amount).unwrap_or(paid);
            events.push(Event::EpochReward {
                epoch,
                miner: address,
                amount: *amount,
            });
        }
        for mut m in miners {
            m.reward = Some(payouts.get(&m.miner).copied().unwrap_or(Amount::ZERO));
            self.output.rip200.entries.insert((epoch, m.miner), m);
        }
        summary.settlement = Some(Settlement {
            height: rules.height,
            pot,
            paid,
        });
        self.output.rip200.summaries.insert(epoch, summary);
        self.output.rip200.totals = Some(Rip200Totals {
            issued: totals.issued.checked_add(paid).unwrap_or(totals.issued),
        });
        self.output.settlement_receipt = Some(Receipt {
            tx_hash: settlement_receipt_id(epoch),
            status: TxStatus::Success,
            fee_paid: Amount::ZERO,
            events,
        });
        Ok(())
    }
}

/// Bit `window` of a window set (windows are below 64: the genesis allows at most 64).
pub fn window_bit(window: u32) -> u64 {
    1u64.checked_shl(window).unwrap_or(0)
}

/// The state's per-miner rules for a miner already enrolled in the epoch: one attestation per
/// window, one hardware profile per epoch.
fn check_entry(
    entry: &EpochMiner,
    attestation: &Attestation,
    scored: &Scored,
) -> Result<(), AttestationInvalid> {
    if entry.has_window(scored.window) {
        return Err(AttestationInvalid::DuplicateWindow {
            epoch: scored.epoch,
            window: scored.window,
        });
    }
    if entry.profile_hash != attestation.body.profile_hash {
        return Err(AttestationInvalid::ProfileChanged {
            epoch: scored.epoch,
            first: entry.profile_hash,
            this: attestation.body.profile_hash,
        });
    }
    Ok(())
}
