//! The built-in dev network.
//!
//! Every key on it comes from the well-known [`DEV_MNEMONIC`] (also printed in the README), so
//! anyone can sign for its accounts: it is for local development only. Its chain id starts with
//! `dev-`, which makes it a dev network by rule (see `rustchain_primitives::chain`): its addresses
//! use the `rtcdev` prefix and nothing signed for it is valid on any other chain.

use rustchain_primitives::hd::{self, HdError};
use rustchain_primitives::{Address, Amount, ChainId, KeyPair};

use crate::spec::{GenesisAccountSpec, GenesisSpec, GenesisValidator};

/// The dev mnemonic. Public on purpose: never hold real value under it.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Number of prefunded dev accounts (`m/44'/21076'/0'/0/0..9`).
pub const DEV_ACCOUNT_COUNT: u32 = 10;

/// BIP-44 account number used for the dev validator key.
const DEV_VALIDATOR_ACCOUNT: u32 = 1000;

/// The key of dev account `index` (`m/44'/21076'/0'/0/index`).
pub fn dev_account_key(index: u32) -> Result<KeyPair, HdError> {
    hd::rtc_account_key(DEV_MNEMONIC, "", 0, index)
}

/// The key of dev validator `index` (`m/44'/21076'/1000'/0/index`).
pub fn dev_validator_key(index: u32) -> Result<KeyPair, HdError> {
    hd::rtc_account_key(DEV_MNEMONIC, "", DEV_VALIDATOR_ACCOUNT, index)
}

/// The dev genesis: chain `dev-rustchain`, one validator, 1 s slots, 60-slot epochs of five
/// windows, and [`DEV_ACCOUNT_COUNT`] accounts holding 100,000 RTC each.
// The chain id literal is valid and the dev paths are fixed, in-range BIP-32 paths, so these
// cannot fail; the unit tests below exercise every one of them.
#[allow(clippy::expect_used)]
pub fn dev_genesis() -> GenesisSpec {
    let chain_id = ChainId::new("dev-rustchain").expect("valid chain id literal");
    let kind = chain_id.kind();
    let accounts = (0..DEV_ACCOUNT_COUNT)
        .map(|i| {
            let key = dev_account_key(i).expect("fixed dev derivation path");
            GenesisAccountSpec {
                address: Address::from_public_key(&key.public_key()).encode(kind),
                balance: Amount::from_base_units(100_000 * Amount::UNITS_PER_RTC),
            }
        })
        .collect();
    let validator = dev_validator_key(0).expect("fixed dev derivation path");
    GenesisSpec {
        chain_id,
        // 2026-01-01T00:00:00Z: fixed so the dev genesis hash is the same everywhere.
        genesis_time_ms: 1_767_225_600_000,
        slot_duration_ms: 1_000,
        epoch_slots: 60,
        attestation_windows: 5,
        reward_per_epoch: Amount::from_base_units(150_000_000),
        supply_cap: Amount::SUPPLY_CAP,
        min_fee: Amount::from_base_units(1_000),
        validators: vec![GenesisValidator {
            public_key: validator.public_key(),
            name: "dev-validator".into(),
        }],
        jail_slots: crate::spec::default_jail_slots(),
        rip200: crate::Rip200Params {
            pow_bits: 8,
            max_reference_age_slots: 12,
            allow_simulated: true,
            ..crate::Rip200Params::default()
        },
        accounts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustchain_primitives::NetworkKind;

    #[test]
    fn dev_genesis_is_valid_and_deterministic() {
        let a = dev_genesis().validate().unwrap();
        let b = dev_genesis().validate().unwrap();
        assert_eq!(a.spec_hash(), b.spec_hash());
        assert_eq!(a.accounts.len(), DEV_ACCOUNT_COUNT as usize);
        assert_eq!(a.validators.len(), 1);
        assert_eq!(a.chain_id.kind(), NetworkKind::Dev);
        assert_ne!(a.chain_id.kind(), NetworkKind::Main);
    }

    #[test]
    fn dev_keys_are_distinct() {
        let v = dev_validator_key(0).unwrap().public_key();
        for i in 0..DEV_ACCOUNT_COUNT {
            assert_ne!(dev_account_key(i).unwrap().public_key(), v);
        }
    }
}
