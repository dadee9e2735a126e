//! One block's update of the state tree: the new nodes and the root.
//!
//! # Rules (what the result must be)
//!
//! The tree after a block is a function of the set of entries alone (a Jellyfish Merkle Tree:
//! 16-ary, keyed by the 32-byte key hash, nibble by nibble). Each entry is a leaf placed at the
//! shallowest depth where its key prefix is unique; internal nodes sit on every shared prefix.
//! Writing version `v` on top of `v - 1`:
//!
//! - every node on the path from the root to a written entry is new at version `v` (its node
//!   key is `(v, path)`); nodes off those paths keep their old version and are only referenced;
//! - a written entry whose key has a leaf: the leaf is replaced (same key) or, when the keys
//!   differ, both move below a new internal node at the first nibble where they differ; an
//!   existing leaf that moves is written again at version `v`;
//! - entries are never deleted (RustChain has no state deletion), so nodes never merge back.
//!
//! This is exactly what jmt's `batch_put_value_sets` produces, node for node; jmt still reads
//! the tree (proofs, roots at a height). Why not call jmt for the update too: its batch path
//! keeps every node in hash maps and ordered maps (a tree cache with a frozen copy) and was
//! about three quarters of a 10,000-transfer block's execution. Here each touched node is read
//! once, built once and hashed once, straight into the list of writes, and the 16 subtrees
//! below the root are built in parallel.
//!
//! # Why it is safe
//!
//! Consensus depends on the root: `tests` runs random blocks through both this and jmt (key
//! sets with long shared prefixes, overwrites, single-entry trees) and requires equal roots and
//! byte-identical node writes at every version, and every entry to prove against the root with
//! jmt's proof code.

use rayon::prelude::*;
use rustchain_primitives::codec;
use sha2::{Digest, Sha256};

use super::node::{self, Child, InternalNode, LeafNode, StoredNode};
use crate::store::{Store, StoreError};
use crate::tables;

/// The writes of one version of the tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeUpdate {
    /// New nodes: stored node key and node bytes.
    pub(crate) nodes: Vec<(Vec<u8>, Vec<u8>)>,
    /// Entries written: key hash and value.
    pub(crate) values: Vec<([u8; 32], Vec<u8>)>,
}

impl TreeUpdate {
    /// The writes of a jmt update (which never deletes here: a deleted entry would read as an
    /// empty value).
    pub(crate) fn from_jmt(batch: &jmt::storage::TreeUpdateBatch) -> TreeUpdate {
        TreeUpdate {
            nodes: batch
                .node_batch
                .nodes()
                .iter()
                .map(|(key, node)| (codec::encode(key), codec::encode(node)))
                .collect(),
            values: batch
                .node_batch
                .values()
                .iter()
                .map(|((_, key), value)| (key.0, value.clone().unwrap_or_default()))
                .collect(),
        }
    }
}

/// An entry to write: key hash, value hash.
type Entry = ([u8; 32], [u8; 32]);

/// Writes `values` (at least one) at `version` on top of the tree at `version - 1` (an empty
/// tree for version 0). Returns the new root hash and the writes. Nothing is written to
/// `store`; it is only read.
pub(crate) fn write_version(
    store: &Store,
    version: u64,
    mut values: Vec<([u8; 32], Vec<u8>)>,
) -> Result<([u8; 32], TreeUpdate), StoreError> {
    if values.is_empty() {
        return Err(StoreError::Tree(
            "a tree version needs at least one entry written".into(),
        ));
    }
    // A key written twice keeps its last value (as jmt's ordered map would): a stable sort keeps
    // them in order, and the reversed dedup keeps the last.
    values.sort_by_key(|(key, _)| *key);
    values.reverse();
    values.dedup_by(|later, earlier| later.0 == earlier.0);
    values.reverse();
    let entries: Vec<Entry> = values
        .iter()
        .map(|(key, value)| (*key, Sha256::digest(value).into()))
        .collect();
    let writer = Writer { store, version };
    let mut nodes = Vec::new();
    let root = match version.checked_sub(1) {
        None => writer.create(0, &entries, &mut nodes),
        Some(parent) => writer.update_root(parent, &entries, &mut nodes)?,
    };
    Ok((root.hash, TreeUpdate { nodes, values }))
}

struct Writer<'a> {
    store: &'a Store,
    version: u64,
}

