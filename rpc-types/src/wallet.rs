//! JSON shapes of the embedded wallet's `wallet_*` methods.

use rustchain_primitives::{Amount, Hash, PublicKey};
use serde::{Deserialize, Serialize};

/// `wallet_status`: which wallet the node serves. No secret is ever part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletStatusJson {
    /// The keystore's name.
    pub name: String,
    /// The chain kind recorded in the keystore (`rtc-dev`, ...).
    pub chain: String,
    /// The BIP-44 account served.
    pub account: u32,
    /// Address 0 of the account.
    pub first_address: String,
    /// Whether callers must present the bearer token.
    pub token_required: bool,
}

/// One derived address of the embedded wallet, with its state at the head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletAddressJson {
    /// Index on the external chain.
    pub index: u32,
    /// Derivation path.
    pub path: String,
    /// The address.
    pub address: String,
    /// Its public key.
    pub public_key: PublicKey,
    /// Balance at the head (base units).
    pub balance: Amount,
    /// The nonce its next transaction needs (mempool included).
    pub next_nonce: u64,
}

/// `wallet_send` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletSendRequest {
    /// Recipient (bech32m).
    pub to: String,
    /// Amount in base units.
    pub amount: Amount,
    /// Fee in base units; default: the node's fee estimate.
    #[serde(default)]
    pub fee: Option<Amount>,
    /// Derived address index to send from; default 0.
    #[serde(default)]
    pub from_index: Option<u32>,
}

/// `wallet_send` result: the transaction is in the mempool; follow it with `tx_getReceipt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletSendJson {
    /// Transaction id.
    pub hash: Hash,
    /// Sender address.
    pub from: String,
    /// Nonce used.
    pub nonce: u64,
    /// Fee paid.
    pub fee: Amount,
}

/// A wallet's spending policy (all rules optional; see docs/wallet.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyJson {
    /// Largest amount of one spend (base units).
    pub max_per_tx: Option<Amount>,
    /// Largest total over any 24 hours (base units).
    pub max_per_day: Option<Amount>,
    /// When not empty, the only recipients allowed.
    pub allow: Vec<String>,
    /// Recipients always refused.
    pub deny: Vec<String>,
    /// Above this amount a spend needs an extra co-signer (base units).
    pub cosigner_above: Option<Amount>,
}

/// `wallet_getPolicy`: the spending policy and what it has counted today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletPolicyJson {
    /// The rules.
    pub rules: PolicyJson,
    /// Spent (signed) in the last 24 hours, base units.
    pub spent_last_day: Amount,
}

/// `wallet_signMultisig` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletMultisigJson {
    /// The call with this wallet's approval added (`rtcms1...`).
    pub call: String,
    /// The signer index this wallet approved as.
    pub signer: u8,
    /// The call's state: `PARTIALLY_SIGNED` or `SIGNED`.
    pub state: String,
    /// Signer indexes that have approved.
    pub approved_by: Vec<u8>,
    /// Approvals needed.
    pub threshold: u8,
}
