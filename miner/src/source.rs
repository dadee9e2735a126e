//! Where the evidence comes from. Every hardware source sits behind a trait so that a recorded
//! machine can be replayed (`rustchain-miner fingerprint --replay DIR`):
//!
//! | source | live | replay (DIR in the layout of shared/fixtures) |
//! |---|---|---|
//! | [`CpuidSource`] | the CPUID instruction (x86 and x86-64 builds only) | `cpuid.txt` (`cpuid -r` output, CPU 0), else synthesised from `proc/cpuinfo` on x86 recordings |
//! | [`FsRoot`] | `/` | `DIR` (`proc/`, `sys/`, `dev/`, `.dockerenv`, `cmd/*.txt`) |
//! | [`SystemSource`] | `sysinfo` | `proc/cpuinfo`, `proc/meminfo`, `proc/version`, `cmd/uname-m.txt` |
//! | [`TimingSource`] | the probes of [`crate::timing`] | none: recorded as "not measured in replay" |
//!
//! Everything read from a file is bounded ([`MAX_FILE_BYTES`]) and parsed without panicking.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use rustchain_primitives::attestation::TimingEvidence;
use rustchain_primitives::Arch;

/// Largest file read from a filesystem root.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Most CPUID leaves kept from a recording.
pub const MAX_RECORDED_LEAVES: usize = 4_096;

/// Registers of one CPUID leaf: `[eax, ebx, ecx, edx]`.
pub type Regs = [u32; 4];

/// A CPUID instruction, real or recorded.
pub trait CpuidSource {
    /// The registers of `leaf`/`subleaf`; `None` when this source has no CPUID at all.
    /// A recorded source answers zeros for a leaf it did not record.
    fn cpuid(&self, leaf: u32, subleaf: u32) -> Option<Regs>;
    /// A short description for reports (`live CPUID`, `cpuid.txt`...).
    fn describe(&self) -> String;
}

/// The CPUID instruction of the CPU we run on (x86 and x86-64 builds; elsewhere it has none).
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveCpuid;

impl CpuidSource for LiveCpuid {
    #[cfg(any(
        target_arch = "x86_64",
        all(target_arch = "x86", target_feature = "sse")
    ))]
    fn cpuid(&self, leaf: u32, subleaf: u32) -> Option<Regs> {
        let r = raw_cpuid::native_cpuid::cpuid_count(leaf, subleaf);
        Some([r.eax, r.ebx, r.ecx, r.edx])
    }

    #[cfg(not(any(
        target_arch = "x86_64",
        all(target_arch = "x86", target_feature = "sse")
    )))]
    fn cpuid(&self, _leaf: u32, _subleaf: u32) -> Option<Regs> {
        None
    }

    fn describe(&self) -> String {
        "live CPUID".into()
    }
}

/// No CPUID (non-x86 recordings).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCpuid;

impl CpuidSource for NoCpuid {
    fn cpuid(&self, _leaf: u32, _subleaf: u32) -> Option<Regs> {
        None
    }

    fn describe(&self) -> String {
        "no CPUID".into()
    }
}

/// Leaves recorded in a table: parsed from `cpuid -r` output, or synthesised from
/// /proc/cpuinfo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordedCpuid {
    leaves: BTreeMap<(u32, u32), Regs>,
    origin: String,
}

/// A replay input that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The directory does not exist or is not readable.
    #[error("cannot read replay directory {0}: {1}")]
    Dir(PathBuf, std::io::Error),
    /// `cpuid.txt` has a line that is not in `cpuid -r` layout.
    #[error("cpuid.txt line {line}: {what}")]
    CpuidLine {
        /// 1-based line number
        line: usize,
        /// what is wrong
        what: String,
    },
    /// Too much data.
    #[error("cpuid.txt has more than {MAX_RECORDED_LEAVES} leaves for CPU 0")]
    TooManyLeaves,
}

