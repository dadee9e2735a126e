//! The authenticated state: a Jellyfish Merkle Tree over every state entry.
//!
//! We use the `jmt` crate (a 16-ary sparse Merkle tree over SHA-256, as in Diem/Aptos, maintained
//! by Penumbra and Sovereign): it is versioned (version = block height), so the state at any
//! stored height can be read and proven, and its proofs show both *inclusion* of a value and
//! *absence* of a key against the root in a block header, which is what a light client needs.
//! jmt reads the tree (roots, proofs, values at a height). A block's update is built by
//! `tree::update` instead, node for node what jmt's batch insertion builds but about four times
//! faster, with the subtrees below the root built in parallel; `tree::node` is the stored node
//! format the two share, byte for byte.
//!
//! Keys: an entry's tree key is `tagged_hash("RustChain/state-key", namespace || key)` (see
//! [`StateKey`]): accounts `0x01`, validator records `0x02`, punished offences `0x03`. Values are
//! borsh-encoded. The state root in a
//! header is the JMT root hash at that block's height.
//!
//! Nodes and values are read from RocksDB (`state_nodes`, `state_values`) and written through the
//! block's single `WriteBatch`; the `state_latest` table mirrors the values at the head for fast
//! point reads. Stale nodes are not pruned yet, so the store keeps the state of every height of
//! the canonical chain. Versions are heights of the canonical chain: switching to another fork
//! first rolls the state back (see `Chain::rollback_to`), then executes the fork's blocks.

use std::collections::{BTreeMap, BTreeSet};

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Sha256Jmt, Version};
use rustchain_primitives::{codec, Account, Address, Hash, PublicKey, Tag, TaggedHasher};

use crate::store::{Store, StoreError};
use crate::validators::ValidatorRecord;

mod node;
mod update;

pub use update::TreeUpdate;

/// An entry of the authenticated state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StateKey {
    /// An account (namespace `0x01`, 20-byte address).
    Account(Address),
    /// A validator's record (namespace `0x02`, 32-byte public key).
    Validator(PublicKey),
    /// A punished offence (namespace `0x03`, 32-byte offence id; value: empty).
    Offence(Hash),
    /// A RIP-200 epoch summary (namespace `0x04`, epoch as u64 big-endian).
    Epoch(u64),
    /// The `i`-th miner of an epoch (namespace `0x07`, epoch and index as u64 big-endian).
    EpochMinerAt(u64, u64),
    /// A miner's entry in an epoch (namespace `0x08`, epoch as u64 big-endian, 32-byte key).
    EpochMiner(u64, PublicKey),
    /// A RIP-200 miner record (namespace `0x05`, 32-byte miner key).
    Miner(PublicKey),
    /// RIP-200 issuance totals (namespace `0x06`, no key).
    Rip200Totals,
    /// A multisig account's policy (namespace `0x09`, 20-byte address).
    Multisig(Address),
    /// Bounty id counters (namespace `0x0a`, no key; see [`crate::bounty`]).
    BountyCounters,
    /// A bounty (namespace `0x0b`, id as u64 big-endian).
    Bounty(u64),
    /// A bounty claim (namespace `0x0c`, id as u64 big-endian).
    BountyClaim(u64),
    /// The `i`-th claim of a bounty (namespace `0x0d`, bounty id and `i` as u64 big-endian).
    BountyClaimOf(u64, u64),
    /// A claimer's open claims (namespace `0x0e`, 20-byte address).
    BountyClaimer(Address),
    /// Claims due to expire at a height (namespace `0x0f`, height as u64 big-endian).
    BountyExpiryCount(u64),
    /// The `i`-th claim due to expire at a height (namespace `0x10`, height and `i` as u64
    /// big-endian).
    BountyExpiryAt(u64, u64),
    /// Where expiry processing resumes (namespace `0x11`, no key).
    BountyExpiryCursor,
}

