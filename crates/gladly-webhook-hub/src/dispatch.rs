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

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use gladly_webhook_core::echo::redact_url;
use gladly_webhook_sender::{Schedule, Sender};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::gate::{ChangeGate, CurrentCheck, Passage};
use crate::store::{AttemptOutcome, AttemptRecord, DeliveryOrder, DueDelivery, Store};

/// How long finished deliveries are kept by default.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 86_400);
/// How often the dispatcher purges what outlived the retention.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

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
}

/// Starts a dispatcher on `store`, sending with `sender` (its client,
/// timeout and extra headers; its secret and schedule are not used: each
/// delivery is signed with its subscription's secret, and `options` gives
/// the schedule). `waker` wakes it; every attempt passes `gate`, shared
/// with the API that changes subscriptions.
pub fn spawn_dispatcher(
    store: Store,
    sender: Sender,
    waker: Waker,
    gate: ChangeGate,
    options: DispatcherOptions,
) -> Dispatcher {
    let (stop, stopped) = watch::channel(false);
    let sender = sender.schedule(Schedule::None);
    let task = tokio::spawn(run(store, sender, waker, gate, options, stopped));
    Dispatcher {
        stop,
        task: Some(task),
    }
}

impl Dispatcher {
    /// Stops claiming, lets the attempts in flight finish for up to
    /// `grace`, then abandons the rest (they are sent again after their
    /// lease) and returns.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
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
    }
}

async fn run(
    store: Store,
    sender: Sender,
    waker: Waker,
    gate: ChangeGate,
    options: DispatcherOptions,
    mut stopped: watch::Receiver<bool>,
) {
    let sender = Arc::new(sender);
    let options = Arc::new(options);
    let mut tasks: JoinSet<()> = JoinSet::new();
    let concurrency = options.concurrency.max(1);
    let mut next_purge = tokio::time::Instant::now();
    loop {
        if let Some(retention) = options.retention
            && tokio::time::Instant::now() >= next_purge
        {
            purge(&store, retention).await;
            next_purge = tokio::time::Instant::now() + PURGE_EVERY;
        }
        while let Some(done) = tasks.try_join_next() {
            log_failure(done);
        }
        if *stopped.borrow() {
            break;
        }
        let free = concurrency.saturating_sub(tasks.len());
        let mut claimed_any = false;
        if free > 0 {
            let limit = u32::try_from(free).unwrap_or(u32::MAX);
            match store
                .claim_webhooks(Utc::now(), options.lease, limit, order(&options))
                .await
            {
                Ok(claimed) => {
                    for (webhook_id, token) in claimed {
                        claimed_any = true;
                        let work = work(
                            store.clone(),
                            sender.clone(),
                            gate.clone(),
                            options.clone(),
                            Lease { webhook_id, token },
                            stopped.clone(),
                            waker.published.subscribe(),
                        );
                        tasks.spawn(work);
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "the dispatcher could not claim subscriptions; retrying")
                }
            }
        }
        let wait = match store.next_due().await {
            Ok(Some(due)) => {
                let until = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                if until.is_zero() && !claimed_any {
                    // Due, but its subscription is leased (being delivered
                    // to): its task's end wakes this loop.
                    options.poll
                } else {
                    until.min(options.poll)
                }
            }
            Ok(None) => options.poll,
            Err(err) => {
                tracing::warn!(error = %err, "the dispatcher could not read the outbox; retrying");
                options.poll
            }
        };
        tokio::select! {
            () = waker.claim.notified() => {}
            () = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => {}
            Some(done) = tasks.join_next(), if !tasks.is_empty() => log_failure(done),
        }
    }
    // Stopping: the tasks finish their attempt in flight and release.
    while let Some(done) = tasks.join_next().await {
        log_failure(done);
    }
}

/// How `options` deliver: strictly in publish order with a window of 1.
fn order(options: &DispatcherOptions) -> DeliveryOrder {
    if options.max_in_flight <= 1 {
        DeliveryOrder::Publish
    } else {
        DeliveryOrder::Window
    }
}

/// When a lease of `lease` taken now ends; the last time there is for a
/// lease longer than the calendar.
fn lease_end(lease: Duration) -> chrono::DateTime<Utc> {
    chrono::TimeDelta::from_std(lease)
        .ok()
        .and_then(|lease| Utc::now().checked_add_signed(lease))
        .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC)
}

