//! The API traits, one per namespace. Method names are `namespace_method`.

use jsonrpsee::core::{RpcResult, SubscriptionResult};
use jsonrpsee::proc_macros::rpc;
use rustchain_primitives::{Hash, PublicKey};

use crate::types::{
    AccountJson, AttestResultJson, BlockId, BlockJson, BountyJson, BountyListJson, CertificateJson,
    ChallengeJson, ClaimJson, EpochInfoJson, EpochRewardsJson, HeadJson, HeaderJson, HealthJson,
    InfoJson, MinerJson, MultisigJson, NetInfoJson, PeerJson, ReceiptJson, SubmitJson, TxJson,
    ValidatorJson, WalletAddressJson, WalletMultisigJson, WalletPolicyJson, WalletSendJson,
    WalletSendRequest, WalletStatusJson,
};

/// `system_*`: the node itself.
#[rpc(server, namespace = "system")]
pub trait SystemApi {
    /// Chain id, genesis hash, software version and role.
    #[method(name = "info")]
    fn info(&self) -> RpcResult<InfoJson>;

    /// Head and finalized heights, head age, sync status, peers, mempool size.
    #[method(name = "health")]
    fn health(&self) -> RpcResult<HealthJson>;
}

/// `chain_*`: blocks and headers.
#[rpc(server, namespace = "chain")]
pub trait ChainApi {
    /// The head and the latest finalized block.
    #[method(name = "getHead")]
    fn get_head(&self) -> RpcResult<HeadJson>;

    /// A block by height, hash, `"latest"` or `"finalized"`; `full` (default false) returns
    /// whole transactions instead of their ids.
    #[method(name = "getBlock")]
    fn get_block(&self, id: BlockId, full: Option<bool>) -> RpcResult<BlockJson>;

    /// A header by height, hash, `"latest"` or `"finalized"`.
    #[method(name = "getHeader")]
    fn get_header(&self, id: BlockId) -> RpcResult<HeaderJson>;

    /// The finality certificate proving the block at `height` final: the certificate of the
    /// lowest finalized block at or above `height` (it finalizes all its ancestors).
    #[method(name = "getFinalityCertificate")]
    fn get_finality_certificate(&self, height: u64) -> RpcResult<CertificateJson>;

    /// The genesis validators with their jail status at the head.
    #[method(name = "getValidators")]
    fn get_validators(&self) -> RpcResult<Vec<ValidatorJson>>;

    /// Every new head, as a header.
    #[subscription(name = "subscribeNewHeads" => "newHead", unsubscribe = "unsubscribeNewHeads", item = HeaderJson)]
    async fn subscribe_new_heads(&self) -> SubscriptionResult;

    /// Every newly finalized block, as a header.
    #[subscription(name = "subscribeFinalizedHeads" => "finalizedHead", unsubscribe = "unsubscribeFinalizedHeads", item = HeaderJson)]
    async fn subscribe_finalized_heads(&self) -> SubscriptionResult;
}

/// `state_*`: accounts.
#[rpc(server, namespace = "state")]
pub trait StateApi {
    /// An account's balance and nonce at the head, or at a given block.
    #[method(name = "getAccount")]
    fn get_account(&self, address: String, at: Option<BlockId>) -> RpcResult<AccountJson>;

    /// A registered multisig account at the head: threshold, signers, balance and call nonce.
    #[method(name = "getMultisig")]
    fn get_multisig(&self, address: String) -> RpcResult<MultisigJson>;
}

/// `tx_*`: transactions.
#[rpc(server, namespace = "tx")]
pub trait TxApi {
    /// Submits a signed transaction (0x-hex of its canonical encoding) to the mempool.
    #[method(name = "submit")]
    fn submit(&self, tx: String) -> RpcResult<SubmitJson>;

    /// A transaction by id, pending or included.
    #[method(name = "get")]
    fn get(&self, hash: Hash) -> RpcResult<TxJson>;

    /// The receipt of an included transaction.
    #[method(name = "getReceipt")]
    fn get_receipt(&self, hash: Hash) -> RpcResult<ReceiptJson>;
}

/// `net_*`: the peer-to-peer network.
#[rpc(server, namespace = "net")]
pub trait NetApi {
    /// Connected peers: peer id, address, direction and score.
    #[method(name = "peers")]
    fn peers(&self) -> RpcResult<Vec<PeerJson>>;

