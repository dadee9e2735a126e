//! The node's side of finality: this validator's votes and the tracker fed by everyone's.
//!
//! The rules live in `rustchain_consensus::finality` (tracker) and `rustchain_consensus::voter`
//! (honest voting with slashing protection); this module performs their I/O:
//! - the voting record is written to the database (synced) *before* a vote is returned for
//!   sending, so a crash can never make this validator sign a conflicting vote after restart;
//! - a vote is cast only for the canonical head, with the latest justified block as source, and
//!   only if that block is on the canonical chain (so it is an ancestor of the head);
//! - finality certificates produced by the tracker are stored and move the finalized pointer.

use std::sync::Arc;

use rustchain_consensus::{
    next_vote, verify_certificate, CertificateError, Finality, VoteError, VoteOutcome, VoterRecord,
};
use rustchain_primitives::{Checkpoint, Evidence, FinalityCertificate, KeyPair, PublicKey, Vote};
use rustchain_rpc::types::HeaderJson;
use rustchain_state::{Chain, ChainError};

use crate::producer::HeadEvents;

/// What handling a vote (ours or a peer's) produced.
#[derive(Debug, Default)]
pub struct FinalityUpdate {
    /// Blocks newly finalized on the canonical chain, with their certificates.
    pub finalized: Vec<FinalityCertificate>,
    /// Evidence revealed by the vote.
    pub evidence: Option<Evidence>,
    /// Blocks that became justified (the fork choice may move).
    pub justified: Vec<Checkpoint>,
    /// The vote was already counted (a gossip duplicate).
    pub duplicate: bool,
}

/// This node's finality state.
pub struct FinalityDriver {
    chain: Arc<Chain>,
    tracker: Finality,
    record: VoterRecord,
    key: Option<KeyPair>,
    events: HeadEvents,
    /// Certificates whose source is not (yet) on our canonical chain.
    pending: Vec<FinalityCertificate>,
}

impl std::fmt::Debug for FinalityDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinalityDriver")
            .field("justified", &self.tracker.latest_justified())
            .field("finalized", &self.tracker.finalized())
            .finish_non_exhaustive()
    }
}

impl FinalityDriver {
    /// Starts from the chain's finalized block and this node's stored voting record. `key` is
    /// the validator key, if this node validates.
    pub fn new(
        chain: Arc<Chain>,
        key: Option<KeyPair>,
        events: HeadEvents,
    ) -> Result<Self, ChainError> {
        let head = chain.head();
        let finalized = Checkpoint {
            height: head.finalized_height,
            hash: head.finalized_hash,
        };
        let genesis = chain.genesis();
        let tracker = Finality::new(
            genesis.chain_id.clone(),
            &genesis.validator_keys(),
            finalized,
        );
        let record = chain.store().voter_record()?.unwrap_or_default();
        Ok(FinalityDriver {
            chain,
            tracker,
            record,
            key,
            events,
            pending: Vec::new(),
        })
    }

    /// The latest justified block.
    pub fn latest_justified(&self) -> Checkpoint {
        self.tracker.latest_justified()
    }

    /// The tracker (read-only), for fork choice and status.
    pub fn tracker(&self) -> &Finality {
        &self.tracker
    }

    /// Votes for the current canonical head if the voting rules allow it. The returned vote has
    /// already been recorded on disk and counted locally; the caller broadcasts it.
    pub fn vote_for_head(&mut self) -> Result<Option<(Vote, FinalityUpdate)>, ChainError> {
        let Some(key) = self.key.clone() else {
            return Ok(None);
        };
        let head = self.chain.head();
        if self.refresh_jailed()?.contains(&key.public_key()) {
            return Ok(None);
        }
        let justified = self.tracker.latest_justified();
        // The source must be an ancestor of the head: on the canonical chain, below the head.
        if justified.height >= head.height
            || self.chain.store().hash_at(justified.height)? != Some(justified.hash)
        {
            return Ok(None);
        }
        let target = Checkpoint {
            height: head.height,
            hash: head.hash,
        };
        let chain_id = self.chain.genesis().chain_id.clone();
        let Some((vote, record)) = next_vote(&self.record, &chain_id, &key, justified, target)
        else {
            return Ok(None);
        };
        self.chain.save_voter_record(&record)?;
        self.record = record;
        let update = match self.on_vote(&vote) {
            Ok(update) => update,
            Err(ChainErrorOrVote::Chain(e)) => return Err(e),
            Err(ChainErrorOrVote::Vote(e)) => {
                tracing::warn!(error = %e, "own vote not counted");
                FinalityUpdate::default()
            }
        };
        Ok(Some((vote, update)))
    }

