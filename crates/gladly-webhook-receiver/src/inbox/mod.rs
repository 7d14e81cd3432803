//! The durable inbox: where a delivery is committed before Gladly is told
//! 200, and where workers find it.
//!
//! [`Inbox`] is the contract; [`SqliteInbox`] (feature `sqlite`, on by
//! default) is the embedded store, `PgInbox` (feature `postgres`) the
//! one for several receivers and workers on several machines. Both keep
//! the same rows and pass the same conformance suite.
//!
//! A row's life: `pending` when stored, `running` while a worker holds its
//! lease, then `done`, or back to `pending` with a later `next_run_at`
//! after a failed run, or `dead` after the last allowed attempt (and at
//! once for a delivery that is not a well-formed event).
//! [`Inbox::requeue`] puts a `dead` row back to `pending`. A lease that
//! expires (its worker died) makes the row claimable again.
//!
//! Both built-in backends run the same code: a write is a typed job with
//! its own reply, and one writing task per inbox commits the jobs queued
//! while it was busy together (group commit: one commit for many
//! deliveries), with the same SQL, each statement beside the code that
//! binds it; every caller is answered after the commit.

mod any;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod backed;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod backend;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod jobs;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod reads;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(all(test, any(feature = "sqlite", feature = "postgres")))]
mod statements;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod writes;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use any::open;
#[cfg(feature = "postgres")]
pub use postgres::PgInbox;
#[cfg(feature = "sqlite")]
pub use sqlite::{Durability, SqliteInbox, SqliteOptions};

/// A boxed future, so [`Inbox`] can be used as `dyn Inbox`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How long a purge keeps `done` rows by default: 7 days (Gladly retries a
/// delivery for an hour, so its dedup memory lasts well past that).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Where a row is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum State {
    /// Waiting for a worker (from `next_run_at` on).
    Pending,
    /// Held by a worker until its lease runs out.
    Running,
    /// Handled.
    Done,
    /// Not handled, and not to be retried until [`Inbox::requeue`].
    Dead,
}

impl State {
    /// Every state, in life order.
    pub const ALL: [State; 4] = [State::Pending, State::Running, State::Done, State::Dead];

    /// The state's name as stored: `pending`, `running`, `done`, `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, InboxError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| InboxError::Corrupt(format!("unknown state {text:?}")))
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for State {
    type Err = InboxError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// A delivery to store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewEvent {
    /// The dedup key: the event id, or `sha256:<hex>` of the body.
    pub dedup_key: String,
    /// The event's `id`, when it has a string one.
    pub event_id: Option<String>,
    /// The event's `type` as sent (empty when it has none).
    pub event_type: String,
    /// The body, byte for byte as received.
    pub body: Vec<u8>,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// `Pending` for an event to handle, `Dead` for a delivery that is not
    /// a well-formed event (kept for a replay after a fix).
    pub state: State,
    /// Why it is dead, for a dead delivery.
    pub error: Option<String>,
}

impl NewEvent {
    /// A delivery of `body` to store as `state`, keyed by `event_id` when
    /// there is one and by the SHA-256 of the body when not.
    pub fn new(
        body: Vec<u8>,
        event_id: Option<String>,
        event_type: String,
        state: State,
        error: Option<String>,
    ) -> Self {
        Self {
            dedup_key: dedup_key(event_id.as_deref(), &body),
            event_id,
            event_type,
            body,
            received_at: Utc::now(),
            state,
            error,
        }
    }
}

/// The dedup key of a delivery: its event id, or `sha256:<hex>` of its body
/// when it has none (or an id that could be mistaken for such a key).
pub fn dedup_key(event_id: Option<&str>, body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    match event_id {
        Some(id) if !id.starts_with("sha256:") => id.to_string(),
        _ => format!("sha256:{}", hex::encode(Sha256::digest(body))),
    }
}

/// What storing a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inserted {
    /// A new row: there is new work.
    New,
    /// A row with that dedup key was already there: nothing changed.
    Duplicate,
}

/// A row a worker holds: what it runs, and the token that proves the lease
/// is still its own.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claimed {
    /// The row's sequence number in this inbox.
    pub seq: i64,
    /// The dedup key.
    pub dedup_key: String,
    /// The event's `id`, when it has one.
    pub event_id: Option<String>,
    /// The event's `type`.
    pub event_type: String,
    /// The body as received.
    pub body: Vec<u8>,
    /// This run's attempt number, from 1.
    pub attempt: u32,
    /// The lease's token: every later call for this run passes it, and one
    /// whose lease was lost (expired and claimed again) is refused.
    pub lease_token: i64,
}

/// A row as stored, for looking into the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredEvent {
    /// The row's sequence number in this inbox.
    pub seq: i64,
    /// The dedup key.
    pub dedup_key: String,
    /// The event's `id`, when it has one.
    pub event_id: Option<String>,
    /// The event's `type` as sent.
    pub event_type: String,
    /// The body as received.
    pub body: Vec<u8>,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// Where it is in its life.
    pub state: State,
    /// Runs started so far.
    pub attempts: u32,
    /// When it may run (next).
    pub next_run_at: DateTime<Utc>,
    /// Until when a worker holds it, while `running`.
    pub lease_until: Option<DateTime<Utc>>,
    /// The last error of a run, or why it is dead.
    pub last_error: Option<String>,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
}

