//! The bounty board's execution rules (the design, and why it is safe, is in
//! [`rustchain_primitives::bounty`]).
//!
//! **State** (every entry in the authenticated tree, so every validator recomputes it and a
//! light client can prove it):
//!
//! | key | value |
//! |---|---|
//! | `BountyCounters` | [`BountyCounters`]: the last bounty id and the last claim id |
//! | `Bounty(id)` | [`Bounty`], including its open claims (bounded) and its claim count |
//! | `BountyClaim(id)` | [`Claim`] |
//! | `BountyClaimOf(bounty, i)` | the id of the `i`-th claim ever made on `bounty` (for listing) |
//! | `BountyClaimer(address)` | [`ClaimerRecord`]: how many open claims the account holds (the cap) |
//! | `BountyExpiryCount(h)`, `BountyExpiryAt(h, i)` | the claims due to expire at height `h` |
//! | `BountyExpiryCursor` | `Option<ExpiryCursor>`: an expiry backlog, if any |
//! | `Account(escrow_address())` | the escrow's balance |
//!
//! **Atomicity.** An operation runs on an [`Overlay`] of the state: it first checks every rule
//! (reads only), then writes; a failure anywhere returns the reason and the caller drops the
//! overlay, so a failed operation changes nothing but the fee and nonce. Every amount is added
//! and subtracted with checked arithmetic.
//!
//! **One set of rules.** The mempool's [`crate::precheck_transaction`] runs the very same
//! operation on a throw-away overlay of the head state (at the next block's height), so what
//! it refuses is exactly what would fail at that height: unknown bounty or claim, wrong
//! sponsor, approvers or claimer, wrong state, caps, deadlines, insufficient balance.
//!
//! **Invariant failures are not user errors.** A claim naming a missing bounty, an escrow
//! balance below what it owes, or an open-claim count going below zero means the state is
//! inconsistent; such a case is a [`StoreError::Corrupt`] that stops execution, never a
//! receipt.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use rustchain_primitives::bounty::{ExpiryCursor, OpenClaim};
use rustchain_primitives::receipt::FailureReason;
use rustchain_primitives::{
    codec, escrow_address, Account, Address, Amount, Bounty, BountyAction, BountyCounters,
    BountyId, BountyParams, BountyStatus, Claim, ClaimId, ClaimStatus, Event,
};

use crate::execution::StateReader;
use crate::tree::{decode_value, StateKey};
use crate::StoreError;

/// An account's open claims (state key `BountyClaimer(address)`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ClaimerRecord {
    /// Claims made by the account that are Claimed or Submitted.
    pub open_claims: u32,
}

/// What the bounty rules read: accounts and raw entries.
pub trait BountyState {
    /// An account (empty if absent).
    fn account(&self, address: &Address) -> Result<Account, StoreError>;
    /// A raw entry.
    fn entry(&self, key: &StateKey) -> Result<Option<Vec<u8>>, StoreError>;
}

/// A [`StateReader`] as a [`BountyState`].
#[derive(Debug)]
pub struct ReaderState<'a, R: ?Sized>(pub &'a R);

impl<R: StateReader + ?Sized> BountyState for ReaderState<'_, R> {
    fn account(&self, address: &Address) -> Result<Account, StoreError> {
        self.0.account(address)
    }
    fn entry(&self, key: &StateKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.entry(key)
    }
}

/// Changes on top of a [`BountyState`], kept apart until the caller publishes them.
#[derive(Debug)]
pub struct Overlay<'a, S: ?Sized> {
    base: &'a S,
    /// Accounts changed.
    pub accounts: BTreeMap<Address, Account>,
    /// Entries written.
    pub entries: BTreeMap<StateKey, Vec<u8>>,
    /// Events, in order.
    pub events: Vec<Event>,
}

impl<'a, S: BountyState + ?Sized> Overlay<'a, S> {
    /// An overlay on `base` that already holds `accounts` and `entries` (the transaction's
    /// changes so far).
    pub fn new(
        base: &'a S,
        accounts: BTreeMap<Address, Account>,
        entries: BTreeMap<StateKey, Vec<u8>>,
    ) -> Self {
        Overlay {
            base,
            accounts,
            entries,
            events: Vec::new(),
        }
    }

    fn account(&self, address: &Address) -> Result<Account, StoreError> {
        match self.accounts.get(address) {
            Some(a) => Ok(*a),
            None => self.base.account(address),
        }
    }

    fn get<T: BorshDeserialize>(&self, key: &StateKey) -> Result<Option<T>, StoreError> {
        let bytes = match self.entries.get(key) {
            Some(v) => Some(v.clone()),
            None => self.base.entry(key)?,
        };
        bytes.map(|b| decode_value(&b)).transpose()
    }

    fn put<T: BorshSerialize>(&mut self, key: StateKey, value: &T) {
        self.entries.insert(key, codec::encode(value));
    }

    /// Moves `amount` from `from` to `to`. An account that cannot pay is
    /// `InsufficientBalance`, except the escrow, whose shortfall is corruption.
    fn move_funds(&mut self, from: Address, to: Address, amount: Amount) -> Outcome<()> {
        let source = self.account(&from)?;
        let Some(left) = source.balance.checked_sub(amount) else {
            if from == escrow_address() {
                return Err(corrupt(format!(
                    "bounty escrow holds {}, cannot pay {amount}",
                    source.balance
                ))
                .into());
            }
            return Err(Fail::Reason(FailureReason::InsufficientBalance {
                needed: amount,
                available: source.balance,
            }));
        };
        if from == to {
            return Ok(());
        }
        self.accounts.insert(
            from,
            Account {
                balance: left,
                ..source
            },
        );
        let recipient = self.account(&to)?;
        let credited = recipient
            .balance
            .checked_add(amount)
            .ok_or(Fail::Reason(FailureReason::BalanceOverflow))?;
        self.accounts.insert(
            to,
            Account {
                balance: credited,
                ..recipient
            },
        );
        Ok(())
    }
}

/// The context of the block an operation runs in.
#[derive(Debug, Clone, Copy)]
pub struct BountyContext {
    /// The block's height.
    pub height: u64,
    /// The chain's parameters.
    pub params: BountyParams,
}

