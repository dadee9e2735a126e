//! RustChain consensus: the slot clock, proposer rotation and block validity.
//!
//! This crate is sans-IO: no tokio, no RocksDB, no wall clock except behind [`SlotClock`]. It
//! takes inputs (a header, its parent, the time) and returns decisions, so every rule can be
//! tested with a [`ManualClock`].
//!
//! Implemented now: slots and their times ([`clock`]), Aura-style proposer rotation
//! ([`schedule`]), and header/body validity against the parent ([`validity`]). Finality votes,
//! fork choice and equivocation evidence arrive with the networking work; until then a
//! single-validator chain treats every block it commits as final (its one validator's vote is
//! more than 2/3 of one).

pub mod clock;
pub mod schedule;
pub mod validity;

pub use clock::{ManualClock, SlotClock, SlotTiming, SystemClock};
pub use schedule::proposer_for_slot;
pub use validity::{check_body, check_header, HeaderError, MAX_FUTURE_DRIFT_MS};
