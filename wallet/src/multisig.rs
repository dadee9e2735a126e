//! Partially signed multisig calls: collecting co-signer approvals offline.
//!
//! A [`PartialCall`] is the RustChain counterpart of a PSBT. It carries everything a co-signer
//! needs to check and approve a call of an m-of-n multisig account without a node: the chain id,
//! the account's policy (threshold and signer keys), the call (account, nonce, action), and the
//! approvals collected so far. It travels as one base64 string (`rtcms1` + base64 of a
//! versioned borsh encoding), in a file or pasted.
//!
//! Its life ([`CallState`]):
//!
//! ```text
//! CREATED --sign--> PARTIALLY_SIGNED --sign/combine--> SIGNED --finalize--> FINALIZED --submit--> BROADCAST
//!    \___________________\____________________________\________________________\__________> REJECTED (reason)
//! ```
//!
//! - **sign** (offline): a key of the policy adds its BIP-340 signature over the call's approval
//!   hash (which commits to the chain id). Signers sign in any order; signing twice is refused.
//! - **combine**: merges the approvals of copies of the *same* call (same chain, policy and
//!   call), verifying every incoming signature, so copies signed separately become one.
//! - **finalize**: once `threshold` approvals are present, wraps them in a `MultisigExecute`
//!   transaction signed by a submitter key that pays the fee.
//! - **submit**: the finalized transaction goes to a node; the result is recorded (BROADCAST with
//!   its id, or REJECTED with the node's reason or the failed receipt's).
//!
//! Decoding is size-limited and checks everything it can: a canonical policy whose address is
//! the call's account, approvals by policy members with valid signatures, and a finalized
//! transaction that really carries this call.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use borsh::{BorshDeserialize, BorshSerialize};
use rustchain_primitives::{
    codec, Amount, ChainId, Hash, KeyPair, MultisigAction, MultisigApproval, MultisigCall,
    MultisigError, MultisigPolicy, PublicKey, Signature, Transaction, TxBody, TxPayload,
};

/// The text prefix of an encoded partial call.
pub const TEXT_PREFIX: &str = "rtcms1";
/// Largest encoded partial call accepted (bytes after base64 decoding).
pub const MAX_PARTIAL_CALL_BYTES: usize = 64 * 1024;
/// Longest memo, in bytes.
pub const MAX_MEMO_BYTES: usize = 256;
const FORMAT_VERSION: u8 = 1;

/// The states of a partial call, as the wallet shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// No approvals yet.
    Created,
    /// Some approvals, fewer than the threshold.
    PartiallySigned,
    /// At least the threshold of approvals.
    Signed,
    /// Wrapped in a signed transaction, not submitted yet.
    Finalized,
    /// Submitted to a node.
    Broadcast,
    /// Refused (by a node, or failed in a block).
    Rejected,
}

impl fmt::Display for CallState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CallState::Created => "CREATED",
            CallState::PartiallySigned => "PARTIALLY_SIGNED",
            CallState::Signed => "SIGNED",
            CallState::Finalized => "FINALIZED",
            CallState::Broadcast => "BROADCAST",
            CallState::Rejected => "REJECTED",
        })
    }
}

/// What happened after signing.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Outcome {
    /// Still collecting approvals.
    Open,
    /// Finalized into this transaction.
    Finalized(Transaction),
    /// Submitted: the transaction and its id.
    Broadcast(Transaction, Hash),
    /// Refused, with the reason.
    Rejected(String),
}

