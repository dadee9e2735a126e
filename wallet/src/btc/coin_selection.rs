//! Coin selection: branch-and-bound (Bitcoin Core's changeless search, after Murch's thesis)
//! with a largest-first fallback that makes change.
//!
//! All amounts are satoshis and all sizes weight units; fees are rounded up (sizes to whole
//! virtual bytes first), so the fee of the final transaction is never below `fee_rate x vsize`. Each coin's *effective value* is its
//! value minus the fee to spend it; coins with an effective value of zero or less are never used.
//!
//! 1. **Branch and bound** looks for a set of coins whose effective value lands in
//!    `[target, target + cost_of_change]`, where `target` is the payment plus the fee of the
//!    transaction without inputs, and `cost_of_change` is the fee of a change output plus the
//!    fee of spending it later. Such a set needs no change output; the excess goes to the fee.
//!    Among the sets found within [`BNB_MAX_TRIES`] steps, the one with the least excess wins.
//! 2. **Largest first**: take coins by descending effective value until they pay the target and a
//!    change output of at least `min_change`; if the coins run out before that but still cover
//!    the target, the remainder (below `min_change` + the change output fee) goes to the fee.

/// Steps of the branch-and-bound search before giving up (Bitcoin Core uses 100,000).
pub const BNB_MAX_TRIES: usize = 100_000;

/// A coin that can be spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Value in satoshis.
    pub value: u64,
    /// Weight the input adds to the transaction when satisfied (outpoint, sequence, scriptSig,
    /// witness), in weight units.
    pub weight: u64,
}

/// What the selection must pay for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Sum of the payment outputs (satoshis).
    pub payment: u64,
    /// Weight of the transaction without inputs and without change (header, input/output
    /// counts, segwit marker, payment outputs).
    pub base_weight: u64,
    /// Weight of the change output.
    pub change_weight: u64,
    /// Weight of spending the change output later.
    pub change_spend_weight: u64,
    /// Fee rate in satoshis per 1000 weight units (1 sat/vB = 250 sat/kwu).
    pub fee_rate_sat_per_kwu: u64,
    /// Smallest change output to make (at least the dust limit of the change script).
    pub min_change: u64,
}

/// Which algorithm found the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Branch and bound: no change output.
    BranchAndBound,
    /// Largest first.
    LargestFirst,
}

/// The selected coins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Indices into the candidate slice, in the order chosen.
    pub selected: Vec<usize>,
    /// Change amount, if a change output is made.
    pub change: Option<u64>,
    /// Fee paid (sum of inputs - payment - change).
    pub fee: u64,
    /// Total weight of the transaction (with change if any).
    pub weight: u64,
    /// The algorithm.
    pub algorithm: Algorithm,
}

/// Coin selection errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoinSelectionError {
    /// The coins cannot pay the payment and the fee.
    #[error("insufficient funds: need {needed} sat (payment + fee), spendable coins hold {available} sat")]
    InsufficientFunds {
        /// Payment plus the minimum fee.
        needed: u64,
        /// Effective value of all usable coins.
        available: u64,
    },
    /// Amounts overflow.
    #[error("amounts overflow")]
    Overflow,
    /// Nothing to pay.
    #[error("the payment is zero")]
    ZeroPayment,
}

/// The fee for `weight` at `rate` sat/kwu, rounded up, with the weight first rounded up to whole
/// virtual bytes (relay policy measures `vsize = ceil(weight / 4)`).
pub fn fee_for_weight(weight: u64, rate_sat_per_kwu: u64) -> Result<u64, CoinSelectionError> {
    let weight = weight
        .checked_next_multiple_of(4)
        .ok_or(CoinSelectionError::Overflow)?;
    let num = weight
        .checked_mul(rate_sat_per_kwu)
        .ok_or(CoinSelectionError::Overflow)?;
    Ok(num.div_ceil(1000))
}

