//! axum integration (feature `axum`): [`Receiver::router`], a `Router`
//! that owns only its own path, and [`VerifiedEvent`], an extractor for
//! users who write their own handler.
//!
//! Both verify against the URI the sender requested: under
//! `Router::nest`, axum hands nested handlers the path without the
//! prefix, and keeps the original in `OriginalUri`, which is what is used.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use gladly_webhook_core::event::{EventError, ParsedEvent, parse_event};
use gladly_webhook_core::{Verified, Verifier};
use gladly_webhook_server::body::{BodyBudget, BodyLimits};

use crate::receipt::{Receipt, Verdict, receipt};
use crate::receive::{
    DEFAULT_BODY_LIMIT, Receiver, answer, original_uri, read_body, reject_reason,
};

impl Receiver {
    /// An axum `Router` that answers `path` (every method: a non-`POST` is
    /// a 405) and nothing else, to `merge` into an application or serve
    /// alone.
    ///
    /// ```
    /// use gladly_webhook_core::Verifier;
    /// use gladly_webhook_receiver::{Handlers, Receiver};
    ///
    /// let verifier = Verifier::new([b"whsec_example_0123456789abcdef"]).unwrap();
    /// let receiver = Receiver::inline(verifier, Handlers::new());
    /// let app: axum::Router = axum::Router::new()
    ///     .route("/health", axum::routing::get(|| async { "ok" }))
    ///     .merge(receiver.router("/hooks/gladly"));
    /// ```
    pub fn router(&self, path: &str) -> axum::Router {
        self.path_router(path)
    }

    /// A router to serve alone: [`Receiver::router`] plus a fallback that
    /// answers every other path 404 and reports it like any refusal (log
    /// line, span, [`Receiver::on_receipt`] with [`Verdict::NotFound`]), so
    /// a subscription URL with the wrong path shows in the receiver's
    /// output. Having a fallback, it cannot be merged into a router that
    /// has one too: merge [`Receiver::router`] instead.
    ///
    /// ```
    /// # use gladly_webhook_core::Verifier;
    /// # use gladly_webhook_receiver::{Handlers, Receiver};
    /// # let verifier = Verifier::new([b"whsec_example_0123456789abcdef"]).unwrap();
    /// let receiver = Receiver::inline(verifier, Handlers::new());
    /// let app: axum::Router = receiver.standalone_router("/hooks/gladly");
    /// ```
    pub fn standalone_router(&self, path: &str) -> axum::Router {
        let receiver = self.clone();
        self.path_router(path).fallback(move |uri: http::Uri| {
            let receiver = receiver.clone();
            async move { receiver.refuse_path(uri.path()).map(axum::body::Body::new) }
        })
    }

    fn path_router(&self, path: &str) -> axum::Router {
        let receiver = self.clone();
        axum::Router::new().route(
            path,
            axum::routing::any(move |request: Request| {
                let receiver = receiver.clone();
                async move { receiver.receive(request).await.map(axum::body::Body::new) }
            }),
        )
    }
}

/// What [`VerifiedEvent`] verifies with: the verifier and the body limit.
/// Put it in the application's state (or implement `FromRef` for it).
#[derive(Clone, Debug)]
pub struct Verification {
    verifier: Arc<Verifier>,
    body: BodyLimits,
}

impl Verification {
    /// Verification with `verifier` and the default 1 MiB body limit.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier: Arc::new(verifier),
            body: BodyLimits::new(DEFAULT_BODY_LIMIT),
        }
    }

    /// Refuses bodies larger than `bytes` with 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body.max_bytes = bytes;
        self
    }

    /// Answers 408 when a whole body does not arrive within `timeout`
    /// (default 30 s).
    pub fn body_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.body.timeout = timeout;
        self
    }

    /// Buffers bodies only while `budget` has room (503 past it; default:
    /// 64 MiB shared by this verification's clones).
    pub fn body_budget(mut self, budget: BodyBudget) -> Self {
        self.body.budget = budget;
        self
    }
}

/// An axum extractor: a delivery whose signature is verified, with its
/// event read. A request that is not a verified delivery is rejected
/// before the handler runs (401 with a reason code, 405, 413).
///
/// The event is a `Result`: a verified body that is not a well-formed
/// event is still authentic, and a 4xx would make Gladly retry and then
/// deactivate the subscription; keep it and answer 2xx.
///
/// ```
/// use axum::routing::post;
/// use gladly_webhook_core::Verifier;
/// use gladly_webhook_receiver::{Verification, VerifiedEvent};
///
/// async fn hook(delivery: VerifiedEvent) -> &'static str {
///     match delivery.event {
///         Ok(event) => println!("{} {:?}", event.event_type(), event.id()),
///         Err(err) => eprintln!("authentic but malformed: {err}"),
///     }
///     "ok"
/// }
///
/// let verifier = Verifier::new([b"whsec_example_0123456789abcdef"]).unwrap();
/// let app: axum::Router = axum::Router::new()
///     .route("/hooks/gladly", post(hook))
///     .with_state(Verification::new(verifier));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifiedEvent {
    /// What the verification established.
    pub verified: Verified,
    /// The event, or why the authentic body is not one.
    pub event: Result<ParsedEvent, EventError>,
    /// The body as received.
    pub body: Bytes,
}

/// Why [`VerifiedEvent`] rejected a request: answered as its status and
/// its reason code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection(Receipt);

impl Rejection {
    /// The status the rejection answers.
    pub fn status(&self) -> http::StatusCode {
        self.0.status
    }

    /// The reason code (`signature_mismatch`, `body_too_large`...).
    pub fn reason(&self) -> &'static str {
        self.0.reason
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        answer(&self.0).map(axum::body::Body::new)
    }
}

impl<S> FromRequest<S> for VerifiedEvent
where
    S: Send + Sync,
    Verification: FromRef<S>,
{
    type Rejection = Rejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verification = Verification::from_ref(state);
        let (parts, body) = request.into_parts();
        if parts.method != http::Method::POST {
            return Err(Rejection(receipt(
                Verdict::MethodNotAllowed,
                "method_not_allowed",
            )));
        }
        let (body, _reserved) = read_body(&parts.headers, body, &verification.body)
            .await
            .map_err(Rejection)?;
        let uri = original_uri(&parts.extensions).unwrap_or(&parts.uri);
        let verified = verification
            .verifier
            .verify_parts(&parts.method, uri, &parts.headers, &body)
            .map_err(|err| Rejection(receipt(Verdict::Rejected, reject_reason(&err))))?;
        Ok(Self {
            verified,
            event: parse_event(&body),
            body,
        })
    }
}
