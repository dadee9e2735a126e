//! The UTXO file: the coins a PSBT may spend, gathered by the online machine from any source
//! (a block explorer, `bitcoin-cli listunspent` + `getrawtransaction`, an Electrum server).
//!
//! # Format (JSON, at most [`MAX_UTXO_FILE_BYTES`] and [`MAX_UTXOS`] entries)
//!
//! ```json
//! {
//!   "utxos": [
//!     {
//!       "txid": "5e2b...c1",
//!       "vout": 1,
//!       "amount_sat": 150000,
//!       "address": "tb1q...",
//!       "chain": 0,
//!       "index": 7,
//!       "prev_tx": "0200000001..."
//!     }
//!   ]
//! }
//! ```
//!
//! - `txid`, `vout`, `amount_sat` (integer satoshis) and `address` are required. `script_pubkey`
//!   (hex) may be given instead of `address`.
//! - `chain` (0 receive, 1 change) and `index` are optional hints; without them the wallet
//!   searches the first `--lookahead` addresses of both chains.
//! - `prev_tx` is the full previous transaction in hex. It is **required** for P2PKH (legacy)
//!   coins and **strongly recommended** for segwit v0 coins: the signer refuses segwit v0 inputs
//!   without it unless told `--allow-witness-utxo-only` (see `psbt` for why). Taproot coins do
//!   not need it. When given, its txid must match `txid` and its output `vout` must match
//!   `amount_sat` and the address.

use std::str::FromStr;

use bitcoin::consensus::encode::deserialize;
use bitcoin::hex::FromHex;
use bitcoin::{Address, Amount, Network, OutPoint, ScriptBuf, Transaction, TxOut, Txid};
use serde::Deserialize;

/// Largest UTXO file accepted.
pub const MAX_UTXO_FILE_BYTES: usize = 8 * 1024 * 1024;
/// Most UTXOs in one file.
pub const MAX_UTXOS: usize = 10_000;
/// Largest `prev_tx` accepted (a standard transaction is at most 400,000 weight units).
pub const MAX_PREV_TX_BYTES: usize = 400_000;

/// Errors reading a UTXO file.
#[derive(Debug, thiserror::Error)]
pub enum UtxoError {
    /// The file is too large or has too many entries.
    #[error("UTXO file too large: {0}")]
    TooLarge(String),
    /// Not JSON of the expected shape.
    #[error("UTXO file is not valid: {0}")]
    Json(String),
    /// One entry is invalid.
    #[error("UTXO #{index} ({outpoint}): {reason}")]
    Entry {
        /// Position in the file.
        index: usize,
        /// `txid:vout` as written.
        outpoint: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRepr {
    utxos: Vec<EntryRepr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryRepr {
    txid: String,
    vout: u32,
    amount_sat: u64,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    script_pubkey: Option<String>,
    #[serde(default)]
    chain: Option<u32>,
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    prev_tx: Option<String>,
}

/// One spendable coin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utxo {
    /// The outpoint.
    pub outpoint: OutPoint,
    /// Value and script.
    pub txout: TxOut,
    /// Derivation hint: `(change, index)`.
    pub derivation: Option<(bool, u32)>,
    /// The full previous transaction, checked against `outpoint` and `txout`.
    pub prev_tx: Option<Transaction>,
}

/// Parses a UTXO file for `network`.
pub fn parse_utxo_file(bytes: &[u8], network: Network) -> Result<Vec<Utxo>, UtxoError> {
    if bytes.len() > MAX_UTXO_FILE_BYTES {
        return Err(UtxoError::TooLarge(format!(
            "{} bytes, limit {MAX_UTXO_FILE_BYTES}",
            bytes.len()
        )));
    }
    let file: FileRepr =
        serde_json::from_slice(bytes).map_err(|e| UtxoError::Json(e.to_string()))?;
    if file.utxos.len() > MAX_UTXOS {
        return Err(UtxoError::TooLarge(format!(
            "{} entries, limit {MAX_UTXOS}",
            file.utxos.len()
        )));
    }
    let mut out: Vec<Utxo> = Vec::with_capacity(file.utxos.len());
    let mut seen = std::collections::BTreeSet::new();
    for (index, e) in file.utxos.into_iter().enumerate() {
        let outpoint_str = format!("{}:{}", e.txid, e.vout);
        let bad = |reason: String| UtxoError::Entry {
            index,
            outpoint: outpoint_str.clone(),
            reason,
        };
        let txid = Txid::from_str(&e.txid).map_err(|err| bad(format!("txid: {err}")))?;
        let outpoint = OutPoint { txid, vout: e.vout };
        if !seen.insert(outpoint) {
            return Err(bad("listed twice".into()));
        }
        let amount = Amount::from_sat(e.amount_sat);
        if amount > Amount::MAX_MONEY || amount == Amount::ZERO {
            return Err(bad(format!("amount_sat {} out of range", e.amount_sat)));
        }
        let script_pubkey = match (&e.address, &e.script_pubkey) {
            (Some(a), spk) => {
                let addr = Address::from_str(a)
                    .map_err(|err| bad(format!("address: {err}")))?
                    .require_network(network)
                    .map_err(|err| bad(format!("address: {err}")))?;
                let s = addr.script_pubkey();
                if let Some(hex) = spk {
                    let given = ScriptBuf::from_hex(hex)
                        .map_err(|err| bad(format!("script_pubkey: {err}")))?;
                    if given != s {
                        return Err(bad("address and script_pubkey disagree".into()));
                    }
                }
                s
            }
            (None, Some(hex)) => {
                ScriptBuf::from_hex(hex).map_err(|err| bad(format!("script_pubkey: {err}")))?
            }
            (None, None) => return Err(bad("needs an address or script_pubkey".into())),
        };
        let txout = TxOut {
            value: amount,
            script_pubkey,
        };
        let derivation = match (e.chain, e.index) {
            (None, None) => None,
            (Some(c @ (0 | 1)), Some(i)) if i < 0x8000_0000 => Some((c == 1, i)),
            _ => {
                return Err(bad(
                    "chain must be 0 or 1 and index below 2^31, given together".into(),
                ))
            }
        };
        let prev_tx = match e.prev_tx {
            None => None,
            Some(hex) => {
                if hex.len() > 2 * MAX_PREV_TX_BYTES {
                    return Err(bad("prev_tx too large".into()));
                }
                let raw =
                    Vec::<u8>::from_hex(&hex).map_err(|err| bad(format!("prev_tx: {err}")))?;
                let tx: Transaction =
                    deserialize(&raw).map_err(|err| bad(format!("prev_tx: {err}")))?;
                if tx.compute_txid() != txid {
                    return Err(bad(format!(
                        "prev_tx has txid {}, not {txid}",
                        tx.compute_txid()
                    )));
                }
                match tx.output.get(e.vout as usize) {
                    Some(o) if *o == txout => {}
                    Some(_) => {
                        return Err(bad("prev_tx output differs from amount_sat/address".into()))
                    }
                    None => return Err(bad("prev_tx has no such output".into())),
                }
                Some(tx)
            }
        };
        out.push(Utxo {
            outpoint,
            txout,
            derivation,
            prev_tx,
        });
    }
    Ok(out)
}
