//! `wallet_*`: the node's embedded wallet, and who may call it.
//!
//! Access rules (checked in this order on every call):
//! 1. No wallet configured: every method answers [`error::WALLET_DISABLED`].
//! 2. A token configured: the call must come with `Authorization: Bearer TOKEN` on the HTTP
//!    request (or on the WebSocket upgrade request), else [`error::WALLET_UNAUTHORIZED`]. The
//!    comparison is of SHA-256 digests, in constant time.
//! 3. No token: the server refuses to start unless its address is a loopback address
//!    ([`crate::server::start`]), so only local processes can reach the wallet.
//!
//! The HTTP layer ([`TokenLayer`]) only marks a request whose header matches; the methods decide.
//! Nothing secret is returned or logged: not the token, not a key, not the seed.

use std::sync::Arc;
use std::task::{Context, Poll};

use jsonrpsee::core::RpcResult;
use jsonrpsee::server::{Extensions, HttpRequest};
use jsonrpsee::types::ErrorObjectOwned;
use parking_lot::Mutex;
use rustchain_primitives::{Address, Amount};
use rustchain_wallet::embedded::{EmbeddedError, EmbeddedWallet};
use rustchain_wallet::fees::{estimate, RECENT_BLOCKS};
use rustchain_wallet::multisig::PartialCall;
use rustchain_wallet::transfer::sign_transfer;
use sha2::{Digest, Sha256};

use crate::api::WalletApiServer;
use crate::error::{self, err, internal};
use crate::server::RpcContext;
use crate::types::{
    PolicyJson, WalletAddressJson, WalletMultisigJson, WalletPolicyJson, WalletSendJson,
    WalletSendRequest, WalletStatusJson,
};

/// Most addresses `wallet_accounts` lists.
pub const MAX_WALLET_ACCOUNTS: u32 = 100;

/// The embedded wallet and its access token.
pub struct WalletAccess {
    wallet: Mutex<EmbeddedWallet>,
    token_digest: Option<[u8; 32]>,
}

impl std::fmt::Debug for WalletAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletAccess")
            .field("token_required", &self.token_digest.is_some())
            .finish_non_exhaustive()
    }
}

impl WalletAccess {
    /// Serves `wallet`; with `token`, only to callers presenting it.
    pub fn new(wallet: EmbeddedWallet, token: Option<&str>) -> Self {
        WalletAccess {
            wallet: Mutex::new(wallet),
            token_digest: token.map(|t| Sha256::digest(t.as_bytes()).into()),
        }
    }

    /// Whether callers must present the token.
    pub fn token_required(&self) -> bool {
        self.token_digest.is_some()
    }

    /// The wallet, for in-process users (the bounty webhook).
    pub fn wallet(&self) -> &Mutex<EmbeddedWallet> {
        &self.wallet
    }

    fn layer(&self) -> TokenLayer {
        TokenLayer {
            digest: self.token_digest,
        }
    }
}

/// The HTTP layer for [`crate::server::start`]: the token digest when one is configured.
pub(crate) fn token_layer(access: Option<&Arc<WalletAccess>>) -> TokenLayer {
    access.map_or(TokenLayer { digest: None }, |a| a.layer())
}

/// Marks, in the request's extensions, that the caller presented the configured token.
#[derive(Debug, Clone, Copy)]
struct TokenPresented;

/// Tower layer that checks the `Authorization` header.
#[derive(Debug, Clone)]
pub(crate) struct TokenLayer {
    digest: Option<[u8; 32]>,
}

impl<S> tower::Layer<S> for TokenLayer {
    type Service = TokenService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TokenService {
            inner,
            digest: self.digest,
        }
    }
}

/// See [`TokenLayer`].
#[derive(Debug, Clone)]
pub(crate) struct TokenService<S> {
    inner: S,
    digest: Option<[u8; 32]>,
}

