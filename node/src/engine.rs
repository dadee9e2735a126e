//! The consensus engine: the one place where the node's chain changes.
//!
//! Every input that can move the chain goes through an [`Engine`] method, one at a time (the
//! node keeps the engine behind a mutex): our own block production ([`Engine::produce`]), a block
//! from gossip or sync ([`Engine::on_block`]), a vote ([`Engine::on_vote`]), evidence
//! ([`Engine::on_evidence`]) and a finality certificate from sync ([`Engine::on_certificate`]).
//! Each returns a [`Verdict`] for the network (accept and relay, reject and penalize the sender,
//! or ignore) and the messages to publish ([`Outbound`]). The engine does no network I/O and
//! reads time only from its arguments, so a test can drive several engines through a simulated
//! network with a manual clock.
//!
//! # Blocks
//!
//! A block is checked in this order, cheapest first:
//! 1. known already, or at or below the finalized height: ignored;
//! 2. parent unknown: ignored, and the caller is told which parent to fetch (sync);
//! 3. header rules against the parent (`rustchain_consensus::check_header`) and the body roots.
//!    When the parent is the head, the proposer must be the scheduled one among the validators
//!    active at the head. On a fork the active set can differ (jailing is state), so there the
//!    proposer need only be a genesis validator; the schedule is checked when the fork is
//!    executed, on its own parent state;
//! 4. a second header signed by the same proposer for the same slot is a *double proposal*:
//!    the two headers form [`Evidence`] that is pooled, gossiped and later put in a block;
//! 5. a child of the head is executed and committed at once; any other block is stored
//!    unexecuted and added to the fork choice.
//!
//! After any change, the head becomes the fork choice's head (longest valid chain from the
//! latest justified block, lowest hash on ties). Switching branches rolls the canonical chain
//! back to the common ancestor (never below finality) and executes the new branch block by
//! block; a block that fails is marked invalid with its descendants and the choice is made
//! again. Transactions of the abandoned branch go back to the mempool.
//!
//! # Votes
//!
//! After every head change a validator votes for the new head (with slashing protection, see
//! [`crate::finality`]). Votes from others are counted by the finality tracker; a justified
//! block can move the fork choice, a finalized one prunes it.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use rustchain_consensus::rip200::EpochSchedule;
use rustchain_consensus::{
    check_body, check_header, proposer_for_slot, Finality, ForkChoice, SlotTiming, Validity,
    VoteError,
};
use rustchain_mempool::{AttestationPool, Mempool};
use rustchain_primitives::attestation::MAX_BLOCK_ATTESTATION_BYTES;
use rustchain_primitives::block::HEADER_VERSION;
use rustchain_primitives::codec::{MAX_BLOCK_BYTES, MAX_BLOCK_TXS};
use rustchain_primitives::evidence::{MAX_BLOCK_EVIDENCE, MAX_EVIDENCE_BYTES};
use rustchain_primitives::merkle::merkle_root;
use rustchain_primitives::{
    Attestation, Block, BlockHeader, Checkpoint, Evidence, FinalityCertificate, Hash, KeyPair,
    PublicKey, Signature, Transaction, Vote,
};
use rustchain_rpc::types::HeaderJson;
use rustchain_state::execution::StateReader;
use rustchain_state::rules::TxInvalid;
use rustchain_state::{BlockContext, BuiltBlock, Chain, ChainError};

use crate::finality::{ChainErrorOrVote, FinalityDriver, FinalityUpdate};
use crate::import::{execute_and_commit, import_block, ImportError};
use crate::producer::HeadEvents;

/// Most pieces of evidence kept waiting for inclusion.
pub const MAX_EVIDENCE_POOL: usize = 1024;
/// Most (slot, proposer) headers remembered for double-proposal detection.
pub const MAX_TRACKED_PROPOSALS: usize = 65_536;
/// Room left in a block for the header and length prefixes.
const BLOCK_OVERHEAD_BYTES: usize = 4096;
/// What a block's transactions may take: the block limit less the header, the attestations'
/// share and the most evidence a block can carry. `produce` checks the result anyway.
const TX_BYTES_BUDGET: usize = MAX_BLOCK_BYTES
    - BLOCK_OVERHEAD_BYTES
    - MAX_BLOCK_ATTESTATION_BYTES
    - MAX_BLOCK_EVIDENCE * MAX_EVIDENCE_BYTES;

