//! The metrics a receiver and its workers record, through the [`metrics`]
//! facade: nothing is kept unless the application installs a recorder
//! (the `gladly-webhook` CLI renders them for Prometheus on
//! `--metrics-addr`).
//!
//! Names and units follow Prometheus conventions: counters end in
//! `_total`, durations are histograms in seconds. Labels take a small,
//! fixed set of values (never an event id, a URL or a header).
//!
//! ```
//! use gladly_webhook_receiver::metrics;
//!
//! // Once, after installing a recorder: HELP text and units for each name,
//! // and each counter's series at 0.
//! metrics::describe();
//! metrics::zero();
//! assert_eq!(metrics::DELIVERIES, "gladly_receiver_deliveries_total");
//! ```

use std::time::Duration;

use crate::receipt::{Verdict, receipt};

/// Counter: deliveries answered, by `verdict` (`stored`, `duplicate`,
/// `rejected`, `too_large`, `unavailable`...), `reason` (the short code
/// answered, such as `signature_mismatch`) and `status`.
pub const DELIVERIES: &str = "gladly_receiver_deliveries_total";
/// Histogram: the time from a delivery's request to its answer, by
/// `verdict`, in seconds.
pub const REQUEST_DURATION: &str = "gladly_receiver_request_duration_seconds";
/// Counter: handler runs finished, by `outcome` (`done`, `retry`, `dead`,
/// `released`).
pub const RUNS: &str = "gladly_worker_runs_total";
/// Histogram: how long handler runs took, by `outcome`, in seconds.
pub const RUN_DURATION: &str = "gladly_worker_run_duration_seconds";
/// Counter: runs stopped because their lease was lost (another worker
/// claimed the event after the lease ran out).
pub const LEASES_LOST: &str = "gladly_worker_leases_lost_total";

/// Registers the HELP text and unit of every metric above with the
/// installed recorder (a no-op without one).
pub fn describe() {
    use ::metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(
        DELIVERIES,
        Unit::Count,
        "Deliveries answered, by verdict, reason code and HTTP status."
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time from a delivery's request to its answer, by verdict."
    );
    describe_counter!(
        RUNS,
        Unit::Count,
        "Handler runs finished, by outcome (done, retry, dead, released)."
    );
    describe_histogram!(
        RUN_DURATION,
        Unit::Seconds,
        "Duration of handler runs, by outcome."
    );
    describe_counter!(
        LEASES_LOST,
        Unit::Count,
        "Runs stopped because another worker claimed their event after the lease ran out."
    );
}

/// The (verdict, reason) pairs [`zero`] makes: each verdict with its
/// reason, and the two refusals an alert most likely names.
const ZEROED: &[(Verdict, &str)] = &[
    (Verdict::Stored, "stored"),
    (Verdict::Duplicate, "duplicate"),
    (Verdict::Ping, "ping"),
    (Verdict::StoredDead, "stored_dead"),
    (Verdict::Handled, "handled"),
    (Verdict::HandlerFailed, "handler_failed"),
    (Verdict::Malformed, "malformed_event"),
    (Verdict::Rejected, "signature_mismatch"),
    (Verdict::Rejected, "bad_credentials"),
    (Verdict::MethodNotAllowed, "method_not_allowed"),
    (Verdict::NotFound, "not_found"),
    (Verdict::TooLarge, "body_too_large"),
    (Verdict::BodyTimeout, "body_timeout"),
    (Verdict::Busy, "busy"),
    (Verdict::Unreadable, "body_unreadable"),
    (Verdict::Unavailable, "inbox_unavailable"),
];

/// Makes every counter's series exist at 0 before anything happened (each
/// verdict with its reason and status, each run outcome, lost leases), so
/// that alerts and rates see a 0, not "no data". Adds nothing to a series
/// that has a value; a no-op without a recorder.
pub fn zero() {
    for (verdict, reason) in ZEROED {
        let status = receipt(*verdict, reason).status.as_u16();
        ::metrics::counter!(
            DELIVERIES,
            "verdict" => verdict.as_str(),
            "reason" => *reason,
            "status" => status_label(status),
        )
        .increment(0);
    }
    for outcome in ["done", "retry", "dead", "released"] {
        ::metrics::counter!(RUNS, "outcome" => outcome).increment(0);
    }
    ::metrics::counter!(LEASES_LOST).increment(0);
}

/// Records one answered delivery: its verdict, the reason answered and
/// the status.
pub(crate) fn delivery(verdict: &'static str, reason: &'static str, status: u16, took: Duration) {
    ::metrics::counter!(
        DELIVERIES,
        "verdict" => verdict,
        "reason" => reason,
        "status" => status_label(status),
    )
    .increment(1);
    ::metrics::histogram!(REQUEST_DURATION, "verdict" => verdict).record(took.as_secs_f64());
}

/// Records one finished run, by its outcome's name.
pub(crate) fn run(outcome: &'static str, took: Duration) {
    ::metrics::counter!(RUNS, "outcome" => outcome).increment(1);
    ::metrics::histogram!(RUN_DURATION, "outcome" => outcome).record(took.as_secs_f64());
}

/// Records a lost lease.
pub(crate) fn lease_lost() {
    ::metrics::counter!(LEASES_LOST).increment(1);
}

/// A status as a label without allocating for the statuses a receiver
/// answers.
fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        400 => "400",
        401 => "401",
        404 => "404",
        405 => "405",
        408 => "408",
        413 => "413",
        500 => "500",
        503 => "503",
        _ => "other",
    }
}