impl RecordedCpuid {
    /// Parses the output of `cpuid -r` (Todd Allen's tool): a `CPU n:` header, then lines like
    /// `   0x00000001 0x00: eax=0x000306c3 ebx=0x00100800 ecx=0x7ffafbff edx=0xbfebfbff`.
    /// Only the first CPU is kept (lines before any header count as the first CPU).
    pub fn parse_cpuid_r(text: &str) -> Result<RecordedCpuid, ReplayError> {
        let mut leaves = BTreeMap::new();
        let mut cpus_seen = 0usize;
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.starts_with("CPU") {
                cpus_seen += 1;
                if cpus_seen > 1 {
                    break;
                }
                continue;
            }
            if !line.starts_with("0x") {
                continue;
            }
            let bad = |what: &str| ReplayError::CpuidLine {
                line: index + 1,
                what: what.to_string(),
            };
            let (head, regs) = line.split_once(':').ok_or_else(|| bad("no ':'"))?;
            let mut head = head.split_whitespace();
            let leaf = head
                .next()
                .and_then(parse_hex)
                .ok_or_else(|| bad("bad leaf"))?;
            let subleaf = head
                .next()
                .and_then(parse_hex)
                .ok_or_else(|| bad("bad subleaf"))?;
            let mut out = [0u32; 4];
            let mut found = [false; 4];
            for part in regs.split_whitespace() {
                let (name, value) = part.split_once('=').ok_or_else(|| bad("bad register"))?;
                let slot = match name {
                    "eax" => 0,
                    "ebx" => 1,
                    "ecx" => 2,
                    "edx" => 3,
                    _ => return Err(bad("unknown register")),
                };
                out[slot] = parse_hex(value).ok_or_else(|| bad("bad register value"))?;
                found[slot] = true;
            }
            if found != [true; 4] {
                return Err(bad("missing register"));
            }
            if leaves.len() >= MAX_RECORDED_LEAVES {
                return Err(ReplayError::TooManyLeaves);
            }
            // `cpuid -r` may repeat a leaf; the first value wins.
            leaves.entry((leaf, subleaf)).or_insert(out);
        }
        Ok(RecordedCpuid {
            leaves,
            origin: "cpuid.txt".into(),
        })
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// No leaves at all?
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// Synthesises the CPUID leaves that Linux decoded into /proc/cpuinfo (vendor,
    /// family/model/stepping, brand, the feature flags the evidence uses) plus a hypervisor
    /// signature recorded separately (virt-what's `cpuid` helper output). Used to replay x86
    /// recordings that have /proc/cpuinfo but no raw CPUID dump. Returns `None` when the text
    /// has no x86 `vendor_id`.
    pub fn from_cpuinfo(cpuinfo: &str, hypervisor_signature: Option<&str>) -> Option<Self> {
        let first = first_processor(cpuinfo);
        let vendor = field(&first, "vendor_id")?;
        let family: u32 = field(&first, "cpu family")?.parse().ok()?;
        let model: u32 = field(&first, "model").and_then(|m| m.parse().ok())?;
        let stepping: u32 = field(&first, "stepping")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let brand = field(&first, "model name").unwrap_or("");
        let flags: Vec<&str> = field(&first, "flags")
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let has = |f: &str| flags.contains(&f);

        let mut leaves = BTreeMap::new();
        let v = pad_bytes::<12>(vendor.as_bytes(), b' ');
        leaves.insert((0, 0), [0xd, word(&v, 0), word(&v, 8), word(&v, 4)]);

        let (base_family, ext_family) = if family >= 0xf {
            (0xf, family - 0xf)
        } else {
            (family, 0)
        };
        let (base_model, ext_model) = if family == 6 || family >= 0xf {
            (model & 0xf, (model >> 4) & 0xf)
        } else {
            (model & 0xf, 0)
        };
        let signature = (stepping & 0xf)
            | (base_model << 4)
            | ((base_family & 0xf) << 8)
            | (ext_model << 16)
            | ((ext_family & 0xff) << 20);
        let bit = |cond: bool, n: u32| if cond { 1u32 << n } else { 0 };
        let ecx1 = bit(has("pni"), 0)
            | bit(has("ssse3"), 9)
            | bit(has("sse4_1"), 19)
            | bit(has("sse4_2"), 20)
            | bit(has("aes"), 25)
            | bit(has("avx"), 28)
            | bit(has("rdrand"), 30)
            | bit(has("hypervisor"), 31);
        let edx1 = bit(has("sse"), 25) | bit(has("sse2"), 26);
        leaves.insert((1, 0), [signature, 0, ecx1, edx1]);
        let ebx7 = bit(has("avx2"), 5) | bit(has("avx512f"), 16) | bit(has("sha_ni"), 29);
        leaves.insert((7, 0), [0, ebx7, 0, 0]);

        let b = pad_bytes::<48>(brand.as_bytes(), 0);
        let max_ext = if brand.is_empty() {
            0x8000_0001
        } else {
            0x8000_0004
        };
        leaves.insert((0x8000_0000, 0), [max_ext, 0, 0, 0]);
        leaves.insert((0x8000_0001, 0), [0, 0, 0, bit(has("lm"), 29)]);
        if !brand.is_empty() {
            for i in 0..3u32 {
                let o = (i as usize) * 16;
                leaves.insert(
                    (0x8000_0002 + i, 0),
                    [
                        word(&b, o),
                        word(&b, o + 4),
                        word(&b, o + 8),
                        word(&b, o + 12),
                    ],
                );
            }
        }
        if let Some(sig) = hypervisor_signature
            .map(str::trim_end)
            .filter(|s| !s.is_empty() && *s != "?" && *s != "@")
        {
            let s = pad_bytes::<12>(sig.as_bytes(), 0);
            leaves.insert(
                (0x4000_0000, 0),
                [0x4000_0001, word(&s, 0), word(&s, 4), word(&s, 8)],
            );
        }
        Some(RecordedCpuid {
            leaves,
            origin: "synthesised from proc/cpuinfo".into(),
        })
    }
}

