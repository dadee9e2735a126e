//! The chain a node runs: the store, the genesis, and the current head.
//!
//! [`Chain::open`] initialises a new store with the genesis block (in one batch) or checks that an
//! existing store belongs to the same genesis and restores its head. Blocks extend the head in two
//! steps: [`Chain::execute`] runs transactions on the head state and computes the new state and
//! receipts roots without writing anything; [`Chain::commit`] then writes the block and all its
//! effects in one synced batch and only afterwards moves the in-memory head. Commits are
//! serialised, and a commit whose parent is no longer the head is refused.
//!
//! Only the canonical chain has state. Switching to another fork is [`Chain::rollback_to`] the
//! common ancestor (one batch, using per-height undo records) followed by executing and
//! committing the fork's blocks; rollback below the finalized block is refused.
//! [`Chain::finalize`] records a finality certificate and moves the finalized pointer.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use parking_lot::{Mutex, RwLock};
use rustchain_consensus::rip200::{
    check_attestation, AttestationInvalid, EpochSchedule, ReferenceBlock, Scored,
};
use rustchain_genesis::Genesis;
use rustchain_primitives::block::HEADER_VERSION;
use rustchain_primitives::merkle::merkle_root;
use rustchain_primitives::{
    escrow_address, Account, Address, Amount, Attestation, Block, BlockHeader, Evidence,
    FinalityCertificate, Hash, MultisigEffect, MultisigPolicy, PublicKey, Receipt, Signature,
    Transaction, TxPayload,
};

use crate::execution::{
    execute_block, BlockAttestations, BlockExecutionError, BlockExecutor, EvidenceRules,
    StateReader,
};
use crate::rip200::{
    EnrollmentRules, EpochMiner, EpochSummary, MinerRecord, Rip200Changes, Rip200Totals,
    SettlementRules,
};
use crate::rules::{TxInvalid, TxRules};
use crate::store::{Store, StoreError};
use crate::tree::{self, StateChanges, StateKey};
use crate::validators::{active_validators, ValidatorRecord};

/// Chain-level failures.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The block's transactions cannot be executed.
    #[error(transparent)]
    Execution(#[from] BlockExecutionError),
    /// The data directory holds another chain.
    #[error("the database belongs to another chain: its genesis is {stored}, this node's genesis is {expected}; use another --datadir")]
    GenesisMismatch {
        /// in the store
        stored: Hash,
        /// computed from the genesis spec
        expected: Hash,
    },
    /// The block does not extend the current head.
    #[error(
        "block {hash} (height {height}) does not extend the head {head} (height {head_height})"
    )]
    NotOnHead {
        /// block
        hash: Hash,
        /// its height
        height: u64,
        /// current head
        head: Hash,
        /// head height
        head_height: u64,
    },
    /// Rolling back below the finalized block is never allowed.
    #[error("cannot roll back to height {height}: the finalized height is {finalized}")]
    BelowFinalized {
        /// requested height
        height: u64,
        /// finalized height
        finalized: u64,
    },
    /// The block is not on the canonical chain.
    #[error("block {hash} at height {height} is not on the canonical chain")]
    NotCanonical {
        /// height
        height: u64,
        /// hash
        hash: Hash,
    },
    /// The header's roots do not match execution.
    #[error("{root} root mismatch: header has {header}, execution gives {computed}")]
    RootMismatch {
        /// which root
        root: &'static str,
        /// in the header
        header: Hash,
        /// computed
        computed: Hash,
    },
}

/// The head of the chain as kept in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// Head height.
    pub height: u64,
    /// Head hash.
    pub hash: Hash,
    /// Head slot.
    pub slot: u64,
    /// Head timestamp (ms).
    pub timestamp_ms: u64,
    /// State root at the head.
    pub state_root: Hash,
    /// Latest finalized height.
    pub finalized_height: u64,
    /// Latest finalized hash.
    pub finalized_hash: Hash,
}

/// The effects of executing a block on its parent, not yet written.
#[derive(Debug)]
pub struct ExecutedBlock {
    /// The block's height.
    pub height: u64,
    /// The parent it was executed on.
    pub parent_hash: Hash,
    /// State root after the block.
    pub state_root: Hash,
    /// Merkle root of the receipts.
    pub receipts_root: Hash,
    /// Receipts in transaction order.
    pub receipts: Vec<Receipt>,
    /// Accounts changed.
    pub changed: BTreeMap<Address, Account>,
    /// Validator records changed (jailings).
    pub validators: BTreeMap<PublicKey, ValidatorRecord>,
    /// Offences punished.
    pub offences: BTreeSet<Hash>,
    /// RIP-200 records changed.
    pub rip200: Rip200Changes,
    update: tree::TreeUpdate,
}

/// The contents of a block being built, from [`Chain::build`].
#[derive(Debug)]
pub struct BuiltBlock {
    /// Transactions included, in order.
    pub transactions: Vec<Transaction>,
    /// Attestations included, in order.
    pub attestations: Vec<Attestation>,
    /// Evidence included, in order.
    pub evidence: Vec<Evidence>,
    /// Their effects.
    pub executed: ExecutedBlock,
    /// Candidates left out, with the rule each broke.
    pub left_out: Vec<(Transaction, TxInvalid)>,
    /// Attestation candidates left out, with the rule each broke.
    pub left_out_attestations: Vec<(Attestation, AttestationInvalid)>,
}

/// State reads at the head, through the `state_latest` table, with the accounts a block touches
/// fetched up front in one batched read.
struct HeadState<'a> {
    store: &'a Store,
    cache: HashMap<Address, Account>,
}

