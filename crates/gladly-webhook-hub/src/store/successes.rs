//! Successful attempts, recorded in batches: the dispatcher's most
//! frequent write, made by the group-committing writer with the
//! publications queued meanwhile.

use std::time::Duration;

use chrono::Utc;

use super::backend::{Conn, on};
use super::{AttemptRecord, Store, StoreError, millis, millis_after};

/// A subscription's successes, as [`Store::record_delivered`] hands them
/// to the writer.
pub(crate) struct Delivered {
    pub(crate) webhook_id: String,
    pub(crate) token: i64,
    pub(crate) lease: Duration,
    pub(crate) delivered: Vec<(String, AttemptRecord)>,
}

impl Store {
    /// Records successful attempts of deliveries to one subscription, in
    /// one transaction that also renews the lease (shared with the other
    /// writes queued meanwhile: group commit, answered after the commit):
    /// each `(delivery id, attempt)` is delivered (while the lease is
    /// held).
    pub(crate) async fn record_delivered(
        &self,
        webhook_id: &str,
        token: i64,
        lease: Duration,
        delivered: &[(String, AttemptRecord)],
    ) -> Result<(), StoreError> {
        self.publisher
            .record(Delivered {
                webhook_id: webhook_id.to_string(),
                token,
                lease,
                delivered: delivered.to_vec(),
            })
            .await
    }
}

/// The most deliveries recorded by one statement (7 parameters each, far
/// under SQLite's limit of 32,766).
const RECORD_CHUNK: usize = 500;
/// Every attempt, kept whatever becomes of its delivery (it happened).
const INSERT_ATTEMPTS_HEAD: &str =
    "INSERT INTO hub_attempts (delivery_id, number, at, status, error, duration_ms, ack) ";
const INSERT_ATTEMPTS_TAIL: &str = " ON CONFLICT (delivery_id, number) DO NOTHING";

/// Inserts `attempts` (`(delivery id, attempt)`) in the transaction `conn`
/// is in, [`RECORD_CHUNK`] to a statement.
pub(super) async fn insert_attempts(
    conn: Conn<'_>,
    attempts: &[&(String, AttemptRecord)],
) -> Result<(), StoreError> {
    on!(conn, |conn| {
        for chunk in attempts.chunks(RECORD_CHUNK) {
            let mut insert = sqlx::QueryBuilder::new(INSERT_ATTEMPTS_HEAD);
            insert.push_values(chunk, |mut row, (delivery_id, attempt)| {
                row.push_bind(delivery_id.as_str())
                    .push_bind(i64::from(attempt.number))
                    .push_bind(millis(attempt.at))
                    .push_bind(attempt.status.map(i64::from))
                    .push_bind(attempt.error.as_deref())
                    .push_bind(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX))
                    .push_bind(attempt.ack.as_deref());
            });
            insert.push(INSERT_ATTEMPTS_TAIL);
            insert.build().execute(&mut *conn).await?;
        }
    });
    Ok(())
}
/// Renews many runs' leases at once where they are still held: `VALUES
/// (webhook id, token, new end), ...`; answers the leases held.
const LEASES_HELD_HEAD: &str = "UPDATE hub_webhooks SET lease_until = v.column3 FROM (";
const LEASES_HELD_TAIL: &str = ") AS v WHERE hub_webhooks.id = v.column1 \
    AND hub_webhooks.lease_token = v.column2 RETURNING id, lease_token";
/// Marks deliveries that succeeded at the same attempt delivered:
/// [`DELIVERED_HEAD`], that attempt's number, [`DELIVERED_AT`], the time,
/// [`DELIVERED_IDS`], the ids separated by commas, and `)`. A batch is
/// written as one statement per attempt number (nearly always one: most
/// deliveries succeed at their first attempt).
///
/// Only the `IN` list names the rows, so the plan is a primary key lookup
/// per id. Two earlier forms joined a `VALUES (id, attempts)` list: alone,
/// PostgreSQL hashed the list and scanned the whole table (0.7 s and more
/// a statement); beside the `IN` list, with statistics showing few pending
/// rows, it compared every row found with every row of the list, a nested
/// loop of 160,000 comparisons for 400 ids (50 ms a statement, half of
/// PostgreSQL's time in the fan-out benchmark).
///
/// "Still pending" is written as "not finished" (`NOT IN` the final
/// states, which the CHECK constraint makes the same set): PostgreSQL
/// cannot prove a partial index's `state = 'pending'` from that, so the
/// plan stays the primary key whatever the statistics say. With `state =
/// 'pending'`, once ANALYZE saw few pending rows, the planner walked the
/// partial index of every pending delivery instead (0.07 ms became 3.7 ms
/// per write).
pub(super) const DELIVERED_HEAD: &str =
    "UPDATE hub_deliveries SET state = 'delivered', attempts = ";