/// Why an operation on a partial call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartialCallError {
    /// The text is not `rtcms1` + base64.
    #[error("not a partially signed multisig call: {0}")]
    Encoding(String),
    /// The bytes do not decode.
    #[error("the partially signed multisig call is corrupt: {0}")]
    Corrupt(String),
    /// Made by a newer wallet.
    #[error("unsupported partially signed call format version {0} (this wallet reads version 1)")]
    Version(u8),
    /// The policy is invalid, or its address is not the call's account.
    #[error("the policy does not match the call: {0}")]
    Policy(String),
    /// The key is not one of the policy's signers.
    #[error("key {0} is not a signer of this multisig account")]
    NotASigner(PublicKey),
    /// This signer already approved.
    #[error("signer {0} has already approved this call")]
    AlreadySigned(u8),
    /// Combining copies of different calls.
    #[error("cannot combine: the calls differ ({0})")]
    Mismatch(&'static str),
    /// An approval does not verify.
    #[error("invalid approval: {0}")]
    Approval(MultisigError),
    /// Not enough approvals to finalize.
    #[error("only {have} of the {need} approvals needed are present")]
    NotEnoughApprovals {
        /// approvals present
        have: usize,
        /// the threshold
        need: u8,
    },
    /// The operation needs another state.
    #[error("the call is {state}; {operation} needs {needed}")]
    WrongState {
        /// current state
        state: CallState,
        /// what was attempted
        operation: &'static str,
        /// what it needs
        needed: &'static str,
    },
    /// The memo is too long.
    #[error("memo is longer than {MAX_MEMO_BYTES} bytes")]
    MemoTooLong,
}

/// The encoded form (private so that decoding always goes through the checks).
#[derive(BorshSerialize, BorshDeserialize)]
struct Encoded {
    version: u8,
    chain_id: ChainId,
    policy: MultisigPolicy,
    call: MultisigCall,
    approvals: Vec<MultisigApproval>,
    memo: String,
    outcome: Outcome,
}

/// A multisig call collecting approvals (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialCall {
    chain_id: ChainId,
    policy: MultisigPolicy,
    call: MultisigCall,
    approvals: BTreeMap<u8, Signature>,
    memo: String,
    outcome: Outcome,
}

impl PartialCall {
    /// A new call of the account of `policy` (state CREATED).
    pub fn new(
        chain_id: ChainId,
        policy: MultisigPolicy,
        nonce: u64,
        action: MultisigAction,
        memo: String,
    ) -> Result<Self, PartialCallError> {
        policy
            .validate()
            .map_err(|e| PartialCallError::Policy(e.to_string()))?;
        if memo.len() > MAX_MEMO_BYTES {
            return Err(PartialCallError::MemoTooLong);
        }
        let call = MultisigCall {
            account: policy.address(),
            nonce,
            action,
        };
        Ok(PartialCall {
            chain_id,
            policy,
            call,
            approvals: BTreeMap::new(),
            memo,
            outcome: Outcome::Open,
        })
    }

    /// The chain the call is for.
    pub fn chain_id(&self) -> &ChainId {
        &self.chain_id
    }

    /// The multisig account's policy.
    pub fn policy(&self) -> &MultisigPolicy {
        &self.policy
    }

    /// The call.
    pub fn call(&self) -> &MultisigCall {
        &self.call
    }

    /// The free-text note the creator attached.
    pub fn memo(&self) -> &str {
        &self.memo
    }

    /// Signer indexes that approved so far.
    pub fn approved_by(&self) -> Vec<u8> {
        self.approvals.keys().copied().collect()
    }

    /// What happened after signing.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The current state.
    pub fn state(&self) -> CallState {
        match &self.outcome {
            Outcome::Finalized(_) => CallState::Finalized,
            Outcome::Broadcast(..) => CallState::Broadcast,
            Outcome::Rejected(_) => CallState::Rejected,
            Outcome::Open if self.approvals.is_empty() => CallState::Created,
            Outcome::Open if self.approvals.len() < usize::from(self.policy.threshold) => {
                CallState::PartiallySigned
            }
            Outcome::Open => CallState::Signed,
        }
    }

    fn require_collecting(&self, operation: &'static str) -> Result<(), PartialCallError> {
        match self.outcome {
            Outcome::Open => Ok(()),
            _ => Err(PartialCallError::WrongState {
                state: self.state(),
                operation,
                needed: "a call still collecting approvals",
            }),
        }
    }

    /// The digest co-signers sign.
    pub fn approval_hash(&self) -> Hash {
        self.call.approval_hash(&self.chain_id)
    }

    /// Adds `key`'s approval. Returns the signer's index.
    pub fn sign(&mut self, key: &KeyPair) -> Result<u8, PartialCallError> {
        self.require_collecting("signing")?;
        let public = key.public_key();
        let index = self
            .policy
            .index_of(&public)
            .ok_or(PartialCallError::NotASigner(public))?;
        if self.approvals.contains_key(&index) {
            return Err(PartialCallError::AlreadySigned(index));
        }
        self.approvals
            .insert(index, key.sign(&self.approval_hash()));
        Ok(index)
    }

