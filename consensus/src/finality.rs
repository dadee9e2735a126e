//! Finality: turning validators' votes into justified and final blocks.
//!
//! # Rules (Casper FFG over every block)
//!
//! A vote is `(source, target)` signed by a validator (see `rustchain_primitives::vote`).
//! `n` is the number of validators in genesis; a *quorum* is any set of more than `2n/3` of them
//! (`3 * count > 2 * n`). Votes from validators outside the set, or jailed ones, are not counted.
//!
//! 1. The genesis block is justified and final.
//! 2. A *supermajority link* `S -> T` is a quorum of votes with source `S` and target `T`.
//! 3. `T` is **justified** when there is a supermajority link `S -> T` from a justified `S`.
//! 4. `S` is **final** when it is justified and there is a supermajority link `S -> C` where `C`
//!    is its direct child (`C.height = S.height + 1`). The votes of that link are `S`'s
//!    [`FinalityCertificate`]; every ancestor of a final block is final.
//!
//! Honest validators vote for a block only after importing and fully validating it, only with a
//! source that is an ancestor of the target, with strictly increasing target heights and
//! non-decreasing source heights (see [`crate::voter`]). So an honest validator never signs two
//! votes with the same target height (*double vote*) nor two votes where one's span strictly
//! contains the other's (*surround vote*). This tracker detects both and returns the evidence.
//!
//! Because every quorum contains an honest validator when at most `f < n/3` are Byzantine, a
//! supermajority link is only formed for a source that really is an ancestor of its target, and
//! this tracker need not know the block tree: it works on votes alone.
//!
//! # Safety (why two conflicting blocks are never both final)
//!
//! Casper FFG's accountable-safety theorem: if two conflicting blocks are final, then more than
//! `n/3` validators signed a double vote or a surround vote. Sketch: let `A` (height `a`) and `B`
//! (height `b`, `a <= b`) be final and conflicting, with finalizing links `A -> A'` and `B -> B'`.
//! Walk the chain of justifications that justified `B`: it has a link `S -> T` with
//! `S.height < a` and `T.height > a` (it must jump over `A`'s height, since it never lands on `A`
//! or the justified `A'`... otherwise `B` would descend from `A`), or it lands at height `a` or
//! `a + 1` on a block other than `A`, `A'`. In the first case `S -> T` surrounds `A -> A'`; in the
//! second, the two links share a target height. Either way two quorums intersect in more than
//! `n/3` validators that each signed a slashable pair. With at most `f < n/3` Byzantine
//! validators this cannot happen. The argument needs no synchrony: safety holds whatever the
//! network does. Full statement in docs/consensus.md.
//!
//! # Liveness
//!
//! Under synchrony (votes arrive within a slot) and with more than `2n/3` honest validators
//! online: every honest validator sees the same head (fork choice, [`crate::fork_choice`]) and
//! the same latest justified block `J`, votes `J -> head`, the link forms, the head is justified;
//! the next block's link from it finalizes it. After a partition heals, honest validators
//! converge on one chain and vote at new heights with the common source, which never breaks the
//! voting rules, so finality resumes.

use std::collections::{BTreeMap, BTreeSet};

use rustchain_primitives::{
    ChainId, Checkpoint, Evidence, FinalityCertificate, PublicKey, Signature, Vote,
};

/// How far above the finalized height a vote's target may be. Votes are kept until their target
/// is finalized, so this bounds what one validator can make the tracker store (at most one vote
/// per height in this window). An honest vote is never further ahead than the unfinalized part
/// of the chain, so this only matters if finality stalls for this many blocks (about 3.5 days
/// at 3-second slots).
pub const MAX_VOTE_HORIZON: u64 = 100_000;

