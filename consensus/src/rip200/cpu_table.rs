//! The CPU generation table: CPUID vendor + display family/model -> hardware class.
//!
//! One row per generation, oldest first. A vendor that is not listed is *unknown* (capped at
//! modern by the caller); a listed vendor whose family/model is not in a row is newer than the
//! table and therefore modern. The class boundaries (see [`HardwareClass`]):
//!
//! | class | Intel | AMD | others |
//! |---|---|---|---|
//! | retro | 486, Pentium, Pentium Pro/II/III | Am486/5x86, K5, K6, K7 (Athlon, Duron, Athlon XP) | Cyrix, NexGen, Rise, SiS, UMC, NSC Geode, IDT WinChip, VIA C3 |
//! | vintage | Pentium 4 (NetBurst), Pentium M, Core (Yonah), Core 2, Atom Bonnell/Saltwell | K8 (Athlon 64, Opteron) | VIA C7, Transmeta |
//! | classic | Nehalem, Westmere, Sandy Bridge, Ivy Bridge, Silvermont, Airmont | K10 (family 10h-12h), Bobcat (14h), Bulldozer..Excavator (15h), Jaguar/Puma (16h) | VIA Nano |
//! | modern | Haswell and newer, Goldmont and newer, Xeon Phi, everything unlisted | Zen (17h) and newer | Hygon, Zhaoxin |
//!
//! Each class also has the CPUID features its generations could *not* have had
//! ([`forbidden_features`]): a "vintage" signature that reports AVX2 is not a vintage CPU.

use rustchain_primitives::attestation::{CpuidEvidence, FeatureBits};
use rustchain_primitives::HardwareClass;

/// A row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Generation {
    /// Its class.
    pub class: HardwareClass,
    /// A name for people ("Core 2 (Merom/Conroe)").
    pub name: &'static str,
}

/// Why the table has no row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Miss {
    /// The vendor string is not one of the known CPU vendors.
    UnknownVendor,
}

const fn g(class: HardwareClass, name: &'static str) -> Generation {
    Generation { class, name }
}

use HardwareClass::{Classic, Modern, Retro, Vintage};

/// Intel family 6, by display model.
const INTEL_FAMILY6: &[(&[u32], Generation)] = &[
    (&[0x01], g(Retro, "Pentium Pro")),
    (&[0x03, 0x05, 0x06], g(Retro, "Pentium II / Celeron")),
    (&[0x07, 0x08, 0x0a, 0x0b], g(Retro, "Pentium III")),
    (&[0x09, 0x0d], g(Vintage, "Pentium M")),
    (&[0x0e], g(Vintage, "Core (Yonah)")),
    (&[0x0f, 0x16], g(Vintage, "Core 2 (Merom/Conroe)")),
    (&[0x17, 0x1d], g(Vintage, "Core 2 (Penryn/Dunnington)")),
    (&[0x1c, 0x26], g(Vintage, "Atom (Bonnell)")),
    (&[0x27, 0x35, 0x36], g(Vintage, "Atom (Saltwell)")),
    (&[0x1a, 0x1e, 0x1f, 0x2e], g(Classic, "Nehalem")),
    (&[0x25, 0x2c, 0x2f], g(Classic, "Westmere")),
    (&[0x2a, 0x2d], g(Classic, "Sandy Bridge")),
    (&[0x3a, 0x3e], g(Classic, "Ivy Bridge")),
    (
        &[0x37, 0x4a, 0x4d, 0x5a, 0x5d],
        g(Classic, "Atom (Silvermont)"),
    ),
    (&[0x4c], g(Classic, "Atom (Airmont)")),
];