/// Why an operation did not apply: a reason for the receipt, or a storage failure.
#[derive(Debug)]
enum Fail {
    Reason(FailureReason),
    Store(StoreError),
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl From<FailureReason> for Fail {
    fn from(r: FailureReason) -> Self {
        Fail::Reason(r)
    }
}

type Outcome<T> = Result<T, Fail>;

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        table: crate::tables::STATE_VALUES,
        detail,
    }
}

fn split(outcome: Outcome<()>) -> Result<Result<(), FailureReason>, StoreError> {
    match outcome {
        Ok(()) => Ok(Ok(())),
        Err(Fail::Reason(r)) => Ok(Err(r)),
        Err(Fail::Store(e)) => Err(e),
    }
}

/// Runs `action` by `actor` on `overlay` (see the module docs of
/// [`rustchain_primitives::bounty`] for the rules). On `Ok(Err(reason))` the overlay holds a
/// partial attempt and must be dropped.
pub fn apply<S: BountyState + ?Sized>(
    overlay: &mut Overlay<'_, S>,
    ctx: &BountyContext,
    actor: Address,
    action: &BountyAction,
) -> Result<Result<(), FailureReason>, StoreError> {
    split(match action {
        BountyAction::Post {
            title,
            url,
            amount,
            deadline,
            approvers,
        } => post(
            overlay, ctx, actor, title, url, *amount, *deadline, *approvers,
        ),
        BountyAction::Fund { bounty, amount } => fund(overlay, actor, *bounty, *amount),
        BountyAction::Claim { bounty, claimant } => claim(overlay, ctx, actor, *bounty, *claimant),
        BountyAction::Submit {
            claim,
            pull_request,
        } => submit(overlay, ctx, actor, *claim, pull_request),
        BountyAction::Approve { claim } => approve(overlay, ctx, actor, *claim),
        BountyAction::Reject { claim } => reject(overlay, ctx, actor, *claim),
        BountyAction::Cancel { bounty } => cancel(overlay, ctx, actor, *bounty),
    })
}

fn load_bounty<S: BountyState + ?Sized>(o: &Overlay<'_, S>, id: BountyId) -> Outcome<Bounty> {
    o.get(&StateKey::Bounty(id))?
        .ok_or(Fail::Reason(FailureReason::UnknownBounty(id)))
}

fn load_claim<S: BountyState + ?Sized>(o: &Overlay<'_, S>, id: ClaimId) -> Outcome<Claim> {
    o.get(&StateKey::BountyClaim(id))?
        .ok_or(Fail::Reason(FailureReason::UnknownBountyClaim(id)))
}

/// The bounty of an existing claim (its absence is corruption).
fn bounty_of<S: BountyState + ?Sized>(o: &Overlay<'_, S>, claim: &Claim) -> Outcome<Bounty> {
    o.get(&StateKey::Bounty(claim.bounty))?.ok_or_else(|| {
        corrupt(format!(
            "claim {} names bounty {}, which does not exist",
            claim.id, claim.bounty
        ))
        .into()
    })
}

fn require_open(bounty: &Bounty) -> Outcome<()> {
    match bounty.status {
        BountyStatus::Open => Ok(()),
        status => Err(Fail::Reason(FailureReason::BountyNotOpen {
            bounty: bounty.id,
            status,
        })),
    }
}

#[allow(clippy::too_many_arguments)]
fn post<S: BountyState + ?Sized>(
    o: &mut Overlay<'_, S>,
    ctx: &BountyContext,
    sponsor: Address,
    title: &str,
    url: &str,
    amount: Amount,
    deadline: u64,
    approvers: Address,
) -> Outcome<()> {
    let min = ctx.height.saturating_add(1);
    let max = ctx.height.saturating_add(ctx.params.max_duration);
    if deadline < min || deadline > max {
        return Err(FailureReason::BountyDeadlineOutOfRange { deadline, min, max }.into());
    }
    let mut counters: BountyCounters = o.get(&StateKey::BountyCounters)?.unwrap_or_default();
    let id = counters
        .bounties
        .checked_add(1)
        .ok_or(Fail::Reason(FailureReason::BountyIdsExhausted))?;
    o.move_funds(sponsor, escrow_address(), amount)?;
    counters.bounties = id;
    o.put(StateKey::BountyCounters, &counters);
    o.put(
        StateKey::Bounty(id),
        &Bounty {
            id,
            sponsor,
            title: title.to_owned(),
            url: url.to_owned(),
            approvers,
            amount,
            deadline,
            posted_at: ctx.height,
            status: BountyStatus::Open,
            claims: 0,
            open_claims: Vec::new(),
        },
    );
    o.events.push(Event::BountyPosted {
        bounty: id,
        sponsor,
        approvers,
        amount,
        deadline,
    });
    Ok(())
}

fn fund<S: BountyState + ?Sized>(
    o: &mut Overlay<'_, S>,
    actor: Address,
    id: BountyId,
    amount: Amount,
) -> Outcome<()> {
    let mut bounty = load_bounty(o, id)?;
    require_open(&bounty)?;
    if actor != bounty.sponsor {
        return Err(FailureReason::NotBountySponsor {
            bounty: id,
            sponsor: bounty.sponsor,
        }
        .into());
    }
    let total = bounty
        .amount
        .checked_add(amount)
        .ok_or(Fail::Reason(FailureReason::BalanceOverflow))?;
    o.move_funds(actor, escrow_address(), amount)?;
    bounty.amount = total;
    o.put(StateKey::Bounty(id), &bounty);
    o.events.push(Event::BountyFunded {
        bounty: id,
        amount,
        total,
    });
    Ok(())
}

