//! Sync import speed: how fast a fresh node takes in blocks it downloaded (the target is
//! 10,000 blocks in at most 30 s, docs/performance.md). A single-validator chain of empty blocks
//! is produced once; each iteration imports it into a fresh RocksDB chain through
//! `Engine::on_block`, exactly the path range sync takes (header rules, execution, one synced
//! write per block, fork choice). Network transfer is not included.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use parking_lot::Mutex;
use rustchain_genesis::{dev_genesis, dev_validator_key, Genesis};
use rustchain_mempool::{Mempool, MempoolConfig};
use rustchain_node::engine::{Engine, Verdict};
use rustchain_node::producer::HeadEvents;
use rustchain_primitives::Block;
use rustchain_state::Chain;
use tokio::sync::broadcast;

const BLOCKS: u64 = 1_000;

fn engine(dir: &std::path::Path, genesis: &Genesis, validator: bool) -> Engine {
    let chain = Arc::new(Chain::open(dir, genesis.clone()).unwrap());
    let mempool = Arc::new(Mutex::new(Mempool::new(
        MempoolConfig::default(),
        chain.rules().clone(),
    )));
    let events = HeadEvents {
        new_heads: broadcast::channel(1).0,
        finalized_heads: broadcast::channel(1).0,
    };
    let key = validator.then(|| dev_validator_key(0).unwrap());
    Engine::new(chain, mempool, key, events).unwrap()
}

fn bench_sync(c: &mut Criterion) {
    let genesis = dev_genesis().validate().unwrap();
    let source_dir = tempfile::tempdir().unwrap();
    let mut source = engine(source_dir.path(), &genesis, true);
    let blocks: Vec<Block> = (1..=BLOCKS)
        .map(|slot| {
            let now = genesis.genesis_time_ms + slot * genesis.slot_duration_ms;
            source.produce(slot, now).unwrap().unwrap().0
        })
        .collect();
    let now = u64::MAX / 2;
    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(BLOCKS));
    group.bench_function("import_1000_empty_blocks", |b| {
        b.iter_with_setup(
            || {
                let dir = tempfile::tempdir().unwrap();
                let e = engine(dir.path(), &genesis, false);
                (dir, e)
            },
            |(_dir, mut e)| {
                for block in &blocks {
                    let outcome = e.on_block(block, now).unwrap();
                    assert_eq!(outcome.verdict, Verdict::Accept);
                }
            },
        )
    });
    group.finish();
}

criterion_group!(benches, bench_sync);
criterion_main!(benches);
