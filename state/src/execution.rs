//! Deterministic execution of a block's transactions.
//!
//! Execution is a pure function of (the parent state, the transactions in order, the proposer):
//! integer arithmetic only, every operation checked, accounts kept in a `BTreeMap` so the set of
//! changes comes out in one fixed order. It reads no clock and measures nothing.
//!
//! For each transaction, in order:
//! 1. the inclusion rules of [`crate::rules`] must hold against the current (in-block) state,
//!    otherwise the whole block is invalid;
//! 2. the fee moves from the sender to the proposer and the sender's nonce increases by one;
//! 3. the payload applies if it can (a transfer needs `amount` left after the fee), otherwise the
//!    receipt says why it failed and nothing else changes.
//!
//! Then each piece of evidence, in order, must be valid (see [`crate::validators`]) and jails
//! its offender; invalid evidence makes the whole block invalid.
//!
//! Signatures are *not* checked here: the caller verifies them once, in parallel, before calling.

use std::collections::{BTreeMap, BTreeSet};

use rustchain_primitives::bounty::bounty_expiry_receipt_id;
use rustchain_primitives::receipt::FailureReason;
use rustchain_primitives::{
    codec, escrow_address, Account, Address, Amount, BountyAction, BountyParams, ChainId, Event,
    Evidence, Hash, MultisigApproval, MultisigCall, MultisigEffect, MultisigPolicy, PublicKey,
    Receipt, Transaction, TxPayload, TxStatus,
};

use crate::bounty::{BountyContext, BountyState, Overlay, ReaderState};
use crate::rip200::{
    EnrollmentRules, EpochMiner, EpochSummary, MinerRecord, Rip200Changes, Rip200Totals,
    SettlementRules,
};
use crate::rules::{check_includable, check_stateless, TxInvalid, TxRules};
use crate::tree::StateKey;
use crate::validators::{check_evidence, EvidenceInvalid, ValidatorRecord};
use rustchain_consensus::rip200::{AttestationInvalid, Scored};
use rustchain_primitives::Attestation;

/// Read access to the parent state.
pub trait StateReader {
    /// The account at `address`, or the default (empty) account if absent.
    fn account(&self, address: &Address) -> Result<Account, crate::StoreError>;
    /// The validator's record, or the default (clean) record if absent.
    fn validator(&self, key: &PublicKey) -> Result<ValidatorRecord, crate::StoreError>;
    /// Was this offence already punished?
    fn offence_punished(&self, id: &Hash) -> Result<bool, crate::StoreError>;
    /// A raw entry of a kind without its own accessor (multisig policies, ...), if present.
    fn entry(&self, key: &StateKey) -> Result<Option<Vec<u8>>, crate::StoreError>;
    /// The RIP-200 summary of `epoch`, if any miner attested in it.
    fn epoch_summary(&self, epoch: u64) -> Result<Option<EpochSummary>, crate::StoreError>;
    /// A miner's entry in `epoch`.
    fn epoch_miner(
        &self,
        epoch: u64,
        miner: &PublicKey,
    ) -> Result<Option<EpochMiner>, crate::StoreError>;
    /// The `index`-th miner enrolled in `epoch`.
    fn epoch_miner_at(
        &self,
        epoch: u64,
        index: u64,
    ) -> Result<Option<PublicKey>, crate::StoreError>;
    /// The miner's record, if it ever attested.
    fn miner_record(&self, miner: &PublicKey) -> Result<Option<MinerRecord>, crate::StoreError>;
    /// RIP-200 issuance so far.
    fn rip200_totals(&self) -> Result<Rip200Totals, crate::StoreError>;
}

/// What evidence execution needs to know about the chain and the block.
#[derive(Debug, Clone)]
pub struct EvidenceRules<'a> {
    /// This chain.
    pub chain_id: &'a ChainId,
    /// The genesis validator set.
    pub validators: &'a [PublicKey],
    /// Jail periods for a first and second offence.
    pub jail_slots: [u64; 2],
    /// The slot of the block being executed.
    pub slot: u64,
}

