//! The store's SQL, which both backends run (sqlx binds `$N` parameters
//! on SQLite as on PostgreSQL), and [`hub_ops!`], which writes the code
//! that runs it once per backend, on that backend's concrete types.

use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// Which database a migrator is for.
pub(crate) enum Backend {
    #[cfg(feature = "sqlite")]
    Sqlite,
    #[cfg(feature = "postgres")]
    Postgres,
}

/// The hub's migrations for `backend`, recorded in their own table so the
/// hub can share a database with a receiver's inbox.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    let sql: [&'static str; 5] = match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => [
            include_str!("../../migrations/sqlite/0001_hub.sql"),
            include_str!("../../migrations/sqlite/0002_due_by_webhook.sql"),
            include_str!("../../migrations/sqlite/0003_rest_api_webhooks.sql"),
            include_str!("../../migrations/sqlite/0004_queue_plans.sql"),
            include_str!("../../migrations/sqlite/0005_event_timestamps.sql"),
        ],
        #[cfg(feature = "postgres")]
        Backend::Postgres => [
            include_str!("../../migrations/postgres/0001_hub.sql"),
            include_str!("../../migrations/postgres/0002_due_by_webhook.sql"),
            include_str!("../../migrations/postgres/0003_rest_api_webhooks.sql"),
            include_str!("../../migrations/postgres/0004_queue_plans.sql"),
            include_str!("../../migrations/postgres/0005_event_timestamps.sql"),
        ],
    };
    let names = [
        "hub",
        "due by webhook",
        "rest api webhooks",
        "queue plans",
        "event timestamps",
    ];
    let mut migrator = Migrator::with_migrations(
        sql.into_iter()
            .zip(names)
            .zip(1..)
            .map(|((sql, name), version)| {
                Migration::new(
                    version,
                    name.into(),
                    MigrationType::Simple,
                    SqlStr::from_static(sql),
                    false,
                )
            })
            .collect(),
    );
    migrator.dangerous_set_table_name("_gladly_hub_migrations");
    migrator
}

macro_rules! webhook_select {
    ($($rest:literal)*) => {
        concat!("SELECT id, model, name, url, events, secret, header_keys, active, created_at, \
            modified_at, disabled_at_retry_limit FROM hub_webhooks ", $($rest),*)
    };
}

const LIST_WEBHOOKS: &str = webhook_select!("ORDER BY created_at, id");
const GET_WEBHOOK: &str = webhook_select!("WHERE id = $1");
const FIND_BY_URL_KEY: &str = "SELECT id FROM hub_webhooks WHERE url_key = $1";
const COUNT_WEBHOOKS: &str = "SELECT COUNT(*) AS n FROM hub_webhooks";
const INSERT_WEBHOOK: &str = "INSERT INTO hub_webhooks \
    (id, url, url_key, events, secret, active, created_at, modified_at, model, name, header_keys) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
/// Enabling a subscription clears `disabled_at_retry_limit`.
const UPDATE_WEBHOOK: &str = "UPDATE hub_webhooks SET url = $2, url_key = $3, events = $4, \
    active = $5, secret = COALESCE($6, secret), modified_at = $7, name = $8, \
    header_keys = COALESCE($9, header_keys), \
    disabled_at_retry_limit = CASE WHEN $5 THEN NULL ELSE disabled_at_retry_limit END WHERE id = $1";
/// The models of the stored subscriptions.
const MODELS: &str = "SELECT DISTINCT model FROM hub_webhooks ORDER BY model";
/// Published events (their bodies, for the Events API): the head of a
/// query that adds the time window, the position, the entities, the
/// publish order and a limit.
/// The Events API's page: events by their `timestamp` (`occurred_at`),
/// after a cursor of (`occurred_at`, `seq`), along `hub_events_occurred`.
const EVENTS_BETWEEN: &str = "SELECT seq, occurred_at, CAST(LENGTH(body) AS BIGINT) AS size FROM hub_events WHERE occurred_at >= ";
/// The bodies of a page the sizes of [`EVENTS_BETWEEN`] chose.
const EVENT_BODIES: &str = "SELECT seq, body FROM hub_events WHERE seq IN ";
const DELETE_WEBHOOK: &str = "DELETE FROM hub_webhooks WHERE id = $1";
const CANCEL_PENDING: &str = "UPDATE hub_deliveries SET state = 'cancelled', finished_at = $2, reason = $3 \
    WHERE webhook_id = $1 AND state = 'pending'";

const FIND_EVENT: &str =
    "SELECT seq, received_sha256, published_at FROM hub_events WHERE event_id = $1";
/// The events of a batch of publications, in one statement (`ON
/// CONFLICT`: an id published before is answered as such after).
const INSERT_EVENTS_HEAD: &str = "INSERT INTO hub_events (event_id, event_type, body, received_sha256, published_at, occurred_at) ";
const INSERT_EVENTS_TAIL: &str = " ON CONFLICT (event_id) DO NOTHING RETURNING seq, event_id";
/// Rows of deliveries in one `INSERT` (7 parameters each, far under
/// SQLite's 32,766 and PostgreSQL's 65,535).
const DELIVERY_ROWS: usize = 1000;
const INSERT_DELIVERIES: &str = "INSERT INTO hub_deliveries \
    (id, webhook_id, event_seq, state, attempts, next_attempt_at, created_at) ";
const EVENT_DELIVERIES: &str = "SELECT d.id, d.webhook_id, d.state, COALESCE(w.url, '') AS url \
    FROM hub_deliveries d LEFT JOIN hub_webhooks w ON w.id = d.webhook_id \
    WHERE d.event_seq = $1 ORDER BY d.id";

const DELIVERIES: &str = "SELECT d.id, d.webhook_id, e.event_id, e.event_type, d.state, d.created_at, \
    d.next_attempt_at, d.finished_at, d.reason \
    FROM hub_deliveries d JOIN hub_events e ON e.seq = d.event_seq \
    WHERE d.webhook_id = $1 ORDER BY d.event_seq DESC LIMIT $2";
const DELIVERY_ATTEMPTS: &str = "SELECT a.delivery_id, a.number, a.at, a.status, a.error, a.duration_ms \
    FROM hub_attempts a JOIN (SELECT id FROM hub_deliveries WHERE webhook_id = $1 \
        ORDER BY event_seq DESC LIMIT $2) AS d ON d.id = a.delivery_id \
    ORDER BY a.delivery_id, a.number";