    /// Merges the approvals of `other`, a copy of the same call. Every incoming approval is
    /// verified; nothing changes if one is invalid. Returns how many approvals were new.
    pub fn combine(&mut self, other: &PartialCall) -> Result<usize, PartialCallError> {
        self.require_collecting("combining")?;
        if other.chain_id != self.chain_id {
            return Err(PartialCallError::Mismatch("chain id"));
        }
        if other.policy != self.policy {
            return Err(PartialCallError::Mismatch("multisig policy"));
        }
        if other.call != self.call {
            return Err(PartialCallError::Mismatch("call (nonce or action)"));
        }
        let hash = self.approval_hash();
        let mut added = 0;
        let mut merged = self.approvals.clone();
        for (index, signature) in &other.approvals {
            verify_one(&self.policy, &hash, *index, signature)?;
            if merged.insert(*index, *signature).is_none() {
                added += 1;
            }
        }
        self.approvals = merged;
        Ok(added)
    }

    /// The approvals in the order the chain wants them (by increasing signer index).
    pub fn approvals(&self) -> Vec<MultisigApproval> {
        self.approvals
            .iter()
            .map(|(signer, signature)| MultisigApproval {
                signer: *signer,
                signature: *signature,
            })
            .collect()
    }

    /// Wraps the approvals into a `MultisigExecute` transaction signed by `submitter` (who pays
    /// `fee` and whose account nonce is `nonce`). State becomes FINALIZED.
    pub fn finalize(
        &mut self,
        submitter: &KeyPair,
        nonce: u64,
        fee: Amount,
    ) -> Result<&Transaction, PartialCallError> {
        self.require_collecting("finalizing")?;
        let need = self.policy.threshold;
        if self.approvals.len() < usize::from(need) {
            return Err(PartialCallError::NotEnoughApprovals {
                have: self.approvals.len(),
                need,
            });
        }
        let approvals = self.approvals();
        self.policy
            .check_approvals(&self.chain_id, &self.call, &approvals)
            .map_err(PartialCallError::Approval)?;
        let tx = TxBody {
            chain_id: self.chain_id.clone(),
            sender: submitter.public_key(),
            nonce,
            fee,
            payload: TxPayload::MultisigExecute {
                call: self.call.clone(),
                approvals,
            },
        }
        .sign(submitter);
        self.outcome = Outcome::Finalized(tx);
        match &self.outcome {
            Outcome::Finalized(tx) => Ok(tx),
            _ => Err(PartialCallError::Corrupt(
                "finalize lost its transaction".into(),
            )),
        }
    }

    /// The finalized transaction, if any (also after broadcast).
    pub fn transaction(&self) -> Option<&Transaction> {
        match &self.outcome {
            Outcome::Finalized(tx) | Outcome::Broadcast(tx, _) => Some(tx),
            _ => None,
        }
    }

    /// Records a successful submission. Only a FINALIZED call can be broadcast.
    pub fn mark_broadcast(&mut self, hash: Hash) -> Result<(), PartialCallError> {
        match &self.outcome {
            Outcome::Finalized(tx) => {
                self.outcome = Outcome::Broadcast(tx.clone(), hash);
                Ok(())
            }
            _ => Err(PartialCallError::WrongState {
                state: self.state(),
                operation: "broadcast",
                needed: "a FINALIZED call",
            }),
        }
    }

    /// Records a refusal (by the node, or a failed receipt).
    pub fn mark_rejected(&mut self, reason: impl Into<String>) {
        self.outcome = Outcome::Rejected(reason.into());
    }

    /// Encodes as `rtcms1` + base64.
    pub fn to_text(&self) -> String {
        let encoded = Encoded {
            version: FORMAT_VERSION,
            chain_id: self.chain_id.clone(),
            policy: self.policy.clone(),
            call: self.call.clone(),
            approvals: self.approvals(),
            memo: self.memo.clone(),
            outcome: self.outcome.clone(),
        };
        format!(
            "{TEXT_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(codec::encode(&encoded))
        )
    }

