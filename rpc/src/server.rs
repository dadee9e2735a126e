//! The API implementation over the node's chain and mempool, and the server.

use std::net::SocketAddr;
use std::sync::Arc;

use jsonrpsee::core::{async_trait, RpcResult, SubscriptionResult};
use jsonrpsee::server::{BatchRequestConfig, Server, ServerConfig, ServerHandle};
use jsonrpsee::{PendingSubscriptionSink, RpcModule};
use parking_lot::{Mutex, RwLock};
use rustchain_consensus::SlotClock;
use rustchain_mempool::{Admitted, AttestationPool, Mempool};
use rustchain_primitives::codec::{DecodeError, MAX_TX_BYTES};
use rustchain_primitives::{Address, Attestation, BlockHeader, Hash, Transaction};
use rustchain_state::Chain;
use tokio::sync::{broadcast, mpsc};

use crate::api::{
    AttestApiServer, BountyApiServer, ChainApiServer, EpochApiServer, MinerApiServer, NetApiServer,
    StateApiServer, SystemApiServer, TxApiServer, WalletApiServer,
};
use crate::error::{self, err, internal};
use crate::types::{
    AccountJson, BlockId, BlockJson, BlockRef, BlockTransactions, CertificateJson, HeadJson,
    HeaderJson, HealthJson, InfoJson, MultisigJson, NetInfoJson, PeerJson, ReceiptJson, SubmitJson,
    SyncJson, TxBlockJson, TxJson, TxState, ValidatorJson,
};
use crate::wallet::{token_layer, WalletAccess};
use crate::webhook::{WebhookConfig, WebhookConfigError, WebhookLayer};

/// Server limits and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcConfig {
    /// Listen address (HTTP POST and WebSocket).
    pub addr: SocketAddr,
    /// Largest request body.
    pub max_request_body_bytes: u32,
    /// Largest response body.
    pub max_response_body_bytes: u32,
    /// Most simultaneous connections.
    pub max_connections: u32,
    /// Most calls in one batch.
    pub max_batch_len: u32,
    /// Most subscriptions per WebSocket connection.
    pub max_subscriptions_per_connection: u32,
    /// The repository webhook receiver on `POST /webhooks/github` (`None`: off, the default).
    pub webhook: Option<WebhookConfig>,
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8099)),
            max_request_body_bytes: 256 * 1024,
            max_response_body_bytes: 32 * 1024 * 1024,
            max_connections: 128,
            max_batch_len: 32,
            max_subscriptions_per_connection: 32,
            webhook: None,
        }
    }
}

/// What the node reports about itself beyond the chain.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeStatus {
    /// `validator` or `full`.
    pub role: String,
    /// Sync progress.
    pub sync: SyncJson,
    /// The network, or `None` when networking is off.
    pub net: Option<NetInfoJson>,
    /// Connected peers.
    pub peers: Vec<PeerJson>,
}

/// Everything the API reads.
#[derive(Clone)]
pub struct RpcContext {
    /// The chain.
    pub chain: Arc<Chain>,
    /// The mempool.
    pub mempool: Arc<Mutex<Mempool>>,
    /// New heads, sent by the node after each commit.
    pub new_heads: broadcast::Sender<HeaderJson>,
    /// Newly finalized heads.
    pub finalized_heads: broadcast::Sender<HeaderJson>,
    /// Node status.
    pub status: Arc<RwLock<NodeStatus>>,
    /// Time source.
    pub clock: Arc<dyn SlotClock>,
    /// Software version.
    pub version: String,
    /// Where admitted transactions go to be gossiped (`None` without networking).
    pub tx_broadcast: Option<mpsc::Sender<Transaction>>,
    /// The attestation pool.
    pub attestations: Arc<Mutex<AttestationPool>>,
    /// Where admitted attestations go to be gossiped (`None` without networking).
    pub attestation_broadcast: Option<mpsc::Sender<Attestation>>,
    /// The embedded wallet behind `wallet_*` (`None`: disabled, the default).
    pub wallet: Option<Arc<WalletAccess>>,
}

