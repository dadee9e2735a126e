//! Rules 3 to 6 of the module docs over a delivery's checked headers and its whole body: no
//! HTTP here, so every rule is testable without a server.

use std::collections::HashMap;
use std::sync::Arc;

use http::StatusCode;
use serde_json::{json, Map, Value};

use super::event::{classify, repository_of, truncate, DeliveryHeaders, Event};
use super::signature::verify_mac;
use super::{
    DeliveryStore, MergeHandler, WebhookConfig, WebhookConfigError, WebhookSecret,
    MAX_REPOSITORY_NAME_LEN,
};

/// The answer to a delivery, before it becomes an HTTP response.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub status: StatusCode,
    /// One word: `accepted`, `duplicate`, `pong`, `ignored`, or the kind of refusal.
    pub word: &'static str,
    pub message: String,
    /// More fields of the JSON answer.
    pub extra: Map<String, Value>,
    /// The repository named in the body (unverified unless the status says so), for the log.
    pub repository: Option<String>,
    /// More detail for the log only (not sent: e.g. which check a `401` failed).
    pub log_reason: Option<&'static str>,
}

/// The message of a `200` answer to a replayed delivery.
pub(crate) const DUPLICATE: &str = "duplicate delivery, ignored";
/// The message of a `503` answer when no handler is configured.
pub(crate) const NO_HANDLER: &str = "bounty webhook handler not configured";
/// The message of a `401` answer: the same for an unknown repository and a wrong MAC, so the
/// answer does not tell which repositories are configured.
pub(crate) const NOT_VERIFIED: &str = "signature not verified: unknown repository or wrong secret";

impl Reply {
    pub fn new(status: StatusCode, word: &'static str, message: impl Into<String>) -> Self {
        Reply {
            status,
            word,
            message: message.into(),
            extra: Map::new(),
            repository: None,
            log_reason: None,
        }
    }

    fn log_reason(mut self, reason: &'static str) -> Self {
        self.log_reason = Some(reason);
        self
    }

    fn repository(mut self, name: &str) -> Self {
        self.repository = Some(truncate(name, MAX_REPOSITORY_NAME_LEN));
        self
    }

    /// `{"status": word, "message": message, ...extra}`.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("status".into(), Value::from(self.word));
        body.insert("message".into(), Value::from(self.message.clone()));
        body.extend(self.extra.clone());
        Value::Object(body)
    }
}

/// The receiver's state, shared by every connection.
pub(crate) struct Receiver {
    pub max_body_bytes: usize,
    /// Lower-cased `owner/name` -> secret.
    secrets: HashMap<String, WebhookSecret>,
    /// Also serializes processing: one verified delivery at a time.
    deliveries: parking_lot::Mutex<DeliveryStore>,
    handler: Option<Arc<dyn MergeHandler>>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("repositories", &self.secrets.len())
            .field("handler", &self.handler.is_some())
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// Validates `config` and opens (or creates) the processed-deliveries file.
    pub fn open(config: &WebhookConfig) -> Result<Self, WebhookConfigError> {
        config.validate()?;
        let deliveries = DeliveryStore::open(&config.state_dir, config.max_deliveries)?;
        Ok(Receiver {
            max_body_bytes: config.max_body_bytes,
            secrets: config
                .repositories
                .iter()
                .map(|r| (r.name.to_ascii_lowercase(), r.secret.clone()))
                .collect(),
            deliveries: parking_lot::Mutex::new(deliveries),
            handler: config.handler.clone(),
        })
    }

