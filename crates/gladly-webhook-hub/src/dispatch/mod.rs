//! The dispatcher: works the outbox, delivering each pending delivery with
//! Gladly's rules.
//!
//! - A dispatcher leases a subscription with a delivery due and, while it
//!   holds the lease (renewed every third of it), keeps up to
//!   [`DispatcherOptions::max_in_flight`] of its due deliveries in flight
//!   (8 by default), taken in publish order. Each delivery is retried on
//!   its own schedule: one that fails holds no other back. Different
//!   subscriptions are served concurrently; one subscription is served by
//!   one dispatcher at a time, even across hubs sharing a PostgreSQL store.
//! - With `max_in_flight` 1 the order is strict instead: a subscription is
//!   due when its oldest pending delivery is, its deliveries go one at a
//!   time in publish order, and one waiting for its retry holds every later
//!   one back (to a receiver that takes 50 ms, at most 20 a second).
//! - Each attempt is a signed `POST` with a fresh `Gladly-Time`, the same
//!   body (so the same event `id`), answered within the timeout (15 s) with
//!   a 2xx, or it failed. A failure is retried after Gladly's wait (30 s,
//!   5 min, 30 min, then 1 h: the first attempt and four more), times the
//!   time scale.
//! - When the last attempt fails, the delivery is `failed`, the
//!   subscription is deactivated (`active: false`, `modifiedAt` moved), its
//!   other pending deliveries are cancelled, and the deactivation is
//!   recorded (see `GET /api/v1/deactivations`) and logged.
//! - Once the API has answered a change (delete, deactivation, a new URL,
//!   a rotated secret), no attempt goes out that the change forbids: every
//!   attempt passes the subscription's [`ChangeGate`](crate::gate), which
//!   checks the store and abandons attempts in flight when a change comes.
//! - Everything is in the store before it is acted on: a hub killed at any
//!   point loses no pending delivery. A delivery in flight when the hub
//!   died is sent again once its lease runs out (at-least-once: receivers
//!   deduplicate by event `id`).

mod attempt;
mod claims;
mod in_order;
mod pace;
mod run;
mod successes;
mod window;

use std::sync::Arc;
use std::time::Duration;

use gladly_webhook_sender::{Schedule, Sender};
use tokio::sync::{Notify, watch};

use crate::alerts::AlertOptions;
use crate::destinations::Destinations;
use crate::gate::ChangeGate;
use crate::store::{DeliveryOrder, Store};

/// How long finished deliveries are kept by default.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 86_400);

/// How a dispatcher works.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DispatcherOptions {
    /// How many subscriptions are delivered to at once (default 32).
    pub concurrency: usize,
    /// How many deliveries to one subscription are in flight at once
    /// (default 8). Each is retried on its own schedule, so a failing
    /// delivery holds no other back, and deliveries may arrive out of
    /// publish order (Gladly's payloads carry ids: receivers fetch the
    /// state). 1 is strict publish order: one delivery at a time, and one
    /// waiting for its retry (up to 1 h 36 min on Gladly's schedule) holds
    /// every later one back.
    pub max_in_flight: usize,
    /// How long a lease on a subscription lasts unless renewed (default
    /// 10 s). A hub that dies holding one delays that subscription's
    /// deliveries by at most this long.
    pub lease: Duration,
    /// How often the store is polled when nothing wakes the dispatcher
    /// (default 1 s): for events another hub published, and leases that
    /// ran out.
    pub poll: Duration,
    /// The waits between attempts (default [`Schedule::Gladly`]).
    pub schedule: Schedule,
    /// Multiplies every wait of the schedule (default 1; tests shrink it).
    pub time_scale: f64,
    /// How long finished deliveries (with their attempts) and their events
    /// are kept (default 30 days; `None` keeps them forever). The
    /// dispatcher purges older ones when it starts and every hour.
    pub retention: Option<Duration>,
    /// A relay's destinations: how deliveries to each are signed, shaped
    /// and retried (none by default).
    pub destinations: Destinations,
}

