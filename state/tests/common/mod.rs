//! Shared by the chain-state scenario tests: sealing executed contents into a block on the head.

#![allow(dead_code)]

use rustchain_genesis::dev_validator_key;
use rustchain_primitives::block::HEADER_VERSION;
use rustchain_primitives::merkle::merkle_root;
use rustchain_primitives::{
    Attestation, Block, BlockHeader, Hash, KeyPair, Signature, Transaction,
};
use rustchain_state::{BlockContext, Chain, ExecutedBlock};

/// The dev validator that proposes every test block.
pub fn proposer() -> KeyPair {
    dev_validator_key(0).unwrap()
}

/// The execution context of a test block at `slot`.
pub fn context(slot: u64) -> BlockContext {
    BlockContext {
        proposer: proposer().public_key(),
        slot,
    }
}

/// The block on `chain`'s head at `slot` holding `transactions` and `attestations`, whose
/// execution on the head is `executed`: header roots from it, timestamp at the slot's start,
/// signed by [`proposer`].
pub fn seal(
    chain: &Chain,
    slot: u64,
    executed: &ExecutedBlock,
    transactions: Vec<Transaction>,
    attestations: Vec<Attestation>,
) -> Block {
    let g = chain.genesis();
    let key = proposer();
    let tx_ids: Vec<Hash> = transactions.iter().map(Transaction::hash).collect();
    let attestation_ids: Vec<Hash> = attestations.iter().map(Attestation::hash).collect();
    let mut header = BlockHeader {
        version: HEADER_VERSION,
        height: executed.height,
        slot,
        timestamp_ms: g.genesis_time_ms + slot * g.slot_duration_ms,
        parent_hash: chain.head().hash,
        transactions_root: merkle_root(&tx_ids),
        attestations_root: merkle_root(&attestation_ids),
        evidence_root: merkle_root(&[]),
        state_root: executed.state_root,
        receipts_root: executed.receipts_root,
        proposer: key.public_key(),
        signature: Signature::EMPTY,
    };
    header.sign(&g.chain_id, &key);
    Block {
        header,
        transactions,
        attestations,
        evidence: vec![],
    }
}