impl std::fmt::Debug for RpcContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcContext")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl RpcContext {
    pub(crate) fn kind(&self) -> rustchain_primitives::NetworkKind {
        self.chain.genesis().chain_id.kind()
    }

    fn resolve(&self, id: &BlockId) -> RpcResult<(Hash, BlockHeader)> {
        let head = self.chain.head();
        let store = self.chain.store();
        let hash = match id {
            BlockId::Height(h) => store.hash_at(*h).map_err(internal)?.ok_or_else(|| {
                err(error::NOT_FOUND, format!("no block at height {h}; the head is at {}", head.height))
            })?,
            BlockId::Text(t) if t == "latest" => head.hash,
            BlockId::Text(t) if t == "finalized" => head.finalized_hash,
            BlockId::Text(t) => t.parse::<Hash>().map_err(|e| {
                err(
                    error::INVALID_BLOCK_ID,
                    format!("invalid block id {t:?}: expected a height, a 0x-prefixed 32-byte hash, \"latest\" or \"finalized\" ({e})"),
                )
            })?,
        };
        let header = store
            .header(&hash)
            .map_err(internal)?
            .ok_or_else(|| err(error::NOT_FOUND, format!("no block with hash {hash}")))?;
        Ok((hash, header))
    }

    pub(crate) fn parse_address(&self, text: &str) -> RpcResult<Address> {
        Address::decode(text, self.kind()).map_err(|e| {
            err(
                error::INVALID_ADDRESS,
                format!("invalid address {text:?}: {e}"),
            )
        })
    }

    fn is_finalized(&self, height: u64) -> bool {
        height <= self.chain.head().finalized_height
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Admits a signed transaction to the mempool and gossips it.
    pub(crate) fn submit_transaction(&self, tx: Transaction) -> RpcResult<SubmitJson> {
        let now = self.now_ms();
        let admitted = rustchain_mempool::admit(&self.mempool, &self.chain, tx.clone(), now)
            .map_err(internal)?
            .map_err(|r| error::rejection(&r))?;
        if let Some(broadcast) = &self.tx_broadcast {
            // A full queue only delays propagation: peers also receive it in our next block.
            if broadcast.try_send(tx).is_err() {
                tracing::debug!("transaction gossip queue full; not gossiped");
            }
        }
        Ok(match admitted {
            Admitted::Added { hash, ready } => SubmitJson {
                hash,
                ready,
                replaced: None,
            },
            Admitted::Replaced { hash, replaced } => SubmitJson {
                hash,
                ready: true,
                replaced: Some(replaced),
            },
        })
    }
}

#[async_trait]
impl SystemApiServer for RpcContext {
    fn info(&self) -> RpcResult<InfoJson> {
        let g = self.chain.genesis();
        let network = match g.chain_id.kind() {
            rustchain_primitives::NetworkKind::Main => "main",
            rustchain_primitives::NetworkKind::Test => "test",
            rustchain_primitives::NetworkKind::Dev => "dev",
        };
        Ok(InfoJson {
            chain_id: g.chain_id.to_string(),
            network: network.into(),
            address_prefix: g.chain_id.address_hrp().into(),
            genesis_hash: self.chain.genesis_hash(),
            version: self.version.clone(),
            role: self.status.read().role.clone(),
            slot_duration_ms: g.slot_duration_ms,
            min_fee: g.min_fee,
        })
    }

    fn health(&self) -> RpcResult<HealthJson> {
        let head = self.chain.head();
        let status = self.status.read().clone();
        let age = self.now_ms().saturating_sub(head.timestamp_ms);
        let stalled = age > 5 * self.chain.genesis().slot_duration_ms;
        Ok(HealthJson {
            status: if stalled { "stalled" } else { "ok" }.into(),
            head_height: head.height,
            finalized_height: head.finalized_height,
            head_age_ms: age,
            syncing: status.sync.syncing,
            peers: status.peers.len(),
            sync: status.sync,
            mempool_size: self.mempool.lock().len(),
        })
    }
}

impl NetApiServer for RpcContext {
    fn peers(&self) -> RpcResult<Vec<PeerJson>> {
        Ok(self.status.read().peers.clone())
    }

    fn info(&self) -> RpcResult<NetInfoJson> {
        self.status.read().net.clone().ok_or_else(|| {
            err(
                error::NETWORK_DISABLED,
                "networking is off on this node (a --dev node without --p2p-listen)",
            )
        })
    }
}