impl DispatcherOptions {
    /// How these options deliver: strictly in publish order with a window
    /// of 1.
    pub(crate) fn order(&self) -> DeliveryOrder {
        if self.max_in_flight <= 1 {
            DeliveryOrder::Publish
        } else {
            DeliveryOrder::Window
        }
    }
}

impl Default for DispatcherOptions {
    fn default() -> Self {
        Self {
            concurrency: 32,
            max_in_flight: 8,
            lease: Duration::from_secs(10),
            poll: Duration::from_secs(1),
            schedule: Schedule::Gladly,
            time_scale: 1.0,
            retention: Some(DEFAULT_RETENTION),
            destinations: Destinations::default(),
        }
    }
}

/// Wakes a dispatcher: the API calls it after a publication.
#[derive(Debug, Clone)]
pub struct Waker {
    /// The dispatcher's loop, to claim subscriptions.
    claim: Arc<Notify>,
    /// Runs that have nothing due, waiting a moment for a publication
    /// before they give up their lease.
    published: Arc<watch::Sender<u64>>,
}

impl Default for Waker {
    fn default() -> Self {
        Self {
            claim: Arc::default(),
            published: Arc::new(watch::Sender::new(0)),
        }
    }
}

impl Waker {
    /// A waker no dispatcher listens to yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the dispatcher to look at the store now.
    pub fn wake(&self) {
        self.claim.notify_one();
        self.published.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// A running dispatcher. Dropping it stops it abruptly (in-flight
/// attempts are abandoned and sent again after their lease);
/// [`Dispatcher::shutdown`] lets them finish.
#[derive(Debug)]
pub struct Dispatcher {
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// The backlog watch of the operational events.
    watch: tokio::task::JoinHandle<()>,
}

/// Starts a dispatcher on `store`, sending with `sender` (its client,
/// timeout and extra headers; its secret and schedule are not used: each
/// delivery is signed with its subscription's secret, and `options` gives
/// the schedule). `waker` wakes it; every attempt passes `gate`, shared
/// with the API that changes subscriptions. `alerts` says when a backlog
/// raises an operational event.
pub fn spawn_dispatcher(
    store: Store,
    sender: Sender,
    waker: Waker,
    gate: ChangeGate,
    options: DispatcherOptions,
    alerts: AlertOptions,
) -> Dispatcher {
    let (stop, stopped) = watch::channel(false);
    let sender = sender.schedule(Schedule::None);
    let watch = tokio::spawn(crate::alerts::watch_backlogs(
        store.clone(),
        alerts,
        stopped.clone(),
    ));
    let task = tokio::spawn(claims::claim_until_stopped(
        store, sender, waker, gate, options, stopped,
    ));
    Dispatcher {
        stop,
        task: Some(task),
        watch,
    }
}

impl Dispatcher {
    /// Stops claiming, lets the attempts in flight finish for up to
    /// `grace`, then abandons the rest (they are sent again after their
    /// lease) and returns.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        self.watch.abort();
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(grace, &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
        self.watch.abort();
    }
}

impl Destinations {
    /// Starts a dispatcher on `store` that sends to these destinations, as
    /// they stand at each attempt, and to the operator's endpoints (see
    /// [`crate::alerts`]; `sender` is their client), with `options` (its
    /// window, leases, poll and retention; each destination's schedule is
    /// its own). `waker` wakes it after a publication. Needs a Tokio
    /// runtime.
    pub fn spawn_dispatcher(
        &self,
        store: Store,
        sender: &Sender,
        waker: Waker,
        mut options: DispatcherOptions,
        alerts: AlertOptions,
    ) -> Dispatcher {
        options.destinations = self.clone();
        spawn_dispatcher(
            store,
            sender.clone(),
            waker,
            ChangeGate::new(),
            options,
            alerts,
        )
    }
}