impl StateKey {
    /// The tree key: `tagged_hash("RustChain/state-key", namespace || key)`.
    pub fn key_hash(&self) -> KeyHash {
        let mut h = TaggedHasher::new(Tag::StateKey);
        match self {
            StateKey::Account(a) => h.update(&[0x01]).update(&a.0),
            StateKey::Validator(k) => h.update(&[0x02]).update(&k.0),
            StateKey::Offence(id) => h.update(&[0x03]).update(&id.0),
            StateKey::Epoch(epoch) => h.update(&[0x04]).update(&epoch.to_be_bytes()),
            StateKey::Miner(k) => h.update(&[0x05]).update(&k.0),
            StateKey::Rip200Totals => h.update(&[0x06]),
            StateKey::EpochMinerAt(epoch, i) => h
                .update(&[0x07])
                .update(&epoch.to_be_bytes())
                .update(&i.to_be_bytes()),
            StateKey::EpochMiner(epoch, k) => {
                h.update(&[0x08]).update(&epoch.to_be_bytes()).update(&k.0)
            }
            StateKey::Multisig(a) => h.update(&[0x09]).update(&a.0),
            StateKey::BountyCounters => h.update(&[0x0a]),
            StateKey::Bounty(id) => h.update(&[0x0b]).update(&id.to_be_bytes()),
            StateKey::BountyClaim(id) => h.update(&[0x0c]).update(&id.to_be_bytes()),
            StateKey::BountyClaimOf(bounty, i) => h
                .update(&[0x0d])
                .update(&bounty.to_be_bytes())
                .update(&i.to_be_bytes()),
            StateKey::BountyClaimer(a) => h.update(&[0x0e]).update(&a.0),
            StateKey::BountyExpiryCount(height) => h.update(&[0x0f]).update(&height.to_be_bytes()),
            StateKey::BountyExpiryAt(height, i) => h
                .update(&[0x10])
                .update(&height.to_be_bytes())
                .update(&i.to_be_bytes()),
            StateKey::BountyExpiryCursor => h.update(&[0x11]),
        };
        KeyHash(h.finish().0)
    }
}

/// The tree key of an account.
pub fn account_key(address: &Address) -> KeyHash {
    StateKey::Account(*address).key_hash()
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

/// Computes the new root after applying `changes` at `version` on top of `version - 1`
/// (or an empty tree for version 0). Nothing is written; the returned batch is.
pub fn compute_update(
    store: &Store,
    version: Version,
    changes: &StateChanges<'_>,
) -> Result<(Hash, TreeUpdate), StoreError> {
    let values =
        changes
            .accounts
            .iter()
            .map(|(address, account)| (account_key(address), codec::encode(account)))
            .chain(
                changes.validators.iter().map(|(key, record)| {
                    (StateKey::Validator(*key).key_hash(), codec::encode(record))
                }),
            )
            .chain(
                changes
                    .offences
                    .iter()
                    .map(|id| (StateKey::Offence(*id).key_hash(), Vec::new())),
            )
            .chain(changes.rip200.summaries.iter().map(|(epoch, summary)| {
                (StateKey::Epoch(*epoch).key_hash(), codec::encode(summary))
            }))
            .chain(changes.rip200.index.iter().map(|((epoch, i), miner)| {
                (
                    StateKey::EpochMinerAt(*epoch, *i).key_hash(),
                    codec::encode(miner),
                )
            }))
            .chain(
                changes
                    .rip200
                    .entries
                    .iter()
                    .map(|((epoch, miner), entry)| {
                        (
                            StateKey::EpochMiner(*epoch, *miner).key_hash(),
                            codec::encode(entry),
                        )
                    }),
            )
            .chain(
                changes
                    .rip200
                    .miners
                    .iter()
                    .map(|(key, record)| (StateKey::Miner(*key).key_hash(), codec::encode(record))),
            )
            .chain(
                changes
                    .rip200
                    .totals
                    .iter()
                    .map(|t| (StateKey::Rip200Totals.key_hash(), codec::encode(t))),
            )
            .chain(
                changes
                    .entries
                    .iter()
                    .map(|(key, value)| (key.key_hash(), value.clone())),
            );
    let values: Vec<([u8; 32], OwnedValue)> = values.map(|(key, value)| (key.0, value)).collect();
    if values.is_empty() {
        // Nothing changed: jmt writes the old root again under the new version.
        let reader = StoreTreeReader(store);
        let (root, batch) = Sha256Jmt::new(&reader)
            .put_value_set(std::iter::empty(), version)
            .map_err(|e| StoreError::Tree(e.to_string()))?;
        return Ok((Hash(root.0), TreeUpdate::from_jmt(&batch)));
    }
    let (root, update) = update::write_version(store, version, values)?;
    Ok((Hash(root), update))
}

/// The state changes of one block.
#[derive(Debug, Clone, Copy)]
pub struct StateChanges<'a> {
    /// Accounts with their new values.
    pub accounts: &'a BTreeMap<Address, Account>,
    /// Validator records with their new values.
    pub validators: &'a BTreeMap<PublicKey, ValidatorRecord>,
    /// Offences newly punished.
    pub offences: &'a BTreeSet<Hash>,
    /// RIP-200 records changed.
    pub rip200: &'a crate::rip200::Rip200Changes,
    /// Other entries written, borsh-encoded.
    pub entries: &'a BTreeMap<StateKey, Vec<u8>>,
}

