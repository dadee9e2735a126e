//! CPUID decoding through `raw-cpuid`, from any [`CpuidSource`] (live or recorded).

use raw_cpuid::{CacheType, CpuId, CpuIdResult};
use rustchain_primitives::attestation::{
    CacheLevel, CpuidEvidence, MAX_CACHE_LEVELS, MAX_EVIDENCE_STRING,
};

use crate::source::CpuidSource;

/// Decodes the CPUID evidence; `None` when the source has no CPUID or leaf 0 is empty.
/// `microcode` comes from the OS (/proc/cpuinfo), CPUID does not report it.
pub fn decode(source: &dyn CpuidSource, microcode: Option<u32>) -> Option<CpuidEvidence> {
    let leaf0 = source.cpuid(0, 0)?;
    if leaf0[1] == 0 && leaf0[2] == 0 && leaf0[3] == 0 {
        return None;
    }
    let reader = |eax: u32, ecx: u32| {
        let r = source.cpuid(eax, ecx).unwrap_or([0; 4]);
        CpuIdResult {
            eax: r[0],
            ebx: r[1],
            ecx: r[2],
            edx: r[3],
        }
    };
    let cpuid = CpuId::with_cpuid_reader(reader);

    let vendor = cpuid
        .get_vendor_info()
        .map(|v| printable(v.as_str()))
        .unwrap_or_default();
    let brand = cpuid
        .get_processor_brand_string()
        .map(|b| printable(b.as_str()).trim().to_string())
        .unwrap_or_default();

    let leaf1 = source.cpuid(1, 0).unwrap_or([0; 4]);
    let mut features = 0;
    let mut set = |on: bool, bit| {
        if on {
            features |= bit;
        }
    };
    if let Some(fi) = cpuid.get_feature_info() {
        set(fi.has_sse2(), CpuidEvidence::FEATURE_SSE2);
        set(fi.has_sse3(), CpuidEvidence::FEATURE_SSE3);
        set(fi.has_sse41(), CpuidEvidence::FEATURE_SSE41);
        set(fi.has_sse42(), CpuidEvidence::FEATURE_SSE42);
        set(fi.has_avx(), CpuidEvidence::FEATURE_AVX);
        set(fi.has_aesni(), CpuidEvidence::FEATURE_AES);
        set(fi.has_rdrand(), CpuidEvidence::FEATURE_RDRAND);
    }
    if let Some(ef) = cpuid.get_extended_feature_info() {
        set(ef.has_avx2(), CpuidEvidence::FEATURE_AVX2);
        set(ef.has_avx512f(), CpuidEvidence::FEATURE_AVX512F);
        set(ef.has_sha(), CpuidEvidence::FEATURE_SHA);
    }
    if let Some(ext) = cpuid.get_extended_processor_and_feature_identifiers() {
        set(ext.has_64bit_mode(), CpuidEvidence::FEATURE_LM);
    }

    // The hypervisor bit is recorded as read, whatever leaf 0x40000000 says (raw-cpuid's
    // hypervisor info is empty when that leaf reads zero).
    let hypervisor_bit = leaf1[2] & (1 << 31) != 0;
    let (hypervisor_vendor, hyperv_root_partition) = hypervisor_leaves(source);

    Some(CpuidEvidence {
        vendor: truncate(vendor),
        brand: truncate(brand),
        signature: leaf1[0],
        features,
        caches: caches(&cpuid),
        hypervisor_bit,
        hypervisor_vendor,
        hyperv_root_partition,
        microcode,
    })
}

