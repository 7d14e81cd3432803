//! `POST /api/v1/events`: publish one event to every active subscription
//! to its type (both dialects alike).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::SecondsFormat;
use http::StatusCode;
use serde::Serialize;

use super::body::JsonObject;
use super::error::ApiError;
use super::state::Shared;
use crate::store::NewDelivery;

/// The answer to a publication.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    event_id: String,
    event_type: String,
    published_at: String,
    /// `false` when this event had been published before (same id, same
    /// body): nothing new was created.
    created: bool,
    deliveries: Vec<NewDelivery>,
}

/// Publishes the body ([`crate::Subscriptions::publish`]): 202 with the
/// deliveries (200 when the same event had been published before).
pub(super) async fn publish(
    State(shared): State<Arc<Shared>>,
    JsonObject { bytes, fields }: JsonObject,
) -> Result<Response, ApiError> {
    let published = shared
        .subscriptions
        .publish(&bytes, &fields)
        .await
        .map_err(ApiError::publication)?;
    let status = match published.created {
        true => StatusCode::ACCEPTED,
        false => StatusCode::OK,
    };
    let answer = Answer {
        event_id: published.event_id,
        event_type: published.event_type,
        published_at: published
            .published_at
            .to_rfc3339_opts(SecondsFormat::Millis, true),
        created: published.created,
        deliveries: published.deliveries,
    };
    Ok((status, Json(answer)).into_response())
}
