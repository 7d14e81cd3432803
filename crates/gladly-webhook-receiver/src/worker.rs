//! [`Workers`]: tasks that claim stored events and run their handlers.
//!
//! Each worker claims one event at a time with a lease, keeps the lease
//! alive while the handlers run (every third of the lease), and records
//! the outcome: `done`, a retry after a capped exponential backoff with
//! full jitter, or `dead` after [`RetryPolicy::max_attempts`]. A worker
//! that dies (its process killed, its task dropped) stops renewing; the
//! lease runs out and another worker claims the event again.
//!
//! [`Workers::shutdown`] stops claiming, lets running handlers finish up
//! to a deadline, and releases what is still running back to `pending`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use gladly_webhook_core::echo::escape;
use gladly_webhook_core::event::parse_event;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::handlers::{Delivery, Handlers};
use crate::inbox::{Claimed, Inbox, Outcome};

/// When a failed run is retried, and when it is given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Runs allowed before the event is `dead` (default 8).
    pub max_attempts: u32,
    /// The backoff's first step (default 1 s); it doubles per attempt.
    pub base: Duration,
    /// The longest backoff (default 10 minutes).
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// A policy of `max_attempts` runs, backing off from `base` up to `cap`.
    pub fn new(max_attempts: u32, base: Duration, cap: Duration) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            base,
            cap,
        }
    }

    /// The wait before the run after failed run number `attempt` (from 1):
    /// full jitter, a uniform draw from zero to `min(cap, base * 2^(attempt-1))`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use gladly_webhook_receiver::RetryPolicy;
    ///
    /// let policy = RetryPolicy::new(5, Duration::from_secs(1), Duration::from_secs(60));
    /// for _ in 0..100 {
    ///     assert!(policy.backoff(1) <= Duration::from_secs(1));
    ///     assert!(policy.backoff(30) <= Duration::from_secs(60));
    /// }
    /// ```
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(32);
        let ceiling = self
            .base
            .saturating_mul(1u32 << exponent.min(31))
            .min(self.cap);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=millis))
    }
}

/// How workers run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkerOptions {
    /// How long a claim holds an event before another worker may take it
    /// (default 60 s); renewed every third of it while handlers run.
    pub lease: Duration,
    /// How often an idle worker looks for work when nothing wakes it
    /// (default 1 s).
    pub poll_interval: Duration,
    /// Retries and giving up.
    pub retry: RetryPolicy,
    on_outcome: Option<OutcomeHook>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            on_outcome: None,
        }
    }
}

/// How one run ended, as [`WorkerOptions::on_outcome`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunReport {
    /// The event's id, when it has one.
    pub event_id: Option<String>,
    /// The event's type.
    pub event_type: String,
    /// Which run this was (from 1).
    pub attempt: u32,
    /// What the run came to: done, a retry and when, dead, or released.
    pub outcome: Outcome,
    /// Whether the inbox recorded it (`false`: the lease had run out or
    /// the inbox failed; the event will run again).
    pub recorded: bool,
}

/// The hook of [`WorkerOptions::on_outcome`].
#[derive(Clone)]
struct OutcomeHook(Arc<dyn Fn(&RunReport) + Send + Sync>);

impl std::fmt::Debug for OutcomeHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutcomeHook")
    }
}

impl WorkerOptions {
    /// Sets the lease.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets the poll interval.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Calls `hook` after every run with how it ended, once the inbox has
    /// recorded it: a command-line tool prints a line when an event goes
    /// `dead`, a service counts outcomes. It runs on the worker's task:
    /// keep it short.
    ///
    /// ```
    /// use gladly_webhook_receiver::WorkerOptions;
    /// use gladly_webhook_receiver::inbox::Outcome;
    ///
    /// let options = WorkerOptions::default().on_outcome(|run| {
    ///     if let Outcome::Dead { error } = &run.outcome {
    ///         eprintln!("{} is dead after {} runs: {error}", run.event_type, run.attempt);
    ///     }
    /// });
    /// ```
    pub fn on_outcome(mut self, hook: impl Fn(&RunReport) + Send + Sync + 'static) -> Self {
        self.on_outcome = Some(OutcomeHook(Arc::new(hook)));
        self
    }
}

