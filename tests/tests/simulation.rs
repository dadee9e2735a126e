//! Deterministic in-process simulation of a validator network: four real consensus engines
//! (each with its own RocksDB chain) connected by a simulated network with message loss and
//! partitions, driven by a manual clock, slot by slot. No threads, no sockets, no timing: the
//! same seed gives the same run.
//!
//! The simulated network does what the node's network layer does: it broadcasts what an engine
//! publishes, lets a receiver fetch the missing ancestors of a block from its sender (range
//! sync), and once a slot lets each node pull the votes a peer holds (the `Votes` request).
//!
//! Scenario (e): a 2|2 partition halts finality without any conflicting finalization, both halves
//! keep building their own branch, and after the partition heals every node converges on one
//! branch and finality resumes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use rustchain_genesis::{dev_genesis, dev_validator_key, GenesisValidator};
use rustchain_mempool::{Mempool, MempoolConfig};
use rustchain_node::engine::{Engine, Outbound};
use rustchain_node::producer::HeadEvents;
use rustchain_primitives::{Block, ChainId, Hash};
use rustchain_state::Chain;
use tokio::sync::broadcast;

const VALIDATORS: usize = 4;

struct SimNode {
    engine: Engine,
    _dir: tempfile::TempDir,
}

struct Sim {
    nodes: Vec<SimNode>,
    genesis_time_ms: u64,
    slot_ms: u64,
    slot: u64,
    /// Group of each node; messages only cross between equal groups.
    groups: Vec<u8>,
    /// Per-mille probability that a gossip message is lost.
    loss_per_mille: u64,
    rng: u64,
    queue: VecDeque<(usize, usize, Outbound)>,
    /// (node, height, hash) of every block any node ever reported final.
    finalized_seen: Vec<(usize, u64, Hash)>,
}

impl Sim {
    fn new(seed: u64, loss_per_mille: u64) -> Sim {
        let mut spec = dev_genesis();
        spec.chain_id = ChainId::new("dev-sim").unwrap();
        spec.validators = (0..VALIDATORS as u32)
            .map(|i| GenesisValidator {
                public_key: dev_validator_key(i).unwrap().public_key(),
                name: format!("v{i}"),
            })
            .collect();
        spec.accounts.clear();
        let genesis = spec.validate().unwrap();
        let nodes = (0..VALIDATORS)
            .map(|i| {
                let dir = tempfile::tempdir().unwrap();
                let chain = Arc::new(Chain::open(dir.path(), genesis.clone()).unwrap());
                let mempool = Arc::new(Mutex::new(Mempool::new(
                    MempoolConfig::default(),
                    chain.rules().clone(),
                )));
                let events = HeadEvents {
                    new_heads: broadcast::channel(1).0,
                    finalized_heads: broadcast::channel(1).0,
                };
                let key = dev_validator_key(i as u32).unwrap();
                SimNode {
                    engine: Engine::new(chain, mempool, Some(key), events).unwrap(),
                    _dir: dir,
                }
            })
            .collect();
        Sim {
            nodes,
            genesis_time_ms: genesis.genesis_time_ms,
            slot_ms: genesis.slot_duration_ms,
            slot: 0,
            groups: vec![0; VALIDATORS],
            loss_per_mille,
            rng: seed | 1,
            queue: VecDeque::new(),
            finalized_seen: Vec::new(),
        }
    }

    fn random(&mut self) -> u64 {
        // xorshift64: deterministic per seed.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn now(&self) -> u64 {
        self.genesis_time_ms + self.slot * self.slot_ms
    }

    fn connected(&self, a: usize, b: usize) -> bool {
        self.groups[a] == self.groups[b]
    }

    fn broadcast(&mut self, from: usize, messages: Vec<Outbound>) {
        for message in messages {
            for to in 0..VALIDATORS {
                if to != from && self.connected(from, to) {
                    self.queue.push_back((from, to, message.clone()));
                }
            }
        }
    }

    /// Delivers `block` from `from` to `to`, first fetching any ancestors `to` lacks from
    /// `from`'s store (what range sync does).
    fn deliver_block(&mut self, from: usize, to: usize, block: &Block) -> Vec<Outbound> {
        let now = self.now();
        let mut outcome = self.nodes[to].engine.on_block(block, now).unwrap();
        if outcome.missing_parent.is_some() {
            let mut chain = vec![block.clone()];
            let mut parent = block.header.parent_hash;
            loop {
                if self.nodes[to]
                    .engine
                    .chain()
                    .store()
                    .header(&parent)
                    .unwrap()
                    .is_some()
                {
                    break;
                }
                let Some(b) = self.nodes[from]
                    .engine
                    .chain()
                    .store()
                    .block(&parent)
                    .unwrap()
                else {
                    break;
                };
                parent = b.header.parent_hash;
                chain.push(b);
            }
            let mut out = Vec::new();
            for b in chain.iter().rev() {
                out.extend(self.nodes[to].engine.on_block(b, now).unwrap().outbound);
            }
            outcome.outbound = out;
        }
        // Blocks are relayed by gossipsub only once accepted; the test relays produced ones
        // to everyone directly, so only votes and evidence need forwarding here.
        outcome
            .outbound
            .into_iter()
            .filter(|m| !matches!(m, Outbound::Block(_)))
            .collect()
    }

