//! The bounty board: on-chain escrow, claims, approvals and payouts.
//!
//! A sponsor locks RTC for a piece of work; a contributor claims it with a small refundable bond
//! and submits a pull request; the bounty's *approvers* (one key account, or an m-of-n multisig
//! account) approve it, and the reward moves from escrow to the contributor's account in the
//! same block. This module holds the data types, the chain parameters and the stateless rules;
//! `rustchain_state::bounty` executes them.
//!
//! # Ids
//!
//! The chain assigns ids, the sponsor never chooses one: bounty ids and claim ids are sequential
//! `u64`s starting at 1, taken from two counters in the state ([`BountyCounters`]). Nobody can
//! squat or front-run an id, and `1..=count` enumerates every bounty (every claim) for listing.
//! The receipt of the creating transaction carries the id ([`crate::Event::BountyPosted`],
//! [`crate::Event::BountyClaimed`]).
//!
//! # Escrow
//!
//! Everything locked sits in one ordinary account at [`escrow_address`], the first 20 bytes of
//! `tagged_hash("RustChain/bounty-escrow", "escrow")`, that is
//! `0x42b0a4334f58ffa91786f0a5d9b9cdca350fa1ec`. A key account's address is a hash under
//! another tag (`"RustChain/address"`), and a multisig account's under a third, so no key and no
//! policy controls the escrow: RTC leaves it only through the rules below. Plain and multisig
//! transfers *to* it fail (`FailureReason::BountyEscrowReserved`), and so does a claim naming
//! it as the claimant (the reward would stay in escrow, owed to nobody), so its balance is
//! exact:
//!
//! > **escrow invariant**: `balance(escrow) = Σ amount of Open bounties + Σ bond of open claims`
//!
//! (a claim is *open* while it is `Claimed` or `Submitted`). It holds after every transaction,
//! hence at every block boundary; `state/tests/bounty.rs` checks it after every block of random
//! operation sequences.
//!
//! # Life cycle
//!
//! ```text
//! bounty: Open ──approve──▶ Paid
//!              └─cancel───▶ Cancelled
//! claim:  Claimed ──submit──▶ Submitted ──approve──▶ Approved
//!            │                    └──────reject────▶ Rejected
//!            ├──reject──▶ Rejected
//!            └──expiry──▶ Expired
//!         Claimed/Submitted ──(the bounty is paid to another claim, or cancelled)──▶ Closed
//! ```
//!
//! Every state is final except `Open`, `Claimed` and `Submitted`, so no bounty can pay twice:
//! payout moves a bounty from `Open` to `Paid`, and only an `Open` bounty pays.
//!
//! | operation | who may send it | valid when (`h` = the block's height) | effect |
//! |---|---|---|---|
//! | `BountyPost {title, url, amount, deadline, approvers}` | anyone; the sender is the sponsor | `amount > 0`, `h < deadline <= h + max_duration` | `amount` sponsor → escrow; new bounty |
//! | `BountyFund {bounty, amount}` | the sponsor | bounty Open | `amount` sponsor → escrow; the bounty's amount grows |
//! | `BountyClaim {bounty, claimant}` | anyone; the sender is the *claimer* | bounty Open, `h < deadline`; the claimer holds fewer than `max_open_claims_per_account` open claims and none on this bounty; the bounty has fewer than `max_open_claims_per_bounty` open claims | `claim_bond` claimer → escrow; new claim, expiring at `min(h + claim_window, deadline)` |
//! | `BountySubmit {claim, pull_request}` | the claimer | claim Claimed and `h < expires_at` | claim Submitted (it no longer expires) |
//! | `BountyApprove {claim}` | the approvers | claim Submitted, bounty Open | the bounty's amount escrow → `claimant`; bond escrow → claimer; every other open claim Closed, bond refunded; bounty Paid |
//! | `BountyReject {claim}` | the approvers | claim Submitted, or Claimed and not yet due to expire; bounty Open | bond escrow → sponsor (forfeited); claim Rejected |
//! | `BountyCancel {bounty}` | see below | bounty Open | the amount escrow → sponsor; every open claim Closed, bond refunded; bounty Cancelled |
//!
//! **Approvers** are one address. A key account approves by sending `BountyApprove` /
//! `BountyReject` itself. A multisig account approves m-of-n through the existing
//! `MultisigExecute` with [`crate::MultisigAction::BountyApprove`] (or `BountyReject`): the action
//! runs *as* the multisig account, after the usual threshold and nonce checks, so there is no
//! second signature scheme. A multisig account can also be the sponsor
//! (`MultisigAction::BountyPost`, `BountyFund`, `BountyCancel`), for example a project treasury.
//!
//! **Funding** is by the sponsor only: a cancelled bounty refunds everything to one owner, the
//! sponsor, so a third party's top-up could never be returned to them. (A third party posts its
//! own bounty instead.)
//!
//! **Cancel** is allowed when the bounty is Open and
//! 1. the sender is the sponsor and the bounty has no open claim (nobody is working on it), or
//! 2. `h >= deadline` and no open claim is Submitted (anyone may send it), or
//! 3. `h >= deadline + review_window` (anyone; submitted claims still unreviewed are Closed and
//!    their bonds refunded).
//!
//! A contributor who has claimed is protected from a sponsor pulling the bounty: before the
//! deadline only the approvers can end a claim (by approving or rejecting it). A contributor who
//! submitted before the deadline is protected for `review_window` blocks after it. A sponsor is
//! protected from money locked forever: every claim ends by the deadline or the review window.
//! Cases 2 and 3 are open to anyone because the money can only go home (amount to the sponsor,
//! bonds to their payers), so anyone may clean up.
//!
//! # Bonds
//!
//! A claim locks [`BountyParams::claim_bond`] (0.1 RTC) paid by the claimer (the sender). Bond
//! refunds always go back to the claimer; the *reward* goes to the claim's `claimant`, the
//! account the claimer names. They are usually the same account; when a relayer claims for a
//! contributor, the relayer gets its bond back and the contributor the reward.
//!
//! | claim ends by | bond |
//! |---|---|
//! | approval | refunded to the claimer |
//! | expiry (not submitted in time) | refunded to the claimer |
//! | Closed (bounty paid to another claim, or cancelled) | refunded to the claimer |
//! | rejection | **forfeited to the sponsor** |
//!
//! Forfeit on rejection is what makes claim spam cost something: a squatter or a spammer loses
//! the bond, and the approvers can reject an unsubmitted squatting claim at once to free its
//! slot. Expiry refunds, because a claim that simply ran out of time harmed nobody. Together with
//! the per-account cap (3 open claims) and the per-bounty cap (16 open claims, which also bounds
//! the work of a payout or a cancel), a claim flood needs many funded accounts and locks a bond
//! per claim.
//!
//! # Expiry
//!
//! Heights, never wall clock. A claim made in block `h` expires at `expires_at = min(h +
//! claim_window, deadline)`: it can be submitted in blocks `h .. expires_at - 1`. Expiry is a
//! state transition of the block at `expires_at` itself, processed at the *start* of the block
//! (after the epoch settlement, before the transactions), so its effect is visible in that
//! block's receipts: the block's bounty receipt (id [`bounty_expiry_receipt_id`], stored after
//! the transactions' receipts like the settlement receipt) lists `BountyClaimExpired` and
//! `BountyBondRefunded` per claim.
//!
//! Expiries are found through an index written when the claim is made
//! (`BountyExpiryCount(height)` and `BountyExpiryAt(height, i)`), never by scanning. The work is
//! bounded: a block takes at most [`BountyParams::max_expiry_steps_per_block`] steps (one step
//! per index entry or per height passed). If more claims fall due at once than that (a flood
//! of claims on bounties sharing a deadline), the rest are processed in the following blocks
//! from a cursor (`BountyExpiryCursor`) stored only while there is such a backlog, so an
//! empty block without a backlog writes nothing. A claim due but not yet processed is treated
//! as expired by every rule (it cannot be submitted or rejected; a payout or cancel closes it
//! with its bond refunded, exactly what expiry would do), so a backlog only delays a refund.
//!
//! # Parameters
//!
//! [`BountyParams::for_network`]: main and test networks use a week to submit a claim and a week
//! of review after the deadline (at the default 3-second slot); dev networks use 200 blocks
//! each so the life cycle can be walked through in minutes. They are consensus rules: changing
//! one is a hard fork.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::address::Address;
use crate::amount::Amount;
use crate::chain::NetworkKind;
use crate::hash::{tagged_hash, Hash, Tag};

