//! Attestation: fetch a challenge, build the evidence, prove, sign, submit; once or every
//! window, with retries.
//!
//! Node methods (JSON-RPC over HTTP): `attest_getChallenge` → [`ChallengeJson`] and
//! `attest_submit(0x-hex borsh attestation)` → [`AttestResultJson`].

use std::time::Duration;

use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use rustchain_primitives::{
    encode, Attestation, AttestationBody, AttestationError, AttestationMode, ChainId, Checkpoint,
    HardwareEvidence, KeyPair,
};
use rustchain_rpc_types::{AttestResultJson, ChallengeJson};

/// The most proof-of-work difficulty the miner accepts from a node (bits).
pub const MAX_POW_BITS: u32 = 40;

/// Why an attestation could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The node sent a chain id that is not valid.
    #[error("the node's chain id {0:?} is not valid: {1}")]
    ChainId(String, String),
    /// Simulated mode on a chain that refuses it.
    #[error("chain {0} does not accept simulated attestations (only dev and test chains do)")]
    SimulatedRefused(String),
    /// Difficulty above [`MAX_POW_BITS`].
    #[error(
        "the node asks for {0} bits of proof of work, above the miner's limit of {MAX_POW_BITS}"
    )]
    PowTooHard(u32),
    /// No nonce found.
    #[error("no proof-of-work nonce found")]
    PowNotFound,
    /// The evidence breaks a limit.
    #[error("the attestation would be refused: {0}")]
    Malformed(#[from] AttestationError),
}

/// Builds, proves and signs an attestation for the challenge.
pub fn build_attestation(
    challenge: &ChallengeJson,
    key: &KeyPair,
    mode: AttestationMode,
    evidence: HardwareEvidence,
) -> Result<Attestation, BuildError> {
    let chain_id = ChainId::new(challenge.chain_id.clone())
        .map_err(|e| BuildError::ChainId(challenge.chain_id.clone(), e.to_string()))?;
    if mode == AttestationMode::Simulated && !challenge.simulated_allowed {
        return Err(BuildError::SimulatedRefused(challenge.chain_id.clone()));
    }
    if challenge.pow_bits > MAX_POW_BITS {
        return Err(BuildError::PowTooHard(challenge.pow_bits));
    }
    let mut body = AttestationBody {
        chain_id,
        miner: key.public_key(),
        epoch: challenge.epoch,
        window: challenge.window,
        reference: Checkpoint {
            height: challenge.reference.height,
            hash: challenge.reference.hash,
        },
        mode,
        profile_hash: evidence.profile_hash(),
        evidence,
        pow_nonce: 0,
    };
    // Expected tries: 2^bits; give up after 2^(bits + 8).
    let max_tries = 1u64 << (challenge.pow_bits + 8).min(63);
    if !body.solve_pow(challenge.pow_bits, 0, max_tries) {
        return Err(BuildError::PowNotFound);
    }
    let attestation = body.sign(key);
    attestation.check_well_formed()?;
    Ok(attestation)
}

/// The `attest_submit` parameter: 0x-prefixed hex of the borsh encoding.
pub fn to_hex(attestation: &Attestation) -> String {
    format!("0x{}", hex::encode(encode(attestation)))
}

/// One status line for a submitted window.
pub fn status_line(result: &AttestResultJson, windows_per_epoch: u32) -> String {
    let bps = result.multiplier_bps;
    format!(
        "epoch {} window {}/{}  verdict={} class={} multiplier={}.{:02}x expected_reward={}  id={}",
        result.epoch,
        result.window.saturating_add(1),
        windows_per_epoch,
        result.verdict,
        result.class.as_str(),
        bps / 10_000,
        (bps % 10_000) / 100,
        result.expected_reward,
        result.id
    )
}

/// A JSON-RPC connection to a node.
#[derive(Debug)]
pub struct NodeClient {
    http: HttpClient,
}

impl NodeClient {
    /// Connects to `url` (`http://host:port`).
    pub fn new(url: &str) -> Result<Self, jsonrpsee::core::ClientError> {
        let http = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(30))
            .max_request_size(1024 * 1024)
            .max_response_size(1024 * 1024)
            .build(url)?;
        Ok(NodeClient { http })
    }

    /// `attest_getChallenge`.
    pub async fn challenge(&self) -> Result<ChallengeJson, jsonrpsee::core::ClientError> {
        self.http
            .request("attest_getChallenge", rpc_params![])
            .await
    }

    /// `attest_submit`.
    pub async fn submit(
        &self,
        attestation: &Attestation,
    ) -> Result<AttestResultJson, jsonrpsee::core::ClientError> {
        self.http
            .request("attest_submit", rpc_params![to_hex(attestation)])
            .await
    }
}

