//! `POST /api/v1/events`: publish one event to every active subscription
//! to its type.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use gladly_webhook_core::event::{EventError, parse_event};
use http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value};

use super::body;
use super::error::{ApiError, Problem};
use crate::hub::Shared;
use crate::store::NewDelivery;

/// The answer to a publication.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Publication {
    event_id: String,
    event_type: String,
    published_at: String,
    /// `false` when this event had been published before (same id, same
    /// body): nothing new was created.
    created: bool,
    deliveries: Vec<NewDelivery>,
}

/// Validates the event against the event schema, fills `id` and
/// `timestamp` when absent, stores it with one delivery per matching
/// active subscription, and wakes the dispatcher: 202 with the
/// deliveries (200 when the same event had been published before).
pub(super) async fn publish(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    request: Body,
) -> Result<Response, ApiError> {
    let bytes = body::read(&headers, request, &shared.body).await?;
    let fields = body::object(&bytes)?;
    match fields.get("type") {
        Some(Value::String(t)) if t == "PING" => {
            return Err(ApiError::invalid(
                "PING is not published: the hub sends it when a subscription is created, re-activated or moved",
                vec![Problem::new(
                    "/type",
                    "Enum",
                    "expected an event type other than PING",
                )],
            ));
        }
        Some(Value::String(_)) => {}
        _ => {} // parse_event says what is wrong with it
    }
    check_storable(&fields)?;
    let received = bytes;
    let bytes = fill_envelope(&received, &fields)?;
    let event = match parse_event(&bytes) {
        // The hub serves one model: the other model's type is as foreign to
        // it as a type no schema describes.
        Ok(event) if event.model() == Some(shared.model) => event,
        Ok(other) => {
            let known: Vec<&str> = shared
                .model
                .event_types()
                .filter(|t| *t != "PING")
                .collect();
            return Err(ApiError::invalid(
                "the event's type is not one the event schema describes",
                vec![Problem::new(
                    "/type",
                    "Enum",
                    format!(
                        "expected one of {}, found {}",
                        known.join(", "),
                        gladly_webhook_core::echo::quote(other.event_type())
                    ),
                )],
            ));
        }
        Err(err) => return Err(event_problems(err)),
    };
    // The typed reader forgives a `null` where the schema wants a value;
    // receivers validating against the schema would not.
    let strict = serde_json::from_slice::<Value>(&bytes)
        .map(|value| gladly_webhook_core::event::schema_problems(&value))
        .unwrap_or_default();
    if !strict.is_empty() {
        return Err(ApiError::invalid(
            "the event does not fit the event schema",
            strict
                .iter()
                .map(|p| Problem::new(&p.pointer, "Schema", p.message.clone()))
                .collect(),
        ));
    }
    let (Some(event_id), event_type) = (event.id(), event.event_type()) else {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the event has no id after filling it",
        ));
    };
    // The limit holds for the body as delivered: receivers (`listen`
    // among them) refuse more with 413, and the subscription would be
    // deactivated for an event the hub accepted.
    let limit = shared.body.max_bytes;
    if bytes.len() > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the event as delivered (with the id and timestamp the hub adds) is {} bytes; it must be at most {limit} bytes",
                bytes.len()
            ),
        ));
    }
    let now = Utc::now();
    // Filled in when the publisher gave none, so always there.
    let occurred_at = event.timestamp().unwrap_or(now);
    let published = shared
        .store
        .publish(event_id, event_type, occurred_at, &bytes, &received, now)
        .await?;
    if published.created {
        shared.waker.wake();
        crate::metrics::published();
        tracing::info!(
            event_id,
            event_type,
            deliveries = published.deliveries.len(),
            "event published"
        );
    }
    let status = if published.created {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    let answer = Publication {
        event_id: event_id.to_string(),
        event_type: event_type.to_string(),
        published_at: published
            .published_at
            .to_rfc3339_opts(SecondsFormat::Millis, true),
        created: published.created,
        deliveries: published.deliveries,
    };
    Ok((status, Json(answer)).into_response())
}

/// 422 for an `id` that is empty or blank, and for an `id` or `type` with
/// a NUL character (PostgreSQL's text cannot hold one, and no receiver's
/// store should have to).
fn check_storable(fields: &Map<String, Value>) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    if let Some(Value::String(id)) = fields.get("id")
        && id.trim().is_empty()
    {
        problems.push(Problem::new(
            "/id",
            "EmptyId",
            "expected a non-empty event id (or none: the hub assigns one), found a blank one",
        ));
    }
    for name in ["id", "type"] {
        if let Some(Value::String(text)) = fields.get(name)
            && text.contains('\0')
        {
            problems.push(Problem::new(
                &format!("/{name}"),
                "Nul",
                format!("expected no NUL character in the event's {name}, found one"),
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "the event cannot be delivered as it is",
            problems,
        ))
    }
}

/// The event with `id` and `timestamp` added when absent, written into the
/// body as sent (right after its opening brace), so every other byte is
/// delivered as published.
fn fill_envelope(bytes: &[u8], fields: &Map<String, Value>) -> Result<Vec<u8>, ApiError> {
    let mut added = String::new();
    if !fields.contains_key("id") {
        added.push_str(&format!("\"id\":\"{}\",", crate::ids::event_id()?));
    }
    if !fields.contains_key("timestamp") {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        added.push_str(&format!("\"timestamp\":\"{now}\","));
    }
    if added.is_empty() {
        return Ok(bytes.to_vec());
    }
    // The body is an object with at least `type` (else parsing it fails
    // later anyway): a member and a comma fit after its `{`.
    let Some(brace) = bytes.iter().position(|&b| b == b'{') else {
        return Ok(bytes.to_vec());
    };
    if fields.is_empty() {
        added.pop(); // no member follows: no trailing comma
    }
    let mut filled = Vec::with_capacity(bytes.len() + added.len());
    filled.extend_from_slice(&bytes[..=brace]);
    filled.extend_from_slice(added.as_bytes());
    filled.extend_from_slice(&bytes[brace + 1..]);
    Ok(filled)
}

fn event_problems(err: EventError) -> ApiError {
    let problems = match &err {
        EventError::Malformed { problems, .. } => problems
            .iter()
            .map(|p| Problem::new(&p.pointer, "Schema", p.message.clone()))
            .collect(),
        EventError::MissingType { .. } => vec![Problem::new("/type", "Required", err.detail())],
        other => vec![Problem::new(err.pointer(), "Syntax", other.detail())],
    };
    ApiError::invalid("the event does not fit the event schema", problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(text: &str) -> String {
        let fields: Map<String, Value> = serde_json::from_str(text).unwrap();
        String::from_utf8(fill_envelope(text.as_bytes(), &fields).unwrap()).unwrap()
    }

    #[test]
    fn missing_envelope_fields_are_added_and_the_rest_kept() {
        let filled = fill(" {\"type\":\"CUSTOMER_UPDATED\", \"content\":{\"customerId\":\"c\"}}");
        let value: Value = serde_json::from_str(&filled).unwrap();
        assert!(value["id"].as_str().unwrap().starts_with("evt_"));
        assert!(value["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(
            filled.ends_with("\"type\":\"CUSTOMER_UPDATED\", \"content\":{\"customerId\":\"c\"}}")
        );

        let given = r#"{"id":"evt_1","timestamp":"2026-11-26T17:00:00Z","type":"X"}"#;
        assert_eq!(fill(given), given);
        assert_eq!(fill("{}").matches(',').count(), 1);
        assert!(serde_json::from_str::<Value>(&fill("{}")).is_ok());
    }
}
