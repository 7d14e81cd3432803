//! Validation and signing for Gladly webhooks, layered on the generated
//! types of [`gladly_schema`] (re-exported here, so one dependency is
//! enough).
//!
//! - [`signing`]: sign deliveries ([`Signer`]) and verify them
//!   ([`Verifier`]) with Gladly's HMAC-SHA256 request signing, on the `http`
//!   crate's types; [`Verifier::verify_parts`] fits a web framework's
//!   extractor, [`Verifier::verify_and_parse`] verifies and reads the event
//!   in one call.
//! - [`event`]: parse delivered payloads into typed events of either model
//!   (our user's `CONVERSATION_CLOSED`, Gladly's REST API 1.0
//!   `CONVERSATION/CLOSED`), tolerating event types newer than this version.
//! - [`model`]: which of the two models a value belongs to, as data.
//! - [`standard_webhooks`]: Standard Webhooks 1.0 signatures (`v1`), what
//!   the hub's operational events carry.
//! - [`validate`]: validate subscription documents against the schema and a
//!   strict delivery policy, reporting every problem at its JSON pointer
//!   (the default feature `validate`; without it, signing, verifying and
//!   parsing events build 38 crates instead of 67, leaving out the `url`
//!   crate and its IDNA tables).
//! - [`auth`]: how a delivery proves it comes from Gladly: the HMAC
//!   signature, HTTP Basic credentials, required headers, or several.
//! - [`address`]: which addresses a delivery may connect to (globally
//!   routable only, unless an operator opts in): the SSRF rule.
//! - [`echo`]: how untrusted input is shown in messages (escaped, cut, URLs
//!   redacted), for programs that print input of their own.
//!
//! # Use
//!
//! ```toml
//! [dependencies]
//! gladly-webhook-core = "0.1"
//! http = "1"
//! ```
//!
//! No async runtime, database or network client comes with it. A complete
//! program: verify a delivery (here signed by hand, as a test does), then
//! act on its typed event.
//!
//! ```
//! use gladly_webhook_core::{Event, ParsedEvent, Signer, Verifier};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let secret = "whsec_example_0123456789abcdef";
//!     let body = br#"{"id":"evt_0001","type":"CONVERSATION_CLOSED","timestamp":"2026-11-26T17:00:00Z",
//!         "initiator":{"id":"agent_42","type":"AGENT"},
//!         "content":{"customerId":"cust_7","conversationId":"conv_9",
//!                    "context":{"assignee":{"inboxId":"inbox_1","agentId":"agent_42"}}}}"#;
//!     let mut request = http::Request::post("/hooks/gladly")
//!         .header("content-type", "application/json")
//!         .body(body.to_vec())?;
//!     Signer::new(secret)?.sign_request_now(&mut request)?;
//!
//!     // The receiver's side: only an authentic body is read.
//!     let (parts, body) = request.into_parts();
//!     let delivery = Verifier::new([secret])?.verify_and_parse(&parts, &body)?;
//!     match delivery.event {
//!         ParsedEvent::Known(Event::ConversationClosed { content, .. }) => {
//!             println!("conversation {} closed", content.conversation_id);
//!         }
//!         other => println!("{} arrived", other.event_type()),
//!     }
//!     Ok(())
//! }
//! ```

pub mod address;
pub mod auth;
pub mod echo;
pub mod event;
mod formats;
pub mod model;
pub mod signing;
pub mod standard_webhooks;
pub mod validate;

pub use event::{EventError, ModelEvent, ParsedEvent, UnknownEvent, parse_event};
pub use gladly_schema;
pub use gladly_schema::event::Initiator;
pub use gladly_schema::{Event, EventContent, EventType, Secret, Webhook};
pub use model::Model;
pub use signing::{
    KeyError, SignError, Signer, Verified, VerifiedEvent, Verifier, VerifyError, VerifyEventError,
};
pub use validate::ValidationReport;
#[cfg(feature = "validate")]
pub use validate::{Policy, ValidateWebhook, validate_json, validate_str};
