//! The wallet a node embeds: one unlocked keystore behind the node's `wallet_*` RPC methods
//! (and, later, the bounty webhook's automatic approvals).
//!
//! The node opens the keystore once at start-up with a password file; the seed then stays in
//! memory (zeroized on drop) for as long as the node runs. Nothing here returns or logs a
//! secret: callers get addresses, public keys, signed transactions and signed multisig
//! approvals, never a private key, the seed or the mnemonic.
//!
//! Every spend goes through the wallet's [spending policy](crate::policy), exactly as in the
//! `rustchain-wallet` CLI, and is recorded in the keystore before the signature is released, so
//! the daily limit holds across restarts and across the CLI and the node. A spend that the node
//! then refuses still counts against the daily limit: the policy errs on the side of signing
//! less.

use std::path::Path;

use rustchain_primitives::{Address, Amount, ChainId, KeyPair, MultisigPolicy};

use crate::accounts::{DerivedAddress, HdWallet};
use crate::keystore::{Keystore, KeystoreError, Metadata, SecretString, UnlockedKeystore};
use crate::multisig::{PartialCall, PartialCallError};
use crate::policy::{multisig_spend, PolicyState, PolicyStateError, PolicyViolation};

/// How many addresses of the account are searched for a key (the BIP-44 gap limit).
pub const KEY_SEARCH_LIMIT: u32 = crate::accounts::GAP_LIMIT;

/// Why an embedded-wallet operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// Opening or unlocking the keystore failed.
    #[error("{0}")]
    Keystore(#[from] KeystoreError),
    /// The spending policy refuses it (the message names the rule).
    #[error("refused by the wallet's spending policy: {0}")]
    Policy(#[from] PolicyViolation),
    /// The stored policy could not be read or saved.
    #[error("{0}")]
    PolicyState(#[from] PolicyStateError),
    /// Key derivation failed.
    #[error("{0}")]
    Key(#[from] rustchain_primitives::hd::HdError),
    /// None of the wallet's keys is a signer of the multisig account.
    #[error(
        "none of this wallet's first {searched} keys is a signer of multisig account {account}"
    )]
    NotASigner {
        /// the account, as bech32m
        account: String,
        /// how many keys were searched
        searched: u32,
    },
    /// The multisig call is for another chain.
    #[error("the multisig call is for chain {call}, this node runs {node}")]
    WrongChain {
        /// the call's chain
        call: String,
        /// the node's chain
        node: String,
    },
    /// The partially signed call cannot be signed.
    #[error("{0}")]
    Call(#[from] PartialCallError),
}

/// An unlocked wallet inside a node.
pub struct EmbeddedWallet {
    keystore: UnlockedKeystore,
    hd: HdWallet,
    chain_id: ChainId,
}

impl std::fmt::Debug for EmbeddedWallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedWallet")
            .field("name", &self.keystore.metadata().name)
            .field("account", &self.hd.account())
            .finish_non_exhaustive()
    }
}

impl EmbeddedWallet {
    /// Opens and unlocks the keystore at `path` (BIP-44 account `account`) for the chain
    /// `chain_id`.
    pub fn open(
        path: &Path,
        password: &SecretString,
        bip39_passphrase: &SecretString,
        account: u32,
        chain_id: ChainId,
    ) -> Result<Self, EmbeddedError> {
        let keystore = Keystore::open(path)?.unlock(password)?;
        Self::from_keystore(keystore, bip39_passphrase, account, chain_id)
    }

    /// Wraps an already unlocked keystore.
    pub fn from_keystore(
        keystore: UnlockedKeystore,
        bip39_passphrase: &SecretString,
        account: u32,
        chain_id: ChainId,
    ) -> Result<Self, EmbeddedError> {
        let seed = keystore.seed(bip39_passphrase)?;
        // The stored policy must parse now, not at the first spend.
        PolicyState::load(&keystore)?;
        Ok(EmbeddedWallet {
            keystore,
            hd: HdWallet::from_seed(seed, account),
            chain_id,
        })
    }

    /// The keystore's clear metadata (name, chain kind, creation time).
    pub fn metadata(&self) -> &Metadata {
        self.keystore.metadata()
    }

