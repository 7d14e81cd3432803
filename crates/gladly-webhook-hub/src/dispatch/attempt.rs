//! One attempt of a delivery and what follows from it: sent with its
//! subscription's authentication, its outcome by the schedule, logged and
//! counted.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use gladly_webhook_core::echo::redact_url;
use gladly_webhook_sender::Sender;
use tracing::Instrument;

use super::DispatcherOptions;
use crate::destinations::{Destination, Sent, sent};
use crate::rules::Rules;
use crate::store::{AttemptOutcome, AttemptRecord, DueDelivery, Recipient};

/// Sends `due` once, signed with its subscription's secret (or as its
/// destination says).
pub(super) async fn attempt(
    sender: &Sender,
    options: &DispatcherOptions,
    due: &DueDelivery,
) -> AttemptRecord {
    let span = tracing::info_span!(
        "gladly.attempt",
        delivery_id = due.id,
        webhook_id = due.webhook_id,
        event_id = due.event_id,
        attempt = due.attempts.saturating_add(1),
    );
    attempt_once(sender, options, due).instrument(span).await
}

async fn attempt_once(
    sender: &Sender,
    options: &DispatcherOptions,
    due: &DueDelivery,
) -> AttemptRecord {
    let number = due.attempts.saturating_add(1);
    let at = Utc::now();
    let started = Instant::now();
    let sent = match due.recipient {
        Recipient::Destination => match options.destinations.get(&due.webhook_id) {
            Some(to) => to.send(due).await,
            None => Sent::Failed("the destination is not configured here".to_string()),
        },
        recipient => {
            match crate::delivery_auth::sender_for(sender, recipient, &due.secret, &due.event_id) {
                Ok(sender) => sent(sender.deliver(&due.url, &due.body, |_| {}).await),
                Err(err) => Sent::Failed(err.to_string()),
            }
        }
    };
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match sent {
        Sent::Answered {
            status,
            retry_after,
        } => {
            let mut record = AttemptRecord::new(number, at, Some(status), None, duration_ms);
            record.retry_after = retry_after;
            record
        }
        Sent::Acknowledged(ack) => AttemptRecord::acknowledged(number, at, ack, duration_ms),
        Sent::Failed(error) => AttemptRecord::new(number, at, None, Some(error), duration_ms),
    }
}

/// The longest pause a receiver's `Retry-After` gets (before the time
/// scale): a longer ask is cut to it.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// What follows from an attempt of `due`: done, another try later, or the
/// end, on the schedule of the options or of the delivery's destination.
/// The schedule counts the attempts made since it began (a recovered
/// delivery's start again). A `429` or `503` with `Retry-After`, in a model
/// that honours it, also pauses the subscription that long (at most
/// [`MAX_RETRY_AFTER`], times the time scale), and this delivery is tried
/// again no sooner.
pub(super) fn outcome(
    options: &DispatcherOptions,
    due: &DueDelivery,
    attempt: &AttemptRecord,
) -> AttemptOutcome {
    if attempt.succeeded() {
        return AttemptOutcome::Delivered;
    }
    let next = usize::try_from(attempt.number.saturating_sub(due.schedule_from))
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let destination = match due.recipient {
        Recipient::Destination => options.destinations.get(&due.webhook_id),
        _ => None,
    };
    let schedule = destination
        .as_deref()
        .map_or(&options.schedule, Destination::retries);
    let Some(wait) = schedule.wait(next) else {
        return AttemptOutcome::Exhausted;
    };
    let retry_at = later_by(options, attempt.at, wait);
    match attempt.retry_after {
        Some(asked) if honours_retry_after(due.recipient) => {
            let until = later_by(options, attempt.at, asked.min(MAX_RETRY_AFTER));
            AttemptOutcome::Paused {
                retry_at: retry_at.max(until),
                until,
            }
        }
        _ => AttemptOutcome::Retry(retry_at),
    }
}

/// Whether a `429` or `503` with `Retry-After` pauses deliveries to
/// `recipient`: by its model's rule, and always for the operator's
/// endpoints (Standard Webhooks ask senders to).
fn honours_retry_after(recipient: Recipient) -> bool {
    match recipient {
        Recipient::Subscriber(model) => Rules::of(model).honours_retry_after,
        _ => true,
    }
}

