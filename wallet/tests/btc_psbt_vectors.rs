//! BIP-174, BIP-370 and BIP-371 PSBT test vectors, and HWI's collection of the same: every
//! invalid PSBT is rejected by our decoder, every valid one is accepted and re-encodes to the
//! same bytes; the BIP-174 role tests (signer, combiner, finalizer, extractor) are reproduced.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;

use bitcoin::base64::prelude::{Engine as _, BASE64_STANDARD};
use bitcoin::bip32::Xpriv;
use bitcoin::consensus::encode::serialize_hex;
use bitcoin::Network;
use rustchain_wallet::btc::accounts::MasterKey;
use rustchain_wallet::btc::psbt::sign::SignError;
use rustchain_wallet::btc::psbt::{sign_psbt, SignPolicy, WalletPsbt};
use serde_json::Value;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors/");
const BIP174_MASTER: &str = "tprv8ZgxMBicQKsPd9TeAdPADNnSyH9SSUUbTVeFszDE23Ki6TBB5nCefAdHkK8Fm3qMQR6sHwA56zqRmKmxnHk37JkiFzvncDqoKmPWubu7hDF";

fn load(name: &str) -> Value {
    let path = format!("{VECTORS}{name}");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap()
}

fn entries(v: &Value) -> Vec<Value> {
    v["entries"].as_array().unwrap().clone()
}

fn b64(e: &Value) -> &str {
    e["base64"].as_str().unwrap()
}

fn decode(s: &str) -> WalletPsbt {
    WalletPsbt::from_base64(s).unwrap_or_else(|e| panic!("valid PSBT rejected: {e}\n{s}"))
}

/// Re-encodes: the result must decode to the same PSBT. Returns whether the bytes are identical
/// too (they are unless the source ordered map keys or taproot tree leaves differently from
/// rust-bitcoin's canonical order, which BIP-174 allows).
fn roundtrip(s: &str) -> bool {
    let p = decode(s);
    let again = p.to_base64().unwrap();
    assert_eq!(decode(&again), p, "re-encoding changed the PSBT");
    again == s
}

/// Same PSBT (field by field), whatever the key order of the encoding.
fn same(ours: &WalletPsbt, expected: &str) {
    assert_eq!(*ours, decode(expected));
}

fn bip174_master() -> MasterKey {
    MasterKey::from_xpriv(Xpriv::from_str(BIP174_MASTER).unwrap(), Network::Testnet)
}

#[test]
fn bip174_invalid_rejected_valid_accepted() {
    let v = load("psbt_bip174_test-vectors.extracted.json");
    let (mut invalid, mut valid) = (0, 0);
    for e in entries(&v) {
        let group = e["group"].as_str().unwrap();
        let Some(s) = e["base64"].as_str() else {
            continue;
        };
        if group.contains("invalid") {
            assert!(
                WalletPsbt::from_base64(s).is_err(),
                "invalid PSBT accepted: {}",
                e["case"]
            );
            invalid += 1;
        } else if group.contains("are valid") {
            assert!(roundtrip(s), "not byte-identical: {}", e["case"]);
            valid += 1;
        } else {
            // role tests and signer-check cases are valid encodings too
            decode(s);
            valid += 1;
        }
    }
    eprintln!("BIP-174: {invalid} invalid rejected, {valid} valid accepted");
    assert_eq!(invalid, 20);
    assert!(valid >= 24);
}

#[test]
fn bip174_signer_checks_refuse() {
    let v = load("psbt_bip174_test-vectors.extracted.json");
    let master = bip174_master();
    let mut n = 0;
    for e in entries(&v)
        .iter()
        .filter(|e| e["group"] == "Fails Signer checks")
    {
        let mut p = decode(b64(e));
        let before = p.clone();
        let r = sign_psbt(
            &mut p,
            &master,
            SignPolicy {
                allow_witness_utxo_only: true,
            },
        );
        assert!(
            matches!(r, Err(SignError::Inconsistent { .. })),
            "{}: {r:?}",
            e["case"]
        );
        assert_eq!(p, before, "a refused PSBT must not change");
        n += 1;
    }
    assert_eq!(n, 4);
}

fn role(v: &Value, case_contains: &str) -> Value {
    entries(v)
        .into_iter()
        .find(|e| e["case"].as_str().unwrap_or("").contains(case_contains))
        .unwrap_or_else(|| panic!("no role test {case_contains}"))
}