/// Exponential backoff: 1 s, 2 s, 4 s ... capped at 60 s.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The next delay (and counts a failure).
    pub fn next_delay(&mut self) -> Duration {
        let secs = 1u64 << self.failures.min(6);
        self.failures = self.failures.saturating_add(1);
        Duration::from_secs(secs.min(60))
    }

    /// Failures in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// A success resets it.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// How long to wait before asking for the next window: the node's estimate plus a little,
/// within [0.5 s, 10 min].
pub fn wait_for_next_window(challenge: &ChallengeJson) -> Duration {
    Duration::from_millis(challenge.ms_to_next_window.saturating_add(250))
        .clamp(Duration::from_millis(500), Duration::from_secs(600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::simulated_evidence;
    use rustchain_primitives::attestation::leading_zero_bits;
    use rustchain_primitives::{Amount, HardwareClass, Hash};
    use rustchain_rpc_types::BlockRef;

    fn challenge(simulated_allowed: bool) -> ChallengeJson {
        ChallengeJson {
            chain_id: "dev-miner-test".into(),
            epoch: 4,
            window: 2,
            windows_per_epoch: 5,
            reference: BlockRef {
                height: 77,
                hash: Hash([5; 32]),
            },
            pow_bits: 10,
            simulated_allowed,
            window_start_slot: 100,
            window_end_slot: 140,
            slot_duration_ms: 3_000,
            ms_to_next_window: 12_000,
        }
    }

    #[test]
    fn builds_a_valid_signed_attestation() {
        let key = KeyPair::from_secret_bytes(&[11; 32]).unwrap();
        let evidence = simulated_evidence(&key.public_key());
        let a = build_attestation(&challenge(true), &key, AttestationMode::Simulated, evidence)
            .unwrap();
        a.verify_signature().unwrap();
        assert_eq!(a.body.chain_id.as_str(), "dev-miner-test");
        assert_eq!((a.body.epoch, a.body.window), (4, 2));
        assert_eq!(a.body.reference.height, 77);
        assert_eq!(a.body.mode, AttestationMode::Simulated);
        assert!(leading_zero_bits(&a.body.pow_hash()) >= 10);
        // The hex parameter decodes back to the same attestation.
        let hex = to_hex(&a);
        let bytes = hex::decode(hex.trim_start_matches("0x")).unwrap();
        assert_eq!(Attestation::decode(&bytes).unwrap(), a);
    }

    #[test]
    fn refuses_simulated_where_not_allowed_and_absurd_difficulty() {
        let key = KeyPair::from_secret_bytes(&[11; 32]).unwrap();
        let evidence = simulated_evidence(&key.public_key());
        assert!(matches!(
            build_attestation(
                &challenge(false),
                &key,
                AttestationMode::Simulated,
                evidence.clone()
            ),
            Err(BuildError::SimulatedRefused(_))
        ));
        let mut hard = challenge(true);
        hard.pow_bits = 64;
        assert!(matches!(
            build_attestation(&hard, &key, AttestationMode::Hardware, evidence.clone()),
            Err(BuildError::PowTooHard(64))
        ));
        let mut bad = challenge(true);
        bad.chain_id = "Bad Chain".into();
        assert!(matches!(
            build_attestation(&bad, &key, AttestationMode::Hardware, evidence),
            Err(BuildError::ChainId(..))
        ));
    }

    #[test]
    fn oversized_evidence_is_caught_before_submitting() {
        let key = KeyPair::from_secret_bytes(&[11; 32]).unwrap();
        let mut evidence = simulated_evidence(&key.public_key());
        evidence.os = "x".repeat(1_000);
        assert!(matches!(
            build_attestation(&challenge(true), &key, AttestationMode::Hardware, evidence),
            Err(BuildError::Malformed(_))
        ));
    }

    #[test]
    fn status_line_and_backoff() {
        let result = AttestResultJson {
            id: Hash([1; 32]),
            epoch: 4,
            window: 2,
            class: HardwareClass::Classic,
            multiplier_bps: 15_000,
            verdict: "bare_metal".into(),
            reasons: vec![],
            profile_hash: Hash([2; 32]),
            expected_reward: Amount::from_base_units(30_000_000),
        };
        let line = status_line(&result, 5);
        assert!(line.starts_with("epoch 4 window 3/5  verdict=bare_metal class=classic"));
        assert!(line.contains("multiplier=1.50x"));
        assert!(line.contains("expected_reward=0.3 RTC"));
        let mut b = Backoff::default();
        let delays: Vec<u64> = (0..9).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        b.reset();
        assert_eq!(b.next_delay().as_secs(), 1);
        assert_eq!(
            wait_for_next_window(&challenge(true)),
            Duration::from_millis(12_250)
        );
    }
}
