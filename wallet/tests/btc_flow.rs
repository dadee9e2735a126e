//! End-to-end PSBT flows for every supported script type and both PSBT versions, the 2-of-3
//! P2WSH multisig with one seed per cosigner, the signer's refusals, cross-implementation checks
//! (rust-bitcoin's own PSBT parser + rust-miniscript for v0; the `psbt-v2` crate's own finalizer
//! and extractor for v2), round-trip property tests and a decoder robustness test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;

use bitcoin::absolute::LockTime;
use bitcoin::secp256k1::Secp256k1;
use bitcoin::{
    transaction, Address, Amount, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    Txid, Witness,
};
use miniscript::psbt::PsbtExt;
use proptest::prelude::*;
use rustchain_wallet::btc::accounts::{MasterKey, Purpose};
use rustchain_wallet::btc::descriptors::{
    multisig_cosigner_key, multisig_descriptors, WalletDescriptors,
};
use rustchain_wallet::btc::psbt::create::{create_psbt, CreateOptions, Recipient};
use rustchain_wallet::btc::psbt::sign::SignError;
use rustchain_wallet::btc::psbt::{sign_psbt, PsbtSummary, PsbtVersion, SignPolicy, WalletPsbt};
use rustchain_wallet::btc::utxo::Utxo;

const NET: Network = Network::Testnet;

fn master(byte: u8) -> MasterKey {
    MasterKey::from_seed(&[byte; 64], NET).unwrap()
}

/// A previous transaction paying `amount` to `spk` at output 1 (output 0 pays elsewhere).
fn funding(spk: ScriptBuf, amount: u64, salt: u32) -> (Transaction, OutPoint) {
    let tx = Transaction {
        version: transaction::Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: Txid::from_str(&format!("{:064x}", salt + 1)).unwrap(),
                vout: salt,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::default(),
        }],
        output: vec![
            TxOut {
                value: Amount::from_sat(1234),
                script_pubkey: ScriptBuf::new_op_return([1, 2, 3]),
            },
            TxOut {
                value: Amount::from_sat(amount),
                script_pubkey: spk,
            },
        ],
    };
    let outpoint = OutPoint {
        txid: tx.compute_txid(),
        vout: 1,
    };
    (tx, outpoint)
}

fn utxo(wallet: &WalletDescriptors, index: u32, amount: u64, with_prev_tx: bool) -> Utxo {
    let spk = wallet.address(false, index).unwrap().script_pubkey();
    let (tx, outpoint) = funding(spk.clone(), amount, index * 7 + amount as u32);
    Utxo {
        outpoint,
        txout: TxOut {
            value: Amount::from_sat(amount),
            script_pubkey: spk,
        },
        derivation: if index.is_multiple_of(2) {
            Some((false, index))
        } else {
            None
        },
        prev_tx: with_prev_tx.then_some(tx),
    }
}

fn destination() -> Address {
    master(99)
        .account(Purpose::Bip84, 0)
        .unwrap()
        .address(false, 0)
        .unwrap()
}

fn opts(version: PsbtVersion, sat_per_vb: u64) -> CreateOptions {
    CreateOptions {
        fee_rate_sat_per_kwu: sat_per_vb * 250,
        version,
        ..Default::default()
    }
}

