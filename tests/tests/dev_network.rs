//! A dev network end to end: the wallet CLI sends a transfer; the receipt and the balances show
//! exactly the amount and the fee; heads arrive over WebSocket subscriptions.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::rpc_params;
use rustchain_genesis::dev_account_key;
use rustchain_primitives::{Address, NetworkKind};
use rustchain_rpc_types::{AccountJson, CertificateJson, HeaderJson, InfoJson, ReceiptJson};
use rustchain_tests::{run_binary, wait_for_height, NodeProcess};

fn dev_address(index: u32) -> String {
    Address::from_public_key(&dev_account_key(index).unwrap().public_key()).encode(NetworkKind::Dev)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_transfer_changes_balances_by_exactly_amount_and_fee() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start_dev(dir.path());
    wait_for_height(&node, 1).await;
    let http = node.http();
    let info: InfoJson = http.request("system_info", rpc_params![]).await.unwrap();
    assert_eq!(info.network, "dev");
    assert_eq!(info.chain_id, "dev-rustchain");

    let (from, to) = (dev_address(2), dev_address(3));
    let url = node.http_url();
    let (ok, stdout, stderr) = run_binary(
        "rustchain-wallet",
        &[
            "--rpc",
            &url,
            "--dev",
            "send",
            "--from-index",
            "2",
            "--to",
            &to,
            "--amount",
            "1.5",
        ],
    );
    assert!(ok, "wallet send failed: {stdout}\n{stderr}");
    assert!(stdout.contains("success"), "{stdout}");
    let hash = stdout
        .split_whitespace()
        .find(|w| w.starts_with("0x") && w.len() == 66)
        .expect("tx hash in wallet output");

    let receipt: ReceiptJson = http
        .request("tx_getReceipt", rpc_params![hash])
        .await
        .unwrap();
    assert_eq!(receipt.status, "success");
    assert_eq!(receipt.fee_paid, info.min_fee);
    let h = receipt.block_height;
    let before_from: AccountJson = http
        .request("state_getAccount", rpc_params![&from, h - 1])
        .await
        .unwrap();
    let after_from: AccountJson = http
        .request("state_getAccount", rpc_params![&from, h])
        .await
        .unwrap();
    let before_to: AccountJson = http
        .request("state_getAccount", rpc_params![&to, h - 1])
        .await
        .unwrap();
    let after_to: AccountJson = http
        .request("state_getAccount", rpc_params![&to, h])
        .await
        .unwrap();
    let amount = 150_000_000u64;
    let fee = info.min_fee.base_units();
    assert_eq!(
        before_from.balance.base_units() - after_from.balance.base_units(),
        amount + fee
    );
    assert_eq!(after_from.nonce, before_from.nonce + 1);
    assert_eq!(
        after_to.balance.base_units() - before_to.balance.base_units(),
        amount
    );
    assert_eq!(after_to.nonce, before_to.nonce);

    // The wallet's balance command reads the same numbers.
    let (ok, stdout, _) = run_binary("rustchain-wallet", &["--rpc", &url, "balance", &to]);
    assert!(ok);
    assert!(
        stdout.contains(&after_to.balance.base_units().to_string()),
        "{stdout}"
    );
    assert!(node.terminate(), "node exits cleanly on SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_subscriptions_deliver_consecutive_heads() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start_dev(dir.path());
    let ws = node.ws().await;
    let mut heads = ws
        .subscribe::<HeaderJson, _>(
            "chain_subscribeNewHeads",
            rpc_params![],
            "chain_unsubscribeNewHeads",
        )
        .await
        .unwrap();
    let mut finalized = ws
        .subscribe::<HeaderJson, _>(
            "chain_subscribeFinalizedHeads",
            rpc_params![],
            "chain_unsubscribeFinalizedHeads",
        )
        .await
        .unwrap();
    let a = heads.next().await.unwrap().unwrap();
    let b = heads.next().await.unwrap().unwrap();
    assert_eq!(b.height, a.height + 1);
    assert_eq!(b.parent_hash, a.hash);
    assert!(b.slot > a.slot);
    let f = finalized.next().await.unwrap().unwrap();
    assert!(f.height >= 1);

    // The finalized block's certificate: the validator's vote for the link to its child,
    // signed over the link and verifiable against the genesis validator set.
    let cert: CertificateJson = ws
        .request("chain_getFinalityCertificate", rpc_params![f.height])
        .await
        .unwrap();
    assert_eq!(cert.source.height, f.height);
    assert_eq!(cert.source.hash, f.hash);
    assert_eq!(cert.target.height, f.height + 1);
    assert_eq!(cert.votes.len(), 1);
    assert_eq!(
        cert.votes[0].voter,
        rustchain_genesis::dev_validator_key(0)
            .unwrap()
            .public_key()
    );
    let too_high: Result<CertificateJson, _> = ws
        .request("chain_getFinalityCertificate", rpc_params![u64::MAX])
        .await;
    assert!(too_high.unwrap_err().to_string().contains("not final yet"));
}
