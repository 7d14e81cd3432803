//! Recovering a range: a subscription's failed and cancelled deliveries of
//! a window made pending again, after a receiver's outage.

use chrono::{DateTime, Utc};

use super::backend::on;
use super::{Store, StoreError, millis};

/// What a recovery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recovery {
    /// This many deliveries were re-queued (0: none failed or was cancelled
    /// in the window, or they are queued already).
    Requeued(u64),
    /// The subscription is inactive: re-activate it first (the hub PINGs
    /// it). Nothing was re-queued.
    Inactive,
    /// No subscription has this id.
    NotFound,
}

/// Makes `$1`'s failed and cancelled deliveries created (published) in
/// `[$2, $3)` pending again, due at `$4`, each with its schedule from the
/// start; only while the subscription is active, so none waits behind a
/// deactivation. Pending deliveries are not touched: a second call while
/// they wait changes nothing.
const RECOVER: &str = "UPDATE hub_deliveries \
    SET state = 'pending', next_attempt_at = $4, finished_at = NULL, reason = NULL, \
    schedule_from = attempts \
    WHERE webhook_id = $1 AND state IN ('failed', 'cancelled') \
    AND created_at >= $2 AND created_at < $3 \
    AND EXISTS (SELECT 1 FROM hub_webhooks w WHERE w.id = $1 AND w.active)";
/// Whether `$1` is active, if it exists: a subscription, an operator
/// endpoint or a relay's destination.
const ACTIVE: &str = "SELECT active FROM hub_webhooks WHERE id = $1";

impl Store {
    /// Re-queues subscription (or destination) `webhook_id`'s failed and cancelled
    /// deliveries published in `[since, until)`, due at `now`, in their
    /// publish order (their places in the queue are their events'). None
    /// while the subscription is inactive. Each is attempted again with the
    /// whole schedule; its earlier attempts stay listed. A running hub's
    /// dispatcher finds them at its next poll (within a second by default).
    pub async fn recover(
        &self,
        webhook_id: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Recovery, StoreError> {
        let requeued = {
            let _turn = self.turn().await;
            on!(self.pool(), |pool| {
                sqlx::query(RECOVER)
                    .bind(webhook_id)
                    .bind(millis(since))
                    .bind(millis(until))
                    .bind(millis(now))
                    .execute(pool)
                    .await?
                    .rows_affected()
            })
        };
        if requeued > 0 {
            return Ok(Recovery::Requeued(requeued));
        }
        let active: Option<bool> = on!(self.pool(), |pool| {
            sqlx::query_scalar(ACTIVE)
                .bind(webhook_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(match active {
            None => Recovery::NotFound,
            Some(false) => Recovery::Inactive,
            Some(true) => Recovery::Requeued(0),
        })
    }
}

/// This file's statements, for the test that prepares them all.
#[cfg(test)]
pub(super) fn statements(_: super::backend::Dialect) -> Vec<String> {
    vec![RECOVER.to_string(), ACTIVE.to_string()]
}
