//! JSON shapes of the RustChain JSON-RPC API, shared by the server (`rustchain-rpc`) and its
//! clients (the wallet, tests). No I/O and no server dependencies, so clients stay small.
//!
//! Field names are snake_case; amounts are integers in base units; hashes, keys, signatures and encoded transactions are
//! 0x-prefixed hex; addresses are bech32m.

use rustchain_primitives::receipt::FailureReason;
use rustchain_primitives::{
    Amount, BlockHeader, Event, Hash, MultisigAction, NetworkKind, PublicKey, Receipt, Transaction,
    TxPayload, TxStatus,
};
use serde::{Deserialize, Serialize};

mod bounty;
pub use bounty::{BountyJson, BountyListJson, ClaimJson};
mod wallet;
pub use wallet::{
    PolicyJson, WalletAddressJson, WalletMultisigJson, WalletPolicyJson, WalletSendJson,
    WalletSendRequest, WalletStatusJson,
};

/// A block reference: a height, a 0x-hash, or `"latest"` / `"finalized"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum BlockId {
    /// By height on the canonical chain.
    Height(u64),
    /// By hash, or a tag.
    Text(String),
}

/// A block header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderJson {
    /// Block hash.
    pub hash: Hash,
    /// Header version.
    pub version: u32,
    /// Height.
    pub height: u64,
    /// Slot.
    pub slot: u64,
    /// Slot start, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Parent hash.
    pub parent_hash: Hash,
    /// Transactions root.
    pub transactions_root: Hash,
    /// Attestations root.
    pub attestations_root: Hash,
    /// Merkle root of the evidence.
    pub evidence_root: Hash,
    /// State root.
    pub state_root: Hash,
    /// Receipts root.
    pub receipts_root: Hash,
    /// Proposer public key.
    pub proposer: PublicKey,
    /// Proposer signature.
    pub signature: String,
}

impl From<&BlockHeader> for HeaderJson {
    fn from(h: &BlockHeader) -> Self {
        HeaderJson {
            hash: h.hash(),
            version: h.version,
            height: h.height,
            slot: h.slot,
            timestamp_ms: h.timestamp_ms,
            parent_hash: h.parent_hash,
            transactions_root: h.transactions_root,
            attestations_root: h.attestations_root,
            evidence_root: h.evidence_root,
            state_root: h.state_root,
            receipts_root: h.receipts_root,
            proposer: h.proposer,
            signature: h.signature.to_string(),
        }
    }
}

/// A height and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRef {
    /// Height.
    pub height: u64,
    /// Hash.
    pub hash: Hash,
}

/// One vote of a finality certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateVoteJson {
    /// The validator.
    pub voter: PublicKey,
    /// Its BIP-340 signature over the vote (0x-hex, 64 bytes).
    pub signature: String,
}

/// `chain_getFinalityCertificate` result: votes of more than 2/3 of the validators for the link
/// from `source` (the finalized block) to its child `target`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateJson {
    /// The finalized block.
    pub source: BlockRef,
    /// Its child.
    pub target: BlockRef,
    /// The votes, sorted by voter.
    pub votes: Vec<CertificateVoteJson>,
}

impl From<&rustchain_primitives::FinalityCertificate> for CertificateJson {
    fn from(c: &rustchain_primitives::FinalityCertificate) -> Self {
        CertificateJson {
            source: BlockRef {
                height: c.source.height,
                hash: c.source.hash,
            },
            target: BlockRef {
                height: c.target.height,
                hash: c.target.hash,
            },
            votes: c
                .signatures
                .iter()
                .map(|(voter, signature)| CertificateVoteJson {
                    voter: *voter,
                    signature: signature.to_string(),
                })
                .collect(),
        }
    }
}

/// `chain_getHead` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadJson {
    /// The head.
    pub head: BlockRef,
    /// The head's slot.
    pub head_slot: u64,
    /// The latest finalized block.
    pub finalized: BlockRef,
}

