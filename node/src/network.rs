//! The node's side of the peer-to-peer network: it answers every gossip message with a verdict
//! from the [`Engine`] (or the mempool, for transactions), publishes what the engine and the RPC
//! produce, serves sync requests from the store, and keeps the network part of the status the
//! RPC reports.
//!
//! | topic | decoded as | checked by | accept when |
//! |---|---|---|---|
//! | blocks | `Block` | [`Engine::on_block`] | header, body and (on the head) execution are valid |
//! | transactions | `Transaction` | mempool admission | admitted to the pool |
//! | votes | `Vote` | [`Engine::on_vote`] | counted by the finality tracker |
//! | evidence | `Evidence` | [`Engine::on_evidence`] | verifies and is new |
//! | attestations | `Attestation` | attestation pool admission (every RIP-200 rule) | admitted to the pool |
//!
//! Bytes that do not decode, and anything the checks call invalid, are rejected (the sender's
//! score drops; repeated offenders are banned by the p2p layer). Duplicates and messages that
//! cannot be checked yet are ignored without penalty.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use rustchain_consensus::rip200::AttestationInvalid;
use rustchain_consensus::SlotClock;
use rustchain_mempool::{
    admit_attestation, inclusion_slot, AttestationPool, AttestationRejection, Mempool, Rejection,
};
use rustchain_p2p::{
    Direction, GossipKind, MessageId, NetworkEvent, NetworkHandle, PeerId, PeerStatus, SyncRequest,
    SyncResponse, SyncServer, Validation, MAX_VOTES_PER_RESPONSE,
};
use rustchain_primitives::codec;
use rustchain_primitives::{Attestation, Block, Evidence, Transaction, Vote};
use rustchain_rpc::types::{NetInfoJson, PeerJson};
use rustchain_rpc::NodeStatus;
use rustchain_state::rules::TxInvalid;
use rustchain_state::{Chain, ChainError};
use tokio::sync::{mpsc, watch, Notify};

use crate::engine::{Engine, Outbound, Verdict};

/// How often the peer list and network info shown by the RPC are refreshed.
const STATUS_REFRESH: Duration = Duration::from_secs(1);

/// Serves sync requests from the store (and votes from the engine's finality tracker).
#[derive(Debug)]
pub struct ChainSyncServer {
    chain: Arc<Chain>,
    engine: Arc<Mutex<Engine>>,
}

impl ChainSyncServer {
    /// A server over `engine`'s chain.
    pub fn new(engine: Arc<Mutex<Engine>>) -> Self {
        let chain = engine.lock().chain().clone();
        ChainSyncServer { chain, engine }
    }

    fn serve(&self, request: SyncRequest) -> Result<SyncResponse, ChainError> {
        let store = self.chain.store();
        Ok(match request {
            SyncRequest::Status => {
                let head = self.chain.head();
                SyncResponse::Status(PeerStatus {
                    genesis_hash: self.chain.genesis_hash(),
                    head_height: head.height,
                    head_hash: head.hash,
                    finalized_height: head.finalized_height,
                    finalized_hash: head.finalized_hash,
                })
            }
            SyncRequest::HeadersByRange { start, count } => {
                let mut headers = Vec::new();
                for height in start..start.saturating_add(u64::from(count)) {
                    let Some(hash) = store.hash_at(height)? else {
                        break;
                    };
                    let Some(header) = store.header(&hash)? else {
                        break;
                    };
                    headers.push(header);
                }
                SyncResponse::Headers(headers)
            }
            SyncRequest::BlocksByRange { start, count } => {
                let mut blocks = Vec::new();
                for height in start..start.saturating_add(u64::from(count)) {
                    let Some(hash) = store.hash_at(height)? else {
                        break;
                    };
                    let Some(block) = store.block(&hash)? else {
                        break;
                    };
                    blocks.push(block);
                }
                SyncResponse::Blocks(blocks)
            }
            SyncRequest::BlockByHash { hash } => SyncResponse::Block(store.block(&hash)?),
            SyncRequest::Votes { above_height } => SyncResponse::Votes(
                self.engine
                    .lock()
                    .finality()
                    .votes_above(above_height, MAX_VOTES_PER_RESPONSE),
            ),
            SyncRequest::FinalityCertificate { height } => {
                if height > self.chain.head().finalized_height {
                    SyncResponse::FinalityCertificate(None)
                } else {
                    SyncResponse::FinalityCertificate(store.certificate_covering(height)?)
                }
            }
        })
    }
}

impl SyncServer for ChainSyncServer {
    fn handle(&self, _peer: PeerId, request: SyncRequest) -> SyncResponse {
        self.serve(request).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot serve a sync request");
            SyncResponse::Error("internal storage error".into())
        })
    }
}

