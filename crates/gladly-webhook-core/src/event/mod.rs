//! Parse delivered payloads into typed events, of either model.
//!
//! [`parse_event`] reads the raw body of a (verified) delivery into the
//! generated event of the model its `type` belongs to: our user's
//! [`Event`] (`CONVERSATION_CLOSED`) or Gladly's REST API 1.0
//! [`rest::Event`] (`CONVERSATION/CLOSED`). For a `type` neither knows it
//! gives an [`UnknownEvent`] holding the type and the raw JSON, so a newer
//! sender never breaks an older receiver. A malformed payload of a known
//! type is an [`EventError`] with the JSON pointer of each problem.
//!
//! ```
//! use gladly_webhook_core::event::{ParsedEvent, parse_event};
//! use gladly_webhook_core::Event;
//! use gladly_webhook_core::gladly_schema::rest;
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
//!     ParsedEvent::Rest(real) => println!("Gladly's {} {}", real.event_type(), real.id().unwrap_or("")),
//!     ParsedEvent::Unknown(unknown) => println!("newer event type {}", unknown.event_type),
//!     _ => {}
//! }
//!
//! // Gladly's REST API 1.0, as a real webhook delivers it:
//! let real = parse_event(br#"{"id":"evt_r1","type":"CONVERSATION/CLOSED","timestamp":"2019-07-03T04:30:12.07Z",
//!     "initiator":{"id":"agent_42","type":"AGENT"},
//!     "content":{"customerId":"cust_7","conversationId":"conv_9","context":{"assignee":{"inboxId":"inbox_1"}}}}"#)?;
//! let ParsedEvent::Rest(rest::Event::ConversationClosed { content, .. }) = real else { panic!() };
//! assert_eq!(content.conversation_id, "conv_9");
//!
//! let newer = parse_event(br#"{"type":"CONVERSATION/ARCHIVED","id":"evt_2"}"#)?;
//! assert_eq!(newer.event_type(), "CONVERSATION/ARCHIVED");
//! assert!(matches!(newer, ParsedEvent::Unknown(_)));
//!
//! let broken = parse_event(br#"{"type":"TASK_CLOSED","id":"evt_3","timestamp":"2026-11-26T17:00:00Z",
//!     "initiator":{"id":"a","type":"AGENT"},
//!     "content":{"customerId":"c","taskId":7,"context":{"createdAt":"2026-11-26T16:00:00Z"}}}"#)
//!     .unwrap_err();
//! assert_eq!(broken.pointer(), "/content/taskId");
//! # Ok::<(), gladly_webhook_core::event::EventError>(())
//! ```

pub(crate) mod diagnose;

use std::fmt;

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use gladly_schema::event::Initiator;
use gladly_schema::{Event, rest};
use serde::Deserialize;
use serde_json::Value;

use crate::model::Model;

/// A delivered event: typed in the model its `type` belongs to, or of a
/// type this version does not know.
///
/// Its accessors read the envelope whatever the case; a typed event has
/// the same ones (`event_type()`, `id()`, `timestamp()`, `initiator()`),
/// generated from its event schema. A `PING`, which both models have, is
/// read as our user's model's [`Event::Ping`]; [`ParsedEvent::is_ping`]
/// asks either way.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // typed is the common case: boxing it would allocate per delivery
#[non_exhaustive]
pub enum ParsedEvent {
    /// An event of our user's subscription model
    /// ([`Model::Subscription`]: `CONVERSATION_CLOSED`, `PING`).
    Known(Event),
    /// An event of Gladly's REST API 1.0 ([`Model::RestApiV1`]:
    /// `CONVERSATION/CLOSED`).
    Rest(rest::Event),
    /// An event of a type neither model describes, kept whole.
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
            Self::Rest(event) => event.event_type(),
            Self::Unknown(unknown) => &unknown.event_type,
        }
    }

    /// The model the event's type belongs to; `None` for an unknown type.
    pub fn model(&self) -> Option<Model> {
        match self {
            Self::Known(_) => Some(Model::Subscription),
            Self::Rest(_) => Some(Model::RestApiV1),
            Self::Unknown(_) => None,
        }
    }

    /// Whether the event is a `PING` (either model's).
    pub fn is_ping(&self) -> bool {
        self.event_type() == "PING"
    }

    /// The event's `id`, when it has a string one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Known(event) => event.id(),
            Self::Rest(event) => event.id(),
            Self::Unknown(unknown) => unknown.raw["id"].as_str(),
        }
    }

    /// The event's `timestamp`, when it has a valid one.
    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Known(event) => event.timestamp().copied(),
            Self::Rest(event) => event.timestamp().copied(),
            Self::Unknown(unknown) => unknown.raw["timestamp"]
                .as_str()
                .and_then(|t| t.parse().ok()),
        }
    }

    /// The event's initiator, for a typed event that has one. Both models'
    /// initiators are `{id, type}`; a REST API 1.0 one is given in the same
    /// type.
    pub fn initiator(&self) -> Option<Initiator> {
        match self {
            Self::Known(event) => event.initiator().cloned(),
            Self::Rest(event) => event.initiator().map(|i| Initiator {
                id: i.id.clone(),
                type_: i.type_.clone(),
            }),
            Self::Unknown(_) => None,
        }
    }
}

/// A model's event enum, taken out of a [`ParsedEvent`]: how a handler
/// registered for one model's content gets its event.
// Giving the event back whole on a mismatch is the point: no boxing.
#[allow(clippy::result_large_err)]
pub trait ModelEvent: Sized {
    /// The model the enum belongs to.
    const MODEL: Model;
    /// The event, or the parsed event back when it is of another model.
    fn from_parsed(parsed: ParsedEvent) -> Result<Self, ParsedEvent>;
}

