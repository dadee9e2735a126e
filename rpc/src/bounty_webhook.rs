//! What a merged pull request does: the webhook receiver ([`crate::webhook`]) hands each
//! verified merge to [`BountyMergeHandler`], which pays the bounty claim that submitted it.
//!
//! 1. The claim: the most recent [`MAX_CLAIMS_SCANNED`] claims are searched for a `submitted`
//!    one whose pull request is the merged one (its URL, or `owner/repo#number`). None: nothing
//!    to do (answered 202 `ignored`).
//! 2. The bounty must be open; the payout is its amount to the claim's claimant.
//! 3. The approvers:
//!    - a key account whose key is in the embedded wallet: the payout is checked against the
//!      wallet's spending policy (a refusal is answered `refused_by_policy`, naming the rule,
//!      and nothing is signed), then a `BountyApprove` transaction is signed and submitted;
//!    - a multisig account: a partially signed `BountyApprove` call is created, approved with
//!      the wallet's signer key if it holds one (after the same policy check), finalized and
//!      submitted when that reaches the threshold, else written to
//!      `STATE_DIR/pending/claim-ID.rtcms` for the other approvers (`rustchain-wallet multisig
//!      sign`, `combine`, `finalize`, `submit`);
//!    - otherwise (no wallet, or not the approvers' key): answered `no_approver_key`.
//!
//! The handler runs once per delivery id; a submission the mempool refuses is an error (500),
//! so GitHub's redelivery can try again. A payout is exactly once by the chain's own rule: an
//! approved claim's bounty is paid and never pays again.

use std::path::PathBuf;

use rustchain_primitives::bounty::{BountyStatus, Claim, ClaimStatus};
use rustchain_primitives::{Address, MultisigAction, TxBody, TxPayload};
use rustchain_state::bounty as board;
use rustchain_wallet::multisig::PartialCall;

use crate::server::RpcContext;
use crate::webhook::{HandlerError, HandlerOutcome, MergeHandler, MergedPullRequest};

/// How many of the most recent claims are searched for a merged pull request.
pub const MAX_CLAIMS_SCANNED: u64 = 10_000;

/// Pays the claim of a merged pull request (see the module docs).
#[derive(Debug)]
pub struct BountyMergeHandler {
    ctx: RpcContext,
    pending_dir: PathBuf,
}

impl BountyMergeHandler {
    /// A handler over the node's chain, mempool and embedded wallet; partially signed calls go
    /// to `state_dir/pending`.
    pub fn new(ctx: RpcContext, state_dir: impl Into<PathBuf>) -> Self {
        BountyMergeHandler {
            ctx,
            pending_dir: state_dir.into().join("pending"),
        }
    }
}

fn fail(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::new(e.to_string())
}

/// Whether a claim's pull request reference names `pr`.
fn references(reference: &str, pr: &MergedPullRequest) -> bool {
    let norm = |s: &str| s.trim().trim_end_matches('/').to_ascii_lowercase();
    let reference = norm(reference);
    reference == norm(&pr.url)
        || reference == format!("{}#{}", pr.repository.to_ascii_lowercase(), pr.number)
}

impl BountyMergeHandler {
    fn find_claim(&self, pr: &MergedPullRequest) -> Result<Option<Claim>, HandlerError> {
        let state = self.ctx.chain.head_state();
        let last = board::counters(&state).map_err(fail)?.claims;
        let first = last.saturating_sub(MAX_CLAIMS_SCANNED - 1).max(1);
        let mut approved = None;
        for id in (first..=last).rev() {
            let Some(claim) = board::claim_record(&state, id).map_err(fail)? else {
                continue;
            };
            if !claim
                .pull_request
                .as_deref()
                .is_some_and(|r| references(r, pr))
            {
                continue;
            }
            match claim.status {
                ClaimStatus::Submitted => return Ok(Some(claim)),
                ClaimStatus::Approved => approved = Some(claim),
                _ => {}
            }
        }
        Ok(approved)
    }

    fn submit(&self, tx: rustchain_primitives::Transaction) -> Result<String, HandlerError> {
        let submitted = self.ctx.submit_transaction(tx).map_err(|e| {
            HandlerError::new(format!("the node refused the approval: {}", e.message()))
        })?;
        Ok(submitted.hash.to_string())
    }
}

