//! The transaction pool, and the attestation pool ([`attestations`]).
//!
//! Transactions wait here between admission ([`admit`], from RPC and gossip) and inclusion in a
//! block.
//!
//! - **Per-sender nonce queues.** Each sender's transactions are kept by nonce. Those with
//!   consecutive nonces starting at the account's current nonce are *ready*; the rest are
//!   *future* (waiting for a gap to fill). Only ready transactions are offered to block building.
//! - **Replacement.** A transaction with the nonce of a pooled one replaces it only if its fee is
//!   higher by at least [`MempoolConfig::replacement_bump_percent`] (and by at least one unit).
//! - **Caps.** On total count, total bytes, per-sender count, and how far ahead of the account
//!   nonce a transaction may be. When the pool is full, a new transaction may evict the
//!   lowest-fee transaction at the *tail* of some sender's queue (never one in the middle, which
//!   would strand the transactions after it) if it pays more; otherwise it is refused.
//! - **Admission checks.** Signature, chain id, minimum fee, nonce not already used, balance
//!   covering this and the sender's earlier pooled transactions. Every refusal is a [`Rejection`]
//!   with its reason.
//! - **Expiry.** Transactions older than [`MempoolConfig::expiry_ms`] are dropped by [`Mempool::
//!   prune`]. The pool reads no clock: callers pass the time, which keeps it deterministic.

pub mod attestations;
pub use attestations::{admit_attestation, inclusion_slot, AttestationPool, AttestationRejection};

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;

use rustchain_primitives::{codec::MAX_TX_BYTES, Account, Address, Amount, Hash, Transaction};
use rustchain_state::rules::{check_stateless, TxInvalid, TxRules};

/// Admits a transaction arriving from outside (RPC or gossip) into the shared `pool`: the
/// stateless rules and the signature are checked *before* the pool lock is taken (so submitters
/// do not queue behind each other's verification), then the sender's account is read at the
/// chain's head and the pool decides. `Err` is a storage failure, never the sender's fault.
pub fn admit(
    pool: &parking_lot::Mutex<Mempool>,
    chain: &rustchain_state::Chain,
    tx: Transaction,
    now_ms: u64,
) -> Result<Result<Admitted, Rejection>, rustchain_state::StoreError> {
    if let Err(e) = check_stateless(&tx, chain.rules()) {
        return Ok(Err(e.into()));
    }
    if let Err(e) = tx.verify_signature() {
        return Ok(Err(TxInvalid::BadSignature(e.to_string()).into()));
    }
    if let Err(reason) = chain.precheck(&tx)? {
        return Ok(Err(Rejection::WouldFail(reason)));
    }
    let account = chain.account(&tx.body.sender_address(), None)?;
    Ok(pool.lock().add(tx, account, now_ms, true))
}

/// Pool limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Most transactions in the pool.
    pub max_txs: usize,
    /// Most encoded bytes in the pool.
    pub max_bytes: usize,
    /// Most transactions per sender (also how far ahead of the account nonce one may be).
    pub max_per_sender: usize,
    /// Age after which a transaction is dropped, in milliseconds.
    pub expiry_ms: u64,
    /// Minimum fee increase, in percent, for a replacement.
    pub replacement_bump_percent: u64,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_txs: 50_000,
            max_bytes: 64 * 1024 * 1024,
            max_per_sender: 256,
            expiry_ms: 30 * 60 * 1000,
            replacement_bump_percent: 10,
        }
    }
}

/// Why a transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Broke a stateless or stateful inclusion rule (chain id, fee, nonce, balance, signature).
    #[error(transparent)]
    Invalid(#[from] TxInvalid),
    /// Larger than the transaction size limit.
    #[error("transaction is {size} bytes, above the limit of {max}")]
    TooLarge {
        /// size
        size: usize,
        /// limit
        max: usize,
    },
    /// The payload would certainly fail against the head state (a multisig call that is not
    /// approved, not current, or for an unregistered account; a multisig account registered
    /// twice; a bounty operation that breaks a bounty rule), so admitting it would only burn
    /// the sender's fee.
    #[error("the payload would fail: {0}")]
    WouldFail(rustchain_primitives::receipt::FailureReason),
    /// Already in the pool.
    #[error("transaction {0} is already in the pool")]
    AlreadyKnown(Hash),
    /// Replaces a pooled transaction without paying enough more.
    #[error("replacement underpriced: the pooled transaction with this nonce pays {old_fee}; a replacement must pay at least {min_fee}")]
    ReplacementUnderpriced {
        /// fee of the pooled one
        old_fee: Amount,
        /// minimum for a replacement
        min_fee: Amount,
    },
    /// Nonce too far ahead of the account.
    #[error(
        "nonce {got} is too far ahead of the account nonce {expected} (at most {max_ahead} ahead)"
    )]
    NonceGap {
        /// account nonce
        expected: u64,
        /// tx nonce
        got: u64,
        /// allowed distance
        max_ahead: usize,
    },
    /// The sender already has the maximum number of pooled transactions.
    #[error("sender has {0} pooled transactions, the per-sender limit")]
    SenderFull(usize),
    /// The pool is full and the transaction does not pay enough to evict another.
    #[error("transaction pool is full ({count} transactions, {bytes} bytes); pay a higher fee or retry later")]
    PoolFull {
        /// transactions
        count: usize,
        /// bytes
        bytes: usize,
    },
}

