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

/// A new delivery id: `dlv_` and 24 hex digits, the milliseconds since
/// the Unix epoch (48 bits) and then 48 random bits, as a UUIDv7 is made.
///
/// Ids made later sort later, so the store adds each delivery at the end
/// of its index of ids (and of the attempts' index), where the pages are
/// already in memory, rather than at a random place: with random ids a
/// batch of deliveries touched a page of the index per delivery, and the
/// SQLite store wrote about 20 pages to its log for each delivery.
pub fn delivery_id() -> Result<String, RandomError> {
    delivery_id_at(chrono::Utc::now())
}

fn delivery_id_at(at: chrono::DateTime<chrono::Utc>) -> Result<String, RandomError> {
    // 48 bits of milliseconds last until the year 10889.
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0) & 0xffff_ffff_ffff;
    let mut bytes = [0u8; 12];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6..].copy_from_slice(&random::<6>()?);
    Ok(format!("dlv_{}", hex::encode(bytes)))
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
    fn delivery_ids_sort_by_time_and_differ_within_a_millisecond() {
        let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap();
        let earlier = delivery_id_at(at(1_764_000_000_000)).unwrap();
        let later = delivery_id_at(at(1_764_000_000_001)).unwrap();
        let much_later = delivery_id_at(at(1_900_000_000_000)).unwrap();
        assert!(
            earlier < later && later < much_later,
            "{earlier} {later} {much_later}"
        );
        assert_eq!(&earlier[4..16], "019ab697e800");
        let same: std::collections::HashSet<String> = (0..1000)
            .map(|_| delivery_id_at(at(1_764_000_000_000)).unwrap())
            .collect();
        assert_eq!(same.len(), 1000);
    }

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
        assert_eq!(delivery_id().unwrap().len(), 4 + 24);
        assert_eq!(event_id().unwrap().len(), 4 + 32);
        assert_ne!(event_id().unwrap(), event_id().unwrap());
    }
}
