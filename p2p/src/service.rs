//! The network service: a tokio task that owns the libp2p swarm, and the handle that talks to it.
//!
//! [`Network::start`] builds the swarm, binds the listen addresses, dials the bootnodes and
//! spawns the task. The node then holds a [`NetworkHandle`] (cheap to clone; every method sends
//! a command to the task) and reads [`NetworkEvent`]s from a channel.
//!
//! The task never waits on the node: events are delivered with `try_send`; when the channel is
//! full a gossip message is dropped (and reported `Ignore`, so gossipsub neither forwards nor
//! penalises it) and a warning is logged. Sync requests from peers are answered by the node's
//! [`SyncServer`] on tokio's blocking pool, at most [`MAX_CONCURRENT_SERVER_CALLS`] at a time
//! (beyond that a peer gets `SyncResponse::Error("busy")`).
//!
//! On each new peer the service asks for its `Status`; a peer with another genesis hash is
//! disconnected and banned ([`Penalty::Fatal`]). The last status seen from each peer is kept
//! ([`NetworkHandle::status_peers`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libp2p::core::transport::ListenerId;
use libp2p::core::ConnectedPoint;
use libp2p::futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{gossipsub, identify, kad, noise, request_response, tcp, yamux};
use libp2p::{Multiaddr, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tracing::{debug, info, warn};

use crate::behaviour::{self, Behaviour, BehaviourEvent, IDENTIFY_PROTOCOL_VERSION};
use crate::config::{split_peer_addr, P2pConfig};
use crate::error::P2pError;
use crate::scoring::{PeerScores, Penalty, ScoreOutcome, REJECT_PENALTY};
use crate::sync::{
    fit_response, PeerStatus, SyncRequest, SyncResponse, SyncServer, MAX_RESPONSE_BYTES,
};
use crate::topics::{GossipKind, MessageId, Topics, Validation};

/// Capacity of the event channel.
pub const EVENT_CHANNEL_CAPACITY: usize = 4096;
/// Most sync requests being served at once (the rest are answered "busy").
pub const MAX_CONCURRENT_SERVER_CALLS: usize = 32;
/// How long [`Network::start`] waits for the listen addresses to be bound.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections with no protocol activity are closed after this long.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// How often bootnodes are re-dialed while the node has no peer.
const BOOTNODE_REDIAL_INTERVAL: Duration = Duration::from_secs(30);
/// How often decayed application scores are pushed to gossipsub and old entries pruned.
const SCORE_REFRESH_INTERVAL: Duration = Duration::from_secs(10);

/// Which side opened a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The peer dialed us.
    Inbound,
    /// We dialed the peer.
    Outbound,
}

/// Something the node needs to know about.
#[derive(Debug, Clone)]
pub enum NetworkEvent {
    /// A gossip message on one of the chain's topics. Answer it with
    /// [`NetworkHandle::report`]: it is not forwarded to anyone until then.
    Gossip {
        /// Topic it came on.
        kind: GossipKind,
        /// Its id (SHA-256 of `data`), for the report.
        id: MessageId,
        /// The peer that sent it to us (not necessarily its author), for the report.
        source: PeerId,
        /// The message bytes (at most `kind.max_message_bytes()`), not yet decoded.
        data: Vec<u8>,
    },
    /// A peer's first connection was established.
    PeerConnected {
        /// the peer
        peer: PeerId,
        /// its address (for an inbound connection, the address it connected from)
        address: Multiaddr,
        /// who dialed
        direction: Direction,
    },
    /// A peer's last connection closed.
    PeerDisconnected {
        /// the peer
        peer: PeerId,
    },
}

/// A connected peer.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerInfo {
    /// Its id.
    pub peer_id: PeerId,
    /// Address of its first connection.
    pub address: Multiaddr,
    /// Who dialed.
    pub direction: Direction,
    /// Its current application score (0 is best; at -100 it is banned).
    pub score: f64,
}

/// The local node's network state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetInfo {
    /// The local peer id.
    pub peer_id: PeerId,
    /// The bound listen addresses (with the real ports).
    pub listen_addrs: Vec<Multiaddr>,
    /// Number of connected peers.
    pub peer_count: usize,
}

/// Starts the network service.
#[derive(Debug, Clone, Copy)]
pub struct Network;