    /// Verifies, de-duplicates, classifies and hands on one delivery. Blocks (file writes, the
    /// handler): call it off the async runtime.
    pub fn receive(&self, headers: &DeliveryHeaders, body: &[u8]) -> Reply {
        let repository = match repository_of(body) {
            Ok(r) => r,
            Err(e) => return Reply::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
        };
        let Some(secret) = self.secrets.get(&repository.to_ascii_lowercase()) else {
            return Reply::new(StatusCode::UNAUTHORIZED, "unauthorized", NOT_VERIFIED)
                .log_reason("repository not configured")
                .repository(&repository);
        };
        if verify_mac(secret.as_bytes(), body, &headers.mac).is_err() {
            return Reply::new(StatusCode::UNAUTHORIZED, "unauthorized", NOT_VERIFIED)
                .log_reason("signature mismatch")
                .repository(&repository);
        }
        // Verified: the body comes from the repository's webhook.
        let mut deliveries = self.deliveries.lock();
        if deliveries.contains(&headers.delivery) {
            return Reply::new(StatusCode::OK, "duplicate", DUPLICATE).repository(&repository);
        }
        let event = match classify(headers, &repository, body) {
            Ok(e) => e,
            Err(e) => {
                return Reply::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string())
                    .repository(&repository)
            }
        };
        let reply = match event {
            Event::Ping => Reply::new(StatusCode::OK, "pong", "pong"),
            Event::Ignored(why) => Reply::new(StatusCode::OK, "ignored", format!("ignored: {why}")),
            Event::Merged(pr) => {
                let Some(handler) = &self.handler else {
                    return Reply::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", NO_HANDLER)
                        .repository(&repository);
                };
                let number = pr.number;
                let url = pr.url.clone();
                match handler.on_merged(pr) {
                    Ok(outcome) => {
                        let mut reply =
                            Reply::new(StatusCode::ACCEPTED, "accepted", outcome.detail.clone());
                        reply.extra.insert(
                            "pull_request".into(),
                            json!({ "repository": repository, "number": number, "url": url }),
                        );
                        reply.extra.insert(
                            "outcome".into(),
                            serde_json::to_value(&outcome).unwrap_or(Value::Null),
                        );
                        reply
                    }
                    Err(e) => {
                        return Reply::new(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "handler_error",
                            e.message(),
                        )
                        .repository(&repository)
                    }
                }
            }
        };
        if let Err(e) = deliveries.record(&headers.delivery) {
            // Still refused in memory until restart; the action already happened.
            tracing::error!(delivery = %headers.delivery, error = %e, "webhook delivery processed but not persisted");
        }
        reply.repository(&repository)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    use super::*;
    use crate::webhook::{
        HandlerError, HandlerOutcome, MergedPullRequest, RepositorySecret, DELIVERIES_FILE,
    };

    const REPO: &str = "rustchain/node";
    const SECRET: &str = "unit-test-secret";

    #[derive(Default)]
    struct Recorder {
        calls: parking_lot::Mutex<Vec<MergedPullRequest>>,
        fail: AtomicUsize,
    }

    impl MergeHandler for Recorder {
        fn on_merged(&self, pr: MergedPullRequest) -> Result<HandlerOutcome, HandlerError> {
            self.calls.lock().push(pr);
            if self.fail.load(Ordering::SeqCst) > 0 {
                self.fail.fetch_sub(1, Ordering::SeqCst);
                return Err(HandlerError::new("no claim store yet"));
            }
            Ok(
                HandlerOutcome::new("approval_submitted", "approved claim 7")
                    .with_transaction("0xab"),
            )
        }
    }

    fn receiver(dir: &std::path::Path, handler: Option<Arc<Recorder>>) -> Receiver {
        let mut config = WebhookConfig::new(dir);
        config.repositories.push(RepositorySecret {
            name: REPO.into(),
            secret: WebhookSecret::new(SECRET),
        });
        config.handler = handler.map(|h| h as Arc<dyn MergeHandler>);
        Receiver::open(&config).unwrap()
    }

    fn mac(secret: &str, body: &[u8]) -> [u8; 32] {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
        m.update(body);
        m.finalize().into_bytes().into()
    }

    fn signed(event: &str, delivery: &str, body: &[u8]) -> DeliveryHeaders {
        DeliveryHeaders {
            event: event.into(),
            delivery: delivery.into(),
            mac: mac(SECRET, body),
        }
    }