#[test]
fn bip174_role_tests() {
    let v = load("psbt_bip174_test-vectors.extracted.json");
    let updated = decode(b64(&role(&v, "An updater which adds SIGHASH_ALL")));
    let signer_a = b64(&role(&v, "a signer that supports SIGHASH_ALL")).to_string();
    let signer_b = b64(&role(&v, "a signer with the following keys")).to_string();
    let combined = b64(&role(&v, "a combiner must create")).to_string();
    let finalized = b64(&role(&v, "an input finalizer must create")).to_string();
    let extracted = role(&v, "a transaction extractor must")["hex"]
        .as_str()
        .unwrap()
        .to_string();

    // Signer: with the master key, all four keys sign -> the combination of both signers.
    // Input 1 is P2SH-P2WSH with only a witness_utxo, so the policy must allow that.
    let master = bip174_master();
    let mut p = updated.clone();
    assert!(matches!(
        sign_psbt(&mut p, &master, SignPolicy::default()),
        Err(SignError::Refused { input: 1, .. })
    ));
    let report = sign_psbt(
        &mut p,
        &master,
        SignPolicy {
            allow_witness_utxo_only: true,
        },
    )
    .unwrap();
    assert_eq!(report.signed.len(), 4);
    // RFC 6979 signatures: the same signatures as the vector (Bitcoin Core orders partial
    // signatures by key id, rust-bitcoin by key, so the bytes differ in order only)
    same(&p, &combined);

    // Combiner
    let c = decode(&signer_a).combine(decode(&signer_b)).unwrap();
    same(&c, &combined);
    let c2 = decode(&signer_b).combine(decode(&signer_a)).unwrap();
    assert_eq!(c2, c, "combine is commutative");

    // Finalizer
    let mut f = decode(&combined);
    f.finalize().unwrap();
    same(&f, &finalized);
    assert_eq!(
        f.to_base64().unwrap(),
        finalized,
        "finalized PSBTs have no multi-key maps"
    );

    // Extractor
    let tx = decode(&finalized).extract().unwrap();
    assert_eq!(serialize_hex(&tx), extracted);

    // Combiner with unknown keys, lexicographic order
    let a = b64(&role(&v, "Given these two PSBTs with unknown")).to_string();
    let b = b64(&role(&v, "(continuation)")).to_string();
    let expected = b64(&role(&v, "orders keys lexicographically")).to_string();
    assert_eq!(
        decode(&a).combine(decode(&b)).unwrap().to_base64().unwrap(),
        expected
    );
}

#[test]
fn combine_rejects_different_transactions() {
    let v = load("psbt_bip174_test-vectors.extracted.json");
    let a = decode(b64(&role(&v, "An updater which adds SIGHASH_ALL")));
    let b = decode(b64(&role(&v, "Given these two PSBTs with unknown")));
    assert!(a.combine(b).is_err());
}

#[test]
fn bip370_vectors() {
    let v = load("psbt_bip370_test-vectors.extracted.json");
    let (mut invalid, mut valid, mut locktimes, mut byte_exact) = (0, 0, 0, 0);
    for e in entries(&v) {
        let group = e["group"].as_str().unwrap();
        let s = b64(&e);
        if group.contains("invalid") {
            assert!(
                WalletPsbt::from_base64(s).is_err(),
                "invalid PSBT accepted: {}",
                e["case"]
            );
            invalid += 1;
        } else if group.contains("timelock") {
            let expected = e["expected_locktime"].as_u64();
            match expected {
                Some(lt) => {
                    let p = decode(s);
                    assert_eq!(
                        u64::from(p.unsigned_tx().lock_time.to_consensus_u32()),
                        lt,
                        "{}",
                        e["case"]
                    );
                }
                None => assert!(WalletPsbt::from_base64(s).is_err(), "{}", e["case"]),
            }
            locktimes += 1;
        } else {
            if roundtrip(s) {
                byte_exact += 1;
            } else {
                eprintln!("BIP-370 {}: same PSBT, different key order", e["case"]);
            }
            let p = decode(s);
            assert_eq!(p.version().number(), 2);
            valid += 1;
        }
    }
    eprintln!("BIP-370: {invalid} invalid rejected, {valid} valid round-tripped ({byte_exact} byte for byte), {locktimes} lock time cases");
    assert_eq!(byte_exact, valid);
    assert_eq!(invalid, 24);
    assert_eq!(valid, 14);
    assert_eq!(locktimes, 10);
}

