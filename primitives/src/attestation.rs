//! RIP-200 hardware attestations: the signed message a miner submits once per attestation window.
//!
//! An attestation says "miner key K, running on the machine described by this evidence, was alive
//! during window W of epoch E": the signature proves which key attested, the reference block
//! (a recent block of the canonical chain) proves *when*, and a small SHA-256 proof of work over
//! the hardware profile, the key and the reference block makes each attestation cost something.
//!
//! The evidence is raw measurements, not conclusions: validators re-derive the hardware class and
//! the VM verdict from it with the rules in `rustchain_consensus::rip200`, so nothing a miner
//! *declares* (a class, a "not a VM" flag) is ever trusted. What software evidence can and cannot
//! prove is written out in docs/rip-200.md.
//!
//! Wire format: borsh of [`Attestation`], at most [`MAX_ATTESTATION_BYTES`]; the signed digest is
//! `tagged_hash("RustChain/attestation", borsh(AttestationBody))`, and the body carries the chain
//! id, so an attestation cannot be replayed on another chain. [`Attestation::check_well_formed`]
//! adds the structural limits (string lengths, list lengths) that borsh cannot express.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::chain::ChainId;
use crate::codec;
use crate::hash::{tagged_hash, Hash, Tag, TaggedHasher};
use crate::keys::{KeyError, KeyPair, PublicKey, Signature};
use crate::vote::Checkpoint;

/// Largest encoded attestation accepted anywhere.
pub const MAX_ATTESTATION_BYTES: usize = 8 * 1024;
/// Most attestations in one block.
pub const MAX_BLOCK_ATTESTATIONS: usize = 1_024;
/// Most encoded bytes of attestations a producer puts in one block (the rest of the block's
/// byte limit is left to transactions and evidence).
pub const MAX_BLOCK_ATTESTATION_BYTES: usize = 2 * 1024 * 1024;
/// Longest evidence string (brand, DMI value, marker...), in bytes.
pub const MAX_EVIDENCE_STRING: usize = 128;
/// Most points in a cache-latency curve.
pub const MAX_CACHE_POINTS: usize = 32;
/// Most cache levels described by CPUID.
pub const MAX_CACHE_LEVELS: usize = 8;
/// Most DMI fields, container markers or unmeasured notes.
pub const MAX_EVIDENCE_ITEMS: usize = 16;

/// Whether the evidence comes from real hardware or from a simulator.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AttestationMode {
    /// Measured on the machine the miner runs on.
    Hardware,
    /// Made up by a simulated miner (tests and dev networks). Accepted only where the genesis
    /// allows it (dev and test chain ids), never on a mainnet chain id.
    Simulated,
}

/// CPU architecture the miner was built for and runs on.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// 64-bit x86.
    X86_64,
    /// 32-bit x86.
    X86,
    /// 64-bit ARM.
    Aarch64,
    /// 32-bit ARM.
    Arm,
    /// 64-bit PowerPC (either endianness).
    Powerpc64,
    /// 32-bit PowerPC.
    Powerpc,
    /// 64-bit RISC-V.
    Riscv64,
    /// Anything else.
    Other,
}

/// A hardware class: what a miner's evidence shows it runs on. Validators derive it from the
/// evidence (`rustchain_consensus::rip200`); the genesis maps each class to a reward multiplier.
/// Ordered from the oldest hardware to the newest.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum HardwareClass {
    /// Before about 2003: Pentium III and older, K6, K7 Athlon.
    Retro,
    /// About 2003-2008: Pentium 4, Pentium M, Core 2, Athlon 64 (K8), early Atom, VIA C7,
    /// Transmeta.
    Vintage,
    /// About 2008-2013: Nehalem to Ivy Bridge, K10, Bulldozer, Bobcat/Jaguar, Silvermont.
    Classic,
    /// Everything newer, everything unknown, and every class the evidence cannot support.
    Modern,
}

