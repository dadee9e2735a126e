use std::collections::BTreeSet;
use std::path::Path;

use borsh::BorshSerialize;
use rustchain_primitives::{
    codec, tagged_hash, Address, Amount, ChainId, HardwareClass, Hash, NetworkKind, PublicKey, Tag,
};
use serde::{Deserialize, Serialize};

/// A genesis file as written by operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisSpec {
    /// Chain id; its prefix sets the network kind (`dev-`, `test-`, otherwise mainnet).
    pub chain_id: ChainId,
    /// Start of slot 0, in milliseconds since the Unix epoch.
    pub genesis_time_ms: u64,
    /// Slot (block) duration in milliseconds.
    pub slot_duration_ms: u64,
    /// Slots per reward epoch.
    pub epoch_slots: u64,
    /// Attestation windows per epoch (must divide `epoch_slots`).
    pub attestation_windows: u64,
    /// Reward paid to miners per epoch, in base units.
    pub reward_per_epoch: Amount,
    /// Maximum total supply, in base units.
    pub supply_cap: Amount,
    /// Smallest fee a transaction may pay, in base units.
    pub min_fee: Amount,
    /// The initial validator set, in proposer-rotation order.
    pub validators: Vec<GenesisValidator>,
    /// Jail periods, in slots, for a validator's first and second offence; the third offence
    /// jails it permanently.
    #[serde(default = "default_jail_slots")]
    pub jail_slots: [u64; 2],
    /// RIP-200 attestation parameters.
    #[serde(default)]
    pub rip200: Rip200Params,
    /// Initial balances.
    #[serde(default)]
    pub accounts: Vec<GenesisAccountSpec>,
}

/// RIP-200 attestation parameters (docs/rip-200.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rip200Params {
    /// Leading zero bits an attestation's proof-of-work hash needs.
    pub pow_bits: u32,
    /// An attestation's reference block must be at most this many slots older than the block
    /// that includes it.
    pub max_reference_age_slots: u64,
    /// Accept `Simulated` attestations (dev and test chain ids only; refused on mainnet).
    pub allow_simulated: bool,
    /// Most miners that can enroll in one epoch (bounds the settlement's work and the
    /// per-epoch state).
    pub max_miners_per_epoch: u64,
    /// Reward multiplier of each hardware class, in basis points (10,000 = 1.0x).
    pub multipliers_bps: ClassMultipliers,
}

impl Default for Rip200Params {
    fn default() -> Self {
        Rip200Params {
            pow_bits: 16,
            max_reference_age_slots: 20,
            allow_simulated: false,
            max_miners_per_epoch: 10_000,
            multipliers_bps: ClassMultipliers::default(),
        }
    }
}

/// The one weight table: a reward multiplier per hardware class, in basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, BorshSerialize)]
#[serde(deny_unknown_fields)]
pub struct ClassMultipliers {
    /// Before about 2003.
    pub retro: u32,
    /// About 2003-2008.
    pub vintage: u32,
    /// About 2008-2013.
    pub classic: u32,
    /// Newer, unknown, or not supported by the evidence.
    pub modern: u32,
}

impl Default for ClassMultipliers {
    fn default() -> Self {
        ClassMultipliers {
            retro: 25_000,
            vintage: 20_000,
            classic: 15_000,
            modern: 10_000,
        }
    }
}

impl ClassMultipliers {
    /// Largest multiplier accepted: 10x.
    pub const MAX_BPS: u32 = 100_000;

    /// The multiplier of `class`, in basis points.
    pub fn of(&self, class: HardwareClass) -> u32 {
        match class {
            HardwareClass::Retro => self.retro,
            HardwareClass::Vintage => self.vintage,
            HardwareClass::Classic => self.classic,
            HardwareClass::Modern => self.modern,
        }
    }
}

/// Default jail periods: 600 slots, then 6,000 slots.
pub fn default_jail_slots() -> [u64; 2] {
    [600, 6_000]
}

/// A validator in the genesis file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// The validator's x-only public key (0x-hex).
    pub public_key: PublicKey,
    /// A human-readable name for logs.
    #[serde(default)]
    pub name: String,
}

/// An initial balance as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccountSpec {
    /// bech32m address for the chain's network.
    pub address: String,
    /// Balance in base units.
    pub balance: Amount,
}

/// An initial balance, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize)]
pub struct GenesisAccount {
    /// The account.
    pub address: Address,
    /// Its balance.
    pub balance: Amount,
}

