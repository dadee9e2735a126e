//! BIP-340 test vectors (shared/vectors/bip340_test-vectors.csv): our key derivation and
//! signature verification agree with the standard. Vectors with messages that are not 32 bytes
//! are skipped: RustChain signs 32-byte tagged hashes only.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rustchain_primitives::{Hash, KeyPair, PublicKey, Signature};

fn bytes<const N: usize>(hex_text: &str) -> Option<[u8; N]> {
    hex::decode(hex_text).ok()?.try_into().ok()
}

#[test]
fn bip340_vectors() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/vectors/bip340_test-vectors.csv"
    );
    let text = std::fs::read_to_string(path).expect("shared/vectors beside the repository");
    let mut checked = 0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (secret, public, message, signature, expected) =
            (f[1], f[2], f[4], f[5], f[6] == "TRUE");
        let Some(msg) = bytes::<32>(message) else {
            continue;
        };
        let sig = Signature(bytes::<64>(signature).expect("64-byte signature"));
        let key = PublicKey(bytes::<32>(public).expect("32-byte key"));
        if !secret.is_empty() {
            let pair = KeyPair::from_secret_bytes(&bytes::<32>(secret).unwrap()).unwrap();
            assert_eq!(pair.public_key(), key, "vector {}: public key", f[0]);
        }
        let verified = key.verify(&Hash(msg), &sig).is_ok();
        assert_eq!(
            verified,
            expected,
            "vector {}: {}",
            f[0],
            f.get(7).unwrap_or(&"")
        );
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} vectors checked");
}
