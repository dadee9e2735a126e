//! Decode for display: what a PSBT spends, where it pays, the fee, and how far signing got.

use std::fmt;

use bitcoin::bip32::Fingerprint;
use bitcoin::psbt::{Input, Output};
use bitcoin::{Address, Amount, Network, ScriptBuf, Sequence};
use serde::Serialize;

use super::WalletPsbt;
use crate::btc::accounts::secp;

/// One input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SummaryInput {
    /// Spent outpoint `txid:vout`.
    pub outpoint: String,
    /// Amount, if the PSBT carries the UTXO.
    pub amount_sat: Option<u64>,
    /// Address (or `script:<hex>`), if known.
    pub address: Option<String>,
    /// `nSequence`.
    pub sequence: u32,
    /// Number of signatures present (partial ECDSA + taproot key path).
    pub signatures: usize,
    /// Whether the previous transaction is included.
    pub has_prev_tx: bool,
    /// Final scriptSig/witness present.
    pub finalized: bool,
    /// Key origins `fingerprint/path` listed for this input.
    pub key_origins: Vec<String>,
}

/// One output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SummaryOutput {
    /// Address (or `script:<hex>`).
    pub address: String,
    /// Amount.
    pub amount_sat: u64,
    /// Key origins recorded on the output (change). When a fingerprint is given, only origins
    /// from it are listed, and only if the output script is the one those keys make.
    pub change_origin: Option<String>,
}

/// A PSBT for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PsbtSummary {
    /// 0 or 2.
    pub psbt_version: u32,
    /// Txid of the unsigned transaction (final once all inputs are segwit).
    pub unsigned_txid: String,
    /// Transaction lock time.
    pub lock_time: u32,
    /// Any input signals replace-by-fee (nSequence < 0xfffffffe).
    pub rbf: bool,
    /// Inputs.
    pub inputs: Vec<SummaryInput>,
    /// Outputs.
    pub outputs: Vec<SummaryOutput>,
    /// Fee, when every input's amount is known.
    pub fee_sat: Option<u64>,
    /// Virtual size of the extracted transaction (finalized PSBTs only).
    pub vsize: Option<u64>,
    /// Every input finalized.
    pub finalized: bool,
}

fn describe_script(spk: &ScriptBuf, network: Network) -> String {
    match Address::from_script(spk, network) {
        Ok(a) => a.to_string(),
        Err(_) => format!("script:{}", spk.to_hex_string()),
    }
}

fn input_amount(psbt: &bitcoin::psbt::Psbt, i: usize, input: &Input) -> Option<bitcoin::TxOut> {
    if let Some(w) = &input.witness_utxo {
        return Some(w.clone());
    }
    let vout = psbt.unsigned_tx.input.get(i)?.previous_output.vout as usize;
    input.non_witness_utxo.as_ref()?.output.get(vout).cloned()
}

/// True when `output`'s script is the one made by the single key it lists (P2PKH, P2WPKH,
/// P2SH-P2WPKH, P2TR key path) or a P2WSH whose witness script it carries.
fn output_script_matches_keys(output: &Output, spk: &ScriptBuf) -> bool {
    if let Some(ws) = &output.witness_script {
        return ws.to_p2wsh() == *spk;
    }
    if let Some(internal) = output.tap_internal_key {
        return ScriptBuf::new_p2tr(secp(), internal, None) == *spk;
    }
    output.bip32_derivation.keys().any(|pk| {
        let cpk = bitcoin::CompressedPublicKey(*pk);
        let wpkh = ScriptBuf::new_p2wpkh(&cpk.wpubkey_hash());
        *spk == wpkh
            || *spk == wpkh.to_p2sh()
            || *spk == ScriptBuf::new_p2pkh(&bitcoin::PublicKey::new(*pk).pubkey_hash())
    })
}

