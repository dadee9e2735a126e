//! The authenticated state: a Jellyfish Merkle Tree over every state entry.
//!
//! We use the `jmt` crate (a 16-ary sparse Merkle tree over SHA-256, as in Diem/Aptos, maintained
//! by Penumbra and Sovereign): it is versioned (version = block height), so the state at any
//! stored height can be read and proven, and its proofs show both *inclusion* of a value and
//! *absence* of a key against the root in a block header, which is what a light client needs.
//! Writing our own sparse Merkle tree would have bought nothing over it.
//!
//! Keys: an entry's tree key is `tagged_hash("RustChain/state-key", namespace || key)`; accounts
//! use namespace `0x01` and the 20-byte address. Values are borsh-encoded. The state root in a
//! header is the JMT root hash at that block's height.
//!
//! Nodes and values are read from RocksDB (`state_nodes`, `state_values`) and written through the
//! block's single `WriteBatch`. Stale nodes are not pruned yet, so the store keeps the state of
//! every height.

use std::collections::BTreeMap;

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{KeyHash, OwnedValue, Sha256Jmt, Version};
use rustchain_primitives::{codec, Account, Address, Hash, Tag, TaggedHasher};

use crate::store::{Store, StoreError};

/// Namespace byte of account entries.
const ACCOUNT_NAMESPACE: u8 = 0x01;

/// The tree key of an account.
pub fn account_key(address: &Address) -> KeyHash {
    let mut h = TaggedHasher::new(Tag::StateKey);
    h.update(&[ACCOUNT_NAMESPACE]).update(&address.0);
    KeyHash(h.finish().0)
}

/// `TreeReader` over the store.
pub(crate) struct StoreTreeReader<'a>(pub &'a Store);

impl TreeReader for StoreTreeReader<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let Some(bytes) = self.0.state_node(&codec::encode(node_key))? else {
            return Ok(None);
        };
        Ok(Some(codec::decode(&bytes, usize::MAX).map_err(|e| {
            StoreError::Corrupt {
                table: crate::tables::STATE_NODES,
                detail: e.to_string(),
            }
        })?))
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self.0.state_value(&key_hash.0, max_version)?)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only used by jmt's snapshot-restore, which RustChain does not use.
        anyhow::bail!("state snapshot restore is not supported")
    }
}

/// Computes the new root after applying `changed` accounts at `version` on top of `version - 1`
/// (or an empty tree for version 0). Nothing is written; the returned batch is.
pub fn compute_update(
    store: &Store,
    version: Version,
    changed: &BTreeMap<Address, Account>,
) -> Result<(Hash, TreeUpdateBatch), StoreError> {
    let reader = StoreTreeReader(store);
    let tree = Sha256Jmt::new(&reader);
    let values = changed
        .iter()
        .map(|(address, account)| (account_key(address), Some(codec::encode(account))));
    let (root, update) = tree
        .put_value_set(values, version)
        .map_err(|e| StoreError::Tree(e.to_string()))?;
    Ok((Hash(root.0), update))
}

/// Reads an account at `version` (absent accounts read as empty).
pub fn account_at(
    store: &Store,
    address: &Address,
    version: Version,
) -> Result<Account, StoreError> {
    match store.state_value(&account_key(address).0, version)? {
        None => Ok(Account::default()),
        Some(bytes) => codec::decode(&bytes, 64).map_err(|e| StoreError::Corrupt {
            table: crate::tables::STATE_VALUES,
            detail: e.to_string(),
        }),
    }
}

/// The state root at `version`.
pub fn root_at(store: &Store, version: Version) -> Result<Hash, StoreError> {
    let reader = StoreTreeReader(store);
    let root = Sha256Jmt::new(&reader)
        .get_root_hash(version)
        .map_err(|e| StoreError::Tree(e.to_string()))?;
    Ok(Hash(root.0))
}