/// Deletes what finished more than `retention` ago.
async fn purge(store: &Store, retention: Duration) {
    let Ok(retention) = chrono::Duration::from_std(retention) else {
        return;
    };
    let Some(before) = Utc::now().checked_sub_signed(retention) else {
        return;
    };
    match store.purge(before).await {
        Ok((0, 0)) => {}
        Ok((deliveries, events)) => tracing::info!(
            deliveries,
            events,
            "purged what finished before the retention"
        ),
        Err(err) => tracing::warn!(error = %err, "could not purge; trying again in an hour"),
    }
}

/// Logs a task that panicked; its lease runs out and its subscription is
/// delivered to again.
fn log_failure(done: Result<(), tokio::task::JoinError>) {
    if let Err(err) = done {
        tracing::error!(error = %err, "a delivery task failed; its subscription is retried after its lease");
    }
}

/// How many pending deliveries a task reads at once.
const BATCH: u32 = 32;
/// The longest a successful attempt goes unrecorded while a batch runs.
const FLUSH_AFTER: Duration = Duration::from_millis(100);
/// How often a window with deliveries in flight looks for more that are
/// due (at once when it runs dry or its last read was full).
const REREAD_AFTER: Duration = Duration::from_millis(10);
/// How long a run with nothing due waits for a publication before it ends.
const LINGER: Duration = Duration::from_millis(50);
/// The longest a run holds its subscription before it makes room for
/// others (it may be claimed again at once).
const LONGEST_RUN: Duration = Duration::from_secs(1);

/// Delivers to one leased subscription (in its window, or strictly in
/// order) until the run ends (see [`deliver_window`] and
/// [`deliver_in_order`]); then gives the lease up. The lease is renewed every third of it for as long as this
/// runs.
async fn work(
    store: Store,
    sender: Arc<Sender>,
    gate: ChangeGate,
    options: Arc<DispatcherOptions>,
    lease: Lease,
    stopped: watch::Receiver<bool>,
    published: watch::Receiver<u64>,
) {
    let Lease { webhook_id, token } = &lease;
    let (webhook_id, token) = (webhook_id.as_str(), *token);
    let deliver = async {
        match order(&options) {
            DeliveryOrder::Window => {
                deliver_window(
                    &store, &sender, &gate, &options, &lease, &stopped, published,
                )
                .await
            }
            _ => {
                deliver_in_order(
                    &store, &sender, &gate, &options, webhook_id, token, &stopped,
                )
                .await
            }
        }
    };
    let renew = async {
        let period = (options.lease / 3).max(Duration::from_millis(10));
        loop {
            tokio::time::sleep(period).await;
            match store
                .extend_lease(webhook_id, token, lease_end(options.lease))
                .await
            {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    webhook_id,
                    "lease lost: another dispatcher owns the subscription now"
                ),
                Err(err) => tracing::warn!(webhook_id, error = %err, "could not renew a lease"),
            }
        }
    };
    tokio::select! {
        () = deliver => {}
        () = renew => {}
    }
    if let Err(err) = store.release(webhook_id, token).await {
        tracing::warn!(webhook_id, error = %err, "could not release a lease; it runs out by itself");
    }
}

