//! Validation and signing for Gladly webhooks, layered on the generated
//! types of [`gladly_schema`].
//!
//! - [`signing`]: sign deliveries ([`Signer`]) and verify them
//!   ([`Verifier`]) with Gladly's HMAC-SHA256 request signing, on the `http`
//!   crate's types.

pub mod signing;

pub use gladly_schema::{EventType, Secret, Webhook};
pub use signing::{SignError, Signer, Verified, Verifier, VerifyError};
