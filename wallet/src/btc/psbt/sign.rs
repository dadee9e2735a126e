//! The BIP-174 Signer, with the checks a cold-storage signer owes its user.
//!
//! For every input the signer first checks that the PSBT is self-consistent (these checks run on
//! all inputs, ours or not, and any failure rejects the whole PSBT):
//! - a `non_witness_utxo` must be the transaction the input spends (its txid), and agree with the
//!   `witness_utxo` if both are given;
//! - a `witness_utxo` must not be given for a non-segwit, non-P2SH output;
//! - a `redeem_script` must hash to a P2SH `scriptPubKey`; a `witness_script` must hash to the
//!   P2WSH program (directly or inside the redeem script).
//!
//! It then signs only what is provably ours: a key is used only when its BIP-32 origin in the
//! input (`PSBT_IN_BIP32_DERIVATION`, or `PSBT_IN_TAP_BIP32_DERIVATION` for taproot) names our
//! master fingerprint, the key derived at that path equals the key the PSBT lists, and that key
//! is the one the output script locks to (P2PKH/P2WPKH/P2SH-P2WPKH hash, taproot output key =
//! tweak of the internal key, or a key pushed by the P2WSH/P2SH script).
//!
//! # UTXO data policy
//!
//! - P2PKH and bare P2SH: the full previous transaction (`non_witness_utxo`) is required, since
//!   the signature does not commit to the amount.
//! - Segwit v0 (P2WPKH, P2SH-P2WPKH, P2WSH): the previous transaction is required by default.
//!   BIP-143 signatures commit to the amount of their own input only, so a PSBT that lies about
//!   the amounts of two inputs in two signing sessions can make the user pay a huge fee
//!   (CVE-2020-14199, the reason hardware wallets require it). [`SignPolicy::allow_witness_utxo_only`]
//!   relaxes this for users who built the PSBT themselves from trusted UTXO data.
//! - Taproot: the `witness_utxo` is enough, but every input of the transaction must carry its
//!   UTXO, because BIP-341 signatures commit to all spent amounts and scripts.
//!
//! Only `SIGHASH_ALL` (and `SIGHASH_DEFAULT` for taproot) is signed; a PSBT asking for another
//! sighash type is refused. ECDSA nonces are RFC 6979 (deterministic), as in the BIP-174 test
//! vectors, which this signer reproduces byte for byte.

use bitcoin::bip32::{DerivationPath, Fingerprint, KeySource};
use bitcoin::key::{Keypair, TapTweak};
use bitcoin::psbt::{Input, Psbt};
use bitcoin::script::Instruction;
use bitcoin::secp256k1::{Message, PublicKey as SecpPublicKey};
use bitcoin::sighash::{EcdsaSighashType, Prevouts, SighashCache, TapSighashType};
use bitcoin::{
    ecdsa, taproot, CompressedPublicKey, PublicKey, Script, ScriptBuf, TxOut, XOnlyPublicKey,
};

use super::WalletPsbt;
use crate::btc::accounts::{secp, AccountError, MasterKey};

/// Deepest BIP-32 path the signer derives (BIP-48 uses 6 levels including the index).
pub const MAX_PATH_DEPTH: usize = 16;

/// What the signer accepts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignPolicy {
    /// Sign segwit v0 inputs that carry only a `witness_utxo` (no previous transaction).
    pub allow_witness_utxo_only: bool,
}

/// What was signed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignReport {
    /// `(input index, description)` of every signature added.
    pub signed: Vec<(usize, String)>,
    /// Inputs with no key of ours.
    pub not_ours: Vec<usize>,
}