impl<'a> HeadState<'a> {
    fn new(store: &'a Store) -> Self {
        HeadState {
            store,
            cache: HashMap::new(),
        }
    }

    /// Loads every sender and transfer recipient of `txs`, and `proposer`, in one read.
    fn prefetch(
        store: &'a Store,
        proposer: &PublicKey,
        txs: &[Transaction],
    ) -> Result<Self, StoreError> {
        let mut addresses: Vec<Address> = Vec::with_capacity(txs.len() * 2 + 1);
        addresses.push(Address::from_public_key(proposer));
        for tx in txs {
            addresses.push(tx.body.sender_address());
            match &tx.body.payload {
                TxPayload::Transfer { to, .. } => addresses.push(*to),
                TxPayload::MultisigCreate { .. } => {}
                TxPayload::MultisigExecute { call, .. } => {
                    addresses.push(call.account);
                    match call.action.effect() {
                        MultisigEffect::Transfer { to, .. } => addresses.push(to),
                        MultisigEffect::Bounty(_) => addresses.push(escrow_address()),
                    }
                }
                TxPayload::BountyClaim { claimant, .. } => {
                    addresses.push(escrow_address());
                    addresses.push(*claimant);
                }
                TxPayload::BountyPost { .. }
                | TxPayload::BountyFund { .. }
                | TxPayload::BountySubmit { .. }
                | TxPayload::BountyApprove { .. }
                | TxPayload::BountyReject { .. }
                | TxPayload::BountyCancel { .. } => addresses.push(escrow_address()),
            }
        }
        addresses.sort_unstable();
        addresses.dedup();
        let keys: Vec<[u8; 32]> = addresses.iter().map(|a| tree::account_key(a).0).collect();
        let values = store.latest_values(&keys)?;
        let mut cache = HashMap::with_capacity(addresses.len());
        for (address, value) in addresses.into_iter().zip(values) {
            let account = match value {
                Some(bytes) => tree::decode_account(&bytes)?,
                None => Account::default(),
            };
            cache.insert(address, account);
        }
        Ok(HeadState { store, cache })
    }
}

impl StateReader for HeadState<'_> {
    fn account(&self, address: &Address) -> Result<Account, StoreError> {
        if let Some(a) = self.cache.get(address) {
            return Ok(*a);
        }
        match self.store.latest_value(&tree::account_key(address).0)? {
            Some(bytes) => tree::decode_account(&bytes),
            None => Ok(Account::default()),
        }
    }

    fn validator(&self, key: &PublicKey) -> Result<ValidatorRecord, StoreError> {
        match self
            .store
            .latest_value(&StateKey::Validator(*key).key_hash().0)?
        {
            Some(bytes) => tree::decode_validator(&bytes),
            None => Ok(ValidatorRecord::default()),
        }
    }

    fn offence_punished(&self, id: &Hash) -> Result<bool, StoreError> {
        Ok(self
            .store
            .latest_value(&StateKey::Offence(*id).key_hash().0)?
            .is_some())
    }

    fn epoch_summary(&self, epoch: u64) -> Result<Option<EpochSummary>, StoreError> {
        self.store
            .latest_value(&StateKey::Epoch(epoch).key_hash().0)?
            .map(|b| tree::decode_value(&b))
            .transpose()
    }

    fn epoch_miner(&self, epoch: u64, miner: &PublicKey) -> Result<Option<EpochMiner>, StoreError> {
        self.store
            .latest_value(&StateKey::EpochMiner(epoch, *miner).key_hash().0)?
            .map(|b| tree::decode_value(&b))
            .transpose()
    }

    fn epoch_miner_at(&self, epoch: u64, index: u64) -> Result<Option<PublicKey>, StoreError> {
        self.store
            .latest_value(&StateKey::EpochMinerAt(epoch, index).key_hash().0)?
            .map(|b| tree::decode_value(&b))
            .transpose()
    }

    fn miner_record(&self, miner: &PublicKey) -> Result<Option<MinerRecord>, StoreError> {
        self.store
            .latest_value(&StateKey::Miner(*miner).key_hash().0)?
            .map(|b| tree::decode_value(&b))
            .transpose()
    }

    fn entry(&self, key: &StateKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.latest_value(&key.key_hash().0)
    }

    fn rip200_totals(&self) -> Result<Rip200Totals, StoreError> {
        Ok(self
            .store
            .latest_value(&StateKey::Rip200Totals.key_hash().0)?
            .map(|b| tree::decode_value(&b))
            .transpose()?
            .unwrap_or_default())
    }
}

/// The consensus context of a block being executed.
#[derive(Debug, Clone, Copy)]
pub struct BlockContext {
    /// Who proposes it (fees go to them).
    pub proposer: PublicKey,
    /// Its slot (jail sentences start there).
    pub slot: u64,
}

fn missing_block(height: u64) -> StoreError {
    StoreError::Corrupt {
        table: crate::tables::HEIGHT_INDEX,
        detail: format!("canonical block at height {height} is missing"),
    }
}

/// The node's chain.
#[derive(Debug)]
pub struct Chain {
    store: Store,
    genesis: Genesis,
    genesis_hash: Hash,
    /// Sum of the genesis balances (validated to fit under the supply cap).
    genesis_supply: Amount,
    rules: TxRules,
    head: RwLock<ChainHead>,
    commit_lock: Mutex<()>,
}

/// A block checked against the head with its write batch built: see
/// [`Chain::prepare_commit`].
#[derive(Debug)]
pub struct PreparedCommit<'a> {
    batch: crate::store::StoreBatch<'a>,
    /// The head it was prepared on.
    parent: Hash,
    /// The head it becomes.
    head: ChainHead,
}

