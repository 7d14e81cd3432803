//! Strict publish order (`max_in_flight` 1): one delivery at a time, and
//! one waiting for its retry holds every later one back.

use std::time::Instant;

use chrono::Utc;

use super::attempt::{attempt, log_attempt, outcome};
use super::run::{BATCH, LONGEST_RUN, Run};
use super::successes::FLUSH_AFTER;
use crate::gate::{CurrentCheck, Passage};
use crate::store::{AttemptOutcome, AttemptRecord, DueDelivery};

/// Sends the subscription's due deliveries one at a time, in publish
/// order, batch after batch. Successes are recorded together (one
/// transaction per batch, or every [`FLUSH_AFTER`]); a failure is recorded
/// at once and ends the run, as do an empty queue, a head not due,
/// [`LONGEST_RUN`] and the dispatcher's stop. A success not yet recorded
/// when the hub dies is sent again.
pub(super) async fn deliver(run: &Run) {
    let started = Instant::now();
    let check = CurrentCheck::new(run.store.clone(), run.gate.clone(), run.webhook_id());
    loop {
        let batch = match run
            .store
            .next_deliveries(run.webhook_id(), run.token(), BATCH)
            .await
        {
            Ok(batch) if !batch.is_empty() => batch,
            Ok(_) => return,
            Err(err) => {
                tracing::warn!(webhook_id = run.webhook_id(), error = %err, "could not read the next deliveries");
                return;
            }
        };
        if !send_batch(run, &check, started, &batch).await {
            return;
        }
    }
}

/// Sends `batch` in order and records what became of it: whether the run
/// goes on to the next batch (every delivery in it was delivered and
/// recorded, and the run may last).
async fn send_batch(
    run: &Run,
    check: &CurrentCheck,
    started: Instant,
    batch: &[DueDelivery],
) -> bool {
    let mut delivered: Vec<(String, AttemptRecord)> = Vec::new();
    let mut since = Instant::now();
    for due in batch {
        // After LONGEST_RUN the run makes room for other subscriptions.
        if run.stopping() || due.next_attempt_at > Utc::now() || started.elapsed() >= LONGEST_RUN {
            run.flush(&mut delivered).await;
            return false;
        }
        run.pace().await;
        let current = check.holds(due.webhook_modified_at);
        let sent = attempt(&run.sender, &run.options, due);
        let attempt = match run.gate.pass(run.webhook_id(), current, sent).await {
            Passage::Sent(attempt) => attempt,
            // The subscription changed: what was read for this run may be
            // deleted, inactive, or point elsewhere with another secret.
            // Record what went out and end the run; the next claim reads
            // the subscription anew.
            Passage::Stale | Passage::Abandoned => {
                run.flush(&mut delivered).await;
                return false;
            }
        };
        let outcome = outcome(&run.options, due, &attempt);
        log_attempt(due, &attempt, &outcome);
        if outcome != AttemptOutcome::Delivered {
            if run.flush(&mut delivered).await {
                run.record_failure(due, &attempt, &outcome).await;
            }
            return false;
        }
        if delivered.is_empty() {
            since = Instant::now();
        }
        delivered.push((due.id.clone(), attempt));
        if since.elapsed() >= FLUSH_AFTER && !run.flush(&mut delivered).await {
            return false;
        }
    }
    run.flush(&mut delivered).await
}
