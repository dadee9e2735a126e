//! Hardware class and machine verdict, derived from an attestation's raw evidence.
//!
//! Shared by validators (who decide rewards with it) and by `rustchain-miner fingerprint` (which
//! shows a miner the verdict the validators will reach). Pure and deterministic: no I/O, no
//! floating point, no clock; list fields are sorted before use, so the result never depends on
//! the order in which the miner listed DMI fields, container markers or notes.
//!
//! # Verdict
//!
//! Every signal found becomes a reason. Then, in this order of precedence:
//!
//! 1. **Emulator** when the CPU itself is emulated or translated: CPUID vendor `Virtual CPU `
//!    (the x86 emulation layer of Windows on ARM), `PowerVM Lx86`, the `TCGTCGTCGTCG` signature
//!    of QEMU's TCG, a `QEMU` CPU model without any hardware hypervisor signature, Apple's
//!    `VirtualApple` (Rosetta 2).
//! 2. **Virtual machine** on any hypervisor signal: the CPUID hypervisor bit (leaf 1 ECX[31]), a
//!    hypervisor signature in leaf 0x40000000, the `hypervisor` flag of /proc/cpuinfo,
//!    /sys/hypervisor/type, a device-tree hypervisor node, DMI/SMBIOS strings of a hypervisor or
//!    cloud ([`DMI_VM_STRINGS`]), the platform descriptors of partitioned machines
//!    ([`platform_keys`]: PowerVM LPARs, z/VM, sun4v LDoms, QEMU's device tree), and a trapped
//!    CPUID (more than [`CPUID_TRAP_CYCLES`] TSC cycles).
//! 3. **Container** on any container marker (`/.dockerenv`, `/run/.containerenv`, a
//!    `container=` variable of PID 1, container cgroups, a Linux-VServer context...).
//! 4. **Bare metal** otherwise.
//!
//! A machine with both VM and container signals (a container inside a VM, e.g. a CI runner) is
//! a **virtual machine**: the verdict describes the hardware layer, and both earn nothing
//! anyway; the reasons list both.
//!
//! Two host cases show hypervisor signals but run on the physical CPU, and are **bare metal**:
//! the *Hyper-V root partition* (Windows with Hyper-V or VBS enabled: signature `Microsoft Hv`
//! with CPUID 0x40000003 EBX bit 0, CreatePartitions, which only the root partition has) and the
//! *Xen dom0* (`control_d` in /proc/xen/capabilities). Their hypervisor bit, signature, cpuinfo
//! flag and trapped-CPUID signals are explained instead of counted. A nested guest still shows
//! its outer hypervisor's DMI strings, which are counted.
//!
//! What the verdict cannot do: software evidence is reported by the miner, so a determined host
//! can hide a hypervisor (docs/rip-200.md). VMs earn nothing when detected and are never
//! punished, because false positives happen.
//!
//! # Class
//!
//! The CPUID vendor and display family/model select a row of the generation table
//! (`cpu_table.rs`, documented there). The class is then **capped at modern**, with a reason,
//! whenever the evidence cannot support the older class:
//! - no CPUID at all (non-x86, or unreadable): a class from free text alone is not trusted;
//! - an unknown CPU vendor (including emulator vendors);
//! - CPUID features the generation never had (AVX2 on a "Core 2" signature...);
//! - more logical CPUs than any machine of that class had;
//! - a cache-latency curve that contradicts CPUID's cache sizes (when a curve is present).
//!
//! Whatever the miner could not measure is listed among the reasons.

use rustchain_primitives::attestation::{CacheLevel, CachePoint, CpuidEvidence};
use rustchain_primitives::{HardwareClass, HardwareEvidence};

#[path = "cpu_table.rs"]
mod cpu_table;

/// What kind of machine the evidence shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MachineVerdict {
    /// Physical hardware (including a Hyper-V root partition or a Xen dom0: the OS runs on the
    /// physical CPU).
    BareMetal,
    /// A virtual machine guest.
    VirtualMachine,
    /// An instruction-set emulator or binary translator (QEMU TCG, x86 on ARM...).
    Emulator,
    /// A container (Docker, LXC, CRI-O...).
    Container,
}

impl MachineVerdict {
    /// snake_case name for JSON and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            MachineVerdict::BareMetal => "bare_metal",
            MachineVerdict::VirtualMachine => "virtual_machine",
            MachineVerdict::Emulator => "emulator",
            MachineVerdict::Container => "container",
        }
    }

    /// Does this verdict earn rewards? Only bare metal does.
    pub const fn earns(self) -> bool {
        matches!(self, MachineVerdict::BareMetal)
    }
}

/// The outcome of classifying one evidence record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// The hardware class (already capped at `Modern` when the evidence cannot support an
    /// older class).
    pub class: HardwareClass,
    /// The class of the CPU generation CPUID names, before any cap (`Modern` without CPUID
    /// or for an unknown vendor). For display and tests; rewards use `class`.
    pub generation: HardwareClass,
    /// The machine verdict.
    pub verdict: MachineVerdict,
    /// Every reason behind the verdict and the class, for people: each VM or container signal
    /// found, why a class was capped, what could not be measured.
    pub reasons: Vec<String>,
}

/// A CPUID instruction slower than this many TSC cycles (median) was trapped by a hypervisor.
/// Bare metal takes about 100-250 cycles; a VM exit costs well over a thousand.
pub const CPUID_TRAP_CYCLES: u32 = 1_000;

