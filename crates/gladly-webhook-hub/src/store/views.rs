//! What the APIs and the dashboards read: a subscription's deliveries with
//! their attempts, the deactivations, the backlog, and the Events API's
//! pages of published events.

use std::collections::HashMap;

use super::backend::on;
use super::{
    AttemptRecord, Backlog, Deactivation, DeliveryRecord, DeliveryState, EventsCursor, Store,
    StoreError, count, from_millis, millis, optional_time,
};
use chrono::{DateTime, Utc};

const DELIVERIES: &str = "SELECT d.id, d.webhook_id, e.event_id, e.event_type, d.state, \
    d.created_at, d.next_attempt_at, d.finished_at, d.reason \
    FROM hub_deliveries d JOIN hub_events e ON e.seq = d.event_seq \
    WHERE d.webhook_id = $1 ORDER BY d.event_seq DESC LIMIT $2";
type DeliveryColumns = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);
const DELIVERY_ATTEMPTS: &str = "SELECT a.delivery_id, a.number, a.at, a.status, a.error, \
    a.duration_ms, a.ack FROM hub_attempts a JOIN (SELECT id FROM hub_deliveries WHERE webhook_id = $1 \
        ORDER BY event_seq DESC LIMIT $2) AS d ON d.id = a.delivery_id \
    ORDER BY a.delivery_id, a.number";
type AttemptColumns = (
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    i64,
    Option<String>,
);

impl Store {
    /// The deliveries to subscription `id`, newest first, at most `limit`,
    /// each with its attempts.
    pub async fn deliveries(
        &self,
        webhook_id: &str,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let limit = i64::from(limit);
        let (rows, attempt_rows): (Vec<DeliveryColumns>, Vec<AttemptColumns>) =
            on!(self.pool(), |pool| {
                let rows = sqlx::query_as(DELIVERIES)
                    .bind(webhook_id)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                let attempts = sqlx::query_as(DELIVERY_ATTEMPTS)
                    .bind(webhook_id)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                (rows, attempts)
            });
        let mut attempts: HashMap<String, Vec<AttemptRecord>> = HashMap::new();
        for (delivery_id, number, at, status, error, duration_ms, ack) in attempt_rows {
            let mut attempt = AttemptRecord::new(
                u32::try_from(number).unwrap_or(0),
                from_millis(at)?,
                status.and_then(|s| u16::try_from(s).ok()),
                error,
                count(duration_ms),
            );
            attempt.ack = ack;
            attempts.entry(delivery_id).or_default().push(attempt);
        }
        rows.into_iter()
            .map(|row| {
                let (id, webhook_id, event_id, event_type, state, created, next, finished, reason) =
                    row;
                let state = DeliveryState::read(&state)?;
                Ok(DeliveryRecord {
                    attempts: attempts.remove(&id).unwrap_or_default(),
                    id,
                    webhook_id,
                    event_id,
                    event_type,
                    state,
                    created_at: from_millis(created)?,
                    next_attempt_at: match state {
                        DeliveryState::Pending => Some(from_millis(next)?),
                        _ => None,
                    },
                    finished_at: optional_time(finished)?,
                    reason,
                })
            })
            .collect()
    }
}

const DEACTIVATIONS: &str = "SELECT webhook_id, url, at, delivery_id, event_id, reason \
    FROM hub_deactivations ORDER BY seq DESC LIMIT $1";
type DeactivationColumns = (String, String, i64, Option<String>, Option<String>, String);
/// Every subscription with its pending deliveries (the partial index
/// `hub_deliveries_webhook_due` per subscription, at most `MAX_WEBHOOKS`
/// of them).
const BACKLOG: &str = "SELECT w.id, w.active, \
    (SELECT COUNT(*) FROM hub_deliveries d WHERE d.webhook_id = w.id AND d.state = 'pending'), \
    (SELECT MIN(d.next_attempt_at) FROM hub_deliveries d \
     WHERE d.webhook_id = w.id AND d.state = 'pending'), \
    (SELECT d.created_at FROM hub_deliveries d \
     WHERE d.webhook_id = w.id AND d.state = 'pending' ORDER BY d.event_seq LIMIT 1) \
    FROM hub_webhooks w WHERE w.model <> 'operator' ORDER BY w.id";

/// A row of [`BACKLOG`]: id, active, pending, earliest due, oldest
/// published.
type BacklogColumns = (String, bool, i64, Option<i64>, Option<i64>);

