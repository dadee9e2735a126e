//! Spending policy: rules a wallet applies before it signs anything that moves RTC.
//!
//! A [`SpendingPolicy`] is part of a wallet's settings. Before signing a transfer (or approving
//! a multisig call) the wallet calls [`SpendingPolicy::check`] with the spend and the wallet's
//! recent spends; the first rule broken refuses the signature and is named in the error:
//!
//! | rule | refuses when |
//! |---|---|
//! | `deny` | the recipient is on the deny list (checked first: a deny always wins) |
//! | `allow` | the allow list is not empty and the recipient is not on it |
//! | `max_per_tx` | the amount is above the per-transaction limit |
//! | `max_per_day` | the amount plus what was spent in the last 24 hours is above the daily limit |
//! | `cosigner_above` | the amount is above this threshold and the spend has no extra co-signer |
//!
//! "An extra co-signer" means: a plain single-key transfer above the threshold is refused
//! (move large amounts through a multisig account), and a multisig call above it needs one
//! approval more than the account's threshold before this wallet finalizes it.
//!
//! The daily window is rolling (the last 24 hours by the wallet's clock) over the spends the
//! wallet itself recorded. A policy protects against mistakes and a stolen *unlocked session*,
//! not against someone holding the mnemonic: they can always sign with other software.

use rustchain_primitives::{Address, Amount};
use serde::{Deserialize, Serialize};

/// 24 hours in milliseconds.
pub const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Most entries in an allow or deny list.
pub const MAX_LIST_ENTRIES: usize = 1024;

/// The rules (all optional; the default policy allows everything).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendingPolicy {
    /// Largest amount of one spend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_tx: Option<Amount>,
    /// Largest total over any 24 hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_day: Option<Amount>,
    /// When not empty, the only recipients allowed (bech32m addresses).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Recipients always refused (bech32m addresses).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
    /// Above this amount a spend needs an extra co-signer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cosigner_above: Option<Amount>,
}

/// A spend the wallet is asked to sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spend {
    /// Recipient.
    pub to: Address,
    /// Amount moved (fees excluded).
    pub amount: Amount,
    /// For a multisig call: `(approvals present, the account's threshold)`; `None` for a
    /// single-key transfer.
    pub approvals: Option<(usize, u8)>,
}

/// A past spend, for the daily limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastSpend {
    /// When it was signed (ms since the Unix epoch, the wallet's clock).
    pub at_ms: u64,
    /// Amount.
    pub amount: Amount,
}

/// The rule a spend breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// Recipient on the deny list.
    #[error("policy rule `deny`: the recipient is on this wallet's deny list")]
    Denied,
    /// Recipient not on a non-empty allow list.
    #[error("policy rule `allow`: the recipient is not on this wallet's allow list")]
    NotAllowed,
    /// Above the per-transaction limit.
    #[error("policy rule `max_per_tx`: {amount} is above the per-transaction limit of {limit}")]
    PerTransaction {
        /// the limit
        limit: Amount,
        /// the spend
        amount: Amount,
    },
    /// Above the daily limit.
    #[error("policy rule `max_per_day`: {amount} on top of {spent} spent in the last 24 hours is above the daily limit of {limit}")]
    PerDay {
        /// the limit
        limit: Amount,
        /// spent in the window
        spent: Amount,
        /// the spend
        amount: Amount,
    },
    /// Needs an extra co-signer.
    #[error("policy rule `cosigner_above`: {amount} is above {above}, which needs an extra co-signer ({what})")]
    NeedsCosigner {
        /// the threshold
        above: Amount,
        /// the spend
        amount: Amount,
        /// what would satisfy it
        what: String,
    },
    /// The policy itself is malformed.
    #[error("invalid policy: {0}")]
    Invalid(String),
}