    fn merged(repo: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "action": "closed", "number": 9,
            "pull_request": {"merged": true, "html_url": "https://github.com/rustchain/node/pull/9",
                             "merged_at": "2024-05-01T12:00:00Z", "merged_by": {"login": "m"}},
            "repository": {"full_name": repo}
        }))
        .unwrap()
    }

    #[test]
    fn merged_is_handled_once_then_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let handler = Arc::new(Recorder::default());
        let r = receiver(dir.path(), Some(handler.clone()));
        let body = merged(REPO);
        let reply = r.receive(&signed("pull_request", "d1", &body), &body);
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
        assert_eq!(reply.body()["outcome"]["action"], "approval_submitted");
        assert_eq!(reply.body()["outcome"]["transaction"], "0xab");
        assert_eq!(reply.body()["pull_request"]["number"], 9);
        assert_eq!(handler.calls.lock().len(), 1);
        assert_eq!(
            handler.calls.lock()[0].url,
            "https://github.com/rustchain/node/pull/9"
        );
        let reply = r.receive(&signed("pull_request", "d1", &body), &body);
        assert_eq!(
            (reply.status, reply.message.as_str()),
            (StatusCode::OK, DUPLICATE)
        );
        assert_eq!(handler.calls.lock().len(), 1);
        // A new receiver over the same directory (a restart) still refuses it.
        drop(r);
        let r = receiver(dir.path(), Some(handler.clone()));
        let reply = r.receive(&signed("pull_request", "d1", &body), &body);
        assert_eq!(reply.message, DUPLICATE);
        assert_eq!(handler.calls.lock().len(), 1);
    }

    #[test]
    fn repository_names_match_without_case() {
        let dir = tempfile::tempdir().unwrap();
        let handler = Arc::new(Recorder::default());
        let r = receiver(dir.path(), Some(handler.clone()));
        let body = merged("RustChain/Node");
        let reply = r.receive(&signed("pull_request", "d1", &body), &body);
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        assert_eq!(handler.calls.lock()[0].repository, "RustChain/Node");
    }

    #[test]
    fn refused_deliveries_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let handler = Arc::new(Recorder::default());
        let r = receiver(dir.path(), Some(handler.clone()));
        let body = merged(REPO);
        // Wrong secret.
        let mut h = signed("pull_request", "d1", &body);
        h.mac = mac("another-secret", &body);
        let reply = r.receive(&h, &body);
        assert_eq!(
            (reply.status, reply.message.as_str()),
            (StatusCode::UNAUTHORIZED, NOT_VERIFIED)
        );
        assert_eq!(reply.log_reason, Some("signature mismatch"));
        // Signed for a different body.
        let h = signed("pull_request", "d1", b"{}");
        assert_eq!(r.receive(&h, &body).status, StatusCode::UNAUTHORIZED);
        // Unknown repository, correctly signed with a configured secret: same answer.
        let other = merged("someone/else");
        let reply = r.receive(&signed("pull_request", "d1", &other), &other);
        assert_eq!(
            (reply.status, reply.message.as_str()),
            (StatusCode::UNAUTHORIZED, NOT_VERIFIED)
        );
        assert_eq!(reply.log_reason, Some("repository not configured"));
        // Not JSON, no repository.
        assert_eq!(
            r.receive(&signed("ping", "d1", b"x"), b"x").status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            r.receive(&signed("ping", "d1", b"{}"), b"{}").status,
            StatusCode::BAD_REQUEST
        );
        assert!(handler.calls.lock().is_empty());
        assert!(!dir.path().join(DELIVERIES_FILE).exists());
        // The same delivery id, correctly signed, is then processed.
        let reply = r.receive(&signed("pull_request", "d1", &body), &body);
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        assert_eq!(handler.calls.lock().len(), 1);
    }

    #[test]
    fn handler_errors_and_a_missing_handler_leave_the_delivery_retryable() {
        let dir = tempfile::tempdir().unwrap();
        let body = merged(REPO);
        let r = receiver(dir.path(), None);
        let reply = r.receive(&signed("pull_request", "d1", &body), &body);
        assert_eq!(
            (reply.status, reply.message.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, NO_HANDLER)
        );
        drop(r);
        let handler = Arc::new(Recorder::default());
        handler.fail.store(1, Ordering::SeqCst);
        let r = receiver(dir.path(), Some(handler.clone()));
        let reply = r.receive(&signed("pull_request", "d1", &body), &body);
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(reply.message, "no claim store yet");
        let reply = r.receive(&signed("pull_request", "d1", &body), &body);
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        assert_eq!(handler.calls.lock().len(), 2);
        assert_eq!(
            r.receive(&signed("pull_request", "d1", &body), &body)
                .message,
            DUPLICATE
        );
    }

    #[test]
    fn ping_and_ignored_events_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let handler = Arc::new(Recorder::default());
        let r = receiver(dir.path(), Some(handler.clone()));
        let ping = serde_json::to_vec(
            &json!({"zen": "Keep it logically awesome.", "repository": {"full_name": REPO}}),
        )
        .unwrap();
        let reply = r.receive(&signed("ping", "p1", &ping), &ping);
        assert_eq!(
            (reply.status, reply.word, reply.message.as_str()),
            (StatusCode::OK, "pong", "pong")
        );
        let opened =
            serde_json::to_vec(&json!({"action": "opened", "repository": {"full_name": REPO}}))
                .unwrap();
        let reply = r.receive(&signed("pull_request", "o1", &opened), &opened);
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.message.starts_with("ignored: "), "{}", reply.message);
        let push = serde_json::to_vec(
            &json!({"ref": "refs/heads/main", "repository": {"full_name": REPO}}),
        )
        .unwrap();
        assert_eq!(
            r.receive(&signed("push", "u1", &push), &push).word,
            "ignored"
        );
        for (id, body, event) in [
            ("p1", &ping, "ping"),
            ("o1", &opened, "pull_request"),
            ("u1", &push, "push"),
        ] {
            assert_eq!(
                r.receive(&signed(event, id, body), body).message,
                DUPLICATE,
                "{id}"
            );
        }
        assert!(handler.calls.lock().is_empty());
        // A closed pull request missing its fields is refused and not recorded.
        let broken =
            serde_json::to_vec(&json!({"action": "closed", "repository": {"full_name": REPO}}))
                .unwrap();
        let reply = r.receive(&signed("pull_request", "b1", &broken), &broken);
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        let reply = r.receive(&signed("pull_request", "b1", &broken), &broken);
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn bodies_are_json_with_status_and_message() {
        let reply = Reply::new(StatusCode::OK, "pong", "pong");
        assert_eq!(reply.body(), json!({"status": "pong", "message": "pong"}));
    }
}