impl Chain {
    /// Opens the chain at `path`, writing the genesis block if the store is new.
    pub fn open(path: &Path, genesis: Genesis) -> Result<Chain, ChainError> {
        let store = Store::open(path)?;
        let (genesis_block, executed) = Self::genesis_block(&store, &genesis)?;
        let genesis_hash = genesis_block.hash();
        match store.genesis_hash()? {
            Some(stored) if stored != genesis_hash => {
                return Err(ChainError::GenesisMismatch {
                    stored,
                    expected: genesis_hash,
                })
            }
            Some(_) => {}
            None => {
                let mut batch = store.batch();
                batch.set_genesis(genesis_hash)?;
                batch.put_block(&genesis_block, &executed.receipts)?;
                batch.put_tree_update(0, &executed.update)?;
                batch.set_head(0, genesis_hash)?;
                batch.set_finalized(0, genesis_hash)?;
                batch.commit()?;
            }
        }
        let head = Self::load_head(&store)?;
        let rules = TxRules {
            chain_id: genesis.chain_id.clone(),
            min_fee: genesis.min_fee,
        };
        let genesis_supply = genesis
            .accounts
            .iter()
            .try_fold(Amount::ZERO, |sum, a| sum.checked_add(a.balance))
            .unwrap_or(genesis.supply_cap);
        Ok(Chain {
            store,
            genesis,
            genesis_hash,
            genesis_supply,
            rules,
            head: RwLock::new(head),
            commit_lock: Mutex::new(()),
        })
    }

    fn load_head(store: &Store) -> Result<ChainHead, ChainError> {
        let missing = |what: &str| StoreError::Corrupt {
            table: crate::tables::METADATA,
            detail: format!("{what} missing"),
        };
        let (height, hash) = store.head()?.ok_or_else(|| missing("head pointer"))?;
        let (finalized_height, finalized_hash) = store
            .finalized()?
            .ok_or_else(|| missing("finalized pointer"))?;
        let header = store.header(&hash)?.ok_or_else(|| missing("head header"))?;
        Ok(ChainHead {
            height,
            hash,
            slot: header.slot,
            timestamp_ms: header.timestamp_ms,
            state_root: header.state_root,
            finalized_height,
            finalized_hash,
        })
    }

    /// The genesis block and its (unwritten) effects.
    fn genesis_block(
        store: &Store,
        genesis: &Genesis,
    ) -> Result<(Block, ExecutedBlock), ChainError> {
        let changed: BTreeMap<Address, Account> = genesis
            .accounts
            .iter()
            .map(|a| {
                (
                    a.address,
                    Account {
                        balance: a.balance,
                        nonce: 0,
                    },
                )
            })
            .collect();
        let (validators, offences) = (BTreeMap::new(), BTreeSet::new());
        let rip200 = Rip200Changes::default();
        let (state_root, update) = tree::compute_update(
            store,
            0,
            &StateChanges {
                accounts: &changed,
                validators: &validators,
                offences: &offences,
                rip200: &rip200,
                entries: &BTreeMap::new(),
            },
        )?;
        let empty = merkle_root(&[]);
        let header = BlockHeader {
            version: HEADER_VERSION,
            height: 0,
            slot: 0,
            timestamp_ms: genesis.genesis_time_ms,
            parent_hash: genesis.spec_hash(),
            transactions_root: empty,
            attestations_root: empty,
            evidence_root: empty,
            state_root,
            receipts_root: empty,
            proposer: PublicKey::default(),
            signature: Signature::EMPTY,
        };
        let block = Block {
            header,
            transactions: vec![],
            attestations: vec![],
            evidence: vec![],
        };
        let executed = ExecutedBlock {
            height: 0,
            parent_hash: genesis.spec_hash(),
            state_root,
            receipts_root: empty,
            receipts: vec![],
            changed,
            validators,
            offences,
            rip200,
            update,
        };
        Ok((block, executed))
    }

    /// The current head.
    pub fn head(&self) -> ChainHead {
        self.head.read().clone()
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The genesis block hash.
    pub fn genesis_hash(&self) -> Hash {
        self.genesis_hash
    }

    /// Transaction inclusion rules of this chain.
    pub fn rules(&self) -> &TxRules {
        &self.rules
    }

    /// The store, for reads.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// An account at the head, or at `height` of the canonical chain (heights above the head
    /// read as the head).
    pub fn account(&self, address: &Address, height: Option<u64>) -> Result<Account, StoreError> {
        let head = self.head.read().height;
        match height {
            Some(h) if h < head => tree::account_at(&self.store, address, h),
            _ => HeadState::new(&self.store).account(address),
        }
    }

    /// The registered policy of a multisig account at the head, if any.
    pub fn multisig_policy(&self, account: &Address) -> Result<Option<MultisigPolicy>, StoreError> {
        crate::execution::multisig_policy(&HeadState::new(&self.store), account)
    }

    /// A [`StateReader`] at the current head.
    pub fn head_state(&self) -> impl StateReader + '_ {
        HeadState::new(&self.store)
    }

    /// The mempool's check of `tx` against the head state, for inclusion in the next block
    /// (see [`crate::precheck_transaction`]): `Ok(Err(reason))` when its payload would
    /// certainly fail.
    pub fn precheck(
        &self,
        tx: &Transaction,
    ) -> Result<Result<(), rustchain_primitives::receipt::FailureReason>, StoreError> {
        let height = self.head().height.saturating_add(1);
        crate::execution::precheck_transaction(
            &HeadState::new(&self.store),
            &self.rules.chain_id,
            height,
            tx,
        )
    }

