//! Crash safety: `kill -9` the node while it produces blocks (and while transactions are being
//! included), restart it on the same data directory, and check that nothing was lost or
//! corrupted: same genesis, head not behind the last head it reported, and a full replay of the
//! stored blocks reproduces the stored state root.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use rustchain_genesis::{dev_account_key, dev_genesis};
use rustchain_primitives::{Address, Amount, NetworkKind, TxBody, TxPayload};
use rustchain_rpc_types::{AccountJson, HeadJson, InfoJson};
use rustchain_tests::{run_binary, wait_for_height, NodeProcess};

async fn submit_transfers(node: &NodeProcess, count: u64) {
    let http = node.http();
    let key = dev_account_key(4).unwrap();
    let from = Address::from_public_key(&key.public_key()).encode(NetworkKind::Dev);
    let to = Address([0x42; 20]);
    let account: AccountJson = http
        .request("state_getAccount", rpc_params![&from])
        .await
        .unwrap();
    let chain_id = dev_genesis().chain_id;
    for i in 0..count {
        let tx = TxBody {
            chain_id: chain_id.clone(),
            sender: key.public_key(),
            nonce: account.next_nonce + i,
            fee: Amount::from_base_units(1_000),
            payload: TxPayload::Transfer {
                to,
                amount: Amount::from_base_units(1 + i),
            },
        }
        .sign(&key);
        let hex = format!("0x{}", hex::encode(tx.encode()));
        let _: serde_json::Value = http.request("tx_submit", rpc_params![hex]).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_then_restart_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("node");
    let mut genesis_hash = None;
    let mut last_reported = 0u64;
    for round in 0..3u64 {
        let node = NodeProcess::start_dev(&datadir);
        let http = node.http();
        let info: InfoJson = http.request("system_info", rpc_params![]).await.unwrap();
        match genesis_hash {
            None => genesis_hash = Some(info.genesis_hash),
            Some(g) => assert_eq!(g, info.genesis_hash, "genesis changed after a crash"),
        }
        let head: HeadJson = http.request("chain_getHead", rpc_params![]).await.unwrap();
        assert!(
            head.head.height >= last_reported,
            "round {round}: head {} is behind the last reported head {last_reported}",
            head.head.height
        );
        submit_transfers(&node, 20).await;
        let reported = wait_for_height(&node, head.head.height + 2).await;
        last_reported = reported.head.height;
        // Kill while the next block is being built from the just-submitted transactions.
        submit_transfers(&node, 20).await;
        node.kill9();
    }

    // A clean stop, then replay everything that is stored.
    let node = NodeProcess::start_dev(&datadir);
    let head: HeadJson = node
        .http()
        .request("chain_getHead", rpc_params![])
        .await
        .unwrap();
    assert!(head.head.height >= last_reported);
    assert!(node.terminate());
    let datadir_text = datadir.to_str().unwrap();
    let (ok, stdout, stderr) = run_binary(
        "rustchain-node",
        &["--dev", "--datadir", datadir_text, "verify-chain"],
    );
    assert!(ok, "verify-chain failed:\n{stdout}\n{stderr}");
    assert!(stdout.starts_with("ok: replayed"), "{stdout}");
    // "ok: replayed N blocks; head 0x.. at height H; state root 0x.."
    let replayed_height: u64 = stdout
        .split("at height ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|h| h.trim().parse().ok())
        .expect("height in verify-chain output");
    assert!(replayed_height >= head.head.height, "{stdout}");
}
