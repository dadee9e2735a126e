//! The RustChain wallet library behind the `rustchain-wallet` CLI.
//!
//! Today it derives RTC account keys from a BIP-39 mnemonic (`m/44'/21076'/account'/0/index`),
//! builds and signs transfers, and talks to a node over JSON-RPC. The encrypted keystore,
//! multisig, policy and Bitcoin PSBT support described in the wallet issue are **not implemented
//! yet**; the mnemonic is read from a file, an environment variable, or the public dev mnemonic.

pub mod accounts;
pub mod btc;
pub mod client;
pub mod transfer;