/// Keys of `PlatformEvidence::descriptors`: the platform descriptors of machines whose
/// firmware is not SMBIOS (device tree, POWER, s390, SPARC) and of the Xen control domain.
/// (SMBIOS fields go in `PlatformEvidence::dmi`, named as in /sys/class/dmi/id: `sys_vendor`,
/// `product_name`, `bios_vendor`...)
pub mod platform_keys {
    /// /proc/xen/capabilities (`control_d` in the Xen control domain, empty in a PV guest).
    pub const XEN_CAPABILITIES: &str = "xen:capabilities";
    /// `present` when /sys/bus/xen exists (Xen guest drivers).
    pub const XEN_BUS: &str = "xen:bus";
    /// /proc/device-tree/compatible (`linux,dummy-virt` is QEMU's and kvmtool's virt machine).
    pub const DT_COMPATIBLE: &str = "dt:compatible";
    /// The `compatible` of a /proc/device-tree/fw-cfg@* node (QEMU's firmware config device).
    pub const DT_FW_CFG: &str = "dt:fw-cfg";
    /// The `platform` line of /proc/cpuinfo on POWER (`pSeries` runs under a PAPR hypervisor,
    /// `PowerNV` on bare metal).
    pub const CPUINFO_PLATFORM: &str = "cpuinfo:platform";
    /// The `machine` (or `model`) line of /proc/cpuinfo on POWER.
    pub const CPUINFO_MACHINE: &str = "cpuinfo:machine";
    /// A summary of /proc/ppc64/lparcfg (a PowerVM logical partition).
    pub const PPC64_LPARCFG: &str = "ppc64:lparcfg";
    /// The hypervisor layer named in /proc/sysinfo on s390 (`z/VM 6.4.0`, `LPAR`, `KVM`).
    pub const S390_SYSINFO: &str = "s390:sysinfo";
    /// `present` when /dev/mdesc exists (sun4v machine description: a Logical Domain).
    pub const SPARC_MDESC: &str = "sparc:mdesc";
}

/// DMI substrings (lower case) that name a hypervisor or a cloud VM platform, with the name
/// used in reasons. Short names are matched as whole words (`kvm` does not match `iKVM`).
/// `Microsoft Corporation` is a VM only with the product `Virtual Machine` (a Surface is
/// not), and `Amazon EC2` is not a VM on a `.metal` instance.
pub const DMI_VM_STRINGS: &[(&str, &str)] = &[
    ("qemu", "QEMU"),
    ("kvm", "KVM"),
    ("bochs", "QEMU/Bochs firmware"),
    ("vmware", "VMware"),
    ("virtualbox", "VirtualBox"),
    ("innotek", "VirtualBox (innotek)"),
    ("xen", "Xen"),
    ("hvm domu", "Xen HVM guest"),
    ("parallels", "Parallels"),
    ("bhyve", "bhyve"),
    ("amazon ec2", "Amazon EC2"),
    ("google compute engine", "Google Compute Engine"),
    ("openstack", "OpenStack"),
    ("alibaba cloud", "Alibaba Cloud ECS"),
    ("rhev hypervisor", "Red Hat Virtualization"),
    ("ovirt", "oVirt"),
    ("kubevirt", "KubeVirt"),
    ("cloud hypervisor", "Cloud Hypervisor"),
    ("digitalocean", "DigitalOcean"),
    ("nutanix", "Nutanix AHV"),
    ("virtualmac", "Apple Virtualization framework"),
];

/// Known CPUID 0x40000000 signatures, for readable reasons.
const HYPERVISOR_SIGNATURES: &[(&str, &str)] = &[
    ("KVMKVMKVM", "KVM"),
    ("Microsoft Hv", "Hyper-V"),
    ("VMwareVMware", "VMware"),
    ("XenVMMXenVMM", "Xen"),
    ("VBoxVBoxVBox", "VirtualBox"),
    ("bhyve bhyve", "bhyve"),
    ("prl hyperv", "Parallels"),
    ("lrpepyh  vr", "Parallels"),
    ("ACRNACRNACRN", "ACRN"),
    ("QNXQVMBSQG", "QNX hypervisor"),
    ("LKVMLKVMLKVM", "kvmtool"),
    ("OpenBSDVMM58", "OpenBSD vmm"),
    ("HAXMHAXMHAXM", "Intel HAXM"),
    ("Jailhouse", "Jailhouse"),
    ("Apple VZ", "Apple Virtualization framework"),
];

/// Classifies evidence.
pub fn classify(evidence: &HardwareEvidence) -> Classification {
    let facts = Facts::new(evidence);
    let mut emulator = Vec::new();
    let mut vm = Vec::new();
    let mut container = Vec::new();
    let mut host = Vec::new();

    emulator_signals(&facts, &mut emulator);
    hypervisor_signals(&facts, &mut vm, &mut host);
    for marker in &facts.container_markers {
        container.push(format!("container marker: {marker}"));
    }

    let verdict = if !emulator.is_empty() {
        MachineVerdict::Emulator
    } else if !vm.is_empty() {
        MachineVerdict::VirtualMachine
    } else if !container.is_empty() {
        MachineVerdict::Container
    } else {
        MachineVerdict::BareMetal
    };

    let mut reasons = Vec::new();
    reasons.append(&mut emulator);
    reasons.append(&mut vm);
    reasons.append(&mut container);
    reasons.append(&mut host);
    if verdict == MachineVerdict::BareMetal {
        reasons.push("no hypervisor, emulator or container signal found".into());
    }
    let (class, generation) = hardware_class(evidence, &mut reasons);
    for note in &facts.unmeasured {
        reasons.push(format!("not measured: {note}"));
    }
    dedup_in_order(&mut reasons);
    Classification {
        class,
        generation,
        verdict,
        reasons,
    }
}

/// The evidence, normalised: lists sorted, SMBIOS fields apart from platform descriptors.
struct Facts<'a> {
    evidence: &'a HardwareEvidence,
    /// SMBIOS fields, sorted, values trimmed, empty values dropped.
    dmi: Vec<(&'a str, &'a str)>,
    /// Platform descriptors (`source:key`), sorted.
    platform: Vec<(&'a str, &'a str)>,
    container_markers: Vec<&'a str>,
    unmeasured: Vec<&'a str>,
    hyperv_root: bool,
    xen_dom0: bool,
}

