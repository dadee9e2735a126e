//! When a transaction may be included in a block.
//!
//! These rules decide block validity, so the executor applies them to every transaction and the
//! mempool applies the same functions at admission. A block containing a transaction that breaks
//! one of them is invalid as a whole. (A transaction that passes them but whose *payload* cannot
//! apply, for example a transfer larger than the balance left after the fee, is included with a
//! failed receipt: the fee is paid and the nonce used, so it cannot be replayed.)
//!
//! Stateless rules: the chain id is this chain's; the fee is at least the genesis minimum; the
//! fee plus amount (or plus what a bounty payload locks) does not overflow; the payload is well
//! formed (a canonical multisig policy, at most 16 approvals, bounded bounty text, non-zero
//! bounty amounts). Signature validity is checked separately (in parallel,
//! once) by whoever first sees the transaction. Stateful rules against the sender account: the
//! nonce equals the account's nonce, and the balance covers the fee.

use rustchain_primitives::{Account, Amount, ChainId, PayloadError, Transaction};

/// Chain parameters the rules need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRules {
    /// This chain's id.
    pub chain_id: ChainId,
    /// Minimum fee.
    pub min_fee: Amount,
}

/// Why a transaction cannot be included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxInvalid {
    /// Signed for another chain.
    #[error("wrong chain id: transaction is for '{got}', this chain is '{expected}'")]
    WrongChainId {
        /// this chain
        expected: ChainId,
        /// the transaction's
        got: ChainId,
    },
    /// The signature does not verify.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// Fee below the minimum.
    #[error("fee {fee} is below the minimum fee {min}")]
    FeeTooLow {
        /// offered
        fee: Amount,
        /// required
        min: Amount,
    },
    /// Fee plus amount overflows.
    #[error("fee plus amount overflows")]
    CostOverflow,
    /// The payload is malformed (for example a non-canonical multisig policy, or a bounty
    /// title that is too long).
    #[error("invalid payload: {0}")]
    Payload(PayloadError),
    /// Nonce already used.
    #[error("nonce too low: account nonce is {expected}, transaction has {got}")]
    NonceTooLow {
        /// the account's next nonce
        expected: u64,
        /// the transaction's
        got: u64,
    },
    /// Nonce in the future (not includable yet).
    #[error("nonce too high: account nonce is {expected}, transaction has {got}")]
    NonceTooHigh {
        /// the account's next nonce
        expected: u64,
        /// the transaction's
        got: u64,
    },
    /// Balance does not cover the fee.
    #[error("insufficient balance: {balance} cannot pay {needed}")]
    InsufficientBalance {
        /// balance
        balance: Amount,
        /// needed
        needed: Amount,
    },
}

/// Rules that need no state.
pub fn check_stateless(tx: &Transaction, rules: &TxRules) -> Result<(), TxInvalid> {
    if tx.body.chain_id != rules.chain_id {
        return Err(TxInvalid::WrongChainId {
            expected: rules.chain_id.clone(),
            got: tx.body.chain_id.clone(),
        });
    }
    if tx.body.fee < rules.min_fee {
        return Err(TxInvalid::FeeTooLow {
            fee: tx.body.fee,
            min: rules.min_fee,
        });
    }
    tx.max_cost().ok_or(TxInvalid::CostOverflow)?;
    tx.body
        .payload
        .check_stateless()
        .map_err(TxInvalid::Payload)?;
    Ok(())
}

/// Rules against the sender's current account (nonce must match exactly; balance covers fee).
pub fn check_includable(tx: &Transaction, sender: &Account) -> Result<(), TxInvalid> {
    let got = tx.body.nonce;
    if got < sender.nonce {
        return Err(TxInvalid::NonceTooLow {
            expected: sender.nonce,
            got,
        });
    }
    if got > sender.nonce {
        return Err(TxInvalid::NonceTooHigh {
            expected: sender.nonce,
            got,
        });
    }
    if sender.balance < tx.body.fee {
        return Err(TxInvalid::InsufficientBalance {
            balance: sender.balance,
            needed: tx.body.fee,
        });
    }
    Ok(())
}