/// One line of a row's history: a run's outcome, a requeue.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryEntry {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The attempt it concerns.
    pub attempt: u32,
    /// `done`, `failed`, `dead`, `released`, `requeued` or `rerun`.
    pub outcome: String,
    /// The error, for a failure.
    pub detail: Option<String>,
}

/// Which finished rows [`Inbox::requeue_range`] runs again: those in
/// `state` (`dead` by default; `done` replays handled events) received in
/// `[since, until)`, of one event type when `event_type` is set.
///
/// ```
/// use gladly_webhook_receiver::inbox::{RequeueRange, State};
/// let since = "2026-12-07T09:00:00Z".parse().unwrap();
/// let range = RequeueRange::since(since).event_type("CONVERSATION_CLOSED");
/// assert_eq!(range.state, State::Dead);
/// assert!(range.until.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequeueRange {
    /// The first receipt time in the range (inclusive).
    pub since: DateTime<Utc>,
    /// The end of the range (exclusive); now when `None`.
    pub until: Option<DateTime<Utc>>,
    /// Only rows of this event type.
    pub event_type: Option<String>,
    /// The state the rows are in: [`State::Dead`] or [`State::Done`].
    pub state: State,
}

impl RequeueRange {
    /// The dead rows received from `since` until now, of every type.
    pub fn since(since: DateTime<Utc>) -> Self {
        Self {
            since,
            until: None,
            event_type: None,
            state: State::Dead,
        }
    }

    /// Every dead row.
    pub fn all_dead() -> Self {
        Self::since(DateTime::<Utc>::MIN_UTC)
    }

    /// The range's end (exclusive).
    pub fn until(mut self, until: DateTime<Utc>) -> Self {
        self.until = Some(until);
        self
    }

    /// Only rows of `event_type`.
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.event_type = Some(event_type.into());
        self
    }

    /// Rows in `state` ([`State::Dead`] or [`State::Done`]; another state
    /// is refused with [`InboxError::NotRequeueable`]).
    pub fn state(mut self, state: State) -> Self {
        self.state = state;
        self
    }
}

/// Which rows [`Inbox::list`] returns, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListFilter {
    /// Only rows in this state.
    pub state: Option<State>,
    /// Only rows of this event type.
    pub event_type: Option<String>,
    /// At most this many rows (default 100, at most 10,000).
    pub limit: Option<u32>,
}

/// Counts per state and the age of the oldest pending row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Rows waiting for a worker.
    pub pending: u64,
    /// Rows held by a worker.
    pub running: u64,
    /// Rows handled (until purged).
    pub done: u64,
    /// Rows given up on.
    pub dead: u64,
    /// How long the oldest pending row has waited since it was received.
    pub oldest_pending_age: Option<Duration>,
}

/// How a run ended, as [`Inbox::finish`] records it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The handler succeeded: `done`.
    Done,
    /// The handler failed and may run again at `retry_at`: `pending`.
    Retry {
        /// The error, kept as `last_error`.
        error: String,
        /// When the next attempt may start.
        retry_at: DateTime<Utc>,
    },
    /// The handler failed for the last allowed time: `dead`.
    Dead {
        /// The error, kept as `last_error`.
        error: String,
    },
    /// The run was stopped (a shutdown) before it ended: back to `pending`
    /// at once, the attempt not counted.
    Released,
}

/// Why the inbox could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// The database refused or could not be reached: nothing was changed
    /// (a receiver answers 503, and Gladly retries). Shared: a failed
    /// group commit fails every write in it.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[error("the inbox database failed: {0}")]
    Database(std::sync::Arc<sqlx::Error>),
    /// The migrations could not be applied on open.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[error("the inbox's migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The inbox URL is not one this build can open.
    #[error("unsupported inbox URL: {0}")]
    Url(String),
    /// The inbox's writer has stopped (the inbox was closed).
    #[error("the inbox is closed")]
    Closed,
    /// A row holds something this version cannot read.
    #[error("the inbox holds an unreadable row: {0}")]
    Corrupt(String),
    /// A requeue asked for rows in a state that is not finished.
    #[error("only dead or done rows can be requeued, not {0} ones")]
    NotRequeueable(State),
    /// A requeue's range ends before it starts.
    #[error("the range is empty: until ({until}) must be after since ({since})")]
    EmptyRange {
        /// The range's start, RFC 3339.
        since: String,
        /// The range's end, RFC 3339.
        until: String,
    },
    /// The inbox's file cannot be created or opened (its folder does not
    /// exist, a permission is missing...).
    #[error("cannot open the inbox file {path}: {reason}")]
    File {
        /// The file's path.
        path: String,
        /// Why, in words.
        reason: String,
    },
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl From<sqlx::Error> for InboxError {
    fn from(err: sqlx::Error) -> Self {
        Self::Database(std::sync::Arc::new(err))
    }
}