const DEACTIVATIONS: &str = "SELECT webhook_id, url, at, delivery_id, event_id, reason \
    FROM hub_deactivations ORDER BY seq DESC LIMIT $1";

/// Leases subscriptions whose oldest pending delivery is due (strict
/// publish order: a delivery waiting for its retry holds the rest), the
/// longest waiting first, so a subscription that always has work cannot
/// keep the others from their turn.
const CLAIM_WEBHOOKS_HEAD_DUE: &str = "UPDATE hub_webhooks SET lease_until = $2, lease_token = $3 \
    WHERE id IN (SELECT w.id FROM hub_webhooks w \
        WHERE w.active AND (w.lease_until IS NULL OR w.lease_until < $1) \
        AND (SELECT d.next_attempt_at FROM hub_deliveries d \
             WHERE d.webhook_id = w.id AND d.state = 'pending' ORDER BY d.event_seq LIMIT 1) <= $1 \
        ORDER BY (SELECT d.next_attempt_at FROM hub_deliveries d \
             WHERE d.webhook_id = w.id AND d.state = 'pending' ORDER BY d.event_seq LIMIT 1), w.created_at \
        LIMIT $4) \
    AND active AND (lease_until IS NULL OR lease_until < $1) \
    RETURNING id";
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
const CLAIM_WEBHOOKS_ANY_DUE: &str = "UPDATE hub_webhooks SET lease_until = $2, lease_token = $3 \
    WHERE id IN (SELECT c.id FROM (SELECT w.id, w.created_at, \
            (SELECT MIN(d.next_attempt_at) FROM hub_deliveries d \
             WHERE d.webhook_id = w.id AND d.state = 'pending') AS due \
            FROM hub_webhooks w WHERE w.active AND (w.lease_until IS NULL OR w.lease_until < $1) \
        ) AS c WHERE c.due <= $1 ORDER BY c.due, c.created_at LIMIT $4) \
    AND active AND (lease_until IS NULL OR lease_until < $1) \
    RETURNING id";
/// The next pending deliveries of a leased subscription, in publish order:
/// at most `$3` of them, and no more bodies than fit in `$4` bytes (the
/// first always comes), so what a dispatcher holds in memory is bounded
/// whatever the events' sizes.
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
        concat!("SELECT id, webhook_id, event_seq, event_id, event_type, attempts, next_attempt_at, \
    published_at, body, url, secret, model, webhook_modified_at FROM ( \
      SELECT head.*, SUM(size) OVER (ORDER BY event_seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS bytes_before \
      FROM ( \
        SELECT d.id, d.webhook_id, d.event_seq, e.event_id, e.event_type, d.attempts, d.next_attempt_at, \
          e.published_at, e.body, LENGTH(e.body) AS size, w.url, w.secret, w.model, w.modified_at AS webhook_modified_at \
        FROM ( \
          SELECT p.id, p.webhook_id, p.event_seq, p.attempts, p.next_attempt_at FROM hub_deliveries p \
          WHERE p.webhook_id = $1 AND p.state = 'pending' AND p.event_seq > $5 ", $($due,)? " \
          ORDER BY p.event_seq LIMIT $3 \
        ) AS d JOIN hub_events e ON e.seq = d.event_seq \
        JOIN hub_webhooks w ON w.id = d.webhook_id \
        WHERE w.lease_token = $2 AND w.active \
      ) AS head \
    ) AS sized WHERE COALESCE(bytes_before, 0) < $4 ORDER BY event_seq")
    };
}
/// The next pending deliveries of a leased subscription after position
/// `$5`, in publish order: at most `$3` of them, and no more bodies than
/// fit in `$4` bytes (the first always comes), so what a dispatcher holds
/// in memory is bounded whatever the events' sizes.
const NEXT_DELIVERY: &str = next_deliveries!();
/// The same, only those due at `$6`.
const NEXT_DUE_DELIVERY: &str = next_deliveries!("AND p.next_attempt_at <= $6");
/// Every subscription with its pending deliveries (the partial index
/// `hub_deliveries_webhook_due` per subscription, at most `MAX_WEBHOOKS`
/// of them).
const BACKLOG: &str = "SELECT w.id, w.active, \
    (SELECT COUNT(*) FROM hub_deliveries d WHERE d.webhook_id = w.id AND d.state = 'pending') AS pending, \
    (SELECT MIN(d.next_attempt_at) FROM hub_deliveries d WHERE d.webhook_id = w.id AND d.state = 'pending') AS oldest_due \
    FROM hub_webhooks w ORDER BY w.id";
/// A subscription's pending deliveries waiting for a retry, due at `$2`.
const MAKE_DUE_NOW: &str = "UPDATE hub_deliveries SET next_attempt_at = $2 \
    WHERE webhook_id = $1 AND state = 'pending' AND next_attempt_at > $2";
const DROP_BODY: &str = "UPDATE hub_events SET body = $2 WHERE seq = $1";
/// The most bytes of event bodies one batch of deliveries holds (one event
/// always, whatever its size).
pub(crate) const BATCH_BYTES: usize = 2 << 20;
const SET_SECRET: &str = "UPDATE hub_webhooks SET secret = $3 WHERE id = $1 AND secret = $2";
const STILL_CURRENT: &str =
    "SELECT 1 FROM hub_webhooks WHERE id = $1 AND active AND modified_at = $2";
const EXTEND_LEASE: &str =
    "UPDATE hub_webhooks SET lease_until = $3 WHERE id = $1 AND lease_token = $2";
const RELEASE_LEASE: &str = "UPDATE hub_webhooks SET lease_until = NULL, lease_token = NULL \
    WHERE id = $1 AND lease_token = $2";
const INSERT_ATTEMPT: &str = "INSERT INTO hub_attempts (delivery_id, number, at, status, error, duration_ms) \
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (delivery_id, number) DO NOTHING";
const LEASE_HELD: &str =
    "UPDATE hub_webhooks SET lease_until = $3 WHERE id = $1 AND lease_token = $2";
// The writes keyed by a delivery's id check that it is still pending as
// "not finished" (`NOT IN` the final states, which the CHECK constraint
// makes the same set): PostgreSQL cannot prove a partial index's
// `state = 'pending'` from that, so the plan is the primary key lookup
// whatever the statistics say. With `state = 'pending'`, once ANALYZE saw
// few pending rows, the planner walked the partial index of every pending
// delivery instead (0.07 ms became 3.7 ms per write).
const DELIVERED: &str = "UPDATE hub_deliveries SET state = 'delivered', attempts = $2, finished_at = $3 \
    WHERE id = $1 AND state NOT IN ('delivered', 'failed', 'cancelled')";
