//! BIP-49/84/86 derivation vectors and the third-party cross-check of BIP-44/49/84/86 addresses
//! and descriptors (shared/vectors).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bitcoin::base58;
use bitcoin::Network;
use rustchain_primitives::hd::seed_from_mnemonic;
use rustchain_wallet::btc::accounts::{MasterKey, Purpose};
use rustchain_wallet::btc::descriptors::WalletDescriptors;
use serde_json::Value;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors/");
const ABANDON: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

fn load(name: &str) -> Value {
    let path = format!("{VECTORS}{name}");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap()
}

fn master(network: Network) -> MasterKey {
    let seed = seed_from_mnemonic(ABANDON, "").unwrap();
    MasterKey::from_seed(seed.as_ref(), network).unwrap()
}

/// Compares an extended key given with any SLIP-132 version prefix (ypub/zpub/upub) to ours by
/// payload (everything after the 4 version bytes).
fn same_payload(theirs: &str, ours: &str) -> bool {
    let a = base58::decode_check(theirs).unwrap();
    let b = base58::decode_check(ours).unwrap();
    a[4..] == b[4..]
}

fn field<'a>(v: &'a Value, group: &str, header_contains: &str, key: &str) -> &'a str {
    v[group]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["header"].as_str().unwrap_or("").contains(header_contains))
        .unwrap_or_else(|| panic!("{group}: no header {header_contains}"))["fields"][key]
        .as_str()
        .unwrap()
}

#[test]
fn bip84_vectors() {
    let v = load("bip49_bip84_bip86_derivation-vectors.extracted.json");
    let acct = master(Network::Bitcoin).account(Purpose::Bip84, 0).unwrap();
    assert!(same_payload(
        field(&v, "bip84_p2wpkh_mainnet", "root = m/84'/0'/0'", "xpub"),
        &acct.xpub.to_string()
    ));
    for (header, change, index) in [
        ("first receiving", false, 0),
        ("second receiving", false, 1),
        ("first change", true, 0),
    ] {
        let expected = field(&v, "bip84_p2wpkh_mainnet", header, "address");
        assert_eq!(
            acct.address(change, index).unwrap().to_string(),
            expected,
            "{header}"
        );
    }
}

#[test]
fn bip86_vectors() {
    let v = load("bip49_bip84_bip86_derivation-vectors.extracted.json");
    let acct = master(Network::Bitcoin).account(Purpose::Bip86, 0).unwrap();
    assert_eq!(
        acct.xpub.to_string(),
        field(&v, "bip86_p2tr_mainnet", "root = m/86'/0'/0'", "xpub")
    );
    for (header, change, index) in [
        ("first receiving", false, 0),
        ("second receiving", false, 1),
        ("first change", true, 0),
    ] {
        let expected = field(&v, "bip86_p2tr_mainnet", header, "address");
        let spk = field(&v, "bip86_p2tr_mainnet", header, "scriptPubKey");
        let addr = acct.address(change, index).unwrap();
        assert_eq!(addr.to_string(), expected, "{header}");
        assert_eq!(addr.script_pubkey().to_hex_string(), spk, "{header}");
    }
}

#[test]
fn bip49_vectors_testnet() {
    let v = load("bip49_bip84_bip86_derivation-vectors.extracted.json");
    let acct = master(Network::Testnet).account(Purpose::Bip49, 0).unwrap();
    let upub = field(
        &v,
        "bip49_p2sh-p2wpkh_testnet",
        "root = m/49'/1'/0'",
        "account0Xpub",
    );
    let upub = upub.split_whitespace().next().unwrap();
    assert!(same_payload(upub, &acct.xpub.to_string()));
    let text = field(&v, "bip49_p2sh-p2wpkh_testnet", "base58check", "address");
    let expected = text
        .split_whitespace()
        .find(|w| w.starts_with('2'))
        .unwrap();
    assert_eq!(acct.address(false, 0).unwrap().to_string(), expected);
}

#[test]
fn third_party_crosscheck_descriptors_and_addresses() {
    let v = load("xcheck_abandon-mnemonic_bip44-49-84-86_addresses.generated.json");
    assert_eq!(v["mnemonic"], ABANDON);
    let m = master(Network::Bitcoin);
    let mut checked = 0;
    for (name, purpose) in [
        ("bip44", Purpose::Bip44),
        ("bip49", Purpose::Bip49),
        ("bip84", Purpose::Bip84),
        ("bip86", Purpose::Bip86),
    ] {
        let a = &v["accounts"][name];
        let acct = m.account(purpose, 0).unwrap();
        assert_eq!(
            acct.descriptor(false).unwrap().to_string(),
            a["public_descriptor_external"].as_str().unwrap(),
            "{name} external descriptor"
        );
        assert_eq!(
            acct.descriptor(true).unwrap().to_string(),
            a["public_descriptor_internal"].as_str().unwrap(),
            "{name} internal descriptor"
        );
        let wallet = WalletDescriptors::parse(
            a["public_descriptor_external"].as_str().unwrap(),
            a["public_descriptor_internal"].as_str().unwrap(),
            Network::Bitcoin,
        )
        .unwrap();
        for (path, addr) in a["addresses"].as_object().unwrap() {
            let parts: Vec<&str> = path.split('/').collect();
            let change = parts[4] == "1";
            let index: u32 = parts[5].parse().unwrap();
            assert_eq!(
                acct.address(change, index).unwrap().to_string(),
                addr.as_str().unwrap(),
                "{path}"
            );
            assert_eq!(
                wallet.address(change, index).unwrap().to_string(),
                addr.as_str().unwrap(),
                "{path} via descriptor"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 40);
}

#[test]
fn test_networks_use_coin_type_1_and_tpub() {
    let m = master(Network::Testnet);
    for p in Purpose::SINGLE_SIG {
        let a = m.account(p, 3).unwrap();
        assert_eq!(a.path.to_string(), format!("{}'/1'/3'", p.number()));
        assert!(a.xpub.to_string().starts_with("tpub"));
        let d = a.descriptor(false).unwrap().to_string();
        assert!(
            d.contains(&format!("[73c5da0a/{}'/1'/3']tpub", p.number())),
            "{d}"
        );
    }
    assert!(m.account(Purpose::Bip84, 0x8000_0000).is_err());
    // Debug output never shows the key
    let dbg = format!("{m:?}");
    assert!(dbg.contains("redacted") && !dbg.contains("tprv"));
}
