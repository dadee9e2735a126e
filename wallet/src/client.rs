//! A typed JSON-RPC client for the node methods the wallet uses.

use std::time::Duration;

use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use rustchain_primitives::Amount;
use rustchain_primitives::Hash;
use rustchain_rpc_types::{
    AccountJson, BlockJson, BlockTransactions, BountyJson, BountyListJson, ClaimJson, HeadJson,
    HeaderJson, HealthJson, InfoJson, MultisigJson, ReceiptJson, SubmitJson, TxJson,
};

use crate::fees::{self, FeeEstimate, RECENT_BLOCKS};

/// Client errors, with the node's message when it answered.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node could not be reached or answered with an error.
    #[error("{0}")]
    Rpc(#[from] jsonrpsee::core::ClientError),
    /// The node sent a notification that does not parse.
    #[error("unexpected notification from the node: {0}")]
    Notification(#[from] serde_json::Error),
    /// The receipt did not arrive in time.
    #[error("transaction {hash} was not included within {seconds} s (it may still be pending; check with tx_get)")]
    Timeout {
        /// tx id
        hash: Hash,
        /// waited
        seconds: u64,
    },
}

/// The wallet's connection to a node.
#[derive(Debug)]
pub struct NodeClient {
    url: String,
    http: HttpClient,
}

impl NodeClient {
    /// Connects to `url` (`http://host:port`).
    pub fn new(url: &str) -> Result<Self, ClientError> {
        let http = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(30))
            .build(url)?;
        Ok(NodeClient {
            url: url.to_string(),
            http,
        })
    }

    /// `system_info`.
    pub async fn info(&self) -> Result<InfoJson, ClientError> {
        Ok(self.http.request("system_info", rpc_params![]).await?)
    }

    /// `state_getAccount` at the head.
    pub async fn account(&self, address: &str) -> Result<AccountJson, ClientError> {
        Ok(self
            .http
            .request("state_getAccount", rpc_params![address])
            .await?)
    }

    /// `system_health`.
    pub async fn health(&self) -> Result<HealthJson, ClientError> {
        Ok(self.http.request("system_health", rpc_params![]).await?)
    }

    /// `chain_getHead`.
    pub async fn head(&self) -> Result<HeadJson, ClientError> {
        Ok(self.http.request("chain_getHead", rpc_params![]).await?)
    }

    /// `chain_getBlock` by height with whole transactions.
    pub async fn block(&self, height: u64) -> Result<BlockJson, ClientError> {
        Ok(self
            .http
            .request("chain_getBlock", rpc_params![height, true])
            .await?)
    }

    /// `tx_get`, or `None` for a transaction the node does not know.
    pub async fn transaction(&self, hash: &Hash) -> Result<Option<TxJson>, ClientError> {
        match self.http.request("tx_get", rpc_params![hash]).await {
            Ok(t) => Ok(Some(t)),
            Err(jsonrpsee::core::ClientError::Call(e)) if e.code() == 2001 => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A fee estimate from the last blocks and the mempool (see [`crate::fees`]).
    pub async fn estimate_fee(&self) -> Result<FeeEstimate, ClientError> {
        let info = self.info().await?;
        let health = self.health().await?;
        let head = self.head().await?;
        let mut recent: Vec<Amount> = Vec::new();
        let first = head.head.height.saturating_sub(RECENT_BLOCKS - 1).max(1);
        for height in first..=head.head.height {
            if let BlockTransactions::Full(txs) = self.block(height).await?.transactions {
                recent.extend(txs.iter().map(|t| t.fee));
            }
        }
        Ok(fees::estimate(info.min_fee, health.mempool_size, recent))
    }

    /// `state_getMultisig`: a registered multisig account at the head.
    pub async fn multisig(&self, address: &str) -> Result<MultisigJson, ClientError> {
        Ok(self
            .http
            .request("state_getMultisig", rpc_params![address])
            .await?)
    }

    /// `bounty_list`: bounties newest first with `status` (`open`, `paid`, `cancelled`, `all`).
    pub async fn bounty_list(
        &self,
        status: &str,
        limit: u64,
    ) -> Result<BountyListJson, ClientError> {
        Ok(self
            .http
            .request("bounty_list", rpc_params![status, None::<u64>, limit])
            .await?)
    }

    /// `bounty_get`.
    pub async fn bounty(&self, id: u64) -> Result<BountyJson, ClientError> {
        Ok(self.http.request("bounty_get", rpc_params![id]).await?)
    }

    /// `bounty_claims`.
    pub async fn bounty_claims(&self, bounty: u64) -> Result<Vec<ClaimJson>, ClientError> {
        Ok(self
            .http
            .request("bounty_claims", rpc_params![bounty])
            .await?)
    }

    /// `tx_submit`.
    pub async fn submit(&self, tx_hex: &str) -> Result<SubmitJson, ClientError> {
        Ok(self.http.request("tx_submit", rpc_params![tx_hex]).await?)
    }

    /// `tx_getReceipt`, or `None` while the transaction is not included.
    pub async fn receipt(&self, hash: &Hash) -> Result<Option<ReceiptJson>, ClientError> {
        match self.http.request("tx_getReceipt", rpc_params![hash]).await {
            Ok(r) => Ok(Some(r)),
            Err(jsonrpsee::core::ClientError::Call(e)) if e.code() == 2001 => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Waits until the block holding `hash` is finalized (checking twice a slot), up to
    /// `timeout`; returns the finalized receipt.
    pub async fn wait_for_finality(
        &self,
        hash: &Hash,
        timeout: Duration,
    ) -> Result<ReceiptJson, ClientError> {
        let slot_ms = self.info().await?.slot_duration_ms.max(100);
        let wait = async {
            loop {
                if let Some(r) = self.receipt(hash).await? {
                    if r.finalized {
                        return Ok(r);
                    }
                }
                tokio::time::sleep(Duration::from_millis(slot_ms / 2)).await;
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout {
                hash: *hash,
                seconds: timeout.as_secs(),
            }),
        }
    }

    /// Waits for the receipt of `hash`, checking at every new head (WebSocket subscription), up
    /// to `timeout`.
    pub async fn wait_for_receipt(
        &self,
        hash: &Hash,
        timeout: Duration,
    ) -> Result<ReceiptJson, ClientError> {
        let ws_url = self
            .url
            .replacen("http://", "ws://", 1)
            .replacen("https://", "wss://", 1);
        let ws = WsClientBuilder::default().build(&ws_url).await?;
        let mut heads = ws
            .subscribe::<HeaderJson, _>(
                "chain_subscribeNewHeads",
                rpc_params![],
                "chain_unsubscribeNewHeads",
            )
            .await?;
        let wait = async {
            // It may have been included before the subscription started.
            if let Some(r) = self.receipt(hash).await? {
                return Ok(r);
            }
            while let Some(head) = heads.next().await {
                head?;
                if let Some(r) = self.receipt(hash).await? {
                    return Ok(r);
                }
            }
            Err(ClientError::Rpc(jsonrpsee::core::ClientError::Custom(
                "the node closed the head subscription".into(),
            )))
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout {
                hash: *hash,
                seconds: timeout.as_secs(),
            }),
        }
    }
}
