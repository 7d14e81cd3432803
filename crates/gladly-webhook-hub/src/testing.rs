//! The dispatcher's side of the store, for the workspace's tests only:
//! leases and batches as the dispatcher takes them. Not part of the API.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::{AttemptRecord, DeliveryOrder, DueDelivery, Store, StoreError};

/// What the dispatcher calls on the store, callable from tests.
pub trait DispatcherSide {
    /// Leases subscriptions with a delivery due.
    fn claim_webhooks(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
        order: DeliveryOrder,
    ) -> impl Future<Output = Result<Vec<(String, i64)>, StoreError>> + Send;

    /// A leased subscription's next deliveries.
    fn next_deliveries(
        &self,
        webhook_id: &str,
        token: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DueDelivery>, StoreError>> + Send;

    /// The deliveries due after a position.
    fn due_deliveries_after(
        &self,
        webhook_id: &str,
        token: i64,
        after_seq: i64,
        now: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DueDelivery>, StoreError>> + Send;

    /// Successes, recorded with the group commit.
    fn record_delivered(
        &self,
        webhook_id: &str,
        token: i64,
        lease: Duration,
        delivered: &[(String, AttemptRecord)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl DispatcherSide for Store {
    fn claim_webhooks(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
        order: DeliveryOrder,
    ) -> impl Future<Output = Result<Vec<(String, i64)>, StoreError>> + Send {
        let claimed = Store::claim_webhooks(self, now, lease, limit, order);
        async move {
            let claimed = claimed.await?;
            Ok(claimed
                .into_iter()
                .map(|c| (c.webhook_id, c.token))
                .collect())
        }
    }

    fn next_deliveries(
        &self,
        webhook_id: &str,
        token: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DueDelivery>, StoreError>> + Send {
        Store::next_deliveries(self, webhook_id, token, limit)
    }

    fn due_deliveries_after(
        &self,
        webhook_id: &str,
        token: i64,
        after_seq: i64,
        now: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DueDelivery>, StoreError>> + Send {
        Store::due_deliveries_after(self, webhook_id, token, after_seq, now, limit)
    }

    fn record_delivered(
        &self,
        webhook_id: &str,
        token: i64,
        lease: Duration,
        delivered: &[(String, AttemptRecord)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        Store::record_delivered(self, webhook_id, token, lease, delivered)
    }
}