/// Signing errors. Any error means nothing was added to the PSBT.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The PSBT contradicts itself.
    #[error("input {input}: {reason}")]
    Inconsistent {
        /// Input index.
        input: usize,
        /// What is wrong.
        reason: String,
    },
    /// The input is ours but lacks data needed for a safe signature.
    #[error("input {input}: refusing to sign: {reason}")]
    Refused {
        /// Input index.
        input: usize,
        /// Why.
        reason: String,
    },
    /// Key derivation failed.
    #[error(transparent)]
    Key(#[from] AccountError),
    /// Sighash computation failed.
    #[error("input {input}: sighash: {reason}")]
    Sighash {
        /// Input index.
        input: usize,
        /// Why.
        reason: String,
    },
    /// Master key network and PSBT do not fit (informational).
    #[error("nothing to sign: no input has a key derived from master fingerprint {0}")]
    NothingToSign(Fingerprint),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    P2pkh,
    P2sh,
    P2shP2wpkh,
    P2shP2wsh,
    P2wpkh,
    P2wsh,
    P2tr,
    Other,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::P2pkh => "p2pkh",
            Kind::P2sh => "p2sh",
            Kind::P2shP2wpkh => "p2sh-p2wpkh",
            Kind::P2shP2wsh => "p2sh-p2wsh",
            Kind::P2wpkh => "p2wpkh",
            Kind::P2wsh => "p2wsh",
            Kind::P2tr => "p2tr",
            Kind::Other => "other",
        }
    }
    fn is_segwit_v0(self) -> bool {
        matches!(
            self,
            Kind::P2wpkh | Kind::P2wsh | Kind::P2shP2wpkh | Kind::P2shP2wsh
        )
    }
}

/// The spent output of input `i` after checking `non_witness_utxo` against the outpoint and
/// against `witness_utxo`.
fn checked_utxo(psbt: &Psbt, i: usize) -> Result<Option<TxOut>, SignError> {
    let input = &psbt.inputs[i];
    let outpoint = psbt.unsigned_tx.input[i].previous_output;
    let bad = |reason: String| SignError::Inconsistent { input: i, reason };
    let from_tx = match &input.non_witness_utxo {
        Some(tx) => {
            if tx.compute_txid() != outpoint.txid {
                return Err(bad(format!(
                    "non_witness_utxo is transaction {}, but the input spends {}",
                    tx.compute_txid(),
                    outpoint.txid
                )));
            }
            let out = tx
                .output
                .get(outpoint.vout as usize)
                .ok_or_else(|| bad(format!("non_witness_utxo has no output {}", outpoint.vout)))?;
            Some(out.clone())
        }
        None => None,
    };
    match (&input.witness_utxo, from_tx) {
        (Some(w), Some(t)) if *w != t => Err(bad(
            "witness_utxo differs from the output in non_witness_utxo".into(),
        )),
        (Some(w), _) => Ok(Some(w.clone())),
        (None, t) => Ok(t),
    }
}

fn classify(
    i: usize,
    input: &Input,
    spk: &Script,
    has_witness_utxo: bool,
) -> Result<Kind, SignError> {
    let bad = |reason: String| SignError::Inconsistent { input: i, reason };
    let kind = if spk.is_p2pkh() {
        Kind::P2pkh
    } else if spk.is_p2wpkh() {
        Kind::P2wpkh
    } else if spk.is_p2wsh() {
        Kind::P2wsh
    } else if spk.is_p2tr() {
        Kind::P2tr
    } else if spk.is_p2sh() {
        match &input.redeem_script {
            Some(r) if r.is_p2wpkh() => Kind::P2shP2wpkh,
            Some(r) if r.is_p2wsh() => Kind::P2shP2wsh,
            _ => Kind::P2sh,
        }
    } else {
        Kind::Other
    };
    if has_witness_utxo && matches!(kind, Kind::P2pkh | Kind::Other) && !spk.is_witness_program() {
        return Err(bad(format!(
            "witness_utxo given for a non-witness {} output",
            kind.name()
        )));
    }
    if let Some(r) = &input.redeem_script {
        if !spk.is_p2sh() || r.to_p2sh() != *spk {
            return Err(bad("redeem_script does not match the scriptPubKey".into()));
        }
        if kind == Kind::P2sh && has_witness_utxo && input.non_witness_utxo.is_none() {
            return Err(bad(
                "witness_utxo given for a P2SH output whose redeem_script is not segwit".into(),
            ));
        }
    }
    if let Some(w) = &input.witness_script {
        let program = match kind {
            Kind::P2wsh => spk.to_owned(),
            Kind::P2shP2wsh => input.redeem_script.clone().unwrap_or_default(),
            _ => {
                return Err(bad(format!(
                    "witness_script given for a {} output",
                    kind.name()
                )))
            }
        };
        if w.to_p2wsh() != program {
            return Err(bad(
                "witness_script does not match the witness program".into()
            ));
        }
    }
    Ok(kind)
}

