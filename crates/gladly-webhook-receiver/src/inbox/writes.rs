//! The inbox's writes, each query a constant above the code that binds it,
//! run inside the caller's transaction on either backend.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::backend::{Conn, PerBackend, on};
use super::{
    Claimed, InboxError, Inserted, NewEvent, Outcome, RequeueRange, State, lease_token, millis,
    millis_after,
};

/// The columns an insert writes, in the order of its values.
const INSERT_COLUMNS: &str = "(dedup_key, event_id, event_type, body, received_at, state, \
    attempts, next_run_at, last_error, updated_at)";
/// The row counts of the multi-row `INSERT`s (7 parameters a row, far
/// under SQLite's limit of 32,766). A batch is cut into these sizes,
/// largest first: a batch of fewer than 128 takes one statement per bit
/// of its size (at most 7), and only eight statements are ever prepared,
/// all kept in the connection's statement cache. Each statement is a
/// round trip to the database's thread, which the writer waits for.
const ROWS_PER_INSERT: [usize; 8] = [128, 64, 32, 16, 8, 4, 2, 1];

/// `(start, rows)` of each statement for a batch of `n` inserts.
pub(crate) fn insert_chunks(n: usize) -> Vec<(usize, usize)> {
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < n {
        let rows = ROWS_PER_INSERT
            .into_iter()
            .find(|rows| *rows <= n - start)
            .unwrap_or(1);
        chunks.push((start, rows));
        start += rows;
    }
    chunks
}

/// The `INSERT` of `rows` deliveries (`ON CONFLICT DO NOTHING`, answering
/// the rows stored).
fn insert_sql(rows: usize) -> String {
    let mut sql = format!("INSERT INTO gladly_inbox {INSERT_COLUMNS} VALUES ");
    for i in 0..rows {
        let p = i * 7;
        let _ = write!(
            sql,
            "{}(${}, ${}, ${}, ${}, ${}, ${}, 0, ${}, ${}, ${})",
            if i == 0 { "" } else { ", " },
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 6,
            p + 5,
            p + 7,
            p + 5
        );
    }
    sql.push_str(" ON CONFLICT (dedup_key) DO NOTHING RETURNING seq, dedup_key");
    sql
}

/// Stores `events` with few statements (see [`ROWS_PER_INSERT`]): what
/// each became, in order. Of two deliveries of one key in the same batch,
/// the first is new and the second a duplicate. A dead delivery's history
/// says why it is dead.
pub(crate) async fn insert_many(
    mut conn: Conn<'_>,
    events: &[NewEvent],
    now: DateTime<Utc>,
) -> Result<Vec<Inserted>, InboxError> {
    let mut results = vec![Inserted::Duplicate; events.len()];
    let mut claimed_keys: HashSet<&str> = HashSet::new();
    for (start, rows) in insert_chunks(events.len()) {
        let chunk = &events[start..start + rows];
        let sql = insert_sql(rows);
        let stored: Vec<(i64, String)> = on!(conn.reborrow(), |conn| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for event in chunk {
                query = query
                    .bind(event.dedup_key.as_str())
                    .bind(event.event_id.as_deref())
                    .bind(event.event_type.as_str())
                    .bind(event.body.as_slice())
                    .bind(millis(event.received_at))
                    .bind(event.state.as_str())
                    .bind(event.error.as_deref());
            }
            query.fetch_all(conn).await?
        });
        let stored: HashMap<String, i64> =
            stored.into_iter().map(|(seq, key)| (key, seq)).collect();
        for (i, event) in chunk.iter().enumerate() {
            let Some(&seq) = stored.get(&event.dedup_key) else {
                continue;
            };
            if !claimed_keys.insert(event.dedup_key.as_str()) {
                continue;
            }
            results[start + i] = Inserted::New;
            if event.state == State::Dead {
                let at = millis(now);
                history(conn.reborrow(), seq, at, 0, "dead", event.error.clone()).await?;
            }
        }
    }
    Ok(results)
}

const HISTORY: &str = "INSERT INTO gladly_inbox_history (seq, at, attempt, outcome, detail) \
    VALUES ($1, $2, $3, $4, $5)";

/// Adds a line to row `seq`'s history.
async fn history(
    conn: Conn<'_>,
    seq: i64,
    at: i64,
    attempt: i64,
    outcome: &'static str,
    detail: Option<String>,
) -> Result<(), InboxError> {
    on!(conn, |conn| {
        sqlx::query(HISTORY)
            .bind(seq)
            .bind(at)
            .bind(attempt)
            .bind(outcome)
            .bind(detail)
            .execute(conn)
            .await?;
    });
    Ok(())
}

