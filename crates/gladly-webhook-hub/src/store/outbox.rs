//! The outbox as the dispatcher works it (`hub_deliveries`,
//! `hub_attempts`, `hub_deactivations`): the deliveries due to a leased
//! subscription, and what became of each attempt.

use std::time::Duration;

use chrono::{DateTime, Utc};
use gladly_webhook_core::Secret;

use super::backend::{Conn, PerBackend, on};
use super::rate_limits::pause;
use super::successes::insert_attempts;
use super::webhooks::{CANCELLED_DEACTIVATED, cancel_pending};
use super::{
    Alert, AttemptRecord, DueDelivery, Recipient, Store, StoreError, from_millis, leases, millis,
    optional_time,
};

/// What became of a delivery attempt, as the dispatcher records it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum AttemptOutcome {
    /// A 2xx answer: the delivery is done.
    Delivered,
    /// A failure with attempts left: try again at this time.
    Retry(DateTime<Utc>),
    /// A `429` or `503` with `Retry-After`, honoured (our user's model): no
    /// attempt to the subscription before `until`, and this one again at
    /// `retry_at` (the later of the schedule's time and `until`).
    Paused {
        /// When this delivery is tried again.
        retry_at: DateTime<Utc>,
        /// Until when the subscription gets no attempt.
        until: DateTime<Utc>,
    },
    /// The last attempt failed: the delivery failed, and the subscription
    /// is deactivated.
    Exhausted,
}

/// The most bytes of event bodies one batch of deliveries holds (one event
/// always, whatever its size).
pub(crate) const BATCH_BYTES: usize = 2 << 20;

/// The next pending deliveries of a leased subscription after position
/// `$5`, in publish order: at most `$3` of them, and no more bodies than
/// fit in `$4` bytes (the first always comes), so what a dispatcher holds
/// in memory is bounded whatever the events' sizes; `$due` adds a
/// condition on their due time.
///
/// The deliveries are chosen first, from `hub_deliveries` alone (a
/// subquery with a `LIMIT`, which no planner merges into the join), so the
/// plan is a range of `hub_deliveries_queue` (`webhook_id`, `event_seq`)
/// whatever the statistics say; then each is joined to its event and its
/// subscription by key. Written as one join, PostgreSQL with statistics
/// merged it with `hub_events` along `hub_deliveries_event`, reading every
/// delivery of every subscription (11,000 buffers, 38 ms a read).
macro_rules! next_deliveries {
    ($($due:literal)?) => {
        concat!(
            "SELECT id, webhook_id, event_seq, event_id, event_type, attempts, schedule_from, \
             next_attempt_at, published_at, body, url, secret, model, webhook_modified_at FROM ( \
               SELECT head.*, SUM(size) OVER (ORDER BY event_seq \
                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS bytes_before \
               FROM ( \
                 SELECT d.id, d.webhook_id, d.event_seq, e.event_id, e.event_type, d.attempts, \
                   d.schedule_from, d.next_attempt_at, e.published_at, e.body, LENGTH(e.body) AS size, w.url, \
                   w.secret, w.model, w.modified_at AS webhook_modified_at \
                 FROM ( \
                   SELECT p.id, p.webhook_id, p.event_seq, p.attempts, p.schedule_from, \
                     p.next_attempt_at \
                   FROM hub_deliveries p \
                   WHERE p.webhook_id = $1 AND p.state = 'pending' AND p.event_seq > $5 ",
            $($due,)?
            " ORDER BY p.event_seq LIMIT $3 \
                 ) AS d JOIN hub_events e ON e.seq = d.event_seq \
                 JOIN hub_webhooks w ON w.id = d.webhook_id \
                 WHERE w.lease_token = $2 AND w.active \
               ) AS head \
             ) AS sized WHERE COALESCE(bytes_before, 0) < $4 ORDER BY event_seq"
        )
    };
}
/// The next pending deliveries, due or not (strict publish order).
const NEXT: &str = next_deliveries!();
/// The same, only those due at `$6` (the window).
pub(super) const NEXT_DUE: &str = next_deliveries!("AND p.next_attempt_at <= $6");

/// A row of [`NEXT`]: the delivery, its event and its subscription.
type DueColumns = (
    String,
    String,
    i64,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    Vec<u8>,
    String,
    String,
    String,
    i64,
);

fn due_delivery(columns: DueColumns) -> Result<DueDelivery, StoreError> {
    let (
        id,
        webhook_id,
        seq,
        event_id,
        event_type,
        attempts,
        schedule_from,
        next,
        published,
        body,
        url,
        secret,
        model,
        modified,
    ) = columns;
    Ok(DueDelivery {
        id,
        webhook_id,
        seq,
        event_id,
        event_type,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        schedule_from: u32::try_from(schedule_from).unwrap_or(0),
        next_attempt_at: from_millis(next)?,
        published_at: from_millis(published)?,
        body,
        url,
        secret: Secret::new(secret),
        recipient: Recipient::from_name(&model)
            .ok_or_else(|| StoreError::Corrupt(format!("a subscription's model {model:?}")))?,
        webhook_modified_at: from_millis(modified)?,
    })
}