impl<'a> Facts<'a> {
    fn new(evidence: &'a HardwareEvidence) -> Self {
        let mut dmi = Vec::new();
        let mut platform = Vec::new();
        for (field, value) in &evidence.platform.dmi {
            let pair = (field.trim(), value.trim());
            if !pair.1.is_empty() {
                dmi.push(pair);
            }
        }
        for (key, value) in &evidence.platform.descriptors {
            platform.push((key.trim(), value.trim()));
        }
        dmi.sort_unstable();
        dmi.dedup();
        platform.sort_unstable();
        platform.dedup();
        let mut container_markers: Vec<&str> = evidence
            .platform
            .container_markers
            .iter()
            .map(|m| m.trim())
            .filter(|m| !m.is_empty())
            .collect();
        container_markers.sort_unstable();
        container_markers.dedup();
        let mut unmeasured: Vec<&str> = evidence
            .unmeasured
            .iter()
            .map(|m| m.trim())
            .filter(|m| !m.is_empty())
            .collect();
        unmeasured.sort_unstable();
        unmeasured.dedup();

        let hyperv_root = evidence.cpuid.as_ref().is_some_and(|c| {
            c.hyperv_root_partition && signature(c).is_some_and(|s| s == "Microsoft Hv")
        });
        let xen_dom0 = platform
            .iter()
            .any(|(k, v)| *k == platform_keys::XEN_CAPABILITIES && v.contains("control_d"));
        Facts {
            evidence,
            dmi,
            platform,
            container_markers,
            unmeasured,
            hyperv_root,
            xen_dom0,
        }
    }

    fn platform(&self, key: &'static str) -> impl Iterator<Item = &'a str> + '_ {
        self.platform
            .iter()
            .filter(move |(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    fn dmi(&self, field: &str) -> Option<&'a str> {
        self.dmi.iter().find(|(k, _)| *k == field).map(|(_, v)| *v)
    }

    /// Signals of a hypervisor *below a host OS* are explained, not counted.
    fn host_exempt(&self) -> bool {
        self.hyperv_root || self.xen_dom0
    }
}

/// The 0x40000000 signature, trimmed of padding; `None` when absent or blank.
fn signature(cpu: &CpuidEvidence) -> Option<&str> {
    cpu.hypervisor_vendor
        .as_deref()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c.is_whitespace()))
        .filter(|s| !s.is_empty())
}

fn hypervisor_name(sig: &str) -> Option<&'static str> {
    HYPERVISOR_SIGNATURES
        .iter()
        .find(|(known, _)| sig.starts_with(known.trim()))
        .map(|(_, name)| *name)
}

fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack.to_ascii_lowercase().contains(needle)
}

/// Is `word` one of the alphanumeric words of `text` (case-insensitive)?
fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case(word))
}

fn emulator_signals(facts: &Facts<'_>, out: &mut Vec<String>) {
    let Some(cpu) = facts.evidence.cpuid.as_ref() else {
        return;
    };
    let vendor = cpu.vendor.trim();
    if vendor == "Virtual CPU" {
        out.push("CPUID vendor 'Virtual CPU ': the x86 emulation layer of Windows on ARM".into());
    }
    if vendor == "PowerVM Lx86" {
        out.push("CPUID vendor 'PowerVM Lx86': IBM's x86 binary translator on POWER".into());
    }
    let sig = signature(cpu);
    if sig == Some("TCGTCGTCGTCG") {
        out.push("CPUID 0x40000000 signature 'TCGTCGTCGTCG': QEMU TCG emulation".into());
    }
    if contains_ci(&cpu.brand, "qemu") && sig.is_none() {
        out.push(format!(
            "QEMU CPU model '{}' without a hardware hypervisor signature: QEMU TCG emulation",
            cpu.brand
        ));
    }
    if contains_ci(&cpu.brand, "virtualapple") {
        out.push(format!(
            "CPU brand '{}': Apple Rosetta 2 translation",
            cpu.brand
        ));
    }
}

fn hypervisor_signals(facts: &Facts<'_>, vm: &mut Vec<String>, host: &mut Vec<String>) {
    let evidence = facts.evidence;
    let platform = &evidence.platform;
    if facts.hyperv_root {
        host.push(
            "Hyper-V root partition (signature 'Microsoft Hv' with CPUID 0x40000003 EBX bit 0, \
             CreatePartitions): the OS runs on the physical CPU with Hyper-V enabled; its \
             hypervisor bit is not counted"
                .into(),
        );
    }
    if facts.xen_dom0 {
        host.push(
            "Xen dom0 (control_d in /proc/xen/capabilities): the control domain drives the \
             physical machine; its Xen signals are not counted"
                .into(),
        );
    }

    if let Some(cpu) = evidence.cpuid.as_ref() {
        let sig = signature(cpu);
        if let Some(sig) = sig {
            let exempt = (facts.hyperv_root && sig == "Microsoft Hv")
                || (facts.xen_dom0 && sig.starts_with("XenVMM"))
                || sig == "TCGTCGTCGTCG";
            if !exempt {
                let name = hypervisor_name(sig).unwrap_or("unknown hypervisor");
                vm.push(format!(
                    "CPUID 0x40000000 hypervisor signature '{sig}' ({name})"
                ));
            }
        }
        if cpu.hypervisor_bit && !facts.host_exempt() {
            vm.push("CPUID.1:ECX[31] (hypervisor present) is set".into());
        }
    }
    if platform.cpuinfo_hypervisor_flag && !facts.host_exempt() {
        vm.push("/proc/cpuinfo lists the 'hypervisor' flag".into());
    }
    if let Some(t) = platform.sys_hypervisor.as_deref().map(str::trim) {
        let dom0_xen = facts.xen_dom0 && t.eq_ignore_ascii_case("xen");
        if !t.is_empty() && !dom0_xen {
            vm.push(format!("/sys/hypervisor/type is '{t}'"));
        }
    }
    if let Some(c) = platform.device_tree_hypervisor.as_deref().map(str::trim) {
        let dom0_xen = facts.xen_dom0 && contains_ci(c, "xen");
        if !c.is_empty() && !dom0_xen {
            vm.push(format!("device tree hypervisor node: '{c}'"));
        }
    }
    dmi_signals(facts, vm);
    platform_signals(facts, vm);
    if let Some(cycles) = evidence.timing.cpuid_cycles {
        if cycles > CPUID_TRAP_CYCLES {
            if facts.host_exempt() {
                host.push(format!(
                    "CPUID takes {cycles} cycles: trapped by the hypervisor under this host OS"
                ));
            } else {
                vm.push(format!(
                    "CPUID takes {cycles} cycles (above {CPUID_TRAP_CYCLES}): trapped by a \
                     hypervisor (bare metal takes about 100-250)"
                ));
            }
        }
    }
}