/// What the network should do with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Valid and new: relay it.
    Accept,
    /// Invalid: do not relay; the sender is penalized.
    Reject(String),
    /// Not useful (duplicate, stale, not checkable yet): do not relay, no penalty.
    Ignore(&'static str),
}

/// A message the engine wants published.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A block we produced.
    Block(Box<Block>),
    /// Our vote.
    Vote(Vote),
    /// Evidence of a validator's misbehaviour we detected.
    Evidence(Box<Evidence>),
}

/// What handling a block produced.
#[derive(Debug)]
pub struct BlockOutcome {
    /// For the network.
    pub verdict: Verdict,
    /// Messages to publish.
    pub outbound: Vec<Outbound>,
    /// The block's parent is unknown: fetch it (or sync) and try again.
    pub missing_parent: Option<Hash>,
}

/// Test-only misbehaviour, for scenario tests of the Byzantine defences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Misbehaviour {
    /// Honest.
    #[default]
    None,
    /// Sign and publish a second, conflicting header for every slot we propose.
    DoublePropose,
}

/// The consensus engine (see the module docs).
pub struct Engine {
    chain: Arc<Chain>,
    mempool: Arc<Mutex<Mempool>>,
    finality: FinalityDriver,
    fork_choice: ForkChoice,
    key: Option<KeyPair>,
    events: HeadEvents,
    timing: SlotTiming,
    genesis_validators: Vec<PublicKey>,
    /// Evidence waiting for inclusion, by offence id.
    evidence_pool: BTreeMap<Hash, Evidence>,
    /// RIP-200 attestations waiting for inclusion (shared with RPC and gossip).
    attestations: Arc<Mutex<AttestationPool>>,
    /// The first header seen from each proposer in each slot above finality.
    proposals: BTreeMap<(u64, PublicKey), BlockHeader>,
    misbehaviour: Misbehaviour,
    /// Vote after head changes (off while syncing).
    voting: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("head", &self.chain.head().height)
            .field("fork_choice_blocks", &self.fork_choice.len())
            .field("evidence_pool", &self.evidence_pool.len())
            .finish_non_exhaustive()
    }
}

fn is_fatal(e: &ChainError) -> bool {
    matches!(e, ChainError::Store(_))
}

fn corrupt(detail: String) -> ChainError {
    ChainError::Store(rustchain_state::StoreError::Corrupt {
        table: "fork choice",
        detail,
    })
}

fn missing(what: &str, hash: &Hash) -> ChainError {
    corrupt(format!(
        "{what} {hash} is in the fork choice but not in the store"
    ))
}

impl Engine {
    /// An engine over `chain`, starting from its stored head and finalized block. `key` is the
    /// validator key, if this node validates.
    pub fn new(
        chain: Arc<Chain>,
        mempool: Arc<Mutex<Mempool>>,
        key: Option<KeyPair>,
        events: HeadEvents,
    ) -> Result<Engine, ChainError> {
        let head = chain.head();
        let mut fork_choice = ForkChoice::new(Checkpoint {
            height: head.finalized_height,
            hash: head.finalized_hash,
        });
        let mut parent = head.finalized_hash;
        for height in head.finalized_height + 1..=head.height {
            let hash = chain
                .store()
                .hash_at(height)?
                .ok_or_else(|| corrupt(format!("canonical block at height {height} is missing")))?;
            fork_choice
                .insert(hash, parent, height)
                .map_err(|e| corrupt(e.to_string()))?;
            fork_choice.mark_valid(&hash);
            parent = hash;
        }
        let genesis = chain.genesis();
        let timing = SlotTiming {
            genesis_time_ms: genesis.genesis_time_ms,
            slot_duration_ms: genesis.slot_duration_ms,
        };
        let genesis_validators = genesis.validator_keys();
        let mut finality = FinalityDriver::new(chain.clone(), key.clone(), events.clone())?;
        finality.refresh_jailed()?;
        Ok(Engine {
            chain,
            mempool,
            finality,
            fork_choice,
            key,
            events,
            timing,
            genesis_validators,
            evidence_pool: BTreeMap::new(),
            attestations: Arc::new(Mutex::new(AttestationPool::new())),
            proposals: BTreeMap::new(),
            misbehaviour: Misbehaviour::None,
            voting: true,
        })
    }