/// Creates, signs, finalizes and extracts; returns the signed (unfinalized) PSBT and the tx.
fn full_flow(purpose: Purpose, version: PsbtVersion) -> (WalletPsbt, Transaction) {
    let m = master(7);
    let wallet = WalletDescriptors::from_account(&m.account(purpose, 0).unwrap()).unwrap();
    let coins = vec![
        utxo(&wallet, 0, 50_000, true),
        utxo(&wallet, 1, 70_000, true),
        utxo(&wallet, 2, 9_000, true),
    ];
    let to = vec![Recipient {
        address: destination(),
        amount: Amount::from_sat(60_000),
    }];
    let (psbt, summary) = create_psbt(&wallet, &coins, &to, &opts(version, 3)).unwrap();
    assert_eq!(psbt.version(), version);
    // every input signals RBF
    assert!(psbt
        .unsigned_tx()
        .input
        .iter()
        .all(|i| i.sequence == Sequence(0xFFFF_FFFD)));

    // decode for display: the fee and the change are shown
    let text = WalletPsbt::from_base64(&psbt.to_base64().unwrap()).unwrap();
    let s = PsbtSummary::new(&text, NET, Some(m.fingerprint()));
    assert_eq!(s.fee_sat, Some(summary.fee.to_sat()));
    assert!(s.rbf);
    let (change_addr, change_amount, _) = summary.change.clone().expect("change expected");
    let change_out = s
        .outputs
        .iter()
        .find(|o| o.address == change_addr.to_string())
        .unwrap();
    assert_eq!(change_out.amount_sat, change_amount.to_sat());
    assert!(
        change_out.change_origin.as_deref().unwrap().contains("/1/"),
        "{:?}",
        change_out
    );
    let pay_out = s
        .outputs
        .iter()
        .find(|o| o.address == destination().to_string())
        .unwrap();
    assert!(pay_out.change_origin.is_none());
    // another seed does not see the change as its own
    let other = PsbtSummary::new(&text, NET, Some(master(8).fingerprint()));
    assert!(other.outputs.iter().all(|o| o.change_origin.is_none()));

    // sign on the "offline" side, from the base64 text
    let mut signed = WalletPsbt::from_base64(&psbt.to_base64().unwrap()).unwrap();
    let report = sign_psbt(&mut signed, &m, SignPolicy::default()).unwrap();
    assert_eq!(report.signed.len(), signed.inner().inputs.len());
    let signed = WalletPsbt::from_base64(&signed.to_base64().unwrap()).unwrap();

    let mut fin = signed.clone();
    fin.finalize().unwrap();
    let fin = WalletPsbt::from_base64(&fin.to_base64().unwrap()).unwrap();
    let tx = fin.extract().unwrap();
    // the estimate covered the real size: fee rate at least what was asked
    let vsize = tx.vsize() as u64;
    assert!(
        summary.fee.to_sat() >= 3 * vsize,
        "fee {} for {vsize} vB",
        summary.fee
    );
    assert!(
        summary.estimated_vsize >= vsize,
        "estimate {} < {vsize}",
        summary.estimated_vsize
    );
    (signed, tx)
}

#[test]
fn single_sig_flows_all_types_both_versions() {
    for purpose in Purpose::SINGLE_SIG {
        for version in [PsbtVersion::V0, PsbtVersion::V2] {
            let (_, tx) = full_flow(purpose, version);
            assert_eq!(tx.output.len(), 2, "{purpose:?} {version:?}");
        }
    }
}

#[test]
fn v0_interop_rust_bitcoin_parser_and_miniscript_finalizer() {
    let secp = Secp256k1::new();
    for purpose in Purpose::SINGLE_SIG {
        let (signed, ours) = full_flow(purpose, PsbtVersion::V0);
        // An independent reader: rust-bitcoin's own PSBT type, from our base64.
        let mut theirs = bitcoin::psbt::Psbt::from_str(&signed.to_base64().unwrap()).unwrap();
        theirs.finalize_mut(&secp).unwrap();
        let tx = theirs.extract_tx().unwrap();
        assert_eq!(tx, ours, "{purpose:?}");
    }
}

/// The `psbt-v2` crate's decoder (which our decoder also uses, but only after our own framing
/// checks; here it reads our output directly) sees the PSBT we meant: same unsigned transaction,
/// fee, signatures, and BIP-370 modifiable flags cleared after signing. (psbt-v2 0.3's own
/// Finalizer/Extractor cannot be used as a second finalizer: it requires both a final scriptSig
/// and a final witness on every input, which native segwit inputs never have.)
#[test]
fn v2_interop_psbt_v2_reads_our_output() {
    for purpose in Purpose::SINGLE_SIG {
        let (signed, _) = full_flow(purpose, PsbtVersion::V2);
        let theirs = psbt_v2::v2::Psbt::from_str(&signed.to_base64().unwrap()).unwrap();
        assert_eq!(theirs.global.tx_modifiable_flags & 0b11, 0, "{purpose:?}");
        assert_eq!(theirs.inputs.len(), signed.inner().inputs.len());
        let ours = signed.unsigned_tx();
        for (i, inp) in theirs.inputs.iter().enumerate() {
            assert_eq!(inp.previous_txid, ours.input[i].previous_output.txid);
            assert_eq!(inp.spent_output_index, ours.input[i].previous_output.vout);
            assert_eq!(inp.sequence, Some(Sequence(0xFFFF_FFFD)));
            let sigs = inp.partial_sigs.len() + usize::from(inp.tap_key_sig.is_some());
            assert_eq!(sigs, 1, "{purpose:?} input {i}");
        }
        for (o, out) in theirs.outputs.iter().zip(&ours.output) {
            assert_eq!(o.amount, out.value);
            assert_eq!(o.script_pubkey, out.script_pubkey);
        }
        let fee = PsbtSummary::new(&signed, NET, None).fee_sat.unwrap();
        assert_eq!(theirs.fee().unwrap().to_sat(), fee);
        assert_eq!(theirs.determine_lock_time().unwrap().to_consensus_u32(), 0);
    }
}