impl Network {
    /// Builds the swarm, binds every listen address (so [`NetworkHandle::info`] shows the real
    /// ports), dials the bootnodes, and spawns the service task. Must be called inside a tokio
    /// runtime.
    pub async fn start(
        config: P2pConfig,
        keypair: Keypair,
        server: Arc<dyn SyncServer>,
    ) -> Result<(NetworkHandle, mpsc::Receiver<NetworkEvent>), P2pError> {
        let bootnodes = config.validate()?;
        let topics = Topics::new(&config.chain_id);
        let behaviour = behaviour::build(&keypair, &config, &topics)?;
        let local_peer_id = keypair.public().to_peer_id();

        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| P2pError::Transport(e.to_string()))?
            .with_behaviour(move |_| behaviour)
            .map_err(|e| P2pError::Transport(e.to_string()))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
            .build();

        for kind in GossipKind::ALL {
            swarm
                .behaviour_mut()
                .gossipsub
                .subscribe(topics.topic(kind))
                .map_err(|e| P2pError::Config(format!("subscribing to {kind}: {e}")))?;
        }

        // Bind every listener before returning.
        let mut pending: HashMap<ListenerId, Multiaddr> = HashMap::new();
        for addr in &config.listen_addrs {
            let id = swarm
                .listen_on(addr.clone())
                .map_err(|e| P2pError::Listen {
                    addr: addr.clone(),
                    reason: e.to_string(),
                })?;
            pending.insert(id, addr.clone());
        }
        let mut early_events = Vec::new();
        let wait = async {
            while !pending.is_empty() {
                match swarm.select_next_some().await {
                    SwarmEvent::NewListenAddr {
                        listener_id,
                        address,
                    } => {
                        info!(%address, "listening");
                        pending.remove(&listener_id);
                    }
                    SwarmEvent::ListenerError { listener_id, error } => {
                        if let Some(addr) = pending.remove(&listener_id) {
                            return Err(P2pError::Listen {
                                addr,
                                reason: error.to_string(),
                            });
                        }
                    }
                    SwarmEvent::ListenerClosed {
                        listener_id,
                        reason,
                        ..
                    } => {
                        if let Some(addr) = pending.remove(&listener_id) {
                            return Err(P2pError::Listen {
                                addr,
                                reason: match reason {
                                    Ok(()) => "listener closed".into(),
                                    Err(e) => e.to_string(),
                                },
                            });
                        }
                    }
                    other => early_events.push(other),
                }
            }
            Ok(())
        };
        match tokio::time::timeout(LISTEN_TIMEOUT, wait).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(P2pError::Transport(
                    "timed out waiting for the listen addresses to be bound".into(),
                ))
            }
        }

        let (event_tx, event_rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
        let (command_tx, command_rx) = mpsc::channel(256);
        let (internal_tx, internal_rx) = mpsc::channel(MAX_CONCURRENT_SERVER_CALLS * 2);
        let mut service = Service {
            swarm,
            config,
            topics,
            server,
            bootnodes,
            events: event_tx,
            commands: command_rx,
            internal_tx,
            internal_rx,
            peers: HashMap::new(),
            scores: PeerScores::default(),
            pending_requests: HashMap::new(),
            pending_dials: HashMap::new(),
            server_slots: Arc::new(Semaphore::new(MAX_CONCURRENT_SERVER_CALLS)),
        };
        for event in early_events {
            service.on_swarm_event(event);
        }
        service.add_bootnodes_to_kad();
        service.dial_bootnodes();
        info!(peer_id = %local_peer_id, chain_id = %service.config.chain_id, "p2p network started");
        tokio::spawn(service.run());

        Ok((
            NetworkHandle {
                commands: command_tx,
                local_peer_id,
            },
            event_rx,
        ))
    }
}

/// A handle to the network service. Cloning is cheap; all clones talk to the same service.
#[derive(Debug, Clone)]
pub struct NetworkHandle {
    commands: mpsc::Sender<Command>,
    local_peer_id: PeerId,
}

