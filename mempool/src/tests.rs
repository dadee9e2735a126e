use super::*;
use rustchain_primitives::{ChainId, KeyPair, TxBody, TxPayload};

fn rules() -> TxRules {
    TxRules {
        chain_id: ChainId::new("dev-test").unwrap(),
        min_fee: Amount::from_base_units(10),
    }
}

fn key(i: u8) -> KeyPair {
    KeyPair::from_secret_bytes(&[i + 1; 32]).unwrap()
}

/// Signed deterministically, so the same arguments always give the same transaction id.
fn tx(from: &KeyPair, nonce: u64, fee: u64) -> Transaction {
    let body = TxBody {
        chain_id: rules().chain_id,
        sender: from.public_key(),
        nonce,
        fee: Amount::from_base_units(fee),
        payload: TxPayload::Transfer {
            to: Address([7; 20]),
            amount: Amount::from_base_units(1),
        },
    };
    let signature = from.sign_deterministic(&body.signing_hash());
    Transaction { body, signature }
}

fn rich() -> Account {
    Account {
        balance: Amount::from_base_units(1_000_000),
        nonce: 0,
    }
}

fn pool(config: MempoolConfig) -> Mempool {
    Mempool::new(config, rules())
}

#[test]
fn ready_and_future_queues() {
    let mut p = pool(MempoolConfig::default());
    let k = key(1);
    assert_eq!(
        p.add(tx(&k, 1, 10), rich(), 0, false).unwrap(),
        Admitted::Added {
            hash: tx(&k, 1, 10).hash(),
            ready: false
        }
    );
    // Only a gap-free run from the account nonce is offered.
    assert!(p.select(100, usize::MAX, |_| 0).is_empty());
    assert!(matches!(
        p.add(tx(&k, 0, 10), rich(), 0, false).unwrap(),
        Admitted::Added { ready: true, .. }
    ));
    let selected = p.select(100, usize::MAX, |_| 0);
    assert_eq!(
        selected.iter().map(|t| t.body.nonce).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(p.next_nonce(&k.public_key().into_address(), 0), 2);
}

trait IntoAddress {
    fn into_address(self) -> Address;
}
impl IntoAddress for rustchain_primitives::PublicKey {
    fn into_address(self) -> Address {
        Address::from_public_key(&self)
    }
}

#[test]
fn selection_orders_by_fee_but_keeps_nonce_order() {
    let mut p = pool(MempoolConfig::default());
    let (a, b) = (key(1), key(2));
    p.add(tx(&a, 0, 10), rich(), 0, false).unwrap();
    p.add(tx(&a, 1, 100), rich(), 0, false).unwrap();
    p.add(tx(&b, 0, 50), rich(), 0, false).unwrap();
    let order: Vec<_> = p
        .select(10, usize::MAX, |_| 0)
        .iter()
        .map(|t| (t.body.sender, t.body.nonce))
        .collect();
    assert_eq!(
        order,
        vec![
            (b.public_key(), 0),
            (a.public_key(), 0),
            (a.public_key(), 1)
        ]
    );
    assert_eq!(p.select(1, usize::MAX, |_| 0).len(), 1);
}

#[test]
fn rejections_name_their_reason() {
    let mut p = pool(MempoolConfig::default());
    let k = key(1);
    let mut bad_sig = tx(&k, 0, 10);
    bad_sig.signature.0[0] ^= 1;
    assert!(matches!(
        p.add(bad_sig, rich(), 0, false),
        Err(Rejection::Invalid(TxInvalid::BadSignature(_)))
    ));

    let mut wrong_chain = tx(&k, 0, 10);
    wrong_chain.body.chain_id = ChainId::new("dev-other").unwrap();
    let wrong_chain = wrong_chain.body.sign(&k);
    assert!(matches!(
        p.add(wrong_chain, rich(), 0, false),
        Err(Rejection::Invalid(TxInvalid::WrongChainId { .. }))
    ));

    assert!(matches!(
        p.add(tx(&k, 0, 9), rich(), 0, false),
        Err(Rejection::Invalid(TxInvalid::FeeTooLow { .. }))
    ));

    let used = Account { nonce: 5, ..rich() };
    assert!(matches!(
        p.add(tx(&k, 4, 10), used, 0, false),
        Err(Rejection::Invalid(TxInvalid::NonceTooLow {
            expected: 5,
            got: 4
        }))
    ));

    let poor = Account {
        balance: Amount::from_base_units(10),
        nonce: 0,
    };
    assert!(matches!(
        p.add(tx(&k, 0, 10), poor, 0, false),
        Err(Rejection::Invalid(TxInvalid::InsufficientBalance { .. }))
    ));

    p.add(tx(&k, 0, 10), rich(), 0, false).unwrap();
    assert!(matches!(
        p.add(tx(&k, 0, 10), rich(), 0, false),
        Err(Rejection::AlreadyKnown(_))
    ));
    assert!(matches!(
        p.add(tx(&k, 10_000, 10), rich(), 0, false),
        Err(Rejection::NonceGap { .. })
    ));
}

#[test]
fn balance_must_cover_earlier_pooled_transactions() {
    let mut p = pool(MempoolConfig::default());
    let k = key(1);
    // Each costs 10 fee + 1 amount = 11.
    let acct = Account {
        balance: Amount::from_base_units(22),
        nonce: 0,
    };
    p.add(tx(&k, 0, 10), acct, 0, false).unwrap();
    p.add(tx(&k, 1, 10), acct, 0, false).unwrap();
    assert!(matches!(
        p.add(tx(&k, 2, 10), acct, 0, false),
        Err(Rejection::Invalid(TxInvalid::InsufficientBalance { .. }))
    ));
}

#[test]
fn replacement_needs_fee_bump() {
    let mut p = pool(MempoolConfig::default());
    let k = key(1);
    let first = tx(&k, 0, 100);
    p.add(first.clone(), rich(), 0, false).unwrap();
    assert_eq!(
        p.add(tx(&k, 0, 109), rich(), 0, false),
        Err(Rejection::ReplacementUnderpriced {
            old_fee: Amount::from_base_units(100),
            min_fee: Amount::from_base_units(110)
        })
    );
    let better = tx(&k, 0, 110);
    assert_eq!(
        p.add(better.clone(), rich(), 0, false).unwrap(),
        Admitted::Replaced {
            hash: better.hash(),
            replaced: first.hash()
        }
    );
    assert_eq!(p.len(), 1);
    assert!(p.get(&first.hash()).is_none());
}

#[test]
fn caps_per_sender_and_pool_with_tail_eviction() {
    let config = MempoolConfig {
        max_txs: 3,
        max_per_sender: 2,
        ..MempoolConfig::default()
    };
    let mut p = pool(config);
    let (a, b, c) = (key(1), key(2), key(3));
    p.add(tx(&a, 0, 10), rich(), 0, false).unwrap();
    p.add(tx(&a, 1, 10), rich(), 0, false).unwrap();
    assert!(matches!(
        p.add(tx(&a, 2, 10), rich(), 0, false),
        Err(Rejection::NonceGap { .. })
    ));
    p.add(tx(&b, 0, 20), rich(), 0, false).unwrap();
    // Full: a cheaper newcomer is refused...
    assert!(matches!(
        p.add(tx(&c, 0, 10), rich(), 0, false),
        Err(Rejection::PoolFull { .. })
    ));
    // ...a richer one evicts the cheapest tail (a's nonce 1, never a's nonce 0).
    p.add(tx(&c, 0, 30), rich(), 0, false).unwrap();
    assert_eq!(p.len(), 3);
    assert!(p.get(&tx(&a, 1, 10).hash()).is_none());
    assert!(p.get(&tx(&a, 0, 10).hash()).is_some());
}

#[test]
fn byte_cap_is_enforced() {
    let size = tx(&key(1), 0, 10).encode().len();
    let mut p = pool(MempoolConfig {
        max_bytes: size * 2,
        ..MempoolConfig::default()
    });
    p.add(tx(&key(1), 0, 10), rich(), 0, false).unwrap();
    p.add(tx(&key(2), 0, 10), rich(), 0, false).unwrap();
    assert!(matches!(
        p.add(tx(&key(3), 0, 10), rich(), 0, false),
        Err(Rejection::PoolFull { .. })
    ));
    assert!(p.bytes() <= size * 2);
}

#[test]
fn prune_drops_included_and_expired() {
    let mut p = pool(MempoolConfig {
        expiry_ms: 1_000,
        ..MempoolConfig::default()
    });
    let (a, b) = (key(1), key(2));
    p.add(tx(&a, 0, 10), rich(), 0, false).unwrap();
    p.add(tx(&a, 1, 10), rich(), 0, false).unwrap();
    p.add(tx(&b, 0, 10), rich(), 900, false).unwrap();
    let a_addr = Address::from_public_key(&a.public_key());
    // a's nonce 0 was included.
    assert_eq!(p.prune(500, |s| if *s == a_addr { 1 } else { 0 }), 1);
    assert_eq!(p.len(), 2);
    // At t = 1500, a's nonce 1 (added at 0) expired; b's (added at 900) did not.
    assert_eq!(p.prune(1_500, |s| if *s == a_addr { 1 } else { 0 }), 1);
    assert_eq!(p.len(), 1);
    assert_eq!(p.bytes(), tx(&b, 0, 10).encode().len());
}

#[test]
fn a_replay_is_nonce_too_low_even_before_the_pool_is_pruned() {
    let mut p = pool(MempoolConfig::default());
    let k = key(1);
    p.add(tx(&k, 0, 10), rich(), 0, false).unwrap();
    // The block including it is committed (the account nonce is 1) but the pool has not been
    // pruned yet: the same transaction is a replay, not "already known".
    let after = Account { nonce: 1, ..rich() };
    assert!(matches!(
        p.add(tx(&k, 0, 10), after, 0, false),
        Err(Rejection::Invalid(TxInvalid::NonceTooLow {
            expected: 1,
            got: 0
        }))
    ));
}
