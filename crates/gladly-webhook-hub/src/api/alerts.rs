//! `GET /api/v1/operational-events[?limit=N]`: what the hub told its
//! operator about itself (see [`crate::alerts`]), newest first; served by
//! both dialects (the local Gladly's `api_users.emailed` is the email
//! Gladly would send).

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use serde_json::Value;

use super::error::ApiError;
use super::state::Shared;

/// The operational events, newest first (100 by default, at most 1,000).
pub(super) async fn list(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<Value>>, ApiError> {
    let limit = super::limit(query.as_deref(), 100, 1000)?;
    let events = shared
        .store
        .operational_events(limit)
        .await
        .map_err(|err| ApiError::store(&err))?;
    Ok(Json(events))
}
