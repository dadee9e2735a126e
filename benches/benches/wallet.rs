//! Bitcoin wallet operations (targets from the wallet issue): signing and finalizing a 2-input
//! 2-output PSBT v2 (at most 2 ms) and deriving a BIP-84 address (at most 50 µs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;

use bitcoin::absolute::LockTime;
use bitcoin::{
    transaction, Amount, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid,
    Witness,
};
use criterion::{criterion_group, criterion_main, Criterion};
use rustchain_wallet::btc::accounts::{MasterKey, Purpose};
use rustchain_wallet::btc::descriptors::WalletDescriptors;
use rustchain_wallet::btc::psbt::create::{create_psbt, CreateOptions, Recipient};
use rustchain_wallet::btc::psbt::{sign_psbt, PsbtVersion, SignPolicy, WalletPsbt};
use rustchain_wallet::btc::utxo::Utxo;

fn coin(wallet: &WalletDescriptors, index: u32, amount: u64) -> Utxo {
    let spk = wallet.address(false, index).unwrap().script_pubkey();
    let prev = Transaction {
        version: transaction::Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: Txid::from_str(&format!("{:064x}", index + 1)).unwrap(),
                vout: 0,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::default(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(amount),
            script_pubkey: spk.clone(),
        }],
    };
    Utxo {
        outpoint: OutPoint {
            txid: prev.compute_txid(),
            vout: 0,
        },
        txout: TxOut {
            value: Amount::from_sat(amount),
            script_pubkey: spk,
        },
        derivation: Some((false, index)),
        prev_tx: Some(prev),
    }
}

/// A 2-input 2-output (payment + change) P2WPKH PSBT v2, base64.
fn unsigned_v2(master: &MasterKey) -> String {
    let wallet =
        WalletDescriptors::from_account(&master.account(Purpose::Bip84, 0).unwrap()).unwrap();
    let coins = vec![coin(&wallet, 0, 60_000), coin(&wallet, 1, 50_000)];
    let to = vec![Recipient {
        address: wallet.address(false, 50).unwrap(),
        amount: Amount::from_sat(90_000),
    }];
    let opts = CreateOptions {
        fee_rate_sat_per_kwu: 500,
        version: PsbtVersion::V2,
        ..Default::default()
    };
    let (psbt, _) = create_psbt(&wallet, &coins, &to, &opts).unwrap();
    assert_eq!(psbt.inner().inputs.len(), 2);
    assert_eq!(psbt.inner().outputs.len(), 2);
    psbt.to_base64().unwrap()
}

fn bench_wallet(c: &mut Criterion) {
    let master = MasterKey::from_seed(&[7u8; 64], Network::Testnet).unwrap();
    let text = unsigned_v2(&master);
    let mut g = c.benchmark_group("wallet");
    g.bench_function("btc/psbt_v2_sign_finalize/inputs=2,outputs=2", |b| {
        b.iter(|| {
            let mut p = WalletPsbt::from_base64(&text).unwrap();
            sign_psbt(&mut p, &master, SignPolicy::default()).unwrap();
            p.finalize().unwrap();
            std::hint::black_box(p.to_base64().unwrap())
        })
    });
    let account = master.account(Purpose::Bip84, 0).unwrap();
    let mut i = 0u32;
    g.bench_function("btc/bip84_address", |b| {
        b.iter(|| {
            i = (i + 1) % 1000;
            std::hint::black_box(account.address(false, i).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_wallet);
criterion_main!(benches);
