//! Gladly's HMAC-SHA256 request signing, for senders ([`Signer`]) and
//! receivers ([`Verifier`]).
//!
//! A signed request carries two headers:
//!
//! ```text
//! Gladly-Time: 20261126T170005Z
//! Gladly-Authorization: SigningAlgorithm=hmac-sha256, SignedHeaders=content-type;gladly-time, Signature=<64 hex>
//! ```
//!
//! The signature is HMAC-SHA256, keyed with HMAC-SHA256(secret, `YYYYMMDD`),
//! of `hmac-sha256\n<Gladly-Time>\n<hex SHA-256 of the canonical request>`;
//! the canonical request is the method, path, sorted query, each signed
//! header as `name:value`, the `SignedHeaders` list and the hex SHA-256 of
//! the body, one per line (see [`canonical_request`]). A verifier recomputes it from
//! the request as received, compares in constant time, and rejects a
//! `Gladly-Time` more than a tolerance (5 minutes) from its clock.
//!
//! A receiver verifying a delivery:
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use gladly_webhook_core::{Secret, Signer, Verifier, VerifyError};
//!
//! let secret = Secret::new("whsec_example_0123456789abcdef");
//! let now = Utc.with_ymd_and_hms(2026, 11, 26, 17, 1, 0).unwrap();
//! # let sent_at = Utc.with_ymd_and_hms(2026, 11, 26, 17, 0, 5).unwrap();
//! # let mut delivery = http::Request::post("/hooks/gladly")
//! #     .header("content-type", "application/json")
//! #     .body(br#"{"type":"PING"}"#.to_vec())?;
//! # Signer::new(&secret)?.sign_request_at(&mut delivery, sent_at)?;
//! // `delivery` is the http::Request<Vec<u8>> your server received.
//! let verifier = Verifier::new([&secret])?.clock(move || now);
//! let (parts, body) = delivery.into_parts();
//! match verifier.verify(&parts, &body) {
//!     Ok(verified) => assert_eq!(verified.signed_at(), sent_at),
//!     Err(err) => panic!("reject with 401: {err}"),
//! }
//!
//! // One changed byte and the signature no longer holds.
//! let mut tampered = body.clone();
//! tampered[2] ^= 1;
//! assert_eq!(verifier.verify(&parts, &tampered), Err(VerifyError::SignatureMismatch));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod authorization;
mod canonical;
mod error;
mod key;
mod ows;
mod scheme;
mod signer;
mod time;
mod verifier;

pub use canonical::{canonical_request, string_to_sign};
pub use error::{AuthorizationError, KeyError, SignError, VerifyError, VerifyEventError};
pub use scheme::{GLADLY_AUTHORIZATION, GLADLY_TIME, MAX_SIGNED_HEADERS};
pub use signer::Signer;
pub use verifier::{DEFAULT_TOLERANCE, Verified, VerifiedEvent, Verifier};