impl NetworkHandle {
    /// The local peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, P2pError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| P2pError::Shutdown)?;
        rx.await.map_err(|_| P2pError::Shutdown)
    }

    /// Publishes `data` (the borsh encoding of the kind's type) on the topic of `kind`.
    ///
    /// [`P2pError::NoPeers`] (no peer subscribed yet) and [`P2pError::Duplicate`] (these exact
    /// bytes were already published or received recently) are benign; see
    /// [`P2pError::is_benign_publish_error`].
    pub async fn publish(&self, kind: GossipKind, data: Vec<u8>) -> Result<(), P2pError> {
        self.call(|reply| Command::Publish { kind, data, reply })
            .await?
    }

    /// Reports the node's verdict on a gossip message received as [`NetworkEvent::Gossip`].
    /// `Accept` forwards it to the mesh; `Reject` drops it, penalises `source` in gossipsub
    /// (P4) and lowers its application score by 10; `Ignore` drops it without penalty.
    /// Returns once the service has applied the verdict (so a ban it causes is in force).
    pub async fn report(&self, id: MessageId, source: PeerId, validation: Validation) {
        let _ = self
            .call(|reply| Command::Report {
                id,
                source,
                validation,
                reply,
            })
            .await;
    }

    /// Lowers a peer's application score (bad sync responses and the like); at -100 the peer is
    /// disconnected and banned. Returns once the penalty is applied.
    pub async fn penalize(&self, peer: PeerId, penalty: Penalty, reason: &str) {
        let reason = reason.to_string();
        let _ = self
            .call(|reply| Command::Penalize {
                peer,
                penalty,
                reason,
                reply,
            })
            .await;
    }

    /// Sends a sync request to a peer (dialing it if it is not connected but its address is
    /// known) and waits for the response, at most the configured request timeout.
    pub async fn request(
        &self,
        peer: PeerId,
        request: SyncRequest,
    ) -> Result<SyncResponse, P2pError> {
        self.call(|reply| Command::Request {
            peer,
            request,
            reply,
        })
        .await?
    }

    /// Dials an address (with or without a `/p2p/<peer id>` suffix) and waits until the
    /// connection is established (returning the peer id) or fails.
    pub async fn dial(&self, addr: Multiaddr) -> Result<PeerId, P2pError> {
        self.call(|reply| Command::Dial { addr, reply }).await?
    }

    /// The connected peers, sorted by peer id.
    pub async fn peers(&self) -> Vec<PeerInfo> {
        self.call(|reply| Command::Peers { reply })
            .await
            .unwrap_or_default()
    }

    /// The last `Status` each connected peer reported, sorted by peer id.
    pub async fn status_peers(&self) -> Vec<(PeerId, PeerStatus)> {
        self.call(|reply| Command::StatusPeers { reply })
            .await
            .unwrap_or_default()
    }

    /// Peers known to be subscribed to the topic of `kind`, sorted.
    pub async fn topic_peers(&self, kind: GossipKind) -> Vec<PeerId> {
        self.call(|reply| Command::TopicPeers { kind, reply })
            .await
            .unwrap_or_default()
    }

    /// Peers in the local gossipsub mesh of the topic of `kind` (those messages are forwarded
    /// to), sorted.
    pub async fn mesh_peers(&self, kind: GossipKind) -> Vec<PeerId> {
        self.call(|reply| Command::MeshPeers { kind, reply })
            .await
            .unwrap_or_default()
    }

    /// Local peer id, bound listen addresses and peer count.
    pub async fn info(&self) -> Result<NetInfo, P2pError> {
        self.call(|reply| Command::Info { reply }).await
    }

    /// Stops the service and closes every connection; returns when it has stopped. Later calls
    /// on any clone of the handle return [`P2pError::Shutdown`] or empty results.
    pub async fn shutdown(&self) {
        let _ = self.call(|reply| Command::Shutdown { reply }).await;
    }
}