/// Where a transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    /// In the mempool.
    Pending,
    /// In a block that is not final yet.
    Included,
    /// In a finalized block.
    Finalized,
}

/// A transaction payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PayloadJson {
    /// A transfer.
    Transfer {
        /// recipient
        to: String,
        /// amount (base units)
        amount: Amount,
    },
    /// Registers a multisig account.
    MultisigCreate {
        /// the account's address
        account: String,
        /// approvals needed
        threshold: u8,
        /// signer public keys, ascending
        signers: Vec<PublicKey>,
    },
    /// Executes an approved multisig call; the sender pays the fee.
    MultisigExecute {
        /// the multisig account
        account: String,
        /// the call's nonce (the account's nonce when it executes)
        call_nonce: u64,
        /// what the call does
        action: MultisigActionJson,
        /// signer indexes whose approvals are included
        approved_by: Vec<u8>,
    },
    /// Posts a bounty (the sender is the sponsor).
    BountyPost {
        /// title
        title: String,
        /// reference URL of the issue
        url: String,
        /// amount locked (base units)
        amount: Amount,
        /// claims accepted in blocks below this height
        deadline: u64,
        /// who approves (a key or multisig account)
        approvers: String,
    },
    /// Tops up a bounty.
    BountyFund {
        /// bounty id
        bounty: u64,
        /// amount added (base units)
        amount: Amount,
    },
    /// Claims a bounty.
    BountyClaim {
        /// bounty id
        bounty: u64,
        /// who receives the reward
        claimant: String,
    },
    /// Submits a pull request for a claim.
    BountySubmit {
        /// claim id
        claim: u64,
        /// pull request reference
        pull_request: String,
    },
    /// Approves a submitted claim.
    BountyApprove {
        /// claim id
        claim: u64,
    },
    /// Rejects a claim.
    BountyReject {
        /// claim id
        claim: u64,
    },
    /// Cancels a bounty.
    BountyCancel {
        /// bounty id
        bounty: u64,
    },
}

/// What a multisig call does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MultisigActionJson {
    /// Move `amount` from the multisig account to `to`.
    Transfer {
        /// recipient
        to: String,
        /// amount (base units)
        amount: Amount,
    },
    /// Approve a submitted bounty claim.
    BountyApprove {
        /// claim id
        claim: u64,
    },
    /// Reject a bounty claim.
    BountyReject {
        /// claim id
        claim: u64,
    },
    /// Post a bounty sponsored by the multisig account.
    BountyPost {
        /// title
        title: String,
        /// reference URL of the issue
        url: String,
        /// amount locked (base units)
        amount: Amount,
        /// claims accepted in blocks below this height
        deadline: u64,
        /// who approves
        approvers: String,
    },
    /// Top up a bounty.
    BountyFund {
        /// bounty id
        bounty: u64,
        /// amount added (base units)
        amount: Amount,
    },
    /// Cancel a bounty.
    BountyCancel {
        /// bounty id
        bounty: u64,
    },
}

impl MultisigActionJson {
    /// JSON for an action.
    pub fn new(action: &MultisigAction, kind: NetworkKind) -> Self {
        match action {
            MultisigAction::Transfer { to, amount } => MultisigActionJson::Transfer {
                to: to.encode(kind),
                amount: *amount,
            },
            MultisigAction::BountyApprove { claim } => {
                MultisigActionJson::BountyApprove { claim: *claim }
            }
            MultisigAction::BountyReject { claim } => {
                MultisigActionJson::BountyReject { claim: *claim }
            }
            MultisigAction::BountyPost {
                title,
                url,
                amount,
                deadline,
                approvers,
            } => MultisigActionJson::BountyPost {
                title: title.clone(),
                url: url.clone(),
                amount: *amount,
                deadline: *deadline,
                approvers: approvers.encode(kind),
            },
            MultisigAction::BountyFund { bounty, amount } => MultisigActionJson::BountyFund {
                bounty: *bounty,
                amount: *amount,
            },
            MultisigAction::BountyCancel { bounty } => {
                MultisigActionJson::BountyCancel { bounty: *bounty }
            }
        }
    }
}

