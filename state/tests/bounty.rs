//! The bounty board through the chain state (RocksDB, the real executor, dev-network
//! parameters): the whole life cycle pays the claimant exactly once; every way an operation can
//! fail is a failed receipt with the fee paid, and the mempool precheck refuses it first; caps,
//! expiry, cancel rules, multisig approvers, determinism and rollback. After every block the
//! escrow invariant and the other bounty invariants are audited (`rustchain_state::bounty::audit`),
//! and a property test runs random operation sequences from several accounts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use proptest::prelude::*;
use rustchain_genesis::{dev_account_key, dev_genesis, dev_validator_key};
use rustchain_primitives::bounty::bounty_expiry_receipt_id;
use rustchain_primitives::receipt::FailureReason;
use rustchain_primitives::{
    escrow_address, Address, Amount, Block, Bounty, BountyParams, BountyStatus, Claim, ClaimStatus,
    Event, KeyPair, MultisigAction, MultisigApproval, MultisigCall, MultisigPolicy, NetworkKind,
    Receipt, Transaction, TxBody, TxPayload, TxStatus,
};
use rustchain_state::bounty::{audit, BountyAudit};
use rustchain_state::{BlockContext, Chain, StateReader};

const FEE: u64 = 1_000;
const PARAMS: BountyParams = BountyParams::for_network(NetworkKind::Dev);

fn bond() -> u64 {
    PARAMS.claim_bond.base_units()
}

struct Net {
    chain: Chain,
    _dir: tempfile::TempDir,
    slot: u64,
    blocks: Vec<Block>,
}

impl Net {
    fn new() -> Net {
        let dir = tempfile::tempdir().unwrap();
        let chain = Chain::open(dir.path(), dev_genesis().validate().unwrap()).unwrap();
        Net {
            chain,
            _dir: dir,
            slot: 0,
            blocks: vec![],
        }
    }

    fn height(&self) -> u64 {
        self.chain.head().height
    }

    /// Builds and commits a block of `txs` (all must be includable); returns every receipt of
    /// the block (the transactions', then the bounty expiry receipt if any). Audits the bounty
    /// invariants afterwards.
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
        self.blocks.push(block);
        self.audit();
        receipts
    }

    fn empty_blocks(&mut self, n: u64) -> Vec<Receipt> {
        let mut all = vec![];
        for _ in 0..n {
            all.extend(self.block(vec![]));
        }
        all
    }

    /// Empty blocks until the head is at `height`; returns their receipts.
    fn until(&mut self, height: u64) -> Vec<Receipt> {
        let n = height.checked_sub(self.height()).unwrap();
        self.empty_blocks(n)
    }

    fn audit(&self) -> BountyAudit {
        audit(&self.chain.head_state(), &PARAMS)
            .unwrap()
            .unwrap_or_else(|e| panic!("bounty invariant broken at height {}: {e}", self.height()))
    }

    fn tx_with_nonce(&self, from: &KeyPair, nonce: u64, payload: TxPayload) -> Transaction {
        TxBody {
            chain_id: self.chain.genesis().chain_id.clone(),
            sender: from.public_key(),
            nonce,
            fee: Amount::from_base_units(FEE),
            payload,
        }
        .sign(from)
    }

    fn tx(&self, from: &KeyPair, payload: TxPayload) -> Transaction {
        let nonce = self.nonce(&addr(from));
        self.tx_with_nonce(from, nonce, payload)
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

    fn bounty(&self, id: u64) -> Bounty {
        rustchain_state::bounty::bounty(&self.chain.head_state(), id)
            .unwrap()
            .unwrap()
    }

    fn claim(&self, id: u64) -> Claim {
        rustchain_state::bounty::claim_record(&self.chain.head_state(), id)
            .unwrap()
            .unwrap()
    }

    /// `payload` from `from` must succeed (the precheck agrees first).
    fn ok(&mut self, from: &KeyPair, payload: TxPayload) -> Receipt {
        let tx = self.tx(from, payload);
        assert_eq!(self.chain.precheck(&tx).unwrap(), Ok(()), "precheck");
        let r = self.block(vec![tx]).remove(0);
        assert_eq!(r.status, TxStatus::Success, "{r:?}");
        r
    }

    /// `payload` from `from` must fail with `reason`: the precheck refuses it, and included
    /// anyway it fails with the fee paid and nothing else changed.
    fn fails(&mut self, from: &KeyPair, payload: TxPayload, reason: FailureReason) {
        let tx = self.tx(from, payload);
        assert_eq!(self.chain.precheck(&tx).unwrap(), Err(reason.clone()));
        let before = self.balance(&addr(from));
        let escrow = self.balance(&escrow_address());
        let r = self.block(vec![tx]).remove(0);
        assert_eq!(r.status, TxStatus::Failed(reason));
        assert_eq!(self.balance(&addr(from)), before - FEE);
        assert_eq!(self.balance(&escrow_address()), escrow);
        assert_eq!(r.events.len(), 1, "only the fee: {:?}", r.events);
    }

    /// Posts a bounty of `amount` from `sponsor` with the given deadline and approvers.
    fn post(&mut self, sponsor: &KeyPair, amount: u64, deadline: u64, approvers: Address) -> u64 {
        let r = self.ok(sponsor, post(amount, deadline, approvers));
        bounty_id(&r)
    }

    fn claim_it(&mut self, claimer: &KeyPair, bounty: u64, claimant: Address) -> u64 {
        let r = self.ok(claimer, TxPayload::BountyClaim { bounty, claimant });
        claim_id(&r)
    }
}

fn addr(key: &KeyPair) -> Address {
    Address::from_public_key(&key.public_key())
}

fn dev(i: u32) -> KeyPair {
    dev_account_key(i).unwrap()
}

fn post(amount: u64, deadline: u64, approvers: Address) -> TxPayload {
    TxPayload::BountyPost {
        title: "Fix the Ryzen cache check".into(),
        url: "https://github.com/rustchain/node/issues/6".into(),
        amount: Amount::from_base_units(amount),
        deadline,
        approvers,
    }
}

