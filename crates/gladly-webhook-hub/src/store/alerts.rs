//! Operational events and the operator's endpoints: an operational event is
//! a `hub_events` row marked `operational` (the Events API and publications
//! never see it) with one delivery per active operator endpoint, a
//! `hub_webhooks` row of model `operator` (the subscription APIs never see
//! those), delivered by the same dispatcher as Standard Webhooks.

use chrono::{DateTime, Utc};
use gladly_webhook_core::Secret;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::backend::{Conn, on};
use super::webhooks::{CANCELLED_DELETED, cancel_pending};
use super::{Recipient, Store, StoreError, millis, url_key};

/// An operational event, ready to be stored and delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Alert {
    /// Its id (`msg_...`), the deliveries' `webhook-id`.
    pub id: String,
    /// Its type (`subscription.deactivated`, ...).
    pub alert_type: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The body delivered: `{"type", "timestamp", "data"}`.
    pub body: Vec<u8>,
}

impl Alert {
    /// An alert of `alert_type` about `data`, now, with a fresh id.
    pub fn new(alert_type: &str, data: Value) -> Result<Self, StoreError> {
        let at = Utc::now();
        let body = serde_json::json!({
            "type": alert_type,
            "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": data,
        });
        Ok(Self {
            id: format!("msg_{}", crate::ids::event_id()?.trim_start_matches("evt_")),
            alert_type: alert_type.to_string(),
            at,
            body: serde_json::to_vec(&body).unwrap_or_default(),
        })
    }
}

const INSERT_ALERT: &str = "INSERT INTO hub_events \
    (event_id, event_type, body, received_sha256, published_at, occurred_at, operational) \
    VALUES ($1, $2, $3, $4, $5, $5, TRUE) RETURNING seq";
const OPERATOR_ENDPOINTS: &str =
    "SELECT id FROM hub_webhooks WHERE model = 'operator' AND active ORDER BY id";
const INSERT_DELIVERY: &str = "INSERT INTO hub_deliveries \
    (id, webhook_id, event_seq, state, attempts, next_attempt_at, created_at) \
    VALUES ($1, $2, $3, 'pending', 0, $4, $4)";
const LIST: &str = "SELECT event_id, body FROM hub_events \
    WHERE operational = TRUE ORDER BY seq DESC LIMIT $1";

/// Stores `alerts` in the transaction `conn` is in, each with a delivery
/// to every active operator endpoint.
pub(super) async fn record(mut conn: Conn<'_>, alerts: &[Alert]) -> Result<(), StoreError> {
    if alerts.is_empty() {
        return Ok(());
    }
    let endpoints: Vec<String> = on!(conn.reborrow(), |conn| {
        sqlx::query_scalar(OPERATOR_ENDPOINTS)
            .fetch_all(conn)
            .await?
    });
    for alert in alerts {
        let digest = hex::encode(Sha256::digest(&alert.body));
        let seq: i64 = on!(conn.reborrow(), |conn| {
            sqlx::query_scalar(INSERT_ALERT)
                .bind(&alert.id)
                .bind(&alert.alert_type)
                .bind(&alert.body)
                .bind(digest)
                .bind(millis(alert.at))
                .fetch_one(conn)
                .await?
        });
        for endpoint in &endpoints {
            let id = crate::ids::delivery_id()?;
            on!(conn.reborrow(), |conn| {
                sqlx::query(INSERT_DELIVERY)
                    .bind(id)
                    .bind(endpoint)
                    .bind(seq)
                    .bind(millis(alert.at))
                    .execute(conn)
                    .await?;
            });
        }
    }
    Ok(())
}

/// The operator's endpoints as they stand.
const ENDPOINT_IDS: &str = "SELECT id FROM hub_webhooks WHERE model = 'operator'";
const DELETE_ENDPOINT: &str = "DELETE FROM hub_webhooks WHERE id = $1 AND model = 'operator'";
/// An endpoint, kept or changed: its URL, secret and activity (a changed
/// secret moves `modified_at`, so no attempt signed with the old one goes
/// out after).
const UPSERT_ENDPOINT: &str = "INSERT INTO hub_webhooks \
    (id, url, url_key, events, secret, active, created_at, modified_at, model, name, header_keys) \
    VALUES ($1, $2, $3, '[]', $4, TRUE, $5, $5, 'operator', NULL, '[]') \
    ON CONFLICT (id) DO UPDATE SET url = excluded.url, secret = excluded.secret, active = TRUE, \
    modified_at = excluded.modified_at";