/// Maps an engine verdict to gossipsub's.
pub fn validation(verdict: &Verdict) -> Validation {
    match verdict {
        Verdict::Accept => Validation::Accept,
        Verdict::Reject(_) => Validation::Reject,
        Verdict::Ignore(_) => Validation::Ignore,
    }
}

/// Encodes an outbound message for its topic.
pub fn encode_outbound(message: &Outbound) -> (GossipKind, Vec<u8>) {
    match message {
        Outbound::Block(block) => (GossipKind::Blocks, block.encode()),
        Outbound::Vote(vote) => (GossipKind::Votes, codec::encode(vote)),
        Outbound::Evidence(evidence) => (GossipKind::Evidence, codec::encode(evidence.as_ref())),
    }
}

/// Publishes one message; benign failures (no peer yet, duplicate) are only logged at debug.
pub async fn publish(handle: &NetworkHandle, message: &Outbound) {
    let (kind, data) = encode_outbound(message);
    if let Err(e) = handle.publish(kind, data).await {
        if e.is_benign_publish_error() {
            tracing::debug!(%kind, error = %e, "not published");
        } else {
            tracing::warn!(%kind, error = %e, "publish failed");
        }
    }
}

/// Admits a gossiped transaction to the mempool (the same admission as `tx_submit`).
fn admit_transaction(
    chain: &Chain,
    mempool: &Mutex<Mempool>,
    data: &[u8],
    now_ms: u64,
) -> Result<Verdict, ChainError> {
    let tx = match Transaction::decode(data) {
        Ok(tx) => tx,
        Err(e) => return Ok(Verdict::Reject(format!("undecodable transaction: {e}"))),
    };
    Ok(
        match rustchain_mempool::admit(mempool, chain, tx, now_ms)? {
            Ok(_) => Verdict::Accept,
            Err(Rejection::AlreadyKnown(_)) => Verdict::Ignore("transaction already pooled"),
            // Breaks a rule no honest node relays past.
            Err(
                rejection @ (Rejection::TooLarge { .. }
                | Rejection::Invalid(
                    TxInvalid::BadSignature(_)
                    | TxInvalid::WrongChainId { .. }
                    | TxInvalid::FeeTooLow { .. }
                    | TxInvalid::CostOverflow,
                )),
            ) => Verdict::Reject(rejection.to_string()),
            // Stale nonces, full pools and the like are not the sender's fault.
            Err(_) => Verdict::Ignore("transaction not admitted"),
        },
    )
}

fn admit_gossiped_attestation(
    chain: &Chain,
    pool: &Mutex<AttestationPool>,
    data: &[u8],
    now_ms: u64,
) -> Result<Verdict, ChainError> {
    let attestation = match Attestation::decode(data) {
        Ok(a) => a,
        Err(e) => return Ok(Verdict::Reject(format!("undecodable attestation: {e}"))),
    };
    let slot = inclusion_slot(chain, now_ms);
    Ok(match admit_attestation(pool, chain, attestation, slot)? {
        Ok(_) => Verdict::Accept,
        // Provably broken whatever the receiver's chain: no honest node relays it.
        Err(
            rejection @ AttestationRejection::Invalid(
                AttestationInvalid::BadSignature
                | AttestationInvalid::WeakProofOfWork { .. }
                | AttestationInvalid::WrongChain { .. }
                | AttestationInvalid::SimulatedNotAllowed,
            ),
        ) => Verdict::Reject(rejection.to_string()),
        // Late, duplicate, or referencing a block we do not have: not the relayer's fault.
        Err(_) => Verdict::Ignore("attestation not admitted"),
    })
}

/// What the gossip loop needs.
pub struct GossipLoop {
    /// The engine.
    pub engine: Arc<Mutex<Engine>>,
    /// The engine's chain (read without the engine lock).
    pub chain: Arc<Chain>,
    /// The mempool.
    pub mempool: Arc<Mutex<Mempool>>,
    /// The attestation pool.
    pub attestations: Arc<Mutex<AttestationPool>>,
    /// The network.
    pub handle: NetworkHandle,
    /// Time source.
    pub clock: Arc<dyn SlotClock>,
    /// RPC-visible status (peers, network info).
    pub status: Arc<RwLock<NodeStatus>>,
    /// Woken when a block's parent is unknown or a peer connects: the sync loop looks at peers.
    pub sync_nudge: Arc<Notify>,
}

impl std::fmt::Debug for GossipLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GossipLoop").finish_non_exhaustive()
    }
}