fn claim<S: BountyState + ?Sized>(
    o: &mut Overlay<'_, S>,
    ctx: &BountyContext,
    claimer: Address,
    id: BountyId,
    claimant: Address,
) -> Outcome<()> {
    let params = &ctx.params;
    if claimant == escrow_address() {
        // Paying the escrow itself would leave the reward in escrow, owed to nobody.
        return Err(FailureReason::BountyEscrowReserved.into());
    }
    let mut bounty = load_bounty(o, id)?;
    require_open(&bounty)?;
    if ctx.height >= bounty.deadline {
        return Err(FailureReason::BountyDeadlinePassed {
            bounty: id,
            deadline: bounty.deadline,
        }
        .into());
    }
    if let Some(open) = bounty.open_claims.iter().find(|c| c.claimer == claimer) {
        return Err(FailureReason::BountyAlreadyClaimed {
            bounty: id,
            claim: open.claim,
        }
        .into());
    }
    if bounty.open_claims.len() >= params.max_open_claims_per_bounty as usize {
        return Err(FailureReason::BountyClaimsFull {
            bounty: id,
            cap: params.max_open_claims_per_bounty,
        }
        .into());
    }
    let mut record: ClaimerRecord = o
        .get(&StateKey::BountyClaimer(claimer))?
        .unwrap_or_default();
    if record.open_claims >= params.max_open_claims_per_account {
        return Err(FailureReason::BountyClaimCap {
            cap: params.max_open_claims_per_account,
        }
        .into());
    }
    let mut counters: BountyCounters = o.get(&StateKey::BountyCounters)?.unwrap_or_default();
    let claim_id = counters
        .claims
        .checked_add(1)
        .ok_or(Fail::Reason(FailureReason::BountyIdsExhausted))?;
    let bond = params.claim_bond;
    o.move_funds(claimer, escrow_address(), bond)?;
    // After this block (`deadline > height`), so the expiry index entry is always ahead of the
    // expiry processing, even with a zero claim window.
    let expires_at = ctx
        .height
        .saturating_add(params.claim_window.max(1))
        .min(bounty.deadline);
    // Index the claim under its bounty and under its expiry height.
    o.put(StateKey::BountyClaimOf(id, bounty.claims), &claim_id);
    bounty.claims = bounty
        .claims
        .checked_add(1)
        .ok_or(Fail::Reason(FailureReason::BountyIdsExhausted))?;
    let due: u64 = o
        .get(&StateKey::BountyExpiryCount(expires_at))?
        .unwrap_or(0);
    o.put(StateKey::BountyExpiryAt(expires_at, due), &claim_id);
    let due = due
        .checked_add(1)
        .ok_or(Fail::Reason(FailureReason::BountyIdsExhausted))?;
    o.put(StateKey::BountyExpiryCount(expires_at), &due);
    bounty.open_claims.push(OpenClaim {
        claim: claim_id,
        claimer,
    });
    o.put(StateKey::Bounty(id), &bounty);
    // Below the cap, so no overflow.
    record.open_claims = record.open_claims.saturating_add(1);
    o.put(StateKey::BountyClaimer(claimer), &record);
    counters.claims = claim_id;
    o.put(StateKey::BountyCounters, &counters);
    o.put(
        StateKey::BountyClaim(claim_id),
        &Claim {
            id: claim_id,
            bounty: id,
            claimer,
            claimant,
            bond,
            claimed_at: ctx.height,
            expires_at,
            pull_request: None,
            submitted_at: None,
            status: ClaimStatus::Claimed,
            ended_at: None,
        },
    );
    o.events.push(Event::BountyClaimed {
        bounty: id,
        claim: claim_id,
        claimer,
        claimant,
        bond,
        expires_at,
    });
    Ok(())
}

fn submit<S: BountyState + ?Sized>(
    o: &mut Overlay<'_, S>,
    ctx: &BountyContext,
    actor: Address,
    id: ClaimId,
    pull_request: &str,
) -> Outcome<()> {
    let mut claim = load_claim(o, id)?;
    if actor != claim.claimer {
        return Err(FailureReason::NotBountyClaimer {
            claim: id,
            claimer: claim.claimer,
        }
        .into());
    }
    if claim.status != ClaimStatus::Claimed {
        return Err(FailureReason::BountyClaimState {
            claim: id,
            status: claim.status,
        }
        .into());
    }
    if ctx.height >= claim.expires_at {
        return Err(FailureReason::BountyClaimExpired {
            claim: id,
            expires_at: claim.expires_at,
        }
        .into());
    }
    let bounty = bounty_of(o, &claim)?;
    require_open(&bounty)?;
    claim.status = ClaimStatus::Submitted;
    claim.pull_request = Some(pull_request.to_owned());
    claim.submitted_at = Some(ctx.height);
    o.put(StateKey::BountyClaim(id), &claim);
    o.events.push(Event::BountySubmitted {
        bounty: bounty.id,
        claim: id,
    });
    Ok(())
}

/// Ends an open claim with `status`, paying its bond from escrow to `bond_to`, and takes it off
/// the claimer's count. The caller removes it from the bounty's open claims and emits the
/// status event; this emits the bond event.
fn end_claim<S: BountyState + ?Sized>(
    o: &mut Overlay<'_, S>,
    ctx: &BountyContext,
    claim: &mut Claim,
    status: ClaimStatus,
    bond_to: Address,
) -> Outcome<()> {
    o.move_funds(escrow_address(), bond_to, claim.bond)?;
    claim.status = status;
    claim.ended_at = Some(ctx.height);
    o.put(StateKey::BountyClaim(claim.id), &*claim);
    let key = StateKey::BountyClaimer(claim.claimer);
    let mut record: ClaimerRecord = o.get(&key)?.unwrap_or_default();
    record.open_claims = record.open_claims.checked_sub(1).ok_or_else(|| {
        Fail::Store(corrupt(format!(
            "claimer of claim {} has no open claim on record",
            claim.id
        )))
    })?;
    o.put(key, &record);
    o.events.push(if status == ClaimStatus::Rejected {
        Event::BountyBondForfeited {
            claim: claim.id,
            to: bond_to,
            amount: claim.bond,
        }
    } else {
        Event::BountyBondRefunded {
            claim: claim.id,
            to: bond_to,
            amount: claim.bond,
        }
    });
    Ok(())
}

/// Closes every open claim of `bounty` except `except`, refunding their bonds.
fn close_open_claims<S: BountyState + ?Sized>(
    o: &mut Overlay<'_, S>,
    ctx: &BountyContext,
    bounty: &mut Bounty,
    except: Option<ClaimId>,
) -> Outcome<()> {
    for open in std::mem::take(&mut bounty.open_claims) {
        if Some(open.claim) == except {
            continue;
        }
        let mut claim = o.get(&StateKey::BountyClaim(open.claim))?.ok_or_else(|| {
            Fail::Store(corrupt(format!(
                "bounty {} lists open claim {}, which does not exist",
                bounty.id, open.claim
            )))
        })?;
        o.events.push(Event::BountyClaimClosed {
            bounty: bounty.id,
            claim: open.claim,
        });
        let to = open.claimer;
        end_claim(o, ctx, &mut claim, ClaimStatus::Closed, to)?;
    }
    Ok(())
}

