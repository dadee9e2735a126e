//! The GitHub webhook receiver in process: the real RPC server on 127.0.0.1, raw HTTP/1.1
//! requests over TCP, a recording handler. Signed merged pull requests reach the handler once;
//! bad signatures, unknown repositories, oversized bodies and replays do not; JSON-RPC on the
//! same server is unaffected.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hmac::{Hmac, Mac};
use parking_lot::{Mutex, RwLock};
use rustchain_consensus::SystemClock;
use rustchain_genesis::dev_genesis;
use rustchain_mempool::{Mempool, MempoolConfig};
use rustchain_rpc::server::StartError;
use rustchain_rpc::webhook::{
    HandlerError, HandlerOutcome, MergeHandler, MergedPullRequest, RepositorySecret, WebhookConfig,
    WebhookSecret, DELIVERIES_FILE, WEBHOOK_PATH,
};
use rustchain_rpc::{start, NodeStatus, RpcConfig, RpcContext, RpcHandle};
use rustchain_state::Chain;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast;

const REPO: &str = "rustchain/rustchain-node";
const SECRET: &str = "webhook-test-secret";
const OTHER_REPO: &str = "rustchain/docs";
const OTHER_SECRET: &str = "docs-secret";
const MAX_BODY: usize = 16 * 1024;

/// Records every merged pull request; fails the first `fail` calls.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<MergedPullRequest>>,
    fail: AtomicUsize,
}

impl Recorder {
    fn count(&self) -> usize {
        self.calls.lock().len()
    }
}

impl MergeHandler for Recorder {
    fn on_merged(&self, pr: MergedPullRequest) -> Result<HandlerOutcome, HandlerError> {
        let number = pr.number;
        self.calls.lock().push(pr);
        if self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(HandlerError::new("claim lookup failed"));
        }
        Ok(HandlerOutcome::new(
            "approval_submitted",
            format!("approved the claim on #{number}"),
        )
        .with_transaction("0x0101"))
    }
}

struct Node {
    _dir: tempfile::TempDir,
    rpc: RpcHandle,
}

fn context(chain: Arc<Chain>) -> RpcContext {
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
        wallet: None,
    }
}

fn webhook_config(state_dir: &Path, handler: Option<Arc<Recorder>>) -> WebhookConfig {
    let mut config = WebhookConfig::new(state_dir);
    config.max_body_bytes = MAX_BODY;
    config.repositories = vec![
        RepositorySecret {
            name: REPO.into(),
            secret: WebhookSecret::new(SECRET),
        },
        RepositorySecret {
            name: OTHER_REPO.into(),
            secret: WebhookSecret::new(OTHER_SECRET),
        },
    ];
    config.handler = handler.map(|h| h as Arc<dyn MergeHandler>);
    config
}

/// A node with the receiver on `state_dir` (under the node's own directory when `None`).
async fn node_with(webhook: Option<WebhookConfig>) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let genesis = dev_genesis().validate().unwrap();
    let chain = Arc::new(Chain::open(&dir.path().join("db"), genesis).unwrap());
    let config = RpcConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        webhook,
        ..RpcConfig::default()
    };
    let rpc = start(&config, context(chain)).await.unwrap();
    Node { _dir: dir, rpc }
}