impl SpendingPolicy {
    /// Checks the policy's own consistency (list sizes, limits that contradict each other).
    pub fn validate(&self) -> Result<(), PolicyViolation> {
        if self.allow.len() > MAX_LIST_ENTRIES || self.deny.len() > MAX_LIST_ENTRIES {
            return Err(PolicyViolation::Invalid(format!(
                "allow and deny lists hold at most {MAX_LIST_ENTRIES} addresses"
            )));
        }
        for entry in self.allow.iter().chain(&self.deny) {
            Address::decode_any(entry).map_err(|e| {
                PolicyViolation::Invalid(format!("list entry {entry:?} is not an address: {e}"))
            })?;
        }
        if let (Some(tx), Some(day)) = (self.max_per_tx, self.max_per_day) {
            if tx > day {
                return Err(PolicyViolation::Invalid(format!(
                    "max_per_tx {tx} is above max_per_day {day}"
                )));
            }
        }
        Ok(())
    }

    /// Checks `spend` at `now_ms` given the wallet's `history`; the first rule broken wins, in
    /// the order of the module table.
    pub fn check(
        &self,
        spend: &Spend,
        now_ms: u64,
        history: &[PastSpend],
    ) -> Result<(), PolicyViolation> {
        self.check_rules(spend, now_ms, history, true)
    }

    /// Checks one co-signer's approval of a multisig spend: every rule but `cosigner_above`,
    /// which depends on how many approvals the call ends up with and is checked by
    /// [`SpendingPolicy::check`] when the call is finalized.
    pub fn check_approval(
        &self,
        to: Address,
        amount: Amount,
        now_ms: u64,
        history: &[PastSpend],
    ) -> Result<(), PolicyViolation> {
        let spend = Spend {
            to,
            amount,
            approvals: None,
        };
        self.check_rules(&spend, now_ms, history, false)
    }

