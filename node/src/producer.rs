//! Block production: at the start of every slot, ask the [`Engine`] to produce (it does only
//! when this validator is the slot's scheduled proposer among the active validators), then hand
//! the block and our vote to the network for gossip.
//!
//! Building skips transactions that are no longer includable (their nonce was used, or the fee
//! is no longer payable) rather than producing an invalid block; those that can never become
//! includable are dropped from the pool. On a single-validator chain our own vote is a quorum,
//! so each block finalizes its parent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rustchain_consensus::{SlotClock, SlotTiming};
use rustchain_rpc::types::HeaderJson;
use rustchain_state::ChainError;
use tokio::sync::{broadcast, mpsc, watch};

use crate::engine::{Engine, Outbound};

/// Channels on which new and finalized heads are announced.
#[derive(Debug, Clone)]
pub struct HeadEvents {
    /// Every new head.
    pub new_heads: broadcast::Sender<HeaderJson>,
    /// Every newly finalized block.
    pub finalized_heads: broadcast::Sender<HeaderJson>,
}

/// The slot loop of a validator.
pub struct Producer {
    engine: Arc<Mutex<Engine>>,
    clock: Arc<dyn SlotClock>,
    timing: SlotTiming,
    publish: Option<mpsc::Sender<Outbound>>,
    syncing: Arc<AtomicBool>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("timing", &self.timing)
            .finish_non_exhaustive()
    }
}

impl Producer {
    /// A producer driving `engine`. What it produces (blocks, votes) is sent to `publish` for
    /// gossip; while `syncing` is set it does not produce (its head would be stale).
    pub fn new(
        engine: Arc<Mutex<Engine>>,
        clock: Arc<dyn SlotClock>,
        publish: Option<mpsc::Sender<Outbound>>,
        syncing: Arc<AtomicBool>,
    ) -> Self {
        let timing = {
            let engine = engine.lock();
            let genesis = engine.chain().genesis();
            SlotTiming {
                genesis_time_ms: genesis.genesis_time_ms,
                slot_duration_ms: genesis.slot_duration_ms,
            }
        };
        Producer {
            engine,
            clock,
            timing,
            publish,
            syncing,
        }
    }

    /// Runs until `shutdown` turns true. Returns an error only for a failure that must stop the
    /// node (a storage write failed).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), ChainError> {
        let mut last_slot = self.engine.lock().chain().head().slot;
        loop {
            let now = self.clock.now_ms();
            let slot = self.timing.slot_at(now).max(last_slot + 1);
            let start = self.timing.slot_start(slot).unwrap_or(u64::MAX);
            if start > now {
                let wait = Duration::from_millis(start - now);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => {}
                }
            }
            if *shutdown.borrow() {
                return Ok(());
            }
            last_slot = slot;
            if self.syncing.load(Ordering::Relaxed) {
                continue;
            }
            let engine = self.engine.clone();
            let clock = self.clock.clone();
            // Building and committing is CPU and disk work: keep it off the async threads. A
            // shutdown request waits for the commit in progress to finish.
            let result =
                tokio::task::spawn_blocking(move || engine.lock().produce(slot, clock.now_ms()))
                    .await;
            match result {
                Ok(Ok(Some((_, outbound)))) => {
                    if let Some(publish) = &self.publish {
                        for message in outbound {
                            // The network task has stopped only at shutdown.
                            let _ = publish.send(message).await;
                        }
                    }
                }
                Ok(Ok(None)) => {}
                Ok(Err(ChainError::Store(e))) => return Err(ChainError::Store(e)),
                Ok(Err(e)) => tracing::error!(slot, error = %e, "could not produce a block"),
                Err(join) => tracing::error!(slot, error = %join, "block production task failed"),
            }
        }
    }
}