#[test]
fn multisig_2_of_3_each_cosigner_signs_with_own_seed() {
    let cosigners = [master(11), master(12), master(13)];
    let keys: Vec<String> = cosigners
        .iter()
        .map(|m| multisig_cosigner_key(m, 0).unwrap())
        .collect();
    assert!(keys[0].contains("/48'/1'/0'/2']tpub"));
    let wallet = multisig_descriptors(2, &keys, NET).unwrap();
    assert!(wallet
        .external
        .to_string()
        .starts_with("wsh(sortedmulti(2,"));
    // key order does not change the wallet (sortedmulti)
    let reversed: Vec<String> = keys.iter().rev().cloned().collect();
    assert_eq!(
        multisig_descriptors(2, &reversed, NET)
            .unwrap()
            .address(false, 3)
            .unwrap(),
        wallet.address(false, 3).unwrap()
    );

    for version in [PsbtVersion::V0, PsbtVersion::V2] {
        let coins = vec![
            utxo(&wallet, 0, 400_000, true),
            utxo(&wallet, 1, 300_000, true),
        ];
        let to = vec![Recipient {
            address: destination(),
            amount: Amount::from_sat(500_000),
        }];
        let (unsigned, _) = create_psbt(&wallet, &coins, &to, &opts(version, 5)).unwrap();
        let text = unsigned.to_base64().unwrap();

        // cosigner A and cosigner C sign independently
        let mut a = WalletPsbt::from_base64(&text).unwrap();
        let ra = sign_psbt(&mut a, &cosigners[0], SignPolicy::default()).unwrap();
        assert_eq!(ra.signed.len(), 2);
        let mut c = WalletPsbt::from_base64(&text).unwrap();
        sign_psbt(&mut c, &cosigners[2], SignPolicy::default()).unwrap();

        // one signature is not enough
        let mut only_a = a.clone();
        assert!(only_a.finalize().is_err());

        let both = WalletPsbt::from_base64(&a.to_base64().unwrap())
            .unwrap()
            .combine(WalletPsbt::from_base64(&c.to_base64().unwrap()).unwrap())
            .unwrap();
        let mut fin = both.clone();
        fin.finalize().unwrap();
        let tx = fin.extract().unwrap();
        // witness: empty, 2 signatures, witness script
        assert_eq!(tx.input[0].witness.len(), 4);

        // independent finalizers agree
        let secp = Secp256k1::new();
        match version {
            PsbtVersion::V0 => {
                let mut p = bitcoin::psbt::Psbt::from_str(&both.to_base64().unwrap()).unwrap();
                p.finalize_mut(&secp).unwrap();
                assert_eq!(p.extract_tx().unwrap(), tx);
            }
            PsbtVersion::V2 => {
                let p = psbt_v2::v2::Psbt::from_str(&both.to_base64().unwrap()).unwrap();
                assert_eq!(p.inputs[0].partial_sigs.len(), 2);
                assert!(p.inputs[0].witness_script.is_some());
            }
        }
    }
}

