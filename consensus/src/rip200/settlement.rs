//! The split of an epoch's pot among its miners, exact to the base unit.
//!
//! Input: one [`EpochEntry`] per miner that attested in the epoch (its hardware profile, the
//! windows it attested as a bit set, its multiplier). Output: one [`Payout`] per miner with a
//! non-zero amount, sorted by miner key, summing to exactly the pot (or to nothing when no
//! entry has weight).
//!
//! 1. Miners are grouped by hardware profile: several keys on one machine share one weight.
//!    A profile's weight is its highest multiplier times the number of distinct windows any of
//!    its miners attested.
//! 2. The pot is split among profiles in proportion to weight, by the largest-remainder method:
//!    each gets `floor(pot * w / W)`; the units left over (fewer than the number of profiles) go
//!    one each to the largest remainders `pot * w mod W`, ties to the smaller profile hash.
//! 3. Each profile's share is split the same way among its miners, by each miner's own
//!    multiplier times its own windows, ties to the smaller miner key.
//!
//! All arithmetic is on `u128` (pot < 2^64, weights < 2^40), so nothing overflows or rounds
//! differently on another machine, and the input order does not matter: entries are sorted
//! before use.

use std::collections::BTreeMap;

use rustchain_primitives::{Amount, Hash, PublicKey};

/// One miner's record for one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    /// The miner key.
    pub miner: PublicKey,
    /// Its hardware profile hash.
    pub profile_hash: Hash,
    /// Windows attested, bit `w` for window `w`.
    pub windows: u64,
    /// Multiplier in basis points (0 for a machine that does not earn).
    pub multiplier_bps: u32,
}

impl EpochEntry {
    fn weight(&self) -> u128 {
        u128::from(self.multiplier_bps) * u128::from(self.windows.count_ones())
    }
}

/// One miner's reward for the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payout {
    /// The miner key (paid to its address).
    pub miner: PublicKey,
    /// The amount.
    pub amount: Amount,
}

/// Splits `total` among `weights` (key, weight) by the largest-remainder method. Keys must be
/// distinct; the result is in key order and sums to `total` unless every weight is zero.
fn largest_remainder<K: Ord + Copy>(total: u128, weights: &[(K, u128)]) -> Vec<(K, u128)> {
    let sum: u128 = weights.iter().map(|(_, w)| w).sum();
    if sum == 0 || total == 0 {
        return Vec::new();
    }
    let mut shares: Vec<(K, u128, u128)> = weights
        .iter()
        .map(|&(k, w)| {
            let product = total * w;
            (k, product / sum, product % sum)
        })
        .collect();
    let given: u128 = shares.iter().map(|(_, q, _)| q).sum();
    let mut left = total - given;
    // Largest remainder first, ties to the smaller key.
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| {
        shares[b]
            .2
            .cmp(&shares[a].2)
            .then(shares[a].0.cmp(&shares[b].0))
    });
    for i in order {
        if left == 0 {
            break;
        }
        shares[i].1 += 1;
        left -= 1;
    }
    let mut out: Vec<(K, u128)> = shares.into_iter().map(|(k, q, _)| (k, q)).collect();
    out.sort_by_key(|a| a.0);
    out
}