impl HardwareClass {
    /// All classes, oldest first.
    pub const ALL: [HardwareClass; 4] = [
        HardwareClass::Retro,
        HardwareClass::Vintage,
        HardwareClass::Classic,
        HardwareClass::Modern,
    ];

    /// The snake_case name used in JSON, TOML and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            HardwareClass::Retro => "retro",
            HardwareClass::Vintage => "vintage",
            HardwareClass::Classic => "classic",
            HardwareClass::Modern => "modern",
        }
    }
}

/// CPU features read from CPUID, one bit each (see the constants of [`CpuidEvidence`]).
pub type FeatureBits = u32;

/// One cache level as CPUID describes it (leaf 4 on Intel, 0x8000001D or 0x80000005/6 on AMD).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct CacheLevel {
    /// 1, 2, 3 or 4.
    pub level: u8,
    /// 1 data, 2 instruction, 3 unified.
    pub kind: u8,
    /// Size in KiB.
    pub size_kib: u32,
}

impl CacheLevel {
    /// A cache level: `kind` 1 data, 2 instruction, 3 unified.
    pub const fn new(level: u8, kind: u8, size_kib: u32) -> Self {
        CacheLevel {
            level,
            kind,
            size_kib,
        }
    }
}

/// What CPUID reported (x86 only).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct CpuidEvidence {
    /// The 12-byte vendor string of leaf 0 (`GenuineIntel`, `AuthenticAMD`, ...).
    pub vendor: String,
    /// The brand string of leaves 0x80000002-4, trimmed (empty when absent).
    pub brand: String,
    /// Leaf 1 EAX: the raw family/model/stepping signature.
    pub signature: u32,
    /// Feature bits, see the `FEATURE_*` constants.
    pub features: FeatureBits,
    /// Cache levels, in the order CPUID lists them.
    pub caches: Vec<CacheLevel>,
    /// CPUID.1:ECX bit 31, the hypervisor-present bit, recorded as read.
    pub hypervisor_bit: bool,
    /// The 12-byte hypervisor vendor signature of leaf 0x40000000 (EBX, ECX, EDX), when that
    /// leaf reads a non-zero signature (`KVMKVMKVM`, `Microsoft Hv`, `VMwareVMware`...).
    pub hypervisor_vendor: Option<String>,
    /// Hyper-V leaf 0x40000003 EBX bit 0 (CreatePartitions): set only in the root partition,
    /// i.e. Windows running *on* the physical CPU with Hyper-V enabled.
    pub hyperv_root_partition: bool,
    /// Microcode revision, where the OS exposes it.
    pub microcode: Option<u32>,
}

impl CpuidEvidence {
    /// SSE4.1.
    pub const FEATURE_SSE41: FeatureBits = 1 << 0;
    /// SSE4.2.
    pub const FEATURE_SSE42: FeatureBits = 1 << 1;
    /// AVX.
    pub const FEATURE_AVX: FeatureBits = 1 << 2;
    /// AVX2.
    pub const FEATURE_AVX2: FeatureBits = 1 << 3;
    /// AVX-512 Foundation.
    pub const FEATURE_AVX512F: FeatureBits = 1 << 4;
    /// AES-NI.
    pub const FEATURE_AES: FeatureBits = 1 << 5;
    /// SHA extensions.
    pub const FEATURE_SHA: FeatureBits = 1 << 6;
    /// SSE2.
    pub const FEATURE_SSE2: FeatureBits = 1 << 7;
    /// SSE3.
    pub const FEATURE_SSE3: FeatureBits = 1 << 8;
    /// x86-64 long mode (CPUID 0x80000001 EDX bit 29).
    pub const FEATURE_LM: FeatureBits = 1 << 9;
    /// RDRAND.
    pub const FEATURE_RDRAND: FeatureBits = 1 << 10;

