//! What the node does with a merged pull request: the [`MergeHandler`] slot.

use serde::Serialize;

use super::MergedPullRequest;

/// Acts on a merged pull request (the bounty work: find the submitted claim, sign and submit
/// the approval, or prepare it for the other approvers).
///
/// Called only for a delivery whose signature verified and whose id has not been processed,
/// one delivery at a time, on tokio's blocking pool (so it may block briefly: sign, admit to
/// the mempool; it must not wait for a block). `Ok` records the delivery id and answers `202`;
/// `Err` answers `500` and leaves the id unrecorded, so a redelivery reaches the handler again:
/// the handler must be idempotent (see the module docs).
pub trait MergeHandler: Send + Sync + 'static {
    /// Handles one merged pull request.
    fn on_merged(&self, pr: MergedPullRequest) -> Result<HandlerOutcome, HandlerError>;
}

/// What the handler did, returned to GitHub as JSON in the `202` answer (and shown in the
/// repository's webhook delivery log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandlerOutcome {
    /// One word for programs, e.g. `approval_submitted`, `approval_prepared`, `no_claim`.
    pub action: String,
    /// One line for people.
    pub detail: String,
    /// The submitted transaction's hash (0x-hex), if one was submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
}

impl HandlerOutcome {
    /// An outcome without a transaction.
    pub fn new(action: impl Into<String>, detail: impl Into<String>) -> Self {
        HandlerOutcome {
            action: action.into(),
            detail: detail.into(),
            transaction: None,
        }
    }

    /// With the hash of the submitted transaction.
    pub fn with_transaction(mut self, hash: impl Into<String>) -> Self {
        self.transaction = Some(hash.into());
        self
    }
}

/// The handler could not act; answered with `500` and this message (keep it free of secrets:
/// GitHub shows it to the repository's administrators).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    message: String,
}

impl HandlerError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        HandlerError {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}
