//! [`Window`]: up to `max_in_flight` of a subscription's due deliveries in
//! flight at once, taken in publish order; a failure is recorded at once
//! and holds nothing back.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::attempt::{attempt, log_attempt, outcome};
use super::pace::{self, Pacer};
use super::run::{BATCH, LONGEST_RUN, Run};
use super::successes::Successes;
use crate::gate::{CurrentCheck, Passage};
use crate::store::{AttemptOutcome, AttemptRecord, DueDelivery};

/// How often a window with deliveries in flight looks for more that are
/// due (at once when it runs dry or its last read was full).
const REREAD_AFTER: Duration = Duration::from_millis(10);
/// How long a run with nothing due waits for a publication before it ends.
const LINGER: Duration = Duration::from_millis(50);

/// Why a run ends; the first reason stands. What is in flight finishes
/// first, and what succeeded is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The dispatcher is stopping.
    Stopped,
    /// A retry this run recorded is due: the next claim reads from the
    /// start (under steady publication a run would otherwise last forever
    /// and starve the retries).
    RetryDue,
    /// [`LONGEST_RUN`]: subscriptions beyond the dispatcher's concurrency
    /// get their turn.
    LongestRun,
    /// The store could not be read.
    ReadFailed,
    /// Successes could not be recorded (they are sent again after the
    /// lease).
    RecordFailed,
    /// The subscription changed or was deactivated: the next claim reads
    /// it anew.
    Changed,
    /// A delivery's last attempt failed: the subscription is deactivated.
    Exhausted,
    /// The receiver asked to wait (`Retry-After`): the subscription is
    /// paused, and claimed again after.
    Paused,
}

/// What was in flight, once it is done.
type Done = Option<Result<(DueDelivery, Passage<AttemptRecord>), tokio::task::JoinError>>;

/// One run's window on its subscription.
struct Window<'r> {
    run: &'r Run,
    /// The most deliveries in flight.
    size: usize,
    started: Instant,
    /// Read, not yet sent.
    queue: VecDeque<DueDelivery>,
    /// Deliveries up to this place in publish order were read in this run:
    /// sent, in flight, or queued. One that failed is due again only after
    /// its retry wait, by which time a later claim reads it.
    cursor: i64,
    in_flight: JoinSet<(DueDelivery, Passage<AttemptRecord>)>,
    check: Arc<CurrentCheck>,
    successes: Successes,
    /// Changes on each publication.
    published: watch::Receiver<u64>,
    end: Option<End>,
    /// Whether the store may hold due deliveries past the cursor.
    more: bool,
    /// Whether the last read was full (a backlog).
    full: bool,
    last_read: Instant,
    /// When the first retry recorded in this run is due.
    retry_due: Option<DateTime<Utc>>,
}

/// Keeps up to `max_in_flight` of the run's due deliveries in flight until
/// the run ends ([`End`]). Successes are recorded together, in the
/// background, while the window goes on sending ([`Successes`]). With
/// nothing due and nothing in flight it records what succeeded, then waits
/// up to [`LINGER`] for a publication before it ends (giving the lease up
/// and claiming it again cost two writes).
pub(super) async fn deliver(run: &Run, published: watch::Receiver<u64>) {
    let mut window = Window::new(run, published);
    loop {
        window.end_on_time();
        window.launch().await;
        if window.in_flight.is_empty() {
            match window.linger().await {
                true => continue,
                false => break,
            }
        }
        let Some(done) = window.next_done().await else {
            continue;
        };
        if !window.on_done(done).await {
            break;
        }
    }
    window.successes.settle().await;
    tracing::debug!(webhook_id = run.webhook_id(), end = ?window.end, "run ended");
}

impl<'r> Window<'r> {
    fn new(run: &'r Run, published: watch::Receiver<u64>) -> Self {
        let (store, webhook_id, token) = (&run.store, run.webhook_id(), run.token());
        Self {
            run,
            size: run.options.max_in_flight.max(1),
            started: Instant::now(),
            queue: VecDeque::new(),
            cursor: i64::MIN,
            in_flight: JoinSet::new(),
            check: Arc::new(CurrentCheck::new(
                store.clone(),
                run.gate.clone(),
                webhook_id,
            )),
            successes: Successes::new(store, webhook_id, token, run.options.lease),
            published,
            end: None,
            more: true,
            full: false,
            last_read: Instant::now(),
            retry_due: None,
        }
    }

    /// Ends the run for `why`, unless it is ending already.
    fn end(&mut self, why: End) {
        self.end.get_or_insert(why);
    }

    fn ending(&self) -> bool {
        self.end.is_some()
    }

    /// Ends the run when the dispatcher stops, when a retry it recorded
    /// comes due, or after [`LONGEST_RUN`].
    fn end_on_time(&mut self) {
        if self.run.stopping() {
            self.end(End::Stopped);
        }
        if self.retry_due.is_some_and(|at| Utc::now() >= at) {
            self.end(End::RetryDue);
        }
        if self.started.elapsed() >= LONGEST_RUN {
            self.end(End::LongestRun);
        }
    }

