//! Publishing an event: validated against the served model's event
//! schema, `id` and `timestamp` filled in when absent, stored with one
//! delivery per active subscription to its type, and the dispatcher woken.

use chrono::{DateTime, SecondsFormat, Utc};
use gladly_webhook_core::event::{EventError, ParsedEvent, parse_event};
use serde_json::{Map, Value};

use super::Subscriptions;
use crate::problem::Problem;
use crate::store::{NewDelivery, PublishError, StoreError};

/// What a publication stored.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Publication {
    /// The event's id (the publisher's, or the one the hub gave it).
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// When it was first published.
    pub published_at: DateTime<Utc>,
    /// `false` when this event had been published before (same id, same
    /// body): nothing new was created.
    pub created: bool,
    /// One per subscription it goes to.
    pub deliveries: Vec<NewDelivery>,
}

/// Why an event was not published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublicationError {
    /// The event does not fit the event schema, or cannot be stored as it
    /// is: each problem at its JSON pointer.
    #[error("{message}")]
    Invalid {
        /// What is wrong, in a sentence.
        message: String,
        /// Each problem at its pointer.
        problems: Vec<Problem>,
    },
    /// The event as delivered (with the `id` and `timestamp` the hub adds)
    /// is larger than receivers take.
    #[error("the event as delivered is {size} bytes; it must be at most {limit} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// An event with this id was published before, with another body.
    #[error("an event with this id was published before, with another body")]
    IdReused,
    /// No random bytes for an event id.
    #[error(transparent)]
    Random(#[from] crate::ids::RandomError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PublishError> for PublicationError {
    fn from(err: PublishError) -> Self {
        match err {
            PublishError::IdReused => Self::IdReused,
            PublishError::Store(err) => Self::Store(err),
        }
    }
}

fn invalid(message: &str, problems: Vec<Problem>) -> PublicationError {
    PublicationError::Invalid {
        message: message.to_string(),
        problems,
    }
}

impl Subscriptions {
    /// Publishes the event `received` (its members `fields`): validated
    /// against the event schema, `id` and `timestamp` filled in when
    /// absent, stored with one delivery per matching active subscription,
    /// and the dispatcher woken. The same event published again (same id,
    /// same body) is answered as it was, creating nothing.
    pub async fn publish(
        &self,
        received: &[u8],
        fields: &Map<String, Value>,
    ) -> Result<Publication, PublicationError> {
        let (bytes, event) = self.checked(received, fields)?;
        let (Some(event_id), event_type) = (event.id(), event.event_type()) else {
            return Err(
                StoreError::Corrupt("the event has no id after filling it".to_string()).into(),
            );
        };
        let now = Utc::now();
        // Filled in when the publisher gave none, so always there.
        let occurred_at = event.timestamp().unwrap_or(now);
        let keep_body = self.rules.serves_events_api || self.store.keeps_event_bodies();
        let published = self
            .store
            .publish_keeping(
                event_id,
                event_type,
                occurred_at,
                &bytes,
                received,
                now,
                keep_body,
            )
            .await?;
        if published.created {
            self.waker.wake();
            crate::metrics::published();
            tracing::info!(
                event_id,
                event_type,
                deliveries = published.deliveries.len(),
                "event published"
            );
        }
        Ok(Publication {
            event_id: event_id.to_string(),
            event_type: event_type.to_string(),
            published_at: published.published_at,
            created: published.created,
            deliveries: published.deliveries,
        })
    }

    /// The event as it will be delivered (`id` and `timestamp` filled in),
    /// and read: refused when it is a PING, cannot be stored, is not of the
    /// served model, does not fit its schema, or is too large.
    fn checked(
        &self,
        received: &[u8],
        fields: &Map<String, Value>,
    ) -> Result<(Vec<u8>, ParsedEvent), PublicationError> {
        if let Some(Value::String(t)) = fields.get("type")
            && t == "PING"
        {
            return Err(invalid(
                "PING is not published: the hub sends it when a subscription is created, re-activated or moved",
                vec![Problem::new(
                    "/type",
                    "Enum",
                    "expected an event type other than PING",
                )],
            ));
        }
        check_storable(fields)?;
        let bytes = fill_envelope(received, fields)?;
        let event = match parse_event(&bytes) {
            // The hub serves one model: the other model's type is as
            // foreign to it as a type no schema describes.
            Ok(event) if event.model() == Some(self.rules.model) => event,
            Ok(other) => return Err(self.foreign_type(other.event_type())),
            Err(err) => return Err(event_problems(err)),
        };
        // The typed reader forgives a `null` where the schema wants a
        // value; receivers validating against the schema would not.
        let strict = serde_json::from_slice::<Value>(&bytes)
            .map(|value| gladly_webhook_core::event::schema_problems(&value))
            .unwrap_or_default();
        if !strict.is_empty() {
            return Err(invalid(
                "the event does not fit the event schema",
                strict
                    .iter()
                    .map(|p| Problem::new(&p.pointer, "Schema", p.message.clone()))
                    .collect(),
            ));
        }
        // The limit holds for the body as delivered: receivers (`listen`
        // among them) refuse more with 413, and the subscription would be
        // deactivated for an event the hub accepted.
        if bytes.len() > self.event_limit {
            return Err(PublicationError::TooLarge {
                size: bytes.len(),
                limit: self.event_limit,
            });
        }
        Ok((bytes, event))
    }

    /// The refusal of an event of a type the served model does not have.
    fn foreign_type(&self, found: &str) -> PublicationError {
        let known: Vec<&str> = self
            .rules
            .model
            .event_types()
            .filter(|t| *t != "PING")
            .collect();
        invalid(
            "the event's type is not one the event schema describes",
            vec![Problem::new(
                "/type",
                "Enum",
                format!(
                    "expected one of {}, found {}",
                    known.join(", "),
                    gladly_webhook_core::echo::quote(found)
                ),
            )],
        )
    }
}

/// Refuses an `id` that is empty or blank, and an `id` or `type` with a
/// NUL character (PostgreSQL's text cannot hold one, and no receiver's
/// store should have to).
fn check_storable(fields: &Map<String, Value>) -> Result<(), PublicationError> {
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
    match problems.is_empty() {
        true => Ok(()),
        false => Err(invalid("the event cannot be delivered as it is", problems)),
    }
}

/// The event with `id` and `timestamp` added when absent, written into the
/// body as sent (right after its opening brace), so every other byte is
/// delivered as published.
fn fill_envelope(bytes: &[u8], fields: &Map<String, Value>) -> Result<Vec<u8>, PublicationError> {
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

fn event_problems(err: EventError) -> PublicationError {
    let problems = match &err {
        EventError::Malformed { problems, .. } => problems
            .iter()
            .map(|p| Problem::new(&p.pointer, "Schema", p.message.clone()))
            .collect(),
        EventError::MissingType { .. } => vec![Problem::new("/type", "Required", err.detail())],
        other => vec![Problem::new(err.pointer(), "Syntax", other.detail())],
    };
    invalid("the event does not fit the event schema", problems)
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
