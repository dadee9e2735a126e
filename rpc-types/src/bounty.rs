//! JSON shapes of the bounty board's `bounty_*` methods.

use rustchain_primitives::bounty::{Bounty, BountyStatus, Claim};
use rustchain_primitives::{Amount, NetworkKind};
use serde::{Deserialize, Serialize};

use crate::BlockRef;

/// A bounty (`bounty_get`, `bounty_list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BountyJson {
    /// Its id (assigned by the chain, sequential from 1).
    pub id: u64,
    /// Who posted it (receives refunds and forfeited bonds).
    pub sponsor: String,
    /// Title.
    pub title: String,
    /// Reference URL of the issue.
    pub url: String,
    /// Who approves submissions: a key account or a multisig account.
    pub approvers: String,
    /// Amount locked (open), paid (paid) or refunded (cancelled), base units.
    pub amount: Amount,
    /// Claims and submissions are accepted in blocks below this height.
    pub deadline: u64,
    /// Height of the block that posted it.
    pub posted_at: u64,
    /// `open`, `paid` or `cancelled`.
    pub status: String,
    /// The claim it was paid to (`paid` only).
    pub paid_claim: Option<u64>,
    /// Height of the block that paid or cancelled it.
    pub ended_at: Option<u64>,
    /// Claims ever made on it.
    pub claims: u64,
    /// Its open claims (claimed or submitted), oldest first.
    pub open_claims: Vec<u64>,
}

impl BountyJson {
    /// From the stored bounty.
    pub fn new(b: &Bounty, kind: NetworkKind) -> Self {
        let (paid_claim, ended_at) = match b.status {
            BountyStatus::Open => (None, None),
            BountyStatus::Paid { claim, height } => (Some(claim), Some(height)),
            BountyStatus::Cancelled { height } => (None, Some(height)),
        };
        BountyJson {
            id: b.id,
            sponsor: b.sponsor.encode(kind),
            title: b.title.clone(),
            url: b.url.clone(),
            approvers: b.approvers.encode(kind),
            amount: b.amount,
            deadline: b.deadline,
            posted_at: b.posted_at,
            status: b.status.name().to_string(),
            paid_claim,
            ended_at,
            claims: b.claims,
            open_claims: b.open_claims.iter().map(|c| c.claim).collect(),
        }
    }
}

/// A page of `bounty_list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BountyListJson {
    /// Matching bounties, newest first.
    pub bounties: Vec<BountyJson>,
    /// Pass as `before` for the next page; `null` when there is none.
    pub next_before: Option<u64>,
    /// The block the state was read at.
    pub at: BlockRef,
}

/// A claim (`bounty_claims`, `bounty_getClaim`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimJson {
    /// Its id (sequential from 1 across all bounties).
    pub id: u64,
    /// The bounty claimed.
    pub bounty: u64,
    /// Who made the claim (paid the bond, submits, gets the bond back).
    pub claimer: String,
    /// Who receives the reward.
    pub claimant: String,
    /// The bond locked, base units.
    pub bond: Amount,
    /// Height of the block that made it.
    pub claimed_at: u64,
    /// Unless submitted, it expires at the start of the block at this height.
    pub expires_at: u64,
    /// The pull request, once submitted.
    pub pull_request: Option<String>,
    /// Height of the submission.
    pub submitted_at: Option<u64>,
    /// `claimed`, `submitted`, `approved`, `rejected`, `expired` or `closed`.
    pub status: String,
    /// Height of the block that ended it.
    pub ended_at: Option<u64>,
}

impl ClaimJson {
    /// From the stored claim.
    pub fn new(c: &Claim, kind: NetworkKind) -> Self {
        ClaimJson {
            id: c.id,
            bounty: c.bounty,
            claimer: c.claimer.encode(kind),
            claimant: c.claimant.encode(kind),
            bond: c.bond,
            claimed_at: c.claimed_at,
            expires_at: c.expires_at,
            pull_request: c.pull_request.clone(),
            submitted_at: c.submitted_at,
            status: c.status.name().to_string(),
            ended_at: c.ended_at,
        }
    }
}