#[allow(clippy::result_large_err)]
impl ModelEvent for Event {
    const MODEL: Model = Model::Subscription;
    fn from_parsed(parsed: ParsedEvent) -> Result<Self, ParsedEvent> {
        match parsed {
            ParsedEvent::Known(event) => Ok(event),
            other => Err(other),
        }
    }
}

#[allow(clippy::result_large_err)]
impl ModelEvent for rest::Event {
    const MODEL: Model = Model::RestApiV1;
    fn from_parsed(parsed: ParsedEvent) -> Result<Self, ParsedEvent> {
        match parsed {
            ParsedEvent::Rest(event) => Ok(event),
            other => Err(other),
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
    /// What is wrong, without the pointer in front (an answer that has a
    /// field for [`EventError::pointer`] shows it there, as RFC 6901
    /// writes it: `""` for the root). `Display` is `pointer: detail`,
    /// with the root shown as `(root)`.
    ///
    /// ```
    /// use gladly_webhook_core::event::parse_event;
    ///
    /// let err = parse_event(b"[1]").unwrap_err();
    /// assert_eq!(err.pointer(), "");
    /// assert_eq!(err.detail(), "expected an event object, found an array of 1 item");
    /// assert_eq!(err.to_string(), format!("(root): {}", err.detail()));
    /// ```
    pub fn detail(&self) -> String {
        match self {
            Self::Syntax { message } => format!("expected a JSON document: {message}"),
            Self::NotAnObject { found } => format!("expected an event object, found {found}"),
            Self::MissingType { found } => {
                format!("expected a string naming the event type, found {found}")
            }
            Self::Malformed { .. } => self.to_string(),
        }
    }

    /// The JSON pointer of the (first) problem.
    pub fn pointer(&self) -> &str {
        match self {
            Self::Syntax { .. } | Self::NotAnObject { .. } => "",
            Self::MissingType { .. } => "/type",
            Self::Malformed { problems, .. } => problems.first().map_or("", |p| p.pointer.as_str()),
        }
    }
}

/// Every problem `payload` has against the branch of its type in the event
/// schema of the model the type belongs to, where the typed reader is lenient too: it reads a `null` where
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
    match branch_of(event_type) {
        Some((model, branch)) => diagnose::diagnose(model, branch, payload),
        None => Vec::new(),
    }
}

/// The model `event_type` belongs to and its branch of that model's schema.
fn branch_of(event_type: &str) -> Option<(Model, &'static Value)> {
    Model::ALL
        .into_iter()
        .find_map(|model| Some((model, model.branch(event_type)?)))
}

/// Only the `type` of a payload, read without building the rest.
#[derive(Deserialize)]
struct TypeOnly<'a> {
    #[serde(rename = "type", borrow)]
    event_type: Option<Cow<'a, str>>,
}

/// Parses a delivered payload: its raw bytes, exactly as received.
///
/// A payload of a known type that fits its schema is [`ParsedEvent::Known`]
/// (our user's model) or [`ParsedEvent::Rest`] (Gladly's REST API 1.0), as
/// its `type` says; one of an unknown type is [`ParsedEvent::Unknown`].
/// Unknown properties are ignored anywhere. See the [module docs](self) for
/// an example.
///
/// Everything the event schema accepts is accepted. Date-times are read by
/// `chrono`, which also takes a few forms RFC 3339 does not (a space in
/// place of `T`, a signed year): a receiver is lenient there rather than
/// drop a delivery.
pub fn parse_event(bytes: &[u8]) -> Result<ParsedEvent, EventError> {
    // The common case: the type picks the model, then straight into its
    // typed event. Anything else takes the slow path, for its diagnosis.
    let model = serde_json::from_slice::<TypeOnly<'_>>(bytes)
        .ok()
        .and_then(|only| Model::of_event_type(only.event_type?.as_ref()));
    let typed_error = match model {
        Some(Model::RestApiV1) => match serde_json::from_slice::<rest::Event>(bytes) {
            Ok(event) => return Ok(ParsedEvent::Rest(event)),
            Err(err) => Some(err),
        },
        Some(_) => match serde_json::from_slice::<Event>(bytes) {
            Ok(event) => return Ok(ParsedEvent::Known(event)),
            Err(err) => Some(err),
        },
        None => None,
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
    let Some((model, branch)) = branch_of(&event_type) else {
        return Ok(ParsedEvent::Unknown(UnknownEvent { event_type, raw }));
    };
    let mut problems = diagnose::diagnose(model, branch, &raw);
    if problems.is_empty() {
        // The schema is satisfied but the typed reader is not (a repeated
        // key, for one, which `Value` forgives): report what it said, which
        // names the key.
        let message = match typed_error {
            Some(err) => err.to_string(),
            None => "the typed reader refused it".to_string(),
        };
        problems.push(Problem {
            pointer: String::new(),
            message: crate::echo::escape(&message, 200),
        });
    }
    Err(EventError::Malformed {
        event_type,
        problems,
    })
}

/// Every event type our user's event schema describes, `PING` included
/// (the default model's; [`Model::event_types`] lists any model's).
///
/// ```
/// let types: Vec<&str> = gladly_webhook_core::event::event_types().collect();
/// assert!(types.contains(&"CONVERSATION_CLOSED") && types.contains(&"PING"));
/// ```
pub fn event_types() -> impl Iterator<Item = &'static str> {
    Model::Subscription.event_types()
}