/// Leaf 0x40000000: the hypervisor signature, accepted only when EAX (the highest hypervisor
/// leaf) is in 0x40000000..=0x400000FF and the 12 bytes are printable — on Intel an
/// unimplemented leaf returns the data of the highest basic leaf, which must not be read as
/// a signature. Then the Hyper-V root-partition bit (0x40000003 EBX bit 0, CreatePartitions).
fn hypervisor_leaves(source: &dyn CpuidSource) -> (Option<String>, bool) {
    let Some(h) = source.cpuid(0x4000_0000, 0) else {
        return (None, false);
    };
    if !(0x4000_0000..=0x4000_00ff).contains(&h[0]) {
        return (None, false);
    }
    let mut bytes = Vec::with_capacity(12);
    for reg in [h[1], h[2], h[3]] {
        bytes.extend_from_slice(&reg.to_le_bytes());
    }
    if bytes.iter().all(|b| *b == 0)
        || !bytes
            .iter()
            .all(|b| *b == 0 || b.is_ascii_graphic() || *b == b' ')
    {
        return (None, false);
    }
    let signature: String = bytes
        .iter()
        .map(|b| *b as char)
        .collect::<String>()
        .trim_end_matches('\0')
        .to_string();
    let root = signature == "Microsoft Hv"
        && h[0] >= 0x4000_0003
        && source.cpuid(0x4000_0003, 0).is_some_and(|r| r[1] & 1 == 1);
    (Some(signature), root)
}

fn caches<R: raw_cpuid::CpuIdReader>(cpuid: &CpuId<R>) -> Vec<CacheLevel> {
    let mut out = Vec::new();
    if let Some(params) = cpuid.get_cache_parameters() {
        for p in params.take(16) {
            let kind = match p.cache_type() {
                CacheType::Data => 1,
                CacheType::Instruction => 2,
                CacheType::Unified => 3,
                _ => continue,
            };
            let bytes = (p.associativity() as u64)
                .saturating_mul(p.physical_line_partitions() as u64)
                .saturating_mul(p.coherency_line_size() as u64)
                .saturating_mul(p.sets() as u64);
            let size_kib = u32::try_from(bytes / 1024).unwrap_or(u32::MAX);
            if size_kib == 0 {
                continue;
            }
            out.push(CacheLevel {
                level: p.level(),
                kind,
                size_kib,
            });
        }
    }
    if out.is_empty() {
        // AMD before family 15h and others: leaves 0x80000005/6.
        if let Some(l1) = cpuid.get_l1_cache_and_tlb_info() {
            let d = u32::from(l1.dcache_size());
            let i = u32::from(l1.icache_size());
            if d > 0 {
                out.push(CacheLevel::new(1, 1, d));
            }
            if i > 0 {
                out.push(CacheLevel::new(1, 2, i));
            }
        }
        if let Some(l23) = cpuid.get_l2_l3_cache_and_tlb_info() {
            let l2 = u32::from(l23.l2cache_size());
            let l3 = l23.l3cache_size().saturating_mul(512) as u32;
            if l2 > 0 {
                out.push(CacheLevel::new(2, 3, l2));
            }
            if l3 > 0 {
                out.push(CacheLevel::new(3, 3, l3));
            }
        }
    }
    out.truncate(MAX_CACHE_LEVELS);
    out
}

