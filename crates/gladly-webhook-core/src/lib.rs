//! Validation and signing for Gladly webhooks, layered on the generated
//! types of [`gladly_schema`].
//!
//! - [`signing`]: sign deliveries ([`Signer`]) and verify them
//!   ([`Verifier`]) with Gladly's HMAC-SHA256 request signing, on the `http`
//!   crate's types.
//! - [`event`]: parse delivered payloads into typed events, tolerating
//!   event types newer than this version.
//! - [`validate`]: validate subscription documents against the schema and a
//!   strict delivery policy, reporting every problem at its JSON pointer.

pub mod event;
pub mod signing;
pub mod validate;

pub use event::{ParsedEvent, parse_event};
pub use gladly_schema::{Event, EventType, Secret, Webhook};
pub use signing::{SignError, Signer, Verified, Verifier, VerifyError};
pub use validate::{Policy, ValidateWebhook, ValidationReport, validate_json, validate_str};

/// A JSON pointer as messages print it: the root (`""`) as `(root)`.
pub(crate) fn pointer_for_display(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(root)"
    } else {
        pointer
    }
}
