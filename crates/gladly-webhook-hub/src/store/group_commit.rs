//! Group commit: publications and recorded successes.
//!
//! A commit costs an fsync, so one transaction per publication caps
//! publishing at the disk's fsync rate, and one per subscription's batch
//! of successes makes twenty subscriptions' dispatch tasks queue for the
//! database. Here one task takes every write queued while it was busy (up
//! to [`MAX_BATCH`]: publications and the successes of any subscriptions)
//! and makes them in one transaction, reading the subscriptions once for
//! all the publications of the batch. Each caller is answered only after
//! that commit, so a `202` still means the event and its deliveries are on
//! disk, and a success is recorded before its lease may lapse.
//!
//! - **SQLite** (one writer at a time): each write of the batch is in a
//!   savepoint of its own: one that fails (an id reused with another body)
//!   is rolled back alone, and the others commit.
//! - **PostgreSQL**: no savepoints (each is a subtransaction, and past 64 in
//!   one transaction every other session's snapshots get slower). The
//!   batch is one transaction; when any write of it fails, the batch is
//!   rolled back and each write is made again in a transaction of its own,
//!   so only the one that failed fails. Sharing the read of the
//!   subscriptions also means one `FOR KEY SHARE` lock per subscription per
//!   batch, not per publication: many publications locking the same rows at
//!   once made PostgreSQL build a multixact for each.

#[cfg(feature = "sqlite")]
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use super::{AttemptRecord, PublishError, Published, StoreError};

/// The most writes made in one transaction.
pub(crate) const MAX_BATCH: usize = 256;

/// One publication, as [`super::Store::publish`] hands it over.
pub(crate) struct Publication {
    pub(crate) event_id: String,
    pub(crate) event_type: String,
    pub(crate) body: Vec<u8>,
    pub(crate) received_sha256: String,
    pub(crate) now: DateTime<Utc>,
    pub(crate) keep_body: bool,
}

/// A subscription's successes, as [`super::Store::record_delivered`]
/// hands them over.
pub(crate) struct Delivered {
    pub(crate) webhook_id: String,
    pub(crate) token: i64,
    pub(crate) lease: Duration,
    pub(crate) delivered: Vec<(String, AttemptRecord)>,
}

enum Job {
    Publish(
        Publication,
        oneshot::Sender<Result<Published, PublishError>>,
    ),
    Record(Delivered, oneshot::Sender<Result<(), StoreError>>),
}

/// Where the task writes.
pub(crate) enum Target {
    /// A SQLite pool, and the lock its writes take turns at.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool, Arc<tokio::sync::Mutex<()>>),
    /// A PostgreSQL pool.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

/// The handle to the task that writes; the task ends when the last handle
/// is dropped.
#[derive(Clone)]
pub(crate) struct Publisher {
    queue: mpsc::Sender<Job>,
}

impl Publisher {
    /// Starts the writing task on `target` (needs a Tokio runtime).
    pub(crate) fn start(target: Target) -> Self {
        let (queue, receiver) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(write_jobs(target, receiver));
        Self { queue }
    }

    /// Publishes with the other writes queued meanwhile; answers after the
    /// commit.
    pub(crate) async fn publish(
        &self,
        publication: Publication,
    ) -> Result<Published, PublishError> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Job::Publish(publication, answer))
            .await
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }

    /// Records successes with the other writes queued meanwhile; answers
    /// after the commit.
    pub(crate) async fn record(&self, delivered: Delivered) -> Result<(), StoreError> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Job::Record(delivered, answer))
            .await
            .map_err(|_| stopped_store())?;
        answered.await.map_err(|_| stopped_store())?
    }
}

fn stopped_store() -> StoreError {
    StoreError::Corrupt("the store's writing task has stopped".to_string())
}

fn stopped() -> PublishError {
    PublishError::Store(stopped_store())
}

/// The task: one transaction per batch of queued writes.
async fn write_jobs(target: Target, mut queue: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let results = match &target {
            #[cfg(feature = "sqlite")]
            Target::Sqlite(pool, writes) => {
                let _turn = writes.lock().await;
                sqlite::write_batch(pool, &batch).await
            }
            #[cfg(feature = "postgres")]
            Target::Postgres(pool) => postgres::write_batch(pool, &batch).await,
        };
        for (job, result) in batch.drain(..).zip(results) {
            // A caller that went away (its request was cancelled) is not
            // waiting: its write stands all the same.
            match (job, result) {
                (Job::Publish(_, answer), Done::Published(result)) => {
                    let _ = answer.send(result);
                }
                (Job::Record(_, answer), Done::Recorded(result)) => {
                    let _ = answer.send(result);
                }
                // `write_batch` answers each job in kind.
                _ => {}
            }
        }
    }
}

/// What became of one job.
enum Done {
    Published(Result<Published, PublishError>),
    Recorded(Result<(), StoreError>),
}