/// A bounty id (sequential from 1).
pub type BountyId = u64;
/// A claim id (sequential from 1, across all bounties).
pub type ClaimId = u64;

/// Longest bounty title, in bytes of UTF-8.
pub const MAX_TITLE_BYTES: usize = 200;
/// Longest reference URL of the bounty's issue, in bytes.
pub const MAX_URL_BYTES: usize = 512;
/// Longest pull-request reference of a submission, in bytes.
pub const MAX_PULL_REQUEST_BYTES: usize = 512;

/// The bounty board's chain parameters (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BountyParams {
    /// Bond locked by each claim.
    pub claim_bond: Amount,
    /// Most open claims one claimer may hold, over all bounties.
    pub max_open_claims_per_account: u32,
    /// Most open claims one bounty may have.
    pub max_open_claims_per_bounty: u32,
    /// Blocks a claimer has to submit (the claim expires earlier at the bounty's deadline).
    pub claim_window: u64,
    /// Blocks after the deadline during which a submitted claim keeps the bounty from being
    /// cancelled.
    pub review_window: u64,
    /// Latest deadline a new bounty may have, in blocks from its posting.
    pub max_duration: u64,
    /// Most expiry steps a block performs (see the module docs).
    pub max_expiry_steps_per_block: u32,
}

