//! Signed transactions.
//!
//! A [`Transaction`] is a [`TxBody`] plus the sender's BIP-340 signature over
//! `tagged_hash("RustChain/tx-signature", borsh(body))`. The body carries the chain id, so a
//! transaction signed for one chain is invalid on every other. The transaction id is
//! `tagged_hash("RustChain/txid", borsh(transaction))`.
//!
//! The payload is an enum so later kinds (bounties, multisig, evidence) are new variants; borsh
//! encodes the variant index, so existing encodings never change.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::address::Address;
use crate::amount::Amount;
use crate::bounty::{BountyAction, BountyError, BountyId, BountyParams, ClaimId};
use crate::chain::ChainId;
use crate::codec::{self, DecodeError, MAX_TX_BYTES};
use crate::hash::{tagged_hash, Hash, Tag};
use crate::keys::{KeyError, KeyPair, PublicKey, Signature};
use crate::multisig::{MultisigApproval, MultisigCall, MultisigError, MultisigPolicy};

/// What a transaction does.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum TxPayload {
    /// Move `amount` from the sender to `to`.
    Transfer {
        /// recipient
        to: Address,
        /// amount moved (the fee is paid on top)
        amount: Amount,
    },
    /// Registers the multisig account of `policy` (at `policy.address()`); see
    /// [`crate::multisig`]. The sender pays the fee; anyone may register any policy.
    MultisigCreate {
        /// threshold and signers (canonical)
        policy: MultisigPolicy,
    },
    /// Executes `call` of a multisig account, approved by its co-signers. The sender (any
    /// account) submits it and pays the fee; the call spends from the multisig account.
    MultisigExecute {
        /// what the co-signers approved
        call: MultisigCall,
        /// their approvals, by increasing signer index
        approvals: Vec<MultisigApproval>,
    },
    /// Posts a bounty, locking `amount` of the sender's (the sponsor's) RTC in escrow; the chain
    /// assigns the id (see [`crate::bounty`]).
    BountyPost {
        /// title (at most [`crate::bounty::MAX_TITLE_BYTES`] bytes)
        title: String,
        /// reference URL of the issue (at most [`crate::bounty::MAX_URL_BYTES`] bytes)
        url: String,
        /// amount locked
        amount: Amount,
        /// claims and submissions are accepted in blocks below this height
        deadline: u64,
        /// who approves submissions: a key account or a multisig account
        approvers: Address,
    },
    /// Adds `amount` of the sponsor's RTC to an open bounty.
    BountyFund {
        /// the bounty
        bounty: BountyId,
        /// amount added
        amount: Amount,
    },
    /// Claims a bounty, locking the claim bond; the reward will go to `claimant`.
    BountyClaim {
        /// the bounty
        bounty: BountyId,
        /// who receives the reward
        claimant: Address,
    },
    /// Submits a pull request for the sender's claim.
    BountySubmit {
        /// the claim
        claim: ClaimId,
        /// pull request reference (at most [`crate::bounty::MAX_PULL_REQUEST_BYTES`] bytes)
        pull_request: String,
    },
    /// Approves a submitted claim and pays the bounty (sent by the bounty's approvers).
    BountyApprove {
        /// the claim
        claim: ClaimId,
    },
    /// Rejects a claim, forfeiting its bond to the sponsor (sent by the bounty's approvers).
    BountyReject {
        /// the claim
        claim: ClaimId,
    },
    /// Cancels a bounty and refunds it (by the sponsor before any claim, or after the
    /// deadline; see [`crate::bounty`]).
    BountyCancel {
        /// the bounty
        bounty: BountyId,
    },
}

