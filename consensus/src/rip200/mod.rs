//! RIP-200 proof of attestation: which attestations are valid, what each is worth, and how an
//! epoch's reward is split. Integer arithmetic only; shared by validators and tests.
//!
//! - [`classify`]: hardware class and machine verdict from raw evidence.

pub mod classify;

pub use classify::{classify, Classification, MachineVerdict};
