//! The Creator/Updater: a PSBT spending coins of one wallet (single-sig account or multisig
//! descriptor) from a UTXO file.
//!
//! - Coins are chosen by [`crate::btc::coin_selection`] at the requested fee rate, with input
//!   weights from the descriptor's maximum satisfaction weight (signatures counted at 72 bytes).
//! - Every input signals RBF (`nSequence = 0xFFFFFFFD`); the transaction is version 2 with lock
//!   time 0.
//! - Change goes to the wallet's internal chain at `change_index` (default: one past the highest
//!   change index among the given coins, else 0). It is placed at a random position among the
//!   outputs, and its BIP-32 derivation (or taproot key origin) and scripts are recorded in the
//!   PSBT output so signers can recognize it as change.
//! - Inputs get `witness_utxo` (segwit), `non_witness_utxo` (whenever the UTXO file has the
//!   previous transaction; required for P2PKH), key origins and redeem/witness scripts from the
//!   descriptor (rust-miniscript's updater, which checks the derived script against the coin).
//! - The global map lists the account xpubs with their origins (`PSBT_GLOBAL_XPUB`).

use std::collections::HashMap;

use bitcoin::bip32::Xpub;
use bitcoin::psbt::Psbt;
use bitcoin::secp256k1::rand::{thread_rng, Rng};
use bitcoin::{absolute, Address, Amount, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use miniscript::descriptor::{DefiniteDescriptorKey, Descriptor, DescriptorPublicKey};
use miniscript::psbt::PsbtExt;
use miniscript::ForEachKey;

use super::{PsbtError, PsbtVersion, WalletPsbt, TX_VERSION};
use crate::btc::coin_selection::{self, Algorithm, Candidate, CoinSelectionError, Target};
use crate::btc::descriptors::WalletDescriptors;
use crate::btc::utxo::Utxo;

/// Most recipients in one PSBT.
pub const MAX_RECIPIENTS: usize = 1000;
/// Default number of addresses searched per chain to find a coin's derivation.
pub const DEFAULT_LOOKAHEAD: u32 = 1000;
/// Weight of an unsatisfied input: outpoint, sequence, empty scriptSig, empty witness.
const UNSATISFIED_INPUT_WEIGHT: u64 = 4 * (32 + 4 + 1 + 4) + 1;

/// A payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Destination.
    pub address: Address,
    /// Amount.
    pub amount: Amount,
}

/// Creation options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    /// Fee rate in sat per 1000 weight units (1 sat/vB = 250).
    pub fee_rate_sat_per_kwu: u64,
    /// PSBT version to write.
    pub version: PsbtVersion,
    /// Change address index on the internal chain (default: see module docs).
    pub change_index: Option<u32>,
    /// Addresses searched per chain for coins without a derivation hint.
    pub lookahead: u32,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            fee_rate_sat_per_kwu: 250,
            version: PsbtVersion::V2,
            change_index: None,
            lookahead: DEFAULT_LOOKAHEAD,
        }
    }
}

/// What `create_psbt` chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSummary {
    /// Coins spent.
    pub inputs: Vec<bitcoin::OutPoint>,
    /// Fee.
    pub fee: Amount,
    /// Estimated virtual size of the signed transaction.
    pub estimated_vsize: u64,
    /// Change output: (address, amount, index on the internal chain).
    pub change: Option<(Address, Amount, u32)>,
    /// Which coin selection algorithm decided.
    pub algorithm: Algorithm,
}