/// Why a block's transactions cannot be executed.
#[derive(Debug, thiserror::Error)]
pub enum BlockExecutionError {
    /// A transaction breaks an inclusion rule.
    #[error("transaction {index} is not includable: {reason}")]
    InvalidTransaction {
        /// position in the block
        index: usize,
        /// the rule broken
        reason: TxInvalid,
    },
    /// A piece of evidence is invalid.
    #[error("evidence {index} is invalid: {reason}")]
    InvalidEvidence {
        /// position in the block's evidence list
        index: usize,
        /// the rule broken
        reason: EvidenceInvalid,
    },
    /// An attestation is invalid.
    #[error("attestation {index} is invalid: {reason}")]
    InvalidAttestation {
        /// position in the block's attestation list
        index: usize,
        /// the rule broken
        reason: AttestationInvalid,
    },
    /// Reading state failed.
    #[error(transparent)]
    Store(#[from] crate::StoreError),
}

/// The result of executing a list of transactions.
#[derive(Debug, Clone, Default)]
pub struct ExecutionOutput {
    /// Every account touched, with its new value, in address order.
    pub changed: BTreeMap<Address, Account>,
    /// Validator records changed (by evidence), by key.
    pub validators: BTreeMap<PublicKey, ValidatorRecord>,
    /// Offences punished in this block.
    pub offences: BTreeSet<Hash>,
    /// One receipt per transaction, in order.
    pub receipts: Vec<Receipt>,
    /// RIP-200 records changed.
    pub rip200: Rip200Changes,
    /// The receipt of the epoch settlement this block performed, if any.
    pub settlement_receipt: Option<Receipt>,
    /// Other state entries written (multisig policies, bounties, ...), borsh-encoded, by key.
    pub entries: BTreeMap<StateKey, Vec<u8>>,
    /// The receipt of the claim expiries this block performed, if any.
    pub bounty_receipt: Option<Receipt>,
}

/// Applies transactions one at a time on top of a parent state.
///
/// [`BlockExecutor::apply`] either applies a transaction completely (returning its receipt) or,
/// if it breaks an inclusion rule, changes nothing: block *import* turns that into an invalid
/// block ([`execute_transactions`]), block *building* simply leaves the transaction out.
#[derive(Debug)]
pub struct BlockExecutor<'r, R: StateReader + ?Sized> {
    pub(crate) reader: &'r R,
    rules: &'r TxRules,
    proposer: Address,
    /// The height of the block being executed (bounty deadlines and expiries).
    height: u64,
    bounty: BountyParams,
    pub(crate) output: ExecutionOutput,
}

impl<'r, R: StateReader + ?Sized> BlockExecutor<'r, R> {
    /// Starts a block on `reader` with fees to `proposer`, at height 0 (see
    /// [`BlockExecutor::at_height`]) with the bounty parameters of the rules' chain id.
    pub fn new(reader: &'r R, rules: &'r TxRules, proposer: &PublicKey) -> Self {
        BlockExecutor {
            reader,
            rules,
            proposer: Address::from_public_key(proposer),
            height: 0,
            bounty: BountyParams::for_network(rules.chain_id.kind()),
            output: ExecutionOutput::default(),
        }
    }

    /// The block being executed is at `height`.
    pub fn at_height(mut self, height: u64) -> Self {
        self.height = height;
        self
    }

    /// Other bounty parameters than the chain's (tests of the executor only: the parameters
    /// are consensus rules).
    #[cfg(test)]
    pub(crate) fn with_bounty_params(mut self, params: BountyParams) -> Self {
        self.bounty = params;
        self
    }

    fn bounty_context(&self) -> BountyContext {
        BountyContext {
            height: self.height,
            params: self.bounty,
        }
    }

    /// Expires the bounty claims due at this block's height (and any backlog), crediting bonds
    /// back; the events go to the block's bounty receipt. Must run before the transactions.
    pub fn expire_bounty_claims(&mut self) -> Result<(), crate::StoreError> {
        let ctx = self.bounty_context();
        let mut overlay = Overlay::new(&*self, BTreeMap::new(), BTreeMap::new());
        crate::bounty::expire_claims(&mut overlay, &ctx)?;
        let Overlay {
            accounts,
            entries,
            events,
            ..
        } = overlay;
        self.output.changed.extend(accounts);
        self.output.entries.extend(entries);
        if !events.is_empty() {
            self.output.bounty_receipt = Some(Receipt {
                tx_hash: bounty_expiry_receipt_id(self.height),
                status: TxStatus::Success,
                fee_paid: Amount::ZERO,
                events,
            });
        }
        Ok(())
    }

    fn load(&self, address: &Address) -> Result<Account, crate::StoreError> {
        match self.output.changed.get(address) {
            Some(a) => Ok(*a),
            None => self.reader.account(address),
        }
    }