    /// Display family: base family, plus the extended family when the base is 15.
    pub fn family(&self) -> u32 {
        let base = (self.signature >> 8) & 0xf;
        if base == 0xf {
            base + ((self.signature >> 20) & 0xff)
        } else {
            base
        }
    }

    /// Display model: base model, plus the extended model (shifted) for families 6 and 15+.
    pub fn model(&self) -> u32 {
        let base = (self.signature >> 4) & 0xf;
        let base_family = (self.signature >> 8) & 0xf;
        if base_family == 0x6 || base_family == 0xf {
            base | (((self.signature >> 16) & 0xf) << 4)
        } else {
            base
        }
    }

    /// Stepping.
    pub fn stepping(&self) -> u32 {
        self.signature & 0xf
    }

    /// Is this feature bit set?
    pub fn has(&self, feature: FeatureBits) -> bool {
        self.features & feature == feature
    }

    /// Every feature bit with its name.
    pub const FEATURE_NAMES: &'static [(FeatureBits, &'static str)] = &[
        (Self::FEATURE_SSE2, "SSE2"),
        (Self::FEATURE_SSE3, "SSE3"),
        (Self::FEATURE_SSE41, "SSE4.1"),
        (Self::FEATURE_SSE42, "SSE4.2"),
        (Self::FEATURE_AVX, "AVX"),
        (Self::FEATURE_AVX2, "AVX2"),
        (Self::FEATURE_AVX512F, "AVX-512F"),
        (Self::FEATURE_AES, "AES-NI"),
        (Self::FEATURE_SHA, "SHA"),
        (Self::FEATURE_LM, "x86-64"),
        (Self::FEATURE_RDRAND, "RDRAND"),
    ];

    /// The names of the bits set in `features`, in the order of [`Self::FEATURE_NAMES`].
    pub fn feature_names(features: FeatureBits) -> Vec<&'static str> {
        Self::FEATURE_NAMES
            .iter()
            .filter(|(bit, _)| features & bit != 0)
            .map(|(_, name)| *name)
            .collect()
    }
}

/// Firmware, hypervisor and container signals from the operating system (Linux paths; empty
/// elsewhere). Raw strings: validators decide what they mean.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct PlatformEvidence {
    /// `/sys/class/dmi/id/*` (or `dmidecode`) values: `(field, value)`, e.g.
    /// `("sys_vendor", "QEMU")`, `("product_name", "Surface Laptop 3")`, `("bios_vendor", ...)`.
    pub dmi: Vec<(String, String)>,
    /// Platform descriptors of machines whose firmware is not SMBIOS (device tree, POWER,
    /// s390, SPARC) and of the Xen control domain: `(source:key, value)`, e.g.
    /// `("xen:capabilities", "control_d")`, `("dt:compatible", "linux,dummy-virt")`. The keys
    /// are listed in `rustchain_consensus::rip200::classify::platform_keys`.
    pub descriptors: Vec<(String, String)>,
    /// `/sys/hypervisor/type` (`xen`, ...).
    pub sys_hypervisor: Option<String>,
    /// The `hypervisor` flag in /proc/cpuinfo.
    pub cpuinfo_hypervisor_flag: bool,
    /// `/proc/device-tree/hypervisor/compatible` on ARM and POWER.
    pub device_tree_hypervisor: Option<String>,
    /// Container markers found: `/.dockerenv`, `/run/.containerenv`, `cgroup:docker`,
    /// `environ:container=lxc`, ...
    pub container_markers: Vec<String>,
    /// The CPU as /proc/cpuinfo names it when CPUID is unavailable (ARM implementer/part,
    /// POWER `cpu` line): free text.
    pub cpuinfo_model: Option<String>,
}

/// One point of the cache-latency curve: the mean latency of a dependent load (pointer chasing)
/// over a working set of the given size, in picoseconds.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct CachePoint {
    /// Working-set size in KiB.
    pub working_set_kib: u32,
    /// Median latency of one load, in picoseconds.
    pub latency_ps: u32,
}