pub(super) const DELIVERED_AT: &str = ", finished_at = ";
pub(super) const DELIVERED_IDS: &str =
    " WHERE state NOT IN ('delivered', 'failed', 'cancelled') AND id IN (";

/// Records the successes of `records` (of any subscriptions) in the
/// transaction `conn` is in; the caller commits. Every attempt is kept; the
/// deliveries are marked delivered where their run still holds its lease
/// (which is renewed). Three statements per chunk, however many
/// subscriptions: one per subscription cost a round trip each.
pub(super) async fn record_in(conn: Conn<'_>, records: &[&Delivered]) -> Result<(), StoreError> {
    let attempts: Vec<&(String, AttemptRecord)> =
        records.iter().flat_map(|r| r.delivered.iter()).collect();
    let now = Utc::now();
    on!(conn, |conn| {
        insert_attempts(Conn::from(&mut *conn), &attempts).await?;
        let mut held: Vec<(String, i64)> = Vec::new();
        for chunk in records.chunks(RECORD_CHUNK) {
            let mut renew = sqlx::QueryBuilder::new(LEASES_HELD_HEAD);
            renew.push_values(chunk, |mut row, r| {
                row.push_bind(r.webhook_id.as_str())
                    .push_bind(r.token)
                    .push_bind(millis_after(now, r.lease));
            });
            renew.push(LEASES_HELD_TAIL);
            held.extend(renew.build_query_as().fetch_all(&mut *conn).await?);
        }
        for (number, ids) in delivered_by_number(records, &held) {
            for chunk in ids.chunks(RECORD_CHUNK) {
                let mut update = sqlx::QueryBuilder::new(DELIVERED_HEAD);
                update
                    .push_bind(i64::from(number))
                    .push(DELIVERED_AT)
                    .push_bind(millis(now))
                    .push(DELIVERED_IDS);
                let mut list = update.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                update.push(")");
                update.build().execute(&mut *conn).await?;
            }
        }
    });
    Ok(())
}

/// The deliveries of `records` whose run holds its lease (one of `held`),
/// grouped by the number of the attempt that succeeded, in order.
fn delivered_by_number<'a>(
    records: &[&'a Delivered],
    held: &[(String, i64)],
) -> Vec<(u32, Vec<&'a str>)> {
    let mut delivered: Vec<(u32, &str)> = records
        .iter()
        .filter(|r| {
            held.iter()
                .any(|(id, token)| *id == r.webhook_id && *token == r.token)
        })
        .flat_map(|r| r.delivered.iter())
        .map(|(delivery_id, attempt)| (attempt.number, delivery_id.as_str()))
        .collect();
    delivered.sort_unstable();
    delivered
        .chunk_by(|a, b| a.0 == b.0)
        .filter_map(|same| {
            let number = same.first()?.0;
            Some((number, same.iter().map(|(_, id)| *id).collect()))
        })
        .collect()
}

/// This file's statements, for the test that prepares them all (a
/// builder's with two rows).
#[cfg(test)]
pub(super) fn statements(_: super::backend::Dialect) -> Vec<String> {
    vec![
        format!(
            "{INSERT_ATTEMPTS_HEAD}VALUES ($1, $2, $3, $4, $5, $6, $7), ($8, $9, $10, $11, $12, $13, $14)\
             {INSERT_ATTEMPTS_TAIL}"
        ),
        // Typed as the binds type them (PostgreSQL cannot infer a type
        // for a `VALUES` column from a later comparison).
        format!(
            "{LEASES_HELD_HEAD}VALUES (CAST($1 AS TEXT), CAST($2 AS BIGINT), CAST($3 AS BIGINT)), \
             ($4, $5, $6){LEASES_HELD_TAIL}"
        ),
        format!("{DELIVERED_HEAD}$1{DELIVERED_AT}$2{DELIVERED_IDS}$3, $4)"),
    ]
}
