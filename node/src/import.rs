//! Importing a block produced elsewhere (or replaying a stored one).
//!
//! Order of checks, cheapest first: header rules against the parent (consensus crate), body
//! roots, then every transaction signature **in parallel** (rayon, once per transaction), then
//! sequential execution, whose state and receipts roots must equal the header's. The block and
//! all its effects are then committed in one synced batch.

use rayon::prelude::*;
use rustchain_consensus::{check_body, check_header, HeaderError, SlotTiming};
use rustchain_primitives::{Block, KeyError, Transaction};
use rustchain_state::{BlockContext, Chain, ChainError, ChainHead};

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
    verify_unverified(txs, &[])
}

/// Verifies, in parallel, the signature of every transaction whose `verified` flag is not set
/// (a missing flag counts as not set). Returns the first failing index.
pub fn verify_unverified(txs: &[Transaction], verified: &[bool]) -> Result<(), (usize, KeyError)> {
    txs.par_iter().enumerate().try_for_each(|(i, tx)| {
        if verified.get(i).copied().unwrap_or(false) {
            return Ok(());
        }
        tx.verify_signature().map_err(|e| (i, e))
    })
}

/// Validates `block` as the child of the current head and commits it. Signatures are verified
/// in parallel *while* the block executes (both must succeed), so an import costs about
/// max(verification, execution) rather than their sum.
pub fn import_block(chain: &Chain, block: &Block, now_ms: u64) -> Result<ChainHead, ImportError> {
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
        &chain
            .active_validators(block.header.slot)
            .map_err(ChainError::from)?,
        now_ms,
    )?;
    check_body(block)?;
    execute_and_commit(chain, block, &[])
}

