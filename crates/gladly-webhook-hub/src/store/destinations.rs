//! A relay's destinations: `hub_webhooks` rows of model `destination`,
//! which publications fan out to like subscriptions (their `events` may be
//! patterns, see [`subscribes_to`](super::subscribes_to)) and no
//! subscription API sees. What signs and sends to them is the relay's
//! configuration, never stored: the row's secret is empty.
//!
//! Here too: what a relay received from Gladly, authentic but not a
//! well-formed event, kept for inspection and sent nowhere; and the
//! cursors of its backfills.

use chrono::{DateTime, Utc};
use gladly_webhook_core::Secret;
use sha2::Digest;

use super::backend::on;
use super::{Recipient, Store, StoreError, from_millis, millis};

/// A destination as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DestinationRow {
    /// Its id (`dst_` and its name).
    pub id: String,
    /// Where its deliveries go.
    pub url: String,
    /// The event types it receives, or patterns of them.
    pub events: Vec<String>,
}

impl DestinationRow {
    /// The row of destination `id` at `url`, for `events`.
    pub fn new(id: &str, url: &str, events: Vec<String>) -> Self {
        Self {
            id: id.to_string(),
            url: url.to_string(),
            events,
        }
    }
}

const LIST_DESTINATIONS: &str = "SELECT id, url, events, active FROM hub_webhooks \
    WHERE model = 'destination' ORDER BY id";
const DESTINATION_IDS: &str = "SELECT id FROM hub_webhooks WHERE model = 'destination' AND active";
/// A destination kept or changed: `modified_at` moves only when where it
/// sends or what it receives changes (or it comes back), so attempts in
/// flight are abandoned only then (the change gate).
const UPSERT_DESTINATION: &str = "INSERT INTO hub_webhooks \
    (id, url, url_key, events, secret, active, created_at, modified_at, model, name, header_keys) \
    VALUES ($1, $2, $3, $4, $5, TRUE, $6, $6, 'destination', $7, '[]') \
    ON CONFLICT (id) DO UPDATE SET url = excluded.url, events = excluded.events, active = TRUE, \
    modified_at = CASE WHEN hub_webhooks.url <> excluded.url \
    OR hub_webhooks.events <> excluded.events OR NOT hub_webhooks.active \
    THEN excluded.modified_at ELSE hub_webhooks.modified_at END";
/// A destination no longer configured: it receives nothing new; what it
/// has pending waits, and goes out if it is configured again.
const DEACTIVATE_DESTINATION: &str = "UPDATE hub_webhooks SET active = FALSE, modified_at = $2 \
    WHERE id = $1 AND model = 'destination'";

