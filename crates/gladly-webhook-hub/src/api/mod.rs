//! The REST API: `/api/v1/webhooks` (subscriptions), `/api/v1/events`
//! (publication), deliveries and deactivations, and the OpenAPI document
//! at `/api/v1/openapi.json`.

mod alerts;
mod body;
pub(crate) mod error;
mod events;
mod openapi;
mod rate;
mod rate_limit;
pub mod rest;
pub(crate) mod state;
mod streams;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;

pub use openapi::{openapi_document, rest_openapi_document};

use error::ApiError;
use state::Shared;

/// The API's routes, every one but the OpenAPI document behind Basic auth.
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
            "/api/v1/webhooks/{id}/secret",
            post(webhooks::rotate_secret),
        )
        .route("/api/v1/webhooks/{id}/recover", post(webhooks::recover))
        .route(
            "/api/v1/webhooks/{id}/rate-limit",
            get(rate_limit::get).put(rate_limit::put),
        )
        .route(
            "/api/v1/webhooks/{id}/deliveries",
            get(webhooks::deliveries),
        )
        .route("/api/v1/events", post(events::publish))
        .route("/api/v1/deactivations", get(webhooks::deactivations))
        .route("/api/v1/operational-events", get(alerts::list))
        .route_layer(middleware::from_fn_with_state(shared.clone(), require_user));
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::serve))
        .merge(authenticated)
        .route_layer(middleware::from_fn(known_query))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(count_request))
        .with_state(shared)
}

/// Counts each answered request by its route's pattern (`unmatched` for
/// the fallbacks), method and status.
pub(crate) async fn count_request(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let method = request.method().clone();
    let response = next.run(request).await;
    crate::metrics::api_request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The query parameters each route takes; any other is a 400 (a typo such
/// as `?limt=5` would otherwise be ignored without a word).
fn allowed_query(method: &http::Method, route: &str) -> &'static [&'static str] {
    match (method, route) {
        (
            _,
            "/api/v1/webhooks/{id}/deliveries"
            | "/api/v1/deactivations"
            | "/api/v1/operational-events",
        ) => &["limit"],
        (&http::Method::GET, "/api/v1/events") => &["startAt", "endAt", "entities"],
        _ => &[],
    }
}

pub(crate) async fn known_query(
    route: axum::extract::MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    if let Some(query) = request.uri().query() {
        let allowed = allowed_query(request.method(), route.as_str());
        for (name, _) in url::form_urlencoded::parse(query.as_bytes()) {
            if !allowed.contains(&name.as_ref()) {
                let takes = if allowed.is_empty() {
                    "takes no query parameters".to_string()
                } else {
                    format!("takes only {}", allowed.join(", "))
                };
                return ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    format!(
                        "unknown query parameter {}: this route {takes}",
                        gladly_webhook_core::echo::quote(&name)
                    ),
                )
                .into_response();
            }
        }
    }
    next.run(request).await
}

/// Basic auth. A peer whose logins failed too often is answered 429 with
/// `Retry-After` until its bucket refills; each failure is logged with the
/// user it claimed and the peer, never the token.
/// The API user a request was authenticated as (its email), for the
/// handlers that bound what one user may hold.
#[derive(Debug, Clone)]
pub(crate) struct ApiUser(pub(crate) String);

pub(crate) async fn require_user(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
    if let Some(wait) = shared.logins.wait(peer) {
        return ApiError::too_many_logins(wait).into_response();
    }
    let header = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match shared.users.authenticate(header) {
        Some(email) => {
            let user = ApiUser(email.to_string());
            let mut request = request;
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        None => {
            shared.logins.failed(peer);
            crate::metrics::login_failed();
            let user = crate::auth::ApiUsers::claimed_email(header)
                .map(|email| gladly_webhook_core::echo::escape(&email, 100))
                .unwrap_or_else(|| "(none)".to_string());
            tracing::warn!(user, %peer, "failed login");
            ApiError::unauthorized().into_response()
        }
    }
}

/// `response` with `Location: /api/v1/webhooks/{webhook_id}`, where the
/// webhook it created is read (both APIs answer a creation so).
pub(crate) fn with_location(mut response: Response, webhook_id: &str) -> Response {
    if let Ok(location) = http::HeaderValue::try_from(format!("/api/v1/webhooks/{webhook_id}")) {
        response
            .headers_mut()
            .insert(http::header::LOCATION, location);
    }
    response
}

pub(crate) async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no such route: {}",
            gladly_webhook_core::echo::escape(request.uri().path(), 200)
        ),
    )
}

pub(crate) async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} is not allowed on {}",
            request.method(),
            gladly_webhook_core::echo::escape(request.uri().path(), 200)
        ),
    )
}

/// A `?limit=N` query: `default` when absent, at most `max`.
fn limit(query: Option<&str>, default: u32, max: u32) -> Result<u32, ApiError> {
    let Some(query) = query else {
        return Ok(default);
    };
    let mut limit = default;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name == "limit" {
            limit = value
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_query",
                        format!(
                            "limit must be a whole number from 1 to {max}, found {}",
                            gladly_webhook_core::echo::quote(&value)
                        ),
                    )
                })?;
        }
    }
    Ok(limit)
}