    /// A validator's record at the head.
    pub fn validator_record(&self, key: &PublicKey) -> Result<ValidatorRecord, StoreError> {
        HeadState::new(&self.store).validator(key)
    }

    /// The validators not jailed at `slot` according to the head state, in rotation order.
    pub fn active_validators(&self, slot: u64) -> Result<Vec<PublicKey>, StoreError> {
        let keys = self.genesis.validator_keys();
        let mut records = BTreeMap::new();
        for k in &keys {
            records.insert(*k, self.validator_record(k)?);
        }
        Ok(active_validators(
            &keys,
            |k| records.get(k).copied().unwrap_or_default(),
            slot,
        ))
    }

    /// The validators jailed at `slot` according to the head state.
    pub fn jailed_validators(&self, slot: u64) -> Result<Vec<PublicKey>, StoreError> {
        let active = self.active_validators(slot)?;
        Ok(self
            .genesis
            .validator_keys()
            .into_iter()
            .filter(|k| !active.contains(k))
            .collect())
    }

    fn evidence_rules<'a>(&'a self, validators: &'a [PublicKey], slot: u64) -> EvidenceRules<'a> {
        EvidenceRules {
            chain_id: &self.genesis.chain_id,
            validators,
            jail_slots: self.genesis.jail_slots,
            slot,
        }
    }

    /// The reference block of an attestation as the canonical chain up to the head knows it.
    fn reference_block(&self, height: u64) -> Result<Option<ReferenceBlock>, StoreError> {
        if height > self.head().height {
            return Ok(None);
        }
        let Some(hash) = self.store.hash_at(height)? else {
            return Ok(None);
        };
        Ok(self
            .store
            .header(&hash)?
            .map(|h| ReferenceBlock { hash, slot: h.slot }))
    }

    /// Checks an attestation for inclusion in a block at `slot` on the head: every rule of
    /// `rustchain_consensus::rip200::check_attestation`, then the state's (one attestation per
    /// miner per window, one profile per epoch). Used by the attestation pool and RPC.
    pub fn check_attestation(
        &self,
        attestation: &Attestation,
        slot: u64,
        verify_signature: bool,
    ) -> Result<Result<Scored, AttestationInvalid>, StoreError> {
        let reference = self.reference_block(attestation.body.reference.height)?;
        let scored = match check_attestation(
            attestation,
            &self.genesis,
            slot,
            reference,
            verify_signature,
        ) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        // The state's rules, through the very code a block runs (its effects are discarded).
        let state = HeadState::new(&self.store);
        let mut executor = BlockExecutor::new(&state, &self.rules, &PublicKey::default());
        Ok(executor
            .apply_attestation(attestation, &scored, &self.enrollment_rules())?
            .map(|()| scored))
    }

    fn enrollment_rules(&self) -> EnrollmentRules {
        EnrollmentRules {
            max_miners_per_epoch: self.genesis.rip200.max_miners_per_epoch,
        }
    }

    /// The epoch a block at `slot` on the head settles, if it is the first block of a later
    /// epoch than the head's.
    fn settlement_for(&self, head: &ChainHead, slot: u64) -> Option<(u64, SettlementRules)> {
        let schedule = EpochSchedule::of(&self.genesis);
        let parent_epoch = schedule.epoch(head.slot);
        (schedule.epoch(slot) > parent_epoch).then(|| {
            (
                parent_epoch,
                SettlementRules {
                    reward_per_epoch: self.genesis.reward_per_epoch,
                    supply_cap: self.genesis.supply_cap,
                    genesis_supply: self.genesis_supply,
                    height: head.height + 1,
                },
            )
        })
    }

    /// Executes a block's settlement, transactions, attestations and evidence on the head
    /// state; writes nothing. Every attestation must pass every rule (signatures included).
    pub fn execute(
        &self,
        context: &BlockContext,
        txs: &[Transaction],
        attestations: &[Attestation],
        evidence: &[Evidence],
    ) -> Result<ExecutedBlock, ChainError> {
        let head = self.head();
        let mut scores = Vec::with_capacity(attestations.len());
        for (index, a) in attestations.iter().enumerate() {
            let reference = self.reference_block(a.body.reference.height)?;
            match check_attestation(a, &self.genesis, context.slot, reference, true) {
                Ok(s) => scores.push(s),
                Err(reason) => {
                    return Err(BlockExecutionError::InvalidAttestation { index, reason }.into())
                }
            }
        }
        let reader = HeadState::prefetch(&self.store, &context.proposer, txs)?;
        let validators = self.genesis.validator_keys();
        let ev_rules = self.evidence_rules(&validators, context.slot);
        let output = execute_block(
            &reader,
            &self.rules,
            &context.proposer,
            head.height + 1,
            txs,
            &BlockAttestations {
                settle: self.settlement_for(&head, context.slot),
                attestations,
                scores: &scores,
                enrollment: self.enrollment_rules(),
            },
            evidence,
            &ev_rules,
        )?;
        self.finish_execution(&head, output)
    }

