//! BIP-32 test vectors 1-5 (shared/vectors/bip32_test-vectors-1-5.extracted.json) and the
//! English Trezor BIP-39 vectors (shared/vectors/bip39_trezor_python-mnemonic_vectors.json),
//! through the `bip39` and `bitcoin::bip32` crates, our `rustchain_primitives::hd` functions,
//! and (for the 12- and 24-word mnemonics a keystore accepts) a keystore round trip.
//!
//! BIP-340 vectors are run by `primitives/tests/bip340_vectors.rs` (our keys and signatures
//! live in `rustchain-primitives`); they are not repeated here.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;

use bitcoin::bip32::{DerivationPath, Xpriv, Xpub};
use bitcoin::secp256k1::Secp256k1;
use bitcoin::{Network, NetworkKind};
use rustchain_primitives::hd;
use rustchain_wallet::btc::descriptors::parse_wallet_descriptor;
use rustchain_wallet::btc::xkey;
use rustchain_wallet::keystore::{
    KdfParams, Keystore, KeystoreError, Metadata, NewWallet, SecretString, WalletData,
};
use serde_json::Value;
use zeroize::Zeroizing;

fn read_json(file: &str) -> Value {
    let path = format!("{}/../../shared/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

#[test]
fn bip32_vectors_1_to_4() {
    let doc = read_json("bip32_test-vectors-1-5.extracted.json");
    let secp = Secp256k1::new();
    let mut checked = 0;
    for vector in doc["vectors"].as_array().unwrap() {
        let Some(chains) = vector["chains"].as_array() else {
            continue;
        };
        let seed = hex::decode(s(&vector["seed_hex"])).unwrap();
        let master = Xpriv::new_master(NetworkKind::Main, &seed).unwrap();
        for chain in chains {
            let label = format!("vector {} {}", vector["vector"], s(&chain["path"]));
            let path = DerivationPath::from_str(s(&chain["path"])).unwrap();
            let xprv = master.derive_priv(&secp, &path).unwrap();
            let xpub = Xpub::from_priv(&secp, &xprv);
            assert_eq!(xprv.to_string(), s(&chain["xprv"]), "{label}");
            assert_eq!(xpub.to_string(), s(&chain["xpub"]), "{label}");
            // Parsing round-trips.
            assert_eq!(Xpriv::from_str(s(&chain["xprv"])).unwrap(), xprv, "{label}");
            assert_eq!(Xpub::from_str(s(&chain["xpub"])).unwrap(), xpub, "{label}");
            // Our derivation agrees (same secret; public key = x-only of the xpub's key).
            let ours = hd::derive_keypair(&seed, &path).unwrap();
            assert_eq!(
                ours.secret_bytes()[..],
                xprv.private_key.secret_bytes()[..],
                "{label}"
            );
            assert_eq!(
                ours.public_key().0,
                xpub.public_key.x_only_public_key().0.serialize(),
                "{label}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 17, "vectors 1-4 have 17 chain entries");
}

/// The invalid keys of vector 5 that `bitcoin` 0.32 accepts on its own: it does not check the
/// byte before a private key, nor that a depth-0 key has a zero parent fingerprint and child
/// number. Anything that imports extended keys (multisig cosigners, watch-only accounts) must
/// add these checks, as `rustchain_wallet::btc::xkey` does.
const ACCEPTED_BY_RUST_BITCOIN: [&str; 7] = [
    "xprv: prvkey version / pubkey mismatch",
    "xprv: invalid prvkey prefix 04",
    "xprv: invalid prvkey prefix 01",
    "xprv: zero depth with non-zero parent fingerprint",
    "xpub: zero depth with non-zero parent fingerprint",
    "xprv: zero depth with non-zero index",
    "xpub: zero depth with non-zero index",
];

/// The strict parsers the wallet imports extended keys with.
fn strict_xpriv(key: &str) -> Result<Xpriv, String> {
    xkey::parse_xpriv(key).map_err(|e| e.to_string())
}

fn strict_xpub(key: &str) -> Result<Xpub, String> {
    xkey::parse_xpub(key).map_err(|e| e.to_string())
}

#[test]
fn bip32_vector_5_invalid_keys_are_refused() {
    let doc = read_json("bip32_test-vectors-1-5.extracted.json");
    let vectors = doc["vectors"].as_array().unwrap();
    let vector = vectors.iter().find(|v| v["vector"] == 5).unwrap();
    let mut checked = 0;
    let mut accepted_by_crate = Vec::new();
    for case in vector["invalid"].as_array().unwrap() {
        let key = s(&case["key"]);
        let reason = s(&case["reason"]);
        assert!(strict_xpriv(key).is_err(), "strict xprv accepted: {reason}");
        assert!(strict_xpub(key).is_err(), "strict xpub accepted: {reason}");
        if Xpriv::from_str(key).is_ok() {
            accepted_by_crate.push(format!("xprv: {reason}"));
        }
        if Xpub::from_str(key).is_ok() {
            accepted_by_crate.push(format!("xpub: {reason}"));
            // A watch-only descriptor built on it is refused too.
            let descriptor = format!("wpkh({key}/0/*)");
            assert!(
                parse_wallet_descriptor(&descriptor, Network::Bitcoin, false).is_err(),
                "descriptor accepted: {reason}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 16);
    // If the crate starts refusing more of them, this still passes; if it accepts a new one,
    // this fails.
    for accepted in &accepted_by_crate {
        assert!(
            ACCEPTED_BY_RUST_BITCOIN.contains(&accepted.as_str()),
            "bitcoin crate newly accepts {accepted}"
        );
    }
    // The strict parsers accept every valid key of vectors 1-4.
    let mut valid = 0;
    for chain in vectors
        .iter()
        .filter_map(|v| v["chains"].as_array())
        .flatten()
    {
        assert!(strict_xpriv(s(&chain["xprv"])).is_ok());
        assert!(strict_xpub(s(&chain["xpub"])).is_ok());
        valid += 1;
    }
    assert_eq!(valid, 17);
}

#[test]
fn bip39_trezor_english_vectors() {
    let doc = read_json("bip39_trezor_python-mnemonic_vectors.json");
    let dir = tempfile::tempdir().unwrap();
    let password = SecretString::new("vector password");
    let trezor = SecretString::new("TREZOR");
    let (mut checked, mut in_keystore, mut refused) = (0, 0, 0);
    for (i, v) in doc["english"].as_array().unwrap().iter().enumerate() {
        let [entropy, phrase, seed_hex, xprv] = [&v[0], &v[1], &v[2], &v[3]].map(s);
        let entropy = hex::decode(entropy).unwrap();
        let mnemonic = bip39::Mnemonic::from_entropy(&entropy).unwrap();
        assert_eq!(mnemonic.to_string(), phrase, "vector {i}");
        let parsed = bip39::Mnemonic::parse_in(bip39::Language::English, phrase).unwrap();
        assert_eq!(parsed.to_entropy(), entropy, "vector {i}");
        let seed = parsed.to_seed("TREZOR");
        assert_eq!(hex::encode(seed), seed_hex, "vector {i}");
        let ours = hd::seed_from_mnemonic(phrase, "TREZOR").unwrap();
        assert_eq!(
            hex::encode(&ours[..]),
            seed_hex,
            "vector {i}: primitives::hd"
        );
        let master = Xpriv::new_master(NetworkKind::Main, &seed).unwrap();
        assert_eq!(master.to_string(), xprv, "vector {i}");
        checked += 1;

        // Through a keystore: 12 and 24 words are stored, other lengths refused.
        let path = dir.path().join(format!("v{i}.json"));
        let secret = Zeroizing::new(phrase.to_string());
        let created = Keystore::create(
            &path,
            NewWallet {
                mnemonic: &secret,
                bip39_passphrase: &trezor,
                metadata: Metadata::new(format!("vector {i}"), "bitcoin"),
                data: WalletData::default(),
            },
            &password,
            KdfParams::insecure_for_tests(),
        );
        let words = phrase.split(' ').count();
        if words == 12 || words == 24 {
            created.unwrap();
            let unlocked = Keystore::open_insecure_for_tests(&path)
                .unwrap()
                .unlock(&password)
                .unwrap();
            assert_eq!(unlocked.mnemonic().as_str(), phrase);
            let seed = unlocked.seed(&trezor).unwrap();
            assert_eq!(hex::encode(&seed[..]), seed_hex, "vector {i}: keystore");
            in_keystore += 1;
        } else {
            assert!(
                matches!(created, Err(KeystoreError::InvalidMnemonic(_))),
                "vector {i}: {words} words"
            );
            assert!(!path.exists());
            refused += 1;
        }
    }
    assert_eq!((checked, in_keystore, refused), (24, 16, 8));
}