/// What [`Workers::shutdown`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Runs that were still going at the deadline and were released back
    /// to `pending` (their handlers stopped).
    pub released: usize,
}

/// Running workers. Dropping this without [`Workers::shutdown`] stops them
/// at once (their events come back when the leases expire).
#[derive(Debug)]
pub struct Workers {
    tasks: Vec<JoinHandle<usize>>,
    stop_claiming: watch::Sender<bool>,
    stop_running: watch::Sender<bool>,
    wake: Arc<Notify>,
}

/// Starts `count` workers claiming from `inbox` and running `handlers`.
///
/// Call it inside a tokio runtime.
pub fn spawn_workers(
    inbox: Arc<dyn Inbox>,
    handlers: Handlers,
    count: usize,
    options: WorkerOptions,
) -> Workers {
    let (stop_claiming, claiming) = watch::channel(false);
    let (stop_running, running) = watch::channel(false);
    let wake = Arc::new(Notify::new());
    let worker = Arc::new(Worker {
        announced: inbox.wakeups(),
        inbox,
        handlers,
        options,
        wake: Arc::clone(&wake),
    });
    let tasks = (0..count.max(1))
        .map(|n| {
            let worker = Arc::clone(&worker);
            let (claiming, running) = (claiming.clone(), running.clone());
            tokio::spawn(
                async move { worker.run(claiming, running).await }
                    .instrument(tracing::info_span!("gladly.worker", worker = n)),
            )
        })
        .collect();
    Workers {
        tasks,
        stop_claiming,
        stop_running,
        wake,
    }
}

impl Workers {
    /// What a [`crate::Receiver`] notifies when it stores a new event.
    pub(crate) fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Stops claiming, waits up to `grace` for running handlers to finish,
    /// then stops the rest and releases their events to `pending`.
    pub async fn shutdown(mut self, grace: Duration) -> ShutdownReport {
        let _ = self.stop_claiming.send(true);
        self.wake.notify_waiters();
        // A grace of years is as good as forever: a day past which no
        // handler is waited for (the clock cannot be added more to).
        let now = tokio::time::Instant::now();
        let deadline = now
            .checked_add(grace)
            .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365));
        let mut released = 0;
        let mut still_running = Vec::new();
        for mut task in std::mem::take(&mut self.tasks) {
            match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(result) => released += result.unwrap_or(0),
                Err(_) => still_running.push(task),
            }
        }
        if !still_running.is_empty() {
            let _ = self.stop_running.send(true);
            for task in still_running {
                released += task.await.unwrap_or(0);
            }
        }
        ShutdownReport { released }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

struct Worker {
    /// The inbox's own signal of new work ([`Inbox::wakeups`]).
    announced: Option<Arc<Notify>>,
    inbox: Arc<dyn Inbox>,
    handlers: Handlers,
    options: WorkerOptions,
    wake: Arc<Notify>,
}