/// Why a vote was not counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoteError {
    /// The vote is for another chain.
    #[error("vote is for another chain")]
    WrongChain,
    /// The voter is not a validator.
    #[error("voter {0} is not a validator")]
    NotValidator(PublicKey),
    /// The voter is jailed.
    #[error("voter {0} is jailed")]
    Jailed(PublicKey),
    /// The signature does not verify.
    #[error("bad vote signature")]
    BadSignature,
    /// The source is not below the target.
    #[error("vote source height {source_height} is not below its target height {target_height}")]
    BadSpan {
        /// source height
        source_height: u64,
        /// target height
        target_height: u64,
    },
    /// The target is too far above the finalized height.
    #[error("vote target height {target} is more than {MAX_VOTE_HORIZON} above the finalized height {finalized}")]
    TooFarAhead {
        /// target height
        target: u64,
        /// finalized height
        finalized: u64,
    },
    /// The target is at or below the finalized height: nothing to learn from it.
    #[error("vote target height {target} is not above the finalized height {finalized}")]
    Stale {
        /// target height
        target: u64,
        /// finalized height
        finalized: u64,
    },
}

/// What a counted vote changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoteOutcome {
    /// Blocks that became justified, in order.
    pub justified: Vec<Checkpoint>,
    /// Blocks that became final, with their certificates, in height order.
    pub finalized: Vec<FinalityCertificate>,
    /// Evidence the vote revealed (double or surround vote).
    pub evidence: Option<Evidence>,
    /// The vote was already known (a gossip duplicate): nothing changed.
    pub duplicate: bool,
}

/// The finality tracker (see the module docs).
#[derive(Debug, Clone)]
pub struct Finality {
    chain_id: ChainId,
    validators: BTreeSet<PublicKey>,
    jailed: BTreeSet<PublicKey>,
    links: BTreeMap<(Checkpoint, Checkpoint), BTreeMap<PublicKey, Signature>>,
    justified: BTreeSet<Checkpoint>,
    latest_justified: Checkpoint,
    finalized: Checkpoint,
    /// Every counted vote above the finalized height, by voter and target height.
    votes: BTreeMap<PublicKey, BTreeMap<u64, Vote>>,
    /// Offences already reported (with the target height of the vote that revealed them), so
    /// each yields evidence once; pruned with the votes.
    reported: BTreeMap<rustchain_primitives::Hash, u64>,
}

impl Finality {
    /// A tracker whose latest justified and finalized block is `finalized`.
    pub fn new(chain_id: ChainId, validators: &[PublicKey], finalized: Checkpoint) -> Self {
        let mut justified = BTreeSet::new();
        justified.insert(finalized);
        Finality {
            chain_id,
            validators: validators.iter().copied().collect(),
            jailed: BTreeSet::new(),
            links: BTreeMap::new(),
            justified,
            latest_justified: finalized,
            finalized,
            votes: BTreeMap::new(),
            reported: BTreeMap::new(),
        }
    }

    /// Number of validators (`n`).
    pub fn validator_count(&self) -> usize {
        self.validators.len()
    }

    /// Smallest number of votes that is a quorum: the least `q` with `3q > 2n`.
    pub fn quorum(&self) -> usize {
        quorum(self.validators.len())
    }

    /// Replaces the set of jailed validators (their votes stop counting from now on).
    pub fn set_jailed(&mut self, jailed: impl IntoIterator<Item = PublicKey>) {
        self.jailed = jailed.into_iter().collect();
    }

    /// The highest justified block (ties broken by lowest hash).
    pub fn latest_justified(&self) -> Checkpoint {
        self.latest_justified
    }

    /// The highest final block.
    pub fn finalized(&self) -> Checkpoint {
        self.finalized
    }

    /// Is `checkpoint` justified?
    pub fn is_justified(&self, checkpoint: &Checkpoint) -> bool {
        self.justified.contains(checkpoint)
    }

    /// Records a block finalized by other means (a certificate checked by the caller, or the
    /// store at start-up). Drops state below it.
    pub fn advance_finalized(&mut self, checkpoint: Checkpoint) {
        if checkpoint.height <= self.finalized.height {
            return;
        }
        self.finalized = checkpoint;
        self.justified.insert(checkpoint);
        if checkpoint.height > self.latest_justified.height {
            self.latest_justified = checkpoint;
        }
        self.prune();
    }