    /// The account as it stands inside the block so far.
    pub fn account(&self, address: &Address) -> Result<Account, crate::StoreError> {
        self.load(address)
    }

    /// Applies one transaction (whose signature the caller has verified).
    /// On success the receipt is the last of [`BlockExecutor::receipts`].
    pub fn apply(&mut self, tx: &Transaction) -> Result<Result<(), TxInvalid>, crate::StoreError> {
        if let Err(reason) = check_stateless(tx, self.rules) {
            return Ok(Err(reason));
        }
        let sender_address = tx.body.sender_address();
        let mut sender = self.load(&sender_address)?;
        if let Err(reason) = check_includable(tx, &sender) {
            return Ok(Err(reason));
        }
        // Work on a copy of the touched accounts; publish only when everything succeeded.
        let mut touched: BTreeMap<Address, Account> = BTreeMap::new();
        let fee = tx.body.fee;
        let (Some(balance), Some(nonce)) =
            (sender.balance.checked_sub(fee), sender.nonce.checked_add(1))
        else {
            return Ok(Err(TxInvalid::InsufficientBalance {
                balance: sender.balance,
                needed: fee,
            }));
        };
        sender.balance = balance;
        sender.nonce = nonce;
        touched.insert(sender_address, sender);
        let mut proposer = match touched.get(&self.proposer) {
            Some(a) => *a,
            None => self.load(&self.proposer)?,
        };
        let Some(credited) = proposer.balance.checked_add(fee) else {
            // Impossible under the supply cap; refuse rather than wrap.
            return Ok(Err(TxInvalid::CostOverflow));
        };
        proposer.balance = credited;
        touched.insert(self.proposer, proposer);
        let mut events = vec![Event::FeePaid {
            payer: sender_address,
            proposer: self.proposer,
            amount: fee,
        }];

        let mut entries: BTreeMap<StateKey, Vec<u8>> = BTreeMap::new();
        let status = match &tx.body.payload {
            TxPayload::Transfer { to, amount } => {
                self.transfer(&mut touched, sender_address, *to, *amount, &mut events)?
            }
            TxPayload::MultisigCreate { policy } => {
                let account = policy.address();
                let key = StateKey::Multisig(account);
                if self.entry(&key)?.is_some() {
                    TxStatus::Failed(FailureReason::MultisigExists(account))
                } else {
                    entries.insert(key, codec::encode(policy));
                    events.push(Event::MultisigCreated { account });
                    TxStatus::Success
                }
            }
            TxPayload::MultisigExecute { call, approvals } => {
                self.execute_multisig(&mut touched, &mut entries, call, approvals, &mut events)?
            }
            TxPayload::BountyPost { .. }
            | TxPayload::BountyFund { .. }
            | TxPayload::BountyClaim { .. }
            | TxPayload::BountySubmit { .. }
            | TxPayload::BountyApprove { .. }
            | TxPayload::BountyReject { .. }
            | TxPayload::BountyCancel { .. } => match tx.body.payload.bounty_action() {
                Some(action) => self.execute_bounty(
                    &mut touched,
                    &mut entries,
                    sender_address,
                    &action,
                    &mut events,
                )?,
                // Every payload of this arm is a bounty action.
                None => TxStatus::Success,
            },
        };
        self.output.entries.extend(entries);
        self.output.changed.extend(touched);
        self.output.receipts.push(Receipt {
            tx_hash: tx.hash(),
            status,
            fee_paid: fee,
            events,
        });
        Ok(Ok(()))
    }

    /// An account, as changed so far by the transaction being applied (`touched`) or the block.
    fn load_touched(
        &self,
        touched: &BTreeMap<Address, Account>,
        address: &Address,
    ) -> Result<Account, crate::StoreError> {
        match touched.get(address) {
            Some(a) => Ok(*a),
            None => self.load(address),
        }
    }

    /// A plain or multisig transfer: [`Self::move_funds`], except that nobody may send to the
    /// bounty escrow (its balance must equal what the bounties owe).
    fn transfer(
        &self,
        touched: &mut BTreeMap<Address, Account>,
        from: Address,
        to: Address,
        amount: Amount,
        events: &mut Vec<Event>,
    ) -> Result<TxStatus, crate::StoreError> {
        if to == escrow_address() {
            return Ok(TxStatus::Failed(FailureReason::BountyEscrowReserved));
        }
        self.move_funds(touched, from, to, amount, events)
    }