async fn start_node(state_dir: &Path, handler: Option<Arc<Recorder>>) -> Node {
    node_with(Some(webhook_config(state_dir, handler))).await
}

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Sends `head` (request line and headers, without the blank line) and `body` bytes as they
/// are, then reads the answer until the server closes the connection.
async fn raw(addr: SocketAddr, head: &str, body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("{head}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    // A server that answers before reading everything may reset the connection after its
    // answer; what was received before that is the answer.
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server did not answer in time");
    let text = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    Reply {
        status,
        body: body.to_string(),
    }
}

/// POSTs `body` to the webhook path with GitHub's headers.
async fn deliver(
    node: &Node,
    event: &str,
    delivery: &str,
    signature: Option<&str>,
    body: &[u8],
) -> Reply {
    let mut head = format!(
        "POST {WEBHOOK_PATH} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nUser-Agent: GitHub-Hookshot/test\r\nX-GitHub-Event: {event}\r\nX-GitHub-Delivery: {delivery}",
        body.len()
    );
    if let Some(s) = signature {
        head.push_str(&format!("\r\nX-Hub-Signature-256: {s}"));
    }
    raw(node.rpc.local_addr, &head, body).await
}

/// A correctly signed delivery of `body` for `REPO`.
async fn signed(node: &Node, event: &str, delivery: &str, body: &[u8]) -> Reply {
    deliver(node, event, delivery, Some(&signature(SECRET, body)), body).await
}

fn pull_request(action: &str, merged: bool, repo: &str) -> Vec<u8> {
    serde_json::to_vec_pretty(&json!({
        "action": action,
        "number": 17,
        "pull_request": {
            "url": format!("https://api.github.com/repos/{repo}/pulls/17"),
            "html_url": format!("https://github.com/{repo}/pull/17"),
            "number": 17,
            "state": "closed",
            "title": "Fix the thing",
            "user": {"login": "contributor", "id": 2},
            "merged": merged,
            "merged_at": merged.then_some("2024-05-01T12:00:00Z"),
            "merged_by": merged.then(|| json!({"login": "maintainer", "id": 1})),
        },
        "repository": {"id": 99, "name": "rustchain-node", "full_name": repo},
        "sender": {"login": "maintainer", "id": 1}
    }))
    .unwrap()
}

const D1: &str = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
const D2: &str = "8a0f2b6c-cc78-11e3-81ab-4c9367dc0958";

#[tokio::test]
async fn a_merged_pull_request_reaches_the_handler_once() {
    let state = tempfile::tempdir().unwrap();
    let handler = Arc::new(Recorder::default());
    let node = start_node(state.path(), Some(handler.clone())).await;
    let body = pull_request("closed", true, REPO);

    let reply = signed(&node, "pull_request", D1, &body).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let answer = reply.json();
    assert_eq!(answer["status"], "accepted");
    assert_eq!(answer["outcome"]["action"], "approval_submitted");
    assert_eq!(answer["outcome"]["transaction"], "0x0101");
    assert_eq!(answer["pull_request"]["number"], 17);
    assert_eq!(
        handler.calls.lock().clone(),
        vec![MergedPullRequest {
            delivery: D1.into(),
            repository: REPO.into(),
            number: 17,
            url: format!("https://github.com/{REPO}/pull/17"),
            merged_at: Some("2024-05-01T12:00:00Z".into()),
            merged_by: Some("maintainer".into()),
        }]
    );

    // The same delivery again (GitHub's "Redeliver", or an attacker's replay).
    let reply = signed(&node, "pull_request", D1, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.message(), "duplicate delivery, ignored");
    assert_eq!(handler.count(), 1);

    // A restarted node on the same state directory still refuses it.
    node.rpc.stop().await;
    let node = start_node(state.path(), Some(handler.clone())).await;
    let reply = signed(&node, "pull_request", D1, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.message(), "duplicate delivery, ignored");
    assert_eq!(handler.count(), 1);
    let file = std::fs::read_to_string(state.path().join(DELIVERIES_FILE)).unwrap();
    assert!(file.lines().any(|l| l == D1), "{file}");

    // A new delivery of the same pull request is a new delivery: the handler decides.
    let reply = signed(&node, "pull_request", D2, &body).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(handler.count(), 2);
}

#[tokio::test]
async fn a_bad_signature_gets_401_and_changes_nothing() {
    let state = tempfile::tempdir().unwrap();
    let handler = Arc::new(Recorder::default());
    let node = start_node(state.path(), Some(handler.clone())).await;
    let body = pull_request("closed", true, REPO);

    // Signed with another repository's secret, with a wrong secret, over another body, and
    // with one bit of the body flipped.
    let mut flipped = body.clone();
    flipped[10] ^= 1;
    for sig in [
        signature(OTHER_SECRET, &body),
        signature("guess", &body),
        signature(SECRET, b"{}"),
        signature(SECRET, &flipped),
    ] {
        let reply = deliver(&node, "pull_request", D1, Some(&sig), &body).await;
        assert_eq!(reply.status, 401, "{}", reply.body);
        assert_eq!(reply.json()["status"], "unauthorized");
    }
    // No signature at all.
    let reply = deliver(&node, "pull_request", D1, None, &body).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    // A signature header that is not sha256=<64 hex>.
    let good = signature(SECRET, &body);
    for sig in [
        good.trim_start_matches("sha256=").to_string(),
        good[..good.len() - 1].to_string(),
        format!("sha1={}", &good[7..]),
    ] {
        let reply = deliver(&node, "pull_request", D1, Some(&sig), &body).await;
        assert_eq!(reply.status, 400, "{sig}: {}", reply.body);
    }
    assert_eq!(handler.count(), 0);
    assert!(
        !state.path().join(DELIVERIES_FILE).exists(),
        "a refused delivery was recorded"
    );

    // The same delivery id, correctly signed, is then processed.
    let reply = signed(&node, "pull_request", D1, &body).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(handler.count(), 1);
}

#[tokio::test]
async fn an_unknown_repository_gets_401() {
    let state = tempfile::tempdir().unwrap();
    let handler = Arc::new(Recorder::default());
    let node = start_node(state.path(), Some(handler.clone())).await;
    // Signed with a configured secret, but naming a repository that is not configured.
    let body = pull_request("closed", true, "mallory/rustchain-node");
    let reply = signed(&node, "pull_request", D1, &body).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    // Same answer as a wrong secret: which repositories are configured is not revealed.
    let known = pull_request("closed", true, REPO);
    let wrong = deliver(
        &node,
        "pull_request",
        D1,
        Some(&signature("guess", &known)),
        &known,
    )
    .await;
    assert_eq!(reply.body, wrong.body);
    assert_eq!(handler.count(), 0);
    assert!(!state.path().join(DELIVERIES_FILE).exists());
}

#[tokio::test]
async fn bodies_over_the_cap_get_413() {
    let state = tempfile::tempdir().unwrap();
    let handler = Arc::new(Recorder::default());
    let node = start_node(state.path(), Some(handler.clone())).await;
    let addr = node.rpc.local_addr;
    let headers = format!(
        "X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: {D1}\r\nX-Hub-Signature-256: {}",
        signature(SECRET, b"x")
    );

    // A declared length over the cap is refused before any of the body is sent.
    let head = format!(
        "POST {WEBHOOK_PATH} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}",
        MAX_BODY + 1
    );
    let reply = raw(addr, &head, b"").await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(reply.json()["status"], "too_large");

    // A chunked body with no declared length is cut off once it passes the cap: one chunk
    // of cap + 1 bytes, and the request never finishes.
    let head = format!(
        "POST {WEBHOOK_PATH} HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n{headers}"
    );
    let chunk = format!("{:x}\r\n{}\r\n", MAX_BODY + 1, "a".repeat(MAX_BODY + 1));
    let reply = raw(addr, &head, chunk.as_bytes()).await;
    assert_eq!(reply.status, 413, "{}", reply.body);

    // A body of exactly the cap is read and processed.
    let mut body = pull_request("closed", true, REPO);
    body.resize(MAX_BODY, b' ');
    let reply = signed(&node, "pull_request", D1, &body).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(handler.count(), 1);
}

#[tokio::test]
async fn other_events_and_actions_are_answered_and_recorded() {
    let state = tempfile::tempdir().unwrap();
    let handler = Arc::new(Recorder::default());
    let node = start_node(state.path(), Some(handler.clone())).await;

    let ping = serde_json::to_vec(&json!({
        "zen": "Design for failure.", "hook_id": 1, "repository": {"full_name": REPO}
    }))
    .unwrap();
    let reply = signed(&node, "ping", "ping-1", &ping).await;
    assert_eq!((reply.status, reply.message()), (200, "pong".to_string()));

    let closed = pull_request("closed", false, REPO);
    let reply = signed(&node, "pull_request", "closed-1", &closed).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["status"], "ignored");
    assert!(reply.message().starts_with("ignored: "), "{}", reply.body);

    let opened = pull_request("opened", false, REPO);
    let reply = signed(&node, "pull_request", "opened-1", &opened).await;
    assert_eq!(reply.status, 200);
    assert!(reply.message().contains("opened"), "{}", reply.body);

    let push =
        serde_json::to_vec(&json!({"ref": "refs/heads/main", "repository": {"full_name": REPO}}))
            .unwrap();
    let reply = signed(&node, "push", "push-1", &push).await;
    assert_eq!(reply.status, 200);
    assert!(reply.message().starts_with("ignored: "), "{}", reply.body);
    assert_eq!(handler.count(), 0);

    // Each was recorded after its signature verified.
    let file = std::fs::read_to_string(state.path().join(DELIVERIES_FILE)).unwrap();
    for id in ["ping-1", "closed-1", "opened-1", "push-1"] {
        assert!(file.lines().any(|l| l == id), "{id} not in {file}");
    }
    let reply = signed(&node, "ping", "ping-1", &ping).await;
    assert_eq!(reply.message(), "duplicate delivery, ignored");
}