impl Store {
    /// The oldest pending deliveries (at most `limit`, in publish order) to
    /// a subscription this lease holds, with what sending them needs; none
    /// when the lease is lost.
    pub(crate) async fn next_deliveries(
        &self,
        webhook_id: &str,
        token: i64,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        self.pending_after(webhook_id, token, limit, i64::MIN, None)
            .await
    }

    /// The pending deliveries due at `now` that come after position
    /// `after_seq` (a [`DueDelivery::seq`]), at most `limit`, in publish
    /// order, to a subscription this lease holds: what a windowed
    /// dispatcher sends next.
    pub(crate) async fn due_deliveries_after(
        &self,
        webhook_id: &str,
        token: i64,
        after_seq: i64,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        self.pending_after(webhook_id, token, limit, after_seq, Some(now))
            .await
    }

    async fn pending_after(
        &self,
        webhook_id: &str,
        token: i64,
        limit: u32,
        after_seq: i64,
        due_at: Option<DateTime<Utc>>,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let rows: Vec<DueColumns> = on!(self.pool(), |pool| {
            let query = sqlx::query_as(if due_at.is_some() { NEXT_DUE } else { NEXT })
                .bind(webhook_id)
                .bind(token)
                .bind(i64::from(limit))
                .bind(i64::try_from(BATCH_BYTES).unwrap_or(i64::MAX))
                .bind(after_seq);
            let query = match due_at {
                Some(at) => query.bind(millis(at)),
                None => query,
            };
            query.fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|row| {
                let mut due = due_delivery(row)?;
                due.secret = self.open_secret(&due.webhook_id, &due.secret)?;
                Ok(due)
            })
            .collect()
    }
}

// The writes keyed by a delivery's id check that it is still pending as
// "not finished": see `successes::DELIVERED_HEAD` for why.
pub(super) const DELIVERED: &str = "UPDATE hub_deliveries \
    SET state = 'delivered', attempts = $2, finished_at = $3 \
    WHERE id = $1 AND state NOT IN ('delivered', 'failed', 'cancelled')";
const RETRY: &str = "UPDATE hub_deliveries SET attempts = $2, next_attempt_at = $3 \
    WHERE id = $1 AND state NOT IN ('delivered', 'failed', 'cancelled')";

impl Store {
    /// Records an attempt of `delivery` and what follows from it, in one
    /// transaction that also renews the lease for `lease`.
    /// [`AttemptOutcome::Exhausted`] also deactivates the subscription,
    /// cancels its other pending deliveries, records the deactivation and
    /// stores `alerts` (an operator endpoint is never deactivated, and its
    /// failures raise no alert: nothing loops).
    /// The delivery's state changes only while the lease is held; the
    /// attempt is recorded regardless (it happened).
    pub(crate) async fn record_attempt(
        &self,
        delivery: &DueDelivery,
        token: i64,
        lease: Duration,
        attempt: &AttemptRecord,
        outcome: &AttemptOutcome,
        alerts: &[Alert],
    ) -> Result<(), StoreError> {
        let number = i64::from(attempt.number);
        let made = (delivery.id.clone(), attempt.clone());
        let _turn = self.turn().await;
        on!(self.pool(), |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin()).await?;
            insert_attempts(Conn::from(&mut *tx), &[&made]).await?;
            let held = leases::hold(Conn::from(&mut *tx), &delivery.webhook_id, token, lease);
            if held.await? {
                let now = Utc::now();
                match outcome {
                    AttemptOutcome::Delivered => {
                        sqlx::query(DELIVERED)
                            .bind(&delivery.id)
                            .bind(number)
                            .bind(millis(now))
                            .execute(&mut *tx)
                            .await?;
                    }
                    AttemptOutcome::Retry(at) => {
                        sqlx::query(RETRY)
                            .bind(&delivery.id)
                            .bind(number)
                            .bind(millis(*at))
                            .execute(&mut *tx)
                            .await?;
                    }
                    AttemptOutcome::Paused { retry_at, until } => {
                        sqlx::query(RETRY)
                            .bind(&delivery.id)
                            .bind(number)
                            .bind(millis(*retry_at))
                            .execute(&mut *tx)
                            .await?;
                        pause(Conn::from(&mut *tx), &delivery.webhook_id, *until).await?;
                    }
                    AttemptOutcome::Exhausted => {
                        exhaust(Conn::from(&mut *tx), delivery, attempt, now, alerts).await?;
                    }
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

/// Waits for publications in flight to a subscription (PostgreSQL; on
/// SQLite the transaction already excludes them), so a cancellation after
/// it sees their deliveries.
const LOCK_WEBHOOK: PerBackend = PerBackend {
    sqlite: "SELECT id FROM hub_webhooks WHERE id = $1",
    postgres: "SELECT id FROM hub_webhooks WHERE id = $1 FOR UPDATE",
};
const FAILED: &str = "UPDATE hub_deliveries \
    SET state = 'failed', attempts = $2, finished_at = $3, reason = $4 \
    WHERE id = $1 AND state NOT IN ('delivered', 'failed', 'cancelled')";
const DEACTIVATE: &str = "UPDATE hub_webhooks SET active = FALSE, disabled_at_retry_limit = $2, \
    modified_at = CASE WHEN modified_at >= $2 THEN modified_at + 1 ELSE $2 END, \
    lease_until = NULL, lease_token = NULL WHERE id = $1 RETURNING url";
const INSERT_DEACTIVATION: &str = "INSERT INTO hub_deactivations \
    (webhook_id, url, at, delivery_id, event_id, reason) VALUES ($1, $2, $3, $4, $5, $6)";

/// The last attempt of `delivery` failed, in the transaction `conn` is in:
/// the delivery fails, its subscription is deactivated, the subscription's
/// other pending deliveries are cancelled, the deactivation recorded and
/// `alerts` stored. An operator endpoint's delivery only fails; a relay
/// destination's fails and stores `alerts`.
async fn exhaust(
    mut conn: Conn<'_>,
    delivery: &DueDelivery,
    attempt: &AttemptRecord,
    now: DateTime<Utc>,
    alerts: &[Alert],
) -> Result<(), StoreError> {
    let reason = exhausted_reason(attempt);
    on!(conn.reborrow(), |conn, dialect| {
        sqlx::query(dialect.pick(&LOCK_WEBHOOK))
            .bind(&delivery.webhook_id)
            .fetch_optional(&mut *conn)
            .await?;
        sqlx::query(FAILED)
            .bind(&delivery.id)
            .bind(i64::from(attempt.number))
            .bind(millis(now))
            .bind(&reason)
            .execute(&mut *conn)
            .await?;
    });
    if delivery.recipient == Recipient::Operator {
        return Ok(());
    }
    super::alerts::record(conn.reborrow(), alerts).await?;
    // A relay's destination is not deactivated: one dead event does not
    // stop the others (Standard Webhooks ask to tell the endpoint's owner
    // first: the operational event above).
    if delivery.recipient == Recipient::Destination {
        return Ok(());
    }
    on!(conn, |conn| {
        let url: String = sqlx::query_scalar(DEACTIVATE)
            .bind(&delivery.webhook_id)
            .bind(millis(now))
            .fetch_one(&mut *conn)
            .await?;
        let webhook_id = &delivery.webhook_id;
        cancel_pending(
            Conn::from(&mut *conn),
            webhook_id,
            now,
            CANCELLED_DEACTIVATED,
        )
        .await?;
        sqlx::query(INSERT_DEACTIVATION)
            .bind(&delivery.webhook_id)
            .bind(url)
            .bind(millis(now))
            .bind(&delivery.id)
            .bind(&delivery.event_id)
            .bind(&reason)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

/// Why a delivery failed for good, as its row and the deactivation say.
pub(crate) fn exhausted_reason(attempt: &AttemptRecord) -> String {
    format!(
        "{} attempts failed; the last: {}",
        attempt.number,
        attempt.summary()
    )
}

/// A subscription's pending deliveries waiting for a retry, due at `$2`.
const MAKE_DUE_NOW: &str = "UPDATE hub_deliveries SET next_attempt_at = $2 \
    WHERE webhook_id = $1 AND state = 'pending' AND next_attempt_at > $2";
/// When the next delivery is due: the earliest of each active
/// subscription's earliest (one probe of `hub_deliveries_webhook_due` per
/// subscription, not a walk of every pending delivery).
pub(super) const NEXT_DUE_AT: &str = "SELECT MIN((SELECT MIN(d.next_attempt_at) FROM hub_deliveries d \
    WHERE d.webhook_id = w.id AND d.state = 'pending')) FROM hub_webhooks w WHERE w.active";

impl Store {
    /// Makes `webhook_id`'s pending deliveries that wait for a retry due
    /// at `now` (a "retry now" after the receiver was fixed); how many.
    pub(crate) async fn make_due_now(
        &self,
        webhook_id: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let _turn = self.turn().await;
        Ok(on!(self.pool(), |pool| {
            sqlx::query(MAKE_DUE_NOW)
                .bind(webhook_id)
                .bind(millis(now))
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// When the earliest pending delivery to an active subscription is due.
    pub(crate) async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let due: Option<i64> = on!(self.pool(), |pool| {
            sqlx::query_scalar(NEXT_DUE_AT).fetch_one(pool).await?
        });
        optional_time(due)
    }
}

/// This file's statements, for the test that prepares them all.
#[cfg(test)]
pub(super) fn statements(dialect: super::backend::Dialect) -> Vec<String> {
    [
        NEXT,
        NEXT_DUE,
        DELIVERED,
        RETRY,
        dialect.pick(&LOCK_WEBHOOK),
        FAILED,
        DEACTIVATE,
        INSERT_DEACTIVATION,
        MAKE_DUE_NOW,
        NEXT_DUE_AT,
    ]
    .map(String::from)
    .to_vec()
}