    /// Decodes and checks text made by [`PartialCall::to_text`] (surrounding whitespace is
    /// ignored).
    pub fn from_text(text: &str) -> Result<Self, PartialCallError> {
        let text = text.trim();
        let body = text.strip_prefix(TEXT_PREFIX).ok_or_else(|| {
            PartialCallError::Encoding(format!("it does not start with {TEXT_PREFIX:?}"))
        })?;
        // base64 grows by 4/3: refuse oversized text before decoding it.
        if body.len() > MAX_PARTIAL_CALL_BYTES / 3 * 4 + 4 {
            return Err(PartialCallError::Encoding(format!(
                "longer than the {MAX_PARTIAL_CALL_BYTES}-byte limit"
            )));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| PartialCallError::Encoding(e.to_string()))?;
        if let Some(&version) = bytes.first() {
            if version != FORMAT_VERSION {
                return Err(PartialCallError::Version(version));
            }
        }
        let encoded: Encoded = codec::decode(&bytes, MAX_PARTIAL_CALL_BYTES)
            .map_err(|e| PartialCallError::Corrupt(e.to_string()))?;
        encoded
            .policy
            .validate()
            .map_err(|e| PartialCallError::Policy(e.to_string()))?;
        if encoded.policy.address() != encoded.call.account {
            return Err(PartialCallError::Policy(
                "the call's account is not the policy's address".into(),
            ));
        }
        if encoded.memo.len() > MAX_MEMO_BYTES {
            return Err(PartialCallError::MemoTooLong);
        }
        let hash = encoded.call.approval_hash(&encoded.chain_id);
        let mut approvals = BTreeMap::new();
        for a in &encoded.approvals {
            verify_one(&encoded.policy, &hash, a.signer, &a.signature)?;
            if approvals.insert(a.signer, a.signature).is_some() {
                return Err(PartialCallError::Approval(
                    MultisigError::UnorderedApprovals,
                ));
            }
        }
        if let Outcome::Finalized(tx) | Outcome::Broadcast(tx, _) = &encoded.outcome {
            let carries_this_call = matches!(
                &tx.body.payload,
                TxPayload::MultisigExecute { call, .. } if *call == encoded.call
            );
            if !carries_this_call || tx.body.chain_id != encoded.chain_id {
                return Err(PartialCallError::Corrupt(
                    "the finalized transaction does not carry this call".into(),
                ));
            }
            tx.verify_signature()
                .map_err(|e| PartialCallError::Corrupt(format!("finalized transaction: {e}")))?;
        }
        Ok(PartialCall {
            chain_id: encoded.chain_id,
            policy: encoded.policy,
            call: encoded.call,
            approvals,
            memo: encoded.memo,
            outcome: encoded.outcome,
        })
    }
}

