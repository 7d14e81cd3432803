//! `/api/v1/webhooks` as REST API 1.0: list, read, create, change, delete.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use gladly_webhook_core::gladly_schema::rest::{EventType, Webhook};
use gladly_webhook_core::validate::{RestBody, validate_rest_webhook};
use http::StatusCode;
use serde_json::Value;

use crate::api::body::JsonBytes;
use crate::api::error::{ApiError, Problem};
use crate::api::state::Shared;
use crate::delivery_auth::RestSecrets;
use crate::store::StoredWebhook;
use crate::subscriptions::{Draft, SubscriptionError};

/// `GET /api/v1/webhooks`: every webhook, oldest first; write-only fields
/// left out.
pub(super) async fn list(
    State(shared): State<Arc<Shared>>,
) -> Result<Json<Vec<Webhook>>, ApiError> {
    let all = shared.subscriptions.list().await?;
    Ok(Json(all.iter().map(shown).collect()))
}

/// `GET /api/v1/webhooks/{webhookId}`.
pub(super) async fn get(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<Webhook>, ApiError> {
    let webhook = shared.subscriptions.find(&id).await.map_err(answer(&id))?;
    Ok(Json(shown(&webhook)))
}

/// `POST /api/v1/webhooks`: validated, then created (PINGed when
/// enabled); 201 with `Location`.
pub(super) async fn create(
    State(shared): State<Arc<Shared>>,
    JsonBytes(bytes): JsonBytes,
) -> Result<Response, ApiError> {
    let fields = validated(&bytes, &shared, RestBody::Create)?;
    let secrets = RestSecrets::from_body(&fields);
    let enabled = fields
        .get("enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut draft = Draft::new(
        text(&fields, "url").unwrap_or_default(),
        event_names(&fields),
        enabled,
    );
    draft.name = text(&fields, "name");
    draft.secret = Some(secrets.to_secret());
    draft.header_keys = Some(secrets.header_keys());
    let stored = shared
        .subscriptions
        .create(draft)
        .await
        .map_err(answer(""))?;
    Ok(crate::api::with_location(
        StatusCode::CREATED.into_response(),
        &stored.id,
    ))
}

/// `PATCH /api/v1/webhooks/{webhookId}`: the fields given replace the
/// stored ones (`headers` as a whole); a PING when it enables the webhook
/// or moves an enabled one; 204.
pub(super) async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    JsonBytes(bytes): JsonBytes,
) -> Result<StatusCode, ApiError> {
    let fields = validated(&bytes, &shared, RestBody::Update)?;
    let current = shared.subscriptions.find(&id).await.map_err(answer(&id))?;
    let mut draft = Draft::of(&current);
    if let Some(url) = text(&fields, "url") {
        draft.url = url;
    }
    if fields.get("events").is_some() {
        draft.events = event_names(&fields);
    }
    if let Some(enabled) = fields.get("enabled").and_then(Value::as_bool) {
        draft.active = enabled;
    }
    if fields.get("name").is_some() {
        draft.name = text(&fields, "name");
    }
    if fields.get("credentials").is_some() || fields.get("headers").is_some() {
        let stored = RestSecrets::from_secret(&current.secret).map_err(|err| {
            tracing::error!(webhook_id = id, error = %err, "stored credentials unreadable");
            answer(&id)(SubscriptionError::Unreadable)
        })?;
        let secrets = stored.patched(&fields);
        draft.secret = Some(secrets.to_secret());
        draft.header_keys = Some(secrets.header_keys());
    }
    shared
        .subscriptions
        .update(&current, draft)
        .await
        .map_err(answer(&id))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/webhooks/{webhookId}`: 204; 400 while it is enabled.
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

/// The webhook as an answer shows it: no `credentials`, no header values.
fn shown(stored: &StoredWebhook) -> Webhook {
    let secrets = RestSecrets::from_secret(&stored.secret).unwrap_or_default();
    Webhook {
        id: Some(stored.id.clone()),
        name: stored.name.clone(),
        url: stored.url.clone(),
        events: stored
            .events
            .iter()
            .filter_map(|t| t.parse::<EventType>().ok())
            .collect(),
        enabled: stored.active,
        created_at: Some(stored.created_at),
        updated_at: Some(stored.modified_at),
        has_credentials: Some(secrets.has_credentials()),
        header_keys: stored.header_keys.clone(),
        headers: Default::default(),
        credentials: None,
        disabled_at_due_to_retry_limit: stored.disabled_at_retry_limit,
    }
}

/// The body as JSON, or 400 with every problem at its field.
fn validated(bytes: &[u8], shared: &Shared, body: RestBody) -> Result<Value, ApiError> {
    validate_rest_webhook(bytes, &shared.policy, body)
        .map_err(|report| ApiError::invalid_resource("webhook", Problem::from_report(&report)))
}

fn text(fields: &Value, name: &str) -> Option<String> {
    fields.get(name).and_then(Value::as_str).map(str::to_string)
}

fn event_names(fields: &Value) -> Vec<String> {
    fields
        .get("events")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// A use case's error about webhook `id`, in Gladly's words: its code, the
/// field it is about, and `400` where Gladly answers so.
fn answer(id: &str) -> impl Fn(SubscriptionError) -> ApiError + '_ {
    move |err| match err {
        SubscriptionError::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no webhook has the id {}",
                gladly_webhook_core::echo::quote(id)
            ),
        ),
        SubscriptionError::DuplicateUrl { .. } => ApiError::new(
            StatusCode::BAD_REQUEST,
            "taken",
            "another webhook has this url; a url must be unique among the organization's webhooks",
        )
        .about("url"),
        SubscriptionError::TooMany { max } => ApiError::new(
            StatusCode::BAD_REQUEST,
            "too_many",
            format!("an organization has at most {max} webhooks; delete one first"),
        ),
        SubscriptionError::PingFailed(err) => {
            ApiError::new(StatusCode::BAD_REQUEST, "ping_failed", err.to_string()).about("url")
        }
        SubscriptionError::StillActive => ApiError::invalid(
            "the webhook is enabled",
            vec![Problem::new(
                "/enabled",
                "Enabled",
                "disable the webhook (PATCH {\"enabled\": false}) before deleting it",
            )],
        ),
        SubscriptionError::DeletedMeanwhile => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the webhook was deleted meanwhile",
        ),
        SubscriptionError::Conflict => ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "the webhook changed meanwhile; read it and try again",
        ),
        // Unreadable: stored credentials that do not read back. Inactive,
        // EmptyWindow and RateLimitOutOfRange: recovery and rate limits,
        // which this dialect does not serve (Gladly's API has neither).
        SubscriptionError::Unreadable
        | SubscriptionError::Inactive
        | SubscriptionError::EmptyWindow { .. }
        | SubscriptionError::RateLimitOutOfRange { .. } => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the hub failed; its log says why",
        ),
        SubscriptionError::Random(err) => err.into(),
        SubscriptionError::Store(err) => ApiError::store(&err),
    }
}
