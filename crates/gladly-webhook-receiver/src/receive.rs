//! [`Receiver`]: one delivery in, one answer out.
//!
//! The order never changes: check the method, buffer the body under the
//! limit, verify the signature on the bytes as received, only then parse,
//! then store (inbox mode) or handle (inline mode), and only then answer.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use gladly_webhook_core::VerifyError;
use gladly_webhook_core::auth::{AuthError, DeliveryAuth};
use gladly_webhook_core::event::{EventError, ParsedEvent, parse_event};
use gladly_webhook_server::body::{BodyBudget, BodyError, BodyLimits, Reservation};
use http::{HeaderMap, HeaderValue, Method, Request, Response, Uri, header};
use http_body::Body;
use http_body_util::Full;
use tokio::sync::Notify;
use tracing::Instrument;

use crate::handlers::{Delivery, Handlers};
use crate::inbox::{Inbox, Inserted, NewEvent, State};
use crate::keeper::{InboxKeeper, Keeper};
use crate::receipt::{Receipt, Verdict, receipt};

/// The largest body a [`Receiver`] reads by default: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

type ReceiptHook = Arc<dyn Fn(&Receipt) + Send + Sync>;

#[derive(Clone)]
enum Mode {
    Inbox(Arc<dyn Keeper>),
    Inline(Handlers),
}

#[derive(Clone)]
struct Inner {
    auth: DeliveryAuth,
    body: BodyLimits,
    mode: Mode,
    wake: Option<Arc<Notify>>,
    on_receipt: Option<ReceiptHook>,
    receipt_headers: bool,
}

