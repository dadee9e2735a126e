//! Multi-node tests of the network service over real TCP on 127.0.0.1.
//!
//! Every wait is for an event or a condition, with a generous deadline; the only fixed wait is
//! the quiet period used to show that something does *not* happen (gossip not forwarded before
//! validation), and those checks are backed by an ordering check afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rustchain_p2p::{
    Direction, GossipKind, MessageId, Multiaddr, Network, NetworkEvent, NetworkHandle, P2pConfig,
    P2pError, PeerId, PeerStatus, SyncRequest, SyncResponse, SyncServer, Validation,
    MAX_BLOCKS_PER_REQUEST,
};
use rustchain_primitives::{Block, BlockHeader, ChainId, Hash, PublicKey, Signature};
use tokio::sync::mpsc::Receiver;

const WAIT: Duration = Duration::from_secs(30);
/// How long "nothing arrives" is observed.
const QUIET: Duration = Duration::from_millis(1500);

fn chain_id() -> ChainId {
    ChainId::new("dev-p2ptest").unwrap()
}

const GENESIS: Hash = Hash([7; 32]);

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

fn block(height: u64) -> Block {
    Block {
        header: BlockHeader {
            version: 1,
            height,
            slot: height,
            timestamp_ms: 1_000 * height,
            parent_hash: Hash([height as u8; 32]),
            transactions_root: Hash::ZERO,
            attestations_root: Hash::ZERO,
            evidence_root: Hash::ZERO,
            state_root: Hash::ZERO,
            receipts_root: Hash::ZERO,
            proposer: PublicKey([2; 32]),
            signature: Signature([3; 64]),
        },
        transactions: Vec::new(),
        attestations: Vec::new(),
        evidence: Vec::new(),
    }
}

/// A sync server over an in-memory chain, recording the requests it gets.
struct TestServer {
    genesis: Hash,
    blocks: Vec<Block>,
    seen: Mutex<Vec<SyncRequest>>,
}

impl TestServer {
    fn new(genesis: Hash, blocks: Vec<Block>) -> Arc<Self> {
        Arc::new(TestServer {
            genesis,
            blocks,
            seen: Mutex::new(Vec::new()),
        })
    }

    fn status(&self) -> PeerStatus {
        let head = self.blocks.last();
        PeerStatus {
            genesis_hash: self.genesis,
            head_height: head.map_or(0, |b| b.header.height),
            head_hash: head.map_or(self.genesis, Block::hash),
            finalized_height: 0,
            finalized_hash: self.genesis,
        }
    }
}

impl SyncServer for TestServer {
    fn handle(&self, _peer: PeerId, request: SyncRequest) -> SyncResponse {
        self.seen.lock().push(request.clone());
        match request {
            SyncRequest::Status => SyncResponse::Status(self.status()),
            SyncRequest::BlocksByRange { start, count } => SyncResponse::Blocks(
                self.blocks
                    .iter()
                    .filter(|b| b.header.height >= start)
                    .take(count as usize)
                    .cloned()
                    .collect(),
            ),
            SyncRequest::HeadersByRange { start, count } => SyncResponse::Headers(
                self.blocks
                    .iter()
                    .filter(|b| b.header.height >= start)
                    .take(count as usize)
                    .map(|b| b.header.clone())
                    .collect(),
            ),
            SyncRequest::BlockByHash { hash } => {
                SyncResponse::Block(self.blocks.iter().find(|b| b.hash() == hash).cloned())
            }
            // A misbehaving server: a response far above the 16 MiB frame limit.
            SyncRequest::FinalityCertificate { .. } => {
                SyncResponse::Error("x".repeat(17 * 1024 * 1024))
            }
            SyncRequest::Votes { .. } => SyncResponse::Votes(Vec::new()),
        }
    }
}

struct Node {
    handle: NetworkHandle,
    events: Receiver<NetworkEvent>,
    peer_id: PeerId,
    /// Listen address with the `/p2p/<peer id>` suffix.
    addr: Multiaddr,
}

async fn start_node(bootnodes: &[&Node], genesis: Hash, server: Arc<TestServer>) -> Node {
    let mut config = P2pConfig::new(chain_id(), genesis);
    config.listen_addrs = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.bootnodes = bootnodes.iter().map(|n| n.addr.clone()).collect();
    config.discovery = false;
    config.request_timeout = Duration::from_secs(20);
    let keypair = libp2p_keypair();
    let (handle, events) = Network::start(config, keypair, server).await.unwrap();
    let info = handle.info().await.unwrap();
    assert_eq!(info.listen_addrs.len(), 1);
    let listen = info.listen_addrs[0].clone();
    assert!(
        !listen.to_string().ends_with("/tcp/0"),
        "listen address not bound: {listen}"
    );
    let addr = format!("{listen}/p2p/{}", info.peer_id).parse().unwrap();
    Node {
        peer_id: handle.local_peer_id(),
        handle,
        events,
        addr,
    }
}

