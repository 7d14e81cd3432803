//! The subscriptions' use cases, under both API dialects and the
//! inspector: create, change, delete, rotate, re-activate, retry, publish,
//! with their rules (the limit, one subscription per URL, the PING on
//! enabling or moving, the change gate). Each dialect (`api` for our
//! user's model, `api::rest` for REST API 1.0) parses its requests into
//! these calls and answers their typed errors in its own words.

mod publish;
mod write;

use chrono::{DateTime, SecondsFormat, Utc};
use gladly_webhook_sender::Sender;

pub use publish::{Publication, PublicationError};
pub use write::Draft;

use crate::dispatch::Waker;
use crate::gate::ChangeGate;
use crate::ping::PingFailed;
use crate::rules::Rules;
use crate::store::{
    Deactivation, DeliveryRecord, Recovery, Store, StoreError, StoredWebhook, WriteError,
};

/// The highest rate limit a subscription may be given, deliveries a second.
pub const MAX_RATE_LIMIT: u32 = 10_000;

/// Why a subscription could not be read, created or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubscriptionError {
    /// No subscription of the served model has this id.
    #[error("no subscription has this id")]
    NotFound,
    /// Another subscription has this URL.
    #[error("another subscription (id {existing}) has this URL")]
    DuplicateUrl {
        /// The id of the subscription holding the URL (empty when it was
        /// taken by a concurrent write).
        existing: String,
    },
    /// The most subscriptions allowed exist already.
    #[error("at most {max} subscriptions are allowed")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// The subscription changed since it was read.
    #[error("the subscription changed meanwhile")]
    Conflict,
    /// The subscription was deleted while it was being changed.
    #[error("the subscription was deleted meanwhile")]
    DeletedMeanwhile,
    /// The PING to the subscription's URL was not answered 200.
    #[error(transparent)]
    PingFailed(#[from] PingFailed),
    /// The model does not delete an active subscription (REST API 1.0).
    #[error("the subscription is active; deactivate it before deleting it")]
    StillActive,
    /// The subscription is inactive: re-activate it first (the hub PINGs
    /// it), then recover.
    #[error("the subscription is inactive; re-activate it first (the hub PINGs it), then recover")]
    Inactive,
    /// A window whose end is not after its start.
    #[error("the window is empty: until ({until}) must be after since ({since})")]
    EmptyWindow {
        /// The window's start, RFC 3339.
        since: String,
        /// The window's end, RFC 3339.
        until: String,
    },
    /// A rate limit out of its range.
    #[error("a rate limit is from 1 to {max} deliveries a second, not {asked}", max = MAX_RATE_LIMIT)]
    RateLimitOutOfRange {
        /// The rate asked.
        asked: u32,
    },
    /// The stored credentials of a REST API 1.0 webhook do not read back.
    #[error("the stored credentials do not read back")]
    Unreadable,
    /// No random bytes for an id or a secret.
    #[error(transparent)]
    Random(#[from] crate::ids::RandomError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<WriteError> for SubscriptionError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::DuplicateUrl { existing } => Self::DuplicateUrl { existing },
            WriteError::TooMany { max } => Self::TooMany { max },
            WriteError::NotFound => Self::DeletedMeanwhile,
            WriteError::Conflict => Self::Conflict,
            WriteError::Store(err) => Self::Store(err),
        }
    }
}

/// The subscriptions of one hub and what changing them involves: the
/// store, the sender of PINGs, the change gate and the dispatcher's waker.
/// Cheap to clone; [`crate::Hub::subscriptions`] hands one out.
#[derive(Clone)]
pub struct Subscriptions {
    pub(crate) store: Store,
    pub(crate) sender: Sender,
    pub(crate) gate: ChangeGate,
    pub(crate) waker: Waker,
    pub(crate) rules: Rules,
    /// The most subscriptions.
    pub(crate) max: usize,
    /// The largest event, as delivered, a publication may store.
    pub(crate) event_limit: usize,
}

