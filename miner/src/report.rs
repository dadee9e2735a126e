//! Human-readable and JSON renderings of a fingerprint.

use std::fmt::Write as _;

use rustchain_consensus::rip200::MachineVerdict;
use rustchain_primitives::attestation::CpuidEvidence;
use serde_json::json;

use crate::evidence::Fingerprint;

/// What a verdict means for the miner, in one line.
pub fn verdict_line(verdict: MachineVerdict) -> &'static str {
    match verdict {
        MachineVerdict::BareMetal => "BARE METAL: earns rewards by its hardware class",
        MachineVerdict::VirtualMachine => {
            "VIRTUAL MACHINE: earns nothing (weight 0); never punished, run it on the host instead"
        }
        MachineVerdict::Emulator => {
            "EMULATOR: earns nothing (weight 0); never punished, run a native build instead"
        }
        MachineVerdict::Container => {
            "CONTAINER: earns nothing (weight 0); never punished, run it outside the container"
        }
    }
}

/// The text report.
pub fn text(fp: &Fingerprint) -> String {
    let e = &fp.evidence;
    let c = &fp.classification;
    let mut out = String::new();
    let _ = writeln!(out, "RustChain miner fingerprint ({})", fp.origin);
    let cores = e
        .physical_cores
        .map(|p| format!(", {p} cores"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  machine     {:?}, {} logical CPUs{cores}, {} MiB, {}",
        e.arch, e.logical_cpus, e.memory_mib, e.os
    );
    match &e.cpuid {
        Some(cpu) => {
            let _ = writeln!(
                out,
                "  cpu         {} '{}' family {:#x} model {:#x} stepping {} (signature {:#010x}){}",
                cpu.vendor,
                cpu.brand,
                cpu.family(),
                cpu.model(),
                cpu.stepping(),
                cpu.signature,
                cpu.microcode
                    .map(|m| format!(", microcode {m:#x}"))
                    .unwrap_or_default()
            );
            let _ = writeln!(
                out,
                "  features    {}",
                CpuidEvidence::feature_names(cpu.features).join(" ")
            );
            let caches: Vec<String> = cpu
                .caches
                .iter()
                .map(|l| {
                    let kind = match l.kind {
                        1 => "d",
                        2 => "i",
                        _ => "",
                    };
                    format!("L{}{kind} {} KiB", l.level, l.size_kib)
                })
                .collect();
            let _ = writeln!(out, "  caches      {}", none_if_empty(&caches.join(", ")));
            let _ = writeln!(
                out,
                "  hypervisor  bit {}, signature {}{}",
                if cpu.hypervisor_bit { "set" } else { "clear" },
                cpu.hypervisor_vendor
                    .as_deref()
                    .map(|s| format!("'{s}'"))
                    .unwrap_or_else(|| "none".into()),
                if cpu.hyperv_root_partition {
                    ", Hyper-V root partition"
                } else {
                    ""
                }
            );
            let _ = writeln!(out, "  cpuid from  {}", fp.cpuid_source);
        }
        None => {
            let _ = writeln!(
                out,
                "  cpu         no CPUID ({})",
                e.platform.cpuinfo_model.as_deref().unwrap_or("unknown")
            );
        }
    }
    let p = &e.platform;
    let dmi: Vec<String> = p.dmi.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let _ = writeln!(out, "  dmi         {}", none_if_empty(&dmi.join("; ")));
    let descriptors: Vec<String> = p
        .descriptors
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !descriptors.is_empty() {
        let _ = writeln!(out, "  descriptors {}", descriptors.join("; "));
    }
    let _ =
        writeln!(
        out,
        "  platform    /sys/hypervisor {}, cpuinfo hypervisor flag {}, device-tree hypervisor {}",
        p.sys_hypervisor.as_deref().unwrap_or("none"),
        if p.cpuinfo_hypervisor_flag { "set" } else { "clear" },
        p.device_tree_hypervisor.as_deref().unwrap_or("none")
    );
    let _ = writeln!(
        out,
        "  containers  {}",
        none_if_empty(&p.container_markers.join(", "))
    );
    let t = &e.timing;
    let _ = writeln!(
        out,
        "  timing      cpuid {}, jitter {}, clock drift {}",
        t.cpuid_cycles
            .map(|c| format!("{c} cycles"))
            .unwrap_or_else(|| "-".into()),
        t.jitter_ppm
            .map(|j| format!("{j} ppm"))
            .unwrap_or_else(|| "-".into()),
        t.clock_drift_ppm
            .map(|d| format!("{d} ppm"))
            .unwrap_or_else(|| "-".into()),
    );
    if !t.cache_curve.is_empty() {
        let points: Vec<String> = t
            .cache_curve
            .iter()
            .map(|p| {
                let size = if p.working_set_kib >= 1024 {
                    format!("{}M", p.working_set_kib / 1024)
                } else {
                    format!("{}K", p.working_set_kib)
                };
                format!(
                    "{size}:{}.{:01}ns",
                    p.latency_ps / 1000,
                    (p.latency_ps % 1000) / 100
                )
            })
            .collect();
        let _ = writeln!(out, "  cache curve {}", points.join(" "));
    }
    for note in &e.unmeasured {
        let _ = writeln!(out, "  unmeasured  {note}");
    }
    let _ = writeln!(out, "  profile     {}", e.profile_hash());
    let _ = writeln!(out);
    let _ = writeln!(out, "verdict: {}", verdict_line(c.verdict));
    let _ = writeln!(out, "class:   {}", c.class.as_str());
    let _ = writeln!(out, "reasons:");
    for r in &c.reasons {
        let _ = writeln!(out, "  - {r}");
    }
    let _ = writeln!(out, "(fingerprint took {} ms)", fp.duration.as_millis());
    out
}

fn none_if_empty(s: &str) -> &str {
    if s.is_empty() {
        "none"
    } else {
        s
    }
}

/// The JSON report.
pub fn json(fp: &Fingerprint) -> serde_json::Value {
    json!({
        "origin": fp.origin,
        "cpuid_source": fp.cpuid_source,
        "verdict": fp.classification.verdict.as_str(),
        "earns": fp.classification.verdict.earns(),
        "class": fp.classification.class,
        "reasons": fp.classification.reasons,
        "profile_hash": fp.evidence.profile_hash(),
        "duration_ms": u64::try_from(fp.duration.as_millis()).unwrap_or(u64::MAX),
        "evidence": fp.evidence,
    })
}
