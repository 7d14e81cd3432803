//! Group commit: publications and recorded successes.
//!
//! A commit costs an fsync, so one transaction per publication caps
//! publishing at the disk's fsync rate, and one per subscription's batch
//! of successes makes twenty subscriptions' dispatch tasks queue for the
//! database. Here a writing task takes every write queued while it was
//! busy (up to [`MAX_BATCH`]) and makes them in one transaction, with a
//! few statements for the whole batch whatever its size: the
//! subscriptions read once, the events in one `INSERT`, their deliveries
//! in one per thousand, and the successes of every subscription in one
//! `INSERT` of attempts, one renewal of the leases and one `UPDATE`. Each
//! caller is answered only after that commit, so a `202` still means the
//! event and its deliveries are on disk, and a success is recorded before
//! its lease may lapse.
//!
//! The same code writes on both backends. A batch fails only with the
//! store (an id reused with another body is answered as such, and spoils
//! nothing); then nothing of it was committed, and each write is made
//! again in a transaction of its own, so only what fails fails. There are
//! no savepoints: on PostgreSQL each is a subtransaction, and past 64 in
//! one transaction every other session's snapshots get slower.
//!
//! The writing task has a connection of its own, never queued behind the
//! dispatcher's reads. One task writes both the publications and the
//! successes, on both backends: with a second task for the successes,
//! PostgreSQL took more publications than it could deliver when the
//! machine was busy, and the deliveries fell seconds behind (p50 2 to 3.6
//! s, and fewer deliveries a second). Sharing the read of the
//! subscriptions also means one `FOR KEY SHARE` lock per subscription per
//! batch, not per publication: many publications locking the same rows at
//! once made PostgreSQL build a multixact for each.

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
    /// The event's `timestamp`: what the Events API reads it by.
    pub(crate) occurred_at: DateTime<Utc>,
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
                write_batch!(super::ops::sqlite, pool, &batch)
            }
            #[cfg(feature = "postgres")]
            Target::Postgres(pool) => write_batch!(super::ops::postgres, pool, &batch),
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

/// Writes `batch` with the ops of one backend: all of it in one
/// transaction, or, when that fails (the store's error: nothing of it was
/// committed), each write again in a transaction of its own, so only what
/// fails fails. A batch of one is written alone at once (a second try
/// would repeat it).
macro_rules! write_batch {
    ($ops:path, $pool:expr, $batch:expr) => {{
        use $ops as ops;
        let (pool, batch): (_, &[Job]) = ($pool, $batch);
        let (publications, records) = split(batch);
        let together = if batch.len() > 1 {
            ops::write_together(pool, &publications, &records)
                .await
                .ok()
        } else {
            None
        };
        match together {
            Some(published) => answers(batch, published),
            None => {
                let mut results = Vec::with_capacity(batch.len());
                for job in batch {
                    results.push(match job {
                        Job::Publish(p, _) => Done::Published(ops::publish(pool, p).await),
                        Job::Record(d, _) => Done::Recorded(ops::record_delivered(pool, d).await),
                    });
                }
                results
            }
        }
    }};
}
use write_batch;

/// What a publication gets when a batch answered fewer than it held.
pub(crate) fn unanswered() -> Result<Published, PublishError> {
    Err(PublishError::Store(StoreError::Corrupt(
        "a publication went unanswered".to_string(),
    )))
}

/// The publications and the successes of `batch`, each in order.
fn split(batch: &[Job]) -> (Vec<&Publication>, Vec<&Delivered>) {
    let mut publications = Vec::new();
    let mut records = Vec::new();
    for job in batch {
        match job {
            Job::Publish(p, _) => publications.push(p),
            Job::Record(d, _) => records.push(d),
        }
    }
    (publications, records)
}

/// Each job's result after its batch committed: the publications' own, in
/// order (an id reused fails alone), and the successes recorded.
fn answers(batch: &[Job], published: Vec<Result<Published, PublishError>>) -> Vec<Done> {
    let mut published = published.into_iter();
    batch
        .iter()
        .map(|job| match job {
            Job::Publish(..) => Done::Published(published.next().unwrap_or_else(unanswered)),
            Job::Record(..) => Done::Recorded(Ok(())),
        })
        .collect()
}