    /// Our peer id, listen addresses and peer count.
    #[method(name = "info")]
    fn info(&self) -> RpcResult<NetInfoJson>;
}

/// `attest_*`: RIP-200 attestations from miners.
#[rpc(server, namespace = "attest")]
pub trait AttestApi {
    /// What a miner needs to attest the current window: chain id, epoch, window, the block to
    /// reference, the proof-of-work target.
    #[method(name = "getChallenge")]
    fn get_challenge(&self) -> RpcResult<ChallengeJson>;

    /// Submits a signed attestation (0x-hex of its canonical encoding). Every rule is checked
    /// before it is pooled and gossiped; the answer is the verdict validators derive from it.
    #[method(name = "submit")]
    fn submit(&self, attestation: String) -> RpcResult<AttestResultJson>;
}

/// `epoch_*`: reward epochs.
#[rpc(server, namespace = "epoch")]
pub trait EpochApi {
    /// The current epoch, window, pot and enrolled miners.
    #[method(name = "getInfo")]
    fn get_info(&self) -> RpcResult<EpochInfoJson>;

    /// An epoch's miners (a page of at most 1,000 from `offset`) and, once settled, its
    /// payouts.
    #[method(name = "getRewards")]
    fn get_rewards(
        &self,
        epoch: u64,
        offset: Option<u64>,
        limit: Option<u64>,
    ) -> RpcResult<EpochRewardsJson>;
}

/// `miner_*`: miners.
#[rpc(server, namespace = "miner")]
pub trait MinerApi {
    /// A miner's record (by its 0x public key).
    #[method(name = "get")]
    fn get(&self, miner: PublicKey) -> RpcResult<MinerJson>;

    /// The miners that attested in `epoch` (default: the current one), a page of at most
    /// 1,000 from `offset`.
    #[method(name = "list")]
    fn list(
        &self,
        epoch: Option<u64>,
        offset: Option<u64>,
        limit: Option<u64>,
    ) -> RpcResult<Vec<MinerJson>>;
}

/// `wallet_*`: the node's embedded wallet. Disabled unless the node was started with a keystore
/// (`--wallet FILE`); served only on a loopback RPC address, or to callers presenting the
/// configured bearer token (`Authorization: Bearer TOKEN`). No method returns a secret.
#[rpc(server, namespace = "wallet")]
pub trait WalletApi {
    /// Which wallet is served: name, chain kind, account, first address.
    #[method(name = "status", with_extensions)]
    fn status(&self) -> RpcResult<WalletStatusJson>;

    /// The first `count` (default 10, at most 100) addresses with balance and next nonce.
    #[method(name = "accounts", with_extensions)]
    fn accounts(&self, count: Option<u32>) -> RpcResult<Vec<WalletAddressJson>>;

    /// Signs and submits a transfer after the spending policy allows it.
    #[method(name = "send", blocking, with_extensions)]
    fn send(&self, request: WalletSendRequest) -> RpcResult<WalletSendJson>;

    /// The spending policy and the amount it counted in the last 24 hours.
    #[method(name = "getPolicy", with_extensions)]
    fn get_policy(&self) -> RpcResult<WalletPolicyJson>;

    /// Adds this wallet's approval to a partially signed multisig call (`rtcms1...`), with the
    /// key at `index` or the first of the account's keys that is a signer.
    #[method(name = "signMultisig", blocking, with_extensions)]
    fn sign_multisig(&self, call: String, index: Option<u32>) -> RpcResult<WalletMultisigJson>;
}

/// `bounty_*`: the bounty board at the head. Bounty transactions go through `tx_submit`.
#[rpc(server, namespace = "bounty")]
pub trait BountyApi {
    /// Bounties newest first, filtered by `status` (`open`, `paid`, `cancelled`, or `all`,
    /// the default), with ids below `before`, at most `limit` (default 100, at most 1,000).
    #[method(name = "list")]
    fn list(
        &self,
        status: Option<String>,
        before: Option<u64>,
        limit: Option<u64>,
    ) -> RpcResult<BountyListJson>;

    /// One bounty.
    #[method(name = "get")]
    fn get(&self, id: u64) -> RpcResult<BountyJson>;

    /// A bounty's claims, oldest first (the most recent 1,000).
    #[method(name = "claims")]
    fn claims(&self, bounty: u64) -> RpcResult<Vec<ClaimJson>>;

    /// One claim.
    #[method(name = "getClaim")]
    fn get_claim(&self, id: u64) -> RpcResult<ClaimJson>;
}