fn remove_open(bounty: &mut Bounty, claim: ClaimId) {
    bounty.open_claims.retain(|c| c.claim != claim);
}

/// Loads a claim and its bounty for an approvers' decision: the actor must be the approvers
/// and the bounty open.
fn for_approvers<S: BountyState + ?Sized>(
    o: &Overlay<'_, S>,
    actor: Address,
    id: ClaimId,
) -> Outcome<(Claim, Bounty)> {
    let claim = load_claim(o, id)?;
    let bounty = bounty_of(o, &claim)?;
    if actor != bounty.approvers {
        return Err(FailureReason::NotBountyApprovers {
            bounty: bounty.id,
            approvers: bounty.approvers,
        }
        .into());
    }
    require_open(&bounty)?;
    Ok((claim, bounty))
}

fn approve<S: BountyState + ?Sized>(
    o: &mut Overlay<'_, S>,
    ctx: &BountyContext,
    actor: Address,
    id: ClaimId,
) -> Outcome<()> {
    let (mut claim, mut bounty) = for_approvers(o, actor, id)?;
    if claim.status != ClaimStatus::Submitted {
        return Err(FailureReason::BountyClaimState {
            claim: id,
            status: claim.status,
        }
        .into());
    }
    o.move_funds(escrow_address(), claim.claimant, bounty.amount)?;
    o.events.push(Event::BountyPaid {
        bounty: bounty.id,
        claim: id,
        to: claim.claimant,
        amount: bounty.amount,
    });
    let claimer = claim.claimer;
    end_claim(o, ctx, &mut claim, ClaimStatus::Approved, claimer)?;
    close_open_claims(o, ctx, &mut bounty, Some(id))?;
    bounty.status = BountyStatus::Paid {
        claim: id,
        height: ctx.height,
    };
    o.put(StateKey::Bounty(bounty.id), &bounty);
    Ok(())
}

fn reject<S: BountyState + ?Sized>(
    o: &mut Overlay<'_, S>,
    ctx: &BountyContext,
    actor: Address,
    id: ClaimId,
) -> Outcome<()> {
    let (mut claim, mut bounty) = for_approvers(o, actor, id)?;
    match claim.status {
        ClaimStatus::Submitted => {}
        ClaimStatus::Claimed if ctx.height < claim.expires_at => {}
        ClaimStatus::Claimed => {
            return Err(FailureReason::BountyClaimExpired {
                claim: id,
                expires_at: claim.expires_at,
            }
            .into())
        }
        status => return Err(FailureReason::BountyClaimState { claim: id, status }.into()),
    }
    o.events.push(Event::BountyClaimRejected {
        bounty: bounty.id,
        claim: id,
    });
    end_claim(o, ctx, &mut claim, ClaimStatus::Rejected, bounty.sponsor)?;
    remove_open(&mut bounty, id);
    o.put(StateKey::Bounty(bounty.id), &bounty);
    Ok(())
}

fn cancel<S: BountyState + ?Sized>(
    o: &mut Overlay<'_, S>,
    ctx: &BountyContext,
    actor: Address,
    id: BountyId,
) -> Outcome<()> {
    let mut bounty = load_bounty(o, id)?;
    require_open(&bounty)?;
    let h = ctx.height;
    let review_ends = bounty.deadline.checked_add(ctx.params.review_window);
    if review_ends.is_some_and(|end| h >= end) {
        // 3. after the review window: anyone, whatever the claims
    } else if h >= bounty.deadline {
        // 2. after the deadline: anyone, unless a submitted claim awaits review
        for open in &bounty.open_claims {
            let claim = o.get::<Claim>(&StateKey::BountyClaim(open.claim))?;
            if claim.is_some_and(|c| c.status == ClaimStatus::Submitted) {
                return Err(FailureReason::BountyUnderReview {
                    bounty: id,
                    claim: open.claim,
                    until: review_ends.unwrap_or(u64::MAX),
                }
                .into());
            }
        }
    } else {
        // 1. before the deadline: the sponsor, while nobody holds a claim
        if actor != bounty.sponsor {
            return Err(FailureReason::BountyCancelTooEarly {
                bounty: id,
                deadline: bounty.deadline,
            }
            .into());
        }
        if !bounty.open_claims.is_empty() {
            return Err(FailureReason::BountyHasOpenClaims {
                bounty: id,
                open: u32::try_from(bounty.open_claims.len()).unwrap_or(u32::MAX),
            }
            .into());
        }
    }
    o.move_funds(escrow_address(), bounty.sponsor, bounty.amount)?;
    o.events.push(Event::BountyCancelled {
        bounty: id,
        refunded: bounty.amount,
        to: bounty.sponsor,
    });
    close_open_claims(o, ctx, &mut bounty, None)?;
    bounty.status = BountyStatus::Cancelled { height: h };
    o.put(StateKey::Bounty(id), &bounty);
    Ok(())
}

/// Processes the claims due to expire up to `ctx.height` (see "Expiry" in
/// [`rustchain_primitives::bounty`]): at most `max_expiry_steps_per_block` steps, resuming from
/// the stored cursor if an earlier block left a backlog. Runs at the start of every block.
pub fn expire_claims<S: BountyState + ?Sized>(
    o: &mut Overlay<'_, S>,
    ctx: &BountyContext,
) -> Result<(), StoreError> {
    let stored: Option<ExpiryCursor> = o
        .get::<Option<ExpiryCursor>>(&StateKey::BountyExpiryCursor)?
        .flatten();
    let mut pos = stored.unwrap_or(ExpiryCursor {
        height: ctx.height,
        index: 0,
    });
    let mut steps = 0u32;
    while pos.height <= ctx.height && steps < ctx.params.max_expiry_steps_per_block {
        steps += 1;
        let due: u64 = o
            .get(&StateKey::BountyExpiryCount(pos.height))?
            .unwrap_or(0);
        if pos.index < due {
            let id: ClaimId = o
                .get(&StateKey::BountyExpiryAt(pos.height, pos.index))?
                .ok_or_else(|| {
                    corrupt(format!(
                        "expiry entry {} of height {} is missing",
                        pos.index, pos.height
                    ))
                })?;
            expire_one(o, ctx, id)?;
            pos.index += 1; // below `due`, a u64
        } else {
            let Some(next) = pos.height.checked_add(1) else {
                break;
            };
            pos = ExpiryCursor {
                height: next,
                index: 0,
            };
        }
    }
    let cursor = (pos.height <= ctx.height).then_some(pos);
    if cursor != stored {
        o.put(StateKey::BountyExpiryCursor, &cursor);
    }
    Ok(())
}