    /// The BIP-44 account in use.
    pub fn account(&self) -> u32 {
        self.hd.account()
    }

    /// The chain the wallet signs for.
    pub fn chain_id(&self) -> &ChainId {
        &self.chain_id
    }

    /// Addresses `0..count` of the account.
    pub fn addresses(&self, count: u32) -> Result<Vec<DerivedAddress>, EmbeddedError> {
        Ok(self.hd.addresses(count)?)
    }

    /// The policy and the recent spends.
    pub fn policy(&self) -> Result<PolicyState, EmbeddedError> {
        Ok(PolicyState::load(&self.keystore)?)
    }

    /// The key of `address` if it is one of the account's first [`KEY_SEARCH_LIMIT`]
    /// addresses.
    pub fn key_of(&self, address: &Address) -> Result<Option<(u32, KeyPair)>, EmbeddedError> {
        match self.hd.find(address, KEY_SEARCH_LIMIT)? {
            Some(index) => Ok(Some((index, self.hd.key(index)?))),
            None => Ok(None),
        }
    }

    /// Checks a single-key transfer of `amount` to `to` against the policy, records it, and
    /// returns the key of address `from_index` to sign it with.
    pub fn authorize_transfer(
        &mut self,
        from_index: u32,
        to: Address,
        amount: Amount,
        now_ms: u64,
    ) -> Result<KeyPair, EmbeddedError> {
        let key = self.hd.key(from_index)?;
        self.authorize_payout(to, amount, now_ms)?;
        Ok(key)
    }

    /// Checks a spend this wallet is about to make or approve (`amount` to `to`; for a bounty
    /// approval, the payout to the claimant) against the policy, and records it: an operator's
    /// limits and lists bound what the node signs automatically.
    pub fn authorize_payout(
        &mut self,
        to: Address,
        amount: Amount,
        now_ms: u64,
    ) -> Result<(), EmbeddedError> {
        let mut state = PolicyState::load(&self.keystore)?;
        state.authorize_spend(to, amount, now_ms)?;
        state.store(&mut self.keystore)?;
        Ok(())
    }

    /// Adds this wallet's approval to a partially signed multisig call, with the key at
    /// `index` or else the first of the account's keys that is a signer. A spend (see
    /// [`multisig_spend`]) is checked against the policy (every rule but `cosigner_above`, which applies when the call is
    /// finalized) and recorded. Returns the signer index.
    pub fn approve_multisig(
        &mut self,
        call: &mut PartialCall,
        index: Option<u32>,
        now_ms: u64,
    ) -> Result<u8, EmbeddedError> {
        if call.chain_id() != &self.chain_id {
            return Err(EmbeddedError::WrongChain {
                call: call.chain_id().to_string(),
                node: self.chain_id.to_string(),
            });
        }
        let key = match index {
            Some(i) => self.hd.key(i)?,
            None => self.signer_key(call.policy())?,
        };
        let mut state = PolicyState::load(&self.keystore)?;
        let spend = multisig_spend(&call.call().action);
        if let Some((to, amount)) = spend {
            state.authorize_approval(to, amount, now_ms)?;
        }
        let signer = call.sign(&key)?;
        if spend.is_some() {
            state.store(&mut self.keystore)?;
        }
        Ok(signer)
    }

