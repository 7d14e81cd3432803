//! Standard Webhooks asymmetric signatures (`v1a`): ed25519 over
//! `{id}.{timestamp}.{body}`, with keys written `whsk_` (secret) and
//! `whpk_` (public) followed by standard base64.
//!
//! The specification leaves the bytes of a `whsk_` key open; Svix's server
//! writes the 32-byte seed followed by the 32-byte public key (64 bytes),
//! and this module reads that, and a bare 32-byte seed as well. A `whpk_`
//! key is the 32-byte public key. No reference library signs or verifies
//! `v1a` yet: consumers pin the public keys they trust, never one read
//! from a request.
//!
//! ```
//! use gladly_webhook_core::standard_webhooks::{StandardPublicKey, StandardSigningKey};
//!
//! let key = StandardSigningKey::from_seed(&[7; 32])?;
//! let entry = key.sign("msg_1", 1_700_000_000, b"{}")?;
//! assert!(entry.starts_with("v1a,"));
//! let public = StandardPublicKey::parse(&key.public_key())?;
//! assert!(public.verify_entry("msg_1", 1_700_000_000, b"{}", &entry));
//! assert!(!public.verify_entry("msg_1", 1_700_000_001, b"{}", &entry));
//! # Ok::<(), gladly_webhook_core::standard_webhooks::StandardError>(())
//! ```

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use zeroize::Zeroizing;

use super::{StandardError, signed_content};

/// An ed25519 signing key, from its `whsk_` form. `Debug` shows only its
/// public key. Cheap to clone.
#[derive(Clone)]
pub struct StandardSigningKey(Arc<Ed25519KeyPair>);

impl std::fmt::Debug for StandardSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("StandardSigningKey")
            .field(&self.public_key())
            .finish()
    }
}

impl StandardSigningKey {
    /// Reads `whsk_<base64>`: the 32-byte seed followed by its 32-byte
    /// public key (Svix's layout, checked to match), or the seed alone.
    pub fn parse(secret: &str) -> Result<Self, StandardError> {
        let encoded = secret
            .strip_prefix("whsk_")
            .ok_or(StandardError::SigningKey)?;
        let bytes = Zeroizing::new(
            STANDARD
                .decode(encoded)
                .map_err(|_| StandardError::SigningKey)?,
        );
        let pair = match bytes.len() {
            32 => Ed25519KeyPair::from_seed_unchecked(&bytes),
            64 => Ed25519KeyPair::from_seed_and_public_key(&bytes[..32], &bytes[32..]),
            _ => return Err(StandardError::SigningKey),
        };
        pair.map(|pair| Self(Arc::new(pair)))
            .map_err(|_| StandardError::SigningKey)
    }

    /// The key of a 32-byte seed (draw it from the OS's random source).
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, StandardError> {
        Ed25519KeyPair::from_seed_unchecked(seed)
            .map(|pair| Self(Arc::new(pair)))
            .map_err(|_| StandardError::SigningKey)
    }

    /// The `whsk_` form of a seed: the seed followed by its public key.
    pub fn encode(seed: &[u8; 32]) -> Result<String, StandardError> {
        let key = Self::from_seed(seed)?;
        let mut bytes = Zeroizing::new(Vec::with_capacity(64));
        bytes.extend_from_slice(seed);
        bytes.extend_from_slice(key.0.public_key().as_ref());
        Ok(format!("whsk_{}", STANDARD.encode(&*bytes)))
    }

    /// The public key, as consumers pin it: `whpk_<base64>`.
    pub fn public_key(&self) -> String {
        format!("whpk_{}", STANDARD.encode(self.0.public_key().as_ref()))
    }

    /// `v1a,<base64 signature>` of `{id}.{timestamp}.{body}`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> Result<String, StandardError> {
        let content = signed_content(id, timestamp, body)?;
        Ok(format!(
            "v1a,{}",
            STANDARD.encode(self.0.sign(&content).as_ref())
        ))
    }
}

/// An ed25519 public key, from its `whpk_` form: what a consumer pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandardPublicKey([u8; 32]);

impl StandardPublicKey {
    /// Reads `whpk_<base64 of 32 bytes>`.
    pub fn parse(text: &str) -> Result<Self, StandardError> {
        let bytes = text
            .strip_prefix("whpk_")
            .and_then(|encoded| STANDARD.decode(encoded).ok())
            .ok_or(StandardError::PublicKey)?;
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| StandardError::PublicKey)
    }

    /// Whether `entry` (`v1a,<base64>`) is this key's signature of
    /// `{id}.{timestamp}.{body}`.
    pub fn verify_entry(&self, id: &str, timestamp: i64, body: &[u8], entry: &str) -> bool {
        let Some(signature) = entry
            .strip_prefix("v1a,")
            .and_then(|sig| STANDARD.decode(sig).ok())
        else {
            return false;
        };
        let Ok(content) = signed_content(id, timestamp, body) else {
            return false;
        };
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(&content, &signature)
            .is_ok()
    }
}