    /// Checks and counts one vote. `Err` means the vote must not be relayed.
    pub fn on_vote(&mut self, vote: &Vote) -> Result<VoteOutcome, VoteError> {
        let body = &vote.body;
        if body.chain_id != self.chain_id {
            return Err(VoteError::WrongChain);
        }
        if !self.validators.contains(&body.voter) {
            return Err(VoteError::NotValidator(body.voter));
        }
        if self.jailed.contains(&body.voter) {
            return Err(VoteError::Jailed(body.voter));
        }
        if body.source.height >= body.target.height {
            return Err(VoteError::BadSpan {
                source_height: body.source.height,
                target_height: body.target.height,
            });
        }
        if body.target.height <= self.finalized.height {
            return Err(VoteError::Stale {
                target: body.target.height,
                finalized: self.finalized.height,
            });
        }
        if body.target.height - self.finalized.height > MAX_VOTE_HORIZON {
            return Err(VoteError::TooFarAhead {
                target: body.target.height,
                finalized: self.finalized.height,
            });
        }
        let mut outcome = VoteOutcome::default();
        let known = self.votes.get(&body.voter);
        if known.and_then(|v| v.get(&body.target.height)) == Some(vote) {
            outcome.duplicate = true;
            return Ok(outcome);
        }
        vote.verify_signature()
            .map_err(|_| VoteError::BadSignature)?;

        // Slashable pairs with this voter's earlier votes.
        if let Some(known) = self.votes.get(&body.voter) {
            let evidence = if let Some(other) = known.get(&body.target.height) {
                Some(Evidence::DoubleVote {
                    first: other.clone(),
                    second: vote.clone(),
                })
            } else {
                known.values().find_map(|other| surround(vote, other))
            };
            if let Some(evidence) = evidence {
                if self
                    .reported
                    .insert(evidence.offence_id(), body.target.height)
                    .is_none()
                {
                    outcome.evidence = Some(evidence);
                }
            }
        }
        // A double vote is not counted twice for one height: the first stays recorded.
        let slot = self.votes.entry(body.voter).or_default();
        if slot.contains_key(&body.target.height) {
            return Ok(outcome);
        }
        slot.insert(body.target.height, vote.clone());

        let link = self.links.entry((body.source, body.target)).or_default();
        link.insert(body.voter, vote.signature);
        self.settle(body.source, body.target, &mut outcome);
        Ok(outcome)
    }

    /// Applies the rules to the link `source -> target` and everything it unlocks.
    fn settle(&mut self, source: Checkpoint, target: Checkpoint, outcome: &mut VoteOutcome) {
        let mut work = vec![(source, target)];
        while let Some((s, t)) = work.pop() {
            if !self.justified.contains(&s) || !self.is_supermajority(&(s, t)) {
                continue;
            }
            if self.justified.insert(t) {
                outcome.justified.push(t);
                let better = t.height > self.latest_justified.height
                    || (t.height == self.latest_justified.height
                        && t.hash < self.latest_justified.hash);
                if better {
                    self.latest_justified = t;
                }
                // Links out of the newly justified block may now count.
                work.extend(
                    self.links
                        .keys()
                        .filter(|(from, _)| *from == t)
                        .copied()
                        .collect::<Vec<_>>(),
                );
            }
            if t.height == s.height.saturating_add(1) && s.height > self.finalized.height {
                let signatures: Vec<(PublicKey, Signature)> =
                    self.counted(&(s, t)).map(|(k, sig)| (*k, *sig)).collect();
                outcome.finalized.push(FinalityCertificate {
                    source: s,
                    target: t,
                    signatures,
                });
                self.finalized = s;
            }
        }
        outcome.finalized.sort_by_key(|c| c.source.height);
        if !outcome.finalized.is_empty() {
            self.prune();
        }
    }

