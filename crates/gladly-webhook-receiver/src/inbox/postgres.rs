//! [`PgInbox`]: the inbox on PostgreSQL, for several receivers and workers
//! on several machines.
//!
//! Writes are group-committed, as the SQLite inbox's are: one writing task
//! takes every write queued while it was busy (up to [`MAX_BATCH`]) and
//! runs them in one transaction, the inserts in one multi-row statement,
//! then answers each caller after the commit. A write per transaction cost
//! a commit's round trip and WAL flush each (3,500 deliveries a second at
//! 64 connections, where the hub's group commit writes three times as many
//! rows to the same server). A failed batch fails every write in it (each
//! caller gets the error; a receiver answers 503, Gladly retries). Workers
//! claim with `FOR UPDATE SKIP LOCKED`, so two never hold the same row.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::Utc;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions};
use sqlx::{Connection, SqlStr};
use tokio::sync::{Notify, mpsc};

use super::backed::Backed;
use super::backend::{Conn, Db, Pool};
use super::jobs::{Answer, Job, run_batch};
use super::{BoxFuture, InboxError};

/// The inbox on PostgreSQL. Cloning it shares its pool.
///
/// ```no_run
/// use gladly_webhook_receiver::inbox::{Inbox, PgInbox};
///
/// # async fn demo() -> Result<(), gladly_webhook_receiver::inbox::InboxError> {
/// let inbox = PgInbox::connect("postgres://gladly@db.internal/gladly").await?;
/// println!("{:?}", inbox.stats().await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PgInbox {
    pool: PgPool,
    /// The writing task's queue.
    writes: mpsc::Sender<Job>,
    /// The same pool, as the reads take it.
    reads: Pool,
    wakeups: Arc<OnceLock<Listening>>,
}

/// The `LISTEN gladly_inbox` task and the signal it raises; the task stops
/// when the last clone of the inbox is dropped.
struct Listening {
    notify: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The channel stores and requeues are announced on.
const CHANNEL: &str = "gladly_inbox";

impl std::fmt::Debug for PgInbox {
    /// The pool's state, never its connection options (they may hold a
    /// password).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgInbox")
            .field("connections", &self.pool.size())
            .field("idle", &self.pool.num_idle())
            .finish_non_exhaustive()
    }
}

/// The migrations, embedded.
fn migrator() -> sqlx::migrate::Migrator {
    sqlx::migrate::Migrator::with_migrations(vec![
        sqlx::migrate::Migration::new(
            1,
            "inbox".into(),
            sqlx::migrate::MigrationType::Simple,
            SqlStr::from_static(include_str!("../../migrations/postgres/0001_inbox.sql")),
            false,
        ),
        sqlx::migrate::Migration::new(
            2,
            "cursors".into(),
            sqlx::migrate::MigrationType::Simple,
            SqlStr::from_static(include_str!("../../migrations/postgres/0002_cursors.sql")),
            false,
        ),
    ])
}

/// Connects once, outside any pool, so that a server that cannot be used
/// reports why (connection refused, password authentication failed, no
/// such database) instead of the pool's "timed out".
async fn first_connection(options: &PgConnectOptions, within: Duration) -> Result<(), sqlx::Error> {
    match tokio::time::timeout(within, PgConnection::connect_with(options)).await {
        Ok(connection) => connection?.close().await,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("the server did not answer within {} s", within.as_secs()),
        ))),
    }
}

impl PgInbox {
    /// Connects to `url` with a pool of up to 16 connections, and applies
    /// the migrations (under PostgreSQL's advisory lock, so processes that
    /// start together do not race).
    pub async fn connect(url: &str) -> Result<Self, InboxError> {
        let options: PgConnectOptions = url.parse()?;
        first_connection(&options, Duration::from_secs(5)).await?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Self::with_pool(pool).await
    }

    /// Uses `pool`, applying the migrations.
    pub async fn with_pool(pool: PgPool) -> Result<Self, InboxError> {
        migrator().run(&pool).await?;
        let (writes, queue) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(write_loop(pool.clone(), queue));
        Ok(Self {
            reads: Db::Postgres(pool.clone()),
            writes,
            pool,
            wakeups: Arc::default(),
        })
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The most writes committed together.
pub(crate) const MAX_BATCH: usize = 512;

/// The writing task: takes what is queued, up to [`MAX_BATCH`], runs it in
/// one transaction (announcing new work to other processes' workers), and
/// answers every caller after the commit, or with the error of a batch
/// that failed. Ends when the last clone of the inbox is dropped.
async fn write_loop(pool: PgPool, mut queue: mpsc::Receiver<Job>) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let count = jobs.len();
        match write_batch(&pool, std::mem::take(&mut jobs)).await {
            Ok(answers) => answers.into_iter().for_each(|a| a.send(None)),
            Err((err, answers)) => {
                tracing::warn!(error = %err, writes = count, "inbox write failed; nothing in it was stored");
                answers.into_iter().for_each(|a| a.send(Some(&err)));
            }
        }
    }
}

/// Runs `jobs` in one transaction and commits it: each job's answer, or the
/// error that spoiled the batch with every answer.
async fn write_batch(
    pool: &PgPool,
    jobs: Vec<Job>,
) -> Result<Vec<Answer>, (InboxError, Vec<Answer>)> {
    let announce = jobs.iter().any(Job::makes_work);
    let refused = |err: sqlx::Error, jobs: Vec<Job>| {
        (
            InboxError::from(err),
            jobs.into_iter().map(Answer::refused).collect(),
        )
    };
    let mut tx = match pool.begin().await {
        Ok(tx) => tx,
        Err(err) => return Err(refused(err, jobs)),
    };
    let answers = run_batch(Conn::from(&mut *tx), jobs, Utc::now()).await?;
    let committed = async {
        if announce {
            sqlx::query("NOTIFY gladly_inbox").execute(&mut *tx).await?;
        }
        tx.commit().await
    };
    match committed.await {
        Ok(()) => Ok(answers),
        Err(err) => Err((InboxError::from(err), answers)),
    }
}

impl Backed for PgInbox {
    fn submit(&self, job: Job) -> BoxFuture<'_, ()> {
        // A job the writer never takes is answered `Closed` when its reply
        // is dropped with it.
        Box::pin(async move {
            let _ = self.writes.send(job).await;
        })
    }

    fn reads(&self) -> &Pool {
        &self.reads
    }

    fn wakeups(&self) -> Option<Arc<Notify>> {
        Some(self.listen())
    }
}

impl PgInbox {
    /// The signal of [`Inbox::wakeups`](super::Inbox::wakeups): starts
    /// listening on first use (one more connection, held while the inbox
    /// lives). A lost connection is re-established; until then workers
    /// poll.
    fn listen(&self) -> Arc<Notify> {
        let listening = self.wakeups.get_or_init(|| {
            let notify = Arc::new(Notify::new());
            let (pool, signal) = (self.pool.clone(), Arc::clone(&notify));
            let task = tokio::spawn(async move {
                loop {
                    match PgListener::connect_with(&pool).await {
                        Ok(mut listener) => {
                            if listener.listen(CHANNEL).await.is_ok() {
                                // Work may have arrived while not listening.
                                signal.notify_waiters();
                                while listener.recv().await.is_ok() {
                                    signal.notify_waiters();
                                }
                            }
                        }
                        Err(err) => tracing::warn!(error = %err, "cannot LISTEN for new inbox work; workers poll"),
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
            Listening { notify, task }
        });
        Arc::clone(&listening.notify)
    }
}