/// Splits `pot` among `entries` (see the module docs). The state holds one entry per miner and
/// epoch; should the same key appear twice anyway, its entries are merged (windows united,
/// highest multiplier and smallest profile hash kept), so the result never depends on order.
pub fn settle(pot: Amount, entries: &[EpochEntry]) -> Vec<Payout> {
    // One entry per miner, in key order.
    let mut miners: BTreeMap<PublicKey, EpochEntry> = BTreeMap::new();
    for e in entries {
        miners
            .entry(e.miner)
            .and_modify(|m| {
                m.windows |= e.windows;
                m.multiplier_bps = m.multiplier_bps.max(e.multiplier_bps);
                m.profile_hash = m.profile_hash.min(e.profile_hash);
            })
            .or_insert(*e);
    }
    // Profiles: (highest multiplier, windows united, members).
    let mut profiles: BTreeMap<Hash, (u32, u64, Vec<EpochEntry>)> = BTreeMap::new();
    for m in miners.values() {
        let p = profiles.entry(m.profile_hash).or_insert((0, 0, Vec::new()));
        p.0 = p.0.max(m.multiplier_bps);
        p.1 |= m.windows;
        p.2.push(*m);
    }
    let profile_weights: Vec<(Hash, u128)> = profiles
        .iter()
        .map(|(h, (mult, windows, _))| (*h, u128::from(*mult) * u128::from(windows.count_ones())))
        .collect();
    let mut payouts = Vec::new();
    for (profile, share) in largest_remainder(u128::from(pot.base_units()), &profile_weights) {
        let Some((_, _, members)) = profiles.get(&profile) else {
            continue;
        };
        let mut member_weights: Vec<(PublicKey, u128)> =
            members.iter().map(|m| (m.miner, m.weight())).collect();
        if member_weights.iter().all(|(_, w)| *w == 0) {
            // Only possible with an entry that attested no window; split evenly rather than
            // lose the share.
            member_weights.iter_mut().for_each(|(_, w)| *w = 1);
        }
        for (miner, amount) in largest_remainder(share, &member_weights) {
            if amount > 0 {
                payouts.push(Payout {
                    miner,
                    // Never above the pot, which is a u64.
                    amount: Amount::from_base_units(u64::try_from(amount).unwrap_or(u64::MAX)),
                });
            }
        }
    }
    payouts.sort_by_key(|p| p.miner);
    payouts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(i: u8) -> PublicKey {
        PublicKey([i; 32])
    }

    fn entry(miner: u8, profile: u8, windows: u64, multiplier_bps: u32) -> EpochEntry {
        EpochEntry {
            miner: key(miner),
            profile_hash: Hash([profile; 32]),
            windows,
            multiplier_bps,
        }
    }

    fn total(p: &[Payout]) -> u64 {
        p.iter().map(|p| p.amount.base_units()).sum()
    }

    const POT: Amount = Amount::from_base_units(150_000_000);

    #[test]
    fn weight_is_multiplier_times_windows() {
        // Miner 1: 2.5x for 2 windows = 5 units; miner 2: 1.0x for 5 windows = 5 units.
        let p = settle(
            POT,
            &[entry(1, 1, 0b11, 25_000), entry(2, 2, 0b11111, 10_000)],
        );
        assert_eq!(p[0].amount, p[1].amount);
        assert_eq!(total(&p), POT.base_units());
    }

    #[test]
    fn remainders_go_to_the_largest_fractions_and_the_sum_is_exact() {
        // Three equal weights: 150,000,000 / 3 is exact; make it inexact with a pot of 100.
        let p = settle(
            Amount::from_base_units(100),
            &[
                entry(1, 1, 1, 10_000),
                entry(2, 2, 1, 10_000),
                entry(3, 3, 1, 10_000),
            ],
        );
        let amounts: Vec<u64> = p.iter().map(|p| p.amount.base_units()).collect();
        assert_eq!(
            amounts,
            vec![34, 33, 33],
            "the tie goes to the smallest profile hash"
        );
    }

    #[test]
    fn a_shared_profile_shares_one_weight() {
        let alone = settle(POT, &[entry(1, 1, 0b1, 10_000), entry(9, 9, 0b1, 10_000)]);
        // Miners 1, 2 and 3 on one machine (profile 1): together they get what 1 got alone.
        let shared = settle(
            POT,
            &[
                entry(1, 1, 0b1, 10_000),
                entry(2, 1, 0b1, 10_000),
                entry(3, 1, 0b1, 10_000),
                entry(9, 9, 0b1, 10_000),
            ],
        );
        let of = |p: &[Payout], m: u8| {
            p.iter()
                .find(|p| p.miner == key(m))
                .map_or(0, |p| p.amount.base_units())
        };
        assert_eq!(
            of(&shared, 1) + of(&shared, 2) + of(&shared, 3),
            of(&alone, 1)
        );
        assert_eq!(of(&shared, 9), of(&alone, 9));
    }

    #[test]
    fn machines_that_do_not_earn_get_nothing_and_no_weight_pays_nothing() {
        let p = settle(POT, &[entry(1, 1, 0b111, 0), entry(2, 2, 0b1, 10_000)]);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].amount, POT);
        assert!(settle(POT, &[entry(1, 1, 0b111, 0)]).is_empty());
        assert!(settle(POT, &[]).is_empty());
    }

    prop_compose! {
        fn entries()(list in prop::collection::vec(
            (0u8..40, 0u8..10, any::<u64>(), prop_oneof![Just(0u32), 1u32..=100_000]), 0..60
        )) -> Vec<EpochEntry> {
            list.into_iter().map(|(m, p, w, x)| entry(m, p, w & 0x1f, x)).collect()
        }
    }

    proptest! {
        #[test]
        fn the_sum_is_exact_and_order_does_not_matter(
            entries in entries(), pot in 0u64..=838_860_800_000_000, seed in any::<u64>()
        ) {
            let pot = Amount::from_base_units(pot);
            let p = settle(pot, &entries);
            let any_weight = {
                let mut by_miner: BTreeMap<PublicKey, (u64, u32)> = BTreeMap::new();
                for e in &entries {
                    let m = by_miner.entry(e.miner).or_default();
                    m.0 |= e.windows;
                    m.1 = m.1.max(e.multiplier_bps);
                }
                by_miner.values().any(|(w, x)| *w != 0 && *x != 0)
            };
            prop_assert_eq!(total(&p), if any_weight { pot.base_units() } else { 0 });
            // Each miner at most once, in key order.
            prop_assert!(p.windows(2).all(|w| w[0].miner < w[1].miner));
            // Any permutation gives the same payouts.
            let mut shuffled = entries.clone();
            let len = shuffled.len();
            if len > 1 {
                let mut s = seed;
                for i in (1..len).rev() {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    shuffled.swap(i, (s >> 33) as usize % (i + 1));
                }
            }
            prop_assert_eq!(settle(pot, &shuffled), p);
        }
    }
}