async fn forward_heads(
    pending: PendingSubscriptionSink,
    mut rx: broadcast::Receiver<HeaderJson>,
) -> SubscriptionResult {
    let sink = pending.accept().await?;
    loop {
        tokio::select! {
            _ = sink.closed() => return Ok(()),
            item = rx.recv() => match item {
                Ok(header) => {
                    let msg = serde_json::value::to_raw_value(&header)?;
                    if sink.send(msg).await.is_err() {
                        return Ok(());
                    }
                }
                // A slow client skips heads rather than holding the node back.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            }
        }
    }
}

#[async_trait]
impl ChainApiServer for RpcContext {
    fn get_head(&self) -> RpcResult<HeadJson> {
        let h = self.chain.head();
        Ok(HeadJson {
            head: BlockRef {
                height: h.height,
                hash: h.hash,
            },
            head_slot: h.slot,
            finalized: BlockRef {
                height: h.finalized_height,
                hash: h.finalized_hash,
            },
        })
    }

    fn get_block(&self, id: BlockId, full: Option<bool>) -> RpcResult<BlockJson> {
        let (hash, _) = self.resolve(&id)?;
        let block = self
            .chain
            .store()
            .block(&hash)
            .map_err(internal)?
            .ok_or_else(|| err(error::NOT_FOUND, format!("no block with hash {hash}")))?;
        let finalized = self.is_finalized(block.header.height);
        let state = if finalized {
            TxState::Finalized
        } else {
            TxState::Included
        };
        let transactions = if full.unwrap_or(false) {
            BlockTransactions::Full(
                block
                    .transactions
                    .iter()
                    .enumerate()
                    .map(|(i, tx)| {
                        let place = TxBlockJson {
                            hash,
                            height: block.header.height,
                            index: i as u32,
                        };
                        TxJson::new(tx, self.kind(), state, Some(place))
                    })
                    .collect(),
            )
        } else {
            BlockTransactions::Hashes(block.transactions.iter().map(Transaction::hash).collect())
        };
        Ok(BlockJson {
            header: HeaderJson::from(&block.header),
            transactions,
            attestation_count: block.attestations.len(),
            finalized,
        })
    }

    fn get_header(&self, id: BlockId) -> RpcResult<HeaderJson> {
        let (_, header) = self.resolve(&id)?;
        Ok(HeaderJson::from(&header))
    }

    fn get_finality_certificate(&self, height: u64) -> RpcResult<CertificateJson> {
        let head = self.chain.head();
        if height > head.finalized_height {
            return Err(err(
                error::NOT_FOUND,
                format!(
                    "height {height} is not final yet; the finalized height is {}",
                    head.finalized_height
                ),
            ));
        }
        let cert = self
            .chain
            .store()
            .certificate_covering(height)
            .map_err(internal)?
            .ok_or_else(|| {
                err(
                    error::NOT_FOUND,
                    format!("no finality certificate is stored for height {height} (final at genesis or finalized by this node's own start-up)"),
                )
            })?;
        Ok(CertificateJson::from(&cert))
    }

    fn get_validators(&self) -> RpcResult<Vec<ValidatorJson>> {
        let head = self.chain.head();
        let slot = head.slot + 1;
        let active = self.chain.active_validators(slot).map_err(internal)?;
        self.chain
            .genesis()
            .validator_keys()
            .into_iter()
            .map(|key| {
                let record = self.chain.validator_record(&key).map_err(internal)?;
                Ok(ValidatorJson {
                    public_key: key.to_string(),
                    active: active.contains(&key),
                    offences: record.offences,
                    jailed_until_slot: record.is_jailed(slot).then_some(record.jailed_until_slot),
                })
            })
            .collect()
    }

    async fn subscribe_new_heads(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        forward_heads(pending, self.new_heads.subscribe()).await
    }

    async fn subscribe_finalized_heads(
        &self,
        pending: PendingSubscriptionSink,
    ) -> SubscriptionResult {
        forward_heads(pending, self.finalized_heads.subscribe()).await
    }
}

#[async_trait]
impl StateApiServer for RpcContext {
    fn get_account(&self, address: String, at: Option<BlockId>) -> RpcResult<AccountJson> {
        let addr = self.parse_address(&address)?;
        let head = self.chain.head();
        let (at_ref, is_head) = match &at {
            None => (
                BlockRef {
                    height: head.height,
                    hash: head.hash,
                },
                true,
            ),
            Some(id) => {
                let (hash, header) = self.resolve(id)?;
                (
                    BlockRef {
                        height: header.height,
                        hash,
                    },
                    hash == head.hash,
                )
            }
        };
        let account = self
            .chain
            .account(&addr, Some(at_ref.height))
            .map_err(internal)?;
        let next_nonce = if is_head {
            self.mempool.lock().next_nonce(&addr, account.nonce)
        } else {
            account.nonce
        };
        Ok(AccountJson {
            address: addr.encode(self.kind()),
            balance: account.balance,
            nonce: account.nonce,
            next_nonce,
            at: at_ref,
        })
    }

    fn get_multisig(&self, address: String) -> RpcResult<MultisigJson> {
        let addr = self.parse_address(&address)?;
        let head = self.chain.head();
        let policy = self
            .chain
            .multisig_policy(&addr)
            .map_err(internal)?
            .ok_or_else(|| {
                err(
                    error::NOT_FOUND,
                    format!("no multisig account is registered at {address}"),
                )
            })?;
        let account = self
            .chain
            .account(&addr, Some(head.height))
            .map_err(internal)?;
        Ok(MultisigJson {
            address: addr.encode(self.kind()),
            threshold: policy.threshold,
            signers: policy.signers,
            balance: account.balance,
            nonce: account.nonce,
            at: BlockRef {
                height: head.height,
                hash: head.hash,
            },
        })
    }
}

/// Parses `0x`-hex of a signed transaction, with the size limit applied before decoding.
fn parse_tx_hex(text: &str) -> RpcResult<Transaction> {
    let digits = text.strip_prefix("0x").ok_or_else(|| {
        err(
            error::INVALID_HEX,
            "transaction must be 0x-prefixed hex of its canonical encoding",
        )
    })?;
    if digits.len() > 2 * MAX_TX_BYTES {
        return Err(err(
            error::TX_TOO_LARGE,
            format!(
                "transaction is {} bytes, above the limit of {MAX_TX_BYTES}",
                digits.len() / 2
            ),
        ));
    }
    let bytes = hex::decode(digits).map_err(|e| {
        err(
            error::INVALID_HEX,
            format!("transaction is not valid hex: {e}"),
        )
    })?;
    Transaction::decode(&bytes).map_err(|e| match e {
        DecodeError::TooLarge { len, max } => err(
            error::TX_TOO_LARGE,
            format!("transaction is {len} bytes, above the limit of {max}"),
        ),
        other => err(
            error::DECODE_FAILED,
            format!("transaction does not decode: {other}"),
        ),
    })
}

#[async_trait]
impl TxApiServer for RpcContext {
    fn submit(&self, tx: String) -> RpcResult<SubmitJson> {
        self.submit_transaction(parse_tx_hex(&tx)?)
    }

    fn get(&self, hash: Hash) -> RpcResult<TxJson> {
        if let Some(tx) = self.mempool.lock().get(&hash) {
            return Ok(TxJson::new(&tx, self.kind(), TxState::Pending, None));
        }
        let store = self.chain.store();
        let loc = store.tx_location(&hash).map_err(internal)?.ok_or_else(|| {
            err(
                error::NOT_FOUND,
                format!("no transaction {hash} in the pool or the chain"),
            )
        })?;
        let block = store
            .block(&loc.block_hash)
            .map_err(internal)?
            .ok_or_else(|| internal(format!("indexed block {} is missing", loc.block_hash)))?;
        let tx = block
            .transactions
            .get(loc.index as usize)
            .ok_or_else(|| internal("transaction index out of range"))?;
        let state = if self.is_finalized(loc.height) {
            TxState::Finalized
        } else {
            TxState::Included
        };
        let place = TxBlockJson {
            hash: loc.block_hash,
            height: loc.height,
            index: loc.index,
        };
        Ok(TxJson::new(tx, self.kind(), state, Some(place)))
    }

    fn get_receipt(&self, hash: Hash) -> RpcResult<ReceiptJson> {
        let store = self.chain.store();
        let loc = store.tx_location(&hash).map_err(internal)?.ok_or_else(|| {
            let pending = self.mempool.lock().get(&hash).is_some();
            let detail = if pending {
                "it is pending in the mempool"
            } else {
                "it is unknown"
            };
            err(
                error::NOT_FOUND,
                format!("no receipt for transaction {hash}: {detail}"),
            )
        })?;
        let receipt = store
            .receipt(&loc.block_hash, loc.index)
            .map_err(internal)?
            .ok_or_else(|| internal(format!("receipt of indexed transaction {hash} is missing")))?;
        let place = TxBlockJson {
            hash: loc.block_hash,
            height: loc.height,
            index: loc.index,
        };
        Ok(ReceiptJson::new(
            &receipt,
            &place,
            self.is_finalized(loc.height),
            self.kind(),
        ))
    }
}

/// Builds the module with every method, including `rpc.discover`.
pub fn build_module(
    ctx: RpcContext,
) -> Result<RpcModule<()>, jsonrpsee::core::RegisterMethodError> {
    let mut module = RpcModule::new(());
    module.merge(SystemApiServer::into_rpc(ctx.clone()))?;
    module.merge(ChainApiServer::into_rpc(ctx.clone()))?;
    module.merge(StateApiServer::into_rpc(ctx.clone()))?;
    module.merge(TxApiServer::into_rpc(ctx.clone()))?;
    module.merge(NetApiServer::into_rpc(ctx.clone()))?;
    module.merge(AttestApiServer::into_rpc(ctx.clone()))?;
    module.merge(EpochApiServer::into_rpc(ctx.clone()))?;
    module.merge(MinerApiServer::into_rpc(ctx.clone()))?;
    module.merge(BountyApiServer::into_rpc(ctx.clone()))?;
    module.merge(WalletApiServer::into_rpc(ctx))?;
    let document = crate::openrpc::document();
    module.register_method("rpc.discover", move |_, _, _| document.clone())?;
    Ok(module)
}

/// A running server.
#[derive(Debug)]
pub struct RpcHandle {
    /// The bound address (useful with port 0).
    pub local_addr: SocketAddr,
    handle: ServerHandle,
}

impl RpcHandle {
    /// Stops the server and waits for it.
    pub async fn stop(self) {
        let _ = self.handle.stop();
        self.handle.stopped().await;
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Could not bind.
    #[error("cannot listen for RPC on {addr}: {source}")]
    Bind {
        /// address
        addr: SocketAddr,
        /// cause
        source: std::io::Error,
    },
    /// The wallet would be reachable from other machines without a token.
    #[error("refusing to serve the embedded wallet on non-loopback address {addr} without a token: set a wallet token (--wallet-token-file) or listen on 127.0.0.1")]
    WalletExposed {
        /// address
        addr: SocketAddr,
    },
    /// The webhook receiver's configuration or state directory is unusable.
    #[error("cannot start the webhook receiver: {0}")]
    Webhook(#[from] WebhookConfigError),
    /// Method registration failed (a programming error).
    #[error("RPC method registration failed: {0}")]
    Register(#[from] jsonrpsee::core::RegisterMethodError),
}

/// Starts the server on `config.addr`.
pub async fn start(config: &RpcConfig, ctx: RpcContext) -> Result<RpcHandle, StartError> {
    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_body_bytes)
        .max_response_body_size(config.max_response_body_bytes)
        .max_connections(config.max_connections)
        .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
        .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch_len))
        .build();
    if let Some(wallet) = &ctx.wallet {
        if !wallet.token_required() && !config.addr.ip().is_loopback() {
            return Err(StartError::WalletExposed { addr: config.addr });
        }
    }
    let webhook = match &config.webhook {
        Some(webhook) => WebhookLayer::new(webhook)?,
        None => WebhookLayer::disabled(),
    };
    let server = Server::builder()
        .set_config(server_config)
        .set_http_middleware(
            tower::ServiceBuilder::new()
                .layer(webhook)
                .layer(token_layer(ctx.wallet.as_ref())),
        )
        .build(config.addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
    let local_addr = server.local_addr().map_err(|source| StartError::Bind {
        addr: config.addr,
        source,
    })?;
    let handle = server.start(build_module(ctx)?);
    Ok(RpcHandle { local_addr, handle })
}