/// Timing measurements. They vary from run to run, so they are *not* part of the profile hash.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct TimingEvidence {
    /// Median cost of one CPUID instruction, in TSC cycles (x86 only): about 100-200 on bare
    /// metal, thousands when a hypervisor traps it.
    pub cpuid_cycles: Option<u32>,
    /// Latency curve over working sets from 4 KiB to 64 MiB, ascending.
    pub cache_curve: Vec<CachePoint>,
    /// Timer jitter: interquartile range of repeated short measurements, in parts per million
    /// of their median.
    pub jitter_ppm: Option<u32>,
    /// Drift between the cycle counter and the OS monotonic clock over the run, in parts per
    /// million (signed).
    pub clock_drift_ppm: Option<i32>,
}

/// Everything a validator needs to derive the hardware class and the VM verdict.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct HardwareEvidence {
    /// Architecture.
    pub arch: Arch,
    /// CPUID (x86 only).
    pub cpuid: Option<CpuidEvidence>,
    /// Logical CPUs.
    pub logical_cpus: u32,
    /// Physical cores, when known.
    pub physical_cores: Option<u32>,
    /// Installed memory, in MiB.
    pub memory_mib: u64,
    /// Operating system name and version (free text, for display).
    pub os: String,
    /// Firmware, hypervisor and container signals.
    pub platform: PlatformEvidence,
    /// Timing measurements.
    pub timing: TimingEvidence,
    /// What the miner could not measure, and why (for display and for the verdict's reasons).
    pub unmeasured: Vec<String>,
}

/// The stable part of the evidence, hashed into the hardware profile: the same machine gives the
/// same profile on every run (timings, the OS version and the microcode are left out).
#[derive(BorshSerialize)]
struct StableProfile<'a> {
    arch: Arch,
    vendor: Option<&'a str>,
    brand: Option<&'a str>,
    signature: Option<u32>,
    features: Option<FeatureBits>,
    caches: Option<&'a [CacheLevel]>,
    logical_cpus: u32,
    memory_gib: u64,
    dmi: &'a [(String, String)],
    descriptors: &'a [(String, String)],
    cpuinfo_model: Option<&'a str>,
}

impl HardwareEvidence {
    /// The hardware profile hash: `tagged_hash("RustChain/hardware-profile", borsh(stable
    /// fields))`. Memory is rounded down to whole GiB so a little firmware-reserved memory
    /// does not change it.
    pub fn profile_hash(&self) -> Hash {
        let cpuid = self.cpuid.as_ref();
        let stable = StableProfile {
            arch: self.arch,
            vendor: cpuid.map(|c| c.vendor.as_str()),
            brand: cpuid.map(|c| c.brand.as_str()),
            signature: cpuid.map(|c| c.signature),
            features: cpuid.map(|c| c.features),
            caches: cpuid.map(|c| c.caches.as_slice()),
            logical_cpus: self.logical_cpus,
            memory_gib: self.memory_mib / 1024,
            dmi: &self.platform.dmi,
            descriptors: &self.platform.descriptors,
            cpuinfo_model: self.platform.cpuinfo_model.as_deref(),
        };
        tagged_hash(Tag::HardwareProfile, &codec::encode(&stable))
    }

