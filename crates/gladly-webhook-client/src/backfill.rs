//! Backfill (feature `inbox`): the events Gladly's Events API still holds
//! (the last 24 hours), inserted into an inbox exactly as `listen` stores
//! deliveries ([`gladly_webhook_receiver::inbox_event`]: keyed by event
//! id), so events already received are not stored twice and the workers
//! run the missing ones as if they had arrived by webhook.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use gladly_webhook_client::backfill::{Backfill, Window};
//! use gladly_webhook_client::Client;
//!
//! let client = Client::new("https://acme.gladly.com", "ops@acme.com:API_TOKEN".parse()?)?;
//! let inbox = gladly_webhook_receiver::inbox::open("sqlite:gladly-inbox.db").await?;
//! let since = chrono::Utc::now() - chrono::TimeDelta::hours(6);
//! let report = Backfill::new(&client, inbox.as_ref())
//!     .entities(["CONVERSATION".to_string(), "TASK".to_string()])
//!     .run(Window::since(since))
//!     .await?;
//! println!("{report}");
//! // Later, without a start: from where this run stopped.
//! let _ = Backfill::new(&client, inbox.as_ref()).run(Window::resume()).await?;
//! # Ok(()) }
//! ```

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::StreamExt as _;
use futures_util::stream::FuturesOrdered;
use gladly_webhook_receiver::BoxError;
use gladly_webhook_receiver::inbox::{BoxFuture, Inbox, InboxError, Inserted, NewEvent, State};

use crate::client::Client;
use crate::error::ClientError;
use crate::events::{EVENTS_RETENTION, EventLine, EventsQuery};

/// How far behind real time the Events API may run: a window ends this
/// long ago at the latest, so the next run misses nothing.
pub const EVENTS_LAG: TimeDelta = TimeDelta::seconds(15);

/// Events stored between two checkpoints of the cursor: a run stopped
/// halfway resumes from its last checkpoint ([`Window::resume`]).
pub const CHECKPOINT_EVERY: u64 = 1000;

/// Which events to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Window {
    /// From; `None`: from where the last backfill of this API into this
    /// inbox stopped.
    pub since: Option<DateTime<Utc>>,
    /// Until; `None`: now (less [`EVENTS_LAG`]).
    pub until: Option<DateTime<Utc>>,
}

impl Window {
    /// From `since` until now.
    pub fn since(since: DateTime<Utc>) -> Self {
        Self {
            since: Some(since),
            until: None,
        }
    }

    /// From where the last backfill stopped until now.
    pub fn resume() -> Self {
        Self {
            since: None,
            until: None,
        }
    }

    /// Until `until`.
    pub fn until(mut self, until: DateTime<Utc>) -> Self {
        self.until = Some(until);
        self
    }
}

/// What a backfill did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackfillReport {
    /// The window read.
    pub from: DateTime<Utc>,
    /// Its end.
    pub until: DateTime<Utc>,
    /// Lines read.
    pub read: u64,
    /// Events the inbox did not hold: stored as pending.
    pub new: u64,
    /// Events it held already (received by webhook, or backfilled before).
    pub duplicate: u64,
    /// Lines that are not a well-formed event: kept as dead (new ones) as
    /// `listen` keeps such deliveries, or too long to read.
    pub malformed: u64,
}

impl fmt::Display for BackfillReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "read {}, new {}, duplicate {}, malformed {} (from {} until {})",
            self.read,
            self.new,
            self.duplicate,
            self.malformed,
            self.from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            self.until
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    }
}

