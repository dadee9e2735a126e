//! Gossip topics, message ids and validation outcomes.
//!
//! Each chain has five topics, `/rustchain/<chain id>/<kind>/borsh/1`; the message data is the
//! borsh encoding of one primitives value (see [`GossipKind`]). The message id is the SHA-256 of
//! the data, so the same bytes relayed by different peers, or published again, are duplicates.

use std::collections::HashMap;
use std::fmt;

use libp2p::gossipsub::{self, IdentTopic, TopicHash};
use rustchain_primitives::ChainId;
use sha2::{Digest, Sha256};

/// Largest gossip message of the reserved attestation topic.
pub const MAX_ATTESTATION_GOSSIP_BYTES: usize = 64 * 1024;

/// What a gossip topic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GossipKind {
    /// `rustchain_primitives::Block`, borsh.
    Blocks,
    /// `rustchain_primitives::Transaction`, borsh.
    Transactions,
    /// `rustchain_primitives::Vote` (finality vote), borsh.
    Votes,
    /// Hardware attestations: reserved, RIP-200 is not implemented yet.
    Attestations,
    /// `rustchain_primitives::Evidence` (validator misbehaviour), borsh.
    Evidence,
}

impl GossipKind {
    /// Every kind, in topic order.
    pub const ALL: [GossipKind; 5] = [
        GossipKind::Blocks,
        GossipKind::Transactions,
        GossipKind::Votes,
        GossipKind::Attestations,
        GossipKind::Evidence,
    ];

    /// The name used in the topic string.
    pub const fn as_str(self) -> &'static str {
        match self {
            GossipKind::Blocks => "blocks",
            GossipKind::Transactions => "transactions",
            GossipKind::Votes => "votes",
            GossipKind::Attestations => "attestations",
            GossipKind::Evidence => "evidence",
        }
    }

    /// Largest message accepted on this topic; a larger one is rejected before the node sees it
    /// (and refused by [`crate::NetworkHandle::publish`]).
    pub const fn max_message_bytes(self) -> usize {
        match self {
            GossipKind::Blocks => rustchain_primitives::codec::MAX_BLOCK_BYTES,
            GossipKind::Transactions => rustchain_primitives::codec::MAX_TX_BYTES,
            GossipKind::Votes => rustchain_primitives::vote::MAX_VOTE_BYTES,
            GossipKind::Attestations => MAX_ATTESTATION_GOSSIP_BYTES,
            GossipKind::Evidence => rustchain_primitives::evidence::MAX_EVIDENCE_BYTES,
        }
    }
}

impl fmt::Display for GossipKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The gossipsub topic string for `kind` on `chain_id`: `/rustchain/<chain id>/<kind>/borsh/1`.
pub fn topic_name(chain_id: &ChainId, kind: GossipKind) -> String {
    format!("/rustchain/{}/{}/borsh/1", chain_id.as_str(), kind.as_str())
}

/// The gossip message id: SHA-256 of the message data.
pub fn message_id_of(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Identifies a received gossip message, for [`crate::NetworkHandle::report`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MessageId(pub(crate) gossipsub::MessageId);

impl MessageId {
    /// The id of a message with these data bytes.
    pub fn from_data(data: &[u8]) -> Self {
        MessageId(gossipsub::MessageId::new(&message_id_of(data)))
    }

    /// The raw id bytes (32 bytes, the SHA-256 of the data).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0 .0
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", hex::encode(self.as_bytes()))
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.as_bytes()))
    }
}

/// The node's verdict on a gossip message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validation {
    /// Valid: deliver and forward to other peers.
    Accept,
    /// Invalid (bad encoding, bad signature, breaks a rule): drop, penalize the sender in
    /// gossipsub's score (P4) and lower its application score.
    Reject,
    /// Not forwarded, no penalty (e.g. valid but stale, or a duplicate of something known).
    Ignore,
}

impl From<Validation> for gossipsub::MessageAcceptance {
    fn from(v: Validation) -> Self {
        match v {
            Validation::Accept => gossipsub::MessageAcceptance::Accept,
            Validation::Reject => gossipsub::MessageAcceptance::Reject,
            Validation::Ignore => gossipsub::MessageAcceptance::Ignore,
        }
    }
}

/// The five topics of one chain.
#[derive(Debug, Clone)]
pub(crate) struct Topics {
    /// Indexed like [`GossipKind::ALL`].
    topics: [IdentTopic; 5],
    by_hash: HashMap<TopicHash, GossipKind>,
}

impl Topics {
    pub(crate) fn new(chain_id: &ChainId) -> Self {
        let topics = GossipKind::ALL.map(|k| IdentTopic::new(topic_name(chain_id, k)));
        let by_hash = GossipKind::ALL
            .iter()
            .map(|&k| (topics[k as usize].hash(), k))
            .collect();
        Topics { topics, by_hash }
    }

    /// The topic of `kind`.
    pub(crate) fn topic(&self, kind: GossipKind) -> &IdentTopic {
        &self.topics[kind as usize]
    }

    /// The kind of a topic, if it is one of ours.
    pub(crate) fn kind(&self, hash: &TopicHash) -> Option<GossipKind> {
        self.by_hash.get(hash).copied()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn topic_names() {
        let chain = ChainId::new("dev-local").unwrap();
        assert_eq!(
            topic_name(&chain, GossipKind::Blocks),
            "/rustchain/dev-local/blocks/borsh/1"
        );
        assert_eq!(
            topic_name(&chain, GossipKind::Transactions),
            "/rustchain/dev-local/transactions/borsh/1"
        );
        assert_eq!(
            topic_name(&chain, GossipKind::Votes),
            "/rustchain/dev-local/votes/borsh/1"
        );
        assert_eq!(
            topic_name(&chain, GossipKind::Attestations),
            "/rustchain/dev-local/attestations/borsh/1"
        );
        assert_eq!(
            topic_name(&chain, GossipKind::Evidence),
            "/rustchain/dev-local/evidence/borsh/1"
        );
        let topics = Topics::new(&chain);
        for kind in GossipKind::ALL {
            assert_eq!(topics.kind(&topics.topic(kind).hash()), Some(kind));
        }
        let other = Topics::new(&ChainId::new("dev-other").unwrap());
        assert_eq!(topics.kind(&other.topic(GossipKind::Blocks).hash()), None);
    }

    #[test]
    fn message_id_is_sha256_of_data() {
        let id = MessageId::from_data(b"abc");
        assert_eq!(
            id.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