/// Sends the subscription's due deliveries one at a time, in publish
/// order. Successes are recorded together (one transaction per batch, or
/// every [`FLUSH_AFTER`]); a failure is recorded at once and ends the run,
/// as do an empty queue, a head not due, [`LONGEST_RUN`] and the
/// dispatcher's stop. A success not yet recorded when the hub dies is sent
/// again.
async fn deliver_in_order(
    store: &Store,
    sender: &Sender,
    gate: &ChangeGate,
    options: &DispatcherOptions,
    webhook_id: &str,
    token: i64,
    stopped: &watch::Receiver<bool>,
) {
    let started = std::time::Instant::now();
    let check = CurrentCheck::new(store.clone(), gate.clone(), webhook_id);
    loop {
        let batch = match store.next_deliveries(webhook_id, token, BATCH).await {
            Ok(batch) if !batch.is_empty() => batch,
            Ok(_) => return,
            Err(err) => {
                tracing::warn!(webhook_id, error = %err, "could not read the next deliveries");
                return;
            }
        };
        let mut delivered: Vec<(String, AttemptRecord)> = Vec::new();
        let mut since = std::time::Instant::now();
        let mut go_on = true;
        for due in &batch {
            // After LONGEST_RUN the run makes room for other subscriptions.
            if *stopped.borrow()
                || due.next_attempt_at > Utc::now()
                || started.elapsed() >= LONGEST_RUN
            {
                go_on = false;
                break;
            }
            let current = check.holds(due.webhook_modified_at);
            let attempt = match gate.pass(webhook_id, current, attempt(sender, due)).await {
                Passage::Sent(attempt) => attempt,
                // The subscription changed: what was read for this run may
                // be deleted, inactive, or point elsewhere with another
                // secret. Record what went out and end the run; the next
                // claim reads the subscription anew.
                Passage::Stale | Passage::Abandoned => {
                    flush(store, options.lease, webhook_id, token, &mut delivered).await;
                    return;
                }
            };
            let outcome = outcome(options, &attempt);
            log_attempt(due, &attempt, &outcome);
            if outcome == AttemptOutcome::Delivered {
                if delivered.is_empty() {
                    since = std::time::Instant::now();
                }
                delivered.push((due.id.clone(), attempt));
                if since.elapsed() >= FLUSH_AFTER
                    && !flush(store, options.lease, webhook_id, token, &mut delivered).await
                {
                    return;
                }
                continue;
            }
            if !flush(store, options.lease, webhook_id, token, &mut delivered).await {
                return;
            }
            match store
                .record_attempt(due, token, options.lease, &attempt, &outcome)
                .await
            {
                Ok(()) => recorded(&outcome),
                Err(err) => {
                    tracing::warn!(delivery_id = due.id, error = %err, "could not record an attempt; it will be made again after the lease");
                }
            }
            return;
        }
        if !flush(store, options.lease, webhook_id, token, &mut delivered).await || !go_on {
            return;
        }
    }
}

/// A subscription leased by this dispatcher.
struct Lease {
    webhook_id: String,
    token: i64,
}

