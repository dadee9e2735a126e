//! Multisig accounts through the chain state: registration, approved spends in any signer order,
//! and every way a call can fail (not enough approvals, replay, unknown account, no funds), each
//! with the submitter's fee paid and the multisig account untouched; rollback unregisters.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use rustchain_genesis::{dev_account_key, dev_genesis, dev_validator_key};
use rustchain_primitives::receipt::FailureReason;
use rustchain_primitives::{
    Address, Amount, Event, KeyPair, MultisigAction, MultisigApproval, MultisigCall, MultisigError,
    MultisigPolicy, Receipt, Transaction, TxBody, TxPayload, TxStatus,
};
use rustchain_state::{BlockContext, Chain};

const FEE: u64 = 1_000;

struct Net {
    chain: Chain,
    _dir: tempfile::TempDir,
    slot: u64,
}

impl Net {
    fn new() -> Net {
        let dir = tempfile::tempdir().unwrap();
        let chain = Chain::open(dir.path(), dev_genesis().validate().unwrap()).unwrap();
        Net {
            chain,
            _dir: dir,
            slot: 0,
        }
    }

    /// Builds and commits a block of `txs` (all must be includable); returns their receipts.
    fn block(&mut self, txs: Vec<Transaction>) -> Vec<Receipt> {
        self.slot += 1;
        let count = txs.len();
        let built = self
            .chain
            .build(&common::context(self.slot), txs, vec![], vec![])
            .unwrap();
        assert!(built.left_out.is_empty(), "left out: {:?}", built.left_out);
        assert_eq!(built.transactions.len(), count);
        let receipts = built.executed.receipts.clone();
        let block = common::seal(
            &self.chain,
            self.slot,
            &built.executed,
            built.transactions,
            vec![],
        );
        self.chain.commit(&block, built.executed).unwrap();
        receipts
    }

    fn tx(&self, from: &KeyPair, payload: TxPayload) -> Transaction {
        let address = Address::from_public_key(&from.public_key());
        TxBody {
            chain_id: self.chain.genesis().chain_id.clone(),
            sender: from.public_key(),
            nonce: self.chain.account(&address, None).unwrap().nonce,
            fee: Amount::from_base_units(FEE),
            payload,
        }
        .sign(from)
    }

    fn balance(&self, address: &Address) -> u64 {
        self.chain
            .account(address, None)
            .unwrap()
            .balance
            .base_units()
    }

    fn nonce(&self, address: &Address) -> u64 {
        self.chain.account(address, None).unwrap().nonce
    }

    fn precheck(&self, tx: &Transaction) -> Result<(), FailureReason> {
        self.chain.precheck(tx).unwrap()
    }
}

fn signers() -> Vec<KeyPair> {
    (0..3)
        .map(|i| KeyPair::from_secret_bytes(&[0x60 + i; 32]).unwrap())
        .collect()
}

fn approve(
    net: &Net,
    policy: &MultisigPolicy,
    call: &MultisigCall,
    key: &KeyPair,
) -> MultisigApproval {
    MultisigApproval {
        signer: policy.index_of(&key.public_key()).unwrap(),
        signature: key.sign(&call.approval_hash(&net.chain.genesis().chain_id)),
    }
}

fn transfer_call(account: Address, nonce: u64, to: Address, amount: u64) -> MultisigCall {
    MultisigCall {
        account,
        nonce,
        action: MultisigAction::Transfer {
            to,
            amount: Amount::from_base_units(amount),
        },
    }
}

fn failure(r: &Receipt) -> FailureReason {
    match &r.status {
        TxStatus::Failed(reason) => reason.clone(),
        TxStatus::Success => panic!("expected a failed receipt: {r:?}"),
    }
}

