//! Standard Webhooks 1.0 (standardwebhooks.com), symmetric (`v1`): what the
//! hub's operational events and the relay's destinations carry, so that any
//! service verifies them with an off-the-shelf library.
//!
//! A delivery carries `webhook-id` (the message's id, the same on every
//! retry), `webhook-timestamp` (this attempt's Unix seconds) and
//! `webhook-signature` (`v1,` + base64 of HMAC-SHA256 over
//! `{id}.{timestamp}.{body}`, keyed with the bytes the `whsec_` secret
//! encodes).
//!
//! ```
//! use gladly_webhook_core::standard_webhooks::StandardKey;
//!
//! let key = StandardKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//! let headers = key.headers("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#)?;
//! assert_eq!(headers.signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
//! assert!(key.verify(&headers, br#"{"test": 2432232314}"#, 1_614_265_330).is_ok());
//! # Ok::<(), gladly_webhook_core::standard_webhooks::StandardError>(())
//! ```
//!
//! A [`StandardSigner`] signs with several keys at once: every active
//! `whsec_` secret during a rotation, and ed25519 keys (`v1a`,
//! [`StandardSigningKey`]), one entry each in `webhook-signature`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

mod ed25519;
mod signer;

pub use ed25519::{StandardPublicKey, StandardSigningKey};
pub use signer::StandardSigner;

/// `webhook-id`.
pub const WEBHOOK_ID: &str = "webhook-id";
/// `webhook-timestamp`.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// `webhook-signature`.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";
/// How far a timestamp may be from the verifier's clock, in seconds (the
/// reference libraries' 5 minutes).
pub const TOLERANCE_SECS: i64 = 300;

/// Why a key, a signature or a delivery was refused. Never shows a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StandardError {
    /// The secret is not `whsec_` + base64 of 24 to 64 bytes.
    #[error("a Standard Webhooks secret is whsec_ followed by the base64 of 24 to 64 random bytes")]
    Key,
    /// A message id that is empty or holds a full stop.
    #[error("a message id must be non-empty and hold no full stop")]
    MessageId,
    /// The timestamp is too far from now.
    #[error("the timestamp {timestamp} is more than {TOLERANCE_SECS} s from now ({now})")]
    Timestamp {
        /// The delivery's.
        timestamp: i64,
        /// The verifier's clock.
        now: i64,
    },
    /// The signing key is not `whsk_` + base64 of an ed25519 seed (32
    /// bytes) or of a seed and its public key (64 bytes).
    #[error(
        "a Standard Webhooks signing key is whsk_ followed by the base64 of a 32-byte ed25519 seed and its 32-byte public key"
    )]
    SigningKey,
    /// The public key is not `whpk_` + base64 of 32 bytes.
    #[error("a Standard Webhooks public key is whpk_ followed by the base64 of 32 bytes")]
    PublicKey,
    /// No `v1` entry of the header matches.
    #[error("no v1 signature matches")]
    Mismatch,
}

/// A Standard Webhooks symmetric key, from its `whsec_` form. `Debug`
/// never shows it.
#[derive(Clone)]
pub struct StandardKey(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for StandardKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StandardKey(****)")
    }
}

/// The three headers of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandardHeaders {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`, Unix seconds.
    pub timestamp: i64,
    /// `webhook-signature`.
    pub signature: String,
}

impl StandardKey {
    /// Reads `whsec_<base64>` (24 to 64 bytes; the prefix may be left out,
    /// as the reference libraries allow).
    pub fn parse(secret: &str) -> Result<Self, StandardError> {
        let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
        let bytes = STANDARD.decode(encoded).map_err(|_| StandardError::Key)?;
        if !(24..=64).contains(&bytes.len()) {
            return Err(StandardError::Key);
        }
        Ok(Self(Zeroizing::new(bytes)))
    }

    /// A fresh key's `whsec_` form from 32 random bytes.
    pub fn encode(bytes: &[u8; 32]) -> String {
        format!("whsec_{}", STANDARD.encode(bytes))
    }

