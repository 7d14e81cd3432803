//! The metrics the hub records, through the [`metrics`] facade: nothing
//! is kept unless the application installs a recorder (the
//! `gladly-webhook` CLI renders them for Prometheus on `--metrics-addr`).
//!
//! Counters end in `_total`, durations are histograms in seconds. Labels
//! take a small, fixed set of values: a route's pattern (never its path),
//! a status class, an outcome, a relay destination's configured name;
//! never a URL, an event id or a user.
//!
//! ```
//! use gladly_webhook_hub::metrics;
//!
//! // Once, after installing a recorder: HELP text and units for each name.
//! metrics::describe();
//! assert_eq!(metrics::ATTEMPTS, "gladly_hub_attempts_total");
//! ```

use std::time::Duration;

use chrono::Utc;

use crate::store::{AttemptOutcome, AttemptRecord, DueDelivery, Recipient};

/// Counter: API requests answered, by `route` (its pattern, such as
/// `/api/v1/webhooks/{id}`, or `unmatched`), `method` and `status`.
pub const API_REQUESTS: &str = "gladly_hub_api_requests_total";
/// Histogram: the time to answer an API request, by `route`, in seconds.
pub const API_REQUEST_DURATION: &str = "gladly_hub_api_request_duration_seconds";
/// Counter: events published (new ones; a republished id is not counted).
pub const PUBLICATIONS: &str = "gladly_hub_events_published_total";
/// Counter: delivery attempts, by `outcome` (`delivered`, `retry`,
/// `exhausted`) and `status_class` (`2xx`...`5xx`, `ack` for a bus's
/// acknowledgement, or `none` when no answer came).
pub const ATTEMPTS: &str = "gladly_hub_attempts_total";
/// Histogram: how long delivery attempts took, in seconds.
pub const ATTEMPT_DURATION: &str = "gladly_hub_attempt_duration_seconds";
/// Histogram: from an event's publication to its delivery's success, in
/// seconds (retries included).
pub const DELIVERY_LATENCY: &str = "gladly_hub_delivery_latency_seconds";
/// Counter: subscriptions deactivated because a delivery's attempts ran
/// out.
pub const DEACTIVATIONS: &str = "gladly_hub_deactivations_total";
/// Counter: PINGs sent on a subscription's creation, re-activation or new
/// URL, by `result` (`ok`: answered 200; `failed`).
pub const PINGS: &str = "gladly_hub_pings_total";
/// Counter: API requests refused for missing or wrong credentials.
pub const LOGIN_FAILURES: &str = "gladly_hub_login_failures_total";
/// Counter: attempts to a relay's destinations, by `destination` (its id,
/// `dst_` and the name the configuration gives it) and `outcome`.
pub const DESTINATION_ATTEMPTS: &str = "gladly_relay_destination_attempts_total";
/// Histogram: from an event's receipt to its delivery's success at a
/// relay's destination, by `destination`, in seconds (retries included).
pub const DESTINATION_LATENCY: &str = "gladly_relay_destination_latency_seconds";

/// Registers the HELP text and unit of every metric above with the
/// installed recorder (a no-op without one).
pub fn describe() {
    use ::metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(
        API_REQUESTS,
        Unit::Count,
        "API requests answered, by route pattern, method and status."
    );
    describe_histogram!(
        API_REQUEST_DURATION,
        Unit::Seconds,
        "Time to answer an API request, by route pattern."
    );
    describe_counter!(PUBLICATIONS, Unit::Count, "Events published.");
    describe_counter!(
        ATTEMPTS,
        Unit::Count,
        "Delivery attempts, by outcome (delivered, retry, exhausted) and status class."
    );
    describe_histogram!(
        ATTEMPT_DURATION,
        Unit::Seconds,
        "Duration of delivery attempts."
    );
    describe_histogram!(
        DELIVERY_LATENCY,
        Unit::Seconds,
        "Time from an event's publication to its successful delivery."
    );
    describe_counter!(
        DEACTIVATIONS,
        Unit::Count,
        "Subscriptions deactivated because a delivery's attempts ran out."
    );
    describe_counter!(
        PINGS,
        Unit::Count,
        "PINGs on creation, re-activation or a new URL, by result (ok, failed)."
    );
    describe_counter!(
        LOGIN_FAILURES,
        Unit::Count,
        "API requests refused for missing or wrong credentials."
    );
    describe_counter!(
        DESTINATION_ATTEMPTS,
        Unit::Count,
        "Attempts to a relay's destinations, by destination and outcome."
    );
    describe_histogram!(
        DESTINATION_LATENCY,
        Unit::Seconds,
        "From an event's receipt to its delivery's success at a relay destination."
    );
}

