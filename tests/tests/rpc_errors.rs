//! Every malformed request gets a specific JSON-RPC error and the node keeps running.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::ClientError;
use jsonrpsee::rpc_params;
use rustchain_genesis::{dev_account_key, dev_genesis};
use rustchain_primitives::{Address, Amount, ChainId, KeyPair, TxBody, TxPayload};
use rustchain_rpc_types::{HealthJson, SubmitJson};
use rustchain_tests::{raw_post, wait_for_height, wait_for_receipt, NodeProcess};

fn transfer(key: &KeyPair, chain: &str, nonce: u64) -> String {
    let tx = TxBody {
        chain_id: ChainId::new(chain).unwrap(),
        sender: key.public_key(),
        nonce,
        fee: Amount::from_base_units(1_000),
        payload: TxPayload::Transfer {
            to: Address([9; 20]),
            amount: Amount::from_base_units(5),
        },
    }
    .sign(key);
    format!("0x{}", hex::encode(tx.encode()))
}

fn code(result: Result<serde_json::Value, ClientError>) -> (i32, String) {
    match result {
        Err(ClientError::Call(e)) => (e.code(), e.message().to_string()),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_specific_errors_and_the_node_survives() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start_dev(dir.path());
    wait_for_height(&node, 1).await;
    let http = node.http();
    let submit = |p: String| {
        let http = http.clone();
        async move {
            http.request::<serde_json::Value, _>("tx_submit", rpc_params![p])
                .await
        }
    };
    let key = dev_account_key(5).unwrap();
    let chain = dev_genesis().chain_id.to_string();

    // Garbage hex.
    let (c, m) = code(submit("0xnot-hex".into()).await);
    assert_eq!(c, 1001, "{m}");
    let (c, _) = code(submit("deadbeef".into()).await);
    assert_eq!(c, 1001);
    // Truncated transaction.
    let good = transfer(&key, &chain, 0);
    let (c, m) = code(submit(good[..good.len() - 10].to_string()).await);
    assert_eq!(c, 1002, "{m}");
    // Trailing bytes.
    let (c, m) = code(submit(format!("{good}00")).await);
    assert_eq!(c, 1002, "{m}");
    assert!(m.contains("trailing"), "{m}");
    // Oversized transaction (within the body limit, above the transaction limit).
    let (c, m) = code(submit(format!("0x{}", "00".repeat(40 * 1024))).await);
    assert_eq!(c, 1003, "{m}");
    // Wrong chain id.
    let (c, m) = code(submit(transfer(&key, "dev-other-chain", 0)).await);
    assert_eq!(c, 1010, "{m}");
    // Bad signature.
    let mut bad_sig = good.clone();
    let last = bad_sig.pop().unwrap();
    bad_sig.push(if last == '0' { '1' } else { '0' });
    let (c, m) = code(submit(bad_sig).await);
    assert_eq!(c, 1011, "{m}");
    // Replayed nonce: include a transaction, then submit it again.
    let accepted: SubmitJson = http
        .request("tx_submit", rpc_params![good.clone()])
        .await
        .expect("valid tx accepted");
    let (c, _) = code(submit(good.clone()).await);
    assert_eq!(c, 1016, "same transaction while pending: already known");
    let included = wait_for_receipt(&node, &accepted.hash).await;
    assert_eq!(included.status, "success");
    let (c, m) = code(submit(good).await);
    assert_eq!(c, 1012, "replay after inclusion: nonce too low ({m})");

    // Unknown method.
    let r: Result<serde_json::Value, _> = http.request("chain_noSuchMethod", rpc_params![]).await;
    assert_eq!(code(r).0, -32601);
    // Wrong parameter type.
    let r: Result<serde_json::Value, _> = http.request("tx_get", rpc_params![42]).await;
    assert_eq!(code(r).0, -32602);
    let r: Result<serde_json::Value, _> = http
        .request("state_getAccount", rpc_params!["rtc1notanaddress"])
        .await;
    assert_eq!(code(r).0, 2002);
    let r: Result<serde_json::Value, _> = http
        .request("chain_getBlock", rpc_params!["yesterday"])
        .await;
    assert_eq!(code(r).0, 2003);
    let r: Result<serde_json::Value, _> =
        http.request("chain_getBlock", rpc_params![u64::MAX]).await;
    assert_eq!(code(r).0, 2001);

    // Not JSON at all.
    let (status, body) = raw_post(node.addr, b"{this is not json");
    assert!(body.contains("-32700"), "{status} {body}");
    // Oversized body.
    let huge = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tx_submit\",\"params\":[\"0x{}\"]}}",
        "00".repeat(300 * 1024)
    );
    let (status, body) = raw_post(node.addr, huge.as_bytes());
    assert!(status == 413 || body.contains("-32007"), "{status} {body}");
    // A batch longer than the limit.
    let batch: Vec<String> = (0..100)
        .map(|i| format!("{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"system_health\"}}"))
        .collect();
    let (status, body) = raw_post(node.addr, format!("[{}]", batch.join(",")).as_bytes());
    assert!(body.contains("-32010"), "{status} {body}");

    // Still alive and producing.
    let health: HealthJson = http.request("system_health", rpc_params![]).await.unwrap();
    wait_for_height(&node, health.head_height + 1).await;
    assert!(node.terminate());
}