/// Why a payload is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// A multisig payload breaks a rule.
    #[error(transparent)]
    Multisig(#[from] MultisigError),
    /// A bounty payload breaks a rule.
    #[error(transparent)]
    Bounty(#[from] BountyError),
}

impl TxPayload {
    /// Checks what can be checked without state: a canonical policy, at most
    /// [`crate::MAX_MULTISIG_SIGNERS`] approvals, bounded and well-formed bounty text, non-zero
    /// bounty amounts (also inside a multisig call).
    pub fn check_stateless(&self) -> Result<(), PayloadError> {
        match self {
            TxPayload::Transfer { .. } => Ok(()),
            TxPayload::MultisigCreate { policy } => Ok(policy.validate()?),
            TxPayload::MultisigExecute { call, approvals } => {
                if approvals.len() > crate::MAX_MULTISIG_SIGNERS {
                    return Err(MultisigError::TooManySigners(approvals.len()).into());
                }
                if let Some(action) = call.action.bounty_action() {
                    action.check_stateless()?;
                }
                Ok(())
            }
            _ => match self.bounty_action() {
                Some(action) => Ok(action.check_stateless()?),
                None => Ok(()),
            },
        }
    }

    /// The bounty operation of a bounty payload (performed by the sender), if it is one.
    pub fn bounty_action(&self) -> Option<BountyAction> {
        Some(match self {
            TxPayload::Transfer { .. }
            | TxPayload::MultisigCreate { .. }
            | TxPayload::MultisigExecute { .. } => return None,
            TxPayload::BountyPost {
                title,
                url,
                amount,
                deadline,
                approvers,
            } => BountyAction::Post {
                title: title.clone(),
                url: url.clone(),
                amount: *amount,
                deadline: *deadline,
                approvers: *approvers,
            },
            TxPayload::BountyFund { bounty, amount } => BountyAction::Fund {
                bounty: *bounty,
                amount: *amount,
            },
            TxPayload::BountyClaim { bounty, claimant } => BountyAction::Claim {
                bounty: *bounty,
                claimant: *claimant,
            },
            TxPayload::BountySubmit {
                claim,
                pull_request,
            } => BountyAction::Submit {
                claim: *claim,
                pull_request: pull_request.clone(),
            },
            TxPayload::BountyApprove { claim } => BountyAction::Approve { claim: *claim },
            TxPayload::BountyReject { claim } => BountyAction::Reject { claim: *claim },
            TxPayload::BountyCancel { bounty } => BountyAction::Cancel { bounty: *bounty },
        })
    }
}

/// The signed part of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TxBody {
    /// Chain this transaction is valid on.
    pub chain_id: ChainId,
    /// The sender's x-only public key; the sender's account is its address.
    pub sender: PublicKey,
    /// Must equal the sender account's nonce when the transaction is included.
    pub nonce: u64,
    /// Paid to the block proposer whether or not the payload succeeds.
    pub fee: Amount,
    /// The operation.
    pub payload: TxPayload,
}

impl TxBody {
    /// The digest the sender signs.
    pub fn signing_hash(&self) -> Hash {
        tagged_hash(Tag::TxSignature, &codec::encode(self))
    }

    /// Signs the body.
    pub fn sign(self, key: &KeyPair) -> Transaction {
        let signature = key.sign(&self.signing_hash());
        Transaction {
            body: self,
            signature,
        }
    }

    /// The sender's address.
    pub fn sender_address(&self) -> Address {
        Address::from_public_key(&self.sender)
    }
}

/// A signed transaction.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Transaction {
    /// What was signed.
    pub body: TxBody,
    /// BIP-340 signature by `body.sender`.
    pub signature: Signature,
}

impl Transaction {
    /// The transaction id.
    pub fn hash(&self) -> Hash {
        tagged_hash(Tag::TxId, &codec::encode(self))
    }

    /// Checks the signature against the sender key.
    pub fn verify_signature(&self) -> Result<(), KeyError> {
        self.body
            .sender
            .verify(&self.body.signing_hash(), &self.signature)
    }

    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes untrusted bytes (at most [`MAX_TX_BYTES`], no trailing bytes).
    pub fn decode(bytes: &[u8]) -> Result<Transaction, DecodeError> {
        codec::decode(bytes, MAX_TX_BYTES)
    }