/// The claim, with `$lock` where PostgreSQL adds `FOR UPDATE SKIP LOCKED`
/// (concurrent workers skip each other's rows; SQLite's one writer needs
/// no row locks).
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
const CLAIM: PerBackend = PerBackend {
    sqlite: claim_sql!(""),
    postgres: claim_sql!("FOR UPDATE SKIP LOCKED"),
};

/// Leases the row due the longest (pending, or running with its lease run
/// out) for `lease`.
pub(crate) async fn claim(
    conn: Conn<'_>,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<Option<Claimed>, InboxError> {
    let token = lease_token();
    type Row = (i64, String, Option<String>, String, Vec<u8>, i64);
    let row: Option<Row> = on!(conn, |conn, dialect| {
        sqlx::query_as(dialect.pick(&CLAIM))
            .bind(millis(now))
            .bind(millis_after(now, lease))
            .bind(token)
            .fetch_optional(conn)
            .await?
    });
    Ok(row.map(
        |(seq, dedup_key, event_id, event_type, body, attempts)| Claimed {
            seq,
            dedup_key,
            event_id,
            event_type,
            body,
            attempt: count(attempts),
            lease_token: token,
        },
    ))
}

const EXTEND: &str = "UPDATE gladly_inbox SET lease_until = $3, updated_at = $4 \
    WHERE seq = $1 AND lease_token = $2 AND state = 'running'";