/// Why a backfill stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackfillError {
    /// The window is not one the Events API can serve.
    #[error("{0}")]
    Window(String),
    /// The API refused or could not be reached.
    #[error(transparent)]
    Api(#[from] ClientError),
    /// The inbox failed; what was stored so far stays, and the cursor did
    /// not move: run it again.
    #[error("the inbox failed: {0}")]
    Inbox(#[from] InboxError),
    /// Another [`BackfillTarget`] failed (a relay's store); what was stored
    /// so far stays, and the cursor did not move: run it again.
    #[error("the store failed: {0}")]
    Target(BoxError),
}

/// Where a backfill keeps what it reads, when it is not an [`Inbox`] (a
/// relay's store, which sends each new event on): each event as a
/// receiver would keep a delivery of it (so one received both ways is kept
/// once), and a named cursor.
pub trait BackfillTarget: Send + Sync {
    /// Keeps `event`, or recognises it by its key.
    fn insert(&self, event: NewEvent) -> BoxFuture<'_, Result<Inserted, BoxError>>;
    /// The value stored under `name`, if any.
    fn cursor<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, BoxError>>;
    /// Stores `value` under `name`.
    fn set_cursor<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), BoxError>>;
}

/// What a backfill writes to.
#[derive(Clone, Copy)]
enum Target<'a> {
    Inbox(&'a dyn Inbox),
    Other(&'a dyn BackfillTarget),
}

impl Target<'_> {
    async fn insert(self, event: NewEvent) -> Result<Inserted, BackfillError> {
        match self {
            Self::Inbox(inbox) => Ok(inbox.insert(event).await?),
            Self::Other(target) => target.insert(event).await.map_err(BackfillError::Target),
        }
    }

    async fn cursor(self, name: &str) -> Result<Option<String>, BackfillError> {
        match self {
            Self::Inbox(inbox) => Ok(inbox.cursor(name).await?),
            Self::Other(target) => target.cursor(name).await.map_err(BackfillError::Target),
        }
    }

    async fn set_cursor(self, name: &str, value: &str) -> Result<(), BackfillError> {
        match self {
            Self::Inbox(inbox) => Ok(inbox.set_cursor(name, value).await?),
            Self::Other(target) => target
                .set_cursor(name, value)
                .await
                .map_err(BackfillError::Target),
        }
    }
}

/// Inserts a backfill has under way at once.
const IN_FLIGHT: usize = 64;

/// An insert's outcome, whether its event was stored dead, and its
/// `timestamp`.
type Settled = (Result<Inserted, BackfillError>, bool, Option<DateTime<Utc>>);

/// The `timestamp` of an event's body, when it has one that reads.
fn timestamp_of(body: &[u8]) -> Option<DateTime<Utc>> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        timestamp: Option<DateTime<Utc>>,
    }
    serde_json::from_slice::<Envelope>(body).ok()?.timestamp
}

/// A backfill of one API into one inbox.
pub struct Backfill<'a> {
    client: &'a Client,
    target: Target<'a>,
    entities: Vec<String>,
}

impl fmt::Debug for Backfill<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backfill")
            .field("client", self.client)
            .field("entities", &self.entities)
            .finish_non_exhaustive()
    }
}

impl<'a> Backfill<'a> {
    /// Reads `client`'s Events API into `inbox`.
    pub fn new(client: &'a Client, inbox: &'a dyn Inbox) -> Self {
        Self {
            client,
            target: Target::Inbox(inbox),
            entities: Vec::new(),
        }
    }

    /// Reads `client`'s Events API into `target` (a relay's store).
    pub fn into_target(client: &'a Client, target: &'a dyn BackfillTarget) -> Self {
        Self {
            client,
            target: Target::Other(target),
            entities: Vec::new(),
        }
    }

    /// Only these entities (`CONVERSATION`, `TASK`...; all when none).
    pub fn entities(mut self, entities: impl IntoIterator<Item = String>) -> Self {
        self.entities = entities.into_iter().collect();
        self
    }

    /// Counts a settled insert, and checkpoints the cursor at its event's
    /// `timestamp` every [`CHECKPOINT_EVERY`] events.
    async fn settle(
        &self,
        (inserted, dead, at): Settled,
        report: &mut BackfillReport,
        since_checkpoint: &mut u64,
    ) -> Result<(), BackfillError> {
        match inserted? {
            _ if dead => report.malformed += 1,
            Inserted::New => report.new += 1,
            _ => report.duplicate += 1,
        }
        *since_checkpoint += 1;
        if *since_checkpoint >= CHECKPOINT_EVERY
            && let Some(at) = at
        {
            self.target
                .set_cursor(&self.cursor_name(), &at.to_rfc3339())
                .await?;
            *since_checkpoint = 0;
        }
        Ok(())
    }