    /// The first of the account's keys that signs for `policy`.
    pub fn signer_key(&self, policy: &MultisigPolicy) -> Result<KeyPair, EmbeddedError> {
        self.hd
            .find_signer(policy, KEY_SEARCH_LIMIT)?
            .map(|(_, key)| key)
            .ok_or_else(|| EmbeddedError::NotASigner {
                account: policy.address().encode(self.chain_id.kind()),
                searched: KEY_SEARCH_LIMIT,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keystore::{KdfParams, NewWallet, WalletData};
    use crate::policy::SpendingPolicy;
    use rustchain_primitives::MultisigAction;

    const MNEMONIC: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    fn wallet(dir: &Path, policy: SpendingPolicy) -> EmbeddedWallet {
        let path = dir.join("w.json");
        let mut keystore = Keystore::create(
            &path,
            NewWallet {
                mnemonic: &zeroize::Zeroizing::new(MNEMONIC.to_string()),
                bip39_passphrase: &SecretString::new(""),
                metadata: Metadata::new("node", "rtc-dev"),
                data: WalletData::default(),
            },
            &SecretString::new("pw"),
            KdfParams::insecure_for_tests(),
        )
        .unwrap();
        PolicyState {
            rules: policy,
            recent: Vec::new(),
        }
        .store(&mut keystore)
        .unwrap();
        EmbeddedWallet::from_keystore(
            keystore,
            &SecretString::new(""),
            0,
            ChainId::new("dev-embedded").unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn transfers_are_checked_and_recorded_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let limit = Amount::from_base_units(100);
        let mut w = wallet(
            dir.path(),
            SpendingPolicy {
                max_per_day: Some(limit),
                ..SpendingPolicy::default()
            },
        );
        let to = Address([7; 20]);
        let key = w
            .authorize_transfer(0, to, Amount::from_base_units(60), 1_000)
            .unwrap();
        assert_eq!(key.public_key(), w.addresses(1).unwrap()[0].public_key);
        let refused = w
            .authorize_transfer(0, to, Amount::from_base_units(50), 2_000)
            .unwrap_err();
        assert!(refused.to_string().contains("max_per_day"), "{refused}");
        assert_eq!(
            w.policy().unwrap().recent.len(),
            1,
            "a refusal records nothing"
        );
        // The record is in the keystore file: the CLI and a restarted node see it.
        let keystore = Keystore::open_insecure_for_tests(dir.path().join("w.json"))
            .unwrap()
            .unlock(&SecretString::new("pw"))
            .unwrap();
        assert_eq!(
            PolicyState::load(&keystore).unwrap().spent_last_day(2_000),
            Amount::from_base_units(60)
        );
    }

    #[test]
    fn multisig_approvals_check_the_policy_and_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let denied = Address([9; 20]);
        let mut w = wallet(
            dir.path(),
            SpendingPolicy {
                deny: vec![denied.encode(rustchain_primitives::NetworkKind::Dev)],
                ..SpendingPolicy::default()
            },
        );
        let mine = w.addresses(3).unwrap()[2].public_key;
        let other = KeyPair::from_secret_bytes(&[5; 32]).unwrap().public_key();
        let policy = MultisigPolicy::new(1, vec![mine, other]).unwrap();
        let transfer = |to| MultisigAction::Transfer {
            to,
            amount: Amount::from_base_units(10),
        };
        let chain = ChainId::new("dev-embedded").unwrap();
        let mut call = PartialCall::new(
            chain.clone(),
            policy.clone(),
            0,
            transfer(Address([1; 20])),
            String::new(),
        )
        .unwrap();
        let signer = w.approve_multisig(&mut call, None, 5).unwrap();
        assert_eq!(Some(signer), policy.index_of(&mine));
        assert_eq!(call.approved_by(), vec![signer]);

        let mut to_denied =
            PartialCall::new(chain, policy.clone(), 0, transfer(denied), String::new()).unwrap();
        let e = w.approve_multisig(&mut to_denied, None, 5).unwrap_err();
        assert!(e.to_string().contains("deny"), "{e}");
        assert!(to_denied.approved_by().is_empty());

        let mut elsewhere = PartialCall::new(
            ChainId::new("dev-other").unwrap(),
            policy,
            0,
            transfer(Address([1; 20])),
            String::new(),
        )
        .unwrap();
        assert!(matches!(
            w.approve_multisig(&mut elsewhere, None, 5),
            Err(EmbeddedError::WrongChain { .. })
        ));

        let stranger = MultisigPolicy::new(1, vec![other]).unwrap();
        let mut not_mine = PartialCall::new(
            ChainId::new("dev-embedded").unwrap(),
            stranger,
            0,
            transfer(Address([1; 20])),
            String::new(),
        )
        .unwrap();
        assert!(matches!(
            w.approve_multisig(&mut not_mine, None, 5),
            Err(EmbeddedError::NotASigner { .. })
        ));
    }
}
