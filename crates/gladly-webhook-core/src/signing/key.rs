//! Signing keys: step 3 of the scheme, with the day's key cached.

use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroize;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// One secret, ready to sign: HMAC keyed with the secret, and the HMAC keyed
/// with the most recent day's signing key.
pub(crate) struct DailyKey {
    secret: HmacSha256,
    day: Mutex<Option<([u8; 8], HmacSha256)>>,
}

impl Clone for DailyKey {
    fn clone(&self) -> Self {
        let day = self
            .day
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        Self {
            secret: self.secret.clone(),
            day: Mutex::new(day),
        }
    }
}

impl DailyKey {
    pub(crate) fn new(secret: &[u8]) -> Self {
        Self {
            secret: new_hmac(secret),
            day: Mutex::new(None),
        }
    }

    /// HMAC keyed with the signing key of `date` (`YYYYMMDD`): the raw bytes
    /// of HMAC-SHA256(secret, date). The last date's is cached, so a
    /// verifier derives a key once a day rather than once a request.
    pub(crate) fn mac_for(&self, date: &[u8; 8]) -> HmacSha256 {
        let mut cached = self
            .day
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((day, mac)) = cached.as_ref()
            && day == date
        {
            return mac.clone();
        }
        let mut derive = self.secret.clone();
        derive.update(date);
        let mut signing_key = derive.finalize().into_bytes();
        let mac = new_hmac(&signing_key);
        signing_key.as_mut_slice().zeroize();
        *cached = Some((*date, mac.clone()));
        mac
    }
}

fn new_hmac(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length")
}
