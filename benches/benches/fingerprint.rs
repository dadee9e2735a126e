//! `rustchain-miner fingerprint` on this machine (target: at most 5 s, docs/performance.md):
//! every live probe (CPUID, platform files, system information, the cache-latency curve,
//! CPUID latency, jitter and drift) and the classification.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

fn bench_fingerprint(c: &mut Criterion) {
    let mut g = c.benchmark_group("miner");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("fingerprint/live", |b| {
        b.iter(|| std::hint::black_box(rustchain_miner::fingerprint_live()))
    });
    g.finish();
}

criterion_group!(benches, bench_fingerprint);
criterion_main!(benches);