    /// Tells the tracker which validators are jailed at the head (their votes stop counting).
    /// Call whenever the head moves. Returns the jailed set.
    pub fn refresh_jailed(&mut self) -> Result<Vec<PublicKey>, ChainError> {
        let jailed = self.chain.jailed_validators(self.chain.head().slot)?;
        self.tracker.set_jailed(jailed.iter().copied());
        Ok(jailed)
    }

    /// Applies a finality certificate obtained from a peer (sync): it must carry a quorum of
    /// valid genesis-validator signatures for a link from a block to its direct child. It
    /// finalizes its source once that block is on the canonical chain (now or after the next
    /// head change). `Ok(Err(_))` means the certificate is invalid (penalize the sender).
    pub fn apply_certificate(
        &mut self,
        certificate: FinalityCertificate,
    ) -> Result<Result<Vec<FinalityCertificate>, CertificateError>, ChainError> {
        let genesis = self.chain.genesis();
        if let Err(e) =
            verify_certificate(&certificate, &genesis.chain_id, &genesis.validator_keys())
        {
            return Ok(Err(e));
        }
        if certificate.source.height <= self.tracker.finalized().height {
            return Ok(Ok(Vec::new()));
        }
        self.pending.push(certificate);
        let applied = self.apply_pending()?;
        Ok(Ok(applied))
    }

    /// Counts a vote and applies any finality it produces to the chain.
    pub fn on_vote(&mut self, vote: &Vote) -> Result<FinalityUpdate, ChainErrorOrVote> {
        let outcome: VoteOutcome = self.tracker.on_vote(vote).map_err(ChainErrorOrVote::Vote)?;
        let mut update = FinalityUpdate {
            evidence: outcome.evidence,
            justified: outcome.justified,
            duplicate: outcome.duplicate,
            ..FinalityUpdate::default()
        };
        self.pending.extend(outcome.finalized);
        update.finalized = self.apply_pending().map_err(ChainErrorOrVote::Chain)?;
        Ok(update)
    }

    /// Applies certificates whose block is now on the canonical chain (call after the head
    /// moved). Returns those applied.
    pub fn apply_pending(&mut self) -> Result<Vec<FinalityCertificate>, ChainError> {
        let mut applied = Vec::new();
        let mut keep = Vec::new();
        let pending = std::mem::take(&mut self.pending);
        for cert in pending {
            let finalized_height = self.chain.head().finalized_height;
            if cert.source.height <= finalized_height {
                continue;
            }
            if self.chain.store().hash_at(cert.source.height)? == Some(cert.source.hash) {
                let head = self.chain.finalize(&cert)?;
                self.tracker.advance_finalized(cert.source);
                if let Some(header) = self.chain.store().header(&head.finalized_hash)? {
                    // No subscribers is not an error.
                    let _ = self.events.finalized_heads.send(HeaderJson::from(&header));
                }
                tracing::info!(
                    height = cert.source.height,
                    hash = %cert.source.hash,
                    votes = cert.signatures.len(),
                    "finalized"
                );
                applied.push(cert);
            } else {
                keep.push(cert);
            }
        }
        // Keep only the newest unapplied certificate: it finalizes everything below it.
        keep.sort_by_key(|c| c.source.height);
        self.pending = keep.pop().into_iter().collect();
        Ok(applied)
    }
}

/// Either a storage failure (fatal) or a vote that must not be relayed.
#[derive(Debug, thiserror::Error)]
pub enum ChainErrorOrVote {
    /// Storage failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The vote is invalid.
    #[error(transparent)]
    Vote(#[from] VoteError),
}
