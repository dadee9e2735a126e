//! Scenario (f): a peer that gossips garbage is penalised, disconnected and banned, and the node
//! it attacks never stops producing blocks. The node is the real binary (a dev validator with
//! networking on 127.0.0.1); the attacker is an in-process libp2p peer speaking our protocols.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use rustchain_p2p::{
    GossipKind, Network, P2pConfig, PeerId, PeerStatus, SyncRequest, SyncResponse, SyncServer,
};
use rustchain_primitives::{ChainId, Hash};
use rustchain_rpc_types::{InfoJson, NetInfoJson, PeerJson};
use rustchain_tests::{head, wait_for_height, wait_until, NodeProcess};

/// Answers `Status` with the right genesis (so the node keeps the connection) and nothing else.
struct AttackerServer {
    genesis: Hash,
}

impl SyncServer for AttackerServer {
    fn handle(&self, _peer: PeerId, request: SyncRequest) -> SyncResponse {
        match request {
            SyncRequest::Status => SyncResponse::Status(PeerStatus {
                genesis_hash: self.genesis,
                head_height: 0,
                head_hash: self.genesis,
                finalized_height: 0,
                finalized_hash: self.genesis,
            }),
            _ => SyncResponse::Error("nothing here".into()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_gossiping_garbage_is_banned_and_the_node_keeps_going() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(
        dir.path(),
        &["--dev", "--p2p-listen", "/ip4/127.0.0.1/tcp/0"],
    );
    let http = node.http();
    let info: InfoJson = http.request("system_info", rpc_params![]).await.unwrap();
    let net: NetInfoJson = wait_until(&node, |http| async move {
        http.request::<NetInfoJson, _>("net_info", rpc_params![])
            .await
            .ok()
    })
    .await;
    let node_peer: PeerId = net.peer_id.parse().unwrap();
    let addr = format!("{}/p2p/{}", net.listen_addrs[0], net.peer_id);

    let mut config = P2pConfig::new(ChainId::new(&info.chain_id).unwrap(), info.genesis_hash);
    config.discovery = false;
    config.bootnodes = vec![addr.parse().unwrap()];
    let keypair = rustchain_p2p::Keypair::generate_ed25519();
    let me = keypair.public().to_peer_id();
    let server = Arc::new(AttackerServer {
        genesis: info.genesis_hash,
    });
    let (attacker, _events) = Network::start(config, keypair, server).await.unwrap();

    // Gossip is only sent to mesh peers: wait until the node is in ours.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !attacker
        .mesh_peers(GossipKind::Blocks)
        .await
        .contains(&node_peer)
    {
        assert!(
            Instant::now() < deadline,
            "node never joined the attacker's mesh"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listed = |peers: &[PeerJson]| peers.iter().any(|p| p.peer_id == me.to_string());
    let peers: Vec<PeerJson> = wait_until(&node, |http| async move {
        let peers: Vec<PeerJson> = http.request("net_peers", rpc_params![]).await.unwrap();
        listed(&peers).then_some(peers)
    })
    .await;
    assert!(peers.iter().all(|p| p.score == 0.0), "{peers:?}");

    // Garbage on every topic the node validates: bytes that decode as nothing.
    for i in 0..12u8 {
        for kind in [GossipKind::Blocks, GossipKind::Votes, GossipKind::Evidence] {
            let _ = attacker
                .publish(kind, vec![0xff, i, kind as u8, 0x01, 0x02])
                .await;
        }
    }
    // Each rejected message costs 10 points; at -100 the node bans the attacker.
    wait_until(&node, |http| async move {
        let peers: Vec<PeerJson> = http.request("net_peers", rpc_params![]).await.unwrap();
        (!listed(&peers)).then_some(())
    })
    .await;
    assert!(
        attacker
            .peers()
            .await
            .iter()
            .all(|p| p.peer_id != node_peer),
        "the node disconnected the attacker"
    );
    // A banned peer cannot come back: the node refuses the connection (the dial itself may
    // briefly succeed before the node closes it).
    let _ = attacker.dial(addr.parse().unwrap()).await;

    // The node never stopped, and two blocks later the attacker is still not a peer.
    let height = head(&node).await.head.height;
    wait_for_height(&node, height + 2).await;
    let peers: Vec<PeerJson> = http.request("net_peers", rpc_params![]).await.unwrap();
    assert!(!listed(&peers), "a banned peer got back in: {peers:?}");
    attacker.shutdown().await;
}
