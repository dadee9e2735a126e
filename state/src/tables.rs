//! The typed RocksDB tables: one column family per table, each with one key and value encoding.
//!
//! | column family   | key                                  | value                                   |
//! |-----------------|--------------------------------------|-----------------------------------------|
//! | `headers`       | block hash                           | borsh `BlockHeader`                     |
//! | `bodies`        | block hash                           | borsh `BlockBody` (txs, attestations)   |
//! | `height_index`  | height, u64 big-endian               | block hash (canonical chain)            |
//! | `tx_index`      | transaction id                       | borsh [`TxLocation`](crate::TxLocation) |
//! | `receipts`      | block hash ‖ index (u32 big-endian)  | borsh `Receipt`                         |
//! | `state_values`  | state key hash ‖ version (u64 BE)    | 0x00 (deleted) or 0x01 ‖ value          |
//! | `state_nodes`   | borsh jmt `NodeKey`                  | borsh jmt `Node`                        |
//! | `state_latest`  | state key hash                       | value at the head (absent = none)       |
//! | `undo`          | height, u64 big-endian               | borsh `Vec<(key hash, Option<value>)>`: `state_latest` before that height |
//! | `certificates`  | finalized height, u64 big-endian     | borsh `FinalityCertificate`             |
//! | `metadata`      | ASCII name                           | per key (see [`meta`])                  |
//!
//! Blocks on forks that are not (or no longer) canonical keep their `headers` and `bodies`
//! entries but have no `height_index`, `tx_index` or state entries.
//!
//! Big-endian integers make RocksDB's byte order equal numeric order, which the height index
//! and the versioned state values rely on (`seek_for_prev` finds the newest version <= v).

/// Column family names, in creation order.
pub const ALL: [&str; 11] = [
    HEADERS,
    BODIES,
    HEIGHT_INDEX,
    TX_INDEX,
    RECEIPTS,
    STATE_VALUES,
    STATE_NODES,
    STATE_LATEST,
    UNDO,
    CERTIFICATES,
    METADATA,
];

/// Block headers by hash.
pub const HEADERS: &str = "headers";
/// Block bodies by hash.
pub const BODIES: &str = "bodies";
/// Canonical block hash by height.
pub const HEIGHT_INDEX: &str = "height_index";
/// Transaction location by id.
pub const TX_INDEX: &str = "tx_index";
/// Receipts by block hash and index.
pub const RECEIPTS: &str = "receipts";
/// Versioned state values.
pub const STATE_VALUES: &str = "state_values";
/// State tree nodes.
pub const STATE_NODES: &str = "state_nodes";
/// State values at the head.
pub const STATE_LATEST: &str = "state_latest";
/// Per-height undo records for rolling the head back.
pub const UNDO: &str = "undo";
/// Finality certificates by finalized height.
pub const CERTIFICATES: &str = "certificates";
/// Chain metadata.
pub const METADATA: &str = "metadata";

/// Keys of the `metadata` table.
pub mod meta {
    /// Schema version of the database (u32 little-endian).
    pub const SCHEMA_VERSION: &[u8] = b"schema_version";
    /// Genesis block hash (32 bytes).
    pub const GENESIS_HASH: &[u8] = b"genesis_hash";
    /// Head: borsh `(height, hash)`.
    pub const HEAD: &[u8] = b"head";
    /// Latest finalized block: borsh `(height, hash)`.
    pub const FINALIZED: &[u8] = b"finalized";
    /// This node's validator voting record (slashing protection): borsh `VoterRecord`.
    pub const VOTER_RECORD: &[u8] = b"voter_record";
}

/// The database schema this code writes; opening a store with another version is refused.
pub const SCHEMA_VERSION: u32 = 2;

/// `height_index` key.
pub fn height_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

/// `receipts` key.
pub fn receipt_key(block: &rustchain_primitives::Hash, index: u32) -> [u8; 36] {
    let mut k = [0u8; 36];
    k[..32].copy_from_slice(&block.0);
    k[32..].copy_from_slice(&index.to_be_bytes());
    k
}

/// `state_values` key.
pub fn state_value_key(key_hash: &[u8; 32], version: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(key_hash);
    k[32..].copy_from_slice(&version.to_be_bytes());
    k
}