    fn check_limits(&self) -> Result<(), AttestationError> {
        let strings = self
            .cpuid
            .iter()
            .flat_map(|c| {
                [
                    Some(&c.vendor),
                    Some(&c.brand),
                    c.hypervisor_vendor.as_ref(),
                ]
                .into_iter()
                .flatten()
            })
            .chain(std::iter::once(&self.os))
            .chain(self.platform.dmi.iter().flat_map(|(k, v)| [k, v]))
            .chain(self.platform.descriptors.iter().flat_map(|(k, v)| [k, v]))
            .chain(self.platform.sys_hypervisor.iter())
            .chain(self.platform.device_tree_hypervisor.iter())
            .chain(self.platform.container_markers.iter())
            .chain(self.platform.cpuinfo_model.iter())
            .chain(self.unmeasured.iter());
        for s in strings {
            if s.len() > MAX_EVIDENCE_STRING {
                return Err(AttestationError::TooLong {
                    what: "evidence string",
                    len: s.len(),
                    max: MAX_EVIDENCE_STRING,
                });
            }
        }
        let lists = [
            ("DMI fields", self.platform.dmi.len(), MAX_EVIDENCE_ITEMS),
            (
                "platform descriptors",
                self.platform.descriptors.len(),
                MAX_EVIDENCE_ITEMS,
            ),
            (
                "container markers",
                self.platform.container_markers.len(),
                MAX_EVIDENCE_ITEMS,
            ),
            (
                "unmeasured notes",
                self.unmeasured.len(),
                MAX_EVIDENCE_ITEMS,
            ),
            (
                "cache curve points",
                self.timing.cache_curve.len(),
                MAX_CACHE_POINTS,
            ),
            (
                "cache levels",
                self.cpuid.as_ref().map_or(0, |c| c.caches.len()),
                MAX_CACHE_LEVELS,
            ),
        ];
        for (what, len, max) in lists {
            if len > max {
                return Err(AttestationError::TooLong { what, len, max });
            }
        }
        if self.arch != Arch::X86_64 && self.arch != Arch::X86 && self.cpuid.is_some() {
            return Err(AttestationError::Inconsistent(
                "CPUID evidence on a non-x86 architecture",
            ));
        }
        if !self
            .timing
            .cache_curve
            .windows(2)
            .all(|w| w[0].working_set_kib < w[1].working_set_kib)
        {
            return Err(AttestationError::Inconsistent(
                "cache curve working sets are not strictly ascending",
            ));
        }
        Ok(())
    }
}

/// The signed part of an attestation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct AttestationBody {
    /// The chain.
    pub chain_id: ChainId,
    /// The attesting miner.
    pub miner: PublicKey,
    /// Reward epoch.
    pub epoch: u64,
    /// Attestation window inside the epoch (0-based).
    pub window: u32,
    /// A recent block of the canonical chain (freshness); its slot fixes `epoch` and `window`.
    pub reference: Checkpoint,
    /// Hardware or simulated evidence.
    pub mode: AttestationMode,
    /// [`HardwareEvidence::profile_hash`] of `evidence`.
    pub profile_hash: Hash,
    /// The measurements.
    pub evidence: HardwareEvidence,
    /// Proof-of-work nonce, see [`pow_hash`].
    pub pow_nonce: u64,
}

impl AttestationBody {
    /// The digest the miner signs.
    pub fn signing_hash(&self) -> Hash {
        tagged_hash(Tag::AttestationSignature, &codec::encode(self))
    }

    /// This body's proof-of-work hash.
    pub fn pow_hash(&self) -> Hash {
        pow_hash(
            &self.profile_hash,
            &self.miner,
            &self.reference,
            self.pow_nonce,
        )
    }

    /// Searches nonces from `start` until the proof-of-work hash has at least `bits` leading
    /// zero bits, or `max_tries` nonces were tried. Returns whether it found one (the nonce is
    /// left in `pow_nonce`).
    pub fn solve_pow(&mut self, bits: u32, start: u64, max_tries: u64) -> bool {
        let prefix = pow_prefix(&self.profile_hash, &self.miner, &self.reference);
        for nonce in start..start.saturating_add(max_tries) {
            let mut h = prefix.clone();
            h.update(&nonce.to_le_bytes());
            if leading_zero_bits(&h.finish()) >= bits {
                self.pow_nonce = nonce;
                return true;
            }
        }
        false
    }

    /// Signs the body with the miner key.
    pub fn sign(self, key: &KeyPair) -> Attestation {
        let signature = key.sign(&self.signing_hash());
        Attestation {
            body: self,
            signature,
        }
    }
}

