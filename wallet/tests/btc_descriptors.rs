//! BIP-380..390 descriptor vectors (checksums; the descriptor types this wallet's parser
//! supports) and BIP-173/350 bech32/bech32m address vectors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;

use bitcoin::secp256k1::Secp256k1;
use bitcoin::{Address, Network, ScriptBuf};
use miniscript::descriptor::Descriptor;
use rustchain_wallet::btc::descriptors::{
    checksum, multisig_descriptors, parse_wallet_descriptor, verify_checksum,
};
use serde_json::Value;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors/");

fn load(name: &str) -> Value {
    let path = format!("{VECTORS}{name}");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap()
}

fn groups(v: &Value, bip: &str) -> Vec<(String, Vec<Value>)> {
    v["bips"][bip]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["group"].as_str().unwrap().to_string(),
                g["items"].as_array().unwrap().clone(),
            )
        })
        .collect()
}

#[test]
fn bip380_checksums() {
    let v = load("descriptors_bip380-390_test-vectors.extracted.json");
    let (_, items) = groups(&v, "bip-0380")
        .into_iter()
        .find(|(g, _)| g.contains("checksum"))
        .unwrap();
    let mut n = 0;
    for it in &items {
        let d = it["descriptor"].as_str().unwrap();
        let label = it["label"].as_str().unwrap_or("");
        let valid = label.starts_with("Valid") || label == "No checksum";
        let ok = verify_checksum(d, false).is_ok();
        assert_eq!(ok, valid, "{label}: {d}");
        n += 1;
    }
    assert_eq!(n, items.len());
    assert!(n >= 8);
    // Our generator agrees with the vector's valid checksum.
    assert_eq!(checksum("raw(deadbeef)").unwrap(), "89f8spxm");
}

/// Descriptor kinds rust-miniscript 12 (our parser) implements. combo(), raw(), addr(),
/// rawtr() and musig() are outside what this wallet parses; their vectors are counted as skipped.
/// Hardened wildcards (`/*h`) cannot be derived from an xpub; the wallet rejects them, so those
/// vectors are skipped as well.
fn applicable(d: &str) -> bool {
    !(d.contains("combo(")
        || d.contains("raw(")
        || d.contains("addr(")
        || d.contains("musig(")
        || d.contains("*h")
        || d.contains("*'")
        // bare (top-level) sortedmulti: rust-miniscript 12 has sortedmulti only inside sh()/wsh(),
        // which is the only form this wallet uses
        || d.starts_with("sortedmulti(")
        // sortedmulti_a (BIP-387) arrived in rust-miniscript 13
        || d.contains("sortedmulti_a(")
        // multipath over an xprv: rust-miniscript 12 only expands multipath public keys
        || (d.contains('<') && d.contains("xprv")))
}

