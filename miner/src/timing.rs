//! Live timing probes: the cache-latency curve, the cost of CPUID, timer jitter and the drift
//! between the cycle counter and the OS clock. All summarised with medians and interquartile
//! ranges so one preempted sample does not move the result. The whole set takes about 1-2 s.
//!
//! - **Cache curve**: for working sets of 4 KiB to 64 MiB (powers of two), a random cyclic
//!   permutation of 64-byte lines (Sattolo's algorithm) is chased with dependent loads; the
//!   median of [`CURVE_RUNS`] runs of [`CURVE_LOADS`] loads gives the latency of one load.
//!   The steps of the curve should sit at CPUID's cache sizes.
//! - **CPUID cost** (x86 only): median over [`CPUID_SAMPLES`] of `rdtsc; cpuid; rdtsc` minus
//!   the median of `rdtsc; rdtsc`, measured after [`WARM_UP`] of busy work so the core runs at
//!   full clock (the TSC ticks at the nominal rate: an idling core would inflate the count).
//!   About 100-250 cycles on bare metal; a hypervisor that traps CPUID costs thousands.
//! - **Jitter**: the interquartile range of [`JITTER_SAMPLES`] timings of a fixed short
//!   workload, in parts per million of their median.
//! - **Clock drift** (x86 only): the TSC rate (cycles per OS nanosecond) over the first half
//!   of the probes against the second half, in ppm.

use std::hint::black_box;
use std::time::Instant;

use rustchain_primitives::attestation::{CachePoint, TimingEvidence};

/// Smallest working set, KiB.
pub const CURVE_MIN_KIB: u32 = 4;
/// Largest working set, KiB (64 MiB).
pub const CURVE_MAX_KIB: u32 = 64 * 1024;
/// Dependent loads per run.
pub const CURVE_LOADS: u64 = 60_000;
/// Runs per working set (median).
pub const CURVE_RUNS: usize = 5;
/// CPUID samples.
pub const CPUID_SAMPLES: usize = 301;
/// Jitter samples.
pub const JITTER_SAMPLES: usize = 201;
/// Iterations of the jitter workload (about 20-50 µs, well above the clock's resolution).
pub const JITTER_WORK: u32 = 20_000;

const LINE_WORDS: usize = 16; // 16 x u32 = one 64-byte cache line

/// Runs every probe. The cache curve stops below a quarter of the machine's memory
/// (`memory_mib`, 0 when unknown) so a small old machine is not pushed into swap.
pub fn measure(memory_mib: u64) -> (TimingEvidence, Vec<String>) {
    let mut unmeasured = Vec::new();
    let max_kib = if memory_mib == 0 {
        CURVE_MAX_KIB
    } else {
        u32::try_from(memory_mib.saturating_mul(1024) / 4)
            .unwrap_or(u32::MAX)
            .min(CURVE_MAX_KIB)
    };
    let start = anchor();
    // Let the frequency governor raise the clock first: the TSC ticks at the nominal rate, so
    // a CPU idling at a fraction of it would make CPUID look several times slower than it is.
    warm_up(WARM_UP);
    let jitter_ppm = Some(jitter_ppm());
    let cpuid_cycles = cpuid_cycles();
    if cpuid_cycles.is_none() {
        unmeasured.push("CPUID latency: no CPUID instruction on this architecture".into());
    }
    let mut curve = Vec::new();
    let mut middle = None;
    let mut buffer: Vec<[u32; LINE_WORDS]> = Vec::new();
    let mut kib = CURVE_MIN_KIB;
    while kib <= CURVE_MAX_KIB {
        if kib > max_kib {
            unmeasured.push(format!(
                "cache curve: stopped at {} KiB, a quarter of this machine's memory",
                kib / 2
            ));
            break;
        }
        match latency_ps(&mut buffer, kib) {
            Some(ps) => curve.push(CachePoint {
                working_set_kib: kib,
                latency_ps: ps,
            }),
            None => {
                unmeasured.push(format!(
                    "cache curve: could not allocate {kib} KiB; stopped there"
                ));
                break;
            }
        }
        if kib == CURVE_MAX_KIB / 16 {
            middle = anchor();
        }
        kib = kib.saturating_mul(2);
    }
    drop(buffer);
    let end = anchor();
    let clock_drift_ppm = match (start, middle, end) {
        (Some(a), Some(b), Some(c)) => drift_ppm(a, b, c),
        _ => None,
    };
    if clock_drift_ppm.is_none() {
        unmeasured.push("clock drift: no cycle counter on this architecture".into());
    }
    (
        TimingEvidence {
            cpuid_cycles,
            cache_curve: curve,
            jitter_ppm,
            clock_drift_ppm,
        },
        unmeasured,
    )
}

/// Busy time before the probes.
pub const WARM_UP: std::time::Duration = std::time::Duration::from_millis(30);

