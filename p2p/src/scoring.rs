//! Peer scoring: the application score, bans, and gossipsub's score parameters.
//!
//! Every peer has an application score that starts at 0 and only goes down:
//!
//! | event | change |
//! |---|---|
//! | a gossip message the node [`Validation::Reject`](crate::Validation)s | [`REJECT_PENALTY`] (-10) |
//! | [`Penalty::Minor`] (e.g. a malformed sync request or response) | -5 |
//! | [`Penalty::Major`] | -20 |
//! | [`Penalty::Fatal`] (e.g. a different genesis) | -100 |
//!
//! The score decays back toward 0 with a half-life of [`SCORE_HALF_LIFE`] (10 minutes), starting
//! [`SCORE_DECAY_DELAY`] (1 minute) after the last penalty, so penalties in quick succession add
//! up exactly (ten rejected messages in a row are -100, not -99.9). When it reaches [`BAN_THRESHOLD`] (-100) the peer is disconnected and banned (no connection in either
//! direction) for the configured ban duration.
//!
//! The application score is also fed to gossipsub (P5, weight 1), next to gossipsub's own
//! per-topic counters (parameters in `docs/p2p.md`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use libp2p::gossipsub::{
    score_parameter_decay, PeerScoreParams, PeerScoreThresholds, TopicScoreParams,
};
use libp2p::PeerId;

use crate::topics::{GossipKind, Topics};

/// Application score change for a rejected gossip message.
pub const REJECT_PENALTY: f64 = -10.0;
/// At or below this application score a peer is disconnected and banned.
pub const BAN_THRESHOLD: f64 = -100.0;
/// Half-life of the application score's decay toward 0.
pub const SCORE_HALF_LIFE: Duration = Duration::from_secs(10 * 60);
/// Time after the last penalty before the score starts to decay.
pub const SCORE_DECAY_DELAY: Duration = Duration::from_secs(60);

/// How bad a peer's misbehaviour is, for [`crate::NetworkHandle::penalize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Penalty {
    /// Probably a mistake or a race (-5): a malformed or unhelpful response, a stale message.
    Minor,
    /// Clearly wrong (-20): a response that contradicts the request, an invalid block in sync.
    Major,
    /// Malicious or useless (-100, an immediate ban): wrong network, forged data.
    Fatal,
}

impl Penalty {
    /// The application score change.
    pub const fn points(self) -> f64 {
        match self {
            Penalty::Minor => -5.0,
            Penalty::Major => -20.0,
            Penalty::Fatal => -100.0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    score: f64,
    updated: Instant,
}

impl Entry {
    fn current(&self, now: Instant) -> f64 {
        let elapsed = now
            .saturating_duration_since(self.updated)
            .saturating_sub(SCORE_DECAY_DELAY)
            .as_secs_f64();
        self.score * 0.5f64.powf(elapsed / SCORE_HALF_LIFE.as_secs_f64())
    }
}

/// What a score change led to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ScoreOutcome {
    /// New score, above the ban threshold (or the peer is already banned).
    Scored(f64),
    /// The score reached the ban threshold: ban the peer now.
    Ban(f64),
}

/// Application scores and bans of all peers seen recently.
#[derive(Debug, Default)]
pub(crate) struct PeerScores {
    scores: HashMap<PeerId, Entry>,
    banned: HashMap<PeerId, Instant>,
}

impl PeerScores {
    /// The peer's current (decayed) application score.
    pub(crate) fn score(&self, peer: &PeerId, now: Instant) -> f64 {
        self.scores.get(peer).map_or(0.0, |e| e.current(now))
    }

    /// Adds `delta` (negative) to the peer's score.
    pub(crate) fn apply(&mut self, peer: PeerId, delta: f64, now: Instant) -> ScoreOutcome {
        let score = (self.score(&peer, now) + delta).min(0.0);
        self.scores.insert(
            peer,
            Entry {
                score,
                updated: now,
            },
        );
        if score <= BAN_THRESHOLD && !self.banned.contains_key(&peer) {
            ScoreOutcome::Ban(score)
        } else {
            ScoreOutcome::Scored(score)
        }
    }

    /// Records a ban until `until`.
    pub(crate) fn ban(&mut self, peer: PeerId, until: Instant) {
        self.banned.insert(peer, until);
    }

    /// Whether the peer is banned now.
    pub(crate) fn is_banned(&self, peer: &PeerId, now: Instant) -> bool {
        self.banned.get(peer).is_some_and(|until| *until > now)
    }

    /// Ends the bans that have expired, returning those peers.
    pub(crate) fn expire_bans(&mut self, now: Instant) -> Vec<PeerId> {
        let expired: Vec<PeerId> = self
            .banned
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(peer, _)| *peer)
            .collect();
        for peer in &expired {
            self.banned.remove(peer);
        }
        expired
    }

    /// Forgets scores that have decayed to about 0 for peers that `keep` does not name.
    pub(crate) fn prune(&mut self, now: Instant, keep: impl Fn(&PeerId) -> bool) {
        let banned = &self.banned;
        self.scores
            .retain(|peer, e| keep(peer) || banned.contains_key(peer) || e.current(now) < -0.5);
    }
}