/// Splits `entries` (sorted, all sharing the first `depth` nibbles) by their nibble at `depth`.
fn groups(entries: &[Entry], depth: usize) -> impl Iterator<Item = (usize, &[Entry])> {
    let mut rest = entries;
    std::iter::from_fn(move || {
        let first = rest.first()?;
        let n = node::nibble(&first.0, depth);
        let len = rest
            .iter()
            .position(|e| node::nibble(&e.0, depth) != n)
            .unwrap_or(rest.len());
        let (group, tail) = rest.split_at(len);
        rest = tail;
        Some((n, group))
    })
}

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        table: tables::STATE_NODES,
        detail,
    }
}

impl Writer<'_> {
    /// Reads the node written at `version` whose path is `key`'s first `depth` nibbles.
    fn read(&self, version: u64, key: &[u8; 32], depth: usize) -> Result<StoredNode, StoreError> {
        let node_key = node::node_key(version, key, depth);
        let bytes = self.store.state_node(&node_key)?.ok_or_else(|| {
            corrupt(format!(
                "missing tree node at version {version}, depth {depth}"
            ))
        })?;
        codec::decode(&bytes, 1 << 12).map_err(|e| corrupt(format!("tree node: {e}")))
    }

    fn emit(
        &self,
        key: &[u8; 32],
        depth: usize,
        node: &StoredNode,
        out: &mut Vec<(Vec<u8>, Vec<u8>)>,
    ) {
        out.push((
            node::node_key(self.version, key, depth),
            codec::encode(node),
        ));
    }

    fn emit_leaf(&self, leaf: LeafNode, depth: usize, out: &mut Vec<(Vec<u8>, Vec<u8>)>) -> Child {
        self.emit(&leaf.key_hash, depth, &StoredNode::Leaf(leaf), out);
        leaf.as_child(self.version)
    }

    fn emit_internal(
        &self,
        key: &[u8; 32],
        depth: usize,
        children: Box<[Option<Child>; 16]>,
        out: &mut Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Child {
        let internal = InternalNode::new(children);
        let child = internal.as_child(self.version);
        self.emit(key, depth, &StoredNode::Internal(internal), out);
        child
    }

    /// The root: the tree at `parent`'s root node, with `entries` written; the subtrees below
    /// the root are built in parallel.
    fn update_root(
        &self,
        parent: u64,
        entries: &[Entry],
        out: &mut Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<Child, StoreError> {
        let root_key = entries[0].0;
        match self.read(parent, &root_key, 0)? {
            StoredNode::Internal(internal) => {
                let groups: Vec<(usize, &[Entry])> = groups(entries, 0).collect();
                let built = groups
                    .par_iter()
                    .map(|(n, group)| {
                        let mut nodes = Vec::new();
                        let child = match internal.children[*n] {
                            Some(existing) => {
                                self.update(existing.version, 1, group, &mut nodes)?
                            }
                            None => self.create(1, group, &mut nodes),
                        };
                        Ok((*n, child, nodes))
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                let mut children = internal.children;
                for (n, child, nodes) in built {
                    children[n] = Some(child);
                    out.extend(nodes);
                }
                Ok(self.emit_internal(&root_key, 0, children, out))
            }
            StoredNode::Leaf(leaf) => Ok(self.create_with_leaf(0, leaf, entries, out)),
            StoredNode::Null => Ok(self.create(0, entries, out)),
        }
    }

    /// The subtree at the node written at `existing` on `entries`' common path of `depth`
    /// nibbles, with `entries` written.
    fn update(
        &self,
        existing: u64,
        depth: usize,
        entries: &[Entry],
        out: &mut Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<Child, StoreError> {
        let key = entries[0].0;
        match self.read(existing, &key, depth)? {
            StoredNode::Internal(internal) => {
                let mut children = internal.children;
                for (n, group) in groups(entries, depth) {
                    let child = match children[n] {
                        Some(existing) => self.update(existing.version, depth + 1, group, out)?,
                        None => self.create(depth + 1, group, out),
                    };
                    children[n] = Some(child);
                }
                Ok(self.emit_internal(&key, depth, children, out))
            }
            StoredNode::Leaf(leaf) => Ok(self.create_with_leaf(depth, leaf, entries, out)),
            StoredNode::Null => Err(corrupt(format!(
                "null tree node below the root, at depth {depth}"
            ))),
        }
    }

    /// A new subtree holding only `entries`.
    fn create(&self, depth: usize, entries: &[Entry], out: &mut Vec<(Vec<u8>, Vec<u8>)>) -> Child {
        if let [(key_hash, value_hash)] = entries {
            let leaf = LeafNode {
                key_hash: *key_hash,
                value_hash: *value_hash,
            };
            return self.emit_leaf(leaf, depth, out);
        }
        let mut children = Box::new([None; 16]);
        for (n, group) in groups(entries, depth) {
            children[n] = Some(self.create(depth + 1, group, out));
        }
        self.emit_internal(&entries[0].0, depth, children, out)
    }

    /// A new subtree where the leaf `existing` stood, holding it and `entries` (an entry with
    /// its key replaces it).
    fn create_with_leaf(
        &self,
        depth: usize,
        existing: LeafNode,
        entries: &[Entry],
        out: &mut Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Child {
        if let [(key_hash, value_hash)] = entries {
            if *key_hash == existing.key_hash {
                let leaf = LeafNode {
                    key_hash: *key_hash,
                    value_hash: *value_hash,
                };
                return self.emit_leaf(leaf, depth, out);
            }
        }
        let existing_nibble = node::nibble(&existing.key_hash, depth);
        let mut children = Box::new([None; 16]);
        let mut existing_placed = false;
        for (n, group) in groups(entries, depth) {
            children[n] = Some(if n == existing_nibble {
                existing_placed = true;
                self.create_with_leaf(depth + 1, existing, group, out)
            } else {
                self.create(depth + 1, group, out)
            });
        }
        if !existing_placed {
            // The old leaf moves one level down, as a node of this version.
            children[existing_nibble] = Some(self.emit_leaf(existing, depth + 1, out));
        }
        self.emit_internal(&existing.key_hash, depth, children, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::StoreTreeReader;
    use jmt::{KeyHash, Sha256Jmt};
    use proptest::prelude::*;

    /// 64 keys with long shared prefixes, so that leaves split deep in the tree.
    fn key(i: u8) -> [u8; 32] {
        let mut key = [0u8; 32];
        key[0] = (i % 4) * 0x11;
        key[1] = (i / 4) % 2;
        key[17] = (i / 8) % 2;
        key[31] = i / 16;
        key
    }

    fn write(store: &Store, version: u64, update: &TreeUpdate) {
        let mut batch = store.batch();
        batch.put_tree_update(version, update).unwrap();
        batch.commit().unwrap();
    }

    fn sorted(mut nodes: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<(Vec<u8>, Vec<u8>)> {
        nodes.sort();
        nodes
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Block after block, the same root and byte-identical node writes as jmt's batch
        /// insertion, whichever keys split, move or are overwritten; every key then proves
        /// (present or absent) against the root with jmt's proof code.
        #[test]
        fn same_tree_as_jmt(
            blocks in proptest::collection::vec(
                proptest::collection::vec((0u8..64, proptest::collection::vec(any::<u8>(), 0..6)), 1..24),
                1..8,
            )
        ) {
            let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let (ours, reference) = (Store::open(a.path()).unwrap(), Store::open(b.path()).unwrap());
            let mut latest = std::collections::BTreeMap::new();
            for (version, block) in blocks.iter().enumerate() {
                let version = version as u64;
                let values: Vec<([u8; 32], Vec<u8>)> =
                    block.iter().map(|(i, v)| (key(*i), v.clone())).collect();
                let (root, update) = write_version(&ours, version, values.clone()).unwrap();
                let reader = StoreTreeReader(&reference);
                let (roots, batch) = Sha256Jmt::new(&reader)
                    .batch_put_value_sets(
                        vec![values.iter().map(|(k, v)| (KeyHash(*k), v.clone())).collect()],
                        None,
                        version,
                    )
                    .unwrap();
                let expected = TreeUpdate::from_jmt(&batch);
                prop_assert_eq!(root, roots[0].0);
                prop_assert_eq!(sorted(update.nodes.clone()), sorted(expected.nodes));
                write(&ours, version, &update);
                write(&reference, version, &TreeUpdate::from_jmt(&batch));
                latest.extend(values);
                let reader = StoreTreeReader(&ours);
                let tree = Sha256Jmt::new(&reader);
                for i in 0u8..64 {
                    let k = KeyHash(key(i));
                    let (value, proof) = tree.get_with_proof(k, version).unwrap();
                    let want = latest.get(&key(i)).cloned();
                    prop_assert_eq!(&value, &want);
                    prop_assert!(proof.verify(jmt::RootHash(root), k, want).is_ok());
                }
            }
        }
    }

    #[test]
    fn an_empty_version_is_refused_and_a_missing_parent_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(write_version(&store, 0, vec![]).is_err());
        let err = write_version(&store, 5, vec![([1; 32], vec![1])]).unwrap_err();
        assert!(err.to_string().contains("missing tree node"), "{err}");
    }
}