/// Looks a CPU up in the table.
pub(crate) fn lookup(cpu: &CpuidEvidence) -> Result<Generation, Miss> {
    let family = cpu.family();
    let model = cpu.model();
    match cpu.vendor.as_str() {
        "GenuineIntel" => Ok(intel(family, model)),
        "AuthenticAMD" => Ok(amd(family)),
        "HygonGenuine" => Ok(g(Modern, "Hygon Dhyana (Zen)")),
        "CentaurHauls" => Ok(centaur(family, model)),
        "  Shanghai  " => Ok(g(Modern, "Zhaoxin")),
        "GenuineTMx86" | "TransmetaCPU" => Ok(g(Vintage, "Transmeta Crusoe/Efficeon")),
        "CyrixInstead" => Ok(g(Retro, "Cyrix")),
        "NexGenDriven" => Ok(g(Retro, "NexGen")),
        "RiseRiseRise" => Ok(g(Retro, "Rise mP6")),
        "SiS SiS SiS " => Ok(g(Retro, "SiS 55x")),
        "UMC UMC UMC " => Ok(g(Retro, "UMC Green CPU")),
        "Geode by NSC" => Ok(g(Retro, "NSC Geode")),
        _ => Err(Miss::UnknownVendor),
    }
}

fn intel(family: u32, model: u32) -> Generation {
    match family {
        4 => g(Retro, "486"),
        5 => g(Retro, "Pentium (P5)"),
        6 => INTEL_FAMILY6
            .iter()
            .find(|(models, _)| models.contains(&model))
            .map(|(_, generation)| *generation)
            .unwrap_or(g(Modern, "Haswell or newer")),
        0xf => g(Vintage, "Pentium 4 (NetBurst)"),
        _ => g(Modern, "newer than the table"),
    }
}

fn amd(family: u32) -> Generation {
    match family {
        4 => g(Retro, "Am486 / Am5x86"),
        5 => g(Retro, "K5 / K6"),
        6 => g(Retro, "K7 (Athlon, Duron, Athlon XP)"),
        0xf => g(Vintage, "K8 (Athlon 64, Opteron)"),
        0x10..=0x12 => g(Classic, "K10 (Phenom, Athlon II, Llano)"),
        0x14 => g(Classic, "Bobcat"),
        0x15 => g(Classic, "Bulldozer family (Bulldozer..Excavator)"),
        0x16 => g(Classic, "Jaguar / Puma"),
        0x17 => g(Modern, "Zen / Zen+ / Zen 2"),
        _ => g(Modern, "Zen 3 or newer"),
    }
}

fn centaur(family: u32, model: u32) -> Generation {
    match (family, model) {
        (5, _) => g(Retro, "IDT WinChip"),
        (6, 0..=0x09) => g(Retro, "VIA C3"),
        (6, 0x0a..=0x0e) => g(Vintage, "VIA C7"),
        (6, _) => g(Classic, "VIA Nano"),
        _ => g(Modern, "Zhaoxin"),
    }
}

/// The features no CPU of `class` had. Excavator (AMD family 15h, model 60h and above) is the
/// one classic generation with AVX2.
pub(crate) fn forbidden_features(class: HardwareClass, cpu: &CpuidEvidence) -> FeatureBits {
    use CpuidEvidence as C;
    match class {
        Retro => {
            C::FEATURE_SSE2
                | C::FEATURE_SSE3
                | C::FEATURE_SSE41
                | C::FEATURE_SSE42
                | C::FEATURE_AVX
                | C::FEATURE_AVX2
                | C::FEATURE_AVX512F
                | C::FEATURE_AES
                | C::FEATURE_SHA
                | C::FEATURE_LM
                | C::FEATURE_RDRAND
        }
        Vintage => {
            C::FEATURE_SSE42
                | C::FEATURE_AVX
                | C::FEATURE_AVX2
                | C::FEATURE_AVX512F
                | C::FEATURE_AES
                | C::FEATURE_SHA
                | C::FEATURE_RDRAND
        }
        Classic => {
            let excavator =
                cpu.vendor == "AuthenticAMD" && cpu.family() == 0x15 && cpu.model() >= 0x60;
            let avx2 = if excavator { 0 } else { C::FEATURE_AVX2 };
            C::FEATURE_AVX512F | C::FEATURE_SHA | avx2
        }
        Modern => 0,
    }
}

