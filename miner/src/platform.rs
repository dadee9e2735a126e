//! Firmware, hypervisor and container signals from a filesystem root (Linux paths; on other
//! systems these files do not exist and the fields stay empty).
//!
//! The raw strings are recorded; what they mean is decided by
//! `rustchain_consensus::rip200::classify`, the code validators run.

use rustchain_consensus::rip200::classify::platform_keys;
use rustchain_primitives::attestation::{PlatformEvidence, MAX_EVIDENCE_ITEMS};

use crate::cpu::truncate;
use crate::source::{field, first_processor, FsRoot};

/// The SMBIOS fields recorded from /sys/class/dmi/id (serial numbers and UUIDs are left out:
/// they are private and prove nothing, since the miner chooses what it reports).
pub const DMI_FIELDS: &[&str] = &[
    "sys_vendor",
    "product_name",
    "product_version",
    "product_family",
    "board_vendor",
    "board_name",
    "bios_vendor",
    "bios_version",
    "chassis_vendor",
];

/// Collects the platform evidence.
pub fn collect(fs: &FsRoot) -> PlatformEvidence {
    let cpuinfo = fs.read("proc/cpuinfo").unwrap_or_default();
    let first = first_processor(&cpuinfo);

    let bounded = |mut list: Vec<(String, String)>| -> Vec<(String, String)> {
        list.truncate(MAX_EVIDENCE_ITEMS);
        list.into_iter()
            .map(|(k, v)| (truncate(k), truncate(v)))
            .collect()
    };
    let dmi = bounded(dmi_fields(fs));
    let descriptors = bounded(platform_descriptors(fs, &first));

    let cpuinfo_hypervisor_flag = cpuinfo
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.trim() == "flags")
        .any(|(_, v)| v.split_whitespace().any(|f| f == "hypervisor"));

    let sys_hypervisor = fs
        .read("sys/hypervisor/type")
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .map(truncate);
    let device_tree_hypervisor = fs
        .read_bytes("proc/device-tree/hypervisor/compatible")
        .map(|b| dt_string(&b))
        .filter(|c| !c.is_empty())
        .map(truncate);

    let mut container_markers = container_markers(fs);
    container_markers.truncate(MAX_EVIDENCE_ITEMS);

    PlatformEvidence {
        dmi,
        descriptors,
        sys_hypervisor,
        cpuinfo_hypervisor_flag,
        device_tree_hypervisor,
        container_markers: container_markers.into_iter().map(truncate).collect(),
        cpuinfo_model: cpuinfo_model(&first).map(truncate),
    }
}

fn useful(value: &str) -> bool {
    let v = value.trim();
    !v.is_empty()
        && !v.eq_ignore_ascii_case("not specified")
        && !v.eq_ignore_ascii_case("not available")
        && !v.eq_ignore_ascii_case("none")
        && !v.eq_ignore_ascii_case("to be filled by o.e.m.")
        && !v.eq_ignore_ascii_case("default string")
}

/// SMBIOS fields: /sys/class/dmi/id, or `cmd/dmidecode.txt` in a replay directory.
fn dmi_fields(fs: &FsRoot) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if fs.exists("sys/class/dmi/id") {
        for name in DMI_FIELDS {
            if let Some(v) = fs.read(&format!("sys/class/dmi/id/{name}")) {
                if useful(&v) {
                    out.push((name.to_string(), v.trim().to_string()));
                }
            }
        }
    } else if fs.is_replay() {
        if let Some(text) = fs.read("cmd/dmidecode.txt") {
            out = parse_dmidecode(&text);
        }
    }
    out
}

