//! `verify-chain`: replay every stored block from genesis into a scratch database and check that
//! each block is valid and reproduces its header's state and receipts roots, and that the
//! replayed head equals the stored head. This is what the crash-recovery test runs after a
//! `kill -9`, and what an operator can run after any doubt about a data directory.

use std::path::Path;

use anyhow::{bail, Context};
use rustchain_genesis::Genesis;
use rustchain_primitives::Hash;
use rustchain_state::Chain;

use crate::import::import_block;

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Blocks replayed (excluding genesis).
    pub blocks: u64,
    /// Head height.
    pub head_height: u64,
    /// Head hash.
    pub head_hash: Hash,
    /// State root at the head, recomputed.
    pub state_root: Hash,
}

/// Replays the chain stored in `datadir`. `progress` is called every 1,000 blocks.
pub fn replay_chain(
    datadir: &Path,
    genesis: Genesis,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<ReplayReport> {
    let stored = Chain::open(datadir, genesis.clone())
        .with_context(|| format!("cannot open the chain in {}", datadir.display()))?;
    let head = stored.head();
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let replay = Chain::open(scratch.path(), genesis)?;
    if replay.genesis_hash() != stored.genesis_hash() {
        bail!("genesis mismatch between the store and the replay");
    }
    for height in 1..=head.height {
        let hash = stored.store().hash_at(height)?.with_context(|| {
            format!(
                "no block at height {height} although the head is at {}",
                head.height
            )
        })?;
        let block = stored
            .store()
            .block(&hash)?
            .with_context(|| format!("block {hash} is missing"))?;
        if block.hash() != hash {
            bail!("block stored under {hash} hashes to {}", block.hash());
        }
        import_block(&replay, &block, u64::MAX)
            .with_context(|| format!("block {height} ({hash}) does not replay"))?;
        if height.is_multiple_of(1_000) {
            progress(height, head.height);
        }
    }
    let replayed = replay.head();
    if replayed.hash != head.hash || replayed.state_root != head.state_root {
        bail!(
            "replayed head {} (state root {}) differs from the stored head {} (state root {})",
            replayed.hash,
            replayed.state_root,
            head.hash,
            head.state_root
        );
    }
    let stored_root = rustchain_state::tree::root_at(stored.store(), head.height)?;
    if stored_root != head.state_root {
        bail!(
            "stored state tree root {stored_root} differs from the head header's {}",
            head.state_root
        );
    }
    Ok(ReplayReport {
        blocks: head.height,
        head_height: head.height,
        head_hash: head.hash,
        state_root: replayed.state_root,
    })
}