/// A registered multisig account (`state_getMultisig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultisigJson {
    /// Its address.
    pub address: String,
    /// Approvals needed.
    pub threshold: u8,
    /// Signer public keys, ascending (approvals refer to them by index).
    pub signers: Vec<PublicKey>,
    /// Balance (base units).
    pub balance: Amount,
    /// The nonce the next call must carry.
    pub nonce: u64,
    /// The block the state was read at.
    pub at: BlockRef,
}

/// A transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxJson {
    /// Transaction id.
    pub hash: Hash,
    /// Chain id.
    pub chain_id: String,
    /// Sender public key.
    pub sender: PublicKey,
    /// Sender address.
    pub from: String,
    /// Nonce.
    pub nonce: u64,
    /// Fee (base units).
    pub fee: Amount,
    /// Payload.
    pub payload: PayloadJson,
    /// Signature.
    pub signature: String,
    /// Pending, included or finalized.
    pub state: TxState,
    /// The block, once included.
    pub block: Option<TxBlockJson>,
}

/// A transaction's place in a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxBlockJson {
    /// Block hash.
    pub hash: Hash,
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
}

impl TxJson {
    /// JSON for a transaction.
    pub fn new(
        tx: &Transaction,
        kind: NetworkKind,
        state: TxState,
        block: Option<TxBlockJson>,
    ) -> Self {
        let payload = match &tx.body.payload {
            TxPayload::Transfer { to, amount } => PayloadJson::Transfer {
                to: to.encode(kind),
                amount: *amount,
            },
            TxPayload::MultisigCreate { policy } => PayloadJson::MultisigCreate {
                account: policy.address().encode(kind),
                threshold: policy.threshold,
                signers: policy.signers.clone(),
            },
            TxPayload::MultisigExecute { call, approvals } => PayloadJson::MultisigExecute {
                account: call.account.encode(kind),
                call_nonce: call.nonce,
                action: MultisigActionJson::new(&call.action, kind),
                approved_by: approvals.iter().map(|a| a.signer).collect(),
            },
            TxPayload::BountyPost {
                title,
                url,
                amount,
                deadline,
                approvers,
            } => PayloadJson::BountyPost {
                title: title.clone(),
                url: url.clone(),
                amount: *amount,
                deadline: *deadline,
                approvers: approvers.encode(kind),
            },
            TxPayload::BountyFund { bounty, amount } => PayloadJson::BountyFund {
                bounty: *bounty,
                amount: *amount,
            },
            TxPayload::BountyClaim { bounty, claimant } => PayloadJson::BountyClaim {
                bounty: *bounty,
                claimant: claimant.encode(kind),
            },
            TxPayload::BountySubmit {
                claim,
                pull_request,
            } => PayloadJson::BountySubmit {
                claim: *claim,
                pull_request: pull_request.clone(),
            },
            TxPayload::BountyApprove { claim } => PayloadJson::BountyApprove { claim: *claim },
            TxPayload::BountyReject { claim } => PayloadJson::BountyReject { claim: *claim },
            TxPayload::BountyCancel { bounty } => PayloadJson::BountyCancel { bounty: *bounty },
        };
        TxJson {
            hash: tx.hash(),
            chain_id: tx.body.chain_id.to_string(),
            sender: tx.body.sender,
            from: tx.body.sender_address().encode(kind),
            nonce: tx.body.nonce,
            fee: tx.body.fee,
            payload,
            signature: tx.signature.to_string(),
            state,
            block,
        }
    }
}

/// Transactions of a block: full objects or ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BlockTransactions {
    /// Full transactions.
    Full(Vec<TxJson>),
    /// Transaction ids.
    Hashes(Vec<Hash>),
}

