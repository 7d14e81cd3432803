//! What happens on `429 Too Many Requests`: capped exponential backoff with
//! full jitter, a bounded number of times.

use std::time::Duration;

/// How a `429` is retried.
///
/// ```
/// use std::time::Duration;
/// use gladly_webhook_client::RetryPolicy;
///
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.max_retries, 5);
/// // Full jitter: a wait between 0 and min(cap, base * 2^n).
/// for n in 0..10 {
///     assert!(policy.wait(n, None) <= policy.cap);
/// }
/// // A Retry-After is honoured, within the cap.
/// assert_eq!(policy.wait(0, Some(Duration::from_secs(2))), Duration::from_secs(2));
/// assert_eq!(RetryPolicy::none().max_retries, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first `429` (0: none).
    pub max_retries: u32,
    /// The first backoff's bound.
    pub base: Duration,
    /// The largest wait.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// 5 retries, from 500 ms, waits capped at 8 s: Gladly's limit is per
    /// second, so a few short waits clear it.
    fn default() -> Self {
        Self {
            max_retries: 5,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// No retry: a `429` is returned at once.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Sets the number of retries.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the first backoff's bound and the cap.
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.base = base;
        self.cap = cap.max(base);
        self
    }

    /// The wait before retry `n` (from 0): the server's `Retry-After` when
    /// it gave one, else a random wait up to `base * 2^n`; never more than
    /// the cap.
    pub fn wait(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.cap);
        }
        let bound = self
            .base
            .saturating_mul(2u32.saturating_pow(n.min(20)))
            .min(self.cap);
        let millis = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=millis))
    }
}