/// Makes every counter's series exist at 0 before anything happened
/// (publications, attempts by outcome and status class, deactivations,
/// PINGs, failed logins; API requests appear per route as they come), so
/// that alerts and rates see a 0, not "no data". Adds nothing to a series
/// that has a value; a no-op without a recorder.
pub fn zero() {
    ::metrics::counter!(PUBLICATIONS).increment(0);
    ::metrics::counter!(ATTEMPTS, "outcome" => "delivered", "status_class" => "2xx").increment(0);
    for outcome in ["retry", "exhausted"] {
        for class in ["3xx", "4xx", "5xx", "other", "none"] {
            ::metrics::counter!(ATTEMPTS, "outcome" => outcome, "status_class" => class)
                .increment(0);
        }
    }
    ::metrics::counter!(DEACTIVATIONS).increment(0);
    for result in ["ok", "failed"] {
        ::metrics::counter!(PINGS, "result" => result).increment(0);
    }
    ::metrics::counter!(LOGIN_FAILURES).increment(0);
}

/// Records one answered API request.
pub(crate) fn api_request(route: &str, method: &http::Method, status: u16, took: Duration) {
    let route = route.to_string();
    let method = method_label(method);
    ::metrics::counter!(
        API_REQUESTS,
        "route" => route.clone(),
        "method" => method,
        "status" => status.to_string(),
    )
    .increment(1);
    ::metrics::histogram!(API_REQUEST_DURATION, "route" => route).record(took.as_secs_f64());
}

/// Records a new publication.
pub(crate) fn published() {
    ::metrics::counter!(PUBLICATIONS).increment(1);
}

/// Records one delivery attempt and what follows from it.
pub(crate) fn attempt(due: &DueDelivery, attempt: &AttemptRecord, outcome: &AttemptOutcome) {
    let outcome_label = match outcome {
        AttemptOutcome::Delivered => "delivered",
        AttemptOutcome::Retry(_) => "retry",
        AttemptOutcome::Paused { .. } => "paused",
        AttemptOutcome::Exhausted => "exhausted",
    };
    let class = match attempt.status {
        None if attempt.ack.is_some() => "ack",
        Some(200..=299) => "2xx",
        Some(300..=399) => "3xx",
        Some(400..=499) => "4xx",
        Some(500..=599) => "5xx",
        Some(_) => "other",
        None => "none",
    };
    ::metrics::counter!(ATTEMPTS, "outcome" => outcome_label, "status_class" => class).increment(1);
    ::metrics::histogram!(ATTEMPT_DURATION).record(attempt.duration_ms as f64 / 1000.0);
    let latency = (*outcome == AttemptOutcome::Delivered)
        .then(|| (Utc::now() - due.published_at).to_std().unwrap_or_default());
    if let Some(latency) = latency {
        ::metrics::histogram!(DELIVERY_LATENCY).record(latency.as_secs_f64());
    }
    if due.recipient == Recipient::Destination {
        let destination = due.webhook_id.clone();
        ::metrics::counter!(DESTINATION_ATTEMPTS, "destination" => destination.clone(), "outcome" => outcome_label)
            .increment(1);
        if let Some(latency) = latency {
            ::metrics::histogram!(DESTINATION_LATENCY, "destination" => destination)
                .record(latency.as_secs_f64());
        }
    }
}

/// Records a deactivation.
pub(crate) fn deactivated() {
    ::metrics::counter!(DEACTIVATIONS).increment(1);
}

/// Records a PING's result.
pub(crate) fn ping(ok: bool) {
    ::metrics::counter!(PINGS, "result" => if ok { "ok" } else { "failed" }).increment(1);
}

/// Records a refused login.
pub(crate) fn login_failed() {
    ::metrics::counter!(LOGIN_FAILURES).increment(1);
}

fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PATCH => "PATCH",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
