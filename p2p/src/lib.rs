//! RustChain peer-to-peer networking on libp2p.
//!
//! The stack, and what each part is for (the wire-level description a third party needs to write
//! a compatible peer is `docs/p2p.md`):
//!
//! - **Transport**: TCP, secured with noise (XX handshake, ed25519 identity) and multiplexed with
//!   yamux. The node identity is an ed25519 key kept in a 0600 file ([`load_or_create_identity`]).
//! - **identify** and **ping** for peer metadata and liveness.
//! - **Kademlia** (`/rustchain/<chain id>/kad/1`, server mode) for discovery: bootnodes seed the
//!   routing table, a periodic random walk finds more peers.
//! - **gossipsub v1.1** for blocks, transactions, votes, attestations and evidence, one topic
//!   each per chain id ([`topic_name`]). Messages are signed, content-addressed (the id is the
//!   SHA-256 of the data) and *nothing is forwarded before the node validates it*: every
//!   [`NetworkEvent::Gossip`] must be answered with [`NetworkHandle::report`].
//! - **sync**: request-response (`/rustchain/sync/borsh/1`) for status, header and block ranges,
//!   single blocks and finality certificates, answered by the node's [`SyncServer`].
//! - **Peer scoring**: gossipsub's own score plus an application score per peer ([`Penalty`],
//!   rejected gossip); a peer whose application score reaches -100 is disconnected and banned.
//!
//! The crate has no storage and no consensus logic: it moves bytes, enforces size limits and
//! keeps peers honest about the protocol; the node decides what the bytes mean.
//!
//! ```no_run
//! # async fn example(server: std::sync::Arc<dyn rustchain_p2p::SyncServer>) -> Result<(), rustchain_p2p::P2pError> {
//! use rustchain_p2p::{GossipKind, Network, NetworkEvent, P2pConfig, Validation};
//! let chain_id = rustchain_primitives::ChainId::new("dev-local").map_err(|e| rustchain_p2p::P2pError::Config(e.to_string()))?;
//! let mut config = P2pConfig::new(chain_id, rustchain_primitives::Hash::ZERO);
//! config.listen_addrs = vec!["/ip4/0.0.0.0/tcp/30333".parse().map_err(|_| rustchain_p2p::P2pError::Config("addr".into()))?];
//! let keypair = rustchain_p2p::load_or_create_identity(std::path::Path::new("data/p2p_key"))?;
//! let (network, mut events) = Network::start(config, keypair, server).await?;
//! while let Some(event) = events.recv().await {
//!     if let NetworkEvent::Gossip { kind: _, id, source, data: _ } = event {
//!         // decode and check the data for its kind, then:
//!         network.report(id, source, Validation::Accept).await;
//!     }
//! }
//! # Ok(()) }
//! ```

mod behaviour;
pub mod config;
pub mod error;
pub mod identity;
pub mod scoring;
pub mod service;
pub mod sync;
pub mod topics;

pub use behaviour::{agent_version, IDENTIFY_PROTOCOL_VERSION, MAX_GOSSIP_TRANSMIT_BYTES};
pub use libp2p::identity::Keypair;
pub use libp2p::{Multiaddr, PeerId};

pub use config::P2pConfig;
pub use error::P2pError;
pub use identity::load_or_create_identity;
pub use scoring::Penalty;
pub use service::{Direction, NetInfo, Network, NetworkEvent, NetworkHandle, PeerInfo};
pub use sync::{
    PeerStatus, SyncRequest, SyncResponse, SyncServer, MAX_BLOCKS_PER_REQUEST,
    MAX_HEADERS_PER_REQUEST, MAX_VOTES_PER_RESPONSE,
};
pub use topics::{topic_name, GossipKind, MessageId, Validation};
