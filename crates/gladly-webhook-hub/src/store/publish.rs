//! Publications (`hub_events`, and the `hub_deliveries` they make): an
//! event and one pending delivery per subscription to its type, written
//! together, many publications in one transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::backend::{Conn, Pool, on};
use super::successes::{Delivered, record_in};
use super::{
    DeliveryState, NewDelivery, PublishError, Published, Store, StoreError, backend::PerBackend,
    from_millis, millis, subscribes_to,
};

/// One publication, as [`Store::publish`] hands it to the writer.
pub(crate) struct Publication {
    pub(crate) event_id: String,
    pub(crate) event_type: String,
    pub(crate) body: Vec<u8>,
    pub(crate) received_sha256: String,
    pub(crate) now: DateTime<Utc>,
    /// The event's `timestamp`: what the Events API reads it by.
    pub(crate) occurred_at: DateTime<Utc>,
    pub(crate) keep_body: bool,
}

impl Store {
    /// Publishes an event: stores `body` (as it will be sent) and one
    /// pending delivery for each active subscription to its type, in one
    /// transaction (shared with the writes queued meanwhile: group
    /// commit, answered after the commit). `received` is the body as the
    /// publisher sent it: publishing the same id with the same `received`
    /// again (a retry, even one whose `timestamp` the hub filled in anew)
    /// creates nothing and returns the first publication's deliveries; the
    /// same id with another body is [`PublishError::IdReused`].
    /// `occurred_at` is the event's `timestamp`, by which the Events API
    /// reads it ([`Store::events_between`]).
    // Each argument is a distinct part of the event; a struct would only
    // name them twice.
    #[allow(clippy::too_many_arguments)]
    pub async fn publish(
        &self,
        event_id: &str,
        event_type: &str,
        occurred_at: DateTime<Utc>,
        body: &[u8],
        received: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Published, PublishError> {
        let keep_body = self.keep_bodies;
        self.publish_keeping(
            event_id,
            event_type,
            occurred_at,
            body,
            received,
            now,
            keep_body,
        )
        .await
    }

    /// [`Store::publish`], keeping the event's body even when no
    /// subscription receives it if `keep_body` (the Events API reads it).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn publish_keeping(
        &self,
        event_id: &str,
        event_type: &str,
        occurred_at: DateTime<Utc>,
        body: &[u8],
        received: &[u8],
        now: DateTime<Utc>,
        keep_body: bool,
    ) -> Result<Published, PublishError> {
        use sha2::Digest;
        let publication = Publication {
            event_id: event_id.to_string(),
            event_type: event_type.to_string(),
            body: body.to_vec(),
            received_sha256: hex::encode(sha2::Sha256::digest(received)),
            now,
            occurred_at,
            keep_body,
        };
        self.publisher.publish(publication).await
    }
}

/// Publishes `publications` and records the successes in `records`, in
/// one transaction: each publication's result, in order, or the store's
/// error (nothing was committed). A publication fails alone only as
/// [`PublishError::IdReused`], which spoils nothing.
pub(super) async fn write_together(
    pool: &Pool,
    publications: &[&Publication],
    records: &[&Delivered],
) -> Result<Vec<Result<Published, PublishError>>, StoreError> {
    on!(pool, |pool, dialect| {
        let mut tx = pool.begin_with(dialect.begin()).await?;
        let published = if publications.is_empty() {
            Vec::new()
        } else {
            let subscribers = active_targets(Conn::from(&mut *tx)).await?;
            publish_all(Conn::from(&mut *tx), &subscribers, publications).await?
        };
        if !records.is_empty() {
            record_in(Conn::from(&mut *tx), records).await?;
        }
        tx.commit().await?;
        Ok(published)
    })
}

/// The active subscriptions and relay destinations (not the operator's
/// endpoints), as a publication reads them; on PostgreSQL kept from being
/// changed or deleted until it commits (`FOR KEY SHARE`, which a lease's
/// `UPDATE` does not wait for, so claims and publications never deadlock),
/// so a deactivation or a deletion sees, and cancels, the deliveries the
/// publication made.
const ACTIVE_TARGETS: PerBackend = PerBackend {
    sqlite: "SELECT id, url, events FROM hub_webhooks \
        WHERE active AND model <> 'operator' ORDER BY created_at, id",
    postgres: "SELECT id, url, events FROM hub_webhooks \
        WHERE active AND model <> 'operator' ORDER BY created_at, id FOR KEY SHARE",
};

/// What a publication needs of a subscription or destination.
struct Target {
    id: String,
    url: String,
    /// Its event types, or patterns (see [`subscribes_to`]).
    events: Vec<String>,
}

async fn active_targets(conn: Conn<'_>) -> Result<Vec<Target>, StoreError> {
    let rows: Vec<(String, String, String)> = on!(conn, |conn, dialect| {
        sqlx::query_as(dialect.pick(&ACTIVE_TARGETS))
            .fetch_all(conn)
            .await?
    });
    rows.into_iter()
        .map(|(id, url, events)| {
            let events = serde_json::from_str(&events).map_err(|e| {
                StoreError::Corrupt(format!("the events of subscription {id}: {e}"))
            })?;
            Ok(Target { id, url, events })
        })
        .collect()
}