/// A week of 3-second blocks.
const WEEK_OF_BLOCKS: u64 = 7 * 24 * 60 * 20;

impl BountyParams {
    /// Main and test networks.
    pub const MAIN: BountyParams = BountyParams {
        claim_bond: Amount::from_base_units(Amount::UNITS_PER_RTC / 10),
        max_open_claims_per_account: 3,
        max_open_claims_per_bounty: 16,
        claim_window: WEEK_OF_BLOCKS,
        review_window: WEEK_OF_BLOCKS,
        max_duration: 52 * WEEK_OF_BLOCKS,
        max_expiry_steps_per_block: 1_024,
    };

    /// Dev networks: short windows, same bond and caps.
    pub const DEV: BountyParams = BountyParams {
        claim_window: 200,
        review_window: 200,
        max_duration: 1_000_000,
        ..BountyParams::MAIN
    };

    /// The parameters of a network kind.
    pub const fn for_network(kind: NetworkKind) -> BountyParams {
        match kind {
            NetworkKind::Main | NetworkKind::Test => BountyParams::MAIN,
            NetworkKind::Dev => BountyParams::DEV,
        }
    }
}

/// The escrow account: `tagged_hash("RustChain/bounty-escrow", "escrow")[..20]`.
pub fn escrow_address() -> Address {
    let hash = tagged_hash(Tag::BountyEscrow, b"escrow");
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash.0[..20]);
    Address(out)
}

/// The id under which a block's bounty receipt (claim expiries) is stored in place of a
/// transaction id: `tagged_hash("RustChain/receipt", "bounty-expiry" || height (u64 LE))`.
pub fn bounty_expiry_receipt_id(height: u64) -> Hash {
    let mut msg = b"bounty-expiry".to_vec();
    msg.extend_from_slice(&height.to_le_bytes());
    tagged_hash(Tag::Receipt, &msg)
}

/// A bounty's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum BountyStatus {
    /// Accepting claims (before the deadline) and approvals.
    Open,
    /// Paid to a claim's claimant (final).
    Paid {
        /// the approved claim
        claim: ClaimId,
        /// the block that paid it
        height: u64,
    },
    /// Cancelled, the amount refunded to the sponsor (final).
    Cancelled {
        /// the block that cancelled it
        height: u64,
    },
}

impl BountyStatus {
    /// A short lowercase name (`open`, `paid`, `cancelled`).
    pub const fn name(&self) -> &'static str {
        match self {
            BountyStatus::Open => "open",
            BountyStatus::Paid { .. } => "paid",
            BountyStatus::Cancelled { .. } => "cancelled",
        }
    }
}

