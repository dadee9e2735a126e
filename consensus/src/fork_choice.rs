//! Fork choice: which known block is the head.
//!
//! # Rule
//!
//! Among the known blocks that descend from (or are) the latest justified block `J`, and that
//! are not known to be invalid, the head is the one with the greatest height; among equal
//! heights, the lowest hash. If `J` itself is not known locally (its votes arrived before the
//! block), the latest finalized block stands in for it.
//!
//! This is "the longest chain that extends the latest finalized block", refined to start from the
//! latest *justified* block: an honest validator's next vote must use a source at least as high as
//! its previous ones (otherwise it could sign a surround vote), so the head must extend the
//! block it will use as source. Since `J` descends from the finalized block, the head always
//! extends the finalized block and finalized blocks are never reverted.
//!
//! The tree holds only blocks that descend from the finalized block; older forks are pruned when
//! finality advances. A block's validity is `Unknown` until the node has executed it on its
//! parent's state: the head may be an unexecuted block, in which case the node executes the path
//! to it and marks the first failing block `Invalid` (with all its descendants), then asks again.

use std::collections::{BTreeMap, BTreeSet};

use rustchain_primitives::{Checkpoint, Hash};

/// What is known about a block's validity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Header checked, not executed yet.
    Unknown,
    /// Executed on its parent's state; roots matched.
    Valid,
    /// Failed a rule; never chosen again, nor any descendant.
    Invalid,
}

#[derive(Debug, Clone)]
struct Node {
    parent: Hash,
    height: u64,
    validity: Validity,
    children: BTreeSet<Hash>,
}

/// Why a block could not be added to the tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForkChoiceError {
    /// The parent is not in the tree (unknown, or on a pruned fork).
    #[error("parent {0} is not known")]
    UnknownParent(Hash),
    /// The parent is invalid, so the block is too.
    #[error("parent {0} is invalid")]
    InvalidParent(Hash),
    /// The height is not the parent's plus one.
    #[error("height {height} does not follow the parent's height {parent_height}")]
    BadHeight {
        /// block height
        height: u64,
        /// parent height
        parent_height: u64,
    },
}

/// The block tree rooted at the finalized block.
#[derive(Debug, Clone)]
pub struct ForkChoice {
    nodes: BTreeMap<Hash, Node>,
    finalized: Checkpoint,
}

