//! Parse delivered payloads into typed events.
//!
//! [`parse_event`] reads the raw body of a (verified) delivery into the
//! generated [`Event`], or, for a `type` this version does not know, an
//! [`UnknownEvent`] holding the type and the raw JSON, so a newer sender
//! never breaks an older receiver. A malformed payload of a known type is
//! an [`EventError`] with the JSON pointer of each problem.
//!
//! ```
//! use gladly_webhook_core::event::{ParsedEvent, parse_event};
//! use gladly_webhook_core::Event;
//!
//! let body = br#"{"id":"evt_0001","type":"CONVERSATION_CLOSED","timestamp":"2026-11-26T17:00:00Z",
//!     "initiator":{"id":"agent_42","type":"AGENT"},
//!     "content":{"customerId":"cust_7","conversationId":"conv_9",
//!                "context":{"assignee":{"inboxId":"inbox_1","agentId":"agent_42"}}}}"#;
//! match parse_event(body)? {
//!     ParsedEvent::Known(Event::ConversationClosed { content, .. }) => {
//!         assert_eq!(content.conversation_id, "conv_9");
//!     }
//!     ParsedEvent::Known(other) => println!("{} {:?}", other.event_type(), other.id()),
//!     ParsedEvent::Unknown(unknown) => println!("newer event type {}", unknown.event_type),
//! }
//!
//! let newer = parse_event(br#"{"type":"CONVERSATION_REOPENED","id":"evt_2"}"#)?;
//! assert_eq!(newer.event_type(), "CONVERSATION_REOPENED");
//!
//! let broken = parse_event(br#"{"type":"TASK_CLOSED","id":"evt_3","timestamp":"2026-11-26T17:00:00Z",
//!     "initiator":{"id":"a","type":"AGENT"},
//!     "content":{"customerId":"c","taskId":7,"context":{"createdAt":"2026-11-26T16:00:00Z"}}}"#)
//!     .unwrap_err();
//! assert_eq!(broken.pointer(), "/content/taskId");
//! # Ok::<(), gladly_webhook_core::event::EventError>(())
//! ```

mod diagnose;

use std::fmt;

use chrono::{DateTime, Utc};
use gladly_schema::Event;
use gladly_schema::event::Initiator;
use serde_json::Value;

/// A delivered event: typed, or of a type this version does not know.
///
/// Its accessors read the envelope whatever the case; a known [`Event`]
/// has the same ones (`event_type()`, `id()`, `timestamp()`,
/// `initiator()`), generated from the event schema.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // Known is the common case: boxing it would allocate per delivery
pub enum ParsedEvent {
    /// An event of a type the vendored schema describes.
    Known(Event),
    /// An event of a newer type, kept whole.
    Unknown(UnknownEvent),
}

/// An event whose `type` this version does not know.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UnknownEvent {
    /// The `type` as sent.
    pub event_type: String,
    /// The whole payload.
    pub raw: Value,
}

impl ParsedEvent {
    /// The event's `type` as sent.
    pub fn event_type(&self) -> &str {
        match self {
            Self::Known(event) => event.event_type(),
            Self::Unknown(unknown) => &unknown.event_type,
        }
    }

    /// The event's `id`, when it has a string one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Known(event) => event.id(),
            Self::Unknown(unknown) => unknown.raw["id"].as_str(),
        }
    }

    /// The event's `timestamp`, when it has a valid one.
    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Known(event) => event.timestamp().copied(),
            Self::Unknown(unknown) => unknown.raw["timestamp"]
                .as_str()
                .and_then(|t| t.parse().ok()),
        }
    }

    /// The event's initiator, for a known event that has one.
    pub fn initiator(&self) -> Option<&Initiator> {
        match self {
            Self::Known(event) => event.initiator(),
            Self::Unknown(_) => None,
        }
    }
}

/// One thing wrong with a payload: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The RFC 6901 JSON pointer of the offending value (`""` for the root).
    pub pointer: String,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = crate::echo::pointer(&self.pointer);
        write!(f, "{pointer}: {}", self.message)
    }
}

