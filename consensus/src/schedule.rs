//! Proposer rotation (Aura-style).
//!
//! The proposer of slot `s` is `validators[s mod n]`, in genesis order. A slot whose proposer is
//! offline simply has no block; the next slot belongs to the next validator, so one missing
//! validator costs one slot in n, not a halt.

use rustchain_primitives::PublicKey;

/// The validator entitled to propose in `slot`, or `None` if there are no validators.
pub fn proposer_for_slot(validators: &[PublicKey], slot: u64) -> Option<PublicKey> {
    if validators.is_empty() {
        return None;
    }
    let index = (slot % validators.len() as u64) as usize;
    validators.get(index).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_in_genesis_order() {
        let v: Vec<PublicKey> = (0..4u8).map(|i| PublicKey([i; 32])).collect();
        let order: Vec<u8> = (0..9)
            .map(|s| proposer_for_slot(&v, s).unwrap().0[0])
            .collect();
        assert_eq!(order, vec![0, 1, 2, 3, 0, 1, 2, 3, 0]);
        assert_eq!(proposer_for_slot(&[], 5), None);
    }
}