    /// Makes this engine misbehave (scenario tests of the Byzantine defences only).
    pub fn set_misbehaviour(&mut self, misbehaviour: Misbehaviour) {
        self.misbehaviour = misbehaviour;
    }

    /// Turns voting after head changes on or off (off while syncing old blocks: those votes
    /// would be stale, and each costs a synced write of the voting record).
    pub fn set_voting(&mut self, voting: bool) {
        self.voting = voting;
    }

    /// The chain.
    pub fn chain(&self) -> &Arc<Chain> {
        &self.chain
    }

    /// The finality tracker (read-only).
    pub fn finality(&self) -> &Finality {
        self.finality.tracker()
    }

    /// The attestation pool (RPC and gossip admit into it; block production takes from it).
    pub fn attestation_pool(&self) -> &Arc<Mutex<AttestationPool>> {
        &self.attestations
    }

    /// Evidence waiting for inclusion.
    pub fn pending_evidence(&self) -> usize {
        self.evidence_pool.len()
    }

    /// The proposer scheduled for `slot` among the validators active at the head.
    pub fn scheduled_proposer(&self, slot: u64) -> Result<Option<PublicKey>, ChainError> {
        Ok(proposer_for_slot(
            &self.chain.active_validators(slot)?,
            slot,
        ))
    }

    /// Builds, signs and commits our block for `slot` on the head, if we are its proposer and
    /// the head is older than `slot`. Returns the block and what to publish (the block first).
    pub fn produce(
        &mut self,
        slot: u64,
        now_ms: u64,
    ) -> Result<Option<(Block, Vec<Outbound>)>, ChainError> {
        let Some(key) = self.key.clone() else {
            return Ok(None);
        };
        let head = self.chain.head();
        if head.slot >= slot || self.scheduled_proposer(slot)? != Some(key.public_key()) {
            return Ok(None);
        }
        let candidates: Vec<Transaction> = {
            let pool = self.mempool.lock();
            pool.select(MAX_BLOCK_TXS, TX_BYTES_BUDGET, |sender| {
                self.chain
                    .account(sender, None)
                    .map(|a| a.nonce)
                    .unwrap_or(u64::MAX)
            })
            .into_iter()
            .map(|tx| (*tx).clone())
            .collect()
        };
        let evidence: Vec<Evidence> = self
            .evidence_pool
            .values()
            .take(MAX_BLOCK_EVIDENCE)
            .cloned()
            .collect();
        let attestation_candidates = self.attestations.lock().candidates();
        let proposer = key.public_key();
        let context = BlockContext { proposer, slot };
        let BuiltBlock {
            transactions,
            attestations,
            evidence,
            executed,
            left_out,
            left_out_attestations,
        } = self
            .chain
            .build(&context, candidates, attestation_candidates, evidence)?;
        // Whatever building refused at this slot can never be included later either (its
        // reference only gets older, its window was taken, or its epoch is over).
        self.attestations.lock().remove(&left_out_attestations);
        let ids: Vec<Hash> = transactions.iter().map(Transaction::hash).collect();
        let chain_id = self.chain.genesis().chain_id.clone();
        let mut header = BlockHeader {
            version: HEADER_VERSION,
            height: executed.height,
            slot,
            timestamp_ms: self.timing.slot_start(slot).unwrap_or(u64::MAX),
            parent_hash: head.hash,
            transactions_root: merkle_root(&ids),
            attestations_root: merkle_root(
                &attestations
                    .iter()
                    .map(Attestation::hash)
                    .collect::<Vec<_>>(),
            ),
            evidence_root: merkle_root(&evidence.iter().map(Evidence::hash).collect::<Vec<_>>()),
            state_root: executed.state_root,
            receipts_root: executed.receipts_root,
            proposer,
            signature: Signature::EMPTY,
        };
        header.sign(&chain_id, &key);
        let block = Block {
            header,
            transactions,
            attestations,
            evidence,
        };
        let size = block.encode().len();
        if size > MAX_BLOCK_BYTES {
            // The budgets above make this unreachable; never publish a block peers must refuse.
            tracing::error!(
                slot,
                size,
                limit = MAX_BLOCK_BYTES,
                "built block is over the size limit; skipping this slot"
            );
            return Ok(None);
        }
        let new_head = self.chain.commit(&block, executed)?;
        let hash = new_head.hash;
        self.fork_choice
            .insert(hash, head.hash, new_head.height)
            .map_err(|e| corrupt(e.to_string()))?;
        self.fork_choice.mark_valid(&hash);
        self.remember_proposal(&block.header);
        {
            let mut pool = self.mempool.lock();
            for (tx, reason) in &left_out {
                let permanent = matches!(
                    reason,
                    TxInvalid::NonceTooLow { .. }
                        | TxInvalid::WrongChainId { .. }
                        | TxInvalid::FeeTooLow { .. }
                        | TxInvalid::CostOverflow
                );
                if permanent {
                    pool.remove(&tx.hash());
                }
            }
        }
        tracing::info!(
            height = new_head.height,
            slot,
            txs = block.transactions.len(),
            attestations = block.attestations.len(),
            evidence = block.evidence.len(),
            hash = %hash,
            "produced block"
        );
        let mut outbound = vec![Outbound::Block(Box::new(block.clone()))];
        if self.misbehaviour == Misbehaviour::DoublePropose {
            let mut twin = block.header.clone();
            twin.state_root = Hash(twin.state_root.0.map(|b| !b));
            twin.sign(&chain_id, &key);
            tracing::warn!(
                slot,
                "test misbehaviour: publishing a conflicting block for this slot"
            );
            outbound.push(Outbound::Block(Box::new(Block {
                header: twin,
                ..block.clone()
            })));
        }
        self.after_head_change(now_ms, &mut outbound)?;
        Ok(Some((block, outbound)))
    }