impl CpuidSource for RecordedCpuid {
    fn cpuid(&self, leaf: u32, subleaf: u32) -> Option<Regs> {
        if self.leaves.is_empty() {
            return None;
        }
        Some(self.leaves.get(&(leaf, subleaf)).copied().unwrap_or([0; 4]))
    }

    fn describe(&self) -> String {
        format!("{} ({} leaves)", self.origin, self.leaves.len())
    }
}

fn parse_hex(s: &str) -> Option<u32> {
    u32::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok()
}

fn pad_bytes<const N: usize>(bytes: &[u8], pad: u8) -> [u8; N] {
    let mut out = [pad; N];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
    out
}

fn word(bytes: &[u8], offset: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_le_bytes(w)
}

/// The `key : value` lines of the first processor block of /proc/cpuinfo (up to the first
/// blank line after a `processor` line), plus any lines before it.
pub fn first_processor(cpuinfo: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut seen_processor = false;
    for line in cpuinfo.lines() {
        if line.trim().is_empty() {
            if seen_processor {
                break;
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim().to_string();
            if k == "processor" {
                if seen_processor {
                    break;
                }
                seen_processor = true;
            }
            out.push((k, v.trim().to_string()));
        }
    }
    out
}

/// The value of `key` in `key : value` lines.
pub fn field<'a>(lines: &'a [(String, String)], key: &str) -> Option<&'a str> {
    lines
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A filesystem root: `/` live, or a replay directory laid out like one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsRoot {
    root: PathBuf,
    replay: bool,
}

impl FsRoot {
    /// The live root `/`.
    pub fn live() -> Self {
        FsRoot {
            root: PathBuf::from("/"),
            replay: false,
        }
    }

    /// A replay directory.
    pub fn replay(dir: &Path) -> Result<Self, ReplayError> {
        std::fs::read_dir(dir).map_err(|e| ReplayError::Dir(dir.to_path_buf(), e))?;
        Ok(FsRoot {
            root: dir.to_path_buf(),
            replay: true,
        })
    }

