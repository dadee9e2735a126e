//! Epochs and attestation windows.
//!
//! Slot `s` is in epoch `s / epoch_slots`, and inside it in window
//! `(s mod epoch_slots) / (epoch_slots / windows)`; the genesis guarantees that `windows` divides
//! `epoch_slots`. Slot 0 (the genesis block) is in epoch 0, window 0.

use rustchain_genesis::Genesis;

/// The epoch and window layout of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochSchedule {
    /// Slots per epoch.
    pub epoch_slots: u64,
    /// Windows per epoch.
    pub windows: u64,
}

impl EpochSchedule {
    /// The layout of `genesis`.
    pub fn of(genesis: &Genesis) -> Self {
        EpochSchedule {
            epoch_slots: genesis.epoch_slots.max(1),
            windows: genesis.attestation_windows.clamp(1, 64),
        }
    }

    /// Slots per window.
    pub fn window_slots(&self) -> u64 {
        (self.epoch_slots / self.windows).max(1)
    }

    /// The epoch of `slot`.
    pub fn epoch(&self, slot: u64) -> u64 {
        slot / self.epoch_slots
    }

    /// The window of `slot` inside its epoch.
    pub fn window(&self, slot: u64) -> u32 {
        let w = (slot % self.epoch_slots) / self.window_slots();
        // At most 63: `windows` is clamped to 64.
        u32::try_from(w.min(self.windows - 1)).unwrap_or(u32::MAX)
    }

    /// First slot of `window` of `epoch` (saturating).
    pub fn window_start(&self, epoch: u64, window: u32) -> u64 {
        epoch
            .saturating_mul(self.epoch_slots)
            .saturating_add(u64::from(window).saturating_mul(self.window_slots()))
    }

    /// First slot of `epoch` (saturating).
    pub fn epoch_start(&self, epoch: u64) -> u64 {
        epoch.saturating_mul(self.epoch_slots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout_of_a_60_slot_epoch_of_five_windows() {
        let s = EpochSchedule {
            epoch_slots: 60,
            windows: 5,
        };
        assert_eq!((s.epoch(0), s.window(0)), (0, 0));
        assert_eq!((s.epoch(11), s.window(11)), (0, 0));
        assert_eq!((s.epoch(12), s.window(12)), (0, 1));
        assert_eq!((s.epoch(59), s.window(59)), (0, 4));
        assert_eq!((s.epoch(60), s.window(60)), (1, 0));
        assert_eq!(s.window_start(1, 2), 84);
        assert_eq!(s.epoch_start(2), 120);
    }

    proptest! {
        #[test]
        fn every_slot_is_inside_its_window(
            per_window in 1u64..100, windows in 1u64..=64, slot in 0u64..1_000_000
        ) {
            let epoch_slots = per_window * windows;
            let s = EpochSchedule { epoch_slots, windows };
            let (e, w) = (s.epoch(slot), s.window(slot));
            prop_assert!(u64::from(w) < windows);
            prop_assert!(s.window_start(e, w) <= slot);
            prop_assert!(slot < s.window_start(e, w) + s.window_slots());
        }
    }
}