    /// Handles a block from gossip or sync (see the module docs for the order of checks).
    pub fn on_block(&mut self, block: &Block, now_ms: u64) -> Result<BlockOutcome, ChainError> {
        let outcome = |verdict| BlockOutcome {
            verdict,
            outbound: Vec::new(),
            missing_parent: None,
        };
        let header = &block.header;
        let hash = block.hash();
        if self.fork_choice.contains(&hash) {
            return Ok(outcome(Verdict::Ignore("block already known")));
        }
        if header.height <= self.fork_choice.finalized().height {
            return Ok(outcome(Verdict::Ignore(
                "block at or below the finalized height",
            )));
        }
        match self.fork_choice.validity(&header.parent_hash) {
            None => {
                return Ok(BlockOutcome {
                    verdict: Verdict::Ignore("parent unknown"),
                    outbound: Vec::new(),
                    missing_parent: Some(header.parent_hash),
                })
            }
            Some(Validity::Invalid) => {
                return Ok(outcome(Verdict::Reject(format!(
                    "block {hash} builds on the invalid block {}",
                    header.parent_hash
                ))))
            }
            Some(_) => {}
        }
        let parent = self
            .chain
            .store()
            .header(&header.parent_hash)?
            .ok_or_else(|| missing("block", &header.parent_hash))?;
        let start = self.chain.head().hash;
        let on_head = header.parent_hash == start;
        let validators = if on_head {
            self.chain.active_validators(header.slot)?
        } else if self.genesis_validators.contains(&header.proposer) {
            // Schedule checked at execution, on the fork's own state (module docs, step 3).
            vec![header.proposer]
        } else {
            return Ok(outcome(Verdict::Reject(format!(
                "block {hash} is proposed by {}, not a validator",
                header.proposer
            ))));
        };
        let chain_id = &self.chain.genesis().chain_id;
        if let Err(e) = check_header(header, &parent, chain_id, &self.timing, &validators, now_ms)
            .and_then(|()| check_body(block))
        {
            return Ok(outcome(Verdict::Reject(format!("block {hash}: {e}"))));
        }

        let mut outbound = Vec::new();
        self.check_double_proposal(header, &mut outbound);
        self.fork_choice
            .insert(hash, header.parent_hash, header.height)
            .map_err(|e| corrupt(e.to_string()))?;
        if on_head {
            // The header and body were checked above against the head, with the active set.
            // Transactions already in our mempool had their signatures verified on admission.
            let ids: Vec<Hash> = block.transactions.iter().map(Transaction::hash).collect();
            let verified: Vec<bool> = {
                let pool = self.mempool.lock();
                ids.iter().map(|id| pool.contains(id)).collect()
            };
            match execute_and_commit(&self.chain, block, &verified) {
                Ok(head) => {
                    self.fork_choice.mark_valid(&hash);
                    tracing::info!(
                        height = head.height,
                        slot = header.slot,
                        txs = block.transactions.len(),
                        hash = %hash,
                        "imported block"
                    );
                }
                Err(ImportError::Chain(e)) if is_fatal(&e) => return Err(e),
                Err(e) => {
                    self.fork_choice.mark_invalid(&hash);
                    return Ok(BlockOutcome {
                        verdict: Verdict::Reject(format!("block {hash}: {e}")),
                        outbound,
                        missing_parent: None,
                    });
                }
            }
        } else {
            self.chain.store_fork_block(block)?;
        }
        self.update_head_from(start, now_ms, &mut outbound)?;
        let verdict = if self.fork_choice.validity(&hash) == Some(Validity::Invalid) {
            Verdict::Reject(format!("block {hash} failed execution"))
        } else {
            Verdict::Accept
        };
        Ok(BlockOutcome {
            verdict,
            outbound,
            missing_parent: None,
        })
    }

