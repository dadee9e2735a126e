//! AEAD vectors: every Wycheproof ChaCha20-Poly1305 and XChaCha20-Poly1305 test
//! (shared/vectors/wycheproof_*), and RFC 8439 section 2.8.2 as reproduced in
//! shared/vectors/keystore_argon2id_chacha20poly1305.generated-by-argon2-cffi+pyca.json.
//!
//! Valid tests must decrypt to the expected message and encrypt to the expected ciphertext
//! and tag; invalid ones must fail. Tests whose nonce size the cipher does not take (the
//! `InvalidNonceSize` groups) are counted as refused: the typed API cannot even be called with
//! them. The counts are asserted so a skipped or truncated file fails.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};
use serde_json::Value;

fn read_json(file: &str) -> Value {
    let path = format!("{}/../../shared/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn hex_field(test: &Value, name: &str) -> Vec<u8> {
    hex::decode(test[name].as_str().unwrap()).unwrap()
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    valid: usize,
    invalid: usize,
    bad_nonce_size: usize,
}

fn run_wycheproof<C: KeyInit + Aead>(file: &str, nonce_len: usize) -> Counts {
    let doc = read_json(file);
    let mut counts = Counts::default();
    for group in doc["testGroups"].as_array().unwrap() {
        assert_eq!(group["keySize"], 256);
        assert_eq!(group["tagSize"], 128);
        for test in group["tests"].as_array().unwrap() {
            let id = &test["tcId"];
            let key = hex_field(test, "key");
            let iv = hex_field(test, "iv");
            let aad = hex_field(test, "aad");
            let msg = hex_field(test, "msg");
            let mut sealed = hex_field(test, "ct");
            sealed.extend_from_slice(&hex_field(test, "tag"));
            let result = test["result"].as_str().unwrap();
            if iv.len() != nonce_len {
                assert_eq!(result, "invalid", "test {id}: odd nonce size but valid");
                counts.bad_nonce_size += 1;
                continue;
            }
            let cipher = C::new_from_slice(&key).unwrap();
            let nonce = chacha20poly1305::aead::Nonce::<C>::from_slice(&iv);
            let opened = cipher.decrypt(
                nonce,
                Payload {
                    msg: &sealed,
                    aad: &aad,
                },
            );
            match result {
                "valid" => {
                    assert_eq!(opened.as_deref(), Ok(&msg[..]), "test {id}: decrypt");
                    let encrypted = cipher
                        .encrypt(
                            nonce,
                            Payload {
                                msg: &msg,
                                aad: &aad,
                            },
                        )
                        .unwrap();
                    assert_eq!(encrypted, sealed, "test {id}: encrypt");
                    counts.valid += 1;
                }
                "invalid" => {
                    assert!(opened.is_err(), "test {id}: invalid but decrypted");
                    counts.invalid += 1;
                }
                other => panic!("test {id}: result {other}"),
            }
        }
    }
    let total = counts.valid + counts.invalid + counts.bad_nonce_size;
    assert_eq!(
        total as u64,
        doc["numberOfTests"].as_u64().unwrap(),
        "{file}: every test ran"
    );
    counts
}

#[test]
fn wycheproof_chacha20_poly1305() {
    let counts = run_wycheproof::<ChaCha20Poly1305>("wycheproof_chacha20_poly1305_test.json", 12);
    eprintln!("chacha20-poly1305: {counts:?}");
    assert_eq!(
        counts,
        Counts {
            valid: 256,
            invalid: 60,
            bad_nonce_size: 9
        }
    );
}

#[test]
fn wycheproof_xchacha20_poly1305() {
    let counts = run_wycheproof::<XChaCha20Poly1305>("wycheproof_xchacha20_poly1305_test.json", 24);
    eprintln!("xchacha20-poly1305: {counts:?}");
    assert_eq!(
        counts,
        Counts {
            valid: 246,
            invalid: 60,
            bad_nonce_size: 9
        }
    );
}

#[test]
fn rfc8439_section_2_8_2() {
    let doc = read_json("keystore_argon2id_chacha20poly1305.generated-by-argon2-cffi+pyca.json");
    let v = &doc["chacha20poly1305_rfc8439_2_8_2"];
    let cipher = ChaCha20Poly1305::new_from_slice(&hex_field(v, "key_hex")).unwrap();
    let nonce_bytes = hex_field(v, "nonce_hex");
    let nonce = chacha20poly1305::Nonce::from_slice(&nonce_bytes);
    let aad = hex_field(v, "aad_hex");
    let plain = hex_field(v, "plaintext_hex");
    let sealed = cipher
        .encrypt(
            nonce,
            Payload {
                msg: &plain,
                aad: &aad,
            },
        )
        .unwrap();
    assert_eq!(sealed, hex_field(v, "ciphertext_and_tag_hex"));
    assert_eq!(
        hex::encode(&sealed[sealed.len() - 16..]),
        v["expected_tag_per_rfc8439"].as_str().unwrap()
    );
    let opened = cipher
        .decrypt(
            nonce,
            Payload {
                msg: &sealed,
                aad: &aad,
            },
        )
        .unwrap();
    assert_eq!(opened, plain);
}