const MARK_BACKLOG: &str = "UPDATE hub_webhooks SET backlog_alerted_at = $2 \
    WHERE id = $1 AND backlog_alerted_at IS NULL";
const CLEAR_BACKLOG: &str = "UPDATE hub_webhooks SET backlog_alerted_at = NULL \
    WHERE id = $1 AND backlog_alerted_at IS NOT NULL";

/// The id of the operator endpoint at `url`.
fn endpoint_id(url: &str) -> String {
    let digest = hex::encode(Sha256::digest(url.as_bytes()));
    format!("op_{}", &digest[..20])
}

impl Store {
    /// Stores `alerts`, each with a delivery to every active operator
    /// endpoint (none: they are only listed).
    pub async fn record_alerts(&self, alerts: &[Alert]) -> Result<(), StoreError> {
        let _turn = self.turn().await;
        on!(self.pool(), |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin()).await?;
            record(Conn::from(&mut *tx), alerts).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The operational events, newest first, at most `limit`: each body
    /// (`{"type", "timestamp", "data"}`) with its `id`.
    pub async fn operational_events(&self, limit: u32) -> Result<Vec<Value>, StoreError> {
        let rows: Vec<(String, Vec<u8>)> = on!(self.pool(), |pool| {
            sqlx::query_as(LIST)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(id, body)| {
                let mut event: serde_json::Map<String, Value> = serde_json::from_slice(&body)
                    .map_err(|e| StoreError::Corrupt(format!("an operational event: {e}")))?;
                event.insert("id".to_string(), Value::String(id));
                Ok(Value::Object(event))
            })
            .collect()
    }

    /// Makes the operator's endpoints exactly `endpoints` (URL and
    /// Standard Webhooks secret each): new ones added, changed ones
    /// updated, others deleted with their pending deliveries cancelled.
    pub async fn set_operator_endpoints(
        &self,
        endpoints: &[(String, Secret)],
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut wanted = Vec::new();
        for (url, secret) in endpoints {
            let id = endpoint_id(url);
            if wanted
                .iter()
                .all(|(known, ..): &(String, _, _)| *known != id)
            {
                let sealed = self.seal(&id, secret)?;
                wanted.push((id, url.clone(), sealed));
            }
        }
        let _turn = self.turn().await;
        on!(self.pool(), |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin()).await?;
            let existing: Vec<String> =
                sqlx::query_scalar(ENDPOINT_IDS).fetch_all(&mut *tx).await?;
            for id in existing
                .iter()
                .filter(|id| wanted.iter().all(|(w, ..)| w != *id))
            {
                cancel_pending(Conn::from(&mut *tx), id, now, CANCELLED_DELETED).await?;
                sqlx::query(DELETE_ENDPOINT)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            for (id, url, sealed) in &wanted {
                sqlx::query(UPSERT_ENDPOINT)
                    .bind(id)
                    .bind(url)
                    .bind(format!("{}:{}", Recipient::OPERATOR, url_key(url)))
                    .bind(sealed.expose())
                    .bind(millis(now))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Marks subscription `webhook_id`'s backlog as over its threshold:
    /// whether it was not already (so one hub alerts once per crossing).
    pub async fn mark_backlog_alerted(
        &self,
        webhook_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _turn = self.turn().await;
        let marked = on!(self.pool(), |pool| {
            sqlx::query(MARK_BACKLOG)
                .bind(webhook_id)
                .bind(millis(now))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(marked == 1)
    }

    /// Clears the mark of [`Store::mark_backlog_alerted`]: the backlog is
    /// back under its threshold.
    pub async fn clear_backlog_alert(&self, webhook_id: &str) -> Result<(), StoreError> {
        let _turn = self.turn().await;
        on!(self.pool(), |pool| {
            sqlx::query(CLEAR_BACKLOG)
                .bind(webhook_id)
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
        INSERT_ALERT,
        OPERATOR_ENDPOINTS,
        INSERT_DELIVERY,
        LIST,
        ENDPOINT_IDS,
        DELETE_ENDPOINT,
        UPSERT_ENDPOINT,
        MARK_BACKLOG,
        CLEAR_BACKLOG,
    ]
    .map(String::from)
    .to_vec()
}