impl Store {
    /// The deactivations the dispatcher made, newest first, at most `limit`.
    pub async fn deactivations(&self, limit: u32) -> Result<Vec<Deactivation>, StoreError> {
        let rows: Vec<DeactivationColumns> = on!(self.pool(), |pool| {
            sqlx::query_as(DEACTIVATIONS)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(webhook_id, url, at, delivery_id, event_id, reason)| {
                Ok(Deactivation {
                    webhook_id,
                    url,
                    at: from_millis(at)?,
                    delivery_id,
                    event_id,
                    reason,
                })
            })
            .collect()
    }

    /// Every subscription with how many deliveries it has pending, for
    /// metrics and dashboards.
    pub async fn backlog(&self) -> Result<Vec<Backlog>, StoreError> {
        let rows: Vec<BacklogColumns> = on!(self.pool(), |pool| {
            sqlx::query_as(BACKLOG).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(
                |(webhook_id, active, pending, oldest_due, oldest_created)| {
                    Ok(Backlog {
                        webhook_id,
                        active,
                        pending: count(pending),
                        oldest_due: optional_time(oldest_due)?,
                        oldest_pending_since: optional_time(oldest_created)?,
                    })
                },
            )
            .collect()
    }
}

/// The Events API's page: events by their `timestamp` (`occurred_at`),
/// after a cursor of (`occurred_at`, `seq`), along `hub_events_occurred`;
/// the head of a query that adds the window, the entities, the order and
/// a limit (see [`Store::events_between`]). Sizes first, so a page of
/// large events is never read whole into memory.
const EVENT_SIZES: &str = "SELECT seq, occurred_at, CAST(LENGTH(body) AS BIGINT) \
    FROM hub_events WHERE occurred_at >= ";
/// The bodies of a page the sizes of [`EVENT_SIZES`] chose: `(` the
/// sequence numbers `)`.
const EVENT_BODIES: &str = "SELECT seq, body FROM hub_events WHERE seq IN ";

impl Store {
    /// Published events' bodies in the order of their `timestamp`, with
    /// their cursors: those whose `timestamp` is in `[from, to)`, after
    /// `after`, whose type's entity (the part before `/`) is one of
    /// `entities` (any when empty), at most `limit` of them and at most
    /// `max_bytes` of bodies (but at least one event). An event whose body
    /// was not kept is returned with an empty body.
    pub async fn events_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        entities: &[String],
        after: EventsCursor,
        limit: u32,
        max_bytes: usize,
    ) -> Result<Vec<(EventsCursor, Vec<u8>)>, StoreError> {
        let sizes: Vec<(i64, i64, i64)> = on!(self.pool(), |pool| {
            let mut query = sqlx::QueryBuilder::new(EVENT_SIZES);
            query.push_bind(millis(from)).push(" AND occurred_at < ");
            query
                .push_bind(millis(to))
                .push(" AND (occurred_at, seq) > (");
            query.push_bind(after.occurred_at_ms).push(", ");
            query.push_bind(after.seq).push(")");
            if !entities.is_empty() {
                query.push(" AND (");
                for (n, entity) in entities.iter().enumerate() {
                    if n > 0 {
                        query.push(" OR ");
                    }
                    query.push("event_type LIKE ");
                    query.push_bind(format!("{}/%", like_escaped(entity)));
                    query.push(" ESCAPE '\\'");
                }
                query.push(")");
            }
            // The hub's operational events are not the organization's.
            query.push(" AND operational = FALSE ORDER BY occurred_at, seq LIMIT ");
            query.push_bind(i64::from(limit));
            query.build_query_as().fetch_all(pool).await?
        });
        let mut page: Vec<EventsCursor> = Vec::new();
        let mut bytes = 0_usize;
        for (seq, occurred_at_ms, size) in sizes {
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            if !page.is_empty() && bytes.saturating_add(size) > max_bytes {
                break;
            }
            bytes = bytes.saturating_add(size);
            page.push(EventsCursor {
                occurred_at_ms,
                seq,
            });
        }
        if page.is_empty() {
            return Ok(Vec::new());
        }
        let bodies: Vec<(i64, Vec<u8>)> = on!(self.pool(), |pool| {
            let mut query = sqlx::QueryBuilder::new(EVENT_BODIES);
            query.push("(");
            let mut seqs = query.separated(", ");
            for cursor in &page {
                seqs.push_bind(cursor.seq);
            }
            query.push(")");
            query.build_query_as().fetch_all(pool).await?
        });
        let mut found: HashMap<i64, Vec<u8>> = bodies.into_iter().collect();
        Ok(page
            .into_iter()
            .filter_map(|cursor| Some((cursor, found.remove(&cursor.seq)?)))
            .collect())
    }
}

/// `text` matched literally by `LIKE ... ESCAPE '\'`.
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('_', "\\_")
        .replace('%', "\\%")
}

/// This file's statements, for the test that prepares them all (the
/// Events API's with two entities and two bodies).
#[cfg(test)]
pub(super) fn statements(_: super::backend::Dialect) -> Vec<String> {
    vec![
        DELIVERIES.to_string(),
        DELIVERY_ATTEMPTS.to_string(),
        DEACTIVATIONS.to_string(),
        BACKLOG.to_string(),
        format!(
            "{EVENT_SIZES}$1 AND occurred_at < $2 AND (occurred_at, seq) > ($3, $4) \
             AND operational = FALSE \
             AND (event_type LIKE $5 ESCAPE '\\' OR event_type LIKE $6 ESCAPE '\\') \
             ORDER BY occurred_at, seq LIMIT $7"
        ),
        format!("{EVENT_BODIES}($1, $2)"),
    ]
}
