//! The PSBT key-value framing (BIP-174 "<magic> <global-map> <input-map>* <output-map>*"), read
//! with strict limits before any typed decoder sees the bytes, and the lossless conversion
//! between v0 and v2 framings.
//!
//! Why a raw layer: the typed decoders allocate from counts they read (PSBT v2's
//! `PSBT_GLOBAL_INPUT_COUNT`), so the counts are checked against the maps actually present first;
//! and moving between v0 and v2 is a matter of swapping a few keys (the unsigned transaction for
//! the per-input/per-output v2 fields), which keeps every other field (including unknown and
//! proprietary ones) byte for byte.

use bitcoin::consensus::encode::{serialize, Decodable, Encodable};
use bitcoin::{Transaction, VarInt};

use super::PsbtError;

/// Largest serialized PSBT accepted (binary).
pub const MAX_PSBT_BYTES: usize = 16 * 1024 * 1024;

/// Global key types.
pub(crate) const GLOBAL_UNSIGNED_TX: u64 = 0x00;
pub(crate) const GLOBAL_XPUB: u64 = 0x01;
pub(crate) const GLOBAL_TX_VERSION: u64 = 0x02;
pub(crate) const GLOBAL_FALLBACK_LOCKTIME: u64 = 0x03;
pub(crate) const GLOBAL_INPUT_COUNT: u64 = 0x04;
pub(crate) const GLOBAL_OUTPUT_COUNT: u64 = 0x05;
pub(crate) const GLOBAL_TX_MODIFIABLE: u64 = 0x06;
pub(crate) const GLOBAL_VERSION: u64 = 0xfb;
/// Input key types that exist only in v2.
pub(crate) const IN_PREVIOUS_TXID: u64 = 0x0e;
pub(crate) const IN_OUTPUT_INDEX: u64 = 0x0f;
pub(crate) const IN_SEQUENCE: u64 = 0x10;
pub(crate) const IN_REQUIRED_TIME_LOCKTIME: u64 = 0x11;
pub(crate) const IN_REQUIRED_HEIGHT_LOCKTIME: u64 = 0x12;
/// Output key types that exist only in v2.
pub(crate) const OUT_AMOUNT: u64 = 0x03;
pub(crate) const OUT_SCRIPT: u64 = 0x04;

const V2_ONLY_GLOBAL: [u64; 5] = [
    GLOBAL_TX_VERSION,
    GLOBAL_FALLBACK_LOCKTIME,
    GLOBAL_INPUT_COUNT,
    GLOBAL_OUTPUT_COUNT,
    GLOBAL_TX_MODIFIABLE,
];
const V2_ONLY_INPUT: [u64; 5] = [
    IN_PREVIOUS_TXID,
    IN_OUTPUT_INDEX,
    IN_SEQUENCE,
    IN_REQUIRED_TIME_LOCKTIME,
    IN_REQUIRED_HEIGHT_LOCKTIME,
];
const V2_ONLY_OUTPUT: [u64; 2] = [OUT_AMOUNT, OUT_SCRIPT];

/// One key-value pair; `key` holds the key type (compact size) followed by the key data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pair {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

impl Pair {
    pub fn key_type(&self) -> u64 {
        read_compact(&mut &self.key[..]).unwrap_or(u64::MAX)
    }
    fn key_data_is_empty(&self) -> bool {
        let mut r = &self.key[..];
        read_compact(&mut r).is_ok() && r.is_empty()
    }
    fn new(key_type: u64, value: Vec<u8>) -> Self {
        Pair {
            key: serialize(&VarInt(key_type)),
            value,
        }
    }
}

/// A parsed framing: the global map and every following map in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawPsbt {
    pub global: Vec<Pair>,
    pub maps: Vec<Vec<Pair>>,
}

fn read_compact(r: &mut &[u8]) -> Result<u64, PsbtError> {
    let VarInt(v) = VarInt::consensus_decode(r)
        .map_err(|e| PsbtError::Decode(format!("bad compact size: {e}")))?;
    Ok(v)
}

