//! Helpers for the scenario tests in `tests/tests/`: start the real `rustchain-node` binary on a
//! loopback port chosen by the OS, wait for events (never for fixed sleeps), and talk to it.

// This crate is test support: failing loudly is its job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use rustchain_primitives::Hash;
use rustchain_rpc_types::{HeadJson, HeaderJson, ReceiptJson};

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(60);

/// Path of a workspace binary (built by `cargo build --workspace --bins`).
pub fn binary(name: &str) -> PathBuf {
    // Test executables live in target/<profile>/deps; binaries in target/<profile>.
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not found: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A running node process.
#[derive(Debug)]
pub struct NodeProcess {
    child: Option<Child>,
    /// RPC address.
    pub addr: SocketAddr,
    /// Log lines (JSON) after start-up.
    pub logs: mpsc::Receiver<String>,
    /// Data directory.
    pub datadir: PathBuf,
}

impl NodeProcess {
    /// Starts `rustchain-node --dev --datadir DIR --rpc-addr 127.0.0.1:0 --log-format json` and
    /// waits for its RPC server to listen.
    pub fn start_dev(datadir: &Path) -> NodeProcess {
        Self::start(datadir, &["--dev"])
    }

    /// Starts the node with `extra` arguments.
    pub fn start(datadir: &Path, extra: &[&str]) -> NodeProcess {
        let mut child = Command::new(binary("rustchain-node"))
            .args(extra)
            .arg("--datadir")
            .arg(datadir)
            .args(["--rpc-addr", "127.0.0.1:0", "--log-format", "json"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rustchain-node");
        let stderr = child.stderr.take().expect("stderr pipe");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Owned by a NodeProcess from here on, so every exit path (including a panic while
        // waiting) kills and reaps the child in Drop.
        let mut node = NodeProcess {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            logs: rx,
            datadir: datadir.to_path_buf(),
        };
        let deadline = Instant::now() + WAIT;
        loop {
            let line = node
                .logs
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("node did not start listening within {WAIT:?}"));
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if v["message"] == "JSON-RPC listening" {
                let http = v["http"].as_str().expect("http field");
                node.addr = http.trim_start_matches("http://").parse().expect("address");
                return node;
            }
        }
    }

    /// `http://addr`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An HTTP client.
    pub fn http(&self) -> HttpClient {
        HttpClientBuilder::default()
            .build(self.http_url())
            .expect("http client")
    }

    /// A WebSocket client.
    pub async fn ws(&self) -> WsClient {
        WsClientBuilder::default()
            .build(format!("ws://{}", self.addr))
            .await
            .expect("ws client")
    }

    fn take_child(&mut self) -> Child {
        self.child.take().expect("node process already stopped")
    }

    /// SIGKILL (kill -9): no chance to clean up.
    pub fn kill9(mut self) {
        let mut child = self.take_child();
        child.kill().expect("kill");
        child.wait().expect("wait");
    }

    /// SIGTERM, then wait for the process to exit; returns whether it exited successfully.
    pub fn terminate(mut self) -> bool {
        let mut child = self.take_child();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        assert!(status.is_ok_and(|s| s.success()), "kill -TERM failed");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let status = rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("node did not stop within {WAIT:?} of SIGTERM"))
            .expect("wait");
        status.success()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Calls `probe` now and again after every new head (WebSocket subscription, so no polling
/// interval) until it returns `Some`; fails the test after [`WAIT`].
pub async fn wait_until<T, F, Fut>(node: &NodeProcess, mut probe: F) -> T
where
    F: FnMut(HttpClient) -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let http = node.http();
    let ws = node.ws().await;
    let mut heads = ws
        .subscribe::<HeaderJson, _>(
            "chain_subscribeNewHeads",
            rpc_params![],
            "chain_unsubscribeNewHeads",
        )
        .await
        .expect("subscribe");
    let wait = async {
        loop {
            if let Some(done) = probe(http.clone()).await {
                return done;
            }
            heads
                .next()
                .await
                .expect("subscription open")
                .expect("header");
        }
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .expect("condition reached in time")
}

/// Waits until the head is at least `height`.
pub async fn wait_for_height(node: &NodeProcess, height: u64) -> HeadJson {
    wait_until(node, |http| async move {
        let head: HeadJson = http
            .request("chain_getHead", rpc_params![])
            .await
            .expect("chain_getHead");
        (head.head.height >= height).then_some(head)
    })
    .await
}

/// Waits until `tx` has a receipt.
pub async fn wait_for_receipt(node: &NodeProcess, tx: &Hash) -> ReceiptJson {
    wait_until(node, |http| async move {
        http.request::<ReceiptJson, _>("tx_getReceipt", rpc_params![tx])
            .await
            .ok()
    })
    .await
}

/// A raw HTTP/1.1 POST (for malformed and oversized bodies a JSON-RPC client cannot send).
/// Returns the status code and the body.
pub fn raw_post(addr: SocketAddr, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write head");
    // The server may answer (413) and close before reading an oversized body.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

/// Runs a workspace binary to completion; returns (success, stdout, stderr).
pub fn run_binary(name: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(binary(name))
        .args(args)
        .output()
        .expect("run binary");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// `n` consecutive free loopback TCP ports below Linux's ephemeral range (32768 and up), so the
/// OS never hands one to an outgoing connection or a `:0` listener in the meantime. Each is
/// checked by binding it.
pub fn free_port_range(n: u16) -> u16 {
    let seed = std::process::id() as u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
    for attempt in 0..200u64 {
        let base = 20_000
            + ((seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(attempt * 7919))
                % 12_000) as u16;
        let all_free = (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no {n} consecutive free ports found");
}

/// A local multi-node network written by `rustchain-node testnet`, with its processes.
#[derive(Debug)]
pub struct Testnet {
    /// Holds every node's directory.
    pub dir: tempfile::TempDir,
    /// Validators.
    pub validators: usize,
    /// One slot per node: `None` while stopped.
    pub nodes: Vec<Option<NodeProcess>>,
}

impl Testnet {
    /// Writes a network of `validators` validators and `full_nodes` full nodes with `slot_ms`
    /// slots (nothing is started yet). `extra` goes to the `testnet` command.
    pub fn write(validators: u32, full_nodes: u32, slot_ms: u64, extra: &[&str]) -> Testnet {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = free_port_range((validators + full_nodes) as u16);
        let out = dir.path().join("net");
        let mut args = vec![
            "testnet".to_string(),
            "--validators".into(),
            validators.to_string(),
            "--full-nodes".into(),
            full_nodes.to_string(),
            "--out".into(),
            out.display().to_string(),
            "--slot-ms".into(),
            slot_ms.to_string(),
            "--p2p-port".into(),
            base.to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, stdout, stderr) = run_binary("rustchain-node", &refs);
        assert!(ok, "testnet failed: {stdout}\n{stderr}");
        Testnet {
            dir,
            validators: validators as usize,
            nodes: (0..validators + full_nodes).map(|_| None).collect(),
        }
    }

    /// Node `i`'s directory.
    pub fn node_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join("net").join(format!("node{i}"))
    }

    /// The genesis file.
    pub fn genesis(&self) -> PathBuf {
        self.dir.path().join("net").join("genesis.toml")
    }

    /// Starts node `i` from its config file (RPC on a port the OS picks), with `extra` flags.
    pub fn start(&mut self, i: usize, extra: &[&str]) {
        let config = self.node_dir(i).join("config.toml");
        let mut args = vec!["--config", config.to_str().expect("utf-8 path")];
        args.extend_from_slice(extra);
        let node = NodeProcess::start(&self.node_dir(i).join("data"), &args);
        self.nodes[i] = Some(node);
    }

    /// Node `i` (panics if stopped).
    pub fn node(&self, i: usize) -> &NodeProcess {
        self.nodes[i].as_ref().expect("node is running")
    }

    /// Kills node `i` with SIGKILL.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].take().expect("node is running").kill9();
    }
}

/// A node's head and finalized block.
pub async fn head(node: &NodeProcess) -> HeadJson {
    node.http()
        .request("chain_getHead", rpc_params![])
        .await
        .expect("chain_getHead")
}

/// Waits until the node's finalized height is at least `height`.
pub async fn wait_for_finalized(node: &NodeProcess, height: u64) -> HeadJson {
    wait_until(node, |http| async move {
        let head: HeadJson = http
            .request("chain_getHead", rpc_params![])
            .await
            .expect("chain_getHead");
        (head.finalized.height >= height).then_some(head)
    })
    .await
}

/// The hash of the node's canonical block at `height`.
pub async fn hash_at(node: &NodeProcess, height: u64) -> Hash {
    let header: HeaderJson = node
        .http()
        .request("chain_getHeader", rpc_params![height])
        .await
        .expect("chain_getHeader");
    header.hash
}

/// GitHub's `X-Hub-Signature-256` value for `body` under `secret`.
pub fn github_signature(secret: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac =
        <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key size");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs a GitHub `pull_request` delivery to the node's webhook path; returns the HTTP status
/// and the body of the answer.
pub async fn deliver_pull_request(
    addr: SocketAddr,
    delivery: &str,
    signature: &str,
    body: &[u8],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-GitHub-Event: pull_request\r\nX-GitHub-Delivery: {delivery}\r\nX-Hub-Signature-256: {signature}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("answer in time")
        .expect("read");
    let text = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    (status, body.to_string())
}
