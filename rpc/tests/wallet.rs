//! The `wallet_*` methods in process, over real HTTP on 127.0.0.1: disabled by default,
//! token-guarded when a token is set, refused on a non-loopback address without one, and the
//! spending policy applied before anything is signed.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;

use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::ClientError;
use jsonrpsee::http_client::{HeaderMap, HeaderValue, HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use parking_lot::{Mutex, RwLock};
use rustchain_consensus::SystemClock;
use rustchain_genesis::{dev_account_key, dev_genesis, DEV_MNEMONIC};
use rustchain_mempool::{Mempool, MempoolConfig};
use rustchain_primitives::{Address, Amount, MultisigAction, MultisigPolicy, NetworkKind};
use rustchain_rpc::types::{
    TxJson, WalletAddressJson, WalletMultisigJson, WalletPolicyJson, WalletSendJson,
    WalletStatusJson,
};
use rustchain_rpc::{start, NodeStatus, RpcConfig, RpcContext, RpcHandle, WalletAccess};
use rustchain_state::Chain;
use rustchain_wallet::embedded::EmbeddedWallet;
use rustchain_wallet::keystore::{
    KdfParams, Keystore, Metadata, NewWallet, SecretString, WalletData,
};
use rustchain_wallet::multisig::PartialCall;
use rustchain_wallet::policy::{PolicyState, SpendingPolicy};
use serde_json::json;
use tokio::sync::broadcast;
use zeroize::Zeroizing;

const TOKEN: &str = "a-long-enough-test-token";

struct Node {
    _dir: tempfile::TempDir,
    rpc: RpcHandle,
    chain: Arc<Chain>,
}

fn context(chain: Arc<Chain>, wallet: Option<Arc<WalletAccess>>) -> RpcContext {
    RpcContext {
        mempool: Arc::new(Mutex::new(Mempool::new(
            MempoolConfig::default(),
            chain.rules().clone(),
        ))),
        chain,
        new_heads: broadcast::channel(1).0,
        finalized_heads: broadcast::channel(1).0,
        status: Arc::new(RwLock::new(NodeStatus {
            role: "full".into(),
            ..NodeStatus::default()
        })),
        clock: Arc::new(SystemClock),
        version: "test".into(),
        tx_broadcast: None,
        attestations: Default::default(),
        attestation_broadcast: None,
        wallet,
    }
}

/// A keystore holding the dev mnemonic (so address 0 is a funded dev account) and `policy`.
fn wallet(dir: &std::path::Path, policy: SpendingPolicy, chain: &Chain) -> EmbeddedWallet {
    let mut keystore = Keystore::create(
        dir.join("node.wallet"),
        NewWallet {
            mnemonic: &Zeroizing::new(DEV_MNEMONIC.to_string()),
            bip39_passphrase: &SecretString::new(""),
            metadata: Metadata::new("node", "rtc-dev"),
            data: WalletData::default(),
        },
        &SecretString::new("pw"),
        KdfParams::insecure_for_tests(),
    )
    .unwrap();
    PolicyState {
        rules: policy,
        recent: Vec::new(),
    }
    .store(&mut keystore)
    .unwrap();
    EmbeddedWallet::from_keystore(
        keystore,
        &SecretString::new(""),
        0,
        chain.genesis().chain_id.clone(),
    )
    .unwrap()
}

async fn node(with_wallet: bool, token: Option<&str>, policy: SpendingPolicy) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let genesis = dev_genesis().validate().unwrap();
    let chain = Arc::new(Chain::open(&dir.path().join("db"), genesis).unwrap());
    let access =
        with_wallet.then(|| Arc::new(WalletAccess::new(wallet(dir.path(), policy, &chain), token)));
    let config = RpcConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..RpcConfig::default()
    };
    let rpc = start(&config, context(chain.clone(), access))
        .await
        .unwrap();
    Node {
        _dir: dir,
        rpc,
        chain,
    }
}

fn client(node: &Node, token: Option<&str>) -> HttpClient {
    let mut headers = HeaderMap::new();
    if let Some(t) = token {
        headers.insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
        );
    }
    HttpClientBuilder::default()
        .set_headers(headers)
        .build(format!("http://{}", node.rpc.local_addr))
        .unwrap()
}

