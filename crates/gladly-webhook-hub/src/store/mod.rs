//! The hub's durable state: subscriptions, published events, the outbox
//! (one delivery per event and subscription), each delivery's attempts,
//! and the deactivations the dispatcher made.
//!
//! One [`Store`] runs on SQLite (a file, created on first use; feature
//! `sqlite`, the default) or on PostgreSQL (feature `postgres`, for hubs on
//! several machines). Both run the same SQL, written once in `ops.rs`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), gladly_webhook_hub::store::StoreError> {
//! let store = gladly_webhook_hub::store::Store::open("sqlite:gladly-hub.db").await?;
//! for webhook in store.list_webhooks().await? {
//!     println!("{} {} active={}", webhook.id, webhook.url, webhook.active);
//! }
//! # Ok(()) }
//! ```

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod group_commit;
mod ops;
mod sealed;
mod types;

pub use sealed::{KeysError, SecretKeys};

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gladly_webhook_core::Secret;

pub use types::{
    AttemptRecord, Backlog, Deactivation, DeliveryOrder, DeliveryRecord, DeliveryState,
    DueDelivery, EventsCursor, NewDelivery, Published, StoredWebhook, WebhookChange,
};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL names no store this build has.
    #[error("bad store URL: {0}")]
    Url(String),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The migrations could not be applied.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// No lease token could be drawn.
    #[error(transparent)]
    Random(#[from] crate::ids::RandomError),
    /// A stored value does not read back (a row written by something else).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The SQLite file could not be created or made private.
    #[error("the store file: {0}")]
    File(String),
}

/// Why a subscription could not be created or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Another subscription has this URL.
    #[error("another subscription (id {existing}) has this URL")]
    DuplicateUrl {
        /// The id of the subscription holding the URL.
        existing: String,
    },
    /// The organization holds the most subscriptions allowed.
    #[error("at most {max} subscriptions are allowed")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// No subscription has this id.
    #[error("no subscription has this id")]
    NotFound,
    /// The subscription changed since it was read; read it again.
    #[error("the subscription changed meanwhile")]
    Conflict,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for WriteError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(err))
    }
}

/// What publishing an event did.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// An event with this id was published before with another body.
    #[error("an event with this id was published before, with another body")]
    IdReused,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for PublishError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(err))
    }
}

/// What became of a delivery attempt, as the dispatcher records it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// A 2xx answer: the delivery is done.
    Delivered,
    /// A failure with attempts left: try again at this time.
    Retry(DateTime<Utc>),
    /// The last attempt failed: the delivery failed, and the subscription
    /// is deactivated.
    Exhausted,
}

/// The hub's store; cheap to clone (a handle to a pool).
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    keys: Option<std::sync::Arc<SecretKeys>>,
    /// Whether an event no subscription receives keeps its body (for the
    /// Events API).
    keep_bodies: bool,
    /// The group-committing writer of publications and of the
    /// dispatcher's successes.
    publisher: group_commit::Publisher,
    /// SQLite's writes, one at a time in this process (see
    /// [`write_on_backend`]).
    #[cfg(feature = "sqlite")]
    sqlite_writes: std::sync::Arc<tokio::sync::Mutex<()>>,
}

#[derive(Clone)]
enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's connect options hold the database password: show the
        // backend and the pool's state only.
        let (backend, size, idle) = match &self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => ("sqlite", p.size(), p.num_idle()),
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => ("postgres", p.size(), p.num_idle()),
        };
        f.debug_struct("Store")
            .field("backend", &backend)
            .field("secrets", &self.keys.as_ref().map_or("plain", |_| "sealed"))
            .field("connections", &size)
            .field("idle", &idle)
            .finish()
    }
}

/// Runs `$call` on the backend's module with the backend's pool.
macro_rules! on_backend {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match &$self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => ops::sqlite::$f(pool, $($arg),*).await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => ops::postgres::$f(pool, $($arg),*).await,
        }
    };
}

