//! The inbox's reads, on the read pool of either backend.

use std::time::Duration;

use chrono::Utc;

use super::backend::{Pool, on};
use super::writes::count;
use super::{
    HistoryEntry, InboxError, ListFilter, State, Stats, StoredEvent, from_millis, list_limit,
    millis,
};

/// The columns every query that returns whole rows selects, in the order
/// of [`Columns`].
macro_rules! select_rows {
    ($($rest:literal)*) => {
        concat!(
            "SELECT seq, dedup_key, event_id, event_type, body, received_at, state, attempts, \
             next_run_at, lease_until, last_error, updated_at FROM gladly_inbox ",
            $($rest),*
        )
    };
}

/// A whole row, in the order [`select_rows!`] reads it.
type Columns = (
    i64,
    String,
    Option<String>,
    String,
    Vec<u8>,
    i64,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    i64,
);

fn stored(columns: Columns) -> Result<StoredEvent, InboxError> {
    let (
        seq,
        dedup_key,
        event_id,
        event_type,
        body,
        received,
        state,
        attempts,
        next,
        lease,
        error,
        updated,
    ) = columns;
    Ok(StoredEvent {
        seq,
        dedup_key,
        event_id,
        event_type,
        body,
        received_at: from_millis(received)?,
        state: State::parse(&state)?,
        attempts: count(attempts),
        next_run_at: from_millis(next)?,
        lease_until: lease.map(from_millis).transpose()?,
        last_error: error,
        updated_at: from_millis(updated)?,
    })
}

const GET: &str = select_rows!("WHERE dedup_key = $1 OR event_id = $1 ORDER BY seq LIMIT 1");
const LIST: &str = select_rows!(
    "WHERE (CAST($1 AS TEXT) IS NULL OR state = $1) AND (CAST($2 AS TEXT) IS NULL OR event_type = $2) \
     ORDER BY seq DESC LIMIT $3"
);
const HISTORY: &str = "SELECT at, attempt, outcome, detail FROM gladly_inbox_history WHERE seq = $1 ORDER BY at, attempt";
const STATS: &str = "SELECT state, COUNT(*) FROM gladly_inbox GROUP BY state";
const OLDEST_PENDING: &str = "SELECT MIN(received_at) FROM gladly_inbox WHERE state = 'pending'";
const CURSOR: &str = "SELECT value FROM gladly_inbox_cursors WHERE name = $1";

/// The row with this key (dedup key or event id).
pub(crate) async fn get(pool: &Pool, key: &str) -> Result<Option<StoredEvent>, InboxError> {
    let row: Option<Columns> = on!(pool, |pool| {
        sqlx::query_as(GET).bind(key).fetch_optional(pool).await?
    });
    row.map(stored).transpose()
}

/// The rows `filter` asks for, newest first.
pub(crate) async fn list(pool: &Pool, filter: ListFilter) -> Result<Vec<StoredEvent>, InboxError> {
    let rows: Vec<Columns> = on!(pool, |pool| {
        sqlx::query_as(LIST)
            .bind(filter.state.map(|s| s.as_str().to_string()))
            .bind(filter.event_type.clone())
            .bind(list_limit(&filter))
            .fetch_all(pool)
            .await?
    });
    rows.into_iter().map(stored).collect()
}

/// Row `seq`'s history, oldest first.
pub(crate) async fn history(pool: &Pool, seq: i64) -> Result<Vec<HistoryEntry>, InboxError> {
    let rows: Vec<(i64, i64, String, Option<String>)> = on!(pool, |pool| {
        sqlx::query_as(HISTORY).bind(seq).fetch_all(pool).await?
    });
    rows.into_iter()
        .map(|(at, attempt, outcome, detail)| {
            Ok(HistoryEntry {
                at: from_millis(at)?,
                attempt: count(attempt),
                outcome,
                detail,
            })
        })
        .collect()
}

/// Counts per state and the oldest pending row's age.
pub(crate) async fn stats(pool: &Pool) -> Result<Stats, InboxError> {
    let (counts, oldest): (Vec<(String, i64)>, Option<i64>) = on!(pool, |pool| {
        let counts = sqlx::query_as(STATS).fetch_all(pool).await?;
        let oldest = sqlx::query_scalar(OLDEST_PENDING).fetch_one(pool).await?;
        (counts, oldest)
    });
    let mut stats = Stats::default();
    for (state, n) in counts {
        let n = u64::try_from(n).unwrap_or(0);
        match State::parse(&state)? {
            State::Pending => stats.pending = n,
            State::Running => stats.running = n,
            State::Done => stats.done = n,
            State::Dead => stats.dead = n,
        }
    }
    stats.oldest_pending_age = oldest.map(|received| {
        let age = millis(Utc::now()).saturating_sub(received);
        Duration::from_millis(u64::try_from(age).unwrap_or(0))
    });
    Ok(stats)
}

/// The value of the cursor `name`.
pub(crate) async fn cursor(pool: &Pool, name: &str) -> Result<Option<String>, InboxError> {
    Ok(on!(pool, |pool| {
        sqlx::query_scalar(CURSOR)
            .bind(name)
            .fetch_optional(pool)
            .await?
    }))
}

/// A trivial query: `Ok` when the database answers.
pub(crate) async fn ping(pool: &Pool) -> Result<(), InboxError> {
    on!(pool, |pool| {
        sqlx::query("SELECT 1").execute(pool).await?;
    });
    Ok(())
}

/// This file's statements, for the test that prepares them all.
#[cfg(test)]
pub(crate) fn statements() -> Vec<String> {
    [GET, LIST, HISTORY, STATS, OLDEST_PENDING, CURSOR]
        .map(String::from)
        .to_vec()
}
