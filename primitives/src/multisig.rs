//! m-of-n multisig accounts.
//!
//! A multisig account is an ordinary account (balance and nonce) whose address is derived from
//! its [`MultisigPolicy`] instead of one public key:
//! `address = tagged_hash("RustChain/multisig-account", borsh(policy))[..20]`. Nobody holds a key
//! for that address, so it can only spend through a [`MultisigCall`] approved by at least
//! `threshold` of its signers.
//!
//! **Life of a spend.**
//! 1. Someone registers the policy on chain with a `MultisigCreate` transaction (RTC can be sent
//!    to the address before that; it just cannot leave until the policy is known).
//! 2. A [`MultisigCall`] names the account, the account's next nonce and an action. Each co-signer
//!    signs [`MultisigCall::approval_hash`] (which commits to the chain id) offline, in any order.
//! 3. Anyone holding `threshold` approvals wraps them in a `MultisigExecute` transaction signed by
//!    their own key; that *submitter* pays the transaction fee (a relayer model: the co-signers
//!    need no online key). The call's nonce is the multisig account's own nonce, so an approved
//!    call executes at most once.
//!
//! **Validity** ([`MultisigPolicy::check_approvals`]): approvals are listed by strictly increasing
//! signer index (so no signer counts twice), every index names a signer of the policy, every
//! signature verifies over the call's approval hash, and there are at least `threshold` of them.
//! A policy is canonical: 1 ≤ threshold ≤ n ≤ [`MAX_MULTISIG_SIGNERS`], keys sorted ascending
//! and distinct — so one set of signers and threshold has exactly one address.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::address::Address;
use crate::amount::Amount;
use crate::bounty::{BountyAction, BountyId, ClaimId};
use crate::chain::ChainId;
use crate::codec;
use crate::hash::{tagged_hash, Hash, Tag, TaggedHasher};
use crate::keys::{PublicKey, Signature};

/// Most signers a multisig policy may have.
pub const MAX_MULTISIG_SIGNERS: usize = 16;

/// Why a policy or a set of approvals is invalid.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, thiserror::Error)]
pub enum MultisigError {
    /// The threshold is 0 or larger than the number of signers.
    #[error(
        "threshold {threshold} is invalid for {signers} signers (need 1 <= threshold <= signers)"
    )]
    BadThreshold {
        /// the threshold
        threshold: u8,
        /// number of signers
        signers: u8,
    },
    /// More than [`MAX_MULTISIG_SIGNERS`] signers.
    #[error("{0} signers is more than the maximum of 16")]
    TooManySigners(usize),
    /// The same key appears twice.
    #[error("signer key {0} appears more than once")]
    DuplicateSigner(PublicKey),
    /// Keys are not in ascending order (only for encoded policies; [`MultisigPolicy::new`] sorts).
    #[error("signer keys are not in canonical (ascending) order")]
    NotCanonical,
    /// Fewer valid approvals than the threshold.
    #[error("{have} approvals, the policy needs {need}")]
    NotEnoughApprovals {
        /// approvals given
        have: u8,
        /// the threshold
        need: u8,
    },
    /// An approval names a signer index the policy does not have.
    #[error("approval names signer {index}, the policy has {signers} signers")]
    UnknownSigner {
        /// the index
        index: u8,
        /// number of signers
        signers: u8,
    },
    /// Approvals are not in strictly increasing signer order (or one signer appears twice).
    #[error("approvals must be listed once per signer, by increasing signer index")]
    UnorderedApprovals,
    /// A signature does not verify.
    #[error("the approval of signer {index} has an invalid signature")]
    BadSignature {
        /// the signer index
        index: u8,
    },
}

/// Who controls a multisig account: `threshold` of `signers`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct MultisigPolicy {
    /// Approvals needed.
    pub threshold: u8,
    /// Signer keys, ascending and distinct.
    pub signers: Vec<PublicKey>,
}