fn dmi_signals(facts: &Facts<'_>, vm: &mut Vec<String>) {
    let product = facts.dmi("product_name").unwrap_or("");
    for (field, value) in &facts.dmi {
        let lower = value.to_ascii_lowercase();
        for (needle, name) in DMI_VM_STRINGS {
            let hit = if needle.contains(' ') || needle.len() > 6 {
                lower.contains(needle)
            } else {
                has_word(value, needle)
            };
            if !hit {
                continue;
            }
            if *needle == "amazon ec2" && contains_ci(product, ".metal") {
                continue;
            }
            vm.push(format!("DMI {field} '{value}' names {name}"));
        }
        if *field == "sys_vendor"
            && lower.contains("microsoft")
            && product.eq_ignore_ascii_case("virtual machine")
        {
            vm.push(format!(
                "DMI sys_vendor '{value}' with product_name '{product}': a Hyper-V guest"
            ));
        }
    }
}

fn platform_signals(facts: &Facts<'_>, vm: &mut Vec<String>) {
    use platform_keys as k;
    for v in facts.platform(k::DT_COMPATIBLE) {
        if contains_ci(v, "dummy-virt") || contains_ci(v, "qemu") {
            vm.push(format!(
                "device tree compatible '{v}': a QEMU/kvmtool virtual machine"
            ));
        }
    }
    for v in facts.platform(k::DT_FW_CFG) {
        vm.push(format!("device tree has QEMU's fw-cfg device ('{v}')"));
    }
    for v in facts.platform(k::CPUINFO_PLATFORM) {
        if v.eq_ignore_ascii_case("pseries") {
            vm.push(
                "POWER platform 'pSeries': a logical partition under a PAPR hypervisor \
                 (PowerVM or KVM)"
                    .into(),
            );
        }
    }
    for v in facts.platform(k::CPUINFO_MACHINE) {
        if contains_ci(v, "qemu") {
            vm.push(format!("/proc/cpuinfo machine '{v}'"));
        }
    }
    for v in facts.platform(k::PPC64_LPARCFG) {
        vm.push(format!(
            "PowerVM logical partition (/proc/ppc64/lparcfg: {v})"
        ));
    }
    for v in facts.platform(k::S390_SYSINFO) {
        vm.push(format!("s390 guest of {v} (/proc/sysinfo)"));
    }
    if facts.platform(k::SPARC_MDESC).next().is_some() {
        vm.push("sun4v machine description (/dev/mdesc): a Logical Domain".into());
    }
    if !facts.xen_dom0 {
        if facts.platform(k::XEN_BUS).next().is_some() {
            vm.push("/sys/bus/xen exists: Xen guest drivers".into());
        }
        if facts.platform(k::XEN_CAPABILITIES).next().is_some() {
            vm.push("/proc/xen without control_d: a Xen guest domain".into());
        }
    }
}

/// Returns (the class, the generation's class before caps).
fn hardware_class(
    evidence: &HardwareEvidence,
    reasons: &mut Vec<String>,
) -> (HardwareClass, HardwareClass) {
    let Some(cpu) = evidence.cpuid.as_ref() else {
        let what = evidence
            .platform
            .cpuinfo_model
            .as_deref()
            .map(|m| format!(" (CPU named '{m}')"))
            .unwrap_or_default();
        reasons.push(format!(
            "no CPUID evidence{what}: a class from text alone is capped at modern"
        ));
        return (HardwareClass::Modern, HardwareClass::Modern);
    };
    let generation = match cpu_table::lookup(cpu) {
        Ok(generation) => generation,
        Err(cpu_table::Miss::UnknownVendor) => {
            reasons.push(format!(
                "unknown CPU vendor '{}': class capped at modern",
                cpu.vendor
            ));
            return (HardwareClass::Modern, HardwareClass::Modern);
        }
    };
    reasons.push(format!(
        "CPU {} family {:#x} model {:#x}: {} ({})",
        cpu.vendor.trim(),
        cpu.family(),
        cpu.model(),
        generation.name,
        generation.class.as_str()
    ));
    let class = generation.class;
    if class == HardwareClass::Modern {
        return (class, class);
    }
    let mut caps = Vec::new();
    let extra = cpu.features & cpu_table::forbidden_features(class, cpu);
    if extra != 0 {
        let names = CpuidEvidence::feature_names(extra);
        caps.push(format!(
            "CPUID reports {} which no {} CPU had",
            names.join(", "),
            generation.name
        ));
    }
    let max_cpus = cpu_table::max_logical_cpus(class);
    if evidence.logical_cpus > max_cpus {
        caps.push(format!(
            "{} logical CPUs, more than any {} machine had ({max_cpus})",
            evidence.logical_cpus,
            class.as_str()
        ));
    }
    if cpu.caches.is_empty() || evidence.timing.cache_curve.len() < MIN_CURVE_POINTS {
        // Thin evidence: a bare signature is one field to fake.
        caps.push(format!(
            "no CPUID cache description and cache-latency curve (at least {MIN_CURVE_POINTS} \
             points) to corroborate a {} CPU",
            class.as_str()
        ));
    } else if let Some(why) = curve_contradicts_caches(&evidence.timing.cache_curve, &cpu.caches) {
        caps.push(why);
    }
    if caps.is_empty() {
        return (class, class);
    }
    for cap in caps {
        reasons.push(format!("{cap}: class capped at modern"));
    }
    (HardwareClass::Modern, class)
}

