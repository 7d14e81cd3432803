//! Rate limits and back-pressure per subscription (`hub_webhooks.rate_limit`,
//! `paused_until`): what an operator sets, and what a receiver's
//! `Retry-After` asks.

use chrono::{DateTime, Utc};

use super::backend::{Conn, on};
use super::{Store, StoreError, millis};

const SET_RATE_LIMIT: &str = "UPDATE hub_webhooks SET rate_limit = $2 WHERE id = $1";
/// Pauses `$1` until `$2`, never shortening a pause already asked.
const PAUSE: &str = "UPDATE hub_webhooks SET paused_until = $2 \
    WHERE id = $1 AND (paused_until IS NULL OR paused_until < $2)";

impl Store {
    /// Sets subscription `webhook_id`'s rate limit, deliveries a second
    /// (`None`: no limit), enforced by whichever hub on this store delivers
    /// to it; whether the subscription exists.
    pub async fn set_rate_limit(
        &self,
        webhook_id: &str,
        per_second: Option<u32>,
    ) -> Result<bool, StoreError> {
        let _turn = self.turn().await;
        let changed = on!(self.pool(), |pool| {
            sqlx::query(SET_RATE_LIMIT)
                .bind(webhook_id)
                .bind(per_second.map(i64::from))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed == 1)
    }
}

/// Pauses `webhook_id` until `until` in the transaction `conn` is in: no
/// dispatcher claims it before then.
pub(super) async fn pause(
    conn: Conn<'_>,
    webhook_id: &str,
    until: DateTime<Utc>,
) -> Result<(), StoreError> {
    on!(conn, |conn| {
        sqlx::query(PAUSE)
            .bind(webhook_id)
            .bind(millis(until))
            .execute(conn)
            .await?;
    });
    Ok(())
}

/// This file's statements, for the test that prepares them all.
#[cfg(test)]
pub(super) fn statements(_: super::backend::Dialect) -> Vec<String> {
    [SET_RATE_LIMIT, PAUSE].map(String::from).to_vec()
}