impl MultisigPolicy {
    /// A canonical policy: the keys are sorted; duplicates, an empty set or a bad threshold are
    /// errors.
    pub fn new(threshold: u8, mut signers: Vec<PublicKey>) -> Result<Self, MultisigError> {
        signers.sort_unstable();
        let policy = MultisigPolicy { threshold, signers };
        policy.validate()?;
        Ok(policy)
    }

    /// Checks that the policy is canonical.
    pub fn validate(&self) -> Result<(), MultisigError> {
        let n = self.signers.len();
        if n > MAX_MULTISIG_SIGNERS {
            return Err(MultisigError::TooManySigners(n));
        }
        let n = n as u8; // at most 16
        if self.threshold == 0 || self.threshold > n {
            return Err(MultisigError::BadThreshold {
                threshold: self.threshold,
                signers: n,
            });
        }
        for pair in self.signers.windows(2) {
            if pair[0] == pair[1] {
                return Err(MultisigError::DuplicateSigner(pair[0]));
            }
            if pair[0] > pair[1] {
                return Err(MultisigError::NotCanonical);
            }
        }
        Ok(())
    }

    /// The account's address.
    pub fn address(&self) -> Address {
        let hash = tagged_hash(Tag::MultisigAccount, &codec::encode(self));
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash.0[..20]);
        Address(out)
    }

    /// The position of `key` among the signers.
    pub fn index_of(&self, key: &PublicKey) -> Option<u8> {
        self.signers
            .iter()
            .position(|k| k == key)
            .and_then(|i| u8::try_from(i).ok())
    }

    /// Checks `approvals` of `call` on `chain_id` against this policy (see the module docs).
    pub fn check_approvals(
        &self,
        chain_id: &ChainId,
        call: &MultisigCall,
        approvals: &[MultisigApproval],
    ) -> Result<(), MultisigError> {
        let signers = self.signers.len() as u8; // at most 16 for a valid policy
        let mut previous: Option<u8> = None;
        for approval in approvals {
            if previous.is_some_and(|p| approval.signer <= p) {
                return Err(MultisigError::UnorderedApprovals);
            }
            previous = Some(approval.signer);
            if usize::from(approval.signer) >= self.signers.len() {
                return Err(MultisigError::UnknownSigner {
                    index: approval.signer,
                    signers,
                });
            }
        }
        let have = u8::try_from(approvals.len()).unwrap_or(u8::MAX);
        if have < self.threshold {
            return Err(MultisigError::NotEnoughApprovals {
                have,
                need: self.threshold,
            });
        }
        let hash = call.approval_hash(chain_id);
        for approval in approvals {
            self.verify_approval(&hash, approval)?;
        }
        Ok(())
    }

    /// Checks one approval against `hash` (a call's [`MultisigCall::approval_hash`]): the signer
    /// index names a signer of this policy and the signature is theirs. Counting and ordering are
    /// [`MultisigPolicy::check_approvals`]'s job.
    pub fn verify_approval(
        &self,
        hash: &Hash,
        approval: &MultisigApproval,
    ) -> Result<(), MultisigError> {
        let key =
            self.signers
                .get(usize::from(approval.signer))
                .ok_or(MultisigError::UnknownSigner {
                    index: approval.signer,
                    signers: u8::try_from(self.signers.len()).unwrap_or(u8::MAX),
                })?;
        key.verify(hash, &approval.signature)
            .map_err(|_| MultisigError::BadSignature {
                index: approval.signer,
            })
    }
}

