//! PSBT v0 (BIP-174) and v2 (BIP-370): decode, encode, create, sign, combine, finalize, extract
//! and a summary for display.
//!
//! # One working form, two wire formats
//!
//! A [`WalletPsbt`] keeps the PSBT as a rust-bitcoin [`bitcoin::psbt::Psbt`] (the v0 working
//! form) plus, for v2, the original v2 framing. Decoding a v2 PSBT runs the `psbt-v2` crate's
//! decoder (which enforces the BIP-370 rules) and then swaps the v2-only fields for an unsigned
//! transaction at the key-value level (see `raw`), so signing, finalizing (rust-miniscript) and
//! extraction work the same for both versions; encoding swaps them back and re-runs the v2
//! decoder/encoder, so the v2 output is always something `psbt-v2` accepts and writes canonically.
//!
//! # Untrusted input
//!
//! Base64 text is limited to [`MAX_PSBT_BASE64_LEN`], binary to [`raw::MAX_PSBT_BYTES`]. The
//! key-value framing is parsed and checked first (counts against maps present, v2-only fields in
//! v0, well-formed xpub values), so the typed decoders never allocate from an unchecked count.
//! The third-party decoders also run under `catch_unwind`: a panic in them is reported as a
//! decode error rather than taking the wallet down.

pub mod create;
pub(crate) mod raw;
pub mod sign;
pub mod summary;

use std::panic::{catch_unwind, AssertUnwindSafe};

use bitcoin::base64::prelude::{Engine as _, BASE64_STANDARD};
use bitcoin::psbt::Psbt;
use bitcoin::{
    absolute, transaction, FeeRate, OutPoint, Sequence, Transaction, TxIn, TxOut, Witness,
};
use miniscript::psbt::PsbtExt;

pub use create::{create_psbt, CreateOptions, CreateSummary, Recipient};
pub use raw::MAX_PSBT_BYTES;
pub use sign::{sign_psbt, SignPolicy, SignReport};
pub use summary::{PsbtSummary, SummaryInput, SummaryOutput};

/// Longest base64 PSBT text accepted.
pub const MAX_PSBT_BASE64_LEN: usize = MAX_PSBT_BYTES / 3 * 4 + 4;

/// Largest fee rate `extract` accepts (Bitcoin Core's default `maxfeerate` is 0.1 BTC/kvB =
/// 10,000 sat/vB; rust-bitcoin's default limit is 25,000 sat/vB). Above it, extraction fails:
/// such a fee is almost always a mistake.
pub const MAX_EXTRACT_FEE_RATE_SAT_PER_VB: u64 = 10_000;

/// PSBT errors.
#[derive(Debug, thiserror::Error)]
pub enum PsbtError {
    /// Not valid base64.
    #[error("PSBT is not valid base64: {0}")]
    Base64(String),
    /// Too large.
    #[error("PSBT is too large ({0} bytes, limit {MAX_PSBT_BYTES})")]
    TooLarge(usize),
    /// Not a valid PSBT.
    #[error("invalid PSBT: {0}")]
    Decode(String),
    /// A PSBT version other than 0 or 2.
    #[error("unsupported PSBT version {0} (supported: 0 and 2)")]
    UnsupportedVersion(u32),
    /// The PSBTs to combine are for different transactions.
    #[error("cannot combine: {0}")]
    Combine(String),
    /// Finalizing failed.
    #[error("cannot finalize: {0}")]
    Finalize(String),
    /// Extraction failed.
    #[error("cannot extract: {0}")]
    Extract(String),
    /// Conversion between versions failed.
    #[error("cannot convert the PSBT: {0}")]
    Convert(String),
}

/// PSBT version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PsbtVersion {
    /// BIP-174.
    V0,
    /// BIP-370.
    V2,
}