fn read_bytes(r: &mut &[u8], len: u64) -> Result<Vec<u8>, PsbtError> {
    let len = usize::try_from(len).map_err(|_| PsbtError::Decode("length overflow".into()))?;
    if len > r.len() {
        return Err(PsbtError::Decode(format!(
            "a field claims {len} bytes but only {} remain",
            r.len()
        )));
    }
    let (a, b) = r.split_at(len);
    *r = b;
    Ok(a.to_vec())
}

impl RawPsbt {
    /// Parses the framing. Every map must end with its 0x00 separator; keys within a map must be
    /// unique.
    pub fn parse(bytes: &[u8]) -> Result<Self, PsbtError> {
        if bytes.len() > MAX_PSBT_BYTES {
            return Err(PsbtError::TooLarge(bytes.len()));
        }
        let Some(mut r) = bytes.strip_prefix(b"psbt\xff") else {
            return Err(PsbtError::Decode(
                "missing the PSBT magic bytes \"psbt\\xff\"".into(),
            ));
        };
        let mut maps: Vec<Vec<Pair>> = Vec::new();
        while !r.is_empty() {
            let mut map: Vec<Pair> = Vec::new();
            loop {
                if r.is_empty() {
                    return Err(PsbtError::Decode(
                        "truncated: a map has no 0x00 separator".into(),
                    ));
                }
                let key_len = read_compact(&mut r)?;
                if key_len == 0 {
                    break;
                }
                let key = read_bytes(&mut r, key_len)?;
                let value_len = read_compact(&mut r)?;
                let value = read_bytes(&mut r, value_len)?;
                let pair = Pair { key, value };
                if pair.key_type() == u64::MAX {
                    return Err(PsbtError::Decode("bad key type".into()));
                }
                if map.iter().any(|p| p.key == pair.key) {
                    return Err(PsbtError::Decode(format!(
                        "duplicate key 0x{}",
                        bitcoin::hex::DisplayHex::to_lower_hex_string(&pair.key[..])
                    )));
                }
                map.push(pair);
            }
            maps.push(map);
        }
        if maps.is_empty() {
            return Err(PsbtError::Decode("no global map".into()));
        }
        let global = maps.remove(0);
        Ok(RawPsbt { global, maps })
    }

    /// Rewrites SLIP-132 version bytes (ypub/zpub/Ypub/Zpub and upub/vpub/Upub/Vpub) of global
    /// xpubs to plain xpub/tpub, which is all rust-bitcoin reads. The key itself is unchanged;
    /// Bitcoin Core ignores these version bytes too. Returns whether anything changed.
    pub fn normalize_slip132_xpubs(&mut self) -> bool {
        const MAIN: [[u8; 4]; 4] = [
            [0x04, 0x9d, 0x7c, 0xb2],
            [0x02, 0x95, 0xb4, 0x3f],
            [0x04, 0xb2, 0x47, 0x46],
            [0x02, 0xaa, 0x7e, 0xd3],
        ];
        const TEST: [[u8; 4]; 4] = [
            [0x04, 0x4a, 0x52, 0x62],
            [0x02, 0x42, 0x89, 0xef],
            [0x04, 0x5f, 0x1c, 0xf6],
            [0x02, 0x57, 0x54, 0x83],
        ];
        let mut changed = false;
        for p in &mut self.global {
            if p.key.len() == 79 && p.key[0] == GLOBAL_XPUB as u8 {
                let version: [u8; 4] = [p.key[1], p.key[2], p.key[3], p.key[4]];
                let replacement = if MAIN.contains(&version) {
                    Some([0x04, 0x88, 0xb2, 0x1e])
                } else if TEST.contains(&version) {
                    Some([0x04, 0x35, 0x87, 0xcf])
                } else {
                    None
                };
                if let Some(r) = replacement {
                    p.key[1..5].copy_from_slice(&r);
                    changed = true;
                }
            }
        }
        changed
    }

