//! What became of a delivery: its [`Verdict`], and the [`Receipt`] a
//! receiver answers, reports and counts.

use std::fmt;

use http::StatusCode;

/// What became of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Verified and stored as `pending` (inbox mode).
    Stored,
    /// Verified; an event with that id was already stored: nothing new.
    Duplicate,
    /// Verified and handled successfully (inline mode).
    Handled,
    /// A `PING`: answered, not stored.
    Ping,
    /// Verified, but not a well-formed event: stored as `dead` with the
    /// reason (inbox mode), so that a fix can replay it.
    StoredDead,
    /// Verified, but the inline handler failed: 500, so Gladly retries.
    HandlerFailed,
    /// Verified, but not a well-formed event, and there is no inbox to
    /// keep it in (inline mode): 200, so Gladly does not deactivate the
    /// subscription; logged.
    Malformed,
    /// Not signed by any of the secrets, or at a time outside the
    /// tolerance: 401.
    Rejected,
    /// Not a `POST`: 405.
    MethodNotAllowed,
    /// Not the receiver's path ([`Receiver::router`](crate::Receiver::router) only): 404.
    NotFound,
    /// Larger than the body limit: 413.
    TooLarge,
    /// The whole body did not arrive within the body timeout: 408.
    BodyTimeout,
    /// The receiver is buffering as many bodies as its budget allows: 503
    /// with `Retry-After`, before anything is verified or stored.
    Busy,
    /// The body could not be read (the connection failed): 400.
    Unreadable,
    /// The inbox could not commit: 503, so Gladly retries.
    Unavailable,
}

impl Verdict {
    /// The verdict in `snake_case`, as logs and metrics label it.
    ///
    /// ```
    /// assert_eq!(gladly_webhook_receiver::Verdict::TooLarge.as_str(), "too_large");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Duplicate => "duplicate",
            Self::Handled => "handled",
            Self::Ping => "ping",
            Self::StoredDead => "stored_dead",
            Self::HandlerFailed => "handler_failed",
            Self::Malformed => "malformed",
            Self::Rejected => "rejected",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::NotFound => "not_found",
            Self::TooLarge => "too_large",
            Self::BodyTimeout => "body_timeout",
            Self::Busy => "busy",
            Self::Unreadable => "unreadable",
            Self::Unavailable => "unavailable",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One delivery's outcome, as [`Receiver::on_receipt`](crate::Receiver::on_receipt) reports it and the
/// tracing span records it. Never holds the body or a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Receipt {
    /// The status answered.
    pub status: StatusCode,
    /// What became of the delivery.
    pub verdict: Verdict,
    /// The short reason code sent as the body (`stored`,
    /// `signature_mismatch`, ...).
    pub reason: &'static str,
    /// The event's type, once verified and read.
    pub event_type: Option<String>,
    /// The event's id, once verified and read.
    pub event_id: Option<String>,
    /// The request's headers, masked ([`masked_headers`](crate::masked_headers)), when
    /// [`Receiver::receipt_headers`](crate::Receiver::receipt_headers) asks for them; empty otherwise.
    pub headers: Vec<(String, String)>,
}

/// The receipt of a delivery with `verdict`, answered `reason`: its status
/// by the verdict.
pub(crate) fn receipt(verdict: Verdict, reason: &'static str) -> Receipt {
    let status = match verdict {
        Verdict::Stored
        | Verdict::Duplicate
        | Verdict::Handled
        | Verdict::Ping
        | Verdict::StoredDead
        | Verdict::Malformed => StatusCode::OK,
        Verdict::HandlerFailed => StatusCode::INTERNAL_SERVER_ERROR,
        Verdict::Rejected => StatusCode::UNAUTHORIZED,
        Verdict::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Verdict::NotFound => StatusCode::NOT_FOUND,
        Verdict::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Verdict::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
        Verdict::Busy => StatusCode::SERVICE_UNAVAILABLE,
        Verdict::Unreadable => StatusCode::BAD_REQUEST,
        Verdict::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    };
    Receipt {
        status,
        verdict,
        reason,
        event_type: None,
        event_id: None,
        headers: Vec::new(),
    }
}
