//! Replays every recorded machine of shared/fixtures through the replay sources and the
//! validators' `classify`, and checks the verdict against its `expected.json`.
//!
//! Label mapping (`hypervisor` in expected.json):
//! - `none`, `hyperv-root`, `xen-dom0` → bare metal;
//! - `x86-emulator`, `powervm-lx86` → emulator; `qemu-tcg` → emulator, or virtual machine
//!   when the evidence cannot tell TCG from KVM (QEMU on ARM: same device tree and DMI);
//! - `docker`, `podman`, `crio`, `oci-container`, `lxc`, `illumos-lx-zone`, `linux-vserver`
//!   → container;
//! - every other label → virtual machine. `this-ci-machine-kvm` is a KVM guest with a
//!   `/.dockerenv`: a VM with container signals is a VM (the reasons list both).
//!
//! Also live on this machine: `fingerprint` must report a VM, with reasons, when the CPUID
//! hypervisor bit is set, and must finish within 5 s.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use rustchain_consensus::rip200::MachineVerdict;
use rustchain_miner::fingerprint_replay;
use rustchain_primitives::{
    AttestationBody, AttestationMode, ChainId, Checkpoint, HardwareClass, HardwareEvidence, Hash,
    KeyPair,
};

fn fixtures_dir() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures"
    ))
    .to_path_buf()
}

fn expected_verdicts(label: &str) -> &'static [MachineVerdict] {
    use MachineVerdict::*;
    match label {
        "none" | "hyperv-root" | "xen-dom0" => &[BareMetal],
        "x86-emulator" | "powervm-lx86" => &[Emulator],
        "qemu-tcg" => &[Emulator, VirtualMachine],
        "docker" | "podman" | "crio" | "oci-container" | "lxc" | "illumos-lx-zone"
        | "linux-vserver" => &[Container],
        _ => &[VirtualMachine],
    }
}

/// The evidence must fit the attestation limits validators enforce.
fn assert_well_formed(name: &str, evidence: &HardwareEvidence) {
    let key = KeyPair::from_secret_bytes(&[1; 32]).unwrap();
    let attestation = AttestationBody {
        chain_id: ChainId::new("dev-fixtures").unwrap(),
        miner: key.public_key(),
        epoch: 0,
        window: 0,
        reference: Checkpoint {
            height: 0,
            hash: Hash([0; 32]),
        },
        mode: AttestationMode::Hardware,
        profile_hash: evidence.profile_hash(),
        evidence: evidence.clone(),
        pow_nonce: 0,
    }
    .sign(&key);
    if let Err(e) = attestation.check_well_formed() {
        panic!("{name}: replayed evidence is not well formed: {e}");
    }
    let len = attestation.encoded_len();
    assert!(
        len <= rustchain_primitives::attestation::MAX_ATTESTATION_BYTES,
        "{name}: {len} bytes"
    );
}

