//! Binary Merkle roots over lists of 32-byte item hashes (transactions, attestations, receipts).
//!
//! The shape is RFC 6962's: a list of n > 1 items splits at the largest power of two below n, so
//! there is no duplication of the last element (Bitcoin's CVE-2012-2459 cannot happen). Leaves
//! and inner nodes use different tags, so a leaf can never be passed off as an inner node, and the
//! empty list has its own root.

use crate::hash::{tagged_hash, Hash, Tag, TaggedHasher};

/// The Merkle root of `items`.
pub fn merkle_root(items: &[Hash]) -> Hash {
    if items.is_empty() {
        return tagged_hash(Tag::MerkleEmpty, &[]);
    }
    let mut level: Vec<Hash> = items
        .iter()
        .map(|h| tagged_hash(Tag::MerkleLeaf, &h.0))
        .collect();
    subtree_root(&mut level)
}

fn node(left: &Hash, right: &Hash) -> Hash {
    let mut h = TaggedHasher::new(Tag::MerkleNode);
    h.update(&left.0).update(&right.0);
    h.finish()
}

fn subtree_root(leaves: &mut [Hash]) -> Hash {
    match leaves.len() {
        0 => tagged_hash(Tag::MerkleEmpty, &[]),
        1 => leaves[0],
        n => {
            let split = n.next_power_of_two() / 2;
            let (left, right) = leaves.split_at_mut(split);
            let l = subtree_root(left);
            let r = subtree_root(right);
            node(&l, &r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| tagged_hash(Tag::TxId, &(i as u64).to_le_bytes()))
            .collect()
    }

    #[test]
    fn small_trees_have_expected_shape() {
        let it = items(3);
        let leaf = |h: &Hash| tagged_hash(Tag::MerkleLeaf, &h.0);
        let expected = node(&node(&leaf(&it[0]), &leaf(&it[1])), &leaf(&it[2]));
        assert_eq!(merkle_root(&it), expected);
        assert_eq!(merkle_root(&it[..1]), leaf(&it[0]));
    }

    #[test]
    fn no_duplicate_last_element_collision() {
        // Bitcoin's tree gives [a, b, c] and [a, b, c, c] the same root; ours must not.
        let mut it = items(3);
        let root3 = merkle_root(&it);
        it.push(it[2]);
        assert_ne!(root3, merkle_root(&it));
    }

    #[test]
    fn every_change_changes_root() {
        let it = items(17);
        let root = merkle_root(&it);
        for i in 0..it.len() {
            let mut changed = it.clone();
            changed[i] = Hash::ZERO;
            assert_ne!(merkle_root(&changed), root, "position {i}");
        }
        assert_ne!(merkle_root(&it[..16]), root);
        assert_ne!(merkle_root(&[]), merkle_root(&[Hash::ZERO]));
    }
}
