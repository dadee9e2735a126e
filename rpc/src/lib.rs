//! RustChain JSON-RPC: API traits, their implementation over the node's chain and mempool, and
//! the server (HTTP POST and WebSocket on one address).
//!
//! - [`api`]: the jsonrpsee traits, one per namespace (`system_*`, `chain_*`, `state_*`, `tx_*`,
//!   `net_*`, RIP-200's `attest_*`, `epoch_*`, `miner_*`, `bounty_*`, and the embedded wallet's
//!   `wallet_*`).
//! - [`types`]: JSON shapes (snake_case fields, integer amounts, 0x-hex hashes).
//! - [`error`]: every error code the API returns, stable across versions.
//! - [`openrpc`]: the OpenRPC document served by `rpc.discover`.
//! - [`server`]: the implementation and [`server::start`].
//! - `bounty`: the bounty board's `bounty_*` methods.
//! - [`webhook`]: the GitHub webhook receiver; [`bounty_webhook`]: what a merged pull request
//!   does (pays the claim that submitted it).
//! - [`wallet`]: the embedded wallet's `wallet_*` methods and their access rules.
//! - [`webhook`]: `POST /webhooks/github` on the same server: verified, de-duplicated merged
//!   pull requests handed to a [`webhook::MergeHandler`].

pub mod api;
mod bounty;
pub mod bounty_webhook;
pub mod error;
pub mod openrpc;
mod rip200;
pub mod server;
pub mod wallet;
pub mod webhook;
pub use rustchain_rpc_types as types;

pub use server::{start, NodeStatus, RpcConfig, RpcContext, RpcHandle};
pub use wallet::WalletAccess;