/// [`on_backend`] for a write. On SQLite the writes of this process take
/// their turn here: SQLite has one writer, and a write that finds the
/// database locked waits in SQLite's busy handler, which sleeps (1 to
/// 100 ms at a time) holding a pooled connection. With a publisher and
/// twenty subscriptions' dispatchers writing at once, those sleeps were
/// most of the hub's time (12,000 of them, 8 ms each, for 20,000
/// deliveries). Reads do not wait: WAL serves them beside the writer.
macro_rules! write_on_backend {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match &$self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => {
                let _turn = $self.sqlite_writes.lock().await;
                ops::sqlite::$f(pool, $($arg),*).await
            }
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => ops::postgres::$f(pool, $($arg),*).await,
        }
    };
}

/// A SQLite pool of up to `connections`, closing a connection that a
/// failed `COMMIT` left in doubt.
#[cfg(feature = "sqlite")]
fn sqlite_pool(connections: u32) -> sqlx::sqlite::SqlitePoolOptions {
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(connections)
        // After a failed COMMIT (a full disk) SQLite may have rolled
        // back on its own while sqlx still counts the transaction
        // open, and every later BEGIN on that connection would fail:
        // such a connection is closed instead of reused. The ping lets
        // a rollback already queued take effect first.
        .after_release(|conn, _| {
            Box::pin(async move {
                use sqlx::Connection;
                if !conn.is_in_transaction() {
                    return Ok(true);
                }
                Ok(conn.ping().await.is_ok() && !conn.is_in_transaction())
            })
        })
}

