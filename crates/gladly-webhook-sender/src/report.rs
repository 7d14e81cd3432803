//! What a delivery came to: each [`Attempt`] and the [`Report`] of all.

use std::fmt;
use std::time::Duration;

use gladly_webhook_core::address::AddressRefused;

/// One attempt, as it is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt {
    /// Its number, from 1.
    pub number: usize,
    /// The status answered, if there was an answer.
    pub status: Option<u16>,
    /// Why there was no usable answer (timeout, connection refused...), in
    /// detail: for the operator of this sender, not for whoever chose the
    /// URL (see [`Attempt::failure`]).
    pub error: Option<String>,
    /// The kind of failure when there was no answer.
    pub failure: Option<Failure>,
    /// How long it took.
    pub duration: Duration,
    /// The first [`BODY_PREFIX`](crate::BODY_PREFIX) bytes of the answer's body, escaped.
    pub body: String,
    /// The wait the answer asked for (`Retry-After` on a 429 or 503).
    pub retry_after: Option<Duration>,
    /// How many attempts the schedule allows in all.
    pub of: usize,
    /// When this attempt failed and another follows: the time the sender
    /// waits before it (the schedule's wait, or the `Retry-After` asked for
    /// within twice that, times the time scale).
    pub next_in: Option<Duration>,
}

/// Why an attempt got no answer, in the few words that may be shown to
/// whoever chose the URL: the address rule, or that the receiver was
/// unreachable (a connection refused, a TLS failure and a timeout look the
/// same, so the sender cannot be used to scan ports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The address policy refused every address of the host: nothing was
    /// sent.
    Refused(AddressRefused),
    /// No connection, no TLS, or no answer in time.
    Unreachable,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(refused) => refused.fmt(f),
            Self::Unreachable => f.write_str("unreachable"),
        }
    }
}

impl Attempt {
    /// The result in words safe to show to whoever chose the URL: `HTTP
    /// 503`, the address rule, or `unreachable`; never bytes of the answer.
    pub fn summary(&self) -> String {
        match (self.status, self.failure) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(failure)) => failure.to_string(),
            (None, None) => Failure::Unreachable.to_string(),
        }
    }
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "attempt {}: ", self.number)?;
        match (self.status, &self.error) {
            (Some(status), _) => write!(f, "{status}")?,
            (None, Some(error)) => write!(f, "error: {error}")?,
            (None, None) => write!(f, "no answer")?,
        }
        write!(f, " in {} ms", self.duration.as_millis())?;
        if let Some(wait) = self.retry_after {
            write!(f, ", Retry-After {} ms", wait.as_millis())?;
        }
        if !self.body.is_empty() {
            write!(f, ": {}", self.body)?;
        }
        if let Some(next) = self.next_in {
            write!(
                f,
                "; next attempt in {} (attempt {} of {})",
                next_in_words(next),
                self.number + 1,
                self.of
            )?;
        }
        Ok(())
    }
}

/// A wait as a line shows it: `30 s`, `1.5 s`, `5 min`, `1 h`.
pub(crate) fn next_in_words(wait: Duration) -> String {
    let secs = wait.as_secs();
    if wait < Duration::from_secs(10) {
        let text = format!("{:.1}", wait.as_secs_f64());
        return format!("{} s", text.trim_end_matches(".0"));
    }
    match secs {
        ..60 => format!("{secs} s"),
        60..3600 if secs.is_multiple_of(60) => format!("{} min", secs / 60),
        60..3600 => format!("{} min {} s", secs / 60, secs % 60),
        _ if secs.is_multiple_of(3600) => format!("{} h", secs / 3600),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A 2xx answer.
    Delivered,
    /// Every attempt of the schedule failed.
    GaveUp,
    /// `410 Gone`: the endpoint is gone; no more attempts.
    Gone,
}

/// A delivery's outcome and every attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// How it ended.
    pub outcome: Outcome,
    /// Each attempt, in order.
    pub attempts: Vec<Attempt>,
}
