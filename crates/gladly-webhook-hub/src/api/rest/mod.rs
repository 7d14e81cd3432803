//! The hub as a local Gladly: REST API 1.0 as Gladly runs it
//! ([`crate::Hub::model`] with [`Model::RestApiV1`](gladly_webhook_core::model::Model)),
//! so a client, Gladly's documentation examples and a team's provisioning
//! code run against it unchanged.
//!
//! | request | answers |
//! |---|---|
//! | `POST /api/v1/webhooks` | `201`, empty, with `Location: /api/v1/webhooks/{id}`; `400` |
//! | `GET /api/v1/webhooks` | `200`, every webhook, oldest first |
//! | `GET /api/v1/webhooks/{webhookId}` | `200`; `404` |
//! | `PATCH /api/v1/webhooks/{webhookId}` | `204`; `400`; `404` |
//! | `DELETE /api/v1/webhooks/{webhookId}` | `204`; `400` while it is enabled; `404` |
//! | `GET /api/v1/events?startAt&endAt&entities` | `200`, `application/x-jsonlines`: the events whose `timestamp` is in `[startAt, endAt)` (`endAt` defaults to now) within the events window (24 h), in timestamp order, of the entities asked (the part of the type before `/`), read a page of at most 2 MiB at a time; `400`; `429` `too_many_streams` past [`MAX_STREAMS_PER_USER`] answers in progress for one API user |
//! | `POST /api/v1/events` | publication for tests, as in the default model, of `NOUN/VERB` types |
//! | `GET /api/v1/openapi.json` | this API's OpenAPI 3.1 document, without credentials |
//!
//! - **The resource.** `credentials` and `headers` are write-only: no
//!   answer shows them, `hasCredentials` and `headerKeys` say what is set.
//!   `enabled` is `false` unless set. `id`, `createdAt`, `updatedAt`,
//!   `hasCredentials`, `headerKeys` and `disabledAtDueToRetryLimit` are
//!   read-only (`400` when sent). At most 20 webhooks; each URL once.
//! - **Deliveries** carry the webhook's Basic credentials and headers and
//!   no signature, on Gladly's schedule (30 s, 5 min, 30 min, 1 h); when
//!   the retries run out the webhook is disabled and
//!   `disabledAtDueToRetryLimit` set (cleared when it is enabled again).
//!   Enabling a webhook, or changing the URL of an enabled one, sends a
//!   `PING` that must be answered `200`, else the request is `400`.
//! - **Errors** are `{"errors": [{"attr", "code", "detail"}]}`: a problem
//!   with a field names it in `attr` (`url`, `credentials.username`); a
//!   body that does not fit is `400` (Gladly has no `422`).
//! - **Rate limit.** Every answer of the webhook routes and the Events API
//!   carries `Ratelimit-Limit-Second` and `Ratelimit-Remaining-Second`;
//!   past the limit (all API users together, [`crate::Hub::rate_limit`],
//!   default 10 a second) the answer is `429` with `Retry-After`.
//!   Publication, which is not Gladly's, is not counted.

mod events;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, Method, StatusCode};
use serde::Serialize;

pub use super::rate::RateLimit;
pub use super::streams::{MAX_STREAMS_PER_USER, StreamSlots};

use super::error::{ApiError, ErrorParts, Problem};
use super::state::Shared;

/// The local Gladly's routes, every one but the OpenAPI document behind
/// Basic auth.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let authenticated = Router::new()
        .route(
            "/api/v1/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/api/v1/webhooks/{id}",
            get(webhooks::get)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        )
        .route(
            "/api/v1/events",
            get(events::stream).post(super::events::publish),
        )
        .route("/api/v1/operational-events", get(super::alerts::list))
        .route_layer(middleware::from_fn_with_state(shared.clone(), rate_limit))
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
            super::require_user,
        ));
    Router::new()
        .route("/api/v1/openapi.json", get(super::openapi::serve_rest))
        .merge(authenticated)
        .route_layer(middleware::from_fn(super::known_query))
        .fallback(super::not_found)
        .method_not_allowed_fallback(super::method_not_allowed)
        .layer(middleware::from_fn(gladly_errors))
        .layer(middleware::from_fn(super::count_request))
        .with_state(shared)
}

