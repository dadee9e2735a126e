//! RustChain genesis: the TOML genesis specification, its validation and canonical hash, and the
//! built-in dev network.
//!
//! A [`GenesisSpec`] is what operators write (TOML, unknown fields rejected). [`GenesisSpec::
//! validate`] turns it into a [`Genesis`]: addresses parsed for the chain's network, accounts
//! sorted, every parameter range-checked. The genesis block itself is built by the state crate,
//! because its header carries the state root of the initial accounts; its parent hash is
//! [`Genesis::spec_hash`], so the genesis hash commits to every parameter here.

mod dev;
mod spec;

pub use dev::{dev_account_key, dev_genesis, dev_validator_key, DEV_ACCOUNT_COUNT, DEV_MNEMONIC};
pub use spec::{
    default_jail_slots, ClassMultipliers, Genesis, GenesisAccount, GenesisAccountSpec,
    GenesisError, GenesisSpec, GenesisValidator, Rip200Params,
};
