//! RustChain consensus: slot clock, proposer rotation, block validity, finality votes and fork
//! choice.
//!
//! This crate is sans-IO: no tokio, no RocksDB, no wall clock except behind [`SlotClock`]. It
//! takes inputs (a header and its parent, a vote, the time) and returns decisions, so every rule
//! can be tested with a [`ManualClock`] and a simulated network.
//!
//! - [`clock`]: slots and their times;
//! - [`schedule`]: Aura-style proposer rotation over the active (not jailed) validators;
//! - [`validity`]: header and body rules against the parent;
//! - [`finality`]: votes to justified and final blocks (Casper FFG over every block), with
//!   double-vote and surround-vote detection;
//! - [`fork_choice`]: the block tree and the head rule;
//! - [`voter`]: the honest voting rule and its slashing-protection record.
//!
//! The rules and the safety and liveness argument are written out in docs/consensus.md.

pub mod clock;
pub mod finality;
pub mod fork_choice;
pub mod rip200;
pub mod schedule;
pub mod validity;
pub mod voter;

pub use clock::{ManualClock, SlotClock, SlotTiming, SystemClock};
pub use finality::{
    quorum, verify_certificate, CertificateError, Finality, VoteError, VoteOutcome,
};
pub use fork_choice::{ForkChoice, ForkChoiceError, Validity};
pub use schedule::proposer_for_slot;
pub use validity::{check_body, check_header, HeaderError, MAX_FUTURE_DRIFT_MS};
pub use voter::{next_vote, VoterRecord};