/// The second half of [`import_block`], for a caller that has already checked the header and
/// body of `block` against the current head (with the active validators at the head): verifies
/// the transaction signatures in parallel with execution and the preparation of the block's
/// write (roots compared, batch built), then writes it once every signature verified.
/// `verified[i]` set means transaction `i`'s exact bytes (its id covers the signature) were
/// already verified, e.g. at mempool admission, and are not verified again.
pub fn execute_and_commit(
    chain: &Chain,
    block: &Block,
    verified: &[bool],
) -> Result<ChainHead, ImportError> {
    let context = BlockContext {
        proposer: block.header.proposer,
        slot: block.header.slot,
    };
    let (verified, prepared) = rayon::join(
        || verify_unverified(&block.transactions, verified),
        || {
            let executed = chain.execute(
                &context,
                &block.transactions,
                &block.attestations,
                &block.evidence,
            )?;
            chain.prepare_commit(block, executed)
        },
    );
    verified.map_err(|(index, error)| ImportError::Signature { index, error })?;
    Ok(chain.write_commit(prepared?)?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use parking_lot::Mutex;
    use rustchain_consensus::{ManualClock, SlotClock};
    use rustchain_genesis::{dev_account_key, dev_genesis, dev_validator_key};
    use rustchain_mempool::{Mempool, MempoolConfig};
    use rustchain_primitives::merkle::merkle_root;
    use rustchain_primitives::{Address, Amount, Hash, TxBody, TxPayload};
    use tokio::sync::broadcast;

    use super::*;
    use crate::engine::Engine;
    use crate::producer::HeadEvents;

    fn chain(dir: &std::path::Path) -> Arc<Chain> {
        Arc::new(Chain::open(dir, dev_genesis().validate().unwrap()).unwrap())
    }

    fn transfer(from: u32, nonce: u64, amount: u64) -> Transaction {
        let key = dev_account_key(from).unwrap();
        TxBody {
            chain_id: dev_genesis().chain_id,
            sender: key.public_key(),
            nonce,
            fee: Amount::from_base_units(1_000),
            payload: TxPayload::Transfer {
                to: Address([3; 20]),
                amount: Amount::from_base_units(amount),
            },
        }
        .sign(&key)
    }

    fn producer(chain: Arc<Chain>) -> (Engine, Arc<Mutex<Mempool>>) {
        let pool = Arc::new(Mutex::new(Mempool::new(
            MempoolConfig::default(),
            chain.rules().clone(),
        )));
        let events = HeadEvents {
            new_heads: broadcast::channel(4).0,
            finalized_heads: broadcast::channel(4).0,
        };
        let key = dev_validator_key(0).unwrap();
        let engine = Engine::new(chain, pool.clone(), Some(key), events).unwrap();
        (engine, pool)
    }

    #[test]
    fn produced_blocks_import_on_another_node() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (producer_chain, importer) = (chain(a.path()), chain(b.path()));
        let genesis = dev_genesis().validate().unwrap();
        let clock = ManualClock::new(genesis.genesis_time_ms);
        let (mut producer, pool) = producer(producer_chain.clone());
        for (from, nonce) in [(0, 0), (0, 1), (1, 0)] {
            let account = producer_chain
                .account(&transfer(from, nonce, 5).body.sender_address(), None)
                .unwrap();
            pool.lock()
                .add(transfer(from, nonce, 5), account, 0, false)
                .unwrap();
        }
        for slot in 1..=3 {
            clock.set(genesis.genesis_time_ms + slot * genesis.slot_duration_ms);
            let (block, _) = producer.produce(slot, clock.now_ms()).unwrap().unwrap();
            if slot == 1 {
                assert_eq!(block.transactions.len(), 3);
                assert!(
                    pool.lock().is_empty(),
                    "included transactions leave the pool"
                );
            }
            let head = import_block(&importer, &block, clock.now_ms()).unwrap();
            assert_eq!(head.state_root, producer_chain.head().state_root);
            assert_eq!(head.hash, producer_chain.head().hash);
        }
        // The single validator's votes finalize each block's parent.
        assert_eq!(producer_chain.head().finalized_height, 2);
        let cert = producer_chain
            .store()
            .certificate_covering(1)
            .unwrap()
            .unwrap();
        assert_eq!(cert.source.height, 1);
    }

    #[test]
    fn bad_signature_is_rejected_even_with_consistent_roots() {
        let dir = tempfile::tempdir().unwrap();
        let chain = chain(dir.path());
        let genesis = chain.genesis().clone();
        let mut tx = transfer(0, 0, 5);
        tx.signature.0[0] ^= 1;
        // Roots computed honestly over the bad transaction: only the signature check can catch it.
        let validator = dev_validator_key(0).unwrap();
        let executed = chain
            .execute(
                &BlockContext {
                    proposer: validator.public_key(),
                    slot: 1,
                },
                std::slice::from_ref(&tx),
                &[],
                &[],
            )
            .unwrap();
        let ids: Vec<Hash> = vec![tx.hash()];
        let mut header = rustchain_primitives::BlockHeader {
            version: rustchain_primitives::block::HEADER_VERSION,
            height: 1,
            slot: 1,
            timestamp_ms: genesis.genesis_time_ms + genesis.slot_duration_ms,
            parent_hash: chain.head().hash,
            transactions_root: merkle_root(&ids),
            attestations_root: merkle_root(&[]),
            evidence_root: merkle_root(&[]),
            state_root: executed.state_root,
            receipts_root: executed.receipts_root,
            proposer: validator.public_key(),
            signature: rustchain_primitives::Signature::EMPTY,
        };
        header.sign(&genesis.chain_id, &validator);
        let block = Block {
            header,
            transactions: vec![tx],
            attestations: vec![],
            evidence: vec![],
        };
        let err = import_block(&chain, &block, u64::MAX).unwrap_err();
        assert!(
            matches!(err, ImportError::Signature { index: 0, .. }),
            "{err}"
        );
        assert_eq!(chain.head().height, 0, "nothing committed");

        // A wrong state root is caught after execution.
        let mut tampered = block.clone();
        tampered.transactions[0] = transfer(0, 0, 5);
        tampered.header.transactions_root = merkle_root(&[tampered.transactions[0].hash()]);
        tampered.header.state_root = Hash([1; 32]);
        tampered.header.sign(&genesis.chain_id, &validator);
        let err = import_block(&chain, &tampered, u64::MAX).unwrap_err();
        assert!(err.to_string().contains("state root mismatch"), "{err}");
        assert_eq!(chain.head().height, 0);
    }

    #[test]
    fn only_unverified_signatures_are_checked() {
        let mut bad = transfer(0, 0, 5);
        bad.signature.0[0] ^= 1;
        let good = transfer(1, 0, 5);
        let txs = vec![good, bad];
        assert_eq!(verify_unverified(&txs, &[]).unwrap_err().0, 1);
        assert_eq!(verify_unverified(&txs, &[true, false]).unwrap_err().0, 1);
        // Marked verified (as a pooled transaction would be), it is not checked again.
        assert!(verify_unverified(&txs, &[false, true]).is_ok());
    }
}
