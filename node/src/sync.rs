//! Range sync: catching up with peers that are ahead.
//!
//! Every slot, and whenever the gossip loop sees a block with an unknown parent or a new peer,
//! the sync loop asks each connected peer for its `Status` and picks the one with the highest
//! finalized height, then the highest head. If that peer is ahead of us it downloads
//! `BlocksByRange` from our head + 1 and feeds each block to [`Engine::on_block`], exactly as if
//! it had been gossiped (so every rule applies, and a branch that differs from ours becomes a
//! fork the fork choice weighs). When the first block does not connect to anything we know,
//! our head is on a branch the peer does not have: the download restarts from our finalized
//! height + 1. Finally, when the peer's finalized height is above ours, its finality
//! certificate is fetched, checked (a quorum of validator signatures) and applied.
//!
//! While more than one block behind, the node counts as *syncing*: block production and voting
//! pause (a stale head would only produce orphans and pointless votes), progress is logged
//! every few seconds and shown in `system_health`. A peer that serves a block the rules reject,
//! a response that does not match the request, or an invalid certificate is penalized.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use rustchain_consensus::SlotClock;
use rustchain_p2p::{
    NetworkHandle, PeerId, PeerStatus, Penalty, SyncRequest, SyncResponse, MAX_BLOCKS_PER_REQUEST,
};
use rustchain_primitives::Block;
use rustchain_rpc::NodeStatus;
use rustchain_state::ChainError;
use tokio::sync::{watch, Notify};

use crate::engine::{Engine, Outbound, Verdict};
use crate::network::publish;

/// How often progress is logged during a long sync.
const PROGRESS_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// The sync loop (see the module docs).
pub struct SyncLoop {
    /// The engine.
    pub engine: Arc<Mutex<Engine>>,
    /// The network.
    pub handle: NetworkHandle,
    /// Time source.
    pub clock: Arc<dyn SlotClock>,
    /// RPC-visible status (the `sync` part is written here).
    pub status: Arc<RwLock<NodeStatus>>,
    /// Set while more than one block behind; the producer pauses.
    pub syncing: Arc<AtomicBool>,
    /// Wakes the loop early.
    pub nudge: Arc<Notify>,
    /// Time between checks when nothing wakes the loop.
    pub interval: Duration,
}

impl std::fmt::Debug for SyncLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncLoop")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// What importing one downloaded batch did.
struct BatchResult {
    imported: usize,
    first_parent_unknown: bool,
    rejected: Option<String>,
    outbound: Vec<Outbound>,
}

fn join_error(e: tokio::task::JoinError) -> ChainError {
    ChainError::Store(rustchain_state::StoreError::Corrupt {
        table: "sync",
        detail: format!("sync task panicked: {e}"),
    })
}