#[tokio::test]
async fn malformed_requests_get_400_or_415() {
    let state = tempfile::tempdir().unwrap();
    let node = start_node(state.path(), Some(Arc::default())).await;
    let addr = node.rpc.local_addr;
    let body = pull_request("closed", true, REPO);
    let sig = signature(SECRET, &body);
    // Missing event or delivery headers, and a delivery id that is not one.
    for (extra, what) in [
        (format!("X-GitHub-Delivery: {D1}\r\nX-Hub-Signature-256: {sig}"), "no event"),
        (format!("X-GitHub-Event: pull_request\r\nX-Hub-Signature-256: {sig}"), "no delivery"),
        (
            format!("X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: ../../etc\r\nX-Hub-Signature-256: {sig}"),
            "bad delivery",
        ),
    ] {
        let head = format!(
            "POST {WEBHOOK_PATH} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}",
            body.len()
        );
        let reply = raw(addr, &head, &body).await;
        assert_eq!(reply.status, 400, "{what}: {}", reply.body);
    }
    // Form encoding (GitHub's other content type).
    let head = format!(
        "POST {WEBHOOK_PATH} HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nX-GitHub-Event: pull_request\r\nX-GitHub-Delivery: {D1}\r\nX-Hub-Signature-256: {sig}",
        body.len()
    );
    assert_eq!(raw(addr, &head, &body).await.status, 415);
    // Not JSON.
    let reply = deliver(
        &node,
        "pull_request",
        D1,
        Some(&signature(SECRET, b"[1,")),
        b"[1,",
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
}

#[tokio::test]
async fn handler_failures_and_a_missing_handler_leave_the_delivery_retryable() {
    let state = tempfile::tempdir().unwrap();
    let body = pull_request("closed", true, REPO);

    let node = start_node(state.path(), None).await;
    let reply = signed(&node, "pull_request", D1, &body).await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.message(), "bounty webhook handler not configured");
    // Ping works without a handler.
    let ping = serde_json::to_vec(&json!({"repository": {"full_name": REPO}})).unwrap();
    assert_eq!(signed(&node, "ping", "ping-1", &ping).await.status, 200);
    node.rpc.stop().await;

    let handler = Arc::new(Recorder::default());
    handler.fail.store(1, Ordering::SeqCst);
    let node = start_node(state.path(), Some(handler.clone())).await;
    let reply = signed(&node, "pull_request", D1, &body).await;
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert_eq!(reply.message(), "claim lookup failed");
    let reply = signed(&node, "pull_request", D1, &body).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(handler.count(), 2);
    assert_eq!(
        signed(&node, "pull_request", D1, &body).await.message(),
        "duplicate delivery, ignored"
    );
    assert_eq!(handler.count(), 2);
}