/// Decodes a stored value of any state type.
pub fn decode_value<T: borsh::BorshDeserialize>(bytes: &[u8]) -> Result<T, StoreError> {
    codec::decode(bytes, usize::MAX).map_err(|e| StoreError::Corrupt {
        table: crate::tables::STATE_VALUES,
        detail: e.to_string(),
    })
}

/// Decodes a stored account value.
pub fn decode_account(bytes: &[u8]) -> Result<Account, StoreError> {
    codec::decode(bytes, 64).map_err(|e| StoreError::Corrupt {
        table: crate::tables::STATE_VALUES,
        detail: e.to_string(),
    })
}

/// Decodes a stored validator record.
pub fn decode_validator(bytes: &[u8]) -> Result<ValidatorRecord, StoreError> {
    codec::decode(bytes, 64).map_err(|e| StoreError::Corrupt {
        table: crate::tables::STATE_VALUES,
        detail: e.to_string(),
    })
}

/// Reads an account at `version` (absent accounts read as empty).
pub fn account_at(
    store: &Store,
    address: &Address,
    version: Version,
) -> Result<Account, StoreError> {
    match store.state_value(&account_key(address).0, version)? {
        None => Ok(Account::default()),
        Some(bytes) => decode_account(&bytes),
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rustchain_primitives::Amount;

    use super::*;

    fn changes_at(store: &Store, version: Version, accounts: &BTreeMap<Address, Account>) -> Hash {
        let (root, update) = compute_update(
            store,
            version,
            &StateChanges {
                accounts,
                validators: &BTreeMap::new(),
                offences: &BTreeSet::new(),
                rip200: &Default::default(),
                entries: &BTreeMap::new(),
            },
        )
        .unwrap();
        let mut batch = store.batch();
        batch.put_tree_update(version, &update).unwrap();
        batch.commit().unwrap();
        root
    }

    /// The reference: jmt's key-by-key insertion, persisted the same way.
    fn key_by_key_at(
        store: &Store,
        version: Version,
        accounts: &BTreeMap<Address, Account>,
    ) -> Hash {
        let reader = StoreTreeReader(store);
        let (root, update) = Sha256Jmt::new(&reader)
            .put_value_set(
                accounts
                    .iter()
                    .map(|(a, account)| (account_key(a), Some(codec::encode(account)))),
                version,
            )
            .unwrap();
        let mut batch = store.batch();
        batch
            .put_tree_update(version, &TreeUpdate::from_jmt(&update))
            .unwrap();
        batch.commit().unwrap();
        Hash(root.0)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// The batch insertion `compute_update` uses gives, block after block, the same roots as
        /// inserting key by key, including blocks that change nothing, overwrite existing leaves
        /// or split them; and every account then proves against the root.
        #[test]
        fn batch_and_key_by_key_updates_agree(
            blocks in proptest::collection::vec(
                proptest::collection::btree_map(0u8..48, 0u64..1_000, 0..40),
                1..6,
            )
        ) {
            let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let (batched, reference) = (Store::open(a.path()).unwrap(), Store::open(b.path()).unwrap());
            let mut latest = BTreeMap::new();
            for (i, block) in blocks.iter().enumerate() {
                let version = i as Version;
                let accounts: BTreeMap<Address, Account> = block
                    .iter()
                    .map(|(k, balance)| {
                        (Address([*k; 20]), Account { balance: Amount::from_base_units(*balance), nonce: 1 })
                    })
                    .collect();
                latest.extend(accounts.clone());
                let root = changes_at(&batched, version, &accounts);
                prop_assert_eq!(root, key_by_key_at(&reference, version, &accounts));
                prop_assert_eq!(root, root_at(&batched, version).unwrap());
                let reader = StoreTreeReader(&batched);
                let tree = Sha256Jmt::new(&reader);
                for k in 0u8..48 {
                    let address = Address([k; 20]);
                    let (value, proof) = tree.get_with_proof(account_key(&address), version).unwrap();
                    let expected = latest.get(&address).map(codec::encode);
                    prop_assert_eq!(&value, &expected);
                    prop_assert!(proof.verify(jmt::RootHash(root.0), account_key(&address), expected).is_ok());
                }
            }
        }
    }
}