/// The events of a batch of publications, in one statement (`ON CONFLICT`:
/// an id published before is answered as such after).
const INSERT_EVENTS_HEAD: &str = "INSERT INTO hub_events \
    (event_id, event_type, body, received_sha256, published_at, occurred_at) ";
const INSERT_EVENTS_TAIL: &str = " ON CONFLICT (event_id) DO NOTHING RETURNING seq, event_id";
/// Rows of deliveries in one `INSERT` (7 parameters each, far under
/// SQLite's 32,766 and PostgreSQL's 65,535).
const DELIVERY_ROWS: usize = 1000;
const INSERT_DELIVERIES: &str = "INSERT INTO hub_deliveries \
    (id, webhook_id, event_seq, state, attempts, next_attempt_at, created_at) ";
const DROP_BODY: &str = "UPDATE hub_events SET body = $2 WHERE seq = $1";

/// Writes `publications` to `subscribers` (read in the same transaction,
/// so still current) in the transaction `conn` is in: one statement for the
/// events and one per [`DELIVERY_ROWS`] deliveries, however many
/// publications (one transaction and four statements per publication made
/// the writer the bottleneck). Answers each one's result, in order: an id
/// published before, or earlier in `publications`, is answered as a
/// republication or [`PublishError::IdReused`]. A store error spoils the
/// transaction. Without a delivery, an event's body is kept only when its
/// publication says so (the Events API reads it).
async fn publish_all(
    mut conn: Conn<'_>,
    subscribers: &[Target],
    publications: &[&Publication],
) -> Result<Vec<Result<Published, PublishError>>, StoreError> {
    // The first of each id is inserted; a later one is a republication of
    // it, answered after.
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    for (n, p) in publications.iter().enumerate() {
        first_of.entry(p.event_id.as_str()).or_insert(n);
    }
    let firsts: Vec<&Publication> = publications
        .iter()
        .enumerate()
        .filter(|(n, p)| first_of.get(p.event_id.as_str()) == Some(n))
        .map(|(_, p)| *p)
        .collect();
    let seqs = insert_events(conn.reborrow(), &firsts).await?;
    let mut plan = Plan::default();
    for (n, p) in publications.iter().enumerate() {
        let first = first_of.get(p.event_id.as_str()) == Some(&n);
        match seqs.get(&p.event_id).filter(|_| first) {
            Some(&seq) => plan.add(p, seq, subscribers)?,
            None => plan.results.push(None),
        }
    }
    insert_deliveries(conn.reborrow(), &plan.rows).await?;
    drop_bodies(conn.reborrow(), &plan.without_deliveries).await?;
    // Published before, or earlier in this batch: read back (this batch's
    // deliveries are written by now).
    let mut answered = Vec::with_capacity(publications.len());
    for (p, result) in publications.iter().zip(plan.results) {
        answered.push(match result {
            Some(published) => Ok(published),
            None => republished(conn.reborrow(), p).await?,
        });
    }
    Ok(answered)
}

/// What a batch's new events make: each publication's answer (`None` for
/// a republication, answered from the store after), the delivery rows,
/// and the events whose bodies nothing will send.
#[derive(Default)]
struct Plan {
    results: Vec<Option<Published>>,
    rows: Vec<(NewDelivery, i64, i64)>,
    without_deliveries: Vec<i64>,
}

impl Plan {
    /// The new event `p`, stored as `seq`: a pending delivery to each of
    /// `subscribers` that subscribes to its type.
    fn add(&mut self, p: &Publication, seq: i64, subscribers: &[Target]) -> Result<(), StoreError> {
        let mut deliveries = Vec::new();
        for target in subscribers
            .iter()
            .filter(|t| subscribes_to(&t.events, &p.event_type))
        {
            let delivery = NewDelivery {
                id: crate::ids::delivery_id()?,
                webhook_id: target.id.clone(),
                url: target.url.clone(),
                state: DeliveryState::Pending,
            };
            self.rows.push((delivery.clone(), seq, millis(p.now)));
            deliveries.push(delivery);
        }
        if deliveries.is_empty() && !p.keep_body {
            self.without_deliveries.push(seq);
        }
        self.results.push(Some(Published {
            created: true,
            published_at: p.now,
            deliveries,
        }));
        Ok(())
    }
}

/// Inserts the events of `publications` (one per id) in one statement: the
/// sequence number of each inserted, by id (an id stored before is not).
async fn insert_events(
    conn: Conn<'_>,
    publications: &[&Publication],
) -> Result<HashMap<String, i64>, StoreError> {
    let inserted: Vec<(i64, String)> = on!(conn, |conn| {
        let mut insert = sqlx::QueryBuilder::new(INSERT_EVENTS_HEAD);
        insert.push_values(publications, |mut row, p| {
            row.push_bind(p.event_id.as_str())
                .push_bind(p.event_type.as_str())
                .push_bind(p.body.as_slice())
                .push_bind(p.received_sha256.as_str())
                .push_bind(millis(p.now))
                .push_bind(millis(p.occurred_at));
        });
        insert.push(INSERT_EVENTS_TAIL);
        insert.build_query_as().fetch_all(conn).await?
    });
    Ok(inserted.into_iter().map(|(seq, id)| (id, seq)).collect())
}