impl Store {
    /// Every destination this store has known, with whether it is in force
    /// (a destination no longer configured is kept, inactive, with what it
    /// has pending).
    pub async fn destinations(&self) -> Result<Vec<(DestinationRow, bool)>, StoreError> {
        let rows: Vec<(String, String, String, bool)> = on!(self.pool(), |pool| {
            sqlx::query_as(LIST_DESTINATIONS).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(id, url, events, active)| {
                let events = serde_json::from_str(&events).map_err(|e| {
                    StoreError::Corrupt(format!("the events of destination {id}: {e}"))
                })?;
                Ok((DestinationRow { id, url, events }, active))
            })
            .collect()
    }

    /// Makes the active destinations exactly `destinations`, in one
    /// transaction: new ones added, changed ones updated, others
    /// deactivated with their pending deliveries kept.
    pub async fn set_destinations(
        &self,
        destinations: &[DestinationRow],
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut rows = Vec::with_capacity(destinations.len());
        for destination in destinations {
            let events = serde_json::to_string(&destination.events)
                .map_err(|e| StoreError::Corrupt(format!("a destination's events: {e}")))?;
            let sealed = self.seal(&destination.id, &Secret::new(String::new()))?;
            rows.push((destination, events, sealed));
        }
        let _turn = self.turn().await;
        on!(self.pool(), |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin()).await?;
            let existing: Vec<String> = sqlx::query_scalar(DESTINATION_IDS)
                .fetch_all(&mut *tx)
                .await?;
            for id in existing
                .iter()
                .filter(|id| destinations.iter().all(|d| d.id != **id))
            {
                sqlx::query(DEACTIVATE_DESTINATION)
                    .bind(id)
                    .bind(millis(now))
                    .execute(&mut *tx)
                    .await?;
            }
            for (destination, events, sealed) in &rows {
                sqlx::query(UPSERT_DESTINATION)
                    .bind(&destination.id)
                    .bind(&destination.url)
                    .bind(format!("{}:{}", Recipient::DESTINATION, destination.id))
                    .bind(events)
                    .bind(sealed.expose())
                    .bind(millis(now))
                    .bind(destination.id.trim_start_matches("dst_"))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

/// An authentic delivery that is not a well-formed event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MalformedEvent {
    /// Its key: its id, or `sha256:` and the hex SHA-256 of its body.
    pub key: String,
    /// Its `type`, as far as it says one.
    pub event_type: String,
    /// Why it is malformed.
    pub reason: String,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// The body, as received.
    pub body: Vec<u8>,
}

const INSERT_MALFORMED: &str = "INSERT INTO hub_events \
    (event_id, event_type, body, received_sha256, published_at, occurred_at, malformed) \
    VALUES ($1, $2, $3, $4, $5, $5, $6) ON CONFLICT (event_id) DO NOTHING RETURNING seq";
const LIST_MALFORMED: &str = "SELECT event_id, event_type, malformed, published_at, body \
    FROM hub_events WHERE malformed IS NOT NULL ORDER BY seq DESC LIMIT $1";

/// A row of [`LIST_MALFORMED`].
type MalformedColumns = (String, String, Option<String>, i64, Vec<u8>);

impl Store {
    /// Keeps `body` (received now, keyed by `key`) as a malformed event
    /// sent nowhere: whether it is new (a repeat of a key changes nothing).
    pub async fn keep_malformed(
        &self,
        key: &str,
        event_type: &str,
        body: &[u8],
        reason: &str,
    ) -> Result<bool, StoreError> {
        let digest = hex::encode(sha2::Sha256::digest(body));
        let now = millis(Utc::now());
        let _turn = self.turn().await;
        let inserted: Option<i64> = on!(self.pool(), |pool| {
            sqlx::query_scalar(INSERT_MALFORMED)
                .bind(key)
                .bind(event_type)
                .bind(body)
                .bind(digest)
                .bind(now)
                .bind(reason)
                .fetch_optional(pool)
                .await?
        });
        Ok(inserted.is_some())
    }

    /// The malformed events kept, newest first, at most `limit`.
    pub async fn malformed_events(&self, limit: u32) -> Result<Vec<MalformedEvent>, StoreError> {
        let rows: Vec<MalformedColumns> = on!(self.pool(), |pool| {
            sqlx::query_as(LIST_MALFORMED)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(key, event_type, reason, at, body)| {
                Ok(MalformedEvent {
                    key,
                    event_type,
                    reason: reason.unwrap_or_default(),
                    received_at: from_millis(at)?,
                    body,
                })
            })
            .collect()
    }
}

const CURSOR: &str = "SELECT value FROM hub_cursors WHERE name = $1";
const SET_CURSOR: &str = "INSERT INTO hub_cursors (name, value) VALUES ($1, $2) \
    ON CONFLICT (name) DO UPDATE SET value = excluded.value";

impl Store {
    /// The value stored under `name` by [`Store::set_cursor`], if any.
    pub async fn cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(on!(self.pool(), |pool| {
            sqlx::query_scalar(CURSOR)
                .bind(name)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Stores `value` under `name`: where a backfill from Gladly's Events
    /// API into this store stopped.
    pub async fn set_cursor(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let _turn = self.turn().await;
        on!(self.pool(), |pool| {
            sqlx::query(SET_CURSOR)
                .bind(name)
                .bind(value)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

/// This file's statements, for the test that prepares them all.
#[cfg(test)]
pub(super) fn statements(_: super::backend::Dialect) -> Vec<String> {
    [
        LIST_DESTINATIONS,
        DESTINATION_IDS,
        UPSERT_DESTINATION,
        DEACTIVATE_DESTINATION,
        INSERT_MALFORMED,
        LIST_MALFORMED,
        CURSOR,
        SET_CURSOR,
    ]
    .map(String::from)
    .to_vec()
}