/// SQLite: one transaction, a savepoint per write.
#[cfg(feature = "sqlite")]
mod sqlite {
    use sqlx::{Connection, SqlitePool};

    use super::super::ops::sqlite as ops;
    use super::{Done, Job, shared_error};

    /// Writes `batch` in one transaction: each job's result, or, when the
    /// transaction could not begin or commit, that error for each.
    pub(super) async fn write_batch(pool: &SqlitePool, batch: &[Job]) -> Vec<Done> {
        let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
            Ok(tx) => tx,
            Err(err) => return shared_error(err.into(), batch),
        };
        // The subscriptions are read once for the batch, when it publishes:
        // nothing changes them while this transaction holds SQLite's one
        // write lock.
        let subscribers = if batch.iter().any(|job| matches!(job, Job::Publish(..))) {
            match ops::active_webhooks(&mut tx).await {
                Ok(subscribers) => subscribers,
                Err(err) => return shared_error(err, batch),
            }
        } else {
            Vec::new()
        };
        let mut results = Vec::with_capacity(batch.len());
        for job in batch {
            match job {
                Job::Publish(p, _) => {
                    let result = async {
                        // A savepoint: dropped without its commit, it rolls back.
                        let mut savepoint = tx.begin().await?;
                        let published = ops::publish_to(
                            &mut savepoint,
                            Some(&subscribers),
                            &p.event_id,
                            &p.event_type,
                            &p.body,
                            &p.received_sha256,
                            p.now,
                            p.keep_body,
                        )
                        .await?;
                        savepoint.commit().await?;
                        Ok(published)
                    }
                    .await;
                    results.push(Done::Published(result));
                }
                Job::Record(d, _) => {
                    let result = async {
                        let mut savepoint = tx.begin().await?;
                        ops::record_delivered_in(
                            &mut savepoint,
                            &d.webhook_id,
                            d.token,
                            d.lease,
                            &d.delivered,
                        )
                        .await?;
                        savepoint.commit().await?;
                        Ok(())
                    }
                    .await;
                    results.push(Done::Recorded(result));
                }
            }
        }
        match tx.commit().await {
            Ok(()) => results,
            Err(err) => shared_error(err.into(), batch),
        }
    }
}

/// PostgreSQL: one transaction for the batch; each write alone when any
/// fails.
#[cfg(feature = "postgres")]
mod postgres {
    use std::collections::HashMap;

    use sqlx::{PgConnection, PgPool, Row};

    use super::super::ops::postgres as ops;
    use super::super::ops::{DROP_BODY, INSERT_DELIVERIES};
    use super::super::{
        DeliveryState, NewDelivery, PublishError, Published, StoreError, StoredWebhook, millis,
    };
    use super::{Done, Job, Publication};

    /// The events of a batch, in one statement (`ON CONFLICT`: an id
    /// published before is answered as such after).
    const INSERT_EVENTS_HEAD: &str =
        "INSERT INTO hub_events (event_id, event_type, body, received_sha256, published_at) ";
    const INSERT_EVENTS_TAIL: &str = " ON CONFLICT (event_id) DO NOTHING RETURNING seq, event_id";

    pub(super) async fn write_batch(pool: &PgPool, batch: &[Job]) -> Vec<Done> {
        // A batch of one is written alone at once (a second try would
        // repeat it). When a larger batch fails, nothing of it was
        // committed: each write is made again, alone, so only what failed
        // fails.
        if batch.len() > 1
            && let Ok(results) = all_together(pool, batch).await
        {
            return results;
        }
        let mut results = Vec::with_capacity(batch.len());
        for job in batch {
            results.push(match job {
                Job::Publish(p, _) => Done::Published(
                    ops::publish(
                        pool,
                        &p.event_id,
                        &p.event_type,
                        &p.body,
                        &p.received_sha256,
                        p.now,
                        p.keep_body,
                    )
                    .await,
                ),
                Job::Record(d, _) => Done::Recorded(
                    ops::record_delivered(pool, &d.webhook_id, d.token, d.lease, &d.delivered)
                        .await,
                ),
            });
        }
        results
    }