impl std::fmt::Debug for Subscriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriptions")
            .field("model", &self.rules.model)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Subscriptions {
    /// The served model's subscriptions, oldest first (a subscription of
    /// the other model in the same store is not this API's to show).
    pub async fn list(&self) -> Result<Vec<StoredWebhook>, StoreError> {
        let all = self.store.list_webhooks().await?;
        Ok(all
            .into_iter()
            .filter(|w| w.model == self.rules.model)
            .collect())
    }

    /// The served model's subscription `id`.
    pub async fn find(&self, id: &str) -> Result<StoredWebhook, SubscriptionError> {
        match self.store.get_webhook(id).await? {
            Some(webhook) if webhook.model == self.rules.model => Ok(webhook),
            _ => Err(SubscriptionError::NotFound),
        }
    }

    /// Deletes subscription `id` and cancels its pending deliveries, once no
    /// attempt to it is in flight.
    pub async fn delete(&self, id: &str) -> Result<(), SubscriptionError> {
        let current = self.find(id).await?;
        if current.active && !self.rules.deletes_active {
            return Err(SubscriptionError::StillActive);
        }
        let deleted = self
            .gate
            .change(id, self.store.delete_webhook(id, Utc::now()))
            .await?;
        if !deleted {
            return Err(SubscriptionError::NotFound);
        }
        self.gate.forget(id);
        tracing::info!(webhook_id = id, "subscription deleted");
        Ok(())
    }

    /// Subscription `id`'s deliveries, newest first, at most `limit`.
    pub async fn deliveries(
        &self,
        id: &str,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, SubscriptionError> {
        self.find(id).await?;
        Ok(self.store.deliveries(id, limit).await?)
    }

    /// The deactivations the dispatcher made, newest first, at most `limit`.
    pub async fn deactivations(&self, limit: u32) -> Result<Vec<Deactivation>, StoreError> {
        self.store.deactivations(limit).await
    }

    /// Re-queues subscription `id`'s failed and cancelled deliveries
    /// published in `[since, until)` (`until` defaults to now), in their
    /// original order, each with the whole schedule again, and wakes the
    /// dispatcher; how many. A second call while they wait adds nothing.
    /// An inactive subscription is refused ([`SubscriptionError::Inactive`]):
    /// re-activating it PINGs it first.
    pub async fn recover(
        &self,
        id: &str,
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> Result<u64, SubscriptionError> {
        let now = Utc::now();
        let until = until.unwrap_or(now);
        if until <= since {
            let rfc3339 = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
            return Err(SubscriptionError::EmptyWindow {
                since: rfc3339(since),
                until: rfc3339(until),
            });
        }
        self.find(id).await?;
        let n = match self.store.recover(id, since, until, now).await? {
            Recovery::Requeued(n) => n,
            Recovery::Inactive => return Err(SubscriptionError::Inactive),
            Recovery::NotFound => return Err(SubscriptionError::DeletedMeanwhile),
        };
        if n > 0 {
            self.waker.wake();
        }
        tracing::info!(webhook_id = id, recovered = n, "deliveries recovered");
        Ok(n)
    }

    /// Sets subscription `id`'s rate limit (deliveries a second, from 1 to
    /// [`MAX_RATE_LIMIT`]; `None` lifts it), kept by whichever hub on the
    /// store delivers to it, from its next run on; the subscription as
    /// it now stands.
    pub async fn set_rate_limit(
        &self,
        id: &str,
        per_second: Option<u32>,
    ) -> Result<StoredWebhook, SubscriptionError> {
        if let Some(asked) = per_second.filter(|n| !(1..=MAX_RATE_LIMIT).contains(n)) {
            return Err(SubscriptionError::RateLimitOutOfRange { asked });
        }
        self.find(id).await?;
        if !self.store.set_rate_limit(id, per_second).await? {
            return Err(SubscriptionError::DeletedMeanwhile);
        }
        tracing::info!(webhook_id = id, per_second, "rate limit set");
        self.find(id).await
    }

    /// Makes `id`'s pending deliveries that wait for a retry due now and
    /// wakes the dispatcher; how many there were.
    pub async fn retry_now(&self, id: &str) -> Result<u64, StoreError> {
        let n = self.store.make_due_now(id, Utc::now()).await?;
        if n > 0 {
            self.waker.wake();
        }
        Ok(n)
    }
}