/// Receives Gladly's deliveries: a `tower::Service` (it implements it)
/// and, with the `axum` feature, an axum `Router` ([`Receiver::router`]).
/// Cheap to clone: clones share everything.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("auth", &self.inner.auth)
            .field("body", &self.inner.body)
            .field(
                "mode",
                &match self.inner.mode {
                    Mode::Inbox(_) => "inbox",
                    Mode::Inline(_) => "inline",
                },
            )
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// A receiver that stores each authentic delivery in `inbox` and
    /// answers 200 once it is committed; workers run the handlers
    /// ([`crate::Workers`]). `auth` is how a delivery proves it comes from
    /// Gladly: a [`Verifier`](gladly_webhook_core::Verifier) (our user's signed deliveries) or any
    /// [`DeliveryAuth`] (Basic credentials and headers, as Gladly's REST API
    /// 1.0 webhooks send them).
    pub fn with_inbox(auth: impl Into<DeliveryAuth>, inbox: Arc<dyn Inbox>) -> Self {
        Self::new(auth.into(), Mode::Inbox(Arc::new(InboxKeeper(inbox))))
    }

    /// A receiver that keeps each authentic delivery with `keeper` and
    /// answers 200 once it has: exactly as [`Receiver::with_inbox`] does,
    /// with another store behind it (the relay's outbox).
    pub fn keeping(auth: impl Into<DeliveryAuth>, keeper: Arc<dyn Keeper>) -> Self {
        Self::new(auth.into(), Mode::Inbox(keeper))
    }

    /// A receiver with no store: each verified event's handlers run during
    /// the request, and it answers 200 only if they succeed (500 if not,
    /// so Gladly's retry is the retry).
    pub fn inline(auth: impl Into<DeliveryAuth>, handlers: Handlers) -> Self {
        Self::new(auth.into(), Mode::Inline(handlers))
    }

    fn new(auth: DeliveryAuth, mode: Mode) -> Self {
        Self {
            inner: Arc::new(Inner {
                auth,
                body: BodyLimits::new(DEFAULT_BODY_LIMIT),
                mode,
                wake: None,
                on_receipt: None,
                receipt_headers: false,
            }),
        }
    }

    /// The configuration of this receiver alone: a clone configured
    /// afterwards gets its own copy, and the others keep theirs.
    fn inner_mut(&mut self) -> &mut Inner {
        Arc::make_mut(&mut self.inner)
    }

    /// Refuses bodies larger than `bytes` with 413 (default
    /// [`DEFAULT_BODY_LIMIT`]).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.inner_mut().body.max_bytes = bytes;
        self
    }

    /// Answers 408 when a whole body does not arrive within `timeout`
    /// (default 30 s): a client cannot hold a request open by sending its
    /// body slowly.
    pub fn body_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.inner_mut().body.timeout = timeout;
        self
    }

    /// Buffers bodies only while `budget` (shared by its clones, and with
    /// whatever else is given it) has room: past it a request is answered
    /// 503 with `Retry-After` before a byte of its body is read. Default:
    /// 64 MiB of its own. Unauthenticated clients cannot pin more memory
    /// than this.
    pub fn body_budget(mut self, budget: BodyBudget) -> Self {
        self.inner_mut().body.budget = budget;
        self
    }

    /// Wakes `workers` as soon as a new event is stored, rather than at
    /// their next poll.
    pub fn wake(mut self, workers: &crate::Workers) -> Self {
        self.inner_mut().wake = Some(workers.waker());
        self
    }

    /// Calls `hook` with every delivery's [`Receipt`] (a command-line tool
    /// prints a line).
    pub fn on_receipt(mut self, hook: impl Fn(&Receipt) + Send + Sync + 'static) -> Self {
        self.inner_mut().on_receipt = Some(Arc::new(hook));
        self
    }

    /// With `true`, each [`Receipt`] carries the request's headers, masked
    /// ([`masked_headers`]), for an inspector page. Off by default: it
    /// costs an allocation per header.
    pub fn receipt_headers(mut self, keep: bool) -> Self {
        self.inner_mut().receipt_headers = keep;
        self
    }

    /// Handles one delivery and answers it; see the crate docs for the
    /// answer to each case.
    pub async fn receive<B>(&self, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = std::time::Instant::now();
        let span = delivery_span();
        let (parts, body) = request.into_parts();
        let uri = original_uri(&parts.extensions)
            .unwrap_or(&parts.uri)
            .clone();
        let mut receipt = self
            .receive_parts(&parts.method, &uri, &parts.headers, body)
            .instrument(span.clone())
            .await;
        if self.inner.receipt_headers {
            receipt.headers = masked_headers(&parts.headers);
        }
        self.report(&span, receipt, started)
    }

    /// Answers a request to a path that is not the receiver's (404), and
    /// reports it as every other refusal is: the span, the log line and the
    /// [`Receiver::on_receipt`] hook.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn refuse_path(&self, path: &str) -> Response<Full<Bytes>> {
        let started = std::time::Instant::now();
        let span = delivery_span();
        span.in_scope(|| {
            tracing::info!(
                path = %gladly_webhook_core::echo::escape(path, 200),
                "no receiver on this path"
            );
        });
        self.report(&span, receipt(Verdict::NotFound, "not_found"), started)
    }

    /// Records `receipt` in `span` and the metrics, logs it, calls the
    /// receipt hook, and turns it into the answer.
    fn report(
        &self,
        span: &tracing::Span,
        receipt: Receipt,
        started: std::time::Instant,
    ) -> Response<Full<Bytes>> {
        let _entered = span.enter();
        if let Some(id) = &receipt.event_id {
            span.record("event_id", id.as_str());
        }
        if let Some(event_type) = &receipt.event_type {
            span.record("event_type", event_type.as_str());
        }
        span.record("verdict", receipt.verdict.as_str());
        span.record("status", receipt.status.as_u16());
        tracing::info!(reason = receipt.reason, "delivery answered");
        crate::metrics::delivery(
            receipt.verdict.as_str(),
            receipt.reason,
            receipt.status.as_u16(),
            started.elapsed(),
        );
        if let Some(hook) = &self.inner.on_receipt {
            hook(&receipt);
        }
        answer(&receipt)
    }

    async fn receive_parts<B>(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: B,
    ) -> Receipt
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if method != Method::POST {
            return receipt(Verdict::MethodNotAllowed, "method_not_allowed");
        }
        let (body, _reserved) = match read_body(headers, body, &self.inner.body).await {
            Ok(read) => read,
            Err(failed) => return failed,
        };
        if let Err(err) = self.inner.auth.check(method, uri, headers, &body) {
            return receipt(Verdict::Rejected, auth_reason(&err));
        }
        let parsed = parse_event(&body);
        let (event_id, event_type) = identify(&parsed, &body);
        let mut result = match (&self.inner.mode, parsed) {
            (_, Ok(event)) if event.is_ping() => receipt(Verdict::Ping, "ping"),
            (Mode::Inbox(inbox), parsed) => {
                self.store(inbox.as_ref(), parsed, &body, &event_id, &event_type)
                    .await
            }
            (Mode::Inline(handlers), Ok(event)) => {
                match handlers
                    .dispatch(Delivery::of(event, body.clone(), 1))
                    .await
                {
                    Ok(_) => receipt(Verdict::Handled, "handled"),
                    Err(err) => {
                        tracing::warn!(error = %gladly_webhook_core::echo::escape(&err.to_string(), 200), "inline handler failed");
                        receipt(Verdict::HandlerFailed, "handler_failed")
                    }
                }
            }
            (Mode::Inline(_), Err(err)) => {
                tracing::warn!(error = %err, "verified delivery is not an event; no inbox to keep it");
                receipt(Verdict::Malformed, "malformed_event")
            }
        };
        result.event_id = event_id;
        result.event_type = Some(event_type);
        result
    }

    async fn store(
        &self,
        inbox: &dyn Keeper,
        parsed: Result<ParsedEvent, EventError>,
        body: &Bytes,
        event_id: &Option<String>,
        event_type: &str,
    ) -> Receipt {
        let event = stored_form(&parsed, body, event_id, event_type);
        let dead = event.state == State::Dead;
        match inbox.keep(event).await {
            Ok(Inserted::New) if dead => receipt(Verdict::StoredDead, "stored_dead"),
            Ok(Inserted::New) => {
                if let Some(wake) = &self.inner.wake {
                    wake.notify_waiters();
                }
                receipt(Verdict::Stored, "stored")
            }
            Ok(_) => receipt(Verdict::Duplicate, "duplicate"),
            Err(err) => {
                tracing::error!(error = %err, "the inbox could not commit; answering 503");
                receipt(Verdict::Unavailable, "inbox_unavailable")
            }
        }
    }
}