/// What a multisig account can be asked to do. The bounty actions run as the multisig
/// account with exactly the rules of the matching bounty transaction (see [`crate::bounty`]):
/// the account approves or rejects claims of bounties whose approvers it is, or sponsors
/// bounties from its balance.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum MultisigAction {
    /// Move `amount` from the multisig account to `to`.
    Transfer {
        /// recipient
        to: Address,
        /// amount
        amount: Amount,
    },
    /// Approve a submitted claim of a bounty whose approvers are this account (pays it).
    BountyApprove {
        /// the claim
        claim: ClaimId,
    },
    /// Reject a claim of a bounty whose approvers are this account.
    BountyReject {
        /// the claim
        claim: ClaimId,
    },
    /// Post a bounty sponsored by this account.
    BountyPost {
        /// title
        title: String,
        /// reference URL of the issue
        url: String,
        /// amount locked
        amount: Amount,
        /// claims and submissions are accepted in blocks below this height
        deadline: u64,
        /// who approves submissions
        approvers: Address,
    },
    /// Top up a bounty this account sponsors.
    BountyFund {
        /// the bounty
        bounty: BountyId,
        /// amount added
        amount: Amount,
    },
    /// Cancel a bounty (this account as the sender; see [`crate::bounty`] for who may).
    BountyCancel {
        /// the bounty
        bounty: BountyId,
    },
}

/// What executing a [`MultisigAction`] does, as the multisig account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultisigEffect {
    /// Move `amount` from the account to `to`.
    Transfer {
        /// recipient
        to: Address,
        /// amount
        amount: Amount,
    },
    /// Perform a bounty operation as the account.
    Bounty(BountyAction),
}

impl MultisigAction {
    /// What the action does.
    pub fn effect(&self) -> MultisigEffect {
        MultisigEffect::Bounty(match self {
            MultisigAction::Transfer { to, amount } => {
                return MultisigEffect::Transfer {
                    to: *to,
                    amount: *amount,
                }
            }
            MultisigAction::BountyApprove { claim } => BountyAction::Approve { claim: *claim },
            MultisigAction::BountyReject { claim } => BountyAction::Reject { claim: *claim },
            MultisigAction::BountyPost {
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
            MultisigAction::BountyFund { bounty, amount } => BountyAction::Fund {
                bounty: *bounty,
                amount: *amount,
            },
            MultisigAction::BountyCancel { bounty } => BountyAction::Cancel { bounty: *bounty },
        })
    }

    /// The bounty operation of a bounty action, if it is one.
    pub fn bounty_action(&self) -> Option<BountyAction> {
        match self.effect() {
            MultisigEffect::Bounty(action) => Some(action),
            MultisigEffect::Transfer { .. } => None,
        }
    }
}

/// One call of a multisig account, as its co-signers approve it.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct MultisigCall {
    /// The multisig account.
    pub account: Address,
    /// Must equal the multisig account's nonce when the call executes.
    pub nonce: u64,
    /// What to do.
    pub action: MultisigAction,
}

impl MultisigCall {
    /// The digest each co-signer signs: `tagged_hash("RustChain/multisig-approval",
    /// borsh(chain_id) || borsh(call))`.
    pub fn approval_hash(&self, chain_id: &ChainId) -> Hash {
        let mut h = TaggedHasher::new(Tag::MultisigApproval);
        h.update(&codec::encode(chain_id))
            .update(&codec::encode(self));
        h.finish()
    }
}

