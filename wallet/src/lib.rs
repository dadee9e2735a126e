//! The RustChain wallet library behind the `rustchain-wallet` CLI.
//!
//! - [`accounts`]: RTC keys from a BIP-39 seed at `m/44'/21076'/account'/0/index`, and BIP-44
//!   account discovery with a gap limit of 20.
//! - [`keystore`]: the encrypted wallet file (Argon2id + XChaCha20-Poly1305); see
//!   docs/keystore.md.
//! - [`transfer`], [`fees`], [`client`]: building and signing transfers, fee estimates, and the
//!   node's JSON-RPC.
//! - [`multisig`]: partially signed calls of m-of-n multisig accounts, collected offline.
//! - [`policy`]: spending limits, allow/deny lists and the extra co-signer threshold.
//! - [`embedded`]: the unlocked wallet a node serves through its `wallet_*` RPC methods.
//! - [`btc`]: Bitcoin accounts, descriptors and PSBT v0/v2 from the same seed.
//!
//! Not yet: a node-side address index for full history (`status` tracks one transaction).

pub mod accounts;
pub mod btc;
pub mod client;
pub mod embedded;
pub mod fees;
pub mod keystore;
pub mod multisig;
pub mod policy;
pub mod transfer;