    fn counted<'a>(
        &'a self,
        link: &(Checkpoint, Checkpoint),
    ) -> impl Iterator<Item = (&'a PublicKey, &'a Signature)> + 'a {
        let jailed = &self.jailed;
        self.links
            .get(link)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter(move |(k, _)| !jailed.contains(k))
    }

    fn is_supermajority(&self, link: &(Checkpoint, Checkpoint)) -> bool {
        self.counted(link).count() >= self.quorum()
    }

    /// Up to `max` counted votes whose target is above `height`, lowest targets first (served
    /// to peers that missed them).
    pub fn votes_above(&self, height: u64, max: usize) -> Vec<Vote> {
        let mut votes: Vec<&Vote> = self
            .votes
            .values()
            .flat_map(|by_height| by_height.range(height.saturating_add(1)..).map(|(_, v)| v))
            .collect();
        votes.sort_by_key(|v| v.body.target.height);
        votes.into_iter().take(max).cloned().collect()
    }

    /// Number of counted votes for a link (for status reporting).
    pub fn link_votes(&self, source: &Checkpoint, target: &Checkpoint) -> usize {
        self.counted(&(*source, *target)).count()
    }

    /// Drops votes and links that can no longer matter (targets at or below the finalized
    /// height). Surround detection keeps working above the finalized height, which is all an
    /// attack on finality could use.
    fn prune(&mut self) {
        let floor = self.finalized.height;
        self.links.retain(|(_, t), _| t.height > floor);
        self.justified.retain(|c| c.height >= floor);
        for votes in self.votes.values_mut() {
            votes.retain(|h, _| *h > floor);
        }
        self.votes.retain(|_, v| !v.is_empty());
        self.reported.retain(|_, h| *h > floor);
    }
}

/// The least `q` with `3q > 2n`.
pub fn quorum(n: usize) -> usize {
    n.saturating_mul(2) / 3 + 1
}

/// Evidence if one of `a`, `b` surrounds the other.
fn surround(a: &Vote, b: &Vote) -> Option<Evidence> {
    let spans = |v: &Vote| (v.body.source.height, v.body.target.height);
    let ((sa, ta), (sb, tb)) = (spans(a), spans(b));
    if sa < sb && tb < ta {
        Some(Evidence::SurroundVote {
            outer: a.clone(),
            inner: b.clone(),
        })
    } else if sb < sa && ta < tb {
        Some(Evidence::SurroundVote {
            outer: b.clone(),
            inner: a.clone(),
        })
    } else {
        None
    }
}

/// Checks a finality certificate received from elsewhere: a quorum of distinct validators,
/// each with a valid signature, for a link from a block to its direct child.
pub fn verify_certificate(
    certificate: &FinalityCertificate,
    chain_id: &ChainId,
    validators: &[PublicKey],
) -> Result<(), CertificateError> {
    if certificate.target.height != certificate.source.height.saturating_add(1) {
        return Err(CertificateError::NotDirectChild);
    }
    let set: BTreeSet<&PublicKey> = validators.iter().collect();
    let mut seen = BTreeSet::new();
    for vote in certificate.votes(chain_id) {
        if !set.contains(&vote.body.voter) {
            return Err(CertificateError::NotValidator(vote.body.voter));
        }
        if !seen.insert(vote.body.voter) {
            return Err(CertificateError::DuplicateVoter(vote.body.voter));
        }
        vote.verify_signature()
            .map_err(|_| CertificateError::BadSignature(vote.body.voter))?;
    }
    if seen.len() < quorum(validators.len()) {
        return Err(CertificateError::NoQuorum {
            votes: seen.len(),
            needed: quorum(validators.len()),
        });
    }
    Ok(())
}