/// A durable inbox of deliveries.
///
/// Every method changes nothing unless it returns `Ok`: a receiver answers
/// 200 only after [`Inbox::insert`] returned, so nothing acknowledged to
/// Gladly is lost.
pub trait Inbox: Send + Sync + 'static {
    /// Stores a delivery, or recognises it by its dedup key.
    fn insert(&self, event: NewEvent) -> BoxFuture<'_, Result<Inserted, InboxError>>;

    /// Claims the runnable row that is due first (a `pending` row whose
    /// `next_run_at` has come, or a `running` row whose lease has
    /// expired), holding it for `lease`.
    fn claim(&self, lease: Duration) -> BoxFuture<'_, Result<Option<Claimed>, InboxError>>;

    /// Extends the lease of a run that is still going: `false` when the
    /// lease is no longer this run's (it expired and was claimed again).
    fn extend_lease(
        &self,
        seq: i64,
        lease_token: i64,
        lease: Duration,
    ) -> BoxFuture<'_, Result<bool, InboxError>>;

    /// Records how a run ended: `false` (and nothing changed) when the
    /// lease is no longer this run's.
    fn finish(
        &self,
        seq: i64,
        lease_token: i64,
        outcome: Outcome,
    ) -> BoxFuture<'_, Result<bool, InboxError>>;

    /// Puts a `dead` row, named by its dedup key or event id, back to
    /// `pending` to run now: `false` when there is no such dead row.
    fn requeue<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, InboxError>>;

    /// Puts every `dead` row back to `pending`: how many.
    fn requeue_all_dead(&self) -> BoxFuture<'_, Result<u64, InboxError>>;

    /// Puts the rows of `range` (dead by default, or done) back to
    /// `pending` to run now, attempts from 1 again, each with a line in
    /// its history (`requeued`, or `rerun` for a done row): how many. A
    /// second call finds them pending and changes nothing.
    fn requeue_range(&self, range: RequeueRange) -> BoxFuture<'_, Result<u64, InboxError>>;

    /// Puts a `done` row (by dedup key or event id) back to `pending`,
    /// attempts from 1 again, so that the handlers run it once more (after
    /// a fix, to replay an event). `false` if no done row has that key.
    fn rerun<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, InboxError>>;

    /// The value stored under `name` by [`Inbox::set_cursor`], if any.
    fn cursor<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, InboxError>>;

    /// Stores `value` under `name`: where a reader of another source (a
    /// backfill from Gladly's Events API) stopped, kept with the inbox.
    fn set_cursor<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), InboxError>>;

    /// Deletes `done` rows last changed before `now - retention`: how many.
    /// Rows inside the retention stay, so their dedup keys still stop a
    /// redelivery.
    fn purge(&self, retention: Duration) -> BoxFuture<'_, Result<u64, InboxError>>;

    /// Counts per state, and the age of the oldest pending row.
    fn stats(&self) -> BoxFuture<'_, Result<Stats, InboxError>>;

    /// Checks that the database answers (a readiness probe): a trivial
    /// query on the built-in backends. Bound the wait with a timeout: a
    /// pool waits for a connection. The default runs [`Inbox::stats`].
    fn ping(&self) -> BoxFuture<'_, Result<(), InboxError>> {
        Box::pin(async move { self.stats().await.map(|_| ()) })
    }

    /// One row, by its dedup key or event id.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredEvent>, InboxError>>;

    /// A row's history, oldest first.
    fn history(&self, seq: i64) -> BoxFuture<'_, Result<Vec<HistoryEntry>, InboxError>>;

    /// Rows, newest first.
    fn list(&self, filter: ListFilter) -> BoxFuture<'_, Result<Vec<StoredEvent>, InboxError>>;

    /// A signal that new work may be waiting, raised by any process that
    /// stores or requeues an event, when the backend can tell (PostgreSQL:
    /// `LISTEN`/`NOTIFY`). Workers wait on it as well as polling, so a
    /// receiver and workers in separate processes need not wait for a
    /// poll. `None` (the default): polling only.
    fn wakeups(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        None
    }
}

/// Unix milliseconds, as rows store times.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// A time from Unix milliseconds.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>, InboxError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| InboxError::Corrupt(format!("time {ms} ms is out of range")))
}

/// `now + d`, in milliseconds, saturating.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn millis_after(now: DateTime<Utc>, d: Duration) -> i64 {
    millis(now).saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A fresh lease token.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn lease_token() -> i64 {
    fastrand::i64(1..i64::MAX)
}

/// The most rows [`Inbox::list`] returns.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) const MAX_LIST: u32 = 10_000;

/// The `limit` of a list filter, bounded.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn list_limit(filter: &ListFilter) -> i64 {
    i64::from(filter.limit.unwrap_or(100).clamp(1, MAX_LIST))
}