fn expire_one<S: BountyState + ?Sized>(
    o: &mut Overlay<'_, S>,
    ctx: &BountyContext,
    id: ClaimId,
) -> Result<(), StoreError> {
    let mut claim: Claim = o
        .get(&StateKey::BountyClaim(id))?
        .ok_or_else(|| corrupt(format!("claim {id} in the expiry index does not exist")))?;
    if claim.status != ClaimStatus::Claimed {
        return Ok(()); // submitted or already ended
    }
    let outcome = (|| {
        let mut bounty = bounty_of(o, &claim)?;
        if bounty.status != BountyStatus::Open {
            return Err(Fail::Store(corrupt(format!(
                "claim {id} is open but its bounty {} is not",
                bounty.id
            ))));
        }
        o.events.push(Event::BountyClaimExpired {
            bounty: bounty.id,
            claim: id,
        });
        let claimer = claim.claimer;
        end_claim(o, ctx, &mut claim, ClaimStatus::Expired, claimer)?;
        remove_open(&mut bounty, id);
        o.put(StateKey::Bounty(bounty.id), &bounty);
        Ok(())
    })();
    match outcome {
        Ok(()) => Ok(()),
        Err(Fail::Store(e)) => Err(e),
        // Moving a bond out of escrow to its payer cannot fail for a user reason (an overflow
        // of the payer's balance is impossible under the supply cap).
        Err(Fail::Reason(r)) => Err(corrupt(format!("expiring claim {id} failed: {r}"))),
    }
}

/// Reads a bounty.
pub fn bounty<R: StateReader + ?Sized>(
    reader: &R,
    id: BountyId,
) -> Result<Option<Bounty>, StoreError> {
    read(reader, &StateKey::Bounty(id))
}

/// Reads a claim.
pub fn claim_record<R: StateReader + ?Sized>(
    reader: &R,
    id: ClaimId,
) -> Result<Option<Claim>, StoreError> {
    read(reader, &StateKey::BountyClaim(id))
}

/// The id counters (how many bounties and claims exist; ids are `1..=count`).
pub fn counters<R: StateReader + ?Sized>(reader: &R) -> Result<BountyCounters, StoreError> {
    Ok(read(reader, &StateKey::BountyCounters)?.unwrap_or_default())
}

/// The ids of a bounty's claims, oldest first, from `start` (an index, not an id), at most
/// `limit`.
pub fn claims_of<R: StateReader + ?Sized>(
    reader: &R,
    bounty: &Bounty,
    start: u64,
    limit: u64,
) -> Result<Vec<ClaimId>, StoreError> {
    let end = bounty.claims.min(start.saturating_add(limit));
    let mut out = Vec::new();
    for i in start..end {
        let id = read(reader, &StateKey::BountyClaimOf(bounty.id, i))?.ok_or_else(|| {
            corrupt(format!(
                "claim index {i} of bounty {} is missing",
                bounty.id
            ))
        })?;
        out.push(id);
    }
    Ok(out)
}

/// An account's open claims (for the per-account cap).
pub fn claimer_record<R: StateReader + ?Sized>(
    reader: &R,
    address: &Address,
) -> Result<ClaimerRecord, StoreError> {
    Ok(read(reader, &StateKey::BountyClaimer(*address))?.unwrap_or_default())
}

/// The expiry backlog, if a block left one.
pub fn expiry_cursor<R: StateReader + ?Sized>(
    reader: &R,
) -> Result<Option<ExpiryCursor>, StoreError> {
    Ok(read::<_, Option<ExpiryCursor>>(reader, &StateKey::BountyExpiryCursor)?.flatten())
}

fn read<R: StateReader + ?Sized, T: BorshDeserialize>(
    reader: &R,
    key: &StateKey,
) -> Result<Option<T>, StoreError> {
    reader.entry(key)?.map(|b| decode_value(&b)).transpose()
}

/// What [`audit`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BountyAudit {
    /// The escrow's balance.
    pub escrow: Amount,
    /// Σ amount of Open bounties.
    pub open_amounts: Amount,
    /// Σ bond of open claims.
    pub open_bonds: Amount,
    /// Bounties in state.
    pub bounties: u64,
    /// Claims in state.
    pub claims: u64,
}