impl Store {
    /// Opens the store a URL names: `sqlite:PATH` (or `sqlite://PATH`), a
    /// file created on first use, or a `postgres://` URL. Applies the
    /// migrations (recorded in `_gladly_hub_migrations`, so the hub can
    /// share a database with a receiver's inbox).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::Url("sqlite: needs a file path".to_string()));
            }
            return Self::open_sqlite(path).await;
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self::connect_postgres(url).await;
        }
        Err(StoreError::Url(
            "expected sqlite:PATH or a postgres:// URL".to_string(),
        ))
    }

    /// Opens (creating it if need be) the SQLite store at `path`: WAL,
    /// `synchronous=FULL`, a 5 s busy timeout, temporary files in memory,
    /// the log copied back to the database every 10,000 pages.
    #[cfg(feature = "sqlite")]
    pub async fn open_sqlite(path: impl AsRef<std::path::Path>) -> Result<Self, StoreError> {
        use std::str::FromStr;

        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
        create_private(path.as_ref())?;
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path.as_ref())
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // A deleted secret is overwritten, not left in a free page.
            .pragma("secure_delete", "ON")
            // A statement's journal (of the pages one multi-row write
            // changed, to undo that statement alone) went to a temporary
            // file past 64 KiB: with a savepoint per write of a group
            // commit, 4 of every 5 writes to the disk (800,000 for 44,000
            // deliveries). In memory it is bounded by one statement.
            .pragma("temp_store", "MEMORY")
            // The outbox rewrites the same pages (each subscription's place
            // in the indexes) commit after commit: copying the log back to
            // the database every 1,000 pages (SQLite's default) copied
            // them again and again, in the writer's own commit.
            .pragma("wal_autocheckpoint", "10000")
            // ... and the log's file is cut back to 64 MiB after it.
            .pragma("journal_size_limit", "67108864");
        let pool = sqlite_pool(4).connect_with(options.clone()).await?;
        ops::migrator(ops::Backend::Sqlite).run(&pool).await?;
        let sqlite_writes = std::sync::Arc::new(tokio::sync::Mutex::new(()));
        // The group-committing writer has a connection of its own, so it
        // never queues for one behind the dispatcher's reads.
        let publisher = group_commit::Publisher::start(group_commit::Target::Sqlite(
            sqlite_pool(1).connect_lazy_with(options),
            std::sync::Arc::clone(&sqlite_writes),
        ));
        Ok(Self {
            publisher,
            sqlite_writes,
            pool: Pool::Sqlite(pool),
            keys: None,
            keep_bodies: false,
        })
    }

    #[cfg(not(feature = "sqlite"))]
    async fn open_sqlite(_: &str) -> Result<Self, StoreError> {
        Err(StoreError::Url(
            "this build has no SQLite store (feature `sqlite`)".to_string(),
        ))
    }

    /// Connects to PostgreSQL at `url` with a pool of up to 16
    /// connections, plus one for the group-committing writer of
    /// publications and the dispatcher's records, and applies the
    /// migrations under PostgreSQL's advisory lock, so hubs that start
    /// together do not race.
    #[cfg(feature = "postgres")]
    pub async fn connect_postgres(url: &str) -> Result<Self, StoreError> {
        let options: sqlx::postgres::PgConnectOptions = url.parse()?;
        first_postgres_connection(&options, Duration::from_secs(5)).await?;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await?;
        ops::migrator(ops::Backend::Postgres).run(&pool).await?;
        // The group-committing writer has a connection of its own: queued
        // behind the dispatcher's reads for one of the pool's, it stalled
        // every write of its batch behind it.
        let writer = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options);
        Ok(Self {
            publisher: group_commit::Publisher::start(group_commit::Target::Postgres(writer)),
            pool: Pool::Postgres(pool),
            keys: None,
            keep_bodies: false,
            #[cfg(feature = "sqlite")]
            sqlite_writes: std::sync::Arc::default(),
        })
    }

    #[cfg(not(feature = "postgres"))]
    async fn connect_postgres(_: &str) -> Result<Self, StoreError> {
        Err(StoreError::Url(
            "this build has no PostgreSQL store (feature `postgres`)".to_string(),
        ))
    }

    /// Keeps the body of every published event, not only of those some
    /// subscription receives (default: dropped, since nothing will send
    /// it): what the Events API ([`Store::events_between`]) reads.
    pub fn keep_event_bodies(mut self, keep: bool) -> Self {
        self.keep_bodies = keep;
        self
    }

    /// The models of the stored subscriptions (their names), so a hub can
    /// refuse a store holding another model's.
    pub async fn models(&self) -> Result<Vec<String>, StoreError> {
        on_backend!(self, models())
    }

    /// Published events' bodies in the order of their `timestamp`, with
    /// their cursors: those whose `timestamp` is in `[from, to)`, after
    /// `after`, whose type's entity (the part before `/`) is one of
    /// `entities` (any when empty), at most `limit` of them and at most
    /// `max_bytes` of bodies (but at least one event). An event whose body
    /// was not kept is returned with an empty body.
    pub async fn events_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        entities: &[String],
        after: EventsCursor,
        limit: u32,
        max_bytes: usize,
    ) -> Result<Vec<(EventsCursor, Vec<u8>)>, StoreError> {
        on_backend!(
            self,
            events_between(from, to, entities, after, limit, max_bytes)
        )
    }

    /// Seals subscription secrets at rest with `keys` (the first seals, any
    /// opens; see [`SecretKeys`]). Call [`Store::seal_secrets`] next, so that
    /// secrets stored before (plain, or under an older key) are sealed anew.
    pub fn with_secret_keys(mut self, keys: SecretKeys) -> Self {
        self.keys = Some(std::sync::Arc::new(keys));
        self
    }

    /// Whether secrets are sealed at rest.
    pub fn seals_secrets(&self) -> bool {
        self.keys.is_some()
    }

    /// Seals, under the current key, every stored secret that is plain or
    /// sealed under another key: how many. Nothing without keys.
    pub async fn seal_secrets(&self) -> Result<usize, StoreError> {
        let Some(keys) = &self.keys else {
            return Ok(0);
        };
        let mut sealed = 0;
        let raw: Vec<StoredWebhook> = on_backend!(self, list_webhooks())?;
        for webhook in raw {
            let stored = webhook.secret.expose();
            if !keys.needs_sealing(stored) {
                continue;
            }
            let secret = keys.open(&webhook.id, stored)?;
            let new = keys.seal(&webhook.id, &secret)?;
            if write_on_backend!(self, set_secret(&webhook.id, stored, &new))? {
                sealed += 1;
            }
        }
        // The plain secrets' old pages sit in the SQLite WAL until a
        // checkpoint; move them out now (secure_delete zeroes freed pages).
        #[cfg(feature = "sqlite")]
        if let (Pool::Sqlite(pool), true) = (&self.pool, sealed > 0) {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await?;
        }
        Ok(sealed)
    }

    /// The secret as stored for the row `id` (sealed when there are keys).
    fn seal(&self, id: &str, secret: &Secret) -> Result<Secret, StoreError> {
        match &self.keys {
            Some(keys) => Ok(Secret::new(keys.seal(id, secret)?)),
            None => Ok(secret.clone()),
        }
    }

    /// `webhook` with its secret opened.
    fn opened(&self, mut webhook: StoredWebhook) -> Result<StoredWebhook, StoreError> {
        webhook.secret = sealed::open(self.keys.as_deref(), &webhook.id, webhook.secret.expose())?;
        Ok(webhook)
    }

    /// Every subscription, oldest first.
    pub async fn list_webhooks(&self) -> Result<Vec<StoredWebhook>, StoreError> {
        let raw: Vec<StoredWebhook> = on_backend!(self, list_webhooks())?;
        raw.into_iter().map(|w| self.opened(w)).collect()
    }

    /// The subscription with this id.
    pub async fn get_webhook(&self, id: &str) -> Result<Option<StoredWebhook>, StoreError> {
        let raw: Option<StoredWebhook> = on_backend!(self, get_webhook(id))?;
        raw.map(|w| self.opened(w)).transpose()
    }

    /// The id of the subscription whose URL is `url`, compared as the
    /// uniqueness rule compares them (see [`url_key`]), if any.
    pub async fn find_by_url(&self, url: &str) -> Result<Option<String>, StoreError> {
        let key = url_key(url);
        on_backend!(self, find_by_url_key(&key))
    }

    /// How many subscriptions there are.
    pub async fn count_webhooks(&self) -> Result<usize, StoreError> {
        on_backend!(self, count_webhooks())
    }

    /// Stores a new subscription, unless there are `max` already or its
    /// URL is taken (both checked in the same transaction as the insert).
    pub async fn create_webhook(
        &self,
        webhook: &StoredWebhook,
        max: usize,
    ) -> Result<(), WriteError> {
        let key = url_key(&webhook.url);
        let mut stored = webhook.clone();
        stored.secret = self.seal(&webhook.id, &webhook.secret)?;
        write_on_backend!(self, create_webhook(&stored, &key, max))
    }

    /// Applies `change` to the subscription `id`, if it was last modified
    /// at `expected` (else [`WriteError::Conflict`]). Deactivating cancels
    /// its pending deliveries.
    pub async fn update_webhook(
        &self,
        id: &str,
        expected: DateTime<Utc>,
        change: &WebhookChange,
    ) -> Result<StoredWebhook, WriteError> {
        let key = url_key(&change.url);
        let mut stored = change.clone();
        if let Some(secret) = &change.secret {
            stored.secret = Some(self.seal(id, secret)?);
        }
        let updated: StoredWebhook =
            write_on_backend!(self, update_webhook(id, expected, &stored, &key))?;
        Ok(self.opened(updated)?)
    }

    /// Deletes the subscription `id` and cancels its pending deliveries;
    /// `false` when there was none.
    pub async fn delete_webhook(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        write_on_backend!(self, delete_webhook(id, now))
    }

    /// Publishes an event: stores `body` (as it will be sent) and one
    /// pending delivery for each active subscription to its type, in one
    /// transaction (shared with the writes queued meanwhile: group
    /// commit, answered after the commit). `received` is the body as the
    /// publisher sent it: publishing the same id with the same `received`
    /// again (a retry, even one whose `timestamp` the hub filled in anew)
    /// creates nothing and returns the first publication's deliveries; the
    /// same id with another body is [`PublishError::IdReused`].
    /// `occurred_at` is the event's `timestamp`, by which the Events API
    /// reads it ([`Store::events_between`]).
    // Each argument is a distinct part of the event; a struct would only
    // name them twice.
    #[allow(clippy::too_many_arguments)]
    pub async fn publish(
        &self,
        event_id: &str,
        event_type: &str,
        occurred_at: DateTime<Utc>,
        body: &[u8],
        received: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Published, PublishError> {
        use sha2::Digest;
        let received_sha256 = hex::encode(sha2::Sha256::digest(received));
        let publication = group_commit::Publication {
            event_id: event_id.to_string(),
            event_type: event_type.to_string(),
            body: body.to_vec(),
            received_sha256,
            now,
            occurred_at,
            keep_body: self.keep_bodies,
        };
        self.publisher.publish(publication).await
    }

    /// The deliveries to subscription `id`, newest first, at most `limit`,
    /// each with its attempts.
    pub async fn deliveries(
        &self,
        webhook_id: &str,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        on_backend!(self, deliveries(webhook_id, limit))
    }

    /// The deactivations the dispatcher made, newest first, at most `limit`.
    pub async fn deactivations(&self, limit: u32) -> Result<Vec<Deactivation>, StoreError> {
        on_backend!(self, deactivations(limit))
    }

    /// Leases up to `limit` active subscriptions with a delivery due, for
    /// `lease`: their ids with the lease token. In [`DeliveryOrder::Publish`]
    /// a subscription is due when its oldest pending delivery is; in
    /// [`DeliveryOrder::Window`], when any of them is.
    pub async fn claim_webhooks(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
        order: DeliveryOrder,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        write_on_backend!(self, claim_webhooks(now, lease, limit, order))
    }

    /// The oldest pending deliveries (at most `limit`, in publish order) to
    /// a subscription this lease holds, with what sending them needs; none
    /// when the lease is lost.
    pub async fn next_deliveries(
        &self,
        webhook_id: &str,
        token: i64,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        self.pending_after(webhook_id, token, limit, i64::MIN, None)
            .await
    }

    /// The pending deliveries due at `now` that come after position
    /// `after_seq` (a [`DueDelivery::seq`]), at most `limit`, in publish
    /// order, to a subscription this lease holds: what a windowed
    /// dispatcher sends next.
    pub async fn due_deliveries_after(
        &self,
        webhook_id: &str,
        token: i64,
        after_seq: i64,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        self.pending_after(webhook_id, token, limit, after_seq, Some(now))
            .await
    }

    async fn pending_after(
        &self,
        webhook_id: &str,
        token: i64,
        limit: u32,
        after_seq: i64,
        due_at: Option<DateTime<Utc>>,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let raw: Vec<DueDelivery> = on_backend!(
            self,
            next_deliveries(webhook_id, token, limit, after_seq, due_at)
        )?;
        raw.into_iter()
            .map(|mut due| {
                due.secret =
                    sealed::open(self.keys.as_deref(), &due.webhook_id, due.secret.expose())?;
                Ok(due)
            })
            .collect()
    }

    /// Extends a lease to `until`; `false` when it was lost.
    pub async fn extend_lease(
        &self,
        webhook_id: &str,
        token: i64,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        write_on_backend!(self, extend_lease(webhook_id, token, until))
    }

    /// Whether subscription `webhook_id` is active and last modified at
    /// `modified_at`: the check before every attempt.
    pub async fn still_current(
        &self,
        webhook_id: &str,
        modified_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        on_backend!(self, still_current(webhook_id, modified_at))
    }

    /// Gives a lease up.
    pub async fn release(&self, webhook_id: &str, token: i64) -> Result<(), StoreError> {
        write_on_backend!(self, release(webhook_id, token))
    }

    /// Records an attempt of `delivery` and what follows from it, in one
    /// transaction that also renews the lease for `lease`.
    /// [`AttemptOutcome::Exhausted`] also deactivates the subscription,
    /// cancels its other pending deliveries and records the deactivation.
    /// The delivery's state changes only while the lease is held; the
    /// attempt is recorded regardless (it happened).
    pub async fn record_attempt(
        &self,
        delivery: &DueDelivery,
        token: i64,
        lease: Duration,
        attempt: &AttemptRecord,
        outcome: &AttemptOutcome,
    ) -> Result<(), StoreError> {
        write_on_backend!(
            self,
            record_attempt(delivery, token, lease, attempt, outcome)
        )
    }

    /// Records successful attempts of deliveries to one subscription, in
    /// one transaction that also renews the lease (shared with the other
    /// writes queued meanwhile: group commit, answered after the commit):
    /// each `(delivery id, attempt)` is delivered (while the lease is
    /// held).
    pub async fn record_delivered(
        &self,
        webhook_id: &str,
        token: i64,
        lease: Duration,
        delivered: &[(String, AttemptRecord)],
    ) -> Result<(), StoreError> {
        self.publisher
            .record(group_commit::Delivered {
                webhook_id: webhook_id.to_string(),
                token,
                lease,
                delivered: delivered.to_vec(),
            })
            .await
    }

    /// Deletes what finished before `before`: delivered, failed and
    /// cancelled deliveries with their attempts, then the events left with
    /// no delivery (published before `before`, so republishing such an id
    /// is no longer recognised as the same event). Pending deliveries, the
    /// subscriptions and the deactivations stay. Returns how many
    /// deliveries and events were deleted.
    pub async fn purge(&self, before: DateTime<Utc>) -> Result<(u64, u64), StoreError> {
        write_on_backend!(self, purge(before))
    }

    /// When the earliest pending delivery to an active subscription is due.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        on_backend!(self, next_due())
    }

    /// Makes `webhook_id`'s pending deliveries that wait for a retry due
    /// at `now` (a "retry now" after the receiver was fixed); how many.
    pub async fn make_due_now(
        &self,
        webhook_id: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        write_on_backend!(self, make_due_now(webhook_id, now))
    }

    /// Runs a trivial query: `Ok` when the database answers (a readiness
    /// check; bound its wait with a timeout, as the pool waits for a
    /// connection).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_backend!(self, ping())
    }

    /// Every subscription with how many deliveries it has pending, for
    /// metrics and dashboards.
    pub async fn backlog(&self) -> Result<Vec<Backlog>, StoreError> {
        on_backend!(self, backlog())
    }
}

