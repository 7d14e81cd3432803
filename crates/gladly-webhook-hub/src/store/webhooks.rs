//! The subscriptions (`hub_webhooks`): create, read, change, delete, and
//! seal their secrets.

use chrono::{DateTime, Utc};
use gladly_webhook_core::Secret;
use gladly_webhook_core::model::Model;

use super::backend::{Conn, PerBackend, is_unique_violation, on};
use super::{
    Store, StoreError, StoredWebhook, WebhookChange, WriteError, from_millis, millis,
    optional_time, url_key,
};

/// `SELECT` of a subscription's columns, in the order of [`Columns`],
/// followed by `$rest`.
macro_rules! select_webhooks {
    ($($rest:literal)*) => {
        concat!(
            "SELECT id, model, name, url, events, secret, header_keys, active, created_at, \
             modified_at, disabled_at_retry_limit, rate_limit, paused_until FROM hub_webhooks ",
            $($rest),*
        )
    };
}

/// A subscription's row, in the order [`select_webhooks!`] reads it.
type Columns = (
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    bool,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// The subscription a row holds (its secret as stored).
fn webhook(columns: Columns) -> Result<StoredWebhook, StoreError> {
    let (
        id,
        model,
        name,
        url,
        events,
        secret,
        header_keys,
        active,
        created,
        modified,
        disabled,
        rate_limit,
        paused_until,
    ) = columns;
    let corrupt = |what: &str, e: serde_json::Error| {
        StoreError::Corrupt(format!("{what} of a subscription: {e}"))
    };
    Ok(StoredWebhook {
        model: Model::from_name(&model)
            .ok_or_else(|| StoreError::Corrupt(format!("a subscription's model {model:?}")))?,
        id,
        name,
        url,
        events: serde_json::from_str(&events).map_err(|e| corrupt("events", e))?,
        secret: Secret::new(secret),
        header_keys: serde_json::from_str(&header_keys).map_err(|e| corrupt("header keys", e))?,
        active,
        created_at: from_millis(created)?,
        modified_at: from_millis(modified)?,
        disabled_at_retry_limit: optional_time(disabled)?,
        rate_limit: rate_limit.and_then(|r| u32::try_from(r).ok()),
        paused_until: optional_time(paused_until)?,
    })
}

/// A list of names as the `events` and `header_keys` columns hold it.
fn strings_json(strings: &[String]) -> String {
    serde_json::to_string(strings).unwrap_or_else(|_| "[]".to_string())
}

// The operator's endpoints (model `operator`, see `alerts`) and a relay's
// destinations (model `destination`, see `destinations`) are rows of
// `hub_webhooks` too, which no subscription read, count or model check
// sees.
const LIST: &str =
    select_webhooks!("WHERE model NOT IN ('operator', 'destination') ORDER BY created_at, id");
const GET: &str = select_webhooks!("WHERE id = $1 AND model NOT IN ('operator', 'destination')");
const FIND_BY_URL_KEY: &str = "SELECT id FROM hub_webhooks WHERE url_key = $1";
const COUNT: &str =
    "SELECT COUNT(*) FROM hub_webhooks WHERE model NOT IN ('operator', 'destination')";
const MODELS: &str = "SELECT DISTINCT model FROM hub_webhooks \
    WHERE model NOT IN ('operator', 'destination') ORDER BY model";

impl Store {
    /// Every subscription, oldest first, secrets as stored.
    async fn stored_webhooks(&self) -> Result<Vec<StoredWebhook>, StoreError> {
        let rows: Vec<Columns> = on!(self.pool(), |pool| {
            sqlx::query_as(LIST).fetch_all(pool).await?
        });
        rows.into_iter().map(webhook).collect()
    }

    /// `webhook` with its secret opened.
    fn opened(&self, mut webhook: StoredWebhook) -> Result<StoredWebhook, StoreError> {
        webhook.secret = self.open_secret(&webhook.id, &webhook.secret)?;
        Ok(webhook)
    }

    /// Every subscription, oldest first.
    pub async fn list_webhooks(&self) -> Result<Vec<StoredWebhook>, StoreError> {
        let stored = self.stored_webhooks().await?;
        stored.into_iter().map(|w| self.opened(w)).collect()
    }

    /// The subscription with this id.
    pub async fn get_webhook(&self, id: &str) -> Result<Option<StoredWebhook>, StoreError> {
        let row: Option<Columns> = on!(self.pool(), |pool| {
            sqlx::query_as(GET).bind(id).fetch_optional(pool).await?
        });
        row.map(|r| self.opened(webhook(r)?)).transpose()
    }

    /// The id of the subscription whose URL is `url`, compared as the
    /// uniqueness rule compares them (see [`url_key`]), if any.
    pub async fn find_by_url(&self, url: &str) -> Result<Option<String>, StoreError> {
        let key = url_key(url);
        Ok(on!(self.pool(), |pool| {
            sqlx::query_scalar(FIND_BY_URL_KEY)
                .bind(&key)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// How many subscriptions there are.
    pub async fn count_webhooks(&self) -> Result<usize, StoreError> {
        let n: i64 = on!(self.pool(), |pool| {
            sqlx::query_scalar(COUNT).fetch_one(pool).await?
        });
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The models of the stored subscriptions (their names), so a hub can
    /// refuse a store holding another model's.
    pub async fn models(&self) -> Result<Vec<String>, StoreError> {
        Ok(on!(self.pool(), |pool| {
            sqlx::query_scalar(MODELS).fetch_all(pool).await?
        }))
    }

    /// What a failed write of a subscription means: the URL taken meanwhile
    /// by another writer (its id), or the failure itself.
    async fn url_write_error(&self, url_key: &str, err: sqlx::Error) -> WriteError {
        if !is_unique_violation(&err) {
            return err.into();
        }
        let existing = on!(self.pool(), |pool| {
            sqlx::query_scalar(FIND_BY_URL_KEY)
                .bind(url_key)
                .fetch_optional(pool)
                .await
        });
        match existing {
            Ok(existing) => WriteError::DuplicateUrl {
                existing: existing.unwrap_or_default(),
            },
            Err(err) => err.into(),
        }
    }
}

/// On PostgreSQL, creations wait for each other here, so two of them cannot
/// both count 19 subscriptions and both insert (SQLite's one writer
/// already serializes them).
const LOCK_FOR_CREATE: PerBackend = PerBackend {
    sqlite: "SELECT 1",
    postgres: "LOCK TABLE hub_webhooks IN SHARE ROW EXCLUSIVE MODE",
};
const INSERT: &str = "INSERT INTO hub_webhooks \
    (id, url, url_key, events, secret, active, created_at, modified_at, model, name, header_keys) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

impl Store {
    /// Stores a new subscription, unless there are `max` already or its
    /// URL is taken (both checked in the same transaction as the insert).
    pub async fn create_webhook(
        &self,
        webhook: &StoredWebhook,
        max: usize,
    ) -> Result<(), WriteError> {
        let key = url_key(&webhook.url);
        let w = webhook;
        let secret = self.seal(&w.id, &w.secret)?;
        let _turn = self.turn().await;
        let inserted = on!(self.pool(), |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin()).await?;
            sqlx::query(dialect.pick(&LOCK_FOR_CREATE))
                .execute(&mut *tx)
                .await?;
            let n: i64 = sqlx::query_scalar(COUNT).fetch_one(&mut *tx).await?;
            if usize::try_from(n).unwrap_or(usize::MAX) >= max {
                return Err(WriteError::TooMany { max });
            }
            let taken: Option<String> = sqlx::query_scalar(FIND_BY_URL_KEY)
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(existing) = taken {
                return Err(WriteError::DuplicateUrl { existing });
            }
            let inserted = sqlx::query(INSERT)
                .bind(&w.id)
                .bind(&w.url)
                .bind(&key)
                .bind(strings_json(&w.events))
                .bind(secret.expose())
                .bind(w.active)
                .bind(millis(w.created_at))
                .bind(millis(w.modified_at))
                .bind(w.model.name())
                .bind(w.name.as_deref())
                .bind(strings_json(&w.header_keys))
                .execute(&mut *tx)
                .await;
            match inserted {
                Ok(_) => Ok(tx.commit().await?),
                Err(err) => Err(err),
            }
        });
        // The transaction has ended (rolled back) when the write failed.
        match inserted {
            Ok(()) => Ok(()),
            Err(err) => Err(self.url_write_error(&key, err).await),
        }
    }
}

/// The subscription to change, locked against other changes until the
/// transaction ends (SQLite's one writer already is that lock).
const GET_FOR_UPDATE: PerBackend = PerBackend {
    sqlite: select_webhooks!("WHERE id = $1"),
    postgres: select_webhooks!("WHERE id = $1 FOR UPDATE"),
};
/// Enabling a subscription clears `disabled_at_retry_limit`.
const UPDATE: &str = "UPDATE hub_webhooks SET url = $2, url_key = $3, events = $4, \
    active = $5, secret = COALESCE($6, secret), modified_at = $7, name = $8, \
    header_keys = COALESCE($9, header_keys), \
    disabled_at_retry_limit = CASE WHEN $5 THEN NULL ELSE disabled_at_retry_limit END WHERE id = $1";
const DELETE: &str = "DELETE FROM hub_webhooks WHERE id = $1";
/// Cancels a subscription's pending deliveries.
pub(super) const CANCEL_PENDING: &str = "UPDATE hub_deliveries \
    SET state = 'cancelled', finished_at = $2, reason = $3 \
    WHERE webhook_id = $1 AND state = 'pending'";

/// Why pending deliveries were cancelled.
pub(crate) const CANCELLED_DELETED: &str = "subscription deleted";
/// Why pending deliveries were cancelled.
pub(crate) const CANCELLED_DEACTIVATED: &str = "subscription deactivated";

impl Store {
    /// Applies `change` to the subscription `id`, if it was last modified
    /// at `expected` (else [`WriteError::Conflict`]). Deactivating cancels
    /// its pending deliveries.
    pub async fn update_webhook(
        &self,
        id: &str,
        expected: DateTime<Utc>,
        change: &WebhookChange,
    ) -> Result<StoredWebhook, WriteError> {
        let key = url_key(&change.url);
        let secret = match &change.secret {
            Some(secret) => Some(self.seal(id, secret)?),
            None => None,
        };
        let _turn = self.turn().await;
        let updated: Result<Columns, WriteError> = on!(self.pool(), |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin()).await?;
            let row: Option<Columns> = sqlx::query_as(dialect.pick(&GET_FOR_UPDATE))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let current = webhook(row.ok_or(WriteError::NotFound)?)?;
            if current.modified_at != expected {
                return Err(WriteError::Conflict);
            }
            let other: Option<String> = sqlx::query_scalar(FIND_BY_URL_KEY)
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(other) = other.filter(|other| other != id) {
                return Err(WriteError::DuplicateUrl { existing: other });
            }
            let written = sqlx::query(UPDATE)
                .bind(id)
                .bind(&change.url)
                .bind(&key)
                .bind(strings_json(&change.events))
                .bind(change.active)
                .bind(secret.as_ref().map(|s| s.expose().to_string()))
                .bind(millis(change.modified_at))
                .bind(change.name.as_deref())
                .bind(change.header_keys.as_deref().map(strings_json))
                .execute(&mut *tx)
                .await;
            if let Err(err) = written {
                drop(tx);
                return Err(self.url_write_error(&key, err).await);
            }
            if current.active && !change.active {
                cancel_pending(
                    Conn::from(&mut *tx),
                    id,
                    change.modified_at,
                    CANCELLED_DEACTIVATED,
                )
                .await?;
            }
            let row: Columns = sqlx::query_as(GET).bind(id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(row)
        });
        Ok(self.opened(webhook(updated?)?)?)
    }

    /// Deletes the subscription `id` and cancels its pending deliveries;
    /// `false` when there was none.
    pub async fn delete_webhook(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let _turn = self.turn().await;
        on!(self.pool(), |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin()).await?;
            let deleted = sqlx::query(DELETE).bind(id).execute(&mut *tx).await?;
            if deleted.rows_affected() == 0 {
                return Ok(false);
            }
            cancel_pending(Conn::from(&mut *tx), id, now, CANCELLED_DELETED).await?;
            tx.commit().await?;
        });
        Ok(true)
    }
}

/// Cancels the pending deliveries of subscription `id` at `now`, for
/// `reason`, in the transaction `conn` is in.
pub(super) async fn cancel_pending(
    conn: Conn<'_>,
    id: &str,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    on!(conn, |conn| {
        sqlx::query(CANCEL_PENDING)
            .bind(id)
            .bind(millis(now))
            .bind(reason)
            .execute(conn)
            .await?;
    });
    Ok(())
}

/// Replaces a secret, if it is still the one read.
const SET_SECRET: &str = "UPDATE hub_webhooks SET secret = $3 WHERE id = $1 AND secret = $2";

impl Store {
    /// Seals, under the current key, every stored secret that is plain or
    /// sealed under another key: how many. Nothing without keys.
    pub async fn seal_secrets(&self) -> Result<usize, StoreError> {
        let Some(keys) = &self.keys else {
            return Ok(0);
        };
        let mut sealed = 0;
        for webhook in self.stored_webhooks().await? {
            let stored = webhook.secret.expose();
            if !keys.needs_sealing(stored) {
                continue;
            }
            let new = keys.seal(&webhook.id, &keys.open(&webhook.id, stored)?)?;
            let _turn = self.turn().await;
            let replaced = on!(self.pool(), |pool| {
                sqlx::query(SET_SECRET)
                    .bind(&webhook.id)
                    .bind(stored)
                    .bind(&new)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            if replaced == 1 {
                sealed += 1;
            }
        }
        // The plain secrets' old pages sit in the SQLite WAL until a
        // checkpoint; move them out now (secure_delete zeroes freed pages).
        #[cfg(feature = "sqlite")]
        if let (super::backend::Db::Sqlite(pool), true) = (self.pool(), sealed > 0) {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await?;
        }
        Ok(sealed)
    }
}

/// This file's statements, for the test that prepares them all.
#[cfg(test)]
pub(super) fn statements(dialect: super::backend::Dialect) -> Vec<String> {
    [
        LIST,
        GET,
        FIND_BY_URL_KEY,
        COUNT,
        MODELS,
        dialect.pick(&LOCK_FOR_CREATE),
        INSERT,
        dialect.pick(&GET_FOR_UPDATE),
        UPDATE,
        DELETE,
        CANCEL_PENDING,
        SET_SECRET,
    ]
    .map(String::from)
    .to_vec()
}
