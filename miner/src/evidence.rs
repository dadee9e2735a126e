//! Builds the [`HardwareEvidence`] record from the sources, live or replayed.

use std::path::Path;
use std::time::{Duration, Instant};

use rustchain_consensus::rip200::{classify, Classification};
use rustchain_primitives::attestation::{
    CacheLevel, CpuidEvidence, PlatformEvidence, TimingEvidence, MAX_EVIDENCE_ITEMS,
};
use rustchain_primitives::{Arch, HardwareEvidence, PublicKey};

use crate::cpu::{self, truncate};
use crate::platform;
use crate::source::{
    field, first_processor, CpuidSource, FsRoot, LiveCpuid, LiveSystem, LiveTiming, NoCpuid,
    RecordedCpuid, ReplayError, ReplaySystem, ReplayTiming, SystemSource, TimingSource,
};

/// The four sources evidence is built from.
#[derive(Clone, Copy)]
pub struct Sources<'a> {
    /// CPUID.
    pub cpuid: &'a dyn CpuidSource,
    /// Filesystem root for proc/, sys/, container markers.
    pub fs: &'a FsRoot,
    /// Cores, memory, OS.
    pub system: &'a dyn SystemSource,
    /// Timing probes.
    pub timing: &'a dyn TimingSource,
}

impl std::fmt::Debug for Sources<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("cpuid", &self.cpuid.describe())
            .field("fs", &self.fs)
            .finish_non_exhaustive()
    }
}

/// Collects the evidence from the sources. Never fails: what cannot be read is left empty
/// and listed in `unmeasured`, within the evidence size limits.
pub fn collect(sources: Sources<'_>) -> HardwareEvidence {
    let system = sources.system.system();
    let cpuinfo = sources.fs.read("proc/cpuinfo").unwrap_or_default();
    let first = first_processor(&cpuinfo);
    let microcode = field(&first, "microcode")
        .and_then(|m| u32::from_str_radix(m.trim_start_matches("0x"), 16).ok());
    let x86 = matches!(system.arch, Arch::X86 | Arch::X86_64);
    let mut unmeasured = system.unmeasured.clone();
    let cpuid = if x86 {
        let c = cpu::decode(sources.cpuid, microcode);
        if c.is_none() {
            unmeasured.push("CPUID: not readable".into());
        }
        c
    } else {
        None
    };
    let mut platform = platform::collect(sources.fs);
    if cpuid.is_some() {
        // CPUID names the CPU; the free-text name is for machines without it.
        platform.cpuinfo_model = None;
    }
    if !cfg!(target_os = "linux") && !sources.fs.is_replay() {
        unmeasured.push(format!(
            "DMI, /sys/hypervisor, cpuinfo and container markers: Linux paths, not available on {}",
            std::env::consts::OS
        ));
    }
    let (timing, timing_notes) = sources.timing.measure();
    unmeasured.extend(timing_notes);
    let mut unmeasured: Vec<String> = unmeasured.into_iter().map(truncate).collect();
    unmeasured.truncate(MAX_EVIDENCE_ITEMS);
    HardwareEvidence {
        arch: system.arch,
        cpuid,
        logical_cpus: system.logical_cpus,
        physical_cores: system.physical_cores,
        memory_mib: system.memory_mib,
        os: truncate(system.os),
        platform,
        timing,
        unmeasured,
    }
}

/// A fingerprint: the evidence, what the validators will conclude from it, and how long it
/// took.
#[derive(Debug, Clone)]
pub struct Fingerprint {
    /// The evidence.
    pub evidence: HardwareEvidence,
    /// `rustchain_consensus::rip200::classify` of it.
    pub classification: Classification,
    /// Where it came from (`live` or the replay directory).
    pub origin: String,
    /// The CPUID source used.
    pub cpuid_source: String,
    /// Time taken.
    pub duration: Duration,
}

/// Fingerprints the machine we run on.
pub fn fingerprint_live() -> Fingerprint {
    let started = Instant::now();
    let fs = FsRoot::live();
    let cpuid = LiveCpuid;
    let evidence = collect(Sources {
        cpuid: &cpuid,
        fs: &fs,
        system: &LiveSystem,
        timing: &LiveTiming,
    });
    let classification = classify(&evidence);
    Fingerprint {
        evidence,
        classification,
        origin: "live".into(),
        cpuid_source: if cfg!(any(target_arch = "x86_64", target_arch = "x86")) {
            cpuid.describe()
        } else {
            "none (not x86)".into()
        },
        duration: started.elapsed(),
    }
}

/// Replays a recorded machine (a directory in the layout of shared/fixtures).
pub fn fingerprint_replay(dir: &Path) -> Result<Fingerprint, ReplayError> {
    let started = Instant::now();
    let fs = FsRoot::replay(dir)?;
    let recorded = match fs.read("cpuid.txt") {
        Some(text) => Some(RecordedCpuid::parse_cpuid_r(&text)?),
        None => None,
    };
    let helper = fs.read("cmd/virt-what-cpuid-helper.txt");
    let synthesised = match (&recorded, fs.read("proc/cpuinfo")) {
        (None, Some(cpuinfo)) => RecordedCpuid::from_cpuinfo(&cpuinfo, helper.as_deref()),
        _ => None,
    };
    let cpuid_arch = recorded
        .as_ref()
        .and_then(|r| cpu::decode(r, None))
        .map(|c| {
            if c.has(CpuidEvidence::FEATURE_LM) {
                Arch::X86_64
            } else {
                Arch::X86
            }
        });
    let system = ReplaySystem::new(fs.clone(), cpuid_arch);
    let source: &dyn CpuidSource = match (&recorded, &synthesised) {
        (Some(r), _) => r,
        (None, Some(s)) => s,
        (None, None) => &NoCpuid,
    };
    let evidence = collect(Sources {
        cpuid: source,
        fs: &fs,
        system: &system,
        timing: &ReplayTiming,
    });
    let classification = classify(&evidence);
    Ok(Fingerprint {
        evidence,
        classification,
        origin: format!("replay of {}", dir.display()),
        cpuid_source: source.describe(),
        duration: started.elapsed(),
    })
}

/// A made-up evidence record for a simulated miner (dev and test networks only; the
/// attestation says `mode: Simulated`). It is a modern bare-metal machine whose profile is
/// unique to the miner key, so simulated miners do not share one weight.
pub fn simulated_evidence(miner: &PublicKey) -> HardwareEvidence {
    let tag = hex::encode(&miner.0[..8]);
    HardwareEvidence {
        arch: Arch::X86_64,
        cpuid: Some(CpuidEvidence {
            vendor: "GenuineIntel".into(),
            brand: "RustChain simulated CPU".into(),
            signature: 0x000306c3,
            features: CpuidEvidence::FEATURE_SSE2
                | CpuidEvidence::FEATURE_SSE42
                | CpuidEvidence::FEATURE_AVX2
                | CpuidEvidence::FEATURE_LM,
            caches: vec![CacheLevel::new(1, 1, 32)],
            hypervisor_bit: false,
            hypervisor_vendor: None,
            hyperv_root_partition: false,
            microcode: None,
        }),
        logical_cpus: 4,
        physical_cores: Some(4),
        memory_mib: 8_192,
        os: "simulated".into(),
        platform: PlatformEvidence {
            dmi: vec![("product_name".into(), format!("simulated-{tag}"))],
            ..PlatformEvidence::default()
        },
        timing: TimingEvidence::default(),
        unmeasured: vec!["simulated miner: nothing was measured".into()],
    }
}
