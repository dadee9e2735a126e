//! RocksDB storage: typed reads, and one synced `WriteBatch` per block.
//!
//! Crash safety: everything a block changes (header, body, indices, receipts, state tree nodes
//! and values, head pointer) goes into one [`StoreBatch`], written with `sync = true`. RocksDB
//! applies a batch atomically, so after a crash at any instant the store holds either all of a
//! block or none of it, and the head pointer always names a block whose state is complete.
//! A failed write is returned as an error; callers treat it as fatal and never continue on a
//! half-updated memory state (memory is only updated after the write succeeds).

use std::path::Path;

use borsh::{BorshDeserialize, BorshSerialize};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, Direction, IteratorMode,
    Options, WriteBatch, WriteOptions, DB,
};
use rustchain_primitives::{
    codec, Attestation, Block, BlockHeader, Evidence, FinalityCertificate, Hash, Receipt,
    Transaction,
};

use crate::tables::{self, meta};

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB reported an error.
    #[error("database error: {0}")]
    Db(#[from] rocksdb::Error),
    /// Stored bytes do not decode: the database is damaged or from other software.
    #[error("corrupt database entry in {table}: {detail}")]
    Corrupt {
        /// column family
        table: &'static str,
        /// what failed
        detail: String,
    },
    /// The database was written by an incompatible version.
    #[error("database schema version {found} is not supported (this build uses {expected})")]
    Schema {
        /// found in the store
        found: u32,
        /// this code's
        expected: u32,
    },
    /// The state tree failed.
    #[error("state tree error: {0}")]
    Tree(String),
}

/// `state_latest` values before a height's block was applied: `(key hash, previous value)`.
pub(crate) type UndoRecord = Vec<([u8; 32], Option<Vec<u8>>)>;

/// Where a transaction is in the canonical chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TxLocation {
    /// Block hash.
    pub block_hash: Hash,
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
}

/// A block body as stored.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
struct BlockBody {
    transactions: Vec<Transaction>,
    attestations: Vec<Attestation>,
    evidence: Vec<Evidence>,
}

/// The node's database.
#[derive(Debug)]
pub struct Store {
    db: DB,
}

/// The block cache all tables share.
const BLOCK_CACHE_BYTES: usize = 256 << 20;

/// Options of every table: data blocks in the shared cache, and whole-key Bloom filters (kept
/// in the cache too), so a point read of an absent key (a new account, a new tree node) skips
/// the files that cannot hold it.
fn table_options(cache: &Cache) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    table.set_bloom_filter(10.0, false);
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    let mut opts = Options::default();
    opts.set_block_based_table_factory(&table);
    opts
}

