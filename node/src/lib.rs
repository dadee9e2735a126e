//! The RustChain full node: configuration, block production and import, and the wiring of
//! chain state, mempool, consensus rules and RPC. The `rustchain-node` binary is `main.rs`.
//!
//! - [`cli`] and [`config`]: command line and TOML configuration (same settings in both).
//! - [`finality`]: this validator's votes (with slashing protection) and the finality tracker.
//! - [`producer`]: the slot loop that builds, signs and commits blocks when it is our turn.
//! - [`import`]: validation of a block from elsewhere (header rules, parallel signature
//!   verification, execution, roots) and its commit.
//! - [`verify`]: replays a stored chain from genesis and checks every root (`verify-chain`).
//! - [`service`]: starts everything and shuts it down cleanly.

pub mod cli;
pub mod config;
pub mod finality;
pub mod import;
pub mod logging;
pub mod producer;
pub mod service;
pub mod verify;