    /// Runs a bounty operation by `actor` on top of the transaction's changes so far; on
    /// success publishes its changes and events into them, otherwise leaves them untouched.
    fn execute_bounty(
        &self,
        touched: &mut BTreeMap<Address, Account>,
        entries: &mut BTreeMap<StateKey, Vec<u8>>,
        actor: Address,
        action: &BountyAction,
        events: &mut Vec<Event>,
    ) -> Result<TxStatus, crate::StoreError> {
        let ctx = self.bounty_context();
        let mut overlay = Overlay::new(self, touched.clone(), entries.clone());
        match crate::bounty::apply(&mut overlay, &ctx, actor, action)? {
            Ok(()) => {
                *touched = overlay.accounts;
                *entries = overlay.entries;
                events.extend(overlay.events);
                Ok(TxStatus::Success)
            }
            Err(reason) => Ok(TxStatus::Failed(reason)),
        }
    }

    /// Moves `amount` from `from` to `to` within `touched`, or says why it cannot.
    fn move_funds(
        &self,
        touched: &mut BTreeMap<Address, Account>,
        from: Address,
        to: Address,
        amount: Amount,
        events: &mut Vec<Event>,
    ) -> Result<TxStatus, crate::StoreError> {
        let source = self.load_touched(touched, &from)?;
        let Some(left) = source.balance.checked_sub(amount) else {
            return Ok(TxStatus::Failed(FailureReason::InsufficientBalance {
                needed: amount,
                available: source.balance,
            }));
        };
        if from != to {
            let recipient = self.load_touched(touched, &to)?;
            let Some(credited) = recipient.balance.checked_add(amount) else {
                return Ok(TxStatus::Failed(FailureReason::BalanceOverflow));
            };
            touched.insert(
                from,
                Account {
                    balance: left,
                    ..source
                },
            );
            touched.insert(
                to,
                Account {
                    balance: credited,
                    ..recipient
                },
            );
        }
        events.push(Event::Transfer { from, to, amount });
        Ok(TxStatus::Success)
    }

    /// Executes an approved multisig call (see [`rustchain_primitives::multisig`]): the policy
    /// must be registered, the call's nonce must be the account's, the approvals must satisfy
    /// the policy and the action must apply; then the account's nonce increases by one.
    /// Otherwise the receipt fails with the reason and the account is unchanged.
    fn execute_multisig(
        &self,
        touched: &mut BTreeMap<Address, Account>,
        entries: &mut BTreeMap<StateKey, Vec<u8>>,
        call: &MultisigCall,
        approvals: &[MultisigApproval],
        events: &mut Vec<Event>,
    ) -> Result<TxStatus, crate::StoreError> {
        let policy = self.multisig_policy(&call.account)?;
        let account = self.load_touched(touched, &call.account)?;
        let next_nonce = match check_multisig_call(
            policy.as_ref(),
            &account,
            &self.rules.chain_id,
            call,
            approvals,
        ) {
            Ok(n) => n,
            Err(reason) => return Ok(TxStatus::Failed(reason)),
        };
        let mut attempt = touched.clone();
        let mut attempt_entries = entries.clone();
        let mut new_events = Vec::new();
        let status = match call.action.effect() {
            MultisigEffect::Transfer { to, amount } => {
                self.transfer(&mut attempt, call.account, to, amount, &mut new_events)?
            }
            MultisigEffect::Bounty(action) => self.execute_bounty(
                &mut attempt,
                &mut attempt_entries,
                call.account,
                &action,
                &mut new_events,
            )?,
        };
        if status == TxStatus::Success {
            let after = self.load_touched(&attempt, &call.account)?;
            attempt.insert(
                call.account,
                Account {
                    nonce: next_nonce,
                    ..after
                },
            );
            *touched = attempt;
            *entries = attempt_entries;
            events.push(Event::MultisigExecuted {
                account: call.account,
                nonce: call.nonce,
            });
            events.extend(new_events);
        }
        Ok(status)
    }

    /// A raw state entry as it stands inside the block so far.
    pub fn entry(&self, key: &StateKey) -> Result<Option<Vec<u8>>, crate::StoreError> {
        match self.output.entries.get(key) {
            Some(v) => Ok(Some(v.clone())),
            None => self.reader.entry(key),
        }
    }

