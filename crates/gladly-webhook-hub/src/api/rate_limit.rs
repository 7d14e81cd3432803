//! `/api/v1/webhooks/{id}/rate-limit` in our user's model: a
//! subscription's rate limit (deliveries a second), and the pause its
//! receiver asked for with `Retry-After`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::Value;

use super::body::JsonObject;
use super::error::{ApiError, Problem};
use super::state::Shared;
use crate::store::StoredWebhook;

/// A subscription's pace, as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RateLimit {
    /// The most deliveries a second, or `null`.
    per_second: Option<u32>,
    /// Until when its receiver asked for no delivery, or `null`.
    paused_until: Option<String>,
}

impl RateLimit {
    fn of(webhook: &StoredWebhook) -> Self {
        let now = chrono::Utc::now();
        Self {
            per_second: webhook.rate_limit,
            paused_until: webhook
                .paused_until
                .filter(|until| *until > now)
                .map(|until| until.to_rfc3339_opts(SecondsFormat::Millis, true)),
        }
    }
}

/// `GET /api/v1/webhooks/{id}/rate-limit`.
pub(super) async fn get(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<RateLimit>, ApiError> {
    let webhook = shared
        .subscriptions
        .find(&id)
        .await
        .map_err(|err| ApiError::subscription(err, &id))?;
    Ok(Json(RateLimit::of(&webhook)))
}

/// `PUT /api/v1/webhooks/{id}/rate-limit` with `{"perSecond": n}` (`null`
/// lifts the limit).
pub(super) async fn put(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    JsonObject { fields, .. }: JsonObject,
) -> Result<Json<RateLimit>, ApiError> {
    let mut problems = Vec::new();
    let per_second = match fields.get("perSecond") {
        None => {
            problems.push(Problem::new(
                "/perSecond",
                "Required",
                "perSecond is required: deliveries a second, or null for no limit",
            ));
            None
        }
        Some(Value::Null) => None,
        Some(value) => match whole_number(value) {
            Some(n) => Some(n),
            None => {
                problems.push(Problem::new(
                    "/perSecond",
                    "Type",
                    format!(
                        "expected a whole number of deliveries a second, found {}",
                        gladly_webhook_core::echo::escape(&value.to_string(), 100)
                    ),
                ));
                None
            }
        },
    };
    for name in fields.keys().filter(|k| *k != "perSecond") {
        problems.push(Problem::unknown_field(
            name,
            "a rate limit has only perSecond",
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid_resource("rate limit", problems));
    }
    let webhook = shared
        .subscriptions
        .set_rate_limit(&id, per_second)
        .await
        .map_err(|err| ApiError::subscription(err, &id))?;
    Ok(Json(RateLimit::of(&webhook)))
}

/// A JSON number with no fraction (`5` or `5.0`, as JSON Schema's
/// `integer` takes it) that fits a `u32`.
fn whole_number(value: &Value) -> Option<u32> {
    if let Some(n) = value.as_u64() {
        return u32::try_from(n).ok();
    }
    let n = value.as_f64()?;
    (n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n)).then_some(n as u32)
}