/// Keeps up to `options.max_in_flight` of the subscription's due
/// deliveries in flight, taken in publish order; a failure is recorded at
/// once and holds nothing back. Successes are recorded together, in the
/// background, while the window goes on sending (see [`Successes`]): a
/// run that waited for each record sent nothing meanwhile. With nothing
/// due and nothing in flight it records what succeeded, then waits up to
/// [`LINGER`] for a publication before it ends (giving the lease up and
/// claiming it again cost two writes). Ends too when the
/// subscription changes or is deactivated (what is in flight finishes
/// first), when a retry it recorded comes due, after [`LONGEST_RUN`] (so
/// subscriptions beyond the dispatcher's concurrency get their turn), or
/// when the dispatcher stops.
async fn deliver_window(
    store: &Store,
    sender: &Arc<Sender>,
    gate: &ChangeGate,
    options: &DispatcherOptions,
    lease: &Lease,
    stopped: &watch::Receiver<bool>,
    mut published: watch::Receiver<u64>,
) {
    let (webhook_id, token) = (lease.webhook_id.as_str(), lease.token);
    let started = std::time::Instant::now();
    let window = options.max_in_flight.max(1);
    let mut queue: VecDeque<DueDelivery> = VecDeque::new();
    // Deliveries up to this place in publish order were read in this run:
    // sent, in flight, or queued. One that failed is due again only after
    // its retry wait, by which time a later claim reads it.
    let mut cursor = i64::MIN;
    let mut in_flight: JoinSet<(DueDelivery, Passage<AttemptRecord>)> = JoinSet::new();
    let check = Arc::new(CurrentCheck::new(store.clone(), gate.clone(), webhook_id));
    let mut successes = Successes::new(store, webhook_id, token, options.lease);
    let mut ending = false;
    // Whether the store may hold due deliveries past the cursor.
    let mut more = true;
    // When the first retry recorded in this run is due. The cursor has
    // passed it, so the run ends then (what is in flight finishes) and the
    // next claim reads from the start: under steady publication a run
    // would otherwise last forever and starve the retries.
    let mut retry_due: Option<chrono::DateTime<Utc>> = None;
    let mut last_read = std::time::Instant::now();
    let mut full = false;
    loop {
        ending |= *stopped.borrow();
        ending |= retry_due.is_some_and(|at| Utc::now() >= at);
        ending |= started.elapsed() >= LONGEST_RUN;
        while !ending && in_flight.len() < window {
            // Read again when the window would run dry, when the last read
            // was full (a backlog), or every REREAD_AFTER while deliveries
            // are in flight: not once per freed slot.
            let may_read = in_flight.is_empty() || full || last_read.elapsed() >= REREAD_AFTER;
            if queue.is_empty() && more && may_read {
                last_read = std::time::Instant::now();
                // A publication from now on shows as a change.
                published.mark_unchanged();
                match store
                    .due_deliveries_after(webhook_id, token, cursor, Utc::now(), BATCH)
                    .await
                {
                    Ok(batch) => {
                        more = !batch.is_empty();
                        full = batch.len() >= BATCH as usize;
                        if let Some(last) = batch.last() {
                            cursor = last.seq;
                        }
                        queue.extend(batch);
                    }
                    Err(err) => {
                        tracing::warn!(webhook_id, error = %err, "could not read the next deliveries");
                        ending = true;
                    }
                }
            }
            let Some(due) = queue.pop_front() else { break };
            let (check, sender, gate) = (Arc::clone(&check), Arc::clone(sender), gate.clone());
            in_flight.spawn(async move {
                let webhook_id = due.webhook_id.clone();
                let current = check.holds(due.webhook_modified_at);
                let passage = gate
                    .pass(&webhook_id, current, attempt(&sender, &due))
                    .await;
                (due, passage)
            });
        }
        if in_flight.is_empty() {
            if ending || !queue.is_empty() {
                break;
            }
            // Nothing due: wait a moment for a publication.
            let linger = LINGER.min(LONGEST_RUN.saturating_sub(started.elapsed()));
            // Nothing in flight: what succeeded is recorded now.
            ending |= !successes.settle().await;
            tokio::select! {
                changed = published.changed() => {
                    more = true;
                    if changed.is_err() {
                        break;
                    }
                }
                () = tokio::time::sleep(linger) => break,
            }
            continue;
        }
        let flush_in = successes.record_in();
        let read_in = REREAD_AFTER.saturating_sub(last_read.elapsed());
        let may_read_later = queue.is_empty() && more && !ending && in_flight.len() < window;
        let done = tokio::select! {
            done = in_flight.join_next() => done,
            recorded = successes.recorded(), if successes.recording() => {
                ending |= !recorded;
                successes.start_when_due();
                continue;
            }
            () = tokio::time::sleep(flush_in), if successes.waiting() && !successes.recording() => {
                successes.start();
                continue;
            }
            () = tokio::time::sleep(read_in), if may_read_later => continue,
        };
        // A slot is free: what was published meanwhile may be due.
        more = true;
        let (due, attempt) = match done {
            Some(Ok((due, Passage::Sent(attempt)))) => (due, attempt),
            // The subscription changed: send nothing more in this run; the
            // next claim reads it anew.
            Some(Ok((_, Passage::Stale | Passage::Abandoned))) => {
                ending = true;
                continue;
            }
            Some(Err(err)) => {
                tracing::error!(webhook_id, error = %err, "a delivery attempt failed to run; it is made again after the lease");
                continue;
            }
            None => break,
        };
        let outcome = outcome(options, &attempt);
        log_attempt(&due, &attempt, &outcome);
        if outcome == AttemptOutcome::Delivered {
            ending |= !successes.push(due.id, attempt).await;
            continue;
        }
        if outcome == AttemptOutcome::Exhausted {
            // The subscription is deactivated with this record: successes
            // first, so they are not cancelled with the rest.
            ending = true;
            if !successes.settle().await {
                continue;
            }
        }
        match store
            .record_attempt(&due, token, options.lease, &attempt, &outcome)
            .await
        {
            Ok(()) => {
                recorded(&outcome);
                if let AttemptOutcome::Retry(at) = outcome {
                    retry_due = Some(retry_due.map_or(at, |due| due.min(at)));
                }
            }
            Err(err) => {
                tracing::warn!(delivery_id = due.id, error = %err, "could not record an attempt; it will be made again after the lease");
            }
        }
    }
    successes.settle().await;
}

/// The most successes a window holds unrecorded while a record of earlier
/// ones is on its way; past it, the window waits for that record.
const MOST_UNRECORDED: usize = 4 * BATCH as usize;