    /// The registered policy of a multisig account, as it stands inside the block so far.
    pub fn multisig_policy(
        &self,
        account: &Address,
    ) -> Result<Option<MultisigPolicy>, crate::StoreError> {
        self.entry(&StateKey::Multisig(*account))?
            .map(|bytes| crate::tree::decode_value(&bytes))
            .transpose()
    }

    /// Applies one piece of evidence: checks it and jails the offender.
    pub fn apply_evidence(
        &mut self,
        evidence: &Evidence,
        rules: &EvidenceRules<'_>,
    ) -> Result<Result<(), EvidenceInvalid>, crate::StoreError> {
        if let Err(e) = check_evidence(evidence, rules.chain_id, rules.validators) {
            return Ok(Err(e));
        }
        let id = evidence.offence_id();
        if self.output.offences.contains(&id) || self.reader.offence_punished(&id)? {
            return Ok(Err(EvidenceInvalid::AlreadyPunished));
        }
        let offender = evidence.offender();
        let record = match self.output.validators.get(&offender) {
            Some(r) => *r,
            None => self.reader.validator(&offender)?,
        };
        self.output
            .validators
            .insert(offender, record.punished(rules.slot, rules.jail_slots));
        self.output.offences.insert(id);
        Ok(Ok(()))
    }

    /// Receipts of the transactions applied so far.
    pub fn receipts(&self) -> &[Receipt] {
        &self.output.receipts
    }

    /// Number of transactions applied.
    pub fn len(&self) -> usize {
        self.output.receipts.len()
    }

    /// Nothing applied yet?
    pub fn is_empty(&self) -> bool {
        self.output.receipts.is_empty()
    }

    /// The accumulated changes and receipts.
    pub fn finish(self) -> ExecutionOutput {
        self.output
    }
}

/// The checks a multisig call must pass before its action runs (see
/// [`rustchain_primitives::multisig`]), against the account's registered `policy` and current
/// `account` record. Returns the account's nonce after the call.
pub fn check_multisig_call(
    policy: Option<&MultisigPolicy>,
    account: &Account,
    chain_id: &ChainId,
    call: &MultisigCall,
    approvals: &[MultisigApproval],
) -> Result<u64, FailureReason> {
    let Some(policy) = policy else {
        return Err(FailureReason::UnknownMultisig(call.account));
    };
    let next_nonce = match account.nonce.checked_add(1) {
        Some(n) if call.nonce == account.nonce => n,
        _ => {
            return Err(FailureReason::MultisigNonce {
                expected: account.nonce,
                got: call.nonce,
            })
        }
    };
    policy
        .check_approvals(chain_id, call, approvals)
        .map_err(FailureReason::MultisigApprovals)?;
    Ok(next_nonce)
}

/// The registered policy of a multisig account in `reader`'s state, if any.
pub fn multisig_policy<R: StateReader + ?Sized>(
    reader: &R,
    account: &Address,
) -> Result<Option<MultisigPolicy>, crate::StoreError> {
    reader
        .entry(&StateKey::Multisig(*account))?
        .map(|b| crate::tree::decode_value(&b))
        .transpose()
}

/// What the mempool checks of a transaction against the head state before admitting it, so
/// that a sender does not pay a fee for a payload that would certainly fail in the next block
/// (at `height`): a multisig account is not registered twice; a multisig call is registered,
/// current and approved; nothing is sent to the bounty escrow; a bounty operation (direct, or a
/// multisig call's) passes every rule of [`crate::bounty`] — it is run on a throw-away overlay
/// of `reader` by the very code a block runs. (Claim expiries due at `height` are not
/// simulated, so a claim that will only fit the per-account cap once one of the claimer's
/// claims expires in that block is refused one block early.)
pub fn precheck_transaction<R: StateReader + ?Sized>(
    reader: &R,
    chain_id: &ChainId,
    height: u64,
    tx: &Transaction,
) -> Result<Result<(), FailureReason>, crate::StoreError> {
    let ctx = BountyContext {
        height,
        params: BountyParams::for_network(chain_id.kind()),
    };
    Ok(match &tx.body.payload {
        TxPayload::Transfer { to, .. } => escrow_check(to),
        TxPayload::MultisigCreate { policy } => {
            let account = policy.address();
            match multisig_policy(reader, &account)? {
                Some(_) => Err(FailureReason::MultisigExists(account)),
                None => Ok(()),
            }
        }
        TxPayload::MultisigExecute { call, approvals } => {
            let policy = multisig_policy(reader, &call.account)?;
            let account = reader.account(&call.account)?;
            if let Err(reason) =
                check_multisig_call(policy.as_ref(), &account, chain_id, call, approvals)
            {
                return Ok(Err(reason));
            }
            match call.action.effect() {
                MultisigEffect::Transfer { to, .. } => escrow_check(&to),
                MultisigEffect::Bounty(action) => {
                    precheck_bounty(reader, &ctx, call.account, &action, Amount::ZERO)?
                }
            }
        }
        payload => match payload.bounty_action() {
            Some(action) => {
                precheck_bounty(reader, &ctx, tx.body.sender_address(), &action, tx.body.fee)?
            }
            None => Ok(()),
        },
    })
}

