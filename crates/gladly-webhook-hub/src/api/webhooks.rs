//! `/api/v1/webhooks` in our user's model: create, list, read, change,
//! delete subscriptions, rotate a secret, read deliveries; and
//! `/api/v1/deactivations`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use gladly_webhook_core::validate::validate_json;
use gladly_webhook_core::{Policy, Webhook};
use http::StatusCode;
use serde_json::{Map, Value};

use super::body::JsonObject;
use super::error::{ApiError, Problem};
use super::state::Shared;
use crate::store::{Deactivation, DeliveryRecord};
use crate::subscriptions::Draft;

/// The fields only the server sets, and what to do instead.
const SERVER_FIELDS: [(&str, &str); 4] = [
    ("id", "the server assigns the id; leave it out"),
    (
        "secret",
        "the server generates the secret; leave it out (rotate it with POST /api/v1/webhooks/{id}/secret)",
    ),
    ("createdAt", "the server sets createdAt; leave it out"),
    ("modifiedAt", "the server sets modifiedAt; leave it out"),
];

/// `GET /api/v1/webhooks`: every subscription, oldest first, no secrets.
pub(super) async fn list(
    State(shared): State<Arc<Shared>>,
) -> Result<Json<Vec<Webhook>>, ApiError> {
    let webhooks = shared.subscriptions.list().await?;
    Ok(Json(webhooks.iter().map(|w| w.to_webhook(false)).collect()))
}

/// `GET /api/v1/webhooks/{id}`: one subscription, no secret.
pub(super) async fn get(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<Webhook>, ApiError> {
    let webhook = shared.subscriptions.find(&id).await.map_err(answer(&id))?;
    Ok(Json(webhook.to_webhook(false)))
}

/// `POST /api/v1/webhooks`: validated (the server's fields refused), then
/// created; 201 with the secret.
pub(super) async fn create(
    State(shared): State<Arc<Shared>>,
    JsonObject { mut fields, .. }: JsonObject,
) -> Result<Response, ApiError> {
    let problems = server_field_problems(&fields);
    for (name, _) in SERVER_FIELDS {
        fields.remove(name);
    }
    // A placeholder id, so the document validates; the hub draws the real one.
    fields.insert("id".to_string(), Value::String("wh_new".to_string()));
    let webhook = validate_after(fields, &shared.policy, problems)?;
    let draft = Draft::new(
        webhook.url,
        webhook.events.iter().map(ToString::to_string).collect(),
        webhook.active.unwrap_or(true),
    );
    let stored = shared
        .subscriptions
        .create(draft)
        .await
        .map_err(answer(""))?;
    let response = (StatusCode::CREATED, Json(stored.to_webhook(true))).into_response();
    Ok(super::with_location(response, &stored.id))
}

/// `PATCH /api/v1/webhooks/{id}`: a merge patch (`null` removes a field),
/// validated as a whole; a PING when it re-activates or changes the URL.
pub(super) async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    JsonObject { fields: patch, .. }: JsonObject,
) -> Result<Json<Webhook>, ApiError> {
    let current = shared.subscriptions.find(&id).await.map_err(answer(&id))?;
    let problems = server_field_problems(&patch);
    let Value::Object(mut fields) =
        serde_json::to_value(current.to_webhook(false)).unwrap_or(Value::Null)
    else {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the stored subscription could not be read",
        ));
    };
    for (name, value) in patch {
        if SERVER_FIELDS.iter().any(|(field, _)| *field == name) {
            continue; // reported above; the stored value stays
        }
        if value.is_null() {
            fields.remove(&name);
        } else {
            fields.insert(name, value);
        }
    }
    let webhook = validate_after(fields, &shared.policy, problems)?;
    let mut draft = Draft::of(&current);
    draft.url = webhook.url;
    draft.events = webhook.events.iter().map(ToString::to_string).collect();
    draft.active = webhook.active.unwrap_or(true);
    let updated = shared
        .subscriptions
        .update(&current, draft)
        .await
        .map_err(answer(&id))?;
    Ok(Json(updated.to_webhook(false)))
}