#[test]
fn signer_refusals() {
    let m = master(7);
    let wallet = WalletDescriptors::from_account(&m.account(Purpose::Bip84, 0).unwrap()).unwrap();
    let to = vec![Recipient {
        address: destination(),
        amount: Amount::from_sat(20_000),
    }];

    // segwit v0 without the previous transaction: refused by default, allowed by policy
    let coins = vec![utxo(&wallet, 0, 50_000, false)];
    let (p, _) = create_psbt(&wallet, &coins, &to, &opts(PsbtVersion::V2, 1)).unwrap();
    let mut q = p.clone();
    assert!(matches!(
        sign_psbt(&mut q, &m, SignPolicy::default()),
        Err(SignError::Refused { .. })
    ));
    assert_eq!(q, p);
    sign_psbt(
        &mut q,
        &m,
        SignPolicy {
            allow_witness_utxo_only: true,
        },
    )
    .unwrap();

    // not our PSBT
    let mut q = p.clone();
    assert!(matches!(
        sign_psbt(
            &mut q,
            &master(8),
            SignPolicy {
                allow_witness_utxo_only: true
            }
        ),
        Err(SignError::NothingToSign(_))
    ));

    // a PSBT claiming our fingerprint at a path that does not give the listed key
    let coins = vec![utxo(&wallet, 0, 50_000, true)];
    let (p, _) = create_psbt(&wallet, &coins, &to, &opts(PsbtVersion::V0, 1)).unwrap();
    let mut bad = p.clone();
    for (_, (_, path)) in bad.inner_mut().inputs[0].bip32_derivation.iter_mut() {
        *path = "m/84'/1'/0'/0/5".parse().unwrap();
    }
    assert!(matches!(
        sign_psbt(&mut bad, &m, SignPolicy::default()),
        Err(SignError::Inconsistent { .. })
    ));

    // a non_witness_utxo that is not the spent transaction
    let mut bad = p.clone();
    let other = utxo(&wallet, 4, 50_000, true).prev_tx.unwrap();
    bad.inner_mut().inputs[0].non_witness_utxo = Some(other);
    assert!(matches!(
        sign_psbt(&mut bad, &m, SignPolicy::default()),
        Err(SignError::Inconsistent { .. })
    ));

    // a witness_utxo that lies about the amount
    let mut bad = p.clone();
    bad.inner_mut().inputs[0]
        .witness_utxo
        .as_mut()
        .unwrap()
        .value = Amount::from_sat(1);
    assert!(matches!(
        sign_psbt(&mut bad, &m, SignPolicy::default()),
        Err(SignError::Inconsistent { .. })
    ));

    // a sighash type other than ALL
    let mut bad = p.clone();
    bad.inner_mut().inputs[0].sighash_type = Some(bitcoin::psbt::PsbtSighashType::from_u32(0x82));
    assert!(matches!(
        sign_psbt(&mut bad, &m, SignPolicy::default()),
        Err(SignError::Refused { .. })
    ));
}

#[test]
fn p2pkh_needs_prev_tx_at_creation() {
    let m = master(7);
    let wallet = WalletDescriptors::from_account(&m.account(Purpose::Bip44, 0).unwrap()).unwrap();
    let coins = vec![utxo(&wallet, 0, 50_000, false)];
    let to = vec![Recipient {
        address: destination(),
        amount: Amount::from_sat(20_000),
    }];
    assert!(create_psbt(&wallet, &coins, &to, &opts(PsbtVersion::V0, 1)).is_err());
}

#[test]
fn foreign_coins_and_dust_are_rejected() {
    let m = master(7);
    let wallet = WalletDescriptors::from_account(&m.account(Purpose::Bip84, 0).unwrap()).unwrap();
    let other =
        WalletDescriptors::from_account(&master(8).account(Purpose::Bip84, 0).unwrap()).unwrap();
    let mut coin = utxo(&other, 1, 50_000, true);
    coin.derivation = None;
    let to = vec![Recipient {
        address: destination(),
        amount: Amount::from_sat(20_000),
    }];
    let mut o = opts(PsbtVersion::V0, 1);
    o.lookahead = 20;
    assert!(create_psbt(&wallet, &[coin], &to, &o).is_err());
    let coins = vec![utxo(&wallet, 0, 50_000, true)];
    let dust = vec![Recipient {
        address: destination(),
        amount: Amount::from_sat(100),
    }];
    assert!(create_psbt(&wallet, &coins, &dust, &o).is_err());
}

#[test]
fn changeless_when_branch_and_bound_fits() {
    let m = master(7);
    let wallet = WalletDescriptors::from_account(&m.account(Purpose::Bip84, 0).unwrap()).unwrap();
    let coins = vec![
        utxo(&wallet, 0, 30_000, true),
        utxo(&wallet, 1, 20_000, true),
        utxo(&wallet, 2, 77_777, true),
    ];
    // 1 sat/vB: two P2WPKH inputs (~68 vB each) + header/outputs; pay 50,000 - ~200 sat
    let to = vec![Recipient {
        address: destination(),
        amount: Amount::from_sat(49_780),
    }];
    let (p, s) = create_psbt(&wallet, &coins, &to, &opts(PsbtVersion::V2, 1)).unwrap();
    assert!(s.change.is_none(), "{s:?}");
    assert_eq!(p.unsigned_tx().output.len(), 1);
}

