//! The inbox's writes and reads, as SQL both backends run (sqlx binds
//! `$N` parameters on SQLite as on PostgreSQL), and [`backend_ops!`], which
//! writes the code that runs them once per backend: the same code, on each
//! backend's concrete types.

use std::time::Duration;

use super::{Claimed, InboxError, Inserted, NewEvent, Outcome};

/// The columns every query that returns whole rows selects, in order.
pub(crate) const STORED_COLUMNS: &str = "seq, dedup_key, event_id, event_type, body, received_at, \
    state, attempts, next_run_at, lease_until, last_error, updated_at";

/// A write, as the single SQLite writer queues it and PostgreSQL runs it.
#[derive(Debug)]
pub(crate) enum Write {
    Insert(NewEvent),
    Claim(Duration),
    Extend {
        seq: i64,
        lease_token: i64,
        lease: Duration,
    },
    Finish {
        seq: i64,
        lease_token: i64,
        outcome: Outcome,
    },
    Requeue(String),
    Rerun(String),
    SetCursor {
        name: String,
        value: String,
    },
    RequeueAllDead,
    Purge(Duration),
}

/// What a write returns.
#[derive(Debug)]
pub(crate) enum Written {
    Inserted(Inserted),
    Claimed(Option<Claimed>),
    Changed(bool),
    Count(u64),
}

/// The columns an insert writes, in the order of [`INSERT`]'s values.
#[cfg(feature = "sqlite")]
pub(crate) const INSERT_COLUMNS: &str = "(dedup_key, event_id, event_type, body, received_at, state, attempts, next_run_at, last_error, updated_at)";

const INSERT: &str = "INSERT INTO gladly_inbox \
    (dedup_key, event_id, event_type, body, received_at, state, attempts, next_run_at, last_error, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, 0, $5, $7, $5) \
    ON CONFLICT (dedup_key) DO NOTHING RETURNING seq";

pub(crate) const HISTORY: &str = "INSERT INTO gladly_inbox_history (seq, at, attempt, outcome, detail) VALUES ($1, $2, $3, $4, $5)";

/// The claim, with `{lock}` where PostgreSQL adds `FOR UPDATE SKIP LOCKED`.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE gladly_inbox SET state = 'running', attempts = attempts + 1, \
             lease_until = $2, lease_token = $3, updated_at = $1 \
             WHERE seq = (SELECT seq FROM ( \
                 SELECT seq, due FROM (SELECT seq, next_run_at AS due FROM gladly_inbox \
                     WHERE state = 'pending' AND next_run_at <= $1 ORDER BY next_run_at LIMIT 1 ",
            $lock,
            ") AS p \
                 UNION ALL \
                 SELECT seq, due FROM (SELECT seq, lease_until AS due FROM gladly_inbox \
                     WHERE state = 'running' AND lease_until <= $1 ORDER BY lease_until LIMIT 1 ",
            $lock,
            ") AS r \
             ) AS due_rows ORDER BY due LIMIT 1) \
             AND (state = 'pending' OR lease_until <= $1) \
             RETURNING seq, dedup_key, event_id, event_type, body, attempts"
        )
    };
}

/// The claim on SQLite: its single writer needs no row locks.
#[cfg(feature = "sqlite")]
pub(crate) const CLAIM_SQLITE: &str = claim_sql!("");
/// The claim on PostgreSQL: concurrent workers skip each other's rows.
#[cfg(feature = "postgres")]
pub(crate) const CLAIM_POSTGRES: &str = claim_sql!("FOR UPDATE SKIP LOCKED");

const EXTEND: &str = "UPDATE gladly_inbox SET lease_until = $3, updated_at = $4 \
    WHERE seq = $1 AND lease_token = $2 AND state = 'running'";

const FINISH: &str = "UPDATE gladly_inbox SET state = $4, attempts = attempts - $5, \
    next_run_at = COALESCE($6, next_run_at), last_error = COALESCE($7, last_error), \
    lease_until = NULL, lease_token = NULL, updated_at = $3 \
    WHERE seq = $1 AND lease_token = $2 AND state = 'running' RETURNING attempts";