    /// Fills the window from the queue, reading the store when the queue
    /// is empty.
    async fn launch(&mut self) {
        while !self.ending() && self.in_flight.len() < self.size {
            // A rate limit: at most one attempt waits for its slot ahead.
            let pacer = self.run.lease.pacer.as_ref();
            if pacer.is_some_and(|p| !p.ready()) && !self.in_flight.is_empty() {
                break;
            }
            self.refill().await;
            let Some(due) = self.queue.pop_front() else {
                break;
            };
            let (check, sender) = (Arc::clone(&self.check), Arc::clone(&self.run.sender));
            let options = Arc::clone(&self.run.options);
            let gate = self.run.gate.clone();
            let slot = pacer.map(Pacer::reserve);
            // In the run's span: the attempt's span is its child.
            let task = async move {
                if let Some(slot) = slot {
                    pace::until(slot).await;
                }
                let webhook_id = due.webhook_id.clone();
                let current = check.holds(due.webhook_modified_at);
                let passage = gate
                    .pass(&webhook_id, current, attempt(&sender, &options, &due))
                    .await;
                (due, passage)
            };
            self.in_flight.spawn(task.in_current_span());
        }
    }

    /// Reads the next due deliveries past the cursor into the queue: when
    /// the queue is empty, the store may hold more, and the window would
    /// run dry, the last read was full, or [`REREAD_AFTER`] has passed
    /// (not once per freed slot).
    async fn refill(&mut self) {
        let may_read =
            self.in_flight.is_empty() || self.full || self.last_read.elapsed() >= REREAD_AFTER;
        if !self.queue.is_empty() || !self.more || !may_read {
            return;
        }
        self.last_read = Instant::now();
        // A publication from now on shows as a change.
        self.published.mark_unchanged();
        let (store, webhook_id, token) = (&self.run.store, self.run.webhook_id(), self.run.token());
        match store
            .due_deliveries_after(webhook_id, token, self.cursor, Utc::now(), BATCH)
            .await
        {
            Ok(batch) => {
                self.more = !batch.is_empty();
                self.full = batch.len() >= BATCH as usize;
                if let Some(last) = batch.last() {
                    self.cursor = last.seq;
                }
                self.queue.extend(batch);
            }
            Err(err) => {
                tracing::warn!(webhook_id, error = %err, "could not read the next deliveries");
                self.end(End::ReadFailed);
            }
        }
    }

    /// Nothing in flight: unless the run is ending, records what succeeded
    /// and waits up to [`LINGER`] for a publication. Whether the run goes
    /// on.
    async fn linger(&mut self) -> bool {
        if self.ending() || !self.queue.is_empty() {
            return false;
        }
        let linger = LINGER.min(LONGEST_RUN.saturating_sub(self.started.elapsed()));
        if !self.successes.settle().await {
            self.end(End::RecordFailed);
        }
        tokio::select! {
            changed = self.published.changed() => {
                self.more = true;
                changed.is_ok()
            }
            () = tokio::time::sleep(linger) => false,
        }
    }

    /// Waits for a delivery in flight to be done, recording successes and
    /// reading again meanwhile: the delivery done, or `None` when something
    /// else happened first.
    async fn next_done(&mut self) -> Option<Done> {
        let record_in = self.successes.record_in();
        let read_in = REREAD_AFTER.saturating_sub(self.last_read.elapsed());
        let may_read_later = self.queue.is_empty()
            && self.more
            && !self.ending()
            && self.in_flight.len() < self.size;
        let (waiting, recording) = (self.successes.waiting(), self.successes.recording());
        tokio::select! {
            done = self.in_flight.join_next() => Some(done),
            recorded = self.successes.recorded(), if recording => {
                if !recorded {
                    self.end(End::RecordFailed);
                }
                self.successes.start_when_due();
                None
            }
            () = tokio::time::sleep(record_in), if waiting && !recording => {
                self.successes.start();
                None
            }
            () = tokio::time::sleep(read_in), if may_read_later => None,
        }
    }

    /// Takes what a delivery in flight came to; `false` when nothing was
    /// in flight after all.
    async fn on_done(&mut self, done: Done) -> bool {
        // A slot is free: what was published meanwhile may be due.
        self.more = true;
        match done {
            Some(Ok((due, Passage::Sent(attempt)))) => self.on_attempt(due, attempt).await,
            Some(Ok((_, Passage::Stale | Passage::Abandoned))) => self.end(End::Changed),
            Some(Err(err)) => {
                tracing::error!(webhook_id = self.run.webhook_id(), error = %err, "a delivery attempt failed to run; it is made again after the lease");
            }
            None => return false,
        }
        true
    }

    /// A success joins the ones on their way to the store; a failure is
    /// recorded at once (after the successes, when it deactivates the
    /// subscription, so they are not cancelled with the rest).
    async fn on_attempt(&mut self, due: DueDelivery, attempt: AttemptRecord) {
        let outcome = outcome(&self.run.options, &due, &attempt);
        log_attempt(&due, &attempt, &outcome);
        match outcome {
            AttemptOutcome::Delivered => {
                if !self.successes.push(due.id, attempt).await {
                    self.end(End::RecordFailed);
                }
                return;
            }
            AttemptOutcome::Exhausted => {
                self.end(End::Exhausted);
                if !self.successes.settle().await {
                    return;
                }
            }
            AttemptOutcome::Paused { .. } => self.end(End::Paused),
            AttemptOutcome::Retry(_) => {}
        }
        if self.run.record_failure(&due, &attempt, &outcome).await
            && let AttemptOutcome::Retry(at) = outcome
        {
            self.retry_due = Some(self.retry_due.map_or(at, |due| due.min(at)));
        }
    }
}
