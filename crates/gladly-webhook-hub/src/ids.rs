//! Identifiers and secrets, from the operating system's random source.

use zeroize::Zeroize;

/// How many random bytes a secret holds.
pub const SECRET_BYTES: usize = 32;

/// The operating system's random source failed: no id or secret can be
/// made.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct RandomError(String);

/// `N` random bytes from the OS.
fn random<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|err| RandomError(err.to_string()))?;
    Ok(bytes)
}

/// A new subscription id: `wh_` and 20 hex digits (80 random bits).
pub fn webhook_id() -> Result<String, RandomError> {
    Ok(format!("wh_{}", hex::encode(random::<10>()?)))
}

/// A new delivery id: `dlv_` and 24 hex digits (96 random bits).
pub fn delivery_id() -> Result<String, RandomError> {
    Ok(format!("dlv_{}", hex::encode(random::<12>()?)))
}

/// A new event id: `evt_` and 32 hex digits (128 random bits).
pub fn event_id() -> Result<String, RandomError> {
    Ok(format!("evt_{}", hex::encode(random::<16>()?)))
}

/// A new signing secret: `whsec_` and 64 hex digits, [`SECRET_BYTES`]
/// random bytes from the OS.
pub fn secret() -> Result<gladly_webhook_core::Secret, RandomError> {
    let mut bytes = random::<SECRET_BYTES>()?;
    let mut text = hex::encode(bytes);
    bytes.zeroize();
    let secret = gladly_webhook_core::Secret::new(format!("whsec_{text}"));
    text.zeroize();
    Ok(secret)
}

/// A lease token.
pub(crate) fn lease_token() -> Result<i64, RandomError> {
    Ok(i64::from_le_bytes(random::<8>()?) & i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hold_32_random_bytes_and_differ() {
        let a = secret().unwrap();
        let b = secret().unwrap();
        assert_eq!(a.len(), "whsec_".len() + 2 * SECRET_BYTES);
        assert!(a.expose().starts_with("whsec_"));
        assert_ne!(a, b);
        assert!(hex::decode(&a.expose()["whsec_".len()..]).is_ok());
    }

    #[test]
    fn ids_have_their_prefix() {
        assert!(webhook_id().unwrap().starts_with("wh_"));
        assert!(delivery_id().unwrap().starts_with("dlv_"));
        assert_eq!(event_id().unwrap().len(), 4 + 32);
        assert_ne!(event_id().unwrap(), event_id().unwrap());
    }
}