const REQUEUE: &str = "UPDATE gladly_inbox SET state = 'pending', attempts = 0, next_run_at = $2, updated_at = $2 \
    WHERE (dedup_key = $1 OR event_id = $1) AND state = 'dead' RETURNING seq";

const RERUN: &str = "UPDATE gladly_inbox SET state = 'pending', attempts = 0, next_run_at = $2, updated_at = $2 \
    WHERE (dedup_key = $1 OR event_id = $1) AND state = 'done' RETURNING seq";

const SET_CURSOR: &str = "INSERT INTO gladly_inbox_cursors (name, value, updated_at) VALUES ($1, $2, $3) \
    ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
pub(crate) const CURSOR: &str = "SELECT value FROM gladly_inbox_cursors WHERE name = $1";

const REQUEUE_ALL: &str = "UPDATE gladly_inbox SET state = 'pending', attempts = 0, next_run_at = $1, updated_at = $1 \
    WHERE state = 'dead' RETURNING seq";

const PURGE_HISTORY: &str = "DELETE FROM gladly_inbox_history WHERE seq IN \
    (SELECT seq FROM gladly_inbox WHERE state = 'done' AND updated_at < $1)";

const PURGE: &str = "DELETE FROM gladly_inbox WHERE state = 'done' AND updated_at < $1";

const STATS: &str = "SELECT state, COUNT(*) AS n FROM gladly_inbox GROUP BY state";
const OLDEST_PENDING: &str =
    "SELECT MIN(received_at) AS oldest FROM gladly_inbox WHERE state = 'pending'";

/// The SQL of [`get`].
pub(crate) fn get_sql() -> String {
    format!(
        "SELECT {STORED_COLUMNS} FROM gladly_inbox WHERE dedup_key = $1 OR event_id = $1 ORDER BY seq LIMIT 1"
    )
}

/// The SQL of [`list`].
pub(crate) fn list_sql() -> String {
    format!(
        "SELECT {STORED_COLUMNS} FROM gladly_inbox \
         WHERE (CAST($1 AS TEXT) IS NULL OR state = $1) AND (CAST($2 AS TEXT) IS NULL OR event_type = $2) \
         ORDER BY seq DESC LIMIT $3"
    )
}

/// The SQL of a row's history.
pub(crate) const HISTORY_SQL: &str = "SELECT at, attempt, outcome, detail FROM gladly_inbox_history WHERE seq = $1 ORDER BY at, attempt";