    fn check_rules(
        &self,
        spend: &Spend,
        now_ms: u64,
        history: &[PastSpend],
        cosigner_rule: bool,
    ) -> Result<(), PolicyViolation> {
        self.validate()?;
        let listed = |list: &[String]| {
            list.iter()
                .any(|e| Address::decode_any(e).is_ok_and(|(a, _)| a == spend.to))
        };
        if listed(&self.deny) {
            return Err(PolicyViolation::Denied);
        }
        if !self.allow.is_empty() && !listed(&self.allow) {
            return Err(PolicyViolation::NotAllowed);
        }
        if let Some(limit) = self.max_per_tx {
            if spend.amount > limit {
                return Err(PolicyViolation::PerTransaction {
                    limit,
                    amount: spend.amount,
                });
            }
        }
        if let Some(limit) = self.max_per_day {
            let since = now_ms.saturating_sub(DAY_MS);
            let spent = history
                .iter()
                .filter(|p| p.at_ms > since && p.at_ms <= now_ms)
                .try_fold(Amount::ZERO, |sum, p| sum.checked_add(p.amount));
            let total = spent.and_then(|s| s.checked_add(spend.amount));
            match total {
                Some(total) if total <= limit => {}
                _ => {
                    return Err(PolicyViolation::PerDay {
                        limit,
                        spent: spent.unwrap_or(Amount::from_base_units(u64::MAX)),
                        amount: spend.amount,
                    })
                }
            }
        }
        if let (Some(above), true) = (self.cosigner_above, cosigner_rule) {
            if spend.amount > above {
                match spend.approvals {
                    None => {
                        return Err(PolicyViolation::NeedsCosigner {
                            above,
                            amount: spend.amount,
                            what: "send it from a multisig account instead".into(),
                        })
                    }
                    Some((have, threshold)) if have <= usize::from(threshold) => {
                        return Err(PolicyViolation::NeedsCosigner {
                            above,
                            amount: spend.amount,
                            what: format!(
                                "{} approvals, one more than the account's threshold; {have} present",
                                usize::from(threshold) + 1
                            ),
                        })
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }

    /// A readable summary, one rule per line.
    pub fn describe(&self) -> String {
        let mut lines = Vec::new();
        let amount = |a: &Option<Amount>| a.map_or("none".to_string(), |a| a.to_string());
        lines.push(format!("max_per_tx:     {}", amount(&self.max_per_tx)));
        lines.push(format!("max_per_day:    {}", amount(&self.max_per_day)));
        lines.push(format!("cosigner_above: {}", amount(&self.cosigner_above)));
        let list = |l: &[String]| {
            if l.is_empty() {
                "(empty)".to_string()
            } else {
                l.join(", ")
            }
        };
        lines.push(format!("allow:          {}", list(&self.allow)));
        lines.push(format!("deny:           {}", list(&self.deny)));
        lines.join("\n")
    }
}

/// A wallet's policy and the spends it signed recently, as kept inside the encrypted keystore
/// (its `policy` field), so the daily limit survives restarts and is shared by every program
/// that opens the wallet (the CLI and a node's embedded wallet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyState {
    /// The rules.
    #[serde(default)]
    pub rules: SpendingPolicy,
    /// Spends signed in the last 24 hours: `(ms since the Unix epoch, base units)`.
    #[serde(default)]
    pub recent: Vec<(u64, u64)>,
}

/// Why the stored policy could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PolicyStateError {
    /// The `policy` field of the keystore does not parse.
    #[error("the wallet's policy settings are invalid: {0}")]
    Invalid(#[from] serde_json::Error),
    /// Saving the keystore failed.
    #[error("cannot save the wallet: {0}")]
    Save(#[from] crate::keystore::KeystoreError),
}

impl PolicyState {
    /// Reads it from a keystore (the default, allow-everything policy when none is set).
    pub fn load(keystore: &crate::keystore::UnlockedKeystore) -> Result<Self, PolicyStateError> {
        let value = &keystore.data().policy;
        if value.is_null() {
            return Ok(PolicyState::default());
        }
        Ok(serde_json::from_value(value.clone())?)
    }

    /// Writes it back and saves the keystore.
    pub fn store(
        &self,
        keystore: &mut crate::keystore::UnlockedKeystore,
    ) -> Result<(), PolicyStateError> {
        keystore.data_mut().policy = serde_json::to_value(self)?;
        keystore.save()?;
        Ok(())
    }

    /// The recent spends as [`SpendingPolicy::check`] wants them.
    pub fn history(&self) -> Vec<PastSpend> {
        self.recent
            .iter()
            .map(|(at_ms, units)| PastSpend {
                at_ms: *at_ms,
                amount: Amount::from_base_units(*units),
            })
            .collect()
    }

    /// Records a spend and forgets those older than a day.
    pub fn record(&mut self, now_ms: u64, amount: Amount) {
        self.recent
            .retain(|(at, _)| *at > now_ms.saturating_sub(DAY_MS));
        self.recent.push((now_ms, amount.base_units()));
    }

    /// Checks a single-key spend of `amount` to `to` at `now_ms` and, when allowed, records it
    /// (the caller saves the keystore).
    pub fn authorize_spend(
        &mut self,
        to: Address,
        amount: Amount,
        now_ms: u64,
    ) -> Result<(), PolicyViolation> {
        let spend = Spend {
            to,
            amount,
            approvals: None,
        };
        self.rules.check(&spend, now_ms, &self.history())?;
        self.record(now_ms, amount);
        Ok(())
    }

    /// Checks this wallet's approval of a multisig spend ([`SpendingPolicy::check_approval`])
    /// and, when allowed, records it (the caller saves the keystore).
    pub fn authorize_approval(
        &mut self,
        to: Address,
        amount: Amount,
        now_ms: u64,
    ) -> Result<(), PolicyViolation> {
        self.rules
            .check_approval(to, amount, now_ms, &self.history())?;
        self.record(now_ms, amount);
        Ok(())
    }

    /// What was spent in the 24 hours before `now_ms`.
    pub fn spent_last_day(&self, now_ms: u64) -> Amount {
        let since = now_ms.saturating_sub(DAY_MS);
        let units = self
            .recent
            .iter()
            .filter(|(at, _)| *at > since && *at <= now_ms)
            .fold(0u64, |sum, (_, units)| sum.saturating_add(*units));
        Amount::from_base_units(units)
    }
}

/// What a multisig call spends from the account, for the policy: a transfer spends its amount
/// to its recipient; posting or funding a bounty spends its amount to the bounty escrow.
/// Approving, rejecting or cancelling a bounty moves only RTC already in escrow and is not a
/// spend of the account (`None`).
pub fn multisig_spend(action: &rustchain_primitives::MultisigAction) -> Option<(Address, Amount)> {
    use rustchain_primitives::MultisigAction;
    match action {
        MultisigAction::Transfer { to, amount } => Some((*to, *amount)),
        MultisigAction::BountyPost { amount, .. } | MultisigAction::BountyFund { amount, .. } => {
            Some((rustchain_primitives::bounty::escrow_address(), *amount))
        }
        MultisigAction::BountyApprove { .. }
        | MultisigAction::BountyReject { .. }
        | MultisigAction::BountyCancel { .. } => None,
    }
}

/// Milliseconds since the Unix epoch by this machine's clock (the policy's daily window).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtc(n: u64) -> Amount {
        Amount::from_base_units(n * 100_000_000)
    }

    fn addr(i: u8) -> String {
        Address([i; 20]).encode(rustchain_primitives::NetworkKind::Dev)
    }

    fn spend(to: u8, amount: u64) -> Spend {
        Spend {
            to: Address([to; 20]),
            amount: rtc(amount),
            approvals: None,
        }
    }

    #[test]
    fn default_policy_allows_everything() {
        let p = SpendingPolicy::default();
        assert_eq!(p.check(&spend(1, 1_000_000), 0, &[]), Ok(()));
    }

    #[test]
    fn every_rule_refuses_by_name() {
        let p = SpendingPolicy {
            max_per_tx: Some(rtc(10)),
            max_per_day: Some(rtc(15)),
            allow: vec![addr(1), addr(2)],
            deny: vec![addr(2)],
            cosigner_above: Some(rtc(5)),
        };
        p.validate().unwrap();
        let now = 10 * DAY_MS;
        assert_eq!(
            p.check(&spend(2, 1), now, &[]),
            Err(PolicyViolation::Denied)
        );
        assert_eq!(
            p.check(&spend(3, 1), now, &[]),
            Err(PolicyViolation::NotAllowed)
        );
        assert!(matches!(
            p.check(&spend(1, 11), now, &[]),
            Err(PolicyViolation::PerTransaction { .. })
        ));
        let history = [
            PastSpend {
                at_ms: now - DAY_MS, // exactly 24 h ago: outside the window
                amount: rtc(100),
            },
            PastSpend {
                at_ms: now - 1000,
                amount: rtc(4),
            },
            PastSpend {
                at_ms: now - DAY_MS / 2,
                amount: rtc(8),
            },
        ];
        assert_eq!(p.check(&spend(1, 3), now, &history), Ok(()));
        let err = p.check(&spend(1, 4), now, &history).unwrap_err();
        assert!(matches!(err, PolicyViolation::PerDay { .. }));
        assert!(err.to_string().contains("max_per_day"), "{err}");
        // Above 5 RTC: a single-key send is refused, a 2-of-3 call needs 3 approvals.
        let err = p.check(&spend(1, 6), now, &[]).unwrap_err();
        assert!(err.to_string().contains("cosigner_above"), "{err}");
        let mut call = spend(1, 6);
        call.approvals = Some((2, 2));
        assert!(matches!(
            p.check(&call, now, &[]),
            Err(PolicyViolation::NeedsCosigner { .. })
        ));
        call.approvals = Some((3, 2));
        assert_eq!(p.check(&call, now, &[]), Ok(()));
    }

    #[test]
    fn contradictory_or_oversized_policies_are_invalid() {
        let p = SpendingPolicy {
            max_per_tx: Some(rtc(10)),
            max_per_day: Some(rtc(5)),
            ..Default::default()
        };
        assert!(matches!(p.validate(), Err(PolicyViolation::Invalid(_))));
        let p = SpendingPolicy {
            deny: vec![addr(0); MAX_LIST_ENTRIES + 1],
            ..Default::default()
        };
        assert!(p.validate().is_err());
        let p = SpendingPolicy {
            allow: vec!["rtcdev1notanaddress".into()],
            ..Default::default()
        };
        assert!(matches!(p.validate(), Err(PolicyViolation::Invalid(_))));
    }

    #[test]
    fn round_trips_through_json_and_rejects_unknown_rules() {
        let p = SpendingPolicy {
            max_per_day: Some(rtc(3)),
            deny: vec![addr(9)],
            ..Default::default()
        };
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<SpendingPolicy>(&text).unwrap(), p);
        assert!(serde_json::from_str::<SpendingPolicy>(r#"{"max_per_week": 1}"#).is_err());
    }
}