/// `DELETE /api/v1/webhooks/{id}`: 204; its pending deliveries are cancelled.
pub(super) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    shared
        .subscriptions
        .delete(&id)
        .await
        .map_err(answer(&id))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/webhooks/{id}/secret`: a new secret; 201 with it.
pub(super) async fn rotate_secret(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let updated = shared
        .subscriptions
        .rotate_secret(&id)
        .await
        .map_err(answer(&id))?;
    Ok((StatusCode::CREATED, Json(updated.to_webhook(true))).into_response())
}

/// `GET /api/v1/webhooks/{id}/deliveries[?limit=N]`: newest first, each
/// with its attempts.
pub(super) async fn deliveries(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<DeliveryRecord>>, ApiError> {
    let limit = super::limit(query.as_deref(), 100, 1000)?;
    let deliveries = shared.subscriptions.deliveries(&id, limit).await;
    Ok(Json(deliveries.map_err(answer(&id))?))
}

/// The answer to a recovery.
#[derive(serde::Serialize)]
pub(super) struct Recovered {
    /// How many deliveries were re-queued.
    recovered: u64,
}

/// `POST /api/v1/webhooks/{id}/recover` with `{"since": T, "until": T}`
/// (`until` optional, RFC 3339): the subscription's failed and cancelled
/// deliveries published in the window, re-queued in their order; 200 with
/// how many.
pub(super) async fn recover(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    JsonObject { fields, .. }: JsonObject,
) -> Result<Json<Recovered>, ApiError> {
    let mut problems = Vec::new();
    let mut time = |name: &str, required: bool| match fields.get(name) {
        None | Some(Value::Null) if !required => None,
        None => {
            problems.push(Problem::new(
                &format!("/{name}"),
                "Required",
                format!("{name} is required: the RFC 3339 time to recover from"),
            ));
            None
        }
        Some(value) => {
            let parsed = value
                .as_str()
                .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok());
            if parsed.is_none() {
                problems.push(Problem::new(
                    &format!("/{name}"),
                    "Format",
                    format!(
                        "expected an RFC 3339 time such as 2026-12-02T10:00:00Z, found {}",
                        gladly_webhook_core::echo::escape(&value.to_string(), 100)
                    ),
                ));
            }
            parsed.map(|t| t.with_timezone(&chrono::Utc))
        }
    };
    let since = time("since", true);
    let until = time("until", false);
    for name in fields
        .keys()
        .filter(|k| !["since", "until"].contains(&k.as_str()))
    {
        problems.push(Problem::unknown_field(
            name,
            "a recovery takes only since and until",
        ));
    }
    let Some(since) = since.filter(|_| problems.is_empty()) else {
        return Err(ApiError::invalid_resource("recovery", problems));
    };
    let recovered = shared
        .subscriptions
        .recover(&id, since, until)
        .await
        .map_err(answer(&id))?;
    Ok(Json(Recovered { recovered }))
}

/// `GET /api/v1/deactivations[?limit=N]`: the subscriptions the hub
/// deactivated, newest first.
pub(super) async fn deactivations(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<Deactivation>>, ApiError> {
    let limit = super::limit(query.as_deref(), 100, 1000)?;
    Ok(Json(shared.subscriptions.deactivations(limit).await?))
}

/// A use case's error for the subscription `id`, in this dialect's words.
fn answer(id: &str) -> impl Fn(crate::subscriptions::SubscriptionError) -> ApiError + '_ {
    move |err| ApiError::subscription(err, id)
}

fn server_field_problems(fields: &Map<String, Value>) -> Vec<Problem> {
    SERVER_FIELDS
        .iter()
        .filter(|(name, _)| fields.contains_key(*name))
        .map(|(name, why)| Problem::new(&format!("/{name}"), "ReadOnly", *why))
        .collect()
}

/// Validates a whole subscription document with `policy`: the typed
/// subscription, or 422 with `found` (problems found before, such as
/// read-only fields) followed by every problem of the document.
fn validate_after(
    fields: Map<String, Value>,
    policy: &Policy,
    mut found: Vec<Problem>,
) -> Result<Webhook, ApiError> {
    let document = serde_json::to_vec(&Value::Object(fields)).unwrap_or_default();
    match validate_json(&document, policy) {
        Ok(webhook) if found.is_empty() => Ok(webhook),
        Ok(_) => Err(ApiError::invalid_resource("subscription", found)),
        Err(report) => {
            found.extend(Problem::from_report(&report));
            Err(ApiError::invalid_resource("subscription", found))
        }
    }
}
