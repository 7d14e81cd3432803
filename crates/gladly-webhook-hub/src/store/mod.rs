//! The hub's durable state: subscriptions, published events, the outbox
//! (one delivery per event and subscription), each delivery's attempts,
//! and the deactivations the dispatcher made.
//!
//! One [`Store`] runs on SQLite (a file, created on first use; feature
//! `sqlite`, the default) or on PostgreSQL (feature `postgres`, for hubs on
//! several machines). Each query is written once, beside the code that
//! binds it, in the file of what it reads or writes:
//!
//! - `webhooks`: the subscriptions (create, change, delete, seal secrets);
//! - `publish`: events and the deliveries a publication makes;
//! - `outbox`: the dispatcher's side (leases, due deliveries, attempts);
//! - `successes`: successful attempts, recorded in batches;
//! - `group_commit`: the task that writes publications and successes
//!   together, one transaction per batch;
//! - `views`: what the APIs list (deliveries, deactivations, backlogs,
//!   the Events API's pages);
//! - `recover`: failed and cancelled deliveries of a window made pending
//!   again;
//! - `rate_limits`: a subscription's rate limit, and the pause a
//!   receiver's `Retry-After` asks;
//! - `retention`: purging what finished;
//! - `alerts`: operational events and the operator's endpoints;
//! - `destinations`: a relay's destinations, and the malformed deliveries
//!   it kept;
//! - `backend` and `open`: the two databases, and opening one.
//!
//! ```no_run
//! # async fn demo() -> Result<(), gladly_webhook_hub::store::StoreError> {
//! let store = gladly_webhook_hub::store::Store::open("sqlite:gladly-hub.db").await?;
//! for webhook in store.list_webhooks().await? {
//!     println!("{} {} active={}", webhook.id, webhook.url, webhook.active);
//! }
//! # Ok(()) }
//! ```

mod alerts;
mod backend;
mod destinations;
mod error;
mod group_commit;
mod leases;
mod open;
mod outbox;
mod publish;
mod rate_limits;
mod recover;
mod retention;
mod sealed;
mod successes;
mod types;
mod url_key;
mod views;
mod webhooks;

#[cfg(test)]
mod statements;

#[cfg(test)]
mod plans;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gladly_webhook_core::Secret;

pub use alerts::Alert;
pub use destinations::{DestinationRow, MalformedEvent};
pub use error::{PublishError, StoreError, WriteError};
pub(crate) use outbox::{AttemptOutcome, exhausted_reason};
pub use recover::Recovery;
pub use sealed::{KeysError, SecretKeys};
pub use types::{
    AttemptRecord, Backlog, Deactivation, DeliveryOrder, DeliveryRecord, DeliveryState,
    DueDelivery, EventsCursor, NewDelivery, Published, Recipient, StoredWebhook, WebhookChange,
    subscribes_to,
};
pub use url_key::url_key;

use backend::{Dialect, Pool, on};

/// The hub's store; cheap to clone (a handle to a pool).
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    keys: Option<Arc<SecretKeys>>,
    /// Whether an event no subscription receives keeps its body (for the
    /// Events API).
    keep_bodies: bool,
    /// The group-committing writer of publications and of the
    /// dispatcher's successes.
    publisher: group_commit::Publisher,
    /// This process's writes on SQLite, one at a time.
    turns: WriteTurns,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's connect options hold the database password: show the
        // backend and the pool's state only.
        let (backend, size, idle) = on!(&self.pool, |pool, dialect| (
            dialect.name(),
            pool.size(),
            pool.num_idle()
        ));
        f.debug_struct("Store")
            .field("backend", &backend)
            .field("secrets", &self.keys.as_ref().map_or("plain", |_| "sealed"))
            .field("connections", &size)
            .field("idle", &idle)
            .finish()
    }
}

/// This process's turn at writing on SQLite. SQLite has one writer, and a
/// write that finds the database locked waits in SQLite's busy handler,
/// which sleeps (1 to 100 ms at a time) holding a pooled connection. With a
/// publisher and twenty subscriptions' dispatchers writing at once, those
/// sleeps were most of the hub's time (12,000 of them, 8 ms each, for
/// 20,000 deliveries). Reads do not wait: WAL serves them beside the
/// writer. PostgreSQL's writes take no turn.
#[derive(Clone, Default)]
pub(crate) struct WriteTurns(Arc<tokio::sync::Mutex<()>>);

impl WriteTurns {
    /// Waits for this process's turn to write on `pool` (none on
    /// PostgreSQL); the turn lasts as long as the guard.
    pub(crate) async fn take(&self, pool: &Pool) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        on!(pool, |_pool, dialect| match dialect {
            Dialect::Sqlite => Some(self.0.lock().await),
            Dialect::Postgres => None,
        })
    }
}

impl Store {
    /// A store on `pool`, writing batches through `publisher`.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    fn assemble(pool: Pool, publisher: group_commit::Publisher, turns: WriteTurns) -> Self {
        Self {
            pool,
            keys: None,
            keep_bodies: false,
            publisher,
            turns,
        }
    }

    /// The pool, for a read (or for a write, after [`Store::turn`]).
    fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Waits for this process's turn to write (see [`WriteTurns`]).
    async fn turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        self.turns.take(&self.pool).await
    }

    /// Keeps the body of every published event, not only of those some
    /// subscription receives (default: dropped, since nothing will send
    /// it): what the Events API ([`Store::events_between`]) reads.
    pub fn keep_event_bodies(mut self, keep: bool) -> Self {
        self.keep_bodies = keep;
        self
    }

    /// Whether the body of every published event is kept (see
    /// [`Store::keep_event_bodies`]).
    pub fn keeps_event_bodies(&self) -> bool {
        self.keep_bodies
    }

    /// Seals subscription secrets at rest with `keys` (the first seals, any
    /// opens; see [`SecretKeys`]). Call [`Store::seal_secrets`] next, so that
    /// secrets stored before (plain, or under an older key) are sealed anew.
    pub fn with_secret_keys(mut self, keys: SecretKeys) -> Self {
        self.keys = Some(Arc::new(keys));
        self
    }

    /// Whether secrets are sealed at rest.
    pub fn seals_secrets(&self) -> bool {
        self.keys.is_some()
    }

    /// The secret as stored for the row `id` (sealed when there are keys).
    fn seal(&self, id: &str, secret: &Secret) -> Result<Secret, StoreError> {
        match &self.keys {
            Some(keys) => Ok(Secret::new(keys.seal(id, secret)?)),
            None => Ok(secret.clone()),
        }
    }

    /// A secret as read from the row `id`, opened.
    fn open_secret(&self, id: &str, stored: &Secret) -> Result<Secret, StoreError> {
        sealed::open(self.keys.as_deref(), id, stored.expose())
    }
}

/// Unix milliseconds of a time.
pub(crate) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// A time from Unix milliseconds.
pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("time {ms} ms is out of range")))
}

/// A time from Unix milliseconds that may be absent.
pub(crate) fn optional_time(ms: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    ms.map(from_millis).transpose()
}

/// `now + d`, in milliseconds, saturating.
pub(crate) fn millis_after(now: DateTime<Utc>, d: Duration) -> i64 {
    millis(now).saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A count read from the database, as an unsigned number (0 when negative).
pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
