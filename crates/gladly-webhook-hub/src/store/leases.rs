//! Leases on subscriptions (`hub_webhooks.lease_until`, `lease_token`):
//! which dispatcher, of all the hubs on one store, sends a subscription's
//! deliveries now.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::backend::{Conn, on};
use super::{DeliveryOrder, Store, StoreError, millis, millis_after, optional_time};

/// Leases subscriptions whose oldest pending delivery is due (strict
/// publish order: a delivery waiting for its retry holds the rest), the
/// longest waiting first, so a subscription that always has work cannot
/// keep the others from their turn.
const CLAIM_HEAD_DUE: &str = "UPDATE hub_webhooks SET lease_until = $2, lease_token = $3 \
    WHERE id IN (SELECT w.id FROM hub_webhooks w \
        WHERE w.active AND (w.lease_until IS NULL OR w.lease_until < $1) \
        AND (w.paused_until IS NULL OR w.paused_until <= $1) \
        AND (SELECT d.next_attempt_at FROM hub_deliveries d \
             WHERE d.webhook_id = w.id AND d.state = 'pending' ORDER BY d.event_seq LIMIT 1) <= $1 \
        ORDER BY (SELECT d.next_attempt_at FROM hub_deliveries d \
             WHERE d.webhook_id = w.id AND d.state = 'pending' ORDER BY d.event_seq LIMIT 1), w.created_at \
        LIMIT $4) \
    AND active AND (lease_until IS NULL OR lease_until < $1) \
    RETURNING id, rate_limit, rate_next_at";
/// Leases subscriptions with any pending delivery due (the window: a
/// delivery waiting for its retry holds nothing back), the longest waiting
/// first.
///
/// Each subscription's earliest due time is a scalar subquery, which
/// PostgreSQL runs once per subscription as one probe of
/// `hub_deliveries_webhook_due` (`webhook_id`, `next_attempt_at`): an
/// `EXISTS` here was turned into a hash semi-join that walked the whole
/// partial index, every pending delivery of every subscription and the
/// entries of finished ones not yet vacuumed (6,000 buffers and 18 ms a
/// claim in a run with a backlog).
pub(super) const CLAIM_ANY_DUE: &str = "UPDATE hub_webhooks SET lease_until = $2, lease_token = $3 \
    WHERE id IN (SELECT c.id FROM (SELECT w.id, w.created_at, \
            (SELECT MIN(d.next_attempt_at) FROM hub_deliveries d \
             WHERE d.webhook_id = w.id AND d.state = 'pending') AS due \
            FROM hub_webhooks w WHERE w.active AND (w.lease_until IS NULL OR w.lease_until < $1) \
            AND (w.paused_until IS NULL OR w.paused_until <= $1) \
        ) AS c WHERE c.due <= $1 ORDER BY c.due, c.created_at LIMIT $4) \
    AND active AND (lease_until IS NULL OR lease_until < $1) \
    RETURNING id, rate_limit, rate_next_at";

/// A subscription a claim leased, with its pace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    /// The subscription.
    pub(crate) webhook_id: String,
    /// The lease's token.
    pub(crate) token: i64,
    /// Its rate limit, deliveries a second.
    pub(crate) per_second: Option<u32>,
    /// The first moment this run may send (the last run's pace).
    pub(crate) next_slot: Option<DateTime<Utc>>,
}

impl Store {
    /// Leases up to `limit` active subscriptions with a delivery due, for
    /// `lease`: their ids with the lease token. In [`DeliveryOrder::Publish`]
    /// a subscription is due when its oldest pending delivery is; in
    /// [`DeliveryOrder::Window`], when any of them is. A subscription a
    /// receiver asked to wait (`Retry-After`) is not claimed before then.
    pub(crate) async fn claim_webhooks(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
        order: DeliveryOrder,
    ) -> Result<Vec<Claim>, StoreError> {
        let token = crate::ids::lease_token()?;
        let claim = match order {
            DeliveryOrder::Publish => CLAIM_HEAD_DUE,
            DeliveryOrder::Window => CLAIM_ANY_DUE,
        };
        let _turn = self.turn().await;
        let rows: Vec<(String, Option<i64>, Option<i64>)> = on!(self.pool(), |pool| {
            sqlx::query_as(claim)
                .bind(millis(now))
                .bind(millis_after(now, lease))
                .bind(token)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(webhook_id, rate, next)| {
                Ok(Claim {
                    webhook_id,
                    token,
                    per_second: rate.and_then(|r| u32::try_from(r).ok()).filter(|r| *r > 0),
                    next_slot: optional_time(next)?,
                })
            })
            .collect()
    }
}

const EXTEND: &str = "UPDATE hub_webhooks SET lease_until = $3 WHERE id = $1 AND lease_token = $2";
const RELEASE: &str = "UPDATE hub_webhooks SET lease_until = NULL, lease_token = NULL, \
    rate_next_at = COALESCE($3, rate_next_at) WHERE id = $1 AND lease_token = $2";
const STILL_CURRENT: &str =
    "SELECT 1 FROM hub_webhooks WHERE id = $1 AND active AND modified_at = $2";

impl Store {
    /// Extends a lease to `until`; `false` when it was lost.
    pub(crate) async fn extend_lease(
        &self,
        webhook_id: &str,
        token: i64,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _turn = self.turn().await;
        let extended = on!(self.pool(), |pool| {
            sqlx::query(EXTEND)
                .bind(webhook_id)
                .bind(token)
                .bind(millis(until))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(extended == 1)
    }

    /// Gives a lease up, keeping the pace of a rate-limited subscription:
    /// `next_slot` is the first moment the next run may send.
    pub(crate) async fn release(
        &self,
        webhook_id: &str,
        token: i64,
        next_slot: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let _turn = self.turn().await;
        on!(self.pool(), |pool| {
            sqlx::query(RELEASE)
                .bind(webhook_id)
                .bind(token)
                .bind(next_slot.map(millis))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Whether subscription `webhook_id` is active and last modified at
    /// `modified_at`: the check before every attempt.
    pub(crate) async fn still_current(
        &self,
        webhook_id: &str,
        modified_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let found: Option<i32> = on!(self.pool(), |pool| {
            sqlx::query_scalar(STILL_CURRENT)
                .bind(webhook_id)
                .bind(millis(modified_at))
                .fetch_optional(pool)
                .await?
        });
        Ok(found.is_some())
    }
}

/// Renews a lease inside a transaction: whether it is held.
pub(super) async fn hold(
    conn: Conn<'_>,
    webhook_id: &str,
    token: i64,
    lease: Duration,
) -> Result<bool, StoreError> {
    let renewed = on!(conn, |conn| {
        sqlx::query(EXTEND)
            .bind(webhook_id)
            .bind(token)
            .bind(millis_after(Utc::now(), lease))
            .execute(conn)
            .await?
            .rows_affected()
    });
    Ok(renewed == 1)
}

/// This file's statements, for the test that prepares them all.
#[cfg(test)]
pub(super) fn statements(_: super::backend::Dialect) -> Vec<String> {
    [
        CLAIM_HEAD_DUE,
        CLAIM_ANY_DUE,
        EXTEND,
        RELEASE,
        STILL_CURRENT,
    ]
    .map(String::from)
    .to_vec()
}