/// A block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockJson {
    /// The header.
    pub header: HeaderJson,
    /// Transactions (full or ids, as requested).
    pub transactions: BlockTransactions,
    /// Number of attestations (always 0 until RIP-200 lands).
    pub attestation_count: usize,
    /// Whether the block is finalized.
    pub finalized: bool,
}

/// An event in a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventJson {
    /// Value moved.
    Transfer {
        /// sender
        from: String,
        /// recipient
        to: String,
        /// amount
        amount: Amount,
    },
    /// Fee paid.
    FeePaid {
        /// payer
        payer: String,
        /// proposer credited
        proposer: String,
        /// amount
        amount: Amount,
    },
    /// A multisig account was registered.
    MultisigCreated {
        /// its address
        account: String,
    },
    /// A multisig call executed.
    MultisigExecuted {
        /// the multisig account
        account: String,
        /// the call's nonce
        nonce: u64,
    },
    /// A miner's epoch reward.
    EpochReward {
        /// settled epoch
        epoch: u64,
        /// miner address
        miner: String,
        /// amount credited
        amount: Amount,
    },
    /// A bounty was posted (amount moved from the sponsor to escrow).
    BountyPosted {
        /// the assigned bounty id
        bounty: u64,
        /// sponsor
        sponsor: String,
        /// approvers
        approvers: String,
        /// amount locked
        amount: Amount,
        /// claims accepted below this height
        deadline: u64,
    },
    /// A bounty was topped up.
    BountyFunded {
        /// bounty id
        bounty: u64,
        /// amount added
        amount: Amount,
        /// the bounty's amount now
        total: Amount,
    },
    /// A claim was made (bond moved from the claimer to escrow).
    BountyClaimed {
        /// bounty id
        bounty: u64,
        /// the assigned claim id
        claim: u64,
        /// who made it
        claimer: String,
        /// who receives the reward
        claimant: String,
        /// bond locked
        bond: Amount,
        /// unless submitted, it expires at this height
        expires_at: u64,
    },
    /// A pull request was submitted.
    BountySubmitted {
        /// bounty id
        bounty: u64,
        /// claim id
        claim: u64,
    },
    /// A bounty was paid to a claimant.
    BountyPaid {
        /// bounty id
        bounty: u64,
        /// claim id
        claim: u64,
        /// the claimant
        to: String,
        /// amount paid
        amount: Amount,
    },
    /// A claim was rejected.
    BountyClaimRejected {
        /// bounty id
        bounty: u64,
        /// claim id
        claim: u64,
    },
    /// A claim expired unsubmitted.
    BountyClaimExpired {
        /// bounty id
        bounty: u64,
        /// claim id
        claim: u64,
    },
    /// A claim was closed because its bounty ended.
    BountyClaimClosed {
        /// bounty id
        bounty: u64,
        /// claim id
        claim: u64,
    },
    /// A bounty was cancelled and refunded to the sponsor.
    BountyCancelled {
        /// bounty id
        bounty: u64,
        /// amount refunded
        refunded: Amount,
        /// the sponsor
        to: String,
    },
    /// A claim's bond was refunded to the claimer.
    BountyBondRefunded {
        /// claim id
        claim: u64,
        /// the claimer
        to: String,
        /// the bond
        amount: Amount,
    },
    /// A rejected claim's bond was forfeited to the sponsor.
    BountyBondForfeited {
        /// claim id
        claim: u64,
        /// the sponsor
        to: String,
        /// the bond
        amount: Amount,
    },
}

