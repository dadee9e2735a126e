//! Fee estimation from recent blocks and the mempool.
//!
//! RustChain blocks take up to [`MAX_BLOCK_TXS`] transactions and the mempool orders by fee, so a
//! transaction paying the chain's minimum fee is included in the next block unless the pool
//! holds more than a block's worth of higher-paying ones. The estimate therefore:
//!
//! - is the **minimum fee** when the mempool holds less than one block of transactions;
//! - otherwise pays the fee at the pool's congestion rank among the fees of recent blocks: with
//!   `k` blocks' worth of transactions waiting, the `1 - 1/(k+1)` quantile of the fees seen in the
//!   last blocks, plus 10% (the pool's replacement bump), never below the minimum.
//!
//! It is a heuristic for the next few blocks, not a guarantee: the pool can fill after the
//! estimate is taken.

use rustchain_primitives::codec::MAX_BLOCK_TXS;
use rustchain_primitives::Amount;

/// How many recent blocks the estimate reads.
pub const RECENT_BLOCKS: u64 = 10;

/// An estimate and what it was based on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeEstimate {
    /// The fee to pay.
    pub fee: Amount,
    /// The chain's minimum fee.
    pub min_fee: Amount,
    /// Transactions waiting in the node's mempool.
    pub mempool_size: usize,
    /// Fees seen in the recent blocks.
    pub recent_fees: usize,
}

/// The estimate for `min_fee`, a mempool of `mempool_size` and the fees of recent blocks.
pub fn estimate(min_fee: Amount, mempool_size: usize, mut recent_fees: Vec<Amount>) -> FeeEstimate {
    let samples = recent_fees.len();
    let blocks_waiting = mempool_size / MAX_BLOCK_TXS;
    let fee = if blocks_waiting == 0 || recent_fees.is_empty() {
        min_fee
    } else {
        recent_fees.sort_unstable();
        // quantile 1 - 1/(k+1) of the recent fees
        let rank = samples * blocks_waiting / (blocks_waiting + 1);
        let base = recent_fees[rank.min(samples - 1)];
        let bumped = base
            .base_units()
            .saturating_add(base.base_units().div_ceil(10));
        Amount::from_base_units(bumped).max(min_fee)
    };
    FeeEstimate {
        fee,
        min_fee,
        mempool_size,
        recent_fees: samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(v: &[u64]) -> Vec<Amount> {
        v.iter().map(|u| Amount::from_base_units(*u)).collect()
    }

    #[test]
    fn an_uncongested_pool_pays_the_minimum() {
        let min = Amount::from_base_units(1_000);
        let e = estimate(min, 5, units(&[5_000, 9_000]));
        assert_eq!(e.fee, min);
        assert_eq!(estimate(min, MAX_BLOCK_TXS * 3, vec![]).fee, min);
    }

    #[test]
    fn congestion_raises_the_fee_with_the_backlog() {
        let min = Amount::from_base_units(1_000);
        let recent = units(&(1..=100).map(|i| i * 1_000).collect::<Vec<_>>());
        let one = estimate(min, MAX_BLOCK_TXS, recent.clone()).fee;
        let three = estimate(min, MAX_BLOCK_TXS * 3, recent.clone()).fee;
        assert_eq!(one, Amount::from_base_units(51_000 + 5_100));
        assert!(three > one);
        assert!(
            estimate(min, MAX_BLOCK_TXS * 1000, recent).fee <= Amount::from_base_units(110_000)
        );
        // never below the minimum
        let low = estimate(
            Amount::from_base_units(10_000),
            MAX_BLOCK_TXS,
            units(&[1, 1]),
        );
        assert_eq!(low.fee, Amount::from_base_units(10_000));
    }
}
