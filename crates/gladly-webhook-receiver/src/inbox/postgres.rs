//! [`PgInbox`]: the inbox on PostgreSQL, for several receivers and workers
//! on several machines.
//!
//! Each write is its own transaction on a pooled connection (PostgreSQL
//! already flushes concurrent commits together). Workers claim with
//! `FOR UPDATE SKIP LOCKED`, so two never hold the same row.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::Utc;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions};
use sqlx::{Connection, SqlStr};
use tokio::sync::Notify;

use super::ops::{CLAIM_POSTGRES, Write, Written, get_sql, list_sql, postgres as ops, unexpected};
use super::{
    BoxFuture, Claimed, HistoryEntry, InboxError, Inserted, ListFilter, NewEvent, Outcome, State,
    Stats, StoredEvent,
};

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
        Ok(Self {
            pool,
            wakeups: Arc::default(),
        })
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn write(&self, write: Write) -> Result<Written, InboxError> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        // New work for other processes' workers: announced on commit.
        let announce = matches!(
            &write,
            Write::Insert(event) if event.state == State::Pending
        ) || matches!(
            write,
            Write::Requeue(_) | Write::Rerun(_) | Write::RequeueAllDead
        );
        let written = ops::apply(&mut tx, write, Utc::now(), CLAIM_POSTGRES).await?;
        if announce {
            sqlx::query("NOTIFY gladly_inbox").execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(written)
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

super::ops::impl_inbox!(PgInbox, ops, pool, wakeups = listen);