impl EventJson {
    /// JSON for an event.
    pub fn new(e: &Event, kind: NetworkKind) -> Self {
        match e {
            Event::Transfer { from, to, amount } => EventJson::Transfer {
                from: from.encode(kind),
                to: to.encode(kind),
                amount: *amount,
            },
            Event::FeePaid {
                payer,
                proposer,
                amount,
            } => EventJson::FeePaid {
                payer: payer.encode(kind),
                proposer: proposer.encode(kind),
                amount: *amount,
            },
            Event::MultisigCreated { account } => EventJson::MultisigCreated {
                account: account.encode(kind),
            },
            Event::MultisigExecuted { account, nonce } => EventJson::MultisigExecuted {
                account: account.encode(kind),
                nonce: *nonce,
            },
            Event::EpochReward {
                epoch,
                miner,
                amount,
            } => EventJson::EpochReward {
                epoch: *epoch,
                miner: miner.encode(kind),
                amount: *amount,
            },
            Event::BountyPosted {
                bounty,
                sponsor,
                approvers,
                amount,
                deadline,
            } => EventJson::BountyPosted {
                bounty: *bounty,
                sponsor: sponsor.encode(kind),
                approvers: approvers.encode(kind),
                amount: *amount,
                deadline: *deadline,
            },
            Event::BountyFunded {
                bounty,
                amount,
                total,
            } => EventJson::BountyFunded {
                bounty: *bounty,
                amount: *amount,
                total: *total,
            },
            Event::BountyClaimed {
                bounty,
                claim,
                claimer,
                claimant,
                bond,
                expires_at,
            } => EventJson::BountyClaimed {
                bounty: *bounty,
                claim: *claim,
                claimer: claimer.encode(kind),
                claimant: claimant.encode(kind),
                bond: *bond,
                expires_at: *expires_at,
            },
            Event::BountySubmitted { bounty, claim } => EventJson::BountySubmitted {
                bounty: *bounty,
                claim: *claim,
            },
            Event::BountyPaid {
                bounty,
                claim,
                to,
                amount,
            } => EventJson::BountyPaid {
                bounty: *bounty,
                claim: *claim,
                to: to.encode(kind),
                amount: *amount,
            },
            Event::BountyClaimRejected { bounty, claim } => EventJson::BountyClaimRejected {
                bounty: *bounty,
                claim: *claim,
            },
            Event::BountyClaimExpired { bounty, claim } => EventJson::BountyClaimExpired {
                bounty: *bounty,
                claim: *claim,
            },
            Event::BountyClaimClosed { bounty, claim } => EventJson::BountyClaimClosed {
                bounty: *bounty,
                claim: *claim,
            },
            Event::BountyCancelled {
                bounty,
                refunded,
                to,
            } => EventJson::BountyCancelled {
                bounty: *bounty,
                refunded: *refunded,
                to: to.encode(kind),
            },
            Event::BountyBondRefunded { claim, to, amount } => EventJson::BountyBondRefunded {
                claim: *claim,
                to: to.encode(kind),
                amount: *amount,
            },
            Event::BountyBondForfeited { claim, to, amount } => EventJson::BountyBondForfeited {
                claim: *claim,
                to: to.encode(kind),
                amount: *amount,
            },
        }
    }
}

/// A receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptJson {
    /// Transaction id.
    pub tx_hash: Hash,
    /// Block hash.
    pub block_hash: Hash,
    /// Block height.
    pub block_height: u64,
    /// Position in the block.
    pub index: u32,
    /// `"success"` or `"failed"`.
    pub status: String,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Fee charged.
    pub fee_paid: Amount,
    /// Events.
    pub events: Vec<EventJson>,
    /// Whether the block is finalized.
    pub finalized: bool,
}

impl ReceiptJson {
    /// JSON for a receipt.
    pub fn new(r: &Receipt, block: &TxBlockJson, finalized: bool, kind: NetworkKind) -> Self {
        let (status, error) = match &r.status {
            TxStatus::Success => ("success".to_string(), None),
            TxStatus::Failed(reason) => ("failed".to_string(), Some(failure_text(reason))),
        };
        ReceiptJson {
            tx_hash: r.tx_hash,
            block_hash: block.hash,
            block_height: block.height,
            index: block.index,
            status,
            error,
            fee_paid: r.fee_paid,
            events: r.events.iter().map(|e| EventJson::new(e, kind)).collect(),
            finalized,
        }
    }
}

