//! Argon2id vectors: the PHC reference KAT for version 19 (shared/vectors/
//! argon2_phc-kats_argon2id.txt, which is RFC 9106 section 5.3 and uses a secret and
//! associated data) and the third-party cross-check tags in
//! shared/vectors/keystore_argon2id_chacha20poly1305.generated-by-argon2-cffi+pyca.json.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use argon2::{Algorithm, Argon2, AssociatedData, ParamsBuilder, Version};

fn read(file: &str) -> String {
    let path = format!("{}/../../shared/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Bytes of a KAT line like `Password[32]: 01 01 ...`, checking the declared length when
/// there is one (`Tag: ...` has none).
fn kat_bytes(line: &str) -> Vec<u8> {
    let (head, rest) = line.split_once(':').unwrap();
    let bytes: Vec<u8> = rest
        .split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect();
    if let Some((_, declared)) = head.split_once('[') {
        let declared: usize = declared.trim_end_matches(']').parse().unwrap();
        assert_eq!(bytes.len(), declared, "{line}");
    }
    bytes
}

/// A number after `name: ` in the KAT parameter line.
fn kat_number(line: &str, name: &str) -> u32 {
    let start = line.find(name).unwrap() + name.len();
    line[start..]
        .trim_start_matches(':')
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches(',')
        .parse()
        .unwrap()
}

#[test]
fn phc_reference_kat_argon2id_v19() {
    let text = read("argon2_phc-kats_argon2id.txt");
    let mut checked = 0;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.starts_with("Argon2id version number") {
            continue;
        }
        assert_eq!(line.trim(), "Argon2id version number 19");
        let params_line = lines.find(|l| l.starts_with("Memory:")).unwrap();
        let m = kat_number(params_line, "Memory");
        let t = kat_number(params_line, "Iterations");
        let p = kat_number(params_line, "Parallelism");
        let tag_len = kat_number(params_line, "Tag length");
        let mut field = |prefix: &str| kat_bytes(lines.find(|l| l.starts_with(prefix)).unwrap());
        let password = field("Password[");
        let salt = field("Salt[");
        let secret = field("Secret[");
        let ad = field("Associated data[");
        let tag = field("Tag:");
        let params = ParamsBuilder::new()
            .m_cost(m)
            .t_cost(t)
            .p_cost(p)
            .output_len(tag_len as usize)
            .data(AssociatedData::new(&ad).unwrap())
            .build()
            .unwrap();
        let argon =
            Argon2::new_with_secret(&secret, Algorithm::Argon2id, Version::V0x13, params).unwrap();
        let mut out = vec![0u8; tag_len as usize];
        argon
            .hash_password_into(&password, &salt, &mut out)
            .unwrap();
        assert_eq!(out, tag, "KAT m={m} t={t} p={p}");
        checked += 1;
    }
    assert_eq!(checked, 1, "the v19 KAT file holds one test");
}

#[test]
fn phc_kat_is_rfc9106_5_3() {
    let text = read("argon2_phc-kats_argon2id.txt");
    let tag_line = text.lines().find(|l| l.starts_with("Tag:")).unwrap();
    let tag: String = tag_line["Tag:".len()..].split_whitespace().collect();
    assert_eq!(
        tag,
        "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
    );
}

#[test]
fn cross_check_tags() {
    let doc: serde_json::Value = serde_json::from_str(&read(
        "keystore_argon2id_chacha20poly1305.generated-by-argon2-cffi+pyca.json",
    ))
    .unwrap();
    let mut checked = 0;
    for v in doc["argon2id_raw"].as_array().unwrap() {
        let num = |k: &str| u32::try_from(v[k].as_u64().unwrap()).unwrap();
        let hexf = |k: &str| hex::decode(v[k].as_str().unwrap()).unwrap();
        assert_eq!(num("version"), 19);
        let params = argon2::Params::new(
            num("m_cost_kib"),
            num("t_cost"),
            num("p_cost"),
            Some(num("tag_len") as usize),
        )
        .unwrap();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut out = vec![0u8; num("tag_len") as usize];
        argon
            .hash_password_into(&hexf("password_hex"), &hexf("salt_hex"), &mut out)
            .unwrap();
        assert_eq!(hex::encode(&out), v["argon2id_tag_hex"].as_str().unwrap());
        checked += 1;
    }
    assert_eq!(checked, 4);
}
