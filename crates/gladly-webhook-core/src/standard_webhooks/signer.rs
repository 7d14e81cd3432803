//! [`StandardSigner`]: every key a message is signed with.

use super::{StandardError, StandardHeaders, StandardKey, StandardSigningKey};

/// The keys a Standard Webhooks sender signs with: each symmetric key
/// (`v1`, two while a secret is rotated) and each ed25519 key (`v1a`),
/// giving one space-separated entry per key in `webhook-signature`, `v1`
/// entries first. A consumer's library checks the entries it knows and
/// accepts the message when one matches. `Debug` shows no secret.
///
/// ```
/// use gladly_webhook_core::standard_webhooks::{StandardKey, StandardSigner, StandardSigningKey};
///
/// let old = StandardKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// let new = StandardKey::parse(&StandardKey::encode(&[9; 32]))?;
/// let signer = StandardSigner::new(vec![old.clone(), new])
///     .with_ed25519(StandardSigningKey::from_seed(&[7; 32])?);
/// let headers = signer.headers("msg_1", 1_700_000_000, b"{}")?;
/// let entries: Vec<&str> = headers.signature.split(' ').collect();
/// assert_eq!(entries.len(), 3);
/// assert!(entries[0].starts_with("v1,") && entries[2].starts_with("v1a,"));
/// // A consumer holding only the old secret still accepts it.
/// assert!(old.verify(&headers, b"{}", 1_700_000_000).is_ok());
/// # Ok::<(), gladly_webhook_core::standard_webhooks::StandardError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct StandardSigner {
    symmetric: Vec<StandardKey>,
    asymmetric: Vec<StandardSigningKey>,
}

impl From<StandardKey> for StandardSigner {
    fn from(key: StandardKey) -> Self {
        Self::new(vec![key])
    }
}

impl StandardSigner {
    /// A signer with these symmetric keys.
    pub fn new(symmetric: Vec<StandardKey>) -> Self {
        Self {
            symmetric,
            asymmetric: Vec::new(),
        }
    }

    /// Also signs with the ed25519 key `key` (a `v1a` entry).
    pub fn with_ed25519(mut self, key: StandardSigningKey) -> Self {
        self.asymmetric.push(key);
        self
    }

    /// Whether it has no key at all (it would sign nothing).
    pub fn is_empty(&self) -> bool {
        self.symmetric.is_empty() && self.asymmetric.is_empty()
    }

    /// The `webhook-signature` value of message `id` at `timestamp`: one
    /// entry per key, space-separated.
    pub fn signature(
        &self,
        id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Result<String, StandardError> {
        let mut entries = Vec::with_capacity(self.symmetric.len() + self.asymmetric.len());
        for key in &self.symmetric {
            entries.push(key.sign(id, timestamp, body)?);
        }
        for key in &self.asymmetric {
            entries.push(key.sign(id, timestamp, body)?);
        }
        Ok(entries.join(" "))
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
            signature: self.signature(id, timestamp, body)?,
        })
    }
}