/// Checks every bounty invariant by reading *every* bounty and claim (for tests and operator
/// tooling, not for block execution): the escrow balance equals the open amounts plus the open
/// bonds; each open claim is listed by its open bounty and each listed claim is open; each
/// claimer's count equals its open claims and respects the caps; a Paid bounty has exactly one
/// Approved claim, the one it names, and no other bounty has any. Returns what is wrong.
pub fn audit<R: StateReader + ?Sized>(
    reader: &R,
    params: &BountyParams,
) -> Result<Result<BountyAudit, String>, StoreError> {
    let counters = counters(reader)?;
    let mut open_amounts = Amount::ZERO;
    let mut open_bonds = Amount::ZERO;
    let mut bounties = BTreeMap::new();
    for id in 1..=counters.bounties {
        let Some(b) = bounty(reader, id)? else {
            return Ok(Err(format!("bounty {id} is missing")));
        };
        if b.id != id {
            return Ok(Err(format!("bounty {id} records id {}", b.id)));
        }
        if b.status == BountyStatus::Open {
            let Some(sum) = open_amounts.checked_add(b.amount) else {
                return Ok(Err("open amounts overflow".into()));
            };
            open_amounts = sum;
        } else if !b.open_claims.is_empty() {
            return Ok(Err(format!("ended bounty {id} lists open claims")));
        }
        if b.open_claims.len() > params.max_open_claims_per_bounty as usize {
            return Ok(Err(format!("bounty {id} has too many open claims")));
        }
        bounties.insert(id, b);
    }
    let mut per_claimer: BTreeMap<Address, u32> = BTreeMap::new();
    let mut approved: BTreeMap<BountyId, ClaimId> = BTreeMap::new();
    for id in 1..=counters.claims {
        let Some(c) = claim_record(reader, id)? else {
            return Ok(Err(format!("claim {id} is missing")));
        };
        let Some(b) = bounties.get(&c.bounty) else {
            return Ok(Err(format!("claim {id} names unknown bounty {}", c.bounty)));
        };
        let listed = b
            .open_claims
            .iter()
            .any(|o| o.claim == id && o.claimer == c.claimer);
        per_claimer.entry(c.claimer).or_default();
        if c.status.is_open() {
            if b.status != BountyStatus::Open || !listed {
                return Ok(Err(format!(
                    "open claim {id} is not listed by an open bounty"
                )));
            }
            let Some(sum) = open_bonds.checked_add(c.bond) else {
                return Ok(Err("open bonds overflow".into()));
            };
            open_bonds = sum;
            let n = per_claimer.entry(c.claimer).or_default();
            *n = n.saturating_add(1);
        } else if listed {
            return Ok(Err(format!("ended claim {id} is still listed as open")));
        }
        if c.status == ClaimStatus::Approved && approved.insert(c.bounty, id).is_some() {
            return Ok(Err(format!("bounty {} has two approved claims", c.bounty)));
        }
    }
    for (id, b) in &bounties {
        let paid_claim = match b.status {
            BountyStatus::Paid { claim, .. } => Some(claim),
            _ => None,
        };
        if paid_claim != approved.get(id).copied() {
            return Ok(Err(format!(
                "bounty {id} is {} but its approved claim is {:?}",
                b.status,
                approved.get(id)
            )));
        }
        let mut claimers: Vec<Address> = b.open_claims.iter().map(|o| o.claimer).collect();
        claimers.sort_unstable();
        claimers.dedup();
        if claimers.len() != b.open_claims.len() {
            return Ok(Err(format!(
                "bounty {id} has two open claims by one claimer"
            )));
        }
    }
    let listed: usize = bounties.values().map(|b| b.open_claims.len()).sum();
    let counted: u64 = per_claimer.values().map(|n| u64::from(*n)).sum();
    if listed as u64 != counted {
        return Ok(Err(format!(
            "{listed} open claims listed, {counted} open claims exist"
        )));
    }
    for (claimer, n) in &per_claimer {
        let record = claimer_record(reader, claimer)?;
        if record.open_claims != *n || *n > params.max_open_claims_per_account {
            return Ok(Err(format!(
                "claimer {claimer:?} has {n} open claims, its record says {}",
                record.open_claims
            )));
        }
    }
    let escrow = reader.account(&escrow_address())?.balance;
    if Some(escrow) != open_amounts.checked_add(open_bonds) {
        return Ok(Err(format!(
            "escrow holds {escrow}, open bounties {open_amounts} + open bonds {open_bonds}"
        )));
    }
    Ok(Ok(BountyAudit {
        escrow,
        open_amounts,
        open_bonds,
        bounties: counters.bounties,
        claims: counters.claims,
    }))
}

#[cfg(test)]
mod tests {
    //! Executor-level tests over an in-memory state with tiny parameters, so expiry backlogs,
    //! review windows and caps are reached in a few blocks.

    use super::*;
    use crate::execution::BlockExecutor;
    use crate::rip200::{EpochMiner, EpochSummary, MinerRecord, Rip200Totals};
    use crate::rules::TxRules;
    use crate::validators::ValidatorRecord;
    use proptest::prelude::*;
    use rustchain_primitives::{
        ChainId, Hash, KeyPair, PublicKey, Receipt, TxBody, TxPayload, TxStatus,
    };

    #[derive(Default)]
    struct Mem {
        accounts: BTreeMap<Address, Account>,
        entries: BTreeMap<StateKey, Vec<u8>>,
    }