fn submit(claim: u64) -> TxPayload {
    TxPayload::BountySubmit {
        claim,
        pull_request: "https://github.com/rustchain/node/pull/42".into(),
    }
}

fn bounty_id(r: &Receipt) -> u64 {
    r.events
        .iter()
        .find_map(|e| match e {
            Event::BountyPosted { bounty, .. } => Some(*bounty),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no BountyPosted in {r:?}"))
}

fn claim_id(r: &Receipt) -> u64 {
    r.events
        .iter()
        .find_map(|e| match e {
            Event::BountyClaimed { claim, .. } => Some(*claim),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no BountyClaimed in {r:?}"))
}

#[test]
fn the_life_cycle_pays_the_claimant_exactly_once() {
    let mut net = Net::new();
    let (sponsor, approver, claimer) = (dev(0), dev(1), dev(2));
    let claimant = Address([0xC1; 20]); // the claimer's payout account, distinct on purpose
    let escrow = escrow_address();
    let sponsor_start = net.balance(&addr(&sponsor));

    let deadline = net.height() + 1_000;
    let r = net.ok(&sponsor, post(700_000, deadline, addr(&approver)));
    assert!(r.events.contains(&Event::BountyPosted {
        bounty: 1,
        sponsor: addr(&sponsor),
        approvers: addr(&approver),
        amount: Amount::from_base_units(700_000),
        deadline,
    }));
    // Ids are assigned by the chain, sequentially.
    assert_eq!(net.post(&dev(3), 5, deadline, addr(&approver)), 2);
    net.ok(
        &sponsor,
        TxPayload::BountyFund {
            bounty: 1,
            amount: Amount::from_base_units(300_000),
        },
    );
    assert_eq!(net.bounty(1).amount, Amount::from_base_units(1_000_000));
    assert_eq!(net.balance(&escrow), 1_000_005);
    assert_eq!(
        net.balance(&addr(&sponsor)),
        sponsor_start - 1_000_000 - 2 * FEE
    );

    let claimer_start = net.balance(&addr(&claimer));
    let c = net.claim_it(&claimer, 1, claimant);
    assert_eq!(c, 1);
    let claim = net.claim(c);
    assert_eq!(claim.status, ClaimStatus::Claimed);
    assert_eq!(claim.expires_at, claim.claimed_at + PARAMS.claim_window);
    assert_eq!(net.balance(&escrow), 1_000_005 + bond());
    assert_eq!(net.balance(&addr(&claimer)), claimer_start - FEE - bond());
    let r = net.ok(&claimer, submit(c));
    assert!(r.events.contains(&Event::BountySubmitted {
        bounty: 1,
        claim: c
    }));
    assert_eq!(net.claim(c).status, ClaimStatus::Submitted);

    let r = net.ok(&approver, TxPayload::BountyApprove { claim: c });
    assert!(r.events.contains(&Event::BountyPaid {
        bounty: 1,
        claim: c,
        to: claimant,
        amount: Amount::from_base_units(1_000_000),
    }));
    assert!(r.events.contains(&Event::BountyBondRefunded {
        claim: c,
        to: addr(&claimer),
        amount: PARAMS.claim_bond,
    }));
    assert_eq!(net.balance(&claimant), 1_000_000);
    assert_eq!(net.balance(&addr(&claimer)), claimer_start - 2 * FEE);
    assert_eq!(net.balance(&escrow), 5, "only bounty 2 is left in escrow");
    assert!(matches!(
        net.bounty(1).status,
        BountyStatus::Paid { claim: 1, .. }
    ));
    assert_eq!(net.claim(c).status, ClaimStatus::Approved);

    // A second approval of the same claim fails: the bounty is paid.
    let paid = net.bounty(1).status;
    net.fails(
        &approver,
        TxPayload::BountyApprove { claim: c },
        FailureReason::BountyNotOpen {
            bounty: 1,
            status: paid,
        },
    );
    // Nothing else can be done with a paid bounty either.
    for payload in [
        TxPayload::BountyClaim {
            bounty: 1,
            claimant,
        },
        TxPayload::BountyCancel { bounty: 1 },
        TxPayload::BountyFund {
            bounty: 1,
            amount: Amount::from_base_units(1),
        },
    ] {
        net.fails(
            &sponsor,
            payload,
            FailureReason::BountyNotOpen {
                bounty: 1,
                status: paid,
            },
        );
    }
    assert_eq!(net.balance(&claimant), 1_000_000, "paid exactly once");
}

#[test]
fn approving_pays_once_and_closes_every_other_claim_with_its_bond_refunded() {
    let mut net = Net::new();
    let (sponsor, approver) = (dev(0), dev(1));
    let claimers = [dev(2), dev(3), dev(4)];
    let b = net.post(&sponsor, 50_000, net.height() + 100, addr(&approver));
    let claims: Vec<u64> = claimers
        .iter()
        .map(|k| net.claim_it(k, b, addr(k)))
        .collect();
    assert_eq!(claims, vec![1, 2, 3]);
    let before: Vec<u64> = claimers.iter().map(|k| net.balance(&addr(k))).collect();
    // Two submit; approving one; then approving the other fails.
    net.ok(&claimers[0], submit(claims[0]));
    net.ok(&claimers[1], submit(claims[1]));
    // Both approvals in one block: the first pays, the second fails.
    let txs = vec![
        net.tx(&approver, TxPayload::BountyApprove { claim: claims[1] }),
        net.tx_with_nonce(
            &approver,
            net.nonce(&addr(&approver)) + 1,
            TxPayload::BountyApprove { claim: claims[0] },
        ),
    ];
    let receipts = net.block(txs);
    assert_eq!(receipts[0].status, TxStatus::Success);
    assert!(matches!(
        receipts[1].status,
        TxStatus::Failed(FailureReason::BountyNotOpen { bounty: 1, .. })
    ));
    for other in [claims[0], claims[2]] {
        assert!(receipts[0].events.contains(&Event::BountyClaimClosed {
            bounty: b,
            claim: other
        }));
        assert_eq!(net.claim(other).status, ClaimStatus::Closed);
    }
    // Winner: reward + bond back - 1 fee (submit). Others: bond back - fees.
    assert_eq!(
        net.balance(&addr(&claimers[1])),
        before[1] - FEE + bond() + 50_000
    );
    assert_eq!(net.balance(&addr(&claimers[0])), before[0] - FEE + bond());
    assert_eq!(net.balance(&addr(&claimers[2])), before[2] + bond());
    assert_eq!(net.balance(&escrow_address()), 0);
}

#[test]
fn wrong_actors_unknown_ids_and_wrong_states_are_refused_with_the_fee_paid() {
    let mut net = Net::new();
    let (sponsor, approver, claimer, stranger) = (dev(0), dev(1), dev(2), dev(3));
    let b = net.post(&sponsor, 10_000, net.height() + 100, addr(&approver));
    let c = net.claim_it(&claimer, b, addr(&claimer));

    // Approving an unsubmitted claim fails, even by the approver.
    net.fails(
        &approver,
        TxPayload::BountyApprove { claim: c },
        FailureReason::BountyClaimState {
            claim: c,
            status: ClaimStatus::Claimed,
        },
    );
    // Only the claimer submits.
    net.fails(
        &stranger,
        submit(c),
        FailureReason::NotBountyClaimer {
            claim: c,
            claimer: addr(&claimer),
        },
    );
    net.ok(&claimer, submit(c));
    net.fails(
        &claimer,
        submit(c),
        FailureReason::BountyClaimState {
            claim: c,
            status: ClaimStatus::Submitted,
        },
    );
    // Only the approvers approve or reject: not the sponsor, not the claimer.
    for who in [&sponsor, &claimer, &stranger] {
        for payload in [
            TxPayload::BountyApprove { claim: c },
            TxPayload::BountyReject { claim: c },
        ] {
            net.fails(
                who,
                payload,
                FailureReason::NotBountyApprovers {
                    bounty: b,
                    approvers: addr(&approver),
                },
            );
        }
    }
    // Only the sponsor funds.
    net.fails(
        &stranger,
        TxPayload::BountyFund {
            bounty: b,
            amount: Amount::from_base_units(1),
        },
        FailureReason::NotBountySponsor {
            bounty: b,
            sponsor: addr(&sponsor),
        },
    );
    // Unknown ids.
    net.fails(
        &claimer,
        TxPayload::BountyClaim {
            bounty: 99,
            claimant: addr(&claimer),
        },
        FailureReason::UnknownBounty(99),
    );
    net.fails(
        &approver,
        TxPayload::BountyApprove { claim: 77 },
        FailureReason::UnknownBountyClaim(77),
    );
    net.fails(&stranger, submit(0), FailureReason::UnknownBountyClaim(0));
    net.fails(
        &sponsor,
        TxPayload::BountyCancel { bounty: 5 },
        FailureReason::UnknownBounty(5),
    );
    // Deadlines out of range.
    let h = net.height() + 1;
    net.fails(
        &sponsor,
        post(1, h, addr(&approver)),
        FailureReason::BountyDeadlineOutOfRange {
            deadline: h,
            min: h + 1,
            max: h + PARAMS.max_duration,
        },
    );
    net.fails(
        &sponsor,
        post(1, u64::MAX, addr(&approver)),
        FailureReason::BountyDeadlineOutOfRange {
            deadline: u64::MAX,
            min: h + 2,
            max: h + 1 + PARAMS.max_duration,
        },
    );
    // More than the balance (the mempool's balance check refuses it too: see max_cost).
    let poor = KeyPair::from_secret_bytes(&[0x51; 32]).unwrap();
    net.ok(
        &sponsor,
        TxPayload::Transfer {
            to: addr(&poor),
            amount: Amount::from_base_units(FEE * 3 + 10),
        },
    );
    net.fails(
        &poor,
        post(5_000, net.height() + 10, addr(&approver)),
        FailureReason::InsufficientBalance {
            needed: Amount::from_base_units(5_000),
            available: Amount::from_base_units(2 * FEE + 10),
        },
    );
    net.fails(
        &poor,
        TxPayload::BountyClaim {
            bounty: b,
            claimant: addr(&poor),
        },
        FailureReason::InsufficientBalance {
            needed: PARAMS.claim_bond,
            available: Amount::from_base_units(FEE + 10),
        },
    );
    // After all that, the claim is still payable, once.
    net.ok(&approver, TxPayload::BountyApprove { claim: c });
}

#[test]
fn nobody_can_send_to_the_escrow() {
    let mut net = Net::new();
    let sender = dev(5);
    net.fails(
        &sender,
        TxPayload::Transfer {
            to: escrow_address(),
            amount: Amount::from_base_units(1),
        },
        FailureReason::BountyEscrowReserved,
    );
    assert_eq!(net.balance(&escrow_address()), 0);
    // Nor name it as a claim's claimant (the reward would stay in escrow, owed to nobody).
    let b = net.post(&dev(0), 1_000, net.height() + 10, addr(&dev(1)));
    net.fails(
        &sender,
        TxPayload::BountyClaim {
            bounty: b,
            claimant: escrow_address(),
        },
        FailureReason::BountyEscrowReserved,
    );
}

#[test]
fn stateless_rules_keep_malformed_bounty_payloads_out_of_blocks() {
    let net = Net::new();
    let sender = dev(0);
    let long_title = TxPayload::BountyPost {
        title: "x".repeat(201),
        url: "https://x".into(),
        amount: Amount::from_base_units(1),
        deadline: 50,
        approvers: Address([1; 20]),
    };
    let zero = TxPayload::BountyFund {
        bounty: 1,
        amount: Amount::ZERO,
    };
    let long_pr = TxPayload::BountySubmit {
        claim: 1,
        pull_request: "p".repeat(513),
    };
    let txs = vec![
        net.tx_with_nonce(&sender, 0, long_title),
        net.tx_with_nonce(&sender, 0, zero),
        net.tx_with_nonce(&sender, 0, long_pr),
    ];
    let built = net
        .chain
        .build(
            &BlockContext {
                proposer: dev_validator_key(0).unwrap().public_key(),
                slot: 1,
            },
            txs,
            vec![],
            vec![],
        )
        .unwrap();
    assert!(built.transactions.is_empty());
    assert_eq!(built.left_out.len(), 3);
    assert!(built.left_out[0].1.to_string().contains("title"));
}

#[test]
fn reject_forfeits_the_bond_to_the_sponsor_and_frees_the_slot() {
    let mut net = Net::new();
    let (sponsor, approver, claimer) = (dev(0), dev(1), dev(2));
    let b = net.post(&sponsor, 10_000, net.height() + 100, addr(&approver));
    // An unsubmitted (squatting) claim can be rejected at once.
    let c1 = net.claim_it(&claimer, b, addr(&claimer));
    let sponsor_before = net.balance(&addr(&sponsor));
    let claimer_before = net.balance(&addr(&claimer));
    let r = net.ok(&approver, TxPayload::BountyReject { claim: c1 });
    assert!(r.events.contains(&Event::BountyClaimRejected {
        bounty: b,
        claim: c1
    }));
    assert!(r.events.contains(&Event::BountyBondForfeited {
        claim: c1,
        to: addr(&sponsor),
        amount: PARAMS.claim_bond,
    }));
    assert_eq!(net.balance(&addr(&sponsor)), sponsor_before + bond());
    assert_eq!(net.balance(&addr(&claimer)), claimer_before);
    assert_eq!(net.claim(c1).status, ClaimStatus::Rejected);
    assert!(net.bounty(b).open_claims.is_empty());
    net.fails(
        &approver,
        TxPayload::BountyReject { claim: c1 },
        FailureReason::BountyClaimState {
            claim: c1,
            status: ClaimStatus::Rejected,
        },
    );
    net.fails(
        &claimer,
        submit(c1),
        FailureReason::BountyClaimState {
            claim: c1,
            status: ClaimStatus::Rejected,
        },
    );
    // The claimer may claim again; a submitted claim can be rejected too; then a third is
    // approved.
    let c2 = net.claim_it(&claimer, b, addr(&claimer));
    net.ok(&claimer, submit(c2));
    net.ok(&approver, TxPayload::BountyReject { claim: c2 });
    assert_eq!(net.bounty(b).status, BountyStatus::Open);
    let c3 = net.claim_it(&claimer, b, addr(&claimer));
    net.ok(&claimer, submit(c3));
    net.ok(&approver, TxPayload::BountyApprove { claim: c3 });
    assert_eq!(net.balance(&escrow_address()), 0);
}

#[test]
fn claims_beyond_the_caps_are_refused() {
    let mut net = Net::new();
    let (sponsor, approver, claimer) = (dev(0), dev(1), dev(2));
    let deadline = net.height() + 150;
    let bounties: Vec<u64> = (0..5)
        .map(|_| net.post(&sponsor, 1_000, deadline, addr(&approver)))
        .collect();
    // One open claim per claimer per bounty.
    let first = net.claim_it(&claimer, bounties[0], addr(&claimer));
    net.fails(
        &claimer,
        TxPayload::BountyClaim {
            bounty: bounties[0],
            claimant: Address([9; 20]),
        },
        FailureReason::BountyAlreadyClaimed {
            bounty: bounties[0],
            claim: first,
        },
    );
    // Three open claims per account.
    net.claim_it(&claimer, bounties[1], addr(&claimer));
    let third = net.claim_it(&claimer, bounties[2], addr(&claimer));
    net.fails(
        &claimer,
        TxPayload::BountyClaim {
            bounty: bounties[3],
            claimant: addr(&claimer),
        },
        FailureReason::BountyClaimCap { cap: 3 },
    );
    // A claim that ends frees a slot.
    net.ok(&approver, TxPayload::BountyReject { claim: third });
    net.claim_it(&claimer, bounties[3], addr(&claimer));

    // Sixteen open claims per bounty: fund 17 fresh accounts, 16 claim, the 17th is refused.
    let fresh: Vec<KeyPair> = (0..17u8)
        .map(|i| KeyPair::from_secret_bytes(&[0x70 + i; 32]).unwrap())
        .collect();
    let funder = dev(6);
    let nonce = net.nonce(&addr(&funder));
    let funding: Vec<Transaction> = fresh
        .iter()
        .enumerate()
        .map(|(i, k)| {
            net.tx_with_nonce(
                &funder,
                nonce + i as u64,
                TxPayload::Transfer {
                    to: addr(k),
                    amount: Amount::from_base_units(bond() + 10 * FEE),
                },
            )
        })
        .collect();
    net.block(funding);
    let claims: Vec<Transaction> = fresh[..16]
        .iter()
        .map(|k| {
            net.tx(
                k,
                TxPayload::BountyClaim {
                    bounty: bounties[4],
                    claimant: addr(k),
                },
            )
        })
        .collect();
    let receipts = net.block(claims);
    assert!(receipts.iter().all(Receipt::is_success), "{receipts:?}");
    assert_eq!(net.bounty(bounties[4]).open_claims.len(), 16);
    net.fails(
        &fresh[16],
        TxPayload::BountyClaim {
            bounty: bounties[4],
            claimant: addr(&fresh[16]),
        },
        FailureReason::BountyClaimsFull {
            bounty: bounties[4],
            cap: 16,
        },
    );
}

#[test]
fn unsubmitted_claims_expire_at_the_deadline_or_window_and_refund_the_bond() {
    let mut net = Net::new();
    let (sponsor, approver) = (dev(0), dev(1));
    let (early, late, submitter) = (dev(2), dev(3), dev(4));
    // Bounty 1: a near deadline, so its claims expire at the deadline.
    let deadline = net.height() + 6;
    let b1 = net.post(&sponsor, 1_000, deadline, addr(&approver));
    let c_early = net.claim_it(&early, b1, addr(&early));
    let c_sub = net.claim_it(&submitter, b1, addr(&submitter));
    assert_eq!(net.claim(c_early).expires_at, deadline);
    net.ok(&submitter, submit(c_sub));
    let early_before = net.balance(&addr(&early));
    // The block before the deadline: still claimed.
    net.until(deadline - 1);
    assert_eq!(net.claim(c_early).status, ClaimStatus::Claimed);
    // Claims are no longer accepted at the deadline.
    let receipts = net.block(vec![net.tx(
        &late,
        TxPayload::BountyClaim {
            bounty: b1,
            claimant: addr(&late),
        },
    )]);
    assert_eq!(net.height(), deadline);
    assert_eq!(
        receipts[0].status,
        TxStatus::Failed(FailureReason::BountyDeadlinePassed {
            bounty: b1,
            deadline
        })
    );
    // The deadline block expired the unsubmitted claim, in its bounty receipt.
    let expiry = receipts.last().unwrap();
    assert_eq!(expiry.tx_hash, bounty_expiry_receipt_id(deadline));
    assert_eq!(
        expiry.events,
        vec![
            Event::BountyClaimExpired {
                bounty: b1,
                claim: c_early
            },
            Event::BountyBondRefunded {
                claim: c_early,
                to: addr(&early),
                amount: PARAMS.claim_bond,
            },
        ]
    );
    assert_eq!(net.claim(c_early).status, ClaimStatus::Expired);
    assert_eq!(net.claim(c_early).ended_at, Some(deadline));
    assert_eq!(net.balance(&addr(&early)), early_before + bond());
    // The submitted claim did not expire and can still be approved after the deadline.
    assert_eq!(net.claim(c_sub).status, ClaimStatus::Submitted);
    net.ok(&approver, TxPayload::BountyApprove { claim: c_sub });
    // The receipt is stored with the block.
    let head = net.chain.store().hash_at(deadline).unwrap().unwrap();
    let stored = net.chain.store().receipts(&head).unwrap();
    assert_eq!(stored.last().unwrap(), expiry);

    // Bounty 2: a far deadline, so a claim expires after the claim window.
    let b2 = net.post(&sponsor, 1_000, net.height() + 10_000, addr(&approver));
    let c = net.claim_it(&early, b2, addr(&early));
    let expires_at = net.claim(c).expires_at;
    assert_eq!(expires_at, net.height() + PARAMS.claim_window);
    net.until(expires_at - 1);
    // Too late to submit in the block at `expires_at`: the precheck and the block agree.
    let tx = net.tx(&early, submit(c));
    let late_submit = FailureReason::BountyClaimExpired {
        claim: c,
        expires_at,
    };
    assert_eq!(net.chain.precheck(&tx).unwrap(), Err(late_submit));
    let receipts = net.block(vec![tx]);
    // Expiry runs before the transactions, so the submission sees an expired claim.
    assert_eq!(
        receipts[0].status,
        TxStatus::Failed(FailureReason::BountyClaimState {
            claim: c,
            status: ClaimStatus::Expired
        })
    );
    assert!(receipts[1].events.contains(&Event::BountyClaimExpired {
        bounty: b2,
        claim: c
    }));
    assert_eq!(net.bounty(b2).status, BountyStatus::Open);
    assert!(net.bounty(b2).open_claims.is_empty());
}

#[test]
fn cancel_before_any_claim_or_after_the_deadline_refunds_everyone() {
    let mut net = Net::new();
    let (sponsor, approver, claimer, stranger) = (dev(0), dev(1), dev(2), dev(3));
    let start = net.balance(&addr(&sponsor));
    // 1. The sponsor cancels before any claim.
    let b1 = net.post(&sponsor, 40_000, net.height() + 50, addr(&approver));
    net.fails(
        &stranger,
        TxPayload::BountyCancel { bounty: b1 },
        FailureReason::BountyCancelTooEarly {
            bounty: b1,
            deadline: net.bounty(b1).deadline,
        },
    );
    let r = net.ok(&sponsor, TxPayload::BountyCancel { bounty: b1 });
    assert!(r.events.contains(&Event::BountyCancelled {
        bounty: b1,
        refunded: Amount::from_base_units(40_000),
        to: addr(&sponsor),
    }));
    assert_eq!(net.balance(&addr(&sponsor)), start - 2 * FEE);
    assert!(matches!(
        net.bounty(b1).status,
        BountyStatus::Cancelled { .. }
    ));

    // 2. Once someone claims, the sponsor must wait for the deadline.
    let deadline = net.height() + 8;
    let b2 = net.post(&sponsor, 40_000, deadline, addr(&approver));
    let c = net.claim_it(&claimer, b2, addr(&claimer));
    net.fails(
        &sponsor,
        TxPayload::BountyCancel { bounty: b2 },
        FailureReason::BountyHasOpenClaims {
            bounty: b2,
            open: 1,
        },
    );
    // After the deadline the unsubmitted claim has expired and anyone may cancel.
    net.until(deadline);
    assert_eq!(net.claim(c).status, ClaimStatus::Expired);
    let sponsor_before = net.balance(&addr(&sponsor));
    net.ok(&stranger, TxPayload::BountyCancel { bounty: b2 });
    assert_eq!(net.balance(&addr(&sponsor)), sponsor_before + 40_000);

    // 3. A submitted claim holds off a cancel for the review window after the deadline, then
    //    anyone may cancel; the claim is closed and its bond refunded.
    let deadline = net.height() + 5;
    let b3 = net.post(&sponsor, 40_000, deadline, addr(&approver));
    let c = net.claim_it(&claimer, b3, addr(&claimer));
    net.ok(&claimer, submit(c));
    net.until(deadline);
    let until = deadline + PARAMS.review_window;
    net.fails(
        &stranger,
        TxPayload::BountyCancel { bounty: b3 },
        FailureReason::BountyUnderReview {
            bounty: b3,
            claim: c,
            until,
        },
    );
    net.until(until - 1);
    let (sponsor_before, claimer_before) =
        (net.balance(&addr(&sponsor)), net.balance(&addr(&claimer)));
    let r = net.ok(&stranger, TxPayload::BountyCancel { bounty: b3 });
    assert_eq!(net.height(), until);
    assert!(r.events.contains(&Event::BountyClaimClosed {
        bounty: b3,
        claim: c
    }));
    assert_eq!(net.claim(c).status, ClaimStatus::Closed);
    assert_eq!(net.balance(&addr(&sponsor)), sponsor_before + 40_000);
    assert_eq!(net.balance(&addr(&claimer)), claimer_before + bond());
    assert_eq!(net.balance(&escrow_address()), 0);
    // Cancelled means cancelled: approving now fails.
    net.fails(
        &approver,
        TxPayload::BountyApprove { claim: c },
        FailureReason::BountyNotOpen {
            bounty: b3,
            status: net.bounty(b3).status,
        },
    );
}

fn signers() -> Vec<KeyPair> {
    (0..3)
        .map(|i| KeyPair::from_secret_bytes(&[0x90 + i; 32]).unwrap())
        .collect()
}

fn approve_call(
    net: &Net,
    policy: &MultisigPolicy,
    call: &MultisigCall,
    keys: &[&KeyPair],
) -> Vec<MultisigApproval> {
    let hash = call.approval_hash(&net.chain.genesis().chain_id);
    let mut approvals: Vec<MultisigApproval> = keys
        .iter()
        .map(|k| MultisigApproval {
            signer: policy.index_of(&k.public_key()).unwrap(),
            signature: k.sign(&hash),
        })
        .collect();
    approvals.sort_by_key(|a| a.signer);
    approvals
}

#[test]
fn a_two_of_three_multisig_approves_through_multisig_execute() {
    let mut net = Net::new();
    let keys = signers();
    let policy = MultisigPolicy::new(2, keys.iter().map(KeyPair::public_key).collect()).unwrap();
    let council = policy.address();
    let (sponsor, claimer, relayer) = (dev(0), dev(2), dev(7));
    net.ok(
        &sponsor,
        TxPayload::MultisigCreate {
            policy: policy.clone(),
        },
    );
    net.ok(
        &sponsor,
        TxPayload::Transfer {
            to: addr(&keys[0]),
            amount: Amount::from_base_units(10 * FEE),
        },
    );
    let b = net.post(&sponsor, 25_000, net.height() + 100, council);
    let c = net.claim_it(&claimer, b, addr(&claimer));
    net.ok(&claimer, submit(c));

    // A signer's own key is not the approvers.
    net.fails(
        &keys[0],
        TxPayload::BountyApprove { claim: c },
        FailureReason::NotBountyApprovers {
            bounty: b,
            approvers: council,
        },
    );
    // One approval is not enough.
    let call = MultisigCall {
        account: council,
        nonce: 0,
        action: MultisigAction::BountyApprove { claim: c },
    };
    let one = approve_call(&net, &policy, &call, &[&keys[1]]);
    net.fails(
        &relayer,
        TxPayload::MultisigExecute {
            call: call.clone(),
            approvals: one,
        },
        FailureReason::MultisigApprovals(rustchain_primitives::MultisigError::NotEnoughApprovals {
            have: 1,
            need: 2,
        }),
    );
    // Two of three pay the claimant.
    let claimer_before = net.balance(&addr(&claimer));
    let two = approve_call(&net, &policy, &call, &[&keys[2], &keys[0]]);
    let r = net.ok(
        &relayer,
        TxPayload::MultisigExecute {
            call: call.clone(),
            approvals: two.clone(),
        },
    );
    assert!(r.events.contains(&Event::MultisigExecuted {
        account: council,
        nonce: 0
    }));
    assert!(r.events.contains(&Event::BountyPaid {
        bounty: b,
        claim: c,
        to: addr(&claimer),
        amount: Amount::from_base_units(25_000),
    }));
    assert_eq!(
        net.balance(&addr(&claimer)),
        claimer_before + 25_000 + bond()
    );
    assert_eq!(net.nonce(&council), 1);
    // Replaying the approvals is a stale multisig nonce; a fresh approved call for the paid
    // bounty fails on the bounty rules and does not use the council's nonce.
    net.fails(
        &relayer,
        TxPayload::MultisigExecute {
            call: call.clone(),
            approvals: two,
        },
        FailureReason::MultisigNonce {
            expected: 1,
            got: 0,
        },
    );
    let again = MultisigCall {
        nonce: 1,
        ..call.clone()
    };
    let approvals = approve_call(&net, &policy, &again, &[&keys[0], &keys[1]]);
    net.fails(
        &relayer,
        TxPayload::MultisigExecute {
            call: again,
            approvals,
        },
        FailureReason::BountyNotOpen {
            bounty: b,
            status: net.bounty(b).status,
        },
    );
    assert_eq!(net.nonce(&council), 1);
}

#[test]
fn a_multisig_treasury_sponsors_and_rejects_by_multisig() {
    let mut net = Net::new();
    let keys = signers();
    let policy = MultisigPolicy::new(2, keys.iter().map(KeyPair::public_key).collect()).unwrap();
    let treasury = policy.address();
    let (funder, claimer, relayer) = (dev(0), dev(2), dev(7));
    net.ok(
        &funder,
        TxPayload::MultisigCreate {
            policy: policy.clone(),
        },
    );
    net.ok(
        &funder,
        TxPayload::Transfer {
            to: treasury,
            amount: Amount::from_base_units(90_000),
        },
    );
    let execute = |net: &mut Net, nonce: u64, action: MultisigAction| {
        let call = MultisigCall {
            account: treasury,
            nonce,
            action,
        };
        let approvals = approve_call(net, &policy, &call, &[&keys[0], &keys[1]]);
        net.ok(&relayer, TxPayload::MultisigExecute { call, approvals })
    };
    let deadline = net.height() + 100;
    let r = execute(
        &mut net,
        0,
        MultisigAction::BountyPost {
            title: "Treasury bounty".into(),
            url: "https://example.org/1".into(),
            amount: Amount::from_base_units(60_000),
            deadline,
            approvers: treasury,
        },
    );
    let b = bounty_id(&r);
    assert_eq!(net.bounty(b).sponsor, treasury);
    assert_eq!(net.balance(&treasury), 30_000);
    execute(
        &mut net,
        1,
        MultisigAction::BountyFund {
            bounty: b,
            amount: Amount::from_base_units(30_000),
        },
    );
    assert_eq!(net.balance(&treasury), 0);
    let c = net.claim_it(&claimer, b, addr(&claimer));
    let r = execute(&mut net, 2, MultisigAction::BountyReject { claim: c });
    assert!(r.events.contains(&Event::BountyBondForfeited {
        claim: c,
        to: treasury,
        amount: PARAMS.claim_bond,
    }));
    execute(&mut net, 3, MultisigAction::BountyCancel { bounty: b });
    assert_eq!(net.balance(&treasury), 90_000 + bond());
    // Sending to the escrow from a multisig fails like any transfer.
    let call = MultisigCall {
        account: treasury,
        nonce: 4,
        action: MultisigAction::Transfer {
            to: escrow_address(),
            amount: Amount::from_base_units(1),
        },
    };
    let approvals = approve_call(&net, &policy, &call, &[&keys[1], &keys[2]]);
    net.fails(
        &relayer,
        TxPayload::MultisigExecute { call, approvals },
        FailureReason::BountyEscrowReserved,
    );
}

/// A scripted history used by the determinism and rollback tests.
fn scripted(net: &mut Net) {
    let (sponsor, approver, claimer) = (dev(0), dev(1), dev(2));
    let b = net.post(&sponsor, 10_000, net.height() + 5, addr(&approver));
    let c1 = net.claim_it(&claimer, b, addr(&claimer));
    let c2 = net.claim_it(&dev(3), b, Address([3; 20]));
    net.ok(&claimer, submit(c1));
    net.empty_blocks(2); // c2 expires at the deadline
    net.ok(&approver, TxPayload::BountyApprove { claim: c1 });
    assert_eq!(net.claim(c2).status, ClaimStatus::Expired);
    let b2 = net.post(&sponsor, 5_000, net.height() + 20, addr(&approver));
    net.claim_it(&claimer, b2, addr(&claimer));
}

#[test]
fn the_same_blocks_give_the_same_state_roots() {
    let mut a = Net::new();
    scripted(&mut a);
    let b = Net::new();
    for block in &a.blocks {
        let executed = b
            .chain
            .execute(
                &BlockContext {
                    proposer: block.header.proposer,
                    slot: block.header.slot,
                },
                &block.transactions,
                &[],
                &[],
            )
            .unwrap();
        assert_eq!(executed.state_root, block.header.state_root);
        assert_eq!(executed.receipts_root, block.header.receipts_root);
        b.chain.commit(block, executed).unwrap();
    }
    assert_eq!(a.chain.head(), b.chain.head());
}

#[test]
fn rollback_restores_bounties_claims_counters_and_escrow() {
    let mut net = Net::new();
    net.block(vec![]);
    let (sponsor, approver, claimer) = (dev(0), dev(1), dev(2));
    let b = net.post(&sponsor, 10_000, net.height() + 50, addr(&approver));
    let at = net.height();
    let root = net.chain.head().state_root;
    let sponsor_balance = net.balance(&addr(&sponsor));
    let c = net.claim_it(&claimer, b, addr(&claimer));
    net.ok(&claimer, submit(c));
    net.ok(&approver, TxPayload::BountyApprove { claim: c });
    net.post(&sponsor, 20_000, net.height() + 50, addr(&approver));

    net.chain.rollback_to(at).unwrap();
    net.blocks.truncate(at as usize);
    assert_eq!(net.chain.head().state_root, root);
    let state = net.chain.head_state();
    assert_eq!(
        rustchain_state::bounty::counters(&state).unwrap(),
        rustchain_primitives::BountyCounters {
            bounties: 1,
            claims: 0
        }
    );
    assert_eq!(
        rustchain_state::bounty::claim_record(&state, c).unwrap(),
        None
    );
    assert_eq!(net.bounty(b).status, BountyStatus::Open);
    assert_eq!(net.balance(&escrow_address()), 10_000);
    assert_eq!(net.balance(&addr(&sponsor)), sponsor_balance);
    net.audit();
    drop(state);
    // The ids are assigned again from the restored counters.
    assert_eq!(net.claim_it(&dev(4), b, addr(&dev(4))), 1);
    assert_eq!(net.post(&sponsor, 1, net.height() + 5, addr(&approver)), 2);
}

// ---------------------------------------------------------------------------------------------
// Property test: random operations from several accounts, including invalid ones.

/// A random operation. `pick` chooses an id among the existing ones (or one just out of
/// range); `honest` sends it from the account entitled to it (sponsor, claimer, approvers)
/// rather than `by`, so the deep paths are reached as well as the refusals.
#[derive(Debug, Clone)]
enum Op {
    Post {
        by: usize,
        amount: u64,
        deadline_in: u64,
        approver: usize,
    },
    Fund {
        by: usize,
        pick: u64,
        amount: u64,
        honest: bool,
    },
    Claim {
        by: usize,
        pick: u64,
        claimant: usize,
    },
    Submit {
        by: usize,
        pick: u64,
        honest: bool,
    },
    Approve {
        by: usize,
        pick: u64,
        honest: bool,
    },
    Reject {
        by: usize,
        pick: u64,
        honest: bool,
    },
    Cancel {
        by: usize,
        pick: u64,
        honest: bool,
    },
    ToEscrow {
        by: usize,
    },
}

const ACTORS: usize = 5;

fn op() -> impl Strategy<Value = Op> {
    let by = 0..ACTORS;
    let pick = any::<u64>();
    let honest = any::<bool>();
    // Mostly affordable amounts, sometimes more than an account holds.
    let amount = prop_oneof![9 => 1u64..100_000, 1 => Just(20_000_000_000_000u64)];
    prop_oneof![
        2 => (by.clone(), amount.clone(), 1u64..12, 0..ACTORS).prop_map(
            |(by, amount, deadline_in, approver)| Op::Post {
                by,
                amount,
                deadline_in,
                approver
            }
        ),
        1 => (by.clone(), pick, amount, honest).prop_map(
            |(by, pick, amount, honest)| Op::Fund {
                by,
                pick,
                amount,
                honest
            }
        ),
        4 => (by.clone(), pick, 0..ACTORS + 2).prop_map(|(by, pick, claimant)| {
            Op::Claim {
                by,
                pick,
                claimant,
            }
        }),
        3 => (by.clone(), pick, honest)
            .prop_map(|(by, pick, honest)| Op::Submit { by, pick, honest }),
        3 => (by.clone(), pick, honest)
            .prop_map(|(by, pick, honest)| Op::Approve { by, pick, honest }),
        1 => (by.clone(), pick, honest)
            .prop_map(|(by, pick, honest)| Op::Reject { by, pick, honest }),
        1 => (by.clone(), pick, honest).prop_map(|(by, pick, honest)| Op::Cancel { by, pick, honest }),
        1 => by.prop_map(|by| Op::ToEscrow { by }),
    ]
}

/// An id in `0..=count + 1` (0 and `count + 1` do not exist).
fn choose(pick: u64, count: u64) -> u64 {
    pick % count.saturating_add(2)
}

/// The sender (an index into `actors`) and payload of `op` against the head state.
fn resolve(net: &Net, op: &Op, actors: &[KeyPair]) -> (usize, TxPayload) {
    // Index ACTORS is an outside account, ACTORS + 1 the escrow itself.
    let a = |i: usize| match actors.get(i) {
        Some(k) => addr(k),
        None if i == ACTORS => Address([0xEE; 20]),
        None => escrow_address(),
    };
    let state = net.chain.head_state();
    let c = rustchain_state::bounty::counters(&state).unwrap();
    let bounty = |id| rustchain_state::bounty::bounty(&state, id).unwrap();
    let claim = |id| rustchain_state::bounty::claim_record(&state, id).unwrap();
    let who = |by: usize, honest: bool, entitled: Option<Address>| {
        entitled
            .filter(|_| honest)
            .and_then(|e| actors.iter().position(|k| addr(k) == e))
            .unwrap_or(by)
    };
    let approvers_of = |id| {
        claim(id)
            .and_then(|c| bounty(c.bounty))
            .map(|b| b.approvers)
    };
    let height = net.height() + 1;
    match op.clone() {
        Op::Post {
            by,
            amount,
            deadline_in,
            approver,
        } => (by, post(amount, height + deadline_in, a(approver))),
        Op::Fund {
            by,
            pick,
            amount,
            honest,
        } => {
            let id = choose(pick, c.bounties);
            (
                who(by, honest, bounty(id).map(|b| b.sponsor)),
                TxPayload::BountyFund {
                    bounty: id,
                    amount: Amount::from_base_units(amount),
                },
            )
        }
        Op::Claim { by, pick, claimant } => (
            by,
            TxPayload::BountyClaim {
                bounty: choose(pick, c.bounties),
                claimant: a(claimant),
            },
        ),
        Op::Submit { by, pick, honest } => {
            let id = choose(pick, c.claims);
            (who(by, honest, claim(id).map(|c| c.claimer)), submit(id))
        }
        Op::Approve { by, pick, honest } => {
            let id = choose(pick, c.claims);
            (
                who(by, honest, approvers_of(id)),
                TxPayload::BountyApprove { claim: id },
            )
        }
        Op::Reject { by, pick, honest } => {
            let id = choose(pick, c.claims);
            (
                who(by, honest, approvers_of(id)),
                TxPayload::BountyReject { claim: id },
            )
        }
        Op::Cancel { by, pick, honest } => {
            let id = choose(pick, c.bounties);
            (
                who(by, honest, bounty(id).map(|b| b.sponsor)),
                TxPayload::BountyCancel { bounty: id },
            )
        }
        Op::ToEscrow { by } => (
            by,
            TxPayload::Transfer {
                to: escrow_address(),
                amount: Amount::from_base_units(1),
            },
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// After every block: the escrow holds exactly the open amounts plus open bonds (and the
    /// other audited invariants hold), the total of all balances is conserved, and no bounty is
    /// ever paid twice.
    #[test]
    fn escrow_invariant_and_conservation_hold_over_random_operations(
        blocks in proptest::collection::vec(proptest::collection::vec(op(), 0..5), 1..30)
    ) {
        let mut net = Net::new();
        let actors: Vec<KeyPair> = (0..ACTORS as u32).map(dev).collect();
        let mut watched: Vec<Address> = actors.iter().map(addr).collect();
        watched.push(Address([0xEE; 20]));
        watched.push(escrow_address());
        watched.push(Address::from_public_key(&dev_validator_key(0).unwrap().public_key()));
        let total = |net: &Net| -> u64 { watched.iter().map(|a| net.balance(a)).sum() };
        let supply = total(&net);
        let mut paid_events: Vec<u64> = vec![];
        for ops in blocks {
            let mut nonces: Vec<u64> = actors.iter().map(|k| net.nonce(&addr(k))).collect();
            let txs: Vec<Transaction> = ops
                .iter()
                .map(|op| {
                    let (by, p) = resolve(&net, op, &actors);
                    let tx = net.tx_with_nonce(&actors[by], nonces[by], p);
                    nonces[by] += 1;
                    tx
                })
                .collect();
            let receipts = net.block(txs); // audits the invariants
            prop_assert_eq!(total(&net), supply, "balances are conserved");
            for r in &receipts {
                for e in &r.events {
                    if let Event::BountyPaid { bounty, .. } = e {
                        prop_assert!(!paid_events.contains(bounty), "bounty {} paid twice", bounty);
                        paid_events.push(*bounty);
                    }
                }
                // A failed transaction has only its fee event.
                if !r.is_success() {
                    prop_assert_eq!(r.events.len(), 1);
                }
            }
        }
        // Every bounty paid once is Paid, and vice versa.
        let state = net.chain.head_state();
        let count = rustchain_state::bounty::counters(&state).unwrap().bounties;
        for id in 1..=count {
            let b = rustchain_state::bounty::bounty(&state, id).unwrap().unwrap();
            let paid = matches!(b.status, BountyStatus::Paid { .. });
            prop_assert_eq!(paid, paid_events.contains(&id));
        }
        let escrow = state.account(&escrow_address()).unwrap().balance;
        prop_assert_eq!(escrow, net.audit().escrow);
    }
}
