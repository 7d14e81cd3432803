//! `/api/v1/webhooks`: create, list, read, change, delete subscriptions,
//! rotate a secret, read deliveries; and `/api/v1/deactivations`.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use gladly_webhook_core::model::Model;
use gladly_webhook_core::validate::validate_json;
use gladly_webhook_core::{Policy, Webhook};
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use super::body;
use super::error::{ApiError, Problem};
use crate::hub::Shared;
use crate::ping::ping;
use crate::store::{DeliveryRecord, StoredWebhook, WebhookChange, url_key};

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
    let webhooks = shared.store.list_webhooks().await?;
    Ok(Json(
        webhooks
            .iter()
            .filter(|w| w.model == Model::Subscription)
            .map(|w| w.to_webhook(false))
            .collect(),
    ))
}

/// `GET /api/v1/webhooks/{id}`: one subscription, no secret.
pub(super) async fn get(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<Webhook>, ApiError> {
    Ok(Json(find(&shared, &id).await?.to_webhook(false)))
}

/// `POST /api/v1/webhooks`: validates, PINGs when active, stores; 201 with
/// the secret.
pub(super) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    request: Body,
) -> Result<Response, ApiError> {
    let bytes = body::read(&headers, request, &shared.body).await?;
    let mut fields = body::object(&bytes)?;
    let problems = server_field_problems(&fields);
    for (name, _) in SERVER_FIELDS {
        fields.remove(name);
    }
    let id = crate::ids::webhook_id()?;
    fields.insert("id".to_string(), Value::String(id.clone()));
    let webhook = validate_after(fields, &shared.policy, problems)?;
    // Fail fast, before the PING; the insert checks both again.
    if shared.store.count_webhooks().await? >= shared.max_webhooks {
        return Err(crate::store::WriteError::TooMany {
            max: shared.max_webhooks,
        }
        .into());
    }
    if let Some(existing) = shared.store.find_by_url(&webhook.url).await? {
        return Err(crate::store::WriteError::DuplicateUrl { existing }.into());
    }
    let now = now_millis();
    let stored = StoredWebhook::new(
        id,
        webhook.url,
        webhook.events,
        crate::ids::secret()?,
        webhook.active.unwrap_or(true),
        now,
    );
    if stored.active {
        ping(
            &shared.sender,
            Model::Subscription,
            &stored.url,
            &stored.secret,
        )
        .await
        .map_err(ping_refused)?;
    }
    shared
        .store
        .create_webhook(&stored, shared.max_webhooks)
        .await?;
    tracing::info!(
        webhook_id = stored.id,
        active = stored.active,
        "subscription created"
    );
    let response = (StatusCode::CREATED, Json(stored.to_webhook(true))).into_response();
    Ok(super::with_location(response, &stored.id))
}

/// `PATCH /api/v1/webhooks/{id}`: a merge patch (`null` removes a field),
/// validated as a whole; a PING when it re-activates or changes the URL.
pub(super) async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Body,
) -> Result<Json<Webhook>, ApiError> {
    let bytes = body::read(&headers, request, &shared.body).await?;
    let patch = body::object(&bytes)?;
    let current = find(&shared, &id).await?;
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
    let active = webhook.active.unwrap_or(true);
    let url_changed = url_key(&webhook.url) != url_key(&current.url);
    if active && (!current.active || url_changed) {
        ping(
            &shared.sender,
            Model::Subscription,
            &webhook.url,
            &current.secret,
        )
        .await
        .map_err(ping_refused)?;
    }
    let change = WebhookChange::new(
        webhook.url,
        webhook.events,
        active,
        next_modified(current.modified_at),
    );
    let updated = apply(&shared, &current, &change).await?;
    tracing::info!(webhook_id = id, active, url_changed, "subscription changed");
    Ok(Json(updated.to_webhook(false)))
}

/// `DELETE /api/v1/webhooks/{id}`: 204; its pending deliveries are cancelled.
pub(super) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    find(&shared, &id).await?;
    let deleted = shared
        .gate
        .change(&id, shared.store.delete_webhook(&id, Utc::now()))
        .await?;
    if deleted {
        shared.gate.forget(&id);
        tracing::info!(webhook_id = id, "subscription deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::no_webhook(&id))
    }
}

/// `POST /api/v1/webhooks/{id}/secret`: a new secret; 201 with it.
pub(super) async fn rotate_secret(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let current = find(&shared, &id).await?;
    let change = WebhookChange::new(
        current.url.clone(),
        current.events.clone(),
        current.active,
        next_modified(current.modified_at),
    )
    .with_secret(crate::ids::secret()?);
    let updated = apply(&shared, &current, &change).await?;
    tracing::info!(webhook_id = id, "secret rotated");
    Ok((StatusCode::CREATED, Json(updated.to_webhook(true))).into_response())
}

/// Applies `change` to `current` through the change gate: once it is
/// committed, no delivery goes out that it forbids.
async fn apply(
    shared: &Shared,
    current: &StoredWebhook,
    change: &WebhookChange,
) -> Result<StoredWebhook, ApiError> {
    let update = shared
        .store
        .update_webhook(&current.id, current.modified_at, change);
    Ok(shared.gate.change(&current.id, update).await?)
}

/// `GET /api/v1/webhooks/{id}/deliveries[?limit=N]`: newest first, each
/// with its attempts.
pub(super) async fn deliveries(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<DeliveryRecord>>, ApiError> {
    let limit = super::limit(query.as_deref(), 100, 1000)?;
    find(&shared, &id).await?;
    Ok(Json(shared.store.deliveries(&id, limit).await?))
}

/// `GET /api/v1/deactivations[?limit=N]`: the subscriptions the hub
/// deactivated, newest first.
pub(super) async fn deactivations(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<crate::store::Deactivation>>, ApiError> {
    let limit = super::limit(query.as_deref(), 100, 1000)?;
    Ok(Json(shared.store.deactivations(limit).await?))
}

/// A subscription of this API's model (a REST API 1.0 webhook in the same
/// store is not this API's to show or change).
async fn find(shared: &Shared, id: &str) -> Result<StoredWebhook, ApiError> {
    match shared.store.get_webhook(id).await? {
        Some(webhook) if webhook.model == Model::Subscription => Ok(webhook),
        _ => Err(ApiError::no_webhook(id)),
    }
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
        Ok(_) => Err(invalid(found)),
        Err(report) => {
            found.extend(Problem::from_report(&report));
            Err(invalid(found))
        }
    }
}

fn invalid(problems: Vec<Problem>) -> ApiError {
    invalid_resource("subscription", problems)
}

/// The answer to an invalid `what` (a subscription, a webhook): how many
/// problems, then each.
pub(crate) fn invalid_resource(what: &str, problems: Vec<Problem>) -> ApiError {
    let count = problems.len();
    ApiError::invalid(
        format!(
            "the {what} is not valid: {count} problem{}",
            if count == 1 { "" } else { "s" }
        ),
        problems,
    )
}

fn ping_refused(err: crate::ping::PingFailed) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "ping_failed",
        err.to_string(),
    )
}

/// Now, to the millisecond the store keeps.
pub(crate) fn now_millis() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// A `modifiedAt` after `previous`, even when the clock says otherwise.
pub(crate) fn next_modified(previous: DateTime<Utc>) -> DateTime<Utc> {
    now_millis().max(previous + chrono::Duration::milliseconds(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modified_at_always_moves() {
        let future = Utc::now() + chrono::Duration::hours(1);
        assert!(next_modified(future) > future);
    }
}