    impl StateReader for Mem {
        fn account(&self, address: &Address) -> Result<Account, StoreError> {
            Ok(self.accounts.get(address).copied().unwrap_or_default())
        }
        fn validator(&self, _: &PublicKey) -> Result<ValidatorRecord, StoreError> {
            Ok(ValidatorRecord::default())
        }
        fn offence_punished(&self, _: &Hash) -> Result<bool, StoreError> {
            Ok(false)
        }
        fn entry(&self, key: &StateKey) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(self.entries.get(key).cloned())
        }
        fn epoch_summary(&self, _: u64) -> Result<Option<EpochSummary>, StoreError> {
            Ok(None)
        }
        fn epoch_miner(&self, _: u64, _: &PublicKey) -> Result<Option<EpochMiner>, StoreError> {
            Ok(None)
        }
        fn epoch_miner_at(&self, _: u64, _: u64) -> Result<Option<PublicKey>, StoreError> {
            Ok(None)
        }
        fn miner_record(&self, _: &PublicKey) -> Result<Option<MinerRecord>, StoreError> {
            Ok(None)
        }
        fn rip200_totals(&self) -> Result<Rip200Totals, StoreError> {
            Ok(Rip200Totals::default())
        }
    }

    const FEE: u64 = 10;
    const BOND: u64 = 100;

    fn params() -> BountyParams {
        BountyParams {
            claim_bond: Amount::from_base_units(BOND),
            max_open_claims_per_account: 2,
            max_open_claims_per_bounty: 3,
            claim_window: 3,
            review_window: 3,
            max_duration: 12,
            max_expiry_steps_per_block: 3,
        }
    }

    fn rules() -> TxRules {
        TxRules {
            chain_id: ChainId::new("dev-bounty-unit").unwrap(),
            min_fee: Amount::from_base_units(FEE),
        }
    }

    fn key(i: u8) -> KeyPair {
        KeyPair::from_secret_bytes(&[i + 1; 32]).unwrap()
    }

    fn address(i: u8) -> Address {
        Address::from_public_key(&key(i).public_key())
    }

    struct Sim {
        state: Mem,
        height: u64,
        params: BountyParams,
    }

    impl Sim {
        fn new(actors: u8, balance: u64, params: BountyParams) -> Sim {
            let mut state = Mem::default();
            for i in 0..actors {
                state.accounts.insert(
                    address(i),
                    Account {
                        balance: Amount::from_base_units(balance),
                        nonce: 0,
                    },
                );
            }
            Sim {
                state,
                height: 0,
                params,
            }
        }

        /// Executes a block (expiry first, then the transactions, each from a distinct sender
        /// or with consecutive nonces), merges it and audits. Returns the transactions'
        /// receipts and the expiry receipt.
        fn block(&mut self, payloads: Vec<(u8, TxPayload)>) -> (Vec<Receipt>, Option<Receipt>) {
            self.height += 1;
            let rules = rules();
            let proposer = key(200).public_key();
            let mut nonces: BTreeMap<u8, u64> = BTreeMap::new();
            let output = {
                let mut ex = BlockExecutor::new(&self.state, &rules, &proposer)
                    .at_height(self.height)
                    .with_bounty_params(self.params);
                ex.expire_bounty_claims().unwrap();
                for (from, payload) in payloads {
                    let n = nonces
                        .entry(from)
                        .or_insert_with(|| self.state.account(&address(from)).unwrap().nonce);
                    let k = key(from);
                    let tx = TxBody {
                        chain_id: rules.chain_id.clone(),
                        sender: k.public_key(),
                        nonce: *n,
                        fee: Amount::from_base_units(FEE),
                        payload,
                    }
                    .sign(&k);
                    if ex.apply(&tx).unwrap().is_ok() {
                        *n += 1;
                    }
                }
                ex.finish()
            };
            self.state.accounts.extend(output.changed);
            self.state.entries.extend(output.entries);
            audit(&self.state, &self.params)
                .unwrap()
                .unwrap_or_else(|e| panic!("invariant broken at height {}: {e}", self.height));
            (output.receipts, output.bounty_receipt)
        }

        fn total(&self) -> u64 {
            self.state
                .accounts
                .values()
                .map(|a| a.balance.base_units())
                .sum()
        }
    }

    fn post(amount: u64, deadline: u64, approvers: Address) -> TxPayload {
        TxPayload::BountyPost {
            title: "t".into(),
            url: "https://x/1".into(),
            amount: Amount::from_base_units(amount),
            deadline,
            approvers,
        }
    }

    #[test]
    fn an_expiry_flood_is_processed_a_bounded_number_per_block_and_drains() {
        let mut params = params();
        params.max_open_claims_per_bounty = 16;
        let mut sim = Sim::new(9, 1_000_000, params);
        sim.block(vec![(0, post(5_000, 12, address(8)))]);
        // Seven claims in block 2, all due at block 5.
        let claims: Vec<(u8, TxPayload)> = (1..=7)
            .map(|i| {
                (
                    i,
                    TxPayload::BountyClaim {
                        bounty: 1,
                        claimant: address(i),
                    },
                )
            })
            .collect();
        let (receipts, _) = sim.block(claims);
        assert!(receipts.iter().all(Receipt::is_success));
        sim.block(vec![]);
        sim.block(vec![]);
        let expired = |r: &Option<Receipt>| {
            r.as_ref().map_or(0, |r| {
                r.events
                    .iter()
                    .filter(|e| matches!(e, Event::BountyClaimExpired { .. }))
                    .count()
            })
        };
        // Block 5: three of seven (one step each), the rest wait behind the cursor.
        let (_, r) = sim.block(vec![]);
        assert_eq!(expired(&r), 3);
        assert_eq!(
            expiry_cursor(&sim.state).unwrap(),
            Some(ExpiryCursor {
                height: 5,
                index: 3
            })
        );
        // A claim due but not yet processed counts as expired: it cannot be submitted.
        let (receipts, r) = sim.block(vec![(
            7,
            TxPayload::BountySubmit {
                claim: 7,
                pull_request: "pr".into(),
            },
        )]);
        assert_eq!(expired(&r), 3);
        assert_eq!(
            receipts[0].status,
            TxStatus::Failed(FailureReason::BountyClaimExpired {
                claim: 7,
                expires_at: 5
            })
        );
        // Block 7: the last one, then the cursor walks on; block 8 catches up and clears it.
        let (_, r) = sim.block(vec![]);
        assert_eq!(expired(&r), 1);
        assert!(expiry_cursor(&sim.state).unwrap().is_some());
        sim.block(vec![]);
        assert_eq!(expiry_cursor(&sim.state).unwrap(), None);
        for id in 1..=7 {
            assert_eq!(
                claim_record(&sim.state, id).unwrap().unwrap().status,
                ClaimStatus::Expired
            );
        }
        // Without a backlog, an empty block writes nothing at all.
        let before = sim.state.entries.clone();
        sim.block(vec![]);
        assert_eq!(sim.state.entries, before);
    }

    #[test]
    fn a_payout_during_a_backlog_closes_overdue_claims_with_refunds() {
        let mut params = params();
        params.max_expiry_steps_per_block = 1;
        let mut sim = Sim::new(5, 1_000_000, params);
        sim.block(vec![(0, post(5_000, 12, address(4)))]);
        sim.block(vec![
            (
                1,
                TxPayload::BountyClaim {
                    bounty: 1,
                    claimant: address(1),
                },
            ),
            (
                2,
                TxPayload::BountyClaim {
                    bounty: 1,
                    claimant: address(2),
                },
            ),
            (
                3,
                TxPayload::BountyClaim {
                    bounty: 1,
                    claimant: address(3),
                },
            ),
        ]);
        sim.block(vec![(
            3,
            TxPayload::BountySubmit {
                claim: 3,
                pull_request: "pr".into(),
            },
        )]);
        sim.block(vec![]);
        // Block 5: claims 1 and 2 are due; one step per block expires claim 1 only. The
        // approval in the same block closes claim 2 (overdue) with its bond refunded.
        let before = sim.state.account(&address(2)).unwrap().balance;
        let (receipts, r) = sim.block(vec![(4, TxPayload::BountyApprove { claim: 3 })]);
        assert_eq!(r.unwrap().events.len(), 2, "one expiry and its refund");
        assert!(receipts[0].is_success(), "{receipts:?}");
        assert!(receipts[0].events.contains(&Event::BountyClaimClosed {
            bounty: 1,
            claim: 2
        }));
        assert_eq!(
            sim.state.account(&address(2)).unwrap().balance,
            before.checked_add(Amount::from_base_units(BOND)).unwrap()
        );
        // The cursor then skips the closed claim without effect.
        let (_, r) = sim.block(vec![]);
        assert!(r.is_none());
    }

    /// A random operation. `pick` chooses an id among the existing ones (or one just out of
    /// range); `honest` sends it from the account entitled to it (sponsor, claimer, approvers)
    /// instead of `by`, so that the deep paths (submit, approve, reject, cancel) are reached.
    #[derive(Debug, Clone)]
    enum Op {
        Post {
            by: u8,
            amount: u64,
            deadline_in: u64,
            approver: u8,
        },
        Fund {
            by: u8,
            pick: u64,
            amount: u64,
            honest: bool,
        },
        Claim {
            by: u8,
            pick: u64,
            claimant: u8,
        },
        Submit {
            by: u8,
            pick: u64,
            honest: bool,
        },
        Approve {
            by: u8,
            pick: u64,
            honest: bool,
        },
        Reject {
            by: u8,
            pick: u64,
            honest: bool,
        },
        Cancel {
            by: u8,
            pick: u64,
            honest: bool,
        },
    }

    const ACTORS: u8 = 4;

    fn op() -> impl Strategy<Value = Op> {
        let by = 0..ACTORS;
        let pick = any::<u64>();
        prop_oneof![
            2 => (by.clone(), 1u64..5_000, 1u64..14, 0..ACTORS).prop_map(
                |(by, amount, deadline_in, approver)| Op::Post { by, amount, deadline_in, approver }
            ),
            1 => (by.clone(), pick, 1u64..500, any::<bool>())
                .prop_map(|(by, pick, amount, honest)| Op::Fund { by, pick, amount, honest }),
            4 => (by.clone(), pick, 0..=ACTORS)
                .prop_map(|(by, pick, claimant)| Op::Claim { by, pick, claimant }),
            3 => (by.clone(), pick, any::<bool>())
                .prop_map(|(by, pick, honest)| Op::Submit { by, pick, honest }),
            3 => (by.clone(), pick, any::<bool>())
                .prop_map(|(by, pick, honest)| Op::Approve { by, pick, honest }),
            1 => (by.clone(), pick, any::<bool>())
                .prop_map(|(by, pick, honest)| Op::Reject { by, pick, honest }),
            1 => (by, pick, any::<bool>())
                .prop_map(|(by, pick, honest)| Op::Cancel { by, pick, honest }),
        ]
    }

    /// An id in `0..=count + 1` (0 and `count + 1` do not exist).
    fn choose(pick: u64, count: u64) -> u64 {
        pick % count.saturating_add(2)
    }

    impl Sim {
        fn actor(&self, address: Address) -> Option<u8> {
            (0..ACTORS).find(|i| self::address(*i) == address)
        }

        /// The sender and payload of `op` against the current state.
        fn resolve(&self, op: &Op) -> (u8, TxPayload) {
            let c = counters(&self.state).unwrap();
            let h = self.height + 1;
            let sponsor_of = |id: u64| bounty(&self.state, id).unwrap().map(|b| b.sponsor);
            let approvers_of = |claim: u64| {
                claim_record(&self.state, claim)
                    .unwrap()
                    .and_then(|c| bounty(&self.state, c.bounty).unwrap())
                    .map(|b| b.approvers)
            };
            let claimer_of =
                |claim: u64| claim_record(&self.state, claim).unwrap().map(|c| c.claimer);
            let who = |by: u8, honest: bool, entitled: Option<Address>| {
                entitled
                    .filter(|_| honest)
                    .and_then(|a| self.actor(a))
                    .unwrap_or(by)
            };
            match op.clone() {
                Op::Post {
                    by,
                    amount,
                    deadline_in,
                    approver,
                } => (by, post(amount, h + deadline_in, address(approver))),
                Op::Fund {
                    by,
                    pick,
                    amount,
                    honest,
                } => {
                    let id = choose(pick, c.bounties);
                    (
                        who(by, honest, sponsor_of(id)),
                        TxPayload::BountyFund {
                            bounty: id,
                            amount: Amount::from_base_units(amount),
                        },
                    )
                }
                Op::Claim { by, pick, claimant } => (
                    by,
                    TxPayload::BountyClaim {
                        bounty: choose(pick, c.bounties),
                        claimant: if claimant == ACTORS {
                            escrow_address()
                        } else {
                            address(claimant)
                        },
                    },
                ),
                Op::Submit { by, pick, honest } => {
                    let id = choose(pick, c.claims);
                    (
                        who(by, honest, claimer_of(id)),
                        TxPayload::BountySubmit {
                            claim: id,
                            pull_request: "pr".into(),
                        },
                    )
                }
                Op::Approve { by, pick, honest } => {
                    let id = choose(pick, c.claims);
                    (
                        who(by, honest, approvers_of(id)),
                        TxPayload::BountyApprove { claim: id },
                    )
                }
                Op::Reject { by, pick, honest } => {
                    let id = choose(pick, c.claims);
                    (
                        who(by, honest, approvers_of(id)),
                        TxPayload::BountyReject { claim: id },
                    )
                }
                Op::Cancel { by, pick, honest } => {
                    let id = choose(pick, c.bounties);
                    (
                        who(by, honest, sponsor_of(id)),
                        TxPayload::BountyCancel { bounty: id },
                    )
                }
            }
        }
    }

    proptest! {
        /// With tiny windows, caps and a one-or-two-step expiry budget, every path (caps, both
        /// expiry kinds, backlogs, review windows, payouts, rejections, cancels) is reached; after
        /// every block the audit holds, balances are conserved, a failed payload changes nothing
        /// but the fee, and no bounty pays twice.
        #[test]
        fn invariants_hold_over_random_blocks(
            blocks in proptest::collection::vec(proptest::collection::vec(op(), 0..6), 1..40),
            steps in 1u32..3,
        ) {
            let mut p = params();
            p.max_expiry_steps_per_block = steps;
            p.claim_window = 6;
            let mut sim = Sim::new(ACTORS, 20_000, p);
            let supply = sim.total();
            let mut paid = std::collections::BTreeSet::new();
            for ops in blocks {
                let payloads: Vec<(u8, TxPayload)> = ops.iter().map(|op| sim.resolve(op)).collect();
                let (receipts, expiry) = sim.block(payloads);
                prop_assert_eq!(sim.total(), supply);
                for r in receipts.iter().chain(expiry.iter()) {
                    if !r.is_success() {
                        prop_assert_eq!(r.events.len(), 1);
                    }
                    for e in &r.events {
                        if let Event::BountyPaid { bounty, .. } = e {
                            prop_assert!(paid.insert(*bounty), "bounty {} paid twice", bounty);
                        }
                    }
                }
            }
            for id in 1..=counters(&sim.state).unwrap().bounties {
                let b = bounty(&sim.state, id).unwrap().unwrap();
                prop_assert_eq!(matches!(b.status, BountyStatus::Paid { .. }), paid.contains(&id));
            }
        }
    }
}