/// [`DELIVERED`] for many deliveries that succeeded at the same attempt:
/// [`DELIVERED_MANY_HEAD`], that attempt's number, [`DELIVERED_MANY_AT`],
/// the time, [`DELIVERED_MANY_IDS`], the ids separated by commas, and
/// [`DELIVERED_MANY_TAIL`]. A batch is written as one statement per
/// attempt number (nearly always one: most deliveries succeed at their
/// first attempt).
///
/// Only the `IN` list names the rows, so the plan is a primary key lookup
/// per id. Two earlier forms joined a `VALUES (id, attempts)` list: alone,
/// PostgreSQL hashed the list and scanned the whole table (0.7 s and more
/// a statement); beside the `IN` list, with statistics showing few pending
/// rows, it compared every row found with every row of the list, a nested
/// loop of 160,000 comparisons for 400 ids (50 ms a statement, half of
/// PostgreSQL's time in the fan-out benchmark).
const DELIVERED_MANY_HEAD: &str = "UPDATE hub_deliveries SET state = 'delivered', attempts = ";
const DELIVERED_MANY_AT: &str = ", finished_at = ";
const DELIVERED_MANY_IDS: &str =
    " WHERE state NOT IN ('delivered', 'failed', 'cancelled') AND id IN (";
const DELIVERED_MANY_TAIL: &str = ")";
/// Renews many runs' leases at once where they are still held: `VALUES
/// (webhook id, token, new end), ...`; answers the leases held.
const LEASES_HELD_HEAD: &str = "UPDATE hub_webhooks SET lease_until = v.column3 FROM (";
const LEASES_HELD_TAIL: &str = ") AS v WHERE hub_webhooks.id = v.column1 \
    AND hub_webhooks.lease_token = v.column2 RETURNING id, lease_token";
const INSERT_ATTEMPTS_HEAD: &str =
    "INSERT INTO hub_attempts (delivery_id, number, at, status, error, duration_ms) ";
const INSERT_ATTEMPTS_TAIL: &str = " ON CONFLICT (delivery_id, number) DO NOTHING";
/// The most deliveries recorded by one statement (6 parameters each, far
/// under SQLite's limit of 32,766).
const RECORD_CHUNK: usize = 500;
const RETRY: &str = "UPDATE hub_deliveries SET attempts = $2, next_attempt_at = $3 \
    WHERE id = $1 AND state NOT IN ('delivered', 'failed', 'cancelled')";
const FAILED: &str = "UPDATE hub_deliveries SET state = 'failed', attempts = $2, finished_at = $3, reason = $4 \
    WHERE id = $1 AND state NOT IN ('delivered', 'failed', 'cancelled')";
const DEACTIVATE: &str = "UPDATE hub_webhooks SET active = FALSE, disabled_at_retry_limit = $2, \
    modified_at = CASE WHEN modified_at >= $2 THEN modified_at + 1 ELSE $2 END, \
    lease_until = NULL, lease_token = NULL WHERE id = $1 RETURNING url";
const INSERT_DEACTIVATION: &str = "INSERT INTO hub_deactivations \
    (webhook_id, url, at, delivery_id, event_id, reason) VALUES ($1, $2, $3, $4, $5, $6)";
const PURGE_DELIVERIES: &str = "DELETE FROM hub_deliveries WHERE id IN \
    (SELECT id FROM hub_deliveries WHERE state <> 'pending' AND finished_at < $1 LIMIT 1000)";
const PURGE_EVENTS: &str = "DELETE FROM hub_events WHERE seq IN \
    (SELECT e.seq FROM hub_events e WHERE e.published_at < $1 \
     AND NOT EXISTS (SELECT 1 FROM hub_deliveries d WHERE d.event_seq = e.seq) LIMIT 1000)";
/// When the next delivery is due: the earliest of each active
/// subscription's earliest (one probe of `hub_deliveries_webhook_due` per
/// subscription, not a walk of every pending delivery).
const NEXT_DUE: &str = "SELECT MIN((SELECT MIN(d.next_attempt_at) FROM hub_deliveries d \
    WHERE d.webhook_id = w.id AND d.state = 'pending')) AS due FROM hub_webhooks w WHERE w.active";

/// Why pending deliveries were cancelled.
pub(crate) const CANCELLED_DELETED: &str = "subscription deleted";
/// Why pending deliveries were cancelled.
pub(crate) const CANCELLED_DEACTIVATED: &str = "subscription deactivated";