    /// Builds a block's contents from `candidates` on the head state: each candidate that breaks
    /// an inclusion rule is left out (and returned with the reason) instead of invalidating the
    /// block. Returns the included transactions and their effects; writes nothing.
    pub fn build(
        &self,
        context: &BlockContext,
        candidates: Vec<Transaction>,
        attestation_candidates: Vec<Attestation>,
        evidence: Vec<Evidence>,
    ) -> Result<BuiltBlock, ChainError> {
        let head = self.head();
        let reader = HeadState::prefetch(&self.store, &context.proposer, &candidates)?;
        let mut executor =
            BlockExecutor::new(&reader, &self.rules, &context.proposer).at_height(head.height + 1);
        if let Some((epoch, rules)) = self.settlement_for(&head, context.slot) {
            executor.settle_epoch(epoch, &rules)?;
        }
        executor.expire_bounty_claims()?;
        let mut transactions = Vec::new();
        let mut left_out = Vec::new();
        for tx in candidates {
            match executor.apply(&tx)? {
                Ok(()) => transactions.push(tx),
                Err(reason) => left_out.push((tx, reason)),
            }
        }
        let mut attestations = Vec::new();
        let mut left_out_attestations = Vec::new();
        let enrollment = self.enrollment_rules();
        let mut attestation_bytes = 0usize;
        for a in attestation_candidates {
            let len = a.encoded_len();
            if attestations.len() >= rustchain_primitives::attestation::MAX_BLOCK_ATTESTATIONS
                || attestation_bytes + len
                    > rustchain_primitives::attestation::MAX_BLOCK_ATTESTATION_BYTES
            {
                // Full: the rest waits in the pool for the next block.
                break;
            }
            let reference = self.reference_block(a.body.reference.height)?;
            // Signatures were verified when the pool admitted the attestation.
            let scored = match check_attestation(&a, &self.genesis, context.slot, reference, false)
            {
                Ok(s) => s,
                Err(reason) => {
                    left_out_attestations.push((a, reason));
                    continue;
                }
            };
            match executor.apply_attestation(&a, &scored, &enrollment)? {
                Ok(()) => {
                    attestation_bytes += len;
                    attestations.push(a);
                }
                Err(reason) => left_out_attestations.push((a, reason)),
            }
        }
        let validators = self.genesis.validator_keys();
        let ev_rules = self.evidence_rules(&validators, context.slot);
        let mut included_evidence = Vec::new();
        for e in evidence {
            if executor.apply_evidence(&e, &ev_rules)?.is_ok() {
                included_evidence.push(e);
            }
        }
        let executed = self.finish_execution(&head, executor.finish())?;
        Ok(BuiltBlock {
            transactions,
            attestations,
            evidence: included_evidence,
            executed,
            left_out,
            left_out_attestations,
        })
    }

    fn finish_execution(
        &self,
        head: &ChainHead,
        output: crate::execution::ExecutionOutput,
    ) -> Result<ExecutedBlock, ChainError> {
        let height = head.height + 1;
        let (state_root, update) = tree::compute_update(
            &self.store,
            height,
            &StateChanges {
                accounts: &output.changed,
                validators: &output.validators,
                offences: &output.offences,
                rip200: &output.rip200,
                entries: &output.entries,
            },
        )?;
        let mut output = output;
        // The settlement receipt, then the bounty expiry receipt, if any, follow the
        // transactions' receipts.
        if let Some(r) = output.settlement_receipt.take() {
            output.receipts.push(r);
        }
        if let Some(r) = output.bounty_receipt.take() {
            output.receipts.push(r);
        }
        let receipt_hashes: Vec<Hash> = output.receipts.iter().map(Receipt::hash).collect();
        Ok(ExecutedBlock {
            height,
            parent_hash: head.hash,
            state_root,
            receipts_root: merkle_root(&receipt_hashes),
            receipts: output.receipts,
            changed: output.changed,
            validators: output.validators,
            offences: output.offences,
            rip200: output.rip200,
            update,
        })
    }

    /// Writes `block` with its effects in one synced batch and moves the head to it:
    /// [`Chain::prepare_commit`] then [`Chain::write_commit`].
    pub fn commit(&self, block: &Block, executed: ExecutedBlock) -> Result<ChainHead, ChainError> {
        let prepared = self.prepare_commit(block, executed)?;
        self.write_commit(prepared)
    }

