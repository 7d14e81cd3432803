//! The dispatcher's loop: claims subscriptions with deliveries due (as
//! many as its concurrency has room for), starts a [`Run`] for each, waits
//! for the next due time, a publication or a run's end; purges what
//! outlived the retention every hour.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use gladly_webhook_sender::Sender;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::pace::Pacer;
use super::run::{Lease, Run};
use super::{DispatcherOptions, Waker};
use super::{in_order, window};
use crate::gate::ChangeGate;
use crate::store::{DeliveryOrder, Store};

/// How often the dispatcher purges what outlived the retention.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Claims and runs until `stopped`; then lets the runs finish their
/// attempts in flight and release their leases.
pub(super) async fn claim_until_stopped(
    store: Store,
    sender: Sender,
    waker: Waker,
    gate: ChangeGate,
    options: DispatcherOptions,
    mut stopped: watch::Receiver<bool>,
) {
    let sender = Arc::new(sender);
    let options = Arc::new(options);
    let mut runs: JoinSet<()> = JoinSet::new();
    let mut next_purge = tokio::time::Instant::now();
    loop {
        if let Some(retention) = options.retention
            && tokio::time::Instant::now() >= next_purge
        {
            purge(&store, retention).await;
            next_purge = tokio::time::Instant::now() + PURGE_EVERY;
        }
        while let Some(done) = runs.try_join_next() {
            log_failure(done);
        }
        if *stopped.borrow() {
            break;
        }
        let room = options.concurrency.max(1).saturating_sub(runs.len());
        let claimed = claim(&store, &options, room).await;
        let claimed_any = !claimed.is_empty();
        for lease in claimed {
            let run = Run {
                store: store.clone(),
                sender: Arc::clone(&sender),
                gate: gate.clone(),
                options: Arc::clone(&options),
                lease,
                stopped: stopped.clone(),
            };
            runs.spawn(work(run, waker.published.subscribe()));
        }
        let wait = next_wait(&store, &options, claimed_any).await;
        tokio::select! {
            () = waker.claim.notified() => {}
            () = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => {}
            Some(done) = runs.join_next(), if !runs.is_empty() => log_failure(done),
        }
    }
    while let Some(done) = runs.join_next().await {
        log_failure(done);
    }
}

/// Delivers to `run`'s subscription (in a window, or strictly in order)
/// until the run ends, renewing the lease every third of it; then gives
/// the lease up. `published` changes on each publication.
async fn work(run: Run, published: watch::Receiver<u64>) {
    // The run's span is the parent of its attempts' (`gladly.attempt`).
    let span = tracing::info_span!("gladly.run", webhook_id = run.webhook_id());
    let deliver = async {
        match run.options.order() {
            DeliveryOrder::Window => window::deliver(&run, published).await,
            _ => in_order::deliver(&run).await,
        }
    }
    .instrument(span);
    tokio::select! {
        () = deliver => {}
        () = run.renew_lease() => {}
    }
    run.release().await;
}

/// Leases up to `room` subscriptions with a delivery due (none on a
/// store error, which is logged: the loop tries again).
async fn claim(store: &Store, options: &DispatcherOptions, room: usize) -> Vec<Lease> {
    if room == 0 {
        return Vec::new();
    }
    let limit = u32::try_from(room).unwrap_or(u32::MAX);
    let order = options.order();
    match store
        .claim_webhooks(Utc::now(), options.lease, limit, order)
        .await
    {
        Ok(claimed) => claimed
            .into_iter()
            .map(|claim| Lease {
                pacer: Pacer::new(claim.per_second, claim.next_slot),
                webhook_id: claim.webhook_id,
                token: claim.token,
            })
            .collect(),
        Err(err) => {
            tracing::warn!(error = %err, "the dispatcher could not claim subscriptions; retrying");
            Vec::new()
        }
    }
}

/// How long the loop sleeps unless woken: until the next delivery is due,
/// at most the poll interval.
async fn next_wait(store: &Store, options: &DispatcherOptions, claimed_any: bool) -> Duration {
    match store.next_due().await {
        Ok(Some(due)) => {
            let until = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            if until.is_zero() && !claimed_any {
                // Due, but its subscription is leased (being delivered
                // to): its run's end wakes this loop.
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
    }
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

/// Logs a run that panicked; its lease runs out and its subscription is
/// delivered to again.
fn log_failure(done: Result<(), tokio::task::JoinError>) {
    if let Err(err) = done {
        tracing::error!(error = %err, "a delivery task failed; its subscription is retried after its lease");
    }
}