/// Counts each request against the rate limit (publication aside) and
/// tells what remains; 429 past it.
async fn rate_limit(
    State(shared): State<Arc<Shared>>,
    route: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::POST && route.as_str() == "/api/v1/events" {
        return next.run(request).await;
    }
    let limit = shared.rate.limit();
    if limit == 0 {
        return next.run(request).await;
    }
    let (mut response, remaining) = match shared.rate.take() {
        Ok(remaining) => (next.run(request).await, remaining),
        Err(wait_ms) => {
            let mut refused = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!("more than {limit} requests in a second; back off and try again"),
            )
            .into_response();
            let seconds = wait_ms.div_ceil(1000).max(1);
            refused
                .headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
            (refused, 0)
        }
    };
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit-second", HeaderValue::from(limit));
    headers.insert("ratelimit-remaining-second", HeaderValue::from(remaining));
    response
}

/// One entry of Gladly's error body.
#[derive(Debug, Serialize)]
struct GladlyError {
    #[serde(skip_serializing_if = "Option::is_none")]
    attr: Option<String>,
    code: String,
    detail: String,
}

/// Says every error answer in Gladly's words: `{"errors": [...]}`, and
/// `400` where the default model answers `409` or `422`.
async fn gladly_errors(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let Some(parts) = response.extensions_mut().remove::<ErrorParts>() else {
        return response;
    };
    let status = match response.status() {
        StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
        other => other,
    };
    let body = serde_json::json!({ "errors": entries(&parts) });
    let (mut head, _) = response.into_parts();
    head.status = status;
    head.headers.remove(http::header::CONTENT_LENGTH);
    head.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(head, Body::from(body.to_string()))
}

fn entries(parts: &ErrorParts) -> Vec<GladlyError> {
    if !parts.problems.is_empty() {
        return parts.problems.iter().map(problem_entry).collect();
    }
    vec![GladlyError {
        attr: parts.attr.map(str::to_string),
        code: parts.code.to_string(),
        detail: parts.message.clone(),
    }]
}

/// A problem at a JSON pointer as Gladly names it: the field's path with
/// dots (`/credentials/username` is `credentials.username`).
/// A missing property is reported at its parent (JSON Schema's way);
/// Gladly names the property itself.
fn problem_entry(problem: &Problem) -> GladlyError {
    let mut parts: Vec<String> = problem
        .pointer
        .trim_start_matches('/')
        .split('/')
        .filter(|part| !part.is_empty())
        .map(|part| part.replace("~1", "/").replace("~0", "~"))
        .collect();
    if problem.code == "Required"
        && let Some(name) = problem
            .message
            .strip_prefix("missing required property \"")
            .and_then(|rest| rest.split_once('"'))
            .map(|(name, _)| name)
    {
        parts.push(name.to_string());
    }
    let attr = parts.join(".");
    let code = match problem.code.as_str() {
        "Required" => "blank",
        "ReadOnly" => "read_only",
        _ => "invalid",
    };
    GladlyError {
        attr: (!attr.is_empty()).then_some(attr),
        code: code.to_string(),
        detail: problem.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_their_field_with_dots() {
        let entry = problem_entry(&Problem::new(
            "/credentials/username",
            "Required",
            "expected a user name",
        ));
        assert_eq!(entry.attr.as_deref(), Some("credentials.username"));
        assert_eq!(entry.code, "blank");
        let headers = problem_entry(&Problem::new("/headers/X~1Y", "Type", "a string"));
        assert_eq!(headers.attr.as_deref(), Some("headers.X/Y"));
        assert_eq!(problem_entry(&Problem::new("", "Syntax", "x")).attr, None);
        let missing = problem_entry(&Problem::new(
            "/credentials",
            "Required",
            "missing required property \"password\"",
        ));
        assert_eq!(missing.attr.as_deref(), Some("credentials.password"));
    }
}