#[test]
fn bip371_taproot_vectors() {
    let v = load("psbt_bip371_taproot-fields_test-vectors.extracted.json");
    let (mut invalid, mut valid) = (0, 0);
    for e in entries(&v) {
        let s = b64(&e);
        if e["group"] == "invalid" {
            assert!(
                WalletPsbt::from_base64(s).is_err(),
                "invalid PSBT accepted: {}",
                e["case"]
            );
            invalid += 1;
        } else {
            if !roundtrip(s) {
                eprintln!("BIP-371 {}: same PSBT, different byte order", e["case"]);
            }
            valid += 1;
        }
    }
    eprintln!("BIP-371: {invalid} invalid rejected, {valid} valid round-tripped");
    assert_eq!(invalid, 11);
    assert_eq!(valid, 6);
}

#[test]
fn hwi_collection() {
    let v = load("psbt_bip174_bip370_hwi_test_psbt.json");
    let mut n = 0;
    for s in v["invalid"].as_array().unwrap() {
        let s = s.as_str().unwrap();
        assert!(
            WalletPsbt::from_base64(s).is_err(),
            "HWI invalid PSBT accepted: {s}"
        );
        n += 1;
    }
    for s in v["valid"].as_array().unwrap() {
        let p = decode(s.as_str().unwrap());
        // re-encoding decodes to the same PSBT
        assert_eq!(WalletPsbt::from_base64(&p.to_base64().unwrap()).unwrap(), p);
        n += 1;
    }
    for pair in v["locktimes"].as_array().unwrap() {
        let p = decode(pair[0].as_str().unwrap());
        assert_eq!(
            u64::from(p.unsigned_tx().lock_time.to_consensus_u32()),
            pair[1].as_u64().unwrap()
        );
        n += 1;
    }
    for s in v["conflicting_locktimes"].as_array().unwrap() {
        assert!(WalletPsbt::from_base64(s.as_str().unwrap()).is_err());
        n += 1;
    }
    // Signer cases: signing with the BIP-174 master key adds at least the expected signatures.
    let master = bip174_master();
    for case in v["signer"].as_array().unwrap() {
        let mut p = decode(case["psbt"].as_str().unwrap());
        sign_psbt(
            &mut p,
            &master,
            SignPolicy {
                allow_witness_utxo_only: true,
            },
        )
        .unwrap();
        let expected = decode(case["result"].as_str().unwrap());
        for (i, inp) in expected.inner().inputs.iter().enumerate() {
            for (pk, sig) in &inp.partial_sigs {
                assert_eq!(p.inner().inputs[i].partial_sigs.get(pk), Some(sig));
            }
        }
        n += 1;
    }
    for case in v["combiner"].as_array().unwrap() {
        let list = case["combine"].as_array().unwrap();
        let mut acc = decode(list[0].as_str().unwrap());
        for s in &list[1..] {
            acc = acc.combine(decode(s.as_str().unwrap())).unwrap();
        }
        assert_eq!(acc, decode(case["result"].as_str().unwrap()));
        n += 1;
    }
    for case in v["finalizer"].as_array().unwrap() {
        let mut p = decode(case["finalize"].as_str().unwrap());
        p.finalize().unwrap();
        assert_eq!(p, decode(case["result"].as_str().unwrap()));
        n += 1;
    }
    for case in v["extractor"].as_array().unwrap() {
        let tx = decode(case["extract"].as_str().unwrap()).extract().unwrap();
        assert_eq!(serialize_hex(&tx), case["result"].as_str().unwrap());
        n += 1;
    }
    eprintln!("HWI test_psbt.json: {n} cases");
    assert!(n >= 130);
}

#[test]
fn oversized_and_garbage_input_is_an_error() {
    assert!(WalletPsbt::from_base64("not base64!").is_err());
    assert!(WalletPsbt::from_base64("").is_err());
    assert!(WalletPsbt::from_bytes(b"psbt\xff").is_err());
    // a v2 global map that declares 2^40 inputs
    let mut b = b"psbt\xff".to_vec();
    b.extend_from_slice(&[0x01, 0xfb, 0x04, 2, 0, 0, 0]);
    b.extend_from_slice(&[0x01, 0x02, 0x04, 2, 0, 0, 0]);
    b.extend_from_slice(&[0x01, 0x04, 0x09, 0xff, 0, 0, 0, 0, 0, 1, 0, 0]);
    b.extend_from_slice(&[0x01, 0x05, 0x01, 0x00, 0x00]);
    assert!(WalletPsbt::from_bytes(&b).is_err());
    let big = "A".repeat(rustchain_wallet::btc::psbt::MAX_PSBT_BASE64_LEN + 4);
    assert!(WalletPsbt::from_base64(&big).is_err());
    let _ = BASE64_STANDARD.encode([0u8]);
}
