//! Transaction receipts: the outcome of executing one transaction.

use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};

use crate::address::Address;
use crate::amount::Amount;
use crate::codec;
use crate::hash::{tagged_hash, Hash, Tag};
use crate::multisig::MultisigError;

/// Why an included transaction's payload failed. The fee is still paid and the nonce used.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum FailureReason {
    /// The balance after the fee did not cover the payload.
    InsufficientBalance {
        /// what the payload needed
        needed: Amount,
        /// what the account had after paying the fee
        available: Amount,
    },
    /// Crediting the recipient would overflow its balance.
    BalanceOverflow,
    /// `MultisigCreate` of a policy whose account is already registered.
    MultisigExists(Address),
    /// `MultisigExecute` for an address with no registered multisig policy.
    UnknownMultisig(Address),
    /// The call's nonce is not the multisig account's nonce (already executed, or out of order).
    MultisigNonce {
        /// the account's nonce
        expected: u64,
        /// the call's
        got: u64,
    },
    /// The approvals do not satisfy the policy.
    MultisigApprovals(MultisigError),
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::InsufficientBalance { needed, available } => {
                write!(
                    f,
                    "insufficient balance: needed {needed}, available {available}"
                )
            }
            FailureReason::BalanceOverflow => f.write_str("recipient balance would overflow"),
            FailureReason::MultisigExists(_) => {
                f.write_str("this multisig account is already registered")
            }
            FailureReason::UnknownMultisig(_) => f.write_str(
                "no multisig account is registered at this address (register it with a multisig create transaction first)",
            ),
            FailureReason::MultisigNonce { expected, got } => write!(
                f,
                "multisig call nonce {got} is not the account's nonce {expected} (already executed or out of order)"
            ),
            FailureReason::MultisigApprovals(e) => write!(f, "multisig approvals rejected: {e}"),
        }
    }
}

/// Outcome of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum TxStatus {
    /// The payload was applied.
    Success,
    /// The payload was not applied (fee paid, nonce used).
    Failed(FailureReason),
}

/// Something a transaction did, for indexers and wallets.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Event {
    /// Value moved between accounts.
    Transfer {
        /// sender
        from: Address,
        /// recipient
        to: Address,
        /// amount moved
        amount: Amount,
    },
    /// A fee paid to the block proposer.
    FeePaid {
        /// who paid
        payer: Address,
        /// who received it
        proposer: Address,
        /// amount
        amount: Amount,
    },
    /// A multisig account was registered.
    MultisigCreated {
        /// its address
        account: Address,
    },
    /// A multisig call executed (its own events follow).
    MultisigExecuted {
        /// the multisig account
        account: Address,
        /// the call's nonce
        nonce: u64,
    },
    /// A miner's RIP-200 reward for an epoch (in the settlement receipt of the first block of
    /// the next epoch).
    EpochReward {
        /// the settled epoch
        epoch: u64,
        /// the miner's address
        miner: Address,
        /// amount credited (newly issued)
        amount: Amount,
    },
}

/// The receipt of one transaction.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Receipt {
    /// The transaction id.
    pub tx_hash: Hash,
    /// Success or the reason for failure.
    pub status: TxStatus,
    /// Fee charged.
    pub fee_paid: Amount,
    /// Events in order.
    pub events: Vec<Event>,
}

/// The id under which a block's settlement receipt for `epoch` is stored (in place of a
/// transaction id): `tagged_hash("RustChain/receipt", "settlement" || epoch (u64 LE))`.
pub fn settlement_receipt_id(epoch: u64) -> Hash {
    let mut msg = b"settlement".to_vec();
    msg.extend_from_slice(&epoch.to_le_bytes());
    tagged_hash(Tag::Receipt, &msg)
}

impl Receipt {
    /// Hash committed in the receipts root.
    pub fn hash(&self) -> Hash {
        tagged_hash(Tag::Receipt, &codec::encode(self))
    }

    /// Did the payload apply?
    pub fn is_success(&self) -> bool {
        matches!(self.status, TxStatus::Success)
    }
}