/// Most logical CPUs a machine of this class had (multi-socket servers included).
pub(crate) const fn max_logical_cpus(class: HardwareClass) -> u32 {
    match class {
        Retro => 8,
        Vintage => 32,
        Classic => 256,
        Modern => u32::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(vendor: &str, signature: u32) -> CpuidEvidence {
        CpuidEvidence {
            vendor: vendor.into(),
            brand: String::new(),
            signature,
            features: 0,
            caches: vec![],
            hypervisor_bit: false,
            hypervisor_vendor: None,
            hyperv_root_partition: false,
            microcode: None,
        }
    }

    #[test]
    fn table_rows_for_known_signatures() {
        let cases: &[(&str, u32, HardwareClass)] = &[
            ("GenuineIntel", 0x0683, Retro),     // Pentium III Coppermine
            ("GenuineIntel", 0x06b1, Retro),     // Pentium III Tualatin
            ("GenuineIntel", 0x0f24, Vintage),   // Pentium 4 Northwood
            ("GenuineIntel", 0x06d8, Vintage),   // Pentium M Dothan
            ("GenuineIntel", 0x06f6, Vintage),   // Core 2 Conroe
            ("GenuineIntel", 0x106c2, Vintage),  // Atom Diamondville
            ("GenuineIntel", 0x106a4, Classic),  // Nehalem Bloomfield
            ("GenuineIntel", 0x206a7, Classic),  // Sandy Bridge
            ("GenuineIntel", 0x306a9, Classic),  // Ivy Bridge
            ("GenuineIntel", 0x30678, Classic),  // Silvermont
            ("GenuineIntel", 0x306c3, Modern),   // Haswell
            ("GenuineIntel", 0x906ea, Modern),   // Coffee Lake
            ("AuthenticAMD", 0x06a0, Retro),     // K7 Barton
            ("AuthenticAMD", 0x20f32, Vintage),  // K8
            ("AuthenticAMD", 0x100f42, Classic), // K10 Deneb
            ("AuthenticAMD", 0x500f10, Classic), // Bobcat
            ("AuthenticAMD", 0x600f12, Classic), // Bulldozer
            ("AuthenticAMD", 0x730f01, Classic), // Puma
            ("AuthenticAMD", 0x800f11, Modern),  // Zen
            ("AuthenticAMD", 0xa60f12, Modern),  // Zen 4
            ("CentaurHauls", 0x06a9, Vintage),   // VIA C7 Esther
            ("CentaurHauls", 0x307b2, Modern),   // Zhaoxin KX-6000
            ("GenuineTMx86", 0x0f24, Vintage),   // Efficeon
            ("HygonGenuine", 0x900f22, Modern),  // Dhyana
        ];
        for (vendor, signature, class) in cases {
            let got = lookup(&cpu(vendor, *signature)).map(|g| g.class);
            assert_eq!(got, Ok(*class), "{vendor} {signature:#x}");
        }
        assert_eq!(
            lookup(&cpu("GenuineIotel", 0x306c3)),
            Err(Miss::UnknownVendor)
        );
        assert_eq!(
            lookup(&cpu("Virtual CPU ", 0x0f4a)),
            Err(Miss::UnknownVendor)
        );
    }

    #[test]
    fn excavator_may_have_avx2_but_bulldozer_may_not() {
        let bulldozer = cpu("AuthenticAMD", 0x600f12);
        let excavator = cpu("AuthenticAMD", 0x660f01);
        assert_ne!(
            forbidden_features(Classic, &bulldozer) & CpuidEvidence::FEATURE_AVX2,
            0
        );
        assert_eq!(
            forbidden_features(Classic, &excavator) & CpuidEvidence::FEATURE_AVX2,
            0
        );
    }
}