    /// Checks `block` and its execution against the head (parent, height, state and receipts
    /// roots) and builds the batch that commits it, writing nothing. An importer does this
    /// while signatures are still being verified, and writes only once they all verify.
    pub fn prepare_commit(
        &self,
        block: &Block,
        executed: ExecutedBlock,
    ) -> Result<PreparedCommit<'_>, ChainError> {
        let head = self.head();
        let hash = block.hash();
        let header = &block.header;
        if header.parent_hash != head.hash
            || header.height != head.height + 1
            || executed.parent_hash != head.hash
        {
            return Err(ChainError::NotOnHead {
                hash,
                height: header.height,
                head: head.hash,
                head_height: head.height,
            });
        }
        for (root, in_header, computed) in [
            ("state", header.state_root, executed.state_root),
            ("receipts", header.receipts_root, executed.receipts_root),
        ] {
            if in_header != computed {
                return Err(ChainError::RootMismatch {
                    root,
                    header: in_header,
                    computed,
                });
            }
        }
        let mut batch = self.store.batch();
        batch.put_block(block, &executed.receipts)?;
        batch.put_tree_update(header.height, &executed.update)?;
        batch.set_head(header.height, hash)?;
        Ok(PreparedCommit {
            batch,
            parent: head.hash,
            head: ChainHead {
                height: header.height,
                hash,
                slot: header.slot,
                timestamp_ms: header.timestamp_ms,
                state_root: header.state_root,
                finalized_height: head.finalized_height,
                finalized_hash: head.finalized_hash,
            },
        })
    }

    /// Writes a prepared block in one synced batch and moves the head to it. Refused, with
    /// nothing written, if the head has moved since the block was prepared (its undo record
    /// and state mirror were read at that head).
    pub fn write_commit(&self, prepared: PreparedCommit<'_>) -> Result<ChainHead, ChainError> {
        let _guard = self.commit_lock.lock();
        let head = self.head();
        if head.hash != prepared.parent {
            return Err(ChainError::NotOnHead {
                hash: prepared.head.hash,
                height: prepared.head.height,
                head: head.hash,
                head_height: head.height,
            });
        }
        prepared.batch.commit()?;
        let new_head = ChainHead {
            // Finality may have moved while the block was prepared.
            finalized_height: head.finalized_height,
            finalized_hash: head.finalized_hash,
            ..prepared.head
        };
        *self.head.write() = new_head.clone();
        Ok(new_head)
    }

    /// Stores a block that is not on the canonical chain (a fork block, or one whose parent
    /// state is not the head yet) without executing it.
    pub fn store_fork_block(&self, block: &Block) -> Result<(), ChainError> {
        let mut batch = self.store.batch();
        batch.put_block_data(block)?;
        batch.commit()?;
        Ok(())
    }

    /// Takes the canonical chain back to `height` (an ancestor of the head at or above the
    /// finalized height), in one synced batch. The removed blocks stay known as fork blocks.
    pub fn rollback_to(&self, height: u64) -> Result<ChainHead, ChainError> {
        let _guard = self.commit_lock.lock();
        let head = self.head();
        if height < head.finalized_height {
            return Err(ChainError::BelowFinalized {
                height,
                finalized: head.finalized_height,
            });
        }
        if height >= head.height {
            return Ok(head);
        }
        let mut batch = self.store.batch();
        for h in ((height + 1)..=head.height).rev() {
            let hash = self.store.hash_at(h)?.ok_or_else(|| missing_block(h))?;
            let block = self.store.block(&hash)?.ok_or_else(|| missing_block(h))?;
            batch.remove_canonical(&block)?;
        }
        let hash = self
            .store
            .hash_at(height)?
            .ok_or_else(|| missing_block(height))?;
        let header = self
            .store
            .header(&hash)?
            .ok_or_else(|| missing_block(height))?;
        batch.set_head(height, hash)?;
        batch.commit()?;
        let new_head = ChainHead {
            height,
            hash,
            slot: header.slot,
            timestamp_ms: header.timestamp_ms,
            state_root: header.state_root,
            finalized_height: head.finalized_height,
            finalized_hash: head.finalized_hash,
        };
        *self.head.write() = new_head.clone();
        Ok(new_head)
    }

    /// Records that the canonical block `certificate.source` is final, with its certificate.
    /// A certificate for a height at or below the finalized one is ignored.
    pub fn finalize(&self, certificate: &FinalityCertificate) -> Result<ChainHead, ChainError> {
        let _guard = self.commit_lock.lock();
        let head = self.head();
        let source = certificate.source;
        if source.height <= head.finalized_height {
            return Ok(head);
        }
        if self.store.hash_at(source.height)? != Some(source.hash) {
            return Err(ChainError::NotCanonical {
                height: source.height,
                hash: source.hash,
            });
        }
        let mut batch = self.store.batch();
        batch.put_certificate(certificate)?;
        batch.set_finalized(source.height, source.hash)?;
        batch.commit()?;
        let mut guard = self.head.write();
        guard.finalized_height = source.height;
        guard.finalized_hash = source.hash;
        Ok(guard.clone())
    }

    /// Persists this node's validator voting record (call before sending the vote).
    pub fn save_voter_record<T: borsh::BorshSerialize>(
        &self,
        record: &T,
    ) -> Result<(), ChainError> {
        let mut batch = self.store.batch();
        batch.set_voter_record(record)?;
        batch.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustchain_genesis::{dev_account_key, dev_genesis, dev_validator_key};
    use rustchain_primitives::{Amount, TxBody, TxPayload};

    fn block_on_head(chain: &Chain, txs: Vec<Transaction>) -> (Block, ExecutedBlock) {
        let proposer = dev_validator_key(0).unwrap();
        let head = chain.head();
        let context = BlockContext {
            proposer: proposer.public_key(),
            slot: head.slot + 1,
        };
        let executed = chain.execute(&context, &txs, &[], &[]).unwrap();
        let ids: Vec<Hash> = txs.iter().map(Transaction::hash).collect();
        let mut header = BlockHeader {
            version: HEADER_VERSION,
            height: executed.height,
            slot: head.slot + 1,
            timestamp_ms: head.timestamp_ms + 1000,
            parent_hash: head.hash,
            transactions_root: merkle_root(&ids),
            attestations_root: merkle_root(&[]),
            evidence_root: merkle_root(&[]),
            state_root: executed.state_root,
            receipts_root: executed.receipts_root,
            proposer: proposer.public_key(),
            signature: Signature::EMPTY,
        };
        header.sign(&chain.rules().chain_id, &proposer);
        (
            Block {
                header,
                transactions: txs,
                attestations: vec![],
                evidence: vec![],
            },
            executed,
        )
    }

    #[test]
    fn genesis_is_written_once_and_checked_on_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = dev_genesis().validate().unwrap();
        let hash = {
            let chain = Chain::open(dir.path(), genesis.clone()).unwrap();
            assert_eq!(chain.head().height, 0);
            chain.genesis_hash()
        };
        let chain = Chain::open(dir.path(), genesis).unwrap();
        assert_eq!(chain.genesis_hash(), hash);
        drop(chain);
        let mut other = dev_genesis();
        other.min_fee = Amount::from_base_units(1);
        let err = Chain::open(dir.path(), other.validate().unwrap()).unwrap_err();
        assert!(matches!(err, ChainError::GenesisMismatch { .. }));
    }

    #[test]
    fn blocks_commit_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = dev_genesis().validate().unwrap();
        let chain = Chain::open(dir.path(), genesis.clone()).unwrap();
        let alice = dev_account_key(0).unwrap();
        let bob = Address::from_public_key(&dev_account_key(1).unwrap().public_key());
        let tx = TxBody {
            chain_id: genesis.chain_id.clone(),
            sender: alice.public_key(),
            nonce: 0,
            fee: Amount::from_base_units(1_000),
            payload: TxPayload::Transfer {
                to: bob,
                amount: Amount::from_base_units(7),
            },
        }
        .sign(&alice);
        let bob_before = chain.account(&bob, None).unwrap();
        let (block, executed) = block_on_head(&chain, vec![tx.clone()]);
        chain.commit(&block, executed).unwrap();
        // An empty block after it keeps the same state root.
        let (empty, executed) = block_on_head(&chain, vec![]);
        let root_before = chain.head().state_root;
        assert_eq!(executed.state_root, root_before);
        chain.commit(&empty, executed).unwrap();
        let head = chain.head();
        assert_eq!(head.height, 2);
        drop(chain);

        let chain = Chain::open(dir.path(), genesis).unwrap();
        assert_eq!(chain.head(), head);
        let bob_after = chain.account(&bob, None).unwrap();
        assert_eq!(
            bob_after.balance.base_units(),
            bob_before.balance.base_units() + 7
        );
        assert_eq!(
            chain.account(&bob, Some(0)).unwrap(),
            bob_before,
            "history is readable"
        );
        let loc = chain.store().tx_location(&tx.hash()).unwrap().unwrap();
        assert_eq!(loc.height, 1);
        assert!(chain
            .store()
            .receipt(&loc.block_hash, loc.index)
            .unwrap()
            .unwrap()
            .is_success());
        assert_eq!(
            chain
                .store()
                .block(&head.hash)
                .unwrap()
                .unwrap()
                .header
                .height,
            2
        );
    }

    #[test]
    fn a_prepared_block_is_not_written_once_the_head_has_moved() {
        let dir = tempfile::tempdir().unwrap();
        let chain = Chain::open(dir.path(), dev_genesis().validate().unwrap()).unwrap();
        let (first, first_executed) = block_on_head(&chain, vec![transfer(0, 0, 5)]);
        let (rival, rival_executed) = block_on_head(&chain, vec![transfer(1, 0, 7)]);
        let prepared = chain.prepare_commit(&first, first_executed).unwrap();
        let rival_head = chain.commit(&rival, rival_executed).unwrap();
        assert!(matches!(
            chain.write_commit(prepared),
            Err(ChainError::NotOnHead { .. })
        ));
        assert_eq!(chain.head(), rival_head);
        assert!(chain
            .store()
            .tx_location(&first.transactions[0].hash())
            .unwrap()
            .is_none());
        assert_eq!(
            chain
                .account(&first.transactions[0].body.sender_address(), None)
                .unwrap()
                .nonce,
            0,
            "nothing of the prepared block was written"
        );
    }

    #[test]
    fn commit_refuses_stale_parent_and_bad_roots() {
        let dir = tempfile::tempdir().unwrap();
        let chain = Chain::open(dir.path(), dev_genesis().validate().unwrap()).unwrap();
        let (block, executed) = block_on_head(&chain, vec![]);
        let (mut bad, executed_again) = block_on_head(&chain, vec![]);
        bad.header.state_root = Hash([9; 32]);
        assert!(matches!(
            chain.commit(&bad, executed_again),
            Err(ChainError::RootMismatch { root: "state", .. })
        ));
        chain.commit(&block, executed).unwrap();
        let context = BlockContext {
            proposer: PublicKey::default(),
            slot: 9,
        };
        let stale = chain.execute(&context, &[], &[], &[]).unwrap();
        let old = block.clone();
        assert!(matches!(
            chain.commit(&old, stale),
            Err(ChainError::NotOnHead { .. })
        ));
    }

    fn transfer(from: u32, nonce: u64, amount: u64) -> Transaction {
        let key = dev_account_key(from).unwrap();
        TxBody {
            chain_id: dev_genesis().chain_id,
            sender: key.public_key(),
            nonce,
            fee: Amount::from_base_units(1_000),
            payload: TxPayload::Transfer {
                to: Address([7; 20]),
                amount: Amount::from_base_units(amount),
            },
        }
        .sign(&key)
    }

    #[test]
    fn rollback_restores_state_and_indices_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let chain = Chain::open(dir.path(), dev_genesis().validate().unwrap()).unwrap();
        let (b1, e1) = block_on_head(&chain, vec![transfer(0, 0, 5)]);
        chain.commit(&b1, e1).unwrap();
        let at_1 = chain.head();
        let sender = transfer(0, 0, 5).body.sender_address();
        let (sender_1, recipient_1) = (
            chain.account(&sender, None).unwrap(),
            chain.account(&Address([7; 20]), None).unwrap(),
        );
        let (b2, e2) = block_on_head(&chain, vec![transfer(0, 1, 6), transfer(1, 0, 7)]);
        chain.commit(&b2, e2).unwrap();
        let (b3, e3) = block_on_head(&chain, vec![transfer(2, 0, 8)]);
        chain.commit(&b3, e3).unwrap();
        assert_eq!(chain.head().height, 3);

        let head = chain.rollback_to(1).unwrap();
        assert_eq!(head, at_1);
        assert_eq!(chain.account(&sender, None).unwrap(), sender_1);
        assert_eq!(chain.account(&Address([7; 20]), None).unwrap(), recipient_1);
        assert!(chain
            .store()
            .tx_location(&transfer(1, 0, 7).hash())
            .unwrap()
            .is_none());
        assert_eq!(chain.store().hash_at(2).unwrap(), None);
        // The rolled-back blocks are still known (as fork blocks).
        assert!(chain.store().block(&b2.hash()).unwrap().is_some());

        // A different block at height 2 executes on the restored state and commits.
        let (fork, ef) = block_on_head(&chain, vec![transfer(3, 0, 9)]);
        assert_eq!(ef.height, 2);
        chain.commit(&fork, ef).unwrap();
        assert_eq!(
            tree::root_at(chain.store(), 2).unwrap(),
            chain.head().state_root
        );
        // Re-applying the old branch from the fork point reproduces its roots exactly.
        chain.rollback_to(1).unwrap();
        let ctx = |b: &Block| BlockContext {
            proposer: b.header.proposer,
            slot: b.header.slot,
        };
        for b in [&b2, &b3] {
            let e = chain.execute(&ctx(b), &b.transactions, &[], &[]).unwrap();
            chain.commit(b, e).unwrap();
        }
        assert_eq!(chain.head().hash, b3.hash());
        drop(chain);
        let chain = Chain::open(dir.path(), dev_genesis().validate().unwrap()).unwrap();
        assert_eq!(chain.head().hash, b3.hash());
    }

    #[test]
    fn rollback_below_finalized_is_refused_and_certificates_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        let chain = Chain::open(dir.path(), dev_genesis().validate().unwrap()).unwrap();
        for _ in 0..3 {
            let (b, e) = block_on_head(&chain, vec![]);
            chain.commit(&b, e).unwrap();
        }
        let source = rustchain_primitives::Checkpoint {
            height: 2,
            hash: chain.store().hash_at(2).unwrap().unwrap(),
        };
        let target = rustchain_primitives::Checkpoint {
            height: 3,
            hash: chain.head().hash,
        };
        let cert = FinalityCertificate {
            source,
            target,
            signatures: vec![],
        };
        assert_eq!(chain.finalize(&cert).unwrap().finalized_height, 2);
        assert_eq!(chain.store().certificate_covering(1).unwrap(), Some(cert));
        assert!(matches!(
            chain.rollback_to(1),
            Err(ChainError::BelowFinalized { .. })
        ));
        let bogus = FinalityCertificate {
            source: rustchain_primitives::Checkpoint {
                height: 3,
                hash: Hash([1; 32]),
            },
            target,
            signatures: vec![],
        };
        assert!(matches!(
            chain.finalize(&bogus),
            Err(ChainError::NotCanonical { .. })
        ));
    }

    #[test]
    fn evidence_jails_once_and_escalates() {
        use rustchain_primitives::{Checkpoint, VoteBody};
        let dir = tempfile::tempdir().unwrap();
        let genesis = dev_genesis().validate().unwrap();
        let chain = Chain::open(dir.path(), genesis.clone()).unwrap();
        let validator = dev_validator_key(0).unwrap();
        let vote = |height: u64, tag: u8| {
            VoteBody {
                chain_id: genesis.chain_id.clone(),
                voter: validator.public_key(),
                source: Checkpoint::default(),
                target: Checkpoint {
                    height,
                    hash: Hash([tag; 32]),
                },
            }
            .sign(&validator)
        };
        let double = |height: u64| Evidence::DoubleVote {
            first: vote(height, 1),
            second: vote(height, 2),
        };
        let context = BlockContext {
            proposer: validator.public_key(),
            slot: 10,
        };
        let executed = chain.execute(&context, &[], &[], &[double(5)]).unwrap();
        let record = executed.validators[&validator.public_key()];
        assert_eq!(record.offences, 1);
        assert_eq!(record.jailed_until_slot, 10 + genesis.jail_slots[0]);
        // The same offence twice in one block is invalid.
        assert!(matches!(
            chain.execute(&context, &[], &[], &[double(5), double(5)]),
            Err(ChainError::Execution(
                BlockExecutionError::InvalidEvidence { index: 1, .. }
            ))
        ));
        // Two offences: the second sentence, then permanently.
        let executed = chain
            .execute(&context, &[], &[], &[double(5), double(6), double(7)])
            .unwrap();
        assert!(executed.validators[&validator.public_key()].is_permanently_jailed());
        // Committed, the jail shows in the head state and the offence cannot be reused.
        let (mut b, _) = block_on_head(&chain, vec![]);
        let executed = chain
            .execute(
                &BlockContext {
                    proposer: validator.public_key(),
                    slot: b.header.slot,
                },
                &[],
                &[],
                &[double(5)],
            )
            .unwrap();
        b.evidence = vec![double(5)];
        b.header.evidence_root = b.compute_evidence_root();
        b.header.state_root = executed.state_root;
        b.header.sign(&genesis.chain_id, &validator);
        chain.commit(&b, executed).unwrap();
        assert_eq!(chain.active_validators(b.header.slot).unwrap(), vec![]);
        assert!(chain
            .active_validators(b.header.slot + genesis.jail_slots[0])
            .unwrap()
            .contains(&validator.public_key()));
        assert!(matches!(
            chain.execute(&context, &[], &[], &[double(5)]),
            Err(ChainError::Execution(
                BlockExecutionError::InvalidEvidence { .. }
            ))
        ));
    }
}