fn pow_prefix(profile_hash: &Hash, miner: &PublicKey, reference: &Checkpoint) -> TaggedHasher {
    let mut h = TaggedHasher::new(Tag::AttestationPow);
    h.update(&profile_hash.0)
        .update(&miner.0)
        .update(&reference.height.to_le_bytes())
        .update(&reference.hash.0);
    h
}

/// The proof-of-work hash: `tagged_hash("RustChain/attestation-pow", profile_hash || miner ||
/// reference height (u64 LE) || reference hash || nonce (u64 LE))`. It is valid when it has at
/// least the genesis number of leading zero bits, i.e. it is below the target `2^(256 - bits)`.
pub fn pow_hash(
    profile_hash: &Hash,
    miner: &PublicKey,
    reference: &Checkpoint,
    nonce: u64,
) -> Hash {
    let mut h = pow_prefix(profile_hash, miner, reference);
    h.update(&nonce.to_le_bytes());
    h.finish()
}

/// Number of leading zero bits of a hash (big-endian bit order).
pub fn leading_zero_bits(hash: &Hash) -> u32 {
    let mut bits = 0;
    for byte in hash.0 {
        if byte == 0 {
            bits += 8;
        } else {
            return bits + byte.leading_zeros();
        }
    }
    bits
}

/// A signed attestation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Attestation {
    /// What is attested.
    pub body: AttestationBody,
    /// BIP-340 signature by `body.miner` over [`AttestationBody::signing_hash`].
    pub signature: Signature,
}