fn decode_stored<T: BorshDeserialize>(table: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    // Stored values were written by us; the limit only guards against a damaged file.
    codec::decode(bytes, usize::MAX).map_err(|e| StoreError::Corrupt {
        table,
        detail: e.to_string(),
    })
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.increase_parallelism(2);
        opts.set_keep_log_file_num(4);
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let cfs = tables::ALL
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, table_options(&cache)));
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        let store = Store { db };
        match store.get(tables::METADATA, meta::SCHEMA_VERSION)? {
            None => {
                let cf = store.cf(tables::METADATA)?;
                store.db.put_cf(
                    cf,
                    meta::SCHEMA_VERSION,
                    tables::SCHEMA_VERSION.to_le_bytes(),
                )?;
            }
            Some(bytes) => {
                let found = decode_stored::<u32>(tables::METADATA, &bytes)?;
                if found != tables::SCHEMA_VERSION {
                    return Err(StoreError::Schema {
                        found,
                        expected: tables::SCHEMA_VERSION,
                    });
                }
            }
        }
        Ok(store)
    }

    pub(crate) fn cf(&self, name: &'static str) -> Result<&ColumnFamily, StoreError> {
        self.db.cf_handle(name).ok_or(StoreError::Corrupt {
            table: "column families",
            detail: format!("missing column family {name}"),
        })
    }

    pub(crate) fn get(
        &self,
        table: &'static str,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(table)?, key)?)
    }

    fn get_decoded<T: BorshDeserialize>(
        &self,
        table: &'static str,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        self.get(table, key)?
            .map(|b| decode_stored(table, &b))
            .transpose()
    }

    /// The genesis hash this store was initialised with.
    pub fn genesis_hash(&self) -> Result<Option<Hash>, StoreError> {
        self.get_decoded(tables::METADATA, meta::GENESIS_HASH)
    }

    /// The head: `(height, hash)`.
    pub fn head(&self) -> Result<Option<(u64, Hash)>, StoreError> {
        self.get_decoded(tables::METADATA, meta::HEAD)
    }

    /// The latest finalized block: `(height, hash)`.
    pub fn finalized(&self) -> Result<Option<(u64, Hash)>, StoreError> {
        self.get_decoded(tables::METADATA, meta::FINALIZED)
    }

    /// A header by block hash.
    pub fn header(&self, hash: &Hash) -> Result<Option<BlockHeader>, StoreError> {
        self.get_decoded(tables::HEADERS, &hash.0)
    }

    /// A full block by hash.
    pub fn block(&self, hash: &Hash) -> Result<Option<Block>, StoreError> {
        let Some(header) = self.header(hash)? else {
            return Ok(None);
        };
        let body: BlockBody =
            self.get_decoded(tables::BODIES, &hash.0)?
                .ok_or_else(|| StoreError::Corrupt {
                    table: tables::BODIES,
                    detail: format!("header {hash} has no body"),
                })?;
        Ok(Some(Block {
            header,
            transactions: body.transactions,
            attestations: body.attestations,
            evidence: body.evidence,
        }))
    }

    /// The canonical block hash at `height`.
    pub fn hash_at(&self, height: u64) -> Result<Option<Hash>, StoreError> {
        self.get_decoded(tables::HEIGHT_INDEX, &tables::height_key(height))
    }

    /// Where a transaction was included.
    pub fn tx_location(&self, txid: &Hash) -> Result<Option<TxLocation>, StoreError> {
        self.get_decoded(tables::TX_INDEX, &txid.0)
    }

    /// The receipt of transaction `index` of block `block`.
    pub fn receipt(&self, block: &Hash, index: u32) -> Result<Option<Receipt>, StoreError> {
        self.get_decoded(tables::RECEIPTS, &tables::receipt_key(block, index))
    }

    /// All receipts of a block, in order.
    pub fn receipts(&self, block: &Hash) -> Result<Vec<Receipt>, StoreError> {
        let cf = self.cf(tables::RECEIPTS)?;
        let start = tables::receipt_key(block, 0);
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(cf, IteratorMode::From(&start, Direction::Forward))
        {
            let (k, v) = item?;
            if k.len() != 36 || k[..32] != block.0 {
                break;
            }
            out.push(decode_stored(tables::RECEIPTS, &v)?);
        }
        Ok(out)
    }

    /// The newest state value for `key_hash` with version <= `max_version`.
    pub fn state_value(
        &self,
        key_hash: &[u8; 32],
        max_version: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let cf = self.cf(tables::STATE_VALUES)?;
        let mut iter = self.db.raw_iterator_cf(cf);
        iter.seek_for_prev(tables::state_value_key(key_hash, max_version));
        if !iter.valid() {
            iter.status()?;
            return Ok(None);
        }
        match (iter.key(), iter.value()) {
            (Some(k), Some(v)) if k.len() == 40 && k[..32] == key_hash[..] => match v.split_first()
            {
                Some((1, rest)) => Ok(Some(rest.to_vec())),
                Some((0, [])) => Ok(None),
                _ => Err(StoreError::Corrupt {
                    table: tables::STATE_VALUES,
                    detail: "bad value marker".into(),
                }),
            },
            _ => Ok(None),
        }
    }

    /// The value of a state entry at the head.
    pub fn latest_value(&self, key_hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(tables::STATE_LATEST, key_hash)
    }

    /// Values of many state entries at the head, in one batched read.
    pub fn latest_values(&self, keys: &[[u8; 32]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let cf = self.cf(tables::STATE_LATEST)?;
        self.db
            .batched_multi_get_cf(cf, keys.iter(), false)
            .into_iter()
            .map(|r| Ok(r?.map(|v| v.to_vec())))
            .collect()
    }

    /// The undo record of canonical height `height`.
    pub(crate) fn undo(&self, height: u64) -> Result<Option<UndoRecord>, StoreError> {
        self.get_decoded(tables::UNDO, &tables::height_key(height))
    }

    /// The finality certificate stored for the lowest finalized height `>= height`: it proves
    /// that block final, and with it every ancestor, including the block at `height`.
    pub fn certificate_covering(
        &self,
        height: u64,
    ) -> Result<Option<FinalityCertificate>, StoreError> {
        let cf = self.cf(tables::CERTIFICATES)?;
        let key = tables::height_key(height);
        let mut iter = self
            .db
            .iterator_cf(cf, IteratorMode::From(&key, Direction::Forward));
        match iter.next() {
            None => Ok(None),
            Some(item) => {
                let (_, v) = item?;
                Ok(Some(decode_stored(tables::CERTIFICATES, &v)?))
            }
        }
    }

    /// This node's stored voting record.
    pub fn voter_record<T: BorshDeserialize>(&self) -> Result<Option<T>, StoreError> {
        self.get_decoded(tables::METADATA, meta::VOTER_RECORD)
    }

    /// A state tree node.
    pub(crate) fn state_node(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(tables::STATE_NODES, key)
    }

    /// Starts a batch.
    pub fn batch(&self) -> StoreBatch<'_> {
        StoreBatch {
            store: self,
            batch: WriteBatch::default(),
        }
    }
}