impl PsbtSummary {
    /// Summarizes `psbt`. With `ours`, change is recognized only by that master fingerprint.
    pub fn new(w: &WalletPsbt, network: Network, ours: Option<Fingerprint>) -> Self {
        let psbt = w.inner();
        let mut inputs = Vec::new();
        let mut in_total: Option<u64> = Some(0);
        for (i, input) in psbt.inputs.iter().enumerate() {
            let txin = &psbt.unsigned_tx.input[i];
            let utxo = input_amount(psbt, i, input);
            in_total = match (&utxo, in_total) {
                (Some(u), Some(t)) => t.checked_add(u.value.to_sat()),
                _ => None,
            };
            let mut origins: Vec<String> = input
                .bip32_derivation
                .values()
                .map(|(f, p)| format!("{f}/{p}"))
                .collect();
            origins.extend(
                input
                    .tap_key_origins
                    .values()
                    .map(|(_, (f, p))| format!("{f}/{p}")),
            );
            inputs.push(SummaryInput {
                outpoint: txin.previous_output.to_string(),
                amount_sat: utxo.as_ref().map(|u| u.value.to_sat()),
                address: utxo
                    .as_ref()
                    .map(|u| describe_script(&u.script_pubkey, network)),
                sequence: txin.sequence.to_consensus_u32(),
                signatures: input.partial_sigs.len() + usize::from(input.tap_key_sig.is_some()),
                has_prev_tx: input.non_witness_utxo.is_some(),
                finalized: input.final_script_sig.is_some() || input.final_script_witness.is_some(),
                key_origins: origins,
            });
        }
        let mut outputs = Vec::new();
        let mut out_total: Option<u64> = Some(0);
        for (txout, output) in psbt.unsigned_tx.output.iter().zip(&psbt.outputs) {
            out_total = out_total.and_then(|t| t.checked_add(txout.value.to_sat()));
            let mut origins: Vec<(Fingerprint, String)> = output
                .bip32_derivation
                .values()
                .map(|(f, p)| (*f, format!("{f}/{p}")))
                .collect();
            origins.extend(
                output
                    .tap_key_origins
                    .values()
                    .map(|(_, (f, p))| (*f, format!("{f}/{p}"))),
            );
            let mine: Vec<String> = origins
                .into_iter()
                .filter(|(f, _)| ours.is_none_or(|o| o == *f))
                .map(|(_, s)| s)
                .collect();
            let change_origin =
                if !mine.is_empty() && output_script_matches_keys(output, &txout.script_pubkey) {
                    Some(mine.join(", "))
                } else {
                    None
                };
            outputs.push(SummaryOutput {
                address: describe_script(&txout.script_pubkey, network),
                amount_sat: txout.value.to_sat(),
                change_origin,
            });
        }
        let fee_sat = match (in_total, out_total) {
            (Some(i), Some(o)) => i.checked_sub(o),
            _ => None,
        };
        let finalized = w.is_finalized();
        let vsize = if finalized {
            w.inner()
                .clone()
                .extract_tx_unchecked_fee_rate()
                .vsize()
                .try_into()
                .ok()
        } else {
            None
        };
        PsbtSummary {
            psbt_version: w.version().number(),
            unsigned_txid: psbt.unsigned_tx.compute_txid().to_string(),
            lock_time: psbt.unsigned_tx.lock_time.to_consensus_u32(),
            rbf: psbt
                .unsigned_tx
                .input
                .iter()
                .any(|i| i.sequence.is_rbf() && i.sequence != Sequence::MAX),
            inputs,
            outputs,
            fee_sat,
            vsize,
            finalized,
        }
    }
}

impl fmt::Display for PsbtSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "PSBT version {}", self.psbt_version)?;
        writeln!(f, "unsigned txid: {}", self.unsigned_txid)?;
        writeln!(
            f,
            "lock time: {}   RBF: {}   finalized: {}",
            self.lock_time,
            if self.rbf { "yes" } else { "no" },
            if self.finalized { "yes" } else { "no" }
        )?;
        writeln!(f, "inputs ({}):", self.inputs.len())?;
        for (i, inp) in self.inputs.iter().enumerate() {
            let amount = inp
                .amount_sat
                .map(|a| Amount::from_sat(a).to_string())
                .unwrap_or_else(|| "amount unknown".into());
            writeln!(
                f,
                "  #{i} {} {} {} seq=0x{:08x} sigs={}{}{}",
                inp.outpoint,
                amount,
                inp.address.as_deref().unwrap_or("(no UTXO data)"),
                inp.sequence,
                inp.signatures,
                if inp.finalized { " finalized" } else { "" },
                if inp.has_prev_tx { "" } else { " (no prev tx)" },
            )?;
            for o in &inp.key_origins {
                writeln!(f, "       key {o}")?;
            }
        }
        writeln!(f, "outputs ({}):", self.outputs.len())?;
        for (i, out) in self.outputs.iter().enumerate() {
            writeln!(
                f,
                "  #{i} {} {}{}",
                out.address,
                Amount::from_sat(out.amount_sat),
                match &out.change_origin {
                    Some(o) => format!("  [change: {o}]"),
                    None => String::new(),
                }
            )?;
        }
        match self.fee_sat {
            Some(fee) => {
                write!(f, "fee: {}", Amount::from_sat(fee))?;
                if let Some(v) = self.vsize {
                    // two decimals of sat/vB
                    let centi = fee.saturating_mul(100) / v.max(1);
                    write!(f, " ({}.{:02} sat/vB, {v} vB)", centi / 100, centi % 100)?;
                }
                writeln!(f)
            }
            None => writeln!(f, "fee: unknown (some inputs lack UTXO data)"),
        }
    }
}