fn failure_text(reason: &FailureReason) -> String {
    reason.to_string()
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountJson {
    /// Address.
    pub address: String,
    /// Balance (base units).
    pub balance: Amount,
    /// Nonce the next included transaction must carry.
    pub nonce: u64,
    /// Nonce to use for a new transaction, counting this account's pending pool transactions
    /// (only when reading at the head).
    pub next_nonce: u64,
    /// The block the account was read at.
    pub at: BlockRef,
}

/// `system_info` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoJson {
    /// Chain id.
    pub chain_id: String,
    /// `main`, `test` or `dev`.
    pub network: String,
    /// Address prefix on this chain.
    pub address_prefix: String,
    /// Genesis hash.
    pub genesis_hash: Hash,
    /// Node software version.
    pub version: String,
    /// `validator` or `full`.
    pub role: String,
    /// Slot duration (ms).
    pub slot_duration_ms: u64,
    /// Minimum transaction fee (base units).
    pub min_fee: Amount,
}

/// `system_health` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthJson {
    /// `ok`, or `stalled` when the head is older than a few slots.
    pub status: String,
    /// Head height.
    pub head_height: u64,
    /// Finalized height.
    pub finalized_height: u64,
    /// Milliseconds since the head's slot started.
    pub head_age_ms: u64,
    /// Whether the node is catching up with peers (same as `sync.syncing`).
    pub syncing: bool,
    /// Sync progress.
    pub sync: SyncJson,
    /// Connected peers.
    pub peers: usize,
    /// Transactions in the mempool.
    pub mempool_size: usize,
}

/// `tx_submit` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitJson {
    /// Transaction id.
    pub hash: Hash,
    /// Whether it can be included in the next block (false: waiting for an earlier nonce).
    pub ready: bool,
    /// The pooled transaction it replaced, if any.
    pub replaced: Option<Hash>,
}

/// Sync progress, in `system_health`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncJson {
    /// Catching up with peers (block production pauses meanwhile).
    pub syncing: bool,
    /// Our head height.
    pub current_height: u64,
    /// The best head height reported by a peer (our own head when no peer is ahead).
    pub target_height: u64,
    /// Blocks imported per second during the current (or last) catch-up.
    pub blocks_per_second: f64,
}

/// `net_peers` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerJson {
    /// libp2p peer id.
    pub peer_id: String,
    /// Address of its first connection (for inbound peers, where it connected from).
    pub address: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// Application score: 0 is best; at -100 the peer is disconnected and banned.
    pub score: f64,
}

/// `net_info` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetInfoJson {
    /// Our libp2p peer id.
    pub peer_id: String,
    /// The bound listen addresses (with real ports).
    pub listen_addrs: Vec<String>,
    /// Connected peers.
    pub peer_count: usize,
}

/// `chain_getValidators` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorJson {
    /// The validator's public key (x-only, 0x-hex).
    pub public_key: String,
    /// In the proposer rotation and counted for finality at the head's next slot.
    pub active: bool,
    /// Offences punished so far.
    pub offences: u32,
    /// Jailed for every slot below this one; `null` when never jailed or the jail is over,
    /// `18446744073709551615` (u64::MAX) when jailed permanently.
    pub jailed_until_slot: Option<u64>,
}

/// `attest_getChallenge`: what a miner needs to build an attestation for the current window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeJson {
    /// The chain id to sign for.
    pub chain_id: String,
    /// Current epoch.
    pub epoch: u64,
    /// Current attestation window inside the epoch (0-based).
    pub window: u32,
    /// Windows per epoch.
    pub windows_per_epoch: u32,
    /// The block to reference (the head): its slot is in `epoch`/`window`.
    pub reference: BlockRef,
    /// Leading zero bits the proof-of-work hash needs.
    pub pow_bits: u32,
    /// Whether this chain accepts `Simulated` attestations (dev and test chain ids only).
    pub simulated_allowed: bool,
    /// First slot of the current window.
    pub window_start_slot: u64,
    /// First slot of the next window.
    pub window_end_slot: u64,
    /// Slot duration in milliseconds.
    pub slot_duration_ms: u64,
    /// Milliseconds until the next window starts (from the node's clock).
    pub ms_to_next_window: u64,
}

