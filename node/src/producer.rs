//! Block production: every slot in which this node is the scheduled proposer, build a block from
//! the mempool's ready transactions, sign it, commit it, and announce it.
//!
//! Building skips transactions that are no longer includable (their nonce was used, or the fee
//! is no longer payable) rather than producing an invalid block; those that can never become
//! includable are dropped from the pool. After committing, the producer votes for its block
//! through the [`FinalityDriver`]; on a single-validator chain that vote alone is a quorum, so
//! each block finalizes its parent.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rustchain_consensus::{proposer_for_slot, SlotClock, SlotTiming};
use rustchain_mempool::Mempool;
use rustchain_primitives::block::HEADER_VERSION;
use rustchain_primitives::codec::{MAX_BLOCK_BYTES, MAX_BLOCK_TXS};
use rustchain_primitives::merkle::merkle_root;
use rustchain_primitives::{
    Block, BlockHeader, Evidence, Hash, KeyPair, PublicKey, Signature, Transaction,
};
use rustchain_rpc::types::HeaderJson;
use rustchain_state::rules::TxInvalid;
use rustchain_state::{BlockContext, BuiltBlock, Chain, ChainError};

use crate::finality::FinalityDriver;
use tokio::sync::{broadcast, watch};

/// Channels on which new and finalized heads are announced.
#[derive(Debug, Clone)]
pub struct HeadEvents {
    /// Every new head.
    pub new_heads: broadcast::Sender<HeaderJson>,
    /// Every newly finalized block.
    pub finalized_heads: broadcast::Sender<HeaderJson>,
}

/// Room left in a block for the header and length prefixes.
const BLOCK_OVERHEAD_BYTES: usize = 4096;

/// The block producer.
pub struct Producer {
    chain: Arc<Chain>,
    mempool: Arc<Mutex<Mempool>>,
    key: KeyPair,
    clock: Arc<dyn SlotClock>,
    timing: SlotTiming,
    validators: Vec<PublicKey>,
    events: HeadEvents,
    finality: Arc<Mutex<FinalityDriver>>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("key", &self.key.public_key())
            .finish_non_exhaustive()
    }
}

impl Producer {
    /// A producer signing with `key`.
    pub fn new(
        chain: Arc<Chain>,
        mempool: Arc<Mutex<Mempool>>,
        key: KeyPair,
        clock: Arc<dyn SlotClock>,
        events: HeadEvents,
        finality: Arc<Mutex<FinalityDriver>>,
    ) -> Self {
        let genesis = chain.genesis();
        let timing = SlotTiming {
            genesis_time_ms: genesis.genesis_time_ms,
            slot_duration_ms: genesis.slot_duration_ms,
        };
        let validators = genesis.validator_keys();
        Producer {
            chain,
            mempool,
            key,
            clock,
            timing,
            validators,
            events,
            finality,
        }
    }

    /// Builds, signs and commits the block for `slot` on the current head.
    pub fn produce(&self, slot: u64) -> Result<Block, ChainError> {
        let head = self.chain.head();
        let now = self.clock.now_ms();
        let candidates: Vec<Transaction> = {
            let pool = self.mempool.lock();
            pool.select(
                MAX_BLOCK_TXS,
                MAX_BLOCK_BYTES - BLOCK_OVERHEAD_BYTES,
                |sender| {
                    self.chain
                        .account(sender, None)
                        .map(|a| a.nonce)
                        .unwrap_or(u64::MAX)
                },
            )
            .into_iter()
            .map(|tx| (*tx).clone())
            .collect()
        };
        let proposer = self.key.public_key();
        let context = BlockContext { proposer, slot };
        let BuiltBlock {
            transactions: txs,
            evidence,
            executed,
            left_out,
        } = self.chain.build(&context, candidates, Vec::new())?;
        let ids: Vec<Hash> = txs.iter().map(Transaction::hash).collect();
        let mut header = BlockHeader {
            version: HEADER_VERSION,
            height: executed.height,
            slot,
            timestamp_ms: self.timing.slot_start(slot).unwrap_or(u64::MAX),
            parent_hash: head.hash,
            transactions_root: merkle_root(&ids),
            attestations_root: merkle_root(&[]),
            evidence_root: merkle_root(&evidence.iter().map(Evidence::hash).collect::<Vec<_>>()),
            state_root: executed.state_root,
            receipts_root: executed.receipts_root,
            proposer,
            signature: Signature::EMPTY,
        };
        header.sign(&self.chain.genesis().chain_id, &self.key);
        let block = Block {
            header,
            transactions: txs,
            attestations: vec![],
            evidence,
        };
        let new_head = self.chain.commit(&block, executed)?;

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
            pool.prune(now, |sender| {
                self.chain
                    .account(sender, None)
                    .map(|a| a.nonce)
                    .unwrap_or(0)
            });
        }
        tracing::info!(
            height = new_head.height,
            slot,
            txs = block.transactions.len(),
            hash = %new_head.hash,
            "produced block"
        );
        let header_json = HeaderJson::from(&block.header);
        // No subscribers is not an error.
        let _ = self.events.new_heads.send(header_json);
        self.finality.lock().vote_for_head()?;
        Ok(block)
    }

    /// Runs until `shutdown` turns true. Returns an error only for a failure that must stop the
    /// node (a storage write failed).
    pub async fn run(
        self: Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), ChainError> {
        let me = self.key.public_key();
        let mut last_slot = self.chain.head().slot;
        loop {
            let now = self.clock.now_ms();
            let slot = self.timing.slot_at(now).max(last_slot + 1);
            let start = self.timing.slot_start(slot).unwrap_or(u64::MAX);
            if start > now {
                let wait = Duration::from_millis(start - now);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => return Ok(()),
                }
            }
            if *shutdown.borrow() {
                return Ok(());
            }
            last_slot = slot;
            if proposer_for_slot(&self.validators, slot) != Some(me) {
                continue;
            }
            let this = self.clone();
            // Building and committing is CPU and disk work: keep it off the async threads. A
            // shutdown request waits for the commit in progress to finish.
            let result = tokio::task::spawn_blocking(move || this.produce(slot)).await;
            match result {
                Ok(Ok(_)) => {}
                Ok(Err(ChainError::Store(e))) => return Err(ChainError::Store(e)),
                Ok(Err(e)) => tracing::error!(slot, error = %e, "could not produce a block"),
                Err(join) => tracing::error!(slot, error = %join, "block production task failed"),
            }
        }
    }
}