/// Extends the lease `lease_token` holds on row `seq`; whether it held.
pub(crate) async fn extend(
    conn: Conn<'_>,
    seq: i64,
    lease_token: i64,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<bool, InboxError> {
    let extended = on!(conn, |conn| {
        sqlx::query(EXTEND)
            .bind(seq)
            .bind(lease_token)
            .bind(millis_after(now, lease))
            .bind(millis(now))
            .execute(conn)
            .await?
            .rows_affected()
    });
    Ok(extended == 1)
}

const FINISH: &str = "UPDATE gladly_inbox SET state = $4, attempts = attempts - $5, \
    next_run_at = COALESCE($6, next_run_at), last_error = COALESCE($7, last_error), \
    lease_until = NULL, lease_token = NULL, updated_at = $3 \
    WHERE seq = $1 AND lease_token = $2 AND state = 'running' RETURNING attempts";

/// Records the outcome of the run that holds `lease_token` on row `seq`;
/// whether it still held it.
pub(crate) async fn finish(
    mut conn: Conn<'_>,
    seq: i64,
    lease_token: i64,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<bool, InboxError> {
    let at = millis(now);
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
    let attempts: Option<i64> = on!(conn.reborrow(), |conn| {
        sqlx::query_scalar(FINISH)
            .bind(seq)
            .bind(lease_token)
            .bind(at)
            .bind(state.as_str())
            .bind(uncount)
            .bind(retry_at)
            .bind(error.clone())
            .fetch_optional(conn)
            .await?
    });
    let Some(attempts) = attempts else {
        return Ok(false);
    };
    history(conn, seq, at, attempts + uncount, label, error).await?;
    Ok(true)
}

const REQUEUE: &str = "UPDATE gladly_inbox \
    SET state = 'pending', attempts = 0, next_run_at = $2, updated_at = $2 \
    WHERE (dedup_key = $1 OR event_id = $1) AND state = 'dead' RETURNING seq";
const RERUN: &str = "UPDATE gladly_inbox \
    SET state = 'pending', attempts = 0, next_run_at = $2, updated_at = $2 \
    WHERE (dedup_key = $1 OR event_id = $1) AND state = 'done' RETURNING seq";
/// The rows in state `$2` received in `[$3, $4)`, of type `$5` when it is
/// not null.
const REQUEUE_RANGE: &str = "UPDATE gladly_inbox \
    SET state = 'pending', attempts = 0, next_run_at = $1, updated_at = $1 \
    WHERE state = $2 AND received_at >= $3 AND received_at < $4 \
    AND (CAST($5 AS TEXT) IS NULL OR event_type = $5) RETURNING seq";

/// Puts the dead row with this key (dedup key or event id) back to pending;
/// whether there was one.
pub(crate) async fn requeue(
    conn: Conn<'_>,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, InboxError> {
    Ok(back_to_pending(conn, REQUEUE, Some(key), now, "requeued").await? > 0)
}

/// Runs the done row with this key again; whether there was one.
pub(crate) async fn rerun(
    conn: Conn<'_>,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, InboxError> {
    Ok(back_to_pending(conn, RERUN, Some(key), now, "rerun").await? > 0)
}

/// Puts the rows of `range` back to pending, each with a line in its
/// history; how many.
pub(crate) async fn requeue_range(
    mut conn: Conn<'_>,
    range: &RequeueRange,
    now: DateTime<Utc>,
) -> Result<u64, InboxError> {
    let at = millis(now);
    let until = range.until.map_or(i64::MAX, millis);
    let seqs: Vec<i64> = on!(conn.reborrow(), |conn| {
        sqlx::query_scalar(REQUEUE_RANGE)
            .bind(at)
            .bind(range.state.as_str())
            .bind(millis(range.since))
            .bind(until)
            .bind(range.event_type.as_deref())
            .fetch_all(conn)
            .await?
    });
    let label = match range.state {
        State::Done => "rerun",
        _ => "requeued",
    };
    for seq in &seqs {
        history(conn.reborrow(), *seq, at, 0, label, None).await?;
    }
    Ok(seqs.len() as u64)
}

/// Runs `statement` (binding `key` first when given, then the time), and
/// records `label` in the history of each row it made pending; how many.
async fn back_to_pending(
    mut conn: Conn<'_>,
    statement: &'static str,
    key: Option<&str>,
    now: DateTime<Utc>,
    label: &'static str,
) -> Result<u64, InboxError> {
    let at = millis(now);
    let seqs: Vec<i64> = on!(conn.reborrow(), |conn| {
        let query = sqlx::query_scalar(statement);
        let query = match key {
            Some(key) => query.bind(key),
            None => query,
        };
        query.bind(at).fetch_all(conn).await?
    });
    for seq in &seqs {
        history(conn.reborrow(), *seq, at, 0, label, None).await?;
    }
    Ok(seqs.len() as u64)
}

const SET_CURSOR: &str = "INSERT INTO gladly_inbox_cursors (name, value, updated_at) \
    VALUES ($1, $2, $3) \
    ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";

/// Saves the cursor `name`.
pub(crate) async fn set_cursor(
    conn: Conn<'_>,
    name: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Result<(), InboxError> {
    on!(conn, |conn| {
        sqlx::query(SET_CURSOR)
            .bind(name)
            .bind(value)
            .bind(millis(now))
            .execute(conn)
            .await?;
    });
    Ok(())
}

const PURGE_HISTORY: &str = "DELETE FROM gladly_inbox_history WHERE seq IN \
    (SELECT seq FROM gladly_inbox WHERE state = 'done' AND updated_at < $1)";
const PURGE: &str = "DELETE FROM gladly_inbox WHERE state = 'done' AND updated_at < $1";

/// Deletes the rows done before `retention` with their history; how many.
pub(crate) async fn purge(
    conn: Conn<'_>,
    retention: Duration,
    now: DateTime<Utc>,
) -> Result<u64, InboxError> {
    let cutoff =
        millis(now).saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
    Ok(on!(conn, |conn| {
        sqlx::query(PURGE_HISTORY)
            .bind(cutoff)
            .execute(&mut *conn)
            .await?;
        sqlx::query(PURGE)
            .bind(cutoff)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    }))
}

/// A count as a row holds it.
pub(crate) fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// This file's statements, for the test that prepares them all.
#[cfg(test)]
pub(crate) fn statements(dialect: super::backend::Dialect) -> Vec<String> {
    let mut all: Vec<String> = [
        HISTORY,
        dialect.pick(&CLAIM),
        EXTEND,
        FINISH,
        REQUEUE,
        RERUN,
        REQUEUE_RANGE,
        SET_CURSOR,
        PURGE_HISTORY,
        PURGE,
    ]
    .map(String::from)
    .to_vec();
    all.extend(ROWS_PER_INSERT.map(insert_sql));
    all
}

#[cfg(test)]
mod tests {
    use super::insert_chunks;

    #[test]
    fn batches_are_cut_into_eight_statement_sizes() {
        assert_eq!(insert_chunks(0), []);
        assert_eq!(insert_chunks(1), [(0, 1)]);
        // 45 = 32 + 8 + 4 + 1.
        assert_eq!(insert_chunks(45), [(0, 32), (32, 8), (40, 4), (44, 1)]);
        assert_eq!(
            insert_chunks(300),
            [(0, 128), (128, 128), (256, 32), (288, 8), (296, 4)]
        );
        for n in 0..600 {
            let chunks = insert_chunks(n);
            assert_eq!(chunks.iter().map(|(_, rows)| rows).sum::<usize>(), n);
            // One statement per bit below 128, one per whole 128.
            let bits = (n % 128).count_ones() as usize;
            assert_eq!(chunks.len(), n / 128 + bits, "{n}");
        }
    }
}