#[test]
fn a_two_of_three_account_spends_with_any_two_approvals_exactly_once() {
    let mut net = Net::new();
    let keys = signers();
    let policy = MultisigPolicy::new(2, keys.iter().map(KeyPair::public_key).collect()).unwrap();
    let account = policy.address();
    let funder = dev_account_key(0).unwrap();
    let submitter = dev_account_key(1).unwrap();
    let submitter_address = Address::from_public_key(&submitter.public_key());
    let recipient = Address([0xAB; 20]);

    // Fund the address before the policy is registered, then register it.
    let fund = net.tx(
        &funder,
        TxPayload::Transfer {
            to: account,
            amount: Amount::from_base_units(50_000),
        },
    );
    let receipts = net.block(vec![fund]);
    assert_eq!(receipts[0].status, TxStatus::Success);
    let create = net.tx(
        &funder,
        TxPayload::MultisigCreate {
            policy: policy.clone(),
        },
    );
    assert_eq!(net.precheck(&create), Ok(()));
    let receipts = net.block(vec![create]);
    assert_eq!(receipts[0].status, TxStatus::Success);
    assert!(receipts[0]
        .events
        .contains(&Event::MultisigCreated { account }));
    assert_eq!(
        net.chain.multisig_policy(&account).unwrap(),
        Some(policy.clone())
    );

    // Registering it again fails (and the mempool precheck says so first).
    let again = net.tx(
        &funder,
        TxPayload::MultisigCreate {
            policy: policy.clone(),
        },
    );
    assert_eq!(
        net.precheck(&again),
        Err(FailureReason::MultisigExists(account))
    );
    let receipts = net.block(vec![again]);
    assert_eq!(
        failure(&receipts[0]),
        FailureReason::MultisigExists(account)
    );

    // One approval is not enough: the submitter pays the fee, the account is untouched.
    let call = transfer_call(account, 0, recipient, 20_000);
    let only_one = vec![approve(&net, &policy, &call, &keys[1])];
    let tx = net.tx(
        &submitter,
        TxPayload::MultisigExecute {
            call: call.clone(),
            approvals: only_one,
        },
    );
    let expected =
        FailureReason::MultisigApprovals(MultisigError::NotEnoughApprovals { have: 1, need: 2 });
    assert_eq!(net.precheck(&tx), Err(expected.clone()));
    let before = net.balance(&submitter_address);
    let receipts = net.block(vec![tx]);
    assert_eq!(failure(&receipts[0]), expected);
    assert_eq!(net.balance(&submitter_address), before - FEE);
    assert_eq!(net.balance(&account), 50_000);
    assert_eq!(net.nonce(&account), 0);

    // Signers 2 and 0, collected in that order, listed by index.
    let mut approvals = vec![
        approve(&net, &policy, &call, &keys[2]),
        approve(&net, &policy, &call, &keys[0]),
    ];
    approvals.sort_by_key(|a| a.signer);
    let execute = TxPayload::MultisigExecute {
        call: call.clone(),
        approvals: approvals.clone(),
    };
    let tx = net.tx(&submitter, execute.clone());
    assert_eq!(net.precheck(&tx), Ok(()));
    let receipts = net.block(vec![tx]);
    assert_eq!(receipts[0].status, TxStatus::Success, "{receipts:?}");
    assert!(receipts[0].events.contains(&Event::Transfer {
        from: account,
        to: recipient,
        amount: Amount::from_base_units(20_000),
    }));
    assert_eq!(net.balance(&account), 30_000);
    assert_eq!(net.balance(&recipient), 20_000);
    assert_eq!(net.nonce(&account), 1);

    // The same approvals again are a replay: refused by the precheck, failed in a block.
    let replay = net.tx(&submitter, execute);
    let stale = FailureReason::MultisigNonce {
        expected: 1,
        got: 0,
    };
    assert_eq!(net.precheck(&replay), Err(stale.clone()));
    let receipts = net.block(vec![replay]);
    assert_eq!(failure(&receipts[0]), stale);
    assert_eq!(net.balance(&account), 30_000);
    assert_eq!(net.balance(&recipient), 20_000);
}

#[test]
fn a_call_without_funds_fails_keeps_its_nonce_and_succeeds_once_funded() {
    let mut net = Net::new();
    let keys = signers();
    let policy = MultisigPolicy::new(1, vec![keys[0].public_key()]).unwrap();
    let account = policy.address();
    let funder = dev_account_key(2).unwrap();
    let create = net.tx(
        &funder,
        TxPayload::MultisigCreate {
            policy: policy.clone(),
        },
    );
    net.block(vec![create]);
    let call = transfer_call(account, 0, Address([1; 20]), 7_000);
    let execute = TxPayload::MultisigExecute {
        call: call.clone(),
        approvals: vec![approve(&net, &policy, &call, &keys[0])],
    };
    let receipts = net.block(vec![net.tx(&funder, execute.clone())]);
    assert!(matches!(
        failure(&receipts[0]),
        FailureReason::InsufficientBalance { .. }
    ));
    assert_eq!(
        net.nonce(&account),
        0,
        "a failed call does not use the nonce"
    );
    let fund = net.tx(
        &funder,
        TxPayload::Transfer {
            to: account,
            amount: Amount::from_base_units(10_000),
        },
    );
    net.block(vec![fund]);
    let receipts = net.block(vec![net.tx(&funder, execute)]);
    assert_eq!(receipts[0].status, TxStatus::Success);
    assert_eq!(net.balance(&account), 3_000);
    assert_eq!(net.nonce(&account), 1);
}

#[test]
fn unknown_accounts_and_malformed_policies_are_refused() {
    let mut net = Net::new();
    let keys = signers();
    let policy = MultisigPolicy::new(1, vec![keys[0].public_key()]).unwrap();
    let call = transfer_call(policy.address(), 0, Address([1; 20]), 1);
    let submitter = dev_account_key(3).unwrap();
    let tx = net.tx(
        &submitter,
        TxPayload::MultisigExecute {
            call: call.clone(),
            approvals: vec![approve(&net, &policy, &call, &keys[0])],
        },
    );
    let unknown = FailureReason::UnknownMultisig(policy.address());
    assert_eq!(net.precheck(&tx), Err(unknown.clone()));
    let receipts = net.block(vec![tx]);
    assert_eq!(failure(&receipts[0]), unknown);

    // A non-canonical policy breaks a stateless rule: the block builder leaves it out.
    let mut reversed =
        MultisigPolicy::new(2, keys.iter().map(KeyPair::public_key).collect()).unwrap();
    reversed.signers.reverse();
    let bad = net.tx(&submitter, TxPayload::MultisigCreate { policy: reversed });
    let built = net
        .chain
        .build(
            &BlockContext {
                proposer: dev_validator_key(0).unwrap().public_key(),
                slot: 99,
            },
            vec![bad],
            vec![],
            vec![],
        )
        .unwrap();
    assert_eq!(built.left_out.len(), 1);
    assert!(built.left_out[0].1.to_string().contains("canonical"));
}

#[test]
fn rolling_back_the_registration_unregisters_the_account() {
    let mut net = Net::new();
    let keys = signers();
    let policy = MultisigPolicy::new(2, keys.iter().map(KeyPair::public_key).collect()).unwrap();
    let funder = dev_account_key(4).unwrap();
    net.block(vec![]);
    let create = net.tx(
        &funder,
        TxPayload::MultisigCreate {
            policy: policy.clone(),
        },
    );
    net.block(vec![create]);
    assert!(net
        .chain
        .multisig_policy(&policy.address())
        .unwrap()
        .is_some());
    net.chain.rollback_to(1).unwrap();
    assert_eq!(net.chain.multisig_policy(&policy.address()).unwrap(), None);
}