/// Why an attestation is malformed (independently of any chain state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    /// The bytes do not decode.
    #[error("undecodable attestation: {0}")]
    Decode(#[from] codec::DecodeError),
    /// A string or list is above its limit.
    #[error("{what}: {len} is above the limit of {max}")]
    TooLong {
        /// which field
        what: &'static str,
        /// its length
        len: usize,
        /// the limit
        max: usize,
    },
    /// The evidence contradicts itself.
    #[error("inconsistent evidence: {0}")]
    Inconsistent(&'static str),
    /// The declared profile hash is not the hash of the evidence.
    #[error("profile hash {declared} does not match the evidence ({computed})")]
    ProfileMismatch {
        /// in the body
        declared: Hash,
        /// recomputed
        computed: Hash,
    },
    /// The signature does not verify.
    #[error("bad attestation signature: {0}")]
    Signature(#[from] KeyError),
}

impl Attestation {
    /// Decodes untrusted bytes and checks that the result is well formed.
    pub fn decode(bytes: &[u8]) -> Result<Attestation, AttestationError> {
        let attestation: Attestation = codec::decode(bytes, MAX_ATTESTATION_BYTES)?;
        attestation.check_well_formed()?;
        Ok(attestation)
    }

    /// Structural rules: string and list limits, consistent evidence, the profile hash matches
    /// the evidence. No signature check (see [`Attestation::verify_signature`]).
    pub fn check_well_formed(&self) -> Result<(), AttestationError> {
        self.body.evidence.check_limits()?;
        let computed = self.body.evidence.profile_hash();
        if computed != self.body.profile_hash {
            return Err(AttestationError::ProfileMismatch {
                declared: self.body.profile_hash,
                computed,
            });
        }
        Ok(())
    }

    /// Verifies the miner's signature.
    pub fn verify_signature(&self) -> Result<(), AttestationError> {
        Ok(self
            .body
            .miner
            .verify(&self.body.signing_hash(), &self.signature)?)
    }

    /// The attestation's id: the hash of the whole signed attestation (attestations root
    /// leaves, de-duplication).
    pub fn hash(&self) -> Hash {
        tagged_hash(Tag::AttestationId, &codec::encode(self))
    }

    /// The encoded size.
    pub fn encoded_len(&self) -> usize {
        codec::encode(self).len()
    }
}

/// Decodes a block's attestation list with its count capped at [`MAX_BLOCK_ATTESTATIONS`],
/// each attestation well formed.
pub fn deserialize_list<R: std::io::Read>(reader: &mut R) -> std::io::Result<Vec<Attestation>> {
    let count = u32::deserialize_reader(reader)? as usize;
    if count > MAX_BLOCK_ATTESTATIONS {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{count} attestations, above the limit of {MAX_BLOCK_ATTESTATIONS}"),
        ));
    }
    let mut list = Vec::with_capacity(count);
    for _ in 0..count {
        let attestation = Attestation::deserialize_reader(reader)?;
        let len = attestation.encoded_len();
        if len > MAX_ATTESTATION_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "an attestation of {len} bytes, above the limit of {MAX_ATTESTATION_BYTES}"
                ),
            ));
        }
        attestation
            .check_well_formed()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        list.push(attestation);
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plausible bare-metal x86 evidence record for tests.
    pub(crate) fn sample_evidence() -> HardwareEvidence {
        HardwareEvidence {
            arch: Arch::X86_64,
            cpuid: Some(CpuidEvidence {
                vendor: "AuthenticAMD".into(),
                brand: "AMD Ryzen 5 7600X 6-Core Processor".into(),
                signature: 0x00a60f12,
                features: CpuidEvidence::FEATURE_SSE42 | CpuidEvidence::FEATURE_AVX2,
                caches: vec![CacheLevel::new(1, 1, 32), CacheLevel::new(2, 3, 1024)],
                hypervisor_bit: false,
                hypervisor_vendor: None,
                hyperv_root_partition: false,
                microcode: Some(0x0a601203),
            }),
            logical_cpus: 12,
            physical_cores: Some(6),
            memory_mib: 32_000,
            os: "Linux 6.1".into(),
            platform: PlatformEvidence::default(),
            timing: TimingEvidence {
                cpuid_cycles: Some(140),
                cache_curve: vec![
                    CachePoint {
                        working_set_kib: 4,
                        latency_ps: 900,
                    },
                    CachePoint {
                        working_set_kib: 64,
                        latency_ps: 3_000,
                    },
                ],
                jitter_ppm: Some(2_000),
                clock_drift_ppm: Some(-3),
            },
            unmeasured: vec![],
        }
    }

    fn sample(key: &KeyPair) -> Attestation {
        let evidence = sample_evidence();
        AttestationBody {
            chain_id: ChainId::new("dev-test").unwrap(),
            miner: key.public_key(),
            epoch: 3,
            window: 1,
            reference: Checkpoint {
                height: 10,
                hash: Hash([7; 32]),
            },
            mode: AttestationMode::Hardware,
            profile_hash: evidence.profile_hash(),
            evidence,
            pow_nonce: 0,
        }
        .sign(key)
    }

    #[test]
    fn display_family_and_model_follow_the_extended_fields() {
        let cpu = sample_evidence().cpuid.unwrap();
        // 0x00a60f12: extended family 0xa + 0xf = 0x19 (Zen 4), model 0x61, stepping 2.
        assert_eq!((cpu.family(), cpu.model(), cpu.stepping()), (0x19, 0x61, 2));
        let pentium3 = CpuidEvidence {
            signature: 0x0683,
            ..cpu
        };
        assert_eq!((pentium3.family(), pentium3.model()), (6, 8));
    }

    #[test]
    fn round_trips_and_verifies() {
        let key = KeyPair::from_secret_bytes(&[3; 32]).unwrap();
        let a = sample(&key);
        let bytes = codec::encode(&a);
        let back = Attestation::decode(&bytes).unwrap();
        assert_eq!(back, a);
        back.verify_signature().unwrap();
        let mut tampered = back.clone();
        tampered.body.window = 2;
        assert!(tampered.verify_signature().is_err());
    }

    #[test]
    fn profile_hash_ignores_timings_but_not_hardware() {
        let a = sample_evidence();
        let mut b = a.clone();
        b.timing.cpuid_cycles = Some(9_000);
        b.os = "Linux 6.9".into();
        assert_eq!(a.profile_hash(), b.profile_hash());
        b.logical_cpus = 16;
        assert_ne!(a.profile_hash(), b.profile_hash());
    }

    #[test]
    fn malformed_evidence_is_refused() {
        let key = KeyPair::from_secret_bytes(&[3; 32]).unwrap();
        let mut a = sample(&key);
        a.body.profile_hash = Hash([1; 32]);
        assert!(matches!(
            Attestation::decode(&codec::encode(&a)),
            Err(AttestationError::ProfileMismatch { .. })
        ));
        let mut long = sample(&key);
        long.body.evidence.os = "x".repeat(MAX_EVIDENCE_STRING + 1);
        long.body.profile_hash = long.body.evidence.profile_hash();
        assert!(matches!(
            Attestation::decode(&codec::encode(&long)),
            Err(AttestationError::TooLong { .. })
        ));
        let mut big = sample(&key);
        big.body.evidence.unmeasured = vec!["y".repeat(100); 100];
        assert!(matches!(
            Attestation::decode(&codec::encode(&big)),
            Err(AttestationError::Decode(
                codec::DecodeError::TooLarge { .. }
            ))
        ));
        let bytes = codec::encode(&sample(&key));
        assert!(Attestation::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(Attestation::decode(&trailing).is_err());
    }

    #[test]
    fn proof_of_work_is_found_and_checked() {
        let key = KeyPair::from_secret_bytes(&[3; 32]).unwrap();
        let mut body = sample(&key).body;
        assert!(body.solve_pow(8, 0, 1_000_000));
        assert!(leading_zero_bits(&body.pow_hash()) >= 8);
        // The proof binds the reference block and the miner key.
        let solved = body.pow_hash();
        body.reference.height += 1;
        assert_ne!(body.pow_hash(), solved);
        body.reference.height -= 1;
        body.miner = KeyPair::from_secret_bytes(&[4; 32]).unwrap().public_key();
        assert_ne!(body.pow_hash(), solved);
    }

    #[test]
    fn a_block_list_refuses_an_attestation_above_the_size_limit() {
        let key = KeyPair::from_secret_bytes(&[3; 32]).unwrap();
        let mut body = sample(&key).body;
        let long = |c: char| c.to_string().repeat(MAX_EVIDENCE_STRING);
        body.evidence.platform.dmi = (0..MAX_EVIDENCE_ITEMS)
            .map(|_| (long('k'), long('v')))
            .collect();
        body.evidence.platform.container_markers = vec![long('m'); MAX_EVIDENCE_ITEMS];
        body.evidence.unmeasured = vec![long('u'); MAX_EVIDENCE_ITEMS];
        body.profile_hash = body.evidence.profile_hash();
        let big = body.sign(&key);
        // Within every field limit, but too large as a whole.
        big.check_well_formed().unwrap();
        assert!(big.encoded_len() > MAX_ATTESTATION_BYTES);
        let mut bytes = 1u32.to_le_bytes().to_vec();
        bytes.extend(codec::encode(&big));
        let err = deserialize_list(&mut bytes.as_slice()).unwrap_err();
        assert!(err.to_string().contains("above the limit"), "{err}");
        let mut small = 1u32.to_le_bytes().to_vec();
        small.extend(codec::encode(&sample(&key)));
        assert_eq!(deserialize_list(&mut small.as_slice()).unwrap().len(), 1);
    }

    #[test]
    fn leading_zero_bits_counts_across_bytes() {
        let mut h = Hash([0xff; 32]);
        assert_eq!(leading_zero_bits(&h), 0);
        h.0[0] = 0;
        h.0[1] = 0x10;
        assert_eq!(leading_zero_bits(&h), 11);
        assert_eq!(leading_zero_bits(&Hash([0; 32])), 256);
    }
}
