//! Group commit on SQLite: publications and recorded successes.
//!
//! SQLite has one writer at a time and a commit costs an fsync, so one
//! transaction per publication caps publishing at the disk's fsync rate,
//! and one per subscription's batch of successes makes twenty
//! subscriptions' dispatch tasks queue for the writer. Here one task takes
//! every write queued while it was busy (up to [`MAX_BATCH`]: publications
//! and the successes of any subscriptions) and makes them in one
//! transaction, each in a savepoint of its own: one that fails (an id
//! reused with another body) is rolled back alone, and the others commit.
//! Each caller is answered only after that commit, so a `202` still means
//! the event and its deliveries are on disk, and a success is recorded
//! before its lease may lapse.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{Connection, SqlitePool};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::ops::sqlite as ops;
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

/// The handle to the task that writes; the task ends when the last handle
/// is dropped.
#[derive(Clone)]
pub(crate) struct Publisher {
    queue: mpsc::Sender<Job>,
}

impl Publisher {
    /// Starts the writing task on `pool` (needs a Tokio runtime); it
    /// takes its turn with the store's other writes at `writes`.
    pub(crate) fn start(pool: SqlitePool, writes: Arc<Mutex<()>>) -> Self {
        let (queue, receiver) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(write_jobs(pool, writes, receiver));
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
async fn write_jobs(pool: SqlitePool, writes: Arc<Mutex<()>>, mut queue: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let results = {
            let _turn = writes.lock().await;
            write_batch(&pool, &batch).await
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

/// Writes `batch` in one transaction: each job's result, or, when the
/// transaction could not begin or commit, that error for each.
async fn write_batch(pool: &SqlitePool, batch: &[Job]) -> Vec<Done> {
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

/// `err` for each job of `batch`, which shared its transaction.
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
