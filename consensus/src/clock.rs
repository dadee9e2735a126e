//! Slots and time.
//!
//! Slot `s` starts at `genesis_time_ms + s * slot_duration_ms`. A block for slot `s` carries
//! exactly that start time as its timestamp, so timestamps are derived, never chosen.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Slot arithmetic for one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotTiming {
    /// Start of slot 0 (ms since the Unix epoch).
    pub genesis_time_ms: u64,
    /// Slot duration (ms, > 0).
    pub slot_duration_ms: u64,
}

impl SlotTiming {
    /// The slot containing `time_ms` (slot 0 before genesis).
    pub fn slot_at(&self, time_ms: u64) -> u64 {
        time_ms.saturating_sub(self.genesis_time_ms) / self.slot_duration_ms.max(1)
    }

    /// Start time of `slot`, or `None` if it does not fit in 64 bits.
    pub fn slot_start(&self, slot: u64) -> Option<u64> {
        slot.checked_mul(self.slot_duration_ms)?
            .checked_add(self.genesis_time_ms)
    }
}

/// A source of the current time, in milliseconds since the Unix epoch.
pub trait SlotClock: Send + Sync {
    /// Now.
    fn now_ms(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SlotClock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// A clock that moves only when told to (tests and simulations).
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock reading `start_ms`.
    pub fn new(start_ms: u64) -> Self {
        ManualClock(Arc::new(AtomicU64::new(start_ms)))
    }

    /// Sets the time.
    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }

    /// Moves the time forward.
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl SlotClock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_arithmetic() {
        let t = SlotTiming {
            genesis_time_ms: 10_000,
            slot_duration_ms: 2_000,
        };
        assert_eq!(t.slot_at(0), 0);
        assert_eq!(t.slot_at(10_000), 0);
        assert_eq!(t.slot_at(11_999), 0);
        assert_eq!(t.slot_at(12_000), 1);
        assert_eq!(t.slot_start(3), Some(16_000));
        assert_eq!(t.slot_start(u64::MAX), None);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(5);
        assert_eq!(c.now_ms(), 5);
        c.advance(10);
        assert_eq!(c.now_ms(), 15);
        c.set(1);
        assert_eq!(c.now_ms(), 1);
    }
}
