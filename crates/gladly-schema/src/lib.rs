//! Rust types for Gladly's webhooks, generated from the JSON Schemas vendored
//! in the repository's `schemas/` folder.
//!
//! - [`webhook`]: the subscription ([`Webhook`], [`EventType`]), from
//!   `schemas/gladly-webhook-schema.json`;
//! - [`event`]: the delivered payloads ([`Event`] and one struct per
//!   content shape), from `schemas/gladly-webhook-event-schema.json`.
//!
//! Every generated module is written by `cargo xtask codegen`
//! and never edited by hand; this file only declares and re-exports them and
//! holds [`Secret`], the one type the schemas map to hand-written code.
//!
//! ```
//! use gladly_schema::{EventType, Webhook};
//!
//! let webhook: Webhook = serde_json::from_str(r#"{
//!     "id": "wh_1",
//!     "url": "https://example.com/hooks/gladly",
//!     "events": ["CONVERSATION_CLOSED"],
//!     "secret": "whsec_example_0123456789abcdef"
//! }"#).unwrap();
//! assert_eq!(webhook.events, [EventType::ConversationClosed]);
//! assert!(!format!("{webhook:?}").contains("whsec_"));
//! ```

mod secret;

#[rustfmt::skip]
mod generated;

pub use event::{Event, EventContent};
pub use generated::*;
pub use secret::{REDACTED, Secret};
pub use webhook::{EventType, Webhook};