fn warm_up(time: std::time::Duration) {
    let t = Instant::now();
    let mut x = 1u64;
    while t.elapsed() < time {
        for _ in 0..1_000 {
            x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
    }
    black_box(x);
}

/// Median of a sample set (sorts it).
fn median(samples: &mut [u64]) -> u64 {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or(0)
}

/// SplitMix64: a small, good-enough generator for shuffling.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        // Lemire's multiply-shift; the tiny bias is irrelevant here.
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

/// Latency of one dependent load over a working set of `kib` KiB, in picoseconds. Reuses
/// `buffer` (grown as needed). `None` when the memory cannot be allocated.
fn latency_ps(buffer: &mut Vec<[u32; LINE_WORDS]>, kib: u32) -> Option<u32> {
    let lines = (kib as usize * 1024) / (LINE_WORDS * 4);
    if lines < 2 {
        return None;
    }
    if buffer.len() < lines {
        buffer.try_reserve_exact(lines - buffer.len()).ok()?;
        buffer.resize(lines, [0; LINE_WORDS]);
    }
    let nodes = &mut buffer[..lines];
    // Sattolo: a single cycle through every line, in random order.
    let mut rng = SplitMix(0x5eed ^ u64::from(kib));
    for (i, node) in nodes.iter_mut().enumerate() {
        node[0] = i as u32;
    }
    for i in (1..lines).rev() {
        let j = rng.below(i as u64) as usize;
        let a = nodes[i][0];
        nodes[i][0] = nodes[j][0];
        nodes[j][0] = a;
    }
    let nodes = &*nodes;
    let mut runs = [0u64; CURVE_RUNS];
    let mut index = 0u32;
    for run in runs.iter_mut() {
        let t = Instant::now();
        for _ in 0..CURVE_LOADS {
            index = nodes[index as usize][0];
        }
        let ns = t.elapsed().as_nanos();
        black_box(index);
        *run = u64::try_from(ns.saturating_mul(1000) / u128::from(CURVE_LOADS)).unwrap_or(u64::MAX);
    }
    Some(u32::try_from(median(&mut runs)).unwrap_or(u32::MAX))
}

/// IQR / median of a fixed short workload's duration, in ppm.
fn jitter_ppm() -> u32 {
    let mut samples = [0u64; JITTER_SAMPLES];
    let mut x = 1u64;
    for s in samples.iter_mut() {
        let t = Instant::now();
        for _ in 0..JITTER_WORK {
            x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
        *s = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
    }
    black_box(x);
    samples.sort_unstable();
    let q1 = samples[JITTER_SAMPLES / 4];
    let q2 = samples[JITTER_SAMPLES / 2];
    let q3 = samples[JITTER_SAMPLES * 3 / 4];
    if q2 == 0 {
        return 0;
    }
    u32::try_from(u128::from(q3 - q1) * 1_000_000 / u128::from(q2)).unwrap_or(u32::MAX)
}

#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
fn rdtsc() -> u64 {
    safe_arch::read_timestamp_counter()
}

/// A (cycle counter, OS clock) pair.
type Anchor = (u64, Instant);

#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
fn anchor() -> Option<Anchor> {
    Some((rdtsc(), Instant::now()))
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
fn anchor() -> Option<Anchor> {
    None
}

/// Cycle-counter rate over `[a, b]` against `[b, c]`, in ppm. `None` when an interval is too
/// short (< 20 ms) to say anything.
fn drift_ppm(a: Anchor, b: Anchor, c: Anchor) -> Option<i32> {
    let ns1 = b.1.duration_since(a.1).as_nanos();
    let ns2 = c.1.duration_since(b.1).as_nanos();
    if ns1 < 20_000_000 || ns2 < 20_000_000 {
        return None;
    }
    let cyc1 = u128::from(b.0.checked_sub(a.0)?);
    let cyc2 = u128::from(c.0.checked_sub(b.0)?);
    // rate2 / rate1 - 1 = (cyc2 * ns1) / (cyc1 * ns2) - 1, in ppm.
    let num = i128::try_from(cyc2 * ns1).ok()?;
    let den = i128::try_from(cyc1 * ns2).ok()?;
    if den == 0 {
        return None;
    }
    i32::try_from((num - den) * 1_000_000 / den).ok()
}

/// Median CPUID cost in TSC cycles, net of the `rdtsc` pair itself.
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "x86", target_feature = "sse")
))]
fn cpuid_cycles() -> Option<u32> {
    let mut empty = [0u64; CPUID_SAMPLES];
    let mut with = [0u64; CPUID_SAMPLES];
    for i in 0..CPUID_SAMPLES {
        let t0 = rdtsc();
        let t1 = rdtsc();
        empty[i] = t1.wrapping_sub(t0);
        let t0 = rdtsc();
        black_box(raw_cpuid::native_cpuid::cpuid_count(black_box(0), 0));
        let t1 = rdtsc();
        with[i] = t1.wrapping_sub(t0);
    }
    let cost = median(&mut with).saturating_sub(median(&mut empty));
    Some(u32::try_from(cost).unwrap_or(u32::MAX))
}

#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "x86", target_feature = "sse")
)))]
fn cpuid_cycles() -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sattolo_makes_one_cycle() {
        let mut buffer = Vec::new();
        assert!(latency_ps(&mut buffer, 16).is_some());
        let lines = 16 * 1024 / 64;
        let mut seen = vec![false; lines];
        let mut i = 0usize;
        for _ in 0..lines {
            assert!(!seen[i], "cycle shorter than the working set");
            seen[i] = true;
            i = buffer[i][0] as usize;
        }
        assert_eq!(i, 0);
    }

    #[test]
    fn drift_of_a_steady_counter_is_zero() {
        let t = Instant::now();
        let a = (1_000u64, t);
        let b = (
            1_000 + 30_000_000u64,
            t + std::time::Duration::from_millis(30),
        );
        let c = (
            1_000 + 60_000_000u64,
            t + std::time::Duration::from_millis(60),
        );
        assert_eq!(drift_ppm(a, b, c), Some(0));
        let c_fast = (
            1_000 + 60_003_000u64,
            t + std::time::Duration::from_millis(60),
        );
        assert_eq!(drift_ppm(a, b, c_fast), Some(100));
        assert_eq!(drift_ppm(a, a, c), None);
    }
}
