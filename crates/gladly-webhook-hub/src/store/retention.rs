//! Purging what finished: deliveries past the retention with their
//! attempts, then the events no delivery needs.

use chrono::{DateTime, Utc};

use super::backend::on;
use super::{Store, StoreError, millis};

/// The most rows one purge statement deletes, so a large purge never holds
/// the store for long.
const PURGE_STEP: u64 = 1000;
/// Finished deliveries (their attempts go with them: `ON DELETE CASCADE`).
const PURGE_DELIVERIES: &str = "DELETE FROM hub_deliveries WHERE id IN \
    (SELECT id FROM hub_deliveries WHERE state <> 'pending' AND finished_at < $1 LIMIT 1000)";
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
        let deliveries = self.purge_in_steps(PURGE_DELIVERIES, before).await?;
        let events = self.purge_in_steps(PURGE_EVENTS, before).await?;
        Ok((deliveries, events))
    }

    /// Runs `statement` until it deletes fewer than [`PURGE_STEP`] rows;
    /// how many it deleted.
    async fn purge_in_steps(
        &self,
        statement: &'static str,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let _turn = self.turn().await;
            let step = on!(self.pool(), |pool| {
                sqlx::query(statement)
                    .bind(millis(before))
                    .execute(pool)
                    .await?
                    .rows_affected()
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
    vec![PURGE_DELIVERIES.to_string(), PURGE_EVENTS.to_string()]
}