/// How a transaction entered the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admitted {
    /// New transaction; `ready` says whether it can go in the next block.
    Added {
        /// tx id
        hash: Hash,
        /// includable now
        ready: bool,
    },
    /// Replaced a pooled transaction with the same nonce.
    Replaced {
        /// tx id
        hash: Hash,
        /// the replaced tx id
        replaced: Hash,
    },
}

impl Admitted {
    /// The admitted transaction's id.
    pub fn hash(&self) -> Hash {
        match self {
            Admitted::Added { hash, .. } | Admitted::Replaced { hash, .. } => *hash,
        }
    }
}

#[derive(Debug, Clone)]
struct PooledTx {
    tx: Arc<Transaction>,
    hash: Hash,
    size: usize,
    added_at_ms: u64,
}

/// The transaction pool.
#[derive(Debug)]
pub struct Mempool {
    config: MempoolConfig,
    rules: TxRules,
    senders: BTreeMap<Address, BTreeMap<u64, PooledTx>>,
    by_hash: HashMap<Hash, (Address, u64)>,
    bytes: usize,
}

impl Mempool {
    /// An empty pool.
    pub fn new(config: MempoolConfig, rules: TxRules) -> Self {
        Mempool {
            config,
            rules,
            senders: BTreeMap::new(),
            by_hash: HashMap::new(),
            bytes: 0,
        }
    }

    /// Number of pooled transactions.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Is the pool empty?
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Encoded bytes pooled.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Is this exact transaction (by id, which covers its signature) pooled? Every pooled
    /// transaction's signature has been verified.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// A pooled transaction by id.
    pub fn get(&self, hash: &Hash) -> Option<Arc<Transaction>> {
        let (sender, nonce) = self.by_hash.get(hash)?;
        self.senders.get(sender)?.get(nonce).map(|p| p.tx.clone())
    }

    /// The next nonce a sender should use, counting its ready pooled transactions.
    pub fn next_nonce(&self, sender: &Address, account_nonce: u64) -> u64 {
        let mut next = account_nonce;
        if let Some(queue) = self.senders.get(sender) {
            while queue.contains_key(&next) {
                next += 1;
            }
        }
        next
    }

    /// Admits a transaction. `sender_account` is the sender's account at the current head.
    /// The signature is verified here unless `signature_verified` says the caller already did.
    pub fn add(
        &mut self,
        tx: Transaction,
        sender_account: Account,
        now_ms: u64,
        signature_verified: bool,
    ) -> Result<Admitted, Rejection> {
        let size = tx.encode().len();
        if size > MAX_TX_BYTES {
            return Err(Rejection::TooLarge {
                size,
                max: MAX_TX_BYTES,
            });
        }
        check_stateless(&tx, &self.rules)?;
        let nonce = tx.body.nonce;
        // A used nonce is a replay even while the pool still holds the included copy (the
        // pool is pruned just after the block that included it is committed).
        if nonce < sender_account.nonce {
            return Err(TxInvalid::NonceTooLow {
                expected: sender_account.nonce,
                got: nonce,
            }
            .into());
        }
        let hash = tx.hash();
        if self.by_hash.contains_key(&hash) {
            return Err(Rejection::AlreadyKnown(hash));
        }
        if !signature_verified {
            tx.verify_signature()
                .map_err(|e| TxInvalid::BadSignature(e.to_string()))?;
        }
        let sender = tx.body.sender_address();
        let ahead = nonce - sender_account.nonce;
        if ahead >= self.config.max_per_sender as u64 {
            return Err(Rejection::NonceGap {
                expected: sender_account.nonce,
                got: nonce,
                max_ahead: self.config.max_per_sender.saturating_sub(1),
            });
        }
        // The balance must cover this transaction plus the sender's earlier pooled ones.
        let queue = self.senders.get(&sender);
        let mut needed = tx.max_cost().ok_or(TxInvalid::CostOverflow)?;
        if let Some(queue) = queue {
            for pooled in queue.range(sender_account.nonce..nonce).map(|(_, p)| p) {
                let cost = pooled.tx.max_cost().ok_or(TxInvalid::CostOverflow)?;
                needed = needed.checked_add(cost).ok_or(TxInvalid::CostOverflow)?;
            }
        }
        if needed > sender_account.balance {
            return Err(TxInvalid::InsufficientBalance {
                balance: sender_account.balance,
                needed,
            }
            .into());
        }

        // Replacement of the same nonce.
        if let Some(old) = queue.and_then(|q| q.get(&nonce)) {
            let bump = old
                .tx
                .body
                .fee
                .base_units()
                .saturating_mul(self.config.replacement_bump_percent)
                / 100;
            let min_fee =
                Amount::from_base_units(old.tx.body.fee.base_units().saturating_add(bump.max(1)));
            if tx.body.fee < min_fee {
                return Err(Rejection::ReplacementUnderpriced {
                    old_fee: old.tx.body.fee,
                    min_fee,
                });
            }
            let replaced = old.hash;
            self.remove(&replaced);
            self.insert(
                sender,
                PooledTx {
                    tx: Arc::new(tx),
                    hash,
                    size,
                    added_at_ms: now_ms,
                },
            );
            return Ok(Admitted::Replaced { hash, replaced });
        }

        if queue.map_or(0, |q| q.len()) >= self.config.max_per_sender {
            return Err(Rejection::SenderFull(self.config.max_per_sender));
        }
        while self.len() + 1 > self.config.max_txs || self.bytes + size > self.config.max_bytes {
            // Evict the cheapest tail (of another sender) if the newcomer pays more.
            let victim = self
                .senders
                .iter()
                .filter(|(addr, _)| **addr != sender)
                .filter_map(|(_, q)| q.values().next_back())
                .min_by_key(|p| (p.tx.body.fee, std::cmp::Reverse(p.added_at_ms)))
                .filter(|p| p.tx.body.fee < tx.body.fee)
                .map(|p| p.hash);
            match victim {
                Some(h) => {
                    self.remove(&h);
                }
                None => {
                    return Err(Rejection::PoolFull {
                        count: self.len(),
                        bytes: self.bytes,
                    })
                }
            }
        }
        let ready = self.next_nonce(&sender, sender_account.nonce) == nonce;
        self.insert(
            sender,
            PooledTx {
                tx: Arc::new(tx),
                hash,
                size,
                added_at_ms: now_ms,
            },
        );
        Ok(Admitted::Added { hash, ready })
    }