/// A window's successes on their way to the store: recorded in the
/// background, one record at a time, while the window goes on sending. A
/// run ends only after [`Successes::settle`], so every success is recorded
/// (or the record failed, and those deliveries are sent again after the
/// lease) before the lease is given up.
struct Successes {
    store: Store,
    webhook_id: String,
    token: i64,
    lease: Duration,
    /// Not yet handed to the store, and since when.
    waiting: Vec<(String, AttemptRecord)>,
    since: std::time::Instant,
    /// The record on its way (at most one).
    recording: JoinSet<bool>,
}

impl Successes {
    fn new(store: &Store, webhook_id: &str, token: i64, lease: Duration) -> Self {
        Self {
            store: store.clone(),
            webhook_id: webhook_id.to_string(),
            token,
            lease,
            waiting: Vec::new(),
            since: std::time::Instant::now(),
            recording: JoinSet::new(),
        }
    }

    /// Whether successes wait to be handed to the store.
    fn waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Whether a record is on its way.
    fn recording(&self) -> bool {
        !self.recording.is_empty()
    }

    /// How long until the oldest waiting success must be recorded.
    fn record_in(&self) -> Duration {
        FLUSH_AFTER.saturating_sub(self.since.elapsed())
    }

    /// Adds a success, and starts recording when a batch is full or its
    /// oldest has waited [`FLUSH_AFTER`]; waits for the record on its way
    /// when [`MOST_UNRECORDED`] wait. `false` when a record failed.
    async fn push(&mut self, delivery_id: String, attempt: AttemptRecord) -> bool {
        if self.waiting.is_empty() {
            self.since = std::time::Instant::now();
        }
        self.waiting.push((delivery_id, attempt));
        let mut ok = true;
        if self.waiting.len() >= MOST_UNRECORDED && self.recording() {
            ok = self.recorded().await;
        }
        self.start_when_due();
        ok
    }

    /// Starts recording when a batch is full or has waited long enough.
    fn start_when_due(&mut self) {
        if self.waiting.len() >= BATCH as usize || self.record_in().is_zero() {
            self.start();
        }
    }

    /// Starts recording what waits, unless a record is on its way.
    fn start(&mut self) {
        if self.recording() || self.waiting.is_empty() {
            return;
        }
        let mut batch = std::mem::take(&mut self.waiting);
        let (store, webhook_id, token, lease) = (
            self.store.clone(),
            self.webhook_id.clone(),
            self.token,
            self.lease,
        );
        self.recording
            .spawn(async move { flush(&store, lease, &webhook_id, token, &mut batch).await });
    }

    /// Waits for the record on its way (if any): `false` when it failed.
    async fn recorded(&mut self) -> bool {
        match self.recording.join_next().await {
            None | Some(Ok(true)) => true,
            Some(Ok(false)) => false,
            Some(Err(err)) => {
                tracing::error!(webhook_id = self.webhook_id, error = %err, "recording deliveries failed to run; they will be sent again after the lease");
                false
            }
        }
    }

    /// Records everything: waits for the record on its way, then records
    /// what waits and waits for that. `false` when a record failed.
    async fn settle(&mut self) -> bool {
        let earlier = self.recorded().await;
        self.start();
        let rest = self.recorded().await;
        earlier && rest
    }
}

/// What follows once a failed attempt is recorded: the last one
/// deactivated its subscription.
fn recorded(outcome: &AttemptOutcome) {
    if *outcome == AttemptOutcome::Exhausted {
        crate::metrics::deactivated();
    }
}

/// Records the successes in `delivered` (emptying it); `false` when the
/// store failed.
async fn flush(
    store: &Store,
    lease: Duration,
    webhook_id: &str,
    token: i64,
    delivered: &mut Vec<(String, AttemptRecord)>,
) -> bool {
    if delivered.is_empty() {
        return true;
    }
    match store
        .record_delivered(webhook_id, token, lease, delivered)
        .await
    {
        Ok(()) => {
            delivered.clear();
            true
        }
        Err(err) => {
            tracing::warn!(webhook_id, error = %err, "could not record deliveries; they will be sent again after the lease");
            false
        }
    }
}

