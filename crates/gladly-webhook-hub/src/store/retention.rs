//! Purging what finished: deliveries past the retention with their
//! attempts, then the events no delivery needs.

use chrono::{DateTime, Utc};

use super::backend::on;
use super::{Store, StoreError, millis};

/// The most rows one purge statement deletes, so a large purge never holds
/// the store for long.
const PURGE_STEP: u64 = 1000;
/// Finished deliveries, the oldest first (in a stable order: the step's
/// attempts and deliveries are the same ones).
const PURGE_DELIVERIES: &str = "DELETE FROM hub_deliveries WHERE id IN \
    (SELECT id FROM hub_deliveries WHERE state <> 'pending' AND finished_at < $1 \
     ORDER BY finished_at, id LIMIT 1000)";
/// The attempts of the deliveries [`PURGE_DELIVERIES`] deletes next (no
/// foreign key deletes them on PostgreSQL: migration 0011).
const PURGE_ATTEMPTS: &str = "DELETE FROM hub_attempts WHERE delivery_id IN \
    (SELECT id FROM hub_deliveries WHERE state <> 'pending' AND finished_at < $1 \
     ORDER BY finished_at, id LIMIT 1000)";
/// Events published before the retention that no delivery needs.
const PURGE_EVENTS: &str = "DELETE FROM hub_events WHERE seq IN \
    (SELECT e.seq FROM hub_events e WHERE e.published_at < $1 \
     AND NOT EXISTS (SELECT 1 FROM hub_deliveries d WHERE d.event_seq = e.seq) LIMIT 1000)";

impl Store {
    /// Deletes what finished before `before`: delivered, failed and
    /// cancelled deliveries with their attempts, then the events left with
    /// no delivery (published before `before`, so republishing such an id
    /// is no longer recognised as the same event). Pending deliveries, the
    /// subscriptions and the deactivations stay. Returns how many
    /// deliveries and events were deleted.
    pub async fn purge(&self, before: DateTime<Utc>) -> Result<(u64, u64), StoreError> {
        let deliveries = self
            .purge_in_steps(&[PURGE_ATTEMPTS, PURGE_DELIVERIES], before)
            .await?;
        let events = self.purge_in_steps(&[PURGE_EVENTS], before).await?;
        Ok((deliveries, events))
    }

    /// Runs `statements` in one transaction, again until the last deletes
    /// fewer than [`PURGE_STEP`] rows; how many the last deleted in all.
    async fn purge_in_steps(
        &self,
        statements: &[&'static str],
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let _turn = self.turn().await;
            let step = on!(self.pool(), |pool, dialect| {
                let mut tx = pool.begin_with(dialect.begin()).await?;
                let mut last = 0;
                for statement in statements {
                    last = sqlx::query(*statement)
                        .bind(millis(before))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await?;
                last
            });
            deleted += step;
            if step < PURGE_STEP {
                return Ok(deleted);
            }
        }
    }
}

/// This file's statements, for the test that prepares them all.
#[cfg(test)]
pub(super) fn statements(_: super::backend::Dialect) -> Vec<String> {
    vec![
        PURGE_ATTEMPTS.to_string(),
        PURGE_DELIVERIES.to_string(),
        PURGE_EVENTS.to_string(),
    ]
}