    /// Serializes the framing.
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = b"psbt\xff".to_vec();
        for map in std::iter::once(&self.global).chain(self.maps.iter()) {
            for p in map {
                // Writing to a Vec cannot fail.
                let _ = VarInt(p.key.len() as u64).consensus_encode(&mut out);
                out.extend_from_slice(&p.key);
                let _ = VarInt(p.value.len() as u64).consensus_encode(&mut out);
                out.extend_from_slice(&p.value);
            }
            out.push(0);
        }
        out
    }

    fn global_value(&self, key_type: u64) -> Option<&[u8]> {
        self.global
            .iter()
            .find(|p| p.key_type() == key_type && p.key_data_is_empty())
            .map(|p| &p.value[..])
    }

    /// The PSBT version (`PSBT_GLOBAL_VERSION`, 0 when absent).
    pub fn version(&self) -> Result<u32, PsbtError> {
        match self.global.iter().find(|p| p.key_type() == GLOBAL_VERSION) {
            None => Ok(0),
            Some(p) => {
                if !p.key_data_is_empty() {
                    return Err(PsbtError::Decode(
                        "PSBT_GLOBAL_VERSION with key data".into(),
                    ));
                }
                let b: [u8; 4] = p.value[..].try_into().map_err(|_| {
                    PsbtError::Decode("PSBT_GLOBAL_VERSION value is not 4 bytes".into())
                })?;
                Ok(u32::from_le_bytes(b))
            }
        }
    }

    /// Structural checks of a v0 PSBT that the typed decoder may not make: no v2-only field in
    /// any map, and exactly one map per input and output of the unsigned transaction.
    pub fn check_v0(&self, n_inputs: usize, n_outputs: usize) -> Result<(), PsbtError> {
        // Only the exact v2 keys (no key data) are v2 fields; a key of the same type with key
        // data is an unknown key, which v0 allows.
        let v2_field =
            |p: &&Pair, set: &[u64]| set.contains(&p.key_type()) && p.key_data_is_empty();
        if let Some(p) = self.global.iter().find(|p| v2_field(p, &V2_ONLY_GLOBAL)) {
            return Err(PsbtError::Decode(format!(
                "PSBTv0 with the v2-only global field type 0x{:02x}",
                p.key_type()
            )));
        }
        if self.maps.len() != n_inputs + n_outputs {
            return Err(PsbtError::Decode(format!(
                "the unsigned transaction has {n_inputs} inputs and {n_outputs} outputs but the \
                 PSBT has {} input/output maps",
                self.maps.len()
            )));
        }
        for (i, m) in self.maps[..n_inputs].iter().enumerate() {
            if let Some(p) = m.iter().find(|p| v2_field(p, &V2_ONLY_INPUT)) {
                return Err(PsbtError::Decode(format!(
                    "PSBTv0 input {i} has the v2-only field type 0x{:02x}",
                    p.key_type()
                )));
            }
        }
        for (i, m) in self.maps[n_inputs..].iter().enumerate() {
            if let Some(p) = m.iter().find(|p| v2_field(p, &V2_ONLY_OUTPUT)) {
                return Err(PsbtError::Decode(format!(
                    "PSBTv0 output {i} has the v2-only field type 0x{:02x}",
                    p.key_type()
                )));
            }
        }
        Ok(())
    }

    /// Structural checks of a v2 PSBT before the typed decoder runs: the counts it will allocate
    /// from match the maps present, no unsigned transaction, well-formed global xpub values.
    /// Returns `(input_count, output_count)`.
    pub fn check_v2(&self) -> Result<(usize, usize), PsbtError> {
        if self
            .global
            .iter()
            .any(|p| p.key_type() == GLOBAL_UNSIGNED_TX)
        {
            return Err(PsbtError::Decode(
                "PSBTv2 must not have PSBT_GLOBAL_UNSIGNED_TX".into(),
            ));
        }
        let count = |t: u64, name: &str| -> Result<usize, PsbtError> {
            let v = self
                .global_value(t)
                .ok_or_else(|| PsbtError::Decode(format!("PSBTv2 is missing {name}")))?;
            let mut r = v;
            let n = read_compact(&mut r)?;
            if !r.is_empty() {
                return Err(PsbtError::Decode(format!("{name} has trailing bytes")));
            }
            usize::try_from(n).map_err(|_| PsbtError::Decode(format!("{name} too large")))
        };
        let n_in = count(GLOBAL_INPUT_COUNT, "PSBT_GLOBAL_INPUT_COUNT")?;
        let n_out = count(GLOBAL_OUTPUT_COUNT, "PSBT_GLOBAL_OUTPUT_COUNT")?;
        if n_in.checked_add(n_out) != Some(self.maps.len()) {
            return Err(PsbtError::Decode(format!(
                "PSBTv2 declares {n_in} inputs and {n_out} outputs but has {} input/output maps",
                self.maps.len()
            )));
        }
        for p in &self.global {
            if p.key_type() == GLOBAL_XPUB && (p.value.len() < 4 || p.value.len() % 4 != 0) {
                return Err(PsbtError::Decode(
                    "PSBT_GLOBAL_XPUB value must be a fingerprint and a path".into(),
                ));
            }
        }
        Ok((n_in, n_out))
    }

    /// Shape checks of fields the typed decoders keep as unknown or check loosely: BIP-373
    /// MuSig2 fields (kept opaque, but their key and value sizes are fixed), and BIP-370's
    /// required lock times (height in 1..500,000,000, time at least 500,000,000).
    pub fn check_field_shapes(&self, n_in: usize) -> Result<(), PsbtError> {
        let bad = |what: String| Err(PsbtError::Decode(what));
        for (i, m) in self.maps.iter().enumerate() {
            let is_input = i < n_in;
            for p in m {
                let t = p.key_type();
                let key_data_len = p.key.len().saturating_sub(1);
                let v = &p.value;
                if is_input {
                    match t {
                        // PSBT_IN_MUSIG2_PARTICIPANT_PUBKEYS
                        0x1a if key_data_len != 33 || v.is_empty() || v.len() % 33 != 0 => {
                            return bad(format!("input {i}: malformed MuSig2 participant keys"))
                        }
                        // PSBT_IN_MUSIG2_PUB_NONCE
                        0x1b if !(key_data_len == 66 || key_data_len == 98) || v.len() != 66 => {
                            return bad(format!("input {i}: malformed MuSig2 public nonce"))
                        }
                        // PSBT_IN_MUSIG2_PARTIAL_SIG
                        0x1c if !(key_data_len == 66 || key_data_len == 98) || v.len() != 32 => {
                            return bad(format!("input {i}: malformed MuSig2 partial signature"))
                        }
                        IN_REQUIRED_TIME_LOCKTIME | IN_REQUIRED_HEIGHT_LOCKTIME => {
                            let Ok(b) = <[u8; 4]>::try_from(&v[..]) else {
                                return bad(format!("input {i}: lock time is not 4 bytes"));
                            };
                            let lt = u32::from_le_bytes(b);
                            if t == IN_REQUIRED_TIME_LOCKTIME && lt < 500_000_000 {
                                return bad(format!(
                                    "input {i}: PSBT_IN_REQUIRED_TIME_LOCKTIME {lt} is a height"
                                ));
                            }
                            if t == IN_REQUIRED_HEIGHT_LOCKTIME && (lt == 0 || lt >= 500_000_000) {
                                return bad(format!(
                                    "input {i}: PSBT_IN_REQUIRED_HEIGHT_LOCKTIME {lt} out of range"
                                ));
                            }
                        }
                        _ => {}
                    }
                } else if t == 0x08 && (key_data_len != 33 || v.is_empty() || v.len() % 33 != 0) {
                    // PSBT_OUT_MUSIG2_PARTICIPANT_PUBKEYS
                    return bad(format!(
                        "output {}: malformed MuSig2 participant keys",
                        i - n_in
                    ));
                }
            }
        }
        Ok(())
    }

    /// The v0 framing of this (checked) v2 PSBT, with `unsigned_tx` in place of the v2 fields.
    pub fn v2_to_v0(&self, unsigned_tx: &Transaction, n_in: usize) -> RawPsbt {
        let mut global = vec![Pair::new(GLOBAL_UNSIGNED_TX, serialize(unsigned_tx))];
        global.extend(
            self.global
                .iter()
                .filter(|p| {
                    let t = p.key_type();
                    !(p.key_data_is_empty() && (V2_ONLY_GLOBAL.contains(&t) || t == GLOBAL_VERSION))
                })
                .cloned(),
        );
        let maps = self
            .maps
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let drop: &[u64] = if i < n_in {
                    &V2_ONLY_INPUT
                } else {
                    &V2_ONLY_OUTPUT
                };
                m.iter()
                    .filter(|p| !(p.key_data_is_empty() && drop.contains(&p.key_type())))
                    .cloned()
                    .collect()
            })
            .collect();
        RawPsbt { global, maps }
    }

    /// The v2 framing of this v0 PSBT. With `template` (the v2 PSBT this v0 form was made from),
    /// the v2-only fields are taken from it unchanged (locktime requirements, modifiable flags);
    /// without, they are generated from the unsigned transaction.
    pub fn v0_to_v2(
        &self,
        unsigned_tx: &Transaction,
        template: Option<&RawPsbt>,
    ) -> Result<RawPsbt, PsbtError> {
        let n_in = unsigned_tx.input.len();
        let n_out = unsigned_tx.output.len();
        if self.maps.len() != n_in + n_out {
            return Err(PsbtError::Decode(
                "map count does not match the transaction".into(),
            ));
        }
        let v0_global = self
            .global
            .iter()
            .filter(|p| p.key_type() != GLOBAL_UNSIGNED_TX && p.key_type() != GLOBAL_VERSION);
        let mut global: Vec<Pair> = match template {
            Some(t) => {
                if t.maps.len() != self.maps.len() {
                    return Err(PsbtError::Decode("template does not match".into()));
                }
                t.global
                    .iter()
                    .filter(|p| {
                        let k = p.key_type();
                        p.key_data_is_empty()
                            && (V2_ONLY_GLOBAL.contains(&k) || k == GLOBAL_VERSION)
                    })
                    .cloned()
                    .collect()
            }
            None => {
                let mut g = vec![
                    Pair::new(GLOBAL_TX_VERSION, serialize(&unsigned_tx.version)),
                    Pair::new(GLOBAL_INPUT_COUNT, serialize(&VarInt(n_in as u64))),
                    Pair::new(GLOBAL_OUTPUT_COUNT, serialize(&VarInt(n_out as u64))),
                    Pair::new(GLOBAL_VERSION, 2u32.to_le_bytes().to_vec()),
                ];
                if unsigned_tx.lock_time.to_consensus_u32() != 0 {
                    g.push(Pair::new(
                        GLOBAL_FALLBACK_LOCKTIME,
                        serialize(&unsigned_tx.lock_time),
                    ));
                }
                g
            }
        };
        global.extend(v0_global.cloned());
        let mut maps = Vec::with_capacity(self.maps.len());
        for (i, m) in self.maps.iter().enumerate() {
            let mut map: Vec<Pair> = m.clone();
            if let Some(t) = template {
                let only: &[u64] = if i < n_in {
                    &V2_ONLY_INPUT
                } else {
                    &V2_ONLY_OUTPUT
                };
                map.extend(
                    t.maps[i]
                        .iter()
                        .filter(|p| p.key_data_is_empty() && only.contains(&p.key_type()))
                        .cloned(),
                );
            } else if i < n_in {
                let txin = &unsigned_tx.input[i];
                map.push(Pair::new(
                    IN_PREVIOUS_TXID,
                    serialize(&txin.previous_output.txid),
                ));
                map.push(Pair::new(
                    IN_OUTPUT_INDEX,
                    txin.previous_output.vout.to_le_bytes().to_vec(),
                ));
                map.push(Pair::new(
                    IN_SEQUENCE,
                    txin.sequence.to_consensus_u32().to_le_bytes().to_vec(),
                ));
            } else {
                let out = &unsigned_tx.output[i - n_in];
                map.push(Pair::new(OUT_AMOUNT, serialize(&out.value)));
                map.push(Pair::new(OUT_SCRIPT, out.script_pubkey.to_bytes()));
            }
            maps.push(map);
        }
        Ok(RawPsbt { global, maps })
    }
}
