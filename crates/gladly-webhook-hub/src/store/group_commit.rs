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

use tokio::sync::{mpsc, oneshot};

use super::backend::Pool;
use super::publish::{Publication, write_together};
use super::successes::Delivered;
use super::{PublishError, Published, StoreError, WriteTurns};

/// The most writes made in one transaction.
pub(crate) const MAX_BATCH: usize = 256;

/// A write queued for the task, with where its answer goes.
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
    /// Starts the writing task on `pool`, taking this process's write
    /// turns (needs a Tokio runtime).
    pub(crate) fn start(pool: Pool, turns: WriteTurns) -> Self {
        let (queue, receiver) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(write_jobs(pool, turns, receiver));
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
async fn write_jobs(pool: Pool, turns: WriteTurns, mut queue: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Writes on their way share the commit (a lone one is made at once).
        gladly_webhook_server::batch::gather(&mut queue, &mut batch, MAX_BATCH).await;
        let results = {
            let _turn = turns.take(&pool).await;
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

/// Writes `batch`: all of it in one transaction, or, when that fails (the
/// store's error: nothing of it was committed), each write again in a
/// transaction of its own, so only what fails fails. A batch of one is
/// written alone at once (a second try would repeat it).
async fn write_batch(pool: &Pool, batch: &[Job]) -> Vec<Done> {
    let (publications, records) = split(batch);
    if batch.len() > 1
        && let Ok(published) = write_together(pool, &publications, &records).await
    {
        return answers(batch, published);
    }
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        results.push(match job {
            Job::Publish(p, _) => Done::Published(match write_together(pool, &[p], &[]).await {
                Ok(mut published) => published.pop().unwrap_or_else(unanswered),
                Err(err) => Err(err.into()),
            }),
            Job::Record(d, _) => Done::Recorded(write_together(pool, &[], &[d]).await.map(drop)),
        });
    }
    results
}

/// What a publication gets when a batch answered fewer than it held.
fn unanswered() -> Result<Published, PublishError> {
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