/// A claim's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ClaimStatus {
    /// Claimed, not yet submitted.
    Claimed,
    /// A pull request was submitted; waiting for the approvers.
    Submitted,
    /// Approved and paid (final).
    Approved,
    /// Rejected by the approvers, bond forfeited (final).
    Rejected,
    /// Not submitted in time, bond refunded (final).
    Expired,
    /// The bounty was paid to another claim or cancelled, bond refunded (final).
    Closed,
}

impl ClaimStatus {
    /// Claimed or Submitted (the bond is in escrow).
    pub const fn is_open(&self) -> bool {
        matches!(self, ClaimStatus::Claimed | ClaimStatus::Submitted)
    }

    /// A short lowercase name.
    pub const fn name(&self) -> &'static str {
        match self {
            ClaimStatus::Claimed => "claimed",
            ClaimStatus::Submitted => "submitted",
            ClaimStatus::Approved => "approved",
            ClaimStatus::Rejected => "rejected",
            ClaimStatus::Expired => "expired",
            ClaimStatus::Closed => "closed",
        }
    }
}

impl std::fmt::Display for ClaimStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for BountyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One of a bounty's open claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct OpenClaim {
    /// The claim.
    pub claim: ClaimId,
    /// Who made it.
    pub claimer: Address,
}

/// A bounty as stored (state key `Bounty(id)`).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Bounty {
    /// Its id.
    pub id: BountyId,
    /// Who posted it (receives refunds and forfeited bonds).
    pub sponsor: Address,
    /// Title.
    pub title: String,
    /// Reference URL of the issue.
    pub url: String,
    /// Who approves submissions: a key account or a multisig account.
    pub approvers: Address,
    /// Total posted and funded. While the bounty is Open this is exactly what escrow holds
    /// for it; once Paid it is what was paid, once Cancelled what was refunded.
    pub amount: Amount,
    /// Claims and submissions are accepted in blocks below this height.
    pub deadline: u64,
    /// Height of the block that posted it.
    pub posted_at: u64,
    /// Open, Paid or Cancelled.
    pub status: BountyStatus,
    /// Claims ever made on it (entries `BountyClaimOf(id, 0..claims)`).
    pub claims: u64,
    /// Its open claims, oldest first (at most `max_open_claims_per_bounty`).
    pub open_claims: Vec<OpenClaim>,
}

/// A claim as stored (state key `BountyClaim(id)`).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Claim {
    /// Its id.
    pub id: ClaimId,
    /// The bounty claimed.
    pub bounty: BountyId,
    /// Who made the claim (paid the bond, submits, gets the bond back).
    pub claimer: Address,
    /// Who receives the reward.
    pub claimant: Address,
    /// The bond locked.
    pub bond: Amount,
    /// Height of the block that made it.
    pub claimed_at: u64,
    /// Unless submitted, it expires at the start of the block at this height.
    pub expires_at: u64,
    /// The pull request, once submitted.
    pub pull_request: Option<String>,
    /// Height of the submission.
    pub submitted_at: Option<u64>,
    /// Current state.
    pub status: ClaimStatus,
    /// Height of the block that ended it (approved, rejected, expired or closed).
    pub ended_at: Option<u64>,
}

/// The id counters (state key `BountyCounters`): the last ids assigned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BountyCounters {
    /// Bounties posted (the last bounty id).
    pub bounties: u64,
    /// Claims made (the last claim id).
    pub claims: u64,
}

/// Where the expiry processing resumes when a block could not finish it (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ExpiryCursor {
    /// The first height not fully processed.
    pub height: u64,
    /// The first unprocessed entry at that height.
    pub index: u64,
}

