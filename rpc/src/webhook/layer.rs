//! The tower layer on the RPC server: answers `POST /webhooks/github`, passes the rest on.
//!
//! Rules 1 and 2 of the module docs (size, content type, headers) are applied here, before the
//! body is read; the rest in [`super::receiver`], on tokio's blocking pool.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};

use super::event::DeliveryHeaders;
use super::receiver::{Receiver, Reply};
use super::{WebhookConfig, WebhookConfigError};

/// The path GitHub posts to.
pub const WEBHOOK_PATH: &str = "/webhooks/github";
/// Longest time allowed to receive a body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Tower layer for the RPC server's HTTP middleware. Disabled, it passes everything through.
#[derive(Debug, Clone, Default)]
pub struct WebhookLayer {
    receiver: Option<Arc<Receiver>>,
}

impl WebhookLayer {
    /// A receiver for `config`: validates it and opens the processed-deliveries file.
    pub fn new(config: &WebhookConfig) -> Result<Self, WebhookConfigError> {
        Ok(WebhookLayer {
            receiver: Some(Arc::new(Receiver::open(config)?)),
        })
    }

    /// No receiver: every request passes through.
    pub fn disabled() -> Self {
        WebhookLayer { receiver: None }
    }
}

impl<S> tower::Layer<S> for WebhookLayer {
    type Service = WebhookService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WebhookService {
            inner,
            receiver: self.receiver.clone(),
        }
    }
}

/// See [`WebhookLayer`].
#[derive(Debug, Clone)]
pub struct WebhookService<S> {
    inner: S,
    receiver: Option<Arc<Receiver>>,
}

impl<S> tower::Service<HttpRequest> for WebhookService<S>
where
    S: tower::Service<HttpRequest, Response = HttpResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        match &self.receiver {
            Some(receiver)
                if request.method() == Method::POST && request.uri().path() == WEBHOOK_PATH =>
            {
                let receiver = receiver.clone();
                Box::pin(async move { Ok(serve(receiver, request).await) })
            }
            _ => Box::pin(self.inner.call(request)),
        }
    }
}

/// Answers one delivery and logs it.
async fn serve(receiver: Arc<Receiver>, request: HttpRequest) -> HttpResponse {
    let (parts, body) = request.into_parts();
    let headers = DeliveryHeaders::parse(&parts.headers);
    let reply = match (precheck(&receiver, &parts.headers), &headers) {
        (Some(refused), _) => refused,
        (None, Ok(h)) => receive(&receiver, h.clone(), body).await,
        (None, Err(e)) if e.status() == StatusCode::UNAUTHORIZED => {
            Reply::new(e.status(), "unauthorized", e.to_string())
        }
        (None, Err(e)) => Reply::new(e.status(), "bad_request", e.to_string()),
    };
    let (delivery, event) = match &headers {
        Ok(h) => (h.delivery.as_str(), h.event.as_str()),
        Err(_) => ("-", "-"),
    };
    tracing::info!(
        delivery,
        repository = reply.repository.as_deref().unwrap_or("-"),
        event,
        status = reply.status.as_u16(),
        outcome = %reply.message,
        reason = reply.log_reason.unwrap_or("-"),
        "github webhook delivery"
    );
    response(&reply)
}

/// Rule 1 before the body is read: `413` for a declared length over the cap, `415` for a
/// content type other than JSON.
fn precheck(receiver: &Receiver, headers: &HeaderMap) -> Option<Reply> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > receiver.max_body_bytes as u64) {
        return Some(too_large(receiver));
    }
    if let Some(ct) = headers.get(CONTENT_TYPE) {
        let media = ct
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim();
        if !media.eq_ignore_ascii_case("application/json") {
            return Some(Reply::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "set the webhook's content type to application/json",
            ));
        }
    }
    None
}

fn too_large(receiver: &Receiver) -> Reply {
    Reply::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("body larger than {} bytes", receiver.max_body_bytes),
    )
}

/// Reads the body (bounded, with a deadline) and runs the receiver on the blocking pool.
async fn receive(receiver: &Arc<Receiver>, headers: DeliveryHeaders, body: HttpBody) -> Reply {
    let body = match tokio::time::timeout(
        BODY_READ_TIMEOUT,
        read_bounded(body, receiver.max_body_bytes),
    )
    .await
    {
        Ok(Ok(body)) => body,
        Ok(Err(ReadError::TooLarge)) => return too_large(receiver),
        Ok(Err(ReadError::Stream(e))) => {
            return Reply::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("cannot read the body: {e}"),
            )
        }
        Err(_) => {
            return Reply::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!("body not received within {} s", BODY_READ_TIMEOUT.as_secs()),
            )
        }
    };
    let receiver = receiver.clone();
    match tokio::task::spawn_blocking(move || receiver.receive(&headers, &body)).await {
        Ok(reply) => reply,
        // The handler panicked: nothing was recorded.
        Err(_) => Reply::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "handler_error",
            "the webhook handler failed",
        ),
    }
}

enum ReadError {
    TooLarge,
    Stream(BoxError),
}

/// Reads the body, stopping as soon as it passes `max` bytes.
async fn read_bounded(mut body: HttpBody, max: usize) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(ReadError::Stream)?;
        if let Ok(data) = frame.into_data() {
            if data.len() > max - bytes.len() {
                return Err(ReadError::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

fn response(reply: &Reply) -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::from(reply.body().to_string()));
    *response.status_mut() = reply.status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