/// Why a finality certificate is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The target is not the source's direct child.
    #[error("certificate target is not the direct child of its source")]
    NotDirectChild,
    /// A signer is not a validator.
    #[error("certificate signer {0} is not a validator")]
    NotValidator(PublicKey),
    /// A signer appears twice.
    #[error("certificate signer {0} appears twice")]
    DuplicateVoter(PublicKey),
    /// A signature does not verify.
    #[error("certificate signature of {0} does not verify")]
    BadSignature(PublicKey),
    /// Not enough signatures.
    #[error("certificate has {votes} votes, a quorum is {needed}")]
    NoQuorum {
        /// distinct valid votes
        votes: usize,
        /// quorum
        needed: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustchain_primitives::{Hash, KeyPair, VoteBody};

    fn chain() -> ChainId {
        ChainId::new("dev-finality").unwrap()
    }

    fn keys(n: u8) -> Vec<KeyPair> {
        (1..=n)
            .map(|i| KeyPair::from_secret_bytes(&[i; 32]).unwrap())
            .collect()
    }

    fn cp(height: u64, fork: u8) -> Checkpoint {
        let mut hash = [fork; 32];
        hash[0] = height as u8;
        Checkpoint {
            height,
            hash: Hash(hash),
        }
    }

    fn vote(k: &KeyPair, source: Checkpoint, target: Checkpoint) -> Vote {
        VoteBody {
            chain_id: chain(),
            voter: k.public_key(),
            source,
            target,
        }
        .sign(k)
    }

    fn tracker(keys: &[KeyPair]) -> Finality {
        let pks: Vec<PublicKey> = keys.iter().map(KeyPair::public_key).collect();
        Finality::new(chain(), &pks, cp(0, 0))
    }

    #[test]
    fn quorum_is_more_than_two_thirds() {
        assert_eq!(quorum(1), 1);
        assert_eq!(quorum(3), 3);
        assert_eq!(quorum(4), 3);
        assert_eq!(quorum(6), 5);
        assert_eq!(quorum(7), 5);
        for n in 1..100usize {
            let q = quorum(n);
            assert!(3 * q > 2 * n && 3 * (q - 1) <= 2 * n, "n={n}");
        }
    }

    #[test]
    fn chain_of_links_justifies_then_finalizes() {
        let k = keys(4);
        let mut f = tracker(&k);
        // 1 justified by 3 of 4 votes 0 -> 1, which also finalizes... genesis (already final).
        for key in &k[..2] {
            let o = f.on_vote(&vote(key, cp(0, 0), cp(1, 0))).unwrap();
            assert!(o.justified.is_empty());
        }
        let o = f.on_vote(&vote(&k[2], cp(0, 0), cp(1, 0))).unwrap();
        assert_eq!(o.justified, vec![cp(1, 0)]);
        assert!(o.finalized.is_empty());
        assert_eq!(f.latest_justified(), cp(1, 0));
        // 1 -> 2 finalizes 1.
        for key in &k[..2] {
            f.on_vote(&vote(key, cp(1, 0), cp(2, 0))).unwrap();
        }
        let o = f.on_vote(&vote(&k[3], cp(1, 0), cp(2, 0))).unwrap();
        assert_eq!(o.justified, vec![cp(2, 0)]);
        assert_eq!(o.finalized.len(), 1);
        let cert = &o.finalized[0];
        assert_eq!((cert.source, cert.target), (cp(1, 0), cp(2, 0)));
        let pks: Vec<PublicKey> = k.iter().map(KeyPair::public_key).collect();
        verify_certificate(cert, &chain(), &pks).unwrap();
        assert_eq!(f.finalized(), cp(1, 0));
    }

    #[test]
    fn link_from_unjustified_source_waits_for_it() {
        let k = keys(4);
        let mut f = tracker(&k);
        // Quorum for 1 -> 2 arrives before 1 is justified.
        for key in &k[..3] {
            let o = f.on_vote(&vote(key, cp(1, 0), cp(2, 0))).unwrap();
            assert!(o.justified.is_empty() && o.finalized.is_empty());
        }
        for key in &k[..2] {
            f.on_vote(&vote(key, cp(0, 0), cp(1, 0))).unwrap();
        }
        let o = f.on_vote(&vote(&k[3], cp(0, 0), cp(1, 0))).unwrap();
        assert_eq!(o.justified, vec![cp(1, 0), cp(2, 0)]);
        assert_eq!(o.finalized.len(), 1);
        assert_eq!(f.finalized(), cp(1, 0));
    }

    #[test]
    fn non_adjacent_link_justifies_without_finalizing() {
        let k = keys(4);
        let mut f = tracker(&k);
        for key in &k[..3] {
            f.on_vote(&vote(key, cp(0, 0), cp(3, 0))).unwrap();
        }
        assert_eq!(f.latest_justified(), cp(3, 0));
        assert_eq!(f.finalized(), cp(0, 0));
    }

    #[test]
    fn rejects_outsiders_bad_signatures_and_bad_spans() {
        let k = keys(4);
        let mut f = tracker(&k);
        let outsider = KeyPair::from_secret_bytes(&[99; 32]).unwrap();
        assert!(matches!(
            f.on_vote(&vote(&outsider, cp(0, 0), cp(1, 0))),
            Err(VoteError::NotValidator(_))
        ));
        let mut forged = vote(&k[0], cp(0, 0), cp(1, 0));
        forged.body.target = cp(1, 7);
        assert_eq!(f.on_vote(&forged), Err(VoteError::BadSignature));
        assert!(matches!(
            f.on_vote(&vote(&k[0], cp(2, 0), cp(2, 1))),
            Err(VoteError::BadSpan { .. })
        ));
        let mut other_chain = vote(&k[0], cp(0, 0), cp(1, 0));
        other_chain.body.chain_id = ChainId::new("dev-other").unwrap();
        assert_eq!(f.on_vote(&other_chain), Err(VoteError::WrongChain));
        f.set_jailed([k[1].public_key()]);
        assert!(matches!(
            f.on_vote(&vote(&k[1], cp(0, 0), cp(1, 0))),
            Err(VoteError::Jailed(_))
        ));
    }

    #[test]
    fn votes_far_above_finality_are_refused() {
        let k = keys(4);
        let mut f = tracker(&k);
        f.on_vote(&vote(&k[0], cp(0, 0), cp(MAX_VOTE_HORIZON, 0)))
            .unwrap();
        assert!(matches!(
            f.on_vote(&vote(&k[1], cp(0, 0), cp(MAX_VOTE_HORIZON + 1, 0))),
            Err(VoteError::TooFarAhead { .. })
        ));
    }

    #[test]
    fn duplicate_is_reported_and_not_recounted() {
        let k = keys(4);
        let mut f = tracker(&k);
        let v = vote(&k[0], cp(0, 0), cp(1, 0));
        assert!(!f.on_vote(&v).unwrap().duplicate);
        assert!(f.on_vote(&v).unwrap().duplicate);
        assert_eq!(f.link_votes(&cp(0, 0), &cp(1, 0)), 1);
    }

    #[test]
    fn double_vote_is_evidence_and_counts_once() {
        let k = keys(4);
        let mut f = tracker(&k);
        f.on_vote(&vote(&k[0], cp(0, 0), cp(1, 0))).unwrap();
        let o = f.on_vote(&vote(&k[0], cp(0, 0), cp(1, 9))).unwrap();
        let evidence = o.evidence.unwrap();
        assert!(matches!(evidence, Evidence::DoubleVote { .. }));
        evidence.verify(&chain()).unwrap();
        assert_eq!(f.link_votes(&cp(0, 0), &cp(1, 9)), 0);
        // The same offence again yields no second report.
        let o = f.on_vote(&vote(&k[0], cp(0, 0), cp(1, 8))).unwrap();
        assert!(o.evidence.is_none());
    }

    #[test]
    fn surround_vote_is_evidence() {
        let k = keys(4);
        let mut f = tracker(&k);
        f.on_vote(&vote(&k[0], cp(2, 0), cp(3, 0))).unwrap();
        let o = f.on_vote(&vote(&k[0], cp(1, 0), cp(5, 0))).unwrap();
        let evidence = o.evidence.unwrap();
        assert!(matches!(evidence, Evidence::SurroundVote { .. }));
        evidence.verify(&chain()).unwrap();
    }

    #[test]
    fn certificate_checks() {
        let k = keys(4);
        let pks: Vec<PublicKey> = k.iter().map(KeyPair::public_key).collect();
        let votes: Vec<Vote> = k[..3]
            .iter()
            .map(|key| vote(key, cp(4, 0), cp(5, 0)))
            .collect();
        let cert = FinalityCertificate {
            source: cp(4, 0),
            target: cp(5, 0),
            signatures: votes.iter().map(|v| (v.body.voter, v.signature)).collect(),
        };
        verify_certificate(&cert, &chain(), &pks).unwrap();
        let mut short = cert.clone();
        short.signatures.pop();
        assert!(matches!(
            verify_certificate(&short, &chain(), &pks),
            Err(CertificateError::NoQuorum {
                votes: 2,
                needed: 3
            })
        ));
        let mut dup = short.clone();
        dup.signatures.push(dup.signatures[0]);
        assert!(matches!(
            verify_certificate(&dup, &chain(), &pks),
            Err(CertificateError::DuplicateVoter(_))
        ));
        let mut far = cert.clone();
        far.target = cp(6, 0);
        assert_eq!(
            verify_certificate(&far, &chain(), &pks),
            Err(CertificateError::NotDirectChild)
        );
    }
}
