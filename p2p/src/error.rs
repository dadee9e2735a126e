//! Errors of the networking layer.

use std::path::PathBuf;

use libp2p::{Multiaddr, PeerId};

/// Everything that can go wrong in the p2p layer.
///
/// [`P2pError::NoPeers`] and [`P2pError::Duplicate`] are returned by
/// [`crate::NetworkHandle::publish`] for conditions that are normal in a running network (no
/// peer subscribed yet, the same bytes already published); callers usually ignore them (see
/// [`P2pError::is_benign_publish_error`]).
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// The configuration is unusable.
    #[error("invalid p2p configuration: {0}")]
    Config(String),
    /// A bootnode address does not end with `/p2p/<peer id>`.
    #[error("bootnode address {0} must end with /p2p/<peer id>")]
    InvalidBootnode(Multiaddr),
    /// The identity key file could not be read or written.
    #[error("node identity file {path}: {source}")]
    IdentityIo {
        /// the key file
        path: PathBuf,
        /// the I/O error
        source: std::io::Error,
    },
    /// The identity key file exists but does not hold a valid key. It is never replaced
    /// silently: move it away to generate a new identity (a new peer id).
    #[error(
        "node identity file {path} is corrupt ({reason}); move it away to create a new identity"
    )]
    IdentityCorrupt {
        /// the key file
        path: PathBuf,
        /// what is wrong
        reason: String,
    },
    /// The transport (TCP + noise + yamux) or the behaviour could not be built.
    #[error("p2p transport: {0}")]
    Transport(String),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// the address
        addr: Multiaddr,
        /// why
        reason: String,
    },
    /// No connected peer is subscribed to the topic (benign: the message was not sent).
    #[error("no peer is subscribed to the topic yet")]
    NoPeers,
    /// The same bytes were already published or received recently (benign).
    #[error("message already published or seen")]
    Duplicate,
    /// A message is larger than its topic allows.
    #[error("message of {len} bytes is above the {max}-byte limit of its topic")]
    MessageTooLarge {
        /// message size
        len: usize,
        /// limit for the topic
        max: usize,
    },
    /// Publishing failed for another reason.
    #[error("publish failed: {0}")]
    Publish(String),
    /// Dialing a peer failed.
    #[error("dial failed: {0}")]
    Dial(String),
    /// The peer is banned.
    #[error("peer {0} is banned")]
    Banned(PeerId),
    /// A sync request timed out.
    #[error("sync request to {0} timed out")]
    Timeout(PeerId),
    /// A sync request failed (connection closed, protocol not supported, malformed or
    /// oversized response...).
    #[error("sync request to {peer} failed: {reason}")]
    Request {
        /// the peer asked
        peer: PeerId,
        /// why
        reason: String,
    },
    /// The network service has stopped.
    #[error("the network service has stopped")]
    Shutdown,
}

impl P2pError {
    /// True for publish outcomes that are normal in a live network (no subscribed peer yet,
    /// duplicate message) and need no action.
    pub fn is_benign_publish_error(&self) -> bool {
        matches!(self, P2pError::NoPeers | P2pError::Duplicate)
    }
}