    /// Is this a replay directory (which may also hold `cmd/*.txt` command outputs)?
    pub fn is_replay(&self) -> bool {
        self.replay
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    /// Reads a file (at most [`MAX_FILE_BYTES`], invalid UTF-8 replaced); `None` when it is
    /// missing or unreadable.
    pub fn read(&self, rel: &str) -> Option<String> {
        self.read_bytes(rel)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// Reads a file's bytes (at most [`MAX_FILE_BYTES`]).
    pub fn read_bytes(&self, rel: &str) -> Option<Vec<u8>> {
        let file = std::fs::File::open(self.path(rel)).ok()?;
        let mut buf = Vec::new();
        file.take(MAX_FILE_BYTES).read_to_end(&mut buf).ok()?;
        Some(buf)
    }

    /// Does the path exist (file, directory or symlink)?
    pub fn exists(&self, rel: &str) -> bool {
        std::fs::symlink_metadata(self.path(rel)).is_ok()
    }

    /// Sorted names in a directory (at most 1,024).
    pub fn list(&self, rel: &str) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.path(rel)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = dir
            .filter_map(|e| e.ok())
            .take(1_024)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// Machine facts other than CPUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemInfo {
    /// Architecture.
    pub arch: Arch,
    /// Logical CPUs.
    pub logical_cpus: u32,
    /// Physical cores, when known.
    pub physical_cores: Option<u32>,
    /// Memory in MiB (0 when unknown).
    pub memory_mib: u64,
    /// Operating system, for display.
    pub os: String,
    /// What could not be read.
    pub unmeasured: Vec<String>,
}

/// Cores, threads, memory, OS.
pub trait SystemSource {
    /// Reads them.
    fn system(&self) -> SystemInfo;
}

/// The running machine, through `sysinfo`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveSystem;

impl SystemSource for LiveSystem {
    fn system(&self) -> SystemInfo {
        use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};
        let sys = System::new_with_specifics(
            RefreshKind::nothing()
                .with_memory(MemoryRefreshKind::nothing().with_ram())
                .with_cpu(CpuRefreshKind::nothing()),
        );
        let mut unmeasured = Vec::new();
        let logical = match sys.cpus().len() {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            n => n,
        };
        let memory_mib = sys.total_memory() / (1024 * 1024);
        if memory_mib == 0 {
            unmeasured.push("memory size: not reported by the OS".into());
        }
        let os = match (System::long_os_version(), System::kernel_version()) {
            (Some(os), Some(kernel)) => format!("{os} (kernel {kernel})"),
            (Some(os), None) => os,
            (None, Some(kernel)) => format!("{} {kernel}", std::env::consts::OS),
            (None, None) => std::env::consts::OS.to_string(),
        };
        SystemInfo {
            arch: build_arch(),
            logical_cpus: u32::try_from(logical).unwrap_or(u32::MAX),
            physical_cores: System::physical_core_count().and_then(|n| u32::try_from(n).ok()),
            memory_mib,
            os,
            unmeasured,
        }
    }
}

/// The architecture this binary was built for.
pub const fn build_arch() -> Arch {
    if cfg!(target_arch = "x86_64") {
        Arch::X86_64
    } else if cfg!(target_arch = "x86") {
        Arch::X86
    } else if cfg!(target_arch = "aarch64") {
        Arch::Aarch64
    } else if cfg!(target_arch = "arm") {
        Arch::Arm
    } else if cfg!(target_arch = "powerpc64") {
        Arch::Powerpc64
    } else if cfg!(target_arch = "powerpc") {
        Arch::Powerpc
    } else if cfg!(target_arch = "riscv64") {
        Arch::Riscv64
    } else {
        Arch::Other
    }
}

/// `uname -m` to [`Arch`].
pub fn arch_from_uname(machine: &str) -> Arch {
    match machine.trim() {
        "x86_64" | "amd64" => Arch::X86_64,
        "i386" | "i486" | "i586" | "i686" | "x86" => Arch::X86,
        "aarch64" | "arm64" => Arch::Aarch64,
        m if m.starts_with("arm") => Arch::Arm,
        "ppc64" | "ppc64le" => Arch::Powerpc64,
        "ppc" | "powerpc" => Arch::Powerpc,
        "riscv64" => Arch::Riscv64,
        _ => Arch::Other,
    }
}

/// A recorded machine's system facts, from its `proc/` files and `cmd/uname-m.txt`.
#[derive(Debug, Clone)]
pub struct ReplaySystem {
    fs: FsRoot,
    /// Architecture implied by the CPUID recording (x86 or x86-64), if any.
    cpuid_arch: Option<Arch>,
}

impl ReplaySystem {
    /// Reads from `fs`; `cpuid_arch` is used when `cmd/uname-m.txt` is absent.
    pub fn new(fs: FsRoot, cpuid_arch: Option<Arch>) -> Self {
        ReplaySystem { fs, cpuid_arch }
    }
}

impl SystemSource for ReplaySystem {
    fn system(&self) -> SystemInfo {
        let mut unmeasured = Vec::new();
        let cpuinfo = self.fs.read("proc/cpuinfo").unwrap_or_default();
        let first = first_processor(&cpuinfo);
        let arch = if let Some(m) = self
            .fs
            .read("cmd/uname-m.txt")
            .filter(|m| !m.trim().is_empty())
        {
            arch_from_uname(&m)
        } else if let Some(a) = self.cpuid_arch {
            a
        } else if field(&first, "vendor_id").is_some() && field(&first, "cpu family").is_some() {
            let lm =
                field(&first, "flags").is_some_and(|f| f.split_whitespace().any(|w| w == "lm"));
            if lm {
                Arch::X86_64
            } else {
                Arch::X86
            }
        } else if field(&first, "CPU implementer").is_some() {
            Arch::Aarch64
        } else {
            Arch::Other
        };
        let mut logical = cpuinfo
            .lines()
            .filter(|l| {
                l.split_once(':')
                    .is_some_and(|(k, _)| k.trim() == "processor")
                    || l.starts_with("processor ")
            })
            .count();
        if logical == 0 {
            logical = self
                .fs
                .read("cpuid.txt")
                .map(|t| {
                    t.lines()
                        .filter(|l| l.trim_start().starts_with("CPU"))
                        .count()
                })
                .unwrap_or(0);
        }
        if logical == 0 {
            unmeasured.push("logical CPU count: not in the recording".into());
            logical = 1;
        }
        let physical_cores = {
            let cores: Option<u32> = field(&first, "cpu cores").and_then(|c| c.parse().ok());
            let mut packages: Vec<&str> = cpuinfo
                .lines()
                .filter_map(|l| l.split_once(':'))
                .filter(|(k, _)| k.trim() == "physical id")
                .map(|(_, v)| v.trim())
                .collect();
            packages.sort_unstable();
            packages.dedup();
            cores.map(|c| c.saturating_mul(u32::try_from(packages.len().max(1)).unwrap_or(1)))
        };
        let memory_mib = self
            .fs
            .read("proc/meminfo")
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<u64>().ok())
            })
            .map(|kb| kb / 1024);
        if memory_mib.is_none() {
            unmeasured.push("memory size: not in the recording".into());
        }
        let os = self
            .fs
            .read("proc/version")
            .and_then(|v| {
                let mut words = v.split_whitespace();
                match (words.next(), words.next(), words.next()) {
                    (Some(name), Some("version"), Some(release)) => {
                        Some(format!("{name} {release}"))
                    }
                    _ => None,
                }
            })
            .unwrap_or_else(|| "unknown (replay)".into());
        SystemInfo {
            arch,
            logical_cpus: u32::try_from(logical).unwrap_or(u32::MAX),
            physical_cores,
            memory_mib: memory_mib.unwrap_or(0),
            os,
            unmeasured,
        }
    }
}