impl PsbtVersion {
    /// From the number 0 or 2.
    pub fn from_number(n: u32) -> Result<Self, PsbtError> {
        match n {
            0 => Ok(PsbtVersion::V0),
            2 => Ok(PsbtVersion::V2),
            other => Err(PsbtError::UnsupportedVersion(other)),
        }
    }
    /// The number.
    pub fn number(self) -> u32 {
        match self {
            PsbtVersion::V0 => 0,
            PsbtVersion::V2 => 2,
        }
    }
}

/// A PSBT of either version (see the module docs). Two `WalletPsbt`s are equal when they have
/// the same version and the same fields, whatever the key order of their encodings.
#[derive(Debug, Clone)]
pub struct WalletPsbt {
    psbt: Psbt,
    /// The v2 framing this PSBT came from (v2 only).
    v2_template: Option<raw::RawPsbt>,
    /// Set when signatures were added after decoding (v2: clears the modifiable flags).
    signed: bool,
}

impl PartialEq for WalletPsbt {
    fn eq(&self, other: &Self) -> bool {
        let v2_fields = |w: &WalletPsbt| {
            w.v2_template.as_ref().map(|t| {
                let mut g = t.global.clone();
                g.retain(|p| !(p.key == [0x06] && p.value == [0x00]));
                g.sort_by(|a, b| a.key.cmp(&b.key));
                let maps: Vec<Vec<raw::Pair>> = t
                    .maps
                    .iter()
                    .map(|m| {
                        let mut m = m.clone();
                        m.sort_by(|a, b| a.key.cmp(&b.key));
                        m
                    })
                    .collect();
                (g, maps)
            })
        };
        self.psbt == other.psbt && v2_fields(self) == v2_fields(other)
    }
}

fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, PsbtError> {
    catch_unwind(AssertUnwindSafe(f))
        .map_err(|_| PsbtError::Decode(format!("{what} rejected malformed input (decoder panic)")))
}

impl WalletPsbt {
    /// Decodes base64 text (surrounding whitespace ignored).
    pub fn from_base64(s: &str) -> Result<Self, PsbtError> {
        let s = s.trim();
        if s.len() > MAX_PSBT_BASE64_LEN {
            return Err(PsbtError::TooLarge(s.len() / 4 * 3));
        }
        let bytes = BASE64_STANDARD
            .decode(s)
            .map_err(|e| PsbtError::Base64(e.to_string()))?;
        Self::from_bytes(&bytes)
    }

