//! The API's errors: JSON `{"error": code, "message", "problems"?}`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde::Serialize;

pub use crate::problem::Problem;
use crate::store::{PublishError, StoreError, WriteError};
use crate::subscriptions::{PublicationError, SubscriptionError};

/// The most problems a 422 lists.
pub const MAX_PROBLEMS: usize = 100;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    problems: Option<Vec<Problem>>,
    retry_after: Option<u64>,
    /// The request's field the error is about (REST API 1.0 names it in
    /// `attr`; the default body does not show it).
    attr: Option<&'static str>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    problems: Option<&'a [Problem]>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            problems: None,
            retry_after: None,
            attr: None,
        }
    }

    /// The same error, about the request's field `attr`.
    pub(crate) fn about(mut self, attr: &'static str) -> Self {
        self.attr = Some(attr);
        self
    }

    /// 429: too many failed logins from this peer; try again after `wait`.
    pub fn too_many_logins(wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self {
            retry_after: Some(seconds.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_failed_logins",
                "too many failed logins from this address; wait, then try again",
            )
        }
    }

    /// 422: the body does not fit; its problems at their pointers, the
    /// first [`MAX_PROBLEMS`] of them (the message says how many there
    /// were), so a body of many small mistakes cannot make a huge answer.
    pub fn invalid(message: impl Into<String>, mut problems: Vec<Problem>) -> Self {
        let mut message = message.into();
        if problems.len() > MAX_PROBLEMS {
            message.push_str(&format!(
                " ({} problems in all; the first {MAX_PROBLEMS} are listed)",
                problems.len()
            ));
            problems.truncate(MAX_PROBLEMS);
        }
        Self {
            problems: Some(problems),
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                message,
            )
        }
    }

    /// The same error, listing `problems` (each at its pointer).
    pub fn with_problems(mut self, problems: Vec<Problem>) -> Self {
        self.problems = Some(problems);
        self
    }

    /// The problems it lists.
    #[cfg(test)]
    pub(crate) fn problems(&self) -> &[Problem] {
        self.problems.as_deref().unwrap_or_default()
    }

    /// 404 for a subscription id.
    pub fn no_webhook(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no subscription has the id {}",
                gladly_webhook_core::echo::quote(id)
            ),
        )
    }

    /// 401, asking for Basic credentials.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this API needs HTTP Basic authentication with an API user's email and token",
        )
    }

    /// A store failure: logged here, answered without its details.
    pub fn store(err: &StoreError) -> Self {
        tracing::error!(error = %err, "store failure");
        match err {
            StoreError::Database(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the store could not be reached; try again",
            ),
            _ => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the hub failed; its log says why",
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        Self::store(&err)
    }
}

impl From<crate::ids::RandomError> for ApiError {
    fn from(err: crate::ids::RandomError) -> Self {
        tracing::error!(error = %err, "no random bytes");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the hub could not draw random bytes; its log says why",
        )
    }
}

impl ApiError {
    /// The answer to an invalid `what` (a subscription, a webhook): how
    /// many problems, then each.
    pub(crate) fn invalid_resource(what: &str, problems: Vec<Problem>) -> Self {
        let count = problems.len();
        Self::invalid(
            format!(
                "the {what} is not valid: {count} problem{}",
                if count == 1 { "" } else { "s" }
            ),
            problems,
        )
    }

    /// A subscription use case's error about subscription `id`, in our
    /// user's API's words.
    pub(crate) fn subscription(err: SubscriptionError, id: &str) -> Self {
        match err {
            SubscriptionError::NotFound => Self::no_webhook(id),
            SubscriptionError::PingFailed(err) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "ping_failed",
                err.to_string(),
            ),
            SubscriptionError::DuplicateUrl { existing } => {
                WriteError::DuplicateUrl { existing }.into()
            }
            SubscriptionError::TooMany { max } => WriteError::TooMany { max }.into(),
            SubscriptionError::Conflict => WriteError::Conflict.into(),
            SubscriptionError::DeletedMeanwhile => WriteError::NotFound.into(),
            SubscriptionError::Random(err) => err.into(),
            SubscriptionError::Store(err) => Self::store(&err),
            SubscriptionError::Inactive => Self::new(
                StatusCode::CONFLICT,
                "inactive",
                format!(
                    "the subscription is inactive; re-activate it first (PATCH /api/v1/webhooks/{} with {{\"active\": true}}: the hub PINGs it), then recover",
                    gladly_webhook_core::echo::escape(id, 100)
                ),
            ),
            err @ SubscriptionError::EmptyWindow { .. } => Self::invalid(
                "the request is invalid",
                vec![Problem::new("/until", "Order", err.to_string())],
            ),
            err @ SubscriptionError::RateLimitOutOfRange { .. } => Self::invalid(
                "the request is invalid",
                vec![Problem::new("/perSecond", "Range", err.to_string())],
            ),
            // Not in this model (REST API 1.0 webhooks only), but answered.
            SubscriptionError::StillActive | SubscriptionError::Unreadable => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the hub failed; its log says why",
            ),
        }
    }

    /// A publication's error, in the API's words (both dialects publish
    /// alike).
    pub(crate) fn publication(err: PublicationError) -> Self {
        match err {
            PublicationError::Invalid { message, problems } => Self::invalid(message, problems),
            PublicationError::TooLarge { size, limit } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "the event as delivered (with the id and timestamp the hub adds) is {size} bytes; it must be at most {limit} bytes"
                ),
            ),
            PublicationError::IdReused => PublishError::IdReused.into(),
            PublicationError::Random(err) => err.into(),
            PublicationError::Store(err) => Self::store(&err),
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::DuplicateUrl { existing } => Self::new(
                StatusCode::CONFLICT,
                "duplicate_url",
                format!(
                    "the subscription {} already has this URL; a URL must be unique across subscriptions",
                    gladly_webhook_core::echo::quote(&existing)
                ),
            ),
            WriteError::TooMany { max } => Self::new(
                StatusCode::CONFLICT,
                "too_many_webhooks",
                format!("at most {max} subscriptions are allowed; delete one first"),
            ),
            WriteError::NotFound => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "the subscription was deleted meanwhile",
            ),
            WriteError::Conflict => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "the subscription changed meanwhile; read it and try again",
            ),
            WriteError::Store(err) => Self::store(&err),
        }
    }
}

impl From<PublishError> for ApiError {
    fn from(err: PublishError) -> Self {
        match err {
            PublishError::IdReused => Self::new(
                StatusCode::CONFLICT,
                "duplicate_event_id",
                "an event with this id was published before, with another body; \
                 publish a new event with a new id (or none: the hub assigns one)",
            ),
            PublishError::Store(err) => Self::store(&err),
        }
    }
}

/// What an error answer said, kept in its extensions so that a dialect
/// (REST API 1.0's `{"errors": [...]}`, see [`super::rest`]) can say it in
/// its own words.
#[derive(Debug, Clone)]
pub(crate) struct ErrorParts {
    pub(crate) code: &'static str,
    pub(crate) attr: Option<&'static str>,
    pub(crate) message: String,
    pub(crate) problems: Vec<Problem>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: self.code,
            message: &self.message,
            problems: self.problems.as_deref(),
        };
        let mut response = (self.status, Json(body)).into_response();
        response.extensions_mut().insert(ErrorParts {
            code: self.code,
            attr: self.attr,
            message: self.message.clone(),
            problems: self.problems.clone().unwrap_or_default(),
        });
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"gladly-webhook\", charset=\"UTF-8\""),
            );
        }
        response
    }
}
