//! RIP-200 attestation validation (target: at least 10,000 attestations/s on one core,
//! docs/performance.md): every rule a validator applies to an attestation in a block — chain,
//! mode, reference freshness, window and epoch, proof of work, BIP-340 signature — plus the
//! classification of its evidence; and the classification alone, and the epoch settlement.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rustchain_consensus::rip200::{
    check_attestation, classify, settle, EpochEntry, ReferenceBlock,
};
use rustchain_genesis::dev_genesis;
use rustchain_primitives::attestation::{
    CacheLevel, CachePoint, CpuidEvidence, PlatformEvidence, TimingEvidence,
};
use rustchain_primitives::{
    Amount, Arch, Attestation, AttestationBody, AttestationMode, Checkpoint, HardwareEvidence,
    Hash, KeyPair, PublicKey,
};

/// A realistic bare-metal record: full CPUID, DMI fields and a 15-point cache curve.
fn evidence(i: u32) -> HardwareEvidence {
    HardwareEvidence {
        arch: Arch::X86_64,
        cpuid: Some(CpuidEvidence {
            vendor: "GenuineIntel".into(),
            brand: "Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz".into(),
            signature: 0x000906ea,
            features: CpuidEvidence::FEATURE_SSE2
                | CpuidEvidence::FEATURE_SSE42
                | CpuidEvidence::FEATURE_AVX2
                | CpuidEvidence::FEATURE_AES
                | CpuidEvidence::FEATURE_LM,
            caches: vec![
                CacheLevel::new(1, 1, 32),
                CacheLevel::new(1, 2, 32),
                CacheLevel::new(2, 3, 256),
                CacheLevel::new(3, 3, 12 * 1024),
            ],
            hypervisor_bit: false,
            hypervisor_vendor: None,
            hyperv_root_partition: false,
            microcode: Some(0xf4),
        }),
        logical_cpus: 12,
        physical_cores: Some(6),
        memory_mib: 32_768 + u64::from(i) * 1024,
        os: "Linux 6.1.0-13-amd64".into(),
        platform: PlatformEvidence {
            dmi: vec![
                ("sys_vendor".into(), "ASUSTeK COMPUTER INC.".into()),
                ("product_name".into(), "System Product Name".into()),
                ("bios_vendor".into(), "American Megatrends Inc.".into()),
            ],
            ..PlatformEvidence::default()
        },
        timing: TimingEvidence {
            cpuid_cycles: Some(180),
            cache_curve: (2..17)
                .map(|k| CachePoint {
                    working_set_kib: 1 << k,
                    latency_ps: match 1u32 << k {
                        0..=32 => 1_100,
                        33..=256 => 3_300,
                        257..=12_288 => 11_000,
                        _ => 70_000,
                    },
                })
                .collect(),
            jitter_ppm: Some(1_500),
            clock_drift_ppm: Some(2),
        },
        unmeasured: vec![],
    }
}

fn bench_rip200(c: &mut Criterion) {
    let genesis = dev_genesis().validate().unwrap();
    let reference = ReferenceBlock {
        hash: Hash([9; 32]),
        slot: 13,
    };
    let attestations: Vec<Attestation> = (0..256u32)
        .map(|i| {
            let key = KeyPair::from_secret_bytes(&[(i % 250) as u8 + 1; 32]).unwrap();
            let evidence = evidence(i);
            let mut body = AttestationBody {
                chain_id: genesis.chain_id.clone(),
                miner: key.public_key(),
                epoch: 0,
                window: 1,
                reference: Checkpoint {
                    height: 7,
                    hash: reference.hash,
                },
                mode: AttestationMode::Hardware,
                profile_hash: evidence.profile_hash(),
                evidence,
                pow_nonce: 0,
            };
            assert!(body.solve_pow(genesis.rip200.pow_bits, 0, 1 << 24));
            body.sign(&key)
        })
        .collect();
    let mut g = c.benchmark_group("rip200");
    g.throughput(Throughput::Elements(attestations.len() as u64));
    g.bench_function(BenchmarkId::new("validate", "threads=1"), |b| {
        b.iter(|| {
            for a in &attestations {
                a.check_well_formed().unwrap();
                check_attestation(a, &genesis, 15, Some(reference), true).unwrap();
            }
        })
    });
    g.bench_function(BenchmarkId::new("classify", "threads=1"), |b| {
        b.iter(|| {
            for a in &attestations {
                std::hint::black_box(classify(&a.body.evidence));
            }
        })
    });
    let entries: Vec<EpochEntry> = (0..10_000u32)
        .map(|i| EpochEntry {
            miner: PublicKey(Hash::from_index(i).0),
            profile_hash: Hash::from_index(i / 2),
            windows: u64::from(i) & 0x1f | 1,
            multiplier_bps: 10_000 + (i % 4) * 5_000,
        })
        .collect();
    g.throughput(Throughput::Elements(entries.len() as u64));
    g.bench_function(BenchmarkId::new("settle", "miners=10000"), |b| {
        b.iter(|| settle(Amount::from_base_units(150_000_000), &entries))
    });
    g.finish();
}

trait FromIndex {
    fn from_index(i: u32) -> Hash;
}

impl FromIndex for Hash {
    fn from_index(i: u32) -> Hash {
        let mut h = [0u8; 32];
        h[..4].copy_from_slice(&i.to_be_bytes());
        Hash(h)
    }
}

criterion_group!(benches, bench_rip200);
criterion_main!(benches);