/// Non-printable characters become `?` (vendor and brand strings are raw bytes).
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '\0')
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Cuts a string to [`MAX_EVIDENCE_STRING`] bytes at a character boundary.
pub fn truncate(mut s: String) -> String {
    if s.len() > MAX_EVIDENCE_STRING {
        let mut end = MAX_EVIDENCE_STRING;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::RecordedCpuid;

    const HASWELL: &str = "CPU 0:
   0x00000000 0x00: eax=0x0000000d ebx=0x756e6547 ecx=0x6c65746e edx=0x49656e69
   0x00000001 0x00: eax=0x000306c3 ebx=0x00100800 ecx=0x7ffafbff edx=0xbfebfbff
   0x00000004 0x00: eax=0x1c004121 ebx=0x01c0003f ecx=0x0000003f edx=0x00000000
   0x00000004 0x01: eax=0x1c004122 ebx=0x01c0003f ecx=0x0000003f edx=0x00000000
   0x00000004 0x02: eax=0x1c004143 ebx=0x01c0003f ecx=0x000001ff edx=0x00000000
   0x00000004 0x03: eax=0x1c03c163 ebx=0x03c0003f ecx=0x00001fff edx=0x00000006
   0x00000007 0x00: eax=0x00000000 ebx=0x000027ab ecx=0x00000000 edx=0x00000000
   0x00000016 0x00: eax=0x00000e10 ebx=0x00000e10 ecx=0x00000064 edx=0x00000000
   0x40000000 0x00: eax=0x00000e10 ebx=0x00000e10 ecx=0x00000064 edx=0x00000000
   0x80000000 0x00: eax=0x80000008 ebx=0x00000000 ecx=0x00000000 edx=0x00000000
   0x80000001 0x00: eax=0x00000000 ebx=0x00000000 ecx=0x00000021 edx=0x2c100800
   0x80000002 0x00: eax=0x65746e49 ebx=0x2952286c ecx=0x726f4320 edx=0x4d542865
   0x80000003 0x00: eax=0x37692029 ebx=0x3737342d ecx=0x50432030 edx=0x20402055
   0x80000004 0x00: eax=0x30342e33 ebx=0x007a4847 ecx=0x00000000 edx=0x00000000
";

    #[test]
    fn decodes_a_haswell_recording() {
        let src = RecordedCpuid::parse_cpuid_r(HASWELL).unwrap();
        let c = decode(&src, Some(0x28)).unwrap();
        assert_eq!(c.vendor, "GenuineIntel");
        assert_eq!(c.brand, "Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz");
        assert_eq!((c.family(), c.model()), (6, 0x3c));
        assert!(c.has(CpuidEvidence::FEATURE_AVX2));
        assert!(c.has(CpuidEvidence::FEATURE_LM));
        assert!(!c.has(CpuidEvidence::FEATURE_SHA));
        assert!(!c.hypervisor_bit);
        // Leaf 0x40000000 echoing leaf 0x16 on bare-metal Intel is not a signature.
        assert_eq!(c.hypervisor_vendor, None);
        let sizes: Vec<(u8, u8, u32)> = c
            .caches
            .iter()
            .map(|l| (l.level, l.kind, l.size_kib))
            .collect();
        assert_eq!(
            sizes,
            vec![(1, 1, 32), (1, 2, 32), (2, 3, 256), (3, 3, 8192)]
        );
        assert_eq!(c.microcode, Some(0x28));
    }

    #[test]
    fn hyperv_root_bit_needs_the_microsoft_signature() {
        let text = "CPU 0:
   0x00000000 0x00: eax=0x0000000d ebx=0x756e6547 ecx=0x6c65746e edx=0x49656e69
   0x00000001 0x00: eax=0x000306c3 ebx=0x00100800 ecx=0xfffafbff edx=0xbfebfbff
   0x40000000 0x00: eax=0x4000000b ebx=0x7263694d ecx=0x666f736f edx=0x76482074
   0x40000003 0x00: eax=0x00003fff ebx=0x002bb9ff ecx=0x00000002 edx=0x000ffbf2
";
        let src = RecordedCpuid::parse_cpuid_r(text).unwrap();
        let c = decode(&src, None).unwrap();
        assert!(c.hypervisor_bit);
        assert_eq!(c.hypervisor_vendor.as_deref(), Some("Microsoft Hv"));
        assert!(c.hyperv_root_partition);
        let guest = text.replace("ebx=0x002bb9ff", "ebx=0x002bb9fe");
        let c = decode(&RecordedCpuid::parse_cpuid_r(&guest).unwrap(), None).unwrap();
        assert!(!c.hyperv_root_partition);
    }

    #[test]
    fn strings_are_truncated() {
        assert_eq!(truncate("é".repeat(100)).len(), 128);
    }
}
