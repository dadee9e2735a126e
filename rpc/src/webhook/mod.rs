//! Repository webhooks: GitHub reports a merged pull request, the node acts on it.
//!
//! The receiver is a tower layer ([`WebhookLayer`]) on the RPC server. It answers
//! `POST /webhooks/github` ([`WEBHOOK_PATH`]) itself; every other request passes through to
//! JSON-RPC untouched. Off unless [`crate::RpcConfig::webhook`] is set.
//!
//! # Rules, in the order they are applied
//!
//! 1. **Size.** A `Content-Length` above [`WebhookConfig::max_body_bytes`] (default
//!    [`DEFAULT_MAX_BODY_BYTES`], 1 MiB) gets `413` without reading the body; a body that streams
//!    past the cap (chunked) gets `413` as soon as it does, and nothing more is read. A body
//!    slower than [`BODY_READ_TIMEOUT`] gets `408`. A `Content-Type` other than
//!    `application/json` gets `415` (GitHub's form encoding is not supported).
//! 2. **Headers.** `X-GitHub-Event` and `X-GitHub-Delivery` must be present and well formed
//!    (`400` otherwise). `X-Hub-Signature-256` missing gets `401`; present but not
//!    `sha256=<64 hex digits>` gets `400`.
//! 3. **Signature.** The body's `repository.full_name` only chooses the secret (matched without
//!    regard to ASCII case, as GitHub does for names). An unknown repository, or an HMAC-SHA256
//!    of the exact raw body bytes under that repository's secret that does not match the header,
//!    gets `401`: nothing is recorded, no handler is called. The comparison is constant-time
//!    ([`hmac::Mac::verify_slice`]). Nothing in the body is trusted before this point.
//! 4. **Replays.** A delivery id already processed gets `200` "duplicate delivery, ignored" and
//!    the handler is not called. Processed ids are kept in a file under
//!    [`WebhookConfig::state_dir`] ([`DeliveryStore`]: the most recent
//!    [`WebhookConfig::max_deliveries`] ids, rewritten atomically), so a restart keeps refusing
//!    replays. Deliveries are processed one at a time, so two copies of one delivery arriving
//!    together cannot both reach the handler.
//! 5. **Events.** `ping` gets `200` "pong". `pull_request` with `action: "closed"` and
//!    `pull_request.merged: true` is handed to the [`MergeHandler`] as a [`MergedPullRequest`];
//!    every other event or action gets `200` "ignored: ...". A verified delivery whose payload
//!    lacks the fields the event needs gets `400`.
//! 6. **Handler.** `Ok` gets `202` with the [`HandlerOutcome`] as JSON; `Err` gets `500` with
//!    the [`HandlerError`]'s message. No handler configured gets `503` "bounty webhook handler
//!    not configured".
//!
//! **When a delivery id is recorded.** After a verified `ping` or ignored event, and after the
//! handler returned `Ok`. Not after a handler error, a `503`, or a malformed payload: GitHub does
//! not retry failed deliveries by itself, but a maintainer can press "Redeliver", and that must
//! then reach the handler. The price is that a handler which acted and then failed may see the
//! same pull request twice; the handler (and, behind it, the chain, where no bounty pays twice)
//! must be idempotent. If the handler succeeded but the id cannot be written to disk, the answer
//! is still `202` (the action happened), the id is still refused for the life of the process,
//! and the failure is logged at `error`.
//!
//! Every answer is JSON `{"status": WORD, "message": TEXT, ...}`. Each delivery is logged at
//! `info` with its delivery id, repository, event and outcome; secrets and signatures never are.
//!
//! # Memory
//!
//! At most one body of `max_body_bytes` per open connection is held at once (the RPC server's
//! `max_connections` bounds those); JSON nesting is bounded by `serde_json`'s recursion limit.

mod deliveries;
mod event;
mod handler;
mod layer;
mod receiver;
mod signature;

use std::path::PathBuf;
use std::sync::Arc;

use zeroize::Zeroizing;