#[tokio::test]
async fn concurrent_copies_of_one_delivery_reach_the_handler_once() {
    let state = tempfile::tempdir().unwrap();
    let handler = Arc::new(Recorder::default());
    let node = Arc::new(start_node(state.path(), Some(handler.clone())).await);
    let body = Arc::new(pull_request("closed", true, REPO));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (node, body) = (node.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            signed(&node, "pull_request", D1, &body).await.status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 202]);
    assert_eq!(handler.count(), 1);
}

async fn rpc_call(addr: SocketAddr, path: &str, method: &str) -> Reply {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).to_string();
    let head = format!(
        "POST {path} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}",
        body.len()
    );
    raw(addr, &head, body.as_bytes()).await
}

#[tokio::test]
async fn json_rpc_on_the_same_server_is_untouched() {
    let state = tempfile::tempdir().unwrap();
    let handler = Arc::new(Recorder::default());
    let node = start_node(state.path(), Some(handler.clone())).await;
    let addr = node.rpc.local_addr;
    let reply = rpc_call(addr, "/", "system_info").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["result"]["network"], "dev", "{}", reply.body);
    let reply = rpc_call(addr, "/", "chain_getHead").await;
    assert_eq!(
        reply.json()["result"]["head"]["height"],
        0,
        "{}",
        reply.body
    );
    // A webhook delivery between two calls, then JSON-RPC again.
    let body = pull_request("closed", true, REPO);
    assert_eq!(signed(&node, "pull_request", D1, &body).await.status, 202);
    let reply = rpc_call(addr, "/", "system_health").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.json()["result"]["status"].is_string(),
        "{}",
        reply.body
    );
    // GET on the webhook path is not the receiver's: it goes to the JSON-RPC server.
    let reply = raw(addr, &format!("GET {WEBHOOK_PATH} HTTP/1.1"), b"").await;
    assert_ne!(reply.status, 202);
    assert!(!reply.body.contains("pong") && !reply.body.contains("duplicate"));
}