/// Aborts a task when dropped: a handler never outlives its worker.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Worker {
    /// Claims and runs until told to stop; how many runs it released.
    async fn run(
        &self,
        mut claiming: watch::Receiver<bool>,
        running: watch::Receiver<bool>,
    ) -> usize {
        let mut released = 0;
        while !*claiming.borrow() {
            // Registered before the claim, so a wake between an empty claim
            // and the wait is not lost: from this process's receiver, and
            // from the inbox (other processes), when it can tell.
            let notified = self.wake.notified();
            let announced = self.announced.as_ref().map(|n| n.notified());
            match self.inbox.claim(self.options.lease).await {
                Ok(Some(claimed)) => {
                    if self.execute(claimed, running.clone()).await {
                        released += 1;
                    }
                    continue;
                }
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "claiming from the inbox failed"),
            }
            let announced = async {
                match announced {
                    Some(announced) => announced.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = notified => {}
                () = announced => {}
                () = tokio::time::sleep(self.options.poll_interval) => {}
                _ = claiming.changed() => {}
            }
        }
        released
    }

    /// Runs one claimed event to an outcome; `true` when it was released
    /// by a shutdown.
    async fn execute(&self, claimed: Claimed, mut running: watch::Receiver<bool>) -> bool {
        let span = tracing::info_span!(
            "gladly.run",
            seq = claimed.seq,
            event_id = claimed.event_id.as_deref().unwrap_or(""),
            event_type = %escape(&claimed.event_type, 80),
            attempt = claimed.attempt,
        );
        let (seq, token, attempt) = (claimed.seq, claimed.lease_token, claimed.attempt);
        let started = std::time::Instant::now();
        let handlers = self.handlers.clone();
        let body = claimed.body;
        let mut handler = AbortOnDrop(tokio::spawn(
            async move {
                let event = parse_event(&body).map_err(|err| err.to_string())?;
                handlers
                    .dispatch(Delivery::of(event, bytes::Bytes::from(body), attempt))
                    .await
                    .map_err(|err| err.to_string())
            }
            .instrument(span.clone()),
        ));
        let renew_every = self.options.lease / 3;
        let outcome = loop {
            tokio::select! {
                result = &mut handler.0 => break match result {
                    Ok(Ok(_)) => Outcome::Done,
                    Ok(Err(error)) => self.failure(attempt, error),
                    Err(panic) => self.failure(attempt, format!("the handler panicked: {panic}")),
                },
                () = tokio::time::sleep(renew_every) => {
                    match self.inbox.extend_lease(seq, token, self.options.lease).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(parent: &span, "lease lost: another worker holds the event now; stopping this run");
                            crate::metrics::lease_lost();
                            return false;
                        }
                        Err(err) => tracing::warn!(parent: &span, error = %err, "renewing the lease failed"),
                    }
                }
                () = stopped(&mut running) => break Outcome::Released,
            }
        };
        let released = outcome == Outcome::Released;
        drop(handler);
        let recorded = match self.inbox.finish(seq, token, outcome.clone()).await {
            Ok(true) => {
                match &outcome {
                    Outcome::Retry { error, retry_at } => tracing::warn!(
                        parent: &span,
                        error = %error,
                        retry_at = %retry_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        "the handler failed; the event runs again later"
                    ),
                    Outcome::Dead { error } => tracing::warn!(
                        parent: &span,
                        error = %error,
                        "the handler failed for the last time; the event is dead"
                    ),
                    _ => {
                        tracing::info!(parent: &span, outcome = outcome_name(&outcome), "run finished")
                    }
                }
                true
            }
            Ok(false) => {
                tracing::warn!(parent: &span, "the lease expired before the run finished; its outcome was not recorded");
                crate::metrics::lease_lost();
                false
            }
            Err(err) => {
                tracing::warn!(parent: &span, error = %err, "recording the outcome failed; the lease will expire and the event run again");
                false
            }
        };
        let report = RunReport {
            event_id: claimed.event_id,
            event_type: claimed.event_type,
            attempt,
            outcome,
            recorded,
        };
        crate::metrics::run(outcome_name(&report.outcome), started.elapsed());
        if let Some(hook) = &self.options.on_outcome {
            (hook.0)(&report);
        }
        released
    }

    fn failure(&self, attempt: u32, error: String) -> Outcome {
        let error = escape(&error, 2000);
        if attempt >= self.options.retry.max_attempts {
            Outcome::Dead { error }
        } else {
            let wait = self.options.retry.backoff(attempt);
            // A wait from configuration, however long, ends at the last
            // time there is.
            let retry_at = chrono::TimeDelta::from_std(wait)
                .ok()
                .and_then(|wait| Utc::now().checked_add_signed(wait))
                .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC);
            Outcome::Retry { error, retry_at }
        }
    }
}

pub(crate) fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Done => "done",
        Outcome::Retry { .. } => "retry",
        Outcome::Dead { .. } => "dead",
        Outcome::Released => "released",
    }
}

/// Resolves once `running` says stop (never, if its sender is gone).
async fn stopped(running: &mut watch::Receiver<bool>) {
    if running.wait_for(|stop| *stop).await.map(|_| ()).is_err() {
        std::future::pending::<()>().await;
    }
}
