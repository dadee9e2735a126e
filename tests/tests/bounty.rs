//! The bounty lifecycle on a dev network with the real binaries, as docs/bounties.md tells it:
//! a sponsor posts a bounty through `rustchain-wallet bounty`, a contributor claims it and
//! submits a pull request, and GitHub's `pull_request` webhook for the merge makes the node's
//! embedded wallet (the approvers' key) approve it: the claimant is paid exactly once, finalized
//! within 30 s of the merge. A replayed delivery and a wrongly signed one never pay.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use rustchain_genesis::{dev_account_key, DEV_MNEMONIC};
use rustchain_primitives::{Address, Hash, NetworkKind};
use rustchain_rpc_types::{AccountJson, BountyJson, ClaimJson, ReceiptJson};
use rustchain_tests::{
    deliver_pull_request, github_signature, run_binary, wait_for_height, wait_until, NodeProcess,
};

const SECRET: &str = "webhook secret for the test";
const REPO: &str = "rustchain/node";
const PR: &str = "https://github.com/rustchain/node/pull/7";

fn dev(i: u32) -> String {
    Address::from_public_key(&dev_account_key(i).unwrap().public_key()).encode(NetworkKind::Dev)
}

fn wallet(url: &str, args: &[&str]) -> String {
    let mut all = vec!["--rpc", url, "--dev"];
    all.extend_from_slice(args);
    let (ok, out, err) = run_binary("rustchain-wallet", &all);
    assert!(ok, "rustchain-wallet {args:?}: {out}{err}");
    out
}

async fn balance(node: &NodeProcess, address: &str) -> u64 {
    let a: AccountJson = node
        .http()
        .request("state_getAccount", rpc_params![address])
        .await
        .unwrap();
    a.balance.base_units()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_pays_the_claimant_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The node's wallet holds the dev mnemonic: dev account 0 is the bounty's approvers.
    let mnemonic = write(d, "mnemonic.txt", &format!("{DEV_MNEMONIC}\n"));
    let password = write(d, "password.txt", "node wallet password\n");
    let keystore = d.join("node.wallet").to_str().unwrap().to_string();
    let (ok, out, err) = run_binary(
        "rustchain-wallet",
        &[
            "--wallet",
            &keystore,
            "--password-file",
            &password,
            "restore",
            "--from",
            &mnemonic,
            "--chain",
            "rtc-dev",
        ],
    );
    assert!(ok, "{out}{err}");
    let secret = write(d, "secret.txt", &format!("{SECRET}\n"));
    let config = write(
        d,
        "node.toml",
        &format!(
            "[wallet]\nkeystore = {keystore:?}\npassword_file = {password:?}\n\n[webhook]\nenabled = true\n\n[[webhook.repository]]\nname = \"{REPO}\"\nsecret_file = {secret:?}\n"
        ),
    );
    let node = NodeProcess::start(&d.join("node"), &["--dev", "--config", &config]);
    wait_for_height(&node, 1).await;
    let url = node.http_url();

    // The sponsor (dev account 1) posts 10 RTC, approved by dev account 0.
    let out = wallet(
        &url,
        &[
            "bounty",
            "post",
            "--title",
            "Fix the flaky sync test",
            "--url",
            "https://github.com/rustchain/node/issues/3",
            "--amount",
            "10",
            "--deadline-in",
            "150",
            "--approvers",
            &dev(0),
            "--from-index",
            "1",
        ],
    );
    assert!(out.contains("posted bounty 1"), "{out}");
    // The contributor (dev account 2) claims it and submits the pull request.
    let out = wallet(&url, &["bounty", "claim", "1", "--from-index", "2"]);
    assert!(out.contains("claim 1 made"), "{out}");
    wallet(
        &url,
        &["bounty", "submit", "1", "--pr", PR, "--from-index", "2"],
    );
    let out = wallet(&url, &["bounty", "show", "1"]);
    assert!(
        out.contains("[open]") && out.contains("[submitted]"),
        "{out}"
    );
    let before = balance(&node, &dev(2)).await;

    let body = serde_json::to_vec(&serde_json::json!({
        "action": "closed",
        "number": 7,
        "pull_request": {"number": 7, "html_url": PR, "merged": true, "merged_at": "2026-11-21T12:00:00Z"},
        "repository": {"full_name": REPO},
    }))
    .unwrap();

    // A wrong signature changes nothing.
    let (status, text) = deliver_pull_request(
        node.addr,
        "d-bad",
        &github_signature("not the secret", &body),
        &body,
    )
    .await;
    assert_eq!(status, 401, "{text}");

    // The merge: the node approves with its wallet key and the payout is finalized.
    let merged_at = Instant::now();
    let (status, text) =
        deliver_pull_request(node.addr, "d-1", &github_signature(SECRET, &body), &body).await;
    assert_eq!(status, 202, "{text}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["outcome"]["action"], "approved", "{text}");
    let tx: Hash = answer["outcome"]["transaction"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let receipt: ReceiptJson = wait_until(&node, |http| async move {
        http.request::<ReceiptJson, _>("tx_getReceipt", rpc_params![tx])
            .await
            .ok()
            .filter(|r| r.finalized)
    })
    .await;
    let elapsed = merged_at.elapsed();
    assert_eq!(receipt.status, "success", "{receipt:?}");
    assert!(
        elapsed < Duration::from_secs(30),
        "finalized {elapsed:?} after the merge"
    );
    println!("webhook to finalized payout: {elapsed:?}");
    // 10 RTC reward plus the 0.1 RTC bond back, to the claimant.
    assert_eq!(balance(&node, &dev(2)).await - before, 1_010_000_000);
    let bounty: BountyJson = node
        .http()
        .request("bounty_get", rpc_params![1])
        .await
        .unwrap();
    assert_eq!(
        (bounty.status.as_str(), bounty.paid_claim),
        ("paid", Some(1))
    );
    let claims: Vec<ClaimJson> = node
        .http()
        .request("bounty_claims", rpc_params![1])
        .await
        .unwrap();
    assert_eq!(claims[0].status, "approved");

    // The same delivery again, and a new delivery of the same merge: nothing more is paid.
    let (status, text) =
        deliver_pull_request(node.addr, "d-1", &github_signature(SECRET, &body), &body).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("duplicate"), "{text}");
    let (status, text) =
        deliver_pull_request(node.addr, "d-2", &github_signature(SECRET, &body), &body).await;
    assert_eq!(status, 202, "{text}");
    assert!(text.contains("already_paid"), "{text}");
    let head = rustchain_tests::head(&node).await.head.height;
    wait_for_height(&node, head + 2).await;
    assert_eq!(balance(&node, &dev(2)).await - before, 1_010_000_000);
    let out = wallet(&url, &["bounty", "list", "--status", "paid"]);
    assert!(
        out.contains("bounty 1: Fix the flaky sync test [paid]"),
        "{out}"
    );
    assert!(node.terminate());
}