    /// Counts a vote from the network.
    pub fn on_vote(
        &mut self,
        vote: &Vote,
        now_ms: u64,
    ) -> Result<(Verdict, Vec<Outbound>), ChainError> {
        tracing::debug!(
            voter = %vote.body.voter,
            source = vote.body.source.height,
            target = vote.body.target.height,
            target_hash = %vote.body.target.hash,
            "vote"
        );
        let update = match self.finality.on_vote(vote) {
            Ok(update) => update,
            Err(ChainErrorOrVote::Chain(e)) => return Err(e),
            Err(ChainErrorOrVote::Vote(e)) => {
                let verdict = match e {
                    VoteError::Stale { .. } => Verdict::Ignore("vote below finality"),
                    VoteError::TooFarAhead { .. } => Verdict::Ignore("vote too far ahead"),
                    VoteError::Jailed(_) => Verdict::Ignore("voter is jailed"),
                    other => Verdict::Reject(other.to_string()),
                };
                return Ok((verdict, Vec::new()));
            }
        };
        if update.duplicate {
            return Ok((Verdict::Ignore("vote already counted"), Vec::new()));
        }
        let mut outbound = Vec::new();
        self.apply_finality_update(update, now_ms, &mut outbound)?;
        Ok((Verdict::Accept, outbound))
    }

    /// Pools evidence from the network for inclusion in a block.
    pub fn on_evidence(&mut self, evidence: Evidence) -> Result<Verdict, ChainError> {
        if let Err(e) = evidence.verify(&self.chain.genesis().chain_id) {
            return Ok(Verdict::Reject(format!("invalid evidence: {e}")));
        }
        if !self.genesis_validators.contains(&evidence.offender()) {
            return Ok(Verdict::Reject(
                "evidence against a key that is not a validator".into(),
            ));
        }
        Ok(self.pool_evidence(evidence))
    }

    /// Applies a finality certificate fetched from a peer during sync.
    pub fn on_certificate(
        &mut self,
        certificate: FinalityCertificate,
        now_ms: u64,
    ) -> Result<(Verdict, Vec<Outbound>), ChainError> {
        let mut outbound = Vec::new();
        let verdict = match self.finality.apply_certificate(certificate)? {
            Err(e) => Verdict::Reject(format!("invalid finality certificate: {e}")),
            Ok(applied) => {
                if !applied.is_empty() {
                    self.sync_finalized();
                    self.update_head(now_ms, &mut outbound)?;
                }
                Verdict::Accept
            }
        };
        Ok((verdict, outbound))
    }

    /// Re-runs the fork choice and votes for the head if allowed (after a sync).
    pub fn refresh(&mut self, now_ms: u64) -> Result<Vec<Outbound>, ChainError> {
        let mut outbound = Vec::new();
        let before = self.chain.head().hash;
        self.update_head(now_ms, &mut outbound)?;
        if self.chain.head().hash == before {
            self.after_head_change(now_ms, &mut outbound)?;
        }
        Ok(outbound)
    }

