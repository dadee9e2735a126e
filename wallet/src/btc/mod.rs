//! Bitcoin cold-storage wallet: BIP-44/49/84/86 accounts from the wallet seed, output
//! descriptors (BIP-380..386) with checksums, watch-only exports, coin selection, and PSBT v0
//! (BIP-174) / v2 (BIP-370) creation, signing, combining, finalizing and extraction.
//!
//! The flow is the Armory/Sparrow one: an online machine holds only the watch-only export
//! (xpubs and descriptors) and a UTXO file, and creates a PSBT; the offline machine that holds the
//! seed signs it; any machine finalizes and extracts the transaction. No Bitcoin node is needed.
//!
//! Module map:
//! - [`accounts`]: networks, purposes, key derivation from a 64-byte BIP-39 seed.
//! - [`descriptors`]: descriptor strings, BIP-380 checksums, watch-only export files.
//! - [`coin_selection`]: branch-and-bound with a largest-first fallback.
//! - [`utxo`]: the UTXO file format (JSON, size-limited).
//! - [`psbt`]: decode/encode (v0 and v2), create, sign, combine, finalize, extract, summary.
//! - [`xkey`]: strict BIP-32 extended-key parsing (the rules `bitcoin` 0.32 leaves out).
//! - [`cli`]: the `rustchain-wallet btc` subcommands.
//!
//! Library code reports errors as `thiserror` enums; secrets (the seed, the master key, derived
//! private keys) are held only as long as needed and never printed.

pub mod accounts;
pub mod cli;
pub mod coin_selection;
pub mod descriptors;
pub mod psbt;
pub mod utxo;
pub mod xkey;

pub use accounts::{BtcAccount, MasterKey, Purpose};
pub use bitcoin::Network;

/// Parses a network name as used on the command line: `bitcoin` (alias `mainnet`), `testnet`,
/// `testnet4`, `signet`, `regtest`.
pub fn parse_network(s: &str) -> Result<Network, accounts::AccountError> {
    match s.to_ascii_lowercase().as_str() {
        "bitcoin" | "mainnet" | "main" => Ok(Network::Bitcoin),
        "testnet" | "testnet3" | "test" => Ok(Network::Testnet),
        "testnet4" => Ok(Network::Testnet4),
        "signet" => Ok(Network::Signet),
        "regtest" => Ok(Network::Regtest),
        other => Err(accounts::AccountError::UnknownNetwork(other.to_string())),
    }
}
