//! The RustChain full node: configuration, block production and import, and the wiring of
//! chain state, mempool, consensus rules and RPC. The `rustchain-node` binary is `main.rs`.
//!
//! - [`cli`] and [`config`]: command line and TOML configuration (same settings in both).
//! - [`engine`]: the consensus engine, the one place the chain changes (blocks, votes,
//!   evidence, fork choice, branch switches).
//! - [`finality`]: this validator's votes (with slashing protection) and the finality tracker.
//! - [`producer`]: the slot loop that asks the engine for our block when it is our turn.
//! - [`network`]: gossip verdicts and publishing over the p2p crate; the sync server.
//! - [`sync`]: range sync from the peer furthest ahead.
//! - [`testnet`]: the `testnet` command that writes a local multi-node network.
//! - [`import`]: validation of a block from elsewhere (header rules, parallel signature
//!   verification, execution, roots) and its commit.
//! - [`verify`]: replays a stored chain from genesis and checks every root (`verify-chain`).
//! - [`service`]: starts everything and shuts it down cleanly.

pub mod cli;
pub mod config;
pub mod engine;
pub mod finality;
pub mod import;
pub mod logging;
pub mod network;
pub mod producer;
pub mod service;
pub mod sync;
pub mod testnet;
pub mod verify;
