//! RIP-200 in the chain state: enrollment, per-epoch attestation records and settlement.
//!
//! Everything that decides a reward lives in the authenticated state tree, so every validator
//! recomputes it and a light client can prove it:
//!
//! | key | value |
//! |---|---|
//! | `Epoch(e)` | [`EpochRecord`]: each miner that attested in epoch `e` (profile, windows as a bit set, class, verdict, multiplier) and, once settled, the payouts |
//! | `Miner(k)` | [`MinerRecord`]: the miner's latest class and verdict, attestation count, total rewards |
//! | `Rip200Totals` | [`Rip200Totals`]: RTC issued to miners so far (for the supply cap) |
//!
//! **Attestations** (validated by `rustchain_consensus::rip200::check_attestation`, which the
//! chain runs before execution) add the window to the miner's entry of their epoch. The state
//! adds two rules: a miner attests each window at most once, and keeps one hardware profile
//! for the whole epoch.
//!
//! **Settlement** happens exactly once per epoch, in the first block whose slot is in a later
//! epoch than its parent's: that block settles the parent's epoch (attestations of an epoch can
//! only be included in blocks of that epoch, so no attestation can arrive after it). The pot is
//! `reward_per_epoch`, reduced if needed so that issuance never takes the supply above the
//! genesis cap; it is split by `rustchain_consensus::rip200::settle` and credited to each
//! miner's address, with one `EpochReward` event per miner in the block's settlement receipt.
//! The epoch record then carries the payouts and is marked settled; a second settlement of the
//! same epoch is impossible (the record says so), and a fork or rollback restores the state of
//! its height, settlement included, like any other state.

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
}

/// An epoch's settlement.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Settlement {
    /// Height of the block that settled it.
    pub height: u64,
    /// The pot (after the supply cap).
    pub pot: Amount,
    /// What each miner received, by key.
    pub payouts: Vec<(PublicKey, Amount)>,
}

/// An epoch's attestations and, once settled, its payouts.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EpochRecord {
    /// Miners that attested, sorted by key, one entry each.
    pub miners: Vec<EpochMiner>,
    /// Set by the settling block.
    pub settlement: Option<Settlement>,
}

impl EpochRecord {
    fn entry_mut(&mut self, miner: &PublicKey) -> Option<&mut EpochMiner> {
        self.miners
            .binary_search_by(|m| m.miner.cmp(miner))
            .ok()
            .and_then(|i| self.miners.get_mut(i))
    }

    fn insert(&mut self, entry: EpochMiner) {
        match self.miners.binary_search_by(|m| m.miner.cmp(&entry.miner)) {
            Ok(i) => self.miners[i] = entry,
            Err(i) => self.miners.insert(i, entry),
        }
    }
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
    /// Epoch records changed.
    pub epochs: BTreeMap<u64, EpochRecord>,
    /// Miner records changed.
    pub miners: BTreeMap<PublicKey, MinerRecord>,
    /// New totals, when issuance happened.
    pub totals: Option<Rip200Totals>,
}