fn code<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (i32, String) {
    match result {
        Err(ClientError::Call(e)) => (e.code(), e.message().to_string()),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

fn dev_address(i: u32) -> String {
    Address::from_public_key(&dev_account_key(i).unwrap().public_key()).encode(NetworkKind::Dev)
}

#[tokio::test]
async fn disabled_by_default() {
    let node = node(false, None, SpendingPolicy::default()).await;
    let c = client(&node, None);
    for method in ["wallet_status", "wallet_accounts", "wallet_getPolicy"] {
        let (c, m) = code(
            c.request::<serde_json::Value, _>(method, rpc_params![])
                .await,
        );
        assert_eq!(c, 6001, "{method}: {m}");
    }
}

#[tokio::test]
async fn loopback_wallet_sends_within_its_policy() {
    let limit = Amount::from_base_units(300_000_000);
    let node = node(
        true,
        None,
        SpendingPolicy {
            max_per_day: Some(limit),
            ..SpendingPolicy::default()
        },
    )
    .await;
    let c = client(&node, None);
    let status: WalletStatusJson = c.request("wallet_status", rpc_params![]).await.unwrap();
    assert_eq!(status.first_address, dev_address(0));
    assert!(!status.token_required);
    assert_eq!(status.chain, "rtc-dev");

    let accounts: Vec<WalletAddressJson> =
        c.request("wallet_accounts", rpc_params![3]).await.unwrap();
    assert_eq!(accounts.len(), 3);
    assert_eq!(accounts[1].address, dev_address(1));
    assert!(
        accounts[0].balance > Amount::ZERO,
        "dev account 0 is funded"
    );
    let (code_, m) = code(
        c.request::<Vec<WalletAddressJson>, _>("wallet_accounts", rpc_params![101])
            .await,
    );
    assert_eq!(code_, 6005, "{m}");

    // Two sends in a row get consecutive nonces and land in the mempool.
    let to = dev_address(7);
    let first: WalletSendJson = c
        .request(
            "wallet_send",
            rpc_params![json!({"to": to, "amount": 150_000_000u64})],
        )
        .await
        .unwrap();
    assert_eq!(first.from, dev_address(0));
    assert_eq!(first.nonce, 0);
    assert_eq!(
        first.fee,
        node.chain.genesis().min_fee,
        "empty pool: the minimum fee"
    );
    let second: WalletSendJson = c
        .request(
            "wallet_send",
            rpc_params![json!({"to": to, "amount": 100_000_000u64, "fee": 2_000})],
        )
        .await
        .unwrap();
    assert_eq!(second.nonce, 1);
    let pending: TxJson = c.request("tx_get", rpc_params![second.hash]).await.unwrap();
    assert_eq!(pending.fee, Amount::from_base_units(2_000));
    assert!(pending.block.is_none(), "pending in the mempool");

    // The daily limit counts both; a third send breaks it and names the rule.
    let (c_, m) = code(
        c.request::<WalletSendJson, _>(
            "wallet_send",
            rpc_params![json!({"to": to, "amount": 60_000_000u64})],
        )
        .await,
    );
    assert_eq!(c_, 6003, "{m}");
    assert!(m.contains("max_per_day"), "{m}");
    let policy: WalletPolicyJson = c.request("wallet_getPolicy", rpc_params![]).await.unwrap();
    assert_eq!(policy.rules.max_per_day, Some(limit));
    assert_eq!(policy.spent_last_day, Amount::from_base_units(250_000_000));

    // Bad requests: a mistyped address, zero, unknown fields.
    let (c_, m) = code(
        c.request::<WalletSendJson, _>(
            "wallet_send",
            rpc_params![json!({"to": "rtcdev1nope", "amount": 1})],
        )
        .await,
    );
    assert_eq!(c_, 2002, "{m}");
    let (c_, _) = code(
        c.request::<WalletSendJson, _>("wallet_send", rpc_params![json!({"to": to, "amount": 0})])
            .await,
    );
    assert_eq!(c_, 6005);
    let (c_, _) = code(
        c.request::<WalletSendJson, _>(
            "wallet_send",
            rpc_params![json!({"to": to, "amount": 1, "secret": true})],
        )
        .await,
    );
    assert_eq!(c_, -32602);
}

#[tokio::test]
async fn multisig_approvals_over_rpc() {
    let node = node(true, None, SpendingPolicy::default()).await;
    let c = client(&node, None);
    let mine = dev_account_key(2).unwrap().public_key();
    let other = dev_account_key(50).unwrap().public_key();
    let policy = MultisigPolicy::new(2, vec![mine, other]).unwrap();
    let call = PartialCall::new(
        node.chain.genesis().chain_id.clone(),
        policy.clone(),
        0,
        MultisigAction::Transfer {
            to: Address([3; 20]),
            amount: Amount::from_base_units(5),
        },
        String::new(),
    )
    .unwrap();
    let signed: WalletMultisigJson = c
        .request("wallet_signMultisig", rpc_params![call.to_text()])
        .await
        .unwrap();
    assert_eq!(Some(signed.signer), policy.index_of(&mine));
    assert_eq!(signed.state, "PARTIALLY_SIGNED");
    let back = PartialCall::from_text(&signed.call).unwrap();
    assert_eq!(back.approved_by(), vec![signed.signer]);
    // Signing again is refused; garbage is refused.
    let (c_, m) = code(
        c.request::<WalletMultisigJson, _>("wallet_signMultisig", rpc_params![signed.call])
            .await,
    );
    assert_eq!(c_, 6005, "{m}");
    let (c_, _) = code(
        c.request::<WalletMultisigJson, _>("wallet_signMultisig", rpc_params!["rtcms1AAAA"])
            .await,
    );
    assert_eq!(c_, 6005);
    // A policy none of whose keys the wallet holds.
    let stranger = MultisigPolicy::new(1, vec![other]).unwrap();
    let foreign = PartialCall::new(
        node.chain.genesis().chain_id.clone(),
        stranger,
        0,
        MultisigAction::Transfer {
            to: Address([3; 20]),
            amount: Amount::from_base_units(5),
        },
        String::new(),
    )
    .unwrap();
    let (c_, m) = code(
        c.request::<WalletMultisigJson, _>("wallet_signMultisig", rpc_params![foreign.to_text()])
            .await,
    );
    assert_eq!(c_, 6004, "{m}");
}

#[tokio::test]
async fn a_token_guards_every_wallet_method() {
    let node = node(true, Some(TOKEN), SpendingPolicy::default()).await;
    for (token, allowed) in [
        (None, false),
        (Some("wrong-token-of-some-length"), false),
        (Some(&TOKEN[..TOKEN.len() - 1]), false),
        (Some(TOKEN), true),
    ] {
        let c = client(&node, token);
        for method in ["wallet_status", "wallet_accounts", "wallet_getPolicy"] {
            let result = c
                .request::<serde_json::Value, _>(method, rpc_params![])
                .await;
            if allowed {
                assert!(result.is_ok(), "{method} with the token: {result:?}");
            } else {
                let (c_, m) = code(result);
                assert_eq!(c_, 6002, "{method} with {token:?}: {m}");
            }
        }
        let send = c
            .request::<WalletSendJson, _>(
                "wallet_send",
                rpc_params![json!({"to": dev_address(3), "amount": 1})],
            )
            .await;
        assert_eq!(send.is_ok(), allowed, "{send:?}");
        let sign = c
            .request::<WalletMultisigJson, _>("wallet_signMultisig", rpc_params!["rtcms1"])
            .await;
        assert_eq!(code(sign).0, if allowed { 6005 } else { 6002 });
        // Other namespaces never need it.
        assert!(c
            .request::<serde_json::Value, _>("system_info", rpc_params![])
            .await
            .is_ok());
    }
}

#[tokio::test]
async fn no_token_means_loopback_only() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = dev_genesis().validate().unwrap();
    let chain = Arc::new(Chain::open(&dir.path().join("db"), genesis).unwrap());
    let access = Arc::new(WalletAccess::new(
        wallet(dir.path(), SpendingPolicy::default(), &chain),
        None,
    ));
    // Refused before anything binds, so no socket is ever opened on a public address.
    let config = RpcConfig {
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        ..RpcConfig::default()
    };
    let e = start(&config, context(chain, Some(access)))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("without a token"), "{e}");
}