/// Selects coins. See the module docs.
pub fn select_coins(
    candidates: &[Candidate],
    target: &Target,
) -> Result<Selection, CoinSelectionError> {
    if target.payment == 0 {
        return Err(CoinSelectionError::ZeroPayment);
    }
    let rate = target.fee_rate_sat_per_kwu;
    // (index, effective value, fee of the input)
    let mut usable: Vec<(usize, u64)> = Vec::with_capacity(candidates.len());
    for (i, c) in candidates.iter().enumerate() {
        let fee = fee_for_weight(c.weight, rate)?;
        if c.value > fee {
            usable.push((i, c.value - fee));
        }
    }
    let base_fee = fee_for_weight(target.base_weight, rate)?;
    let need = target
        .payment
        .checked_add(base_fee)
        .ok_or(CoinSelectionError::Overflow)?;
    let available = usable
        .iter()
        .try_fold(0u64, |acc, (_, v)| acc.checked_add(*v))
        .ok_or(CoinSelectionError::Overflow)?;
    if available < need {
        return Err(CoinSelectionError::InsufficientFunds {
            needed: need,
            available,
        });
    }
    let change_fee = fee_for_weight(target.change_weight, rate)?;
    let cost_of_change = change_fee
        .checked_add(fee_for_weight(target.change_spend_weight, rate)?)
        .ok_or(CoinSelectionError::Overflow)?;

    // Descending effective value; ties by index for determinism.
    usable.sort_by_key(|&(i, v)| (std::cmp::Reverse(v), i));

    if let Some(set) = branch_and_bound(&usable, need, need.saturating_add(cost_of_change)) {
        let selected: Vec<usize> = set.iter().map(|&k| usable[k].0).collect();
        return finish(
            candidates,
            target,
            selected,
            None,
            Algorithm::BranchAndBound,
        );
    }

    // Largest first.
    let with_change = need
        .checked_add(change_fee)
        .and_then(|x| x.checked_add(target.min_change))
        .ok_or(CoinSelectionError::Overflow)?;
    let mut selected = Vec::new();
    let mut sum = 0u64;
    for &(i, v) in &usable {
        selected.push(i);
        sum += v; // cannot overflow: bounded by `available`
        if sum >= with_change {
            let change = sum - need - change_fee;
            return finish(
                candidates,
                target,
                selected,
                Some(change),
                Algorithm::LargestFirst,
            );
        }
    }
    // All coins used, no room for change: the remainder goes to the fee.
    finish(candidates, target, selected, None, Algorithm::LargestFirst)
}

fn finish(
    candidates: &[Candidate],
    target: &Target,
    selected: Vec<usize>,
    change: Option<u64>,
    algorithm: Algorithm,
) -> Result<Selection, CoinSelectionError> {
    let mut value = 0u64;
    let mut weight = target.base_weight;
    for &i in &selected {
        value = value
            .checked_add(candidates[i].value)
            .ok_or(CoinSelectionError::Overflow)?;
        weight = weight
            .checked_add(candidates[i].weight)
            .ok_or(CoinSelectionError::Overflow)?;
    }
    if change.is_some() {
        weight = weight
            .checked_add(target.change_weight)
            .ok_or(CoinSelectionError::Overflow)?;
    }
    let spent = target
        .payment
        .checked_add(change.unwrap_or(0))
        .ok_or(CoinSelectionError::Overflow)?;
    let fee = value
        .checked_sub(spent)
        .ok_or(CoinSelectionError::InsufficientFunds {
            needed: spent,
            available: value,
        })?;
    Ok(Selection {
        selected,
        change,
        fee,
        weight,
        algorithm,
    })
}

