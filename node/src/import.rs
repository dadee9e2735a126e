//! Importing a block produced elsewhere (or replaying a stored one).
//!
//! Order of checks, cheapest first: header rules against the parent (consensus crate), body
//! roots, then every transaction signature **in parallel** (rayon, once per transaction), then
//! sequential execution, whose state and receipts roots must equal the header's. The block and
//! all its effects are then committed in one synced batch.

use rayon::prelude::*;
use rustchain_consensus::{check_body, check_header, HeaderError, SlotTiming};
use rustchain_primitives::{Block, KeyError, Transaction};
use rustchain_state::{Chain, ChainError, ChainHead};

/// Why a block was not imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Header or body rule broken.
    #[error("invalid block: {0}")]
    Header(#[from] HeaderError),
    /// A transaction signature does not verify.
    #[error("invalid block: transaction {index} has a bad signature: {error}")]
    Signature {
        /// position
        index: usize,
        /// what failed
        error: KeyError,
    },
    /// Execution, roots or storage failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The parent header is missing from the store.
    #[error("parent header of the head is missing from the store")]
    MissingParent,
}

/// Verifies every signature, in parallel. Returns the first failing index.
pub fn verify_signatures(txs: &[Transaction]) -> Result<(), (usize, KeyError)> {
    txs.par_iter()
        .enumerate()
        .try_for_each(|(i, tx)| tx.verify_signature().map_err(|e| (i, e)))
}

/// Validates `block` as the child of the current head and commits it.
pub fn import_block(
    chain: &Chain,
    block: &Block,
    now_ms: u64,
    finalized: bool,
) -> Result<ChainHead, ImportError> {
    let head = chain.head();
    let parent = chain
        .store()
        .header(&head.hash)
        .map_err(ChainError::from)?
        .ok_or(ImportError::MissingParent)?;
    let genesis = chain.genesis();
    let timing = SlotTiming {
        genesis_time_ms: genesis.genesis_time_ms,
        slot_duration_ms: genesis.slot_duration_ms,
    };
    check_header(
        &block.header,
        &parent,
        &genesis.chain_id,
        &timing,
        &genesis.validator_keys(),
        now_ms,
    )?;
    check_body(block)?;
    verify_signatures(&block.transactions)
        .map_err(|(index, error)| ImportError::Signature { index, error })?;
    let executed = chain.execute(&block.header.proposer, &block.transactions)?;
    Ok(chain.commit(block, executed, finalized)?)
}