    fn apply_finality_update(
        &mut self,
        update: FinalityUpdate,
        now_ms: u64,
        outbound: &mut Vec<Outbound>,
    ) -> Result<(), ChainError> {
        if let Some(evidence) = update.evidence {
            tracing::warn!(
                offender = %evidence.offender(),
                kind = evidence.kind(),
                "validator equivocated in its votes"
            );
            if self.pool_evidence(evidence.clone()) == Verdict::Accept {
                outbound.push(Outbound::Evidence(Box::new(evidence)));
            }
        }
        if !update.finalized.is_empty() {
            self.sync_finalized();
        }
        if !update.justified.is_empty() {
            self.update_head(now_ms, outbound)?;
        }
        Ok(())
    }

    fn pool_evidence(&mut self, evidence: Evidence) -> Verdict {
        let id = evidence.offence_id();
        if self.evidence_pool.contains_key(&id) {
            return Verdict::Ignore("evidence already pooled");
        }
        match self.chain.head_state().offence_punished(&id) {
            Ok(true) => return Verdict::Ignore("offence already punished"),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, "cannot read offence state");
                return Verdict::Ignore("offence state unreadable");
            }
        }
        if self.evidence_pool.len() >= MAX_EVIDENCE_POOL {
            return Verdict::Ignore("evidence pool full");
        }
        self.evidence_pool.insert(id, evidence);
        Verdict::Accept
    }

    fn remember_proposal(&mut self, header: &BlockHeader) {
        if self.proposals.len() >= MAX_TRACKED_PROPOSALS {
            self.proposals.pop_first();
        }
        self.proposals
            .entry((header.slot, header.proposer))
            .or_insert_with(|| header.clone());
    }

    /// Step 4 of the module docs: a second header for one (slot, proposer) is evidence.
    fn check_double_proposal(&mut self, header: &BlockHeader, outbound: &mut Vec<Outbound>) {
        let key = (header.slot, header.proposer);
        let Some(first) = self.proposals.get(&key) else {
            self.remember_proposal(header);
            return;
        };
        if first.hash() == header.hash() {
            return;
        }
        let evidence = Evidence::DoubleProposal {
            first: Box::new(first.clone()),
            second: Box::new(header.clone()),
        };
        tracing::warn!(
            proposer = %header.proposer,
            slot = header.slot,
            "double proposal detected"
        );
        if self.pool_evidence(evidence.clone()) == Verdict::Accept {
            outbound.push(Outbound::Evidence(Box::new(evidence)));
        }
    }

    /// Moves the fork choice root and the proposal index up to the chain's finalized block.
    fn sync_finalized(&mut self) {
        let head = self.chain.head();
        let finalized = Checkpoint {
            height: head.finalized_height,
            hash: head.finalized_hash,
        };
        if finalized.height > self.fork_choice.finalized().height {
            self.fork_choice.finalize(finalized);
            if let Ok(Some(header)) = self.chain.store().header(&finalized.hash) {
                self.proposals.retain(|(slot, _), _| *slot > header.slot);
            }
        }
    }

    /// Makes the fork choice's head the canonical head (rolling back and executing a branch if
    /// needed), then votes. See the module docs.
    fn update_head(&mut self, now_ms: u64, outbound: &mut Vec<Outbound>) -> Result<(), ChainError> {
        let start = self.chain.head().hash;
        self.update_head_from(start, now_ms, outbound)
    }

    /// [`Self::update_head`], where `start` is the head before the caller changed it.
    fn update_head_from(
        &mut self,
        start: Hash,
        now_ms: u64,
        outbound: &mut Vec<Outbound>,
    ) -> Result<(), ChainError> {
        loop {
            let target = self.fork_choice.head(&self.finality.latest_justified());
            let head = self.chain.head();
            if target.hash == head.hash {
                break;
            }
            // Walk back from the target to the canonical chain.
            let mut path = Vec::new();
            let mut cursor = target;
            while cursor.height > head.height
                || self.chain.store().hash_at(cursor.height)? != Some(cursor.hash)
            {
                path.push(cursor);
                cursor = self
                    .fork_choice
                    .parent_of(&cursor.hash)
                    .ok_or_else(|| missing("parent of block", &cursor.hash))?;
            }
            path.reverse();
            if cursor.height < head.height {
                self.roll_back(cursor.height)?;
            }
            let mut failed = false;
            for checkpoint in path {
                let block = self
                    .chain
                    .store()
                    .block(&checkpoint.hash)?
                    .ok_or_else(|| missing("block", &checkpoint.hash))?;
                match import_block(&self.chain, &block, now_ms) {
                    Ok(_) => self.fork_choice.mark_valid(&checkpoint.hash),
                    Err(ImportError::Chain(e)) if is_fatal(&e) => return Err(e),
                    Err(e) => {
                        tracing::warn!(
                            height = checkpoint.height,
                            hash = %checkpoint.hash,
                            error = %e,
                            "block on the chosen branch is invalid"
                        );
                        self.fork_choice.mark_invalid(&checkpoint.hash);
                        failed = true;
                        break;
                    }
                }
            }
            if !failed {
                break;
            }
        }
        if self.chain.head().hash != start {
            self.after_head_change(now_ms, outbound)?;
        }
        Ok(())
    }

    /// Rolls the canonical chain back to `height`, returning the abandoned transactions to the
    /// mempool.
    fn roll_back(&mut self, height: u64) -> Result<(), ChainError> {
        let head = self.chain.head();
        let mut abandoned = Vec::new();
        let mut abandoned_attestations = Vec::new();
        for h in height + 1..=head.height {
            if let Some(hash) = self.chain.store().hash_at(h)? {
                if let Some(block) = self.chain.store().block(&hash)? {
                    abandoned.extend(block.transactions);
                    abandoned_attestations.extend(block.attestations);
                }
            }
        }
        let new_head = self.chain.rollback_to(height)?;
        tracing::warn!(
            from_height = head.height,
            from = %head.hash,
            to_height = new_head.height,
            to = %new_head.hash,
            "switching branch"
        );
        let mut pool = self.mempool.lock();
        for tx in abandoned {
            if let Ok(account) = self.chain.account(&tx.body.sender_address(), None) {
                // Best effort: a transaction the branch we switch to also holds is refused later.
                let _ = pool.add(tx, account, 0, true);
            }
        }
        // Their signatures were verified when their blocks were imported; block building
        // re-checks every other rule on the new branch.
        let mut attestations = self.attestations.lock();
        for a in abandoned_attestations {
            let _ = attestations.insert(a);
        }
        Ok(())
    }

    /// Bookkeeping after the head moved: pending certificates, jail set, announcements, our
    /// vote, mempool and evidence pruning.
    fn after_head_change(
        &mut self,
        now_ms: u64,
        outbound: &mut Vec<Outbound>,
    ) -> Result<(), ChainError> {
        if !self.finality.apply_pending()?.is_empty() {
            self.sync_finalized();
        }
        self.finality.refresh_jailed()?;
        let head = self.chain.head();
        if let Some(header) = self.chain.store().header(&head.hash)? {
            // No subscribers is not an error.
            let _ = self.events.new_heads.send(HeaderJson::from(&header));
        }
        let vote = if self.voting {
            self.finality.vote_for_head()?
        } else {
            None
        };
        if let Some((vote, update)) = vote {
            outbound.push(Outbound::Vote(vote));
            // Our own vote can justify or finalize; a justification moves the head at most to
            // a block we already chose, so this does not recurse.
            if let Some(evidence) = update.evidence {
                self.pool_evidence(evidence);
            }
            if !update.finalized.is_empty() {
                self.sync_finalized();
            }
        }
        self.mempool.lock().prune(now_ms, |sender| {
            self.chain
                .account(sender, None)
                .map(|a| a.nonce)
                .unwrap_or(0)
        });
        let reader = self.chain.head_state();
        self.evidence_pool
            .retain(|id, _| !reader.offence_punished(id).unwrap_or(false));
        let epoch = EpochSchedule::of(self.chain.genesis()).epoch(head.slot);
        self.attestations
            .lock()
            .prune(epoch, |miner, epoch, window| {
                reader
                    .epoch_miner(epoch, miner)
                    .ok()
                    .flatten()
                    .is_some_and(|m| m.has_window(window))
            });
        Ok(())
    }
}