/// Writes the module `$name` running the store's operations on `$db`.
/// `$begin` starts a write transaction; `$lock` (run when not empty)
/// serializes subscription creations; `$for_update` locks a row read to
/// be changed; `$for_share` keeps the subscriptions a publication reads
/// from being changed or deleted until it commits (PostgreSQL's `FOR KEY
/// SHARE`, which a lease's `UPDATE` does not wait for, so claims and
/// publications never deadlock), so a deactivation or a deletion sees, and
/// cancels, the deliveries the publication made.
macro_rules! hub_ops {
    ($name:ident, $db:ty, begin = $begin:literal, lock = $lock:literal, for_update = $for_update:literal, for_share = $for_share:literal) => {
        pub(crate) mod $name {
            use std::collections::HashMap;
            use std::time::Duration;

            use chrono::{DateTime, Utc};
            use gladly_webhook_core::Secret;
            use sqlx::Row;

            use super::*;
            use crate::store::group_commit::{Delivered, Publication};
            use crate::store::{
                AttemptOutcome, AttemptRecord, Backlog, Deactivation, DeliveryOrder, DeliveryRecord,
                DeliveryState, DueDelivery, EventsCursor, NewDelivery, PublishError, Published, StoreError,
                StoredWebhook, WebhookChange, WriteError, from_millis, millis, millis_after,
            };

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            fn is_unique_violation(err: &sqlx::Error) -> bool {
                matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
            }

            /// What a failed write of a subscription means: the URL taken
            /// meanwhile by another writer (its id), or the failure itself.
            async fn url_write_error(pool: &Pool, url_key: &str, err: sqlx::Error) -> WriteError {
                if !is_unique_violation(&err) {
                    return err.into();
                }
                match find_by_url_key(pool, url_key).await {
                    Ok(existing) => WriteError::DuplicateUrl { existing: existing.unwrap_or_default() },
                    Err(err) => err.into(),
                }
            }

            fn webhook(row: &DbRow) -> Result<StoredWebhook, StoreError> {
                let events: String = row.try_get("events")?;
                let events = serde_json::from_str(&events)
                    .map_err(|e| StoreError::Corrupt(format!("events of a subscription: {e}")))?;
                let header_keys: String = row.try_get("header_keys")?;
                let header_keys = serde_json::from_str(&header_keys)
                    .map_err(|e| StoreError::Corrupt(format!("header keys of a subscription: {e}")))?;
                let model: String = row.try_get("model")?;
                let model = gladly_webhook_core::model::Model::from_name(&model)
                    .ok_or_else(|| StoreError::Corrupt(format!("a subscription's model {model:?}")))?;
                Ok(StoredWebhook {
                    id: row.try_get("id")?,
                    model,
                    name: row.try_get("name")?,
                    url: row.try_get("url")?,
                    events,
                    secret: Secret::new(row.try_get::<String, _>("secret")?),
                    header_keys,
                    active: row.try_get("active")?,
                    created_at: from_millis(row.try_get("created_at")?)?,
                    modified_at: from_millis(row.try_get("modified_at")?)?,
                    disabled_at_retry_limit: optional_time(row.try_get("disabled_at_retry_limit")?)?,
                })
            }

            fn strings_json(strings: &[String]) -> String {
                serde_json::to_string(strings).unwrap_or_else(|_| "[]".to_string())
            }

            fn state(text: &str) -> Result<DeliveryState, StoreError> {
                DeliveryState::parse(text)
                    .ok_or_else(|| StoreError::Corrupt(format!("delivery state {text:?}")))
            }

            fn optional_time(ms: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
                ms.map(from_millis).transpose()
            }

            pub(crate) async fn list_webhooks(pool: &Pool) -> Result<Vec<StoredWebhook>, StoreError> {
                let rows = sqlx::query(LIST_WEBHOOKS).fetch_all(pool).await?;
                rows.iter().map(webhook).collect()
            }

            pub(crate) async fn get_webhook(
                pool: &Pool,
                id: &str,
            ) -> Result<Option<StoredWebhook>, StoreError> {
                let row = sqlx::query(GET_WEBHOOK).bind(id).fetch_optional(pool).await?;
                row.as_ref().map(webhook).transpose()
            }

            pub(crate) async fn find_by_url_key(
                pool: &Pool,
                url_key: &str,
            ) -> Result<Option<String>, StoreError> {
                let row = sqlx::query(FIND_BY_URL_KEY).bind(url_key).fetch_optional(pool).await?;
                Ok(row.map(|r| r.try_get("id")).transpose()?)
            }

            pub(crate) async fn count_webhooks(pool: &Pool) -> Result<usize, StoreError> {
                let n: i64 = sqlx::query(COUNT_WEBHOOKS).fetch_one(pool).await?.try_get("n")?;
                Ok(usize::try_from(n).unwrap_or(0))
            }

            pub(crate) async fn create_webhook(
                pool: &Pool,
                w: &StoredWebhook,
                url_key: &str,
                max: usize,
            ) -> Result<(), WriteError> {
                let mut tx = pool.begin_with($begin).await?;
                if !$lock.is_empty() {
                    sqlx::query($lock).execute(&mut *tx).await?;
                }
                let n: i64 = sqlx::query(COUNT_WEBHOOKS).fetch_one(&mut *tx).await?.try_get("n")?;
                if usize::try_from(n).unwrap_or(usize::MAX) >= max {
                    return Err(WriteError::TooMany { max });
                }
                if let Some(row) = sqlx::query(FIND_BY_URL_KEY)
                    .bind(url_key)
                    .fetch_optional(&mut *tx)
                    .await?
                {
                    return Err(WriteError::DuplicateUrl { existing: row.try_get("id")? });
                }
                let inserted = sqlx::query(INSERT_WEBHOOK)
                    .bind(&w.id)
                    .bind(&w.url)
                    .bind(url_key)
                    .bind(strings_json(&w.events))
                    .bind(w.secret.expose())
                    .bind(w.active)
                    .bind(millis(w.created_at))
                    .bind(millis(w.modified_at))
                    .bind(w.model.name())
                    .bind(w.name.as_deref())
                    .bind(strings_json(&w.header_keys))
                    .execute(&mut *tx)
                    .await;
                if let Err(err) = inserted {
                    drop(tx);
                    return Err(url_write_error(pool, url_key, err).await);
                }
                tx.commit().await?;
                Ok(())
            }

            pub(crate) async fn update_webhook(
                pool: &Pool,
                id: &str,
                expected: DateTime<Utc>,
                change: &WebhookChange,
                url_key: &str,
            ) -> Result<StoredWebhook, WriteError> {
                let mut tx = pool.begin_with($begin).await?;
                let row = sqlx::query(concat!(webhook_select!("WHERE id = $1 "), $for_update))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    return Err(WriteError::NotFound);
                };
                let current = webhook(&row)?;
                if current.modified_at != expected {
                    return Err(WriteError::Conflict);
                }
                if let Some(other) = sqlx::query(FIND_BY_URL_KEY)
                    .bind(url_key)
                    .fetch_optional(&mut *tx)
                    .await?
                {
                    let other: String = other.try_get("id")?;
                    if other != id {
                        return Err(WriteError::DuplicateUrl { existing: other });
                    }
                }
                let updated = sqlx::query(UPDATE_WEBHOOK)
                    .bind(id)
                    .bind(&change.url)
                    .bind(url_key)
                    .bind(strings_json(&change.events))
                    .bind(change.active)
                    .bind(change.secret.as_ref().map(|s| s.expose().to_string()))
                    .bind(millis(change.modified_at))
                    .bind(change.name.as_deref())
                    .bind(change.header_keys.as_deref().map(strings_json))
                    .execute(&mut *tx)
                    .await;
                if let Err(err) = updated {
                    drop(tx);
                    return Err(url_write_error(pool, url_key, err).await);
                }
                if current.active && !change.active {
                    sqlx::query(CANCEL_PENDING)
                        .bind(id)
                        .bind(millis(change.modified_at))
                        .bind(CANCELLED_DEACTIVATED)
                        .execute(&mut *tx)
                        .await?;
                }
                let row = sqlx::query(GET_WEBHOOK).bind(id).fetch_one(&mut *tx).await?;
                let stored = webhook(&row)?;
                tx.commit().await?;
                Ok(stored)
            }

            pub(crate) async fn delete_webhook(
                pool: &Pool,
                id: &str,
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let mut tx = pool.begin_with($begin).await?;
                let deleted = sqlx::query(DELETE_WEBHOOK).bind(id).execute(&mut *tx).await?;
                if deleted.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query(CANCEL_PENDING)
                    .bind(id)
                    .bind(millis(now))
                    .bind(CANCELLED_DELETED)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            pub(crate) async fn existing_publication(
                conn: &mut <$db as sqlx::Database>::Connection,
                event_id: &str,
                received_sha256: &str,
            ) -> Result<Option<Published>, PublishError> {
                let Some(row) = sqlx::query(FIND_EVENT).bind(event_id).fetch_optional(&mut *conn).await? else {
                    return Ok(None);
                };
                let stored: String = row.try_get("received_sha256")?;
                if stored != received_sha256 {
                    return Err(PublishError::IdReused);
                }
                let seq: i64 = row.try_get("seq")?;
                let published_at = from_millis(row.try_get("published_at")?)?;
                let rows = sqlx::query(EVENT_DELIVERIES).bind(seq).fetch_all(&mut *conn).await?;
                let mut deliveries = Vec::with_capacity(rows.len());
                for row in &rows {
                    deliveries.push(NewDelivery {
                        id: row.try_get("id")?,
                        webhook_id: row.try_get("webhook_id")?,
                        url: row.try_get("url")?,
                        state: state(row.try_get("state")?)?,
                    });
                }
                Ok(Some(Published { created: false, published_at, deliveries }))
            }

            /// Publishes `publications` and records the successes in
            /// `records`, in one transaction: each publication's result,
            /// in order, or the store's error (nothing was committed). A
            /// publication fails alone only as [`PublishError::IdReused`],
            /// which spoils nothing.
            pub(crate) async fn write_together(
                pool: &Pool,
                publications: &[&Publication],
                records: &[&Delivered],
            ) -> Result<Vec<Result<Published, PublishError>>, StoreError> {
                let mut tx = pool.begin_with($begin).await?;
                let published = if publications.is_empty() {
                    Vec::new()
                } else {
                    let subscribers = active_webhooks(&mut tx).await?;
                    publish_all(&mut tx, &subscribers, publications).await?
                };
                if !records.is_empty() {
                    record_delivered_in(&mut tx, records).await?;
                }
                tx.commit().await?;
                Ok(published)
            }

            /// One publication in a transaction of its own.
            pub(crate) async fn publish(pool: &Pool, publication: &Publication) -> Result<Published, PublishError> {
                write_together(pool, &[publication], &[])
                    .await?
                    .pop()
                    .unwrap_or_else(crate::store::group_commit::unanswered)
            }

            /// The active subscriptions, as a publication reads them (and,
            /// on PostgreSQL, keeps from changing until it commits).
            async fn active_webhooks(
                tx: &mut <$db as sqlx::Database>::Connection,
            ) -> Result<Vec<StoredWebhook>, StoreError> {
                let rows = sqlx::query(concat!(webhook_select!("WHERE active ORDER BY created_at, id "), $for_share))
                .fetch_all(&mut *tx)
                .await?;
                rows.iter().map(webhook).collect()
            }

            /// Writes `publications` to `subscribers` (read in the same
            /// transaction, so still current) in the transaction `tx` is
            /// in: one statement for the events and one per
            /// [`DELIVERY_ROWS`] deliveries, however many publications
            /// (one transaction and four statements per publication made
            /// the writer the bottleneck). Answers each one's result, in
            /// order: an id published before, or earlier in
            /// `publications`, is answered as a republication or
            /// [`PublishError::IdReused`]. A store error spoils the
            /// transaction. Without a delivery, an event's body is kept
            /// only when its publication says so (the Events API reads
            /// it).
            async fn publish_all(
                tx: &mut <$db as sqlx::Database>::Connection,
                subscribers: &[StoredWebhook],
                publications: &[&Publication],
            ) -> Result<Vec<Result<Published, PublishError>>, StoreError> {
                // The first of each id is inserted; a later one is a
                // republication of it, answered after.
                let mut first_of: HashMap<&str, usize> = HashMap::new();
                for (n, p) in publications.iter().enumerate() {
                    first_of.entry(p.event_id.as_str()).or_insert(n);
                }
                let is_first = |n: usize, p: &Publication| first_of.get(p.event_id.as_str()) == Some(&n);
                let mut insert = sqlx::QueryBuilder::<$db>::new(INSERT_EVENTS_HEAD);
                insert.push_values(
                    publications.iter().enumerate().filter(|(n, p)| is_first(*n, p)),
                    |mut row, (_, p)| {
                        row.push_bind(p.event_id.as_str())
                            .push_bind(p.event_type.as_str())
                            .push_bind(p.body.as_slice())
                            .push_bind(p.received_sha256.as_str())
                            .push_bind(millis(p.now))
                            .push_bind(millis(p.occurred_at));
                    },
                );
                insert.push(INSERT_EVENTS_TAIL);
                let mut seqs: HashMap<String, i64> = HashMap::new();
                for row in insert.build().fetch_all(&mut *tx).await? {
                    seqs.insert(row.try_get("event_id")?, row.try_get("seq")?);
                }

                let mut results: Vec<Option<Published>> = Vec::with_capacity(publications.len());
                let mut rows: Vec<(NewDelivery, i64, i64)> = Vec::new();
                let mut without_deliveries: Vec<i64> = Vec::new();
                for (n, p) in publications.iter().enumerate() {
                    let Some(&seq) = seqs.get(&p.event_id).filter(|_| is_first(n, p)) else {
                        results.push(None);
                        continue;
                    };
                    let mut deliveries = Vec::new();
                    for target in subscribers.iter().filter(|t| t.subscribes_to(&p.event_type)) {
                        let delivery = NewDelivery {
                            id: crate::ids::delivery_id()?,
                            webhook_id: target.id.clone(),
                            url: target.url.clone(),
                            state: DeliveryState::Pending,
                        };
                        rows.push((delivery.clone(), seq, millis(p.now)));
                        deliveries.push(delivery);
                    }
                    if deliveries.is_empty() && !p.keep_body {
                        without_deliveries.push(seq);
                    }
                    results.push(Some(Published { created: true, published_at: p.now, deliveries }));
                }
                for chunk in rows.chunks(DELIVERY_ROWS) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(INSERT_DELIVERIES);
                    insert.push_values(chunk, |mut row, (d, seq, at)| {
                        row.push_bind(d.id.as_str())
                            .push_bind(d.webhook_id.as_str())
                            .push_bind(*seq)
                            .push_bind("pending")
                            .push_bind(0_i64)
                            .push_bind(*at)
                            .push_bind(*at);
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                // No subscriber: nothing will be delivered, so the body is
                // not kept (the id and the received body's hash stay, so a
                // republication is still recognised).
                for seq in without_deliveries {
                    sqlx::query(DROP_BODY).bind(seq).bind(&b""[..]).execute(&mut *tx).await?;
                }
                // Published before, or earlier in this batch: read back
                // (this batch's deliveries are written by now).
                let mut answered = Vec::with_capacity(publications.len());
                for (p, result) in publications.iter().zip(results) {
                    answered.push(match result {
                        Some(published) => Ok(published),
                        None => match existing_publication(&mut *tx, &p.event_id, &p.received_sha256).await {
                            Ok(Some(published)) => Ok(published),
                            Ok(None) => {
                                return Err(StoreError::Corrupt(
                                    "an event id conflicts, but no event has it".to_string(),
                                ));
                            }
                            Err(PublishError::Store(err)) => return Err(err),
                            Err(other) => Err(other),
                        },
                    });
                }
                Ok(answered)
            }

            pub(crate) async fn deliveries(
                pool: &Pool,
                webhook_id: &str,
                limit: u32,
            ) -> Result<Vec<DeliveryRecord>, StoreError> {
                let limit = i64::from(limit);
                let rows = sqlx::query(DELIVERIES).bind(webhook_id).bind(limit).fetch_all(pool).await?;
                let attempt_rows = sqlx::query(DELIVERY_ATTEMPTS)
                    .bind(webhook_id)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                let mut attempts: HashMap<String, Vec<AttemptRecord>> = HashMap::new();
                for row in &attempt_rows {
                    let status: Option<i64> = row.try_get("status")?;
                    let record = AttemptRecord {
                        number: u32::try_from(row.try_get::<i64, _>("number")?).unwrap_or(0),
                        at: from_millis(row.try_get("at")?)?,
                        status: status.and_then(|s| u16::try_from(s).ok()),
                        error: row.try_get("error")?,
                        duration_ms: u64::try_from(row.try_get::<i64, _>("duration_ms")?).unwrap_or(0),
                    };
                    attempts.entry(row.try_get("delivery_id")?).or_default().push(record);
                }
                let mut records = Vec::with_capacity(rows.len());
                for row in &rows {
                    let id: String = row.try_get("id")?;
                    let state = state(row.try_get("state")?)?;
                    records.push(DeliveryRecord {
                        attempts: attempts.remove(&id).unwrap_or_default(),
                        id,
                        webhook_id: row.try_get("webhook_id")?,
                        event_id: row.try_get("event_id")?,
                        event_type: row.try_get("event_type")?,
                        state,
                        created_at: from_millis(row.try_get("created_at")?)?,
                        next_attempt_at: if state == DeliveryState::Pending {
                            Some(from_millis(row.try_get("next_attempt_at")?)?)
                        } else {
                            None
                        },
                        finished_at: optional_time(row.try_get("finished_at")?)?,
                        reason: row.try_get("reason")?,
                    });
                }
                Ok(records)
            }

            pub(crate) async fn deactivations(
                pool: &Pool,
                limit: u32,
            ) -> Result<Vec<Deactivation>, StoreError> {
                let rows = sqlx::query(DEACTIVATIONS).bind(i64::from(limit)).fetch_all(pool).await?;
                rows.iter()
                    .map(|row| {
                        Ok(Deactivation {
                            webhook_id: row.try_get("webhook_id")?,
                            url: row.try_get("url")?,
                            at: from_millis(row.try_get("at")?)?,
                            delivery_id: row.try_get("delivery_id")?,
                            event_id: row.try_get("event_id")?,
                            reason: row.try_get("reason")?,
                        })
                    })
                    .collect()
            }

            pub(crate) async fn claim_webhooks(
                pool: &Pool,
                now: DateTime<Utc>,
                lease: Duration,
                limit: u32,
                order: DeliveryOrder,
            ) -> Result<Vec<(String, i64)>, StoreError> {
                let token = crate::ids::lease_token()?;
                let claim = match order {
                    DeliveryOrder::Publish => CLAIM_WEBHOOKS_HEAD_DUE,
                    DeliveryOrder::Window => CLAIM_WEBHOOKS_ANY_DUE,
                };
                let rows = sqlx::query(claim)
                    .bind(millis(now))
                    .bind(millis_after(now, lease))
                    .bind(token)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|row| Ok((row.try_get("id")?, token)))
                    .collect()
            }

            pub(crate) async fn next_deliveries(
                pool: &Pool,
                webhook_id: &str,
                token: i64,
                limit: u32,
                after_seq: i64,
                due_at: Option<DateTime<Utc>>,
            ) -> Result<Vec<DueDelivery>, StoreError> {
                let query = sqlx::query(if due_at.is_some() { NEXT_DUE_DELIVERY } else { NEXT_DELIVERY })
                    .bind(webhook_id)
                    .bind(token)
                    .bind(i64::from(limit))
                    .bind(i64::try_from(BATCH_BYTES).unwrap_or(i64::MAX))
                    .bind(after_seq);
                let query = match due_at {
                    Some(at) => query.bind(millis(at)),
                    None => query,
                };
                let rows = query.fetch_all(pool).await?;
                rows.iter()
                    .map(|row| {
                        Ok(DueDelivery {
                            id: row.try_get("id")?,
                            webhook_id: row.try_get("webhook_id")?,
                            seq: row.try_get("event_seq")?,
                            event_id: row.try_get("event_id")?,
                            event_type: row.try_get("event_type")?,
                            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                            next_attempt_at: from_millis(row.try_get("next_attempt_at")?)?,
                            published_at: from_millis(row.try_get("published_at")?)?,
                            body: row.try_get("body")?,
                            url: row.try_get("url")?,
                            secret: Secret::new(row.try_get::<String, _>("secret")?),
                            model: {
                                let model: String = row.try_get("model")?;
                                gladly_webhook_core::model::Model::from_name(&model).ok_or_else(|| {
                                    StoreError::Corrupt(format!("a subscription's model {model:?}"))
                                })?
                            },
                            webhook_modified_at: from_millis(row.try_get("webhook_modified_at")?)?,
                        })
                    })
                    .collect()
            }

            pub(crate) async fn extend_lease(
                pool: &Pool,
                webhook_id: &str,
                token: i64,
                until: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(EXTEND_LEASE)
                    .bind(webhook_id)
                    .bind(token)
                    .bind(millis(until))
                    .execute(pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub(crate) async fn set_secret(
                pool: &Pool,
                webhook_id: &str,
                old: &str,
                new: &str,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(SET_SECRET)
                    .bind(webhook_id)
                    .bind(old)
                    .bind(new)
                    .execute(pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub(crate) async fn still_current(
                pool: &Pool,
                webhook_id: &str,
                modified_at: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let row = sqlx::query(STILL_CURRENT)
                    .bind(webhook_id)
                    .bind(millis(modified_at))
                    .fetch_optional(pool)
                    .await?;
                Ok(row.is_some())
            }

            pub(crate) async fn make_due_now(
                pool: &Pool,
                webhook_id: &str,
                now: DateTime<Utc>,
            ) -> Result<u64, StoreError> {
                let done = sqlx::query(MAKE_DUE_NOW)
                    .bind(webhook_id)
                    .bind(millis(now))
                    .execute(pool)
                    .await?;
                Ok(done.rows_affected())
            }

            pub(crate) async fn release(
                pool: &Pool,
                webhook_id: &str,
                token: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(RELEASE_LEASE).bind(webhook_id).bind(token).execute(pool).await?;
                Ok(())
            }

            async fn insert_attempt(
                conn: &mut <$db as sqlx::Database>::Connection,
                delivery_id: &str,
                attempt: &AttemptRecord,
            ) -> Result<(), StoreError> {
                sqlx::query(INSERT_ATTEMPT)
                    .bind(delivery_id)
                    .bind(i64::from(attempt.number))
                    .bind(millis(attempt.at))
                    .bind(attempt.status.map(i64::from))
                    .bind(attempt.error.as_deref())
                    .bind(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            /// Renews the lease inside the transaction: whether it is held.
            async fn hold_lease(
                conn: &mut <$db as sqlx::Database>::Connection,
                webhook_id: &str,
                token: i64,
                lease: Duration,
            ) -> Result<bool, StoreError> {
                let renewed = sqlx::query(LEASE_HELD)
                    .bind(webhook_id)
                    .bind(token)
                    .bind(millis_after(Utc::now(), lease))
                    .execute(&mut *conn)
                    .await?;
                Ok(renewed.rows_affected() == 1)
            }

            /// One subscription's successes in a transaction of their own.
            pub(crate) async fn record_delivered(pool: &Pool, record: &Delivered) -> Result<(), StoreError> {
                write_together(pool, &[], &[record]).await.map(drop)
            }

            /// Records the successes of `records` (of any subscriptions) in
            /// the transaction (or savepoint) `conn` is in; the caller
            /// commits. Every attempt is kept; the deliveries are marked
            /// delivered where their run still holds its lease (which is
            /// renewed). Three statements per chunk, however many
            /// subscriptions: one per subscription cost a round trip each.
            async fn record_delivered_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                records: &[&Delivered],
            ) -> Result<(), StoreError> {
                let attempts: Vec<&(String, AttemptRecord)> =
                    records.iter().flat_map(|r| r.delivered.iter()).collect();
                for chunk in attempts.chunks(RECORD_CHUNK) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(INSERT_ATTEMPTS_HEAD);
                    insert.push_values(chunk, |mut row, (delivery_id, attempt)| {
                        row.push_bind(delivery_id.as_str())
                            .push_bind(i64::from(attempt.number))
                            .push_bind(millis(attempt.at))
                            .push_bind(attempt.status.map(i64::from))
                            .push_bind(attempt.error.as_deref())
                            .push_bind(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX));
                    });
                    insert.push(INSERT_ATTEMPTS_TAIL);
                    insert.build().execute(&mut *conn).await?;
                }
                let now = Utc::now();
                let mut held: Vec<(String, i64)> = Vec::new();
                for chunk in records.chunks(RECORD_CHUNK) {
                    let mut renew = sqlx::QueryBuilder::<$db>::new(LEASES_HELD_HEAD);
                    renew.push_values(chunk, |mut row, r| {
                        row.push_bind(r.webhook_id.as_str())
                            .push_bind(r.token)
                            .push_bind(millis_after(now, r.lease));
                    });
                    renew.push(LEASES_HELD_TAIL);
                    for row in renew.build().fetch_all(&mut *conn).await? {
                        held.push((row.try_get("id")?, row.try_get("lease_token")?));
                    }
                }
                let mut delivered: Vec<(u32, &str)> = records
                    .iter()
                    .filter(|r| held.iter().any(|(id, token)| *id == r.webhook_id && *token == r.token))
                    .flat_map(|r| r.delivered.iter())
                    .map(|(delivery_id, attempt)| (attempt.number, delivery_id.as_str()))
                    .collect();
                delivered.sort_unstable();
                for same_number in delivered.chunk_by(|a, b| a.0 == b.0) {
                    let Some(&(number, _)) = same_number.first() else { continue };
                    for chunk in same_number.chunks(RECORD_CHUNK) {
                        let mut update = sqlx::QueryBuilder::<$db>::new(DELIVERED_MANY_HEAD);
                        update.push_bind(i64::from(number)).push(DELIVERED_MANY_AT).push_bind(millis(now));
                        update.push(DELIVERED_MANY_IDS);
                        let mut ids = update.separated(", ");
                        for (_, delivery_id) in chunk {
                            ids.push_bind(*delivery_id);
                        }
                        update.push(DELIVERED_MANY_TAIL);
                        update.build().execute(&mut *conn).await?;
                    }
                }
                Ok(())
            }

            pub(crate) async fn record_attempt(
                pool: &Pool,
                delivery: &DueDelivery,
                token: i64,
                lease: Duration,
                attempt: &AttemptRecord,
                outcome: &AttemptOutcome,
            ) -> Result<(), StoreError> {
                let mut tx = pool.begin_with($begin).await?;
                insert_attempt(&mut tx, &delivery.id, attempt).await?;
                if hold_lease(&mut tx, &delivery.webhook_id, token, lease).await? {
                    let now = millis(Utc::now());
                    let number = i64::from(attempt.number);
                    match outcome {
                        AttemptOutcome::Delivered => {
                            sqlx::query(DELIVERED).bind(&delivery.id).bind(number).bind(now).execute(&mut *tx).await?;
                        }
                        AttemptOutcome::Retry(at) => {
                            sqlx::query(RETRY).bind(&delivery.id).bind(number).bind(millis(*at)).execute(&mut *tx).await?;
                        }
                        AttemptOutcome::Exhausted => {
                            // Wait for publications in flight to this
                            // subscription, so the cancellation below sees
                            // their deliveries.
                            sqlx::query(concat!("SELECT id FROM hub_webhooks WHERE id = $1 ", $for_update))
                                .bind(&delivery.webhook_id)
                                .fetch_optional(&mut *tx)
                                .await?;
                            let reason = format!(
                                "{} attempts failed; the last: {}",
                                attempt.number,
                                crate::dispatch::describe(attempt)
                            );
                            sqlx::query(FAILED)
                                .bind(&delivery.id)
                                .bind(number)
                                .bind(now)
                                .bind(&reason)
                                .execute(&mut *tx)
                                .await?;
                            let url: String = sqlx::query(DEACTIVATE)
                                .bind(&delivery.webhook_id)
                                .bind(now)
                                .fetch_one(&mut *tx)
                                .await?
                                .try_get("url")?;
                            sqlx::query(CANCEL_PENDING)
                                .bind(&delivery.webhook_id)
                                .bind(now)
                                .bind(CANCELLED_DEACTIVATED)
                                .execute(&mut *tx)
                                .await?;
                            sqlx::query(INSERT_DEACTIVATION)
                                .bind(&delivery.webhook_id)
                                .bind(url)
                                .bind(now)
                                .bind(&delivery.id)
                                .bind(&delivery.event_id)
                                .bind(&reason)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            pub(crate) async fn purge(
                pool: &Pool,
                before: DateTime<Utc>,
            ) -> Result<(u64, u64), StoreError> {
                // In steps of 1000 rows, so a large purge never holds the
                // store for long.
                let before = millis(before);
                let mut deliveries = 0;
                loop {
                    // Their attempts go with them (ON DELETE CASCADE).
                    let done = sqlx::query(PURGE_DELIVERIES).bind(before).execute(pool).await?;
                    deliveries += done.rows_affected();
                    if done.rows_affected() < 1000 {
                        break;
                    }
                }
                let mut events = 0;
                loop {
                    let done = sqlx::query(PURGE_EVENTS).bind(before).execute(pool).await?;
                    events += done.rows_affected();
                    if done.rows_affected() < 1000 {
                        break;
                    }
                }
                Ok((deliveries, events))
            }

            pub(crate) async fn next_due(pool: &Pool) -> Result<Option<DateTime<Utc>>, StoreError> {
                let due: Option<i64> = sqlx::query(NEXT_DUE).fetch_one(pool).await?.try_get("due")?;
                optional_time(due)
            }

            pub(crate) async fn models(pool: &Pool) -> Result<Vec<String>, StoreError> {
                let rows = sqlx::query(MODELS).fetch_all(pool).await?;
                rows.iter().map(|row| Ok(row.try_get("model")?)).collect()
            }

            pub(crate) async fn events_between(
                pool: &Pool,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
                entities: &[String],
                after: EventsCursor,
                limit: u32,
                max_bytes: usize,
            ) -> Result<Vec<(EventsCursor, Vec<u8>)>, StoreError> {
                let mut query = sqlx::QueryBuilder::<$db>::new(EVENTS_BETWEEN);
                query.push_bind(millis(from));
                query.push(" AND occurred_at < ");
                query.push_bind(millis(to));
                query.push(" AND (occurred_at, seq) > (");
                query.push_bind(after.occurred_at_ms);
                query.push(", ");
                query.push_bind(after.seq);
                query.push(")");
                if !entities.is_empty() {
                    query.push(" AND (");
                    for (n, entity) in entities.iter().enumerate() {
                        if n > 0 {
                            query.push(" OR ");
                        }
                        query.push("event_type LIKE ");
                        query.push_bind(format!("{}/%", entity.replace('\\', "\\\\").replace('_', "\\_").replace('%', "\\%")));
                        query.push(" ESCAPE '\\'");
                    }
                    query.push(")");
                }
                query.push(" ORDER BY occurred_at, seq LIMIT ");
                query.push_bind(i64::from(limit));
                // Sizes first, then the bodies of as many as fit in max_bytes:
                // a page of large events is never read whole into memory.
                let mut page: Vec<EventsCursor> = Vec::new();
                let mut bytes = 0_usize;
                for row in query.build().fetch_all(pool).await? {
                    let size: i64 = row.try_get("size")?;
                    let size = usize::try_from(size).unwrap_or(usize::MAX);
                    if !page.is_empty() && bytes.saturating_add(size) > max_bytes {
                        break;
                    }
                    bytes = bytes.saturating_add(size);
                    page.push(EventsCursor { occurred_at_ms: row.try_get("occurred_at")?, seq: row.try_get("seq")? });
                }
                if page.is_empty() {
                    return Ok(Vec::new());
                }
                let mut bodies = sqlx::QueryBuilder::<$db>::new(EVENT_BODIES);
                bodies.push("(");
                let mut seqs = bodies.separated(", ");
                for cursor in &page {
                    seqs.push_bind(cursor.seq);
                }
                bodies.push(")");
                let mut found: HashMap<i64, Vec<u8>> = HashMap::new();
                for row in bodies.build().fetch_all(pool).await? {
                    found.insert(row.try_get("seq")?, row.try_get("body")?);
                }
                Ok(page
                    .into_iter()
                    .filter_map(|cursor| Some((cursor, found.remove(&cursor.seq)?)))
                    .collect())
            }

            pub(crate) async fn ping(pool: &Pool) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(pool).await?;
                Ok(())
            }

            pub(crate) async fn backlog(pool: &Pool) -> Result<Vec<Backlog>, StoreError> {
                let rows = sqlx::query(BACKLOG).fetch_all(pool).await?;
                rows.iter()
                    .map(|row| {
                        let pending: i64 = row.try_get("pending")?;
                        Ok(Backlog {
                            webhook_id: row.try_get("id")?,
                            active: row.try_get("active")?,
                            pending: u64::try_from(pending).unwrap_or(0),
                            oldest_due: optional_time(row.try_get("oldest_due")?)?,
                        })
                    })
                    .collect()
            }
        }
    };
}

#[cfg(feature = "sqlite")]
hub_ops!(
    sqlite,
    sqlx::Sqlite,
    begin = "BEGIN IMMEDIATE",
    lock = "",
    for_update = "",
    for_share = ""
);
#[cfg(feature = "postgres")]
hub_ops!(
    postgres,
    sqlx::Postgres,
    begin = "BEGIN",
    lock = "LOCK TABLE hub_webhooks IN SHARE ROW EXCLUSIVE MODE",
    for_update = "FOR UPDATE",
    for_share = "FOR KEY SHARE"
);
