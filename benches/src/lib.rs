//! Shared set-up for the criterion benchmarks: a real RocksDB-backed chain with many funded
//! accounts, and blocks of signed transfers on top of its head.

// Benchmark support: a failed set-up should stop the run loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use rustchain_consensus::SlotTiming;
use rustchain_genesis::{GenesisAccountSpec, GenesisSpec, GenesisValidator};
use rustchain_primitives::block::HEADER_VERSION;
use rustchain_primitives::merkle::merkle_root;
use rustchain_primitives::{
    Address, Amount, Block, BlockHeader, ChainId, Hash, KeyPair, Signature, Transaction, TxBody,
    TxPayload,
};
use rustchain_state::{BlockContext, Chain};

/// A chain in a temporary directory with `senders` funded accounts (100 RTC each).
pub struct BenchChain {
    /// The chain.
    pub chain: Chain,
    /// Sender keys (index i is funded).
    pub senders: Vec<KeyPair>,
    /// The validator key.
    pub validator: KeyPair,
    /// Next nonce of each sender.
    pub nonces: Vec<u64>,
    /// Blocks built so far (used to vary recipients).
    pub round: u64,
    _dir: tempfile::TempDir,
}

fn key(i: u64, salt: u8) -> KeyPair {
    let mut secret = [0u8; 32];
    secret[0] = salt;
    secret[24..].copy_from_slice(&(i + 1).to_be_bytes());
    KeyPair::from_secret_bytes(&secret).unwrap()
}

impl std::fmt::Debug for BenchChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BenchChain")
            .field("senders", &self.senders.len())
            .finish_non_exhaustive()
    }
}

impl BenchChain {
    /// Genesis with `senders` accounts of 100 RTC each.
    pub fn new(senders: usize) -> BenchChain {
        let chain_id = ChainId::new("dev-bench").unwrap();
        let kind = chain_id.kind();
        let keys: Vec<KeyPair> = (0..senders as u64).map(|i| key(i, 1)).collect();
        let validator = key(0, 2);
        let spec = GenesisSpec {
            chain_id,
            genesis_time_ms: 0,
            slot_duration_ms: 1_000,
            epoch_slots: 60,
            attestation_windows: 5,
            reward_per_epoch: Amount::from_base_units(150_000_000),
            supply_cap: Amount::SUPPLY_CAP,
            min_fee: Amount::from_base_units(1_000),
            validators: vec![GenesisValidator {
                public_key: validator.public_key(),
                name: "bench".into(),
            }],
            jail_slots: [600, 6_000],
            rip200: Default::default(),
            accounts: keys
                .iter()
                .map(|k| GenesisAccountSpec {
                    address: Address::from_public_key(&k.public_key()).encode(kind),
                    balance: Amount::from_rtc(100).unwrap(),
                })
                .collect(),
        };
        let dir = tempfile::tempdir().unwrap();
        let chain = Chain::open(dir.path(), spec.validate().unwrap()).unwrap();
        BenchChain {
            chain,
            nonces: vec![0; senders],
            senders: keys,
            validator,
            round: 0,
            _dir: dir,
        }
    }

    /// `n` signed transfers, one from each of the first `n` senders to a fresh recipient each.
    pub fn transfers(&mut self, n: usize) -> Vec<Transaction> {
        assert!(n <= self.senders.len());
        self.round += 1;
        let chain_id = self.chain.genesis().chain_id.clone();
        (0..n)
            .map(|i| {
                let mut to = [0u8; 20];
                to[..8].copy_from_slice(&self.round.to_be_bytes());
                to[8..16].copy_from_slice(&(i as u64).to_be_bytes());
                let tx = TxBody {
                    chain_id: chain_id.clone(),
                    sender: self.senders[i].public_key(),
                    nonce: self.nonces[i],
                    fee: Amount::from_base_units(1_000),
                    payload: TxPayload::Transfer {
                        to: Address(to),
                        amount: Amount::from_base_units(1),
                    },
                }
                .sign(&self.senders[i]);
                self.nonces[i] += 1;
                tx
            })
            .collect()
    }

    /// The execution context of a block by the bench validator at `slot`.
    pub fn context(&self, slot: u64) -> BlockContext {
        BlockContext {
            proposer: self.validator.public_key(),
            slot,
        }
    }

    /// A valid, signed block of `txs` on the current head (executes once to learn the roots).
    pub fn block(&self, txs: Vec<Transaction>) -> Block {
        let head = self.chain.head();
        let executed = self
            .chain
            .execute(&self.context(head.slot + 1), &txs, &[], &[])
            .unwrap();
        let genesis = self.chain.genesis();
        let timing = SlotTiming {
            genesis_time_ms: genesis.genesis_time_ms,
            slot_duration_ms: genesis.slot_duration_ms,
        };
        let ids: Vec<Hash> = txs.iter().map(Transaction::hash).collect();
        let slot = head.slot + 1;
        let mut header = BlockHeader {
            version: HEADER_VERSION,
            height: head.height + 1,
            slot,
            timestamp_ms: timing.slot_start(slot).unwrap(),
            parent_hash: head.hash,
            transactions_root: merkle_root(&ids),
            attestations_root: merkle_root(&[]),
            evidence_root: merkle_root(&[]),
            state_root: executed.state_root,
            receipts_root: executed.receipts_root,
            proposer: self.validator.public_key(),
            signature: Signature::EMPTY,
        };
        header.sign(&genesis.chain_id, &self.validator);
        Block {
            header,
            transactions: txs,
            attestations: vec![],
            evidence: vec![],
        }
    }
}