    /// Decodes binary.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PsbtError> {
        let mut framing = raw::RawPsbt::parse(bytes)?;
        let normalized;
        let bytes = if framing.normalize_slip132_xpubs() {
            normalized = framing.serialize();
            &normalized[..]
        } else {
            bytes
        };
        match framing.version()? {
            0 => {
                let psbt = guarded("the PSBTv0 decoder", || Psbt::deserialize(bytes))?
                    .map_err(|e| PsbtError::Decode(e.to_string()))?;
                framing.check_v0(psbt.unsigned_tx.input.len(), psbt.unsigned_tx.output.len())?;
                framing.check_field_shapes(psbt.unsigned_tx.input.len())?;
                Ok(WalletPsbt {
                    psbt,
                    v2_template: None,
                    signed: false,
                })
            }
            2 => {
                let (n_in, _) = framing.check_v2()?;
                framing.check_field_shapes(n_in)?;
                let v2 = guarded("the PSBTv2 decoder", || {
                    psbt_v2::v2::Psbt::deserialize(bytes)
                })?
                // (psbt-v2 0.3's DeserializeError has no working Display: use Debug)
                .map_err(|e| PsbtError::Decode(format!("{e:?}")))?;
                let tx = v2_unsigned_tx(&v2)?;
                let v0_bytes = framing.v2_to_v0(&tx, n_in).serialize();
                let psbt = Psbt::deserialize(&v0_bytes)
                    .map_err(|e| PsbtError::Decode(format!("PSBTv2 fields: {e}")))?;
                Ok(WalletPsbt {
                    psbt,
                    v2_template: Some(framing),
                    signed: false,
                })
            }
            v => Err(PsbtError::UnsupportedVersion(v)),
        }
    }

    /// A new v0 or v2 PSBT from a v0 working form.
    pub fn from_v0(psbt: Psbt, version: PsbtVersion) -> Result<Self, PsbtError> {
        let mut w = WalletPsbt {
            psbt,
            v2_template: None,
            signed: false,
        };
        if version == PsbtVersion::V2 {
            // Round trip through the v2 encoder/decoder to get the template.
            let bytes = w.v2_bytes()?;
            w = Self::from_bytes(&bytes)?;
        }
        Ok(w)
    }

    /// The version.
    pub fn version(&self) -> PsbtVersion {
        if self.v2_template.is_some() {
            PsbtVersion::V2
        } else {
            PsbtVersion::V0
        }
    }

    /// The working form (rust-bitcoin's PSBT with the unsigned transaction).
    pub fn inner(&self) -> &Psbt {
        &self.psbt
    }

    /// Mutable working form.
    pub fn inner_mut(&mut self) -> &mut Psbt {
        &mut self.psbt
    }

    pub(crate) fn mark_signed(&mut self) {
        self.signed = true;
    }

    /// The unsigned transaction.
    pub fn unsigned_tx(&self) -> &Transaction {
        &self.psbt.unsigned_tx
    }

    fn v2_bytes(&self) -> Result<Vec<u8>, PsbtError> {
        let v0 = raw::RawPsbt::parse(&self.psbt.serialize())?;
        let v2raw = v0.v0_to_v2(&self.psbt.unsigned_tx, self.v2_template.as_ref())?;
        let mut v2 = guarded("the PSBTv2 decoder", || {
            psbt_v2::v2::Psbt::deserialize(&v2raw.serialize())
        })?
        .map_err(|e| PsbtError::Convert(format!("{e:?}")))?;
        if self.signed {
            // We sign only SIGHASH_ALL / SIGHASH_DEFAULT: BIP-370 says inputs and outputs are
            // then no longer modifiable.
            v2.global.tx_modifiable_flags &= !0b11;
        }
        // psbt-v2 always writes PSBT_GLOBAL_TX_MODIFIABLE; a zero value means the same as an
        // absent one, so leave it out (smaller, and what other implementations write).
        let mut out = raw::RawPsbt::parse(&v2.serialize())?;
        out.global
            .retain(|p| !(p.key == [0x06] && p.value == [0x00]));
        // psbt-v2 writes PSBT_GLOBAL_VERSION first and the v2 input fields before the v0 ones;
        // write every map in key order instead (as Bitcoin Core does for single-key fields).
        out.global.sort_by(|a, b| a.key.cmp(&b.key));
        for m in &mut out.maps {
            m.sort_by(|a, b| a.key.cmp(&b.key));
        }
        Ok(out.serialize())
    }

    /// Serializes in the PSBT's own version.
    pub fn to_bytes(&self) -> Result<Vec<u8>, PsbtError> {
        match self.version() {
            PsbtVersion::V0 => Ok(self.psbt.serialize()),
            PsbtVersion::V2 => self.v2_bytes(),
        }
    }

    /// Base64 of [`Self::to_bytes`].
    pub fn to_base64(&self) -> Result<String, PsbtError> {
        Ok(BASE64_STANDARD.encode(self.to_bytes()?))
    }

    /// The same PSBT in the other version (v0 -> v2 generates the v2 fields from the unsigned
    /// transaction; v2 -> v0 drops them).
    pub fn convert(&self, version: PsbtVersion) -> Result<Self, PsbtError> {
        if version == self.version() {
            return Ok(self.clone());
        }
        WalletPsbt::from_v0(self.psbt.clone(), version)
    }

    /// The BIP-174 Combiner: merges signatures and other fields of `other` (which must be for the
    /// same unsigned transaction and of the same version) into this one.
    pub fn combine(mut self, other: WalletPsbt) -> Result<Self, PsbtError> {
        if self.version() != other.version() {
            return Err(PsbtError::Combine("one PSBT is v0 and the other v2".into()));
        }
        if self.psbt.unsigned_tx != other.psbt.unsigned_tx {
            return Err(PsbtError::Combine(
                "the PSBTs are for different transactions".into(),
            ));
        }
        match (&self.v2_template, &other.v2_template) {
            (Some(a), Some(b)) => {
                // Combine with psbt-v2's own combiner so that v2 global fields merge by BIP-370.
                let pa = psbt_v2::v2::Psbt::deserialize(&self.to_bytes()?)
                    .map_err(|e| PsbtError::Combine(format!("{e:?}")))?;
                let pb = psbt_v2::v2::Psbt::deserialize(&other.to_bytes()?)
                    .map_err(|e| PsbtError::Combine(format!("{e:?}")))?;
                let _ = (a, b);
                let merged =
                    psbt_v2::v2::combine(pa, pb).map_err(|e| PsbtError::Combine(e.to_string()))?;
                WalletPsbt::from_bytes(&merged.serialize())
            }
            _ => {
                self.psbt
                    .combine(other.psbt)
                    .map_err(|e| PsbtError::Combine(e.to_string()))?;
                Ok(self)
            }
        }
    }

    /// The BIP-174 Input Finalizer (rust-miniscript): builds the final scriptSig/witness of every
    /// input that has enough signatures, verifying each signature with the interpreter. Fails,
    /// changing nothing, unless every input can be finalized.
    pub fn finalize(&mut self) -> Result<(), PsbtError> {
        let secp = super::accounts::secp();
        let mut work = self.psbt.clone();
        work.finalize_mut(secp).map_err(|errs| {
            PsbtError::Finalize(
                errs.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        self.psbt = work;
        Ok(())
    }

    /// True when every input has a final scriptSig or witness.
    pub fn is_finalized(&self) -> bool {
        self.psbt
            .inputs
            .iter()
            .all(|i| i.final_script_sig.is_some() || i.final_script_witness.is_some())
    }

    /// The BIP-174 Transaction Extractor: the network transaction of a finalized PSBT. Every
    /// input's script is checked by the miniscript interpreter, and a fee rate above
    /// [`MAX_EXTRACT_FEE_RATE_SAT_PER_VB`] is refused.
    pub fn extract(&self) -> Result<Transaction, PsbtError> {
        if !self.is_finalized() {
            return Err(PsbtError::Extract("not every input is finalized".into()));
        }
        let secp = super::accounts::secp();
        let tx = self
            .psbt
            .extract(secp)
            .map_err(|e| PsbtError::Extract(e.to_string()))?;
        let limit = FeeRate::from_sat_per_vb(MAX_EXTRACT_FEE_RATE_SAT_PER_VB)
            .ok_or_else(|| PsbtError::Extract("fee limit overflow".into()))?;
        self.psbt
            .clone()
            .extract_tx_with_fee_rate_limit(limit)
            .map_err(|e| PsbtError::Extract(e.to_string()))?;
        Ok(tx)
    }
}

/// The unsigned transaction of a v2 PSBT (BIP-370 "Determining the lock time", inputs with
/// sequence defaulting to 0xffffffff).
pub(crate) fn v2_unsigned_tx(v2: &psbt_v2::v2::Psbt) -> Result<Transaction, PsbtError> {
    let lock_time: absolute::LockTime = v2
        .determine_lock_time()
        .map_err(|e| PsbtError::Decode(e.to_string()))?;
    Ok(Transaction {
        version: v2.global.tx_version,
        lock_time,
        input: v2
            .inputs
            .iter()
            .map(|i| TxIn {
                previous_output: OutPoint {
                    txid: i.previous_txid,
                    vout: i.spent_output_index,
                },
                script_sig: Default::default(),
                sequence: i.sequence.unwrap_or(Sequence::MAX),
                witness: Witness::default(),
            })
            .collect(),
        output: v2
            .outputs
            .iter()
            .map(|o| TxOut {
                value: o.amount,
                script_pubkey: o.script_pubkey.clone(),
            })
            .collect(),
    })
}

/// The transaction version used for new PSBTs.
pub const TX_VERSION: transaction::Version = transaction::Version::TWO;
