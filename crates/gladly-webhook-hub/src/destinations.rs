//! A relay's destinations: where events are passed on as Standard Webhooks
//! 1.0, each with its own keys, body shape, retry schedule, address rule
//! and timeout. The store keeps each as a row of model `destination`
//! ([`Store::set_destinations`]), so publications fan out to them and the
//! dispatcher works their deliveries like any other (windows, leases,
//! rate limits, `Retry-After`, recover); what signs and sends is held here,
//! in memory, and never stored.
//!
//! An attempt carries `webhook-id` (the event's id: the same on every
//! retry, recover and backfill, so consumers deduplicate),
//! `webhook-timestamp` (this attempt's) and `webhook-signature` (one entry
//! per key of the destination's [`StandardSigner`]). A delivery whose last
//! attempt failed is `failed` (a dead event, which recover sends again)
//! and raises `delivery.exhausted`; the destination is never deactivated.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use gladly_webhook_core::standard_webhooks::StandardSigner;
use gladly_webhook_sender::{Schedule, Sender};

use crate::store::{DestinationRow, DueDelivery, Store, StoreError};

/// The waits of the Standard Webhooks specification's example schedule,
/// the default of a destination: after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
/// 14 h, 20 h and 24 h (ten attempts over about three days).
pub const STANDARD_DELAYS: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(24 * 3600),
];

/// What a destination's request body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BodyShape {
    /// The event as it was received, byte for byte (the default).
    #[default]
    AsReceived,
    /// The specification's envelope: `{"type", "timestamp", "data"}`, with
    /// the event as received (byte for byte) as `data`, its type, and its
    /// `timestamp` (when it was received, if it has none).
    Envelope,
}

/// One destination: its id and URL, the events it receives, and how it is
/// sent to.
#[derive(Debug, Clone)]
pub struct Destination {
    id: String,
    url: String,
    events: Vec<String>,
    sender: Sender,
    signer: StandardSigner,
    body: BodyShape,
    schedule: Schedule,
}

impl Destination {
    /// Destination `id` at `url`, receiving `events` (type names or
    /// patterns ending in `*`, see [`crate::store::subscribes_to`]), signed
    /// by `signer`, sent by `sender` (its address rule, timeout and
    /// connection pool; its own signing and schedule are not used). Its
    /// body is the event as received, its schedule [`STANDARD_DELAYS`].
    pub fn new(
        id: &str,
        url: &str,
        events: Vec<String>,
        signer: StandardSigner,
        sender: &Sender,
    ) -> Self {
        Self {
            id: id.to_string(),
            url: url.to_string(),
            events,
            // One attempt per call: the dispatcher schedules the retries.
            sender: sender.without_signing().schedule(Schedule::None),
            signer,
            body: BodyShape::AsReceived,
            schedule: Schedule::Delays(STANDARD_DELAYS.to_vec()),
        }
    }

    /// Sends bodies of `shape`.
    pub fn body(mut self, shape: BodyShape) -> Self {
        self.body = shape;
        self
    }

    /// Retries on `schedule`.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its retry schedule.
    pub(crate) fn retries(&self) -> &Schedule {
        &self.schedule
    }

    /// The sender of one delivery of event `event_id`.
    pub(crate) fn sender_for(&self, event_id: &str) -> Sender {
        self.sender.standard_webhooks(self.signer.clone(), event_id)
    }

    /// The body `due` is sent with.
    pub(crate) fn body_of(&self, due: &DueDelivery) -> Vec<u8> {
        match self.body {
            BodyShape::AsReceived => due.body.clone(),
            BodyShape::Envelope => envelope(due),
        }
    }
}

/// `{"type", "timestamp", "data"}` around `due`'s body, which is kept as
/// it is (it is JSON: the relay keeps only events that parse).
fn envelope(due: &DueDelivery) -> Vec<u8> {
    #[derive(serde::Deserialize)]
    struct Stamp {
        timestamp: Option<String>,
    }
    let timestamp = serde_json::from_slice::<Stamp>(&due.body)
        .ok()
        .and_then(|s| s.timestamp)
        .unwrap_or_else(|| {
            due.published_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        });
    let head = serde_json::json!({"type": due.event_type, "timestamp": timestamp}).to_string();
    let mut body = Vec::with_capacity(head.len() + due.body.len() + 8);
    body.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    body.extend_from_slice(b",\"data\":");
    body.extend_from_slice(&due.body);
    body.push(b'}');
    body
}

/// The destinations a dispatcher sends to, by id: shared by its clones,
/// replaced whole by [`Destinations::apply`] (a configuration reload), and
/// read by every attempt to a destination.
#[derive(Clone, Default)]
pub struct Destinations {
    table: Arc<RwLock<Arc<Table>>>,
}

/// The destinations in force, by id.
type Table = HashMap<String, Arc<Destination>>;

impl std::fmt::Debug for Destinations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let table = self.current();
        let mut ids: Vec<&String> = table.keys().collect();
        ids.sort();
        f.debug_tuple("Destinations").field(&ids).finish()
    }
}

impl Destinations {
    /// None yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn current(&self) -> Arc<Table> {
        match self.table.read() {
            Ok(table) => Arc::clone(&table),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Destination `id`, if it is configured.
    pub fn get(&self, id: &str) -> Option<Arc<Destination>> {
        self.current().get(id).cloned()
    }

    /// Makes `destinations` the ones in force: the store's rows (new ones
    /// added, changed ones updated, the others deactivated with their
    /// pending deliveries kept) and what sends to them. On a store error
    /// the ones in force stay.
    pub async fn apply(
        &self,
        store: &Store,
        destinations: Vec<Destination>,
    ) -> Result<(), StoreError> {
        let rows: Vec<DestinationRow> = destinations
            .iter()
            .map(|d| DestinationRow::new(&d.id, &d.url, d.events.clone()))
            .collect();
        let table: Table = destinations
            .into_iter()
            .map(|d| (d.id.clone(), Arc::new(d)))
            .collect();
        // The old and the new together while the rows change: a new
        // destination's first delivery finds what sends it, and a removed
        // one's attempts in flight still do, until its row is inactive.
        let old = self.current();
        let mut both = (*old).clone();
        both.extend(table.iter().map(|(id, d)| (id.clone(), Arc::clone(d))));
        self.replace(both);
        match store.set_destinations(&rows).await {
            Ok(()) => {
                self.replace(table);
                Ok(())
            }
            Err(err) => {
                self.replace((*old).clone());
                Err(err)
            }
        }
    }

    fn replace(&self, table: Table) {
        match self.table.write() {
            Ok(mut current) => *current = Arc::new(table),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(table),
        }
    }
}
