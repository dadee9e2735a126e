//! Transaction receipts: the outcome of executing one transaction.

use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};

use crate::address::Address;
use crate::amount::Amount;
use crate::bounty::{BountyId, BountyStatus, ClaimId, ClaimStatus};
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
    /// A transfer to the bounty escrow account (which only the bounty rules may fund).
    BountyEscrowReserved,
    /// No bounty has this id.
    UnknownBounty(BountyId),
    /// No claim has this id.
    UnknownBountyClaim(ClaimId),
    /// The bounty is already paid or cancelled.
    BountyNotOpen {
        /// the bounty
        bounty: BountyId,
        /// its status
        status: BountyStatus,
    },
    /// A new bounty's deadline is not in `min..=max` (heights).
    BountyDeadlineOutOfRange {
        /// the deadline asked for
        deadline: u64,
        /// earliest allowed
        min: u64,
        /// latest allowed
        max: u64,
    },
    /// Claims are accepted only before the bounty's deadline.
    BountyDeadlinePassed {
        /// the bounty
        bounty: BountyId,
        /// its deadline
        deadline: u64,
    },
    /// Only the sponsor may do this.
    NotBountySponsor {
        /// the bounty
        bounty: BountyId,
        /// its sponsor
        sponsor: Address,
    },
    /// Only the bounty's approvers may approve or reject its claims.
    NotBountyApprovers {
        /// the bounty
        bounty: BountyId,
        /// its approvers
        approvers: Address,
    },
    /// Only the claimer may submit for a claim.
    NotBountyClaimer {
        /// the claim
        claim: ClaimId,
        /// its claimer
        claimer: Address,
    },
    /// The claim is not in a state that allows this.
    BountyClaimState {
        /// the claim
        claim: ClaimId,
        /// its status
        status: ClaimStatus,
    },
    /// The claim was not submitted in time (it expires, or has expired, at `expires_at`).
    BountyClaimExpired {
        /// the claim
        claim: ClaimId,
        /// its expiry height
        expires_at: u64,
    },
    /// The claimer already holds the maximum number of open claims.
    BountyClaimCap {
        /// the maximum
        cap: u32,
    },
    /// The bounty already has the maximum number of open claims.
    BountyClaimsFull {
        /// the bounty
        bounty: BountyId,
        /// the maximum
        cap: u32,
    },
    /// The claimer already holds an open claim on this bounty.
    BountyAlreadyClaimed {
        /// the bounty
        bounty: BountyId,
        /// the open claim
        claim: ClaimId,
    },
    /// Before the deadline only the sponsor may cancel.
    BountyCancelTooEarly {
        /// the bounty
        bounty: BountyId,
        /// the deadline, from which anyone may cancel a bounty with no submitted claim
        deadline: u64,
    },
    /// The sponsor cannot cancel before the deadline while someone holds a claim.
    BountyHasOpenClaims {
        /// the bounty
        bounty: BountyId,
        /// open claims
        open: u32,
    },
    /// A submitted claim waits for review; cancelling is possible from `until` on.
    BountyUnderReview {
        /// the bounty
        bounty: BountyId,
        /// the submitted claim
        claim: ClaimId,
        /// first height at which anyone may cancel
        until: u64,
    },
    /// The id counters are exhausted (2^64 bounties or claims).
    BountyIdsExhausted,
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
            FailureReason::BountyEscrowReserved => f.write_str(
                "the bounty escrow account cannot receive transfers (post or fund a bounty instead)",
            ),
            FailureReason::UnknownBounty(id) => write!(f, "there is no bounty {id}"),
            FailureReason::UnknownBountyClaim(id) => write!(f, "there is no bounty claim {id}"),
            FailureReason::BountyNotOpen { bounty, status } => {
                write!(f, "bounty {bounty} is {status}, not open")
            }
            FailureReason::BountyDeadlineOutOfRange { deadline, min, max } => write!(
                f,
                "deadline {deadline} is out of range: it must be a block height from {min} to {max}"
            ),
            FailureReason::BountyDeadlinePassed { bounty, deadline } => write!(
                f,
                "bounty {bounty} accepted claims and submissions only before height {deadline}"
            ),
            FailureReason::NotBountySponsor { bounty, sponsor } => write!(
                f,
                "only the sponsor of bounty {bounty} ({sponsor:?}) may do this"
            ),
            FailureReason::NotBountyApprovers { bounty, approvers } => write!(
                f,
                "only the approvers of bounty {bounty} ({approvers:?}) may approve or reject its claims"
            ),
            FailureReason::NotBountyClaimer { claim, claimer } => write!(
                f,
                "only the claimer of claim {claim} ({claimer:?}) may submit for it"
            ),
            FailureReason::BountyClaimState { claim, status } => {
                write!(f, "claim {claim} is {status}; this operation does not apply to it")
            }
            FailureReason::BountyClaimExpired { claim, expires_at } => write!(
                f,
                "claim {claim} was not submitted in time: it expires at height {expires_at}"
            ),
            FailureReason::BountyClaimCap { cap } => write!(
                f,
                "the claimer already holds {cap} open claims, the maximum (submit or wait for one to end)"
            ),
            FailureReason::BountyClaimsFull { bounty, cap } => {
                write!(f, "bounty {bounty} already has {cap} open claims, the maximum")
            }
            FailureReason::BountyAlreadyClaimed { bounty, claim } => write!(
                f,
                "the claimer already holds claim {claim} on bounty {bounty}"
            ),
            FailureReason::BountyCancelTooEarly { bounty, deadline } => write!(
                f,
                "only the sponsor may cancel bounty {bounty} before its deadline {deadline}"
            ),
            FailureReason::BountyHasOpenClaims { bounty, open } => write!(
                f,
                "bounty {bounty} has {open} open claims; the sponsor may cancel before the deadline only when nobody holds a claim"
            ),
            FailureReason::BountyUnderReview {
                bounty,
                claim,
                until,
            } => write!(
                f,
                "claim {claim} of bounty {bounty} was submitted and awaits review; the bounty can be cancelled from height {until}"
            ),
            FailureReason::BountyIdsExhausted => f.write_str("bounty ids are exhausted"),
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
    /// A bounty was posted; `amount` moved from the sponsor to escrow.
    BountyPosted {
        /// the id the chain assigned
        bounty: BountyId,
        /// the sponsor
        sponsor: Address,
        /// who approves
        approvers: Address,
        /// amount locked
        amount: Amount,
        /// claims accepted below this height
        deadline: u64,
    },
    /// A bounty was topped up; `amount` moved from the sponsor to escrow.
    BountyFunded {
        /// the bounty
        bounty: BountyId,
        /// amount added
        amount: Amount,
        /// the bounty's amount now
        total: Amount,
    },
    /// A claim was made; `bond` moved from the claimer to escrow.
    BountyClaimed {
        /// the bounty
        bounty: BountyId,
        /// the id the chain assigned
        claim: ClaimId,
        /// who made it (paid the bond)
        claimer: Address,
        /// who receives the reward
        claimant: Address,
        /// bond locked
        bond: Amount,
        /// unless submitted, it expires at the start of this height
        expires_at: u64,
    },
    /// A pull request was submitted for a claim.
    BountySubmitted {
        /// the bounty
        bounty: BountyId,
        /// the claim
        claim: ClaimId,
    },
    /// A bounty was paid: `amount` moved from escrow to `to` (the claimant).
    BountyPaid {
        /// the bounty
        bounty: BountyId,
        /// the approved claim
        claim: ClaimId,
        /// the claimant
        to: Address,
        /// amount paid
        amount: Amount,
    },
    /// A claim was rejected (its bond is forfeited: see `BountyBondForfeited`).
    BountyClaimRejected {
        /// the bounty
        bounty: BountyId,
        /// the claim
        claim: ClaimId,
    },
    /// A claim expired unsubmitted (its bond is refunded: see `BountyBondRefunded`).
    BountyClaimExpired {
        /// the bounty
        bounty: BountyId,
        /// the claim
        claim: ClaimId,
    },
    /// A claim was closed because its bounty was paid to another claim or cancelled.
    BountyClaimClosed {
        /// the bounty
        bounty: BountyId,
        /// the claim
        claim: ClaimId,
    },
    /// A bounty was cancelled: `refunded` moved from escrow to `to` (the sponsor).
    BountyCancelled {
        /// the bounty
        bounty: BountyId,
        /// amount refunded
        refunded: Amount,
        /// the sponsor
        to: Address,
    },
    /// A claim's bond moved from escrow back to `to` (the claimer).
    BountyBondRefunded {
        /// the claim
        claim: ClaimId,
        /// the claimer
        to: Address,
        /// the bond
        amount: Amount,
    },
    /// A rejected claim's bond moved from escrow to `to` (the sponsor).
    BountyBondForfeited {
        /// the claim
        claim: ClaimId,
        /// the sponsor
        to: Address,
        /// the bond
        amount: Amount,
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
