//! The RustChain miner (`rustchain-miner`): hardware fingerprinting, VM detection and RIP-200
//! attestation.
//!
//! - [`source`]: every hardware source behind a trait (CPUID, a filesystem root, system
//!   facts, timing), live or replayed from a recorded machine.
//! - [`cpu`], [`platform`], [`timing`]: what is read from each.
//! - [`evidence`]: the `HardwareEvidence` record and the local verdict, computed with
//!   `rustchain_consensus::rip200::classify`, the same code validators run.
//! - [`keyfile`]: miner key files (0600, optionally Argon2id + XChaCha20-Poly1305).
//! - [`attest`]: challenge, proof of work, signature, submission, status lines.
//!
//! By design this crate links neither RocksDB nor libp2p, so the miner stays small enough for
//! old hardware, and it builds on any architecture: the x86-only probes are left out
//! elsewhere and reported as not measured.

pub mod attest;
pub mod cpu;
pub mod evidence;
pub mod keyfile;
pub mod platform;
pub mod report;
pub mod source;
pub mod timing;

pub use evidence::{fingerprint_live, fingerprint_replay, Fingerprint};