    /// `v1,<base64 MAC>` of `{id}.{timestamp}.{body}`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> Result<String, StandardError> {
        Ok(format!(
            "v1,{}",
            STANDARD.encode(self.mac(id, timestamp, body)?)
        ))
    }

    /// The headers of an attempt of message `id` at `timestamp`.
    pub fn headers(
        &self,
        id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Result<StandardHeaders, StandardError> {
        Ok(StandardHeaders {
            id: id.to_string(),
            timestamp,
            signature: self.sign(id, timestamp, body)?,
        })
    }

    /// Checks `headers` against `body` at `now` (Unix seconds): the
    /// timestamp within [`TOLERANCE_SECS`], one `v1` entry matching in
    /// constant time.
    pub fn verify(
        &self,
        headers: &StandardHeaders,
        body: &[u8],
        now: i64,
    ) -> Result<(), StandardError> {
        if (now - headers.timestamp).abs() > TOLERANCE_SECS {
            return Err(StandardError::Timestamp {
                timestamp: headers.timestamp,
                now,
            });
        }
        let expected = self.mac(&headers.id, headers.timestamp, body)?;
        let matches = headers
            .signature
            .split(' ')
            .filter_map(|entry| entry.strip_prefix("v1,"))
            .filter_map(|mac| STANDARD.decode(mac).ok())
            .any(|mac| bool::from(mac.ct_eq(&expected)));
        match matches {
            true => Ok(()),
            false => Err(StandardError::Mismatch),
        }
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Result<[u8; 32], StandardError> {
        if id.is_empty() || id.contains('.') {
            return Err(StandardError::MessageId);
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).map_err(|_| StandardError::Key)?;
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        Ok(mac.finalize().into_bytes().into())
    }
}

/// The signed content of a message: `{id}.{timestamp}.{body}` (an id
/// that is empty or holds a full stop is refused).
fn signed_content(id: &str, timestamp: i64, body: &[u8]) -> Result<Vec<u8>, StandardError> {
    if id.is_empty() || id.contains('.') {
        return Err(StandardError::MessageId);
    }
    let timestamp = timestamp.to_string();
    let mut content = Vec::with_capacity(id.len() + timestamp.len() + body.len() + 2);
    content.extend_from_slice(id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(timestamp.as_bytes());
    content.push(b'.');
    content.extend_from_slice(body);
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    /// The official Rust library verifies what this signs, and this
    /// verifies what it signs.
    #[test]
    fn the_official_library_agrees() {
        let key = StandardKey::parse(SECRET).unwrap();
        let official = standardwebhooks::Webhook::new(SECRET).unwrap();
        let now = chrono::Utc::now().timestamp();
        let body = br#"{"type":"subscription.deactivated","data":{}}"#;
        let ours = key.headers("msg_1", now, body).unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert(WEBHOOK_ID, ours.id.parse().unwrap());
        headers.insert(WEBHOOK_TIMESTAMP, now.to_string().parse().unwrap());
        headers.insert(WEBHOOK_SIGNATURE, ours.signature.parse().unwrap());
        assert!(official.verify(body, &headers).is_ok());
        let theirs = official.sign("msg_2", now, body).unwrap();
        let signed = StandardHeaders {
            id: "msg_2".into(),
            timestamp: now,
            signature: format!("v1,bm90IGl0 {theirs}"),
        };
        assert_eq!(key.verify(&signed, body, now), Ok(()));
    }

    #[test]
    fn bad_keys_ids_times_and_signatures_are_refused() {
        assert_eq!(
            StandardKey::parse("whsec_c2hvcnQ=").unwrap_err(),
            StandardError::Key
        );
        assert_eq!(
            StandardKey::parse("whsec_!!").unwrap_err(),
            StandardError::Key
        );
        let key = StandardKey::parse(SECRET).unwrap();
        assert!(!format!("{key:?}").contains("MfKQ"));
        assert_eq!(key.sign("a.b", 1, b"{}"), Err(StandardError::MessageId));
        let headers = key.headers("msg_1", 1_000, b"{}").unwrap();
        assert!(matches!(
            key.verify(&headers, b"{}", 1_000 + TOLERANCE_SECS + 1),
            Err(StandardError::Timestamp { .. })
        ));
        assert_eq!(
            key.verify(&headers, b"{ }", 1_000),
            Err(StandardError::Mismatch)
        );
        let fresh = StandardKey::encode(&[7; 32]);
        assert!(StandardKey::parse(&fresh).is_ok());
    }
}
