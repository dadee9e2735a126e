//! RIP-200 proof of attestation: which attestations are valid, what each is worth, and how an
//! epoch's reward is split. Integer arithmetic only; shared by validators, the miner and tests.
//!
//! - [`classify`]: hardware class and machine verdict from raw evidence;
//! - [`windows`]: epochs and attestation windows of a slot;
//! - [`validity`]: the rules an attestation must pass to go into a block;
//! - [`settlement`]: the split of an epoch's pot, exact to the base unit.
//!
//! The rules as a whole, with the threat model, are in docs/rip-200.md.

pub mod classify;
pub mod settlement;
pub mod validity;
pub mod windows;

pub use classify::{classify, Classification, MachineVerdict};
pub use settlement::{settle, EpochEntry, Payout};
pub use validity::{check_attestation, AttestationInvalid, ReferenceBlock, Scored};
pub use windows::EpochSchedule;
