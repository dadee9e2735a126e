//! The composed libp2p behaviour and its configuration.

use std::time::Duration;

use libp2p::identity::Keypair;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    allow_block_list, connection_limits, gossipsub, identify, kad, ping, request_response,
    StreamProtocol,
};

use crate::config::P2pConfig;
use crate::error::P2pError;
use crate::scoring;
use crate::sync::{SyncCodec, SYNC_PROTOCOL};
use crate::topics::{message_id_of, Topics};

/// The identify `protocol_version` string of RustChain nodes.
pub const IDENTIFY_PROTOCOL_VERSION: &str = "/rustchain/id/1";

/// Largest gossipsub RPC frame: a full block plus room for the envelope (topic, signature,
/// public key, sequence number, control messages).
pub const MAX_GOSSIP_TRANSMIT_BYTES: usize =
    rustchain_primitives::codec::MAX_BLOCK_BYTES + 64 * 1024;

/// How long a message id is remembered as seen.
pub const DUPLICATE_CACHE_TIME: Duration = Duration::from_secs(120);

/// The identify agent string.
pub fn agent_version() -> String {
    format!("rustchain-node/{}", env!("CARGO_PKG_VERSION"))
}

/// The Kademlia protocol id for a chain.
pub fn kad_protocol(config: &P2pConfig) -> Result<StreamProtocol, P2pError> {
    StreamProtocol::try_from_owned(format!("/rustchain/{}/kad/1", config.chain_id.as_str()))
        .map_err(|e| P2pError::Config(format!("kad protocol id: {e}")))
}

pub(crate) type Gossipsub =
    gossipsub::Behaviour<gossipsub::IdentityTransform, gossipsub::WhitelistSubscriptionFilter>;

/// Order matters: the connection limits and the block list come first, so they refuse a
/// connection before the other behaviours set anything up for it.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    pub(crate) kad: Toggle<kad::Behaviour<kad::store::MemoryStore>>,
    pub(crate) gossipsub: Gossipsub,
    pub(crate) sync: request_response::Behaviour<SyncCodec>,
}

pub(crate) fn build(
    keypair: &Keypair,
    config: &P2pConfig,
    topics: &Topics,
) -> Result<Behaviour, P2pError> {
    let local_peer_id = keypair.public().to_peer_id();

    let limits = connection_limits::Behaviour::new(
        connection_limits::ConnectionLimits::default()
            .with_max_established(Some(config.max_peers))
            .with_max_pending_incoming(Some(config.max_pending))
            .with_max_pending_outgoing(Some(config.max_pending))
            // two, so that a simultaneous dial in both directions does not lose both
            .with_max_established_per_peer(Some(2)),
    );

    let identify = identify::Behaviour::new(
        identify::Config::new(IDENTIFY_PROTOCOL_VERSION.to_string(), keypair.public())
            .with_agent_version(agent_version()),
    );

    let ping = ping::Behaviour::new(ping::Config::new());

    let kad = if config.discovery {
        let mut kad_config = kad::Config::new(kad_protocol(config)?);
        kad_config
            .set_query_timeout(Duration::from_secs(30))
            .set_periodic_bootstrap_interval(Some(Duration::from_secs(5 * 60)))
            // we use Kademlia for peer discovery only: never store records for others
            .set_record_filtering(kad::StoreInserts::FilterBoth);
        let mut kad = kad::Behaviour::with_config(
            local_peer_id,
            kad::store::MemoryStore::new(local_peer_id),
            kad_config,
        );
        kad.set_mode(Some(kad::Mode::Server));
        Some(kad)
    } else {
        None
    };

    let gossipsub_config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| gossipsub::MessageId::new(&message_id_of(&m.data)))
        .max_transmit_size(MAX_GOSSIP_TRANSMIT_BYTES)
        .duplicate_cache_time(DUPLICATE_CACHE_TIME)
        .heartbeat_interval(Duration::from_secs(1))
        // messages wait in the cache for the node's verdict: keep them 12 heartbeats
        .history_length(12)
        .history_gossip(3)
        .build()
        .map_err(|e| P2pError::Config(format!("gossipsub: {e}")))?;
    let filter = gossipsub::WhitelistSubscriptionFilter(
        crate::topics::GossipKind::ALL
            .iter()
            .map(|&k| topics.topic(k).hash())
            .collect(),
    );
    let mut gossipsub = Gossipsub::new_with_subscription_filter(
        gossipsub::MessageAuthenticity::Signed(keypair.clone()),
        gossipsub_config,
        filter,
    )
    .map_err(|e| P2pError::Config(format!("gossipsub: {e}")))?;
    gossipsub
        .with_peer_score(
            scoring::gossipsub_score_params(topics),
            scoring::gossipsub_thresholds(),
        )
        .map_err(|e| P2pError::Config(format!("gossipsub scoring: {e}")))?;

    let sync = request_response::Behaviour::with_codec(
        SyncCodec,
        [(
            StreamProtocol::new(SYNC_PROTOCOL),
            request_response::ProtocolSupport::Full,
        )],
        request_response::Config::default().with_request_timeout(config.request_timeout),
    );

    Ok(Behaviour {
        limits,
        blocked: allow_block_list::Behaviour::default(),
        identify,
        ping,
        kad: Toggle::from(kad),
        gossipsub,
        sync,
    })
}