/// The whole body, if it is at most the limit (whether it says its length
/// or is chunked), arrives in time and fits the budget (held as long as
/// the [`Reservation`] is): else the receipt of a 413, 408, 503, or of a
/// 400 when the body could not be read.
pub(crate) async fn read_body<B>(
    headers: &HeaderMap,
    body: B,
    limits: &BodyLimits,
) -> Result<(Bytes, Reservation), Receipt>
where
    B: Body,
{
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = std::pin::pin!(body);
    gladly_webhook_server::body::read_body(&mut body, declared, limits)
        .await
        .map_err(|err| match err {
            BodyError::TooLarge { .. } => receipt(Verdict::TooLarge, "body_too_large"),
            BodyError::Timeout { .. } => receipt(Verdict::BodyTimeout, "body_timeout"),
            BodyError::Busy => receipt(Verdict::Busy, "busy"),
            _ => receipt(Verdict::Unreadable, "body_unreadable"),
        })
}

/// What a verified body becomes in an inbox, exactly as a [`Receiver`]
/// stores it (`None` for a `PING`, which is answered, not stored): keyed
/// by the event's id (by the body's SHA-256 when it has none), `pending`
/// when it is a well-formed event with a string id, or of a type whose
/// schema lets it come without one (Gladly's `AUTOMATION/*`: keyed by its
/// body's SHA-256), `dead` with the reason otherwise. What a backfill from Gladly's Events API inserts, so that
/// an event received both ways is stored once.
///
/// ```
/// use gladly_webhook_receiver::inbox::State;
///
/// let body = br#"{"id": "evt_1", "type": "CONVERSATION/CLOSED", "timestamp": "2026-11-26T17:00:00Z",
///     "initiator": {"id": "a", "type": "AGENT"}, "content": {"conversationId": "c", "customerId": "u",
///     "context": {"assignee": {"inboxId": "i"}}}}"#;
/// let event = gladly_webhook_receiver::inbox_event(body).unwrap();
/// assert_eq!((event.dedup_key.as_str(), event.state), ("evt_1", State::Pending));
/// assert!(gladly_webhook_receiver::inbox_event(br#"{"type": "PING"}"#).is_none());
/// // Not an event: kept dead, keyed by its body.
/// let odd = gladly_webhook_receiver::inbox_event(b"not json").unwrap();
/// assert!(odd.dedup_key.starts_with("sha256:"));
/// assert_eq!(odd.state, State::Dead);
/// // Gladly requires no envelope field of an AUTOMATION/* event: handled,
/// // keyed by its body.
/// let bare = gladly_webhook_receiver::inbox_event(br#"{"type": "AUTOMATION/MESSAGE_SENT"}"#).unwrap();
/// assert!(bare.dedup_key.starts_with("sha256:"));
/// assert_eq!(bare.state, State::Pending);
/// ```
pub fn inbox_event(body: &[u8]) -> Option<NewEvent> {
    let parsed = parse_event(body);
    if matches!(&parsed, Ok(event) if event.is_ping()) {
        return None;
    }
    let (event_id, event_type) = identify(&parsed, body);
    Some(stored_form(&parsed, body, &event_id, &event_type))
}