/// `at` plus `wait` times the time scale, without overflow: a wait past the
/// calendar is its last moment.
fn later_by(options: &DispatcherOptions, at: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    let wait = Duration::try_from_secs_f64(wait.as_secs_f64() * options.time_scale)
        .unwrap_or(Duration::MAX);
    chrono::TimeDelta::from_std(wait)
        .ok()
        .and_then(|wait| at.checked_add_signed(wait))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Logs an attempt and records it in the metrics.
pub(super) fn log_attempt(due: &DueDelivery, attempt: &AttemptRecord, outcome: &AttemptOutcome) {
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
        AttemptOutcome::Paused { retry_at, until } => tracing::info!(
            delivery_id = due.id, webhook_id = due.webhook_id, event_id = due.event_id,
            attempt = attempt.number, duration_ms = attempt.duration_ms, url, result,
            paused_until = %until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            next_attempt_at = %retry_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "the receiver asked to wait (Retry-After): the subscription is paused"
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

/// What follows once a failed attempt is recorded: the last one
/// deactivated its subscription.
pub(super) fn recorded(outcome: &AttemptOutcome) {
    if *outcome == AttemptOutcome::Exhausted {
        crate::metrics::deactivated();
    }
}

#[cfg(test)]
mod tests {
    use gladly_webhook_core::Secret;
    use gladly_webhook_core::model::Model;

    use super::*;

    fn due(attempts: u32, schedule_from: u32) -> DueDelivery {
        DueDelivery {
            id: "dl_1".into(),
            webhook_id: "wh_1".into(),
            seq: 1,
            event_id: "ev_1".into(),
            event_type: "TASK_CLOSED".into(),
            attempts,
            schedule_from,
            next_attempt_at: Utc::now(),
            published_at: Utc::now(),
            body: Vec::new(),
            url: "https://example.com/".into(),
            recipient: Recipient::Subscriber(Model::Subscription),
            secret: Secret::new("s".to_string()),
            webhook_modified_at: Utc::now(),
        }
    }

    /// Issue 36: a recovered delivery's waits start again, its attempts
    /// keeping their numbers.
    #[test]
    fn a_recovered_delivery_has_the_whole_schedule_again() {
        let options = DispatcherOptions::default();
        let fifth = AttemptRecord::new(5, Utc::now(), Some(500), None, 3);
        assert_eq!(
            outcome(&options, &due(4, 0), &fifth),
            AttemptOutcome::Exhausted
        );
        let sixth = AttemptRecord::new(6, Utc::now(), Some(500), None, 3);
        let AttemptOutcome::Retry(at) = outcome(&options, &due(5, 5), &sixth) else {
            panic!("the first attempt after a recovery is retried");
        };
        let wait = at - sixth.at;
        assert_eq!(wait, chrono::TimeDelta::seconds(30));
        let tenth = AttemptRecord::new(10, Utc::now(), Some(500), None, 3);
        assert_eq!(
            outcome(&options, &due(9, 5), &tenth),
            AttemptOutcome::Exhausted
        );
    }

    /// Issue 36: `Retry-After` pauses a subscription of our user's model
    /// (capped at an hour), and is only a failure in Gladly's own model.
    #[test]
    fn retry_after_pauses_our_users_model_only() {
        let options = DispatcherOptions::default();
        let mut throttled = AttemptRecord::new(1, Utc::now(), Some(429), None, 3);
        throttled.retry_after = Some(Duration::from_secs(120));
        let AttemptOutcome::Paused { retry_at, until } = outcome(&options, &due(0, 0), &throttled)
        else {
            panic!("paused");
        };
        assert_eq!(until - throttled.at, chrono::TimeDelta::seconds(120));
        assert_eq!(retry_at, until, "not before the pause ends");
        throttled.retry_after = Some(Duration::from_secs(86_400));
        let AttemptOutcome::Paused { until, .. } = outcome(&options, &due(0, 0), &throttled) else {
            panic!("paused");
        };
        assert_eq!(until - throttled.at, chrono::TimeDelta::hours(1), "capped");
        throttled.retry_after = Some(Duration::from_secs(5));
        let AttemptOutcome::Paused { retry_at, .. } = outcome(&options, &due(0, 0), &throttled)
        else {
            panic!("paused");
        };
        assert_eq!(
            retry_at - throttled.at,
            chrono::TimeDelta::seconds(30),
            "the schedule's"
        );
        let mut gladly = due(0, 0);
        gladly.recipient = Recipient::Subscriber(Model::RestApiV1);
        assert!(matches!(
            outcome(&options, &gladly, &throttled),
            AttemptOutcome::Retry(_)
        ));
    }

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
            outcome(&options, &due(0, 0), &failed),
            AttemptOutcome::Retry(at) if at == chrono::DateTime::<Utc>::MAX_UTC
        ));
        options.time_scale = 1.0;
        assert!(matches!(
            outcome(&options, &due(0, 0), &failed),
            AttemptOutcome::Retry(at) if at > Utc::now()
        ));
    }
}
