//! Chain benchmarks: signature verification, execution, state-root update, commit, and the
//! whole import of a block of 10,000 signed transfers. Names follow `module::op/key=value`.
//!
//! The import target (issue: >= 20,000 transfers/s on 2 cores) is reported at the end of the run
//! as a ratio to the raw parallel signature-verification rate measured in the same run.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use rustchain_benches::BenchChain;
use rustchain_node::import::{execute_and_commit, import_block, verify_signatures};
use rustchain_primitives::{Account, Address, Amount, KeyPair};
use rustchain_state::tree::StateChanges;

const BLOCK: usize = 10_000;

fn signatures(c: &mut Criterion) {
    let mut bench = BenchChain::new(BLOCK);
    let txs = bench.transfers(BLOCK);
    let mut g = c.benchmark_group("crypto");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify/threads=1", |b| {
        b.iter(|| txs[0].verify_signature().unwrap())
    });
    g.throughput(Throughput::Elements(BLOCK as u64));
    g.sample_size(10);
    g.bench_function(
        BenchmarkId::new("verify_parallel", format!("n={BLOCK}")),
        |b| b.iter(|| verify_signatures(&txs).unwrap()),
    );
    g.finish();
}

fn execution(c: &mut Criterion) {
    let mut g = c.benchmark_group("execution");
    g.sample_size(10);
    for n in [1_000usize, 10_000] {
        let mut bench = BenchChain::new(n);
        let txs = bench.transfers(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("transfers", format!("n={n}")), |b| {
            b.iter(|| {
                bench
                    .chain
                    .execute(&bench.context(1), &txs, &[], &[])
                    .unwrap()
            })
        });
    }
    g.finish();
}

fn state_root(c: &mut Criterion) {
    let mut g = c.benchmark_group("state_root");
    g.sample_size(10);
    let bench = BenchChain::new(BLOCK);
    for n in [100usize, 1_000, 10_000] {
        let changed: BTreeMap<Address, Account> = (0..n as u64)
            .map(|i| {
                let key = KeyPair::from_secret_bytes(&{
                    let mut s = [7u8; 32];
                    s[24..].copy_from_slice(&(i + 1).to_be_bytes());
                    s
                })
                .unwrap();
                (
                    Address::from_public_key(&key.public_key()),
                    Account {
                        balance: Amount::from_base_units(i),
                        nonce: 1,
                    },
                )
            })
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("update", format!("accounts={n}")), |b| {
            b.iter(|| {
                rustchain_state::tree::compute_update(
                    bench.chain.store(),
                    1,
                    &StateChanges {
                        accounts: &changed,
                        validators: &BTreeMap::new(),
                        offences: &BTreeSet::new(),
                        rip200: &Default::default(),
                        entries: &BTreeMap::new(),
                    },
                )
                .unwrap()
            })
        });
    }
    g.finish();
}

fn commit_and_import(c: &mut Criterion) {
    let mut g = c.benchmark_group("block");
    g.sample_size(10);
    g.throughput(Throughput::Elements(BLOCK as u64));
    // Set-up (signing the next block) needs the bench mutably, the measured part only reads it.
    let bench = RefCell::new(BenchChain::new(BLOCK));
    g.bench_function(BenchmarkId::new("commit", format!("txs={BLOCK}")), |b| {
        b.iter_batched(
            || {
                let mut bench = bench.borrow_mut();
                let txs = bench.transfers(BLOCK);
                let block = bench.block(txs);
                let executed = bench
                    .chain
                    .execute(
                        &bench.context(block.header.slot),
                        &block.transactions,
                        &[],
                        &[],
                    )
                    .unwrap();
                (block, executed)
            },
            |(block, executed)| bench.borrow().chain.commit(&block, executed).unwrap(),
            BatchSize::PerIteration,
        )
    });
    let bench = RefCell::new(BenchChain::new(BLOCK));
    g.bench_function(BenchmarkId::new("import", format!("txs={BLOCK}")), |b| {
        b.iter_batched(
            || {
                let mut bench = bench.borrow_mut();
                let txs = bench.transfers(BLOCK);
                bench.block(txs)
            },
            |block| import_block(&bench.borrow().chain, &block, u64::MAX).unwrap(),
            BatchSize::PerIteration,
        )
    });
    // The same block when every transaction was already verified at mempool admission (the
    // usual case for gossiped transactions): execution, state root and commit only.
    let bench = RefCell::new(BenchChain::new(BLOCK));
    g.bench_function(
        BenchmarkId::new("import_pooled", format!("txs={BLOCK}")),
        |b| {
            b.iter_batched(
                || {
                    let mut bench = bench.borrow_mut();
                    let txs = bench.transfers(BLOCK);
                    bench.block(txs)
                },
                |block| execute_and_commit(&bench.borrow().chain, &block, &[true; BLOCK]).unwrap(),
                BatchSize::PerIteration,
            )
        },
    );
    g.finish();
}

/// The headline number: import rate over raw parallel verification rate, same run.
fn import_ratio(_: &mut Criterion) {
    let mut bench = BenchChain::new(BLOCK);
    let rounds = 5;
    let mut verify_time = Duration::ZERO;
    let mut import_time = Duration::ZERO;
    for _ in 0..rounds {
        let txs = bench.transfers(BLOCK);
        let block = bench.block(txs);
        let start = Instant::now();
        verify_signatures(&block.transactions).unwrap();
        verify_time += start.elapsed();
        let start = Instant::now();
        import_block(&bench.chain, &block, u64::MAX).unwrap();
        import_time += start.elapsed();
    }
    let per_sec = |d: Duration| (rounds * BLOCK) as f64 / d.as_secs_f64();
    let (verify_rate, import_rate) = (per_sec(verify_time), per_sec(import_time));
    println!(
        "\nblock::import summary ({} threads): import {:.0} transfers/s, raw parallel verify {:.0} signatures/s, ratio {:.2} (target: import >= 20000/s)",
        rayon::current_num_threads(),
        import_rate,
        verify_rate,
        import_rate / verify_rate
    );
}

criterion_group!(
    benches,
    signatures,
    execution,
    state_root,
    commit_and_import,
    import_ratio
);
criterion_main!(benches);