#[test]
fn version_conversion_preserves_everything() {
    let (signed_v2, tx) = full_flow(Purpose::Bip86, PsbtVersion::V2);
    let v0 = signed_v2.convert(PsbtVersion::V0).unwrap();
    assert_eq!(v0.version(), PsbtVersion::V0);
    assert_eq!(v0.inner(), signed_v2.inner());
    let back = v0.convert(PsbtVersion::V2).unwrap();
    assert_eq!(back.inner(), signed_v2.inner());
    let mut f = WalletPsbt::from_base64(&v0.to_base64().unwrap()).unwrap();
    f.finalize().unwrap();
    assert_eq!(f.extract().unwrap(), tx);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn create_encode_decode_roundtrip(
        amounts in proptest::collection::vec(10_000u64..2_000_000, 1..6),
        pay_frac in 1u64..90,
        rate in 1u64..40,
        purpose_ix in 0usize..4,
        v2 in any::<bool>(),
    ) {
        let m = master(7);
        let purpose = Purpose::SINGLE_SIG[purpose_ix];
        let wallet = WalletDescriptors::from_account(&m.account(purpose, 0).unwrap()).unwrap();
        let coins: Vec<Utxo> = amounts.iter().enumerate().map(|(i, a)| utxo(&wallet, i as u32, *a, true)).collect();
        let total: u64 = amounts.iter().sum();
        let pay = (total * pay_frac / 100).max(1000);
        let to = vec![Recipient { address: destination(), amount: Amount::from_sat(pay) }];
        let version = if v2 { PsbtVersion::V2 } else { PsbtVersion::V0 };
        match create_psbt(&wallet, &coins, &to, &opts(version, rate)) {
            Ok((p, summary)) => {
                let text = p.to_base64().unwrap();
                let back = WalletPsbt::from_base64(&text).unwrap();
                prop_assert_eq!(&back, &p);
                prop_assert_eq!(back.to_base64().unwrap(), text);
                let other = p.convert(if v2 { PsbtVersion::V0 } else { PsbtVersion::V2 }).unwrap();
                prop_assert_eq!(other.inner(), p.inner());
                let s = PsbtSummary::new(&p, NET, Some(m.fingerprint()));
                prop_assert_eq!(s.fee_sat, Some(summary.fee.to_sat()));
                prop_assert!(summary.fee.to_sat() >= rate * summary.estimated_vsize - rate);
            }
            Err(e) => prop_assert!(e.to_string().contains("insufficient"), "{}", e),
        }
    }

    #[test]
    fn mutated_psbts_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6), cut in any::<prop::sample::Index>(), which in any::<bool>()) {
        let base = if which { sample_v2() } else { sample_v0() };
        let mut bytes = base.clone();
        for (ix, b) in &flips {
            let i = ix.index(bytes.len());
            bytes[i] = *b;
        }
        let _ = WalletPsbt::from_bytes(&bytes);
        let n = cut.index(base.len());
        let _ = WalletPsbt::from_bytes(&base[..n]);
    }
}

fn sample(version: PsbtVersion) -> Vec<u8> {
    let m = master(7);
    let wallet = WalletDescriptors::from_account(&m.account(Purpose::Bip86, 0).unwrap()).unwrap();
    let coins = vec![
        utxo(&wallet, 0, 50_000, true),
        utxo(&wallet, 1, 60_000, true),
    ];
    let to = vec![Recipient {
        address: destination(),
        amount: Amount::from_sat(70_000),
    }];
    let (mut p, _) = create_psbt(&wallet, &coins, &to, &opts(version, 2)).unwrap();
    sign_psbt(&mut p, &m, SignPolicy::default()).unwrap();
    p.to_bytes().unwrap()
}
fn sample_v0() -> Vec<u8> {
    sample(PsbtVersion::V0)
}
fn sample_v2() -> Vec<u8> {
    sample(PsbtVersion::V2)
}
