//! Bounty payout latency (bounty issue target: at most 2 block times, never above 30 s): from
//! the moment the node receives GitHub's merged-pull-request webhook to the moment the payout
//! transaction is in a finalized block, on a real `--dev` node process (1-second slots) whose
//! embedded wallet holds the approvers' key.
//!
//! Needs the binaries: `cargo build --workspace --bins` first (same profile as the bench).
//! Set-up (not measured): 24 bounties posted, claimed by 8 contributors and submitted. Each
//! iteration delivers one merge and waits for its finalized receipt.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use rustchain_genesis::{dev_account_key, dev_genesis, DEV_MNEMONIC};
use rustchain_primitives::{Amount, Hash, KeyPair, TxBody, TxPayload};
use rustchain_rpc_types::{ClaimJson, ReceiptJson, SubmitJson};
use rustchain_tests::{
    deliver_pull_request, github_signature, wait_for_receipt, wait_until, NodeProcess,
};
use rustchain_wallet::keystore::{
    KdfParams, Keystore, Metadata, NewWallet, SecretString, WalletData,
};

const SECRET: &str = "bench webhook secret";
const BOUNTIES: u64 = 24;
const CLAIMERS: u32 = 8;

fn pr(k: u64) -> String {
    format!("https://github.com/rustchain/node/pull/{k}")
}

async fn submit(node: &NodeProcess, key: &KeyPair, nonce: u64, payload: TxPayload) -> Hash {
    let tx = TxBody {
        chain_id: dev_genesis().chain_id,
        sender: key.public_key(),
        nonce,
        fee: Amount::from_base_units(1_000),
        payload,
    }
    .sign(key);
    let hex = format!("0x{}", hex::encode(tx.encode()));
    let s: SubmitJson = node
        .http()
        .request("tx_submit", rpc_params![hex])
        .await
        .unwrap();
    s.hash
}

async fn all_included(node: &NodeProcess, hashes: &[Hash]) {
    for h in hashes {
        let r = wait_for_receipt(node, h).await;
        assert_eq!(r.status, "success", "{r:?}");
    }
}

/// Starts the node and prepares `BOUNTIES` submitted claims (claim of bounty `k` cites `pr(k)`).
async fn prepare(dir: &std::path::Path) -> NodeProcess {
    let keystore = dir.join("node.wallet");
    Keystore::create(
        &keystore,
        NewWallet {
            mnemonic: &zeroize::Zeroizing::new(DEV_MNEMONIC.to_string()),
            bip39_passphrase: &SecretString::new(""),
            metadata: Metadata::new("bench", "rtc-dev"),
            data: WalletData::default(),
        },
        &SecretString::new("bench password"),
        KdfParams::default(),
    )
    .unwrap();
    std::fs::write(dir.join("pw.txt"), "bench password\n").unwrap();
    std::fs::write(dir.join("secret.txt"), format!("{SECRET}\n")).unwrap();
    let config = dir.join("node.toml");
    std::fs::write(
        &config,
        format!(
            "[wallet]\nkeystore = {:?}\npassword_file = {:?}\n\n[webhook]\nenabled = true\n\n[[webhook.repository]]\nname = \"rustchain/node\"\nsecret_file = {:?}\n",
            keystore,
            dir.join("pw.txt"),
            dir.join("secret.txt")
        ),
    )
    .unwrap();
    let node = NodeProcess::start(
        &dir.join("node"),
        &["--dev", "--config", config.to_str().unwrap()],
    );
    let approvers =
        rustchain_primitives::Address::from_public_key(&dev_account_key(0).unwrap().public_key());
    let sponsor = dev_account_key(1).unwrap();
    let mut posts = Vec::new();
    for k in 0..BOUNTIES {
        posts.push(
            submit(
                &node,
                &sponsor,
                k,
                TxPayload::BountyPost {
                    title: format!("bench bounty {}", k + 1),
                    url: format!("https://github.com/rustchain/node/issues/{}", k + 1),
                    amount: Amount::from_base_units(100_000_000),
                    deadline: 10_000,
                    approvers,
                },
            )
            .await,
        );
    }
    all_included(&node, &posts).await;
    // Bounty ids follow the sponsor's nonces: 1..=BOUNTIES.
    let claimer = |k: u64| {
        dev_account_key(2 + u32::try_from((k - 1) % u64::from(CLAIMERS)).unwrap()).unwrap()
    };
    let nonce = |k: u64| (k - 1) / u64::from(CLAIMERS);
    let mut claims = Vec::new();
    for k in 1..=BOUNTIES {
        let key = claimer(k);
        let claimant = rustchain_primitives::Address::from_public_key(&key.public_key());
        claims.push(
            submit(
                &node,
                &key,
                nonce(k),
                TxPayload::BountyClaim {
                    bounty: k,
                    claimant,
                },
            )
            .await,
        );
    }
    all_included(&node, &claims).await;
    let mut submits = Vec::new();
    for k in 1..=BOUNTIES {
        let c: Vec<ClaimJson> = node
            .http()
            .request("bounty_claims", rpc_params![k])
            .await
            .unwrap();
        let per = BOUNTIES / u64::from(CLAIMERS);
        submits.push(
            submit(
                &node,
                &claimer(k),
                per + nonce(k),
                TxPayload::BountySubmit {
                    claim: c[0].id,
                    pull_request: pr(k),
                },
            )
            .await,
        );
    }
    all_included(&node, &submits).await;
    node
}

async fn deliver(node: &NodeProcess, delivery: &str, k: u64) -> Hash {
    let body = serde_json::to_vec(&serde_json::json!({
        "action": "closed",
        "number": k,
        "pull_request": {"number": k, "html_url": pr(k), "merged": true},
        "repository": {"full_name": "rustchain/node"},
    }))
    .unwrap();
    let (status, answer) =
        deliver_pull_request(node.addr, delivery, &github_signature(SECRET, &body), &body).await;
    assert_eq!(status, 202, "{answer}");
    let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(v["outcome"]["action"], "approved", "{answer}");
    v["outcome"]["transaction"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn bench_payout(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let node = rt.block_on(prepare(dir.path()));
    let mut next = 0u64;
    let mut g = c.benchmark_group("bounty");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(1));
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("payout/webhook_to_finalized/slot_ms=1000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                next += 1;
                assert!(
                    next <= BOUNTIES,
                    "prepare more bounties for this many iterations"
                );
                let k = next;
                total += rt.block_on(async {
                    let start = Instant::now();
                    let tx = deliver(&node, &format!("bench-{k}"), k).await;
                    let r: ReceiptJson = wait_until(&node, |http| async move {
                        http.request::<ReceiptJson, _>("tx_getReceipt", rpc_params![tx])
                            .await
                            .ok()
                            .filter(|r| r.finalized)
                    })
                    .await;
                    assert_eq!(r.status, "success");
                    start.elapsed()
                });
            }
            total
        });
    });
    g.finish();
    drop(node);
}

criterion_group!(benches, bench_payout);
criterion_main!(benches);