fn script_pushes_key(script: &Script, pk: &PublicKey) -> bool {
    let bytes = pk.to_bytes();
    script.instructions().any(|ins| match ins {
        Ok(Instruction::PushBytes(p)) => p.as_bytes() == bytes.as_slice(),
        _ => false,
    })
}

enum Planned {
    Ecdsa {
        pk: PublicKey,
        path: DerivationPath,
    },
    TaprootKey {
        path: DerivationPath,
        internal: XOnlyPublicKey,
    },
}

/// Signs every input that carries a key of `master` (see the module docs). On error nothing is
/// added.
pub fn sign_psbt(
    psbt: &mut WalletPsbt,
    master: &MasterKey,
    policy: SignPolicy,
) -> Result<SignReport, SignError> {
    let fp = master.fingerprint();
    let secp = secp();
    let work: &Psbt = psbt.inner();
    let n = work.inputs.len();

    // Pass 1: consistency of every input; spent outputs.
    let mut utxos: Vec<Option<TxOut>> = Vec::with_capacity(n);
    let mut kinds = Vec::with_capacity(n);
    for i in 0..n {
        let utxo = checked_utxo(work, i)?;
        let kind = match &utxo {
            Some(u) => classify(
                i,
                &work.inputs[i],
                &u.script_pubkey,
                work.inputs[i].witness_utxo.is_some(),
            )?,
            None => Kind::Other,
        };
        utxos.push(utxo);
        kinds.push(kind);
    }

    // Pass 2: plan the signatures.
    let mut plans: Vec<(usize, Planned)> = Vec::new();
    let mut report = SignReport::default();
    for i in 0..n {
        let input = &work.inputs[i];
        let ours_ecdsa: Vec<(&SecpPublicKey, &KeySource)> = input
            .bip32_derivation
            .iter()
            .filter(|(_, (f, _))| *f == fp)
            .collect();
        let ours_tap: Vec<(&XOnlyPublicKey, &(Vec<taproot::TapLeafHash>, KeySource))> = input
            .tap_key_origins
            .iter()
            .filter(|(_, (_, (f, _)))| *f == fp)
            .collect();
        if ours_ecdsa.is_empty() && ours_tap.is_empty() {
            report.not_ours.push(i);
            continue;
        }
        if input.final_script_sig.is_some() || input.final_script_witness.is_some() {
            report.not_ours.push(i);
            continue;
        }
        let refuse = |reason: String| SignError::Refused { input: i, reason };
        let Some(utxo) = &utxos[i] else {
            return Err(refuse(
                "the input has neither witness_utxo nor non_witness_utxo".into(),
            ));
        };
        let kind = kinds[i];
        match kind {
            Kind::P2pkh | Kind::P2sh if input.non_witness_utxo.is_none() => {
                return Err(refuse(
                    "legacy inputs need the previous transaction (non_witness_utxo)".into(),
                ))
            }
            k if k.is_segwit_v0()
                && input.non_witness_utxo.is_none()
                && !policy.allow_witness_utxo_only =>
            {
                return Err(refuse(
                    "segwit v0 input without the previous transaction (non_witness_utxo): its \
                     amount cannot be verified (allow with --allow-witness-utxo-only if you \
                     trust the UTXO data)"
                        .into(),
                ))
            }
            Kind::Other => {
                return Err(refuse(format!(
                    "unsupported output script {}",
                    utxo.script_pubkey
                )))
            }
            _ => {}
        }
        if kind == Kind::P2tr {
            match input.sighash_type {
                None => {}
                Some(t)
                    if matches!(
                        t.taproot_hash_ty(),
                        Ok(TapSighashType::Default | TapSighashType::All)
                    ) => {}
                Some(t) => return Err(refuse(format!("sighash type {t} is not supported"))),
            }
            if utxos.iter().any(Option::is_none) {
                return Err(refuse(
                    "taproot signing needs the UTXO of every input of the transaction".into(),
                ));
            }
            for (xonly, (leaves, (_, path))) in &ours_tap {
                if !leaves.is_empty() {
                    // Script-path keys are not signed by this wallet.
                    continue;
                }
                if input.tap_internal_key != Some(**xonly) {
                    return Err(SignError::Inconsistent {
                        input: i,
                        reason: "key-path origin for a key that is not the internal key".into(),
                    });
                }
                plans.push((
                    i,
                    Planned::TaprootKey {
                        path: path.clone(),
                        internal: **xonly,
                    },
                ));
            }
        } else {
            match input.sighash_type {
                None => {}
                Some(t) if t.ecdsa_hash_ty() == Ok(EcdsaSighashType::All) => {}
                Some(t) => return Err(refuse(format!("sighash type {t} is not supported"))),
            }
            for (pk, (_, path)) in &ours_ecdsa {
                plans.push((
                    i,
                    Planned::Ecdsa {
                        pk: PublicKey::new(**pk),
                        path: path.clone(),
                    },
                ));
            }
        }
    }
    if plans.is_empty() {
        return Err(SignError::NothingToSign(fp));
    }

    // Derivation costs time per step: a hostile PSBT could list very long paths.
    for (i, plan) in &plans {
        let path = match plan {
            Planned::Ecdsa { path, .. } | Planned::TaprootKey { path, .. } => path,
        };
        if path.len() > MAX_PATH_DEPTH {
            return Err(SignError::Refused {
                input: *i,
                reason: format!("derivation path deeper than {MAX_PATH_DEPTH} levels"),
            });
        }
    }

    // Pass 3: derive, check, sign into a copy.
    let mut out = work.clone();
    let tx = work.unsigned_tx.clone();
    let mut cache = SighashCache::new(&tx);
    let all_utxos: Vec<TxOut> = utxos.iter().flatten().cloned().collect();
    for (i, plan) in plans {
        let kind = kinds[i];
        let Some(utxo) = &utxos[i] else { continue };
        let input = &work.inputs[i];
        let mismatch = |reason: String| SignError::Inconsistent { input: i, reason };
        let sighash_err = |e: String| SignError::Sighash {
            input: i,
            reason: e,
        };
        match plan {
            Planned::Ecdsa { pk, path } => {
                let mut xpriv = master.derive_priv(&path)?;
                let sk = xpriv.private_key;
                xpriv.private_key.non_secure_erase();
                let derived = PublicKey::new(sk.public_key(secp));
                if derived != pk {
                    return Err(mismatch(format!(
                        "the PSBT says key {pk} is at {fp}/{path}, but our key there is {derived}"
                    )));
                }
                let spk = &utxo.script_pubkey;
                let msg = match kind {
                    Kind::P2pkh => {
                        if *spk != ScriptBuf::new_p2pkh(&pk.pubkey_hash()) {
                            return Err(mismatch("the output is not locked to our key".into()));
                        }
                        cache
                            .legacy_signature_hash(i, spk, EcdsaSighashType::All.to_u32())
                            .map(Message::from)
                            .map_err(|e| sighash_err(e.to_string()))?
                    }
                    Kind::P2wpkh | Kind::P2shP2wpkh => {
                        let cpk = CompressedPublicKey::try_from(pk)
                            .map_err(|_| mismatch("uncompressed key in segwit".into()))?;
                        let program = ScriptBuf::new_p2wpkh(&cpk.wpubkey_hash());
                        let expected = if kind == Kind::P2wpkh {
                            spk
                        } else {
                            input
                                .redeem_script
                                .as_ref()
                                .ok_or_else(|| mismatch("missing redeem_script".into()))?
                        };
                        if *expected != program {
                            return Err(mismatch("the output is not locked to our key".into()));
                        }
                        cache
                            .p2wpkh_signature_hash(i, &program, utxo.value, EcdsaSighashType::All)
                            .map(Message::from)
                            .map_err(|e| sighash_err(e.to_string()))?
                    }
                    Kind::P2wsh | Kind::P2shP2wsh => {
                        let ws =
                            input
                                .witness_script
                                .as_ref()
                                .ok_or_else(|| SignError::Refused {
                                    input: i,
                                    reason: "P2WSH input without witness_script".into(),
                                })?;
                        if !script_pushes_key(ws, &pk) {
                            return Err(mismatch("our key is not in the witness script".into()));
                        }
                        cache
                            .p2wsh_signature_hash(i, ws, utxo.value, EcdsaSighashType::All)
                            .map(Message::from)
                            .map_err(|e| sighash_err(e.to_string()))?
                    }
                    Kind::P2sh => {
                        let rs =
                            input
                                .redeem_script
                                .as_ref()
                                .ok_or_else(|| SignError::Refused {
                                    input: i,
                                    reason: "P2SH input without redeem_script".into(),
                                })?;
                        if !script_pushes_key(rs, &pk) {
                            return Err(mismatch("our key is not in the redeem script".into()));
                        }
                        cache
                            .legacy_signature_hash(i, rs, EcdsaSighashType::All.to_u32())
                            .map(Message::from)
                            .map_err(|e| sighash_err(e.to_string()))?
                    }
                    Kind::P2tr | Kind::Other => continue,
                };
                let mut secret = sk;
                let signature = secp.sign_ecdsa(&msg, &secret);
                secret.non_secure_erase();
                out.inputs[i].partial_sigs.insert(
                    pk,
                    ecdsa::Signature {
                        signature,
                        sighash_type: EcdsaSighashType::All,
                    },
                );
                report
                    .signed
                    .push((i, format!("{} ecdsa {fp}/{path}", kind.name())));
            }
            Planned::TaprootKey { path, internal } => {
                let mut xpriv = master.derive_priv(&path)?;
                let mut keypair = Keypair::from_secret_key(secp, &xpriv.private_key);
                xpriv.private_key.non_secure_erase();
                let (derived, _) = keypair.x_only_public_key();
                if derived != internal {
                    keypair.non_secure_erase();
                    return Err(mismatch(format!(
                        "the PSBT says internal key {internal} is at {fp}/{path}, but our key \
                         there is {derived}"
                    )));
                }
                let merkle_root = input.tap_merkle_root;
                if ScriptBuf::new_p2tr(secp, internal, merkle_root) != utxo.script_pubkey {
                    keypair.non_secure_erase();
                    return Err(mismatch(
                        "the taproot output key is not the tweak of our internal key".into(),
                    ));
                }
                let ty = match input.sighash_type {
                    Some(t) if t.taproot_hash_ty() == Ok(TapSighashType::All) => {
                        TapSighashType::All
                    }
                    _ => TapSighashType::Default,
                };
                let sighash = cache
                    .taproot_key_spend_signature_hash(i, &Prevouts::All(&all_utxos), ty)
                    .map_err(|e| sighash_err(e.to_string()))?;
                let tweaked = keypair.tap_tweak(secp, merkle_root);
                keypair.non_secure_erase();
                let mut tweaked_kp = tweaked.to_keypair();
                let signature = secp.sign_schnorr(&Message::from(sighash), &tweaked_kp);
                tweaked_kp.non_secure_erase();
                out.inputs[i].tap_key_sig = Some(taproot::Signature {
                    signature,
                    sighash_type: ty,
                });
                report
                    .signed
                    .push((i, format!("p2tr key path {fp}/{path}")));
            }
        }
    }
    *psbt.inner_mut() = out;
    psbt.mark_signed();
    Ok(report)
}
