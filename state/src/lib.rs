//! RustChain state: transaction execution, the authenticated state tree and RocksDB storage.
//!
//! - [`rules`]: when a transaction may be included in a block (shared with the mempool).
//! - [`execution`]: deterministic execution of a block's transactions over an account view.
//! - [`tree`]: the authenticated state, a Jellyfish Merkle Tree (the `jmt` crate) whose version
//!   is the block height; it proves both inclusion and absence of an account.
//! - [`store`]: RocksDB with one column family per typed table; every block is committed in one
//!   synced `WriteBatch`.
//! - [`validators`]: validator records and the jail rules applied by evidence.
//! - [`bounty`]: the bounty board's escrow, claims, approvals, payouts and claim expiry.
//! - [`rip200`]: miner enrollment, per-epoch attestation records and the epoch settlement.
//! - [`chain`]: the chain state a node runs: genesis initialisation, block execution against the
//!   head, commit, rollback to a fork point, and finalization.

pub mod bounty;
pub mod chain;
pub mod execution;
pub mod rip200;
pub mod rules;
pub mod store;
pub mod tables;
pub mod tree;
pub mod validators;

pub use chain::{
    BlockContext, BuiltBlock, Chain, ChainError, ChainHead, ExecutedBlock, PreparedCommit,
};
pub use execution::{
    check_multisig_call, execute_block, execute_transactions, precheck_transaction,
    BlockAttestations, BlockExecutionError, BlockExecutor, EvidenceRules, ExecutionOutput,
    StateReader,
};
pub use rules::{check_includable, check_stateless, TxInvalid, TxRules};
pub use store::{Store, StoreError, TxLocation};
pub use validators::{EvidenceInvalid, ValidatorRecord};