/// A URL as the uniqueness rule compares it: parsed and written back
/// (scheme and host lowercased, the default port dropped, `/` for an
/// empty path); as given when it does not parse.
///
/// ```
/// use gladly_webhook_hub::store::url_key;
///
/// assert_eq!(url_key("HTTPS://Example.COM:443"), url_key("https://example.com/"));
/// assert_ne!(url_key("https://example.com/a"), url_key("https://example.com/b"));
/// // An empty query, an escaped unreserved character and a trailing dot in
/// // the host change nothing a receiver sees.
/// assert_eq!(url_key("https://example.com./h?"), url_key("https://example.com/%68"));
/// assert_ne!(url_key("https://example.com/h?a=1"), url_key("https://example.com/h"));
/// ```
pub fn url_key(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_string();
    };
    if let Some(url::Host::Domain(name)) = parsed.host()
        && let Some(bare) = name.strip_suffix('.').map(str::to_string)
    {
        let _ = parsed.set_host(Some(&bare));
    }
    let path = decode_unreserved(parsed.path());
    parsed.set_path(&path);
    match parsed.query().map(decode_unreserved) {
        Some(query) if query.is_empty() => parsed.set_query(None),
        Some(query) => parsed.set_query(Some(&query)),
        None => {}
    }
    parsed.set_fragment(None);
    parsed.to_string()
}