impl SyncLoop {
    /// Runs until `shutdown` turns true. Returns an error only for a storage failure.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), ChainError> {
        loop {
            tokio::select! {
                _ = shutdown.changed() => return Ok(()),
                _ = self.nudge.notified() => {}
                _ = tokio::time::sleep(self.interval) => {}
            }
            if *shutdown.borrow() {
                return Ok(());
            }
            self.step().await?;
        }
    }

    fn set_syncing(&self, syncing: bool) {
        self.syncing.store(syncing, Ordering::Relaxed);
        self.engine.lock().set_voting(!syncing);
        self.status.write().sync.syncing = syncing;
    }

    /// The connected peer furthest ahead, by finalized height then head height.
    async fn best_peer(&self) -> Option<(PeerId, PeerStatus)> {
        let genesis = self.engine.lock().chain().genesis_hash();
        let mut best: Option<(PeerId, PeerStatus)> = None;
        for peer in self.handle.peers().await {
            let status = match self.handle.request(peer.peer_id, SyncRequest::Status).await {
                Ok(SyncResponse::Status(status)) if status.genesis_hash == genesis => status,
                Ok(SyncResponse::Status(_)) => {
                    self.handle
                        .penalize(peer.peer_id, Penalty::Fatal, "different genesis")
                        .await;
                    continue;
                }
                Ok(_) => {
                    self.handle
                        .penalize(peer.peer_id, Penalty::Minor, "wrong answer to Status")
                        .await;
                    continue;
                }
                Err(e) => {
                    tracing::debug!(peer = %peer.peer_id, error = %e, "status request failed");
                    continue;
                }
            };
            let better = best.as_ref().is_none_or(|(_, b)| {
                (status.finalized_height, status.head_height) > (b.finalized_height, b.head_height)
            });
            if better {
                best = Some((peer.peer_id, status));
            }
        }
        best
    }

    /// One round: find the best peer, download what we miss, apply its finality.
    async fn step(&self) -> Result<(), ChainError> {
        let chain = self.engine.lock().chain().clone();
        let ours = chain.head();
        let Some((peer, theirs)) = self.best_peer().await else {
            let mut status = self.status.write();
            status.sync.current_height = ours.height;
            status.sync.target_height = ours.height;
            return Ok(());
        };
        {
            let mut status = self.status.write();
            status.sync.current_height = ours.height;
            status.sync.target_height = theirs.head_height.max(ours.height);
        }
        if theirs.head_height > ours.height {
            if theirs.head_height > ours.height + 1 {
                self.set_syncing(true);
                tracing::info!(
                    height = ours.height,
                    target = theirs.head_height,
                    %peer,
                    "behind the network: syncing"
                );
            }
            let result = self.download(peer, &theirs).await;
            if self.syncing.load(Ordering::Relaxed) {
                self.set_syncing(false);
                let engine = self.engine.clone();
                let now = self.clock.now_ms();
                let outbound = tokio::task::spawn_blocking(move || engine.lock().refresh(now))
                    .await
                    .map_err(join_error)??;
                for message in &outbound {
                    publish(&self.handle, message).await;
                }
                let head = chain.head();
                tracing::info!(
                    height = head.height,
                    finalized = head.finalized_height,
                    "synced"
                );
            }
            result?;
        }
        if theirs.finalized_height > chain.head().finalized_height {
            self.fetch_certificate(peer, theirs.finalized_height)
                .await?;
        }
        self.fetch_votes(peer, chain.head().finalized_height)
            .await?;
        self.status.write().sync.current_height = chain.head().height;
        Ok(())
    }

    async fn download(&self, peer: PeerId, theirs: &PeerStatus) -> Result<(), ChainError> {
        let chain = self.engine.lock().chain().clone();
        let mut start = chain.head().height + 1;
        let mut from_finalized = false;
        let started = Instant::now();
        let mut last_log = Instant::now();
        let mut imported = 0usize;
        while start <= theirs.head_height {
            let request = SyncRequest::BlocksByRange {
                start,
                count: MAX_BLOCKS_PER_REQUEST,
            };
            let blocks = match self.handle.request(peer, request).await {
                Ok(SyncResponse::Blocks(blocks)) if !blocks.is_empty() => blocks,
                Ok(SyncResponse::Blocks(_)) | Ok(SyncResponse::Error(_)) => break,
                Ok(_) => {
                    self.handle
                        .penalize(peer, Penalty::Minor, "wrong answer to BlocksByRange")
                        .await;
                    break;
                }
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "block range request failed");
                    break;
                }
            };
            let consecutive = blocks
                .iter()
                .enumerate()
                .all(|(i, b)| b.header.height == start + i as u64);
            if !consecutive {
                self.handle
                    .penalize(peer, Penalty::Major, "BlocksByRange answer out of range")
                    .await;
                break;
            }
            let last_height = start + blocks.len() as u64 - 1;
            let result = self.import_batch(blocks).await?;
            for message in &result.outbound {
                publish(&self.handle, message).await;
            }
            imported += result.imported;
            if let Some(reason) = result.rejected {
                tracing::warn!(%peer, reason, "peer served an invalid block");
                self.handle
                    .penalize(peer, Penalty::Major, "served an invalid block")
                    .await;
                break;
            }
            if result.first_parent_unknown {
                if from_finalized {
                    break;
                }
                // Our head is on a branch the peer does not have: fetch its branch from
                // finality.
                from_finalized = true;
                start = chain.head().finalized_height + 1;
                continue;
            }
            start = last_height + 1;
            let elapsed = started.elapsed().as_secs_f64().max(1e-3);
            let rate = imported as f64 / elapsed;
            {
                let mut status = self.status.write();
                status.sync.current_height = chain.head().height;
                status.sync.blocks_per_second = rate;
            }
            if last_log.elapsed() >= PROGRESS_LOG_INTERVAL {
                last_log = Instant::now();
                tracing::info!(
                    height = chain.head().height,
                    target = theirs.head_height,
                    blocks_per_second = format!("{rate:.0}"),
                    "syncing"
                );
            }
        }
        Ok(())
    }

    async fn import_batch(&self, blocks: Vec<Block>) -> Result<BatchResult, ChainError> {
        let engine = self.engine.clone();
        let clock = self.clock.clone();
        tokio::task::spawn_blocking(move || {
            let mut engine = engine.lock();
            let mut result = BatchResult {
                imported: 0,
                first_parent_unknown: false,
                rejected: None,
                outbound: Vec::new(),
            };
            for (i, block) in blocks.iter().enumerate() {
                let outcome = engine.on_block(block, clock.now_ms())?;
                // Blocks from sync are not re-gossiped; evidence and votes are.
                result.outbound.extend(
                    outcome
                        .outbound
                        .into_iter()
                        .filter(|m| !matches!(m, Outbound::Block(_))),
                );
                match outcome.verdict {
                    Verdict::Accept => result.imported += 1,
                    Verdict::Reject(reason) => {
                        result.rejected = Some(reason);
                        break;
                    }
                    Verdict::Ignore(_) if outcome.missing_parent.is_some() => {
                        result.first_parent_unknown = i == 0;
                        break;
                    }
                    Verdict::Ignore(_) => {}
                }
            }
            Ok(result)
        })
        .await
        .map_err(join_error)?
    }

    /// Counts the peer's votes above `height` (module docs of `docs/p2p.md`, `Votes`): the
    /// justified blocks we missed while offline or outside the gossip mesh.
    async fn fetch_votes(&self, peer: PeerId, height: u64) -> Result<(), ChainError> {
        let request = SyncRequest::Votes {
            above_height: height,
        };
        let votes = match self.handle.request(peer, request).await {
            Ok(SyncResponse::Votes(votes)) => votes,
            Ok(SyncResponse::Error(_)) | Err(_) => return Ok(()),
            Ok(_) => {
                self.handle
                    .penalize(peer, Penalty::Minor, "wrong answer to Votes")
                    .await;
                return Ok(());
            }
        };
        if votes.is_empty() {
            return Ok(());
        }
        let engine = self.engine.clone();
        let now = self.clock.now_ms();
        let (rejected, outbound) = tokio::task::spawn_blocking(move || {
            let mut engine = engine.lock();
            let mut rejected = 0usize;
            let mut outbound = Vec::new();
            for vote in &votes {
                let (verdict, out) = engine.on_vote(vote, now)?;
                if matches!(verdict, Verdict::Reject(_)) {
                    rejected += 1;
                }
                outbound.extend(out);
            }
            Ok::<_, ChainError>((rejected, outbound))
        })
        .await
        .map_err(join_error)??;
        if rejected > 0 {
            self.handle
                .penalize(peer, Penalty::Major, "served invalid votes")
                .await;
        }
        for message in &outbound {
            publish(&self.handle, message).await;
        }
        Ok(())
    }

    async fn fetch_certificate(&self, peer: PeerId, height: u64) -> Result<(), ChainError> {
        let request = SyncRequest::FinalityCertificate { height };
        let certificate = match self.handle.request(peer, request).await {
            Ok(SyncResponse::FinalityCertificate(Some(c))) => c,
            Ok(_) | Err(_) => return Ok(()),
        };
        let engine = self.engine.clone();
        let now = self.clock.now_ms();
        let (verdict, outbound) =
            tokio::task::spawn_blocking(move || engine.lock().on_certificate(certificate, now))
                .await
                .map_err(join_error)??;
        for message in &outbound {
            publish(&self.handle, message).await;
        }
        if let Verdict::Reject(reason) = verdict {
            tracing::warn!(%peer, reason, "peer served an invalid finality certificate");
            self.handle
                .penalize(peer, Penalty::Major, "invalid finality certificate")
                .await;
        }
        Ok(())
    }
}
