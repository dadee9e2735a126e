//! The `btc` CLI through `cli::run`: watch-only export on the "offline" side, PSBT creation from
//! the export and a UTXO file on the "online" side (never touching the seed), signing offline,
//! finalizing and extracting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use bitcoin::absolute::LockTime;
use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{
    transaction, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness,
};
use clap::Parser;
use rustchain_wallet::btc::cli::{run, BtcCommand};
use rustchain_wallet::btc::descriptors::WatchOnlyExport;
use rustchain_wallet::btc::psbt::WalletPsbt;
use zeroize::Zeroizing;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: BtcCommand,
}

fn cmd(args: &[&str]) -> BtcCommand {
    let mut v = vec!["btc"];
    v.extend_from_slice(args);
    Cli::try_parse_from(v).unwrap_or_else(|e| panic!("{e}")).cmd
}

fn seed() -> anyhow::Result<Zeroizing<[u8; 64]>> {
    Ok(Zeroizing::new([42u8; 64]))
}

fn no_seed() -> anyhow::Result<Zeroizing<[u8; 64]>> {
    panic!("a watch-only command asked for the seed")
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

#[test]
fn offline_online_flow() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // offline: export
    run(
        cmd(&[
            "descriptors",
            "--network",
            "regtest",
            "--watch-only-out",
            &p(d, "wo.json"),
        ]),
        0,
        seed,
    )
    .unwrap();
    let export = WatchOnlyExport::from_json(&std::fs::read(d.join("wo.json")).unwrap()).unwrap();
    assert_eq!(export.wallets.len(), 4);
    let text = std::fs::read_to_string(d.join("wo.json")).unwrap();
    assert!(!text.contains("prv"), "the export must hold no private key");

    // online: address and a UTXO file with two coins
    let wallet = export.wallet(84).unwrap();
    run(
        cmd(&["address", "--watch-only", &p(d, "wo.json"), "--index", "1"]),
        0,
        no_seed,
    )
    .unwrap();
    let mut entries = Vec::new();
    for (i, amount) in [(0u32, 80_000u64), (1, 45_000)] {
        let spk = wallet.address(false, i).unwrap().script_pubkey();
        let prev = Transaction {
            version: transaction::Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: ScriptBuf::from_bytes(vec![1, i as u8]),
                sequence: Sequence::MAX,
                witness: Witness::default(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(amount),
                script_pubkey: spk.clone(),
            }],
        };
        entries.push(serde_json::json!({
            "txid": prev.compute_txid().to_string(), "vout": 0, "amount_sat": amount,
            "address": wallet.address(false, i).unwrap().to_string(),
            "prev_tx": serialize_hex(&prev),
        }));
    }
    std::fs::write(
        d.join("utxos.json"),
        serde_json::json!({ "utxos": entries }).to_string(),
    )
    .unwrap();
    let dest = wallet.address(false, 9).unwrap().to_string();
    run(
        cmd(&[
            "psbt",
            "create",
            "--watch-only",
            &p(d, "wo.json"),
            "--utxos",
            &p(d, "utxos.json"),
            "--to",
            &format!("{dest}:0.001"),
            "--fee-rate",
            "2.5",
            "--version",
            "2",
            "--out",
            &p(d, "unsigned.psbt"),
        ]),
        0,
        no_seed,
    )
    .unwrap();
    run(
        cmd(&[
            "psbt",
            "decode",
            "--network",
            "regtest",
            "--in",
            &p(d, "unsigned.psbt"),
        ]),
        0,
        no_seed,
    )
    .unwrap();
    run(
        cmd(&[
            "psbt",
            "decode",
            "--network",
            "regtest",
            "--json",
            "--in",
            &p(d, "unsigned.psbt"),
        ]),
        0,
        no_seed,
    )
    .unwrap();

    // offline: sign
    run(
        cmd(&[
            "psbt",
            "sign",
            "--network",
            "regtest",
            "--in",
            &p(d, "unsigned.psbt"),
            "--out",
            &p(d, "signed.psbt"),
        ]),
        0,
        seed,
    )
    .unwrap();
    // any machine: finalize, extract
    run(
        cmd(&[
            "psbt",
            "finalize",
            "--in",
            &p(d, "signed.psbt"),
            "--out",
            &p(d, "final.psbt"),
        ]),
        0,
        no_seed,
    )
    .unwrap();
    run(
        cmd(&[
            "psbt",
            "extract",
            "--in",
            &p(d, "final.psbt"),
            "--out",
            &p(d, "tx.hex"),
        ]),
        0,
        no_seed,
    )
    .unwrap();
    let hex = std::fs::read_to_string(d.join("tx.hex")).unwrap();
    let tx: Transaction = bitcoin::consensus::encode::deserialize_hex(hex.trim()).unwrap();
    assert!(tx
        .output
        .iter()
        .any(|o| o.value == Amount::from_sat(100_000)));

    // combine (the signed PSBT with the unsigned one) and convert to v0 and back
    run(
        cmd(&[
            "psbt",
            "combine",
            &p(d, "unsigned.psbt"),
            &p(d, "signed.psbt"),
            "--out",
            &p(d, "comb.psbt"),
        ]),
        0,
        no_seed,
    )
    .unwrap();
    let comb =
        WalletPsbt::from_base64(&std::fs::read_to_string(d.join("comb.psbt")).unwrap()).unwrap();
    let signed =
        WalletPsbt::from_base64(&std::fs::read_to_string(d.join("signed.psbt")).unwrap()).unwrap();
    assert_eq!(comb.inner(), signed.inner());
    run(
        cmd(&[
            "psbt",
            "convert",
            "--version",
            "0",
            "--in",
            &p(d, "signed.psbt"),
            "--out",
            &p(d, "v0.psbt"),
        ]),
        0,
        no_seed,
    )
    .unwrap();
    let v0 = WalletPsbt::from_base64(&std::fs::read_to_string(d.join("v0.psbt")).unwrap()).unwrap();
    assert_eq!(v0.version().number(), 0);

    // multisig wallet from cosigner keys, watch-only
    let k1 = export.multisig_key.clone().unwrap();
    let other = rustchain_wallet::btc::accounts::MasterKey::from_seed(
        &[5u8; 64],
        bitcoin::Network::Regtest,
    )
    .unwrap();
    let k2 = rustchain_wallet::btc::descriptors::multisig_cosigner_key(&other, 0).unwrap();
    run(
        cmd(&[
            "multisig",
            "--network",
            "regtest",
            "--threshold",
            "2",
            "--key",
            &k1,
            "--key",
            &k2,
            "--watch-only-out",
            &p(d, "ms.json"),
        ]),
        0,
        no_seed,
    )
    .unwrap();
    run(
        cmd(&[
            "address",
            "--watch-only",
            &p(d, "ms.json"),
            "--purpose",
            "48",
        ]),
        0,
        no_seed,
    )
    .unwrap();

    // errors are errors, not panics
    assert!(run(
        cmd(&["psbt", "decode", "--in", &p(d, "utxos.json")]),
        0,
        no_seed
    )
    .is_err());
    assert!(run(
        cmd(&["psbt", "finalize", "--in", &p(d, "unsigned.psbt")]),
        0,
        no_seed
    )
    .is_err());
    assert!(run(cmd(&["descriptors", "--network", "moon"]), 0, seed).is_err());
}