pub use deliveries::{DeliveryStore, DeliveryStoreError, DELIVERIES_FILE, MAX_DELIVERY_ID_LEN};
pub use event::{MergedPullRequest, MAX_EVENT_NAME_LEN};
pub use handler::{HandlerError, HandlerOutcome, MergeHandler};
pub use layer::{WebhookLayer, WebhookService, BODY_READ_TIMEOUT, WEBHOOK_PATH};
pub use signature::{
    parse_signature_header, verify_mac, verify_signature, SignatureError, SIGNATURE_PREFIX,
};

/// Default body cap: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest body cap accepted in the configuration (GitHub caps payloads at 25 MB).
pub const MAX_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Default number of processed delivery ids remembered.
pub const DEFAULT_MAX_DELIVERIES: usize = 10_000;
/// Most processed delivery ids that may be configured.
pub const MAX_MAX_DELIVERIES: usize = 1_000_000;
/// Longest repository `owner/name` accepted (GitHub: 39 + 1 + 100).
pub const MAX_REPOSITORY_NAME_LEN: usize = 140;

/// A webhook secret. Zeroed on drop; its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl WebhookSecret {
    /// Wraps the secret's bytes.
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        WebhookSecret(Zeroizing::new(secret.into()))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// One repository allowed to deliver, with its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositorySecret {
    /// `owner/name`, as GitHub's `repository.full_name`.
    pub name: String,
    /// The secret set in the repository's webhook settings.
    pub secret: WebhookSecret,
}

/// The webhook receiver's settings, and the handler of merged pull requests.
#[derive(Clone)]
pub struct WebhookConfig {
    /// Largest body read.
    pub max_body_bytes: usize,
    /// Directory of the processed-deliveries file (created if missing).
    pub state_dir: PathBuf,
    /// Most processed delivery ids remembered.
    pub max_deliveries: usize,
    /// Repositories allowed to deliver.
    pub repositories: Vec<RepositorySecret>,
    /// What to do with a merged pull request; `None` answers `503`.
    pub handler: Option<Arc<dyn MergeHandler>>,
}

