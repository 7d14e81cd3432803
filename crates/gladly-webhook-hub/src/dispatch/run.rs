//! [`Run`]: one dispatcher's turn at one leased subscription, with what
//! it works with (the store, the sender, the change gate, the options, the
//! lease); it renews the lease while it delivers and gives it up after.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use gladly_webhook_sender::Sender;
use tokio::sync::watch;

use super::DispatcherOptions;
use super::attempt::recorded;
use super::pace::Pacer;
use crate::gate::ChangeGate;
use crate::store::{AttemptOutcome, AttemptRecord, DueDelivery, Store};

/// How many pending deliveries a run reads at once.
pub(super) const BATCH: u32 = 32;
/// The longest a run holds its subscription before it makes room for
/// others (it may be claimed again at once).
pub(super) const LONGEST_RUN: Duration = Duration::from_secs(1);

/// A subscription leased by this dispatcher.
pub(super) struct Lease {
    pub(super) webhook_id: String,
    pub(super) token: i64,
    /// Its rate limit's pace, when it has one.
    pub(super) pacer: Option<Pacer>,
}

/// One run on a leased subscription.
pub(super) struct Run {
    pub(super) store: Store,
    pub(super) sender: Arc<Sender>,
    pub(super) gate: ChangeGate,
    pub(super) options: Arc<DispatcherOptions>,
    pub(super) lease: Lease,
    /// The dispatcher's stop.
    pub(super) stopped: watch::Receiver<bool>,
}

impl Run {
    /// The leased subscription.
    pub(super) fn webhook_id(&self) -> &str {
        &self.lease.webhook_id
    }

    /// The lease's token.
    pub(super) fn token(&self) -> i64 {
        self.lease.token
    }

    /// Whether the dispatcher is stopping.
    pub(super) fn stopping(&self) -> bool {
        *self.stopped.borrow()
    }

    /// Renews the lease every third of it, for as long as it is polled.
    pub(super) async fn renew_lease(&self) {
        let lease = self.options.lease;
        let webhook_id = self.webhook_id();
        loop {
            tokio::time::sleep((lease / 3).max(Duration::from_millis(10))).await;
            match self
                .store
                .extend_lease(webhook_id, self.token(), lease_end(lease))
                .await
            {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    webhook_id,
                    "lease lost: another dispatcher owns the subscription now"
                ),
                Err(err) => tracing::warn!(webhook_id, error = %err, "could not renew a lease"),
            }
        }
    }

    /// Waits for the next moment the subscription's rate limit allows an
    /// attempt (none without a limit).
    pub(super) async fn pace(&self) {
        if let Some(pacer) = &self.lease.pacer {
            super::pace::until(pacer.reserve()).await;
        }
    }

    /// Gives the lease up, with the pace for the next run (it runs out by
    /// itself when this fails).
    pub(super) async fn release(&self) {
        let next_slot = self.lease.pacer.as_ref().map(Pacer::next_slot);
        let released = self
            .store
            .release(self.webhook_id(), self.token(), next_slot)
            .await;
        if let Err(err) = released {
            tracing::warn!(webhook_id = self.webhook_id(), error = %err, "could not release a lease; it runs out by itself");
        }
    }

    /// Records an attempt that did not deliver (a retry, or the last
    /// failure), with what follows from it; `false` when the store failed
    /// (the attempt is made again after the lease).
    pub(super) async fn record_failure(
        &self,
        due: &DueDelivery,
        attempt: &AttemptRecord,
        outcome: &AttemptOutcome,
    ) -> bool {
        let lease = self.options.lease;
        let alerts = match outcome {
            AttemptOutcome::Exhausted => match crate::alerts::on_exhausted(due, attempt) {
                Ok(alerts) => alerts,
                Err(err) => {
                    tracing::warn!(delivery_id = due.id, error = %err, "could not make the operational events of a deactivation");
                    Vec::new()
                }
            },
            _ => Vec::new(),
        };
        match self
            .store
            .record_attempt(due, self.token(), lease, attempt, outcome, &alerts)
            .await
        {
            Ok(()) => {
                recorded(outcome);
                true
            }
            Err(err) => {
                tracing::warn!(delivery_id = due.id, error = %err, "could not record an attempt; it will be made again after the lease");
                false
            }
        }
    }

    /// Records the successes in `delivered` (emptying it); `false` when the
    /// store failed (they are sent again after the lease).
    pub(super) async fn flush(&self, delivered: &mut Vec<(String, AttemptRecord)>) -> bool {
        flush(
            &self.store,
            self.options.lease,
            self.webhook_id(),
            self.token(),
            delivered,
        )
        .await
    }
}

/// Records the successes in `delivered` (emptying it); `false` when the
/// store failed.
pub(super) async fn flush(
    store: &Store,
    lease: Duration,
    webhook_id: &str,
    token: i64,
    delivered: &mut Vec<(String, AttemptRecord)>,
) -> bool {
    if delivered.is_empty() {
        return true;
    }
    match store
        .record_delivered(webhook_id, token, lease, delivered)
        .await
    {
        Ok(()) => {
            delivered.clear();
            true
        }
        Err(err) => {
            tracing::warn!(webhook_id, error = %err, "could not record deliveries; they will be sent again after the lease");
            false
        }
    }
}

/// When a lease of `lease` taken now ends; the last time there is for a
/// lease longer than the calendar.
pub(super) fn lease_end(lease: Duration) -> chrono::DateTime<Utc> {
    chrono::TimeDelta::from_std(lease)
        .ok()
        .and_then(|lease| Utc::now().checked_add_signed(lease))
        .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_past_the_calendar_ends_at_its_last_moment() {
        assert_eq!(lease_end(Duration::MAX), chrono::DateTime::<Utc>::MAX_UTC);
    }
}