    fn deliver_all(&mut self) {
        while let Some((from, to, message)) = self.queue.pop_front() {
            if !self.connected(from, to) {
                continue;
            }
            if self.random() % 1000 < self.loss_per_mille {
                continue;
            }
            let now = self.now();
            let out = match &message {
                Outbound::Block(block) => self.deliver_block(from, to, block),
                Outbound::Vote(vote) => self.nodes[to].engine.on_vote(vote, now).unwrap().1,
                Outbound::Evidence(e) => {
                    self.nodes[to].engine.on_evidence((**e).clone()).unwrap();
                    Vec::new()
                }
            };
            self.broadcast(to, out);
        }
    }

    /// Once a slot each node pulls the votes of one reachable peer (the `Votes` sync request).
    fn exchange_votes(&mut self) {
        let now = self.now();
        for to in 0..VALIDATORS {
            let peers: Vec<usize> = (0..VALIDATORS)
                .filter(|&p| p != to && self.connected(p, to))
                .collect();
            if peers.is_empty() {
                continue;
            }
            let from = peers[(self.random() % peers.len() as u64) as usize];
            let finalized = self.nodes[to].engine.chain().head().finalized_height;
            let votes = self.nodes[from]
                .engine
                .finality()
                .votes_above(finalized, 4096);
            let mut out = Vec::new();
            for vote in &votes {
                out.extend(self.nodes[to].engine.on_vote(vote, now).unwrap().1);
            }
            self.broadcast(to, out);
        }
        self.deliver_all();
    }

    fn run_slots(&mut self, slots: u64) {
        for _ in 0..slots {
            self.slot += 1;
            let now = self.now();
            for i in 0..VALIDATORS {
                if let Some((_, out)) = self.nodes[i].engine.produce(self.slot, now).unwrap() {
                    self.broadcast(i, out);
                }
            }
            self.deliver_all();
            self.exchange_votes();
            self.record_finality();
        }
    }

    fn record_finality(&mut self) {
        for i in 0..VALIDATORS {
            let head = self.nodes[i].engine.chain().head();
            let entry = (i, head.finalized_height, head.finalized_hash);
            if !self.finalized_seen.contains(&entry) {
                self.finalized_seen.push(entry);
            }
        }
    }

    fn finalized_height(&self, i: usize) -> u64 {
        self.nodes[i].engine.chain().head().finalized_height
    }

    /// Safety: no two nodes ever reported different blocks final at one height, and every
    /// node's canonical chain contains every block any node finalized at or below its own
    /// finalized height.
    fn assert_no_conflicting_finality(&self) {
        for &(a, h, hash) in &self.finalized_seen {
            for &(b, h2, hash2) in &self.finalized_seen {
                assert!(
                    h != h2 || hash == hash2,
                    "nodes {a} and {b} finalized different blocks at height {h}"
                );
            }
            for i in 0..VALIDATORS {
                if h <= self.finalized_height(i) {
                    let ours = self.nodes[i].engine.chain().store().hash_at(h).unwrap();
                    assert_eq!(ours, Some(hash), "node {i} lost finalized block {h}");
                }
            }
        }
    }
}

#[test]
fn four_validators_finalize_every_block_with_one_slot_lag() {
    let mut sim = Sim::new(7, 0);
    sim.run_slots(12);
    for i in 0..VALIDATORS {
        let head = sim.nodes[i].engine.chain().head();
        assert_eq!(head.height, 12, "node {i}");
        assert_eq!(
            head.finalized_height, 11,
            "node {i}: finality trails the head by one"
        );
    }
    sim.assert_no_conflicting_finality();
}

#[test]
fn finality_survives_message_loss() {
    for seed in [1, 2, 3] {
        let mut sim = Sim::new(seed, 150);
        sim.run_slots(40);
        for i in 0..VALIDATORS {
            assert!(
                sim.finalized_height(i) >= 20,
                "seed {seed}: node {i} finalized only {}",
                sim.finalized_height(i)
            );
        }
        sim.assert_no_conflicting_finality();
    }
}

#[test]
fn a_two_two_partition_halts_finality_safely_and_heals() {
    let mut sim = Sim::new(11, 0);
    sim.run_slots(8);
    let before: Vec<u64> = (0..VALIDATORS).map(|i| sim.finalized_height(i)).collect();
    assert!(before.iter().all(|&h| h >= 6), "{before:?}");

    // Partition {0, 1} | {2, 3}: neither half has the 3 votes a quorum needs.
    sim.groups = vec![0, 0, 1, 1];
    sim.run_slots(16);
    let during: Vec<u64> = (0..VALIDATORS).map(|i| sim.finalized_height(i)).collect();
    let max_before = *before.iter().max().unwrap();
    assert!(
        during.iter().all(|&h| h <= max_before + 1),
        "finality advanced without a quorum: {before:?} -> {during:?}"
    );
    let head_a = sim.nodes[0].engine.chain().head();
    let head_b = sim.nodes[2].engine.chain().head();
    assert_ne!(head_a.hash, head_b.hash, "each half built its own branch");
    assert!(head_a.height > max_before + 4 && head_b.height > max_before + 4);
    sim.assert_no_conflicting_finality();

    // Heal: one branch wins everywhere and finality resumes past the partition.
    sim.groups = vec![0; VALIDATORS];
    sim.run_slots(12);
    let head = sim.nodes[0].engine.chain().head();
    for i in 1..VALIDATORS {
        assert_eq!(
            sim.nodes[i].engine.chain().head().hash,
            head.hash,
            "node {i}"
        );
    }
    for i in 0..VALIDATORS {
        assert!(
            sim.finalized_height(i) > head_a.height.max(head_b.height),
            "node {i} finalized only {} after healing",
            sim.finalized_height(i)
        );
    }
    sim.assert_no_conflicting_finality();
}