fn escrow_check(to: &Address) -> Result<(), FailureReason> {
    if *to == escrow_address() {
        Err(FailureReason::BountyEscrowReserved)
    } else {
        Ok(())
    }
}

/// Runs a bounty operation by `actor`, who has just paid `fee`, on a throw-away overlay.
fn precheck_bounty<R: StateReader + ?Sized>(
    reader: &R,
    ctx: &BountyContext,
    actor: Address,
    action: &BountyAction,
    fee: Amount,
) -> Result<Result<(), FailureReason>, crate::StoreError> {
    let state = ReaderState(reader);
    let mut account = state.account(&actor)?;
    account.balance = account.balance.checked_sub(fee).unwrap_or(Amount::ZERO);
    let mut overlay = Overlay::new(&state, BTreeMap::from([(actor, account)]), BTreeMap::new());
    crate::bounty::apply(&mut overlay, ctx, actor, action)
}

impl<R: StateReader + ?Sized> BountyState for BlockExecutor<'_, R> {
    fn account(&self, address: &Address) -> Result<Account, crate::StoreError> {
        self.load(address)
    }
    fn entry(&self, key: &StateKey) -> Result<Option<Vec<u8>>, crate::StoreError> {
        BlockExecutor::entry(self, key)
    }
}

/// Executes `txs` on top of `reader` with fees going to `proposer`; the first transaction that
/// breaks an inclusion rule makes the whole list (the block) invalid.
pub fn execute_transactions<R: StateReader + ?Sized>(
    reader: &R,
    rules: &TxRules,
    proposer: &PublicKey,
    txs: &[Transaction],
) -> Result<ExecutionOutput, BlockExecutionError> {
    let mut executor = BlockExecutor::new(reader, rules, proposer);
    apply_all(&mut executor, txs)?;
    Ok(executor.finish())
}

/// Applies `txs` in order; the first one that breaks an inclusion rule invalidates the block.
fn apply_all<R: StateReader + ?Sized>(
    executor: &mut BlockExecutor<'_, R>,
    txs: &[Transaction],
) -> Result<(), BlockExecutionError> {
    for (index, tx) in txs.iter().enumerate() {
        if let Err(reason) = executor.apply(tx)? {
            return Err(BlockExecutionError::InvalidTransaction { index, reason });
        }
    }
    Ok(())
}

/// A block's RIP-200 work: the epoch it settles, if any, and its attestations with the scores
/// `rustchain_consensus::rip200::check_attestation` gave them.
#[derive(Debug, Clone, Copy)]
pub struct BlockAttestations<'a> {
    /// `(epoch, rules)` when this block is the first of a later epoch than its parent.
    pub settle: Option<(u64, SettlementRules)>,
    /// The block's attestations, in order.
    pub attestations: &'a [Attestation],
    /// Their scores, in the same order.
    pub scores: &'a [Scored],
    /// The state's enrollment rules.
    pub enrollment: EnrollmentRules,
}