/// Everything one block writes, applied atomically by [`StoreBatch::commit`].
pub struct StoreBatch<'a> {
    store: &'a Store,
    batch: WriteBatch,
}

impl std::fmt::Debug for StoreBatch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreBatch({} entries)", self.batch.len())
    }
}

impl StoreBatch<'_> {
    fn put<V: BorshSerialize>(
        &mut self,
        table: &'static str,
        key: &[u8],
        value: &V,
    ) -> Result<(), StoreError> {
        let cf = self.store.cf(table)?;
        self.batch.put_cf(cf, key, codec::encode(value));
        Ok(())
    }

    /// Header and body of a block, without any index: a block known but not (or not yet)
    /// on the canonical chain.
    pub fn put_block_data(&mut self, block: &Block) -> Result<(), StoreError> {
        let hash = block.hash();
        self.put(tables::HEADERS, &hash.0, &block.header)?;
        let cf = self.store.cf(tables::BODIES)?;
        // Encode the body without cloning the transactions: the body's encoding is the block's
        // encoding minus the header prefix.
        let header_len = codec::encode(&block.header).len();
        let block_bytes = block.encode();
        self.batch.put_cf(cf, hash.0, &block_bytes[header_len..]);
        Ok(())
    }

    /// Header, body, height index entry, transaction index and receipts of a canonical block.
    pub fn put_block(&mut self, block: &Block, receipts: &[Receipt]) -> Result<(), StoreError> {
        let hash = block.hash();
        let height = block.header.height;
        self.put_block_data(block)?;
        self.put(tables::HEIGHT_INDEX, &tables::height_key(height), &hash)?;
        // Receipts beyond the transactions' (the epoch settlement's) are stored under the
        // following indices, with no transaction index entry.
        for (index, receipt) in receipts.iter().enumerate() {
            let index = u32::try_from(index).map_err(|_| StoreError::Corrupt {
                table: tables::TX_INDEX,
                detail: "more than 2^32 receipts in a block".into(),
            })?;
            if let Some(tx) = block.transactions.get(index as usize) {
                self.put(
                    tables::TX_INDEX,
                    &tx.hash().0,
                    &TxLocation {
                        block_hash: hash,
                        height,
                        index,
                    },
                )?;
            }
            self.put(
                tables::RECEIPTS,
                &tables::receipt_key(&hash, index),
                receipt,
            )?;
        }
        Ok(())
    }

    /// State tree nodes and values of canonical height `height`, the `state_latest` mirror, and
    /// the undo record that lets [`StoreBatch::remove_canonical`] take them back.
    pub fn put_tree_update(
        &mut self,
        height: u64,
        update: &crate::tree::TreeUpdate,
    ) -> Result<(), StoreError> {
        let nodes = self.store.cf(tables::STATE_NODES)?;
        for (key, node) in &update.nodes {
            self.batch.put_cf(nodes, key, node);
        }
        let values = self.store.cf(tables::STATE_VALUES)?;
        let latest = self.store.cf(tables::STATE_LATEST)?;
        let keys: Vec<[u8; 32]> = update.values.iter().map(|(key, _)| *key).collect();
        let previous = self.store.latest_values(&keys)?;
        let undo: UndoRecord = keys.into_iter().zip(previous).collect();
        for (key_hash, value) in &update.values {
            let mut stored = Vec::with_capacity(value.len() + 1);
            stored.push(1);
            stored.extend_from_slice(value);
            self.batch
                .put_cf(values, tables::state_value_key(key_hash, height), stored);
            self.batch.put_cf(latest, key_hash, value);
        }
        self.put(tables::UNDO, &tables::height_key(height), &undo)
    }

    /// Takes canonical block `block` (the current head) off the canonical chain: its indices, its
    /// state values and tree root, restoring `state_latest` from its undo record. Header, body
    /// and receipts stay (the block is still known, as a fork block).
    pub fn remove_canonical(&mut self, block: &Block) -> Result<(), StoreError> {
        let height = block.header.height;
        let undo = self
            .store
            .undo(height)?
            .ok_or_else(|| StoreError::Corrupt {
                table: tables::UNDO,
                detail: format!("no undo record for height {height}"),
            })?;
        let values = self.store.cf(tables::STATE_VALUES)?;
        let latest = self.store.cf(tables::STATE_LATEST)?;
        for (key_hash, previous) in &undo {
            self.batch
                .delete_cf(values, tables::state_value_key(key_hash, height));
            match previous {
                Some(v) => self.batch.put_cf(latest, key_hash, v),
                None => self.batch.delete_cf(latest, key_hash),
            }
        }
        // Tree nodes of this version stay: nothing at or below the new head refers to them, and
        // executing another block at this height overwrites the root (reads of heights above
        // the head are refused by `Chain`).
        let tx_index = self.store.cf(tables::TX_INDEX)?;
        for tx in &block.transactions {
            self.batch.delete_cf(tx_index, tx.hash().0);
        }
        let cf = self.store.cf(tables::HEIGHT_INDEX)?;
        self.batch.delete_cf(cf, tables::height_key(height));
        let cf = self.store.cf(tables::UNDO)?;
        self.batch.delete_cf(cf, tables::height_key(height));
        Ok(())
    }

    /// Stores the certificate of a finalized block.
    pub fn put_certificate(&mut self, certificate: &FinalityCertificate) -> Result<(), StoreError> {
        self.put(
            tables::CERTIFICATES,
            &tables::height_key(certificate.source.height),
            certificate,
        )
    }

    /// Records this node's voting record.
    pub fn set_voter_record<T: BorshSerialize>(&mut self, record: &T) -> Result<(), StoreError> {
        self.put(tables::METADATA, meta::VOTER_RECORD, record)
    }

    /// Sets the head pointer.
    pub fn set_head(&mut self, height: u64, hash: Hash) -> Result<(), StoreError> {
        self.put(tables::METADATA, meta::HEAD, &(height, hash))
    }

    /// Sets the finalized pointer.
    pub fn set_finalized(&mut self, height: u64, hash: Hash) -> Result<(), StoreError> {
        self.put(tables::METADATA, meta::FINALIZED, &(height, hash))
    }

    /// Records the genesis hash.
    pub fn set_genesis(&mut self, hash: Hash) -> Result<(), StoreError> {
        self.put(tables::METADATA, meta::GENESIS_HASH, &hash)
    }

    /// Number of key writes in the batch.
    pub fn len(&self) -> usize {
        self.batch.len()
    }

    /// Is the batch empty?
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    /// Writes the batch atomically and durably (fsync).
    pub fn commit(self) -> Result<(), StoreError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.store.db.write_opt(self.batch, &opts)?;
        Ok(())
    }
}