/// Sends `due` once, signed with its subscription's secret.
async fn attempt(sender: &Sender, due: &DueDelivery) -> AttemptRecord {
    let span = tracing::info_span!(
        "gladly.attempt",
        delivery_id = due.id,
        webhook_id = due.webhook_id,
        event_id = due.event_id,
        attempt = due.attempts.saturating_add(1),
    );
    attempt_once(sender, due).instrument(span).await
}

async fn attempt_once(sender: &Sender, due: &DueDelivery) -> AttemptRecord {
    let number = due.attempts.saturating_add(1);
    let at = Utc::now();
    let failed = |error: String| AttemptRecord::new(number, at, None, Some(error), 0);
    let sender = match crate::delivery_auth::sender_for(sender, due.model, &due.secret) {
        Ok(sender) => sender,
        Err(err) => return failed(err.to_string()),
    };
    match sender.deliver(&due.url, &due.body, |_| {}).await {
        Ok(report) => match report.attempts.into_iter().next() {
            // Only the status, the address rule or "unreachable": never
            // bytes of the answer nor a connection error's detail, which
            // would tell an API user what listens where.
            Some(sent) => AttemptRecord::new(
                number,
                at,
                sent.status,
                sent.status.is_none().then(|| sent.summary()),
                u64::try_from(sent.duration.as_millis()).unwrap_or(u64::MAX),
            ),
            None => failed("no attempt was made".to_string()),
        },
        Err(err) => failed(err.to_string()),
    }
}

/// What follows from an attempt: done, another try later, or the end.
fn outcome(options: &DispatcherOptions, attempt: &AttemptRecord) -> AttemptOutcome {
    if attempt.status.is_some_and(|s| (200..300).contains(&s)) {
        return AttemptOutcome::Delivered;
    }
    let next = usize::try_from(attempt.number)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    match options.schedule.wait(next) {
        Some(wait) => {
            // Scaled and added without overflow: a wait past the calendar
            // is a retry at its last moment.
            let wait = Duration::try_from_secs_f64(wait.as_secs_f64() * options.time_scale)
                .unwrap_or(Duration::MAX);
            let at = chrono::TimeDelta::from_std(wait)
                .ok()
                .and_then(|wait| attempt.at.checked_add_signed(wait))
                .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC);
            AttemptOutcome::Retry(at)
        }
        None => AttemptOutcome::Exhausted,
    }
}

/// Logs an attempt and records it in the metrics.
fn log_attempt(due: &DueDelivery, attempt: &AttemptRecord, outcome: &AttemptOutcome) {
    crate::metrics::attempt(due, attempt, outcome);
    let url = redact_url(&due.url);
    let result = attempt.summary();
    match outcome {
        AttemptOutcome::Delivered => tracing::info!(
            delivery_id = due.id,
            webhook_id = due.webhook_id,
            event_id = due.event_id,
            attempt = attempt.number,
            duration_ms = attempt.duration_ms,
            url,
            result,
            "delivered"
        ),
        AttemptOutcome::Retry(at) => tracing::info!(
            delivery_id = due.id, webhook_id = due.webhook_id, event_id = due.event_id,
            attempt = attempt.number, duration_ms = attempt.duration_ms, url, result,
            next_attempt_at = %at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "delivery failed; retrying"
        ),
        AttemptOutcome::Exhausted => tracing::warn!(
            delivery_id = due.id,
            webhook_id = due.webhook_id,
            event_id = due.event_id,
            attempt = attempt.number,
            url,
            result,
            "last attempt failed: the subscription is deactivated"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 32: a time scale or a wait past the calendar is a retry at
    /// its last moment, not a panic.
    #[test]
    fn a_wait_past_the_calendar_is_the_last_moment() {
        let mut options = DispatcherOptions {
            time_scale: f64::MAX,
            ..DispatcherOptions::default()
        };
        let failed = AttemptRecord::new(1, Utc::now(), Some(500), None, 3);
        assert!(matches!(
            outcome(&options, &failed),
            AttemptOutcome::Retry(at) if at == chrono::DateTime::<Utc>::MAX_UTC
        ));
        options.time_scale = 1.0;
        assert!(matches!(
            outcome(&options, &failed),
            AttemptOutcome::Retry(at) if at > Utc::now()
        ));
        assert_eq!(lease_end(Duration::MAX), chrono::DateTime::<Utc>::MAX_UTC);
    }
}
