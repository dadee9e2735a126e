//! The chain a node runs: the store, the genesis, and the current head.
//!
//! [`Chain::open`] initialises a new store with the genesis block (in one batch) or checks that an
//! existing store belongs to the same genesis and restores its head. Blocks extend the head in two
//! steps: [`Chain::execute`] runs transactions on the head state and computes the new state and
//! receipts roots without writing anything; [`Chain::commit`] then writes the block and all its
//! effects in one synced batch and only afterwards moves the in-memory head. Commits are
//! serialised, and a commit whose parent is no longer the head is refused.

use std::collections::BTreeMap;
use std::path::Path;

use jmt::storage::TreeUpdateBatch;
use parking_lot::{Mutex, RwLock};
use rustchain_genesis::Genesis;
use rustchain_primitives::block::HEADER_VERSION;
use rustchain_primitives::merkle::merkle_root;
use rustchain_primitives::{
    Account, Address, Block, BlockHeader, Hash, PublicKey, Receipt, Signature, Transaction,
};

use crate::execution::{execute_transactions, AccountReader, BlockExecutionError, BlockExecutor};
use crate::rules::{TxInvalid, TxRules};
use crate::store::{Store, StoreError};
use crate::tree;

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
    update: TreeUpdateBatch,
}

/// The contents of a block being built, from [`Chain::build`].
#[derive(Debug)]
pub struct BuiltBlock {
    /// Transactions included, in order.
    pub transactions: Vec<Transaction>,
    /// Their effects.
    pub executed: ExecutedBlock,
    /// Candidates left out, with the rule each broke.
    pub left_out: Vec<(Transaction, TxInvalid)>,
}

/// Account reads at a fixed version.
struct StateAt<'a> {
    store: &'a Store,
    version: u64,
}

impl AccountReader for StateAt<'_> {
    fn account(&self, address: &Address) -> Result<Account, StoreError> {
        tree::account_at(self.store, address, self.version)
    }
}

/// The node's chain.
#[derive(Debug)]
pub struct Chain {
    store: Store,
    genesis: Genesis,
    genesis_hash: Hash,
    rules: TxRules,
    head: RwLock<ChainHead>,
    commit_lock: Mutex<()>,
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
                batch.put_tree_update(&executed.update)?;
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
        Ok(Chain {
            store,
            genesis,
            genesis_hash,
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
        let (state_root, update) = tree::compute_update(store, 0, &changed)?;
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

    /// An account at the head, or at `height` of the canonical chain.
    pub fn account(&self, address: &Address, height: Option<u64>) -> Result<Account, StoreError> {
        let version = height.unwrap_or_else(|| self.head.read().height);
        tree::account_at(&self.store, address, version)
    }

    /// An [`AccountReader`] at the current head.
    pub fn head_state(&self) -> impl AccountReader + '_ {
        StateAt {
            store: &self.store,
            version: self.head.read().height,
        }
    }

    /// Executes `txs` on the head state with fees to `proposer`; writes nothing.
    pub fn execute(
        &self,
        proposer: &PublicKey,
        txs: &[Transaction],
    ) -> Result<ExecutedBlock, ChainError> {
        let head = self.head();
        let reader = StateAt {
            store: &self.store,
            version: head.height,
        };
        let output = execute_transactions(&reader, &self.rules, proposer, txs)?;
        self.finish_execution(&head, output)
    }

    /// Builds a block's contents from `candidates` on the head state: each candidate that breaks
    /// an inclusion rule is left out (and returned with the reason) instead of invalidating the
    /// block. Returns the included transactions and their effects; writes nothing.
    pub fn build(
        &self,
        proposer: &PublicKey,
        candidates: impl IntoIterator<Item = Transaction>,
    ) -> Result<BuiltBlock, ChainError> {
        let head = self.head();
        let reader = StateAt {
            store: &self.store,
            version: head.height,
        };
        let mut executor = BlockExecutor::new(&reader, &self.rules, proposer);
        let mut transactions = Vec::new();
        let mut left_out = Vec::new();
        for tx in candidates {
            match executor.apply(&tx)? {
                Ok(()) => transactions.push(tx),
                Err(reason) => left_out.push((tx, reason)),
            }
        }
        let executed = self.finish_execution(&head, executor.finish())?;
        Ok(BuiltBlock {
            transactions,
            executed,
            left_out,
        })
    }

    fn finish_execution(
        &self,
        head: &ChainHead,
        output: crate::execution::ExecutionOutput,
    ) -> Result<ExecutedBlock, ChainError> {
        let height = head.height + 1;
        let (state_root, update) = tree::compute_update(&self.store, height, &output.changed)?;
        let receipt_hashes: Vec<Hash> = output.receipts.iter().map(Receipt::hash).collect();
        Ok(ExecutedBlock {
            height,
            parent_hash: head.hash,
            state_root,
            receipts_root: merkle_root(&receipt_hashes),
            receipts: output.receipts,
            changed: output.changed,
            update,
        })
    }

    /// Writes `block` with its effects in one synced batch and moves the head to it.
    /// `finalized` also moves the finalized pointer to it.
    pub fn commit(
        &self,
        block: &Block,
        executed: ExecutedBlock,
        finalized: bool,
    ) -> Result<ChainHead, ChainError> {
        let _guard = self.commit_lock.lock();
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
        batch.put_tree_update(&executed.update)?;
        batch.set_head(header.height, hash)?;
        let (finalized_height, finalized_hash) = if finalized {
            batch.set_finalized(header.height, hash)?;
            (header.height, hash)
        } else {
            (head.finalized_height, head.finalized_hash)
        };
        batch.commit()?;
        let new_head = ChainHead {
            height: header.height,
            hash,
            slot: header.slot,
            timestamp_ms: header.timestamp_ms,
            state_root: header.state_root,
            finalized_height,
            finalized_hash,
        };
        *self.head.write() = new_head.clone();
        Ok(new_head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustchain_genesis::{dev_account_key, dev_genesis, dev_validator_key};
    use rustchain_primitives::{Amount, TxBody, TxPayload};

    fn block_on_head(chain: &Chain, txs: Vec<Transaction>) -> (Block, ExecutedBlock) {
        let proposer = dev_validator_key(0).unwrap();
        let executed = chain.execute(&proposer.public_key(), &txs).unwrap();
        let head = chain.head();
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
        chain.commit(&block, executed, true).unwrap();
        // An empty block after it keeps the same state root.
        let (empty, executed) = block_on_head(&chain, vec![]);
        let root_before = chain.head().state_root;
        assert_eq!(executed.state_root, root_before);
        chain.commit(&empty, executed, true).unwrap();
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
    fn commit_refuses_stale_parent_and_bad_roots() {
        let dir = tempfile::tempdir().unwrap();
        let chain = Chain::open(dir.path(), dev_genesis().validate().unwrap()).unwrap();
        let (block, executed) = block_on_head(&chain, vec![]);
        let (mut bad, executed_again) = block_on_head(&chain, vec![]);
        bad.header.state_root = Hash([9; 32]);
        assert!(matches!(
            chain.commit(&bad, executed_again, true),
            Err(ChainError::RootMismatch { root: "state", .. })
        ));
        chain.commit(&block, executed, true).unwrap();
        let (_, stale) = (0, chain.execute(&PublicKey::default(), &[]).unwrap());
        let old = block.clone();
        assert!(matches!(
            chain.commit(&old, stale, true),
            Err(ChainError::NotOnHead { .. })
        ));
    }
}