impl GossipLoop {
    /// Runs until `shutdown` turns true or the network stops. Returns an error only for a
    /// storage failure.
    pub async fn run(
        self,
        mut events: mpsc::Receiver<NetworkEvent>,
        mut outbound: mpsc::Receiver<Outbound>,
        mut transactions: mpsc::Receiver<Transaction>,
        mut attestations: mpsc::Receiver<Attestation>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), ChainError> {
        let mut refresh = tokio::time::interval(STATUS_REFRESH);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return Ok(()),
                event = events.recv() => match event {
                    Some(event) => self.on_event(event).await?,
                    None => return Ok(()),
                },
                Some(message) = outbound.recv() => publish(&self.handle, &message).await,
                Some(tx) = transactions.recv() => {
                    if let Err(e) = self.handle.publish(GossipKind::Transactions, tx.encode()).await {
                        tracing::debug!(error = %e, "transaction not gossiped");
                    }
                }
                Some(a) = attestations.recv() => {
                    if let Err(e) = self.handle.publish(GossipKind::Attestations, codec::encode(&a)).await {
                        tracing::debug!(error = %e, "attestation not gossiped");
                    }
                }
                _ = refresh.tick() => self.refresh_status().await,
            }
        }
    }

    async fn refresh_status(&self) {
        let peers = self.handle.peers().await;
        let info = self.handle.info().await.ok();
        let mut status = self.status.write();
        status.peers = peers
            .into_iter()
            .map(|p| PeerJson {
                peer_id: p.peer_id.to_string(),
                address: p.address.to_string(),
                direction: match p.direction {
                    Direction::Inbound => "inbound",
                    Direction::Outbound => "outbound",
                }
                .into(),
                score: p.score,
            })
            .collect();
        if let Some(info) = info {
            status.net = Some(NetInfoJson {
                peer_id: info.peer_id.to_string(),
                listen_addrs: info.listen_addrs.iter().map(ToString::to_string).collect(),
                peer_count: info.peer_count,
            });
        }
    }

    async fn on_event(&self, event: NetworkEvent) -> Result<(), ChainError> {
        match event {
            NetworkEvent::Gossip {
                kind,
                id,
                source,
                data,
            } => self.on_gossip(kind, id, source, data).await,
            NetworkEvent::PeerConnected {
                peer, direction, ..
            } => {
                tracing::info!(%peer, ?direction, "peer connected");
                self.sync_nudge.notify_one();
                self.refresh_status().await;
                Ok(())
            }
            NetworkEvent::PeerDisconnected { peer } => {
                tracing::info!(%peer, "peer disconnected");
                self.refresh_status().await;
                Ok(())
            }
        }
    }

    async fn on_gossip(
        &self,
        kind: GossipKind,
        id: MessageId,
        source: PeerId,
        data: Vec<u8>,
    ) -> Result<(), ChainError> {
        let engine = self.engine.clone();
        let chain = self.chain.clone();
        let mempool = self.mempool.clone();
        let attestations = self.attestations.clone();
        let now = self.clock.now_ms();
        let work = move || -> Result<(Verdict, Vec<Outbound>, bool), ChainError> {
            Ok(match kind {
                GossipKind::Blocks => match Block::decode(&data) {
                    Err(e) => (
                        Verdict::Reject(format!("undecodable block: {e}")),
                        vec![],
                        false,
                    ),
                    Ok(block) => {
                        let outcome = engine.lock().on_block(&block, now)?;
                        let missing = outcome.missing_parent.is_some();
                        (outcome.verdict, outcome.outbound, missing)
                    }
                },
                GossipKind::Votes => match Vote::decode(&data) {
                    Err(e) => (
                        Verdict::Reject(format!("undecodable vote: {e}")),
                        vec![],
                        false,
                    ),
                    Ok(vote) => {
                        let (verdict, outbound) = engine.lock().on_vote(&vote, now)?;
                        (verdict, outbound, false)
                    }
                },
                GossipKind::Evidence => match Evidence::decode(&data) {
                    Err(e) => (
                        Verdict::Reject(format!("undecodable evidence: {e}")),
                        vec![],
                        false,
                    ),
                    Ok(evidence) => (engine.lock().on_evidence(evidence)?, vec![], false),
                },
                GossipKind::Transactions => (
                    admit_transaction(&chain, &mempool, &data, now)?,
                    vec![],
                    false,
                ),
                GossipKind::Attestations => (
                    admit_gossiped_attestation(&chain, &attestations, &data, now)?,
                    vec![],
                    false,
                ),
            })
        };
        let (verdict, outbound, missing_parent) =
            tokio::task::spawn_blocking(work).await.map_err(|e| {
                ChainError::Store(rustchain_state::StoreError::Corrupt {
                    table: "gossip",
                    detail: format!("gossip handler panicked: {e}"),
                })
            })??;
        if let Verdict::Reject(reason) = &verdict {
            tracing::debug!(%kind, peer = %source, reason, "rejected gossip");
        }
        self.handle.report(id, source, validation(&verdict)).await;
        for message in &outbound {
            publish(&self.handle, message).await;
        }
        if missing_parent {
            self.sync_nudge.notify_one();
        }
        Ok(())
    }
}
