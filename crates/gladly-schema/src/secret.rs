//! [`Secret`]: the subscription's shared signing secret, kept out of logs.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The text printed in place of a secret by `Debug` and `Display`.
pub const REDACTED: &str = "[REDACTED]";

/// A webhook subscription's shared secret (the HMAC-SHA256 signing key).
///
/// It behaves like the JSON string it is on the wire, and like nothing else:
///
/// - `Debug` and `Display` print [`REDACTED`], never the value, so a
///   `Webhook` can be logged whole;
/// - it serializes and deserializes as a plain JSON string, so documents
///   round-trip unchanged;
/// - `==` compares in constant time (the length may still show);
/// - its memory is zeroized when it is dropped.
///
/// Read the value only where it is needed, with [`Secret::expose`].
///
/// ```
/// use gladly_schema::Secret;
///
/// let secret = Secret::new("whsec_example_0123456789abcdef");
/// assert_eq!(format!("{secret:?}"), "Secret([REDACTED])");
/// assert_eq!(secret.to_string(), "[REDACTED]");
/// assert_eq!(secret.expose(), "whsec_example_0123456789abcdef");
/// assert_eq!(serde_json::to_string(&secret).unwrap(), r#""whsec_example_0123456789abcdef""#);
/// ```
#[derive(Clone, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret's text. Keep the borrow short and never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret's bytes: the HMAC key.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The secret's length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl AsRef<[u8]> for Secret {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(Zeroizing::new(value))
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes().ct_eq(other.as_bytes()).into()
    }
}

impl Eq for Secret {}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::new("hunter2-hunter2-hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert!(!format!("{s:#?}").contains("hunter2"));
    }

    #[test]
    fn equality_is_by_value() {
        assert_eq!(Secret::new("abc"), Secret::new("abc"));
        assert_ne!(Secret::new("abc"), Secret::new("abd"));
        assert_ne!(Secret::new("abc"), Secret::new("abcd"));
    }

    #[test]
    fn json_round_trip_is_a_plain_string() {
        let s: Secret = serde_json::from_str(r#""k\u00e9y""#).unwrap();
        assert_eq!(s.expose(), "kéy");
        assert_eq!(serde_json::to_string(&s).unwrap(), r#""kéy""#);
        assert!(serde_json::from_str::<Secret>("42").is_err());
    }
}