/// Why a payload is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The payload is not JSON.
    #[error("(root): expected a JSON document: {message}")]
    Syntax {
        /// The JSON reader's message, with line and column.
        message: String,
    },
    /// The payload is JSON but not an object.
    #[error("(root): expected an event object, found {found}")]
    NotAnObject {
        /// What was there instead.
        found: String,
    },
    /// The payload has no string `type`.
    #[error("/type: expected a string naming the event type, found {found}")]
    MissingType {
        /// What was there instead (`nothing` when absent).
        found: String,
    },
    /// A payload of a known type does not fit its schema.
    #[error("malformed {event_type} event:\n{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Malformed {
        /// The payload's `type`.
        event_type: String,
        /// Each problem, at its pointer (at least one).
        problems: Vec<Problem>,
    },
}

impl EventError {
    /// The JSON pointer of the (first) problem.
    pub fn pointer(&self) -> &str {
        match self {
            Self::Syntax { .. } | Self::NotAnObject { .. } => "",
            Self::MissingType { .. } => "/type",
            Self::Malformed { problems, .. } => problems.first().map_or("", |p| p.pointer.as_str()),
        }
    }
}

/// Every problem `payload` has against the event schema's branch of its
/// type, where the typed reader is lenient too: it reads a `null` where
/// the schema wants an object as an absent field, which the schema does not
/// allow. Empty for a payload that fits, and for a type the schema does not
/// know. For a publisher that must send only what the schema describes.
///
/// ```
/// use gladly_webhook_core::event::schema_problems;
///
/// let fits = serde_json::json!({"id": "evt_1", "type": "CUSTOMER_UPDATED",
///     "timestamp": "2026-11-26T17:00:00Z", "initiator": {"id": "a", "type": "SYSTEM"},
///     "content": {"customerId": "c"}});
/// assert!(schema_problems(&fits).is_empty());
/// let mut null = fits.clone();
/// null["initiator"] = serde_json::Value::Null;
/// assert_eq!(schema_problems(&null)[0].pointer, "/initiator");
/// ```
pub fn schema_problems(payload: &Value) -> Vec<Problem> {
    let Some(event_type) = payload.get("type").and_then(Value::as_str) else {
        return Vec::new();
    };
    match diagnose::branch(event_type) {
        Some(branch) => diagnose::diagnose(branch, payload),
        None => Vec::new(),
    }
}

/// Parses a delivered payload: its raw bytes, exactly as received.
///
/// A payload of a known type that fits its schema is [`ParsedEvent::Known`];
/// one of an unknown type is [`ParsedEvent::Unknown`]. Unknown properties
/// are ignored anywhere. See the [module docs](self) for an example.
///
/// Everything the event schema accepts is accepted. Date-times are read by
/// `chrono`, which also takes a few forms RFC 3339 does not (a space in
/// place of `T`, a signed year): a receiver is lenient there rather than
/// drop a delivery.
pub fn parse_event(bytes: &[u8]) -> Result<ParsedEvent, EventError> {
    // The common case, straight into the typed event.
    let typed_error = match serde_json::from_slice::<Event>(bytes) {
        Ok(event) => return Ok(ParsedEvent::Known(event)),
        Err(err) => err,
    };
    let raw: Value = serde_json::from_slice(bytes).map_err(|err| EventError::Syntax {
        message: crate::echo::escape(&err.to_string(), 200),
    })?;
    let Value::Object(object) = &raw else {
        return Err(EventError::NotAnObject {
            found: diagnose::describe(&raw),
        });
    };
    let event_type = match object.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(other) => {
            return Err(EventError::MissingType {
                found: diagnose::describe(other),
            });
        }
        None => {
            return Err(EventError::MissingType {
                found: "nothing".to_string(),
            });
        }
    };
    let Some(branch) = diagnose::branch(&event_type) else {
        return Ok(ParsedEvent::Unknown(UnknownEvent { event_type, raw }));
    };
    let mut problems = diagnose::diagnose(branch, &raw);
    if problems.is_empty() {
        // The schema is satisfied but the typed reader is not (a repeated
        // key, for one, which `Value` forgives): report what it said, which
        // names the key.
        problems.push(Problem {
            pointer: String::new(),
            message: crate::echo::escape(&typed_error.to_string(), 200),
        });
    }
    Err(EventError::Malformed {
        event_type,
        problems,
    })
}

/// Every event type the vendored event schema describes, `PING` included.
///
/// ```
/// let types: Vec<&str> = gladly_webhook_core::event::event_types().collect();
/// assert!(types.contains(&"CONVERSATION_CLOSED") && types.contains(&"PING"));
/// ```
pub fn event_types() -> impl Iterator<Item = &'static str> {
    diagnose::event_types()
}