fn verify_one(
    policy: &MultisigPolicy,
    hash: &Hash,
    index: u8,
    signature: &Signature,
) -> Result<(), PartialCallError> {
    policy
        .verify_approval(
            hash,
            &MultisigApproval {
                signer: index,
                signature: *signature,
            },
        )
        .map_err(PartialCallError::Approval)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustchain_primitives::Address;

    fn keys() -> Vec<KeyPair> {
        (1..=3u8)
            .map(|i| KeyPair::from_secret_bytes(&[i; 32]).unwrap())
            .collect()
    }

    fn partial() -> (Vec<KeyPair>, PartialCall) {
        let k = keys();
        let policy = MultisigPolicy::new(2, k.iter().map(KeyPair::public_key).collect()).unwrap();
        let call = PartialCall::new(
            ChainId::new("dev-ms").unwrap(),
            policy,
            4,
            MultisigAction::Transfer {
                to: Address([5; 20]),
                amount: Amount::from_base_units(123),
            },
            "rent".into(),
        )
        .unwrap();
        (k, call)
    }

    #[test]
    fn states_advance_with_signatures_in_any_order_and_combine() {
        let (k, created) = partial();
        assert_eq!(created.state(), CallState::Created);
        // Three offline copies; signer 3 and signer 1 sign separately.
        let mut a = PartialCall::from_text(&created.to_text()).unwrap();
        let mut b = PartialCall::from_text(&created.to_text()).unwrap();
        a.sign(&k[2]).unwrap();
        assert_eq!(a.state(), CallState::PartiallySigned);
        assert_eq!(
            a.sign(&k[2]),
            Err(PartialCallError::AlreadySigned(
                a.policy().index_of(&k[2].public_key()).unwrap()
            ))
        );
        b.sign(&k[0]).unwrap();
        let mut a = PartialCall::from_text(&a.to_text()).unwrap();
        assert_eq!(a.combine(&b).unwrap(), 1);
        assert_eq!(a.combine(&b).unwrap(), 0, "combining twice adds nothing");
        assert_eq!(a.state(), CallState::Signed);
        let submitter = KeyPair::from_secret_bytes(&[9; 32]).unwrap();
        let tx = a
            .finalize(&submitter, 7, Amount::from_base_units(1000))
            .unwrap()
            .clone();
        assert_eq!(a.state(), CallState::Finalized);
        assert!(tx.verify_signature().is_ok());
        let TxPayload::MultisigExecute { call, approvals } = &tx.body.payload else {
            panic!("not a multisig execute");
        };
        a.policy()
            .check_approvals(a.chain_id(), call, approvals)
            .unwrap();
        // The text round-trips in every state.
        let back = PartialCall::from_text(&a.to_text()).unwrap();
        assert_eq!(back, a);
        assert!(a.clone().sign(&k[1]).is_err(), "no signing after finalize");
        a.mark_broadcast(tx.hash()).unwrap();
        assert_eq!(a.state(), CallState::Broadcast);
        assert_eq!(PartialCall::from_text(&a.to_text()).unwrap(), a);
        a.mark_rejected("failed in block 9: insufficient balance");
        assert_eq!(a.state(), CallState::Rejected);
    }

    #[test]
    fn refuses_strangers_mismatches_and_early_finalize() {
        let (k, mut call) = partial();
        let stranger = KeyPair::from_secret_bytes(&[77; 32]).unwrap();
        assert_eq!(
            call.sign(&stranger),
            Err(PartialCallError::NotASigner(stranger.public_key()))
        );
        call.sign(&k[0]).unwrap();
        let submitter = KeyPair::from_secret_bytes(&[9; 32]).unwrap();
        assert!(matches!(
            call.finalize(&submitter, 0, Amount::from_base_units(1000)),
            Err(PartialCallError::NotEnoughApprovals { have: 1, need: 2 })
        ));
        let (_, mut other) = partial();
        other.call.nonce += 1;
        assert!(matches!(
            call.combine(&other),
            Err(PartialCallError::Mismatch(_))
        ));
    }

    #[test]
    fn decoding_rejects_garbage_forged_approvals_and_other_versions() {
        let (k, mut call) = partial();
        call.sign(&k[1]).unwrap();
        let text = call.to_text();
        assert!(matches!(
            PartialCall::from_text("psbt..."),
            Err(PartialCallError::Encoding(_))
        ));
        assert!(matches!(
            PartialCall::from_text(&text[..text.len() - 8]),
            Err(PartialCallError::Encoding(_) | PartialCallError::Corrupt(_))
        ));
        // Flip a byte of the encoding: it must not decode into a call with a forged approval.
        let raw = base64::engine::general_purpose::STANDARD
            .decode(text.trim_start_matches(TEXT_PREFIX))
            .unwrap();
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0x01;
            let bad_text = format!(
                "{TEXT_PREFIX}{}",
                base64::engine::general_purpose::STANDARD.encode(&bad)
            );
            if let Ok(decoded) = PartialCall::from_text(&bad_text) {
                // Only the memo or an unsigned field may change; approvals still verify.
                let approvals = decoded.approvals();
                for a in approvals {
                    let key = decoded.policy().signers[usize::from(a.signer)];
                    assert!(key.verify(&decoded.approval_hash(), &a.signature).is_ok());
                }
            }
        }
        let mut newer = raw.clone();
        newer[0] = 2;
        let newer_text = format!(
            "{TEXT_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(&newer)
        );
        assert_eq!(
            PartialCall::from_text(&newer_text),
            Err(PartialCallError::Version(2))
        );
        let huge = format!("{TEXT_PREFIX}{}", "A".repeat(200_000));
        assert!(matches!(
            PartialCall::from_text(&huge),
            Err(PartialCallError::Encoding(_))
        ));
    }
}