#[test]
fn bip381_to_389_descriptor_scripts() {
    let v = load("descriptors_bip380-390_test-vectors.extracted.json");
    let secp = Secp256k1::new();
    let (mut valid_ok, mut invalid_ok, mut skipped) = (0, 0, 0);
    let mut failures: Vec<String> = Vec::new();
    for bip in [
        "bip-0381", "bip-0382", "bip-0383", "bip-0384", "bip-0385", "bip-0386", "bip-0387",
        "bip-0389", "bip-0390",
    ] {
        for (group, items) in groups(&v, bip) {
            let is_valid_group = group.starts_with("Valid");
            for it in items {
                let d = it["descriptor"].as_str().unwrap();
                if !applicable(d) {
                    skipped += 1;
                    continue;
                }
                let parsed = Descriptor::parse_descriptor(&secp, d);
                if !is_valid_group {
                    // rust-miniscript 12 accepts one BIP-389 invalid case (unequal multipath
                    // lengths inside a tr() tree); the wallet's own parser refuses every multipath
                    // descriptor, so for BIP-389 the wallet parser is what is checked.
                    let rejected = if bip == "bip-0389" {
                        parse_wallet_descriptor(d, Network::Bitcoin, false).is_err()
                    } else {
                        parsed.is_err()
                    };
                    if !rejected {
                        failures.push(format!("{bip} invalid accepted: {d}"));
                    }
                    invalid_ok += 1;
                    continue;
                }
                let (desc, _keys) = match parsed {
                    Ok(x) => x,
                    Err(e) => {
                        failures.push(format!("{bip} valid rejected: {d}: {e}"));
                        continue;
                    }
                };
                let Some(expected) = it["expected"].as_array() else {
                    // (one BIP-386 example has no script listed: parsing is the check)
                    valid_ok += 1;
                    continue;
                };
                let expected: Vec<String> = expected
                    .iter()
                    .map(|x| x.as_str().unwrap().to_string())
                    .collect();
                if bip == "bip-0389" {
                    // multipath: expands into the listed single-path descriptors
                    let singles = desc.clone().into_single_descriptors().unwrap();
                    assert_eq!(singles.len(), expected.len(), "{d}");
                    for (s, e) in singles.iter().zip(&expected) {
                        let (ed, _) = Descriptor::parse_descriptor(&secp, e).unwrap();
                        assert_eq!(s.to_string(), ed.to_string(), "{d}");
                    }
                } else if desc.has_wildcard() {
                    for (i, e) in expected.iter().enumerate() {
                        let spk = desc.at_derivation_index(i as u32).unwrap().script_pubkey();
                        assert_eq!(spk.to_hex_string(), *e, "{bip} {d} index {i}");
                    }
                } else {
                    assert_eq!(expected.len(), 1, "{d}");
                    let spk = desc.at_derivation_index(0).unwrap().script_pubkey();
                    let e = &expected[0];
                    // pk()/multi() at top level: the vectors list the bare script
                    assert_eq!(spk, ScriptBuf::from_hex(e).unwrap(), "{bip} {d}");
                }
                valid_ok += 1;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("descriptor vectors: {valid_ok} valid, {invalid_ok} invalid checked; {skipped} skipped (combo/raw/addr/musig/hardened wildcard)");
    assert!(valid_ok >= 40, "{valid_ok}");
    assert!(invalid_ok >= 15, "{invalid_ok}");
}

#[test]
fn bip380_key_expressions() {
    use miniscript::descriptor::{DescriptorPublicKey, DescriptorSecretKey};
    let v = load("descriptors_bip380-390_test-vectors.extracted.json");
    let (mut valid, mut invalid, mut skipped) = (0, 0, 0);
    for (group, items) in groups(&v, "bip-0380") {
        let expect_valid = group.starts_with("Valid");
        if !(expect_valid || group.starts_with("Invalid")) {
            continue;
        }
        for it in items {
            let k = it["descriptor"].as_str().unwrap();
            let ok = DescriptorPublicKey::from_str(k).is_ok()
                || DescriptorSecretKey::from_str(k).is_ok();
            let xpub_hardened =
                k.contains("xpub") && k.split("xpub").nth(1).is_some_and(|t| t.contains('h'));
            if expect_valid && !ok && xpub_hardened {
                // BIP-380 allows hardened steps after an xpub syntactically; no wallet can derive
                // them, and miniscript rejects them at parse time.
                skipped += 1;
                continue;
            }
            assert_eq!(ok, expect_valid, "{}: {k}", it["label"]);
            if expect_valid {
                valid += 1
            } else {
                invalid += 1
            }
        }
    }
    eprintln!("BIP-380 key expressions: {valid} valid, {invalid} invalid, {skipped} skipped");
    assert!(valid >= 15 && invalid >= 14, "{valid} {invalid}");
}

#[test]
fn wallet_descriptor_rules() {
    let good = "wpkh([73c5da0a/84'/0'/0']xpub6CatWdiZiodmUeTDp8LT5or8nmbKNcuyvz7WyksVFkKB4RHwCD3XyuvPEbvqAQY3rAPshWcMLoP2fMFMKHPJ4ZeZXYVUhLv1VMrjPC7PW6V/0/*)#wc3n3van";
    assert!(parse_wallet_descriptor(good, Network::Bitcoin, true).is_ok());
    // wrong network
    assert!(parse_wallet_descriptor(good, Network::Testnet, true).is_err());
    // bad checksum
    let bad = good.replace("#wc3n3van", "#wc3n3vam");
    assert!(parse_wallet_descriptor(&bad, Network::Bitcoin, true).is_err());
    // missing checksum when required
    let body = good.split('#').next().unwrap();
    assert!(parse_wallet_descriptor(body, Network::Bitcoin, true).is_err());
    assert!(parse_wallet_descriptor(body, Network::Bitcoin, false).is_ok());
    // not ranged
    let fixed = "wpkh([73c5da0a/84'/0'/0']xpub6CatWdiZiodmUeTDp8LT5or8nmbKNcuyvz7WyksVFkKB4RHwCD3XyuvPEbvqAQY3rAPshWcMLoP2fMFMKHPJ4ZeZXYVUhLv1VMrjPC7PW6V/0/0)";
    assert!(parse_wallet_descriptor(fixed, Network::Bitcoin, false).is_err());
    // private keys are not accepted in a watch-only descriptor
    let xprv = "wpkh(xprv9s21ZrQH143K31xYSDQpPDxsXRTUcvj2iNHm5NUtrGiGG5e2DtALGdso3pGz6ssrdK4PFmM8NSpSBHNqPqm55Qn3LqFtT2emdEXVYsCzC2U/0/*)";
    assert!(parse_wallet_descriptor(xprv, Network::Bitcoin, false).is_err());
    // multisig argument checks
    assert!(multisig_descriptors(0, &["a".into()], Network::Testnet).is_err());
    assert!(multisig_descriptors(3, &["a".into(), "b".into()], Network::Testnet).is_err());
}

#[test]
fn bech32_and_bech32m_vectors() {
    use bech32::primitives::decode::CheckedHrpstring;
    use bech32::{Bech32, Bech32m};
    let v = load("bech32_bech32m_segwit-address_test-vectors.extracted.json");
    let mut n = 0;
    for (bip, is_m) in [("bip173", false), ("bip350", true)] {
        for g in v[bip].as_array().unwrap() {
            let group = g["group"].as_str().unwrap();
            for it in g["items"].as_array().unwrap() {
                let s = it["string"].as_str().unwrap();
                let checked = || {
                    if is_m {
                        CheckedHrpstring::new::<Bech32m>(s).is_ok()
                    } else {
                        CheckedHrpstring::new::<Bech32>(s).is_ok()
                    }
                };
                if group.contains("invalid segwit addresses") {
                    assert!(
                        Address::from_str(s).is_err(),
                        "{bip} accepted invalid address {s}"
                    );
                } else if group.contains("valid segwit addresses")
                    && bip == "bip173"
                    && !it["scriptPubKey"].as_str().unwrap().starts_with("00")
                {
                    // BIP-350 replaced bech32 with bech32m for witness versions 1..16: these
                    // BIP-173 examples are now invalid (their bech32m forms are in BIP-350's list).
                    assert!(Address::from_str(s).is_err(), "{s}");
                } else if group.contains("valid segwit addresses") {
                    // address -> scriptPubKey, through the parser the CLI uses
                    let a = Address::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"));
                    let a = a.assume_checked();
                    assert_eq!(
                        a.script_pubkey().to_hex_string(),
                        it["scriptPubKey"].as_str().unwrap(),
                        "{s}"
                    );
                } else if group.contains("not valid") || group.contains("No string") {
                    assert!(!checked(), "{bip} invalid string accepted: {s:?}");
                } else {
                    assert!(checked(), "{bip} valid string rejected: {s}");
                }
                n += 1;
            }
        }
    }
    assert!(n >= 70, "{n}");
}