/// A validated genesis.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize)]
pub struct Genesis {
    /// Chain id.
    pub chain_id: ChainId,
    /// Start of slot 0 (ms since the Unix epoch).
    pub genesis_time_ms: u64,
    /// Slot duration (ms).
    pub slot_duration_ms: u64,
    /// Slots per epoch.
    pub epoch_slots: u64,
    /// Attestation windows per epoch.
    pub attestation_windows: u64,
    /// Miner reward per epoch.
    pub reward_per_epoch: Amount,
    /// Supply cap.
    pub supply_cap: Amount,
    /// Minimum transaction fee.
    pub min_fee: Amount,
    /// Validators in rotation order.
    pub validators: Vec<GenesisValidator>,
    /// Jail periods (slots) for a first and second offence; the third is permanent.
    pub jail_slots: [u64; 2],
    /// RIP-200 attestation parameters.
    pub rip200: Rip200Params,
    /// Initial balances, sorted by address.
    pub accounts: Vec<GenesisAccount>,
}

/// What is wrong with a genesis file.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// The file could not be read.
    #[error("cannot read genesis file {path}: {source}")]
    Io {
        /// file
        path: String,
        /// cause
        source: std::io::Error,
    },
    /// The TOML does not parse or has unknown or missing fields.
    #[error("invalid genesis TOML: {0}")]
    Toml(String),
    /// A parameter is out of range or inconsistent.
    #[error("invalid genesis: {0}")]
    Invalid(String),
}

/// Largest genesis file read.
const MAX_GENESIS_BYTES: u64 = 16 * 1024 * 1024;

impl GenesisSpec {
    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<GenesisSpec, GenesisError> {
        toml::from_str(text).map_err(|e| GenesisError::Toml(e.to_string()))
    }