fn libp2p_keypair() -> rustchain_p2p::Keypair {
    rustchain_p2p::Keypair::generate_ed25519()
}

async fn default_node(bootnodes: &[&Node]) -> Node {
    start_node(bootnodes, GENESIS, TestServer::new(GENESIS, Vec::new())).await
}

/// Waits for the first event matching `pred`, dropping the others.
async fn wait_event(
    events: &mut Receiver<NetworkEvent>,
    what: &str,
    mut pred: impl FnMut(&NetworkEvent) -> bool,
) -> NetworkEvent {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events.recv().await.expect("event channel closed");
            if pred(&event) {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Waits for the next gossip event (peer events are skipped).
async fn next_gossip(
    events: &mut Receiver<NetworkEvent>,
    what: &str,
) -> (GossipKind, MessageId, PeerId, Vec<u8>) {
    match wait_event(events, what, |e| matches!(e, NetworkEvent::Gossip { .. })).await {
        NetworkEvent::Gossip {
            kind,
            id,
            source,
            data,
        } => (kind, id, source, data),
        _ => unreachable!(),
    }
}

/// Polls `cond` until it holds.
async fn wait_until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    tokio::time::timeout(WAIT, async {
        while !cond().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting until {what}"));
}

/// Asserts that no gossip event arrives during the quiet period.
async fn assert_no_gossip(events: &mut Receiver<NetworkEvent>, what: &str) {
    let deadline = tokio::time::Instant::now() + QUIET;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => return,
            Ok(Some(NetworkEvent::Gossip { data, .. })) => {
                panic!(
                    "{what}: unexpected gossip {:?}",
                    String::from_utf8_lossy(&data)
                )
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("event channel closed"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_reaches_a_peer_connected_through_a_bootnode() {
    init_tracing();
    let mut a = default_node(&[]).await;

    // Alone, publishing is a benign "no peers" error.
    let err = a
        .handle
        .publish(GossipKind::Transactions, b"lonely".to_vec())
        .await
        .unwrap_err();
    assert!(matches!(err, P2pError::NoPeers), "{err:?}");
    assert!(err.is_benign_publish_error());

    let mut b = default_node(&[&a]).await;
    match wait_event(&mut b.events, "B connected to A", |e| {
        matches!(e, NetworkEvent::PeerConnected { .. })
    })
    .await
    {
        NetworkEvent::PeerConnected {
            peer, direction, ..
        } => {
            assert_eq!(peer, a.peer_id);
            assert_eq!(direction, Direction::Outbound);
        }
        _ => unreachable!(),
    }
    match wait_event(&mut a.events, "A sees B", |e| {
        matches!(e, NetworkEvent::PeerConnected { .. })
    })
    .await
    {
        NetworkEvent::PeerConnected {
            peer, direction, ..
        } => {
            assert_eq!(peer, b.peer_id);
            assert_eq!(direction, Direction::Inbound);
        }
        _ => unreachable!(),
    }

    let b_id = b.peer_id;
    wait_until("A knows B subscribed to transactions", || {
        let a = a.handle.clone();
        async move {
            a.topic_peers(GossipKind::Transactions)
                .await
                .contains(&b_id)
        }
    })
    .await;

    let data = b"a transaction".to_vec();
    a.handle
        .publish(GossipKind::Transactions, data.clone())
        .await
        .unwrap();
    let (kind, id, source, got) = next_gossip(&mut b.events, "the transaction at B").await;
    assert_eq!(kind, GossipKind::Transactions);
    assert_eq!(source, a.peer_id);
    assert_eq!(got, data);
    assert_eq!(id, MessageId::from_data(&data));
    b.handle.report(id, source, Validation::Accept).await;

    // Publishing the same bytes again is a benign duplicate.
    let err = a
        .handle
        .publish(GossipKind::Transactions, data)
        .await
        .unwrap_err();
    assert!(matches!(err, P2pError::Duplicate), "{err:?}");

    // Oversized for its topic: refused locally.
    let err = a
        .handle
        .publish(GossipKind::Votes, vec![0; 10_000])
        .await
        .unwrap_err();
    assert!(matches!(err, P2pError::MessageTooLarge { .. }), "{err:?}");

    let peers = b.handle.peers().await;
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].peer_id, a.peer_id);
    assert_eq!(peers[0].score, 0.0);

    a.handle.shutdown().await;
    wait_event(
        &mut b.events,
        "B sees A leave",
        |e| matches!(e, NetworkEvent::PeerDisconnected { peer } if *peer == a.peer_id),
    )
    .await;
    assert!(matches!(a.handle.info().await, Err(P2pError::Shutdown)));
    b.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_forwarded_before_validation() {
    init_tracing();
    // Line topology A - B - C, no discovery.
    let mut b = default_node(&[]).await;
    let a = default_node(&[&b]).await;
    let mut c = default_node(&[&b]).await;
    let (a_id, b_id, c_id) = (a.peer_id, b.peer_id, c.peer_id);

    wait_until("B has C in its blocks mesh", || {
        let b = b.handle.clone();
        async move { b.mesh_peers(GossipKind::Blocks).await.contains(&c_id) }
    })
    .await;
    wait_until("A knows B subscribed to blocks", || {
        let a = a.handle.clone();
        async move { a.topic_peers(GossipKind::Blocks).await.contains(&b_id) }
    })
    .await;
    assert!(!a.handle.peers().await.iter().any(|p| p.peer_id == c_id));

    // 1. Held by B until it accepts.
    a.handle
        .publish(GossipKind::Blocks, b"block one".to_vec())
        .await
        .unwrap();
    let (kind, id1, source, data) = next_gossip(&mut b.events, "block one at B").await;
    assert_eq!(
        (kind, source, data.as_slice()),
        (GossipKind::Blocks, a_id, &b"block one"[..])
    );
    assert_no_gossip(&mut c.events, "before B's Accept").await;
    b.handle.report(id1, a_id, Validation::Accept).await;
    let (kind, id, source, data) = next_gossip(&mut c.events, "block one at C").await;
    assert_eq!(
        (kind, source, data.as_slice()),
        (GossipKind::Blocks, b_id, &b"block one"[..])
    );
    c.handle.report(id, source, Validation::Accept).await;

    // 2. Rejected by B: never forwarded, and A's score at B drops.
    a.handle
        .publish(GossipKind::Blocks, b"bad block".to_vec())
        .await
        .unwrap();
    let (_, id2, source, data) = next_gossip(&mut b.events, "bad block at B").await;
    assert_eq!((source, data.as_slice()), (a_id, &b"bad block"[..]));
    b.handle.report(id2, a_id, Validation::Reject).await;
    let score = b
        .handle
        .peers()
        .await
        .into_iter()
        .find(|p| p.peer_id == a_id)
        .expect("A still connected")
        .score;
    assert!((-10.0..-9.9).contains(&score), "score {score}");
    assert_no_gossip(&mut c.events, "after B's Reject").await;

    // 3. The next accepted message is the next thing C gets: the rejected one never came.
    a.handle
        .publish(GossipKind::Blocks, b"block two".to_vec())
        .await
        .unwrap();
    let (_, id3, source, data) = next_gossip(&mut b.events, "block two at B").await;
    assert_eq!((source, data.as_slice()), (a_id, &b"block two"[..]));
    b.handle.report(id3, a_id, Validation::Accept).await;
    let (_, _, source, data) = next_gossip(&mut c.events, "block two at C").await;
    assert_eq!((source, data.as_slice()), (b_id, &b"block two"[..]));

    for node in [&a, &b, &c] {
        node.handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_rejects_ban_the_sender() {
    init_tracing();
    let mut b = default_node(&[]).await;
    let mut a = default_node(&[&b]).await;
    let (a_id, b_id) = (a.peer_id, b.peer_id);
    wait_until("A knows B subscribed to votes", || {
        let a = a.handle.clone();
        async move { a.topic_peers(GossipKind::Votes).await.contains(&b_id) }
    })
    .await;

    let mut rejected = 0;
    for i in 0..30 {
        // After the ban A has no peer left: publishing then fails, which is fine.
        let _ = a
            .handle
            .publish(GossipKind::Votes, format!("bad vote {i}").into_bytes())
            .await;
        let event = wait_event(&mut b.events, "a vote or A's disconnection at B", |e| {
            matches!(e, NetworkEvent::Gossip { .. })
                || matches!(e, NetworkEvent::PeerDisconnected { peer } if *peer == a_id)
        })
        .await;
        let NetworkEvent::Gossip { id, source, .. } = event else {
            break;
        };
        assert_eq!(source, a_id);
        b.handle.report(id, source, Validation::Reject).await;
        rejected += 1;
    }
    assert_eq!(rejected, 10, "banned after exactly ten rejects");
    assert!(b.handle.peers().await.is_empty());
    wait_event(
        &mut a.events,
        "A sees the disconnection",
        |e| matches!(e, NetworkEvent::PeerDisconnected { peer } if *peer == b_id),
    )
    .await;

    // B refuses to talk to A.
    assert!(matches!(
        b.handle.dial(a.addr.clone()).await,
        Err(P2pError::Banned(p)) if p == a_id
    ));
    assert!(matches!(
        b.handle.request(a_id, SyncRequest::Status).await,
        Err(P2pError::Banned(_))
    ));

    // A tries to reconnect: the connection is refused or closed at once.
    match a.handle.dial(b.addr.clone()).await {
        Err(_) => {}
        Ok(peer) => {
            assert_eq!(peer, b_id);
            wait_event(
                &mut a.events,
                "the refused connection to close",
                |e| matches!(e, NetworkEvent::PeerDisconnected { peer } if *peer == b_id),
            )
            .await;
        }
    }
    // By the time A saw the refusal, B has handled the connection: it never reported A.
    while let Ok(event) = b.events.try_recv() {
        assert!(
            !matches!(&event, NetworkEvent::PeerConnected { peer, .. } if *peer == a_id),
            "banned peer reconnected: {event:?}"
        );
    }
    assert!(b.handle.peers().await.is_empty());

    a.handle.shutdown().await;
    b.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_requests_round_trip_and_oversized_responses_are_refused() {
    init_tracing();
    let blocks: Vec<Block> = (1..=3).map(block).collect();
    let server = TestServer::new(GENESIS, blocks.clone());
    let a = start_node(&[], GENESIS, server.clone()).await;
    let mut b = default_node(&[&a]).await;
    let a_id = a.peer_id;
    wait_event(
        &mut b.events,
        "B connected to A",
        |e| matches!(e, NetworkEvent::PeerConnected { peer, .. } if *peer == a_id),
    )
    .await;

    // The connection handshake fetched A's status.
    wait_until("B has A's status", || {
        let b = b.handle.clone();
        async move { b.status_peers().await.iter().any(|(p, _)| *p == a_id) }
    })
    .await;
    let statuses = b.handle.status_peers().await;
    assert_eq!(statuses[0].1, server.status());

    match b.handle.request(a_id, SyncRequest::Status).await.unwrap() {
        SyncResponse::Status(status) => assert_eq!(status, server.status()),
        other => panic!("unexpected {other:?}"),
    }

    let response = b
        .handle
        .request(
            a_id,
            SyncRequest::BlocksByRange {
                start: 2,
                count: 10_000,
            },
        )
        .await
        .unwrap();
    assert_eq!(response, SyncResponse::Blocks(blocks[1..].to_vec()));
    assert!(server.seen.lock().contains(&SyncRequest::BlocksByRange {
        start: 2,
        count: MAX_BLOCKS_PER_REQUEST
    }));

    let response = b
        .handle
        .request(
            a_id,
            SyncRequest::BlockByHash {
                hash: blocks[0].hash(),
            },
        )
        .await
        .unwrap();
    assert_eq!(response, SyncResponse::Block(Some(blocks[0].clone())));

    // A response above 16 MiB is replaced by an error; both nodes carry on.
    match b
        .handle
        .request(a_id, SyncRequest::FinalityCertificate { height: 1 })
        .await
        .unwrap()
    {
        SyncResponse::Error(msg) => assert!(msg.contains("exceeds"), "{msg}"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        b.handle.request(a_id, SyncRequest::Status).await,
        Ok(SyncResponse::Status(_))
    ));

    // A peer we cannot reach: a clean error.
    let err = b
        .handle
        .request(PeerId::random(), SyncRequest::Status)
        .await
        .unwrap_err();
    assert!(matches!(err, P2pError::Request { .. }), "{err:?}");

    a.handle.shutdown().await;
    b.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_on_another_genesis_is_dropped() {
    init_tracing();
    let mut a = default_node(&[]).await;
    let other = Hash([8; 32]);
    let c = start_node(&[&a], other, TestServer::new(other, Vec::new())).await;
    let c_id = c.peer_id;
    wait_event(
        &mut a.events,
        "A drops C",
        |e| matches!(e, NetworkEvent::PeerDisconnected { peer } if *peer == c_id),
    )
    .await;
    // Each side asks the other's status when they connect; whichever answer arrives first makes
    // that side ban the other (which closes the connection before the second answer can arrive).
    let a_banned_c =
        matches!(a.handle.dial(c.addr.clone()).await, Err(P2pError::Banned(p)) if p == c_id);
    let c_banned_a =
        matches!(c.handle.dial(a.addr.clone()).await, Err(P2pError::Banned(p)) if p == a.peer_id);
    assert!(
        a_banned_c || c_banned_a,
        "nobody banned the other network's peer"
    );
    a.handle.shutdown().await;
    c.handle.shutdown().await;
}
