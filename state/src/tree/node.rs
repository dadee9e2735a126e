//! The stored form of the state tree's nodes and node keys, and their hashes.
//!
//! The tree is read by the `jmt` crate (proofs, roots at a height) and written by
//! [`super::update`], so both must agree byte for byte. These types mirror jmt 0.12's borsh
//! layouts, field for field:
//!
//! - node key: `version: u64`, then the nibble path as `num_nibbles: u64` and its bytes
//!   (`u32` length, two nibbles per byte, high nibble first, the low half of the last byte zero
//!   when the count is odd);
//! - node: an enum tag (`0` null, `1` internal, `2` leaf);
//! - internal node: its 16 child slots (`Option<Child>` each), the number of children, and the
//!   number of leaves below it;
//! - child: its hash, the version it was written at, and its type (`0` leaf, `1` internal with
//!   its leaf count);
//! - leaf: the 32-byte key hash and the SHA-256 of the value.
//!
//! Hashes (SHA-256, as jmt's `Sha256Jmt`):
//!
//! - leaf: `H("JMT::LeafNode" || key hash || value hash)`;
//! - internal node: the root of a binary tree over its 16 slots, where a range with no child is
//!   the placeholder `"SPARSE_MERKLE_PLACEHOLDER_HASH__"`, a range holding exactly one child that
//!   is a leaf (or a single slot) is that child's hash, and anything else is
//!   `H("JMT::IntrnalNode" || left || right)`.
//!
//! `update::tests` checks these against jmt itself: the same roots, and byte-identical nodes.

use borsh::{BorshDeserialize, BorshSerialize};
use sha2::{Digest, Sha256};

/// The hash of an empty tree or range.
pub(crate) const PLACEHOLDER: [u8; 32] = *b"SPARSE_MERKLE_PLACEHOLDER_HASH__";
const LEAF_DOMAIN: &[u8] = b"JMT::LeafNode";
const INTERNAL_DOMAIN: &[u8] = b"JMT::IntrnalNode";

/// A tree node as stored.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub(crate) enum StoredNode {
    /// The root of an empty tree.
    Null,
    /// A node with 1 to 16 children.
    Internal(InternalNode),
    /// One entry.
    Leaf(LeafNode),
}

/// An internal node: up to 16 children, one per nibble.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub(crate) struct InternalNode {
    pub(crate) children: Box<[Option<Child>; 16]>,
    num_children: u64,
    leaf_count: u64,
}

/// A reference from an internal node to a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub(crate) struct Child {
    /// The child's hash.
    pub(crate) hash: [u8; 32],
    /// The version (height) the child node was written at: with the parent's path and the
    /// child's nibble, its node key.
    pub(crate) version: u64,
    pub(crate) node_type: NodeType,
}

/// What a child is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub(crate) enum NodeType {
    Leaf,
    Internal { leaf_count: u64 },
}

/// A leaf: one entry's key hash and value hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub(crate) struct LeafNode {
    pub(crate) key_hash: [u8; 32],
    pub(crate) value_hash: [u8; 32],
}

impl Child {
    fn is_leaf(&self) -> bool {
        matches!(self.node_type, NodeType::Leaf)
    }

    fn leaf_count(&self) -> u64 {
        match self.node_type {
            NodeType::Leaf => 1,
            NodeType::Internal { leaf_count } => leaf_count,
        }
    }
}

impl LeafNode {
    /// The leaf's hash.
    pub(crate) fn hash(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(LEAF_DOMAIN)
            .chain_update(self.key_hash)
            .chain_update(self.value_hash)
            .finalize()
            .into()
    }

    /// As the child of a node written at `version`.
    pub(crate) fn as_child(&self, version: u64) -> Child {
        Child {
            hash: self.hash(),
            version,
            node_type: NodeType::Leaf,
        }
    }
}

impl InternalNode {
    /// A node over `children` (at least one; a single child is never a leaf, which would have
    /// been placed in this node's position instead).
    pub(crate) fn new(children: Box<[Option<Child>; 16]>) -> InternalNode {
        let (mut num_children, mut leaf_count) = (0, 0);
        for child in children.iter().flatten() {
            num_children += 1;
            leaf_count += child.leaf_count();
        }
        InternalNode {
            children,
            num_children,
            leaf_count,
        }
    }

    /// As the child of a node written at `version`.
    pub(crate) fn as_child(&self, version: u64) -> Child {
        Child {
            hash: self.hash(),
            version,
            node_type: NodeType::Internal {
                leaf_count: self.leaf_count,
            },
        }
    }

    /// The node's hash (see the module docs).
    pub(crate) fn hash(&self) -> [u8; 32] {
        let (mut exists, mut leaves) = (0u16, 0u16);
        for (i, child) in self.children.iter().enumerate() {
            if let Some(child) = child {
                exists |= 1 << i;
                if child.is_leaf() {
                    leaves |= 1 << i;
                }
            }
        }
        self.range_hash(0, 16, exists, leaves)
    }

    fn range_hash(&self, start: u8, width: u8, exists: u16, leaves: u16) -> [u8; 32] {
        let mask = (((1u32 << width) - 1) << start) as u16;
        let (exists, leaves) = (exists & mask, leaves & mask);
        if exists == 0 {
            return PLACEHOLDER;
        }
        if width == 1 || (exists.count_ones() == 1 && leaves != 0) {
            let only = exists.trailing_zeros() as usize;
            return self.children[only].map_or(PLACEHOLDER, |c| c.hash);
        }
        let half = width / 2;
        let left = self.range_hash(start, half, exists, leaves);
        let right = self.range_hash(start + half, half, exists, leaves);
        Sha256::new()
            .chain_update(INTERNAL_DOMAIN)
            .chain_update(left)
            .chain_update(right)
            .finalize()
            .into()
    }
}

/// The nibble of `key` at `depth` (0 = the high half of the first byte).
pub(crate) fn nibble(key: &[u8; 32], depth: usize) -> usize {
    let byte = key[depth / 2];
    usize::from(if depth.is_multiple_of(2) {
        byte >> 4
    } else {
        byte & 0x0f
    })
}

/// The stored key of the node written at `version` whose path is the first `depth` nibbles of
/// `key`.
pub(crate) fn node_key(version: u64, key: &[u8; 32], depth: usize) -> Vec<u8> {
    let len = depth.div_ceil(2);
    let mut out = Vec::with_capacity(20 + len);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(depth as u64).to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&key[..len]);
    if !depth.is_multiple_of(2) {
        if let Some(last) = out.last_mut() {
            *last &= 0xf0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use jmt::storage::NodeKey;
    use rustchain_primitives::codec;

    use super::*;

    /// jmt decodes our node keys to the version and nibble path we meant (and re-encodes them
    /// to the same bytes), at every depth.
    #[test]
    fn node_keys_decode_in_jmt() {
        let key: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(5));
        for depth in 0..=64 {
            let bytes = node_key(9, &key, depth);
            let decoded: NodeKey = codec::decode(&bytes, 100).unwrap();
            assert_eq!(decoded.version(), 9);
            let path = decoded.nibble_path();
            assert_eq!(path.num_nibbles(), depth);
            for d in 0..depth {
                assert_eq!(u8::from(path.get_nibble(d)) as usize, nibble(&key, d));
            }
            assert_eq!(codec::encode(&decoded), bytes, "depth {depth}");
        }
    }
}
