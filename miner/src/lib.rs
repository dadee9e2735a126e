//! The RustChain miner (`rustchain-miner`): hardware fingerprinting, VM detection and RIP-200
//! attestation.
//!
//! **Empty: not implemented yet.** It arrives with the RIP-200 work. By design this crate will
//! link neither RocksDB nor libp2p, so the miner stays small enough for old hardware.