/// Fewest cache-latency curve points that can corroborate an older class.
pub const MIN_CURVE_POINTS: usize = 4;

/// Does the measured cache-latency curve contradict the caches CPUID describes? Conservative:
/// only a curve that is clearly inconsistent counts.
/// - Working sets up to half the L1 data cache must stay within 3x the fastest latency (they
///   fit in L1, so a big rise there means the "L1" is not that size).
/// - Working sets of at least 4x the last-level cache must be at least 1.5x slower than the
///   working set of half the last-level cache (past the last cache, loads go to DRAM); the
///   first point at or beyond 4x is the one compared.
fn curve_contradicts_caches(curve: &[CachePoint], caches: &[CacheLevel]) -> Option<String> {
    if curve.len() < 4 || caches.is_empty() {
        return None;
    }
    let fastest = curve.iter().map(|p| u64::from(p.latency_ps)).min()?;
    if fastest == 0 {
        return None;
    }
    let l1d = caches
        .iter()
        .filter(|c| c.level == 1 && (c.kind == 1 || c.kind == 3))
        .map(|c| c.size_kib)
        .max();
    if let Some(l1d) = l1d {
        let half = l1d / 2;
        if let Some(p) = curve
            .iter()
            .filter(|p| p.working_set_kib <= half)
            .find(|p| u64::from(p.latency_ps) > fastest.saturating_mul(3))
        {
            return Some(format!(
                "the cache-latency curve rises to {} ps at {} KiB, inside CPUID's {} KiB L1 data \
                 cache",
                p.latency_ps, p.working_set_kib, l1d
            ));
        }
    }
    let llc = caches
        .iter()
        .filter(|c| c.kind != 2)
        .max_by_key(|c| (c.level, c.size_kib))?;
    let inside = curve
        .iter()
        .filter(|p| p.working_set_kib <= llc.size_kib / 2)
        .max_by_key(|p| p.working_set_kib)?;
    let beyond_point = curve
        .iter()
        .filter(|p| u64::from(p.working_set_kib) >= u64::from(llc.size_kib).saturating_mul(4))
        .min_by_key(|p| p.working_set_kib)?;
    let beyond = u64::from(beyond_point.latency_ps);
    // beyond >= 1.5 x inside, in integers.
    if beyond.saturating_mul(2) < u64::from(inside.latency_ps).saturating_mul(3) {
        return Some(format!(
            "the cache-latency curve shows no step past CPUID's {} KiB L{} cache ({} ps at {} \
             KiB, {} ps at {} KiB)",
            llc.size_kib,
            llc.level,
            inside.latency_ps,
            inside.working_set_kib,
            beyond,
            beyond_point.working_set_kib
        ));
    }
    None
}

