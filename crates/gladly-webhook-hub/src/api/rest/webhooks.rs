//! `/api/v1/webhooks` as REST API 1.0: list, read, create, change, delete.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use gladly_webhook_core::gladly_schema::rest::{EventType, Webhook};
use gladly_webhook_core::model::Model;
use gladly_webhook_core::validate::{RestBody, validate_rest_webhook};
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::api::body;
use crate::api::error::{ApiError, Problem};
use crate::api::webhooks::{next_modified, now_millis};
use crate::delivery_auth::RestSecrets;
use crate::hub::Shared;
use crate::ping::ping;
use crate::store::{StoredWebhook, WebhookChange, WriteError, url_key};

/// `GET /api/v1/webhooks`: every webhook, oldest first; write-only fields
/// left out.
pub(super) async fn list(
    State(shared): State<Arc<Shared>>,
) -> Result<Json<Vec<Webhook>>, ApiError> {
    let all = shared.store.list_webhooks().await?;
    Ok(Json(
        all.iter()
            .filter(|w| w.model == Model::RestApiV1)
            .map(shown)
            .collect(),
    ))
}

/// `GET /api/v1/webhooks/{webhookId}`.
pub(super) async fn get(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<Webhook>, ApiError> {
    Ok(Json(shown(&find(&shared, &id).await?)))
}

/// `POST /api/v1/webhooks`: validates, PINGs when enabled, stores; 201
/// with `Location`.
pub(super) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    request: Body,
) -> Result<Response, ApiError> {
    let bytes = body::read(&headers, request, &shared.body).await?;
    let fields = validated(&bytes, &shared, RestBody::Create)?;
    if shared.store.count_webhooks().await? >= shared.max_webhooks {
        return Err(write_error(WriteError::TooMany {
            max: shared.max_webhooks,
        }));
    }
    let url = text(&fields, "url").unwrap_or_default();
    if shared.store.find_by_url(&url).await?.is_some() {
        return Err(write_error(WriteError::DuplicateUrl {
            existing: String::new(),
        }));
    }
    let secrets = RestSecrets::from_body(&fields);
    let enabled = fields
        .get("enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let stored = StoredWebhook::new(
        crate::ids::webhook_id()?,
        url,
        event_names(&fields),
        secrets.to_secret(),
        enabled,
        now_millis(),
    )
    .in_model(
        Model::RestApiV1,
        text(&fields, "name"),
        secrets.header_keys(),
    );
    if enabled {
        ping(
            &shared.sender,
            Model::RestApiV1,
            &stored.url,
            &stored.secret,
        )
        .await
        .map_err(ping_refused)?;
    }
    shared
        .store
        .create_webhook(&stored, shared.max_webhooks)
        .await
        .map_err(write_error)?;
    tracing::info!(webhook_id = stored.id, enabled, "webhook created");
    let response = StatusCode::CREATED.into_response();
    Ok(crate::api::with_location(response, &stored.id))
}

/// `PATCH /api/v1/webhooks/{webhookId}`: the fields given replace the
/// stored ones (`headers` as a whole); a PING when it enables the webhook
/// or moves an enabled one; 204.
pub(super) async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Body,
) -> Result<StatusCode, ApiError> {
    let bytes = body::read(&headers, request, &shared.body).await?;
    let fields = validated(&bytes, &shared, RestBody::Update)?;
    let current = find(&shared, &id).await?;
    let url = text(&fields, "url").unwrap_or_else(|| current.url.clone());
    let events = if fields.get("events").is_some() {
        event_names(&fields)
    } else {
        current.events.clone()
    };
    let enabled = fields
        .get("enabled")
        .and_then(Value::as_bool)
        .unwrap_or(current.active);
    let name = if fields.get("name").is_some() {
        text(&fields, "name")
    } else {
        current.name.clone()
    };
    let secrets = if fields.get("credentials").is_some() || fields.get("headers").is_some() {
        let stored = RestSecrets::from_secret(&current.secret).map_err(|err| {
            tracing::error!(webhook_id = id, error = %err, "stored credentials unreadable");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the hub failed; its log says why",
            )
        })?;
        Some(stored.patched(&fields))
    } else {
        None
    };
    let url_changed = url_key(&url) != url_key(&current.url);
    if enabled && (!current.active || url_changed) {
        let secret = secrets
            .as_ref()
            .map_or_else(|| current.secret.clone(), RestSecrets::to_secret);
        ping(&shared.sender, Model::RestApiV1, &url, &secret)
            .await
            .map_err(ping_refused)?;
    }
    let mut change = WebhookChange::new(url, events, enabled, next_modified(current.modified_at))
        .with_name(name);
    if let Some(secrets) = &secrets {
        change = change.with_rest_secrets(secrets.to_secret(), secrets.header_keys());
    }
    let update = shared
        .store
        .update_webhook(&current.id, current.modified_at, &change);
    shared
        .gate
        .change(&current.id, update)
        .await
        .map_err(write_error)?;
    tracing::info!(webhook_id = id, enabled, url_changed, "webhook changed");
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/webhooks/{webhookId}`: 204; 400 while it is enabled.
pub(super) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let current = find(&shared, &id).await?;
    if current.active {
        return Err(ApiError::invalid(
            "the webhook is enabled",
            vec![Problem::new(
                "/enabled",
                "Enabled",
                "disable the webhook (PATCH {\"enabled\": false}) before deleting it",
            )],
        ));
    }
    let deleted = shared
        .gate
        .change(&id, shared.store.delete_webhook(&id, Utc::now()))
        .await?;
    if !deleted {
        return Err(no_webhook(&id));
    }
    shared.gate.forget(&id);
    tracing::info!(webhook_id = id, "webhook deleted");
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

async fn find(shared: &Shared, id: &str) -> Result<StoredWebhook, ApiError> {
    match shared.store.get_webhook(id).await? {
        Some(webhook) if webhook.model == Model::RestApiV1 => Ok(webhook),
        _ => Err(no_webhook(id)),
    }
}

/// The body as JSON, or 400 with every problem at its field.
fn validated(bytes: &[u8], shared: &Shared, body: RestBody) -> Result<Value, ApiError> {
    validate_rest_webhook(bytes, &shared.policy, body).map_err(|report| {
        crate::api::webhooks::invalid_resource("webhook", Problem::from_report(&report))
    })
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

fn no_webhook(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no webhook has the id {}",
            gladly_webhook_core::echo::quote(id)
        ),
    )
}

fn write_error(err: WriteError) -> ApiError {
    match err {
        WriteError::DuplicateUrl { .. } => ApiError::new(
            StatusCode::BAD_REQUEST,
            "duplicate_url",
            "another webhook has this url; a url must be unique among the organization's webhooks",
        ),
        WriteError::TooMany { max } => ApiError::new(
            StatusCode::BAD_REQUEST,
            "too_many",
            format!("an organization has at most {max} webhooks; delete one first"),
        ),
        WriteError::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the webhook was deleted meanwhile",
        ),
        WriteError::Conflict => ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "the webhook changed meanwhile; read it and try again",
        ),
        WriteError::Store(err) => ApiError::store(&err),
    }
}

fn ping_refused(err: crate::ping::PingFailed) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "ping_failed", err.to_string())
}