/// Gossipsub peer score thresholds (gossipsub score units, not the application score).
pub(crate) fn gossipsub_thresholds() -> PeerScoreThresholds {
    PeerScoreThresholds {
        gossip_threshold: -4000.0,
        publish_threshold: -8000.0,
        graylist_threshold: -16000.0,
        accept_px_threshold: 100.0,
        opportunistic_graft_threshold: 5.0,
    }
}

/// Weight of P4 (invalid messages): the penalty is `weight * count^2`, so with these thresholds
/// a peer stops getting gossip after ~15 invalid messages and is graylisted after ~29 (the
/// application score bans it after 10 first).
pub(crate) const INVALID_MESSAGE_WEIGHT: f64 = -20.0;

/// Gossipsub score parameters for the five topics of a chain.
///
/// Per topic: P1 (time in mesh) and P2 (first deliveries) give a small positive score, P3/P3b
/// (mesh delivery rate) are off because traffic on evidence or votes can be legitimately rare,
/// P4 (invalid messages) weighs [`INVALID_MESSAGE_WEIGHT`] and decays over ~10 minutes. P5 is
/// the application score (weight 1). P6 (IP colocation) ignores loopback, so local test
/// networks are not penalised. P7 (behaviour: broken promises, early re-grafts) as default.
pub(crate) fn gossipsub_score_params(topics: &Topics) -> PeerScoreParams {
    let mut params = PeerScoreParams {
        topic_score_cap: 100.0,
        app_specific_weight: 1.0,
        ip_colocation_factor_threshold: 10.0,
        behaviour_penalty_threshold: 6.0,
        behaviour_penalty_decay: score_parameter_decay(Duration::from_secs(10 * 60)),
        retain_score: Duration::from_secs(30 * 60),
        ..PeerScoreParams::default()
    };
    params.ip_colocation_factor_whitelist = [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ]
    .into_iter()
    .collect();
    for kind in GossipKind::ALL {
        let topic = TopicScoreParams {
            topic_weight: 1.0,
            time_in_mesh_weight: 0.01,
            time_in_mesh_quantum: Duration::from_secs(1),
            time_in_mesh_cap: 1000.0,
            first_message_deliveries_weight: 1.0,
            first_message_deliveries_decay: score_parameter_decay(Duration::from_secs(10 * 60)),
            first_message_deliveries_cap: 20.0,
            mesh_message_deliveries_weight: 0.0,
            mesh_failure_penalty_weight: 0.0,
            invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
            invalid_message_deliveries_decay: score_parameter_decay(Duration::from_secs(10 * 60)),
            ..TopicScoreParams::default()
        };
        params.topics.insert(topics.topic(kind).hash(), topic);
    }
    params
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use rustchain_primitives::ChainId;

    #[test]
    fn ten_rejects_ban() {
        let mut s = PeerScores::default();
        let peer = PeerId::random();
        let now = Instant::now();
        for i in 1..10 {
            assert_eq!(
                s.apply(peer, REJECT_PENALTY, now),
                ScoreOutcome::Scored(-10.0 * i as f64)
            );
        }
        assert_eq!(
            s.apply(peer, REJECT_PENALTY, now),
            ScoreOutcome::Ban(-100.0)
        );
        s.ban(peer, now + Duration::from_secs(600));
        assert!(s.is_banned(&peer, now));
        // already banned: no second ban
        assert!(matches!(
            s.apply(peer, Penalty::Minor.points(), now),
            ScoreOutcome::Scored(_)
        ));
        assert!(s.expire_bans(now + Duration::from_secs(599)).is_empty());
        assert_eq!(s.expire_bans(now + Duration::from_secs(600)), vec![peer]);
        assert!(!s.is_banned(&peer, now + Duration::from_secs(600)));
    }

    #[test]
    fn fatal_bans_at_once_and_penalties_add_up() {
        let mut s = PeerScores::default();
        let now = Instant::now();
        let a = PeerId::random();
        assert_eq!(
            s.apply(a, Penalty::Fatal.points(), now),
            ScoreOutcome::Ban(-100.0)
        );
        let b = PeerId::random();
        assert_eq!(
            s.apply(b, Penalty::Minor.points(), now),
            ScoreOutcome::Scored(-5.0)
        );
        assert_eq!(
            s.apply(b, Penalty::Major.points(), now),
            ScoreOutcome::Scored(-25.0)
        );
        assert_eq!(s.score(&PeerId::random(), now), 0.0);
    }

    #[test]
    fn score_decays_toward_zero() {
        let mut s = PeerScores::default();
        let now = Instant::now();
        let p = PeerId::random();
        s.apply(p, -80.0, now);
        assert_eq!(s.score(&p, now + SCORE_DECAY_DELAY), -80.0);
        let later = s.score(&p, now + SCORE_DECAY_DELAY + SCORE_HALF_LIFE);
        assert!((later + 40.0).abs() < 1e-9, "{later}");
        let much_later = now + SCORE_HALF_LIFE * 20;
        assert!(s.score(&p, much_later) > -0.001);
        s.prune(much_later, |_| false);
        assert!(s.scores.is_empty());
    }

    #[test]
    fn gossipsub_params_are_valid() {
        let topics = Topics::new(&ChainId::new("dev-test").unwrap());
        gossipsub_score_params(&topics).validate().unwrap();
        gossipsub_thresholds().validate().unwrap();
        // ten invalid messages stay above the gossip threshold, so our own ban comes first
        assert!(INVALID_MESSAGE_WEIGHT * 100.0 > gossipsub_thresholds().gossip_threshold);
    }
}
