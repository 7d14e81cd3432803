//! Rust types for Gladly's webhooks, generated from the JSON Schemas vendored
//! in the repository's `schemas/` folder. Two models of one service live
//! here side by side:
//!
//! - **Our user's subscription model**, at the crate root (the default):
//!   - [`webhook`]: the subscription ([`Webhook`], [`EventType`] such as
//!     `CONVERSATION_CLOSED`), with a `secret` its deliveries are signed with;
//!   - [`event`]: the delivered payloads ([`Event`] and one struct per
//!     content shape).
//! - **Gladly's REST API 1.0**, as the real service runs it, under [`rest`]:
//!   - [`rest::webhook`]: the webhook resource ([`rest::Webhook`] with write-only
//!     `credentials` and `headers`, [`rest::EventType`] such as `CONVERSATION/CLOSED`);
//!   - [`rest::event`]: the payloads Gladly delivers ([`rest::Event`]).
//!
//! The content type of every event type of both models implements
//! [`EventContent`]. Every generated module is written by `cargo xtask
//! codegen` and never edited by hand; this crate's hand-written code only
//! declares and re-exports them and holds [`Secret`] and [`EventContent`].
//!
//! ```
//! use gladly_schema::{EventType, Webhook, rest};
//!
//! let webhook: Webhook = serde_json::from_str(r#"{
//!     "id": "wh_1",
//!     "url": "https://example.com/hooks/gladly",
//!     "events": ["CONVERSATION_CLOSED"],
//!     "secret": "whsec_example_0123456789abcdef"
//! }"#).unwrap();
//! assert_eq!(webhook.events, [EventType::ConversationClosed]);
//! assert!(!format!("{webhook:?}").contains("whsec_"));
//!
//! let real: rest::Webhook = serde_json::from_str(r#"{
//!     "url": "https://example.com/hooks/gladly",
//!     "events": ["CONVERSATION/CLOSED", "TASK/ASSIGNEE_UPDATED"],
//!     "credentials": {"username": "gladly", "password": "hunter2-but-longer"},
//!     "headers": {"X-Gladly-Token": "tok_0123456789"}
//! }"#).unwrap();
//! assert_eq!(real.events[0], rest::EventType::ConversationClosed);
//! let shown = format!("{real:?}");
//! assert!(!shown.contains("hunter2") && !shown.contains("tok_0123"));
//! ```
//!
//! # Use
//!
//! ```toml
//! [dependencies]
//! gladly-schema = "0.1"
//! serde_json = "1"
//! ```
//!
//! Validation against the schemas and request signing are in
//! `gladly-webhook-core`, which re-exports this crate.

mod content;
mod secret;

#[rustfmt::skip]
mod generated;

pub use content::EventContent;
pub use event::Event;
pub use generated::{event, webhook};
pub use secret::{REDACTED, Secret};
pub use webhook::{EventType, Webhook};

/// Gladly's REST API 1.0: the webhook resource and the events it delivers,
/// generated from `schemas/gladly-rest-api-v1-webhook-schema.json` and
/// `schemas/gladly-rest-api-v1-event-schema.json`.
///
/// ```
/// use gladly_schema::rest;
///
/// let event: rest::Event = serde_json::from_str(r#"{"id": "evt_1",
///     "type": "CONVERSATION/CLOSED", "timestamp": "2019-07-03T04:30:12.07Z",
///     "initiator": {"id": "agent_1", "type": "AGENT"},
///     "content": {"customerId": "cust_1", "conversationId": "conv_1",
///                 "context": {"assignee": {"inboxId": "inbox_1"}}}}"#).unwrap();
/// assert_eq!(event.event_type(), "CONVERSATION/CLOSED");
/// assert_eq!(rest::EventType::ALL.len(), 52);
/// ```
pub mod rest {
    pub use crate::generated::rest_event as event;
    pub use crate::generated::rest_webhook as webhook;
    pub use event::Event;
    pub use webhook::{Credentials, EventType, Webhook};
}