/// One co-signer's approval of a call.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct MultisigApproval {
    /// The signer's index in the policy's (sorted) key list.
    pub signer: u8,
    /// BIP-340 signature over [`MultisigCall::approval_hash`].
    pub signature: Signature,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;

    fn keys(n: u8) -> Vec<KeyPair> {
        (1..=n)
            .map(|i| KeyPair::from_secret_bytes(&[i; 32]).unwrap())
            .collect()
    }

    fn call() -> MultisigCall {
        MultisigCall {
            account: Address([7; 20]),
            nonce: 0,
            action: MultisigAction::Transfer {
                to: Address([9; 20]),
                amount: Amount::from_base_units(5),
            },
        }
    }

    fn approve(policy: &MultisigPolicy, key: &KeyPair, chain: &ChainId) -> MultisigApproval {
        MultisigApproval {
            signer: policy.index_of(&key.public_key()).unwrap(),
            signature: key.sign(&call().approval_hash(chain)),
        }
    }

    #[test]
    fn policy_is_canonical_and_its_address_ignores_key_order() {
        let k = keys(3);
        let pubs: Vec<_> = k.iter().map(KeyPair::public_key).collect();
        let a = MultisigPolicy::new(2, pubs.clone()).unwrap();
        let b = MultisigPolicy::new(2, pubs.iter().rev().copied().collect()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.address(), b.address());
        assert_ne!(
            a.address(),
            MultisigPolicy::new(3, pubs.clone()).unwrap().address()
        );
        assert_ne!(a.address(), Address::from_public_key(&pubs[0]));
        assert!(matches!(
            MultisigPolicy::new(0, pubs.clone()),
            Err(MultisigError::BadThreshold { .. })
        ));
        assert!(matches!(
            MultisigPolicy::new(4, pubs.clone()),
            Err(MultisigError::BadThreshold { .. })
        ));
        assert!(matches!(
            MultisigPolicy::new(1, vec![pubs[0], pubs[0]]),
            Err(MultisigError::DuplicateSigner(_))
        ));
        assert!(matches!(
            MultisigPolicy::new(1, vec![]),
            Err(MultisigError::BadThreshold { .. })
        ));
        let unsorted = MultisigPolicy {
            threshold: 1,
            signers: {
                let mut s = a.signers.clone();
                s.reverse();
                s
            },
        };
        assert_eq!(unsorted.validate(), Err(MultisigError::NotCanonical));
        let many: Vec<_> = (1..=17u8)
            .map(|i| KeyPair::from_secret_bytes(&[i; 32]).unwrap().public_key())
            .collect();
        assert_eq!(
            MultisigPolicy::new(2, many),
            Err(MultisigError::TooManySigners(17))
        );
    }

    #[test]
    fn approvals_need_threshold_distinct_ordered_valid_signers() {
        let chain = ChainId::new("dev-ms").unwrap();
        let k = keys(3);
        let policy = MultisigPolicy::new(2, k.iter().map(KeyPair::public_key).collect()).unwrap();
        let mut approvals: Vec<_> = k.iter().map(|key| approve(&policy, key, &chain)).collect();
        approvals.sort_by_key(|a| a.signer);
        let c = call();
        // any two of three, in index order
        for (i, j) in [(0, 1), (0, 2), (1, 2)] {
            let pair = [approvals[i].clone(), approvals[j].clone()];
            assert_eq!(policy.check_approvals(&chain, &c, &pair), Ok(()));
        }
        assert_eq!(policy.check_approvals(&chain, &c, &approvals), Ok(()));
        // one is not enough, the same signer twice is not two
        assert_eq!(
            policy.check_approvals(&chain, &c, &approvals[..1]),
            Err(MultisigError::NotEnoughApprovals { have: 1, need: 2 })
        );
        let twice = [approvals[0].clone(), approvals[0].clone()];
        assert_eq!(
            policy.check_approvals(&chain, &c, &twice),
            Err(MultisigError::UnorderedApprovals)
        );
        let reversed = [approvals[1].clone(), approvals[0].clone()];
        assert_eq!(
            policy.check_approvals(&chain, &c, &reversed),
            Err(MultisigError::UnorderedApprovals)
        );
        let mut unknown = approvals[1].clone();
        unknown.signer = 3;
        assert!(matches!(
            policy.check_approvals(&chain, &c, &[approvals[0].clone(), unknown]),
            Err(MultisigError::UnknownSigner { index: 3, .. })
        ));
        // a signature by the wrong signer, for another chain, or for another call fails
        let mut swapped = approvals[1].clone();
        swapped.signature = approvals[2].signature;
        assert_eq!(
            policy.check_approvals(&chain, &c, &[approvals[0].clone(), swapped]),
            Err(MultisigError::BadSignature { index: 1 })
        );
        let other = ChainId::new("dev-other").unwrap();
        assert!(policy.check_approvals(&other, &c, &approvals[..2]).is_err());
        let mut changed = c.clone();
        changed.nonce = 1;
        assert!(policy
            .check_approvals(&chain, &changed, &approvals[..2])
            .is_err());
    }
}