impl<S, B> tower::Service<HttpRequest<B>> for TokenService<S>
where
    S: tower::Service<HttpRequest<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: HttpRequest<B>) -> Self::Future {
        if let Some(expected) = &self.digest {
            let presented = request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(|t| Sha256::digest(t.trim().as_bytes()));
            if presented.is_some_and(|d| constant_time_eq(&d, expected)) {
                request.extensions_mut().insert(TokenPresented);
            }
        }
        self.inner.call(request)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn embedded_error(e: EmbeddedError) -> ErrorObjectOwned {
    let code = match &e {
        EmbeddedError::Policy(_) => error::WALLET_POLICY,
        EmbeddedError::NotASigner { .. } => error::WALLET_NO_KEY,
        EmbeddedError::WrongChain { .. } | EmbeddedError::Call(_) | EmbeddedError::Key(_) => {
            error::WALLET_INVALID
        }
        EmbeddedError::Keystore(_) | EmbeddedError::PolicyState(_) => error::INTERNAL,
    };
    err(code, e.to_string())
}

impl RpcContext {
    /// The wallet, if this caller may use it.
    fn wallet_for(&self, ext: &Extensions) -> RpcResult<&Arc<WalletAccess>> {
        let access = self.wallet.as_ref().ok_or_else(|| {
            err(
                error::WALLET_DISABLED,
                "the embedded wallet is not enabled on this node (start it with --wallet FILE --wallet-password-file FILE)",
            )
        })?;
        if access.token_required() && ext.get::<TokenPresented>().is_none() {
            return Err(err(
                error::WALLET_UNAUTHORIZED,
                "wallet methods on this node need the header `Authorization: Bearer TOKEN` with the configured wallet token",
            ));
        }
        Ok(access)
    }

    /// The fee estimate of the wallet library, over the last blocks and the mempool.
    fn estimate_fee(&self) -> RpcResult<Amount> {
        let head = self.chain.head();
        let store = self.chain.store();
        let mut fees = Vec::new();
        for height in head.height.saturating_sub(RECENT_BLOCKS - 1).max(1)..=head.height {
            let Some(hash) = store.hash_at(height).map_err(internal)? else {
                continue;
            };
            if let Some(block) = store.block(&hash).map_err(internal)? {
                fees.extend(block.transactions.iter().map(|tx| tx.body.fee));
            }
        }
        let pending = self.mempool.lock().len();
        Ok(estimate(self.chain.genesis().min_fee, pending, fees).fee)
    }
}

impl WalletApiServer for RpcContext {
    fn status(&self, ext: &Extensions) -> RpcResult<WalletStatusJson> {
        let access = self.wallet_for(ext)?;
        let wallet = access.wallet.lock();
        let first = wallet.addresses(1).map_err(embedded_error)?;
        Ok(WalletStatusJson {
            name: wallet.metadata().name.clone(),
            chain: wallet.metadata().chain.clone(),
            account: wallet.account(),
            first_address: first
                .first()
                .map(|d| d.address.encode(self.kind()))
                .unwrap_or_default(),
            token_required: access.token_required(),
        })
    }

    fn accounts(&self, ext: &Extensions, count: Option<u32>) -> RpcResult<Vec<WalletAddressJson>> {
        let access = self.wallet_for(ext)?;
        let count = count.unwrap_or(10);
        if count > MAX_WALLET_ACCOUNTS {
            return Err(err(
                error::WALLET_INVALID,
                format!("count {count} is above the limit of {MAX_WALLET_ACCOUNTS}"),
            ));
        }
        let derived = access
            .wallet
            .lock()
            .addresses(count)
            .map_err(embedded_error)?;
        derived
            .into_iter()
            .map(|d| {
                let account = self.chain.account(&d.address, None).map_err(internal)?;
                Ok(WalletAddressJson {
                    index: d.index,
                    path: d.path,
                    address: d.address.encode(self.kind()),
                    public_key: d.public_key,
                    balance: account.balance,
                    next_nonce: self.mempool.lock().next_nonce(&d.address, account.nonce),
                })
            })
            .collect()
    }

    fn send(&self, ext: &Extensions, request: WalletSendRequest) -> RpcResult<WalletSendJson> {
        let access = self.wallet_for(ext)?;
        let to = self.parse_address(&request.to)?;
        if request.amount == Amount::ZERO {
            return Err(err(error::WALLET_INVALID, "amount must be above zero"));
        }
        let fee = match request.fee {
            Some(fee) => fee,
            None => self.estimate_fee()?,
        };
        let from_index = request.from_index.unwrap_or(0);
        // One send at a time: the nonce read and the admission must not interleave.
        let mut wallet = access.wallet.lock();
        let key = wallet
            .authorize_transfer(from_index, to, request.amount, self.now_ms())
            .map_err(embedded_error)?;
        let from = Address::from_public_key(&key.public_key());
        let account = self.chain.account(&from, None).map_err(internal)?;
        let nonce = self.mempool.lock().next_nonce(&from, account.nonce);
        let tx = sign_transfer(
            &key,
            self.chain.genesis().chain_id.clone(),
            nonce,
            to,
            request.amount,
            fee,
        );
        let submitted = self.submit_transaction(tx)?;
        drop(wallet);
        tracing::info!(hash = %submitted.hash, nonce, "embedded wallet sent a transfer");
        Ok(WalletSendJson {
            hash: submitted.hash,
            from: from.encode(self.kind()),
            nonce,
            fee,
        })
    }

    fn get_policy(&self, ext: &Extensions) -> RpcResult<WalletPolicyJson> {
        let access = self.wallet_for(ext)?;
        let state = access.wallet.lock().policy().map_err(embedded_error)?;
        let rules = state.rules.clone();
        Ok(WalletPolicyJson {
            rules: PolicyJson {
                max_per_tx: rules.max_per_tx,
                max_per_day: rules.max_per_day,
                allow: rules.allow,
                deny: rules.deny,
                cosigner_above: rules.cosigner_above,
            },
            spent_last_day: state.spent_last_day(self.now_ms()),
        })
    }

    fn sign_multisig(
        &self,
        ext: &Extensions,
        call: String,
        index: Option<u32>,
    ) -> RpcResult<WalletMultisigJson> {
        let access = self.wallet_for(ext)?;
        let mut partial =
            PartialCall::from_text(&call).map_err(|e| err(error::WALLET_INVALID, e.to_string()))?;
        let signer = access
            .wallet
            .lock()
            .approve_multisig(&mut partial, index, self.now_ms())
            .map_err(embedded_error)?;
        Ok(WalletMultisigJson {
            call: partial.to_text(),
            signer,
            state: partial.state().to_string(),
            approved_by: partial.approved_by(),
            threshold: partial.policy().threshold,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
