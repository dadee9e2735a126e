//! A delivery's headers and payload: what GitHub sends, checked and narrowed to what we use.

use http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::deliveries::valid_delivery_id;
use super::signature::{parse_signature_header, SignatureError};

/// Longest `X-GitHub-Event` accepted.
pub const MAX_EVENT_NAME_LEN: usize = 64;

/// Longest text of a payload error shown in an answer or a log line.
const MAX_ERROR_TEXT: usize = 200;

/// A merged pull request, as the [`super::MergeHandler`] receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergedPullRequest {
    /// `X-GitHub-Delivery`: GitHub's id of this delivery.
    pub delivery: String,
    /// `repository.full_name`, e.g. `rustchain/rustchain-node`.
    pub repository: String,
    /// The pull request's number.
    pub number: u64,
    /// `pull_request.html_url`: the reference a bounty submission names.
    pub url: String,
    /// `pull_request.merged_at` (ISO 8601), if present.
    pub merged_at: Option<String>,
    /// `pull_request.merged_by.login`, if present.
    pub merged_by: Option<String>,
}

/// The GitHub headers of one delivery, checked (the MAC is not verified yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeliveryHeaders {
    /// `X-GitHub-Event`.
    pub event: String,
    /// `X-GitHub-Delivery`.
    pub delivery: String,
    /// `X-Hub-Signature-256`, decoded.
    pub mac: [u8; 32],
}

/// Why the headers are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HeaderError {
    #[error("missing X-GitHub-Event header")]
    MissingEvent,
    #[error("malformed X-GitHub-Event header (expected up to {MAX_EVENT_NAME_LEN} characters of a-z and _)")]
    BadEvent,
    #[error("missing X-GitHub-Delivery header")]
    MissingDelivery,
    #[error("malformed X-GitHub-Delivery header (expected up to {} characters of letters, digits, '-', '_' and '.')", super::MAX_DELIVERY_ID_LEN)]
    BadDelivery,
    #[error(
        "missing X-Hub-Signature-256 header (set a secret in the repository's webhook settings)"
    )]
    MissingSignature,
    #[error("{0}")]
    BadSignature(SignatureError),
}

impl HeaderError {
    /// The HTTP status: `401` for a missing signature, `400` for the rest.
    pub fn status(&self) -> http::StatusCode {
        match self {
            HeaderError::MissingSignature => http::StatusCode::UNAUTHORIZED,
            _ => http::StatusCode::BAD_REQUEST,
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<Result<&'a str, ()>> {
    headers.get(name).map(|v| v.to_str().map_err(|_| ()))
}

impl DeliveryHeaders {
    /// Reads and checks the three headers.
    pub fn parse(headers: &HeaderMap) -> Result<Self, HeaderError> {
        let event = header(headers, "x-github-event")
            .ok_or(HeaderError::MissingEvent)?
            .map_err(|()| HeaderError::BadEvent)?;
        if event.is_empty()
            || event.len() > MAX_EVENT_NAME_LEN
            || !event.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            return Err(HeaderError::BadEvent);
        }
        let delivery = header(headers, "x-github-delivery")
            .ok_or(HeaderError::MissingDelivery)?
            .map_err(|()| HeaderError::BadDelivery)?;
        if !valid_delivery_id(delivery) {
            return Err(HeaderError::BadDelivery);
        }
        let signature = header(headers, "x-hub-signature-256")
            .ok_or(HeaderError::MissingSignature)?
            .map_err(|()| HeaderError::BadSignature(SignatureError::BadHex))?;
        let mac = parse_signature_header(signature).map_err(HeaderError::BadSignature)?;
        Ok(DeliveryHeaders {
            event: event.to_string(),
            delivery: delivery.to_string(),
            mac,
        })
    }
}

/// A payload that is not what its event promises.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PayloadError {
    #[error("the payload is not the expected JSON: {0}")]
    Json(String),
    #[error("the payload has no repository.full_name (configure the webhook on a repository)")]
    NoRepository,
}

impl From<serde_json::Error> for PayloadError {
    fn from(e: serde_json::Error) -> Self {
        PayloadError::Json(truncate(&e.to_string(), MAX_ERROR_TEXT))
    }
}

/// At most `max` bytes of `text`, cut at a character boundary, with `...` when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[derive(Deserialize)]
struct Envelope {
    repository: Option<RepositoryField>,
}

#[derive(Deserialize)]
struct RepositoryField {
    full_name: String,
}

