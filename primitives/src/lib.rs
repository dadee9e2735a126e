//! RustChain primitives: the types and canonical encodings every other crate shares.
//!
//! Nothing here does I/O or async. Everything that crosses a trust boundary (gossip, RPC, files)
//! is decoded through [`codec::decode`], which enforces a size limit and rejects trailing bytes.
//!
//! Domain separation: every hashed or signed message kind has its own BIP-340-style tag
//! ([`hash::Tag`]), and every signed payload commits to the [`ChainId`].

pub mod account;
pub mod address;
pub mod amount;
pub mod attestation;
pub mod block;
pub mod bounty;
pub mod chain;
pub mod codec;
pub mod evidence;
pub mod hash;
pub mod hd;
pub mod keys;
pub mod merkle;
pub mod multisig;
pub mod receipt;
pub mod transaction;
pub mod vote;

pub use account::Account;
pub use address::{Address, AddressError};
pub use amount::{Amount, AmountError};
pub use attestation::{
    Arch, Attestation, AttestationBody, AttestationError, AttestationMode, HardwareClass,
    HardwareEvidence,
};
pub use block::{Block, BlockHeader};
pub use bounty::{
    escrow_address, Bounty, BountyAction, BountyCounters, BountyError, BountyId, BountyParams,
    BountyStatus, Claim, ClaimId, ClaimStatus,
};
pub use chain::{ChainId, ChainIdError, NetworkKind};
pub use codec::{decode, encode, DecodeError};
pub use evidence::{Evidence, EvidenceError};
pub use hash::{tagged_hash, Hash, Tag, TaggedHasher};
pub use keys::{KeyError, KeyPair, PublicKey, Signature};
pub use multisig::{
    MultisigAction, MultisigApproval, MultisigCall, MultisigEffect, MultisigError, MultisigPolicy,
    MAX_MULTISIG_SIGNERS,
};
pub use receipt::{Event, Receipt, TxStatus};
pub use transaction::{PayloadError, Transaction, TxBody, TxPayload};
pub use vote::{Checkpoint, FinalityCertificate, Vote, VoteBody};

/// Re-export of the one secp256k1 the project links (through `bitcoin`).
pub use bitcoin::secp256k1;
