//! Group commit of publications on SQLite.
//!
//! SQLite has one writer at a time and a commit costs an fsync, so one
//! transaction per publication caps publishing at the disk's fsync rate.
//! Here one task takes every publication queued while it was busy (up to
//! [`MAX_BATCH`]) and writes them in one transaction, each in a savepoint
//! of its own: a publication that fails (an id reused with another body)
//! is rolled back alone, and the others commit. Each caller is answered
//! only after that commit, so a `202` still means the event and its
//! deliveries are on disk.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::{Connection, SqlitePool};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::ops::sqlite as ops;
use super::{PublishError, Published, StoreError};

/// The most publications written in one transaction.
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

struct Queued {
    publication: Publication,
    answer: oneshot::Sender<Result<Published, PublishError>>,
}

/// The handle to the task that writes publications; the task ends when
/// the last handle is dropped.
#[derive(Clone)]
pub(crate) struct Publisher {
    queue: mpsc::Sender<Queued>,
}

impl Publisher {
    /// Starts the writing task on `pool` (needs a Tokio runtime); it
    /// takes its turn with the store's other writes at `writes`.
    pub(crate) fn start(pool: SqlitePool, writes: Arc<Mutex<()>>) -> Self {
        let (queue, receiver) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(write_publications(pool, writes, receiver));
        Self { queue }
    }

    /// Publishes with the others queued meanwhile; answers after the
    /// commit.
    pub(crate) async fn publish(
        &self,
        publication: Publication,
    ) -> Result<Published, PublishError> {
        let (answer, answered) = oneshot::channel();
        let queued = Queued {
            publication,
            answer,
        };
        self.queue.send(queued).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

fn stopped() -> PublishError {
    PublishError::Store(StoreError::Corrupt(
        "the store's publishing task has stopped".to_string(),
    ))
}

/// The task: one transaction per batch of queued publications.
async fn write_publications(
    pool: SqlitePool,
    writes: Arc<Mutex<()>>,
    mut queue: mpsc::Receiver<Queued>,
) {
    let mut batch: Vec<Queued> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let results = {
            let _turn = writes.lock().await;
            write_batch(&pool, &batch).await
        };
        for (queued, result) in batch.drain(..).zip(results) {
            // A caller that went away (its request was cancelled) is not
            // waiting: its publication stands all the same.
            let _ = queued.answer.send(result);
        }
    }
}

/// Writes `batch` in one transaction: each publication's result, or, when
/// the transaction could not begin or commit, that error for each.
async fn write_batch(pool: &SqlitePool, batch: &[Queued]) -> Vec<Result<Published, PublishError>> {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(err) => return shared_error(err.into(), batch.len()),
    };
    // The subscriptions are read once for the batch: nothing changes them
    // while this transaction holds SQLite's one write lock.
    let subscribers = match ops::active_webhooks(&mut tx).await {
        Ok(subscribers) => subscribers,
        Err(err) => return shared_error(err, batch.len()),
    };
    let mut results = Vec::with_capacity(batch.len());
    for queued in batch {
        let p = &queued.publication;
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
        results.push(result);
    }
    match tx.commit().await {
        Ok(()) => results,
        Err(err) => shared_error(err.into(), batch.len()),
    }
}

/// `err` for each of `n` callers, which shared its transaction.
fn shared_error(err: StoreError, n: usize) -> Vec<Result<Published, PublishError>> {
    let err = Arc::new(err);
    (0..n)
        .map(|_| Err(PublishError::Store(StoreError::Batch(Arc::clone(&err)))))
        .collect()
}