    fn insert(&mut self, sender: Address, pooled: PooledTx) {
        let nonce = pooled.tx.body.nonce;
        self.bytes += pooled.size;
        self.by_hash.insert(pooled.hash, (sender, nonce));
        self.senders
            .entry(sender)
            .or_default()
            .insert(nonce, pooled);
    }

    /// Removes a transaction; returns it if it was pooled.
    pub fn remove(&mut self, hash: &Hash) -> Option<Arc<Transaction>> {
        let (sender, nonce) = self.by_hash.remove(hash)?;
        let queue = self.senders.get_mut(&sender)?;
        let pooled = queue.remove(&nonce)?;
        if queue.is_empty() {
            self.senders.remove(&sender);
        }
        self.bytes -= pooled.size;
        Some(pooled.tx)
    }

    /// Ready transactions for a block, best fee first while keeping each sender's nonce order,
    /// up to `max_txs` and `max_bytes`. `account_nonce` gives each sender's nonce at the head.
    pub fn select(
        &self,
        max_txs: usize,
        max_bytes: usize,
        mut account_nonce: impl FnMut(&Address) -> u64,
    ) -> Vec<Arc<Transaction>> {
        // A max-heap of each sender's next ready transaction, keyed by fee then age then id.
        #[derive(PartialEq, Eq, PartialOrd, Ord)]
        struct Candidate {
            fee: Amount,
            older: std::cmp::Reverse<u64>,
            hash: std::cmp::Reverse<Hash>,
            sender: Address,
            nonce: u64,
        }
        let candidate = |sender: Address, p: &PooledTx| Candidate {
            fee: p.tx.body.fee,
            older: std::cmp::Reverse(p.added_at_ms),
            hash: std::cmp::Reverse(p.hash),
            sender,
            nonce: p.tx.body.nonce,
        };
        let mut heap = BinaryHeap::new();
        for (sender, queue) in &self.senders {
            let start = account_nonce(sender);
            if let Some(p) = queue.get(&start) {
                heap.push(candidate(*sender, p));
            }
        }
        let mut out = Vec::new();
        let mut bytes = 0usize;
        while let Some(c) = heap.pop() {
            if out.len() >= max_txs {
                break;
            }
            let Some(queue) = self.senders.get(&c.sender) else {
                continue;
            };
            let Some(p) = queue.get(&c.nonce) else {
                continue;
            };
            if bytes + p.size > max_bytes {
                continue; // this sender's later transactions cannot come before this one
            }
            bytes += p.size;
            out.push(p.tx.clone());
            if let Some(next) = queue.get(&(c.nonce + 1)) {
                heap.push(candidate(c.sender, next));
            }
        }
        out
    }

    /// Drops transactions whose nonce is used (`account_nonce` gives each sender's nonce at the
    /// new head) and those older than the expiry. Returns how many were dropped.
    pub fn prune(&mut self, now_ms: u64, mut account_nonce: impl FnMut(&Address) -> u64) -> usize {
        let expiry = self.config.expiry_ms;
        let mut stale = Vec::new();
        for (sender, queue) in &self.senders {
            let nonce = account_nonce(sender);
            for p in queue.values() {
                if p.tx.body.nonce < nonce || now_ms.saturating_sub(p.added_at_ms) > expiry {
                    stale.push(p.hash);
                }
            }
        }
        for h in &stale {
            self.remove(h);
        }
        stale.len()
    }
}

#[cfg(test)]
mod tests;