enum Command {
    Publish {
        kind: GossipKind,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<(), P2pError>>,
    },
    Report {
        id: MessageId,
        source: PeerId,
        validation: Validation,
        reply: oneshot::Sender<()>,
    },
    Penalize {
        peer: PeerId,
        penalty: Penalty,
        reason: String,
        reply: oneshot::Sender<()>,
    },
    Request {
        peer: PeerId,
        request: SyncRequest,
        reply: oneshot::Sender<Result<SyncResponse, P2pError>>,
    },
    Dial {
        addr: Multiaddr,
        reply: oneshot::Sender<Result<PeerId, P2pError>>,
    },
    Peers {
        reply: oneshot::Sender<Vec<PeerInfo>>,
    },
    StatusPeers {
        reply: oneshot::Sender<Vec<(PeerId, PeerStatus)>>,
    },
    TopicPeers {
        kind: GossipKind,
        reply: oneshot::Sender<Vec<PeerId>>,
    },
    MeshPeers {
        kind: GossipKind,
        reply: oneshot::Sender<Vec<PeerId>>,
    },
    Info {
        reply: oneshot::Sender<NetInfo>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// Messages from tasks spawned by the service back to it.
enum Internal {
    Respond {
        peer: PeerId,
        channel: request_response::ResponseChannel<SyncResponse>,
        response: SyncResponse,
    },
}

struct PeerEntry {
    address: Multiaddr,
    direction: Direction,
    status: Option<PeerStatus>,
}

enum PendingRequest {
    /// A request made through the handle.
    User(oneshot::Sender<Result<SyncResponse, P2pError>>),
    /// The `Status` asked of every new peer.
    Handshake,
}

struct Service {
    swarm: Swarm<Behaviour>,
    config: P2pConfig,
    topics: Topics,
    server: Arc<dyn SyncServer>,
    bootnodes: Vec<(PeerId, Multiaddr)>,
    events: mpsc::Sender<NetworkEvent>,
    commands: mpsc::Receiver<Command>,
    internal_tx: mpsc::Sender<Internal>,
    internal_rx: mpsc::Receiver<Internal>,
    peers: HashMap<PeerId, PeerEntry>,
    scores: PeerScores,
    pending_requests: HashMap<request_response::OutboundRequestId, (PeerId, PendingRequest)>,
    pending_dials: HashMap<ConnectionId, oneshot::Sender<Result<PeerId, P2pError>>>,
    server_slots: Arc<Semaphore>,
}

impl Service {
    async fn run(mut self) {
        let start = tokio::time::Instant::now();
        let mut ban_tick = tokio::time::interval(Duration::from_secs(1));
        ban_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut score_tick =
            tokio::time::interval_at(start + SCORE_REFRESH_INTERVAL, SCORE_REFRESH_INTERVAL);
        score_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut redial_tick =
            tokio::time::interval_at(start + BOOTNODE_REDIAL_INTERVAL, BOOTNODE_REDIAL_INTERVAL);
        redial_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let walk_interval = self.config.random_walk_interval;
        let mut walk_tick = tokio::time::interval_at(start + walk_interval, walk_interval);
        walk_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let discovery = self.config.discovery;

        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown { reply }) => {
                        let _ = reply.send(());
                        break;
                    }
                    Some(command) => self.on_command(command),
                    // every handle is gone
                    None => break,
                },
                Some(internal) = self.internal_rx.recv() => self.on_internal(internal),
                _ = ban_tick.tick() => self.expire_bans(),
                _ = score_tick.tick() => self.refresh_scores(),
                _ = redial_tick.tick() => {
                    if self.peers.is_empty() {
                        self.dial_bootnodes();
                    }
                }
                _ = walk_tick.tick(), if discovery => self.random_walk(),
            }
        }
        info!("p2p network stopped");
    }

    // ---- commands -------------------------------------------------------------------------

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { kind, data, reply } => {
                let _ = reply.send(self.publish(kind, data));
            }
            Command::Report {
                id,
                source,
                validation,
                reply,
            } => {
                self.report(id, source, validation);
                let _ = reply.send(());
            }
            Command::Penalize {
                peer,
                penalty,
                reason,
                reply,
            } => {
                self.penalize(peer, penalty.points(), &reason);
                let _ = reply.send(());
            }
            Command::Request {
                peer,
                request,
                reply,
            } => {
                if self.scores.is_banned(&peer, Instant::now()) {
                    let _ = reply.send(Err(P2pError::Banned(peer)));
                    return;
                }
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.pending_requests
                    .insert(id, (peer, PendingRequest::User(reply)));
            }
            Command::Dial { addr, reply } => self.dial(addr, reply),
            Command::Peers { reply } => {
                let now = Instant::now();
                let mut peers: Vec<PeerInfo> = self
                    .peers
                    .iter()
                    .map(|(peer, entry)| PeerInfo {
                        peer_id: *peer,
                        address: entry.address.clone(),
                        direction: entry.direction,
                        score: self.scores.score(peer, now),
                    })
                    .collect();
                peers.sort_by_key(|p| p.peer_id);
                let _ = reply.send(peers);
            }
            Command::StatusPeers { reply } => {
                let mut statuses: Vec<(PeerId, PeerStatus)> = self
                    .peers
                    .iter()
                    .filter_map(|(peer, entry)| entry.status.map(|s| (*peer, s)))
                    .collect();
                statuses.sort_by_key(|(peer, _)| *peer);
                let _ = reply.send(statuses);
            }
            Command::TopicPeers { kind, reply } => {
                let hash = self.topics.topic(kind).hash();
                let mut peers: Vec<PeerId> = self
                    .swarm
                    .behaviour()
                    .gossipsub
                    .all_peers()
                    .filter(|(_, topics)| topics.contains(&&hash))
                    .map(|(peer, _)| *peer)
                    .collect();
                peers.sort();
                let _ = reply.send(peers);
            }
            Command::MeshPeers { kind, reply } => {
                let hash = self.topics.topic(kind).hash();
                let mut peers: Vec<PeerId> = self
                    .swarm
                    .behaviour()
                    .gossipsub
                    .mesh_peers(&hash)
                    .copied()
                    .collect();
                peers.sort();
                let _ = reply.send(peers);
            }
            Command::Info { reply } => {
                let _ = reply.send(NetInfo {
                    peer_id: *self.swarm.local_peer_id(),
                    listen_addrs: self.swarm.listeners().cloned().collect(),
                    peer_count: self.peers.len(),
                });
            }
            Command::Shutdown { reply } => {
                // handled in `run`
                let _ = reply.send(());
            }
        }
    }

    fn publish(&mut self, kind: GossipKind, data: Vec<u8>) -> Result<(), P2pError> {
        let max = kind.max_message_bytes();
        if data.len() > max {
            return Err(P2pError::MessageTooLarge {
                len: data.len(),
                max,
            });
        }
        let topic = self.topics.topic(kind).clone();
        let len = data.len();
        match self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
            Ok(id) => {
                debug!(%kind, %id, len, "published gossip");
                Ok(())
            }
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => Err(P2pError::NoPeers),
            Err(gossipsub::PublishError::Duplicate) => Err(P2pError::Duplicate),
            Err(gossipsub::PublishError::MessageTooLarge) => Err(P2pError::MessageTooLarge {
                len,
                max: behaviour::MAX_GOSSIP_TRANSMIT_BYTES,
            }),
            Err(e) => Err(P2pError::Publish(e.to_string())),
        }
    }

    fn report(&mut self, id: MessageId, source: PeerId, validation: Validation) {
        debug!(%id, %source, ?validation, "gossip validation result");
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&id.0, &source, validation.into());
        if validation == Validation::Reject {
            self.penalize(source, REJECT_PENALTY, "rejected gossip message");
        }
    }

    /// Lowers the application score; bans the peer when it reaches the threshold.
    fn penalize(&mut self, peer: PeerId, delta: f64, reason: &str) {
        let now = Instant::now();
        let outcome = self.scores.apply(peer, delta, now);
        let score = match outcome {
            ScoreOutcome::Scored(s) | ScoreOutcome::Ban(s) => s,
        };
        debug!(%peer, delta, score, reason, "peer penalised");
        self.swarm
            .behaviour_mut()
            .gossipsub
            .set_application_score(&peer, score);
        if let ScoreOutcome::Ban(_) = outcome {
            let duration = self.config.ban_duration;
            info!(%peer, score, reason, ?duration, "banning peer");
            self.scores.ban(peer, now + duration);
            // refuses new connections and closes the existing ones
            self.swarm.behaviour_mut().blocked.block_peer(peer);
        }
    }

    fn dial(&mut self, addr: Multiaddr, reply: oneshot::Sender<Result<PeerId, P2pError>>) {
        let opts = match split_peer_addr(&addr) {
            Ok((peer, transport)) => {
                if self.scores.is_banned(&peer, Instant::now()) {
                    let _ = reply.send(Err(P2pError::Banned(peer)));
                    return;
                }
                if self.swarm.is_connected(&peer) {
                    let _ = reply.send(Ok(peer));
                    return;
                }
                DialOpts::peer_id(peer).addresses(vec![transport]).build()
            }
            Err(_) if addr.iter().any(|p| matches!(p, Protocol::P2p(_))) => {
                let _ = reply.send(Err(P2pError::Dial(format!(
                    "{addr}: /p2p/<peer id> must be the last component"
                ))));
                return;
            }
            Err(_) => DialOpts::unknown_peer_id().address(addr.clone()).build(),
        };
        let connection_id = opts.connection_id();
        match self.swarm.dial(opts) {
            Ok(()) => {
                self.pending_dials.insert(connection_id, reply);
            }
            Err(e) => {
                let _ = reply.send(Err(P2pError::Dial(format!("{addr}: {e}"))));
            }
        }
    }

    // ---- periodic work ----------------------------------------------------------------------

    fn expire_bans(&mut self) {
        for peer in self.scores.expire_bans(Instant::now()) {
            info!(%peer, "ban expired");
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        }
    }

    fn refresh_scores(&mut self) {
        let now = Instant::now();
        let peers: Vec<PeerId> = self.peers.keys().copied().collect();
        for peer in peers {
            let score = self.scores.score(&peer, now);
            self.swarm
                .behaviour_mut()
                .gossipsub
                .set_application_score(&peer, score);
        }
        let connected = &self.peers;
        self.scores.prune(now, |p| connected.contains_key(p));
    }

    fn add_bootnodes_to_kad(&mut self) {
        let local = *self.swarm.local_peer_id();
        if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
            for (peer, addr) in &self.bootnodes {
                if *peer != local {
                    kad.add_address(peer, addr.clone());
                }
            }
        }
    }

    fn dial_bootnodes(&mut self) {
        let local = *self.swarm.local_peer_id();
        let now = Instant::now();
        for (peer, addr) in self.bootnodes.clone() {
            if peer == local || self.swarm.is_connected(&peer) || self.scores.is_banned(&peer, now)
            {
                continue;
            }
            debug!(%peer, %addr, "dialing bootnode");
            let opts = DialOpts::peer_id(peer)
                .addresses(vec![addr.clone()])
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                debug!(%peer, %addr, error = %e, "cannot dial bootnode");
            }
        }
    }

    fn random_walk(&mut self) {
        if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
            debug!("kademlia random walk");
            kad.get_closest_peers(PeerId::random());
        }
    }

    /// Discovery dials new peers while fewer than half of `max_peers` are connected, leaving
    /// the other half for peers that dial us.
    fn wants_more_peers(&self) -> bool {
        (self.peers.len() as u64) * 2 < u64::from(self.config.max_peers)
    }

    fn dial_discovered(&mut self, peer: PeerId, addrs: Vec<Multiaddr>) {
        if peer == *self.swarm.local_peer_id()
            || addrs.is_empty()
            || self.swarm.is_connected(&peer)
            || self.scores.is_banned(&peer, Instant::now())
            || !self.wants_more_peers()
        {
            return;
        }
        debug!(%peer, "dialing discovered peer");
        let opts = DialOpts::peer_id(peer).addresses(addrs).build();
        if let Err(e) = self.swarm.dial(opts) {
            debug!(%peer, error = %e, "cannot dial discovered peer");
        }
    }

    // ---- swarm events -------------------------------------------------------------------------

    fn emit(&self, event: NetworkEvent) -> bool {
        match self.events.try_send(event) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(event)) => {
                let what = match event {
                    NetworkEvent::Gossip { kind, .. } => format!("{kind} gossip"),
                    NetworkEvent::PeerConnected { peer, .. } => format!("connection of {peer}"),
                    NetworkEvent::PeerDisconnected { peer } => format!("disconnection of {peer}"),
                };
                warn!(event = %what, "network event channel full: event dropped");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                if let Some(reply) = self.pending_dials.remove(&connection_id) {
                    let _ = reply.send(Ok(peer_id));
                }
                if num_established.get() == 1 {
                    let (direction, address) = match &endpoint {
                        ConnectedPoint::Dialer { address, .. } => {
                            (Direction::Outbound, address.clone())
                        }
                        ConnectedPoint::Listener { send_back_addr, .. } => {
                            (Direction::Inbound, send_back_addr.clone())
                        }
                    };
                    info!(peer = %peer_id, %address, ?direction, "peer connected");
                    self.peers.insert(
                        peer_id,
                        PeerEntry {
                            address: address.clone(),
                            direction,
                            status: None,
                        },
                    );
                    self.emit(NetworkEvent::PeerConnected {
                        peer: peer_id,
                        address,
                        direction,
                    });
                    let id = self
                        .swarm
                        .behaviour_mut()
                        .sync
                        .send_request(&peer_id, SyncRequest::Status);
                    self.pending_requests
                        .insert(id, (peer_id, PendingRequest::Handshake));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => self.on_connection_closed(peer_id, num_established, cause),
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                peer_id,
                error,
            } => {
                debug!(peer = ?peer_id, %error, "outgoing connection failed");
                if let Some(reply) = self.pending_dials.remove(&connection_id) {
                    let _ = reply.send(Err(P2pError::Dial(error.to_string())));
                }
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                peer_id,
                ..
            } => {
                debug!(%send_back_addr, peer = ?peer_id, %error, "incoming connection failed");
            }
            SwarmEvent::NewListenAddr { address, .. } => info!(%address, "listening"),
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                info!(%address, "no longer listening")
            }
            SwarmEvent::ListenerError { error, .. } => warn!(%error, "listener error"),
            SwarmEvent::ListenerClosed {
                addresses, reason, ..
            } => warn!(?addresses, ?reason, "listener closed"),
            _ => {}
        }
    }

    fn on_connection_closed(
        &mut self,
        peer: PeerId,
        remaining: u32,
        cause: Option<libp2p::swarm::ConnectionError>,
    ) {
        if remaining > 0 || self.peers.remove(&peer).is_none() {
            return;
        }
        match cause {
            Some(cause) => info!(%peer, %cause, "peer disconnected"),
            None => info!(%peer, "peer disconnected"),
        }
        self.emit(NetworkEvent::PeerDisconnected { peer });
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(event) => self.on_gossipsub_event(event),
            BehaviourEvent::Sync(event) => self.on_sync_event(event),
            BehaviourEvent::Identify(event) => self.on_identify_event(event),
            BehaviourEvent::Kad(event) => self.on_kad_event(event),
            BehaviourEvent::Ping(event) => {
                if let Err(error) = event.result {
                    debug!(peer = %event.peer, %error, "ping failed");
                }
            }
            BehaviourEvent::Limits(never) => match never {},
            BehaviourEvent::Blocked(never) => match never {},
        }
    }

    fn on_gossipsub_event(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                let id = MessageId(message_id);
                let Some(kind) = self.topics.kind(&message.topic) else {
                    debug!(%id, topic = %message.topic, "gossip on a foreign topic ignored");
                    self.report(id, propagation_source, Validation::Ignore);
                    return;
                };
                if self.scores.is_banned(&propagation_source, Instant::now()) {
                    // in flight when the ban started
                    debug!(%id, source = %propagation_source, "gossip from a banned peer ignored");
                    self.report(id, propagation_source, Validation::Ignore);
                    return;
                }
                let max = kind.max_message_bytes();
                if message.data.len() > max {
                    debug!(%id, %kind, len = message.data.len(), max, source = %propagation_source, "oversized gossip rejected");
                    self.report(id, propagation_source, Validation::Reject);
                    return;
                }
                debug!(%id, %kind, len = message.data.len(), source = %propagation_source, "gossip received");
                let delivered = self.emit(NetworkEvent::Gossip {
                    kind,
                    id: id.clone(),
                    source: propagation_source,
                    data: message.data,
                });
                if !delivered {
                    self.report(id, propagation_source, Validation::Ignore);
                }
            }
            gossipsub::Event::Subscribed { peer_id, topic } => {
                debug!(peer = %peer_id, %topic, "peer subscribed");
            }
            gossipsub::Event::Unsubscribed { peer_id, topic } => {
                debug!(peer = %peer_id, %topic, "peer unsubscribed");
            }
            gossipsub::Event::GossipsubNotSupported { peer_id } => {
                debug!(peer = %peer_id, "peer does not support gossipsub");
            }
            gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            } => {
                debug!(peer = %peer_id, ?failed_messages, "slow gossipsub peer");
            }
        }
    }

    fn on_sync_event(&mut self, event: request_response::Event<SyncRequest, SyncResponse>) {
        use request_response::{Event, InboundFailure, Message, OutboundFailure};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => self.serve(peer, request, channel),
            Event::Message {
                peer,
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let SyncResponse::Status(status) = &response {
                    self.on_status(peer, *status);
                }
                match self.pending_requests.remove(&request_id) {
                    Some((_, PendingRequest::User(reply))) => {
                        let _ = reply.send(Ok(response));
                    }
                    Some((_, PendingRequest::Handshake)) | None => {}
                }
            }
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                debug!(%peer, %error, "sync request failed");
                if let OutboundFailure::Io(e) = &error {
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        self.penalize(
                            peer,
                            Penalty::Minor.points(),
                            "malformed or oversized sync response",
                        );
                    }
                }
                if let Some((_, PendingRequest::User(reply))) =
                    self.pending_requests.remove(&request_id)
                {
                    let err = match error {
                        OutboundFailure::Timeout => P2pError::Timeout(peer),
                        other => P2pError::Request {
                            peer,
                            reason: other.to_string(),
                        },
                    };
                    let _ = reply.send(Err(err));
                }
            }
            Event::InboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "inbound sync request failed");
                if let InboundFailure::Io(e) = &error {
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        self.penalize(
                            peer,
                            Penalty::Minor.points(),
                            "malformed or oversized sync request",
                        );
                    }
                }
            }
            Event::ResponseSent { .. } => {}
        }
    }

    /// Answers an inbound sync request on the blocking pool.
    fn serve(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        channel: request_response::ResponseChannel<SyncResponse>,
    ) {
        let permit: OwnedSemaphorePermit = match self.server_slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                debug!(%peer, "sync server busy");
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, SyncResponse::Error("busy".into()));
                return;
            }
        };
        let request = request.clamped();
        debug!(%peer, ?request, "sync request");
        let server = Arc::clone(&self.server);
        let internal = self.internal_tx.clone();
        tokio::spawn(async move {
            let answered = tokio::task::spawn_blocking(move || {
                fit_response(server.handle(peer, request), MAX_RESPONSE_BYTES)
            })
            .await;
            drop(permit);
            let response = match answered {
                Ok(response) => response,
                Err(e) => {
                    warn!(%peer, error = %e, "sync server failed");
                    SyncResponse::Error("internal error".into())
                }
            };
            let _ = internal
                .send(Internal::Respond {
                    peer,
                    channel,
                    response,
                })
                .await;
        });
    }

    fn on_internal(&mut self, internal: Internal) {
        match internal {
            Internal::Respond {
                peer,
                channel,
                response,
            } => {
                if self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response)
                    .is_err()
                {
                    debug!(%peer, "sync response not sent: stream closed or timed out");
                }
            }
        }
    }

    fn on_status(&mut self, peer: PeerId, status: PeerStatus) {
        if status.genesis_hash != self.config.genesis_hash {
            info!(%peer, genesis = %status.genesis_hash, "peer is on another network (genesis mismatch)");
            self.penalize(peer, Penalty::Fatal.points(), "genesis mismatch");
            return;
        }
        if let Some(entry) = self.peers.get_mut(&peer) {
            entry.status = Some(status);
        }
    }

    fn on_identify_event(&mut self, event: identify::Event) {
        if let identify::Event::Received { peer_id, info, .. } = event {
            debug!(peer = %peer_id, agent = %info.agent_version, "identified peer");
            if info.protocol_version != IDENTIFY_PROTOCOL_VERSION {
                info!(peer = %peer_id, protocol_version = %info.protocol_version, "not a RustChain peer: disconnecting");
                let _ = self.swarm.disconnect_peer_id(peer_id);
                return;
            }
            let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() else {
                return;
            };
            let speaks_kad = kad
                .protocol_names()
                .iter()
                .any(|p| info.protocols.contains(p));
            if speaks_kad {
                for addr in info.listen_addrs {
                    kad.add_address(&peer_id, addr);
                }
            }
        }
    }

    fn on_kad_event(&mut self, event: kad::Event) {
        match event {
            kad::Event::OutboundQueryProgressed {
                result: kad::QueryResult::GetClosestPeers(Ok(ok)),
                ..
            } => {
                debug!(found = ok.peers.len(), "kademlia random walk finished");
                for info in ok.peers {
                    self.dial_discovered(info.peer_id, info.addrs);
                }
            }
            kad::Event::RoutingUpdated {
                peer, addresses, ..
            } => {
                debug!(%peer, "kademlia routing table updated");
                self.dial_discovered(peer, addresses.into_vec());
            }
            _ => {}
        }
    }
}
