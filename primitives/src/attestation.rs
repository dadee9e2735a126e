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

impl Attestation {
    /// The hash of an attestation (for the attestations root).
    pub fn hash(&self) -> crate::Hash {
        match *self {}
    }
}
