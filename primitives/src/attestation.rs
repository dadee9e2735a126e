//! RIP-200 hardware attestations carried in blocks.
//!
//! **Not implemented yet.** The attestation message (miner key, epoch window, evidence, proof of
//! work, signature) arrives with the RIP-200 work. Until then there is no attestation kind at all:
//! [`Attestation`] has no values, every block's attestation list is empty, its root is the
//! empty-list Merkle root, and decoding any non-empty list fails with a clear error.

use borsh::{BorshDeserialize, BorshSerialize};

/// A hardware attestation. This type has no values yet (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attestation {}

impl BorshSerialize for Attestation {
    fn serialize<W: std::io::Write>(&self, _writer: &mut W) -> std::io::Result<()> {
        match *self {}
    }
}

impl BorshDeserialize for Attestation {
    fn deserialize_reader<R: std::io::Read>(_reader: &mut R) -> std::io::Result<Self> {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "attestations are not supported yet (RIP-200 is not implemented)",
        ))
    }
}

/// Writes an attestation list: its length (always 0, since no attestation value exists).
///
/// Used with `#[borsh(serialize_with)]`: borsh refuses collections of zero-sized types, and an
/// uninhabited enum is zero-sized, so the list is encoded here as a plain `u32` count.
// borsh's `serialize_with` passes a reference to the field's own type, `&Vec<_>`.
#[allow(clippy::ptr_arg)]
pub fn serialize_list<W: std::io::Write>(
    list: &Vec<Attestation>,
    writer: &mut W,
) -> std::io::Result<()> {
    let len = u32::try_from(list.len()).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "too many attestations")
    })?;
    len.serialize(writer)
}

/// Reads an attestation list: only the empty list is valid until RIP-200 lands.
pub fn deserialize_list<R: std::io::Read>(reader: &mut R) -> std::io::Result<Vec<Attestation>> {
    match u32::deserialize_reader(reader)? {
        0 => Ok(Vec::new()),
        n => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{n} attestations: attestations are not supported yet (RIP-200 is not implemented)"
            ),
        )),
    }
}

impl Attestation {
    /// The hash of an attestation (for the attestations root).
    pub fn hash(&self) -> crate::Hash {
        match *self {}
    }
}
