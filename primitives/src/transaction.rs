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
}

impl TxPayload {
    /// Checks what can be checked without state: a canonical policy, at most
    /// [`crate::MAX_MULTISIG_SIGNERS`] approvals.
    pub fn check_stateless(&self) -> Result<(), MultisigError> {
        match self {
            TxPayload::Transfer { .. } => Ok(()),
            TxPayload::MultisigCreate { policy } => policy.validate(),
            TxPayload::MultisigExecute { approvals, .. } => {
                if approvals.len() > crate::MAX_MULTISIG_SIGNERS {
                    Err(MultisigError::TooManySigners(approvals.len()))
                } else {
                    Ok(())
                }
            }
        }
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

    /// The total the sender needs: fee plus transferred amount. `None` on overflow.
    pub fn max_cost(&self) -> Option<Amount> {
        match &self.body.payload {
            TxPayload::Transfer { amount, .. } => self.body.fee.checked_add(*amount),
            // These spend nothing of the sender's beyond the fee.
            TxPayload::MultisigCreate { .. } | TxPayload::MultisigExecute { .. } => {
                Some(self.body.fee)
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
}