/// Executes the block at `height`: the settlement of the previous epoch (if this block starts a
/// new one), the bounty claims due to expire, the transactions, the attestations, then the
/// evidence; anything invalid makes the block invalid.
#[allow(clippy::too_many_arguments)]
pub fn execute_block<R: StateReader + ?Sized>(
    reader: &R,
    rules: &TxRules,
    proposer: &PublicKey,
    height: u64,
    txs: &[Transaction],
    rip200: &BlockAttestations<'_>,
    evidence: &[Evidence],
    evidence_rules: &EvidenceRules<'_>,
) -> Result<ExecutionOutput, BlockExecutionError> {
    let mut executor = BlockExecutor::new(reader, rules, proposer).at_height(height);
    if let Some((epoch, settlement)) = &rip200.settle {
        executor.settle_epoch(*epoch, settlement)?;
    }
    executor.expire_bounty_claims()?;
    apply_all(&mut executor, txs)?;
    for (index, (a, scored)) in rip200.attestations.iter().zip(rip200.scores).enumerate() {
        if let Err(reason) = executor.apply_attestation(a, scored, &rip200.enrollment)? {
            return Err(BlockExecutionError::InvalidAttestation { index, reason });
        }
    }
    for (index, e) in evidence.iter().enumerate() {
        if let Err(reason) = executor.apply_evidence(e, evidence_rules)? {
            return Err(BlockExecutionError::InvalidEvidence { index, reason });
        }
    }
    Ok(executor.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rustchain_primitives::{Amount, ChainId, KeyPair, TxBody};
    use std::collections::HashMap;

    struct MapReader(HashMap<Address, Account>);
    impl StateReader for MapReader {
        fn account(&self, address: &Address) -> Result<Account, crate::StoreError> {
            Ok(self.0.get(address).copied().unwrap_or_default())
        }
        fn validator(&self, _key: &PublicKey) -> Result<ValidatorRecord, crate::StoreError> {
            Ok(ValidatorRecord::default())
        }
        fn entry(&self, _key: &StateKey) -> Result<Option<Vec<u8>>, crate::StoreError> {
            Ok(None)
        }
        fn offence_punished(&self, _id: &Hash) -> Result<bool, crate::StoreError> {
            Ok(false)
        }
        fn epoch_summary(&self, _: u64) -> Result<Option<EpochSummary>, crate::StoreError> {
            Ok(None)
        }
        fn epoch_miner(
            &self,
            _: u64,
            _: &PublicKey,
        ) -> Result<Option<EpochMiner>, crate::StoreError> {
            Ok(None)
        }
        fn epoch_miner_at(&self, _: u64, _: u64) -> Result<Option<PublicKey>, crate::StoreError> {
            Ok(None)
        }
        fn miner_record(&self, _: &PublicKey) -> Result<Option<MinerRecord>, crate::StoreError> {
            Ok(None)
        }
        fn rip200_totals(&self) -> Result<Rip200Totals, crate::StoreError> {
            Ok(Rip200Totals::default())
        }
    }

    fn rules() -> TxRules {
        TxRules {
            chain_id: ChainId::new("dev-test").unwrap(),
            min_fee: Amount::from_base_units(10),
        }
    }

    fn key(i: u8) -> KeyPair {
        KeyPair::from_secret_bytes(&[i + 1; 32]).unwrap()
    }

    fn transfer(from: &KeyPair, nonce: u64, to: Address, amount: u64, fee: u64) -> Transaction {
        TxBody {
            chain_id: rules().chain_id,
            sender: from.public_key(),
            nonce,
            fee: Amount::from_base_units(fee),
            payload: TxPayload::Transfer {
                to,
                amount: Amount::from_base_units(amount),
            },
        }
        .sign(from)
    }

    fn funded(keys: &[&KeyPair], balance: u64) -> MapReader {
        MapReader(
            keys.iter()
                .map(|k| {
                    (
                        Address::from_public_key(&k.public_key()),
                        Account {
                            balance: Amount::from_base_units(balance),
                            nonce: 0,
                        },
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn transfer_moves_amount_and_fee_exactly() {
        let (a, b, p) = (key(1), key(2), key(3));
        let reader = funded(&[&a], 1_000);
        let b_addr = Address::from_public_key(&b.public_key());
        let out = execute_transactions(
            &reader,
            &rules(),
            &p.public_key(),
            &[transfer(&a, 0, b_addr, 300, 10)],
        )
        .unwrap();
        let a_after = out.changed[&Address::from_public_key(&a.public_key())];
        assert_eq!(
            a_after,
            Account {
                balance: Amount::from_base_units(690),
                nonce: 1
            }
        );
        assert_eq!(out.changed[&b_addr].balance, Amount::from_base_units(300));
        assert_eq!(
            out.changed[&Address::from_public_key(&p.public_key())].balance,
            Amount::from_base_units(10)
        );
        assert!(out.receipts[0].is_success());
    }

    #[test]
    fn failed_payload_still_pays_fee_and_uses_nonce() {
        let (a, b, p) = (key(1), key(2), key(3));
        let reader = funded(&[&a], 100);
        let b_addr = Address::from_public_key(&b.public_key());
        let out = execute_transactions(
            &reader,
            &rules(),
            &p.public_key(),
            &[transfer(&a, 0, b_addr, 95, 10)],
        )
        .unwrap();
        let a_after = out.changed[&Address::from_public_key(&a.public_key())];
        assert_eq!(
            a_after,
            Account {
                balance: Amount::from_base_units(90),
                nonce: 1
            }
        );
        assert!(out
            .changed
            .get(&b_addr)
            .is_none_or(|acc| acc.balance.is_zero()));
        assert!(matches!(
            out.receipts[0].status,
            TxStatus::Failed(FailureReason::InsufficientBalance { .. })
        ));
    }

    #[test]
    fn replayed_or_skipped_nonce_invalidates_block() {
        let (a, b, p) = (key(1), key(2), key(3));
        let reader = funded(&[&a], 1_000);
        let to = Address::from_public_key(&b.public_key());
        let tx = transfer(&a, 0, to, 1, 10);
        let err = execute_transactions(&reader, &rules(), &p.public_key(), &[tx.clone(), tx])
            .unwrap_err();
        assert!(matches!(
            err,
            BlockExecutionError::InvalidTransaction {
                index: 1,
                reason: TxInvalid::NonceTooLow { .. }
            }
        ));
        let err = execute_transactions(
            &reader,
            &rules(),
            &p.public_key(),
            &[transfer(&a, 1, to, 1, 10)],
        )
        .unwrap_err();
        assert!(matches!(
            err,
            BlockExecutionError::InvalidTransaction {
                index: 0,
                reason: TxInvalid::NonceTooHigh { .. }
            }
        ));
    }

    #[test]
    fn fee_below_minimum_or_unpayable_invalidates_block() {
        let (a, b, p) = (key(1), key(2), key(3));
        let to = Address::from_public_key(&b.public_key());
        let reader = funded(&[&a], 5);
        let err = execute_transactions(
            &reader,
            &rules(),
            &p.public_key(),
            &[transfer(&a, 0, to, 1, 9)],
        )
        .unwrap_err();
        assert!(matches!(
            err,
            BlockExecutionError::InvalidTransaction {
                reason: TxInvalid::FeeTooLow { .. },
                ..
            }
        ));
        let err = execute_transactions(
            &reader,
            &rules(),
            &p.public_key(),
            &[transfer(&a, 0, to, 1, 10)],
        )
        .unwrap_err();
        assert!(matches!(
            err,
            BlockExecutionError::InvalidTransaction {
                reason: TxInvalid::InsufficientBalance { .. },
                ..
            }
        ));
    }

    proptest! {
        /// Whatever the transfers, value is conserved: the sum of balances never changes.
        #[test]
        fn value_is_conserved(ops in proptest::collection::vec((0u8..4, 0u8..5, 0u64..2_000, 10u64..50), 0..40)) {
            let keys: Vec<KeyPair> = (0..4).map(key).collect();
            let refs: Vec<&KeyPair> = keys.iter().collect();
            let reader = funded(&refs, 1_000);
            let proposer = key(9).public_key();
            let mut nonces = [0u64; 4];
            let mut txs = vec![];
            let mut spent_fees = [0u64; 4];
            for (from, to, amount, fee) in ops {
                let f = from as usize;
                // Only include transactions whose fee is still payable, so the block is valid.
                if spent_fees[f] + fee > 1_000 { continue; }
                spent_fees[f] += fee;
                let to_addr = if (to as usize) < keys.len() {
                    Address::from_public_key(&keys[to as usize].public_key())
                } else {
                    Address([to; 20])
                };
                txs.push(transfer(&keys[f], nonces[f], to_addr, amount, fee));
                nonces[f] += 1;
            }
            let out = execute_transactions(&reader, &rules(), &proposer, &txs);
            // Fees paid first may leave too little for a later fee; such blocks are invalid,
            // which is also a correct outcome. Check conservation on valid ones.
            if let Ok(out) = out {
                let before: u64 = 4 * 1_000;
                let mut after: u64 = 0;
                let mut seen = std::collections::BTreeSet::new();
                for (addr, acc) in &out.changed {
                    seen.insert(*addr);
                    after += acc.balance.base_units();
                }
                for k in &keys {
                    let addr = Address::from_public_key(&k.public_key());
                    if !seen.contains(&addr) { after += 1_000; }
                }
                prop_assert_eq!(before, after);
                prop_assert_eq!(out.receipts.len(), txs.len());
            }
        }
    }
}
