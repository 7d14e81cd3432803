//! [`PgInbox`]: the inbox on PostgreSQL, for several receivers and workers
//! on several machines.
//!
//! Each write is its own transaction on a pooled connection (PostgreSQL
//! already flushes concurrent commits together). Workers claim with
//! `FOR UPDATE SKIP LOCKED`, so two never hold the same row.

use std::time::Duration;

use chrono::Utc;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, SqlStr};

use super::ops::{CLAIM_POSTGRES, Write, Written, get_sql, list_sql, postgres as ops};
use super::{
    BoxFuture, Claimed, HistoryEntry, Inbox, InboxError, Inserted, ListFilter, NewEvent, Outcome,
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
#[derive(Clone, Debug)]
pub struct PgInbox {
    pool: PgPool,
}

/// The migrations, embedded.
fn migrator() -> sqlx::migrate::Migrator {
    sqlx::migrate::Migrator::with_migrations(vec![sqlx::migrate::Migration::new(
        1,
        "inbox".into(),
        sqlx::migrate::MigrationType::Simple,
        SqlStr::from_static(include_str!("../../migrations/postgres/0001_inbox.sql")),
        false,
    )])
}

impl PgInbox {
    /// Connects to `url` with a pool of up to 16 connections, and applies
    /// the migrations (under PostgreSQL's advisory lock, so processes that
    /// start together do not race).
    pub async fn connect(url: &str) -> Result<Self, InboxError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        Self::with_pool(pool).await
    }

    /// Uses `pool`, applying the migrations.
    pub async fn with_pool(pool: PgPool) -> Result<Self, InboxError> {
        migrator().run(&pool).await?;
        Ok(Self { pool })
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn write(&self, write: Write) -> Result<Written, InboxError> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let written = ops::apply(&mut tx, write, Utc::now(), CLAIM_POSTGRES).await?;
        tx.commit().await?;
        Ok(written)
    }
}

fn unexpected() -> InboxError {
    InboxError::Corrupt("a write returned another kind of answer".to_string())
}

impl Inbox for PgInbox {
    fn insert(&self, event: NewEvent) -> BoxFuture<'_, Result<Inserted, InboxError>> {
        Box::pin(async move {
            match self.write(Write::Insert(event)).await? {
                Written::Inserted(i) => Ok(i),
                _ => Err(unexpected()),
            }
        })
    }

    fn claim(&self, lease: Duration) -> BoxFuture<'_, Result<Option<Claimed>, InboxError>> {
        Box::pin(async move {
            match self.write(Write::Claim(lease)).await? {
                Written::Claimed(c) => Ok(c),
                _ => Err(unexpected()),
            }
        })
    }

    fn extend_lease(
        &self,
        seq: i64,
        lease_token: i64,
        lease: Duration,
    ) -> BoxFuture<'_, Result<bool, InboxError>> {
        Box::pin(async move {
            let write = Write::Extend {
                seq,
                lease_token,
                lease,
            };
            changed(self.write(write).await?)
        })
    }

    fn finish(
        &self,
        seq: i64,
        lease_token: i64,
        outcome: Outcome,
    ) -> BoxFuture<'_, Result<bool, InboxError>> {
        Box::pin(async move {
            let write = Write::Finish {
                seq,
                lease_token,
                outcome,
            };
            changed(self.write(write).await?)
        })
    }

    fn requeue<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, InboxError>> {
        Box::pin(async move { changed(self.write(Write::Requeue(key.to_string())).await?) })
    }

    fn requeue_all_dead(&self) -> BoxFuture<'_, Result<u64, InboxError>> {
        Box::pin(async move { count(self.write(Write::RequeueAllDead).await?) })
    }

    fn purge(&self, retention: Duration) -> BoxFuture<'_, Result<u64, InboxError>> {
        Box::pin(async move { count(self.write(Write::Purge(retention)).await?) })
    }

    fn stats(&self) -> BoxFuture<'_, Result<Stats, InboxError>> {
        Box::pin(async move { ops::stats(&self.pool, &self.pool).await })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredEvent>, InboxError>> {
        Box::pin(async move {
            let sql = get_sql();
            ops::get(&self.pool, &sql, key).await
        })
    }

    fn history(&self, seq: i64) -> BoxFuture<'_, Result<Vec<HistoryEntry>, InboxError>> {
        Box::pin(async move { ops::history_of(&self.pool, seq).await })
    }

    fn list(&self, filter: ListFilter) -> BoxFuture<'_, Result<Vec<StoredEvent>, InboxError>> {
        Box::pin(async move {
            let sql = list_sql();
            ops::list(&self.pool, &sql, filter).await
        })
    }
}

fn changed(written: Written) -> Result<bool, InboxError> {
    match written {
        Written::Changed(b) => Ok(b),
        _ => Err(unexpected()),
    }
}

fn count(written: Written) -> Result<u64, InboxError> {
    match written {
        Written::Count(n) => Ok(n),
        _ => Err(unexpected()),
    }
}