/// Parses `dmidecode` text output into /sys/class/dmi/id field names (first structure of each
/// type wins).
pub fn parse_dmidecode(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut section = "";
    for line in text.lines() {
        if !line.starts_with('\t') && !line.starts_with(' ') {
            section = line.trim();
            continue;
        }
        let Some((key, value)) = line.trim().split_once(':') else {
            continue;
        };
        let name = match (section, key.trim()) {
            ("BIOS Information", "Vendor") => "bios_vendor",
            ("BIOS Information", "Version") => "bios_version",
            ("System Information", "Manufacturer") => "sys_vendor",
            ("System Information", "Product Name") => "product_name",
            ("System Information", "Version") => "product_version",
            ("System Information", "Family") => "product_family",
            ("Base Board Information", "Manufacturer") => "board_vendor",
            ("Base Board Information", "Product Name") => "board_name",
            ("Chassis Information", "Manufacturer") => "chassis_vendor",
            _ => continue,
        };
        if useful(value) && !out.iter().any(|(k, _)| k == name) {
            out.push((name.to_string(), value.trim().to_string()));
        }
    }
    // The same order as live collection.
    out.sort_by_key(|(k, _)| DMI_FIELDS.iter().position(|f| f == k));
    out
}

/// Device-tree strings are NUL-separated lists.
fn dt_string(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .split('\0')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// Platform descriptors of non-SMBIOS machines and of the Xen control domain
/// (see `platform_keys`).
fn platform_descriptors(fs: &FsRoot, first: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut push = |k: &str, v: String| out.push((k.to_string(), v));
    if let Some(caps) = fs.read("proc/xen/capabilities") {
        push(platform_keys::XEN_CAPABILITIES, caps.trim().to_string());
    }
    if fs.exists("sys/bus/xen") {
        push(platform_keys::XEN_BUS, "present".into());
    }
    if let Some(c) = fs.read_bytes("proc/device-tree/compatible") {
        let c = dt_string(&c);
        if !c.is_empty() {
            push(platform_keys::DT_COMPATIBLE, c);
        }
    }
    for node in fs.list("proc/device-tree") {
        if node.starts_with("fw-cfg@") {
            let c = fs
                .read_bytes(&format!("proc/device-tree/{node}/compatible"))
                .map(|b| dt_string(&b))
                .unwrap_or_else(|| node.clone());
            push(platform_keys::DT_FW_CFG, c);
            break;
        }
    }
    if let Some(p) = field(first, "platform") {
        push(platform_keys::CPUINFO_PLATFORM, p.to_string());
        if let Some(m) = field(first, "machine").or_else(|| field(first, "model")) {
            push(platform_keys::CPUINFO_MACHINE, m.to_string());
        }
    } else if let Some(all) = fs.read("proc/cpuinfo") {
        // On POWER the platform/machine lines follow the processor blocks.
        let lines: Vec<(String, String)> = all
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        if let Some(p) = field(&lines, "platform") {
            push(platform_keys::CPUINFO_PLATFORM, p.to_string());
            if let Some(m) = field(&lines, "machine") {
                push(platform_keys::CPUINFO_MACHINE, m.to_string());
            }
        }
    }
    if let Some(lpar) = fs.read("proc/ppc64/lparcfg") {
        let summary: Vec<String> = lpar
            .lines()
            .filter(|l| l.starts_with("partition_id=") || l.starts_with("shared_processor_mode="))
            .map(str::trim)
            .map(str::to_string)
            .collect();
        push(
            platform_keys::PPC64_LPARCFG,
            if summary.is_empty() {
                "present".into()
            } else {
                summary.join(" ")
            },
        );
    }
    if let Some(sysinfo) = fs.read("proc/sysinfo") {
        if let Some(layer) = s390_layer(&sysinfo) {
            push(platform_keys::S390_SYSINFO, layer);
        }
    }
    if fs.exists("dev/mdesc") {
        push(platform_keys::SPARC_MDESC, "present".into());
    }
    out
}

/// The innermost hypervisor named by /proc/sysinfo on s390.
fn s390_layer(sysinfo: &str) -> Option<String> {
    let control = sysinfo
        .lines()
        .filter(|l| l.starts_with("VM") && l.contains("Control Program:"))
        .filter_map(|l| {
            l.split_once(':')
                .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .next();
    if let Some(cp) = control {
        return Some(cp);
    }
    if sysinfo.lines().any(|l| l.starts_with("LPAR Number:")) {
        return Some("LPAR".into());
    }
    None
}

/// Container markers: files, PID 1's `container=` variable, container cgroups, a
/// Linux-VServer context, an illumos LX zone, OpenVZ.
fn container_markers(fs: &FsRoot) -> Vec<String> {
    let mut out = Vec::new();
    for (path, marker) in [
        (".dockerenv", "/.dockerenv"),
        (".dockerinit", "/.dockerinit"),
        ("run/.containerenv", "/run/.containerenv"),
    ] {
        if fs.exists(path) {
            out.push(marker.to_string());
        }
    }
    if let Some(env) = fs.read_bytes("proc/1/environ") {
        let env = String::from_utf8_lossy(&env);
        for var in env.split(['\0', '\n']) {
            if let Some(value) = var.strip_prefix("container=") {
                out.push(format!("environ:container={}", value.trim()));
            }
        }
    }
    for file in ["proc/1/cgroup", "proc/self/cgroup"] {
        let Some(text) = fs.read(file) else {
            continue;
        };
        for line in text.lines() {
            let path = line.splitn(3, ':').nth(2).unwrap_or("");
            for (needle, name) in [
                ("/docker", "docker"),
                ("/lxc/", "lxc"),
                ("/lxc.payload", "lxc"),
                ("kubepods", "kubernetes"),
                ("/libpod", "podman"),
                ("crio-", "cri-o"),
            ] {
                if path.contains(needle) {
                    out.push(format!("cgroup:{name}"));
                }
            }
        }
    }
    if let Some(status) = fs.read("proc/self/status") {
        for line in status.lines() {
            if let Some(id) = line.strip_prefix("VxID:") {
                let id = id.trim();
                if id != "0" && !id.is_empty() {
                    out.push(format!("Linux-VServer context VxID={id}"));
                }
            }
        }
    }
    if let Some(version) = fs.read("proc/version") {
        if version.contains("BrandZ") {
            out.push("proc/version: BrandZ (illumos LX zone)".into());
        }
    }
    if fs.exists("proc/vz") && !fs.exists("proc/bc") {
        out.push("OpenVZ container (/proc/vz without /proc/bc)".into());
    }
    out.sort();
    out.dedup();
    out
}

/// The CPU as /proc/cpuinfo names it when there is no CPUID (ARM implementer/part, POWER
/// `cpu`, s390 machine...).
fn cpuinfo_model(first: &[(String, String)]) -> Option<String> {
    if let Some(imp) = field(first, "CPU implementer") {
        let part = field(first, "CPU part").unwrap_or("?");
        return Some(format!("ARM implementer {imp} part {part}"));
    }
    for key in ["cpu", "model name", "cpu model", "Processor", "family"] {
        if let Some(v) = field(first, key) {
            return Some(v.to_string());
        }
    }
    if let Some(v) = field(first, "vendor_id") {
        return Some(v.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dmidecode_text_maps_to_sysfs_names() {
        let text = "# dmidecode 3.0\nHandle 0x0000, DMI type 0, 24 bytes\nBIOS Information\n\tVendor: Xen\n\tVersion: 4.2.amazon\n\nHandle 0x0100, DMI type 1, 27 bytes\nSystem Information\n\tManufacturer: Xen\n\tProduct Name: HVM domU\n\tSerial Number: ec2f5c70\n\tFamily: Not Specified\n\nHandle 0x0401, DMI type 4\nProcessor Information\n\tManufacturer: Intel\n";
        let got = parse_dmidecode(text);
        assert_eq!(
            got,
            vec![
                ("sys_vendor".to_string(), "Xen".to_string()),
                ("product_name".to_string(), "HVM domU".to_string()),
                ("bios_vendor".to_string(), "Xen".to_string()),
                ("bios_version".to_string(), "4.2.amazon".to_string()),
            ]
        );
    }

    #[test]
    fn s390_layer_prefers_zvm() {
        let text = "LPAR Number:          21\nVM00 Name:            DEVEL1\nVM00 Control Program: z/VM    5.3.0   \n";
        assert_eq!(s390_layer(text).as_deref(), Some("z/VM 5.3.0"));
        assert_eq!(s390_layer("LPAR Number: 3\n").as_deref(), Some("LPAR"));
        assert_eq!(s390_layer("Manufacturer: IBM\n"), None);
    }
}