/// Creation errors.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// Bad recipients.
    #[error("recipients: {0}")]
    Recipients(String),
    /// A coin does not belong to the wallet, or lacks data.
    #[error("UTXO {outpoint}: {reason}")]
    Utxo {
        /// The coin.
        outpoint: bitcoin::OutPoint,
        /// Why.
        reason: String,
    },
    /// Coin selection failed.
    #[error(transparent)]
    Selection(#[from] CoinSelectionError),
    /// Descriptor error.
    #[error("descriptor: {0}")]
    Descriptor(String),
    /// PSBT construction error.
    #[error(transparent)]
    Psbt(#[from] PsbtError),
}

fn definite(
    desc: &Descriptor<DescriptorPublicKey>,
    index: u32,
) -> Result<Descriptor<DefiniteDescriptorKey>, CreateError> {
    desc.at_derivation_index(index)
        .map_err(|e| CreateError::Descriptor(e.to_string()))
}

fn satisfaction_weight(d: &Descriptor<DefiniteDescriptorKey>) -> Result<u64, CreateError> {
    Ok(d.max_weight_to_satisfy()
        .map_err(|e| CreateError::Descriptor(e.to_string()))?
        .to_wu())
}

fn output_weight(spk: &ScriptBuf) -> u64 {
    let len = spk.len() as u64;
    let varint = bitcoin::VarInt(len).size() as u64;
    4 * (8 + varint + len)
}

/// Finds `(change, index)` of every coin, by hint or by searching `lookahead` addresses per chain.
fn locate_coins(
    wallet: &WalletDescriptors,
    utxos: &[Utxo],
    lookahead: u32,
) -> Result<Vec<(bool, u32)>, CreateError> {
    let mut table: Option<HashMap<ScriptBuf, (bool, u32)>> = None;
    let mut out = Vec::with_capacity(utxos.len());
    for u in utxos {
        let found = match u.derivation {
            Some((change, index)) => {
                let spk = definite(wallet.chain(change), index)?.script_pubkey();
                if spk != u.txout.script_pubkey {
                    return Err(CreateError::Utxo {
                        outpoint: u.outpoint,
                        reason: format!(
                            "its script is not the wallet's address at chain {}, index {index}",
                            u32::from(change)
                        ),
                    });
                }
                (change, index)
            }
            None => {
                if table.is_none() {
                    let mut t = HashMap::new();
                    for change in [false, true] {
                        for index in 0..lookahead {
                            t.insert(
                                definite(wallet.chain(change), index)?.script_pubkey(),
                                (change, index),
                            );
                        }
                    }
                    table = Some(t);
                }
                match table.as_ref().and_then(|t| t.get(&u.txout.script_pubkey)) {
                    Some(x) => *x,
                    None => {
                        return Err(CreateError::Utxo {
                            outpoint: u.outpoint,
                            reason: format!(
                                "not an address of this wallet (searched {lookahead} per chain; \
                                 give chain/index or a larger --lookahead)"
                            ),
                        })
                    }
                }
            }
        };
        out.push(found);
    }
    Ok(out)
}

/// Creates a PSBT paying `recipients` from `utxos` (see the module docs).
pub fn create_psbt(
    wallet: &WalletDescriptors,
    utxos: &[Utxo],
    recipients: &[Recipient],
    opts: &CreateOptions,
) -> Result<(WalletPsbt, CreateSummary), CreateError> {
    if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
        return Err(CreateError::Recipients(format!(
            "need 1 to {MAX_RECIPIENTS} recipients, got {}",
            recipients.len()
        )));
    }
    let mut payment = 0u64;
    let mut outputs: Vec<TxOut> = Vec::with_capacity(recipients.len() + 1);
    for r in recipients {
        if !r
            .address
            .as_unchecked()
            .is_valid_for_network(wallet.network)
        {
            return Err(CreateError::Recipients(format!(
                "{} is not an address of {}",
                r.address, wallet.network
            )));
        }
        let spk = r.address.script_pubkey();
        if r.amount < spk.minimal_non_dust() {
            return Err(CreateError::Recipients(format!(
                "{} to {} is below the dust limit {}",
                r.amount,
                r.address,
                spk.minimal_non_dust()
            )));
        }
        payment = payment
            .checked_add(r.amount.to_sat())
            .filter(|p| *p <= Amount::MAX_MONEY.to_sat())
            .ok_or_else(|| CreateError::Recipients("total amount out of range".into()))?;
        outputs.push(TxOut {
            value: r.amount,
            script_pubkey: spk,
        });
    }

    let located = locate_coins(wallet, utxos, opts.lookahead)?;
    let segwit = wallet.external.desc_type().segwit_version().is_some();
    let mut candidates = Vec::with_capacity(utxos.len());
    let mut definites = Vec::with_capacity(utxos.len());
    for (u, &(change, index)) in utxos.iter().zip(&located) {
        let d = definite(wallet.chain(change), index)?;
        if !segwit && u.prev_tx.is_none() {
            return Err(CreateError::Utxo {
                outpoint: u.outpoint,
                reason: "legacy (P2PKH) coins need prev_tx in the UTXO file".into(),
            });
        }
        candidates.push(Candidate {
            value: u.txout.value.to_sat(),
            weight: UNSATISFIED_INPUT_WEIGHT + satisfaction_weight(&d)?,
        });
        definites.push(d);
    }

    let change_index = opts.change_index.unwrap_or_else(|| {
        located
            .iter()
            .filter(|(c, _)| *c)
            .map(|(_, i)| i.saturating_add(1))
            .max()
            .unwrap_or(0)
    });
    let change_desc = definite(&wallet.internal, change_index)?;
    let change_spk = change_desc.script_pubkey();
    let change_address = change_desc
        .address(wallet.network)
        .map_err(|e| CreateError::Descriptor(e.to_string()))?;

    // Header (version, lock time, 1-byte input count and output count) plus segwit marker.
    let n_outputs_max = outputs.len() as u64 + 1;
    let header = 4 * (4 + 4 + 1 + bitcoin::VarInt(n_outputs_max).size() as u64);
    let base_weight = header
        + if segwit { 2 } else { 0 }
        + outputs
            .iter()
            .map(|o| output_weight(&o.script_pubkey))
            .sum::<u64>();
    let target = Target {
        payment,
        base_weight,
        change_weight: output_weight(&change_spk),
        change_spend_weight: UNSATISFIED_INPUT_WEIGHT + satisfaction_weight(&change_desc)?,
        fee_rate_sat_per_kwu: opts.fee_rate_sat_per_kwu,
        min_change: change_spk.minimal_non_dust().to_sat(),
    };
    let selection = coin_selection::select_coins(&candidates, &target)?;
    if selection.selected.len() > 252 {
        return Err(CreateError::Recipients(
            "more than 252 inputs needed; consolidate coins first".into(),
        ));
    }

    let mut change = None;
    if let Some(c) = selection.change {
        let pos = thread_rng().gen_range(0..=outputs.len());
        outputs.insert(
            pos,
            TxOut {
                value: Amount::from_sat(c),
                script_pubkey: change_spk.clone(),
            },
        );
        change = Some((pos, Amount::from_sat(c)));
    }
    let tx = Transaction {
        version: TX_VERSION,
        lock_time: absolute::LockTime::ZERO,
        input: selection
            .selected
            .iter()
            .map(|&k| TxIn {
                previous_output: utxos[k].outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::default(),
            })
            .collect(),
        output: outputs,
    };
    let mut psbt = Psbt::from_unsigned_tx(tx).map_err(|e| PsbtError::Convert(e.to_string()))?;
    for (i, &k) in selection.selected.iter().enumerate() {
        let u = &utxos[k];
        if segwit {
            psbt.inputs[i].witness_utxo = Some(u.txout.clone());
        }
        psbt.inputs[i].non_witness_utxo = u.prev_tx.clone();
        psbt.update_input_with_descriptor(i, &definites[k])
            .map_err(|e| CreateError::Utxo {
                outpoint: u.outpoint,
                reason: format!("updating the PSBT input: {e}"),
            })?;
    }
    if let Some((pos, _)) = change {
        psbt.update_output_with_descriptor(pos, &change_desc)
            .map_err(|e| CreateError::Descriptor(format!("change output: {e}")))?;
    }
    let mut xpubs: Vec<(Xpub, bitcoin::bip32::KeySource)> = Vec::new();
    for d in [&wallet.external, &wallet.internal] {
        d.for_each_key(|k| {
            if let DescriptorPublicKey::XPub(x) = k {
                let origin = x
                    .origin
                    .clone()
                    .unwrap_or_else(|| (x.xkey.fingerprint(), Default::default()));
                xpubs.push((x.xkey, origin));
            }
            true
        });
    }
    for (x, origin) in xpubs {
        psbt.xpub.insert(x, origin);
    }

    let summary = CreateSummary {
        inputs: psbt
            .unsigned_tx
            .input
            .iter()
            .map(|i| i.previous_output)
            .collect(),
        fee: Amount::from_sat(selection.fee),
        estimated_vsize: selection.weight.div_ceil(4),
        change: change.map(|(_, amount)| (change_address, amount, change_index)),
        algorithm: selection.algorithm,
    };
    Ok((WalletPsbt::from_v0(psbt, opts.version)?, summary))
}

/// Parses a fee rate in sat/vB (up to 3 decimals, e.g. `2`, `1.5`) into sat/kwu, rounding up.
pub fn parse_fee_rate(s: &str) -> Result<u64, CreateError> {
    let bad = || {
        CreateError::Recipients(format!(
            "fee rate {s:?} must be a number of sat/vB like 2 or 1.5"
        ))
    };
    let s = s
        .trim()
        .trim_end_matches("sat/vB")
        .trim_end_matches("sat/vb")
        .trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty()
        || frac.len() > 3
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let int: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let mut milli: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| bad())?
    };
    for _ in frac.len()..3 {
        milli *= 10;
    }
    let total_milli = int
        .checked_mul(1000)
        .and_then(|x| x.checked_add(milli))
        .ok_or_else(bad)?;
    if total_milli == 0 || total_milli > 10_000_000 {
        return Err(CreateError::Recipients(format!(
            "fee rate {s} sat/vB out of range (0.001 to 10000)"
        )));
    }
    // sat/kwu = sat/vB * 250 = milli-sat/vB / 4
    Ok(total_milli.div_ceil(4))
}
