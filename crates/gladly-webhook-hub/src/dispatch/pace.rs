//! [`Pacer`]: a subscription's rate limit, as the run holding its lease
//! keeps it. The lease makes one run at a time deliver to a subscription,
//! across every hub on the store; the pace a run leaves (its next slot) is
//! stored when it gives the lease up and read by the next run's claim.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// The moments a rate-limited subscription's attempts may start: one every
/// `1 / per_second`, never two closer.
#[derive(Debug)]
pub(super) struct Pacer {
    interval: TimeDelta,
    /// The first moment the next attempt may start.
    next: Mutex<DateTime<Utc>>,
}

impl Pacer {
    /// The pace of `per_second` attempts a second, from `next_slot` (the
    /// last run's) or now; `None` without a limit.
    pub(super) fn new(per_second: Option<u32>, next_slot: Option<DateTime<Utc>>) -> Option<Self> {
        let per_second = per_second.filter(|n| *n > 0)?;
        let interval = TimeDelta::nanoseconds(1_000_000_000 / i64::from(per_second));
        Some(Self {
            interval,
            next: Mutex::new(next_slot.unwrap_or_else(Utc::now)),
        })
    }

    /// Takes the next slot: the moment this attempt may start.
    pub(super) fn reserve(&self) -> DateTime<Utc> {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let slot = (*next).max(Utc::now());
        *next = slot.checked_add_signed(self.interval).unwrap_or(slot);
        slot
    }

    /// Whether a slot is free within one interval from now: a window takes
    /// no more than that ahead of time.
    pub(super) fn ready(&self) -> bool {
        let next = *self.next.lock().unwrap_or_else(|p| p.into_inner());
        next <= Utc::now() + self.interval
    }

    /// The first moment the next attempt may start.
    pub(super) fn next_slot(&self) -> DateTime<Utc> {
        *self.next.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Waits until `slot`.
pub(super) async fn until(slot: DateTime<Utc>) {
    let wait = (slot - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    tokio::time::sleep(wait).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_one_interval_apart_and_start_at_the_last_runs_pace() {
        assert!(Pacer::new(None, None).is_none());
        assert!(Pacer::new(Some(0), None).is_none());
        let later = Utc::now() + TimeDelta::seconds(5);
        let pacer = Pacer::new(Some(4), Some(later)).unwrap();
        assert!(!pacer.ready());
        let first = pacer.reserve();
        let second = pacer.reserve();
        assert_eq!(first, later);
        assert_eq!(second - first, TimeDelta::milliseconds(250));
        assert_eq!(pacer.next_slot() - second, TimeDelta::milliseconds(250));
        // A slot in the past is now.
        let pacer = Pacer::new(Some(1000), Some(Utc::now() - TimeDelta::hours(1))).unwrap();
        assert!(pacer.ready());
        assert!(pacer.reserve() > Utc::now() - TimeDelta::seconds(1));
    }
}