/// The row a verified body is stored as: see [`inbox_event`].
fn stored_form(
    parsed: &Result<ParsedEvent, EventError>,
    body: &[u8],
    event_id: &Option<String>,
    event_type: &str,
) -> NewEvent {
    // A typed event is complete without an id where its schema says so
    // (Gladly's AUTOMATION/*); it is keyed by its body.
    let typed = matches!(parsed, Ok(event) if event.model().is_some());
    // An id or type with a NUL cannot be stored as text (PostgreSQL
    // refuses it): the event is kept, authentic as it is, as dead with the
    // reason and keyed by its body, on every backend alike.
    let nul = |text: &str| text.contains('\0');
    let unstorable = event_id.as_deref().is_some_and(nul) || nul(event_type);
    let (state, error) = match parsed.as_ref().err() {
        _ if unstorable => (
            State::Dead,
            Some(
                "the event's id or type holds a NUL character, which cannot be stored or handled"
                    .to_string(),
            ),
        ),
        None if event_id.is_some() || typed => (State::Pending, None),
        None => (State::Dead, Some("the event has no string id".to_string())),
        Some(err) => (
            State::Dead,
            Some(gladly_webhook_core::echo::escape(&err.to_string(), 2000)),
        ),
    };
    let (event_id, event_type) = if unstorable {
        (None, event_type.replace('\0', "\u{fffd}"))
    } else {
        (event_id.clone(), event_type.to_string())
    };
    NewEvent::new(body.to_vec(), event_id, event_type, state, error)
}

/// The event's id and type, as far as the payload says them.
fn identify(parsed: &Result<ParsedEvent, EventError>, body: &[u8]) -> (Option<String>, String) {
    match parsed {
        Ok(event) => (
            event.id().map(str::to_string),
            event.event_type().to_string(),
        ),
        // A malformed payload may still carry an id and a type: keep them
        // for deduplication and for looking into the inbox.
        Err(_) => {
            let value: Option<serde_json::Value> = serde_json::from_slice(body).ok();
            let field = |name: &str| {
                value
                    .as_ref()
                    .and_then(|v| v.get(name))
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string)
            };
            (field("id"), field("type").unwrap_or_default())
        }
    }
}

/// The span of one delivery; its fields are recorded once it is answered.
fn delivery_span() -> tracing::Span {
    tracing::info_span!(
        "gladly.delivery",
        event_id = tracing::field::Empty,
        event_type = tracing::field::Empty,
        verdict = tracing::field::Empty,
        status = tracing::field::Empty,
    )
}

/// The most headers [`masked_headers`] keeps of a request (the first ones).
pub const MAX_SHOWN_HEADERS: usize = 64;

/// Headers whose values are shown as they are: they carry no credential.
const SHOWN_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "user-agent",
    "host",
    "gladly-time",
    "x-request-id",
    "traceparent",
    "accept",
    "accept-encoding",
    "connection",
];