    /// The cursor's name in the inbox: one per API.
    fn cursor_name(&self) -> String {
        format!("backfill {}", self.client.base())
    }

    /// Reads the window and inserts its events, checkpointing the cursor
    /// every [`CHECKPOINT_EVERY`] events at the last stored event's
    /// `timestamp` (the Events API streams in timestamp order, so every
    /// earlier event is stored; a resumed run reads that instant again and
    /// the inbox keeps each event once); on success the cursor moves to
    /// the window's end. A run that stops halfway (killed, a timeout)
    /// resumes from its last checkpoint with [`Window::resume`].
    pub async fn run(self, window: Window) -> Result<BackfillReport, BackfillError> {
        let now = Utc::now();
        let oldest = now - TimeDelta::from_std(EVENTS_RETENTION).unwrap_or(TimeDelta::MAX);
        let from = match window.since {
            Some(since) => since,
            None => match self.target.cursor(&self.cursor_name()).await? {
                Some(text) => DateTime::parse_from_rfc3339(&text)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        BackfillError::Window(format!(
                            "the stored cursor {text:?} is not a time: give --since"
                        ))
                    })?,
                None => {
                    return Err(BackfillError::Window(
                        "no earlier backfill from this API into this inbox to resume from: give --since (at most 24h)".to_string(),
                    ));
                }
            },
        };
        if from < oldest {
            let hours = (now - from).num_minutes() as f64 / 60.0;
            return Err(BackfillError::Window(format!(
                "Gladly's Events API keeps the last 24 hours: the window starts {hours:.1} hours ago; give --since 24h or less"
            )));
        }
        let until = window.until.unwrap_or(now - EVENTS_LAG).min(now);
        if until <= from {
            return Err(BackfillError::Window(
                "the window is empty: --until must come after --since".to_string(),
            ));
        }
        let query = EventsQuery::since(from)
            .until(until)
            .entities(self.entities.clone());
        let mut stream = self.client.events(&query).await?;
        let mut report = BackfillReport {
            from,
            until,
            read: 0,
            new: 0,
            duplicate: 0,
            malformed: 0,
        };
        // Up to IN_FLIGHT inserts at once (the inbox commits them together),
        // settled in stream order: once an event's insert is settled, every
        // earlier one is, so its timestamp is a safe checkpoint.
        let mut inserts = FuturesOrdered::new();
        let mut since_checkpoint = 0;
        loop {
            let line = match stream.next().await {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(err) => {
                    // What was read is stored before the error is told.
                    while let Some(settled) = inserts.next().await {
                        self.settle(settled, &mut report, &mut since_checkpoint)
                            .await?;
                    }
                    return Err(err.into());
                }
            };
            report.read += 1;
            let body = match line {
                EventLine::Event(body) => body,
                EventLine::TooLong => {
                    report.malformed += 1;
                    continue;
                }
            };
            // A PING is not an event to store.
            let Some(event) = gladly_webhook_receiver::inbox_event(&body) else {
                continue;
            };
            let dead = event.state == State::Dead;
            let at = timestamp_of(&body);
            let target = self.target;
            inserts.push_back(async move { (target.insert(event).await, dead, at) });
            if inserts.len() >= IN_FLIGHT
                && let Some(settled) = inserts.next().await
            {
                self.settle(settled, &mut report, &mut since_checkpoint)
                    .await?;
            }
        }
        while let Some(settled) = inserts.next().await {
            self.settle(settled, &mut report, &mut since_checkpoint)
                .await?;
        }
        self.target
            .set_cursor(&self.cursor_name(), &until.to_rfc3339())
            .await?;
        Ok(report)
    }
}