/// `attest_submit`: the node's verdict on an accepted attestation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestResultJson {
    /// The attestation id.
    pub id: Hash,
    /// Epoch attested.
    pub epoch: u64,
    /// Window attested.
    pub window: u32,
    /// Hardware class the validators derived from the evidence.
    pub class: rustchain_primitives::HardwareClass,
    /// Its multiplier, in basis points (10,000 = 1.0x); 0 for a VM, emulator or container.
    pub multiplier_bps: u32,
    /// The machine verdict: `bare_metal`, `virtual_machine`, `emulator` or `container`.
    pub verdict: String,
    /// Why (VM signals found, why a class was capped, what could not be measured).
    pub reasons: Vec<String>,
    /// The hardware profile hash.
    pub profile_hash: Hash,
    /// An estimate of this miner's reward for the epoch if nobody else attests any more, in
    /// base units.
    pub expected_reward: Amount,
}

/// `epoch_getInfo`: the current epoch at the head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochInfoJson {
    /// Current epoch (of the head's slot).
    pub epoch: u64,
    /// Current window.
    pub window: u32,
    /// Windows per epoch.
    pub windows_per_epoch: u32,
    /// Slots per epoch.
    pub epoch_slots: u64,
    /// First slot of the epoch.
    pub first_slot: u64,
    /// The epoch's pot, in base units (before the supply cap).
    pub pot: Amount,
    /// Miners with an attestation included in this epoch so far.
    pub enrolled_miners: u64,
    /// Attestations waiting in this node's pool.
    pub pending_attestations: u64,
    /// RTC issued to miners since genesis, in base units.
    pub issued_total: Amount,
}

/// One miner's entry in an epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochMinerJson {
    /// Miner key.
    pub miner: PublicKey,
    /// Its address.
    pub address: String,
    /// Windows attested (sorted).
    pub windows: Vec<u32>,
    /// Hardware class.
    pub class: rustchain_primitives::HardwareClass,
    /// Machine verdict.
    pub verdict: String,
    /// Multiplier in basis points.
    pub multiplier_bps: u32,
    /// Hardware profile hash.
    pub profile_hash: Hash,
    /// Reward received for the epoch (once settled).
    pub reward: Option<Amount>,
}

/// `epoch_getRewards`: an epoch's attestations and settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochRewardsJson {
    /// The epoch.
    pub epoch: u64,
    /// Settled yet?
    pub settled: bool,
    /// Height of the settling block.
    pub settled_at_height: Option<u64>,
    /// The pot that was split (after the supply cap), once settled.
    pub pot: Option<Amount>,
    /// Sum paid.
    pub paid: Amount,
    /// Miners enrolled in the epoch.
    pub miner_count: u64,
    /// Position of the first miner of `miners` (in enrollment order).
    pub offset: u64,
    /// A page of the epoch's miners, in enrollment order.
    pub miners: Vec<EpochMinerJson>,
}

/// `miner_get`: a miner's standing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinerJson {
    /// Miner key.
    pub miner: PublicKey,
    /// Its address (where rewards go).
    pub address: String,
    /// First epoch attested.
    pub first_epoch: u64,
    /// Latest epoch attested.
    pub last_epoch: u64,
    /// Latest window attested.
    pub last_window: u32,
    /// Attestations included.
    pub attestations: u64,
    /// Latest class.
    pub class: rustchain_primitives::HardwareClass,
    /// Latest verdict.
    pub verdict: String,
    /// Latest multiplier (basis points).
    pub multiplier_bps: u32,
    /// Latest hardware profile.
    pub profile_hash: Hash,
    /// Total rewards received, in base units.
    pub total_rewards: Amount,
}