/// The functions that run [`Write`]s and the reads on one backend's
/// connection types: `backend_ops!(sqlite, sqlx::Sqlite)` makes the module
/// `sqlite`.
macro_rules! backend_ops {
    ($name:ident, $db:ty) => {
        pub(crate) mod $name {
            use std::time::Duration;

            use chrono::{DateTime, Utc};
            use sqlx::{Database, Executor, Row};

            use super::*;
            use crate::inbox::{
                Claimed, HistoryEntry, InboxError, Inserted, ListFilter, Outcome, State, Stats,
                StoredEvent, from_millis, lease_token, list_limit, millis, millis_after,
            };

            type DB = $db;

            /// Runs `write` on `conn` (inside the caller's transaction), at `now`.
            pub(crate) async fn apply(
                conn: &mut <DB as Database>::Connection,
                write: Write,
                now: DateTime<Utc>,
                claim_sql: &'static str,
            ) -> Result<Written, InboxError> {
                let at = millis(now);
                match write {
                    Write::Insert(event) => {
                        let error = event.error.clone();
                        let dead = event.state == State::Dead;
                        let inserted = sqlx::query(INSERT)
                            .bind(event.dedup_key)
                            .bind(event.event_id)
                            .bind(event.event_type)
                            .bind(event.body)
                            .bind(millis(event.received_at))
                            .bind(event.state.as_str())
                            .bind(event.error)
                            .fetch_optional(&mut *conn)
                            .await?;
                        match inserted {
                            None => Ok(Written::Inserted(Inserted::Duplicate)),
                            Some(row) => {
                                if dead {
                                    let seq: i64 = row.try_get("seq")?;
                                    history(conn, seq, at, 0, "dead", error).await?;
                                }
                                Ok(Written::Inserted(Inserted::New))
                            }
                        }
                    }
                    Write::Claim(lease) => {
                        let token = lease_token();
                        let row = sqlx::query(claim_sql)
                            .bind(at)
                            .bind(millis_after(now, lease))
                            .bind(token)
                            .fetch_optional(&mut *conn)
                            .await?;
                        Ok(Written::Claimed(
                            row.as_ref().map(|row| claimed(row, token)).transpose()?,
                        ))
                    }
                    Write::Extend {
                        seq,
                        lease_token,
                        lease,
                    } => {
                        let done = sqlx::query(EXTEND)
                            .bind(seq)
                            .bind(lease_token)
                            .bind(millis_after(now, lease))
                            .bind(at)
                            .execute(&mut *conn)
                            .await?;
                        Ok(Written::Changed(done.rows_affected() == 1))
                    }
                    Write::Finish {
                        seq,
                        lease_token,
                        outcome,
                    } => {
                        let (state, uncount, retry_at, error, label) = match outcome {
                            Outcome::Done => (State::Done, 0, None, None, "done"),
                            Outcome::Retry { error, retry_at } => (
                                State::Pending,
                                0,
                                Some(millis(retry_at)),
                                Some(error),
                                "failed",
                            ),
                            Outcome::Dead { error } => (State::Dead, 0, None, Some(error), "dead"),
                            Outcome::Released => (State::Pending, 1, Some(at), None, "released"),
                        };
                        let row = sqlx::query(FINISH)
                            .bind(seq)
                            .bind(lease_token)
                            .bind(at)
                            .bind(state.as_str())
                            .bind(uncount)
                            .bind(retry_at)
                            .bind(error.clone())
                            .fetch_optional(&mut *conn)
                            .await?;
                        let Some(row) = row else {
                            return Ok(Written::Changed(false));
                        };
                        let attempts: i64 = row.try_get("attempts")?;
                        history(conn, seq, at, attempts + uncount, label, error).await?;
                        Ok(Written::Changed(true))
                    }
                    Write::Requeue(key) => {
                        let rows = sqlx::query(REQUEUE)
                            .bind(key)
                            .bind(at)
                            .fetch_all(&mut *conn)
                            .await?;
                        for row in &rows {
                            history(conn, row.try_get("seq")?, at, 0, "requeued", None).await?;
                        }
                        Ok(Written::Changed(!rows.is_empty()))
                    }
                    Write::Rerun(key) => {
                        let rows = sqlx::query(RERUN)
                            .bind(key)
                            .bind(at)
                            .fetch_all(&mut *conn)
                            .await?;
                        for row in &rows {
                            history(conn, row.try_get("seq")?, at, 0, "rerun", None).await?;
                        }
                        Ok(Written::Changed(!rows.is_empty()))
                    }
                    Write::SetCursor { name, value } => {
                        sqlx::query(SET_CURSOR)
                            .bind(name)
                            .bind(value)
                            .bind(at)
                            .execute(&mut *conn)
                            .await?;
                        Ok(Written::Changed(true))
                    }
                    Write::RequeueAllDead => {
                        let rows = sqlx::query(REQUEUE_ALL)
                            .bind(at)
                            .fetch_all(&mut *conn)
                            .await?;
                        for row in &rows {
                            history(conn, row.try_get("seq")?, at, 0, "requeued", None).await?;
                        }
                        Ok(Written::Count(rows.len() as u64))
                    }
                    Write::Purge(retention) => {
                        let cutoff = at.saturating_sub(
                            i64::try_from(retention.as_millis()).unwrap_or(i64::MAX),
                        );
                        sqlx::query(PURGE_HISTORY)
                            .bind(cutoff)
                            .execute(&mut *conn)
                            .await?;
                        let done = sqlx::query(PURGE).bind(cutoff).execute(&mut *conn).await?;
                        Ok(Written::Count(done.rows_affected()))
                    }
                }
            }

            async fn history(
                conn: &mut <DB as Database>::Connection,
                seq: i64,
                at: i64,
                attempt: i64,
                outcome: &'static str,
                detail: Option<String>,
            ) -> Result<(), InboxError> {
                sqlx::query(HISTORY)
                    .bind(seq)
                    .bind(at)
                    .bind(attempt)
                    .bind(outcome)
                    .bind(detail)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            /// Counts per state and the oldest pending row's age.
            pub(crate) async fn stats<'c, E>(conn: E, oldest_conn: E) -> Result<Stats, InboxError>
            where
                E: Executor<'c, Database = DB>,
            {
                let mut stats = Stats::default();
                for row in sqlx::query(STATS).fetch_all(conn).await? {
                    let n: i64 = row.try_get("n")?;
                    let n = u64::try_from(n).unwrap_or(0);
                    match State::parse(&row.try_get::<String, _>("state")?)? {
                        State::Pending => stats.pending = n,
                        State::Running => stats.running = n,
                        State::Done => stats.done = n,
                        State::Dead => stats.dead = n,
                    }
                }
                let oldest: Option<i64> = sqlx::query(OLDEST_PENDING)
                    .fetch_one(oldest_conn)
                    .await?
                    .try_get("oldest")?;
                stats.oldest_pending_age = oldest.map(|received| {
                    let age = millis(Utc::now()).saturating_sub(received);
                    Duration::from_millis(u64::try_from(age).unwrap_or(0))
                });
                Ok(stats)
            }

            /// Reads a row by key.
            pub(crate) async fn get<'c, E>(
                conn: E,
                sql: &'c str,
                key: &'c str,
            ) -> Result<Option<StoredEvent>, InboxError>
            where
                E: Executor<'c, Database = DB>,
            {
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(key)
                    .fetch_optional(conn)
                    .await?;
                row.as_ref().map(stored).transpose()
            }

            /// Lists rows.
            pub(crate) async fn list<'c, E>(
                conn: E,
                sql: &'c str,
                filter: ListFilter,
            ) -> Result<Vec<StoredEvent>, InboxError>
            where
                E: Executor<'c, Database = DB>,
            {
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(filter.state.map(|s| s.as_str().to_string()))
                    .bind(filter.event_type.clone())
                    .bind(list_limit(&filter))
                    .fetch_all(conn)
                    .await?;
                rows.iter().map(stored).collect()
            }

            /// Reads a row's history.
            pub(crate) async fn history_of<'c, E>(
                conn: E,
                seq: i64,
            ) -> Result<Vec<HistoryEntry>, InboxError>
            where
                E: Executor<'c, Database = DB>,
            {
                let rows = sqlx::query(HISTORY_SQL).bind(seq).fetch_all(conn).await?;
                rows.iter().map(history_entry).collect()
            }

            /// A row of the stored columns.
            fn stored(row: &<DB as Database>::Row) -> Result<StoredEvent, InboxError> {
                Ok(StoredEvent {
                    seq: row.try_get("seq")?,
                    dedup_key: row.try_get("dedup_key")?,
                    event_id: row.try_get("event_id")?,
                    event_type: row.try_get("event_type")?,
                    body: row.try_get("body")?,
                    received_at: from_millis(row.try_get("received_at")?)?,
                    state: State::parse(&row.try_get::<String, _>("state")?)?,
                    attempts: count(row.try_get("attempts")?),
                    next_run_at: from_millis(row.try_get("next_run_at")?)?,
                    lease_until: row
                        .try_get::<Option<i64>, _>("lease_until")?
                        .map(from_millis)
                        .transpose()?,
                    last_error: row.try_get("last_error")?,
                    updated_at: from_millis(row.try_get("updated_at")?)?,
                })
            }

            /// A row a claim returned, held with `lease_token`.
            fn claimed(
                row: &<DB as Database>::Row,
                lease_token: i64,
            ) -> Result<Claimed, InboxError> {
                Ok(Claimed {
                    seq: row.try_get("seq")?,
                    dedup_key: row.try_get("dedup_key")?,
                    event_id: row.try_get("event_id")?,
                    event_type: row.try_get("event_type")?,
                    body: row.try_get("body")?,
                    attempt: count(row.try_get("attempts")?),
                    lease_token,
                })
            }

            /// A row of the history.
            fn history_entry(row: &<DB as Database>::Row) -> Result<HistoryEntry, InboxError> {
                Ok(HistoryEntry {
                    at: from_millis(row.try_get("at")?)?,
                    attempt: count(row.try_get("attempt")?),
                    outcome: row.try_get("outcome")?,
                    detail: row.try_get("detail")?,
                })
            }

            fn count(n: i64) -> u32 {
                u32::try_from(n.max(0)).unwrap_or(u32::MAX)
            }
        }
    };
}