/// `text` with percent-escapes of unreserved characters (RFC 3986:
/// letters, digits, `-._~`) decoded and every other escape upper-cased:
/// the forms that mean the same URL.
fn decode_unreserved(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit();
        if escape {
            let hex = &text[i + 1..i + 3];
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                    out.push(char::from(byte));
                } else {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
        }
        let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
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

/// `now + d`, in milliseconds, saturating.
pub(crate) fn millis_after(now: DateTime<Utc>, d: Duration) -> i64 {
    millis(now).saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Creates the SQLite file readable and writable by its owner only (0600)
/// before SQLite opens it, or tightens an existing one and its `-wal` and
/// `-shm` files (SQLite creates those with the database file's mode).
#[cfg(feature = "sqlite")]
fn create_private(path: &std::path::Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |err: std::io::Error| StoreError::File(format!("{}: {err}", path.display()));
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            if std::fs::metadata(&file).is_ok() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Connects once, outside any pool, so that a server that cannot be used
/// reports why (connection refused, password authentication failed, no
/// such database) instead of the pool's "timed out".
#[cfg(feature = "postgres")]
async fn first_postgres_connection(
    options: &sqlx::postgres::PgConnectOptions,
    within: Duration,
) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    match tokio::time::timeout(within, sqlx::postgres::PgConnection::connect_with(options)).await {
        Ok(connection) => connection?.close().await,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("the server did not answer within {} s", within.as_secs()),
        ))),
    }
}
