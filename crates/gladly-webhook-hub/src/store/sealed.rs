//! Secrets at rest: [`SecretKeys`] seal each subscription's signing secret
//! with XChaCha20-Poly1305 before it is stored, and open it when read.
//!
//! A sealed secret is stored as `sealed1:KEYID:BASE64`, where `KEYID` is
//! the first 8 hex digits of the key's SHA-256 and `BASE64` holds a random
//! 24-byte nonce and the ciphertext; the subscription's id is the
//! associated data, so a sealed secret cannot be moved to another row. A
//! secret stored before a key was given is plain text, read as it is, and
//! sealed when the hub starts with a key ([`crate::Store::seal_secrets`]).
//!
//! **Rotation.** The keys are given one per line, the current one first:
//! put the new key on the first line, keep the old one below it, restart
//! (every secret is sealed anew under the new key at start), then drop the
//! old line at the next restart.

use std::fmt;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use gladly_webhook_core::Secret;
use sha2::Digest;
use zeroize::Zeroizing;

use super::StoreError;

/// What marks a sealed secret in the store.
const PREFIX: &str = "sealed1:";

/// Why the keys could not be read. Never shows a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeysError {
    /// No key was given.
    #[error(
        "no key: give one key per line, 64 hex digits (32 random bytes; e.g. `openssl rand -hex 32`)"
    )]
    Empty,
    /// A line is not 64 hex digits.
    #[error("line {line}: expected 64 hex digits (32 bytes), found {found} characters")]
    Malformed {
        /// The line, from 1.
        line: usize,
        /// How many characters it has.
        found: usize,
    },
}

struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The keys that seal secrets at rest: the current one (first) seals, any
/// of them opens. `Debug` shows key ids only.
pub struct SecretKeys {
    keys: Vec<Key>,
}

impl fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKeys")
            .field("ids", &self.keys.iter().map(|k| &k.id).collect::<Vec<_>>())
            .finish()
    }
}

impl SecretKeys {
    /// Reads keys, one per line (64 hex digits each; blank lines, a UTF-8
    /// BOM and surrounding spaces are ignored), the current key first.
    ///
    /// ```
    /// use gladly_webhook_hub::store::SecretKeys;
    ///
    /// let keys = SecretKeys::parse(&"ab".repeat(32)).unwrap();
    /// assert_eq!(keys.current_id().len(), 8);
    /// assert!(SecretKeys::parse("not a key").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, KeysError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let malformed = KeysError::Malformed {
                line: n + 1,
                found: line.chars().count(),
            };
            let bytes = Zeroizing::new(hex::decode(line).map_err(|_| malformed.clone())?);
            if bytes.len() != 32 {
                return Err(malformed);
            }
            let id = hex::encode(&sha2::Sha256::digest(bytes.as_slice())[..4]);
            let cipher =
                XChaCha20Poly1305::new_from_slice(bytes.as_slice()).map_err(|_| malformed)?;
            keys.push(Key { id, cipher });
        }
        if keys.is_empty() {
            return Err(KeysError::Empty);
        }
        Ok(Self { keys })
    }

    /// The id of the key that seals (8 hex digits of its SHA-256).
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// `secret`, sealed with the current key for the row `webhook_id`.
    pub(crate) fn seal(&self, webhook_id: &str, secret: &Secret) -> Result<String, StoreError> {
        let key = &self.keys[0];
        let mut nonce = [0u8; 24];
        getrandom::getrandom(&mut nonce)
            .map_err(|err| StoreError::Corrupt(format!("no random nonce: {err}")))?;
        let sealed = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.expose().as_bytes(),
                    aad: webhook_id.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Corrupt("a secret could not be sealed".to_string()))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(format!(
            "{PREFIX}{}:{}",
            key.id,
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(blob)
        ))
    }

    /// The secret stored as `stored` in the row `webhook_id`: opened when
    /// sealed, as it is when plain.
    pub(crate) fn open(&self, webhook_id: &str, stored: &str) -> Result<Secret, StoreError> {
        open(Some(self), webhook_id, stored)
    }

    /// Whether `stored` is anything but sealed with the current key.
    pub(crate) fn needs_sealing(&self, stored: &str) -> bool {
        !stored.starts_with(&format!("{PREFIX}{}:", self.keys[0].id))
    }
}

/// Opens `stored` with `keys`; a plain secret is returned as it is, a
/// sealed one without keys (or with none that fits) is an error naming the
/// key id it needs.
pub(crate) fn open(
    keys: Option<&SecretKeys>,
    webhook_id: &str,
    stored: &str,
) -> Result<Secret, StoreError> {
    let Some(rest) = stored.strip_prefix(PREFIX) else {
        return Ok(Secret::new(stored));
    };
    let (id, blob) = rest.split_once(':').unwrap_or((rest, ""));
    let missing = || {
        StoreError::Corrupt(format!(
            "the secret of {webhook_id} is sealed with key {id}, which was not given (--secret-key-env / --secret-key-file)"
        ))
    };
    let key = keys
        .and_then(|keys| keys.keys.iter().find(|k| k.id == id))
        .ok_or_else(missing)?;
    let bad = || StoreError::Corrupt(format!("the sealed secret of {webhook_id} does not open"));
    let blob = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(blob)
        .map_err(|_| bad())?;
    if blob.len() < 24 {
        return Err(bad());
    }
    let (nonce, sealed) = blob.split_at(24);
    let plain = Zeroizing::new(
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: webhook_id.as_bytes(),
                },
            )
            .map_err(|_| bad())?,
    );
    let text = std::str::from_utf8(&plain).map_err(|_| bad())?;
    Ok(Secret::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_row() {
        let old = SecretKeys::parse(&"11".repeat(32)).unwrap();
        let secret = Secret::new("whsec_0123456789abcdef0123456789abcdef");
        let sealed = old.seal("wh_1", &secret).unwrap();
        assert!(sealed.starts_with("sealed1:"));
        assert!(!sealed.contains("whsec_"));
        assert_eq!(old.open("wh_1", &sealed).unwrap().expose(), secret.expose());
        // Another row's id does not open it.
        assert!(old.open("wh_2", &sealed).is_err());
        // Rotation: the new key first, the old below it.
        let both =
            SecretKeys::parse(&format!("{}\n{}\n", "22".repeat(32), "11".repeat(32))).unwrap();
        assert!(both.needs_sealing(&sealed));
        assert_eq!(
            both.open("wh_1", &sealed).unwrap().expose(),
            secret.expose()
        );
        let resealed = both.seal("wh_1", &secret).unwrap();
        assert!(!both.needs_sealing(&resealed));
        let err = old.open("wh_1", &resealed).unwrap_err().to_string();
        assert!(err.contains(both.current_id()), "{err}");
        // Plain secrets (stored before a key was given) read as they are.
        assert_eq!(
            open(None, "wh_1", "whsec_plain").unwrap().expose(),
            "whsec_plain"
        );
        assert!(open(None, "wh_1", &sealed).is_err());
        assert!(format!("{both:?}").contains(both.current_id()));
        assert!(!format!("{both:?}").contains("2222"));
    }

    #[test]
    fn keys_are_64_hex_digits_a_line() {
        assert_eq!(SecretKeys::parse("\n \n").unwrap_err(), KeysError::Empty);
        assert_eq!(
            SecretKeys::parse(&"ab".repeat(16)).unwrap_err(),
            KeysError::Malformed { line: 1, found: 32 }
        );
        assert!(SecretKeys::parse(&format!("\u{feff}{}\n", "ab".repeat(32))).is_ok());
    }
}