/// Why a bounty payload is malformed (a stateless rule; such a transaction is never included).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, thiserror::Error)]
pub enum BountyError {
    /// The title is empty, too long or contains control or bidirectional-override characters.
    #[error("bounty title must be 1 to {MAX_TITLE_BYTES} bytes without control or bidirectional-override characters (got {0} bytes)")]
    Title(usize),
    /// The URL is empty, too long, or not printable ASCII without spaces.
    #[error("bounty url must be 1 to {MAX_URL_BYTES} bytes of printable ASCII without spaces (got {0} bytes)")]
    Url(usize),
    /// The pull-request reference is empty, too long, or not printable ASCII without spaces.
    #[error("pull request reference must be 1 to {MAX_PULL_REQUEST_BYTES} bytes of printable ASCII without spaces (got {0} bytes)")]
    PullRequest(usize),
    /// A zero amount.
    #[error("the amount must be more than zero")]
    ZeroAmount,
}

fn printable_ascii(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic())
}

/// Control characters, and the bidirectional-override characters that can make a title display
/// as something else than it is (U+202A..U+202E, U+2066..U+2069).
fn is_disallowed_in_title(c: char) -> bool {
    c.is_control()
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Checks a title: 1 to [`MAX_TITLE_BYTES`] bytes, no control or bidirectional-override
/// characters.
pub fn check_title(title: &str) -> Result<(), BountyError> {
    if title.is_empty()
        || title.len() > MAX_TITLE_BYTES
        || title.chars().any(is_disallowed_in_title)
    {
        return Err(BountyError::Title(title.len()));
    }
    Ok(())
}

/// Checks a reference URL.
pub fn check_url(url: &str) -> Result<(), BountyError> {
    if url.is_empty() || url.len() > MAX_URL_BYTES || !printable_ascii(url) {
        return Err(BountyError::Url(url.len()));
    }
    Ok(())
}

/// Checks a pull-request reference.
pub fn check_pull_request(pull_request: &str) -> Result<(), BountyError> {
    if pull_request.is_empty()
        || pull_request.len() > MAX_PULL_REQUEST_BYTES
        || !printable_ascii(pull_request)
    {
        return Err(BountyError::PullRequest(pull_request.len()));
    }
    Ok(())
}

/// A bounty operation, whoever performs it (a key account through a bounty transaction payload,
/// or a multisig account through `MultisigExecute`). The execution rules take this form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BountyAction {
    /// Post a bounty (the actor is the sponsor).
    Post {
        /// title
        title: String,
        /// reference URL of the issue
        url: String,
        /// amount locked
        amount: Amount,
        /// height before which claims are accepted
        deadline: u64,
        /// who approves
        approvers: Address,
    },
    /// Top up a bounty (the actor must be its sponsor).
    Fund {
        /// the bounty
        bounty: BountyId,
        /// amount added
        amount: Amount,
    },
    /// Claim a bounty (the actor is the claimer and pays the bond).
    Claim {
        /// the bounty
        bounty: BountyId,
        /// who receives the reward
        claimant: Address,
    },
    /// Submit a pull request for a claim (the actor must be its claimer).
    Submit {
        /// the claim
        claim: ClaimId,
        /// the pull request reference
        pull_request: String,
    },
    /// Approve a submitted claim (the actor must be the approvers).
    Approve {
        /// the claim
        claim: ClaimId,
    },
    /// Reject a claim (the actor must be the approvers).
    Reject {
        /// the claim
        claim: ClaimId,
    },
    /// Cancel a bounty (see the module docs for who may).
    Cancel {
        /// the bounty
        bounty: BountyId,
    },
}

impl BountyAction {
    /// The stateless rules: bounded, well-formed text and non-zero amounts.
    pub fn check_stateless(&self) -> Result<(), BountyError> {
        match self {
            BountyAction::Post {
                title, url, amount, ..
            } => {
                check_title(title)?;
                check_url(url)?;
                if amount.is_zero() {
                    return Err(BountyError::ZeroAmount);
                }
                Ok(())
            }
            BountyAction::Fund { amount, .. } => {
                if amount.is_zero() {
                    Err(BountyError::ZeroAmount)
                } else {
                    Ok(())
                }
            }
            BountyAction::Submit { pull_request, .. } => check_pull_request(pull_request),
            BountyAction::Claim { .. }
            | BountyAction::Approve { .. }
            | BountyAction::Reject { .. }
            | BountyAction::Cancel { .. } => Ok(()),
        }
    }