impl WebhookConfig {
    /// Default limits, no repositories, no handler.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        WebhookConfig {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            state_dir: state_dir.into(),
            max_deliveries: DEFAULT_MAX_DELIVERIES,
            repositories: Vec::new(),
            handler: None,
        }
    }

    /// Checks the limits, the repository names (`owner/name`, no duplicates) and that no secret
    /// is empty.
    pub fn validate(&self) -> Result<(), WebhookConfigError> {
        if self.max_body_bytes == 0 || self.max_body_bytes > MAX_MAX_BODY_BYTES {
            return Err(WebhookConfigError::BodyLimit(self.max_body_bytes));
        }
        if self.max_deliveries == 0 || self.max_deliveries > MAX_MAX_DELIVERIES {
            return Err(WebhookConfigError::DeliveryLimit(self.max_deliveries));
        }
        if self.repositories.is_empty() {
            return Err(WebhookConfigError::NoRepositories);
        }
        let mut seen = std::collections::HashSet::new();
        for repo in &self.repositories {
            validate_repository_name(&repo.name)?;
            if repo.secret.as_bytes().is_empty() {
                return Err(WebhookConfigError::EmptySecret(repo.name.clone()));
            }
            if !seen.insert(repo.name.to_ascii_lowercase()) {
                return Err(WebhookConfigError::DuplicateRepository(repo.name.clone()));
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("state_dir", &self.state_dir)
            .field("max_deliveries", &self.max_deliveries)
            .field(
                "repositories",
                &self
                    .repositories
                    .iter()
                    .map(|r| &r.name)
                    .collect::<Vec<_>>(),
            )
            .field("handler", &self.handler.is_some())
            .finish()
    }
}

/// Equal settings and the same handler instance (compared by pointer).
impl PartialEq for WebhookConfig {
    fn eq(&self, other: &Self) -> bool {
        self.max_body_bytes == other.max_body_bytes
            && self.state_dir == other.state_dir
            && self.max_deliveries == other.max_deliveries
            && self.repositories == other.repositories
            && match (&self.handler, &other.handler) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl Eq for WebhookConfig {}

/// Checks `owner/name`: one slash, both parts non-empty, GitHub's name characters
/// (ASCII letters, digits, `-`, `_`, `.`), at most [`MAX_REPOSITORY_NAME_LEN`] bytes.
pub fn validate_repository_name(name: &str) -> Result<(), WebhookConfigError> {
    let ok_part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    match name.split_once('/') {
        Some((owner, repo))
            if name.len() <= MAX_REPOSITORY_NAME_LEN && ok_part(owner) && ok_part(repo) =>
        {
            Ok(())
        }
        _ => Err(WebhookConfigError::RepositoryName(name.to_string())),
    }
}

/// A webhook configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebhookConfigError {
    /// The body cap is out of range.
    #[error("webhook max_body_bytes {0} is out of range (1 to {MAX_MAX_BODY_BYTES})")]
    BodyLimit(usize),
    /// The number of delivery ids remembered is out of range.
    #[error("the webhook must remember 1 to {MAX_MAX_DELIVERIES} delivery ids, not {0}")]
    DeliveryLimit(usize),
    /// No repository is configured.
    #[error("the webhook is enabled but no repository is configured (add [[webhook.repository]] with name and secret_file)")]
    NoRepositories,
    /// A repository name is not `owner/name`.
    #[error("invalid webhook repository name {0:?}: expected owner/name as GitHub shows it")]
    RepositoryName(String),
    /// A repository appears twice.
    #[error("webhook repository {0:?} is configured twice")]
    DuplicateRepository(String),
    /// A repository's secret is empty.
    #[error("the webhook secret of repository {0:?} is empty")]
    EmptySecret(String),
    /// The processed-deliveries file cannot be opened.
    #[error(transparent)]
    Deliveries(#[from] DeliveryStoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> WebhookConfig {
        let mut c = WebhookConfig::new("/nonexistent");
        c.repositories.push(RepositorySecret {
            name: "rustchain/node".into(),
            secret: WebhookSecret::new("s3cret"),
        });
        c
    }

    #[test]
    fn validate_accepts_a_sane_config_and_names_each_problem() {
        config().validate().unwrap();
        let mut c = config();
        c.max_body_bytes = 0;
        assert!(matches!(
            c.validate(),
            Err(WebhookConfigError::BodyLimit(0))
        ));
        let mut c = config();
        c.max_body_bytes = MAX_MAX_BODY_BYTES + 1;
        assert!(matches!(
            c.validate(),
            Err(WebhookConfigError::BodyLimit(_))
        ));
        let mut c = config();
        c.max_deliveries = 0;
        assert!(matches!(
            c.validate(),
            Err(WebhookConfigError::DeliveryLimit(0))
        ));
        let mut c = config();
        c.repositories.clear();
        assert!(matches!(
            c.validate(),
            Err(WebhookConfigError::NoRepositories)
        ));
        let mut c = config();
        c.repositories[0].secret = WebhookSecret::new("");
        assert!(matches!(
            c.validate(),
            Err(WebhookConfigError::EmptySecret(_))
        ));
        let mut c = config();
        c.repositories.push(RepositorySecret {
            name: "RustChain/Node".into(),
            secret: WebhookSecret::new("other"),
        });
        assert!(matches!(
            c.validate(),
            Err(WebhookConfigError::DuplicateRepository(_))
        ));
    }

    #[test]
    fn repository_names() {
        for ok in ["a/b", "rust-chain/node.rs", "A_1/b-2.c"] {
            validate_repository_name(ok).unwrap();
        }
        let long = format!("{}/{}", "o".repeat(39), "r".repeat(101));
        for bad in ["", "a", "/b", "a/", "a/b/c", "a b/c", "a/b\n", "ä/b", &long] {
            assert!(validate_repository_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let text = format!("{:?}", config());
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("rustchain/node"));
        assert_eq!(
            format!("{:?}", WebhookSecret::new("s3cret")),
            "WebhookSecret(<redacted>)"
        );
    }
}
