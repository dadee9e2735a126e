//! The node's embedded wallet with the real binaries: a keystore restored by `rustchain-wallet`
//! from the dev mnemonic is served by `rustchain-node --wallet ... --wallet-token-file ...`;
//! `wallet_send` with the token pays, without it nothing moves; a node given a wallet without a
//! password file refuses to start.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::ClientError;
use jsonrpsee::http_client::{HeaderMap, HeaderValue, HttpClientBuilder};
use jsonrpsee::rpc_params;
use rustchain_genesis::{dev_account_key, DEV_MNEMONIC};
use rustchain_primitives::{Address, Amount, NetworkKind};
use rustchain_rpc_types::{AccountJson, WalletSendJson, WalletStatusJson};
use rustchain_tests::{run_binary, wait_for_height, wait_for_receipt, NodeProcess};

const TOKEN: &str = "test-token-0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_serves_its_wallet_to_token_holders() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mnemonic, password, token, wallet) = (
        d.join("mnemonic.txt"),
        d.join("password.txt"),
        d.join("token.txt"),
        d.join("node.wallet"),
    );
    std::fs::write(&mnemonic, format!("{DEV_MNEMONIC}\n")).unwrap();
    std::fs::write(&password, "node wallet password\n").unwrap();
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let (ok, out, err) = run_binary(
        "rustchain-wallet",
        &[
            "--wallet",
            &path(&wallet),
            "--password-file",
            &path(&password),
            "restore",
            "--from",
            &path(&mnemonic),
            "--chain",
            "rtc-dev",
            "--name",
            "node",
        ],
    );
    assert!(ok, "restore: {out}{err}");

    // --wallet without a password file: a clear refusal, no prompt.
    let (ok, _, err) = run_binary(
        "rustchain-node",
        &[
            "--dev",
            "--rpc-addr",
            "127.0.0.1:0",
            "--wallet",
            &path(&wallet),
        ],
    );
    assert!(!ok);
    assert!(err.contains("--wallet-password-file"), "{err}");

    let datadir = d.join("node");
    let node = NodeProcess::start(
        &datadir,
        &[
            "--dev",
            "--wallet",
            &path(&wallet),
            "--wallet-password-file",
            &path(&password),
            "--wallet-token-file",
            &path(&token),
        ],
    );
    wait_for_height(&node, 1).await;
    let mut headers = HeaderMap::new();
    headers.insert(
        "Authorization",
        HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap(),
    );
    let holder = HttpClientBuilder::default()
        .set_headers(headers)
        .build(node.http_url())
        .unwrap();
    let anyone = node.http();

    let status: WalletStatusJson = holder
        .request("wallet_status", rpc_params![])
        .await
        .unwrap();
    let from = Address::from_public_key(&dev_account_key(0).unwrap().public_key());
    assert_eq!(status.first_address, from.encode(NetworkKind::Dev));
    assert!(status.token_required);

    let to = Address([0x5a; 20]).encode(NetworkKind::Dev);
    let request = serde_json::json!({"to": to, "amount": 250_000_000u64});
    match anyone
        .request::<WalletSendJson, _>("wallet_send", rpc_params![request.clone()])
        .await
    {
        Err(ClientError::Call(e)) => assert_eq!(e.code(), 6002, "{}", e.message()),
        other => panic!("a send without the token must be refused: {other:?}"),
    }
    let sent: WalletSendJson = holder
        .request("wallet_send", rpc_params![request])
        .await
        .unwrap();
    let receipt = wait_for_receipt(&node, &sent.hash).await;
    assert_eq!(receipt.status, "success", "{receipt:?}");
    let account: AccountJson = anyone
        .request("state_getAccount", rpc_params![to])
        .await
        .unwrap();
    assert_eq!(
        account.balance,
        Amount::from_base_units(250_000_000),
        "exactly one send paid"
    );
    // The wallet CLI's history (same mnemonic) finds the send, with its receipt.
    let (ok, out, err) = run_binary(
        "rustchain-wallet",
        &[
            "--rpc",
            &node.http_url(),
            "--dev",
            "history",
            "--count",
            "1",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.lines().any(|l| l.contains("out   2.5 RTC to")
            && l.contains(&sent.hash.to_string())
            && l.contains("success")),
        "{out}"
    );
    // The log never holds the token or the password.
    drop(holder);
    let logs: Vec<String> = node.logs.try_iter().collect();
    assert!(
        logs.iter()
            .any(|l| l.contains("embedded wallet sent a transfer")),
        "the send is logged"
    );
    assert!(!logs
        .iter()
        .any(|l| l.contains(TOKEN) || l.contains("node wallet password")));
}