#[test]
fn every_fixture_gets_its_expected_verdict() {
    let root = fixtures_dir();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 88, "only {} fixtures found", dirs.len());

    let mut rows = Vec::new();
    let mut mismatches = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let label = expected["hypervisor"].as_str().unwrap().to_string();
        let bare_metal = expected["bare_metal"].as_bool().unwrap();
        let wanted = expected_verdicts(&label);
        assert_eq!(
            bare_metal,
            wanted == [MachineVerdict::BareMetal] || label == "x86-emulator",
            "{name}: the label mapping disagrees with bare_metal"
        );
        let fp = fingerprint_replay(dir).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_well_formed(&name, &fp.evidence);
        let got = fp.classification.verdict;
        let ok = wanted.contains(&got);
        rows.push(format!(
            "{:<52} {:<16} {:<16} {}",
            name,
            label,
            got.as_str(),
            if ok { "ok" } else { "MISMATCH" }
        ));
        if !ok {
            mismatches.push(format!(
                "{name}: label {label}, expected {:?}, got {:?}\n    reasons: {:?}",
                wanted, got, fp.classification.reasons
            ));
        }
        // Every verdict other than bare metal says why.
        if got != MachineVerdict::BareMetal {
            assert!(
                fp.classification
                    .reasons
                    .iter()
                    .any(|r| !r.starts_with("CPU ") && !r.starts_with("not measured")),
                "{name}: no reason for {got:?}"
            );
        }
    }
    println!("{}", rows.join("\n"));
    println!(
        "{} of {} fixtures matched",
        rows.len() - mismatches.len(),
        rows.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn the_recorded_cpus_get_their_classes() {
    use HardwareClass::*;
    let cases: &[(&str, HardwareClass)] = &[
        ("instlat-pentium3-coppermine", Retro),
        ("instlat-pentium3-tualatin", Retro),
        ("instlat-amd-k7-barton", Retro),
        ("instlat-pentium4-northwood", Vintage),
        ("instlat-pentium-m-dothan", Vintage),
        ("instlat-core2-conroe", Vintage),
        ("instlat-atom-diamondville", Vintage),
        ("instlat-via-c7-esther", Vintage),
        ("instlat-transmeta-efficeon", Vintage),
        ("instlat-nehalem-bloomfield", Classic),
        ("instlat-sandybridge", Classic),
        ("instlat-ivybridge", Classic),
        ("instlat-atom-silvermont", Classic),
        ("instlat-amd-k10-deneb", Classic),
        ("instlat-amd-k10-thuban", Classic),
        ("instlat-amd-bobcat", Classic),
        ("instlat-amd-bulldozer-zambezi", Classic),
        ("instlat-amd-puma-beema", Classic),
        ("instlat-hyperv-root-amd-kabini", Classic),
        ("instlat-hyperv-root-intel-nehalem-ex-beckton", Classic),
        ("virtwhat-baremetal", Classic),
        ("instlat-haswell", Modern),
        ("instlat-amd-zen1-summitridge", Modern),
        ("instlat-amd-zen5-graniteridge", Modern),
        ("instlat-zhaoxin-kx6000", Modern),
        ("hwloc-zhaoxin-shanghai-vendor-zxc-plus", Modern),
        ("instlat-x86-emulation-on-arm64-snapdragon850", Modern),
        ("virtwhat-esx-arm", Modern),
    ];
    let mut wrong = Vec::new();
    for (name, class) in cases {
        let fp = fingerprint_replay(&fixtures_dir().join(name)).unwrap();
        if fp.classification.generation != *class {
            wrong.push(format!(
                "{name}: expected {class:?}, got {:?}: {:?}",
                fp.classification.generation, fp.classification.reasons
            ));
        }
        // A replay measures no cache curve: thin evidence, so anything older is capped.
        if fp.classification.class != Modern {
            wrong.push(format!(
                "{name}: a replay without a cache curve earns {:?}, not modern",
                fp.classification.class
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn replay_says_what_it_could_not_measure() {
    let fp = fingerprint_replay(&fixtures_dir().join("instlat-haswell")).unwrap();
    assert!(fp.evidence.timing.cache_curve.is_empty());
    assert!(fp
        .classification
        .reasons
        .iter()
        .any(|r| r.contains("not measured in replay")));
}

#[test]
fn replay_of_a_missing_directory_is_an_error() {
    assert!(fingerprint_replay(Path::new("/nonexistent/rustchain-fixture")).is_err());
}

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "x86")))]
#[test]
fn live_fingerprint_on_this_machine() {
    let fp = rustchain_miner::fingerprint_live();
    let e = &fp.evidence;
    let cpu = e.cpuid.as_ref().expect("CPUID on x86");
    assert!(!cpu.vendor.is_empty());
    assert!(e.logical_cpus >= 1);
    assert!(e.timing.cpuid_cycles.is_some());
    assert_eq!(e.timing.cache_curve.len(), 15);
    assert_eq!(e.timing.cache_curve[0].working_set_kib, 4);
    assert_eq!(e.timing.cache_curve[14].working_set_kib, 64 * 1024);
    assert_well_formed("live", e);
    if cpu.hypervisor_bit {
        assert_ne!(
            fp.classification.verdict,
            MachineVerdict::BareMetal,
            "{:?}",
            fp.classification.reasons
        );
        assert!(fp
            .classification
            .reasons
            .iter()
            .any(|r| r.contains("hypervisor")));
    }
    println!("{}", rustchain_miner::report::text(&fp));
    assert!(
        fp.duration.as_secs_f64() <= 5.0,
        "fingerprint took {:?}",
        fp.duration
    );
}