/// `repository.full_name`, read only to choose the secret: nothing else is trusted before the
/// signature is verified.
pub(crate) fn repository_of(body: &[u8]) -> Result<String, PayloadError> {
    let envelope: Envelope = serde_json::from_slice(body)?;
    envelope
        .repository
        .map(|r| r.full_name)
        .ok_or(PayloadError::NoRepository)
}

/// What a verified delivery asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// `ping`: GitHub checking the hook.
    Ping,
    /// A merged pull request.
    Merged(MergedPullRequest),
    /// Anything else, with the reason.
    Ignored(String),
}

#[derive(Deserialize)]
struct ActionField {
    action: String,
}

#[derive(Deserialize)]
struct ClosedPullRequest {
    number: u64,
    pull_request: PullRequestField,
}

#[derive(Deserialize)]
struct PullRequestField {
    merged: Option<bool>,
    html_url: String,
    merged_at: Option<String>,
    merged_by: Option<UserField>,
}

#[derive(Deserialize)]
struct UserField {
    login: String,
}

/// Classifies a verified delivery of `repository` (its `repository.full_name`).
pub(crate) fn classify(
    headers: &DeliveryHeaders,
    repository: &str,
    body: &[u8],
) -> Result<Event, PayloadError> {
    match headers.event.as_str() {
        "ping" => Ok(Event::Ping),
        "pull_request" => {
            let ActionField { action } = serde_json::from_slice(body)?;
            if action != "closed" {
                return Ok(Event::Ignored(format!(
                    "pull_request action {:?}",
                    truncate(&action, MAX_EVENT_NAME_LEN)
                )));
            }
            let pr: ClosedPullRequest = serde_json::from_slice(body)?;
            if pr.pull_request.merged != Some(true) {
                return Ok(Event::Ignored("pull_request closed without merging".into()));
            }
            Ok(Event::Merged(MergedPullRequest {
                delivery: headers.delivery.clone(),
                repository: repository.to_string(),
                number: pr.number,
                url: pr.pull_request.html_url,
                merged_at: pr.pull_request.merged_at,
                merged_by: pr.pull_request.merged_by.map(|u| u.login),
            }))
        }
        other => Ok(Event::Ignored(format!("event {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use serde_json::json;

    const MAC_HEX: &str = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn headers(event: &str, delivery: &str, signature: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("X-GitHub-Event", HeaderValue::from_str(event).unwrap());
        h.insert(
            "X-GitHub-Delivery",
            HeaderValue::from_str(delivery).unwrap(),
        );
        if let Some(s) = signature {
            h.insert("X-Hub-Signature-256", HeaderValue::from_str(s).unwrap());
        }
        h
    }

    fn sig() -> String {
        format!("sha256={MAC_HEX}")
    }

    #[test]
    fn headers_parse() {
        let d = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
        let h = DeliveryHeaders::parse(&headers("pull_request", d, Some(&sig()))).unwrap();
        assert_eq!(h.event, "pull_request");
        assert_eq!(h.delivery, d);
        assert_eq!(hex::encode(h.mac), MAC_HEX);
    }

    #[test]
    fn header_errors_and_their_status() {
        let d = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
        let e = DeliveryHeaders::parse(&headers("ping", d, None)).unwrap_err();
        assert_eq!(e, HeaderError::MissingSignature);
        assert_eq!(e.status(), 401);
        let e = DeliveryHeaders::parse(&headers("ping", d, Some(MAC_HEX))).unwrap_err();
        assert_eq!(e, HeaderError::BadSignature(SignatureError::MissingPrefix));
        assert_eq!(e.status(), 400);
        for bad_event in ["", "Pull_Request", "push-x", &"a".repeat(65)] {
            let e = DeliveryHeaders::parse(&headers(bad_event, d, Some(&sig()))).unwrap_err();
            assert_eq!(e, HeaderError::BadEvent, "{bad_event:?}");
        }
        for bad_delivery in ["", "a b", "../x", "a/b", &"a".repeat(65)] {
            let e =
                DeliveryHeaders::parse(&headers("ping", bad_delivery, Some(&sig()))).unwrap_err();
            assert_eq!(e, HeaderError::BadDelivery, "{bad_delivery:?}");
        }
        let mut h = headers("ping", d, Some(&sig()));
        h.remove("x-github-event");
        assert_eq!(
            DeliveryHeaders::parse(&h).unwrap_err(),
            HeaderError::MissingEvent
        );
        let mut h = headers("ping", d, Some(&sig()));
        h.remove("x-github-delivery");
        assert_eq!(
            DeliveryHeaders::parse(&h).unwrap_err(),
            HeaderError::MissingDelivery
        );
        let mut h = headers("ping", d, None);
        h.insert(
            "x-hub-signature-256",
            HeaderValue::from_bytes(b"sha256=\xff").unwrap(),
        );
        assert_eq!(
            DeliveryHeaders::parse(&h).unwrap_err(),
            HeaderError::BadSignature(SignatureError::BadHex)
        );
    }

    fn delivery_headers(event: &str) -> DeliveryHeaders {
        DeliveryHeaders {
            event: event.into(),
            delivery: "d-1".into(),
            mac: [0; 32],
        }
    }

    fn closed(merged: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "action": "closed",
            "number": 42,
            "pull_request": {
                "number": 42,
                "merged": merged,
                "html_url": "https://github.com/rustchain/node/pull/42",
                "merged_at": "2024-05-01T12:00:00Z",
                "merged_by": {"login": "maintainer", "id": 7},
                "title": "ignored fields are fine"
            },
            "repository": {"full_name": "rustchain/node", "id": 1}
        }))
        .unwrap()
    }

    #[test]
    fn repository_is_read_from_the_body() {
        assert_eq!(
            repository_of(&closed(json!(true))).unwrap(),
            "rustchain/node"
        );
        assert_eq!(
            repository_of(br#"{"zen":"x","hook_id":1}"#),
            Err(PayloadError::NoRepository)
        );
        assert!(matches!(
            repository_of(b"not json"),
            Err(PayloadError::Json(_))
        ));
        assert!(matches!(
            repository_of(br#"{"repository":{"id":1}}"#),
            Err(PayloadError::Json(_))
        ));
        // Two `repository` keys cannot choose one secret and name another repository.
        assert!(matches!(
            repository_of(
                br#"{"repository":{"full_name":"a/b"},"repository":{"full_name":"c/d"}}"#
            ),
            Err(PayloadError::Json(_))
        ));
    }

    #[test]
    fn merged_pull_request_is_extracted() {
        let event = classify(
            &delivery_headers("pull_request"),
            "rustchain/node",
            &closed(json!(true)),
        )
        .unwrap();
        assert_eq!(
            event,
            Event::Merged(MergedPullRequest {
                delivery: "d-1".into(),
                repository: "rustchain/node".into(),
                number: 42,
                url: "https://github.com/rustchain/node/pull/42".into(),
                merged_at: Some("2024-05-01T12:00:00Z".into()),
                merged_by: Some("maintainer".into()),
            })
        );
    }

    #[test]
    fn merged_by_and_merged_at_may_be_null() {
        let body = br#"{"action":"closed","number":1,"pull_request":{"merged":true,
            "html_url":"https://github.com/a/b/pull/1","merged_at":null,"merged_by":null}}"#;
        let Event::Merged(pr) = classify(&delivery_headers("pull_request"), "a/b", body).unwrap()
        else {
            panic!("not merged")
        };
        assert_eq!((pr.merged_at, pr.merged_by), (None, None));
    }

    #[test]
    fn everything_else_is_ignored_or_refused() {
        let h = delivery_headers("pull_request");
        for merged in [json!(false), json!(null)] {
            assert_eq!(
                classify(&h, "a/b", &closed(merged)).unwrap(),
                Event::Ignored("pull_request closed without merging".into())
            );
        }
        assert_eq!(
            classify(&h, "a/b", br#"{"action":"opened","number":1}"#).unwrap(),
            Event::Ignored("pull_request action \"opened\"".into())
        );
        assert_eq!(
            classify(&delivery_headers("push"), "a/b", b"{}").unwrap(),
            Event::Ignored("event \"push\"".into())
        );
        assert_eq!(
            classify(&delivery_headers("ping"), "a/b", b"{}").unwrap(),
            Event::Ping
        );
        // A closed pull request without the fields we need, or with the wrong types.
        for body in [
            br#"{"action":"closed"}"#.as_slice(),
            br#"{"action":"closed","number":-1,"pull_request":{"merged":true,"html_url":"u"}}"#,
            br#"{"action":"closed","number":1,"pull_request":{"merged":true}}"#,
            br#"{"action":7}"#,
        ] {
            assert!(
                matches!(classify(&h, "a/b", body), Err(PayloadError::Json(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn payload_errors_are_short() {
        let long = format!(r#"{{"action":"closed","number":"{}"}}"#, "x".repeat(10_000));
        let e = classify(&delivery_headers("pull_request"), "a/b", long.as_bytes()).unwrap_err();
        assert!(e.to_string().len() < MAX_ERROR_TEXT + 100, "{e}");
        assert_eq!(truncate("äbc", 1), "...");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