    /// The total the sender needs: fee plus transferred amount, or plus what a bounty payload
    /// locks in escrow (the amount posted or funded, or the claim bond of this chain's
    /// [`BountyParams`]). `None` on overflow.
    pub fn max_cost(&self) -> Option<Amount> {
        match &self.body.payload {
            TxPayload::Transfer { amount, .. } => self.body.fee.checked_add(*amount),
            // These spend nothing of the sender's beyond the fee.
            TxPayload::MultisigCreate { .. } | TxPayload::MultisigExecute { .. } => {
                Some(self.body.fee)
            }
            payload => {
                let params = BountyParams::for_network(self.body.chain_id.kind());
                let deposit = payload
                    .bounty_action()
                    .map_or(Amount::ZERO, |a| a.max_deposit(&params));
                self.body.fee.checked_add(deposit)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(chain: &str) -> (KeyPair, Transaction) {
        let key = KeyPair::from_secret_bytes(&[5u8; 32]).unwrap();
        let body = TxBody {
            chain_id: ChainId::new(chain).unwrap(),
            sender: key.public_key(),
            nonce: 3,
            fee: Amount::from_base_units(1000),
            payload: TxPayload::Transfer {
                to: Address([9u8; 20]),
                amount: Amount::from_base_units(5),
            },
        };
        let tx = body.sign(&key);
        (key, tx)
    }

    #[test]
    fn signature_commits_to_every_field() {
        let (_, tx) = sample("dev-x");
        assert!(tx.verify_signature().is_ok());
        let mut changed = tx.clone();
        changed.body.nonce += 1;
        assert!(changed.verify_signature().is_err());
        let mut changed = tx.clone();
        changed.body.chain_id = ChainId::new("dev-y").unwrap();
        assert!(
            changed.verify_signature().is_err(),
            "chain id must be signed"
        );
        let mut changed = tx.clone();
        changed.body.fee = Amount::from_base_units(999);
        assert!(changed.verify_signature().is_err());
    }

    #[test]
    fn encode_decode_round_trip_and_bounds() {
        let (_, tx) = sample("dev-x");
        let bytes = tx.encode();
        assert_eq!(Transaction::decode(&bytes).unwrap(), tx);
        assert!(Transaction::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut trailing = bytes.clone();
        trailing.push(1);
        assert_eq!(
            Transaction::decode(&trailing),
            Err(DecodeError::TrailingBytes(1))
        );
        let huge = vec![0u8; MAX_TX_BYTES + 1];
        assert!(matches!(
            Transaction::decode(&huge),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn unknown_payload_variant_is_rejected() {
        let (_, tx) = sample("dev-x");
        let mut bytes = tx.encode();
        // The payload tag follows chain id (4 + 5), sender (32), nonce (8), fee (8).
        let tag_at = 4 + 5 + 32 + 8 + 8;
        assert_eq!(bytes[tag_at], 0);
        bytes[tag_at] = 200;
        assert!(matches!(
            Transaction::decode(&bytes),
            Err(DecodeError::Malformed(_))
        ));
    }

    fn body(payload: TxPayload) -> TxBody {
        TxBody {
            chain_id: ChainId::new("dev-x").unwrap(),
            sender: KeyPair::from_secret_bytes(&[5u8; 32]).unwrap().public_key(),
            nonce: 0,
            fee: Amount::from_base_units(1000),
            payload,
        }
    }

    #[test]
    fn bounty_payloads_are_checked_and_cost_what_they_lock() {
        let key = KeyPair::from_secret_bytes(&[5u8; 32]).unwrap();
        let post = |title: &str| TxPayload::BountyPost {
            title: title.into(),
            url: "https://example.org/issues/1".into(),
            amount: Amount::from_base_units(70),
            deadline: 100,
            approvers: Address([1; 20]),
        };
        assert_eq!(post("ok").check_stateless(), Ok(()));
        let long = "x".repeat(crate::bounty::MAX_TITLE_BYTES + 1);
        assert!(matches!(
            post(&long).check_stateless(),
            Err(PayloadError::Bounty(BountyError::Title(_)))
        ));
        let tx = body(post("ok")).sign(&key);
        assert_eq!(tx.max_cost(), Some(Amount::from_base_units(1070)));
        let claim = body(TxPayload::BountyClaim {
            bounty: 1,
            claimant: Address([2; 20]),
        })
        .sign(&key);
        let bond = BountyParams::DEV.claim_bond.base_units();
        assert_eq!(claim.max_cost(), Some(Amount::from_base_units(1000 + bond)));
        let approve = body(TxPayload::BountyApprove { claim: 1 }).sign(&key);
        assert_eq!(approve.max_cost(), Some(Amount::from_base_units(1000)));
        let overflow = body(TxPayload::BountyFund {
            bounty: 1,
            amount: Amount::from_base_units(u64::MAX),
        })
        .sign(&key);
        assert_eq!(overflow.max_cost(), None);
        // A bounty action inside a multisig call is checked too.
        let call = crate::multisig::MultisigCall {
            account: Address([3; 20]),
            nonce: 0,
            action: crate::multisig::MultisigAction::BountyPost {
                title: long,
                url: "u".into(),
                amount: Amount::from_base_units(1),
                deadline: 5,
                approvers: Address([1; 20]),
            },
        };
        let execute = TxPayload::MultisigExecute {
            call,
            approvals: vec![],
        };
        assert!(matches!(
            execute.check_stateless(),
            Err(PayloadError::Bounty(BountyError::Title(_)))
        ));
        // Encodings round-trip; a pull request reference beyond the bound is refused.
        let submit = body(TxPayload::BountySubmit {
            claim: 9,
            pull_request: "p".repeat(crate::bounty::MAX_PULL_REQUEST_BYTES + 1),
        })
        .sign(&key);
        assert_eq!(Transaction::decode(&submit.encode()).unwrap(), submit);
        assert!(submit.body.payload.check_stateless().is_err());
    }
}