/// A request's headers as an inspector may show them: names as sent
/// (lowercase), values of a few known harmless headers as sent (escaped,
/// at most 200 characters), `Gladly-Authorization` with its algorithm and
/// signed headers but not its signature, `Authorization` with its scheme
/// only, every other value masked (a webhook's `headers` may hold a
/// token). Never a secret. At most [`MAX_SHOWN_HEADERS`] of them.
///
/// ```
/// use http::HeaderMap;
/// let mut headers = HeaderMap::new();
/// headers.insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
/// headers.insert("x-gladly-token", "tok_123".parse().unwrap());
/// headers.insert("content-type", "application/json".parse().unwrap());
/// let shown = gladly_webhook_receiver::masked_headers(&headers);
/// assert!(shown.contains(&("authorization".into(), "Basic ****".into())));
/// assert!(shown.contains(&("x-gladly-token".into(), "**** (7 bytes)".into())));
/// assert!(shown.contains(&("content-type".into(), "application/json".into())));
/// ```
pub fn masked_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    use gladly_webhook_core::echo::escape;
    headers
        .iter()
        .take(MAX_SHOWN_HEADERS)
        .map(|(name, value)| {
            let name = name.as_str();
            let shown = if SHOWN_HEADERS.contains(&name) {
                escape(&String::from_utf8_lossy(value.as_bytes()), 200)
            } else if name == "gladly-authorization" {
                String::from_utf8_lossy(value.as_bytes())
                    .split(',')
                    .map(str::trim)
                    .map(|part| match part.split_once('=') {
                        Some((key, _)) if key.eq_ignore_ascii_case("signature") => {
                            format!("{key}=****")
                        }
                        _ => escape(part, 200),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            } else if name == "authorization" {
                let text = String::from_utf8_lossy(value.as_bytes());
                let scheme = text.split_whitespace().next().unwrap_or("");
                format!("{} ****", escape(scheme, 20))
            } else {
                format!("**** ({} bytes)", value.len())
            };
            (name.to_string(), shown)
        })
        .collect()
}

/// The short code a 401 answers with for a delivery that fails its
/// [`DeliveryAuth`]: the signature's reason ([`reject_reason`]), or
/// `missing_credentials`, `bad_credentials`, `missing_header`,
/// `bad_header_value`.
pub fn auth_reason(err: &AuthError) -> &'static str {
    match err {
        AuthError::Signature(err) => reject_reason(err),
        other => other.code(),
    }
}

/// The short code a 401 answers with: what failed, never a secret.
pub fn reject_reason(err: &VerifyError) -> &'static str {
    match err {
        VerifyError::MissingHeader { .. } => "missing_signature_header",
        VerifyError::MalformedAuthorization(_) => "malformed_authorization",
        VerifyError::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
        VerifyError::MalformedTime { .. } => "malformed_time",
        VerifyError::TimeOutsideTolerance { skew, .. } if *skew < chrono::TimeDelta::zero() => {
            "time_in_future"
        }
        VerifyError::TimeOutsideTolerance { .. } => "time_too_old",
        VerifyError::TimeNotSigned => "time_not_signed",
        VerifyError::SignedHeaderMissing { .. } => "signed_header_missing",
        VerifyError::SignedHeaderRepeated { .. } => "signed_header_repeated",
        VerifyError::SignatureMismatch => "signature_mismatch",
        _ => "rejected",
    }
}

pub(crate) fn answer(receipt: &Receipt) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(receipt.reason.as_bytes())));
    *response.status_mut() = receipt.status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    match receipt.verdict {
        Verdict::Rejected
            if matches!(receipt.reason, "missing_credentials" | "bad_credentials") =>
        {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"gladly-webhook\", charset=\"UTF-8\""),
            );
        }
        Verdict::MethodNotAllowed => {
            headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        Verdict::Busy | Verdict::Unavailable => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        Verdict::BodyTimeout => {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        _ => {}
    }
    response
}

/// The URI the sender requested, when a router (axum's `nest`) rewrote the
/// request's own: the signature covers the original path.
pub(crate) fn original_uri(extensions: &http::Extensions) -> Option<&Uri> {
    #[cfg(feature = "axum")]
    {
        extensions
            .get::<axum::extract::OriginalUri>()
            .map(|original| &original.0)
    }
    #[cfg(not(feature = "axum"))]
    {
        let _ = extensions;
        None
    }
}