#[tokio::test]
async fn without_a_webhook_config_the_path_is_plain_json_rpc() {
    let node = node_with(None).await;
    let body = pull_request("closed", true, REPO);
    let reply = signed(&node, "pull_request", D1, &body).await;
    // jsonrpsee's own answer to a body that is not a JSON-RPC request.
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("jsonrpc"), "{}", reply.body);
    let reply = rpc_call(node.rpc.local_addr, "/", "system_info").await;
    assert_eq!(reply.json()["result"]["network"], "dev");
}

#[tokio::test]
async fn an_unusable_configuration_stops_the_server_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = dev_genesis().validate().unwrap();
    let chain = Arc::new(Chain::open(&dir.path().join("db"), genesis).unwrap());
    let mut webhook = webhook_config(&dir.path().join("webhooks"), None);
    webhook.repositories.clear();
    let config = RpcConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        webhook: Some(webhook),
        ..RpcConfig::default()
    };
    let e = start(&config, context(chain.clone())).await.unwrap_err();
    assert!(matches!(e, StartError::Webhook(_)), "{e}");
    assert!(e.to_string().contains("no repository"), "{e}");
    // A state directory that cannot be created.
    std::fs::write(dir.path().join("file"), "x").unwrap();
    let config = RpcConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        webhook: Some(webhook_config(&dir.path().join("file"), None)),
        ..RpcConfig::default()
    };
    let e = start(&config, context(chain)).await.unwrap_err();
    assert!(e.to_string().contains("state directory"), "{e}");
}