    /// What the actor pays into escrow, at most (the amount posted or funded, or the bond).
    pub fn max_deposit(&self, params: &BountyParams) -> Amount {
        match self {
            BountyAction::Post { amount, .. } | BountyAction::Fund { amount, .. } => *amount,
            BountyAction::Claim { .. } => params.claim_bond,
            _ => Amount::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;
    use crate::MultisigPolicy;

    #[test]
    fn escrow_address_is_fixed_and_no_key_or_policy_address() {
        let escrow = escrow_address();
        assert_eq!(escrow, escrow_address());
        // The address is consensus: pin it (SHA-256 computed independently of this code).
        assert_eq!(
            format!("{escrow:?}"),
            "Address(0x42b0a4334f58ffa91786f0a5d9b9cdca350fa1ec)"
        );
        assert_eq!(Tag::BountyEscrow.as_str(), "RustChain/bounty-escrow");
        let key = KeyPair::from_secret_bytes(&[3; 32]).unwrap();
        assert_ne!(escrow, Address::from_public_key(&key.public_key()));
        let policy = MultisigPolicy::new(1, vec![key.public_key()]).unwrap();
        assert_ne!(escrow, policy.address());
        assert_ne!(bounty_expiry_receipt_id(5), bounty_expiry_receipt_id(6));
        assert_ne!(
            bounty_expiry_receipt_id(5),
            crate::receipt::settlement_receipt_id(5)
        );
    }

    #[test]
    fn text_bounds_are_exact() {
        assert!(check_title(&"t".repeat(MAX_TITLE_BYTES)).is_ok());
        assert_eq!(
            check_title(&"t".repeat(MAX_TITLE_BYTES + 1)),
            Err(BountyError::Title(MAX_TITLE_BYTES + 1))
        );
        assert!(check_title("").is_err());
        assert!(check_title("two\nlines").is_err());
        assert!(check_title("pay \u{202E}CTR 1").is_err());
        assert!(check_title("pay \u{2067}x").is_err());
        assert!(check_title("Fix the Ryzen cache check — 2 RTC").is_ok());
        // multi-byte characters count in bytes
        assert!(check_title(&"é".repeat(MAX_TITLE_BYTES / 2)).is_ok());
        assert!(check_title(&"é".repeat(MAX_TITLE_BYTES / 2 + 1)).is_err());
        assert!(check_url(&"u".repeat(MAX_URL_BYTES)).is_ok());
        assert!(check_url(&"u".repeat(MAX_URL_BYTES + 1)).is_err());
        assert!(check_url("https://example.org/a b").is_err());
        assert!(check_url("https://exämple.org").is_err());
        assert!(check_url("").is_err());
        assert!(check_pull_request(&"p".repeat(MAX_PULL_REQUEST_BYTES)).is_ok());
        assert!(check_pull_request(&"p".repeat(MAX_PULL_REQUEST_BYTES + 1)).is_err());
        assert!(check_pull_request("org/repo#12").is_ok());
        assert!(check_pull_request("").is_err());
    }

    #[test]
    fn zero_amounts_are_malformed() {
        let post = BountyAction::Post {
            title: "t".into(),
            url: "https://x".into(),
            amount: Amount::ZERO,
            deadline: 10,
            approvers: Address([1; 20]),
        };
        assert_eq!(post.check_stateless(), Err(BountyError::ZeroAmount));
        let fund = BountyAction::Fund {
            bounty: 1,
            amount: Amount::ZERO,
        };
        assert_eq!(fund.check_stateless(), Err(BountyError::ZeroAmount));
    }

    #[test]
    fn params_are_as_documented() {
        let main = BountyParams::for_network(NetworkKind::Main);
        assert_eq!(main.claim_bond, Amount::from_base_units(10_000_000));
        assert_eq!(main.max_open_claims_per_account, 3);
        assert_eq!(main.max_open_claims_per_bounty, 16);
        assert_eq!(main.claim_window, 201_600);
        assert_eq!(BountyParams::for_network(NetworkKind::Test), main);
        let dev = BountyParams::for_network(NetworkKind::Dev);
        assert_eq!(dev.claim_bond, main.claim_bond);
        assert_eq!(dev.claim_window, 200);
    }
}