impl ForkChoice {
    /// A tree holding only the finalized block (which is valid).
    pub fn new(finalized: Checkpoint) -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            finalized.hash,
            Node {
                parent: Hash::default(),
                height: finalized.height,
                validity: Validity::Valid,
                children: BTreeSet::new(),
            },
        );
        ForkChoice { nodes, finalized }
    }

    /// The finalized root of the tree.
    pub fn finalized(&self) -> Checkpoint {
        self.finalized
    }

    /// Is the block in the tree?
    pub fn contains(&self, hash: &Hash) -> bool {
        self.nodes.contains_key(hash)
    }

    /// Number of blocks in the tree.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Only the finalized block?
    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }

    /// The block's validity, if known.
    pub fn validity(&self, hash: &Hash) -> Option<Validity> {
        self.nodes.get(hash).map(|n| n.validity)
    }

    /// The block's height and parent, if known.
    pub fn parent_of(&self, hash: &Hash) -> Option<Checkpoint> {
        let node = self.nodes.get(hash)?;
        let parent = self.nodes.get(&node.parent)?;
        Some(Checkpoint {
            height: parent.height,
            hash: node.parent,
        })
    }

    /// Adds a block whose header passed the header rules. Adding a known block is a no-op.
    pub fn insert(&mut self, hash: Hash, parent: Hash, height: u64) -> Result<(), ForkChoiceError> {
        if self.nodes.contains_key(&hash) {
            return Ok(());
        }
        let Some(p) = self.nodes.get_mut(&parent) else {
            return Err(ForkChoiceError::UnknownParent(parent));
        };
        if p.validity == Validity::Invalid {
            return Err(ForkChoiceError::InvalidParent(parent));
        }
        if height != p.height.saturating_add(1) {
            return Err(ForkChoiceError::BadHeight {
                height,
                parent_height: p.height,
            });
        }
        p.children.insert(hash);
        self.nodes.insert(
            hash,
            Node {
                parent,
                height,
                validity: Validity::Unknown,
                children: BTreeSet::new(),
            },
        );
        Ok(())
    }

    /// Marks a block executed and valid.
    pub fn mark_valid(&mut self, hash: &Hash) {
        if let Some(n) = self.nodes.get_mut(hash) {
            if n.validity == Validity::Unknown {
                n.validity = Validity::Valid;
            }
        }
    }

    /// Marks a block and all its descendants invalid.
    pub fn mark_invalid(&mut self, hash: &Hash) {
        let mut stack = vec![*hash];
        while let Some(h) = stack.pop() {
            if h == self.finalized.hash {
                continue; // the finalized block is valid by definition
            }
            if let Some(n) = self.nodes.get_mut(&h) {
                n.validity = Validity::Invalid;
                stack.extend(n.children.iter().copied());
            }
        }
    }

    /// Is `ancestor` an ancestor of (or equal to) `descendant`?
    pub fn is_ancestor(&self, ancestor: &Hash, descendant: &Hash) -> bool {
        let Some(a) = self.nodes.get(ancestor) else {
            return false;
        };
        let mut cursor = *descendant;
        while let Some(n) = self.nodes.get(&cursor) {
            if cursor == *ancestor {
                return true;
            }
            if n.height <= a.height {
                return false;
            }
            cursor = n.parent;
        }
        false
    }

    /// The blocks from just after `ancestor` down to `descendant`, in order (empty if equal, `None`
    /// if `ancestor` is not an ancestor).
    pub fn path(&self, ancestor: &Hash, descendant: &Hash) -> Option<Vec<Checkpoint>> {
        let floor = self.nodes.get(ancestor)?.height;
        let mut path = Vec::new();
        let mut cursor = *descendant;
        loop {
            if cursor == *ancestor {
                path.reverse();
                return Some(path);
            }
            let n = self.nodes.get(&cursor)?;
            if n.height <= floor {
                return None;
            }
            path.push(Checkpoint {
                height: n.height,
                hash: cursor,
            });
            cursor = n.parent;
        }
    }

    /// The head (see the module docs) given the latest justified block.
    pub fn head(&self, justified: &Checkpoint) -> Checkpoint {
        let start = if self.nodes.contains_key(&justified.hash)
            && self.is_ancestor(&self.finalized.hash, &justified.hash)
            && self.validity(&justified.hash) != Some(Validity::Invalid)
        {
            *justified
        } else {
            self.finalized
        };
        let mut best = start;
        let mut stack = vec![start.hash];
        while let Some(h) = stack.pop() {
            let Some(n) = self.nodes.get(&h) else {
                continue;
            };
            if n.validity == Validity::Invalid {
                continue;
            }
            if n.height > best.height || (n.height == best.height && h < best.hash) {
                best = Checkpoint {
                    height: n.height,
                    hash: h,
                };
            }
            stack.extend(n.children.iter().copied());
        }
        best
    }

    /// Moves the root to `finalized` (which must be in the tree) and drops every block that does
    /// not descend from it. Returns the dropped hashes.
    pub fn finalize(&mut self, finalized: Checkpoint) -> Vec<Hash> {
        if !self.nodes.contains_key(&finalized.hash) || finalized.height <= self.finalized.height {
            return Vec::new();
        }
        let mut keep = BTreeSet::new();
        let mut stack = vec![finalized.hash];
        while let Some(h) = stack.pop() {
            if let Some(n) = self.nodes.get(&h) {
                keep.insert(h);
                stack.extend(n.children.iter().copied());
            }
        }
        let dropped: Vec<Hash> = self
            .nodes
            .keys()
            .filter(|h| !keep.contains(h))
            .copied()
            .collect();
        for h in &dropped {
            self.nodes.remove(h);
        }
        if let Some(root) = self.nodes.get_mut(&finalized.hash) {
            root.validity = Validity::Valid;
        }
        self.finalized = finalized;
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(height: u64, fork: u8) -> Hash {
        let mut b = [fork; 32];
        b[..8].copy_from_slice(&height.to_be_bytes());
        Hash(b)
    }

    fn cp(height: u64, fork: u8) -> Checkpoint {
        Checkpoint {
            height,
            hash: h(height, fork),
        }
    }

    /// genesis - 1a - 2a - 3a
    ///        \- 1b - 2b
    fn tree() -> ForkChoice {
        let mut f = ForkChoice::new(cp(0, 0));
        f.insert(h(1, 0xa), h(0, 0), 1).unwrap();
        f.insert(h(2, 0xa), h(1, 0xa), 2).unwrap();
        f.insert(h(3, 0xa), h(2, 0xa), 3).unwrap();
        f.insert(h(1, 0xb), h(0, 0), 1).unwrap();
        f.insert(h(2, 0xb), h(1, 0xb), 2).unwrap();
        f
    }

    #[test]
    fn longest_chain_wins_then_lowest_hash() {
        let mut f = tree();
        assert_eq!(f.head(&cp(0, 0)), cp(3, 0xa));
        f.insert(h(3, 0xb), h(2, 0xb), 3).unwrap();
        // Equal heights: lowest hash (0xa... < 0xb...).
        assert_eq!(f.head(&cp(0, 0)), cp(3, 0xa));
        f.insert(h(4, 0xb), h(3, 0xb), 4).unwrap();
        assert_eq!(f.head(&cp(0, 0)), cp(4, 0xb));
    }

    #[test]
    fn head_extends_the_justified_block() {
        let f = tree();
        // 2b justified: the shorter fork is the only admissible one.
        assert_eq!(f.head(&cp(2, 0xb)), cp(2, 0xb));
        // Unknown justified block: fall back to the finalized root.
        assert_eq!(f.head(&cp(7, 0xc)), cp(3, 0xa));
    }

    #[test]
    fn invalid_blocks_and_descendants_are_never_chosen() {
        let mut f = tree();
        f.mark_invalid(&h(2, 0xa));
        assert_eq!(f.validity(&h(3, 0xa)), Some(Validity::Invalid));
        assert_eq!(f.head(&cp(0, 0)), cp(2, 0xb));
        assert_eq!(
            f.insert(h(4, 0xa), h(3, 0xa), 4),
            Err(ForkChoiceError::InvalidParent(h(3, 0xa)))
        );
    }

    #[test]
    fn insert_checks_parent_and_height() {
        let mut f = tree();
        assert_eq!(
            f.insert(h(9, 1), h(8, 1), 9),
            Err(ForkChoiceError::UnknownParent(h(8, 1)))
        );
        assert!(matches!(
            f.insert(h(5, 1), h(1, 0xa), 5),
            Err(ForkChoiceError::BadHeight { .. })
        ));
    }

    #[test]
    fn finalize_prunes_other_forks_and_paths_work() {
        let mut f = tree();
        assert!(f.is_ancestor(&h(1, 0xa), &h(3, 0xa)));
        assert!(!f.is_ancestor(&h(1, 0xb), &h(3, 0xa)));
        assert_eq!(
            f.path(&h(0, 0), &h(2, 0xb)).unwrap(),
            vec![cp(1, 0xb), cp(2, 0xb)]
        );
        assert_eq!(f.path(&h(1, 0xb), &h(3, 0xa)), None);
        let dropped = f.finalize(cp(1, 0xa));
        assert_eq!(dropped.len(), 3); // genesis, 1b, 2b
        assert!(!f.contains(&h(2, 0xb)));
        assert_eq!(f.head(&cp(0, 0)), cp(3, 0xa));
        assert_eq!(
            f.insert(h(2, 0xc), h(1, 0xb), 2),
            Err(ForkChoiceError::UnknownParent(h(1, 0xb)))
        );
    }

    proptest! {
        /// Whatever blocks arrive, the head descends from the finalized root, is not invalid, and
        /// no known valid block descending from the justified block is higher.
        #[test]
        fn head_is_a_highest_admissible_descendant(
            parents in proptest::collection::vec((0usize..64, any::<bool>()), 1..64)
        ) {
            let mut f = ForkChoice::new(cp(0, 0));
            let mut all = vec![cp(0, 0)];
            for (i, (p, bad)) in parents.iter().enumerate() {
                let parent = all[p % all.len()];
                let child = Checkpoint { height: parent.height + 1, hash: h(parent.height + 1, i as u8 + 1) };
                if f.insert(child.hash, parent.hash, child.height).is_ok() {
                    all.push(child);
                    if *bad { f.mark_invalid(&child.hash); }
                }
            }
            let head = f.head(&cp(0, 0));
            prop_assert!(f.is_ancestor(&h(0, 0), &head.hash));
            prop_assert_ne!(f.validity(&head.hash), Some(Validity::Invalid));
            for b in &all {
                if f.validity(&b.hash) != Some(Validity::Invalid) {
                    prop_assert!(b.height < head.height || (b.height == head.height && b.hash >= head.hash));
                }
            }
        }
    }
}