impl MergeHandler for BountyMergeHandler {
    fn on_merged(&self, pr: MergedPullRequest) -> Result<HandlerOutcome, HandlerError> {
        let Some(claim) = self.find_claim(&pr)? else {
            return Ok(HandlerOutcome::new(
                "ignored",
                format!("no submitted claim references {}", pr.url),
            ));
        };
        if claim.status == ClaimStatus::Approved {
            return Ok(HandlerOutcome::new(
                "already_paid",
                format!("claim {} was already approved and paid", claim.id),
            ));
        }
        let state = self.ctx.chain.head_state();
        let bounty = board::bounty(&state, claim.bounty)
            .map_err(fail)?
            .ok_or_else(|| {
                fail(format!(
                    "bounty {} of claim {} is missing",
                    claim.bounty, claim.id
                ))
            })?;
        if bounty.status != BountyStatus::Open {
            return Ok(HandlerOutcome::new(
                "ignored",
                format!("bounty {} is {}", bounty.id, bounty.status),
            ));
        }
        let kind = self.ctx.kind();
        let chain_id = self.ctx.chain.genesis().chain_id.clone();
        let now = self.ctx.now_ms();
        let what = format!(
            "claim {} of bounty {} ({} to {})",
            claim.id,
            bounty.id,
            bounty.amount,
            claim.claimant.encode(kind)
        );
        let fee = self.ctx.chain.genesis().min_fee;
        let multisig =
            rustchain_state::execution::multisig_policy(&state, &bounty.approvers).map_err(fail)?;
        let Some(access) = self.ctx.wallet.as_ref() else {
            return self.prepare_or_give_up(multisig, &bounty.approvers, &claim, &pr, &what, None);
        };
        let mut wallet = access.wallet().lock();
        match multisig {
            None => {
                let Some((_, key)) = wallet.key_of(&bounty.approvers).map_err(fail)? else {
                    drop(wallet);
                    return self.prepare_or_give_up(
                        None,
                        &bounty.approvers,
                        &claim,
                        &pr,
                        &what,
                        None,
                    );
                };
                if let Err(e) = wallet.authorize_payout(claim.claimant, bounty.amount, now) {
                    return Ok(HandlerOutcome::new(
                        "refused_by_policy",
                        format!("{what}: {e}"),
                    ));
                }
                let approver = Address::from_public_key(&key.public_key());
                let account = self.ctx.chain.account(&approver, None).map_err(fail)?;
                let nonce = self.ctx.mempool.lock().next_nonce(&approver, account.nonce);
                let tx = TxBody {
                    chain_id,
                    sender: key.public_key(),
                    nonce,
                    fee,
                    payload: TxPayload::BountyApprove { claim: claim.id },
                }
                .sign(&key);
                let hash = self.submit(tx)?;
                drop(wallet);
                tracing::info!(claim = claim.id, bounty = bounty.id, tx = %hash, "bounty approval submitted for a merged pull request");
                Ok(HandlerOutcome::new("approved", what).with_transaction(hash))
            }
            Some(policy) => {
                let Ok(key) = wallet.signer_key(&policy) else {
                    drop(wallet);
                    return self.prepare_or_give_up(
                        Some(policy),
                        &bounty.approvers,
                        &claim,
                        &pr,
                        &what,
                        None,
                    );
                };
                if let Err(e) = wallet.authorize_payout(claim.claimant, bounty.amount, now) {
                    return Ok(HandlerOutcome::new(
                        "refused_by_policy",
                        format!("{what}: {e}"),
                    ));
                }
                let mut call =
                    self.approval_call(policy.clone(), &bounty.approvers, &claim, &pr)?;
                wallet
                    .approve_multisig(&mut call, None, now)
                    .map_err(fail)?;
                if call.approved_by().len() < usize::from(policy.threshold) {
                    drop(wallet);
                    return self.prepare_or_give_up(
                        Some(policy),
                        &bounty.approvers,
                        &claim,
                        &pr,
                        &what,
                        Some(call),
                    );
                }
                let relayer = Address::from_public_key(&key.public_key());
                let account = self.ctx.chain.account(&relayer, None).map_err(fail)?;
                let nonce = self.ctx.mempool.lock().next_nonce(&relayer, account.nonce);
                let tx = call.finalize(&key, nonce, fee).map_err(fail)?.clone();
                let hash = self.submit(tx)?;
                drop(wallet);
                Ok(HandlerOutcome::new("approved", what).with_transaction(hash))
            }
        }
    }
}

impl BountyMergeHandler {
    /// A new call of the multisig `approvers` approving `claim`, at the account's nonce.
    fn approval_call(
        &self,
        policy: rustchain_primitives::MultisigPolicy,
        approvers: &Address,
        claim: &Claim,
        pr: &MergedPullRequest,
    ) -> Result<PartialCall, HandlerError> {
        let nonce = self.ctx.chain.account(approvers, None).map_err(fail)?.nonce;
        PartialCall::new(
            self.ctx.chain.genesis().chain_id.clone(),
            policy,
            nonce,
            MultisigAction::BountyApprove { claim: claim.id },
            format!("merged {} (delivery {})", pr.url, pr.delivery),
        )
        .map_err(fail)
    }

    /// Without a key to finish the approval: for a multisig approver, write the (partially
    /// signed) call for the others; otherwise say whose key is needed.
    fn prepare_or_give_up(
        &self,
        multisig: Option<rustchain_primitives::MultisigPolicy>,
        approvers: &Address,
        claim: &Claim,
        pr: &MergedPullRequest,
        what: &str,
        call: Option<PartialCall>,
    ) -> Result<HandlerOutcome, HandlerError> {
        let kind = self.ctx.kind();
        let Some(policy) = multisig else {
            return Ok(HandlerOutcome::new(
                "no_approver_key",
                format!(
                    "{what}: the approvers {} must approve it (`rustchain-wallet bounty approve {}`); this node's wallet does not hold their key",
                    approvers.encode(kind),
                    claim.id
                ),
            ));
        };
        let call = match call {
            Some(c) => c,
            None => self.approval_call(policy, approvers, claim, pr)?,
        };
        std::fs::create_dir_all(&self.pending_dir).map_err(fail)?;
        let path = self.pending_dir.join(format!("claim-{}.rtcms", claim.id));
        std::fs::write(&path, format!("{}\n", call.to_text())).map_err(fail)?;
        Ok(HandlerOutcome::new(
            "prepared",
            format!(
                "{what}: partially signed approval ({} of {} approvals) written to {}; co-signers sign, combine, finalize and submit it with `rustchain-wallet multisig`",
                call.approved_by().len(),
                call.policy().threshold,
                path.display()
            ),
        ))
    }
}