    /// The whole batch in one transaction, or the first failure (the
    /// transaction is then rolled back). The publications are written
    /// together: one statement for their events and one for their
    /// deliveries, not two for each (the writer's time went on round
    /// trips: 4 ms a write in batches of 14).
    async fn all_together(pool: &PgPool, batch: &[Job]) -> Result<Vec<Done>, ()> {
        let mut tx = pool.begin().await.map_err(drop)?;
        let publications: Vec<&Publication> = batch
            .iter()
            .filter_map(|job| match job {
                Job::Publish(p, _) => Some(p),
                Job::Record(..) => None,
            })
            .collect();
        let mut published = if publications.is_empty() {
            Vec::new()
        } else {
            let subscribers = ops::active_webhooks(&mut tx).await.map_err(drop)?;
            publish_all(&mut tx, &subscribers, &publications)
                .await
                .map_err(drop)?
        }
        .into_iter();
        let mut results = Vec::with_capacity(batch.len());
        for job in batch {
            match job {
                Job::Publish(..) => {
                    let result = published.next().ok_or(())?;
                    results.push(Done::Published(result));
                }
                Job::Record(d, _) => {
                    ops::record_delivered_in(
                        &mut tx,
                        &d.webhook_id,
                        d.token,
                        d.lease,
                        &d.delivered,
                    )
                    .await
                    .map_err(drop::<StoreError>)?;
                    results.push(Done::Recorded(Ok(())));
                }
            }
        }
        tx.commit().await.map_err(drop)?;
        Ok(results)
    }

    /// Rows of deliveries in one `INSERT` (7 parameters each, far under
    /// PostgreSQL's 65,535).
    const DELIVERY_ROWS: usize = 1000;

    /// Writes `publications` to `subscribers` in the transaction `tx` is
    /// in: each one's result, in order (an id published before, or earlier
    /// in the batch, is answered as a republication or
    /// [`PublishError::IdReused`]), or the store's error, which spoils the
    /// transaction.
    async fn publish_all(
        tx: &mut PgConnection,
        subscribers: &[StoredWebhook],
        publications: &[&Publication],
    ) -> Result<Vec<Result<Published, PublishError>>, StoreError> {
        // The first of each id is inserted; a later one in the batch is a
        // republication of it, answered after.
        let mut first_of: HashMap<&str, usize> = HashMap::new();
        for (n, p) in publications.iter().enumerate() {
            first_of.entry(p.event_id.as_str()).or_insert(n);
        }
        let mut insert = sqlx::QueryBuilder::<sqlx::Postgres>::new(INSERT_EVENTS_HEAD);
        insert.push_values(
            publications
                .iter()
                .enumerate()
                .filter(|(n, p)| first_of.get(p.event_id.as_str()) == Some(n)),
            |mut row, (_, p)| {
                row.push_bind(p.event_id.as_str())
                    .push_bind(p.event_type.as_str())
                    .push_bind(p.body.as_slice())
                    .push_bind(p.received_sha256.as_str())
                    .push_bind(millis(p.now));
            },
        );
        insert.push(INSERT_EVENTS_TAIL);
        let mut seqs: HashMap<String, i64> = HashMap::new();
        for row in insert.build().fetch_all(&mut *tx).await? {
            seqs.insert(row.try_get("event_id")?, row.try_get("seq")?);
        }

        let mut results: Vec<Option<Result<Published, PublishError>>> =
            Vec::with_capacity(publications.len());
        let mut rows: Vec<(NewDelivery, i64, i64)> = Vec::new();
        let mut without_deliveries: Vec<i64> = Vec::new();
        for (n, p) in publications.iter().enumerate() {
            let created = first_of.get(p.event_id.as_str()) == Some(&n);
            let Some(&seq) = seqs.get(&p.event_id).filter(|_| created) else {
                results.push(None);
                continue;
            };
            let mut deliveries = Vec::new();
            for target in subscribers
                .iter()
                .filter(|t| t.subscribes_to(&p.event_type))
            {
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
            results.push(Some(Ok(Published {
                created: true,
                published_at: p.now,
                deliveries,
            })));
        }
        for chunk in rows.chunks(DELIVERY_ROWS) {
            let mut insert = sqlx::QueryBuilder::<sqlx::Postgres>::new(INSERT_DELIVERIES);
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
        // No subscriber: nothing will be delivered, so the body is not
        // kept (the id and the received body's hash stay, so a
        // republication is still recognised).
        for seq in without_deliveries {
            sqlx::query(DROP_BODY)
                .bind(seq)
                .bind(&b""[..])
                .execute(&mut *tx)
                .await?;
        }
        // Published before, or earlier in this batch: read back (the
        // deliveries of this batch are written by now).
        let mut answered = Vec::with_capacity(publications.len());
        for (p, result) in publications.iter().zip(results) {
            answered.push(match result {
                Some(result) => result,
                None => match ops::existing_publication(&mut *tx, &p.event_id, &p.received_sha256)
                    .await
                {
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
}

/// `err` for each job of `batch`, which shared its transaction.
#[cfg(feature = "sqlite")]
fn shared_error(err: StoreError, batch: &[Job]) -> Vec<Done> {
    let err = Arc::new(err);
    batch
        .iter()
        .map(|job| match job {
            Job::Publish(..) => Done::Published(Err(PublishError::Store(StoreError::Batch(
                Arc::clone(&err),
            )))),
            Job::Record(..) => Done::Recorded(Err(StoreError::Batch(Arc::clone(&err)))),
        })
        .collect()
}