    /// Reads and parses a TOML file (at most 16 MiB).
    pub fn load(path: &Path) -> Result<GenesisSpec, GenesisError> {
        let io = |source| GenesisError::Io {
            path: path.display().to_string(),
            source,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_GENESIS_BYTES {
            return Err(GenesisError::Invalid(format!(
                "genesis file is {len} bytes, above the {MAX_GENESIS_BYTES}-byte limit"
            )));
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        Self::from_toml(&text)
    }

    /// TOML text of this spec.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks every rule and returns the canonical genesis.
    pub fn validate(&self) -> Result<Genesis, GenesisError> {
        let invalid = |m: String| Err(GenesisError::Invalid(m));
        if self.slot_duration_ms < 100 || self.slot_duration_ms > 600_000 {
            return invalid(format!(
                "slot_duration_ms must be between 100 and 600000, got {}",
                self.slot_duration_ms
            ));
        }
        if self.attestation_windows == 0 || self.epoch_slots == 0 {
            return invalid("epoch_slots and attestation_windows must be positive".into());
        }
        if self.attestation_windows > 64 {
            return invalid(format!(
                "attestation_windows must be at most 64, got {}",
                self.attestation_windows
            ));
        }
        if !self.epoch_slots.is_multiple_of(self.attestation_windows) {
            return invalid(format!(
                "epoch_slots ({}) must be a multiple of attestation_windows ({})",
                self.epoch_slots, self.attestation_windows
            ));
        }
        if self.supply_cap > Amount::SUPPLY_CAP {
            return invalid(format!(
                "supply_cap {} exceeds the protocol cap {}",
                self.supply_cap,
                Amount::SUPPLY_CAP
            ));
        }
        if self.reward_per_epoch > self.supply_cap {
            return invalid("reward_per_epoch exceeds supply_cap".into());
        }
        if self.jail_slots[0] == 0 || self.jail_slots[1] < self.jail_slots[0] {
            return invalid(format!(
                "jail_slots must be positive and escalating, got {:?}",
                self.jail_slots
            ));
        }
        if self.validators.is_empty() {
            return invalid("at least one validator is required".into());
        }
        let r = &self.rip200;
        if r.pow_bits > 64 {
            return invalid(format!(
                "rip200.pow_bits must be at most 64, got {}",
                r.pow_bits
            ));
        }
        if r.max_reference_age_slots == 0 {
            return invalid("rip200.max_reference_age_slots must be positive".into());
        }
        if r.max_miners_per_epoch == 0 || r.max_miners_per_epoch > 1_000_000 {
            return invalid(format!(
                "rip200.max_miners_per_epoch must be between 1 and 1000000, got {}",
                r.max_miners_per_epoch
            ));
        }
        if r.allow_simulated && self.chain_id.kind() == NetworkKind::Main {
            return invalid(format!(
                "rip200.allow_simulated is refused on the mainnet chain id {}",
                self.chain_id
            ));
        }
        for class in HardwareClass::ALL {
            let bps = r.multipliers_bps.of(class);
            if bps == 0 || bps > ClassMultipliers::MAX_BPS {
                return invalid(format!(
                    "rip200.multipliers_bps.{} must be between 1 and {}, got {bps}",
                    class.as_str(),
                    ClassMultipliers::MAX_BPS
                ));
            }
        }
        let mut keys = BTreeSet::new();
        for v in &self.validators {
            if v.public_key.to_xonly().is_err() {
                return invalid(format!(
                    "validator {} is not a valid public key",
                    v.public_key
                ));
            }
            if !keys.insert(v.public_key) {
                return invalid(format!("validator {} is listed twice", v.public_key));
            }
        }
        let kind = self.chain_id.kind();
        let mut accounts = Vec::with_capacity(self.accounts.len());
        let mut total = Amount::ZERO;
        for a in &self.accounts {
            let address = Address::decode(&a.address, kind)
                .map_err(|e| GenesisError::Invalid(format!("account {:?}: {e}", a.address)))?;
            total = total
                .checked_add(a.balance)
                .ok_or_else(|| GenesisError::Invalid("total balance overflows".into()))?;
            accounts.push(GenesisAccount {
                address,
                balance: a.balance,
            });
        }
        if total > self.supply_cap {
            return invalid(format!(
                "initial balances total {total}, above the supply cap {}",
                self.supply_cap
            ));
        }
        accounts.sort_by_key(|a| a.address);
        if let Some(w) = accounts.windows(2).find(|w| w[0].address == w[1].address) {
            return invalid(format!(
                "account {} is listed twice",
                w[0].address.encode(kind)
            ));
        }
        Ok(Genesis {
            chain_id: self.chain_id.clone(),
            genesis_time_ms: self.genesis_time_ms,
            slot_duration_ms: self.slot_duration_ms,
            epoch_slots: self.epoch_slots,
            attestation_windows: self.attestation_windows,
            reward_per_epoch: self.reward_per_epoch,
            supply_cap: self.supply_cap,
            min_fee: self.min_fee,
            validators: self.validators.clone(),
            jail_slots: self.jail_slots,
            rip200: self.rip200.clone(),
            accounts,
        })
    }
}

impl Genesis {
    /// Hash of the canonical encoding: the genesis block's parent hash.
    pub fn spec_hash(&self) -> Hash {
        tagged_hash(Tag::Genesis, &codec::encode(self))
    }

    /// The validator public keys in rotation order.
    pub fn validator_keys(&self) -> Vec<PublicKey> {
        self.validators.iter().map(|v| v.public_key).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev_genesis;

    #[test]
    fn toml_round_trip_preserves_hash() {
        let spec = dev_genesis();
        let text = spec.to_toml();
        let parsed = GenesisSpec::from_toml(&text).unwrap();
        assert_eq!(parsed, spec);
        assert_eq!(
            parsed.validate().unwrap().spec_hash(),
            spec.validate().unwrap().spec_hash()
        );
    }

    #[test]
    fn account_order_does_not_change_hash() {
        let spec = dev_genesis();
        let mut reversed = spec.clone();
        reversed.accounts.reverse();
        assert_eq!(
            spec.validate().unwrap().spec_hash(),
            reversed.validate().unwrap().spec_hash()
        );
    }

    #[test]
    fn every_parameter_is_hashed() {
        let base = dev_genesis().validate().unwrap().spec_hash();
        let mut s = dev_genesis();
        s.slot_duration_ms += 1;
        assert_ne!(s.validate().unwrap().spec_hash(), base);
        let mut s = dev_genesis();
        s.min_fee = Amount::from_base_units(s.min_fee.base_units() + 1);
        assert_ne!(s.validate().unwrap().spec_hash(), base);
        let mut s = dev_genesis();
        s.rip200.multipliers_bps.vintage += 1;
        assert_ne!(s.validate().unwrap().spec_hash(), base);
    }

    #[test]
    fn rejects_inconsistent_specs() {
        let mut s = dev_genesis();
        s.validators.clear();
        assert!(s.validate().is_err());
        let mut s = dev_genesis();
        s.validators.push(s.validators[0].clone());
        assert!(s.validate().unwrap_err().to_string().contains("twice"));
        let mut s = dev_genesis();
        s.accounts.push(s.accounts[0].clone());
        assert!(s.validate().unwrap_err().to_string().contains("twice"));
        let mut s = dev_genesis();
        s.accounts[0].balance = Amount::SUPPLY_CAP;
        assert!(s.validate().unwrap_err().to_string().contains("supply cap"));
        let mut s = dev_genesis();
        s.epoch_slots = 7;
        assert!(s.validate().is_err());
        let mut s = dev_genesis();
        s.chain_id = ChainId::new("rustchain-main").unwrap();
        s.accounts.clear();
        s.rip200.allow_simulated = true;
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("allow_simulated"));
        let mut s = dev_genesis();
        s.rip200.multipliers_bps.retro = 0;
        assert!(s.validate().unwrap_err().to_string().contains("retro"));
        let mut s = dev_genesis();
        s.accounts[0].address = s.accounts[0].address.replace("rtcdev", "rtc");
        assert!(s.validate().is_err(), "mainnet address on a dev chain");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let text = format!("{}\nslot_duraton_ms = 5\n", dev_genesis().to_toml());
        assert!(matches!(
            GenesisSpec::from_toml(&text),
            Err(GenesisError::Toml(_))
        ));
    }
}