/// Timing measurements.
pub trait TimingSource {
    /// Measures; returns the evidence and what could not be measured.
    fn measure(&self) -> (TimingEvidence, Vec<String>);
}

/// Live probes (see [`crate::timing`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveTiming;

impl TimingSource for LiveTiming {
    fn measure(&self) -> (TimingEvidence, Vec<String>) {
        use sysinfo::{MemoryRefreshKind, RefreshKind, System};
        let sys = System::new_with_specifics(
            RefreshKind::nothing().with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        crate::timing::measure(sys.total_memory() / (1024 * 1024))
    }
}

/// No timing: a replayed recording cannot be timed.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplayTiming;

impl TimingSource for ReplayTiming {
    fn measure(&self) -> (TimingEvidence, Vec<String>) {
        (
            TimingEvidence::default(),
            vec![
                "timing (CPUID latency, cache curve, jitter, clock drift): not measured in replay"
                    .into(),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpuid_r_and_keeps_cpu_0() {
        let text = "CPU 0:\n   0x00000000 0x00: eax=0x0000000d ebx=0x756e6547 ecx=0x6c65746e edx=0x49656e69\n   0x00000001 0x00: eax=0x000306c3 ebx=0 ecx=0x80000000 edx=0\nCPU 1:\n   0x00000001 0x00: eax=0xdeadbeef ebx=0 ecx=0 edx=0\n";
        let r = RecordedCpuid::parse_cpuid_r(text).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r.cpuid(1, 0).unwrap()[0], 0x000306c3);
        assert_eq!(r.cpuid(7, 0), Some([0; 4]));
        assert!(RecordedCpuid::parse_cpuid_r("   0x1 0x0: eax=zz ebx=0 ecx=0 edx=0").is_err());
        assert!(RecordedCpuid::parse_cpuid_r("   0x1 0x0: eax=1 ebx=0 ecx=0").is_err());
        assert!(RecordedCpuid::parse_cpuid_r("")
            .unwrap()
            .cpuid(0, 0)
            .is_none());
    }

    #[test]
    fn cpuinfo_synthesis_round_trips_the_signature() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R) Platinum 8269CY CPU @ 2.50GHz\nstepping\t: 7\nflags\t\t: fpu sse sse2 lm avx2 hypervisor\n\nprocessor\t: 1\n";
        let r = RecordedCpuid::from_cpuinfo(cpuinfo, Some("KVMKVMKVM\n")).unwrap();
        let leaf1 = r.cpuid(1, 0).unwrap();
        assert_eq!(leaf1[0], 0x00050657);
        assert_ne!(leaf1[2] & (1 << 31), 0);
        let sig = r.cpuid(0x4000_0000, 0).unwrap();
        assert_eq!(&sig[1].to_le_bytes(), b"KVMK");
        assert!(
            RecordedCpuid::from_cpuinfo("processor : 0\nCPU implementer : 0x41\n", None).is_none()
        );
        let amd = RecordedCpuid::from_cpuinfo(
            "processor : 0\nvendor_id : AuthenticAMD\ncpu family : 23\nmodel : 113\nstepping : 0\n",
            Some("?"),
        )
        .unwrap();
        assert_eq!(amd.cpuid(1, 0).unwrap()[0], 0x00870f10);
        assert_eq!(amd.cpuid(0x4000_0000, 0), Some([0; 4]));
    }

    #[test]
    fn uname_maps_to_arch() {
        assert_eq!(arch_from_uname("x86_64\n"), Arch::X86_64);
        assert_eq!(arch_from_uname("i686"), Arch::X86);
        assert_eq!(arch_from_uname("aarch64"), Arch::Aarch64);
        assert_eq!(arch_from_uname("ppc64"), Arch::Powerpc64);
        assert_eq!(arch_from_uname("s390"), Arch::Other);
    }
}