/// Depth-first search over `coins` (sorted by descending value) for a subset with a sum in
/// `[low, high]`, minimizing the excess over `low`. Returns positions in `coins`.
fn branch_and_bound(coins: &[(usize, u64)], low: u64, high: u64) -> Option<Vec<usize>> {
    // remaining[k] = sum of values of coins[k..]
    let mut remaining = vec![0u64; coins.len() + 1];
    for k in (0..coins.len()).rev() {
        remaining[k] = remaining[k + 1].saturating_add(coins[k].1);
    }
    let mut best: Option<(u64, Vec<usize>)> = None;
    let mut current: Vec<usize> = Vec::new();
    let mut sum = 0u64;
    let mut k = 0usize; // next coin to decide on
    let mut tries = 0usize;
    loop {
        tries += 1;
        if tries > BNB_MAX_TRIES {
            break;
        }
        // Decide whether to backtrack.
        let backtrack = if sum > high || sum.saturating_add(remaining[k]) < low {
            true
        } else if sum >= low {
            let excess = sum - low;
            if best.as_ref().is_none_or(|(e, _)| excess < *e) {
                best = Some((excess, current.clone()));
                if excess == 0 {
                    break;
                }
            }
            true
        } else {
            k >= coins.len()
        };
        if backtrack {
            // Undo the last inclusion and try excluding it instead.
            loop {
                let Some(last) = current.pop() else {
                    return best.map(|(_, s)| s);
                };
                sum -= coins[last].1;
                k = last + 1;
                // Skip equivalent coins: excluding one of equal value then including the next
                // gives the same sums.
                while k < coins.len() && coins[k].1 == coins[last].1 {
                    k += 1;
                }
                if sum.saturating_add(remaining[k]) >= low {
                    break;
                }
            }
            if k >= coins.len() {
                continue;
            }
        }
        // Include coin k.
        current.push(k);
        sum += coins[k].1;
        k += 1;
    }
    best.map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    fn target(payment: u64, rate: u64) -> Target {
        Target {
            payment,
            base_weight: 4 * (4 + 4 + 1 + 1) + 2 + 4 * 31,
            change_weight: 4 * 31,
            change_spend_weight: 272,
            fee_rate_sat_per_kwu: rate,
            min_change: 294,
        }
    }

    #[test]
    fn bnb_finds_exact_match_without_change() {
        // Effective values at rate 0 equal the values.
        let coins: Vec<Candidate> = [1000, 2000, 3000, 5000, 7000]
            .iter()
            .map(|&v| Candidate {
                value: v,
                weight: 272,
            })
            .collect();
        let s = select_coins(&coins, &target(10_000, 0)).unwrap();
        assert_eq!(s.algorithm, Algorithm::BranchAndBound);
        assert_eq!(s.change, None);
        assert_eq!(s.fee, 0);
        let sum: u64 = s.selected.iter().map(|&i| coins[i].value).sum();
        assert_eq!(sum, 10_000);
    }

    #[test]
    fn falls_back_to_largest_first_with_change() {
        let coins: Vec<Candidate> = [100_000, 50_000]
            .iter()
            .map(|&v| Candidate {
                value: v,
                weight: 272,
            })
            .collect();
        let s = select_coins(&coins, &target(30_000, 1000)).unwrap();
        assert_eq!(s.algorithm, Algorithm::LargestFirst);
        assert_eq!(s.selected, vec![0]);
        let change = s.change.unwrap();
        assert_eq!(100_000 - 30_000 - change, s.fee);
        assert!(s.fee >= fee_for_weight(s.weight, 1000).unwrap());
    }

    #[test]
    fn insufficient_funds_is_an_error() {
        let coins = [Candidate {
            value: 1000,
            weight: 272,
        }];
        assert!(matches!(
            select_coins(&coins, &target(5000, 250)),
            Err(CoinSelectionError::InsufficientFunds { .. })
        ));
        // dust coins that cost more than they hold are ignored
        let coins = [Candidate {
            value: 50,
            weight: 272,
        }; 100];
        assert!(select_coins(&coins, &target(1, 1000)).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn selection_pays_payment_and_fee(
            values in proptest::collection::vec(1u64..5_000_000, 1..40),
            weights in proptest::collection::vec(prop_oneof![Just(230u64), Just(272), Just(364), Just(588)], 40),
            payment in 1u64..20_000_000,
            rate in 0u64..50_000,
        ) {
            let coins: Vec<Candidate> = values.iter().zip(weights.iter())
                .map(|(&value, &weight)| Candidate { value, weight }).collect();
            let t = target(payment, rate);
            match select_coins(&coins, &t) {
                Ok(s) => {
                    // no coin twice
                    let mut idx = s.selected.clone();
                    idx.sort_unstable();
                    idx.dedup();
                    prop_assert_eq!(idx.len(), s.selected.len());
                    let inputs: u64 = s.selected.iter().map(|&i| coins[i].value).sum();
                    prop_assert_eq!(inputs, payment + s.change.unwrap_or(0) + s.fee);
                    // the fee covers the final weight at the fee rate
                    prop_assert!(s.fee >= fee_for_weight(s.weight, rate).unwrap());
                    if let Some(c) = s.change { prop_assert!(c >= t.min_change); }
                    if s.algorithm == Algorithm::BranchAndBound {
                        prop_assert!(s.change.is_none());
                        // each part's fee is rounded up to whole vbytes: (n + 1) parts of slack
                        let cost_of_change = fee_for_weight(t.change_weight, rate).unwrap()
                            + fee_for_weight(t.change_spend_weight, rate).unwrap();
                        prop_assert!(s.fee <= fee_for_weight(s.weight, rate).unwrap() + cost_of_change + (s.selected.len() as u64 + 1) * (3 * rate / 1000 + 2));
                    }
                }
                Err(CoinSelectionError::InsufficientFunds { needed, available }) => {
                    prop_assert!(available < needed);
                    // and really: the sum of all effective values is short
                    let eff: u64 = coins.iter().map(|c| c.value.saturating_sub(fee_for_weight(c.weight, rate).unwrap())).sum();
                    prop_assert!(eff < payment + fee_for_weight(t.base_weight, rate).unwrap());
                }
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }
        }
    }
}