impl Rip200Changes {
    /// Nothing changed?
    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty() && self.miners.is_empty() && self.totals.is_none()
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

impl<R: StateReader + ?Sized> BlockExecutor<'_, R> {
    fn epoch_record(&self, epoch: u64) -> Result<EpochRecord, StoreError> {
        match self.output.rip200.epochs.get(&epoch) {
            Some(r) => Ok(r.clone()),
            None => Ok(self.reader.epoch_record(epoch)?.unwrap_or_default()),
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
    /// attestation of the same window by the same miner, and a change of hardware profile
    /// within an epoch; nothing changes on refusal.
    pub fn apply_attestation(
        &mut self,
        attestation: &Attestation,
        scored: &Scored,
    ) -> Result<Result<(), AttestationInvalid>, StoreError> {
        let body = &attestation.body;
        let window_bit = 1u64.checked_shl(scored.window).unwrap_or(0);
        let mut record = self.epoch_record(scored.epoch)?;
        let entry = match record.entry_mut(&body.miner) {
            Some(e) => {
                if e.windows & window_bit != 0 {
                    return Ok(Err(AttestationInvalid::DuplicateWindow {
                        epoch: scored.epoch,
                        window: scored.window,
                    }));
                }
                if e.profile_hash != body.profile_hash {
                    return Ok(Err(AttestationInvalid::ProfileChanged {
                        epoch: scored.epoch,
                        first: e.profile_hash,
                        this: body.profile_hash,
                    }));
                }
                EpochMiner {
                    windows: e.windows | window_bit,
                    class: scored.class,
                    verdict: scored.verdict.into(),
                    multiplier_bps: e.multiplier_bps.max(scored.multiplier_bps),
                    ..*e
                }
            }
            None => EpochMiner {
                miner: body.miner,
                profile_hash: body.profile_hash,
                windows: window_bit,
                class: scored.class,
                verdict: scored.verdict.into(),
                multiplier_bps: scored.multiplier_bps,
            },
        };
        record.insert(entry);
        let miner = match self.miner_record(&body.miner)? {
            Some(m) => MinerRecord {
                last_epoch: scored.epoch,
                last_window: scored.window,
                attestations: m.attestations.saturating_add(1),
                profile_hash: body.profile_hash,
                class: scored.class,
                verdict: scored.verdict.into(),
                multiplier_bps: scored.multiplier_bps,
                ..m
            },
            None => MinerRecord {
                first_epoch: scored.epoch,
                last_epoch: scored.epoch,
                last_window: scored.window,
                attestations: 1,
                profile_hash: body.profile_hash,
                class: scored.class,
                verdict: scored.verdict.into(),
                multiplier_bps: scored.multiplier_bps,
                total_rewards: Amount::ZERO,
            },
        };
        self.output.rip200.epochs.insert(scored.epoch, record);
        self.output.rip200.miners.insert(body.miner, miner);
        Ok(Ok(()))
    }

    /// Settles `epoch` (see the module docs): credits each miner's share of the pot and
    /// records the payouts. Does nothing for an epoch that is already settled or has no
    /// attestations. Must run before the block's transactions.
    pub fn settle_epoch(&mut self, epoch: u64, rules: &SettlementRules) -> Result<(), StoreError> {
        let mut record = self.epoch_record(epoch)?;
        if record.settlement.is_some() || record.miners.is_empty() {
            return Ok(());
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
        let entries: Vec<EpochEntry> = record
            .miners
            .iter()
            .map(|m| EpochEntry {
                miner: m.miner,
                profile_hash: m.profile_hash,
                windows: m.windows,
                multiplier_bps: m.multiplier_bps,
            })
            .collect();
        let payouts = settle(pot, &entries);
        let mut events = Vec::with_capacity(payouts.len());
        let mut paid = Amount::ZERO;
        for p in &payouts {
            let address = Address::from_public_key(&p.miner);
            let mut account = self.account(&address)?;
            // Cannot overflow: the total stays under the supply cap.
            account.balance = account
                .balance
                .checked_add(p.amount)
                .unwrap_or(account.balance);
            self.output.changed.insert(address, account);
            if let Some(mut m) = self.miner_record(&p.miner)? {
                m.total_rewards = m
                    .total_rewards
                    .checked_add(p.amount)
                    .unwrap_or(m.total_rewards);
                self.output.rip200.miners.insert(p.miner, m);
            }
            paid = paid.checked_add(p.amount).unwrap_or(paid);
            events.push(Event::EpochReward {
                epoch,
                miner: address,
                amount: p.amount,
            });
        }
        record.settlement = Some(Settlement {
            height: rules.height,
            pot,
            payouts: payouts.iter().map(|p| (p.miner, p.amount)).collect(),
        });
        self.output.rip200.epochs.insert(epoch, record);
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