fn dedup_in_order(reasons: &mut Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    reasons.retain(|r| seen.insert(r.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustchain_primitives::attestation::{PlatformEvidence, TimingEvidence};
    use rustchain_primitives::Arch;

    fn cpu(vendor: &str, brand: &str, signature: u32) -> CpuidEvidence {
        CpuidEvidence {
            vendor: vendor.into(),
            brand: brand.into(),
            signature,
            features: 0,
            caches: vec![],
            hypervisor_bit: false,
            hypervisor_vendor: None,
            hyperv_root_partition: false,
            microcode: None,
        }
    }

    fn ryzen() -> HardwareEvidence {
        HardwareEvidence {
            arch: Arch::X86_64,
            cpuid: Some(CpuidEvidence {
                features: CpuidEvidence::FEATURE_AVX2 | CpuidEvidence::FEATURE_SHA,
                caches: vec![CacheLevel::new(1, 1, 32), CacheLevel::new(3, 3, 32_768)],
                ..cpu(
                    "AuthenticAMD",
                    "AMD Ryzen 5 7600X 6-Core Processor",
                    0x00a60f12,
                )
            }),
            logical_cpus: 12,
            physical_cores: Some(6),
            memory_mib: 32_000,
            os: "Linux".into(),
            platform: PlatformEvidence::default(),
            timing: TimingEvidence {
                cpuid_cycles: Some(180),
                ..TimingEvidence::default()
            },
            unmeasured: vec![],
        }
    }

    fn with_cpu(c: CpuidEvidence) -> HardwareEvidence {
        HardwareEvidence {
            cpuid: Some(c),
            logical_cpus: 1,
            ..ryzen()
        }
    }

    fn has_reason(c: &Classification, needle: &str) -> bool {
        c.reasons.iter().any(|r| r.contains(needle))
    }

    #[test]
    fn a_plain_ryzen_is_modern_bare_metal() {
        let c = classify(&ryzen());
        assert_eq!(c.verdict, MachineVerdict::BareMetal, "{:?}", c.reasons);
        assert_eq!(c.class, HardwareClass::Modern);
        assert!(has_reason(&c, "no hypervisor"));
    }

    #[test]
    fn hypervisor_bit_and_signature_each_give_a_reason() {
        let mut e = ryzen();
        if let Some(c) = e.cpuid.as_mut() {
            c.hypervisor_bit = true;
            c.hypervisor_vendor = Some("KVMKVMKVM\0\0\0".into());
        }
        let c = classify(&e);
        assert_eq!(c.verdict, MachineVerdict::VirtualMachine);
        assert!(has_reason(&c, "'KVMKVMKVM' (KVM)"), "{:?}", c.reasons);
        assert!(has_reason(&c, "ECX[31]"));
        // The bit alone is enough.
        if let Some(cpu) = e.cpuid.as_mut() {
            cpu.hypervisor_vendor = None;
        }
        assert_eq!(classify(&e).verdict, MachineVerdict::VirtualMachine);
    }

    #[test]
    fn hyperv_root_partition_is_bare_metal_but_a_hyperv_guest_is_not() {
        let mut e = ryzen();
        if let Some(c) = e.cpuid.as_mut() {
            c.hypervisor_bit = true;
            c.hypervisor_vendor = Some("Microsoft Hv".into());
            c.hyperv_root_partition = true;
        }
        e.timing.cpuid_cycles = Some(2_500);
        let c = classify(&e);
        assert_eq!(c.verdict, MachineVerdict::BareMetal, "{:?}", c.reasons);
        assert!(has_reason(&c, "Hyper-V root partition"));
        if let Some(c) = e.cpuid.as_mut() {
            c.hyperv_root_partition = false;
        }
        assert_eq!(classify(&e).verdict, MachineVerdict::VirtualMachine);
        // The root bit means nothing under another hypervisor's signature.
        if let Some(c) = e.cpuid.as_mut() {
            c.hyperv_root_partition = true;
            c.hypervisor_vendor = Some("KVMKVMKVM".into());
        }
        assert_eq!(classify(&e).verdict, MachineVerdict::VirtualMachine);
    }

    #[test]
    fn a_nested_root_partition_still_shows_its_outer_hypervisor_in_dmi() {
        let mut e = ryzen();
        if let Some(c) = e.cpuid.as_mut() {
            c.hypervisor_bit = true;
            c.hypervisor_vendor = Some("Microsoft Hv".into());
            c.hyperv_root_partition = true;
        }
        e.platform.dmi = vec![
            ("sys_vendor".into(), "Microsoft Corporation".into()),
            ("product_name".into(), "Virtual Machine".into()),
        ];
        let c = classify(&e);
        assert_eq!(c.verdict, MachineVerdict::VirtualMachine);
        assert!(has_reason(&c, "Hyper-V guest"));
    }

    #[test]
    fn surface_laptop_is_not_a_vm() {
        let mut e = ryzen();
        e.platform.dmi = vec![
            ("sys_vendor".into(), "Microsoft Corporation".into()),
            ("product_name".into(), "Surface Laptop 3".into()),
            ("bios_vendor".into(), "Microsoft Corporation".into()),
        ];
        let c = classify(&e);
        assert_eq!(c.verdict, MachineVerdict::BareMetal, "{:?}", c.reasons);
    }

    #[test]
    fn dmi_strings_name_hypervisors() {
        for (field, value) in [
            ("sys_vendor", "QEMU"),
            ("product_name", "VMware Virtual Platform"),
            ("product_name", "VirtualBox"),
            ("sys_vendor", "innotek GmbH"),
            ("bios_vendor", "Xen"),
            ("bios_vendor", "Bochs"),
            ("sys_vendor", "Parallels Software International Inc."),
            ("bios_vendor", "BHYVE"),
            ("sys_vendor", "Amazon EC2"),
            ("product_name", "Google Compute Engine"),
            ("product_name", "OpenStack Nova"),
            ("product_name", "KVM"),
        ] {
            let mut e = ryzen();
            e.platform.dmi = vec![(field.into(), value.into())];
            let c = classify(&e);
            assert_eq!(c.verdict, MachineVerdict::VirtualMachine, "{field}={value}");
            assert!(has_reason(&c, value), "{:?}", c.reasons);
        }
        // Words, not substrings: a board with iKVM or a Xenon-named product is not a VM.
        for (field, value) in [
            ("board_name", "X11SPi-TF iKVM"),
            ("product_name", "Xenomorph 3000"),
        ] {
            let mut e = ryzen();
            e.platform.dmi = vec![(field.into(), value.into())];
            assert_eq!(classify(&e).verdict, MachineVerdict::BareMetal, "{value}");
        }
        // An EC2 bare-metal instance.
        let mut e = ryzen();
        e.platform.dmi = vec![
            ("sys_vendor".into(), "Amazon EC2".into()),
            ("product_name".into(), "c5.metal".into()),
        ];
        assert_eq!(classify(&e).verdict, MachineVerdict::BareMetal);
    }

    #[test]
    fn sys_hypervisor_cpuinfo_flag_and_device_tree() {
        let mut e = ryzen();
        e.platform.sys_hypervisor = Some("xen".into());
        assert_eq!(classify(&e).verdict, MachineVerdict::VirtualMachine);
        let mut e = ryzen();
        e.platform.cpuinfo_hypervisor_flag = true;
        assert_eq!(classify(&e).verdict, MachineVerdict::VirtualMachine);
        let mut e = ryzen();
        e.arch = Arch::Aarch64;
        e.cpuid = None;
        e.platform.device_tree_hypervisor = Some("vmware".into());
        let c = classify(&e);
        assert_eq!(c.verdict, MachineVerdict::VirtualMachine);
        assert!(has_reason(&c, "device tree hypervisor node: 'vmware'"));
    }

    #[test]
    fn xen_dom0_is_bare_metal_and_a_pv_guest_is_not() {
        let mut e = ryzen();
        e.platform.sys_hypervisor = Some("xen".into());
        e.platform.descriptors = vec![
            (platform_keys::XEN_CAPABILITIES.into(), "control_d".into()),
            (platform_keys::XEN_BUS.into(), "present".into()),
        ];
        let c = classify(&e);
        assert_eq!(c.verdict, MachineVerdict::BareMetal, "{:?}", c.reasons);
        assert!(has_reason(&c, "Xen dom0"));
        e.platform.descriptors = vec![(platform_keys::XEN_CAPABILITIES.into(), String::new())];
        assert_eq!(classify(&e).verdict, MachineVerdict::VirtualMachine);
    }

    #[test]
    fn partitioned_platforms_are_vms() {
        for (key, value) in [
            (platform_keys::PPC64_LPARCFG, "partition_id=2"),
            (platform_keys::CPUINFO_PLATFORM, "pSeries"),
            (
                platform_keys::CPUINFO_MACHINE,
                "CHRP IBM pSeries (emulated by qemu)",
            ),
            (platform_keys::S390_SYSINFO, "z/VM 5.3.0"),
            (platform_keys::SPARC_MDESC, "present"),
            (platform_keys::DT_COMPATIBLE, "linux,dummy-virt"),
            (platform_keys::DT_FW_CFG, "qemu,fw-cfg-mmio"),
            (platform_keys::XEN_BUS, "present"),
        ] {
            let mut e = ryzen();
            e.cpuid = None;
            e.arch = Arch::Other;
            e.platform.descriptors = vec![(key.into(), value.into())];
            assert_eq!(
                classify(&e).verdict,
                MachineVerdict::VirtualMachine,
                "{key}={value}"
            );
        }
        // PowerNV (bare-metal POWER) is not.
        let mut e = ryzen();
        e.cpuid = None;
        e.platform.dmi = vec![(platform_keys::CPUINFO_PLATFORM.into(), "PowerNV".into())];
        assert_eq!(classify(&e).verdict, MachineVerdict::BareMetal);
    }

    #[test]
    fn trapped_cpuid_is_a_vm_signal_with_a_threshold() {
        let mut e = ryzen();
        e.timing.cpuid_cycles = Some(CPUID_TRAP_CYCLES);
        assert_eq!(classify(&e).verdict, MachineVerdict::BareMetal);
        e.timing.cpuid_cycles = Some(CPUID_TRAP_CYCLES + 1);
        let c = classify(&e);
        assert_eq!(c.verdict, MachineVerdict::VirtualMachine);
        assert!(has_reason(&c, "trapped"));
    }

    #[test]
    fn containers_and_vm_plus_container() {
        let mut e = ryzen();
        e.platform.container_markers = vec!["/.dockerenv".into(), "cgroup:docker".into()];
        let c = classify(&e);
        assert_eq!(c.verdict, MachineVerdict::Container);
        assert!(has_reason(&c, "/.dockerenv") && has_reason(&c, "cgroup:docker"));
        // Inside a VM: the VM wins, both are listed.
        if let Some(cpu) = e.cpuid.as_mut() {
            cpu.hypervisor_bit = true;
        }
        let c = classify(&e);
        assert_eq!(c.verdict, MachineVerdict::VirtualMachine);
        assert!(has_reason(&c, "/.dockerenv") && has_reason(&c, "ECX[31]"));
        assert!(!c.verdict.earns());
    }

    #[test]
    fn emulators() {
        let e = with_cpu(cpu("Virtual CPU ", "Virtual CPU @ 2.74GHz", 0x0f4a));
        let c = classify(&e);
        assert_eq!(c.verdict, MachineVerdict::Emulator);
        assert_eq!(c.class, HardwareClass::Modern);
        assert!(has_reason(&c, "unknown CPU vendor"));
        let e = with_cpu(cpu("PowerVM Lx86", "PowerVM Lx86", 0x0686));
        assert_eq!(classify(&e).verdict, MachineVerdict::Emulator);
        // QEMU's CPU model with no KVM signature: TCG. With a KVM signature: a KVM guest.
        let mut tcg = cpu("AuthenticAMD", "QEMU Virtual CPU version 2.5+", 0x0663);
        tcg.hypervisor_bit = true;
        assert_eq!(
            classify(&with_cpu(tcg.clone())).verdict,
            MachineVerdict::Emulator
        );
        tcg.hypervisor_vendor = Some("KVMKVMKVM".into());
        assert_eq!(
            classify(&with_cpu(tcg.clone())).verdict,
            MachineVerdict::VirtualMachine
        );
        tcg.hypervisor_vendor = Some("TCGTCGTCGTCG".into());
        assert_eq!(classify(&with_cpu(tcg)).verdict, MachineVerdict::Emulator);
    }

    #[test]
    fn class_from_the_table() {
        let p3 = with_cpu(cpu("GenuineIntel", "Pentium III", 0x0683));
        assert_eq!(classify(&p3).generation, HardwareClass::Retro);
        let core2 = with_cpu(cpu("GenuineIntel", "Core 2", 0x06f6));
        assert_eq!(classify(&core2).generation, HardwareClass::Vintage);
        let ivy = with_cpu(cpu("GenuineIntel", "i7-3770K", 0x306a9));
        assert_eq!(classify(&ivy).generation, HardwareClass::Classic);
        assert_eq!(classify(&ryzen()).class, HardwareClass::Modern);
        // A bare signature, with no cache description and no curve, is thin evidence.
        for thin in [p3, core2, ivy] {
            let c = classify(&thin);
            assert_eq!(c.class, HardwareClass::Modern);
            assert!(has_reason(&c, "to corroborate"), "{:?}", c.reasons);
        }
    }

    #[test]
    fn features_a_generation_never_had_cap_the_class() {
        let mut c = cpu("GenuineIntel", "Core 2", 0x06f6);
        c.features |= CpuidEvidence::FEATURE_AVX2 | CpuidEvidence::FEATURE_SHA;
        let result = classify(&with_cpu(c));
        assert_eq!(result.class, HardwareClass::Modern);
        assert!(has_reason(&result, "AVX2, SHA"), "{:?}", result.reasons);
        let mut p3 = cpu("GenuineIntel", "Pentium III", 0x0683);
        p3.features = CpuidEvidence::FEATURE_SSE2;
        assert_eq!(classify(&with_cpu(p3)).class, HardwareClass::Modern);
        let mut ivy = cpu("GenuineIntel", "i7-3770K", 0x306a9);
        ivy.features |= CpuidEvidence::FEATURE_AVX512F;
        assert_eq!(classify(&with_cpu(ivy)).class, HardwareClass::Modern);
    }

    #[test]
    fn too_many_cpus_cap_the_class() {
        let mut e = with_cpu(cpu("GenuineIntel", "Pentium III", 0x0683));
        e.logical_cpus = 64;
        let c = classify(&e);
        assert_eq!(c.class, HardwareClass::Modern);
        assert!(has_reason(&c, "64 logical CPUs"));
    }

    #[test]
    fn no_cpuid_and_unknown_vendors_are_capped() {
        let mut e = ryzen();
        e.cpuid = None;
        e.arch = Arch::Powerpc;
        e.platform.cpuinfo_model = Some("7447A, altivec supported".into());
        let c = classify(&e);
        assert_eq!(c.class, HardwareClass::Modern);
        assert!(has_reason(&c, "no CPUID evidence"));
        let e = with_cpu(cpu("GenuineIotel", "typo", 0x306c3));
        assert!(has_reason(&classify(&e), "unknown CPU vendor"));
    }

    fn curve(points: &[(u32, u32)]) -> Vec<CachePoint> {
        points
            .iter()
            .map(|&(working_set_kib, latency_ps)| CachePoint {
                working_set_kib,
                latency_ps,
            })
            .collect()
    }

    fn core2_with_curve(points: &[(u32, u32)]) -> HardwareEvidence {
        let mut c = cpu("GenuineIntel", "Core 2", 0x06f6);
        c.caches = vec![CacheLevel::new(1, 1, 32), CacheLevel::new(2, 3, 4_096)];
        let mut e = with_cpu(c);
        e.timing.cache_curve = curve(points);
        e
    }

    #[test]
    fn a_consistent_cache_curve_keeps_the_class() {
        let e = core2_with_curve(&[
            (4, 1_000),
            (16, 1_000),
            (64, 5_000),
            (1_024, 6_000),
            (2_048, 7_000),
            (16_384, 80_000),
            (65_536, 100_000),
        ]);
        let c = classify(&e);
        assert_eq!(c.class, HardwareClass::Vintage, "{:?}", c.reasons);
    }

    #[test]
    fn a_contradicting_cache_curve_caps_the_class() {
        // Flat past the claimed 4 MiB L2: a big modern L3 behind a "Core 2" signature.
        let flat = core2_with_curve(&[
            (4, 1_000),
            (16, 1_000),
            (64, 4_000),
            (2_048, 10_000),
            (16_384, 12_000),
            (65_536, 60_000),
        ]);
        let c = classify(&flat);
        assert_eq!(c.class, HardwareClass::Modern);
        assert!(has_reason(&c, "no step past"), "{:?}", c.reasons);
        // Slow inside the claimed L1.
        let slow_l1 = core2_with_curve(&[(4, 1_000), (8, 4_000), (16, 5_000), (65_536, 100_000)]);
        let c = classify(&slow_l1);
        assert_eq!(c.class, HardwareClass::Modern);
        assert!(
            has_reason(&c, "inside CPUID's 32 KiB L1"),
            "{:?}",
            c.reasons
        );
        // Too few points to corroborate anything: thin evidence, capped.
        let short = core2_with_curve(&[(4, 1_000), (8, 9_000)]);
        let c = classify(&short);
        assert_eq!(
            (c.class, c.generation),
            (HardwareClass::Modern, HardwareClass::Vintage)
        );
        assert!(has_reason(&c, "to corroborate"), "{:?}", c.reasons);
    }

    #[test]
    fn unmeasured_items_become_reasons() {
        let mut e = ryzen();
        e.unmeasured = vec!["cpuid latency: not measured in replay".into()];
        assert!(has_reason(
            &classify(&e),
            "not measured: cpuid latency: not measured in replay"
        ));
    }

    #[test]
    fn classification_does_not_depend_on_list_order() {
        let mut e = ryzen();
        e.platform.dmi = vec![
            ("sys_vendor".into(), "QEMU".into()),
            ("bios_vendor".into(), "SeaBIOS".into()),
            (
                "product_name".into(),
                "Standard PC (Q35 + ICH9, 2009)".into(),
            ),
            ("board_vendor".into(), "Bochs".into()),
            (
                platform_keys::DT_COMPATIBLE.into(),
                "linux,dummy-virt".into(),
            ),
        ];
        e.platform.container_markers = vec![
            "/.dockerenv".into(),
            "cgroup:docker".into(),
            "/run/.containerenv".into(),
        ];
        e.unmeasured = vec!["b".into(), "a".into(), "c".into()];
        let reference = classify(&e);
        let mut shuffled = e.clone();
        for rotation in 0..5 {
            shuffled.platform.dmi.rotate_left(1);
            shuffled.platform.container_markers.rotate_left(1);
            shuffled.unmeasured.rotate_left(1);
            if rotation % 2 == 1 {
                shuffled.platform.dmi.reverse();
            }
            assert_eq!(classify(&shuffled), reference);
        }
    }
}
