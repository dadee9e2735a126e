//! Account state.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::amount::Amount;

/// The state of one account: its balance and the nonce its next transaction must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, BorshSerialize, BorshDeserialize)]
pub struct Account {
    /// Spendable balance.
    pub balance: Amount,
    /// Number of transactions this account has had included; the next one must use this nonce.
    pub nonce: u64,
}
