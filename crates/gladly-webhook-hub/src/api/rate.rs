//! Gladly's rate limit: a number of requests per second for the whole
//! organization (every API user together), told in `Ratelimit-Limit-Second`
//! and `Ratelimit-Remaining-Second` on each answer, `429` past it.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Requests allowed in each wall-clock second; cheap to share.
///
/// ```
/// use gladly_webhook_hub::api::rest::RateLimit;
///
/// let limit = RateLimit::per_second(2);
/// assert_eq!(limit.take(), Ok(1));
/// assert_eq!(limit.take(), Ok(0));
/// assert!(limit.take().is_err()); // until the next second
/// assert_eq!(RateLimit::per_second(0).take(), Ok(u32::MAX)); // off
/// ```
#[derive(Debug)]
pub struct RateLimit {
    per_second: u32,
    /// The second being counted (since the Unix epoch) and its requests.
    window: Mutex<(u64, u32)>,
}

impl RateLimit {
    /// `per_second` requests a second; `0` for no limit.
    pub fn per_second(per_second: u32) -> Self {
        Self {
            per_second,
            window: Mutex::new((0, 0)),
        }
    }

    /// The limit (`0`: none).
    pub fn limit(&self) -> u32 {
        self.per_second
    }

    /// Counts a request: `Ok` with how many remain this second, or `Err`
    /// with the milliseconds until the next second begins.
    pub fn take(&self) -> Result<u32, u64> {
        if self.per_second == 0 {
            return Ok(u32::MAX);
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let second = now.as_secs();
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        if window.0 != second {
            *window = (second, 0);
        }
        if window.1 >= self.per_second {
            return Err(1000 - u64::from(now.subsec_millis()));
        }
        window.1 += 1;
        Ok(self.per_second - window.1)
    }
}