/// Inserts the pending deliveries `rows` (`(delivery, event seq, now)`),
/// [`DELIVERY_ROWS`] to a statement.
async fn insert_deliveries(
    conn: Conn<'_>,
    rows: &[(NewDelivery, i64, i64)],
) -> Result<(), StoreError> {
    on!(conn, |conn| {
        for chunk in rows.chunks(DELIVERY_ROWS) {
            let mut insert = sqlx::QueryBuilder::new(INSERT_DELIVERIES);
            insert.push_values(chunk, |mut row, (d, seq, at)| {
                row.push_bind(d.id.as_str())
                    .push_bind(d.webhook_id.as_str())
                    .push_bind(*seq)
                    .push_bind("pending")
                    .push_bind(0_i64)
                    .push_bind(*at)
                    .push_bind(*at);
            });
            insert.build().execute(&mut *conn).await?;
        }
    });
    Ok(())
}

/// Empties the bodies of the events `seqs`: no subscriber, so nothing will
/// be delivered (the id and the received body's hash stay, so a
/// republication is still recognised).
async fn drop_bodies(conn: Conn<'_>, seqs: &[i64]) -> Result<(), StoreError> {
    on!(conn, |conn| {
        for seq in seqs {
            sqlx::query(DROP_BODY)
                .bind(seq)
                .bind(&b""[..])
                .execute(&mut *conn)
                .await?;
        }
    });
    Ok(())
}

/// A publication whose id is already stored, answered from what is.
async fn republished(
    conn: Conn<'_>,
    p: &Publication,
) -> Result<Result<Published, PublishError>, StoreError> {
    match existing_publication(conn, &p.event_id, &p.received_sha256).await {
        Ok(Some(published)) => Ok(Ok(published)),
        Ok(None) => Err(StoreError::Corrupt(
            "an event id conflicts, but no event has it".to_string(),
        )),
        Err(PublishError::Store(err)) => Err(err),
        Err(other) => Ok(Err(other)),
    }
}

const FIND_EVENT: &str =
    "SELECT seq, received_sha256, published_at FROM hub_events WHERE event_id = $1";
const EVENT_DELIVERIES: &str = "SELECT d.id, d.webhook_id, COALESCE(w.url, ''), d.state \
    FROM hub_deliveries d LEFT JOIN hub_webhooks w ON w.id = d.webhook_id \
    WHERE d.event_seq = $1 ORDER BY d.id";

/// A row of [`FIND_EVENT`].
type EventColumns = (i64, String, i64);
/// A row of [`EVENT_DELIVERIES`].
type DeliveryColumns = (String, String, String, String);

/// The publication of `event_id`, if there was one with the same received
/// body's hash ([`PublishError::IdReused`] if with another).
async fn existing_publication(
    conn: Conn<'_>,
    event_id: &str,
    received_sha256: &str,
) -> Result<Option<Published>, PublishError> {
    let found: Option<(EventColumns, Vec<DeliveryColumns>)> = on!(conn, |conn| {
        let event: Option<EventColumns> = sqlx::query_as(FIND_EVENT)
            .bind(event_id)
            .fetch_optional(&mut *conn)
            .await?;
        match event {
            Some(event) => {
                let deliveries = sqlx::query_as(EVENT_DELIVERIES)
                    .bind(event.0)
                    .fetch_all(&mut *conn)
                    .await?;
                Some((event, deliveries))
            }
            None => None,
        }
    });
    let Some(((_, stored_sha256, published_at), deliveries)) = found else {
        return Ok(None);
    };
    if stored_sha256 != received_sha256 {
        return Err(PublishError::IdReused);
    }
    let deliveries = deliveries
        .into_iter()
        .map(|(id, webhook_id, url, state)| {
            Ok(NewDelivery {
                id,
                webhook_id,
                url,
                state: DeliveryState::read(&state)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Some(Published {
        created: false,
        published_at: from_millis(published_at)?,
        deliveries,
    }))
}

/// This file's statements, for the test that prepares them all (a
/// builder's with two rows).
#[cfg(test)]
pub(super) fn statements(dialect: super::backend::Dialect) -> Vec<String> {
    vec![
        dialect.pick(&ACTIVE_TARGETS).to_string(),
        format!(
            "{INSERT_EVENTS_HEAD}VALUES ($1, $2, $3, $4, $5, $6), ($7, $8, $9, $10, $11, $12)\
             {INSERT_EVENTS_TAIL}"
        ),
        format!(
            "{INSERT_DELIVERIES}VALUES ($1, $2, $3, $4, $5, $6, $7), \
             ($8, $9, $10, $11, $12, $13, $14)"
        ),
        DROP_BODY.to_string(),
        FIND_EVENT.to_string(),
        EVENT_DELIVERIES.to_string(),
    ]
}