#[cfg(feature = "sqlite")]
backend_ops!(sqlite, sqlx::Sqlite);
#[cfg(feature = "postgres")]
backend_ops!(postgres, sqlx::Postgres);

/// A write's answer, of the kind the write asked for.
pub(crate) fn unexpected() -> InboxError {
    InboxError::Corrupt("a write returned another kind of answer".to_string())
}

/// `impl Inbox for $inbox`, the same for every backend: writes go through
/// the backend's `async fn write(&self, Write) -> Result<Written, _>`,
/// reads through its `$ops` module on `self.$reads`.
macro_rules! impl_inbox {
    ($inbox:ty, $ops:ident, $reads:ident, wakeups = $wakeups:ident) => {
        $crate::inbox::ops::impl_inbox!(@impl $inbox, $ops, $reads, {
            fn wakeups(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
                Some(self.$wakeups())
            }
        });
    };
    ($inbox:ty, $ops:ident, $reads:ident) => {
        $crate::inbox::ops::impl_inbox!(@impl $inbox, $ops, $reads, {});
    };
    (@impl $inbox:ty, $ops:ident, $reads:ident, { $($extra:tt)* }) => {
        impl crate::inbox::Inbox for $inbox {
            $($extra)*

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

            fn rerun<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, InboxError>> {
                Box::pin(async move { changed(self.write(Write::Rerun(key.to_string())).await?) })
            }

            fn cursor<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, InboxError>> {
                Box::pin(async move {
                    let row = sqlx::query($crate::inbox::ops::CURSOR).bind(name).fetch_optional(&self.$reads).await?;
                    match row {
                        Some(row) => Ok(Some(sqlx::Row::try_get(&row, "value")?)),
                        None => Ok(None),
                    }
                })
            }

            fn set_cursor<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, Result<(), InboxError>> {
                Box::pin(async move {
                    let write = Write::SetCursor {
                        name: name.to_string(),
                        value: value.to_string(),
                    };
                    changed(self.write(write).await?).map(|_| ())
                })
            }

            fn requeue_all_dead(&self) -> BoxFuture<'_, Result<u64, InboxError>> {
                Box::pin(async move { count(self.write(Write::RequeueAllDead).await?) })
            }

            fn purge(&self, retention: Duration) -> BoxFuture<'_, Result<u64, InboxError>> {
                Box::pin(async move { count(self.write(Write::Purge(retention)).await?) })
            }

            fn stats(&self) -> BoxFuture<'_, Result<Stats, InboxError>> {
                Box::pin(async move { $ops::stats(&self.$reads, &self.$reads).await })
            }

            fn ping(&self) -> BoxFuture<'_, Result<(), InboxError>> {
                Box::pin(async move {
                    sqlx::query("SELECT 1").execute(&self.$reads).await?;
                    Ok(())
                })
            }

            fn get<'a>(
                &'a self,
                key: &'a str,
            ) -> BoxFuture<'a, Result<Option<StoredEvent>, InboxError>> {
                Box::pin(async move {
                    let sql = get_sql();
                    $ops::get(&self.$reads, &sql, key).await
                })
            }

            fn history(&self, seq: i64) -> BoxFuture<'_, Result<Vec<HistoryEntry>, InboxError>> {
                Box::pin(async move { $ops::history_of(&self.$reads, seq).await })
            }

            fn list(
                &self,
                filter: ListFilter,
            ) -> BoxFuture<'_, Result<Vec<StoredEvent>, InboxError>> {
                Box::pin(async move {
                    let sql = list_sql();
                    $ops::list(&self.$reads, &sql, filter).await
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
    };
}

pub(crate) use impl_inbox;
