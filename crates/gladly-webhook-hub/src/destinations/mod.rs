//! A relay's destinations: where events are passed on, as Standard Webhooks
//! 1.0 over HTTP (each with its own keys, body shape, address rule and
//! timeout) or by another [`Transport`] (a message bus), each with its own
//! retry schedule. The store keeps each as a row of model `destination`
//! ([`Store::set_destinations`]), so publications fan out to them and the
//! dispatcher works their deliveries like any other (windows, leases,
//! rate limits, `Retry-After`, recover); what signs and sends is held here,
//! in memory, and never stored.
//!
//! An HTTP attempt carries `webhook-id` (the event's id: the same on every
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

mod http;
mod transport;

use http::StandardHttp;
pub(crate) use http::sent;
pub use transport::{Attempt, Sent, Transport};

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

/// One destination: its id and address, the events it receives, its
/// retry schedule, and the [`Transport`] that reaches it.
#[derive(Debug, Clone)]
pub struct Destination {
    id: String,
    address: String,
    events: Vec<String>,
    via: Via,
    schedule: Schedule,
}

/// How a destination is reached.
#[derive(Debug, Clone)]
enum Via {
    /// Standard Webhooks over HTTP (built in).
    Http(Box<StandardHttp>),
    /// Another transport.
    Other(Arc<dyn Transport>),
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
        let http = StandardHttp::new(url, signer, sender);
        Self::via(id, url, events, Via::Http(Box::new(http)))
    }

    /// Destination `id` reached by `transport`, receiving `events`;
    /// `address` names where it is (shown by the inspector and in logs, so
    /// it holds no secret), and its schedule is [`STANDARD_DELAYS`].
    pub fn with_transport(
        id: &str,
        address: &str,
        events: Vec<String>,
        transport: Arc<dyn Transport>,
    ) -> Self {
        Self::via(id, address, events, Via::Other(transport))
    }

    fn via(id: &str, address: &str, events: Vec<String>, via: Via) -> Self {
        Self {
            id: id.to_string(),
            address: address.to_string(),
            events,
            via,
            schedule: Schedule::Delays(STANDARD_DELAYS.to_vec()),
        }
    }

    /// Sends bodies of `shape` (an HTTP destination's; another transport
    /// sends what it sends).
    pub fn body(mut self, shape: BodyShape) -> Self {
        if let Via::Http(http) = &mut self.via {
            http.body = shape;
        }
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

    /// Sends `due` once.
    pub(crate) async fn send(&self, due: &DueDelivery) -> Sent {
        match &self.via {
            Via::Http(http) => http.send(due).await,
            Via::Other(transport) => transport.send(due).await,
        }
    }
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
            .map(|d| DestinationRow::new(&d.id, &d.address, d.events.clone()))
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
