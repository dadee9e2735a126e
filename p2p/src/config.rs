//! Network configuration.

use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use rustchain_primitives::{ChainId, Hash};

use crate::error::P2pError;

/// Default cap on established connections.
pub const DEFAULT_MAX_PEERS: u32 = 50;
/// Default cap on pending (handshaking) connections, per direction.
pub const DEFAULT_MAX_PENDING: u32 = 16;
/// Default time a sync request may take, from sending the request to the last response byte.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default ban length for a peer whose application score reached the ban threshold.
pub const DEFAULT_BAN_DURATION: Duration = Duration::from_secs(10 * 60);
/// Default interval between Kademlia random walks.
pub const DEFAULT_RANDOM_WALK_INTERVAL: Duration = Duration::from_secs(60);

/// Configuration of the network service.
#[derive(Debug, Clone)]
pub struct P2pConfig {
    /// Chain id: part of every gossip topic and of the Kademlia protocol id.
    pub chain_id: ChainId,
    /// Genesis hash: a peer whose `Status` names another genesis is disconnected and banned.
    pub genesis_hash: Hash,
    /// Addresses to listen on, e.g. `/ip4/0.0.0.0/tcp/30333` (`/tcp/0` picks a free port; the
    /// bound address is in [`crate::NetworkHandle::info`]). Empty: outbound connections only.
    pub listen_addrs: Vec<Multiaddr>,
    /// Peers dialed at start (and again while the node has no peer); each address ends with
    /// `/p2p/<peer id>`.
    pub bootnodes: Vec<Multiaddr>,
    /// Cap on established connections, inbound and outbound together (default 50).
    pub max_peers: u32,
    /// Cap on connections still handshaking, per direction (default 16).
    pub max_pending: u32,
    /// Timeout of one sync request (default 30 s).
    pub request_timeout: Duration,
    /// How long a peer stays banned (default 10 minutes).
    pub ban_duration: Duration,
    /// Kademlia discovery (random walks, dialing discovered peers). When off, the node only
    /// talks to its bootnodes, peers dialed explicitly and peers that dial it. Default on.
    pub discovery: bool,
    /// Interval between Kademlia random walks when discovery is on (default 60 s).
    pub random_walk_interval: Duration,
}

impl P2pConfig {
    /// A configuration with the defaults, no listen address and no bootnode.
    pub fn new(chain_id: ChainId, genesis_hash: Hash) -> Self {
        P2pConfig {
            chain_id,
            genesis_hash,
            listen_addrs: Vec::new(),
            bootnodes: Vec::new(),
            max_peers: DEFAULT_MAX_PEERS,
            max_pending: DEFAULT_MAX_PENDING,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            ban_duration: DEFAULT_BAN_DURATION,
            discovery: true,
            random_walk_interval: DEFAULT_RANDOM_WALK_INTERVAL,
        }
    }

    /// Checks the values and splits each bootnode into its peer id and transport address.
    pub(crate) fn validate(&self) -> Result<Vec<(PeerId, Multiaddr)>, P2pError> {
        if self.max_peers == 0 {
            return Err(P2pError::Config("max_peers must be at least 1".into()));
        }
        if self.max_pending == 0 {
            return Err(P2pError::Config("max_pending must be at least 1".into()));
        }
        if self.request_timeout.is_zero() {
            return Err(P2pError::Config("request_timeout must be positive".into()));
        }
        if self.discovery && self.random_walk_interval < Duration::from_secs(1) {
            return Err(P2pError::Config(
                "random_walk_interval must be at least 1 s".into(),
            ));
        }
        self.bootnodes.iter().map(split_peer_addr).collect()
    }
}

/// Splits `/.../p2p/<peer id>` into the peer id and the address without the `/p2p` suffix.
pub(crate) fn split_peer_addr(addr: &Multiaddr) -> Result<(PeerId, Multiaddr), P2pError> {
    let mut transport = addr.clone();
    match transport.pop() {
        Some(Protocol::P2p(peer)) if !transport.is_empty() => Ok((peer, transport)),
        _ => Err(P2pError::InvalidBootnode(addr.clone())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn bootnodes_need_a_peer_id() {
        let peer = PeerId::random();
        let good: Multiaddr = format!("/ip4/127.0.0.1/tcp/4000/p2p/{peer}")
            .parse()
            .unwrap();
        let (p, a) = split_peer_addr(&good).unwrap();
        assert_eq!(p, peer);
        assert_eq!(a, "/ip4/127.0.0.1/tcp/4000".parse::<Multiaddr>().unwrap());
        let bad: Multiaddr = "/ip4/127.0.0.1/tcp/4000".parse().unwrap();
        assert!(matches!(
            split_peer_addr(&bad),
            Err(P2pError::InvalidBootnode(_))
        ));
        let only_peer: Multiaddr = format!("/p2p/{peer}").parse().unwrap();
        assert!(split_peer_addr(&only_peer).is_err());
    }

    #[test]
    fn defaults_validate() {
        let mut c = P2pConfig::new(ChainId::new("dev-test").unwrap(), Hash::ZERO);
        assert!(c.validate().unwrap().is_empty());
        c.max_peers = 0;
        assert!(c.validate().is_err());
    }
}
